/**
 * BlueGreen end to end (issue 4a): one `pulumi up` that changes a group's image creates the
 * entrant set, gates it on real CometBFT heights, flips the stable Service once, and deletes the
 * incumbent set, while the Service never runs out of ready endpoints.
 *
 * What happens *during* the up is recorded by watches started before it: every selector the
 * stable Service had, and the ready endpoint count of its EndpointSlices after every change.
 */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { CometChain, CometNode, waitForHeight } from "../api/harness/cometbft";
import { LABEL } from "../../lib/labels";
import {
    pvcs,
    recordPvcUids,
    recordReadyEndpoints,
    recordSelectors,
    requireCluster,
    selectorOf,
    statefulSets,
    deleteNamespace,
    waitForReadyPods,
    waitUntil,
} from "./harness/cluster";
import {
    COMETBFT_V1,
    COMETBFT_V2,
    assertNoChanges,
    assertNoKubernetesChanges,
    cometGroup,
    outputs,
    pinnedSet,
    planMessages,
    uniqueSuffix,
} from "./harness/fleet";
import { E2eStack, RunResult, diagnosticsOf } from "./harness/pulumi";
import { installFailureReport, step, stopChain } from "./harness/report";

const GROUP = "rpc";
const REPLICAS = 2;

describe("e2e: BlueGreen upgrade", function () {
    const id = uniqueSuffix();
    const network = `bg-${id}`;
    const namespace = `e2e-bg-${id}`;
    const chainDir = path.join(os.tmpdir(), `chainfleet-e2e-bg-chain-${id}`);
    let stack: E2eStack | undefined;
    let chain: CometChain | undefined;
    let validator: CometNode;
    let full: CometNode[] = [];
    /** Set once the upgrade itself passed; the no-op checks need it. */
    let upgraded = false;
    let third: RunResult | undefined;

    const report = installFailureReport({
        stack: () => stack,
        namespace: () => namespace,
        chain: () => chain,
        chainDir: () => chainDir,
    });

    /** The stack config at `image`: the gate reads real nodes at the direct URLs. */
    const config = (image: string) => ({
        network,
        namespace,
        chain: "cometbft",
        groups: {
            [GROUP]: cometGroup(image, REPLICAS, {
                strategy: "BlueGreen",
                caughtUpTolerance: 5,
                timeouts: { gateSeconds: 120, switchSeconds: 120 },
                gate: {
                    rpc: "direct",
                    // Entrant replicas by ordinal: full nodes that block-sync from the validator.
                    directUrls: [full[0].rpcUrl, full[1].rpcUrl],
                    // The incumbents' height is the reference the entrants must be close to.
                    incumbentUrls: [validator.rpcUrl, full[2].rpcUrl],
                },
            }),
        },
    });

    before(async function () {
        await requireCluster();
        chain = new CometChain({ dir: chainDir });
        validator = await chain.startValidator();
        full = [
            await chain.addFullNode("full-0"),
            await chain.addFullNode("full-1"),
            await chain.addFullNode("full-2"),
        ];
        await waitForHeight(validator.rpcUrl, 3);
        stack = new E2eStack({ label: "bluegreen" });
        stack.writeConfig(config(COMETBFT_V1));
        await stack.init();
    });

    after(async function () {
        // Deleting the namespace is the quick clean-up (destroy has its own test).
        await deleteNamespace(namespace);
        await stack?.dispose();
        await stopChain(chain, chainDir, report);
    });

    it("switches the stable Service once, keeps endpoints ready, then removes the old set", async function () {
        const v1 = await step("up v1", async () => {
            await stack!.up();
            const out = await outputs(stack!);
            const set = pinnedSet(network, GROUP, out.revisions[GROUP]);
            await waitForReadyPods(namespace, selectorOf(set.selector), REPLICAS);
            return set;
        });

        const selectors = recordSelectors(namespace, GROUP);
        const endpoints = recordReadyEndpoints(namespace, GROUP);
        const volumes = recordPvcUids(namespace);
        await Promise.all([
            selectors.recorder.start(),
            endpoints.recorder.start(),
            volumes.recorder.start(),
        ]);
        let v2!: ReturnType<typeof pinnedSet>;
        try {
            await step("v1 serves before the update", () =>
                waitUntil(`${REPLICAS} ready endpoints behind ${GROUP}`, async () =>
                    endpoints.samples.at(-1)?.ready === REPLICAS ? true : undefined,
                ),
            );
            v2 = await step("up v2 (blue-green)", async () => {
                stack!.writeConfig(config(COMETBFT_V2));
                const up = await stack!.up();
                const out = await outputs(stack!);
                const from = v1.names.statefulSet;
                const to = `${GROUP}-${out.revisions[GROUP]}`;
                assert.notEqual(to, from, "a new image must make a new revision");
                assert.deepEqual(planMessages(up), [
                    `${GROUP}: blue-green from ${from} (${v1.selector[LABEL.revision]}) to ${to} (${out.revisions[GROUP]})`,
                ]);
                // The gate reports heights where the person running `pulumi up` sees them.
                assert.match(up.output, /HeightGate/);
                return pinnedSet(network, GROUP, out.revisions[GROUP]);
            });
            // A last look after the up, so a late drop would still be seen.
            await new Promise((r) => setTimeout(r, 2000));
        } finally {
            await Promise.all([
                selectors.recorder.stop(),
                endpoints.recorder.stop(),
                volumes.recorder.stop(),
            ]);
        }

        await step("the selector changed exactly once, from v1 to v2", async () => {
            assert.deepEqual(selectors.seen, [v1.selector, v2.selector]);
        });
        await step("ready endpoints never dropped to zero", async () => {
            const min = endpoints.min();
            console.log(
                `      ready endpoints during the update: min ${min} over ${endpoints.samples.length} changes`,
            );
            assert.ok(endpoints.samples.length > 1, "the EndpointSlices never changed");
            assert.ok(min >= 1, `ready endpoints fell to ${min}:\n${endpoints.timeline()}`);
            assert.equal(endpoints.samples.at(-1)?.ready, REPLICAS);
        });
        await step("the entrant set runs v2 on its own volumes", async () => {
            const running = await waitForReadyPods(namespace, selectorOf(v2.selector), REPLICAS);
            for (const pod of running) {
                assert.equal(pod.spec?.containers[0].image, COMETBFT_V2);
            }
            const entrantPvcs = await pvcs(
                namespace,
                selectorOf({ [LABEL.set]: v2.names.statefulSet }),
            );
            assert.equal(entrantPvcs.length, REPLICAS);
            for (const pvc of entrantPvcs) {
                // Created once during the up, never replaced.
                assert.equal(volumes.uids.get(pvc.metadata!.name!)?.size, 1);
            }
        });
        await step("the incumbent set and its volumes are gone", async () => {
            const names = (await statefulSets(namespace)).map((s) => s.metadata?.name);
            assert.deepEqual(names, [v2.names.statefulSet]);
            await waitUntil("the incumbent's PVCs to be deleted", async () => {
                const left = await pvcs(
                    namespace,
                    selectorOf({ [LABEL.set]: v1.names.statefulSet }),
                );
                return left.length === 0;
            });
        });
        upgraded = true;
    });

    it("a third up changes no Kubernetes object", async function () {
        if (!upgraded) {
            this.skip();
        }
        third = await stack!.up(["--expect-no-changes"], { allowFailure: true });
        assertNoKubernetesChanges(third);
    });

    it("a third up is a no-op (Pulumi reports no changes)", async function () {
        if (!third) {
            this.skip();
        }
        // Besides Kubernetes objects, the finished upgrade's gate and switch records must stay
        // put too: an unchanged stack that still reports deletions is not a no-op to a person or
        // to `pulumi preview --expect-no-changes` in CI.
        assertNoChanges(third);
        assert.equal(third.code, 0, diagnosticsOf(third));
    });
});
