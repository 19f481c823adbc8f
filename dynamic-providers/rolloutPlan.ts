/**
 * The decisions of a Rolling update that chainfleet carries out itself instead of the StatefulSet
 * controller (dynamic-providers/rollout.ts): which pods to delete next, and when it is done. Pure
 * functions of the observed pods, table-tested in test/unit/providers-rolloutPlan.test.ts.
 *
 * Modelled on cosmos-operator's pod_control (research/style.md §4): delete-and-recreate, throttled
 * by `ComputeRollout(maxUnavailable, desired, ready)`, with pods that serve nothing deleted first
 * and all at once. That last rule is what the controller's RollingUpdate lacks: it waits on a pod
 * that is not Ready, and a node halted at an upgrade height is never Ready again on the old
 * binary (kubernetes#67250, Sei #211; research/operators.md §6 item 2).
 */
import type { V1Pod } from "@kubernetes/client-node";

/** What a replaced pod must reach before the next one goes. */
export type WaitFor = "running" | "ready";
export const WAIT_FOR: readonly WaitFor[] = ["running", "ready"];

/** The label the StatefulSet controller stamps on each pod: the revision it was created from. */
export const CONTROLLER_REVISION_LABEL = "controller-revision-hash";

/** What the rollout looks at in a pod (`rolloutPod` extracts it). */
export interface RolloutPod {
    name: string;
    uid: string;
    /** Its `controller-revision-hash` label; "" when missing (then it counts as outdated). */
    revision: string;
    phase: string;
    ready: boolean;
    /** Phase Running and every container running: not crash-looping, not exited. */
    running: boolean;
    terminating: boolean;
    /** Why a container is not running (CrashLoopBackOff, ErrImagePull, ...), if one says. */
    waitingReason?: string;
}

export interface RolloutState {
    pods: readonly RolloutPod[];
    /** The StatefulSet's `spec.replicas`. */
    replicas: number;
    /** `status.updateRevision`: the revision of the newest template. */
    updateRevision: string;
    maxUnavailable: number;
    waitFor: WaitFor;
    /** Pods this run deleted: it is done only once each is back, current and at `waitFor`. */
    replaced: readonly string[];
}

export interface RolloutStep {
    done: boolean;
    /** Pods to delete now: outdated pods that are not Ready, then Ready ones within budget. */
    delete: RolloutPod[];
    /** Names of the pods still on an older revision (terminating ones included). */
    outdated: string[];
    /** Of `replicas`, how many are not settled (see `settled`). */
    unavailable: number;
    /** One line for progress output and for the deadline message. */
    reason: string;
}

export function podReady(pod: V1Pod): boolean {
    return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export function rolloutPod(pod: V1Pod): RolloutPod {
    const statuses = pod.status?.containerStatuses ?? [];
    const phase = pod.status?.phase ?? "Pending";
    return {
        name: pod.metadata?.name ?? "?",
        uid: pod.metadata?.uid ?? "",
        revision: pod.metadata?.labels?.[CONTROLLER_REVISION_LABEL] ?? "",
        phase,
        ready: podReady(pod),
        running:
            phase === "Running" && statuses.length > 0 && statuses.every((s) => s.state?.running),
        terminating: Boolean(pod.metadata?.deletionTimestamp),
        waitingReason: statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason,
    };
}

export const isOutdated = (pod: RolloutPod, updateRevision: string): boolean =>
    pod.revision !== updateRevision;

/** A Ready pod is running too, whatever its container statuses say. */
export const reached = (pod: RolloutPod, waitFor: WaitFor): boolean =>
    waitFor === "ready" ? pod.ready : pod.running || pod.ready;

/**
 * A pod that needs nothing from the rollout right now: an outdated pod that serves (Ready, waiting
 * its turn), or a current pod at `waitFor`. With `waitFor: running` a current node that is still
 * syncing counts as settled: its readiness means "in sync", which can take hours, and the point of
 * `running` is not to wait for that. Everything else (terminating, missing, Pending, crashing)
 * is what `maxUnavailable` bounds.
 */
export function settled(pod: RolloutPod, s: Pick<RolloutState, "updateRevision" | "waitFor">) {
    if (pod.terminating) {
        return false;
    }
    return isOutdated(pod, s.updateRevision) ? pod.ready : reached(pod, s.waitFor);
}

/** The StatefulSet ordinal in a pod's name, or -1. */
export function ordinalOf(name: string): number {
    const m = /-(\d+)$/.exec(name);
    return m ? Number(m[1]) : -1;
}

export function describePod(pod: RolloutPod, updateRevision: string): string {
    const bits = [
        `revision ${pod.revision || "(none)"} (${isOutdated(pod, updateRevision) ? "outdated" : "current"})`,
        pod.terminating ? "Terminating" : pod.phase,
        ...(pod.waitingReason ? [pod.waitingReason] : []),
        pod.ready ? "Ready" : "not Ready",
    ];
    return `${pod.name}: ${bits.join(", ")}`;
}

/**
 * The next step of the rollout. Outdated pods that are not Ready go at once, whatever the budget:
 * they serve nothing, so deleting them costs no availability, and waiting on them is the stall this
 * rollout exists to avoid. Ready outdated pods go highest ordinal first (as the controller does),
 * as many as `maxUnavailable` minus the pods already unavailable allows.
 */
export function nextStep(s: RolloutState): RolloutStep {
    const live = s.pods.filter((p) => !p.terminating);
    const outdated = s.pods.filter((p) => isOutdated(p, s.updateRevision));
    const settledCount = s.pods.filter((p) => settled(p, s)).length;
    const unavailable = Math.max(0, s.replicas - settledCount);
    const budget = Math.max(0, s.maxUnavailable - unavailable);

    const liveOutdated = live.filter((p) => isOutdated(p, s.updateRevision));
    const unready = liveOutdated.filter((p) => !p.ready);
    const ready = liveOutdated
        .filter((p) => p.ready)
        .sort((a, b) => ordinalOf(b.name) - ordinalOf(a.name) || (a.name < b.name ? -1 : 1));
    const batch = [...unready, ...ready.slice(0, budget)];
    const outdatedNames = outdated.map((p) => p.name).sort();

    if (outdated.length === 0) {
        const pending = s.replaced.filter((name) => {
            const pod = live.find((p) => p.name === name);
            return !pod || isOutdated(pod, s.updateRevision) || !reached(pod, s.waitFor);
        });
        if (pending.length === 0) {
            return {
                done: true,
                delete: [],
                outdated: [],
                unavailable,
                reason: `all pods on revision ${s.updateRevision}`,
            };
        }
        return {
            done: false,
            delete: [],
            outdated: [],
            unavailable,
            reason: `no outdated pods left; waiting for ${pending.join(", ")} to be ${s.waitFor}`,
        };
    }
    if (batch.length > 0) {
        const what = [
            ...unready.map((p) => `${p.name} (not Ready)`),
            ...ready.slice(0, budget).map((p) => p.name),
        ];
        return {
            done: false,
            delete: batch,
            outdated: outdatedNames,
            unavailable,
            reason: `deleting ${what.join(", ")}; ${unavailable}/${s.maxUnavailable} unavailable before`,
        };
    }
    const busy = s.pods.filter((p) => !settled(p, s)).map((p) => p.name);
    const missing = s.replicas - s.pods.length;
    return {
        done: false,
        delete: [],
        outdated: outdatedNames,
        unavailable,
        reason:
            `${outdated.length} outdated (${outdatedNames.join(", ")}); ` +
            `${unavailable}/${s.maxUnavailable} unavailable, waiting for ` +
            `${[...busy, ...(missing > 0 ? [`${missing} missing pod(s)`] : [])].join(", ") || "the next batch"} ` +
            `to be ${s.waitFor}`,
    };
}

interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** A `metav1.LabelSelector` as the `labelSelector` query string of a list or watch. */
export function labelSelectorString(selector: LabelSelector | undefined): string {
    const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const e of selector?.matchExpressions ?? []) {
        const values = `(${(e.values ?? []).join(",")})`;
        switch (e.operator) {
            case "In":
                parts.push(`${e.key} in ${values}`);
                break;
            case "NotIn":
                parts.push(`${e.key} notin ${values}`);
                break;
            case "Exists":
                parts.push(e.key);
                break;
            case "DoesNotExist":
                parts.push(`!${e.key}`);
                break;
            default:
                throw new Error(`unknown label selector operator "${e.operator}" on ${e.key}`);
        }
    }
    return parts.join(",");
}
