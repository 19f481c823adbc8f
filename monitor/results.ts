/**
 * Test results and the ConfigMap that keeps the last N of them. Pure: parsing, appending,
 * trimming; the I/O that reads and writes the ConfigMap is in kubeOps.ts.
 */
import type { ChainKind } from "../chains/types";
import { MAX_KEEP } from "../lib/bootstrapTest";
import { RESULTS_KEY } from "./constants";
import type { SyncMode } from "./details";

export interface TestResult {
    /** The digest-pinned image that bootstrapped. */
    image: string;
    digest: string;
    followImage: string;
    /** Version labels of the image. */
    versions: Record<string, string>;
    /** The version the node reported when it completed, where it reports one. */
    nodeVersion?: string;
    chain: ChainKind;
    syncMode: SyncMode;
    startTime: string;
    completedAt: string;
    durationSeconds: number;
    diskUsageBytes: number;
    /** The node's height at completion. */
    height: number;
}

export { MAX_KEEP };

/**
 * Reads the results list from a ConfigMap's data. A missing key is an empty list; a corrupt one
 * is reported (so the caller can warn) and treated as empty rather than blocking new results.
 */
export function parseResults(data: Record<string, string> | undefined): {
    results: TestResult[];
    problem?: string;
} {
    const text = data?.[RESULTS_KEY];
    if (text === undefined || text.trim() === "") {
        return { results: [] };
    }
    try {
        const json = JSON.parse(text);
        if (!Array.isArray(json)) {
            return { results: [], problem: `${RESULTS_KEY} is not a JSON list` };
        }
        return { results: json as TestResult[] };
    } catch (err) {
        return { results: [], problem: `${RESULTS_KEY} is not JSON: ${(err as Error).message}` };
    }
}

/** A result is the same test when digest and start time match (the test's identity). */
export function sameTest(a: Pick<TestResult, "digest" | "startTime">, b: typeof a): boolean {
    return a.digest === b.digest && a.startTime === b.startTime;
}

/**
 * Puts `result` first and keeps at most `keepLast`. A result already recorded (the sidecar
 * restarted after completion and saw the node complete again) is not added twice.
 */
export function recordResult(
    existing: readonly TestResult[],
    result: TestResult,
    keepLast: number,
): { results: TestResult[]; added: boolean } {
    if (!Number.isInteger(keepLast) || keepLast < 1 || keepLast > MAX_KEEP) {
        throw new Error(
            `--keep-last must be a whole number from 1 to ${MAX_KEEP}, got ${keepLast}`,
        );
    }
    const added = !existing.some((r) => sameTest(r, result));
    const results = added ? [result, ...existing] : [...existing];
    return { results: results.slice(0, keepLast), added };
}

/** The ConfigMap data for `results`: the list, plus the newest on its own for quick reading. */
export function resultsData(results: readonly TestResult[]): Record<string, string> {
    return {
        [RESULTS_KEY]: `${JSON.stringify(results, null, 2)}\n`,
        ...(results.length > 0
            ? { "latest.json": `${JSON.stringify(results[0], null, 2)}\n` }
            : {}),
    };
}
