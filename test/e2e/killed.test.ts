/**
 * `pulumi up` killed mid-wait (issue 4d): the CLI and every process under it (language host,
 * program, dynamic-provider and kubernetes plugins, each in a process group of its own) get
 * SIGKILL while a provider waits, as when a CI runner is cancelled or a laptop sleeps.
 *
 * What the kill leaves in a file backend, and how it is cleared with the CLI:
 * - the stack's lock file (`.pulumi/locks/...`): `pulumi up` refuses to start ("the stack is
 *   currently locked"). `pulumi cancel --yes` deletes it; for DIY backends that is all cancel
 *   does (pkg/backend/diy CancelCurrentUpdate).
 * - a pending `creating` operation for the waiting resource in the checkpoint: `pulumi up` only
 *   warns about it and carries it on to every later checkpoint. `pulumi refresh
 *   --clear-pending-creates --yes` drops it. That is right here because the waiting resources
 *   make nothing that could be orphaned: a gate only reads, and a bootstrap's Job is found again
 *   by name (and resumed) by the next run.
 * Then `pulumi up` converges, reusing what the killed run created: no second StatefulSet, no
 * extra volume, no second Job, and every volume keeps its UID.
 */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { CometChain, CometNode, waitForHeight } from "../api/harness/cometbft";
import { LABEL } from "../../lib/labels";
import { isNotFound } from "../../kube/kube";
import {
    deleteNamespace,
    jobs,
    kube,
    pvcs,
    recordJobs,
    recordPvcUids,
    requireCluster,
    selectorOf,
    statefulSets,
    waitForReadyPods,
    waitUntil,
} from "./harness/cluster";
import {
    COMETBFT_V1,
    COMETBFT_V2,
    assertNoKubernetesChanges,
    cometGroup,
    outputs,
    pinnedSet,
    setFingerprint,
    stableSelector,
    uniqueSuffix,
} from "./harness/fleet";
import { E2eStack, Running, isAlive } from "./harness/pulumi";
import { installFailureReport, step, stopChain } from "./harness/report";

const GROUP = "rpc";

/** Waits until the checkpoint shows a pending create of `type` (the run is inside that wait). */
async function waitForPendingCreate(stack: E2eStack, run: Running, type: string) {
    await waitUntil(
        `a pending create of ${type} in the checkpoint`,
        async () =>
            stack
                .pendingOperations()
                .some((op) => op.type === "creating" && op.resource.type.endsWith(type)),
        {
            timeoutMs: 240_000,
            intervalMs: 200,
            describe: async () => `pulumi output so far:\n${run.output().slice(-4000)}`,
        },
    );
}

/** SIGKILLs the run's whole process tree and checks that none of it survived. */
async function killRun(stack: E2eStack, run: Running): Promise<void> {
    const killed = await run.killTree();
    const result = await run.result;
    assert.equal(result.signal, "SIGKILL", "the CLI must have died of SIGKILL");
    assert.ok(killed.length >= 3, `expected the CLI and its plugins, killed only ${killed}`);
    assert.deepEqual(
        killed.filter(isAlive),
        [],
        "processes of the killed run survived the SIGKILL",
    );
    console.log(`      killed ${killed.length} processes of \`${result.command.split(" --")[0]}\``);
}

/** The recovery a person runs after a killed `pulumi up`, with checks that each part mattered. */
async function recover(stack: E2eStack, type: string): Promise<void> {
    assert.ok(stack.lockFiles().length > 0, "the killed run left no lock (nothing to recover?)");
    assert.ok(
        stack.pendingOperations().some((op) => op.resource.type.endsWith(type)),
        `the killed run left no pending ${type} operation`,
    );
    // As found: the stack is locked, so a plain `pulumi up` refuses to run.
    const refused = await stack.up([], { allowFailure: true });
    assert.notEqual(refused.code, 0, "pulumi up ran on a stack locked by a killed run");
    assert.match(refused.output, /locked/);

    await stack.run(["cancel", "--yes", "--stack", stack.stack, "--non-interactive"]);
    assert.deepEqual(stack.lockFiles(), [], "pulumi cancel left the lock");
    await stack.refresh(["--clear-pending-creates"]);
    assert.deepEqual(stack.pendingOperations(), [], "refresh left pending operations");
}

describe("e2e: pulumi up killed mid-wait", function () {
    const id = uniqueSuffix();
    const chainDir = path.join(os.tmpdir(), `chainfleet-e2e-kill-chain-${id}`);
    let chain: CometChain | undefined;
    let validator: CometNode;
    let stack: E2eStack | undefined;
    let namespace = "";

    const report = installFailureReport({
        stack: () => stack,
        namespace: () => namespace,
        chain: () => chain,
        chainDir: () => chainDir,
    });

    before(async function () {
        await requireCluster();
        chain = new CometChain({ dir: chainDir });
        validator = await chain.startValidator();
        await waitForHeight(validator.rpcUrl, 3);
    });

    afterEach(async function () {
        // Deleting the namespace is the quick clean-up (destroy has its own test).
        if (namespace) {
            await deleteNamespace(namespace);
        }
        await stack?.dispose();
        stack = undefined;
    });

    after(async function () {
        await stopChain(chain, chainDir, report);
    });

    it("BlueGreen killed while the gate waits: recovers and converges without duplicates", async function () {
        const sid = uniqueSuffix();
        const network = `kill-${sid}`;
        namespace = `e2e-kill-${sid}`;
        // The entrant's node exists but is not started: the gate waits until the test allows it.
        const late = await chain!.addFullNode(`late-${sid}`, { start: false });
        const config = (image: string) => ({
            network,
            namespace,
            chain: "cometbft",
            groups: {
                [GROUP]: cometGroup(image, 1, {
                    strategy: "BlueGreen",
                    timeouts: { gateSeconds: 600, switchSeconds: 60 },
                    gate: {
                        rpc: "direct",
                        directUrls: [late.rpcUrl],
                        incumbentUrls: [validator.rpcUrl],
                    },
                }),
            },
        });
        stack = new E2eStack({ label: "kill-bg" });
        stack.writeConfig(config(COMETBFT_V1));
        await stack.init();
        const v1 = await step("up v1", async () => {
            await stack!.up();
            const set = pinnedSet(network, GROUP, (await outputs(stack!)).revisions[GROUP]);
            await waitForReadyPods(namespace, selectorOf(set.selector), 1);
            return set;
        });

        const volumes = recordPvcUids(namespace);
        await volumes.recorder.start();
        let entrant!: { name: string; before: Awaited<ReturnType<typeof setFingerprint>> };
        try {
            entrant = await step("start up v2 and kill it while the gate waits", async () => {
                stack!.writeConfig(config(COMETBFT_V2));
                const run = stack!.startUp([], { allowFailure: true });
                await waitForPendingCreate(stack!, run, "HeightGate");
                // Let the gate get well into its wait (watches open, RPC polled).
                await new Promise((r) => setTimeout(r, 3000));
                await killRun(stack!, run);
                const sets = (await statefulSets(namespace)).map((s) => s.metadata?.name ?? "");
                const name = sets.find((s) => s !== v1.names.statefulSet);
                assert.ok(name, "the killed run had not created the entrant set");
                return { name, before: await setFingerprint(namespace, name) };
            });
            await step("the incumbent still serves", async () => {
                assert.deepEqual(await stableSelector(namespace, GROUP), v1.selector);
            });
            await step("recover the stack (cancel, refresh --clear-pending-creates)", () =>
                recover(stack!, "HeightGate"),
            );
            await step("let the entrant's node sync, then up again", async () => {
                await chain!.startNode(late);
                await waitForHeight(late.rpcUrl, 3);
                const up = await stack!.up();
                assert.doesNotMatch(up.output, /pending operations/);
            });
        } finally {
            await volumes.recorder.stop();
        }

        await step("converged: one set, one volume per replica, same volumes", async () => {
            const v2 = pinnedSet(network, GROUP, (await outputs(stack!)).revisions[GROUP]);
            assert.equal(v2.names.statefulSet, entrant.name);
            assert.deepEqual(await stableSelector(namespace, GROUP), v2.selector);
            assert.deepEqual(
                (await statefulSets(namespace)).map((s) => s.metadata?.name),
                [entrant.name],
            );
            const after = await setFingerprint(namespace, entrant.name);
            assert.deepEqual(after.statefulSet, entrant.before.statefulSet);
            assert.deepEqual(after.pvcs, entrant.before.pvcs);
            assert.equal(after.pvcs.length, 1);
            assert.equal((await pvcs(namespace)).length, 1, "PVCs in the namespace");
            for (const [name, uids] of volumes.uids) {
                assert.equal(uids.size, 1, `PVC ${name} was recreated: ${[...uids].join(", ")}`);
            }
            assert.ok((await jobs(namespace)).length <= 1);
        });
        await step("the next up touches no Kubernetes object", async () => {
            // Not --expect-no-changes: the finished upgrade's gate and switch records are dropped
            // by the next run (see bluegreen.test.ts, "a third up is a no-op").
            assertNoKubernetesChanges(await stack!.up());
        });
    });

    it("HardFork killed while the bootstrap waits: the same Job on the same volume finishes it", async function () {
        const sid = uniqueSuffix();
        const network = `killhf-${sid}`;
        namespace = `e2e-killhf-${sid}`;
        const seiGroup = (image: string, update: Record<string, unknown>) => ({
            replicas: 1,
            image,
            storage: { size: "1Gi" },
            resources: { requests: { cpu: "10m", memory: "32Mi" } },
            update,
        });
        const config = (g: Record<string, unknown>) => ({
            network,
            namespace,
            chain: "sei",
            // The agent prepares a Sei home with the chain id (config/nodeHome.ts).
            chainId: "atlantic-2",
            groups: { [GROUP]: g },
        });
        stack = new E2eStack({ label: "kill-hf" });
        stack.writeConfig(
            config(seiGroup("ghcr.io/sei-protocol/sei:v5.9.0", { strategy: "BlueGreen" })),
        );
        await stack.init();
        const v1 = await step("up v1", async () => {
            await stack!.up();
            const set = pinnedSet(network, GROUP, (await outputs(stack!)).revisions[GROUP]);
            await waitForReadyPods(namespace, selectorOf(set.selector), 1);
            return set;
        });

        // A pod quota the incumbent already fills keeps the bootstrap Job from getting a pod, so
        // the bootstrap waits for as long as the test needs. (Cordoning the nodes would do the
        // same, but for every namespace of a cluster other tests may share.)
        const quota = "hold-bootstrap";
        const release = async () => {
            try {
                await kube().core.deleteNamespacedResourceQuota({ name: quota, namespace });
            } catch (err) {
                if (!isNotFound(err)) {
                    throw err;
                }
            }
        };
        const jobWatch = recordJobs(namespace);
        const volumes = recordPvcUids(namespace);
        let killed!: { jobUid?: string; claim: string };
        try {
            await Promise.all([jobWatch.recorder.start(), volumes.recorder.start()]);
            await kube().core.createNamespacedResourceQuota({
                namespace,
                body: { metadata: { name: quota }, spec: { hard: { pods: "1" } } },
            });
            await waitUntil("the quota controller to count the incumbent's pod", async () => {
                const q = await kube().core.readNamespacedResourceQuota({ name: quota, namespace });
                return q.status?.used?.pods === "1";
            });
            killed = await step(
                "start the hard fork and kill it while the bootstrap waits",
                async () => {
                    stack!.writeConfig(
                        config(
                            seiGroup("ghcr.io/sei-protocol/sei:v6.0.0", {
                                strategy: "HardFork",
                                entrantVolumes: "genesis",
                                haltHeight: 500,
                                upgradeName: "v6.0.0",
                                timeouts: {
                                    bootstrapSeconds: 600,
                                    gateSeconds: 120,
                                    switchSeconds: 60,
                                },
                            }),
                        ),
                    );
                    const run = stack!.startUp([], { allowFailure: true });
                    await waitForPendingCreate(stack!, run, "Bootstrap");
                    const job = await waitUntil(
                        "the bootstrap Job",
                        async () => (await jobs(namespace))[0],
                    );
                    await new Promise((r) => setTimeout(r, 2000));
                    await killRun(stack!, run);
                    const claim = job.spec?.template.spec?.volumes?.find(
                        (v) => v.persistentVolumeClaim,
                    )?.persistentVolumeClaim?.claimName;
                    assert.ok(claim);
                    return { jobUid: job.metadata?.uid, claim };
                },
            );
            await release();
            await step("recover the stack (cancel, refresh --clear-pending-creates)", () =>
                recover(stack!, "Bootstrap"),
            );
            await step("up again", () => stack!.up());
        } finally {
            await release();
            await Promise.all([jobWatch.recorder.stop(), volumes.recorder.stop()]);
        }

        await step("converged with one Job, one volume, same UIDs", async () => {
            const v2 = pinnedSet(network, GROUP, (await outputs(stack!)).revisions[GROUP]);
            assert.deepEqual(await stableSelector(namespace, GROUP), v2.selector);
            assert.notDeepEqual(v2.selector, v1.selector);
            assert.equal(killed.claim, v2.names.pvc(0));
            assert.deepEqual(
                [...jobWatch.seen.keys()],
                [killed.jobUid],
                "the next run must resume the killed run's Job, not start another",
            );
            assert.deepEqual((await jobs(namespace)).length, 0, "the finished Job is removed");
            assert.deepEqual(
                (await statefulSets(namespace)).map((s) => s.metadata?.name),
                [v2.names.statefulSet],
            );
            const claims = await pvcs(namespace, selectorOf({ [LABEL.set]: v2.names.statefulSet }));
            assert.equal(claims.length, 1);
            assert.deepEqual(
                [...(volumes.uids.get(killed.claim) ?? [])],
                [claims[0].metadata?.uid],
            );
            assert.equal(
                claims[0].metadata?.annotations?.["chainfleet.io/bootstrapped-height"],
                "499",
            );
        });
    });
});
