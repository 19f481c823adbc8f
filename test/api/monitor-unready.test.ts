/**
 * The "pod never Ready" trap (research/progressive.md §1): a bootstrap test's pod is not Ready
 * for days, while its node syncs, and a StatefulSet's RollingUpdate does not replace a pod that is
 * not Ready (kubernetes#67250). So when `monitor init` pins the followed tag to a digest, the pod
 * must get the new template anyway: the set uses OnDelete and init deletes its own pod.
 *
 * Here the pod never even runs (a scheduler nobody serves keeps kwok away): it is Pending, never
 * Ready, when init pins, and it must still come back with the pinned image.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { BootstrapTestConfigSchema } from "../../config/bootstrapTest";
import { EXIT, MESSAGE } from "../../monitor/constants";
import { DETAILS_FILE } from "../../monitor/details";
import { buildBootstrapTestManifests } from "../../components/bootstrapTest/manifests";
import {
    HARNESS_SCHEDULER,
    clients,
    createNamespace,
    deleteNamespace,
    requireCluster,
} from "./harness/kube";
import {
    killMonitors,
    messages,
    podUid,
    runMonitor,
    serviceAccountKubeconfig,
    show,
    waitForNewPod,
} from "./harness/monitor";
import { LocalRegistry } from "./harness/registry";

/* eslint-disable @typescript-eslint/no-explicit-any */

const NAME = "bt-unready";
const POD = `${NAME}-0`;

const nodeImage = (pod: V1Pod) => pod.spec?.containers.find((c) => c.name === "node")?.image;
const isReady = (pod: V1Pod) =>
    pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

describe("monitor: pinning a pod that is never Ready", function () {
    this.timeout(120_000);
    let ns = "";
    let tmp = "";
    let registry: LocalRegistry;

    before(async () => {
        await requireCluster();
        ns = await createNamespace("unready");
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "monitor-unready-"));
        registry = await LocalRegistry.start({ dir: path.join(tmp, "registry") });
    });

    after(async () => {
        killMonitors();
        await registry?.stop();
        if (ns) await deleteNamespace(ns);
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("init pins the digest and replaces its pod although the pod is not Ready", async () => {
        const digest = await registry.push("chain/node", "main", {});
        const follow = `${registry.host}/chain/node:main`;
        const m = buildBootstrapTestManifests({
            namespace: ns,
            chain: "cometbft",
            test: BootstrapTestConfigSchema.parse({
                name: NAME,
                image: follow,
                syncMode: "state-sync",
                storage: { size: "1Gi", storageClass: "chainfleet-local" },
            }),
            monitorImage: "chainfleet-monitor:api-test",
        });
        const sts = m.statefulSet as any;
        assert.deepEqual(sts.spec.updateStrategy, { type: "OnDelete" }, "the manifests' strategy");
        sts.spec.template.spec.schedulerName = HARNESS_SCHEDULER;
        const admin = clients();
        await admin.core.createNamespacedServiceAccount({ namespace: ns, body: m.serviceAccount });
        await admin.rbac.createNamespacedRole({ namespace: ns, body: m.role as any });
        await admin.rbac.createNamespacedRoleBinding({ namespace: ns, body: m.roleBinding as any });
        await admin.apps.createNamespacedStatefulSet({ namespace: ns, body: sts });
        const before = await waitForNewPod(ns, POD);
        assert.equal(isReady(before), false, "the pod must not be Ready for this test");

        const kubeconfig = path.join(tmp, "monitor.kubeconfig");
        await serviceAccountKubeconfig(ns, m.names.serviceAccount, kubeconfig);
        const dataDir = path.join(tmp, "data");
        fs.mkdirSync(path.join(dataDir, "data"), { recursive: true });
        const { code, lines } = await runMonitor([
            "init",
            `--namespace=${ns}`,
            `--pod-name=${POD}`,
            `--statefulset=${NAME}`,
            "--chain=cometbft",
            `--data-dir=${dataDir}`,
            "--sync-mode=state-sync",
            `--follow-image=${follow}`,
            `--kubeconfig=${kubeconfig}`,
            "--termination-wait=30",
        ]);
        assert.equal(code, EXIT.podReplaced, show(lines));
        assert.ok(messages(lines).includes(MESSAGE.recreating), show(lines));

        const after = await waitForNewPod(ns, POD, before.metadata?.uid);
        assert.notEqual(await podUid(ns, POD), before.metadata?.uid);
        assert.equal(nodeImage(after), `${registry.host}/chain/node@${digest}`);
        assert.equal(isReady(after), false, "still not Ready, and replaced all the same");
        assert.ok(!fs.existsSync(path.join(dataDir, DETAILS_FILE)), "no test starts on a tag");
    });
});
