/**
 * The bootstrap tests' results as an operator reads them (`npm run bootstrap-tests`): one row a
 * test run, from what each test's results ConfigMap holds (lib/bootstrapTest.ts). Pure: the
 * command reads the ConfigMaps and passes their data and the time in.
 */
import type { ChainKind } from "../chains/kinds";
import { type Outcome, type SyncMode, parseCurrent, parseResults, sameTest } from "./bootstrapTest";
import { formatBytes, formatDuration } from "./units";

/** What the command read for one test of the stack. */
export interface TestReadout {
    name: string;
    chain: ChainKind;
    /** `<namespace>/<name>-results`. */
    configMap: string;
    /** The ConfigMap's data; undefined when there is no ConfigMap (no test has run yet). */
    data?: Record<string, string>;
}

export interface BootstrapTestRow {
    test: string;
    /** The followed tag the image came from (or the image's name without its digest). */
    image: string;
    digest: string;
    syncMode: SyncMode;
    startTime: string;
    /** Until the end, or until now for a running test. */
    durationSeconds: number;
    diskUsageBytes?: number;
    /** Part of the volume could not be read: the disk use is at least this. */
    diskUsageLowerBound: boolean;
    outcome: Outcome | "running";
    /** What the outcome rests on: the completion verdict, the failure, the latest check. */
    detail?: string;
    height?: number;
    /** When it ended; for a running test, when the monitor last checked it. */
    at?: string;
    /** A running test's node container restarts in its current pod. */
    nodeRestarts?: number;
}

export interface BootstrapTestReport {
    name: string;
    chain: ChainKind;
    configMap: string;
    /** False when the ConfigMap does not exist. */
    found: boolean;
    /** The test in progress first, if any, then the results, newest first. */
    rows: BootstrapTestRow[];
    /** Parts of the ConfigMap that could not be read. */
    problems: string[];
}

export interface BootstrapTestsReport {
    stack: string;
    namespace: string;
    tests: BootstrapTestReport[];
}

const seconds = (from: string, to: number): number =>
    Math.max(0, Math.round((to - Date.parse(from)) / 1000));

/** `ghcr.io/org/node@sha256:…` → `ghcr.io/org/node`. */
const withoutDigest = (image: string): string => image.replace(/@sha256:[0-9a-f]+$/, "");

export function describeBootstrapTests(input: {
    stack: string;
    namespace: string;
    tests: readonly TestReadout[];
    now: Date;
}): BootstrapTestsReport {
    const now = input.now.getTime();
    const tests = input.tests.map((t): BootstrapTestReport => {
        const { results, problem: resultsProblem } = parseResults(t.data);
        const { current, problem: currentProblem } = parseCurrent(t.data);
        const rows: BootstrapTestRow[] = [];
        // A current.json left beside its own result (a sidecar that died in between) is stale.
        if (current && !results.some((r) => sameTest(r, current))) {
            rows.push({
                test: t.name,
                image: current.followImage || withoutDigest(current.image),
                digest: current.digest,
                syncMode: current.syncMode,
                startTime: current.startTime,
                durationSeconds: seconds(current.startTime, now),
                ...(current.diskUsageBytes !== undefined
                    ? { diskUsageBytes: current.diskUsageBytes }
                    : {}),
                diskUsageLowerBound: (current.diskUsageUnreadable ?? 0) > 0,
                outcome: "running",
                detail: current.status,
                ...(current.height !== undefined ? { height: current.height } : {}),
                at: current.updatedAt,
                nodeRestarts: current.nodeRestarts ?? 0,
            });
        }
        for (const r of results) {
            rows.push({
                test: t.name,
                image: r.followImage || withoutDigest(r.image),
                digest: r.digest,
                syncMode: r.syncMode,
                startTime: r.startTime,
                durationSeconds: r.durationSeconds,
                diskUsageBytes: r.diskUsageBytes,
                diskUsageLowerBound: (r.diskUsageUnreadable ?? 0) > 0,
                outcome: r.outcome,
                ...(r.reason !== undefined ? { detail: r.reason } : {}),
                ...(r.height !== undefined ? { height: r.height } : {}),
                at: r.completedAt,
            });
        }
        return {
            name: t.name,
            chain: t.chain,
            configMap: t.configMap,
            found: t.data !== undefined,
            rows,
            problems: [resultsProblem, currentProblem].filter((p): p is string => !!p),
        };
    });
    return { stack: input.stack, namespace: input.namespace, tests };
}

const HEADER = ["TEST", "IMAGE", "DIGEST", "SYNC", "STARTED (UTC)", "DURATION", "DISK", "OUTCOME"];

/** `sha256:0123456789abcdef…` → `0123456789ab`, as `docker images` shortens IDs. */
export function shortDigest(digest: string): string {
    return digest.replace(/^sha256:/, "").slice(0, 12);
}

/** `2026-03-01T12:34:56.789Z` → `2026-03-01 12:34`; anything else as it is. */
function minute(iso: string): string {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(0, 16).replace("T", " ");
}

function outcomeText(row: BootstrapTestRow, now: number): string {
    switch (row.outcome) {
        case "completed":
            return row.height !== undefined ? `completed at height ${row.height}` : "completed";
        case "failed":
            return row.detail ? `failed: ${row.detail}` : "failed";
        case "running": {
            const parts = [row.detail ?? "running"];
            if ((row.nodeRestarts ?? 0) > 0) {
                parts.push(`node restarted ${row.nodeRestarts}×`);
            }
            if (row.at !== undefined) {
                parts.push(`checked ${formatDuration(seconds(row.at, now))} ago`);
            }
            return `running: ${parts.join("; ")}`;
        }
        default: {
            const unknown: never = row.outcome;
            return String(unknown);
        }
    }
}

function cells(row: BootstrapTestRow, now: number): string[] {
    return [
        row.test,
        row.image,
        shortDigest(row.digest),
        row.syncMode,
        minute(row.startTime),
        formatDuration(row.durationSeconds),
        row.diskUsageBytes === undefined
            ? "-"
            : `${row.diskUsageLowerBound ? "≥" : ""}${formatBytes(row.diskUsageBytes)}`,
        outcomeText(row, now),
    ];
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
    return rows
        .map((r) =>
            r
                .map((cell, i) =>
                    i === r.length - 1 ? cell : cell + " ".repeat(widths[i] - [...cell].length),
                )
                .join("  ")
                .trimEnd(),
        )
        .map((line) => `${line}\n`)
        .join("");
}

/** The report as a table, then one line for each test without results and each problem. */
export function renderBootstrapTestsTable(report: BootstrapTestsReport, now: Date): string {
    const where = `stack ${report.stack}, namespace ${report.namespace}`;
    if (report.tests.length === 0) {
        return `No bootstrap tests in ${where} (chainfleet:bootstrapTests is empty).\n`;
    }
    const at = now.getTime();
    const rows = report.tests.flatMap((t) => t.rows.map((r) => cells(r, at)));
    let out = `Bootstrap tests of ${where}\n`;
    out += rows.length > 0 ? table([HEADER, ...rows]) : "";
    for (const t of report.tests) {
        if (t.rows.length === 0) {
            out += t.found
                ? `${t.name}: no results yet\n`
                : `${t.name}: no results yet (no ConfigMap ${t.configMap}; the monitor creates it when the first test is checked)\n`;
        }
        for (const problem of t.problems) {
            out += `${t.name}: ${t.configMap}: ${problem}\n`;
        }
    }
    return out;
}
