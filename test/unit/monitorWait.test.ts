/**
 * `monitor wait-for-completion` with the Kubernetes calls and the registry faked, a real data
 * directory and a CometBFT `/status` served on 127.0.0.1: what it records, and the Events it
 * leaves on the StatefulSet, when a test completes, when it fails, and while it runs.
 */
import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { adapterFor } from "../../chains";
import { EVENT_REASON, EXIT } from "../../monitor/constants";
import { TestDetails, writeDetails } from "../../monitor/details";
import type { MonitorDeps } from "../../monitor/init";
import type { MonitorKube, NodeImageContainers } from "../../monitor/kubeOps";
import type { WaitOptions } from "../../monitor/options";
import type { RunningTest, TestResult } from "../../monitor/results";
import { runWait } from "../../monitor/wait";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const FOLLOW = "ghcr.io/org/node:master";
const DETAILS: TestDetails = {
    image: `ghcr.io/org/node@${D1}`,
    digest: D1,
    startTime: "2026-03-01T00:00:00.000Z",
    syncMode: "full-sync",
    followImage: FOLLOW,
    versions: {},
};

/** The monitor's clock in these tests: it moves only when the monitor sleeps. */
let clock = 0;

/**
 * CometBFT `/status`, answering the heights in turn (the last one repeats), each with a newest
 * block 10 s older than the monitor's clock: a live tip.
 */
async function statusServer(heights: number[]): Promise<{ url: string; close(): void }> {
    let i = 0;
    const server = http.createServer((_req, res) => {
        const height = heights[Math.min(i++, heights.length - 1)];
        res.setHeader("Content-Type", "application/json");
        res.end(
            JSON.stringify({
                jsonrpc: "2.0",
                id: -1,
                result: {
                    node_info: { network: "dev", version: "0.38.19" },
                    sync_info: {
                        latest_block_height: String(height),
                        latest_block_time: new Date(clock - 10_000).toISOString(),
                        catching_up: false,
                    },
                },
            }),
        );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/status`, close: () => server.close() };
}

interface Recorded {
    events: { reason: string; message: string; type: string }[];
    results: TestResult[];
    current: RunningTest[];
    pinned: string[];
    pinnedContainers: NodeImageContainers[];
}

/**
 * A pod whose node container has restarted `restarts[n]` times at the n-th read (the last one
 * repeats); it is gone once deleted.
 */
function fakeKube(restarts: number[], rec: Recorded): MonitorKube {
    let reads = 0;
    let deleted = false;
    const pod = () => ({
        metadata: { name: "bt-0", uid: "u1", labels: { "controller-revision-hash": "bt-1" } },
        status: {
            containerStatuses: [
                {
                    name: "node",
                    restartCount: restarts[Math.min(reads++, restarts.length - 1)],
                    lastState: { terminated: { exitCode: 1, reason: "Error" } },
                },
            ],
        },
    });
    return {
        getPod: async () => pod(),
        getStatefulSet: async () => ({
            metadata: { name: "bt", uid: "s1", generation: 1 },
            status: { observedGeneration: 1, updateRevision: "bt-1" },
        }),
        event: async (_sts: unknown, reason: string, message: string, type = "Normal") => {
            rec.events.push({ reason, message, type });
        },
        saveResult: async (_cm: string, result: TestResult) => {
            rec.results.push(result);
            return { added: true };
        },
        saveCurrent: async (_cm: string, current: RunningTest) => {
            rec.current.push(current);
        },
        pinImage: async (containers: NodeImageContainers, image: string) => {
            rec.pinned.push(image);
            rec.pinnedContainers.push(containers);
        },
        deletePod: async () => {
            deleted = true;
        },
        podGone: async () => deleted,
    } as unknown as MonitorKube;
}

describe("monitor wait-for-completion", () => {
    let dir: string;
    let server: { url: string; close(): void } | undefined;
    beforeEach(async () => {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), "monitor-wait-"));
        await writeDetails(dir, DETAILS);
        await fs.mkdir(path.join(dir, "data"));
        await fs.writeFile(path.join(dir, "data", "blocks"), Buffer.alloc(8192, 1));
    });
    afterEach(async () => {
        server?.close();
        server = undefined;
        await fs.rm(dir, { recursive: true, force: true });
    });

    async function run(opts: { restarts: number[]; statusUrl: string }) {
        const rec: Recorded = {
            events: [],
            results: [],
            current: [],
            pinned: [],
            pinnedContainers: [],
        };
        clock = Date.parse("2026-03-01T01:00:00.000Z");
        const deps: MonitorDeps = {
            kube: fakeKube(opts.restarts, rec),
            registry: {
                resolve: async () => ({ digest: D2 }),
                versions: async () => ({}),
            } as unknown as MonitorDeps["registry"],
            adapter: adapterFor("cometbft"),
            log: { info() {}, warn() {}, error() {} },
            now: () => new Date(clock),
            sleep: async (ms: number) => {
                clock += ms;
            },
        };
        const waitOpts: WaitOptions = {
            namespace: "chains",
            podName: "bt-0",
            statefulSet: "bt",
            nodeContainer: "node",
            nodeInitContainers: ["prepare"],
            maxBlockAgeSeconds: 120,
            chain: "cometbft",
            dataDir: dir,
            syncMode: "full-sync",
            followImage: FOLLOW,
            plainHttpRegistries: [],
            terminationWaitSeconds: 1,
            checkIntervalSeconds: 60,
            pollTagIntervalSeconds: 60,
            resultsConfigMap: "bt-results",
            keepLast: 10,
            maxNodeRestarts: 3,
            statusUrl: opts.statusUrl,
        };
        const code = await runWait(waitOpts, deps);
        return { code, rec };
    }

    it("records a completed test, with a Normal Event, then starts the next digest", async () => {
        server = await statusServer([10, 11]);
        const { code, rec } = await run({ restarts: [0], statusUrl: server.url });
        assert.equal(code, EXIT.ok);
        assert.equal(rec.results.length, 1);
        const [r] = rec.results;
        assert.deepEqual(
            [r.outcome, r.digest, r.height, r.durationSeconds],
            ["completed", D1, 11, 3660],
        );
        assert.ok(r.diskUsageBytes >= 8192);
        assert.deepEqual(
            rec.events.map((e) => [e.reason, e.type]),
            [
                [EVENT_REASON.completed, "Normal"],
                [EVENT_REASON.newImage, "Normal"],
            ],
        );
        assert.match(rec.events[0].message, /completed in 1h1m using \d/);
        assert.deepEqual(rec.pinned, [`ghcr.io/org/node@${D2}`]);
        // The prepare step runs the node's image too: a new test prepares with the new binary.
        assert.deepEqual(rec.pinnedContainers, [{ node: "node", init: ["prepare"] }]);
        // The first check (height 10, not yet advancing) recorded the test in progress.
        assert.equal(rec.current.length, 1);
        assert.deepEqual(
            [rec.current[0].digest, rec.current[0].height, rec.current[0].nodeRestarts],
            [D1, 10, 0],
        );
    });

    it("records a failed test when the node keeps restarting, with a Warning Event", async () => {
        // Nothing listens there: the node never answers.
        const { code, rec } = await run({
            restarts: [1, 3],
            statusUrl: "http://127.0.0.1:9/status",
        });
        assert.equal(code, EXIT.ok);
        assert.equal(rec.results.length, 1);
        const [r] = rec.results;
        assert.equal(r.outcome, "failed");
        assert.equal(r.height, undefined);
        assert.match(
            r.reason ?? "",
            /node container restarted 3 times \(last exit code 1: Error\), the most --max-node-restarts allows \(3\)/,
        );
        assert.deepEqual(
            rec.events.map((e) => [e.reason, e.type]),
            [
                [EVENT_REASON.failed, "Warning"],
                [EVENT_REASON.newImage, "Normal"],
            ],
        );
        assert.match(rec.events[0].message, /failed after 1h1m using .*restarted 3 times/);
        assert.deepEqual(
            rec.current.map((c) => c.nodeRestarts),
            [1],
            "the test in progress was not recorded before it failed",
        );
    });

    it("rewrites the test in progress every few minutes, not every check", async () => {
        // 9 checks a minute apart before the height moves: written at 0 and 5 minutes.
        server = await statusServer([5, 5, 5, 5, 5, 5, 5, 5, 5, 6]);
        const { rec } = await run({ restarts: [0], statusUrl: server.url });
        assert.deepEqual(
            rec.current.map((c) => c.updatedAt),
            ["2026-03-01T01:00:00.000Z", "2026-03-01T01:05:00.000Z"],
        );
        assert.equal(rec.results[0].outcome, "completed");
    });
});
