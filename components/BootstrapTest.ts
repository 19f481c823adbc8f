/**
 * Continuous bootstrap testing of one followed image tag: a one-replica StatefulSet whose pod
 * runs the node, `monitor init` (start or resume a test) and `monitor wait-for-completion`
 * (record the result, start the next test when the tag moves), plus the ServiceAccount and the
 * least-privilege Role the monitor acts with. The manifests come from the pure builder in
 * components/bootstrapTest/manifests.ts; this class only declares them.
 *
 * The monitor's image is either given (`monitorImage`) or built from monitor/Dockerfile and
 * pushed during `pulumi up` (`buildMonitorImage`) by the ImageBuild dynamic resource
 * (dynamic-providers/imageBuild.ts: the `docker` CLI and a daemon where `pulumi up` runs). The
 * context's hash is computed here, at declaration, so an unchanged context is no change and a
 * preview never builds. test/e2e/monitor-image-build.test.ts builds and pushes it for real.
 */
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChainKind } from "../chains/types";
import {
    BootstrapTestConfig,
    BootstrapTestConfigInput,
    BootstrapTestConfigSchema,
} from "../config/bootstrapTest";
import { IMAGE_BUILD_DEFAULTS, ImageBuild } from "../dynamic-providers/imageBuild";
import { readBuildContext } from "../dynamic-providers/imageBuildContext";
import {
    BootstrapTestJoin,
    BootstrapTestManifests,
    buildBootstrapTestManifests,
} from "./bootstrapTest/manifests";

export const BOOTSTRAP_TEST_TYPE = "chainfleet:bootstrap:BootstrapTest";

/** The program's root (Pulumi.yaml's directory): the monitor's build context by default. */
export const PROGRAM_ROOT = path.resolve(__dirname, "..");

/** Defaults of `MonitorImageBuild`. */
export const MONITOR_BUILD_DEFAULTS = {
    context: ".",
    dockerfile: "monitor/Dockerfile",
    platform: IMAGE_BUILD_DEFAULTS.platform,
} as const;

export interface MonitorImageBuild {
    /** Repository and tag to push to, e.g. `ghcr.io/org/chainfleet-monitor:v1`. */
    imageName: pulumi.Input<string>;
    /**
     * Build context: the repository root, which the Dockerfile copies from; relative to the
     * program's root. Defaults to ".".
     */
    context?: string;
    /** Relative to the context. Defaults to "monitor/Dockerfile". */
    dockerfile?: string;
    /** Defaults to "linux/amd64". */
    platform?: string;
    /** `docker build --network`, e.g. "host" where the daemon has no bridge network. */
    network?: string;
    /**
     * Build without pushing. The pods then reference the tag, which only a node that has the
     * image locally can run. Defaults to false.
     */
    skipPush?: boolean;
}

export interface BootstrapTestArgs {
    namespace: string;
    chain: ChainKind;
    /** The stack's network, for labels. */
    network?: string;
    /** One element of `chainfleet:bootstrapTests`; validated again here. */
    test: BootstrapTestConfigInput;
    /** A published monitor image, ideally by digest. Give this or `buildMonitorImage`. */
    monitorImage?: pulumi.Input<string>;
    /** Build and push the monitor image from this repository instead. */
    buildMonitorImage?: MonitorImageBuild;
    /** The stack's network the node joins: genesis, chain id, in-fleet peers, placement. */
    join?: BootstrapTestJoin;
}

export class BootstrapTest extends pulumi.ComponentResource {
    public readonly config: BootstrapTestConfig;
    public readonly manifests: BootstrapTestManifests;
    public readonly monitorImage: pulumi.Output<string>;
    public readonly image?: ImageBuild;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly role: k8s.rbac.v1.Role;
    public readonly roleBinding: k8s.rbac.v1.RoleBinding;
    public readonly configMap: k8s.core.v1.ConfigMap;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    /** Where `wait-for-completion` keeps the last results (created by the monitor). */
    public readonly resultsConfigMap: string;

    constructor(name: string, args: BootstrapTestArgs, opts?: pulumi.ComponentResourceOptions) {
        super(BOOTSTRAP_TEST_TYPE, name, {}, opts);
        this.config = validate(args);
        const child = { parent: this };

        if (args.buildMonitorImage) {
            const b = args.buildMonitorImage;
            const context = path.resolve(PROGRAM_ROOT, b.context ?? MONITOR_BUILD_DEFAULTS.context);
            const dockerfile = b.dockerfile ?? MONITOR_BUILD_DEFAULTS.dockerfile;
            this.image = new ImageBuild(
                `${name}-monitor-image`,
                {
                    imageName: b.imageName,
                    context,
                    dockerfile,
                    platform: b.platform ?? MONITOR_BUILD_DEFAULTS.platform,
                    skipPush: b.skipPush ?? false,
                    ...(b.network ? { network: b.network } : {}),
                    contextHash: readBuildContext(context, dockerfile).then((c) => c.hash),
                },
                child,
            );
            // A pushed image is referenced by digest, so a rebuild rolls the monitor forward
            // and a re-push of the same tag cannot change what runs. Not pushed, it is the tag.
            this.monitorImage = this.image.repoDigest;
        } else {
            this.monitorImage = pulumi.output(args.monitorImage as pulumi.Input<string>);
        }

        const m = buildBootstrapTestManifests({
            namespace: args.namespace,
            chain: args.chain,
            network: args.network,
            test: this.config,
            monitorImage: this.monitorImage,
            join: args.join,
        });
        this.manifests = m;
        this.resultsConfigMap = m.names.resultsConfigMap;

        this.serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-serviceaccount`,
            m.serviceAccount,
            child,
        );
        this.role = new k8s.rbac.v1.Role(`${name}-role`, m.role, child);
        this.roleBinding = new k8s.rbac.v1.RoleBinding(`${name}-rolebinding`, m.roleBinding, {
            ...child,
            dependsOn: [this.role, this.serviceAccount],
        });
        this.configMap = new k8s.core.v1.ConfigMap(`${name}-configmap`, m.configMap, child);
        this.statefulSet = new k8s.apps.v1.StatefulSet(`${name}-statefulset`, m.statefulSet, {
            ...child,
            // The monitor's first call needs the binding; without it init fails and backs off.
            dependsOn: [this.roleBinding, this.configMap],
            // The monitor pins the node image to a digest; the tag Pulumi declared must not
            // come back on the next `pulumi up` (that would restart the test).
            ignoreChanges: m.monitorOwnedPaths,
        });

        this.registerOutputs({
            statefulSet: this.statefulSet.metadata.name,
            resultsConfigMap: this.resultsConfigMap,
            monitorImage: this.monitorImage,
        });
    }
}

/** Checks the args, reporting every problem at once with its property path. */
function validate(args: BootstrapTestArgs): BootstrapTestConfig {
    const errors: { propertyPath: string; reason: string }[] = [];
    if ((args.monitorImage === undefined) === (args.buildMonitorImage === undefined)) {
        errors.push({
            propertyPath: "monitorImage",
            reason: "give exactly one of `monitorImage` (a published image) or `buildMonitorImage` (build it with Docker)",
        });
    }
    const parsed = BootstrapTestConfigSchema.safeParse(args.test);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            errors.push({
                propertyPath: ["test", ...issue.path.map(String)].join("."),
                reason: issue.message,
            });
        }
    }
    if (errors.length > 0 || !parsed.success) {
        throw new pulumi.InputPropertiesError({
            message: `Invalid arguments for bootstrap test ${String((args.test as { name?: unknown })?.name)}`,
            errors,
        });
    }
    return parsed.data;
}
