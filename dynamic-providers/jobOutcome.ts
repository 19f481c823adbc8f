/**
 * Pure classification of a bootstrap Job: still going, succeeded, or failed (and why).
 *
 * Why read the pods and not only the Job's conditions: a node halted on purpose may exit
 * non-zero (Sei's seid exits 130 after SIGINT-ing itself at the halt height). The Job controller
 * counts that pod as failed, and a podFailurePolicy cannot help: `Ignore` would start another
 * pod, which halts at once again, forever. So a terminated container whose exit code is in
 * `haltExitCodes` is a success, whatever the Job's conditions say.
 */
import type { V1Job, V1Pod } from "@kubernetes/client-node";

export type JobOutcome =
    | { state: "pending"; reason: string }
    | { state: "running"; reason: string }
    | { state: "succeeded"; reason: string; exitCode: number; pod?: string }
    | { state: "failed"; reason: string; exitCode?: number; pod?: string };

/** The exit of a pod's node container, if it has terminated. */
export interface PodExit {
    pod: string;
    exitCode: number;
    reason?: string;
    message?: string;
    /** RFC 3339 time the container finished; orders several failed attempts. */
    finishedAt?: string;
}

function conditionTrue(job: V1Job | undefined, type: string) {
    return job?.status?.conditions?.find((c) => c.type === type && c.status === "True");
}

/**
 * The terminated state of `container` (default: the first container) in `pod`. `lastState` is
 * read too: with restartPolicy OnFailure the kubelet restarts in place and only lastState keeps
 * the exit (check() rejects that policy, but a hand-made Job may still use it).
 */
export function podExit(pod: V1Pod, container?: string): PodExit | undefined {
    const name = pod.metadata?.name ?? "?";
    const statuses = pod.status?.containerStatuses ?? [];
    const status = container ? statuses.find((s) => s.name === container) : statuses[0];
    const term = status?.state?.terminated ?? status?.lastState?.terminated;
    if (!term) {
        return undefined;
    }
    const finished = term.finishedAt as unknown;
    return {
        pod: name,
        exitCode: term.exitCode,
        reason: term.reason,
        message: term.message,
        finishedAt: finished instanceof Date ? finished.toISOString() : (finished as string),
    };
}

/**
 * Decides what the Job's state means for the bootstrap. A halt exit code on any pod wins over
 * the Job's own Failed condition; otherwise Complete succeeds and Failed (or FailureTarget, set
 * before the pods are torn down) fails with the most recent non-halt exit.
 */
export function classifyJob(
    job: V1Job | undefined,
    pods: readonly V1Pod[],
    haltExitCodes: readonly number[],
    container?: string,
): JobOutcome {
    const exits = pods
        .map((p) => podExit(p, container))
        .filter((e): e is PodExit => e !== undefined)
        .sort((a, b) => (a.finishedAt ?? "").localeCompare(b.finishedAt ?? ""));
    const halted = exits.find((e) => e.exitCode === 0 || haltExitCodes.includes(e.exitCode));
    if (halted) {
        return {
            state: "succeeded",
            exitCode: halted.exitCode,
            pod: halted.pod,
            reason: `pod ${halted.pod} exited ${halted.exitCode}${halted.exitCode === 0 ? "" : " (a halt exit code)"}`,
        };
    }
    if (conditionTrue(job, "Complete") || conditionTrue(job, "SuccessCriteriaMet")) {
        return { state: "succeeded", exitCode: 0, reason: "Job is Complete" };
    }
    const failed = conditionTrue(job, "Failed") ?? conditionTrue(job, "FailureTarget");
    if (failed) {
        const last = exits[exits.length - 1];
        const why = [failed.reason, failed.message].filter(Boolean).join(": ") || "Job Failed";
        if (last) {
            const detail = [last.reason, last.message?.trim()].filter(Boolean).join(": ");
            return {
                state: "failed",
                exitCode: last.exitCode,
                pod: last.pod,
                reason: `${why}; pod ${last.pod} exited ${last.exitCode}${detail ? ` (${detail})` : ""}`,
            };
        }
        return { state: "failed", reason: why };
    }
    if (!job) {
        return { state: "pending", reason: "Job not created yet" };
    }
    const running = pods.filter(
        (p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp,
    );
    if (running.length > 0) {
        return {
            state: "running",
            reason: `pod ${running.map((p) => p.metadata?.name).join(", ")} Running`,
        };
    }
    const waiting = pods
        .map((p) => {
            const w = p.status?.containerStatuses?.find((s) => s.state?.waiting)?.state?.waiting;
            return `${p.metadata?.name} ${p.status?.phase ?? "Pending"}${w?.reason ? ` (${w.reason})` : ""}`;
        })
        .join(", ");
    return { state: "pending", reason: waiting ? `pod ${waiting}` : "no pod yet" };
}
