/**
 * The working half of the Rollout: watch the StatefulSet until its controller has seen the new
 * template, watch its pods, delete what rolloutPlan.ts says to delete (with a UID precondition, so a
 * stale view can never delete a replacement), print progress, and stop at the deadline.
 */
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { LABEL } from "../lib/labels";
import { KubeClients, isConflict, isNotFound, kubeClients, withRetry } from "../kube/kube";
import {
    RolloutPod,
    RolloutStep,
    describePod,
    labelSelectorString,
    nextStep,
    rolloutPod,
} from "./rolloutPlan";
import { Waker, WatchedList } from "../kube/watch";
import { watchByName, watchPods } from "../kube/watches";
import { Deadline, Progress, errorMessage } from "./common";
import type { RolloutInputs, RolloutResult as Result } from "./rollout";

/** Longest sleep between looks when no watch event comes: progress lines stay alive. */
const IDLE_MS = 30_000;

/**
 * Why this StatefulSet cannot be rolled by this Rollout, or undefined. Both cases need a person:
 * waiting would not change them.
 */
function unfit(sts: V1StatefulSet, inputs: RolloutInputs): string | undefined {
    const where = `StatefulSet ${inputs.namespace}/${inputs.statefulSetName}`;
    const strategy = sts.spec?.updateStrategy?.type ?? "RollingUpdate";
    if (strategy !== "OnDelete") {
        return (
            `${where} uses updateStrategy ${strategy}; the Rollout needs OnDelete, or the ` +
            `controller and the Rollout would both replace pods and together exceed ` +
            `maxUnavailable. Set spec.updateStrategy.type: OnDelete (lib/manifests.ts does).`
        );
    }
    const label = sts.spec?.template.metadata?.labels?.[LABEL.revision];
    if (label !== inputs.revision) {
        return (
            `${where}'s template is revision ${label ?? "(no " + LABEL.revision + " label)"}, ` +
            `not ${inputs.revision}: something changed it after this \`pulumi up\` declared it. ` +
            `Run \`pulumi up\` again; it declares and rolls to the revision the config gives.`
        );
    }
    return undefined;
}

/**
 * `status.updateRevision` once the controller has processed the latest spec (before that it may
 * name the previous template), else undefined.
 */
function observedRevision(sts: V1StatefulSet): string | undefined {
    const seen = (sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 1);
    return seen ? sts.status?.updateRevision || undefined : undefined;
}

/** The set's pods: matched by its selector and owned by it (not merely labelled alike). */
function ownedPods(pods: WatchedList<V1Pod>, sts: V1StatefulSet): V1Pod[] {
    const uid = sts.metadata?.uid;
    return pods
        .values()
        .filter((p) => (p.metadata?.ownerReferences ?? []).some((o) => o.uid === uid));
}

/**
 * Deletes `pod` unless it is already gone (404) or its name now belongs to a newer pod (409 on
 * the UID precondition): either way the pod the decision was about no longer exists.
 */
async function deletePod(clients: KubeClients, namespace: string, pod: RolloutPod) {
    try {
        await withRetry(`delete pod ${namespace}/${pod.name}`, () =>
            clients.core.deleteNamespacedPod({
                name: pod.name,
                namespace,
                body: { preconditions: { uid: pod.uid } },
            }),
        );
    } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) {
            throw new Error(
                `Rollout: deleting pod ${namespace}/${pod.name} failed: ${errorMessage(err)}. ` +
                    `The Rollout's credentials need "delete" on pods in ${namespace}.`,
            );
        }
    }
}

export async function runRollout(inputs: RolloutInputs): Promise<Result> {
    const deadline = new Deadline(inputs.deadlineSeconds);
    const where = `${inputs.namespace}/${inputs.statefulSetName}`;
    const progress = new Progress(`[Rollout ${where} -> ${inputs.revision}]`);
    const clients = kubeClients(inputs);
    const waker = new Waker();
    const sets = watchByName(
        clients,
        "StatefulSet",
        inputs.namespace,
        inputs.statefulSetName,
        waker,
    );
    let pods: WatchedList<V1Pod> | undefined;

    /** The StatefulSet as last seen; fails when it is gone, cannot be rolled, or the watch broke. */
    const current = (): V1StatefulSet => {
        const fatal = sets.fatal ?? pods?.fatal;
        if (fatal) {
            throw fatal;
        }
        const sts = sets.values()[0];
        if (!sts) {
            throw new Error(
                `Rollout: StatefulSet ${where} does not exist. Declare it before the Rollout ` +
                    `(dependsOn), or fix namespace/statefulSetName.`,
            );
        }
        const problem = unfit(sts, inputs);
        if (problem) {
            throw new Error(`Rollout: ${problem}`);
        }
        return sts;
    };
    const pause = () => waker.wait(Math.min(IDLE_MS, deadline.remainingMs()));

    try {
        await sets.start();
        // The selector is immutable, so the pods can be watched before the controller catches up.
        pods = watchPods(
            clients,
            inputs.namespace,
            labelSelectorString(current().spec?.selector),
            waker,
        );
        await pods.start();
        const replaced: string[] = [];
        // Deleted by us but perhaps not yet seen terminating: never counted as serving again.
        const deletedUids: string[] = [];
        let mostUnavailable = 0;
        let announced = false;
        for (;;) {
            const sts = current();
            // Until the controller has seen the template Pulumi just applied, updateRevision may
            // still be the previous one, and every pod would look current.
            const updateRevision = observedRevision(sts);
            if (!updateRevision) {
                if (deadline.expired()) {
                    throw new Error(
                        `Rollout: the StatefulSet controller did not process ${where} (generation ` +
                            `${sts.metadata?.generation}, observed ${sts.status?.observedGeneration ?? "never"}) ` +
                            `within deadlineSeconds=${inputs.deadlineSeconds}. Is kube-controller-manager running?`,
                    );
                }
                progress.report("waiting for the StatefulSet controller to observe the template");
                await pause();
                continue;
            }
            const view = ownedPods(pods, sts)
                .map(rolloutPod)
                .map((p) => (deletedUids.includes(p.uid) ? { ...p, terminating: true } : p));
            const step = nextStep({
                pods: view,
                replicas: sts.spec?.replicas ?? 1,
                updateRevision,
                maxUnavailable: inputs.maxUnavailable,
                waitFor: inputs.waitFor,
                replaced,
            });
            mostUnavailable = Math.max(mostUnavailable, step.unavailable);
            if (!announced) {
                announced = true;
                progress.say(
                    step.done
                        ? `nothing outdated: ${step.reason}`
                        : `rolling ${step.outdated.length} pod(s) to ${updateRevision}, ` +
                              `maxUnavailable ${inputs.maxUnavailable}, each replacement ` +
                              `${inputs.waitFor} before the next; deadline ${inputs.deadlineSeconds}s`,
                );
            }
            if (step.done) {
                if (replaced.length > 0) {
                    progress.say(
                        `done after ${deadline.elapsed()}: replaced ${replaced.join(", ")}`,
                    );
                }
                return {
                    updateRevision,
                    replaced,
                    changed: replaced.length > 0,
                    finishedAt: new Date().toISOString(),
                    waitedSeconds: Math.round((Date.now() - deadline.startedAt) / 1000),
                    mostUnavailable,
                };
            }
            if (step.delete.length > 0) {
                progress.say(step.reason);
                for (const pod of step.delete) {
                    await deletePod(clients, inputs.namespace, pod);
                    deletedUids.push(pod.uid);
                    replaced.push(pod.name);
                }
                continue; // re-decide at once: the deleted pods now count as unavailable
            }
            if (deadline.expired()) {
                throw new Error(deadlineMessage(inputs, step, view, updateRevision, replaced));
            }
            progress.report(step.reason);
            await pause();
        }
    } finally {
        await Promise.all([sets.stop(), pods?.stop()]);
    }
}

function deadlineMessage(
    inputs: RolloutInputs,
    step: RolloutStep,
    pods: RolloutPod[],
    updateRevision: string,
    replaced: string[],
): string {
    const sorted = [...pods].sort((a, b) => (a.name < b.name ? -1 : 1));
    return [
        `Rollout of StatefulSet ${inputs.namespace}/${inputs.statefulSetName} to revision ` +
            `${inputs.revision} (${updateRevision}) did not finish within ` +
            `deadlineSeconds=${inputs.deadlineSeconds}: ${step.reason}.`,
        ...sorted.map((p) => `  ${describePod(p, updateRevision)}`),
        `Replaced by this run: ${replaced.join(", ") || "none"}; replaced pods stay on the new ` +
            `revision. Run \`pulumi up\` again to continue (pods already on ${updateRevision} are ` +
            `skipped), after fixing what keeps the pods above from being ${inputs.waitFor}, or ` +
            `raise the deadline (update.timeouts.gateSeconds) if they only need longer.`,
    ].join("\n");
}
