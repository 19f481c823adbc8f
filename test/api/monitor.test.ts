/**
 * The bootstrap monitor end to end, as a local process, against:
 * - the real kube-apiserver and controllers of scripts/cluster.sh (kwok plays the kubelet, so
 *   the pod is "Running" and the StatefulSet controller really recreates it);
 * - a real CometBFT validator on 127.0.0.1 whose home directory is the monitor's data volume, so
 *   wiping, resuming and completion act on real chain data;
 * - a real registry on 127.0.0.1 (Debian's docker-registry) with basic auth, fed through its
 *   HTTP API, so "a new build" is a new digest under the followed tag.
 *
 * The monitor always acts with the ServiceAccount token of the Role that the BootstrapTest
 * manifests declare (TokenRequest API): every step below doubles as a check that the Role grants
 * enough, and the last one checks that it grants no more.
 *
 * The steps run in order and build on each other, like the test's life: pin → start → resume →
 * complete → next image.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeClients, k8s, kubeClients, statusCode } from "../../kube/kube";
import { BootstrapTestConfigSchema } from "../../config/bootstrapTest";
import {
    ANNOTATION,
    CURRENT_KEY,
    EVENT_REASON,
    EXIT,
    MESSAGE,
    RESULTS_KEY,
} from "../../monitor/constants";
import { DETAILS_FILE, TestDetails } from "../../monitor/details";
import { buildBootstrapTestManifests } from "../../components/bootstrapTest/manifests";
import type { TestResult } from "../../monitor/results";
import { CometChain, CometNode, status, waitForHeight } from "./harness/cometbft";
import { clients, createNamespace, deleteNamespace, requireCluster } from "./harness/kube";
import {
    MonitorRun,
    eventReasons,
    killMonitors,
    messages,
    podUid,
    runMonitor,
    serviceAccountKubeconfig,
    show,
    startMonitor,
    waitForLine,
    waitForNewPod,
} from "./harness/monitor";
import { LocalRegistry } from "./harness/registry";

const REPOSITORY = "chain/node";
const AUTH = { username: "monitor", password: "s3cret" };
const V1 = {
    "org.opencontainers.image.version": "v1.0.0",
    "org.opencontainers.image.revision": "aaa111",
};
const V2 = {
    "org.opencontainers.image.version": "v2.0.0",
    "org.opencontainers.image.revision": "bbb222",
};

/* eslint-disable @typescript-eslint/no-explicit-any */

const nodeImage = (spec: { containers?: { name: string; image?: string }[] } | undefined) =>
    spec?.containers?.find((c) => c.name === "node")?.image;

describe("monitor against a real API server, CometBFT node and registry", function () {
    this.timeout(180_000);

    let ns: string;
    let tmp: string;
    let registry: LocalRegistry;
    let chain: CometChain;
    let validator: CometNode;
    let follow: string;
    let d1: string;
    let d2: string;
    let saConfig: string;
    let authFile: string;
    let common: string[];
    let details: TestDetails;
    let sidecar: MonitorRun | undefined;

    const readDetails = (): TestDetails =>
        JSON.parse(fs.readFileSync(path.join(validator.home, DETAILS_FILE), "utf8"));
    const dataEntries = () => fs.readdirSync(path.join(validator.home, "data")).sort();
    const statefulSet = () =>
        clients().apps.readNamespacedStatefulSet({ namespace: ns, name: "bt" });

    before(async () => {
        await requireCluster();
        ns = await createNamespace("monitor");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "monitor-api-"));
        registry = await LocalRegistry.start({ dir: path.join(tmp, "registry"), auth: AUTH });
        authFile = path.join(tmp, "dockerconfig.json");
        fs.writeFileSync(authFile, registry.dockerConfigJson());
        d1 = await registry.push(REPOSITORY, "master", { labels: V1 });
        follow = `${registry.host}/${REPOSITORY}:master`;

        // The validator's home is the "data volume". It ran before, so `data/` holds blocks
        // that a fresh test must wipe; in a pod the node only starts after init, so it is
        // stopped whenever init runs.
        chain = new CometChain({ dir: path.join(tmp, "chain") });
        validator = await chain.startValidator();
        await waitForHeight(validator.rpcUrl, 3);
        await chain.stop(validator);

        const m = buildBootstrapTestManifests({
            namespace: ns,
            chain: "cometbft",
            test: BootstrapTestConfigSchema.parse({
                name: "bt",
                image: follow,
                syncMode: "full-sync",
                storage: { size: "1Gi", storageClass: "chainfleet-local" },
            }),
            monitorImage: "chainfleet-monitor:api-test",
        });
        const admin = clients();
        await admin.core.createNamespacedServiceAccount({
            namespace: ns,
            body: m.serviceAccount as any,
        });
        await admin.rbac.createNamespacedRole({ namespace: ns, body: m.role as any });
        await admin.rbac.createNamespacedRoleBinding({ namespace: ns, body: m.roleBinding as any });
        await admin.apps.createNamespacedStatefulSet({ namespace: ns, body: m.statefulSet as any });
        await waitForNewPod(ns, "bt-0");

        saConfig = path.join(tmp, "monitor.kubeconfig");
        await serviceAccountKubeconfig(ns, m.names.serviceAccount, saConfig);
        common = [
            `--namespace=${ns}`,
            "--pod-name=bt-0",
            "--statefulset=bt",
            "--chain=cometbft",
            `--data-dir=${validator.home}`,
            "--sync-mode=full-sync",
            `--follow-image=${follow}`,
            `--kubeconfig=${saConfig}`,
            "--termination-wait=30",
        ];
    });

    after(async () => {
        killMonitors();
        await chain?.stopAll();
        await registry?.stop();
        if (ns) await deleteNamespace(ns);
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("(a) names --registry-auth-file when the registry wants credentials", async () => {
        const { code, lines } = await runMonitor(["init", ...common]);
        assert.equal(code, EXIT.failed, show(lines));
        assert.match(lines.at(-1).msg, /asks for a username and password.*--registry-auth-file/);
        assert.equal(
            nodeImage((await statefulSet()).spec?.template.spec),
            follow,
            "changed without a digest",
        );
    });

    it("(a) pins the followed tag to its digest and replaces its own pod", async () => {
        const before = await podUid(ns, "bt-0");
        const { code, lines } = await runMonitor([
            "init",
            ...common,
            `--registry-auth-file=${authFile}`,
        ]);
        assert.equal(code, EXIT.podReplaced, show(lines));
        assert.ok(messages(lines).includes(MESSAGE.pinning), show(lines));
        assert.ok(messages(lines).includes(MESSAGE.recreating), show(lines));

        const pinned = `${registry.host}/${REPOSITORY}@${d1}`;
        const template = (await statefulSet()).spec?.template;
        assert.equal(nodeImage(template?.spec), pinned);
        assert.equal(template?.metadata?.annotations?.[ANNOTATION.followedImage], follow);
        assert.deepEqual(
            JSON.parse(template?.metadata?.annotations?.[ANNOTATION.versions] ?? "{}"),
            V1,
        );
        const pod = await waitForNewPod(ns, "bt-0", before);
        assert.equal(nodeImage(pod.spec), pinned, "the replacement pod runs the old template");
        assert.ok(
            !fs.existsSync(path.join(validator.home, DETAILS_FILE)),
            "a test started on a tag",
        );
        assert.ok((await eventReasons(ns)).includes(EVENT_REASON.pinned));
    });

    it("(a) starts a new test: wipes only the node's data and writes the details", async () => {
        assert.ok(dataEntries().includes("blockstore.db"), "the validator left no blocks to wipe");
        const started = Date.now();
        const { code, lines } = await runMonitor([
            "init",
            ...common,
            `--registry-auth-file=${authFile}`,
        ]);
        assert.equal(code, EXIT.ok, show(lines));
        assert.ok(messages(lines).includes(MESSAGE.starting), show(lines));

        details = readDetails();
        assert.deepEqual(
            { ...details, startTime: undefined },
            {
                image: `${registry.host}/${REPOSITORY}@${d1}`,
                digest: d1,
                startTime: undefined,
                syncMode: "full-sync",
                followImage: follow,
                versions: V1,
            },
        );
        assert.ok(Date.parse(details.startTime) >= started - 1000);
        assert.deepEqual(dataEntries(), ["priv_validator_state.json"]);
        assert.ok(
            fs.existsSync(path.join(validator.home, "config", "genesis.json")),
            "config wiped",
        );
        // The seeded state lets CometBFT start on the wiped directory and make blocks again.
        await chain.startNode(validator);
        await waitForHeight(validator.rpcUrl, 3);
        assert.ok((await eventReasons(ns)).includes(EVENT_REASON.started));
    });

    it("(b) resumes after a restart with the same digest, keeping the data", async () => {
        const height = (await status(validator.rpcUrl)).height;
        await chain.stop(validator);
        const uid = await podUid(ns, "bt-0");
        await clients().core.deleteNamespacedPod({ namespace: ns, name: "bt-0" });
        await waitForNewPod(ns, "bt-0", uid);

        const { code, lines } = await runMonitor([
            "init",
            ...common,
            `--registry-auth-file=${authFile}`,
        ]);
        assert.equal(code, EXIT.ok, show(lines));
        assert.ok(messages(lines).includes(MESSAGE.resuming), show(lines));
        assert.deepEqual(readDetails(), details, "details rewritten on resume");
        assert.ok(dataEntries().includes("blockstore.db"), "data wiped on resume");
        await chain.startNode(validator);
        const resumed = (await status(validator.rpcUrl)).height;
        assert.ok(
            resumed >= height,
            `the node restarted from ${resumed}, below ${height}: data lost`,
        );
        assert.ok((await eventReasons(ns)).includes(EVENT_REASON.resumed));
    });

    /** The sidecar as the pod runs it (fast intervals), keeping the last two results. */
    const startSidecar = () =>
        startMonitor([
            "wait-for-completion",
            ...common,
            `--registry-auth-file=${authFile}`,
            `--status-url=${validator.rpcUrl}/status`,
            "--check-interval=1",
            "--poll-tag-interval=1",
            "--keep-last=2",
        ]);
    const recordedDigests = async () => {
        const cm = await clients().core.readNamespacedConfigMap({
            namespace: ns,
            name: "bt-results",
        });
        return (JSON.parse(cm.data?.[RESULTS_KEY] ?? "[]") as TestResult[]).map((r) => r.digest);
    };

    it("(c) records a result once the node is caught up and advancing", async () => {
        sidecar = startSidecar();
        const waiting = await waitForLine(sidecar, MESSAGE.waiting);
        assert.match(waiting.reason, /waiting for the height to advance/);
        assert.ok(
            waiting.diskUsageBytes > 0 && typeof waiting.duration === "string",
            show([waiting]),
        );
        const done = await waitForLine(sidecar, MESSAGE.completed);
        await waitForLine(sidecar, MESSAGE.unchanged);

        const cm = await clients().core.readNamespacedConfigMap({
            namespace: ns,
            name: "bt-results",
        });
        const results: TestResult[] = JSON.parse(cm.data?.[RESULTS_KEY] ?? "[]");
        assert.equal(results.length, 1);
        assert.equal(cm.data?.[CURRENT_KEY], undefined, "the finished test is still current");
        const [r] = results;
        assert.deepEqual(
            {
                digest: r.digest,
                image: r.image,
                startTime: r.startTime,
                syncMode: r.syncMode,
                versions: r.versions,
                chain: r.chain,
                outcome: r.outcome,
            },
            {
                digest: d1,
                image: details.image,
                startTime: details.startTime,
                syncMode: "full-sync",
                versions: V1,
                chain: "cometbft",
                outcome: "completed",
            },
        );
        assert.ok(
            (r.height ?? 0) > 0 && r.diskUsageBytes > 0 && r.durationSeconds >= 0,
            JSON.stringify(r),
        );
        assert.ok(r.nodeVersion, "no node version recorded");
        assert.equal(done.digest, d1);
        assert.ok((await eventReasons(ns)).includes(EVENT_REASON.completed));
    });

    it("(d) a new digest under the followed tag starts the next test, which wipes the data", async () => {
        assert.ok(sidecar, "the sidecar of (c) is not running");
        const uid = await podUid(ns, "bt-0");
        d2 = await registry.push(REPOSITORY, "master", {
            labels: V2,
            platforms: [
                { os: "linux", architecture: "arm64" },
                { os: "linux", architecture: "amd64" },
            ],
        });
        assert.notEqual(d2, d1);
        await waitForLine(sidecar, MESSAGE.newImage);
        assert.equal(await sidecar.exit, EXIT.ok, show(sidecar.lines));

        const pinned = `${registry.host}/${REPOSITORY}@${d2}`;
        const template = (await statefulSet()).spec?.template;
        assert.equal(nodeImage(template?.spec), pinned);
        assert.deepEqual(
            JSON.parse(template?.metadata?.annotations?.[ANNOTATION.versions] ?? "{}"),
            V2,
        );
        const pod = await waitForNewPod(ns, "bt-0", uid);
        assert.equal(nodeImage(pod.spec), pinned);
        assert.ok((await eventReasons(ns)).includes(EVENT_REASON.newImage));

        await chain.stop(validator);
        const { code, lines } = await runMonitor([
            "init",
            ...common,
            `--registry-auth-file=${authFile}`,
        ]);
        assert.equal(code, EXIT.ok, show(lines));
        const start = lines.find((l) => l.msg === MESSAGE.starting);
        assert.match(start?.reason ?? "", /digest changed/, show(lines));
        const next = readDetails();
        assert.equal(next.digest, d2);
        assert.deepEqual(next.versions, V2);
        assert.ok(next.startTime > details.startTime);
        assert.deepEqual(
            dataEntries(),
            ["priv_validator_state.json"],
            "data not wiped for the new test",
        );
    });

    it("(e) the ServiceAccount is refused what the Role does not grant", async () => {
        const admin = clients();
        await admin.core.createNamespacedSecret({
            namespace: ns,
            body: { metadata: { name: "not-for-the-monitor" }, stringData: { key: "value" } },
        });
        await admin.core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: "someone-elses" }, data: { a: "b" } },
        });
        const monitor: KubeClients = kubeClients({ kubeconfig: saConfig });
        const refused: [string, () => Promise<unknown>][] = [
            [
                "read a Secret",
                () =>
                    monitor.core.readNamespacedSecret({
                        namespace: ns,
                        name: "not-for-the-monitor",
                    }),
            ],
            [
                "delete the StatefulSet",
                () => monitor.apps.deleteNamespacedStatefulSet({ namespace: ns, name: "bt" }),
            ],
            ["list pods", () => monitor.core.listNamespacedPod({ namespace: ns })],
            [
                "read another ConfigMap",
                () =>
                    monitor.core.readNamespacedConfigMap({ namespace: ns, name: "someone-elses" }),
            ],
            [
                "delete the results ConfigMap",
                () => monitor.core.deleteNamespacedConfigMap({ namespace: ns, name: "bt-results" }),
            ],
        ];
        for (const [what, call] of refused) {
            await assert.rejects(
                call(),
                (err: unknown) => statusCode(err) === 403,
                `allowed to ${what}`,
            );
        }
        // What it was given still works with the same token.
        assert.equal(
            (await monitor.apps.readNamespacedStatefulSet({ namespace: ns, name: "bt" })).metadata
                ?.name,
            "bt",
        );
        await admin.apps.readNamespacedStatefulSet({ namespace: ns, name: "bt" });
    });

    it("(f) keeps only the last --keep-last results, newest first", async () => {
        // (d) started the second test (d2) on wiped data: let it complete.
        await chain.startNode(validator);
        await waitForHeight(validator.rpcUrl, 3);
        const second = startSidecar();
        assert.equal((await waitForLine(second, MESSAGE.completed)).digest, d2);
        assert.deepEqual(await recordedDigests(), [d2, d1]);

        // A third build: the sidecar rolls forward, init starts afresh, and it completes too.
        const d3 = await registry.push(REPOSITORY, "master", { labels: V2 });
        await waitForLine(second, MESSAGE.newImage);
        assert.equal(await second.exit, EXIT.ok, show(second.lines));
        await chain.stop(validator);
        await waitForNewPod(ns, "bt-0");
        const { code, lines } = await runMonitor([
            "init",
            ...common,
            `--registry-auth-file=${authFile}`,
        ]);
        assert.equal(code, EXIT.ok, show(lines));
        await chain.startNode(validator);
        await waitForHeight(validator.rpcUrl, 3);
        const third = startSidecar();
        assert.equal((await waitForLine(third, MESSAGE.completed)).digest, d3);
        await waitForLine(third, MESSAGE.unchanged);
        third.proc.kill("SIGTERM");
        assert.deepEqual(await recordedDigests(), [d3, d2], "the oldest result (d1) is dropped");
    });

    it("(g) the sidecar replaces its pod when the template changed under it (OnDelete)", async () => {
        // What a `pulumi up` that changes the test's config does: a new template revision,
        // which an OnDelete set never applies to the running pod by itself.
        const before = await podUid(ns, "bt-0");
        await clients().apps.patchNamespacedStatefulSet(
            {
                namespace: ns,
                name: "bt",
                body: {
                    spec: {
                        template: {
                            metadata: { annotations: { "chainfleet.io/test-change": "1" } },
                        },
                    },
                },
            },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
        );
        const sidecar = startSidecar();
        assert.equal(await sidecar.exit, EXIT.ok, show(sidecar.lines));
        assert.ok(messages(sidecar.lines).includes(MESSAGE.recreating), show(sidecar.lines));
        const pod = await waitForNewPod(ns, "bt-0", before);
        assert.equal(pod.metadata?.annotations?.["chainfleet.io/test-change"], "1");
    });
});
