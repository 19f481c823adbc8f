/**
 * Pure decisions behind the height gate: is every entrant pod running, caught up, or at a height?
 *
 * The dynamic provider gathers observations (pods from a watch, heights from node RPC) and asks
 * these functions for a verdict, so every rule here is table-tested without a cluster. A verdict
 * always carries a reason a person can act on, whether it passes or not.
 */
import type { V1Pod } from "@kubernetes/client-node";

/** One successful status call to a node. */
export interface HeightSample {
    /** When the answer arrived, ms since epoch. */
    at: number;
    height: number;
    catchingUp: boolean;
    /** Connected peers, when asked for (the caughtUp mode asks). */
    peers?: number;
}

/** What the gate knows about one node: its recent samples and its latest failure, if any. */
export interface NodeObservation {
    name: string;
    /** Recent successful samples, oldest first, trimmed to a window by `recordSample`. */
    history: HeightSample[];
    /** Why the latest attempt failed; cleared by the next success. */
    error?: string;
}

export interface Verdict {
    pass: boolean;
    reason: string;
}

/** How much history `recordSample` keeps for rates and the "advancing" rule. */
export const DEFAULT_WINDOW_MS = 30_000;

export function latest(node: NodeObservation): HeightSample | undefined {
    return node.history[node.history.length - 1];
}

/** Adds a sample and drops those older than the window, keeping at least two for a rate. */
export function recordSample(
    node: NodeObservation,
    sample: HeightSample,
    windowMs = DEFAULT_WINDOW_MS,
): void {
    node.history.push(sample);
    node.error = undefined;
    while (node.history.length > 2 && sample.at - node.history[0].at > windowMs) {
        node.history.shift();
    }
}

/** Blocks per second over the history, or undefined with fewer than two samples. */
export function rateOf(history: readonly HeightSample[]): number | undefined {
    if (history.length < 2) {
        return undefined;
    }
    const first = history[0];
    const last = history[history.length - 1];
    const seconds = (last.at - first.at) / 1000;
    return seconds > 0 ? (last.height - first.height) / seconds : undefined;
}

/**
 * True when the height rose within the window. A node can report `catching_up: false` while
 * frozen at a height (Sei's readiness notes, cosmos-operator #192), so "not catching up" alone
 * never passes the gate.
 */
export function isAdvancing(history: readonly HeightSample[]): boolean {
    return history.length >= 2 && history[history.length - 1].height > history[0].height;
}

/** Seconds to close `gap` blocks at `rate` blocks/s; undefined when the gap is not closing. */
export function etaSeconds(gap: number, rate: number | undefined): number | undefined {
    if (gap <= 0) {
        return 0;
    }
    if (rate === undefined || rate <= 0) {
        return undefined;
    }
    return gap / rate;
}

export function formatDuration(seconds: number | undefined): string {
    if (seconds === undefined || !Number.isFinite(seconds)) {
        return "unknown";
    }
    const s = Math.round(seconds);
    if (s < 60) {
        return `${s}s`;
    }
    if (s < 3600) {
        return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
    }
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function formatRate(rate: number | undefined): string {
    return rate === undefined ? "? b/s" : `${rate.toFixed(rate < 10 ? 2 : 1)} b/s`;
}

/**
 * The height entrants are compared with: the highest height any reachable incumbent or
 * reference RPC reports. The maximum, because a lagging incumbent must not lower the bar.
 */
export function referenceHeight(sources: readonly NodeObservation[]): number | undefined {
    let best: number | undefined;
    for (const node of sources) {
        const h = latest(node)?.height;
        if (h !== undefined && (best === undefined || h > best)) {
            best = h;
        }
    }
    return best;
}

/** Rate of the reference: that of the source holding the highest height. */
export function referenceRate(sources: readonly NodeObservation[]): number | undefined {
    const top = referenceHeight(sources);
    const holder = sources.find((n) => latest(n)?.height === top);
    return holder ? rateOf(holder.history) : undefined;
}

/** The observable state of one pod, extracted from the Pod object by `podView`. */
export interface PodView {
    name: string;
    phase: string;
    ready: boolean;
    terminating: boolean;
    /** Why a container is not running (CrashLoopBackOff, ErrImagePull, ...), if one says. */
    waitingReason?: string;
    restarts: number;
    /**
     * An init container that failed and holds the pod before its node starts: its exit code,
     * restarts and message (e.g. the agent's `prepare`: a genesis checksum mismatch, exit 3).
     */
    initFailure?: string;
}

function describePod(p: PodView): string {
    const bits = [p.terminating ? "Terminating" : p.phase];
    if (p.waitingReason) {
        bits.push(p.waitingReason);
    }
    if (p.restarts > 0) {
        bits.push(`${p.restarts} restarts`);
    }
    if (p.initFailure) {
        bits.push(p.initFailure);
    }
    return `${p.name}: ${bits.join(", ")}`;
}

/** The longest init container message a report quotes (the kubelet keeps 2 KiB of the log). */
const INIT_MESSAGE_MAX = 600;

/**
 * The first init container that has not succeeded and last exited non-zero: `init container
 * <name> exited <code> (<n> restarts): <last line of its message>`. The message is there when the
 * container's terminationMessagePolicy is FallbackToLogsOnError (the agent's prepare has it).
 */
export function initFailure(pod: V1Pod): string | undefined {
    for (const s of pod.status?.initContainerStatuses ?? []) {
        if (s.state?.terminated?.exitCode === 0) {
            continue;
        }
        const exit = s.state?.terminated ?? s.lastState?.terminated;
        if (exit === undefined || exit.exitCode === 0) {
            return undefined;
        }
        const restarts = s.restartCount > 0 ? ` (${s.restartCount} restarts)` : "";
        const line = (exit.message ?? "").trim().split("\n").pop() ?? "";
        const message =
            line.length > INIT_MESSAGE_MAX ? `${line.slice(0, INIT_MESSAGE_MAX)}...` : line;
        return `init container ${s.name} exited ${exit.exitCode}${restarts}${message ? `: ${message}` : ""}`;
    }
    return undefined;
}

/**
 * The agent's exit code for invalid input (node-agent/README.md "Exit codes": a genesis checksum
 * or chain-id mismatch, an unknown override, a bad key): no restart can fix it.
 */
export const AGENT_INVALID_INPUT = 3;
/** The init container that runs the agent's prepare (lib/nodeHome.ts). */
export const AGENT_PREPARE_CONTAINER = "prepare";

/**
 * An entrant whose prepare step refused its input: initFailure's text, else undefined. A gate
 * fails at once on it rather than at its deadline (an hour by default), since the kubelet would
 * only restart it into the same refusal.
 */
export function refusedInput(pod: V1Pod): string | undefined {
    const prepare = pod.status?.initContainerStatuses?.find(
        (s) => s.name === AGENT_PREPARE_CONTAINER,
    );
    const exit = prepare?.state?.terminated ?? prepare?.lastState?.terminated;
    return exit?.exitCode === AGENT_INVALID_INPUT ? initFailure(pod) : undefined;
}

/** What `running` mode (and the switch) look at in a Pod. */
export function podView(pod: V1Pod): PodView {
    const statuses = pod.status?.containerStatuses ?? [];
    const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
    const failure = initFailure(pod);
    return {
        name: pod.metadata?.name ?? "?",
        phase: pod.status?.phase ?? "Pending",
        ready:
            pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        terminating: Boolean(pod.metadata?.deletionTimestamp),
        waitingReason: waiting,
        restarts: statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0),
        ...(failure ? { initFailure: failure } : {}),
    };
}

/** Mode `running`: exactly the expected number of pods exist and every one is Ready. */
export function evaluateRunning(pods: readonly PodView[], expected: number): Verdict {
    const live = pods.filter((p) => !p.terminating);
    const notReady = live.filter((p) => !p.ready);
    if (live.length < expected) {
        const seen = live.length === 0 ? "none yet" : live.map(describePod).join("; ");
        return { pass: false, reason: `${live.length}/${expected} pods exist (${seen})` };
    }
    if (notReady.length > 0) {
        return {
            pass: false,
            reason: `${live.length - notReady.length}/${live.length} pods Ready; waiting for ${notReady.map(describePod).join("; ")}`,
        };
    }
    return { pass: true, reason: `all ${live.length} pods Ready` };
}

export interface CaughtUpRules {
    /** Pods the gate expects; fewer observed nodes never pass. */
    expected: number;
    /** Blocks an entrant may trail the reference by. */
    tolerance: number;
    /** Peers each entrant must have. 0 skips the check. */
    minPeers: number;
    /** Require the height to rise within the window (off for a chain halted on purpose). */
    requireAdvancing: boolean;
}

/** Why one entrant is not caught up, or undefined when it is. */
export function entrantShortfall(
    node: NodeObservation,
    reference: number | undefined,
    rules: CaughtUpRules,
): string | undefined {
    const last = latest(node);
    if (!last) {
        return `${node.name}: unreachable${node.error ? ` (${node.error})` : ""}`;
    }
    if (node.error) {
        return `${node.name}: unreachable since h=${last.height} (${node.error})`;
    }
    if (last.catchingUp) {
        return `${node.name}: catching up at h=${last.height}`;
    }
    if (last.height <= 1) {
        // Sei's rule: a node at height <=1 has not synced anything yet, whatever it claims.
        return `${node.name}: at h=${last.height}, nothing synced yet`;
    }
    if (rules.requireAdvancing && !isAdvancing(node.history)) {
        return `${node.name}: height ${last.height} not advancing`;
    }
    if (reference !== undefined && reference - last.height > rules.tolerance) {
        return `${node.name}: h=${last.height} is ${reference - last.height} behind ${reference} (tolerance ${rules.tolerance})`;
    }
    if (rules.minPeers > 0 && (last.peers ?? 0) < rules.minPeers) {
        return `${node.name}: ${last.peers ?? "unknown"} peers, needs ${rules.minPeers}`;
    }
    return undefined;
}

/**
 * Mode `caughtUp`: every entrant is reachable, not catching up, advancing, within `tolerance` of
 * the reference height and has enough peers. With no reference configured (`hasReference`
 * false), the height comparison is skipped; with one configured but unreachable, the gate waits:
 * passing blind would defeat the gate.
 */
export function evaluateCaughtUp(
    entrants: readonly NodeObservation[],
    reference: number | undefined,
    rules: CaughtUpRules,
    hasReference = true,
): Verdict {
    if (entrants.length < rules.expected) {
        return { pass: false, reason: `${entrants.length}/${rules.expected} entrant pods exist` };
    }
    if (hasReference && reference === undefined) {
        return {
            pass: false,
            reason: "no reference height: no incumbent or reference RPC answers",
        };
    }
    const short = entrants
        .map((n) => entrantShortfall(n, reference, rules))
        .filter((s): s is string => s !== undefined);
    if (short.length > 0) {
        return { pass: false, reason: short.join("; ") };
    }
    const heights = entrants.map((n) => `${n.name}=${latest(n)?.height}`).join(", ");
    const against = reference === undefined ? "no reference" : `reference ${reference}`;
    return {
        pass: true,
        reason: `all ${entrants.length} entrants caught up (${heights}; ${against})`,
    };
}

/** Mode `atHeight`: every entrant has reached `target`. */
export function evaluateAtHeight(
    entrants: readonly NodeObservation[],
    target: number,
    expected: number,
): Verdict {
    if (entrants.length < expected) {
        return { pass: false, reason: `${entrants.length}/${expected} entrant pods exist` };
    }
    const short: string[] = [];
    for (const node of entrants) {
        const h = latest(node)?.height;
        if (h === undefined) {
            short.push(`${node.name}: unreachable${node.error ? ` (${node.error})` : ""}`);
        } else if (h < target) {
            short.push(`${node.name}: h=${h}, ${target - h} to go`);
        }
    }
    if (short.length > 0) {
        return { pass: false, reason: short.join("; ") };
    }
    return { pass: true, reason: `all ${entrants.length} entrants at or past ${target}` };
}

/** One line per node: height, rate, and ETA to `goal` (the reference or target height). */
export function progressLine(
    node: NodeObservation,
    goal: number | undefined,
    goalRate = 0,
): string {
    const last = latest(node);
    if (!last) {
        return `${node.name} unreachable${node.error ? ` (${node.error})` : ""}`;
    }
    const rate = rateOf(node.history);
    const parts = [`${node.name} h=${last.height}`, formatRate(rate)];
    if (last.catchingUp) {
        parts.push("catching up");
    }
    if (last.peers !== undefined) {
        parts.push(`${last.peers} peers`);
    }
    if (goal !== undefined) {
        const gap = goal - last.height;
        const closing = rate === undefined ? undefined : rate - goalRate;
        parts.push(
            gap > 0 ? `${gap} behind, ETA ${formatDuration(etaSeconds(gap, closing))}` : "at goal",
        );
    }
    if (node.error) {
        parts.push(`last call failed: ${node.error}`);
    }
    return parts.join(", ");
}
