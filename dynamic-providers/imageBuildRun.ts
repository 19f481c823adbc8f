/**
 * ImageBuild's create/update: `docker version` (a daemon answers), `docker build -` with the
 * context tar on stdin, then, unless skipPush, `docker push` and `docker image inspect` for the
 * pushed digest. Each command runs through `execFile` (no shell) under what is left of the
 * resource's own deadline, with the provider process's environment: `DOCKER_HOST`,
 * `DOCKER_BUILDKIT` and `DOCKER_CONFIG` (the login) are whatever `pulumi up` runs with.
 *
 * Running it again is harmless: an unchanged context builds from the daemon's cache into the same
 * image, and pushing an image the registry has is a no-op that prints the same digest.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Deadline, Progress } from "./common";
import type { ImageBuildInputs, ImageBuildResult } from "./imageBuild";
import { readBuildContext } from "./imageBuildContext";
import {
    IMAGE_BUILD_ERRORS as E,
    buildArgs,
    inspectArgs,
    isAuthFailure,
    pickRepoDigest,
    pushArgs,
    pushedDigest,
    versionArgs,
} from "./imageBuildPlan";

export interface ExecResult {
    /** Exit code; null when the command was killed. */
    code: number | null;
    /** stdout and stderr. Docker prints progress on one and errors on the other. */
    output: string;
    stdout: string;
    /** The binary was not found (spawn ENOENT). */
    notFound: boolean;
    /** Killed at `timeoutMs`. */
    timedOut: boolean;
}

/** Runs `docker <args>`; tests pass a fake. */
export type DockerExec = (
    args: string[],
    opts: { input?: Buffer; timeoutMs: number },
) => Promise<ExecResult>;

/** The Docker CLI through execFile: no shell, the provider's environment, killed at the timeout. */
export const execDocker: DockerExec = (args, opts) =>
    new Promise((resolve) => {
        const child = execFile(
            "docker",
            args,
            { timeout: opts.timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
            (err, stdout, stderr) => {
                const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
                resolve({
                    code: e ? (typeof e.code === "number" ? e.code : null) : 0,
                    output: `${stdout}${stderr}`,
                    stdout,
                    notFound: e?.code === "ENOENT",
                    timedOut: e?.killed === true,
                });
            },
        );
        // A command that exits before reading all of stdin (a failed build) must not crash us.
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(opts.input ?? Buffer.alloc(0));
    });

export async function runImageBuild(
    inputs: ImageBuildInputs,
    exec: DockerExec = execDocker,
): Promise<ImageBuildResult> {
    const image = inputs.imageName;
    const deadline = new Deadline(inputs.deadlineSeconds);
    const progress = new Progress(`[ImageBuild ${image}]`);
    const docker = async (step: string, args: string[], input?: Buffer) => {
        const timeoutMs = deadline.remainingMs();
        const r =
            timeoutMs > 0
                ? await exec(args, { input, timeoutMs })
                : { code: null, output: "", stdout: "", notFound: false, timedOut: true };
        if (r.notFound) {
            throw new Error(E.noDocker(image));
        }
        if (r.timedOut) {
            throw new Error(E.deadline(image, step, inputs.deadlineSeconds, r.output));
        }
        return r;
    };

    const version = await docker("version", versionArgs());
    if (version.code !== 0) {
        throw new Error(E.noDaemon(image, process.env.DOCKER_HOST, version.output));
    }
    const ctx = await readBuildContext(inputs.context, inputs.dockerfile);
    if (ctx.hash !== inputs.contextHash) {
        // Files changed between the program's hash and now: build what is there; the next
        // `pulumi up` hashes it again and, seeing the change, builds once more.
        progress.say("the context changed since the program hashed it; building it as it is now");
    }
    progress.say(
        `building ${inputs.dockerfile} for ${inputs.platform}: ${ctx.files.length} files, ` +
            `${ctx.tar.length} bytes, sha256 ${ctx.hash.slice(0, 12)} (Docker ${version.stdout.trim()})`,
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-imagebuild-"));
    let imageId: string;
    try {
        const iidfile = path.join(dir, "iid");
        const built = await docker("build", buildArgs(inputs, iidfile), ctx.tar);
        if (built.code !== 0) {
            throw new Error(E.buildFailed(image, inputs.dockerfile, built.code, built.output));
        }
        imageId = fs.existsSync(iidfile) ? fs.readFileSync(iidfile, "utf8").trim() : "";
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    progress.say(`built ${imageId || "(no image ID written)"} in ${deadline.elapsed()}`);
    if (inputs.skipPush) {
        // Not pushed: the pods run the tag, from a node that has the image.
        return { repoDigest: image, imageId };
    }

    const pushed = await docker("push", pushArgs(image));
    if (pushed.code !== 0) {
        throw new Error(
            isAuthFailure(pushed.output)
                ? E.pushRefused(image, pushed.output)
                : E.pushFailed(image, pushed.code, pushed.output),
        );
    }
    const printed = pushedDigest(pushed.output);
    const inspected = await docker("image inspect", inspectArgs(image));
    if (inspected.code !== 0) {
        throw new Error(E.commandFailed(image, "image inspect", inspected.code, inspected.output));
    }
    let repoDigests: string[] = [];
    try {
        const parsed: unknown = JSON.parse(inspected.stdout.trim() || "[]");
        repoDigests = Array.isArray(parsed) ? parsed.map(String) : [];
    } catch {
        // Not JSON: reported below as no digest, with nothing listed.
    }
    const repoDigest = pickRepoDigest(image, repoDigests, printed);
    if (!repoDigest) {
        throw new Error(E.digestMissing(image, repoDigests, printed));
    }
    progress.say(`pushed ${repoDigest} in ${deadline.elapsed()}`);
    return { repoDigest, imageId };
}
