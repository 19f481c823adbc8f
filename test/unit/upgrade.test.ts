/**
 * NodeDeployment's upgrade plans under mocks: what a BlueGreen or HardFork `pulumi up` declares
 * (entrant, bootstrap, gate, switch) and what it leaves undeclared (the incumbent, deleted by
 * Pulumi only after the switch).
 */
import * as assert from "node:assert/strict";
import { Recorded, Recorder, settled, useRecordingMocks } from "./support/mocks";
import { parseStackConfig } from "../../config";
import type { Incumbent } from "../../lib/plan";

/** Installed by the suite below (see support/mocks.ts). */
let mocks: Recorder;

async function declare(
    chain: "sei" | "cometbft" | "cosmos",
    update: Record<string, unknown>,
    incumbent?: Incumbent,
    group: Record<string, unknown> = {},
    stack: Record<string, unknown> = {},
): Promise<Recorded[]> {
    const { Fleet } = await import("../../components/Fleet");
    mocks.reset();
    const config = parseStackConfig({
        network: "testnet",
        chain,
        ...(chain !== "cometbft" ? { chainId: "atlantic-2" } : {}),
        ...stack,
        groups: {
            rpc: {
                replicas: 2,
                image: "ghcr.io/sei-protocol/sei:v6.1.0",
                storage: { size: "100Gi" },
                update,
                ...group,
            },
        },
    });
    const fleet = new Fleet("testnet", {
        config,
        incumbents: { rpc: incumbent },
        kube: { kubeconfig: "/kc" },
    });
    await settled(fleet, mocks);
    return mocks.resources;
}

const dynamic = (resources: Recorded[], kind: string) =>
    resources.filter(
        (r) => r.type.startsWith("pulumi-nodejs:dynamic") && r.type.endsWith(`:${kind}`),
    );
const statefulSets = (resources: Recorded[]) =>
    resources.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet").map((r) => r.inputs);

describe("NodeDeployment upgrade plans under mocks", () => {
    mocks = useRecordingMocks();
    it("first deployment: no gate, no switch, the stable Service selects the new set", async () => {
        const resources = await declare("cometbft", { strategy: "BlueGreen" });
        assert.equal(dynamic(resources, "HeightGate").length, 0);
        assert.equal(dynamic(resources, "TrafficSwitch").length, 0);
        const [sts] = statefulSets(resources);
        const stable = resources.find(
            (r) => r.type === "kubernetes:core/v1:Service" && r.inputs.metadata.name === "rpc",
        );
        assert.deepEqual(stable?.inputs.spec.selector, sts.spec.selector.matchLabels);
    });

    it("steady state declares the incumbent set as it is and nothing else", async () => {
        const first = await declare("cometbft", { strategy: "BlueGreen" });
        const [sts] = statefulSets(first);
        const revision = sts.metadata.labels["chainfleet.io/revision"];
        const again = await declare(
            "cometbft",
            { strategy: "BlueGreen" },
            { set: sts.metadata.name, revision },
        );
        assert.deepEqual(statefulSets(again), [sts]);
        assert.equal(dynamic(again, "HeightGate").length, 0);
    });

    it("BlueGreen: entrant set, caught-up gate on entrant vs incumbent, then the switch", async () => {
        const incumbent = { set: "rpc-aaaaaaaa", revision: "aaaaaaaa", image: "old:v1" };
        const resources = await declare(
            "cometbft",
            {
                strategy: "BlueGreen",
                caughtUpTolerance: 3,
                gate: { rpc: "direct", directUrls: ["http://127.0.0.1:1", "http://127.0.0.1:2"] },
            },
            incumbent,
        );
        const sets = statefulSets(resources);
        assert.equal(
            sets.length,
            1,
            "only the entrant is declared; the incumbent goes after the switch",
        );
        const entrant = sets[0];
        assert.notEqual(entrant.metadata.name, incumbent.set);
        const [gate] = dynamic(resources, "HeightGate");
        assert.equal(gate.inputs.mode, "caughtUp");
        assert.equal(gate.inputs.tolerance, 3);
        assert.deepEqual(gate.inputs.entrantSelector, entrant.spec.selector.matchLabels);
        assert.equal(gate.inputs.incumbentSelector["chainfleet.io/set"], incumbent.set);
        assert.deepEqual(gate.inputs.directUrls, {
            [`${entrant.metadata.name}-0`]: "http://127.0.0.1:1",
            [`${entrant.metadata.name}-1`]: "http://127.0.0.1:2",
        });
        assert.equal(gate.inputs.kubeconfig, "/kc");
        const [sw] = dynamic(resources, "TrafficSwitch");
        assert.equal(sw.inputs.serviceName, "rpc");
        assert.deepEqual(sw.inputs.selector, entrant.spec.selector.matchLabels);
    });

    // A generic Cosmos SDK chain: the halt flag follows the SDK line, the target app height not.
    const cosmosLines: [string, number][] = [
        ["v0.47.17", 999],
        ["v0.50.9", 999],
        ["v0.50.15", 1000],
    ];
    for (const [sdkVersion, flag] of cosmosLines) {
        it(`HardFork on cosmos ${sdkVersion}: --halt-height ${flag}, the agent proves app height 999 from application.db`, async () => {
            const incumbent = {
                set: "rpc-aaaaaaaa",
                revision: "aaaaaaaa",
                image: "chainfleet/testchain:0.47-v1",
            };
            const resources = await declare(
                "cosmos",
                {
                    strategy: "HardFork",
                    entrantVolumes: "genesis",
                    haltHeight: 1000,
                    upgradeName: "v047-to-v050",
                },
                incumbent,
                { image: "chainfleet/testchain:0.50-v2" },
                { cosmos: { daemon: "testchaind", sdkVersion } },
            );
            const [b] = dynamic(resources, "Bootstrap");
            const node = b.inputs.job.spec.template.spec.containers[0];
            assert.deepEqual(node.args, [
                "halt",
                "--home",
                "/testchaind",
                "--app-height",
                "999",
                "--rpc",
                "http://127.0.0.1:26657",
                "--",
                "testchaind",
                "start",
                "--home",
                "/testchaind",
                "--rpc.laddr",
                "tcp://0.0.0.0:26657",
                "--p2p.laddr",
                "tcp://0.0.0.0:26656",
                "--halt-height",
                String(flag),
            ]);
            const [entrant] = statefulSets(resources);
            const prepare = entrant.spec.template.spec.initContainers.find(
                (c: { name: string }) => c.name === "prepare",
            );
            assert.deepEqual(prepare.args.slice(0, 7), [
                "prepare",
                "--chain",
                "cosmos",
                "--home",
                "/testchaind",
                "--binary",
                "testchaind",
            ]);
        });
    }

    it("HardFork: bootstrap Jobs run the incumbent image to H-1 on the entrant volumes", async () => {
        const incumbent = {
            set: "rpc-aaaaaaaa",
            revision: "aaaaaaaa",
            image: "ghcr.io/sei-protocol/sei:v6.0.0",
        };
        const resources = await declare(
            "sei",
            {
                strategy: "HardFork",
                entrantVolumes: "genesis",
                haltHeight: 1000,
                upgradeName: "v6.1.0",
            },
            incumbent,
        );
        const [entrant] = statefulSets(resources);
        const pvcs = resources
            .filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim")
            .map((r) => r.inputs.metadata.name);
        const bootstraps = dynamic(resources, "Bootstrap");
        assert.equal(bootstraps.length, 2);
        bootstraps.forEach((b, ordinal) => {
            const job = b.inputs.job;
            const pod = job.spec.template.spec;
            assert.equal(pod.containers[0].image, incumbent.image, "incumbent image");
            const argv = [...pod.containers[0].command, ...pod.containers[0].args].join(" ");
            assert.match(argv, /--halt-height 999\b/, "halts at H-1");
            assert.equal(b.inputs.haltHeight, 999);
            // The agent proves the halt by the app's height: only its 0 is a success, never
            // seid's own 130 or 0 (a SIGTERM gives 0 too).
            assert.deepEqual(b.inputs.haltExitCodes, []);
            assert.deepEqual(pod.containers[0].command, ["/chainfleet/bin/chainfleet-agent"]);
            assert.deepEqual(
                pod.containers[0].args.slice(0, 9),
                [
                    "halt",
                    "--home",
                    "/sei",
                    "--app-height",
                    "999",
                    "--rpc",
                    "http://127.0.0.1:26657",
                    "--rpc-only",
                    "--",
                ],
                "the agent runs seid to app height H-1, judged by /abci_info (sei-db)",
            );
            assert.equal(pod.containers[0].args[9], "seid");
            assert.equal(pod.containers[0].terminationMessagePolicy, "FallbackToLogsOnError");
            assert.ok(
                pod.containers[0].volumeMounts.some(
                    (m: { mountPath: string }) => m.mountPath === "/chainfleet/bin",
                ),
                "the agent is mounted in the node container",
            );
            const claim = pod.volumes.find(
                (v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim,
            );
            assert.equal(
                claim.persistentVolumeClaim.claimName,
                `data-${entrant.metadata.name}-${ordinal}`,
            );
            assert.ok(
                pvcs.includes(claim.persistentVolumeClaim.claimName),
                "the entrant's own volume",
            );
            assert.equal(pod.restartPolicy, "Never");
            assert.equal(
                job.spec.template.metadata.labels["chainfleet.io/set"],
                undefined,
                "no set selects Job pods",
            );
        });
        const node = entrant.spec.template.spec.containers[0];
        assert.equal(
            node.image,
            "ghcr.io/sei-protocol/sei:v6.1.0",
            "the entrant runs the new image",
        );
        const init = entrant.spec.template.spec.initContainers.find(
            (c: { name: string }) => c.name === "upgrade-info",
        );
        const info = JSON.parse(
            init.env.find((e: { name: string }) => e.name === "UPGRADE_INFO").value,
        );
        assert.deepEqual(info, { name: "v6.1.0", height: 1000, info: "" });
        const [gate] = dynamic(resources, "HeightGate");
        assert.equal(gate.inputs.mode, "running");
        assert.equal(dynamic(resources, "TrafficSwitch").length, 1);
    });

    // The records of a finished upgrade stay declared under the same names, settled, so the
    // run after the upgrade neither deletes nor re-runs them (a Pulumi no-op).
    for (const c of [
        {
            strategy: "BlueGreen",
            chain: "cometbft",
            update: { strategy: "BlueGreen" },
            kinds: ["HeightGate", "TrafficSwitch"],
        },
        {
            strategy: "HardFork",
            entrantVolumes: "genesis",
            chain: "sei",
            update: {
                strategy: "HardFork",
                entrantVolumes: "genesis",
                haltHeight: 1000,
                upgradeName: "v6.1.0",
            },
            kinds: ["Bootstrap", "HeightGate", "TrafficSwitch"],
        },
    ] as const) {
        it(`${c.strategy}: after the switch, the same records stay declared, settled`, async () => {
            const incumbent = { set: "rpc-aaaaaaaa", revision: "aaaaaaaa", image: "old:v1" };
            const upgrade = await declare(c.chain, c.update, incumbent);
            const [entrant] = statefulSets(upgrade);
            const after = await declare(c.chain, c.update, {
                set: entrant.metadata.name,
                revision: entrant.metadata.labels["chainfleet.io/revision"],
                image: entrant.spec.template.spec.containers[0].image,
                switchedAt: "2026-11-30T00:00:00.000Z",
            });
            assert.deepEqual(statefulSets(after), [entrant], "the active set, unchanged");
            for (const kind of c.kinds) {
                const during = dynamic(upgrade, kind);
                const kept = dynamic(after, kind);
                assert.ok(during.length > 0, `${kind} during the upgrade`);
                assert.deepEqual(
                    kept.map((r) => r.name),
                    during.map((r) => r.name),
                    `${kind}: the same names, so Pulumi neither deletes nor creates one`,
                );
                for (const r of during) {
                    assert.equal(r.inputs.settled, false, `${r.name} waits during the upgrade`);
                }
                for (const r of kept) {
                    assert.equal(r.inputs.settled, true, `${r.name} is settled after it`);
                }
            }
            const [switchDuring] = dynamic(upgrade, "TrafficSwitch");
            const [switchAfter] = dynamic(after, "TrafficSwitch");
            assert.deepEqual(switchAfter.inputs.selector, switchDuring.inputs.selector);
            for (const b of dynamic(after, "Bootstrap")) {
                assert.equal(b.inputs.job, undefined, "a settled bootstrap runs no Job");
            }
        });
    }

    it("a second upgrade reuses the records: the gate now waits for the new entrant", async () => {
        const update = { strategy: "BlueGreen" };
        const first = await declare("cometbft", update, {
            set: "rpc-aaaaaaaa",
            revision: "aaaaaaaa",
            switchedAt: "2026-11-30T00:00:00.000Z",
        });
        const [gate] = dynamic(first, "HeightGate");
        const [entrant] = statefulSets(first);
        assert.equal(gate.name, "testnet-rpc-gate");
        assert.equal(gate.inputs.settled, false);
        assert.deepEqual(gate.inputs.entrantSelector, entrant.spec.selector.matchLabels);
        assert.equal(gate.inputs.incumbentSelector["chainfleet.io/set"], "rpc-aaaaaaaa");
    });

    it("Rolling (inPlace): the set keeps its name, uses OnDelete, and a Rollout moves its pods", async () => {
        const first = await declare("cometbft", { strategy: "Rolling" });
        const [before] = statefulSets(first);
        const incumbent = {
            set: before.metadata.name,
            revision: before.metadata.labels["chainfleet.io/revision"],
        };
        const resources = await declare(
            "cometbft",
            { strategy: "Rolling", timeouts: { gateSeconds: 900 } },
            incumbent,
            {
                image: "ghcr.io/sei-protocol/sei:v6.2.0",
                podDisruptionBudget: { maxUnavailable: 2 },
            },
        );
        const [sts] = statefulSets(resources);
        const revision = sts.metadata.labels["chainfleet.io/revision"];
        assert.equal(sts.metadata.name, "rpc", "updated in place under the group's name");
        assert.notEqual(revision, incumbent.revision);
        assert.deepEqual(sts.spec.updateStrategy, { type: "OnDelete" });
        assert.equal(sts.spec.template.metadata.labels["chainfleet.io/revision"], revision);
        assert.equal(dynamic(resources, "HeightGate").length, 0);
        assert.equal(dynamic(resources, "TrafficSwitch").length, 0);
        const rollouts = dynamic(resources, "Rollout");
        assert.equal(rollouts.length, 1);
        const [rollout] = rollouts;
        assert.equal(rollout.type, "pulumi-nodejs:dynamic/upgrade:Rollout");
        assert.equal(rollout.name, `testnet-rpc-rollout-${revision}`);
        assert.deepEqual(
            Object.fromEntries(
                ["kubeconfig", "namespace", "statefulSetName", "revision", "maxUnavailable"].map(
                    (k) => [k, rollout.inputs[k]],
                ),
            ),
            {
                kubeconfig: "/kc",
                namespace: sts.metadata.namespace,
                statefulSetName: "rpc",
                revision,
                maxUnavailable: 2,
            },
        );
        assert.equal(rollout.inputs.deadlineSeconds, 900);
        assert.ok(rollout.inputs.providerVersion);
    });

    it("Rolling: a steady set still declares its revision's Rollout, so a failed one resumes", async () => {
        const first = await declare("cometbft", { strategy: "Rolling" });
        const [sts] = statefulSets(first);
        const revision = sts.metadata.labels["chainfleet.io/revision"];
        const [created] = dynamic(first, "Rollout");
        const again = await declare(
            "cometbft",
            { strategy: "Rolling" },
            { set: sts.metadata.name, revision },
        );
        const [steady] = dynamic(again, "Rollout");
        // Same name and inputs as the first deployment's: a finished rollout does not run again.
        assert.equal(steady.name, created.name);
        assert.deepEqual(steady.inputs, created.inputs);
        assert.equal(steady.inputs.maxUnavailable, 1, "default budget: one at a time");
    });

    it("BlueGreen sets are never rolled in place: no Rollout, OnDelete all the same", async () => {
        const resources = await declare(
            "cometbft",
            { strategy: "BlueGreen" },
            { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" },
        );
        assert.equal(dynamic(resources, "Rollout").length, 0);
        assert.deepEqual(statefulSets(resources)[0].spec.updateStrategy, { type: "OnDelete" });
    });

    it("a preprod cohort's set is rolled in place by a Rollout of its own revision", async () => {
        const { Fleet } = await import("../../components/Fleet");
        mocks.reset();
        const config = parseStackConfig({
            network: "testnet",
            chain: "cometbft",
            groups: {
                rpc: {
                    replicas: 3,
                    image: "cometbft/cometbft:v0.38.19",
                    storage: { size: "10Gi" },
                    update: { strategy: "BlueGreen" },
                },
            },
        });
        const cohort = {
            replicas: 1,
            image: "cometbft/cometbft:v0.38.20",
            nodes: ["rpc-2"],
            pods: ["rpc-preprod-0"],
        };
        const fleet = new Fleet("testnet", {
            config,
            preprod: { selection: {} as never, groups: { rpc: cohort } },
        });
        await settled(fleet, mocks);
        const pre = statefulSets(mocks.resources).find((s) => s.metadata.name === "rpc-preprod")!;
        assert.deepEqual(pre.spec.updateStrategy, { type: "OnDelete" });
        const rollouts = dynamic(mocks.resources, "Rollout");
        assert.equal(rollouts.length, 1, "the BlueGreen group itself has none");
        assert.equal(rollouts[0].inputs.statefulSetName, "rpc-preprod");
        assert.equal(rollouts[0].inputs.revision, pre.metadata.labels["chainfleet.io/revision"]);
    });

    it("HardFork without a known incumbent image fails, naming the fix", async () => {
        await assert.rejects(
            declare(
                "sei",
                { strategy: "HardFork", entrantVolumes: "genesis", haltHeight: 1000 },
                { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" },
            ),
            /set update.bootstrapImage/,
        );
    });
});
