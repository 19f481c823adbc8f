/**
 * Test results and the ConfigMap that keeps the last N of them, plus the test in progress. Pure:
 * parsing, appending, trimming; the I/O that reads and writes the ConfigMap is in kubeOps.ts. The
 * shapes are in lib/bootstrapTest.ts, shared with `npm run bootstrap-tests`, which reads them.
 */
import {
    CURRENT_KEY,
    LATEST_KEY,
    MAX_KEEP,
    RESULTS_KEY,
    type RunningTest,
    type TestResult,
    parseCurrent,
    parseResults,
    sameTest,
} from "../lib/bootstrapTest";

export { MAX_KEEP, parseCurrent, parseResults, sameTest };
export type { RunningTest, TestResult };

/**
 * Puts `result` first and keeps at most `keepLast`. A result already recorded with the same
 * outcome (the sidecar restarted after the end and saw it again) is not added twice; one recorded
 * with another outcome is replaced where it stands (a test that failed, then completed after its
 * pod was replaced, completed).
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
    const at = existing.findIndex((r) => sameTest(r, result));
    let results: TestResult[];
    let added = true;
    if (at < 0) {
        results = [result, ...existing];
    } else if (existing[at].outcome === result.outcome) {
        results = [...existing];
        added = false;
    } else {
        results = existing.map((r, i) => (i === at ? result : r));
    }
    return { results: results.slice(0, keepLast), added };
}

/** The ConfigMap data for `results`: the list, plus the newest on its own for quick reading. */
export function resultsData(results: readonly TestResult[]): Record<string, string> {
    return {
        [RESULTS_KEY]: `${JSON.stringify(results, null, 2)}\n`,
        ...(results.length > 0 ? { [LATEST_KEY]: `${JSON.stringify(results[0], null, 2)}\n` } : {}),
    };
}

/**
 * The ConfigMap's data after recording `result`, or undefined when nothing changes. The test is no
 * longer in progress, so its `current.json` goes; another test's stays.
 */
export function dataWithResult(
    data: Record<string, string> | undefined,
    result: TestResult,
    keepLast: number,
): { data?: Record<string, string>; added: boolean; problem?: string } {
    const parsed = parseResults(data);
    const { results, added } = recordResult(parsed.results, result, keepLast);
    if (!added) {
        return { added, problem: parsed.problem };
    }
    const next: Record<string, string> = { ...data, ...resultsData(results) };
    const { current } = parseCurrent(data);
    if (current === undefined || sameTest(current, result)) {
        delete next[CURRENT_KEY];
    }
    return { data: next, added, problem: parsed.problem };
}

/** The ConfigMap's data with `current` as the test in progress. */
export function dataWithCurrent(
    data: Record<string, string> | undefined,
    current: RunningTest,
): Record<string, string> {
    return { ...data, [CURRENT_KEY]: `${JSON.stringify(current, null, 2)}\n` };
}
