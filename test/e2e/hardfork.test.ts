/**
 * HardFork end to end on Sei (issue 4b): one `pulumi up` with a new image, a halt height H and
 * an upgrade name bootstraps each entrant volume with the *incumbent* image halting at H-1, then
 * starts the new image on those same volumes with the upgrade-info file it needs, switches the
 * stable Service and removes the incumbent.
 *
 * The bootstrap Jobs exist only during the up (the provider deletes them once the node halted),
 * so a watch started before the up records them, and the volumes' UIDs, as they happen. kwok
 * completes Job pods with exit 0, which is what the halt wrapper turns seid's halt into.
 */
import * as assert from "node:assert/strict";
import type { V1Job } from "@kubernetes/client-node";
import { LABEL } from "../../lib/labels";
import {
    deleteNamespace,
    jobs,
    kube,
    pvcs,
    recordJobs,
    recordPvcUids,
    recordSelectors,
    requireCluster,
    selectorOf,
    statefulSets,
    waitForReadyPods,
    waitUntil,
} from "./harness/cluster";
import { assertNoChanges, outputs, pinnedSet, planMessages, uniqueSuffix } from "./harness/fleet";
import { E2eStack, diagnosticsOf } from "./harness/pulumi";
import { installFailureReport, step } from "./harness/report";

const GROUP = "archive";
const REPLICAS = 2;
const SEI_V1 = "ghcr.io/sei-protocol/sei:v5.9.0";
const SEI_V2 = "ghcr.io/sei-protocol/sei:v6.0.0";
const HALT_HEIGHT = 1000;
const UPGRADE_NAME = "v6.0.0";

function group(image: string, update: Record<string, unknown>) {
    return {
        replicas: REPLICAS,
        image,
        storage: { size: "1Gi" },
        resources: { requests: { cpu: "10m", memory: "32Mi" } },
        update,
    };
}

/** The node container's argv (command + args) of a Job. */
const argvOf = (job: V1Job): string[] => {
    const c = job.spec?.template.spec?.containers[0];
    return [...(c?.command ?? []), ...(c?.args ?? [])];
};

describe("e2e: HardFork upgrade (sei)", function () {
    const id = uniqueSuffix();
    const network = `hf-${id}`;
    const namespace = `e2e-hf-${id}`;
    let stack: E2eStack | undefined;
    let forked = false;

    installFailureReport({ stack: () => stack, namespace: () => namespace });

    const config = (g: Record<string, unknown>) => ({
        network,
        namespace,
        chain: "sei",
        // The agent prepares a Sei home with the chain id (config/nodeHome.ts).
        chainId: "atlantic-2",
        groups: { [GROUP]: g },
    });

    before(async function () {
        await requireCluster();
        stack = new E2eStack({ label: "hardfork" });
        stack.writeConfig(config(group(SEI_V1, { strategy: "BlueGreen" })));
        await stack.init();
    });

    after(async function () {
        // Deleting the namespace is the quick clean-up (destroy has its own test).
        await deleteNamespace(namespace);
        await stack?.dispose();
    });

    it("bootstraps with the incumbent image to H-1, then runs the new image on the same volumes", async function () {
        const v1 = await step("up v1 (the incumbent)", async () => {
            await stack!.up();
            const out = await outputs(stack!);
            const set = pinnedSet(network, GROUP, out.revisions[GROUP]);
            await waitForReadyPods(namespace, selectorOf(set.selector), REPLICAS);
            return set;
        });

        const jobWatch = recordJobs(namespace);
        const volumes = recordPvcUids(namespace);
        const selectors = recordSelectors(namespace, GROUP);
        /** The UID of the PVC each Job mounts, read as soon as the Job is seen. */
        const pvcUidAtJob = new Map<string, Promise<string | undefined>>();
        const watchJobVolumes = setInterval(() => {
            for (const job of jobWatch.seen.values()) {
                const claim = job.spec?.template.spec?.volumes?.find((v) => v.persistentVolumeClaim)
                    ?.persistentVolumeClaim?.claimName;
                if (claim && !pvcUidAtJob.has(claim)) {
                    pvcUidAtJob.set(
                        claim,
                        kube()
                            .core.readNamespacedPersistentVolumeClaim({ namespace, name: claim })
                            .then((p) => p.metadata?.uid),
                    );
                }
            }
        }, 100);
        await Promise.all([
            jobWatch.recorder.start(),
            volumes.recorder.start(),
            selectors.recorder.start(),
        ]);
        let v2!: ReturnType<typeof pinnedSet>;
        try {
            v2 = await step("up v2 (hard fork)", async () => {
                stack!.writeConfig(
                    config(
                        group(SEI_V2, {
                            strategy: "HardFork",
                            entrantVolumes: "genesis",
                            haltHeight: HALT_HEIGHT,
                            upgradeName: UPGRADE_NAME,
                            timeouts: {
                                bootstrapSeconds: 180,
                                gateSeconds: 180,
                                switchSeconds: 120,
                            },
                        }),
                    ),
                );
                const up = await stack!.up();
                const out = await outputs(stack!);
                assert.deepEqual(planMessages(up), [
                    `${GROUP}: hard fork from ${v1.names.statefulSet} (${v1.selector[LABEL.revision]}) ` +
                        `to ${GROUP}-${out.revisions[GROUP]} (${out.revisions[GROUP]})`,
                ]);
                return pinnedSet(network, GROUP, out.revisions[GROUP]);
            });
        } finally {
            clearInterval(watchJobVolumes);
            await Promise.all([
                jobWatch.recorder.stop(),
                volumes.recorder.stop(),
                selectors.recorder.stop(),
            ]);
        }

        const seenJobs = [...jobWatch.seen.values()];
        await step(
            "one bootstrap Job per replica ran the incumbent image halting at H-1",
            async () => {
                assert.deepEqual(
                    seenJobs.map((j) => j.metadata?.name).sort(),
                    Array.from({ length: REPLICAS }, (_, i) => v2.names.bootstrapJob(i)).sort(),
                );
                for (const job of seenJobs) {
                    const argv = argvOf(job);
                    assert.equal(job.spec?.template.spec?.containers[0].image, SEI_V1);
                    const at = argv.indexOf("--halt-height");
                    assert.ok(at >= 0, `no --halt-height in ${JSON.stringify(argv)}`);
                    assert.equal(argv[at + 1], String(HALT_HEIGHT - 1));
                }
            },
        );
        await step("each Job ran on the entrant's volume", async () => {
            for (let i = 0; i < REPLICAS; i++) {
                const job = seenJobs.find((j) => j.metadata?.name === v2.names.bootstrapJob(i))!;
                const claims = (job.spec?.template.spec?.volumes ?? [])
                    .map((v) => v.persistentVolumeClaim?.claimName)
                    .filter(Boolean);
                assert.deepEqual(claims, [v2.names.pvc(i)]);
            }
        });
        await step("the bootstrap Jobs were removed", async () => {
            assert.deepEqual(
                (await jobs(namespace)).map((j) => j.metadata?.name),
                [],
            );
        });
        await step("the entrant runs the new image on the very volumes the Jobs used", async () => {
            const running = await waitForReadyPods(namespace, selectorOf(v2.selector), REPLICAS);
            const sts = (await statefulSets(namespace)).find(
                (s) => s.metadata?.name === v2.names.statefulSet,
            );
            assert.equal(sts?.spec?.template.spec?.containers[0].image, SEI_V2);
            for (const pod of running) {
                assert.equal(pod.spec?.containers[0].image, SEI_V2);
                const ordinal = Number(pod.metadata!.name!.split("-").pop());
                const claim = pod.spec?.volumes?.find((v) => v.persistentVolumeClaim)
                    ?.persistentVolumeClaim?.claimName;
                assert.equal(claim, v2.names.pvc(ordinal));
            }
            for (let i = 0; i < REPLICAS; i++) {
                const name = v2.names.pvc(i);
                const now = await kube().core.readNamespacedPersistentVolumeClaim({
                    namespace,
                    name,
                });
                const atJob = await pvcUidAtJob.get(name);
                assert.ok(atJob, `the Job's volume ${name} was never seen`);
                assert.equal(now.metadata?.uid, atJob, `${name} was replaced after its bootstrap`);
                assert.deepEqual([...(volumes.uids.get(name) ?? [])], [atJob]);
                assert.equal(now.status?.phase, "Bound");
                assert.equal(
                    now.metadata?.annotations?.["chainfleet.io/bootstrapped-height"],
                    String(HALT_HEIGHT - 1),
                );
            }
        });
        await step("the upgrade-info init container carries the upgrade name and H", async () => {
            const sts = (await statefulSets(namespace)).find(
                (s) => s.metadata?.name === v2.names.statefulSet,
            );
            const init = sts?.spec?.template.spec?.initContainers?.find(
                (c) => c.name === "upgrade-info",
            );
            assert.ok(init, "no upgrade-info init container");
            const info = JSON.parse(
                init.env?.find((e) => e.name === "UPGRADE_INFO")?.value ?? "{}",
            );
            assert.equal(info.name, UPGRADE_NAME);
            assert.equal(info.height, HALT_HEIGHT);
            assert.ok(
                init.volumeMounts?.some((m) => m.name === "data"),
                "the init container must write onto the data volume",
            );
        });
        await step("traffic switched once to the entrant, and the incumbent is gone", async () => {
            assert.deepEqual(selectors.seen, [v1.selector, v2.selector]);
            assert.deepEqual(
                (await statefulSets(namespace)).map((s) => s.metadata?.name),
                [v2.names.statefulSet],
            );
            await waitUntil("the incumbent's PVCs to be deleted", async () => {
                const left = await pvcs(
                    namespace,
                    selectorOf({ [LABEL.set]: v1.names.statefulSet }),
                );
                return left.length === 0;
            });
        });
        forked = true;
    });

    it("the up after the fork is a no-op: bootstrap, gate and switch records stay, settled", async function () {
        if (!forked) {
            this.skip();
        }
        const again = await stack!.up(["--expect-no-changes"], { allowFailure: true });
        assertNoChanges(again);
        assert.equal(again.code, 0, diagnosticsOf(again));
        assert.deepEqual(planMessages(again), [], "nothing to upgrade");
    });
});
