/**
 * The dev stack's whole life through the real CLI (issue 3): preview shows the creates, up
 * creates a fleet that really runs (Bound volumes, Running pods with chainfleet's labels), an
 * unchanged second up is a no-op, destroy leaves nothing behind.
 *
 * The config is the committed Pulumi.dev.yaml with its network and namespace renamed, so this
 * neither reads nor disturbs a developer's own dev stack on the same cluster.
 */
import * as assert from "node:assert/strict";
import { LABEL } from "../../lib/labels";
import { groupNames } from "../../lib/names";
import {
    deleteNamespace,
    kube,
    pvcs,
    readyEndpoints,
    requireCluster,
    selectorOf,
    service,
    statefulSets,
    waitForNamespaceGone,
    waitForReadyPods,
    waitUntil,
} from "./harness/cluster";
import {
    FleetOutputs,
    assertNoChanges,
    outputs,
    planMessages,
    uniqueSuffix,
} from "./harness/fleet";
import { DevConfig, devConfig, pushDevFollowedTag } from "./harness/dev";
import { E2eStack, stepsOf, summaryOf } from "./harness/pulumi";
import { installFailureReport, step } from "./harness/report";

describe("e2e: dev stack lifecycle", function () {
    const id = uniqueSuffix();
    const network = `dev-${id}`;
    const namespace = `e2e-dev-${id}`;
    const config: DevConfig = { ...devConfig(), network, namespace };
    const groups = config.groups;
    let stack: E2eStack | undefined;
    let out: FleetOutputs;
    let failed = false;
    /** How many creates the preview announced. */
    let creates = 0;

    installFailureReport({ stack: () => stack, namespace: () => namespace });

    before(async function () {
        await requireCluster();
        // As `npm run dev` does: the bootstrap test's followed tag must exist for its pod to run.
        pushDevFollowedTag(config);
        stack = new E2eStack({ label: "dev" });
        stack.writeConfig(config);
        await stack.init();
    });

    // The steps build on each other: after a failure the rest would only repeat it.
    beforeEach(function () {
        if (failed) {
            this.skip();
        }
    });
    afterEach(function () {
        failed ||= this.currentTest?.state === "failed";
    });

    after(async function () {
        if (failed && stack) {
            await stack.destroy([], { allowFailure: true, timeoutMs: 300_000 });
            await deleteNamespace(namespace);
        }
        await stack?.dispose();
    });

    it("preview lists every object as a create and changes nothing", async function () {
        const preview = await stack!.preview();
        const steps = stepsOf(preview).filter((s) => !s.type.startsWith("pulumi:"));
        const notCreate = steps.filter((s) => s.op !== "create");
        assert.deepEqual(notCreate, [], "a first preview only creates");
        creates = summaryOf(preview)?.create ?? -1;
        const count = (type: string, prefix = "") =>
            steps.filter((s) => s.type === type && s.name.startsWith(prefix)).length;
        assert.equal(count("kubernetes:core/v1:Namespace"), 1, "the namespace");
        // Each group's objects (the component names them `<network>-<group>-...`). Other parts
        // of the stack (bootstrap tests) have their own tests; here they only have to be creates.
        for (const [group, g] of Object.entries(groups)) {
            const prefix = `${network}-${group}-`;
            assert.deepEqual(
                {
                    statefulSets: count("kubernetes:apps/v1:StatefulSet", prefix),
                    volumes: count("kubernetes:core/v1:PersistentVolumeClaim", prefix),
                    // A headless peer Service, the stable client Service and, with in-fleet
                    // peers (the dev stack has nodeKeySeed), one p2p Service per pod.
                    services: count("kubernetes:core/v1:Service", prefix),
                    configMaps: count("kubernetes:core/v1:ConfigMap", prefix),
                    budgets: count("kubernetes:policy/v1:PodDisruptionBudget", prefix),
                    // A first deployment has nothing to gate or switch.
                    gates: count("pulumi-nodejs:dynamic/upgrade:HeightGate", prefix),
                    switches: count("pulumi-nodejs:dynamic/upgrade:TrafficSwitch", prefix),
                },
                {
                    statefulSets: 1,
                    volumes: g.replicas,
                    services: 2 + g.replicas,
                    configMaps: 1,
                    budgets: 1,
                    gates: 0,
                    switches: 0,
                },
                `group ${group}; preview steps: ${JSON.stringify(steps)}`,
            );
        }
        await assert.rejects(
            kube().core.readNamespace({ name: namespace }),
            "preview must not create the namespace",
        );
    });

    it("up creates the fleet: StatefulSets, Bound volumes, Services, Running pods", async function () {
        const up = await stack!.up();
        assert.equal(summaryOf(up)?.create, creates, "up must create what the preview announced");
        out = await outputs(stack!);
        assert.deepEqual(planMessages(up), [], "a first deployment upgrades nothing");

        for (const [group, g] of Object.entries(groups)) {
            const revision = out.revisions[group];
            const sel = selectorOf({ [LABEL.network]: network, [LABEL.group]: group });
            await step(`${group}: StatefulSet`, async () => {
                const sets = await statefulSets(namespace, sel);
                assert.equal(sets.length, 1, `one StatefulSet for ${group}`);
                const sts = sets[0];
                assert.equal(sts.spec?.replicas, g.replicas);
                assert.equal(sts.spec?.template.spec?.containers[0].image, g.image);
                assert.equal(sts.metadata?.labels?.[LABEL.revision], revision);
            });
            const set = (await statefulSets(namespace, sel))[0].metadata!.name!;
            const podList = await step(`${group}: pods Running and Ready`, () =>
                waitForReadyPods(namespace, sel, g.replicas),
            );
            await step(`${group}: pod labels`, async () => {
                for (const pod of podList) {
                    const labels = pod.metadata?.labels ?? {};
                    assert.deepEqual(
                        {
                            name: labels[LABEL.name],
                            instance: labels[LABEL.instance],
                            component: labels[LABEL.component],
                            partOf: labels[LABEL.partOf],
                            managedBy: labels[LABEL.managedBy],
                            network: labels[LABEL.network],
                            group: labels[LABEL.group],
                            revision: labels[LABEL.revision],
                            set: labels[LABEL.set],
                        },
                        {
                            name: `${config.chain}-node`,
                            instance: `${network}-${group}`,
                            component: "node",
                            partOf: "chainfleet",
                            managedBy: "pulumi",
                            network,
                            group,
                            revision,
                            set,
                        },
                        `labels of pod ${pod.metadata?.name}`,
                    );
                }
            });
            await step(`${group}: volumes Bound, one per replica`, async () => {
                const names = groupNames(group, set === group ? undefined : revision);
                const claims = await waitUntil(`${g.replicas} Bound PVCs of ${set}`, async () => {
                    const list = await pvcs(namespace, sel);
                    return list.length === g.replicas &&
                        list.every((p) => p.status?.phase === "Bound")
                        ? list
                        : undefined;
                });
                assert.deepEqual(
                    claims.map((p) => p.metadata?.name).sort(),
                    Array.from({ length: g.replicas }, (_, i) => names.pvc(i)).sort(),
                );
            });
            await step(`${group}: Services`, async () => {
                const stable = await service(namespace, out.stableServices[group]);
                assert.ok(stable, "stable Service");
                assert.equal(stable.spec?.selector?.[LABEL.set], set);
                const peers = await service(namespace, `${set}-peers`);
                assert.equal(peers?.spec?.clusterIP, "None", "headless peer Service");
                await waitUntil(
                    `${g.replicas} ready endpoints behind Service ${group}`,
                    async () => {
                        const slices = await kube().discovery.listNamespacedEndpointSlice({
                            namespace,
                            labelSelector: `kubernetes.io/service-name=${group}`,
                        });
                        return readyEndpoints(slices.items) === g.replicas;
                    },
                );
            });
        }
        await step("no pod of the stack is Pending or Failed", () =>
            waitUntil(`every pod in ${namespace} Running (or Succeeded)`, async () =>
                (await kube().core.listNamespacedPod({ namespace })).items.every((p) =>
                    ["Running", "Succeeded"].includes(p.status?.phase ?? ""),
                ),
            ),
        );
    });

    it("a second up of the unchanged stack is a no-op", async function () {
        // --expect-no-changes makes the CLI itself fail on any change; the summary says which.
        const again = await stack!.up(["--expect-no-changes"], { allowFailure: true });
        assertNoChanges(again);
        assert.equal(again.code, 0, "pulumi up --expect-no-changes failed");
        assert.deepEqual(planMessages(again), [], "an unchanged stack upgrades nothing");
        assert.deepEqual((await outputs(stack!)).revisions, out.revisions);
    });

    it("destroy removes every object chainfleet made", async function () {
        await stack!.destroy();
        await waitForNamespaceGone(namespace);
        const labelSelector = `${LABEL.network}=${network}`;
        const k = kube();
        const named = (
            kind: string,
            items: { metadata?: { namespace?: string; name?: string } }[],
        ) => items.map((o) => `${kind} ${o.metadata?.namespace}/${o.metadata?.name}`);
        const leftovers = [
            ...named(
                "StatefulSet",
                (await k.apps.listStatefulSetForAllNamespaces({ labelSelector })).items,
            ),
            ...named("Pod", (await k.core.listPodForAllNamespaces({ labelSelector })).items),
            ...named(
                "PersistentVolumeClaim",
                (await k.core.listPersistentVolumeClaimForAllNamespaces({ labelSelector })).items,
            ),
            ...named(
                "Service",
                (await k.core.listServiceForAllNamespaces({ labelSelector })).items,
            ),
            ...named(
                "ConfigMap",
                (await k.core.listConfigMapForAllNamespaces({ labelSelector })).items,
            ),
            ...named("Job", (await k.batch.listJobForAllNamespaces({ labelSelector })).items),
        ];
        assert.deepEqual(leftovers, [], "objects labelled for the destroyed network");
        // The volumes' PersistentVolumes go too (the local StorageClass reclaims with Delete).
        await waitUntil(`PersistentVolumes of ${namespace} to be released`, async () => {
            const pvs = (await k.core.listPersistentVolume()).items.filter(
                (pv) => pv.spec?.claimRef?.namespace === namespace,
            );
            return pvs.length === 0;
        });
        assert.equal(stack!.resources().filter((r) => !r.type.startsWith("pulumi:")).length, 0);
    });
});
