import * as assert from "node:assert/strict";
import type { DetailsRead, TestDetails } from "../../monitor/details";
import { InitObservation, planInit, podOutdated } from "../../monitor/initPlan";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const FOLLOW = "ghcr.io/org/node:master";
const NOW = new Date("2026-01-02T03:04:05.000Z");

const details = (over: Partial<TestDetails> = {}): DetailsRead => ({
    kind: "ok",
    details: {
        image: `ghcr.io/org/node@${D1}`,
        digest: D1,
        startTime: "2025-12-30T00:00:00.000Z",
        syncMode: "state-sync",
        followImage: FOLLOW,
        versions: {},
        ...over,
    },
});

const obs = (over: Partial<InitObservation> = {}): InitObservation => ({
    podImage: `ghcr.io/org/node@${D1}`,
    followImage: FOLLOW,
    pinnedFrom: FOLLOW,
    versions: { "org.opencontainers.image.version": "v1" },
    details: details(),
    syncMode: "state-sync",
    now: NOW,
    ...over,
});

describe("monitor init plan", () => {
    const table: [string, Partial<InitObservation>, "pin" | "resume" | "fresh", RegExp][] = [
        ["pod runs a tag", { podImage: FOLLOW }, "pin", /runs tag ghcr.io\/org\/node:master/],
        [
            "pod digest not from a followed tag",
            { pinnedFrom: undefined },
            "pin",
            /was not resolved from/,
        ],
        [
            "followed tag changed in config",
            { pinnedFrom: "ghcr.io/org/node:v1" },
            "pin",
            /changed from ghcr.io\/org\/node:v1 to ghcr.io\/org\/node:master/,
        ],
        // A tag wins over missing details: never start a test that cannot be identified.
        [
            "tag and no details",
            { podImage: FOLLOW, details: { kind: "missing" } },
            "pin",
            /runs tag/,
        ],
        ["no details file", { details: { kind: "missing" } }, "fresh", /no details file/],
        [
            "corrupt details",
            { details: { kind: "corrupt", error: "not JSON" } },
            "fresh",
            /unreadable \(not JSON\)/,
        ],
        ["same digest", {}, "resume", /holds the test of sha256:1+ started at 2025-12-30/],
        [
            "new digest",
            { podImage: `ghcr.io/org/node@${D2}` },
            "fresh",
            /digest changed from sha256:1+ to sha256:2+/,
        ],
        [
            "same digest, other sync mode",
            { syncMode: "full-sync" },
            "fresh",
            /sync mode changed from state-sync to full-sync/,
        ],
    ];
    for (const [what, over, action, reason] of table) {
        it(`${what} → ${action}`, () => {
            const plan = planInit(obs(over));
            assert.equal(plan.action, action);
            assert.match(plan.reason, reason);
        });
    }

    it("a fresh test records the pod's digest, now, the mode, the tag and the versions", () => {
        const plan = planInit(obs({ podImage: `ghcr.io/org/node@${D2}`, syncMode: "state-sync" }));
        assert.equal(plan.action, "fresh");
        assert.deepEqual(plan.action === "fresh" && plan.details, {
            image: `ghcr.io/org/node@${D2}`,
            digest: D2,
            startTime: NOW.toISOString(),
            syncMode: "state-sync",
            followImage: FOLLOW,
            versions: { "org.opencontainers.image.version": "v1" },
        });
    });

    it("a resumed test keeps its original start time", () => {
        const plan = planInit(obs());
        assert.equal(
            plan.action === "resume" && plan.details.startTime,
            "2025-12-30T00:00:00.000Z",
        );
    });

    it("names the node container's image when it is not a reference", () => {
        assert.throws(
            () => planInit(obs({ podImage: "Bad Image" })),
            /the node container's image 'Bad Image'/,
        );
    });
});

describe("monitor pod revision check", () => {
    const table: [string, Parameters<typeof podOutdated>[0], boolean][] = [
        [
            "same revision",
            { podRevision: "r1", updateRevision: "r1", generation: 2, observedGeneration: 2 },
            false,
        ],
        [
            "template changed",
            { podRevision: "r1", updateRevision: "r2", generation: 2, observedGeneration: 2 },
            true,
        ],
        // The controller has not processed the latest spec: updateRevision may be stale.
        [
            "controller behind",
            { podRevision: "r1", updateRevision: "r2", generation: 3, observedGeneration: 2 },
            false,
        ],
        [
            "no revision label yet",
            { updateRevision: "r2", generation: 1, observedGeneration: 1 },
            false,
        ],
        ["no status yet", { podRevision: "r1", generation: 1 }, false],
    ];
    for (const [what, input, outdated] of table) {
        it(`${what} → ${outdated ? "outdated" : "current"}`, () => {
            assert.equal(podOutdated(input) !== undefined, outdated);
        });
    }
});
