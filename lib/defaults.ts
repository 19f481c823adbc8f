/**
 * Defaults that the stack config and the dynamic providers share, named once so that a provider
 * declared without a value behaves as the config's default says (the README quotes these too).
 * Zod-free and import-free: providers carry it into their own process.
 */
export const DEFAULTS = {
    /** Blocks an entrant may trail the reference height by and still count as caught up. */
    caughtUpTolerance: 5,
    /** How long a HardFork bootstrap Job may take to reach the halt height. */
    bootstrapSeconds: 6 * 60 * 60,
    /** How long a gate (and a Rollout) may wait. */
    gateSeconds: 60 * 60,
    /** How long the traffic switch may wait for ready entrants behind the Service. */
    switchSeconds: 10 * 60,
    maxUnavailable: 1,
} as const;
