/**
 * The bootstrap test's vocabulary: what the stack config validates (config/bootstrapTest.ts) and
 * the monitor program (monitor/) runs with, and the results it records, which
 * `npm run bootstrap-tests` (scripts/bootstrap-tests.ts) reads back. Zod-free and free of value
 * imports, so no side has to load another to agree on it.
 */
import type { ChainKind } from "../chains/kinds";

/** How a test's node syncs from scratch. */
export const SYNC_MODES = ["state-sync", "full-sync"] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

/** The monitor's option defaults; the config's test keys default to the same values. */
export const MONITOR_DEFAULTS = {
    nodeContainer: "node",
    checkIntervalSeconds: 60,
    pollTagIntervalSeconds: 300,
    keepLast: 10,
    /** Node container restarts after which a test counts as failed. */
    maxNodeRestarts: 5,
    /**
     * How old the node's newest block may be for a test to complete (CometBFT-family chains): a
     * bootstrap ends at the live tip, not at the last block of a halted network.
     */
    maxBlockAgeSeconds: 120,
    /** How long a monitor that deleted its own pod waits to be killed before exiting itself. */
    terminationWaitSeconds: 300,
} as const;

/** Most results a ConfigMap keeps; 1 MiB holds far more, but a person reads this list. */
export const MAX_KEEP = 100;

/** Keys of the results ConfigMap (`<test>-results`), which the monitor's sidecar writes. */
export const RESULTS_KEY = "results.json";
/** The newest result on its own, for `kubectl get -o jsonpath`. */
export const LATEST_KEY = "latest.json";
/** The test in progress, while there is one. */
export const CURRENT_KEY = "current.json";

/** How a test ended: bootstrapped, or the node kept failing (monitor/completion.ts). */
export const OUTCOMES = ["completed", "failed"] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What identifies a test, and what the table shows of its image. */
export interface TestIdentity {
    /** The digest-pinned image under test (`name@sha256:…`). */
    image: string;
    digest: string;
    /** The tag the digest was resolved from. */
    followImage: string;
    /** Version labels of the image. */
    versions: Record<string, string>;
    chain: ChainKind;
    syncMode: SyncMode;
    /** When the test started (ISO 8601): with the digest, the test's identity. */
    startTime: string;
}

/** A finished test, an element of the results ConfigMap's `results.json` (newest first). */
export interface TestResult extends TestIdentity {
    /** Results recorded before failures were recorded have none: they all completed. */
    outcome: Outcome;
    /** Why it ended so: the completion verdict, or what failed. */
    reason?: string;
    /** The version the node reported when it completed, where it reports one. */
    nodeVersion?: string;
    /** When the test ended (completed or failed; the name predates failures). */
    completedAt: string;
    durationSeconds: number;
    diskUsageBytes: number;
    /** Paths the disk-usage walk could not read; when > 0, diskUsageBytes is a lower bound. */
    diskUsageUnreadable?: number;
    /** The node's height at the end, when it answered. */
    height?: number;
}

/** The test in progress (`current.json`), updated by the sidecar every few minutes. */
export interface RunningTest extends TestIdentity {
    /** When the sidecar last wrote this. */
    updatedAt: string;
    /** The sidecar's latest verdict, e.g. "still catching up (height 1234)". */
    status: string;
    height?: number;
    diskUsageBytes?: number;
    diskUsageUnreadable?: number;
    /** Restarts of the node container in the current pod. */
    nodeRestarts: number;
}

/** A result is the same test when digest and start time match (the test's identity). */
export function sameTest(a: Pick<TestIdentity, "digest" | "startTime">, b: typeof a): boolean {
    return a.digest === b.digest && a.startTime === b.startTime;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Reads the results list from a ConfigMap's data. A missing key is an empty list; a corrupt one
 * is reported (so the caller can warn) and treated as empty rather than blocking new results.
 * Entries that are not objects are dropped, and an entry without an outcome completed.
 */
export function parseResults(data: Record<string, string> | undefined): {
    results: TestResult[];
    problem?: string;
} {
    const text = data?.[RESULTS_KEY];
    if (text === undefined || text.trim() === "") {
        return { results: [] };
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (err) {
        return { results: [], problem: `${RESULTS_KEY} is not JSON: ${(err as Error).message}` };
    }
    if (!Array.isArray(json)) {
        return { results: [], problem: `${RESULTS_KEY} is not a JSON list` };
    }
    const results = json
        .filter(isObject)
        .map((r) => ({ ...r, outcome: r.outcome ?? "completed" }) as TestResult);
    return results.length === json.length
        ? { results }
        : {
              results,
              problem: `${RESULTS_KEY} has ${json.length - results.length} entries that are not objects`,
          };
}

/** The test in progress, if the ConfigMap says there is one. */
export function parseCurrent(data: Record<string, string> | undefined): {
    current?: RunningTest;
    problem?: string;
} {
    const text = data?.[CURRENT_KEY];
    if (text === undefined || text.trim() === "") {
        return {};
    }
    try {
        const json: unknown = JSON.parse(text);
        return isObject(json)
            ? { current: json as unknown as RunningTest }
            : { problem: `${CURRENT_KEY} is not a JSON object` };
    } catch (err) {
        return { problem: `${CURRENT_KEY} is not JSON: ${(err as Error).message}` };
    }
}
