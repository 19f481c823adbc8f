/**
 * kube/watch against a real API server: the server ends watches at timeoutSeconds (re-watch
 * without a re-list) and answers a too-old resourceVersion with 410 Gone (re-list).
 */
import * as assert from "node:assert/strict";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { Waker, WatchedList } from "../../kube/watch";
import { clients, createNamespace, deleteNamespace, requireCluster } from "./harness/kube";

describe("api: WatchedList", function () {
    this.timeout(60_000);
    let ns = "";

    before(async () => {
        await requireCluster();
        ns = await createNamespace("watch");
    });
    after(async () => {
        if (ns) {
            await deleteNamespace(ns);
        }
    });

    function configMaps(
        opts: { timeoutSeconds?: number; staleResourceVersion?: boolean },
        waker: Waker,
    ) {
        const c = clients();
        let lists = 0;
        return new WatchedList<V1ConfigMap>({
            what: "config maps",
            watch: c.watch,
            path: `/api/v1/namespaces/${ns}/configmaps`,
            labelSelector: "bench=watch",
            timeoutSeconds: opts.timeoutSeconds,
            list: async () => {
                const res = await c.core.listNamespacedConfigMap({
                    namespace: ns,
                    labelSelector: "bench=watch",
                });
                lists++;
                // The first list claims a resourceVersion older than the API server's watch
                // cache, so the first watch is answered with 410 Gone.
                const stale = opts.staleResourceVersion && lists === 1;
                return stale ? { items: res.items, metadata: { resourceVersion: "1" } } : res;
            },
            onChange: () => waker.notify(),
        });
    }

    async function createConfigMap(name: string) {
        await clients().core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name, labels: { bench: "watch" } } },
        });
    }

    async function until(list: WatchedList<V1ConfigMap>, waker: Waker, name: string) {
        const deadline = Date.now() + 20_000;
        while (![...list.items.values()].some((cm) => cm.metadata?.name === name)) {
            assert.ok(Date.now() < deadline, `never saw ${name}`);
            await waker.wait(1000);
        }
    }

    it("re-watches when the server ends a watch, without re-listing", async () => {
        const waker = new Waker();
        const list = configMaps({ timeoutSeconds: 1 }, waker);
        await list.start();
        try {
            await new Promise((r) => setTimeout(r, 2500));
            await createConfigMap("after-expiry");
            await until(list, waker, "after-expiry");
            assert.ok(list.stats.watches >= 2, `watches: ${list.stats.watches}`);
            assert.equal(list.stats.lists, 1);
        } finally {
            await list.stop();
        }
    });

    it("re-lists after 410 Gone and keeps delivering events", async () => {
        const waker = new Waker();
        const list = configMaps({ staleResourceVersion: true }, waker);
        await list.start();
        try {
            await createConfigMap("after-gone");
            await until(list, waker, "after-gone");
            assert.equal(list.stats.relistsAfterGone, 1, JSON.stringify(list.stats));
            assert.equal(list.stats.lists, 2);
            assert.equal(list.fatal, undefined);
        } finally {
            await list.stop();
        }
    });
});
