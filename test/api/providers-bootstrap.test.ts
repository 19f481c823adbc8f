/**
 * Bootstrap provider against a real API server and the real Job controller. The Job's pod is a
 * harness pod (test/api/harness/kube.ts) whose exit the test decides: 0, 130 or 1.
 */
import * as assert from "node:assert/strict";
import { BootstrapInputs, BootstrapOutputs, bootstrapProvider } from "../../dynamic-providers";
import { isNotFound } from "../../kube/kube";
import {
    clients,
    createNamespace,
    createPvc,
    deleteNamespace,
    firstJobPod,
    kubeAccess,
    podSpec,
    requireCluster,
    setPodState,
    waitFor,
} from "./harness/kube";

async function inputsFor(
    namespace: string,
    over: Partial<BootstrapInputs> = {},
): Promise<BootstrapInputs> {
    const raw = {
        ...kubeAccess(),
        namespace,
        pvcName: "data-node-0",
        haltHeight: 99,
        haltExitCodes: [130],
        deadlineSeconds: 60,
        job: {
            metadata: { name: "node-0-bootstrap" },
            spec: {
                backoffLimit: 0,
                template: { spec: podSpec({ harness: true, pvc: "data-node-0" }) },
            },
        },
        ...over,
    };
    const { inputs, failures } = await bootstrapProvider.check!(
        {} as BootstrapInputs,
        raw as unknown as BootstrapInputs,
    );
    assert.deepEqual(failures, []);
    return inputs as BootstrapInputs;
}

async function jobExists(namespace: string, name = "node-0-bootstrap"): Promise<boolean> {
    try {
        await clients().batch.readNamespacedJob({ namespace, name });
        return true;
    } catch (err) {
        if (isNotFound(err)) {
            return false;
        }
        throw err;
    }
}

async function pvcAnnotation(namespace: string): Promise<string | undefined> {
    const pvc = await clients().core.readNamespacedPersistentVolumeClaim({
        namespace,
        name: "data-node-0",
    });
    return pvc.metadata?.annotations?.["chainfleet.io/bootstrapped-height"];
}

/** Starts create(), ends the Job's pod with `exitCode`, and returns create()'s result. */
async function runWithExit(inputs: BootstrapInputs, exitCode: number, message?: string) {
    const created = bootstrapProvider.create(inputs);
    const failed = created.then(
        () => undefined,
        (err: Error) => err,
    );
    const pod = await firstJobPod(inputs.namespace, "node-0-bootstrap");
    await setPodState(inputs.namespace, pod, { running: true });
    await new Promise((r) => setTimeout(r, 300));
    const endedAt = Date.now();
    await setPodState(inputs.namespace, pod, { exitCode, message });
    return { created, failed, endedAt };
}

describe("api: Bootstrap provider", function () {
    this.timeout(180_000);
    let ns = "";

    before(requireCluster);
    beforeEach(async () => {
        ns = await createNamespace("boot");
        await createPvc(ns, "data-node-0");
    });
    afterEach(async () => {
        await deleteNamespace(ns);
    });

    it("succeeds when the Job completes (exit 0), records the height on the PVC and removes the Job", async () => {
        const inputs = await inputsFor(ns);
        const { created } = await runWithExit(inputs, 0);
        const res = await created;
        const outs = res.outs as BootstrapOutputs;
        assert.equal(outs.how, "job");
        assert.equal(outs.exitCode, 0);
        assert.equal(outs.bootstrappedHeight, 99);
        assert.equal(res.id, `${ns}/data-node-0@99`);
        assert.equal(await pvcAnnotation(ns), "99");
        assert.equal(await jobExists(ns), false, "the Job is deleted (Foreground: its pods first)");
        const pods = await clients().core.listNamespacedPod({ namespace: ns });
        assert.equal(pods.items.length, 0, "no bootstrap pod keeps the volume");
        assert.ok(!JSON.stringify(outs).includes("undefined"));
    });

    it("counts exit 130 as success although the Job controller marks the Job Failed", async () => {
        const inputs = await inputsFor(ns);
        const { created } = await runWithExit(inputs, 130);
        const outs = (await created).outs as BootstrapOutputs;
        assert.equal(outs.exitCode, 130);
        assert.equal(await pvcAnnotation(ns), "99");
        assert.equal(await jobExists(ns), false);
    });

    it("fails fast on a failed Job, with the exit code and what the container said", async () => {
        const inputs = await inputsFor(ns);
        const { failed, endedAt } = await runWithExit(inputs, 1, "panic: store version mismatch");
        const err = await failed;
        const reactedMs = Date.now() - endedAt;
        assert.ok(err, "create() must reject");
        assert.match(
            err.message,
            /Bootstrap Job .*node-0-bootstrap failed: .*pod node-0-bootstrap-\w+ exited 1/,
        );
        assert.match(err.message, /panic: store version mismatch/);
        assert.match(err.message, /logs of node-0-bootstrap-\w+ unavailable|log lines of/);
        assert.match(err.message, /The PVC and the incumbents are untouched/);
        assert.ok(reactedMs < 10_000, `failed ${reactedMs} ms after the pod ended; expected fast`);
        assert.equal(await pvcAnnotation(ns), undefined, "a failed bootstrap records nothing");
    });

    it("returns at once when the PVC already records the halt height, creating no Job", async () => {
        await clients().core.patchNamespacedPersistentVolumeClaim(
            {
                namespace: ns,
                name: "data-node-0",
                body: { metadata: { annotations: { "chainfleet.io/bootstrapped-height": "99" } } },
            },
            (await import("../../kube/kube")).mergePatchOptions(),
        );
        const t0 = Date.now();
        const outs = (await bootstrapProvider.create(await inputsFor(ns))).outs as BootstrapOutputs;
        assert.equal(outs.how, "alreadyDone");
        assert.equal(outs.exitCode, -1);
        assert.ok(Date.now() - t0 < 5000);
        assert.equal(await jobExists(ns), false);
    });

    it("through the scheduler and kwok: a pod on the provisioned volume halting with 130", async () => {
        // No harness here: the scheduler binds the pod to a kwok node once the PVC is Bound, and
        // kwok runs it for a second, then exits it with the code its annotation names.
        const template = {
            metadata: {
                annotations: {
                    "chainfleet.io/kwok-exit-code": "130",
                    "chainfleet.io/kwok-run-for": "1s",
                },
            },
            spec: podSpec({ pvc: "data-node-0" }),
        };
        const inputs = await inputsFor(ns, {
            job: { metadata: { name: "node-0-bootstrap" }, spec: { backoffLimit: 0, template } },
        });
        const outs = (await bootstrapProvider.create(inputs)).outs as BootstrapOutputs;
        assert.equal(outs.exitCode, 130);
        assert.equal(await pvcAnnotation(ns), "99");
        assert.equal(await jobExists(ns), false);
    });

    it("resumes the same Job after a deadline instead of starting over", async () => {
        const short = await inputsFor(ns, { deadlineSeconds: 2 });
        await assert.rejects(bootstrapProvider.create(short), (err: Error) => {
            assert.match(
                err.message,
                /did not finish within deadlineSeconds=2: Job node-0-bootstrap is (pending|running)/,
            );
            assert.match(err.message, /The Job keeps running; run `pulumi up` again to resume/);
            return true;
        });
        const job = await clients().batch.readNamespacedJob({
            namespace: ns,
            name: "node-0-bootstrap",
        });
        const uid = job.metadata?.uid;

        const again = bootstrapProvider.create(await inputsFor(ns));
        const pod = await firstJobPod(ns, "node-0-bootstrap");
        const podObj = await clients().core.readNamespacedPod({ namespace: ns, name: pod });
        assert.equal(
            podObj.metadata?.ownerReferences?.[0]?.uid,
            uid,
            "the first run's Job is resumed",
        );
        await setPodState(ns, pod, { exitCode: 130 });
        const outs = (await again).outs as BootstrapOutputs;
        assert.equal(outs.exitCode, 130);
        assert.equal(await pvcAnnotation(ns), "99");
    });

    it("replaces a Job made for another halt height", async () => {
        const first = await inputsFor(ns, { haltHeight: 50, deadlineSeconds: 1 });
        await assert.rejects(bootstrapProvider.create(first), /did not finish/);
        const old = await clients().batch.readNamespacedJob({
            namespace: ns,
            name: "node-0-bootstrap",
        });
        const inputs = await inputsFor(ns);
        const created = bootstrapProvider.create(inputs);
        await waitFor("the replacement Job", async () => {
            try {
                const j = await clients().batch.readNamespacedJob({
                    namespace: ns,
                    name: "node-0-bootstrap",
                });
                return j.metadata?.uid !== old.metadata?.uid;
            } catch (err) {
                if (isNotFound(err)) {
                    return false;
                }
                throw err;
            }
        });
        const job = await clients().batch.readNamespacedJob({
            namespace: ns,
            name: "node-0-bootstrap",
        });
        assert.equal(job.metadata?.annotations?.["chainfleet.io/halt-height"], "99");
        const pods = await clients().core.listNamespacedPod({
            namespace: ns,
            labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata?.uid}`,
        });
        const pod = pods.items[0]?.metadata?.name ?? (await firstJobPod(ns, "node-0-bootstrap"));
        await setPodState(ns, pod, { exitCode: 0 });
        assert.equal(((await created).outs as BootstrapOutputs).bootstrappedHeight, 99);
    });

    it("delete() removes a leftover Job and leaves the PVC alone", async () => {
        const inputs = await inputsFor(ns, { deadlineSeconds: 1 });
        await assert.rejects(bootstrapProvider.create(inputs), /did not finish/);
        assert.equal(await jobExists(ns), true);
        await bootstrapProvider.delete!("id", inputs as BootstrapOutputs);
        await waitFor("the Job to go", async () => !(await jobExists(ns)));
        await clients().core.readNamespacedPersistentVolumeClaim({
            namespace: ns,
            name: "data-node-0",
        });
    });
});
