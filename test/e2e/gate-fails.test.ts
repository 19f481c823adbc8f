/**
 * A gate that cannot pass (issue 4c): the entrant's RPC URL points at a node that never syncs
 * (no peers, stuck near genesis, far behind the incumbents). `pulumi up` must fail on its own
 * deadline, saying which heights it saw, and leave everything that serves untouched: the
 * incumbent StatefulSet, its pods and volumes, and the stable Service's selector. Pointing the
 * gate at a caught-up node and running `pulumi up` again then completes the upgrade, reusing the
 * entrant set the failed run created.
 */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { CometChain, CometNode, waitForHeight } from "../api/harness/cometbft";
import {
    deleteNamespace,
    requireCluster,
    selectorOf,
    statefulSets,
    waitForReadyPods,
} from "./harness/cluster";
import {
    COMETBFT_V1,
    COMETBFT_V2,
    cometGroup,
    outputs,
    pinnedSet,
    setFingerprint,
    stableSelector,
    uniqueSuffix,
} from "./harness/fleet";
import { E2eStack, diagnosticsOf } from "./harness/pulumi";
import { installFailureReport, step, stopChain } from "./harness/report";

const GROUP = "rpc";
const GATE_SECONDS = 20;
/** Program start, entrant creation and the provider's own start-up, on a busy 2-core machine. */
const UP_OVERHEAD_SECONDS = 100;

describe("e2e: a gate that cannot pass", function () {
    const id = uniqueSuffix();
    const network = `gate-${id}`;
    const namespace = `e2e-gate-${id}`;
    const chainDir = path.join(os.tmpdir(), `chainfleet-e2e-gate-chain-${id}`);
    let stack: E2eStack | undefined;
    let chain: CometChain | undefined;
    let validator: CometNode;
    let synced: CometNode;
    let isolated: CometNode;

    const report = installFailureReport({
        stack: () => stack,
        namespace: () => namespace,
        chain: () => chain,
        chainDir: () => chainDir,
    });

    const config = (image: string, entrantUrl: string) => ({
        network,
        namespace,
        chain: "cometbft",
        groups: {
            [GROUP]: cometGroup(image, 1, {
                strategy: "BlueGreen",
                caughtUpTolerance: 3,
                timeouts: { gateSeconds: GATE_SECONDS, switchSeconds: 60 },
                gate: {
                    rpc: "direct",
                    directUrls: [entrantUrl],
                    incumbentUrls: [validator.rpcUrl],
                },
            }),
        },
    });

    before(async function () {
        await requireCluster();
        chain = new CometChain({ dir: chainDir });
        validator = await chain.startValidator();
        synced = await chain.addFullNode("synced");
        isolated = await chain.addFullNode("isolated", { isolated: true });
        // Far enough ahead that the isolated node is clearly behind, whatever it reports.
        await waitForHeight(validator.rpcUrl, 8);
        stack = new E2eStack({ label: "gate" });
        stack.writeConfig(config(COMETBFT_V1, synced.rpcUrl));
        await stack.init();
    });

    after(async function () {
        // Deleting the namespace is the quick clean-up (destroy has its own test).
        await deleteNamespace(namespace);
        await stack?.dispose();
        await stopChain(chain, chainDir, report);
    });

    it("fails the update within its deadline, touches nothing that serves, and resumes once fixed", async function () {
        const v1 = await step("up v1", async () => {
            await stack!.up();
            const out = await outputs(stack!);
            const set = pinnedSet(network, GROUP, out.revisions[GROUP]);
            await waitForReadyPods(namespace, selectorOf(set.selector), 1);
            return set;
        });
        const before = await setFingerprint(namespace, v1.names.statefulSet);
        assert.deepEqual(await stableSelector(namespace, GROUP), v1.selector);

        const entrant = await step(
            "up v2 with the entrant at a node that never syncs",
            async () => {
                stack!.writeConfig(config(COMETBFT_V2, isolated.rpcUrl));
                const failed = await stack!.up([], { allowFailure: true });
                assert.notEqual(failed.code, 0, "the update must fail");
                const seconds = failed.durationMs / 1000;
                assert.ok(
                    seconds < GATE_SECONDS + UP_OVERHEAD_SECONDS,
                    `pulumi up took ${seconds.toFixed(0)}s; the gate's deadline is ${GATE_SECONDS}s`,
                );
                const errors = diagnosticsOf(failed);
                assert.match(errors, /HeightGate/);
                assert.match(errors, new RegExp(`deadlineSeconds=${GATE_SECONDS}`));
                // The entrant's and the reference's heights, so a person can see how far behind it is.
                assert.match(errors, /entrant .*h=\d+/);
                assert.match(errors, /reference .*h=\d+/);
                const sets = (await statefulSets(namespace)).map((s) => s.metadata?.name ?? "");
                const entrantSet = sets.find((s) => s !== v1.names.statefulSet);
                assert.ok(entrantSet, `the entrant set was not created (sets: ${sets.join(", ")})`);
                return setFingerprint(namespace, entrantSet);
            },
        );

        await step("the incumbent still serves, untouched", async () => {
            assert.deepEqual(await setFingerprint(namespace, v1.names.statefulSet), before);
            assert.deepEqual(await stableSelector(namespace, GROUP), v1.selector);
        });

        await step("pointed at a caught-up node, the next up completes the upgrade", async () => {
            stack!.writeConfig(config(COMETBFT_V2, synced.rpcUrl));
            await stack!.up();
            const out = await outputs(stack!);
            const v2 = pinnedSet(network, GROUP, out.revisions[GROUP]);
            assert.deepEqual(await stableSelector(namespace, GROUP), v2.selector);
            assert.deepEqual(
                (await statefulSets(namespace)).map((s) => s.metadata?.name),
                [v2.names.statefulSet],
            );
            // Resumed, not recreated: the set the failed run made is the one now serving.
            const now = await setFingerprint(namespace, v2.names.statefulSet);
            assert.deepEqual(now.statefulSet, entrant.statefulSet);
            assert.deepEqual(now.pvcs, entrant.pvcs);
        });
    });
});
