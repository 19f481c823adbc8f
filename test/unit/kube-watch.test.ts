import * as assert from "node:assert/strict";
import { KubeObject, Waker, WatchLike, WatchedList } from "../../kube/watch";

type Callback = (phase: string, obj: unknown) => void;

/** A hand-driven watch: each call is recorded; tests push events and end watches. */
class FakeWatch implements WatchLike {
    calls: {
        query: Record<string, unknown>;
        cb: Callback;
        done: (err: unknown) => void;
        controller: AbortController;
    }[] = [];
    private waiters: (() => void)[] = [];

    async watch(
        _path: string,
        query: Record<string, unknown>,
        cb: Callback,
        done: (err: unknown) => void,
    ) {
        const controller = new AbortController();
        let finished = false;
        const once = (err: unknown) => {
            if (!finished) {
                finished = true;
                done(err);
            }
        };
        controller.signal.addEventListener("abort", () => once(new Error("aborted")));
        this.calls.push({ query, cb, done: once, controller });
        this.waiters.splice(0).forEach((w) => w());
        return controller;
    }

    /** Resolves once there have been `n` watch calls. */
    async waitForCalls(n: number): Promise<void> {
        while (this.calls.length < n) {
            await new Promise<void>((r) => this.waiters.push(r));
        }
    }

    get last() {
        return this.calls[this.calls.length - 1];
    }
}

const obj = (
    name: string,
    rv: string,
    extra: Record<string, unknown> = {},
): KubeObject & Record<string, unknown> => ({
    metadata: { name, namespace: "ns", resourceVersion: rv },
    ...extra,
});

function setup(listResults: { items: KubeObject[]; rv: string }[]) {
    const watch = new FakeWatch();
    let lists = 0;
    let changes = 0;
    const list = new WatchedList<KubeObject>({
        what: "things",
        watch,
        path: "/api/v1/namespaces/ns/things",
        labelSelector: "a=b",
        timeoutSeconds: 5,
        list: async () => {
            const r = listResults[Math.min(lists, listResults.length - 1)];
            lists++;
            return { items: r.items, metadata: { resourceVersion: r.rv } };
        },
        onChange: () => changes++,
    });
    return { watch, list, lists: () => lists, changes: () => changes };
}

describe("#watch WatchedList", () => {
    it("lists, then watches from the list's resourceVersion with bookmarks and selectors", async () => {
        const t = setup([{ items: [obj("a", "5")], rv: "10" }]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        assert.deepEqual(
            t.list.values().map((o) => o.metadata?.name),
            ["a"],
        );
        assert.equal(t.watch.last.query.resourceVersion, "10");
        assert.equal(t.watch.last.query.allowWatchBookmarks, true);
        assert.equal(t.watch.last.query.labelSelector, "a=b");
        assert.equal(t.watch.last.query.timeoutSeconds, 5);
        await t.list.stop();
    });

    it("applies ADDED, MODIFIED and DELETED and notifies on each", async () => {
        const t = setup([{ items: [obj("a", "5")], rv: "10" }]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        const before = t.changes();
        t.watch.last.cb("ADDED", obj("b", "11"));
        t.watch.last.cb("MODIFIED", obj("a", "12", { status: "x" }));
        t.watch.last.cb("DELETED", obj("b", "13"));
        assert.equal(t.changes() - before, 3);
        assert.deepEqual(t.list.values(), [obj("a", "12", { status: "x" })]);
        await t.list.stop();
    });

    it("re-watches from the latest resourceVersion (bookmarks included) when the server closes the watch", async () => {
        const t = setup([{ items: [], rv: "10" }]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        t.watch.last.cb("BOOKMARK", { metadata: { resourceVersion: "77" } });
        t.watch.last.done(null);
        await t.watch.waitForCalls(2);
        assert.equal(t.watch.last.query.resourceVersion, "77");
        assert.equal(t.lists(), 1, "a clean close must not re-list");
        await t.list.stop();
    });

    it("re-lists after 410 Gone (ERROR event) and replaces the cache", async () => {
        const t = setup([
            { items: [obj("a", "5"), obj("b", "6")], rv: "10" },
            { items: [obj("c", "50")], rv: "60" },
        ]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        t.watch.last.cb("ERROR", {
            kind: "Status",
            code: 410,
            reason: "Expired",
            message: "too old resource version",
        });
        await t.watch.waitForCalls(2);
        assert.equal(t.lists(), 2);
        assert.equal(t.list.stats.relistsAfterGone, 1);
        assert.deepEqual(
            t.list.values().map((o) => o.metadata?.name),
            ["c"],
        );
        assert.equal(t.watch.last.query.resourceVersion, "60");
        await t.list.stop();
    });

    it("re-lists after a 410 answered as an HTTP status", async () => {
        const t = setup([
            { items: [], rv: "10" },
            { items: [], rv: "20" },
        ]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        t.watch.last.done(Object.assign(new Error("Gone"), { statusCode: 410 }));
        await t.watch.waitForCalls(2);
        assert.equal(t.lists(), 2);
        await t.list.stop();
    });

    it("a 403 is fatal and reported to the waiter", async () => {
        const t = setup([{ items: [], rv: "10" }]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        t.watch.last.done(Object.assign(new Error("Forbidden"), { statusCode: 403 }));
        for (let i = 0; i < 50 && !t.list.fatal; i++) {
            await new Promise((r) => setTimeout(r, 5));
        }
        // The watch's 403 has no body: its path says what the identity lacks.
        assert.equal(
            t.list.fatal?.message,
            "watch things failed: the deploying identity lacks watch on things in namespace ns; see README §Deploy jobs",
        );
        await t.list.stop();
    });

    it("a dropped connection is retried without giving up", async () => {
        const t = setup([{ items: [], rv: "10" }]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        t.watch.last.done(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
        await t.watch.waitForCalls(2);
        assert.equal(t.list.fatal, undefined);
        await t.list.stop();
    });

    it("stop() aborts the running watch and ends the loop", async () => {
        const t = setup([{ items: [], rv: "10" }]);
        await t.list.start();
        await t.watch.waitForCalls(1);
        const controller = t.watch.last.controller;
        await t.list.stop();
        assert.ok(controller.signal.aborted);
        assert.equal(t.watch.calls.length, 1);
    });
});

describe("#watch Waker", () => {
    it("wakes a waiter on notify, well before its timeout", async () => {
        const w = new Waker();
        const t0 = Date.now();
        setTimeout(() => w.notify(), 20);
        await w.wait(5000);
        assert.ok(Date.now() - t0 < 1000);
    });
    it("a notify between waits is not lost", async () => {
        const w = new Waker();
        w.notify();
        const t0 = Date.now();
        await w.wait(5000);
        assert.ok(Date.now() - t0 < 100);
    });
    it("times out without a notify", async () => {
        const w = new Waker();
        const t0 = Date.now();
        await w.wait(30);
        assert.ok(Date.now() - t0 >= 25);
    });
});
