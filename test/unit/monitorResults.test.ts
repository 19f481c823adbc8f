import * as assert from "node:assert/strict";
import { CURRENT_KEY, RESULTS_KEY } from "../../monitor/constants";
import {
    RunningTest,
    TestResult,
    dataWithCurrent,
    dataWithResult,
    parseCurrent,
    parseResults,
    recordResult,
    resultsData,
} from "../../monitor/results";
import { buildResult, runningTest } from "../../monitor/wait";

const result = (n: number): TestResult => ({
    outcome: "completed",
    image: `ghcr.io/org/node@sha256:${String(n).repeat(64).slice(0, 64)}`,
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    followImage: "ghcr.io/org/node:master",
    versions: {},
    chain: "cometbft",
    syncMode: "state-sync",
    startTime: `2026-01-0${n}T00:00:00.000Z`,
    completedAt: `2026-01-0${n}T05:00:00.000Z`,
    durationSeconds: 18000,
    diskUsageBytes: 1024 * n,
    height: 100 * n,
});

describe("monitor results list", () => {
    const table: [string, number[], number, number, number[], boolean][] = [
        // [what, existing (newest first), new, keepLast, expected, added]
        ["first result", [], 1, 3, [1], true],
        ["prepends", [2, 1], 3, 3, [3, 2, 1], true],
        ["trims the oldest beyond N", [3, 2, 1], 4, 3, [4, 3, 2], true],
        ["keep 1", [3, 2, 1], 4, 1, [4], true],
        ["same test twice is recorded once", [3, 2, 1], 3, 3, [3, 2, 1], false],
        ["duplicate still trims to N", [3, 2, 1], 2, 2, [3, 2], false],
    ];
    for (const [what, existing, next, keep, expected, added] of table) {
        it(what, () => {
            const got = recordResult(existing.map(result), result(next), keep);
            assert.deepEqual(
                got.results.map((r) => (r.height ?? 0) / 100),
                expected,
            );
            assert.equal(got.added, added);
        });
    }

    it("a test that failed and then completed is recorded as completed, in its place", () => {
        const failed: TestResult = { ...result(2), outcome: "failed", reason: "restarts" };
        const got = recordResult([result(3), failed, result(1)], result(2), 5);
        assert.equal(got.added, true);
        assert.deepEqual(
            got.results.map((r) => [r.height, r.outcome]),
            [
                [300, "completed"],
                [200, "completed"],
                [100, "completed"],
            ],
        );
        const again = recordResult(got.results, { ...result(2), outcome: "completed" }, 5);
        assert.equal(again.added, false);
    });

    it("a same digest with a new start time is a new test", () => {
        const rerun = { ...result(1), startTime: "2026-02-01T00:00:00.000Z" };
        assert.equal(recordResult([result(1)], rerun, 5).added, true);
    });

    it("names --keep-last when N is out of range", () => {
        assert.throws(
            () => recordResult([], result(1), 0),
            /--keep-last must be a whole number from 1 to 100, got 0/,
        );
        assert.throws(() => recordResult([], result(1), 101), /--keep-last/);
    });

    it("round-trips through ConfigMap data, with the newest also on its own", () => {
        const data = resultsData([result(2), result(1)]);
        assert.deepEqual(parseResults(data).results, [result(2), result(1)]);
        assert.deepEqual(JSON.parse(data["latest.json"]), result(2));
    });

    const unreadable: [string, Record<string, string> | undefined, string | undefined][] = [
        ["no ConfigMap", undefined, undefined],
        ["no key", {}, undefined],
        ["blank", { [RESULTS_KEY]: " " }, undefined],
        ["not JSON", { [RESULTS_KEY]: "{" }, "results.json is not JSON"],
        ["not a list", { [RESULTS_KEY]: "{}" }, "results.json is not a JSON list"],
        [
            "a list of non-objects",
            { [RESULTS_KEY]: "[1, null]" },
            "results.json has 2 entries that are not objects",
        ],
    ];
    for (const [what, data, problem] of unreadable) {
        it(`reads ${what} as an empty list${problem ? " and says why" : ""}`, () => {
            const got = parseResults(data);
            assert.deepEqual(got.results, []);
            assert.equal(got.problem?.split(":")[0], problem);
        });
    }

    it("builds a result from the details and the final observation", () => {
        const r = buildResult(
            { chain: "sei", followImage: "ghcr.io/org/node:master" },
            {
                image: result(1).image,
                digest: result(1).digest,
                startTime: "2026-01-01T00:00:00.000Z",
                syncMode: "full-sync",
                followImage: "",
                versions: { "org.opencontainers.image.version": "v1" },
            },
            {
                outcome: "completed",
                reason: "caught up and advancing (76 → 77)",
                status: { height: 77, catchingUp: false, version: "0.38.19" },
                usage: { bytes: 4096, unreadable: 0, vanished: 3, examples: [] },
            },
            new Date("2026-01-01T01:00:00.000Z"),
            3600.4,
        );
        assert.deepEqual(r, {
            outcome: "completed",
            reason: "caught up and advancing (76 → 77)",
            image: result(1).image,
            digest: result(1).digest,
            followImage: "ghcr.io/org/node:master",
            versions: { "org.opencontainers.image.version": "v1" },
            nodeVersion: "0.38.19",
            chain: "sei",
            syncMode: "full-sync",
            startTime: "2026-01-01T00:00:00.000Z",
            completedAt: "2026-01-01T01:00:00.000Z",
            durationSeconds: 3600,
            diskUsageBytes: 4096,
            height: 77,
        });
    });

    it("builds a failed result from a node that never answered, its disk use a lower bound", () => {
        const r = buildResult(
            { chain: "cometbft", followImage: "ghcr.io/org/node:master" },
            {
                image: result(1).image,
                digest: result(1).digest,
                startTime: "2026-01-01T00:00:00.000Z",
                syncMode: "state-sync",
                followImage: "ghcr.io/org/node:master",
                versions: {},
            },
            {
                outcome: "failed",
                reason: "the node container restarted 5 times",
                usage: { bytes: 8192, unreadable: 2, vanished: 0, examples: ["/x: EACCES"] },
            },
            new Date("2026-01-01T00:10:00.000Z"),
            600,
        );
        assert.deepEqual(r, {
            outcome: "failed",
            reason: "the node container restarted 5 times",
            image: result(1).image,
            digest: result(1).digest,
            followImage: "ghcr.io/org/node:master",
            versions: {},
            chain: "cometbft",
            syncMode: "state-sync",
            startTime: "2026-01-01T00:00:00.000Z",
            completedAt: "2026-01-01T00:10:00.000Z",
            durationSeconds: 600,
            diskUsageBytes: 8192,
            diskUsageUnreadable: 2,
        });
    });

    it("reads results written before outcomes existed as completed", () => {
        const { outcome: _, ...old } = result(1);
        const got = parseResults({ [RESULTS_KEY]: JSON.stringify([old]) });
        assert.deepEqual(got.results, [result(1)]);
    });
});

describe("monitor results ConfigMap data", () => {
    const running = (n: number): RunningTest => {
        const { outcome: _o, completedAt: _c, durationSeconds: _d, ...identity } = result(n);
        return {
            ...identity,
            updatedAt: "2026-01-01T01:00:00.000Z",
            status: "catching up",
            nodeRestarts: 0,
        };
    };

    it("keeps the test in progress beside the results", () => {
        const data = dataWithCurrent(resultsData([result(1)]), running(2));
        assert.deepEqual(parseCurrent(data).current, running(2));
        assert.deepEqual(parseResults(data).results, [result(1)]);
    });

    it("recording a test's result clears it from current.json", () => {
        const got = dataWithResult(dataWithCurrent({}, running(2)), result(2), 5);
        assert.equal(got.added, true);
        assert.equal(got.data?.[CURRENT_KEY], undefined);
        assert.deepEqual(parseResults(got.data).results, [result(2)]);
    });

    it("recording another test's result keeps the current one", () => {
        const got = dataWithResult(dataWithCurrent({}, running(2)), result(1), 5);
        assert.deepEqual(parseCurrent(got.data).current, running(2));
    });

    it("changes nothing for a result already recorded", () => {
        const got = dataWithResult(resultsData([result(1)]), result(1), 5);
        assert.deepEqual(got, { added: false, problem: undefined });
    });

    it("keeps other keys of the ConfigMap", () => {
        const got = dataWithResult({ "notes.txt": "hi" }, result(1), 5);
        assert.equal(got.data?.["notes.txt"], "hi");
    });

    const corrupt: [string, string, RegExp][] = [
        ["not JSON", "{", /current.json is not JSON/],
        ["a list", "[]", /current.json is not a JSON object/],
    ];
    for (const [what, text, problem] of corrupt) {
        it(`reports a current.json that is ${what}`, () => {
            const got = parseCurrent({ [CURRENT_KEY]: text });
            assert.equal(got.current, undefined);
            assert.match(got.problem ?? "", problem);
        });
    }

    it("builds the test in progress from the details and the latest check", () => {
        const r = runningTest(
            { chain: "cometbft", followImage: "ghcr.io/org/node:master" },
            {
                image: result(2).image,
                digest: result(2).digest,
                startTime: result(2).startTime,
                syncMode: "state-sync",
                followImage: "ghcr.io/org/node:master",
                versions: {},
            },
            {
                status: "catching up",
                height: 200,
                usage: { bytes: 2048, unreadable: 0, vanished: 0, examples: [] },
                restarts: 0,
                at: new Date("2026-01-01T01:00:00.000Z"),
            },
        );
        assert.deepEqual(r, { ...running(2), height: 200, diskUsageBytes: 2048 });
    });
});
