/**
 * When a bootstrap test has completed, decided from successive observations of the node. Pure.
 *
 * - CometBFT and Sei: the node says it is not catching up *and* its height moved since the
 *   previous observation. `catching_up: false` alone is not enough: a node with no peers reports
 *   it at its genesis height, and one stuck after state sync reports it at a height that never
 *   moves.
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

/**
 * @param previous the status from the previous successful observation, if any.
 */
export function assessCompletion(
    chain: ChainKind,
    previous: NodeStatus | undefined,
    current: Observation,
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
    return {
        complete: true,
        reason: `caught up and advancing (${previous.height} → ${height})`,
    };
}
