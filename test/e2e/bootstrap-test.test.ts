/**
 * The dev stack's bootstrap test through its whole cycle (issue 5, "done when"): `pulumi up` of
 * the committed dev config declares it, then its monitor runs pin → start → complete → next image
 * against what Pulumi made, and `pulumi up` leaves the monitor's work alone.
 *
 * kwok runs no containers, so the monitor's two containers run here as local processes, with the
 * very arguments of the deployed StatefulSet's init container and sidecar. Only what a pod gives
 * its containers is swapped for local stand-ins: the pod's name and namespace (downward API), the
 * data volume (a real CometBFT home), the mounted registry Secret (its content, read back from the
 * API), the node's RPC, and credentials (the monitor ServiceAccount's own token). The followed
 * tag lives in a real registry on loopback, so "a new build" is a new digest under it.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Container, V1StatefulSet } from "@kubernetes/client-node";
import { CometChain, CometNode, waitForHeight } from "../api/harness/cometbft";
import {
    eventReasons,
    killMonitors,
    messages,
    runMonitor,
    serviceAccountKubeconfig,
    show,
    startMonitor,
    waitForLine,
    waitForNewPod,
    podUid,
    MonitorRun,
} from "../api/harness/monitor";
import { LocalRegistry } from "../api/harness/registry";
import { ANNOTATION, EVENT_REASON, EXIT, MESSAGE, RESULTS_KEY } from "../../monitor/constants";
import { DETAILS_FILE, TestDetails } from "../../monitor/details";
import type { TestResult } from "../../monitor/results";
import { deleteNamespace, kube, requireCluster } from "./harness/cluster";
import { assertNoChanges, uniqueSuffix } from "./harness/fleet";
import { devConfig } from "./harness/dev";
import { E2eStack, diagnosticsOf } from "./harness/pulumi";
import { installFailureReport, step, stopChain } from "./harness/report";

const REPOSITORY = "cometbft/node";
const AUTH = { username: "monitor", password: "e2e-s3cret" };
const SECRET = "bt-registry";
const V1 = { "org.opencontainers.image.version": "v0.38.19" };
const V2 = { "org.opencontainers.image.version": "v0.38.20" };

/** `--key=value` arguments with some values replaced (or added): what a pod gives differs here. */
function withOverrides(args: readonly string[], overrides: Record<string, string>): string[] {
    const keyOf = (arg: string) => arg.split("=")[0];
    const kept = args.filter((arg) => !(keyOf(arg) in overrides));
    return [...kept, ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`)];
}

const argValue = (args: readonly string[], key: string) =>
    args.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1);

const container = (sts: V1StatefulSet, name: string, init = false): V1Container => {
    const spec = sts.spec?.template.spec;
    const found = (init ? spec?.initContainers : spec?.containers)?.find((c) => c.name === name);
    assert.ok(
        found,
        `StatefulSet ${sts.metadata?.name} has no ${init ? "init " : ""}container ${name}`,
    );
    return found;
};

const nodeImage = (sts: V1StatefulSet) => container(sts, "node").image;

describe("e2e: the dev stack's bootstrap test, whole cycle", function () {
    const id = uniqueSuffix();
    const network = `btdev-${id}`;
    const namespace = `e2e-bt-${id}`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `chainfleet-e2e-bt-${id}-`));
    const chainDir = path.join(tmp, "chain");
    const dev = devConfig();
    const [devTest] = dev.bootstrapTests as Record<string, unknown>[];
    const testName = String(devTest.name);
    const pod = `${testName}-0`;
    let stack: E2eStack | undefined;
    let registry: LocalRegistry;
    let chain: CometChain | undefined;
    let validator: CometNode;
    let follow = "";
    let d1 = "";
    let initArgs: string[] = [];
    let sidecarArgs: string[] = [];
    let details: TestDetails | undefined;
    let sidecar: MonitorRun | undefined;
    let failed = false;

    const report = installFailureReport({
        stack: () => stack,
        namespace: () => namespace,
        chain: () => chain,
        chainDir: () => chainDir,
    });
    const statefulSet = () => kube().apps.readNamespacedStatefulSet({ namespace, name: testName });
    const readDetails = (): TestDetails =>
        JSON.parse(fs.readFileSync(path.join(validator.home, DETAILS_FILE), "utf8"));
    const dataEntries = () => fs.readdirSync(path.join(validator.home, "data")).sort();

    before(async function () {
        await requireCluster();
        registry = await LocalRegistry.start({ dir: path.join(tmp, "registry"), auth: AUTH });
        d1 = await registry.push(REPOSITORY, "v0.38.x", { labels: V1 });
        follow = `${registry.host}/${REPOSITORY}:v0.38.x`;
        // The validator's home stands in for the test's data volume: it ran before, so a new
        // test has blocks to wipe.
        chain = new CometChain({ dir: chainDir });
        validator = await chain.startValidator();
        await waitForHeight(validator.rpcUrl, 3);
        await chain.stop(validator);

        stack = new E2eStack({ label: "bootstrap-test" });
        // The committed dev config; only the network, namespace and the followed tag's registry
        // (a loopback one, with credentials from a Secret) differ.
        stack.writeConfig({
            ...dev,
            network,
            namespace,
            bootstrapTests: [{ ...devTest, image: follow, registrySecret: SECRET }],
        });
        await stack.init();
    });

    after(async function () {
        killMonitors();
        await registry?.stop();
        await stopChain(chain, chainDir, report);
        await deleteNamespace(namespace);
        await stack?.dispose();
        if (!report.failed()) {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
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

    /** The monitor's arguments in this pod's stead: the pod's own, with local stand-ins. */
    async function standIns(): Promise<Record<string, string>> {
        const authFile = path.join(tmp, "dockerconfig.json");
        if (!fs.existsSync(authFile)) {
            // What the kubelet would mount: the Secret's content, read back through the API.
            const secret = await kube().core.readNamespacedSecret({ namespace, name: SECRET });
            const data = secret.data?.[".dockerconfigjson"];
            assert.ok(data, `Secret ${SECRET} has no .dockerconfigjson`);
            fs.writeFileSync(authFile, Buffer.from(data, "base64"), { mode: 0o600 });
        }
        const kubeconfig = path.join(tmp, "monitor.kubeconfig");
        if (!fs.existsSync(kubeconfig)) {
            await serviceAccountKubeconfig(namespace, `${testName}-monitor`, kubeconfig);
        }
        return {
            "--namespace": namespace,
            "--pod-name": pod,
            "--data-dir": validator.home,
            "--registry-auth-file": authFile,
            "--kubeconfig": kubeconfig,
            "--termination-wait": "30",
        };
    }

    it("up declares the test: a StatefulSet on the followed tag with the monitor as init and sidecar", async function () {
        const up = await stack!.up();
        assert.equal(up.code, 0, diagnosticsOf(up));
        const sts = await statefulSet();
        assert.equal(nodeImage(sts), follow, "the followed tag, until the monitor pins it");
        const init = container(sts, "init", true);
        const monitor = container(sts, "monitor");
        initArgs = init.args ?? [];
        sidecarArgs = monitor.args ?? [];
        assert.equal(initArgs[0], "init");
        assert.equal(sidecarArgs[0], "wait-for-completion");
        for (const args of [initArgs, sidecarArgs]) {
            assert.equal(argValue(args, "--follow-image"), follow);
            assert.equal(argValue(args, "--statefulset"), testName);
            assert.ok(argValue(args, "--registry-auth-file"), "the mounted Secret's file");
        }
        await waitForNewPod(namespace, pod);
        await kube().core.createNamespacedSecret({
            namespace,
            body: {
                metadata: { name: SECRET },
                type: "kubernetes.io/dockerconfigjson",
                stringData: { ".dockerconfigjson": registry.dockerConfigJson() },
            },
        });
    });

    it("init pins the tag to its digest and replaces its own pod", async function () {
        const before = await podUid(namespace, pod);
        const { code, lines } = await runMonitor(withOverrides(initArgs, await standIns()));
        assert.equal(code, EXIT.podReplaced, show(lines));
        assert.ok(messages(lines).includes(MESSAGE.pinning), show(lines));
        const sts = await statefulSet();
        assert.equal(nodeImage(sts), `${registry.host}/${REPOSITORY}@${d1}`);
        assert.equal(sts.spec?.template.metadata?.annotations?.[ANNOTATION.followedImage], follow);
        await waitForNewPod(namespace, pod, before);
    });

    it("the next up keeps the pinned digest: Pulumi reports no changes", async function () {
        const again = await stack!.up(["--expect-no-changes"], { allowFailure: true });
        assertNoChanges(again);
        assert.equal(again.code, 0, diagnosticsOf(again));
        assert.equal(nodeImage(await statefulSet()), `${registry.host}/${REPOSITORY}@${d1}`);
    });

    it("init starts the test: the node's data is wiped and the details written", async function () {
        assert.ok(dataEntries().includes("blockstore.db"), "the validator left no blocks to wipe");
        const { code, lines } = await runMonitor(withOverrides(initArgs, await standIns()));
        assert.equal(code, EXIT.ok, show(lines));
        assert.ok(messages(lines).includes(MESSAGE.starting), show(lines));
        details = readDetails();
        assert.equal(details.digest, d1);
        assert.equal(details.followImage, follow);
        assert.deepEqual(details.versions, V1);
        assert.deepEqual(dataEntries(), ["priv_validator_state.json"]);
    });

    it("the sidecar records a result once the node has caught up", async function () {
        await chain!.startNode(validator);
        await waitForHeight(validator.rpcUrl, 3);
        // The dev stack checks every 10 s and polls the tag every 60 s; 1 s keeps the test short.
        sidecar = startMonitor(
            withOverrides(sidecarArgs, {
                ...(await standIns()),
                "--status-url": `${validator.rpcUrl}/status`,
                "--check-interval": "1",
                "--poll-tag-interval": "1",
            }),
        );
        const done = await waitForLine(sidecar, MESSAGE.completed);
        assert.equal(done.digest, d1);
        await waitForLine(sidecar, MESSAGE.unchanged);
        const cm = await kube().core.readNamespacedConfigMap({
            namespace,
            name: argValue(sidecarArgs, "--results-configmap")!,
        });
        const results: TestResult[] = JSON.parse(cm.data?.[RESULTS_KEY] ?? "[]");
        assert.deepEqual(
            results.map((r) => [r.digest, r.startTime, r.syncMode]),
            [[d1, details!.startTime, devTest.syncMode]],
        );
        assert.ok(
            (results[0].height ?? 0) > 0 && results[0].diskUsageBytes > 0,
            JSON.stringify(results),
        );
        assert.ok((await eventReasons(namespace)).includes(EVENT_REASON.completed));
    });

    it("a new digest under the tag rolls the StatefulSet forward, and the next init starts afresh", async function () {
        const before = await podUid(namespace, pod);
        const d2 = await registry.push(REPOSITORY, "v0.38.x", { labels: V2 });
        assert.notEqual(d2, d1);
        await waitForLine(sidecar!, MESSAGE.newImage);
        assert.equal(await sidecar!.exit, EXIT.ok, show(sidecar!.lines));
        assert.equal(nodeImage(await statefulSet()), `${registry.host}/${REPOSITORY}@${d2}`);
        await waitForNewPod(namespace, pod, before);

        await chain!.stop(validator);
        const { code, lines } = await runMonitor(withOverrides(initArgs, await standIns()));
        assert.equal(code, EXIT.ok, show(lines));
        const start = lines.find((l) => l.msg === MESSAGE.starting);
        assert.match(start?.reason ?? "", /digest changed/, show(lines));
        const next = readDetails();
        assert.equal(next.digest, d2);
        assert.ok(next.startTime > details!.startTime);
        assert.deepEqual(dataEntries(), ["priv_validator_state.json"], "data not wiped");
    });

    it("up after the roll forward is still a no-op and keeps the new digest", async function () {
        const pinned = nodeImage(await statefulSet());
        const again = await step("up", () =>
            stack!.up(["--expect-no-changes"], { allowFailure: true }),
        );
        assertNoChanges(again);
        assert.equal(again.code, 0, diagnosticsOf(again));
        assert.equal(nodeImage(await statefulSet()), pinned);
    });
});
