/**
 * How many Ready pods a Rollout may take down at once. The program plans it (lib/planGroup.ts);
 * the Rollout provider only receives the number.
 */

/**
 * The rollout's budget from the group's disruption budget: its `maxUnavailable` when that is a
 * whole number of at least 1, else 1. A percentage or `minAvailable` would need the replica count
 * and rounding rules of their own; one at a time is the safe reading. `0` also means 1: a budget
 * of 0 (typical for a single validator, to keep node drains off it) blocks evictions, but an
 * in-place update has to take the node down once, and the rollout deletes pods, it does not evict.
 */
export function rolloutMaxUnavailable(pdb?: { maxUnavailable?: number | string }): number {
    const n = pdb?.maxUnavailable;
    return typeof n === "number" && Number.isInteger(n) && n >= 1 ? n : 1;
}
