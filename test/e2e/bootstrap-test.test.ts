/**
 * The dev stack's bootstrap test through its whole cycle, in its own pod on the local cluster's
 * real node (issue 14): `pulumi up` of the committed dev config declares it beside the dev
 * network (a validator and an rpc group); the monitor image built from monitor/Dockerfile runs as
 * the pod's init container and sidecar; the node is the CometBFT image under test, prepared by
 * chainfleet-agent to join the network and block-syncing from it. The followed tag lives in the
 * cluster's registry (scripts/cluster.sh push), so "a new build" is another image pushed under it.
 *
 * pin → start → complete → roll forward → fresh start, then a deletion mid-sync that resumes:
 * the network is halted (its StatefulSets scaled to zero) so that the second test cannot
 * complete; the pod is deleted with no peer left to sync from, and the new pod's node answers at
 * the height its kept data holds. Then the network comes back and the resumed test completes.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { V1StatefulSet } from "@kubernetes/client-node";
import { adapterFor } from "../../chains";
import { LABEL } from "../../lib/labels";
import { fetchJson, podProxyUrl } from "../../kube/rpc";
import { EVENT_REASON, MESSAGE, RESULTS_KEY } from "../../monitor/constants";
import type { TestResult } from "../../monitor/results";
import { podUid, waitForNewPod } from "../api/harness/monitor";
import { requireRealNode } from "../api/harness/realNode";
import { deleteNamespace, kube, requireCluster, statefulSets, waitUntil } from "./harness/cluster";
import { COMETBFT_V1, COMETBFT_V2, assertNoChanges, uniqueSuffix } from "./harness/fleet";
import { VERSION_LABEL, clusterPush, devConfig } from "./harness/dev";
import { E2eStack, REPO_ROOT, diagnosticsOf } from "./harness/pulumi";
import { installFailureReport, step } from "./harness/report";

const adapter = adapterFor("cometbft");
const RPC_PORT = adapter.ports.find((p) => p.role === "rpc")!.containerPort;
const MAX_BLOCK_AGE_SECONDS = 10;

const digestOf = (ref: string) => ref.slice(ref.indexOf("@") + 1);

describe("e2e: the dev stack's bootstrap test in its pod, against the dev network", function () {
    const id = uniqueSuffix();
    const network = `btdev-${id}`;
    const namespace = `e2e-bt-${id}`;
    const dev = devConfig();
    const [devTest] = dev.bootstrapTests as Record<string, unknown>[];
    const testName = String(devTest.name);
    const pod = `${testName}-0`;
    // The dev stack's followed tag, in a repository of this run's own.
    const devFollow = String(devTest.image);
    const registry = devFollow.slice(0, devFollow.indexOf("/"));
    const repoTag = `e2e-${id}/cometbft:v0.38.x`;
    const follow = `${registry}/${repoTag}`;
    let stack: E2eStack | undefined;
    let kc: KubeConfig;
    let d1 = "";
    let d2 = "";
    let secondStart = "";
    let haltedHeight = 0;
    let failed = false;

    installFailureReport({ stack: () => stack, namespace: () => namespace });

    const statefulSet = () => kube().apps.readNamespacedStatefulSet({ namespace, name: testName });
    const image = (sts: V1StatefulSet, name: string) =>
        [
            ...(sts.spec?.template.spec?.initContainers ?? []),
            ...(sts.spec?.template.spec?.containers ?? []),
        ].find((c) => c.name === name)?.image;
    const results = async (): Promise<TestResult[]> => {
        try {
            const cm = await kube().core.readNamespacedConfigMap({
                namespace,
                name: `${testName}-results`,
            });
            return JSON.parse(cm.data?.[RESULTS_KEY] ?? "[]");
        } catch {
            return [];
        }
    };
    const reasons = async () =>
        (await kube().core.listNamespacedEvent({ namespace })).items
            .filter(
                (e) =>
                    e.involvedObject.kind === "StatefulSet" && e.involvedObject.name === testName,
            )
            .map((e) => `${e.reason}: ${e.message}`);
    /** The monitor's JSON log lines of one container of the test's pod. */
    const monitorLog = async (container: "init" | "monitor") => {
        const text = await kube().core.readNamespacedPodLog({ namespace, name: pod, container });
        return text
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    /** The new pod's init container's line `msg` (waitUntil retries while its log is not there). */
    const waitForInitLine = (msg: string) =>
        waitUntil(
            `"${msg}" in ${pod}'s init log`,
            async () => (await monitorLog("init")).find((l) => l.msg === msg),
            { timeoutMs: 120_000 },
        );
    /** The test's node through the API server's pod proxy, as an operator would read it. */
    const nodeStatus = async () => {
        const url = (p: string) =>
            podProxyUrl(kc.getCurrentCluster()!.server, namespace, pod, RPC_PORT, p);
        const status = adapter.parseStatus(
            await fetchJson(url("/status"), { timeoutMs: 5000, kubeConfig: kc }),
        );
        const peers = adapter.parsePeerCount(
            await fetchJson(url("/net_info"), { timeoutMs: 5000, kubeConfig: kc }),
        );
        return { ...status, peers };
    };
    /** Scales every node set of the network (not the test's): halting or restoring the network. */
    const scaleNetwork = async (replicas: (sts: V1StatefulSet) => number) => {
        const sets = await statefulSets(
            namespace,
            `${LABEL.network}=${network},${LABEL.component}=node`,
        );
        assert.ok(sets.length >= 2, `the network's sets: ${sets.map((s) => s.metadata?.name)}`);
        for (const sts of sets) {
            await kube().apps.patchNamespacedStatefulSet(
                {
                    namespace,
                    name: sts.metadata!.name!,
                    body: { spec: { replicas: replicas(sts) } },
                },
                setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
            );
        }
        return sets;
    };
    let originalReplicas: Record<string, number> = {};
    const replicasOf = (sts: V1StatefulSet) => sts.spec?.replicas ?? 1;
    const isValidator = (sts: V1StatefulSet) => sts.metadata?.labels?.[LABEL.group] === "validator";

    before(async function () {
        await requireCluster();
        await requireRealNode(this);
        kc = new KubeConfig();
        kc.loadFromDefault();
        d1 = digestOf(clusterPush(COMETBFT_V1, repoTag));
        stack = new E2eStack({ label: "bootstrap-test" });
        // The committed dev config; only the network, the namespace, the followed repository and
        // the intervals (the dev stack polls the tag every 60 s) differ.
        stack.writeConfig({
            ...dev,
            network,
            namespace,
            bootstrapTests: [
                {
                    ...devTest,
                    image: follow,
                    intervals: { checkSeconds: 3, pollTagSeconds: 5 },
                    // The dev chain makes a block a second; a halted one's tip is stale after 10 s.
                    maxBlockAgeSeconds: MAX_BLOCK_AGE_SECONDS,
                },
            ],
        });
        await stack.init();
    });

    after(async function () {
        await deleteNamespace(namespace);
        await stack?.dispose();
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

    it("up declares the test beside the network; init pins the tag in the node and its prepare step", async function () {
        const up = await step("up", () => stack!.up());
        assert.equal(up.code, 0, diagnosticsOf(up));
        const pinned = `${registry}/${repoTag.split(":")[0]}@${d1}`;
        await waitUntil(
            `${testName} pinned to ${pinned}`,
            async () => {
                const sts = await statefulSet();
                return image(sts, "node") === pinned && image(sts, "prepare") === pinned;
            },
            { timeoutMs: 120_000 },
        );
        assert.ok(
            (await reasons()).some((r) => r.startsWith(EVENT_REASON.pinned)),
            (await reasons()).join("\n"),
        );
    });

    it("the next up keeps the pinned digest: Pulumi reports no changes", async function () {
        const again = await step("up", () =>
            stack!.up(["--expect-no-changes"], { allowFailure: true }),
        );
        assertNoChanges(again);
        assert.equal(again.code, 0, diagnosticsOf(again));
    });

    it("the node block-syncs from the dev network and the sidecar records the result", async function () {
        await waitUntil(
            `a result for ${d1}`,
            async () => (await results()).some((r) => r.digest === d1),
            { timeoutMs: 300_000 },
        );
        const [result] = await results();
        assert.equal(result.syncMode, devTest.syncMode);
        assert.ok((result.height ?? 0) > 1 && result.diskUsageBytes > 0, JSON.stringify(result));
        const status = await nodeStatus();
        assert.ok(
            status.peers >= 1,
            `the test's node has peers in the network: ${JSON.stringify(status)}`,
        );
        const log = await monitorLog("init");
        assert.ok(
            log.some((l) => l.msg === MESSAGE.starting),
            JSON.stringify(log),
        );
        const seen = await reasons();
        for (const reason of [EVENT_REASON.started, EVENT_REASON.completed]) {
            assert.ok(
                seen.some((r) => r.startsWith(reason)),
                seen.join("\n"),
            );
        }
    });

    it("a new image under the tag rolls the test forward; the new pod starts afresh and syncs what the halted network holds", async function () {
        // The validator stops first, so the network halts: the second test can sync what the rpc
        // nodes hold, but never complete (its height stops moving).
        const sets = await scaleNetwork((sts) => (isValidator(sts) ? 0 : replicasOf(sts)));
        originalReplicas = Object.fromEntries(
            sets.map((sts) => [sts.metadata!.name!, replicasOf(sts)]),
        );
        await waitUntil(
            "the validator's pod gone",
            async () => (await podUid(namespace, "validator-0")) === undefined,
            {
                timeoutMs: 120_000,
            },
        );
        // Past the tip's age limit, so the second test sees a halted network from its start.
        await new Promise((r) => setTimeout(r, (MAX_BLOCK_AGE_SECONDS + 5) * 1000));
        const before = await podUid(namespace, pod);
        d2 = digestOf(clusterPush(COMETBFT_V2, repoTag));
        assert.notEqual(d2, d1);
        await waitUntil(
            `${testName} rolled forward to ${d2}`,
            async () => image(await statefulSet(), "node")?.endsWith(d2) ?? false,
            { timeoutMs: 120_000 },
        );
        await waitForNewPod(namespace, pod, before);
        const start = await waitForInitLine(MESSAGE.starting);
        assert.match(String(start.reason), /digest changed/, JSON.stringify(start));
        assert.deepEqual(start.versions, { [VERSION_LABEL]: "v0.38.20" });
        assert.equal(start.digest, d2);
        secondStart = String(start.startTime);
        // Synced as far as the halted network goes: the same height twice, 10 s apart.
        let last = -1;
        haltedHeight = await waitUntil(
            `the second test's node at the halted height`,
            async () => {
                const height = await nodeStatus().then(
                    (s) => s.height,
                    () => -1,
                );
                const settled = height > 1 && height === last ? height : undefined;
                last = height;
                if (settled === undefined) await new Promise((r) => setTimeout(r, 10_000));
                return settled;
            },
            { timeoutMs: 240_000 },
        );
        const waiting = (await monitorLog("monitor")).at(-1);
        assert.match(
            String(waiting?.reason),
            /not advancing|newest block is from/,
            JSON.stringify(waiting),
        );
        assert.ok(
            !(await results()).some((r) => r.digest === d2),
            "a halted network cannot complete a test",
        );
        assert.ok((await reasons()).some((r) => r.startsWith(EVENT_REASON.newImage)));
    });

    it("deleting the pod mid-sync resumes the same test on the kept data", async function () {
        // No peer left: whatever height the new pod's node answers at comes from its own volume.
        await scaleNetwork(() => 0);
        const before = await podUid(namespace, pod);
        await kube().core.deleteNamespacedPod({ namespace, name: pod });
        await waitForNewPod(namespace, pod, before);
        const resumed = await waitForInitLine(MESSAGE.resuming);
        assert.equal(resumed.digest, d2);
        assert.equal(resumed.startTime, secondStart, "the same test, not a new one");
        const status = await waitUntil(
            `the resumed node answering`,
            () => nodeStatus().catch(() => undefined),
            { timeoutMs: 120_000 },
        );
        assert.equal(status.peers, 0, JSON.stringify(status));
        assert.ok(
            status.height >= haltedHeight,
            `a wiped node would be at 0: ${JSON.stringify(status)} (was ${haltedHeight})`,
        );
        assert.ok((await reasons()).some((r) => r.startsWith(EVENT_REASON.resumed)));
    });

    it("with the network back, the resumed test completes with its first start time", async function () {
        await scaleNetwork((sts) => originalReplicas[sts.metadata!.name!]);
        await waitUntil(
            `a result for ${d2}`,
            async () => (await results()).some((r) => r.digest === d2),
            { timeoutMs: 300_000 },
        );
        const second = (await results()).find((r) => r.digest === d2)!;
        assert.equal(second.startTime, secondStart);
        assert.ok((second.height ?? 0) > haltedHeight, JSON.stringify(second));
        assert.deepEqual(
            (await results()).map((r) => r.digest).sort(),
            [d1, d2].sort(),
            "one result per digest",
        );
    });

    it("npm run bootstrap-tests shows both results", async function () {
        const out = execFileSync(
            "npm",
            [
                "run",
                "-s",
                "bootstrap-tests",
                "--",
                "--stack-file",
                path.join(stack!.projectDir, "Pulumi.e2e.yaml"),
            ],
            { cwd: REPO_ROOT, encoding: "utf8" },
        );
        for (const d of [d1, d2]) {
            assert.ok(out.includes(d.slice("sha256:".length, "sha256:".length + 12)), out);
        }
    });

    it("up after the roll forward is still a no-op and keeps the new digest", async function () {
        const again = await step("up", () =>
            stack!.up(["--expect-no-changes"], { allowFailure: true }),
        );
        assertNoChanges(again);
        assert.equal(again.code, 0, diagnosticsOf(again));
        assert.ok(image(await statefulSet(), "node")?.endsWith(d2));
    });
});
