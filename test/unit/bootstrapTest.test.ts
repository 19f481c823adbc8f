/**
 * The BootstrapTest component under `pulumi.runtime.setMocks`: which children it declares, under
 * which names and options, with which manifests. The image build is only declared here (its
 * provider is tested in providers-imageBuild.test.ts, and for real in
 * test/e2e/monitor-image-build.test.ts), so the mock answers with a made-up repoDigest.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { BootstrapTestArgs } from "../../components/BootstrapTest";
import { readBuildContext } from "../../dynamic-providers/imageBuildContext";
import { NODE_AGENT_IMAGE } from "../../lib/nodeHome";

/* eslint-disable @typescript-eslint/no-explicit-any */

interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

const PUSHED = `ghcr.io/org/monitor@sha256:${"e".repeat(64)}`;
const IMAGE_BUILD = "pulumi-nodejs:dynamic/image:ImageBuild";
const repoRoot = path.resolve(__dirname, "../..");
let recorded: Recorded[] = [];
let options: Map<string, pulumi.CustomResourceOptions>;

const args = (over: Partial<BootstrapTestArgs> = {}): BootstrapTestArgs => ({
    namespace: "chains",
    chain: "cometbft",
    network: "devnet",
    test: {
        name: "comet-master",
        image: "ghcr.io/org/cometbft:master",
        syncMode: "state-sync",
        storage: { size: "100Gi" },
    },
    monitorImage: "ghcr.io/org/monitor:v1",
    ...over,
});

/** Declares the component and waits for every child to register with the mock monitor. */
async function declare(a: BootstrapTestArgs) {
    const { BootstrapTest } = await import("../../components/BootstrapTest");
    const component = new BootstrapTest("bt", a, {
        // Transformations see each child's resource options, which mocks never receive.
        transformations: [
            (t) => {
                options.set(t.name, t.opts);
                return undefined;
            },
        ],
    });
    await new Promise<void>((resolve) => component.urn.apply(() => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    return component;
}

const unwrap = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
const byType = (type: string) => recorded.filter((r) => r.type === type);

describe("BootstrapTest component", () => {
    // Each suite installs its own mocks inside its describe (see support/mocks.ts); this one
    // also answers ImageBuild's repoDigest, which a real push would return (the tag when not
    // pushed, as the provider does).
    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (a) => {
                    recorded.push({ type: a.type, name: a.name, inputs: a.inputs });
                    const state =
                        a.type === IMAGE_BUILD
                            ? {
                                  ...a.inputs,
                                  repoDigest: a.inputs.skipPush ? a.inputs.imageName : PUSHED,
                              }
                            : a.inputs;
                    return { id: `${a.name}-id`, state };
                },
                call: (a) => a.inputs,
            },
            "chainfleet",
            "test",
        );
    });
    beforeEach(() => {
        recorded = [];
        options = new Map();
    });

    it("declares its children as bt-<role>, parented to the component", async () => {
        const component = await declare(args());
        assert.deepEqual(
            recorded.map((r) => `${r.type} ${r.name}`).sort(),
            [
                "chainfleet:bootstrap:BootstrapTest bt",
                "kubernetes:apps/v1:StatefulSet bt-statefulset",
                "kubernetes:core/v1:ConfigMap bt-configmap",
                "kubernetes:core/v1:ServiceAccount bt-serviceaccount",
                "kubernetes:rbac.authorization.k8s.io/v1:Role bt-role",
                "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding bt-rolebinding",
            ].sort(),
        );
        const urn = await unwrap(component.statefulSet.urn);
        assert.match(
            urn,
            /chainfleet:bootstrap:BootstrapTest\$kubernetes:apps\/v1:StatefulSet::bt-statefulset$/,
        );
        assert.equal(await unwrap(component.monitorImage), "ghcr.io/org/monitor:v1");
    });

    it("lets the monitor own the node image and waits for the RoleBinding", async () => {
        const component = await declare(args());
        const opts = options.get("bt-statefulset");
        assert.deepEqual(opts?.ignoreChanges, [
            "spec.template.spec.containers[0].image",
            "spec.template.spec.initContainers[2].image",
        ]);
        assert.deepEqual(opts?.dependsOn, [component.roleBinding, component.configMap]);
        const sts = byType("kubernetes:apps/v1:StatefulSet")[0].inputs;
        assert.equal(
            sts.spec.template.spec.containers[0].name,
            "node",
            "ignoreChanges targets index 0",
        );
        assert.equal(
            sts.spec.template.spec.initContainers[2].name,
            "prepare",
            "and the prepare step, which runs the node's image",
        );
    });

    it("declares the init container, the sidecar and the node with the monitor image", async () => {
        await declare(args());
        const sts = byType("kubernetes:apps/v1:StatefulSet")[0].inputs;
        assert.equal(sts.metadata.annotations["pulumi.com/skipAwait"], "true");
        assert.deepEqual(sts.spec.updateStrategy, { type: "OnDelete" });
        const spec = sts.spec.template.spec;
        assert.deepEqual(
            spec.initContainers.map((c: any) => [
                c.name,
                c.image,
                [...c.command, ...(c.args ?? [])][1],
            ]),
            [
                ["init", "ghcr.io/org/monitor:v1", "/app/monitor/cli.js"],
                ["agent-install", NODE_AGENT_IMAGE, "install"],
                ["prepare", "ghcr.io/org/cometbft:master", "prepare"],
            ],
        );
        assert.deepEqual(
            spec.containers.map((c: any) => [c.name, c.image, c.args[0]]),
            [
                ["node", "ghcr.io/org/cometbft:master", "start"],
                ["monitor", "ghcr.io/org/monitor:v1", "wait-for-completion"],
            ],
        );
    });

    it("grants the monitor's ServiceAccount exactly the monitor's calls", async () => {
        await declare(args());
        const role = byType("kubernetes:rbac.authorization.k8s.io/v1:Role")[0].inputs;
        assert.deepEqual(role.rules, [
            {
                apiGroups: ["apps"],
                resources: ["statefulsets"],
                resourceNames: ["comet-master"],
                verbs: ["get", "patch"],
            },
            {
                apiGroups: [""],
                resources: ["pods"],
                resourceNames: ["comet-master-0"],
                verbs: ["get", "delete"],
            },
            {
                apiGroups: [""],
                resources: ["configmaps"],
                resourceNames: ["comet-master-results"],
                verbs: ["get", "update"],
            },
            { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
            { apiGroups: [""], resources: ["events"], verbs: ["create"] },
        ]);
        const binding = byType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")[0].inputs;
        assert.deepEqual(binding.subjects, [
            { kind: "ServiceAccount", name: "comet-master-monitor", namespace: "chains" },
        ]);
        const sa = byType("kubernetes:core/v1:ServiceAccount")[0].inputs;
        assert.equal(sa.metadata.name, "comet-master-monitor");
    });

    it("builds and pushes the monitor image with ImageBuild, running it by digest", async () => {
        const component = await declare(
            args({
                monitorImage: undefined,
                buildMonitorImage: { imageName: "ghcr.io/org/monitor:v2" },
            }),
        );
        const [image] = byType(IMAGE_BUILD);
        assert.equal(image.name, "bt-monitor-image");
        const { __provider: _provider, ...inputs } = image.inputs;
        assert.deepEqual(inputs, {
            imageName: "ghcr.io/org/monitor:v2",
            // The program's root, whatever directory the program runs from.
            context: repoRoot,
            dockerfile: "monitor/Dockerfile",
            platform: "linux/amd64",
            skipPush: false,
            // Hashed at declaration: preview compares it and never builds.
            contextHash: (await readBuildContext(repoRoot, "monitor/Dockerfile")).hash,
            providerVersion: "1",
        });
        assert.equal(await unwrap(component.monitorImage), PUSHED);
        const sts = byType("kubernetes:apps/v1:StatefulSet")[0].inputs;
        assert.equal(sts.spec.template.spec.initContainers[0].image, PUSHED);
        assert.equal(sts.spec.template.spec.containers[1].image, PUSHED);
    });

    it("uses the tag of an unpushed build", async () => {
        const component = await declare(
            args({
                monitorImage: undefined,
                buildMonitorImage: { imageName: "monitor:dev", skipPush: true },
            }),
        );
        assert.equal(await unwrap(component.monitorImage), "monitor:dev");
    });

    it("reports every argument problem at once with its property path", async () => {
        const { BootstrapTest } = await import("../../components/BootstrapTest");
        const bad = args({
            buildMonitorImage: { imageName: "x:y" },
            test: {
                name: "Bad",
                image: `n@sha256:${"a".repeat(64)}`,
                syncMode: "state-sync",
                storage: { size: "1Gi" },
            },
        });
        assert.throws(
            () => new BootstrapTest("bad", bad),
            (err: unknown) => {
                assert.ok(pulumi.InputPropertiesError.isInstance(err));
                assert.deepEqual(
                    err.errors.map((e) => e.propertyPath),
                    ["monitorImage", "test.name", "test.image"],
                );
                assert.match(
                    err.errors[0].reason,
                    /exactly one of `monitorImage`.*`buildMonitorImage`/,
                );
                return true;
            },
        );
    });
});
