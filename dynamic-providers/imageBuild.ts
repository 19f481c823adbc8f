/**
 * ImageBuild: a dynamic resource whose create (or update) builds an image with the Docker CLI and
 * pushes it, returning `repoDigest` (`<repository>@sha256:…` as pushed; the tag itself with
 * skipPush). It replaces @pulumi/docker's Image, whose provider plugin cannot be installed on
 * chainfleet's machines (so that path could never be tested); this one needs only the `docker`
 * CLI and a daemon where `pulumi up` runs, as before.
 *
 * The program hashes the build context (`contextHash`, imageBuildContext.ts), so `diff` compares
 * inputs only: an unchanged context is no change and `pulumi preview` never builds; a changed one
 * is an update, which builds and pushes again. Delete is a no-op: images are never deleted from a
 * registry (a running pod, or a rollback, may still need them).
 *
 * Not built with kit.ts's `defineProvider`: the kit's check reads `kubeconfig`/`context` as kube
 * access (here `context` is the build context), its token is `dynamic/upgrade:`, and it turns
 * 403s into missing RBAC permissions. None of that applies; the shared parts (InputChecker,
 * diffInputs, plainOutputs, Deadline) come from common.ts as they do in the kit.
 */
import * as pulumi from "@pulumi/pulumi";
import { InputChecker, diffInputs, plainOutputs } from "./common";
import { runImageBuild } from "./imageBuildRun";

export const IMAGE_BUILD_TYPE = "ImageBuild";

/** Bump when the behaviour changes, so stacks build again with the new code. */
export const IMAGE_BUILD_VERSION = "1";

export const IMAGE_BUILD_DEFAULTS = {
    platform: "linux/amd64",
    skipPush: false,
    deadlineSeconds: 900,
};

/** What the provider methods receive: resolved, with defaults filled in by `check`. */
export interface ImageBuildInputs {
    providerVersion: string;
    /** Repository and tag to build and push, e.g. `ghcr.io/org/chainfleet-monitor:v1`. */
    imageName: string;
    /** Absolute path of the build context's directory. */
    context: string;
    /** The Dockerfile, relative to the context (it travels inside the context tar). */
    dockerfile: string;
    platform: string;
    /** Build only: `repoDigest` is then the tag. */
    skipPush: boolean;
    /** `docker build --network` (e.g. `host` for a daemon without a bridge network). */
    network?: string;
    /** sha256 of the context tar, computed by the program (imageBuildContext.ts). */
    contextHash: string;
    /** Give up (fail the update) after this long. The engine ignores customTimeouts. */
    deadlineSeconds: number;
}

export interface ImageBuildResult {
    /** `<repository>@sha256:<hex>` as pushed; with skipPush, `imageName`. */
    repoDigest: string;
    /** The built image's ID (`sha256:…`), as `--iidfile` wrote it. */
    imageId: string;
}

export type ImageBuildOutputs = ImageBuildInputs & ImageBuildResult;

/** Constructor arguments: every input may be an Output; defaulted ones may be left out. */
export type ImageBuildArgs = Inputify<
    Omit<ImageBuildInputs, "providerVersion" | Defaulted> &
        Partial<Pick<ImageBuildInputs, Defaulted>>
>;
type Defaulted = keyof typeof IMAGE_BUILD_DEFAULTS;
type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/**
 * Inputs that build again when changed. Not `context`, an absolute path: the same files in
 * another checkout (another CI runner's directory) are the same image, and `contextHash` says
 * whether the files changed. Not `deadlineSeconds`, a tuning knob.
 */
const TRIGGERS: readonly (keyof ImageBuildInputs)[] = [
    "imageName",
    "dockerfile",
    "platform",
    "skipPush",
    "network",
    "contextHash",
    "providerVersion",
];

type Obj = Record<string, unknown>;

/** Defaults merged in, every input checked, the version stamped. */
export function checkImageBuild(news: Obj): pulumi.dynamic.CheckResult<ImageBuildInputs> {
    const set = Object.fromEntries(Object.entries(news).filter(([, v]) => v != null));
    const inputs: Obj = { ...IMAGE_BUILD_DEFAULTS, ...set };
    const c = new InputChecker(inputs, IMAGE_BUILD_TYPE);
    c.string("imageName", {
        pattern: /^[^\s@]+$/,
        hint: "give a repository and tag, e.g. registry.example/chainfleet-monitor:v1 (no digest: the push decides it)",
    });
    c.string("context", {
        pattern: /^\//,
        hint: "give the build context's directory as an absolute path",
    });
    c.string("dockerfile", {
        pattern: /^(?!\/)(?!.*(^|\/)\.\.?(\/|$)).+$/,
        hint: "give the Dockerfile's path inside the context, e.g. monitor/Dockerfile (no leading /, . or ..)",
    });
    c.string("platform", {
        pattern: /^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/,
        hint: "give os/arch, e.g. linux/amd64",
    });
    c.string("network", { optional: true, pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/ });
    c.string("contextHash", {
        pattern: /^[0-9a-f]{64}$/,
        hint: "the sha256 (hex) of the context tar; the program computes it with readBuildContext",
    });
    c.integer("deadlineSeconds", { min: 1 });
    if (typeof inputs.skipPush !== "boolean" && !c.isUnknown("skipPush")) {
        c.fail("skipPush", `must be true or false, got ${JSON.stringify(inputs.skipPush)}`);
    }
    inputs.providerVersion = IMAGE_BUILD_VERSION;
    return { inputs: inputs as unknown as ImageBuildInputs, failures: c.failures };
}

async function buildAndReturn(inputs: ImageBuildInputs): Promise<ImageBuildOutputs> {
    return plainOutputs({ ...inputs, ...(await runImageBuild(inputs)) });
}

export const imageBuildProvider: pulumi.dynamic.ResourceProvider<
    ImageBuildInputs,
    ImageBuildOutputs
> = {
    async check(_olds, news) {
        return checkImageBuild(news as unknown as Obj);
    },
    async diff(_id, olds, news) {
        return diffInputs(olds as unknown as Obj, news as unknown as Obj, TRIGGERS as string[]);
    },
    async create(inputs) {
        return { id: inputs.imageName, outs: await buildAndReturn(inputs) };
    },
    async update(_id, _olds, news) {
        return { outs: await buildAndReturn(news) };
    },
    async delete() {
        // Nothing to undo: pushed images stay in the registry, built ones in the daemon.
    },
};

/** Token `pulumi-nodejs:dynamic/image:ImageBuild`. */
export class ImageBuild extends pulumi.dynamic.Resource {
    declare public readonly repoDigest: pulumi.Output<string>;
    declare public readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: ImageBuildArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            imageBuildProvider,
            name,
            {
                ...args,
                providerVersion: IMAGE_BUILD_VERSION,
                repoDigest: undefined,
                imageId: undefined,
            },
            opts,
            "image",
            IMAGE_BUILD_TYPE,
        );
    }
}
