/**
 * When a bootstrap test has completed, decided from successive observations of the node. Pure.
 *
 * - CometBFT and Sei: the node says it is not catching up, its height moved since the previous
 *   observation, *and* its newest block is recent (`maxBlockAgeSeconds`). `catching_up: false`
 *   alone is not enough: a node with no peers reports it at its genesis height, and one stuck
 *   after state sync reports it at a height that never moves. Nor is a moving height: on a halted
 *   network, blocksync hands over to consensus one block short of the peers' height
 *   (cometbft v0.38 blocksync/pool.go IsCaughtUp), and consensus then fetches that last block, so
 *   the height moves once (measured in the e2e tier: a test "completed" 9 s after its only
 *   validator was stopped). The block's age tells a live tip from a halted one.
 * - Avalanche: healthy (`/ext/health`) and bootstrapped, as avalanche's own monitor decides.
 */
import type { ChainKind, NodeStatus } from "../chains/types";

export interface Observation {
    /** The parsed status, when the node answered. */
    status?: NodeStatus;
    /** Avalanche only: `/ext/health` said healthy. */
    healthy?: boolean;
    /** Why the node could not be observed (unreachable, bad JSON, …). */
    error?: string;
}

export interface Verdict {
    complete: boolean;
    reason: string;
}

/** What the tip-age rule needs: the observation's time and the oldest acceptable newest block. */
export interface TipAge {
    now: Date;
    maxBlockAgeSeconds: number;
}

/**
 * @param previous the status from the previous successful observation, if any.
 */
export function assessCompletion(
    chain: ChainKind,
    previous: NodeStatus | undefined,
    current: Observation,
    tip?: TipAge,
): Verdict {
    if (current.error !== undefined || current.status === undefined) {
        return { complete: false, reason: `node not answering: ${current.error ?? "no status"}` };
    }
    const { height, catchingUp } = current.status;
    if (chain === "avalanche") {
        if (catchingUp) {
            return { complete: false, reason: `still bootstrapping (height ${height})` };
        }
        return current.healthy === true
            ? { complete: true, reason: `bootstrapped and healthy at height ${height}` }
            : { complete: false, reason: `bootstrapped but not yet healthy (height ${height})` };
    }
    if (catchingUp) {
        return { complete: false, reason: `still catching up (height ${height})` };
    }
    if (previous === undefined) {
        return {
            complete: false,
            reason: `not catching up at height ${height}; waiting for the height to advance`,
        };
    }
    if (height <= previous.height) {
        return {
            complete: false,
            reason: `not catching up but the height is not advancing (${previous.height} → ${height})`,
        };
    }
    const blockTime = current.status.latestBlockTime;
    if (tip !== undefined && blockTime !== undefined) {
        const ageSeconds = (tip.now.getTime() - Date.parse(blockTime)) / 1000;
        if (!(ageSeconds <= tip.maxBlockAgeSeconds)) {
            return {
                complete: false,
                reason: `at height ${height}, but its newest block is from ${blockTime} (${Math.round(ageSeconds)}s ago, more than ${tip.maxBlockAgeSeconds}s): the network is not producing blocks, or the node is behind`,
            };
        }
    }
    return {
        complete: true,
        reason: `caught up and advancing (${previous.height} → ${height})`,
    };
}

/** What the pod says about the node container's restarts. */
export interface NodeRestarts {
    /** `restartCount` of the node container in this pod. */
    count: number;
    /** How its last run ended, when it has ended at least once. */
    lastExit?: { exitCode?: number; reason?: string };
}

/**
 * Why the test has failed, or undefined while it may still complete: the node container has
 * restarted `max` times in this pod. A node that cannot start (no genesis, a bad flag, an image
 * that crashes on this chain's data) never bootstraps, and without a failure the monitor would
 * wait on it forever, never testing the next digest. Each pod starts counting from zero, so
 * deleting the pod gives the test a new chance (it resumes on the same data).
 */
export function assessFailure(restarts: NodeRestarts, max: number): string | undefined {
    if (restarts.count < max) {
        return undefined;
    }
    const exit = restarts.lastExit;
    const how =
        exit === undefined
            ? ""
            : ` (last exit${exit.exitCode !== undefined ? ` code ${exit.exitCode}` : ""}${exit.reason ? `: ${exit.reason}` : ""})`;
    return `the node container restarted ${restarts.count} times${how}, the most --max-node-restarts allows (${max})`;
}
