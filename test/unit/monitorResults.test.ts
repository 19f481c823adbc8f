import * as assert from "node:assert/strict";
import { RESULTS_KEY } from "../../monitor/constants";
import { TestResult, parseResults, recordResult, resultsData } from "../../monitor/results";
import { buildResult } from "../../monitor/wait";

const result = (n: number): TestResult => ({
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
                got.results.map((r) => r.height / 100),
                expected,
            );
            assert.equal(got.added, added);
        });
    }

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
            { status: { height: 77, catchingUp: false, version: "0.38.19" }, diskUsageBytes: 4096 },
            new Date("2026-01-01T01:00:00.000Z"),
            3600.4,
        );
        assert.deepEqual(r, {
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
});
