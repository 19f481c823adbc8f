/**
 * The components under `pulumi.runtime.setMocks`: a recording mock keeps every resource the
 * program declares, and the tests assert on the manifests themselves.
 */
import * as assert from "node:assert/strict";
import { Recorded, Recorder, settled, useRecordingMocks } from "./support/mocks";
import type { StackConfig } from "../../config";
import { loadStackConfig, parseStackConfig, rawStackConfig } from "../../config";
import { readStackFile } from "../../config/stackFile";

/** Installed by the suite below (see support/mocks.ts). */
let mocks: Recorder;

/** Declares a Fleet for `config` and waits until every resource has been registered. */
async function declare(config: StackConfig): Promise<Recorded[]> {
    const { Fleet } = await import("../../components/Fleet");
    mocks.reset();
    const fleet = new Fleet(config.network, { config });
    await settled(fleet, mocks);
    return mocks.resources;
}

function stack(overrides: Record<string, unknown> = {}): StackConfig {
    return parseStackConfig({
        network: "testnet",
        chain: "cometbft",
        groups: {
            rpc: {
                replicas: 3,
                image: "cometbft/cometbft:v0.38.19",
                storage: { size: "50Gi", storageClass: "fast" },
                update: { strategy: "BlueGreen" },
                ...overrides,
            },
        },
    });
}

function only(resources: Recorded[], type: string): Recorded[] {
    return resources.filter((r) => r.type === type);
}

describe("Fleet / NodeDeployment / NodeGroup under mocks", () => {
    mocks = useRecordingMocks();
    it("declares one StatefulSet, its PVCs, Services, ConfigMap and PDB per group", async () => {
        const resources = await declare(stack());
        const types = resources.map((r) => r.type).sort();
        assert.deepEqual(types, [
            "chainfleet:fleet:Fleet",
            "chainfleet:fleet:NodeDeployment",
            "chainfleet:fleet:NodeGroup",
            "kubernetes:apps/v1:StatefulSet",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:PersistentVolumeClaim",
            "kubernetes:core/v1:PersistentVolumeClaim",
            "kubernetes:core/v1:PersistentVolumeClaim",
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:Service",
            "kubernetes:policy/v1:PodDisruptionBudget",
        ]);
    });

    it("names PVCs as the StatefulSet controller expects, so it adopts them", async () => {
        const resources = await declare(stack());
        const sts = only(resources, "kubernetes:apps/v1:StatefulSet")[0].inputs;
        const template = sts.spec.volumeClaimTemplates[0];
        const pvcNames = only(resources, "kubernetes:core/v1:PersistentVolumeClaim")
            .map((r) => r.inputs.metadata.name)
            .sort();
        assert.deepEqual(
            pvcNames,
            [0, 1, 2].map((i) => `${template.metadata.name}-${sts.metadata.name}-${i}`),
        );
        for (const pvc of only(resources, "kubernetes:core/v1:PersistentVolumeClaim")) {
            assert.deepEqual(pvc.inputs.spec, template.spec, "explicit claim and template agree");
            assert.equal(pvc.inputs.spec.storageClassName, "fast");
            assert.equal(pvc.inputs.spec.resources.requests.storage, "50Gi");
        }
        assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, {
            whenDeleted: "Retain",
            whenScaled: "Retain",
        });
    });

    it("pins the revision in names, labels and the stable Service selector (BlueGreen)", async () => {
        const resources = await declare(stack());
        const sts = only(resources, "kubernetes:apps/v1:StatefulSet")[0].inputs;
        const revision = sts.metadata.labels["chainfleet.io/revision"];
        assert.match(revision, /^[0-9a-f]{8}$/);
        assert.equal(sts.metadata.name, `rpc-${revision}`);
        const services = only(resources, "kubernetes:core/v1:Service").map((r) => r.inputs);
        const stable = services.find((s) => s.metadata.name === "rpc");
        const peers = services.find((s) => s.metadata.name === `rpc-${revision}-peers`);
        assert.ok(stable && peers, `services: ${services.map((s) => s.metadata.name)}`);
        assert.equal(stable.spec.selector["chainfleet.io/revision"], revision);
        assert.deepEqual(stable.spec.selector, sts.spec.selector.matchLabels);
        const stablePorts = stable.spec.ports.map((p: { port: number }) => p.port);
        assert.ok(stablePorts.includes(26657), `rpc port on the stable Service: ${stablePorts}`);
        assert.ok(!stablePorts.includes(26656), "p2p stays off the client-facing Service");
        assert.equal(peers.spec.clusterIP, "None");
        assert.equal(peers.spec.publishNotReadyAddresses, true);
        for (const [key, value] of Object.entries(sts.spec.selector.matchLabels)) {
            assert.equal(sts.spec.template.metadata.labels[key], value, `pod label ${key}`);
        }
    });

    it("carries the standard labels on every Kubernetes object", async () => {
        const resources = await declare(stack());
        for (const r of resources.filter(
            (x) => x.type.startsWith("kubernetes:") && !x.type.endsWith("Namespace"),
        )) {
            const labels = r.inputs.metadata.labels;
            assert.equal(labels["app.kubernetes.io/part-of"], "chainfleet", r.name);
            assert.equal(labels["app.kubernetes.io/managed-by"], "pulumi", r.name);
            assert.equal(labels["chainfleet.io/network"], "testnet", r.name);
            assert.equal(labels["chainfleet.io/group"], "rpc", r.name);
        }
    });

    it("runs the node non-root with requests, in-sync readiness and data on the volume", async () => {
        const resources = await declare(stack());
        const pod = only(resources, "kubernetes:apps/v1:StatefulSet")[0].inputs.spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.ok(pod.securityContext.runAsUser > 0);
        assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsUser);
        const node = pod.containers[0];
        assert.equal(node.image, "cometbft/cometbft:v0.38.19");
        assert.equal(node.securityContext.allowPrivilegeEscalation, false);
        assert.ok(node.resources.requests.cpu && node.resources.requests.memory);
        assert.ok(node.readinessProbe, "readiness probe");
        assert.notDeepEqual(
            node.readinessProbe,
            node.livenessProbe,
            "readiness is stricter than liveness",
        );
        assert.ok(node.volumeMounts.some((m: { name: string }) => m.name === "data"));
    });

    it("skips Pulumi's await on objects whose readiness means 'in sync'", async () => {
        const resources = await declare(stack());
        const sts = only(resources, "kubernetes:apps/v1:StatefulSet")[0].inputs;
        assert.equal(sts.metadata.annotations["pulumi.com/skipAwait"], "true");
        for (const pvc of only(resources, "kubernetes:core/v1:PersistentVolumeClaim")) {
            assert.equal(pvc.inputs.metadata.annotations["pulumi.com/skipAwait"], "true");
        }
    });

    it("skips Pulumi's await on every Service, so the deployer needs no Endpoints watch", async () => {
        // Pulumi's Service awaiter watches Endpoints (and hangs without list/watch on them); for
        // the headless peer Service it only waits for the Service itself. config/deployer.ts
        // grants no Endpoints.
        const resources = await declare(stack());
        const services = only(resources, "kubernetes:core/v1:Service");
        assert.equal(services.length, 2);
        for (const svc of services) {
            assert.equal(
                svc.inputs.metadata.annotations?.["pulumi.com/skipAwait"],
                "true",
                svc.inputs.metadata.name,
            );
        }
    });

    it("names a Rolling set after the group and leaves the revision out of its selector", async () => {
        const resources = await declare(stack({ update: { strategy: "Rolling" } }));
        const sts = only(resources, "kubernetes:apps/v1:StatefulSet")[0].inputs;
        assert.equal(sts.metadata.name, "rpc");
        assert.equal(sts.spec.selector.matchLabels["chainfleet.io/revision"], undefined);
        assert.match(sts.spec.template.metadata.labels["chainfleet.io/revision"], /^[0-9a-f]{8}$/);
    });

    it("uses the configured disruption budget, defaulting to maxUnavailable 1", async () => {
        const byDefault = await declare(stack());
        assert.equal(
            only(byDefault, "kubernetes:policy/v1:PodDisruptionBudget")[0].inputs.spec
                .maxUnavailable,
            1,
        );
        const custom = await declare(stack({ podDisruptionBudget: { minAvailable: 2 } }));
        const spec = only(custom, "kubernetes:policy/v1:PodDisruptionBudget")[0].inputs.spec;
        assert.equal(spec.minAvailable, 2);
        assert.equal(spec.maxUnavailable, undefined);
    });

    it("declares the dev stack: both groups and its bootstrap test", async () => {
        const resources = await declare(loadStackConfig(readStackFile("Pulumi.dev.yaml")));
        const names = (type: string) =>
            resources
                .filter((r) => r.type === type)
                .map((r) => r.inputs.metadata.name)
                .sort();
        assert.equal(
            resources.filter((r) => r.type === "chainfleet:bootstrap:BootstrapTest").length,
            1,
        );
        assert.deepEqual(names("kubernetes:apps/v1:StatefulSet").length, 3);
        assert.ok(names("kubernetes:apps/v1:StatefulSet").includes("validator"));
        assert.ok(names("kubernetes:apps/v1:StatefulSet").includes("bt-cometbft"));
    });

    it("monitorImageBuild: the bootstrap test's monitor is built by ImageBuild and used by its pushed digest", async () => {
        // The raw dev stack (not the parsed one: its groups carry resolved keys).
        const dev = rawStackConfig(readStackFile("Pulumi.dev.yaml"));
        const resources = await declare(
            parseStackConfig({
                ...dev,
                monitorImage: undefined,
                monitorImageBuild: {
                    imageName: "registry.example/chainfleet-monitor:dev",
                    network: "host",
                },
            }),
        );
        const [image] = resources.filter(
            (r) => r.type === "pulumi-nodejs:dynamic/image:ImageBuild",
        );
        assert.ok(image, "no ImageBuild declared");
        assert.equal(image.inputs.imageName, "registry.example/chainfleet-monitor:dev");
        assert.equal(image.inputs.dockerfile, "monitor/Dockerfile");
        assert.equal(image.inputs.network, "host");
        assert.match(image.inputs.contextHash, /^[0-9a-f]{64}$/);
        assert.notEqual(image.inputs.skipPush, true);
        const sts = resources.find(
            (r) =>
                r.type === "kubernetes:apps/v1:StatefulSet" &&
                r.inputs.metadata.name === "bt-cometbft",
        );
        const init = sts?.inputs.spec.template.spec.initContainers[0];
        assert.notEqual(init.image, "ghcr.io/chainfleet/monitor:0.1.0", "the published image");
    });

    it("declareFleet restores stack-trace capture, also when a component throws", async () => {
        const { declareFleet } = await import("../../components/Fleet");
        const before = Error.stackTraceLimit;
        const config = parseStackConfig({
            network: "testnet",
            chain: "sei",
            chainId: "atlantic-2",
            groups: {
                rpc: {
                    replicas: 1,
                    image: "ghcr.io/sei-protocol/sei:v6.1.0",
                    storage: { size: "1Gi" },
                    update: { strategy: "HardFork", entrantVolumes: "genesis", haltHeight: 5 },
                },
            },
        });
        assert.throws(
            () =>
                declareFleet("broken", {
                    config,
                    incumbents: { rpc: { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" } },
                }),
            /set update.bootstrapImage/,
        );
        assert.equal(Error.stackTraceLimit, before);
    });
});
