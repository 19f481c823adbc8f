/**
 * TrafficSwitch against a real API server, the real EndpointSlice controller and kwok pods:
 * StatefulSets `blue` (incumbent) and `green` (entrant) behind a Service selecting blue.
 */
import * as assert from "node:assert/strict";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import {
    TrafficSwitchInputs,
    TrafficSwitchOutputs,
    trafficSwitchProvider,
} from "../../dynamic-providers";
import { countEndpoints } from "../../dynamic-providers/switchPlan";
import {
    clients,
    createNamespace,
    createService,
    createStatefulSet,
    deleteNamespace,
    kubeAccess,
    readyPods,
    requireCluster,
    waitFor,
} from "./harness/kube";

const BLUE = { "app.kubernetes.io/instance": "sw", "chainfleet.io/revision": "blue" };
const GREEN = { "app.kubernetes.io/instance": "sw", "chainfleet.io/revision": "green" };

async function slices(namespace: string): Promise<V1EndpointSlice[]> {
    const res = await clients().discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: "kubernetes.io/service-name=rpc",
    });
    return res.items;
}

describe("api: TrafficSwitch provider", function () {
    this.timeout(180_000);
    let ns = "";

    async function inputs(over: Record<string, unknown> = {}): Promise<TrafficSwitchInputs> {
        const raw = {
            ...kubeAccess(),
            namespace: ns,
            serviceName: "rpc",
            selector: GREEN,
            minReady: 2,
            deadlineSeconds: 30,
            ...over,
        };
        const res = await trafficSwitchProvider.check!(
            {} as TrafficSwitchInputs,
            raw as unknown as TrafficSwitchInputs,
        );
        assert.deepEqual(res.failures, []);
        return res.inputs as TrafficSwitchInputs;
    }

    before(async () => {
        await requireCluster();
        ns = await createNamespace("switch");
        await createStatefulSet(ns, "blue", BLUE, 2);
        await createStatefulSet(ns, "green", GREEN, 2);
        await createService(ns, "rpc", BLUE);
        await readyPods(ns, BLUE, 2);
        await readyPods(ns, GREEN, 2);
        await waitFor("blue endpoints", async () => countEndpoints(await slices(ns)).ready === 2);
    });
    after(async () => {
        if (ns) {
            await deleteNamespace(ns);
        }
    });

    it("waits for nothing when entrants are ready, flips once, and verifies only entrants serve", async () => {
        const res = await trafficSwitchProvider.create(await inputs());
        const outs = res.outs as TrafficSwitchOutputs;
        assert.equal(res.id, `${ns}/rpc`);
        assert.equal(outs.changed, true);
        assert.deepEqual(outs.previousSelector, BLUE);
        assert.deepEqual(outs.currentSelector, GREEN);
        assert.ok(
            outs.minReadyDuringSwitch >= 1,
            `ready endpoints dropped to ${outs.minReadyDuringSwitch}`,
        );

        const svc = await clients().core.readNamespacedService({ namespace: ns, name: "rpc" });
        assert.deepEqual(svc.spec?.selector, GREEN);
        assert.equal(svc.metadata?.annotations?.["chainfleet.io/switched-at"], outs.switchedAt);
        const owner = svc.metadata?.managedFields?.find((f) =>
            JSON.stringify(f.fieldsV1 ?? {}).includes("f:selector"),
        );
        assert.equal(owner?.manager, "chainfleet-switch", "the switch owns spec.selector");

        const names = (await slices(ns))
            .flatMap((s) => (s.endpoints ?? []).map((e) => e.targetRef?.name))
            .sort();
        assert.deepEqual(names, ["green-0", "green-1"]);
    });

    it("is a no-op the second time", async () => {
        const t0 = Date.now();
        const outs = (await trafficSwitchProvider.create(await inputs()))
            .outs as TrafficSwitchOutputs;
        assert.equal(outs.changed, false);
        assert.deepEqual(outs.previousSelector, BLUE, "reports the selector it replaced earlier");
        assert.equal(outs.minReadyDuringSwitch, -1);
        assert.ok(Date.now() - t0 < 3000);
    });

    it("changes nothing when the entrants never become ready", async () => {
        const before = (await clients().core.readNamespacedService({ namespace: ns, name: "rpc" }))
            .metadata?.resourceVersion;
        const missing = { "app.kubernetes.io/instance": "sw", "chainfleet.io/revision": "none" };
        await assert.rejects(
            trafficSwitchProvider.create(await inputs({ selector: missing, deadlineSeconds: 2 })),
            (err: Error) => {
                assert.match(
                    err.message,
                    /was not switched: 0\/2 entrant pods Ready \(none exist\) after deadlineSeconds=2/,
                );
                assert.match(err.message, /incumbents keep serving/);
                return true;
            },
        );
        const svc = await clients().core.readNamespacedService({ namespace: ns, name: "rpc" });
        assert.equal(svc.metadata?.resourceVersion, before, "the Service was not written");
        assert.deepEqual(svc.spec?.selector, GREEN);
    });

    it("switches back, and delete() leaves the selector where it is", async () => {
        const outs = (await trafficSwitchProvider.create(await inputs({ selector: BLUE })))
            .outs as TrafficSwitchOutputs;
        assert.equal(outs.changed, true);
        assert.deepEqual(outs.previousSelector, GREEN);
        await trafficSwitchProvider.delete!("id", outs);
        const svc = await clients().core.readNamespacedService({ namespace: ns, name: "rpc" });
        assert.deepEqual(svc.spec?.selector, BLUE);
    });

    it("puts the previous selector back when the flipped Service still routes to non-entrants", async () => {
        // A hand-managed EndpointSlice for the Service (the EndpointSlice controller leaves
        // slices of other managers alone) keeps a stranger behind it after the flip.
        await clients().discovery.createNamespacedEndpointSlice({
            namespace: ns,
            body: {
                metadata: {
                    name: "rpc-manual",
                    labels: {
                        "kubernetes.io/service-name": "rpc",
                        "endpointslice.kubernetes.io/managed-by": "test.chainfleet.io",
                    },
                },
                addressType: "IPv4",
                endpoints: [
                    {
                        addresses: ["10.244.99.99"],
                        conditions: { ready: true },
                        targetRef: { kind: "Pod", name: "stranger-0", namespace: ns },
                    },
                ],
                ports: [{ name: "rpc", port: 26657 }],
            },
        });
        // The earlier test's switch back to blue left its record; the rollback must restore it.
        const annotationsBefore = (
            await clients().core.readNamespacedService({ namespace: ns, name: "rpc" })
        ).metadata?.annotations;
        assert.ok(annotationsBefore?.["chainfleet.io/switched-at"], "an earlier switch's record");
        try {
            await assert.rejects(
                trafficSwitchProvider.create(await inputs({ deadlineSeconds: 3 })),
                (err: Error) => {
                    assert.match(
                        err.message,
                        /its EndpointSlices did not show ready entrants in time: endpoints still include non-entrant stranger-0/,
                    );
                    assert.match(
                        err.message,
                        /The selector was put back to app.kubernetes.io\/instance=sw,chainfleet.io\/revision=blue/,
                    );
                    return true;
                },
            );
            const svc = await clients().core.readNamespacedService({ namespace: ns, name: "rpc" });
            assert.deepEqual(svc.spec?.selector, BLUE);
            assert.deepEqual(svc.metadata?.annotations, annotationsBefore);
        } finally {
            await clients().discovery.deleteNamespacedEndpointSlice({
                namespace: ns,
                name: "rpc-manual",
            });
        }
    });

    it("fails naming the Service when it does not exist", async () => {
        await assert.rejects(
            trafficSwitchProvider.create(await inputs({ serviceName: "nope" })),
            /Service .*\/nope does not exist/,
        );
    });
});
