/**
 * HeightGate against a real API server (pods run by kwok) and real CometBFT nodes on 127.0.0.1,
 * reached through `directUrls` (the API server cannot proxy to kwok's fake pod IPs).
 *
 * Pods: StatefulSet `entrant` (2 replicas) and `incumbent` (1). Nodes: the validator stands in
 * for the incumbent; two full nodes that block-sync from it stand in for the entrants.
 */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { HeightGateInputs, HeightGateOutputs, heightGateProvider } from "../../dynamic-providers";
import { CometChain, CometNode, status, waitForHeight } from "./harness/cometbft";
import {
    createNamespace,
    createStatefulSet,
    deleteNamespace,
    kubeAccess,
    readyPods,
    requireCluster,
} from "./harness/kube";

const ENTRANT = { "app.kubernetes.io/instance": "gate", "chainfleet.io/revision": "b" };
const INCUMBENT = { "app.kubernetes.io/instance": "gate", "chainfleet.io/revision": "a" };

describe("api: HeightGate provider", function () {
    this.timeout(240_000);
    let ns = "";
    let chain: CometChain;
    let validator: CometNode;
    let full: CometNode[] = [];
    let isolated: CometNode;

    async function gateInputs(over: Record<string, unknown>): Promise<HeightGateInputs> {
        const raw = {
            ...kubeAccess(),
            namespace: ns,
            chain: "cometbft",
            mode: "caughtUp",
            entrantSelector: ENTRANT,
            replicas: 2,
            rpcMode: "direct",
            directUrls: {
                "entrant-0": full[0].rpcUrl,
                "entrant-1": full[1].rpcUrl,
                "incumbent-0": validator.rpcUrl,
            },
            deadlineSeconds: 60,
            // Tighter than the config default (5): these tests assert how close "caught up" is.
            tolerance: 2,
            pollIntervalMs: 250,
            ...over,
        };
        const { inputs, failures } = await heightGateProvider.check!(
            {} as HeightGateInputs,
            raw as unknown as HeightGateInputs,
        );
        assert.deepEqual(failures, []);
        return inputs as HeightGateInputs;
    }

    const run = async (over: Record<string, unknown>) =>
        (await heightGateProvider.create(await gateInputs(over))).outs as HeightGateOutputs;

    before(async () => {
        await requireCluster();
        chain = new CometChain({ dir: path.join(os.tmpdir(), `chainfleet-gate-${process.pid}`) });
        validator = await chain.startValidator();
        full = [await chain.addFullNode("full-0"), await chain.addFullNode("full-1")];
        isolated = await chain.addFullNode("isolated", { isolated: true });
        ns = await createNamespace("gate");
        await createStatefulSet(ns, "entrant", ENTRANT, 2);
        await createStatefulSet(ns, "incumbent", INCUMBENT, 1);
        await readyPods(ns, ENTRANT, 2);
        await readyPods(ns, INCUMBENT, 1);
        await waitForHeight(validator.rpcUrl, 5);
    });
    after(async () => {
        await chain?.dispose();
        if (ns) {
            await deleteNamespace(ns);
        }
    });

    it("running: passes when every entrant pod is Ready", async () => {
        const outs = await run({ mode: "running" });
        assert.equal(outs.reason, "all 2 pods Ready");
        assert.deepEqual(outs.heights, {});
        assert.equal(outs.referenceHeight, -1);
        assert.match(outs.passedAt, /^\d{4}-\d\d-\d\dT/);
    });

    it("caughtUp: passes against the incumbents' height once full nodes have synced", async () => {
        const outs = await run({ incumbentSelector: INCUMBENT });
        assert.match(outs.reason, /all 2 entrants caught up/);
        const v = (await status(validator.rpcUrl)).height;
        assert.ok(outs.referenceHeight > 0 && outs.referenceHeight <= v);
        for (const pod of ["entrant-0", "entrant-1"]) {
            assert.ok(outs.referenceHeight - outs.heights[pod] <= 2, JSON.stringify(outs.heights));
        }
    });

    it("caughtUp: passes against reference RPCs with no incumbents", async () => {
        const outs = await run({ referenceRpcs: [validator.rpcUrl] });
        assert.match(outs.reason, /reference \d+/);
    });

    it("atHeight: passes once every entrant reaches the target", async () => {
        const target = (await status(validator.rpcUrl)).height + 4;
        const outs = await run({ mode: "atHeight", targetHeight: target });
        assert.ok(outs.heights["entrant-0"] >= target && outs.heights["entrant-1"] >= target);
    });

    it("fails at its deadline with heights, rate and ETA when the target is far off", async () => {
        const target = (await status(validator.rpcUrl)).height + 100_000;
        const t0 = Date.now();
        await assert.rejects(
            run({ mode: "atHeight", targetHeight: target, deadlineSeconds: 3 }),
            (err: Error) => {
                assert.match(
                    err.message,
                    /HeightGate \(atHeight\) on pods .* did not pass within deadlineSeconds=3/,
                );
                assert.match(
                    err.message,
                    /entrant entrant-0 h=\d+, \d+\.\d+ b\/s, \d+ behind, ETA \d+h\d\dm/,
                );
                assert.match(err.message, /Nothing was changed/);
                return true;
            },
        );
        assert.ok(Date.now() - t0 < 8000, "the deadline is the gate's own");
    });

    it("caughtUp fails at its deadline naming the entrant that cannot sync", async () => {
        const directUrls = {
            "entrant-0": full[0].rpcUrl,
            "entrant-1": isolated.rpcUrl,
            "incumbent-0": validator.rpcUrl,
        };
        await assert.rejects(
            run({ incumbentSelector: INCUMBENT, directUrls, deadlineSeconds: 3 }),
            (err: Error) => {
                assert.match(
                    err.message,
                    /entrant-1: (catching up at h=0|at h=0, nothing synced yet|height 0 not advancing)/,
                );
                assert.match(err.message, /reference incumbent-0: h=\d+/);
                assert.match(err.message, /entrant entrant-1 h=0/);
                return true;
            },
        );
    });

    it("an unreachable entrant is reported with its error", async () => {
        const directUrls = {
            "entrant-0": full[0].rpcUrl,
            "entrant-1": "http://127.0.0.1:9",
            "incumbent-0": validator.rpcUrl,
        };
        await assert.rejects(
            run({ referenceRpcs: [validator.rpcUrl], directUrls, deadlineSeconds: 2 }),
            /entrant-1: unreachable \(.*ECONNREFUSED/,
        );
    });

    it("resumes after a deadline: the next run continues and passes", async () => {
        const target = (await status(validator.rpcUrl)).height + 6;
        await assert.rejects(
            run({ mode: "atHeight", targetHeight: target, deadlineSeconds: 1 }),
            /did not pass/,
        );
        const outs = await run({ mode: "atHeight", targetHeight: target, deadlineSeconds: 60 });
        assert.ok(outs.heights["entrant-0"] >= target);
    });

    it("a node that starts late is caught up once it has synced", async () => {
        const late = await chain.addFullNode("late", { start: false });
        const started = chain.startNode(late);
        const directUrls = {
            "entrant-0": full[0].rpcUrl,
            "entrant-1": late.rpcUrl,
            "incumbent-0": validator.rpcUrl,
        };
        await started;
        const outs = await run({
            incumbentSelector: INCUMBENT,
            directUrls,
            deadlineSeconds: 90,
        });
        assert.ok(outs.referenceHeight - outs.heights["entrant-1"] <= 2);
        await chain.stop(late);
    });
});
