/**
 * The bootstrap tests' results as the operator reads them (lib/bootstrapTestReport.ts), from
 * ConfigMap data as the monitor writes it: tables of cases, then one whole rendered table.
 */
import * as assert from "node:assert/strict";
import {
    CURRENT_KEY,
    RESULTS_KEY,
    type RunningTest,
    type TestResult,
} from "../../lib/bootstrapTest";
import {
    type BootstrapTestRow,
    type TestReadout,
    describeBootstrapTests,
    renderBootstrapTestsTable,
    shortDigest,
} from "../../lib/bootstrapTestReport";

const NOW = new Date("2026-03-02T12:00:00.000Z");
const digest = (c: string) => `sha256:${c.repeat(64)}`;

const completed: TestResult = {
    outcome: "completed",
    reason: "caught up and advancing (9 → 10)",
    image: `ghcr.io/org/cometbft@${digest("a")}`,
    digest: digest("a"),
    followImage: "ghcr.io/org/cometbft:master",
    versions: {},
    chain: "cometbft",
    syncMode: "full-sync",
    startTime: "2026-03-01T00:00:00.000Z",
    completedAt: "2026-03-01T05:30:00.000Z",
    durationSeconds: 19800,
    diskUsageBytes: 5 * 1024 ** 3,
    height: 123456,
};

const failed: TestResult = {
    outcome: "failed",
    reason: "the node container restarted 5 times (last exit code 1: Error), the most --max-node-restarts allows (5)",
    image: `ghcr.io/org/cometbft@${digest("b")}`,
    digest: digest("b"),
    followImage: "ghcr.io/org/cometbft:master",
    versions: {},
    chain: "cometbft",
    syncMode: "full-sync",
    startTime: "2026-03-01T06:00:00.000Z",
    completedAt: "2026-03-01T06:04:10.000Z",
    durationSeconds: 250,
    diskUsageBytes: 1536,
    diskUsageUnreadable: 1,
};

const running: RunningTest = {
    image: `ghcr.io/org/cometbft@${digest("c")}`,
    digest: digest("c"),
    followImage: "ghcr.io/org/cometbft:master",
    versions: {},
    chain: "cometbft",
    syncMode: "full-sync",
    startTime: "2026-03-02T09:00:00.000Z",
    updatedAt: "2026-03-02T11:57:00.000Z",
    status: "still catching up (height 4000)",
    height: 4000,
    diskUsageBytes: 2 * 1024 ** 2,
    nodeRestarts: 0,
};

const data = (results: unknown[], current?: unknown): Record<string, string> => ({
    [RESULTS_KEY]: JSON.stringify(results),
    ...(current !== undefined ? { [CURRENT_KEY]: JSON.stringify(current) } : {}),
});

const readout = (d?: Record<string, string>, name = "bt"): TestReadout => ({
    name,
    chain: "cometbft",
    configMap: `chains/${name}-results`,
    ...(d !== undefined ? { data: d } : {}),
});

describe("bootstrap tests report", () => {
    const cases: {
        what: string;
        data?: Record<string, string>;
        rows: Partial<BootstrapTestRow>[];
        problems?: RegExp[];
        text: RegExp[];
    }[] = [
        {
            what: "no ConfigMap yet",
            rows: [],
            text: [/bt: no results yet \(no ConfigMap chains\/bt-results; the monitor creates it/],
        },
        {
            what: "a ConfigMap with no results",
            data: {},
            rows: [],
            text: [/^bt: no results yet$/m],
        },
        {
            what: "a completed test",
            data: data([completed]),
            rows: [{ outcome: "completed", durationSeconds: 19800, height: 123456 }],
            text: [
                /^bt {2,}ghcr\.io\/org\/cometbft:master {2,}aaaaaaaaaaaa {2,}full-sync {2,}2026-03-01 00:00 {2,}5h30m {2,}5\.0GiB {2,}completed at height 123456$/m,
            ],
        },
        {
            what: "a failed test, its disk use a lower bound",
            data: data([failed]),
            rows: [{ outcome: "failed", diskUsageLowerBound: true, detail: failed.reason }],
            text: [/4m10s {2,}≥1\.5KiB {2,}failed: the node container restarted 5 times/],
        },
        {
            what: "a running test, its duration until now",
            data: data([completed], running),
            rows: [
                { outcome: "running", durationSeconds: 3 * 3600, height: 4000 },
                { outcome: "completed" },
            ],
            text: [
                /cccccccccccc {2,}full-sync {2,}2026-03-02 09:00 {2,}3h {2,}2\.0MiB {2,}running: still catching up \(height 4000\); checked 3m ago$/m,
            ],
        },
        {
            what: "a running test whose node restarts",
            data: data([], { ...running, nodeRestarts: 2, diskUsageUnreadable: 3 }),
            rows: [{ outcome: "running", nodeRestarts: 2, diskUsageLowerBound: true }],
            text: [/≥2\.0MiB {2,}running: still catching up \(height 4000\); node restarted 2×/],
        },
        {
            what: "a current.json left beside its own result",
            data: data([completed], {
                ...running,
                digest: completed.digest,
                startTime: completed.startTime,
            }),
            rows: [{ outcome: "completed" }],
            text: [/completed at height/],
        },
        {
            what: "a result written before outcomes existed",
            data: data([{ ...completed, outcome: undefined, reason: undefined }]),
            rows: [{ outcome: "completed", height: 123456 }],
            text: [/completed at height 123456/],
        },
        {
            what: "unreadable results",
            data: { [RESULTS_KEY]: "{", [CURRENT_KEY]: "[]" },
            rows: [],
            problems: [/results\.json is not JSON/, /current\.json is not a JSON object/],
            text: [/^bt: chains\/bt-results: results\.json is not JSON/m],
        },
    ];
    for (const c of cases) {
        it(c.what, () => {
            const report = describeBootstrapTests({
                stack: "dev",
                namespace: "chains",
                tests: [readout(c.data)],
                now: NOW,
            });
            const [test] = report.tests;
            assert.equal(test.found, c.data !== undefined);
            assert.equal(test.rows.length, c.rows.length);
            c.rows.forEach((want, i) => {
                const got = test.rows[i] as unknown as Record<string, unknown>;
                for (const [key, value] of Object.entries(want)) {
                    assert.deepEqual(got[key], value, `row ${i} ${key}`);
                }
            });
            assert.equal(test.problems.length, c.problems?.length ?? 0, test.problems.join("\n"));
            c.problems?.forEach((p, i) => assert.match(test.problems[i], p));
            const text = renderBootstrapTestsTable(report, NOW);
            for (const pattern of c.text) {
                assert.match(text, pattern, text);
            }
        });
    }

    it("says when the stack declares no bootstrap tests", () => {
        const report = describeBootstrapTests({
            stack: "dev",
            namespace: "chains",
            tests: [],
            now: NOW,
        });
        assert.equal(
            renderBootstrapTestsTable(report, NOW),
            "No bootstrap tests in stack dev, namespace chains (chainfleet:bootstrapTests is empty).\n",
        );
    });

    it("renders a whole table, columns aligned, one test without results below it", () => {
        const report = describeBootstrapTests({
            stack: "dev",
            namespace: "chains",
            tests: [readout(data([failed, completed], running)), readout(undefined, "bt-sei")],
            now: NOW,
        });
        assert.equal(
            renderBootstrapTestsTable(report, NOW),
            [
                "Bootstrap tests of stack dev, namespace chains",
                "TEST  IMAGE                        DIGEST        SYNC       STARTED (UTC)     DURATION  DISK     OUTCOME",
                "bt    ghcr.io/org/cometbft:master  cccccccccccc  full-sync  2026-03-02 09:00  3h        2.0MiB   running: still catching up (height 4000); checked 3m ago",
                `bt    ghcr.io/org/cometbft:master  bbbbbbbbbbbb  full-sync  2026-03-01 06:00  4m10s     ≥1.5KiB  failed: ${failed.reason}`,
                "bt    ghcr.io/org/cometbft:master  aaaaaaaaaaaa  full-sync  2026-03-01 00:00  5h30m     5.0GiB   completed at height 123456",
                "bt-sei: no results yet (no ConfigMap chains/bt-sei-results; the monitor creates it when the first test is checked)",
                "",
            ].join("\n"),
        );
    });

    it("shortens digests as docker does", () => {
        assert.equal(shortDigest(digest("f")), "ffffffffffff");
    });
});
