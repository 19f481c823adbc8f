/**
 * A real network from stack config alone, on the local cluster's real node (issue 12): a
 * generated genesis naming a validator whose key is derived from nodeKeySeed, an rpc group that
 * finds it through in-fleet peers and block-syncs from it, and a BlueGreen upgrade of that group
 * whose entrants really sync and whose caught-up gate reads them through the API server's pod
 * proxy (the default `podProxy`), as a user's `pulumi up` does. Every node is a real CometBFT in
 * a real container; nothing here is a harness process.
 */
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { KubeConfig } from "@kubernetes/client-node";
import { adapterFor } from "../../chains";
import { LABEL } from "../../lib/labels";
import { NodeRow, allInSyncAndAdvancing, readNodes } from "../../scripts/nodeStatus";
import { REAL_NODE_TAINT, requireRealNode } from "../api/harness/realNode";
import {
    deleteNamespace,
    kube,
    requireCluster,
    selectorOf,
    statefulSets,
    waitForReadyPods,
    waitUntil,
} from "./harness/cluster";
import {
    COMETBFT_V1,
    COMETBFT_V2,
    cometGroup,
    outputs,
    pinnedSet,
    planMessages,
    uniqueSuffix,
} from "./harness/fleet";
import { E2eStack } from "./harness/pulumi";
import { installFailureReport, step } from "./harness/report";

describe("e2e: a real network (generated genesis, in-fleet peers, BlueGreen through podProxy)", function () {
    const id = uniqueSuffix();
    const network = `rn-${id}`;
    const namespace = `e2e-rn-${id}`;
    const adapter = adapterFor("cometbft");
    let stack: E2eStack | undefined;
    let kc: KubeConfig;

    installFailureReport({ stack: () => stack, namespace: () => namespace });

    const config = (rpcImage: string, validatorStrategy = "Rolling") => ({
        network,
        namespace,
        chain: "cometbft",
        chainId: `chain-${id}`,
        genesis: { generate: {} },
        // Plain text here: the program reads it as it reads a decrypted secret.
        nodeKeySeed: seed,
        placement: {
            nodeSelector: { type: "real" },
            tolerations: [{ key: REAL_NODE_TAINT, operator: "Exists", effect: "NoSchedule" }],
        },
        groups: {
            validator: {
                ...cometGroup(COMETBFT_V1, 1, { strategy: validatorStrategy }),
                validator: {},
            },
            rpc: cometGroup(rpcImage, 2, {
                strategy: "BlueGreen",
                caughtUpTolerance: 5,
                timeouts: { gateSeconds: 240, switchSeconds: 120 },
            }),
        },
    });
    const seed = randomBytes(32).toString("hex");

    /** Every node in sync, and each one's height above what it was at `since`. */
    async function networkInSync(since: Map<string, number>): Promise<NodeRow[] | undefined> {
        const rows = await readNodes(kc, adapter, namespace, network);
        // Called on every poll, whatever the count: it records the first heights.
        const advancing = allInSyncAndAdvancing(rows, since);
        return rows.length === 3 && advancing ? rows : undefined;
    }

    before(async function () {
        await requireCluster();
        await requireRealNode(this);
        kc = new KubeConfig();
        kc.loadFromDefault();
        stack = new E2eStack({ label: "realnet" });
        stack.writeConfig(config(COMETBFT_V1));
        await stack.init();
    });

    after(async function () {
        await deleteNamespace(namespace);
        await stack?.dispose();
    });

    it("up: the rpc nodes block-sync from the validator, read through the pod proxy", async function () {
        const started = Date.now();
        const firstSeen = new Map<string, number>();
        await step("up", () => stack!.up());
        const rows = await step("every node in sync, heights advancing, with peers", () =>
            waitUntil("the network to be in sync", () => networkInSync(firstSeen), {
                timeoutMs: 240_000,
                intervalMs: 2000,
                describe: async () =>
                    JSON.stringify(await readNodes(kc, adapter, namespace, network)),
            }),
        );
        console.log(
            `      in sync ${((Date.now() - started) / 1000).toFixed(0)}s after up started: ` +
                rows.map((r) => `${r.pod} h${r.height} peers ${r.peers}`).join(", "),
        );
        // The rpc nodes really follow the validator: they are not a chain of their own.
        const validator = rows.find((r) => r.group === "validator")!;
        for (const r of rows.filter((r) => r.group === "rpc")) {
            assert.ok(Math.abs(r.height! - validator.height!) <= 5, JSON.stringify(rows));
        }
    });

    it("BlueGreen of the rpc group: entrants sync from the validator, the podProxy gate passes, the switch flips", async function () {
        const before = pinnedSet(network, "rpc", (await outputs(stack!)).revisions.rpc);
        const up = await step("up v2 (blue-green, gate through the pod proxy)", async () => {
            stack!.writeConfig(config(COMETBFT_V2));
            return stack!.up();
        });
        const after = pinnedSet(network, "rpc", (await outputs(stack!)).revisions.rpc);
        assert.notEqual(after.names.statefulSet, before.names.statefulSet);
        assert.deepEqual(planMessages(up), [
            `rpc: blue-green from ${before.names.statefulSet} (${before.selector[LABEL.revision]}) to ${after.names.statefulSet} (${after.selector[LABEL.revision]})`,
        ]);
        await step(
            "the stable Service selects the entrants, which run v2 and are in sync",
            async () => {
                const svc = await kube().core.readNamespacedService({ namespace, name: "rpc" });
                assert.deepEqual(svc.spec?.selector, after.selector);
                const pods = await waitForReadyPods(namespace, selectorOf(after.selector), 2);
                for (const pod of pods) assert.equal(pod.spec?.containers[0].image, COMETBFT_V2);
                const firstSeen = new Map<string, number>();
                await waitUntil(
                    "the upgraded network to be in sync",
                    () => networkInSync(firstSeen),
                    {
                        timeoutMs: 120_000,
                        intervalMs: 2000,
                    },
                );
            },
        );
        await step("the incumbent set is gone", async () => {
            const names = (await statefulSets(namespace)).map((s) => s.metadata?.name).sort();
            assert.deepEqual(names, [after.names.statefulSet, "validator"].sort());
        });
    });

    it("a signing group refuses BlueGreen before any resource changes", async function () {
        const pod = await kube().core.readNamespacedPod({ namespace, name: "validator-0" });
        stack!.writeConfig(config(COMETBFT_V2, "BlueGreen"));
        const up = await stack!.up([], { allowFailure: true });
        assert.notEqual(up.code, 0);
        assert.match(
            up.output,
            /groups\.validator\.update\.strategy: a signing group cannot use BlueGreen/,
        );
        const still = await kube().core.readNamespacedPod({ namespace, name: "validator-0" });
        assert.equal(still.metadata?.uid, pod.metadata?.uid, "the validator kept running");
        assert.equal(still.spec?.containers[0].image, COMETBFT_V1);
    });

    it("a Rolling update of the signing group never runs two signers, and the chain goes on", async function () {
        // The validator's pods, polled while the update runs: a signer is a pod whose node
        // container is running. The StatefulSet creates validator-0 again only once the old one
        // is gone; this is the evidence that no window has two.
        const signers: string[][] = [];
        let polling = true;
        const poll = (async () => {
            while (polling) {
                const pods = await kube().core.listNamespacedPod({
                    namespace,
                    labelSelector: `${LABEL.group}=validator`,
                });
                signers.push(
                    pods.items
                        .filter((p) =>
                            p.status?.containerStatuses?.some(
                                (c) => c.name === "node" && c.state?.running,
                            ),
                        )
                        .map((p) => p.metadata!.uid!),
                );
                await new Promise((r) => setTimeout(r, 200));
            }
        })();
        const before = await kube().core.readNamespacedPod({ namespace, name: "validator-0" });
        const firstAfterRoll = new Map<string, number>();
        try {
            await step("up: the validator rolls to v2", async () => {
                stack!.writeConfig({
                    ...config(COMETBFT_V2),
                    groups: {
                        ...config(COMETBFT_V2).groups,
                        validator: {
                            ...cometGroup(COMETBFT_V2, 1, { strategy: "Rolling" }),
                            validator: {},
                        },
                    },
                });
                await stack!.up();
            });
            await step("the new validator signs blocks again, and the rpc nodes follow", () =>
                waitUntil(
                    "the network to be in sync after the roll",
                    () => networkInSync(firstAfterRoll),
                    {
                        timeoutMs: 180_000,
                        intervalMs: 2000,
                    },
                ),
            );
        } finally {
            polling = false;
            await poll;
        }
        const after = await kube().core.readNamespacedPod({ namespace, name: "validator-0" });
        assert.notEqual(
            after.metadata?.uid,
            before.metadata?.uid,
            "the validator pod was replaced",
        );
        assert.equal(after.spec?.containers[0].image, COMETBFT_V2);
        const most = Math.max(...signers.map((s) => s.length));
        const uids = new Set(signers.flat());
        console.log(
            `      ${signers.length} polls, ${uids.size} signer pods seen, at most ${most} at once`,
        );
        assert.ok(uids.size >= 2, "the poll saw both the old and the new signer");
        assert.equal(
            most,
            1,
            `two signers at once: ${JSON.stringify(signers.filter((s) => s.length > 1))}`,
        );
    });
});
