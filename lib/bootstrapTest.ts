/**
 * The bootstrap test's vocabulary: what the stack config validates (config/bootstrapTest.ts) and
 * the monitor program (monitor/) runs with. Zod-free and import-free, so neither side has to load
 * the other to agree on it.
 */

/** How a test's node syncs from scratch. */
export const SYNC_MODES = ["state-sync", "full-sync"] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/** The monitor's option defaults; the config's test keys default to the same values. */
export const MONITOR_DEFAULTS = {
    nodeContainer: "node",
    checkIntervalSeconds: 60,
    pollTagIntervalSeconds: 300,
    keepLast: 10,
    /** How long a monitor that deleted its own pod waits to be killed before exiting itself. */
    terminationWaitSeconds: 300,
} as const;

/** Most results a ConfigMap keeps; 1 MiB holds far more, but a person reads this list. */
export const MAX_KEEP = 100;
