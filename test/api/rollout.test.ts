/**
 * Rollout against a real API server, StatefulSet controller and kwok: StatefulSets with
 * `updateStrategy: OnDelete` whose template changes, rolled by the provider's create.
 *
 * kwok runs the pods: Running and Ready at once, deleted at once. A node halted at an upgrade
 * height is played by a pod whose Ready condition the test sets to False (kwok only acts on
 * Pending pods, so it stays so). Replacements that must not run (the deadline case) use the
 * harness scheduler, and the test plays their kubelet (harness/kube.ts).
 *
 * A watch records every pod change while a rollout runs, so "never more than maxUnavailable
 * down" is checked on every intermediate state the API server went through, not on samples.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import * as pulumi from "@pulumi/pulumi";
import {
    RolloutInputs,
    RolloutOutputs,
    checkRollout,
    rolloutProvider,
} from "../../dynamic-providers";
import { isNotFound, mergePatchOptions } from "../../kube/kube";
import { LABEL } from "../../lib/labels";
import { podReady } from "../../dynamic-providers/rolloutPlan";
import { WatchedList } from "../../kube/watch";
import {
    HARNESS_SCHEDULER,
    clients,
    createNamespace,
    deleteNamespace,
    kubeAccess,
    readyPods,
    requireCluster,
    setPodState,
    waitFor,
} from "./harness/kube";

const selectorOf = (set: string) => ({ app: set });

async function createSet(
    namespace: string,
    name: string,
    replicas: number,
    revision: string,
    updateStrategy = "OnDelete",
): Promise<void> {
    await clients().apps.createNamespacedStatefulSet({
        namespace,
        body: {
            metadata: { name, labels: selectorOf(name) },
            spec: {
                replicas,
                serviceName: name,
                podManagementPolicy: "Parallel",
                updateStrategy: { type: updateStrategy },
                selector: { matchLabels: selectorOf(name) },
                template: template(name, revision),
            },
        },
    });
    await readyPods(namespace, selectorOf(name), replicas);
}

function template(name: string, revision: string, harness = false) {
    return {
        metadata: { labels: { ...selectorOf(name), [LABEL.revision]: revision } },
        spec: {
            ...(harness ? { schedulerName: HARNESS_SCHEDULER } : {}),
            containers: [{ name: "node", image: `example.invalid/node:${revision}` }],
        },
    };
}

/** What `pulumi up` does before the Rollout runs: apply the new template. */
async function setTemplate(namespace: string, name: string, revision: string, harness = false) {
    await clients().apps.patchNamespacedStatefulSet(
        { name, namespace, body: { spec: { template: template(name, revision, harness) } } },
        mergePatchOptions(),
    );
}

/** A node halted at its upgrade height: Running, but not Ready. */
async function haltNode(namespace: string, pod: string): Promise<void> {
    const now = new Date().toISOString();
    const notReady = (type: string) => ({
        type,
        status: "False",
        reason: "HaltedAtUpgradeHeight",
        lastTransitionTime: now,
    });
    await clients().core.patchNamespacedPodStatus(
        {
            name: pod,
            namespace,
            body: { status: { conditions: [notReady("Ready"), notReady("ContainersReady")] } },
        },
        mergePatchOptions(),
    );
    await waitFor(`${pod} not Ready`, async () => {
        const p = await clients().core.readNamespacedPod({ name: pod, namespace });
        return !podReady(p);
    });
}

/** Records every state of a set's pods that the API server reports while a rollout runs. */
class PodRecorder {
    /** Pod names in the order their pods went (terminating or deleted). */
    readonly deletions: string[] = [];
    minAvailable = Number.POSITIVE_INFINITY;
    private readonly live = new Map<string, string>();
    private readonly list: WatchedList<V1Pod>;

    constructor(namespace: string, set: string) {
        const labelSelector = `app=${set}`;
        this.list = new WatchedList<V1Pod>({
            what: `pods of ${set}`,
            watch: clients().watch,
            path: `/api/v1/namespaces/${namespace}/pods`,
            labelSelector,
            list: () => clients().core.listNamespacedPod({ namespace, labelSelector }),
            onChange: () => this.observe(),
        });
    }

    start = () => this.list.start();
    stop = () => this.list.stop();

    /**
     * Waits (bounded) until the watch has shown each of `names` go: a rollout returns as soon as
     * its last delete is accepted, and the watch event for it may still be on its way.
     */
    async seenGone(names: readonly string[], ms = 10_000): Promise<void> {
        const until = Date.now() + ms;
        while (!names.every((n) => this.deletions.includes(n)) && Date.now() < until) {
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    private observe(): void {
        const pods = this.list.values().filter((p) => !p.metadata?.deletionTimestamp);
        const uids = pods.map((p) => p.metadata?.uid ?? "");
        for (const [uid, name] of [...this.live]) {
            if (!uids.includes(uid)) {
                this.deletions.push(name);
                this.live.delete(uid);
            }
        }
        for (const p of pods) {
            this.live.set(p.metadata?.uid ?? "", p.metadata?.name ?? "");
        }
        this.minAvailable = Math.min(this.minAvailable, pods.filter(podReady).length);
    }
}

/** Plays the kubelet for harness pods of `set`: each Pending one is set Running and Ready. */
function fakeKubelet(namespace: string, set: string): () => Promise<void> {
    let stopped = false;
    const loop = (async () => {
        while (!stopped) {
            const pods = await clients().core.listNamespacedPod({
                namespace,
                labelSelector: `app=${set}`,
            });
            for (const p of pods.items) {
                const pending = (p.status?.phase ?? "Pending") === "Pending";
                if (pending && !p.metadata?.deletionTimestamp) {
                    // The pod may be gone by now; the next round sees its successor.
                    await setPodState(namespace, p.metadata!.name!, { running: true }).catch(
                        (err) => {
                            if (!isNotFound(err)) {
                                throw err;
                            }
                        },
                    );
                }
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    })();
    return async () => {
        stopped = true;
        await loop;
    };
}

async function podRevisions(namespace: string, set: string): Promise<Record<string, string>> {
    const pods = await clients().core.listNamespacedPod({ namespace, labelSelector: `app=${set}` });
    return Object.fromEntries(
        pods.items.map((p) => [
            p.metadata?.name ?? "",
            p.metadata?.labels?.["controller-revision-hash"] ?? "",
        ]),
    );
}

describe("api: Rollout provider", function () {
    this.timeout(180_000);
    let ns = "";

    function inputs(over: Record<string, unknown>): RolloutInputs {
        const { inputs: checked, failures } = checkRollout({
            ...kubeAccess(),
            namespace: ns,
            deadlineSeconds: 60,
            ...over,
        });
        assert.deepEqual(failures, []);
        return checked as RolloutInputs;
    }
    const run = async (over: Record<string, unknown>) =>
        (await rolloutProvider.create(inputs(over))).outs as RolloutOutputs;

    before(async () => {
        await requireCluster();
        ns = await createNamespace("rollout");
    });
    after(async () => {
        if (ns) {
            await deleteNamespace(ns);
        }
    });

    it("replaces the halted node first, then one at a time; a second run is a no-op", async () => {
        await createSet(ns, "node", 3, "a");
        await haltNode(ns, "node-0");
        await setTemplate(ns, "node", "b");
        const recorder = new PodRecorder(ns, "node");
        await recorder.start();
        let outs: RolloutOutputs;
        try {
            outs = await run({ statefulSetName: "node", revision: "b", maxUnavailable: 1 });
            await recorder.seenGone(outs.replaced);
        } finally {
            await recorder.stop();
        }

        // node-0 goes first although the controller's order (highest ordinal first) would
        // take node-2: a RollingUpdate would wait on node-0 forever.
        assert.equal(outs.replaced[0], "node-0");
        assert.deepEqual([...outs.replaced].sort(), ["node-0", "node-1", "node-2"]);
        // First deletion of each name: kwok's delete stage sometimes deletes the fresh, still
        // Pending replacement too (it deletes by name from a stale cache; kwok.log shows "Delete
        // pod" twice), and the controller recreates it. A kubelet never does that.
        const firstDeletions = recorder.deletions.filter((n, i, all) => all.indexOf(n) === i);
        assert.deepEqual(firstDeletions, outs.replaced, "the cluster saw that order too");
        assert.equal(recorder.minAvailable, 2, "never more than maxUnavailable=1 down");
        assert.equal(outs.mostUnavailable, 1);
        assert.equal(outs.changed, true);
        const revisions = await podRevisions(ns, "node");
        assert.deepEqual(Object.keys(revisions).sort(), ["node-0", "node-1", "node-2"]);
        for (const [pod, rev] of Object.entries(revisions)) {
            assert.equal(rev, outs.updateRevision, `${pod} on the new revision`);
        }

        const t0 = Date.now();
        const again = await run({ statefulSetName: "node", revision: "b", maxUnavailable: 1 });
        assert.deepEqual(again.replaced, []);
        assert.equal(again.changed, false);
        assert.equal(again.updateRevision, outs.updateRevision);
        assert.ok(Date.now() - t0 < 5000, "a no-op returns at once");
    });

    it("waitFor ready with maxUnavailable 2 keeps at least replicas-2 Ready", async () => {
        await createSet(ns, "wide", 5, "a");
        await setTemplate(ns, "wide", "b");
        const recorder = new PodRecorder(ns, "wide");
        await recorder.start();
        let outs: RolloutOutputs;
        try {
            outs = await run({
                statefulSetName: "wide",
                revision: "b",
                maxUnavailable: 2,
                waitFor: "ready",
            });
        } finally {
            await recorder.stop();
        }
        assert.deepEqual(outs.replaced, ["wide-4", "wide-3", "wide-2", "wide-1", "wide-0"]);
        assert.ok(recorder.minAvailable >= 3, `min Ready ${recorder.minAvailable}`);
        assert.ok(outs.mostUnavailable <= 2);
    });

    it("fails at its deadline with each pod's state; the next run resumes", async () => {
        await createSet(ns, "stuck", 2, "a");
        // The new template's pods are never scheduled: the first replacement stays Pending.
        await setTemplate(ns, "stuck", "b", true);
        await assert.rejects(
            run({ statefulSetName: "stuck", revision: "b", deadlineSeconds: 3 }),
            (err: Error) => {
                assert.match(
                    err.message,
                    /Rollout of StatefulSet \S+\/stuck to revision b \(stuck-\w+\) did not finish within deadlineSeconds=3/,
                );
                assert.match(
                    err.message,
                    /stuck-0: revision stuck-\w+ \(outdated\), Running, Ready/,
                );
                assert.match(
                    err.message,
                    /stuck-1: revision stuck-\w+ \(current\), Pending, not Ready/,
                );
                assert.match(err.message, /Replaced by this run: stuck-1;/);
                assert.match(err.message, /Run `pulumi up` again to continue/);
                return true;
            },
        );
        const revisions = await podRevisions(ns, "stuck");
        assert.notEqual(revisions["stuck-0"], revisions["stuck-1"], "stuck-0 was left alone");

        const stopKubelet = fakeKubelet(ns, "stuck");
        try {
            const outs = await run({ statefulSetName: "stuck", revision: "b" });
            assert.deepEqual(outs.replaced, ["stuck-0"], "stuck-1 is current: skipped");
        } finally {
            await stopKubelet();
        }
    });

    it("refuses a RollingUpdate set and a template of another revision, naming the fix", async () => {
        await createSet(ns, "rolling", 1, "a", "RollingUpdate");
        await assert.rejects(
            run({ statefulSetName: "rolling", revision: "a" }),
            /uses updateStrategy RollingUpdate; the Rollout needs OnDelete/,
        );
        await createSet(ns, "other", 1, "a");
        await assert.rejects(
            run({ statefulSetName: "other", revision: "c" }),
            /template is revision a, not c: something changed it/,
        );
        await assert.rejects(
            run({ statefulSetName: "missing", revision: "a" }),
            /StatefulSet \S+\/missing does not exist/,
        );
    });

    it("rolls from its serialized text in a plain Node process", async () => {
        await createSet(ns, "ser", 2, "a");
        await setTemplate(ns, "ser", "b");
        // A local, as in pulumi.dynamic.Resource: `() => provider` captures the object itself.
        const provider: object = rolloutProvider;
        const { text } = await pulumi.runtime.serializeFunction(() => provider, {
            allowSecrets: true,
        });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-rollout-api-"));
        const file = path.join(dir, "provider.js");
        fs.writeFileSync(file, text);
        const args = inputs({ statefulSetName: "ser", revision: "b" });
        const driver = `
            const Module = require("module");
            const m = new Module("", null);
            m.paths = Module._nodeModulePaths(process.cwd());
            m._compile(require("fs").readFileSync(${JSON.stringify(file)}, "utf8"), "");
            m.exports.handler().create(${JSON.stringify(args)}).then(
                (r) => process.stdout.write("RESULT " + JSON.stringify(r.outs)),
                (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
        try {
            const { stdout } = await promisify(execFile)(process.execPath, ["-e", driver], {
                cwd: path.resolve(__dirname, "../.."),
                encoding: "utf8",
            });
            assert.match(stdout, /\[Rollout \S+\/ser -> b\] rolling 2 pod\(s\)/, "progress lines");
            const outs = JSON.parse(stdout.slice(stdout.indexOf("RESULT ") + 7));
            assert.deepEqual(outs.replaced, ["ser-1", "ser-0"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
