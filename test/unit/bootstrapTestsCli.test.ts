/**
 * `npm run bootstrap-tests` (scripts/bootstrap-tests.ts) as an operator runs it: against the
 * committed stacks, with a fake cluster in this process (`--help` from a child process, as npm
 * runs it).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import {
    CURRENT_KEY,
    RESULTS_KEY,
    type RunningTest,
    type TestResult,
} from "../../lib/bootstrapTest";
import type { BootstrapTestsReport } from "../../lib/bootstrapTestReport";
import { ResultsReader, runBootstrapTests } from "../../scripts/bootstrap-tests";

const ROOT = path.join(__dirname, "..", "..");
const NOW = new Date("2026-03-02T12:00:00.000Z");
const D = (c: string) => `sha256:${c.repeat(64)}`;

async function cli(reader: ResultsReader, ...args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runBootstrapTests(args, {
        out: (t) => (stdout += t),
        err: (t) => (stderr += t),
        cwd: ROOT,
        env: {},
        reader,
        now: NOW,
    });
    return { code, stdout, stderr };
}

const result: TestResult = {
    outcome: "completed",
    reason: "caught up and advancing (41 → 42)",
    image: `cometbft/cometbft@${D("a")}`,
    digest: D("a"),
    followImage: "cometbft/cometbft:v0.38.x",
    versions: {},
    chain: "cometbft",
    syncMode: "full-sync",
    startTime: "2026-03-01T10:00:00.000Z",
    completedAt: "2026-03-01T10:02:05.000Z",
    durationSeconds: 125,
    diskUsageBytes: 3 * 1024 ** 2,
    height: 42,
};

const current: RunningTest = {
    image: `cometbft/cometbft@${D("b")}`,
    digest: D("b"),
    followImage: "cometbft/cometbft:v0.38.x",
    versions: {},
    chain: "cometbft",
    syncMode: "full-sync",
    startTime: "2026-03-02T11:50:00.000Z",
    updatedAt: "2026-03-02T11:59:00.000Z",
    status: "not catching up at height 7; waiting for the height to advance",
    height: 7,
    diskUsageBytes: 1024 ** 2,
    nodeRestarts: 0,
};

/** The dev stack's one test, `bt-cometbft` in namespace chainfleet-dev, with these data. */
function devCluster(data: Record<string, string> | undefined): ResultsReader & { read: string[] } {
    const read: string[] = [];
    return {
        read,
        async configMapData(namespace, name) {
            read.push(`${namespace}/${name}`);
            return data;
        },
    };
}

describe("npm run bootstrap-tests", function () {
    this.timeout(60_000); // the child process starts ts-node

    it("package.json runs it as the other CLIs", () => {
        const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(
            pkg.scripts["bootstrap-tests"],
            "node -r ts-node/register/transpile-only scripts/bootstrap-tests.ts",
        );
    });

    it("--help names its options", () => {
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "scripts/bootstrap-tests.ts", "--help"],
            { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
        );
        assert.equal(r.status, 0, r.stderr);
        for (const flag of ["-s, --stack <stack>", "--stack-file <path>", "--json"]) {
            assert.ok(r.stdout.includes(flag), r.stdout);
        }
    });

    it("prints the dev stack's test in progress, then its results", async () => {
        const reader = devCluster({
            [RESULTS_KEY]: JSON.stringify([result]),
            [CURRENT_KEY]: JSON.stringify(current),
        });
        const r = await cli(reader, "-s", "dev");
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(reader.read, ["chainfleet-dev/bt-cometbft-results"]);
        assert.equal(
            r.stdout,
            [
                "Bootstrap tests of stack dev, namespace chainfleet-dev",
                "TEST         IMAGE                      DIGEST        SYNC       STARTED (UTC)     DURATION  DISK    OUTCOME",
                "bt-cometbft  cometbft/cometbft:v0.38.x  bbbbbbbbbbbb  full-sync  2026-03-02 11:50  10m       1.0MiB  running: not catching up at height 7; waiting for the height to advance; checked 1m ago",
                "bt-cometbft  cometbft/cometbft:v0.38.x  aaaaaaaaaaaa  full-sync  2026-03-01 10:00  2m5s      3.0MiB  completed at height 42",
                "",
            ].join("\n"),
        );
        assert.equal(r.stderr, "");
    });

    it("README §Bootstrap test results shows the command's real output", async () => {
        const sha = (hex: string) => `sha256:${hex.padEnd(64, "0")}`;
        const results: TestResult[] = [
            {
                ...result,
                outcome: "failed",
                reason: "the node container restarted 5 times (last exit code 1: Error), the most --max-node-restarts allows (5)",
                image: `cometbft/cometbft@${sha("9f3e0c21b7d8")}`,
                digest: sha("9f3e0c21b7d8"),
                startTime: "2026-03-02T06:00:00.000Z",
                completedAt: "2026-03-02T06:04:10.000Z",
                durationSeconds: 250,
                diskUsageBytes: 1536,
                diskUsageUnreadable: 1,
                height: undefined,
            },
            {
                ...result,
                image: `cometbft/cometbft@${sha("4c1a77e09b3d")}`,
                digest: sha("4c1a77e09b3d"),
                completedAt: "2026-03-01T15:32:05.000Z",
                durationSeconds: 19925,
                diskUsageBytes: 48.2 * 1024 ** 3,
                height: 1234567,
            },
        ];
        const running: RunningTest = {
            ...current,
            image: `cometbft/cometbft@${sha("b07d5e3a91c2")}`,
            digest: sha("b07d5e3a91c2"),
            startTime: "2026-03-02T09:10:00.000Z",
            updatedAt: "2026-03-02T11:57:00.000Z",
            status: "still catching up (height 812345)",
            height: 812345,
            diskUsageBytes: 21.7 * 1024 ** 3,
        };
        const r = await cli(
            devCluster({
                [RESULTS_KEY]: JSON.stringify(results),
                [CURRENT_KEY]: JSON.stringify(running),
            }),
            "-s",
            "dev",
        );
        const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
        const section = readme.split("\n### Bootstrap test results\n")[1]?.split("\n## ")[0];
        const shown = section?.split("```text\n")[1]?.split("```")[0];
        assert.equal(shown, r.stdout);
    });

    it("--json: the same rows with their raw values", async () => {
        const r = await cli(
            devCluster({ [RESULTS_KEY]: JSON.stringify([{ ...result, outcome: "failed" }]) }),
            "-s",
            "dev",
            "--json",
        );
        assert.equal(r.code, 0, r.stderr);
        const report = JSON.parse(r.stdout) as BootstrapTestsReport;
        assert.equal(report.stack, "dev");
        assert.equal(report.namespace, "chainfleet-dev");
        assert.deepEqual(report.tests[0].rows[0], {
            test: "bt-cometbft",
            image: "cometbft/cometbft:v0.38.x",
            digest: D("a"),
            syncMode: "full-sync",
            startTime: "2026-03-01T10:00:00.000Z",
            durationSeconds: 125,
            diskUsageBytes: 3 * 1024 ** 2,
            diskUsageLowerBound: false,
            outcome: "failed",
            detail: "caught up and advancing (41 → 42)",
            height: 42,
            at: "2026-03-01T10:02:05.000Z",
        });
    });

    it("no results yet is not an error", async () => {
        const r = await cli(devCluster(undefined), "-s", "dev");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^bt-cometbft: no results yet \(no ConfigMap chainfleet-dev\//m);
    });

    it("a stack without bootstrap tests reads nothing", async () => {
        const reader = devCluster(undefined);
        const r = await cli(reader, "-s", "fuji");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^No bootstrap tests in stack fuji/);
        assert.deepEqual(reader.read, []);
    });

    it("a cluster that cannot be read: says so, exit 1", async () => {
        const reader: ResultsReader = {
            configMapData: async () => {
                throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
            },
        };
        const r = await cli(reader, "-s", "dev");
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.equal(
            r.stderr,
            "bootstrap-tests: cannot read the bootstrap tests' results from the cluster: connect ECONNREFUSED 127.0.0.1:6443\n",
        );
    });

    const usage: [string, string[], RegExp][] = [
        ["no stack", [], /give the stack: -s <stack>/],
        ["a stack that does not exist", ["-s", "nope"], /-s: Pulumi\.nope\.yaml does not exist/],
        ["an unknown option", ["-s", "dev", "--yaml"], /unknown option '--yaml'/],
    ];
    for (const [what, args, message] of usage) {
        it(`${what}: exit 2`, async () => {
            const r = await cli(devCluster(undefined), ...args);
            assert.equal(r.code, 2);
            assert.match(r.stderr, message);
        });
    }
});
