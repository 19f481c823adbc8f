/**
 * The working half of the Bootstrap provider: Job lifecycle, watching, and the PVC record.
 */
import { createHash } from "node:crypto";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { classifyJob, JobOutcome } from "./jobOutcome";
import { canonicalJson } from "../lib/json";
import {
    KubeClients,
    isNotFound,
    kubeClients,
    mergePatchOptions,
    statusCode,
    withRetry,
} from "../kube/kube";
import { Waker } from "../kube/watch";
import { watchByName, watchPods } from "../kube/watches";
import type { BootstrapInputs, BootstrapResult } from "./bootstrap";
import { Deadline, Progress, errorMessage, readRequired } from "./common";
import {
    BOOTSTRAPPED_HEIGHT_ANNOTATION,
    BOOTSTRAP_FIELD_MANAGER,
    JOB_HALT_HEIGHT_ANNOTATION,
    JOB_SPEC_HASH_ANNOTATION,
} from "./constants";

type Result = BootstrapResult;
type Obj = Record<string, unknown>;

/** The Job's name, from the manifest input. */
export const jobName = (inputs: Pick<BootstrapInputs, "job">): string =>
    String((inputs.job?.metadata as Obj | undefined)?.name ?? "");

/** What identifies "the same bootstrap attempt": the manifest and the halt height. */
export function jobSpecHash(inputs: Pick<BootstrapInputs, "job" | "haltHeight">): string {
    return createHash("sha256")
        .update(canonicalJson({ job: inputs.job, haltHeight: inputs.haltHeight }))
        .digest("hex")
        .slice(0, 16);
}

/** The Job as created: the input manifest with our namespace, labels and annotations. */
export function desiredJob(inputs: BootstrapInputs): V1Job {
    const job = JSON.parse(JSON.stringify(inputs.job)) as V1Job;
    const meta = (job.metadata ??= {});
    meta.namespace = inputs.namespace;
    meta.labels = { ...meta.labels, "app.kubernetes.io/managed-by": "chainfleet" };
    meta.annotations = {
        ...meta.annotations,
        [JOB_HALT_HEIGHT_ANNOTATION]: String(inputs.haltHeight),
        [JOB_SPEC_HASH_ANNOTATION]: jobSpecHash(inputs),
    };
    job.apiVersion ??= "batch/v1";
    job.kind ??= "Job";
    return job;
}

async function getJob(
    clients: KubeClients,
    namespace: string,
    name: string,
): Promise<V1Job | undefined> {
    try {
        return await withRetry(`read Job ${namespace}/${name}`, () =>
            clients.batch.readNamespacedJob({ name, namespace }),
        );
    } catch (err) {
        if (isNotFound(err)) {
            return undefined;
        }
        throw err;
    }
}

/** The Job's pods, by label, keeping only those the Job (this uid) owns. */
function ownedPods(pods: readonly V1Pod[], job: V1Job | undefined): V1Pod[] {
    const uid = job?.metadata?.uid;
    return pods.filter((p) => !uid || p.metadata?.ownerReferences?.some((o) => o.uid === uid));
}

async function listJobPods(clients: KubeClients, namespace: string, name: string) {
    return withRetry(`list pods of Job ${namespace}/${name}`, () =>
        clients.core.listNamespacedPod({
            namespace,
            labelSelector: `batch.kubernetes.io/job-name=${name}`,
        }),
    );
}

/** Deletes the Job (Foreground: its pods go first) and waits until it is gone or time is up. */
async function deleteJobAndWait(
    clients: KubeClients,
    namespace: string,
    name: string,
    waitMs: number,
    progress: Progress,
): Promise<boolean> {
    try {
        await withRetry(`delete Job ${namespace}/${name}`, () =>
            clients.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Foreground" }),
        );
    } catch (err) {
        if (isNotFound(err)) {
            return true;
        }
        throw err;
    }
    const waker = new Waker();
    const jobs = watchByName(clients, "Job", namespace, name, waker);
    const until = Date.now() + waitMs;
    await jobs.start();
    try {
        while (jobs.items.size > 0 && Date.now() < until) {
            progress.report(`waiting for Job ${name} and its pods to be deleted`);
            await waker.wait(Math.min(5000, until - Date.now()));
        }
        return jobs.items.size === 0;
    } finally {
        await jobs.stop();
    }
}

/** The last log lines of a pod's node container, or why there are none. */
async function tailLogs(
    clients: KubeClients,
    inputs: BootstrapInputs,
    pod: string | undefined,
): Promise<string> {
    if (!pod || inputs.logTailLines === 0) {
        return "";
    }
    try {
        const text = await clients.core.readNamespacedPodLog({
            name: pod,
            namespace: inputs.namespace,
            container: inputs.container,
            tailLines: inputs.logTailLines,
        });
        const body = String(text ?? "").trimEnd();
        return body
            ? `\nLast ${inputs.logTailLines} log lines of ${pod}:\n${body}`
            : `\n(pod ${pod} logged nothing)`;
    } catch (err) {
        return `\n(logs of ${pod} unavailable: ${errorMessage(err)})`;
    }
}

async function annotatePvc(clients: KubeClients, inputs: BootstrapInputs): Promise<void> {
    await withRetry(`annotate PVC ${inputs.namespace}/${inputs.pvcName}`, () =>
        clients.core.patchNamespacedPersistentVolumeClaim(
            {
                name: inputs.pvcName,
                namespace: inputs.namespace,
                body: {
                    metadata: {
                        annotations: {
                            [BOOTSTRAPPED_HEIGHT_ANNOTATION]: String(inputs.haltHeight),
                        },
                    },
                },
                fieldManager: BOOTSTRAP_FIELD_MANAGER,
            },
            mergePatchOptions(),
        ),
    );
}

/** Creates the Job, or adopts/replaces an existing one. Returns the Job to watch. */
async function ensureJob(
    clients: KubeClients,
    inputs: BootstrapInputs,
    progress: Progress,
    deadline: Deadline,
) {
    const { namespace } = inputs;
    const name = jobName(inputs);
    const desired = desiredJob(inputs);
    const hash = desired.metadata?.annotations?.[JOB_SPEC_HASH_ANNOTATION];
    const existing = await getJob(clients, namespace, name);
    if (existing) {
        const sameSpec = existing.metadata?.annotations?.[JOB_SPEC_HASH_ANNOTATION] === hash;
        const pods = ownedPods((await listJobPods(clients, namespace, name)).items, existing);
        const outcome = classifyJob(existing, pods, inputs.haltExitCodes, inputs.container);
        if (sameSpec && outcome.state !== "failed") {
            progress.say(`resuming Job ${name} from an earlier run (${outcome.reason})`);
            return existing;
        }
        progress.say(
            sameSpec
                ? `Job ${name} from an earlier run failed (${outcome.reason}); starting a fresh one`
                : `Job ${name} was made for a different spec or halt height; replacing it`,
        );
        const gone = await deleteJobAndWait(
            clients,
            namespace,
            name,
            deadline.remainingMs(),
            progress,
        );
        if (!gone) {
            throw new Error(
                `Job ${namespace}/${name} from an earlier run is still being deleted after ${deadline.elapsed()}; run \`pulumi up\` again once it is gone`,
            );
        }
    }
    try {
        const created = await withRetry(`create Job ${namespace}/${name}`, () =>
            clients.batch.createNamespacedJob({ namespace, body: desired }),
        );
        progress.say(
            `created Job ${name} (halt height ${inputs.haltHeight}, PVC ${inputs.pvcName})`,
        );
        return created;
    } catch (err) {
        if (statusCode(err) === 409) {
            // Created by a concurrent run between our read and create: adopt it.
            return (await getJob(clients, namespace, name)) ?? desired;
        }
        throw err;
    }
}

/** Watches the Job and its pods until the outcome is known or the deadline passes. */
async function waitForJob(
    clients: KubeClients,
    inputs: BootstrapInputs,
    progress: Progress,
    deadline: Deadline,
): Promise<JobOutcome> {
    const { namespace } = inputs;
    const name = jobName(inputs);
    const waker = new Waker();
    const jobs = watchByName(clients, "Job", namespace, name, waker);
    const pods = watchPods(clients, namespace, `batch.kubernetes.io/job-name=${name}`, waker, {
        what: `pods of Job ${namespace}/${name}`,
        list: () => listJobPods(clients, namespace, name),
    });
    await Promise.all([jobs.start(), pods.start()]);
    try {
        for (;;) {
            const fatal = jobs.fatal ?? pods.fatal;
            if (fatal) {
                throw fatal;
            }
            const current = jobs.values()[0];
            if (!current) {
                throw new Error(
                    `Job ${namespace}/${name} was deleted while the bootstrap waited for it; run \`pulumi up\` again to start a new one`,
                );
            }
            let outcome = classifyJob(
                current,
                ownedPods(pods.values(), current),
                inputs.haltExitCodes,
                inputs.container,
            );
            if (outcome.state === "failed") {
                // The pod watch may trail the Job watch: read the pods afresh before failing, so a
                // halt exit code that just arrived still counts as the success it is.
                const fresh = ownedPods(
                    (await listJobPods(clients, namespace, name)).items,
                    current,
                );
                outcome = classifyJob(current, fresh, inputs.haltExitCodes, inputs.container);
            }
            if (outcome.state === "succeeded" || outcome.state === "failed") {
                return outcome;
            }
            if (deadline.expired()) {
                throw new Error(
                    `Bootstrap of PVC ${namespace}/${inputs.pvcName} to height ${inputs.haltHeight} did not finish within ` +
                        `deadlineSeconds=${inputs.deadlineSeconds}: Job ${name} is ${outcome.state} (${outcome.reason}). ` +
                        `The Job keeps running; run \`pulumi up\` again to resume waiting for it, or raise deadlineSeconds.`,
                );
            }
            progress.report(
                `Job ${name} ${outcome.state} for ${deadline.elapsed()}: ${outcome.reason}`,
            );
            await waker.wait(Math.min(30_000, deadline.remainingMs()));
        }
    } finally {
        await Promise.all([jobs.stop(), pods.stop()]);
    }
}

export async function runBootstrap(inputs: BootstrapInputs): Promise<Result> {
    const deadline = new Deadline(inputs.deadlineSeconds);
    const name = jobName(inputs);
    const progress = new Progress(
        `[Bootstrap ${inputs.namespace}/${inputs.pvcName}@${inputs.haltHeight}]`,
    );
    const clients = kubeClients(inputs);

    const pvc = await readRequired(
        `PVC ${inputs.namespace}/${inputs.pvcName}`,
        () =>
            clients.core.readNamespacedPersistentVolumeClaim({
                name: inputs.pvcName,
                namespace: inputs.namespace,
            }),
        `Bootstrap: PVC ${inputs.namespace}/${inputs.pvcName} does not exist. Declare the entrant's volume ` +
            `before the bootstrap (dependsOn), or fix pvcName.`,
    );
    if (pvc.metadata?.annotations?.[BOOTSTRAPPED_HEIGHT_ANNOTATION] === String(inputs.haltHeight)) {
        progress.say(`PVC already bootstrapped to ${inputs.haltHeight}; nothing to run`);
        const leftover = await getJob(clients, inputs.namespace, name);
        if (
            leftover?.metadata?.annotations?.[JOB_HALT_HEIGHT_ANNOTATION] ===
            String(inputs.haltHeight)
        ) {
            await deleteJobAndWait(
                clients,
                inputs.namespace,
                name,
                Math.max(30_000, deadline.remainingMs()),
                progress,
            );
        }
        return {
            bootstrappedHeight: inputs.haltHeight,
            how: "alreadyDone",
            exitCode: -1,
            completedAt: new Date().toISOString(),
        };
    }

    progress.say(`bootstrapping with Job ${name}; waiting up to ${inputs.deadlineSeconds}s`);
    await ensureJob(clients, inputs, progress, deadline);
    const outcome = await waitForJob(clients, inputs, progress, deadline);
    if (outcome.state === "failed") {
        const logs = await tailLogs(clients, inputs, outcome.pod);
        throw new Error(
            `Bootstrap Job ${inputs.namespace}/${name} failed: ${outcome.reason}.${logs}\n` +
                `The PVC and the incumbents are untouched. Fix the cause (image, flags, halt height vs. the ` +
                `volume's height), then run \`pulumi up\` again: a failed Job is replaced by a fresh one.`,
        );
    }
    const exitCode = outcome.state === "succeeded" ? outcome.exitCode : 0;
    progress.say(
        `node halted: ${outcome.reason}; recording height ${inputs.haltHeight} on the PVC`,
    );
    await annotatePvc(clients, inputs);
    // Wait for the Job's pods to be gone, so the entrant StatefulSet can mount the volume.
    const gone = await deleteJobAndWait(
        clients,
        inputs.namespace,
        name,
        Math.max(60_000, deadline.remainingMs()),
        progress,
    );
    if (!gone) {
        throw new Error(
            `Bootstrap of ${inputs.pvcName} succeeded and is recorded on the PVC, but Job ${name} is still being deleted. ` +
                `Run \`pulumi up\` again: it will see the record and only finish the clean-up.`,
        );
    }
    progress.say(`done after ${deadline.elapsed()}; Job ${name} removed`);
    return {
        bootstrappedHeight: inputs.haltHeight,
        how: "job",
        exitCode,
        completedAt: new Date().toISOString(),
    };
}

/** delete()/update(): removes our Job if it is still there. The PVC is never touched. */
export async function deleteBootstrapJob(props: BootstrapInputs): Promise<void> {
    const name = jobName(props);
    if (!name) {
        return;
    }
    const clients = kubeClients(props);
    const job = await getJob(clients, props.namespace, name);
    if (
        !job ||
        job.metadata?.annotations?.[JOB_HALT_HEIGHT_ANNOTATION] !== String(props.haltHeight)
    ) {
        return; // gone already, or not the Job this resource made
    }
    try {
        await withRetry(`delete Job ${props.namespace}/${name}`, () =>
            clients.batch.deleteNamespacedJob({
                name,
                namespace: props.namespace,
                propagationPolicy: "Foreground",
            }),
        );
    } catch (err) {
        if (!isNotFound(err)) {
            throw err;
        }
    }
}
