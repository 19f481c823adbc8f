import * as assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import fc from "fast-check";
import {
    CaughtUpRules,
    HeightSample,
    NodeObservation,
    PodView,
    etaSeconds,
    evaluateAtHeight,
    evaluateCaughtUp,
    evaluateRunning,
    formatDuration,
    initFailure,
    refusedInput,
    isAdvancing,
    podView,
    progressLine,
    rateOf,
    recordSample,
    referenceHeight,
} from "../../dynamic-providers/gates";

/** A node whose samples are [height, catchingUp?, peers?] one second apart. */
function node(
    name: string,
    heights: number[],
    opts: Partial<HeightSample> & { error?: string } = {},
): NodeObservation {
    const history = heights.map((height, i) => ({
        at: 1_000_000 + i * 1000,
        height,
        catchingUp: opts.catchingUp ?? false,
        peers: opts.peers ?? 3,
    }));
    return { name, history, error: opts.error };
}

const rules: CaughtUpRules = { expected: 2, tolerance: 2, minPeers: 1, requireAdvancing: true };

describe("#gates caughtUp", () => {
    const cases: {
        name: string;
        entrants: NodeObservation[];
        reference: number | undefined;
        rules?: Partial<CaughtUpRules>;
        hasReference?: boolean;
        pass: boolean;
        reason: RegExp;
    }[] = [
        {
            name: "all within tolerance and advancing",
            entrants: [node("e-0", [98, 99]), node("e-1", [99, 100])],
            reference: 100,
            pass: true,
            reason: /all 2 entrants caught up \(e-0=99, e-1=100; reference 100\)/,
        },
        {
            name: "exactly at the tolerance edge passes",
            entrants: [node("e-0", [97, 98]), node("e-1", [99, 100])],
            reference: 100,
            pass: true,
            reason: /caught up/,
        },
        {
            name: "one block past the tolerance fails, naming the gap",
            entrants: [node("e-0", [96, 97]), node("e-1", [99, 100])],
            reference: 100,
            pass: false,
            reason: /e-0: h=97 is 3 behind 100 \(tolerance 2\)/,
        },
        {
            name: "ahead of the reference is fine (reference lags)",
            entrants: [node("e-0", [104, 105]), node("e-1", [104, 105])],
            reference: 100,
            pass: true,
            reason: /caught up/,
        },
        {
            name: "catching_up true fails even at the reference height",
            entrants: [node("e-0", [99, 100], { catchingUp: true }), node("e-1", [99, 100])],
            reference: 100,
            pass: false,
            reason: /e-0: catching up at h=100/,
        },
        {
            name: "a frozen height fails (stalled node still says not catching up)",
            entrants: [node("e-0", [100, 100, 100]), node("e-1", [99, 100])],
            reference: 100,
            pass: false,
            reason: /e-0: height 100 not advancing/,
        },
        {
            name: "a frozen height passes when advancing is not required (halted chain)",
            entrants: [node("e-0", [100, 100]), node("e-1", [100, 100])],
            reference: 100,
            rules: { requireAdvancing: false },
            pass: true,
            reason: /caught up/,
        },
        {
            name: "a single sample is not yet 'advancing'",
            entrants: [node("e-0", [100]), node("e-1", [99, 100])],
            reference: 100,
            pass: false,
            reason: /e-0: height 100 not advancing/,
        },
        {
            name: "too few peers",
            entrants: [node("e-0", [99, 100], { peers: 0 }), node("e-1", [99, 100])],
            reference: 100,
            pass: false,
            reason: /e-0: 0 peers, needs 1/,
        },
        {
            name: "minPeers 0 skips the peer check",
            entrants: [node("e-0", [99, 100], { peers: 0 }), node("e-1", [99, 100], { peers: 0 })],
            reference: 100,
            rules: { minPeers: 0 },
            pass: true,
            reason: /caught up/,
        },
        {
            name: "an unreachable entrant fails with its error",
            entrants: [
                { name: "e-0", history: [], error: "connect ECONNREFUSED" },
                node("e-1", [99, 100]),
            ],
            reference: 100,
            pass: false,
            reason: /e-0: unreachable \(connect ECONNREFUSED\)/,
        },
        {
            name: "an entrant whose latest call failed is not trusted on old samples",
            entrants: [node("e-0", [99, 100], { error: "timeout" }), node("e-1", [99, 100])],
            reference: 100,
            pass: false,
            reason: /e-0: unreachable since h=100 \(timeout\)/,
        },
        {
            name: "fewer pods than expected",
            entrants: [node("e-0", [99, 100])],
            reference: 100,
            pass: false,
            reason: /1\/2 entrant pods exist/,
        },
        {
            name: "a configured reference that nobody answers blocks the gate",
            entrants: [node("e-0", [99, 100]), node("e-1", [99, 100])],
            reference: undefined,
            pass: false,
            reason: /no reference height/,
        },
        {
            name: "no reference configured: height comparison skipped",
            entrants: [node("e-0", [99, 100]), node("e-1", [5, 6])],
            reference: undefined,
            hasReference: false,
            pass: true,
            reason: /no reference/,
        },
        {
            name: "height 1 means nothing synced yet",
            entrants: [node("e-0", [0, 1]), node("e-1", [0, 1])],
            reference: undefined,
            hasReference: false,
            pass: false,
            reason: /e-0: at h=1, nothing synced yet/,
        },
        {
            name: "every failing entrant is listed",
            entrants: [node("e-0", [10, 11]), node("e-1", [20, 21])],
            reference: 100,
            pass: false,
            reason: /e-0: h=11 .*; e-1: h=21/,
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const v = evaluateCaughtUp(
                c.entrants,
                c.reference,
                { ...rules, ...c.rules },
                c.hasReference ?? true,
            );
            assert.equal(v.pass, c.pass, v.reason);
            assert.match(v.reason, c.reason);
        });
    }
});

describe("#gates atHeight", () => {
    it("passes when every entrant is at or past the target", () => {
        const v = evaluateAtHeight([node("a", [50]), node("b", [52])], 50, 2);
        assert.deepEqual(v, { pass: true, reason: "all 2 entrants at or past 50" });
    });
    it("lists how far each lagging entrant has to go", () => {
        const v = evaluateAtHeight(
            [node("a", [40]), node("b", [52]), { name: "c", history: [] }],
            50,
            3,
        );
        assert.equal(v.pass, false);
        assert.equal(v.reason, "a: h=40, 10 to go; c: unreachable");
    });
    it("waits for the expected number of pods", () => {
        assert.equal(evaluateAtHeight([node("a", [60])], 50, 2).pass, false);
    });
});

describe("#gates running", () => {
    const pod = (name: string, ready: boolean, extra: Partial<PodView> = {}): PodView => ({
        name,
        phase: "Running",
        ready,
        terminating: false,
        restarts: 0,
        ...extra,
    });
    const cases: {
        name: string;
        pods: PodView[];
        expected: number;
        pass: boolean;
        reason: RegExp;
    }[] = [
        {
            name: "all ready",
            pods: [pod("a", true), pod("b", true)],
            expected: 2,
            pass: true,
            reason: /all 2 pods Ready/,
        },
        {
            name: "none yet",
            pods: [],
            expected: 2,
            pass: false,
            reason: /0\/2 pods exist \(none yet\)/,
        },
        {
            name: "one not ready, with its waiting reason and restarts",
            pods: [
                pod("a", true),
                pod("b", false, { waitingReason: "CrashLoopBackOff", restarts: 4 }),
            ],
            expected: 2,
            pass: false,
            reason: /1\/2 pods Ready; waiting for b: Running, CrashLoopBackOff, 4 restarts/,
        },
        {
            name: "one held by a failed init container, which says why",
            pods: [
                pod("a", true),
                pod("b", false, {
                    phase: "Pending",
                    waitingReason: "PodInitializing",
                    initFailure: "init container prepare exited 3 (2 restarts): checksum mismatch",
                }),
            ],
            expected: 2,
            pass: false,
            reason: /waiting for b: Pending, PodInitializing, init container prepare exited 3 \(2 restarts\): checksum mismatch$/,
        },
        {
            name: "terminating pods do not count",
            pods: [pod("a", true), pod("b", true, { terminating: true })],
            expected: 2,
            pass: false,
            reason: /1\/2 pods exist/,
        },
        {
            name: "more pods than expected, all ready",
            pods: [pod("a", true), pod("b", true), pod("c", true)],
            expected: 2,
            pass: true,
            reason: /all 3/,
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const v = evaluateRunning(c.pods, c.expected);
            assert.equal(v.pass, c.pass);
            assert.match(v.reason, c.reason);
        });
    }

    it("podView reads readiness, waiting reason, restarts and deletion", () => {
        const view = podView({
            metadata: { name: "p", deletionTimestamp: new Date() },
            status: {
                phase: "Running",
                conditions: [{ type: "Ready", status: "True" }],
                containerStatuses: [
                    {
                        name: "node",
                        image: "i",
                        imageID: "",
                        ready: false,
                        restartCount: 2,
                        state: { waiting: { reason: "ErrImagePull" } },
                    },
                ],
            },
        });
        assert.deepEqual(view, {
            name: "p",
            phase: "Running",
            ready: true,
            terminating: true,
            waitingReason: "ErrImagePull",
            restarts: 2,
        });
    });
});

describe("#gates init containers that hold a pod (initFailure)", () => {
    type Status = NonNullable<V1Pod["status"]>;
    type Init = NonNullable<Status["initContainerStatuses"]>[number];
    const init = (name: string, restartCount: number, rest: Partial<Init>): Init => ({
        name,
        image: "i",
        imageID: "",
        ready: false,
        restartCount,
        ...rest,
    });
    const done = init("agent-install", 0, { state: { terminated: { exitCode: 0 } } });
    const mismatch =
        "chainfleet-agent prepare: genesis checksum mismatch for http://h/genesis.json: expected sha256 aa, got bb";
    const cases: [string, Init[], string | undefined][] = [
        ["no init containers", [], undefined],
        [
            "all succeeded",
            [done, init("prepare", 1, { state: { terminated: { exitCode: 0 } } })],
            undefined,
        ],
        [
            "the first run of one still going",
            [done, init("prepare", 0, { state: { running: {} } })],
            undefined,
        ],
        [
            "failed, backing off: its exit, restarts and the message's last line",
            [
                done,
                init("prepare", 2, {
                    state: { waiting: { reason: "CrashLoopBackOff" } },
                    lastState: {
                        terminated: { exitCode: 3, message: `prepare: inputs: ok\n${mismatch}\n` },
                    },
                }),
            ],
            `init container prepare exited 3 (2 restarts): ${mismatch}`,
        ],
        [
            "failed once, running again",
            [
                done,
                init("prepare", 1, {
                    state: { running: {} },
                    lastState: { terminated: { exitCode: 1 } },
                }),
            ],
            "init container prepare exited 1 (1 restarts)",
        ],
        [
            "failed just now, not restarted yet",
            [
                init("snapshot-restore", 0, {
                    state: { terminated: { exitCode: 2, message: "sha256 mismatch" } },
                }),
            ],
            "init container snapshot-restore exited 2: sha256 mismatch",
        ],
        [
            "a long message is cut",
            [
                init("prepare", 0, {
                    state: { terminated: { exitCode: 3, message: "x".repeat(700) } },
                }),
            ],
            `init container prepare exited 3: ${"x".repeat(600)}...`,
        ],
    ];
    for (const [name, statuses, want] of cases) {
        it(name, () => {
            assert.equal(initFailure({ status: { initContainerStatuses: statuses } }), want);
        });
    }

    it("podView carries it", () => {
        const view = podView({
            metadata: { name: "p" },
            status: {
                phase: "Pending",
                initContainerStatuses: [
                    init("prepare", 1, {
                        lastState: { terminated: { exitCode: 3, message: "bad" } },
                    }),
                ],
            },
        });
        assert.equal(view.initFailure, "init container prepare exited 3 (1 restarts): bad");
    });

    // refusedInput: only the agent's "invalid input" (exit 3) of prepare ends a gate early; any
    // other failure may pass on a restart (a download that timed out, a node not up yet).
    const refusals: [string, Init[], boolean][] = [
        ["prepare exited 3, backing off", cases[3][1], true],
        [
            "prepare exited 3, not restarted yet",
            [init("prepare", 0, { state: { terminated: { exitCode: 3, message: mismatch } } })],
            true,
        ],
        ["prepare exited 1 (retryable)", cases[4][1], false],
        [
            "another init container exited 3",
            [init("snapshot-restore", 0, { state: { terminated: { exitCode: 3 } } })],
            false,
        ],
        ["prepare still running", cases[2][1], false],
    ];
    for (const [name, statuses, refused] of refusals) {
        it(`refusedInput: ${name}`, () => {
            const got = refusedInput({ status: { initContainerStatuses: statuses } });
            assert.equal(got !== undefined, refused, String(got));
            if (refused) assert.match(got!, /^init container prepare exited 3/);
        });
    }
});

describe("#gates rates, ETA and history", () => {
    it("rate is blocks per second across the window", () => {
        assert.equal(rateOf(node("a", [100, 102, 106]).history), 3);
        assert.equal(rateOf(node("a", [100]).history), undefined);
    });
    it("ETA: gap / closing rate; unknown when not closing; 0 when there", () => {
        const cases: [number, number | undefined, number | undefined][] = [
            [100, 10, 10],
            [100, 0, undefined],
            [100, -1, undefined],
            [100, undefined, undefined],
            [0, 5, 0],
            [-3, undefined, 0],
        ];
        for (const [gap, rate, want] of cases) {
            assert.equal(etaSeconds(gap, rate), want, `gap ${gap} rate ${rate}`);
        }
    });
    it("formats durations for people", () => {
        assert.deepEqual([undefined, 0, 59.4, 61, 3599, 3600, 7380].map(formatDuration), [
            "unknown",
            "0s",
            "59s",
            "1m01s",
            "59m59s",
            "1h00m",
            "2h03m",
        ]);
    });
    it("recordSample keeps a window but at least two samples, and clears the error", () => {
        const n: NodeObservation = { name: "a", history: [], error: "boom" };
        for (let i = 0; i < 10; i++) {
            recordSample(n, { at: i * 10_000, height: i, catchingUp: false }, 30_000);
        }
        assert.deepEqual(
            n.history.map((s) => s.height),
            [6, 7, 8, 9],
        );
        assert.equal(n.error, undefined);
        const sparse: NodeObservation = { name: "b", history: [] };
        recordSample(sparse, { at: 0, height: 1, catchingUp: false }, 1000);
        recordSample(sparse, { at: 60_000, height: 2, catchingUp: false }, 1000);
        assert.equal(sparse.history.length, 2);
        assert.ok(isAdvancing(sparse.history));
    });
    it("reference is the highest reachable source", () => {
        assert.equal(
            referenceHeight([node("i-0", [90]), node("i-1", [120]), { name: "r", history: [] }]),
            120,
        );
        assert.equal(referenceHeight([{ name: "r", history: [] }]), undefined);
    });
    it("progress line names height, rate, gap and ETA", () => {
        const line = progressLine(node("e-0", [100, 110, 120]), 220, 0);
        assert.equal(line, "e-0 h=120, 10.0 b/s, 3 peers, 100 behind, ETA 10s");
        assert.match(
            progressLine({ name: "x", history: [], error: "refused" }, 5),
            /x unreachable \(refused\)/,
        );
        assert.match(progressLine(node("slow", [100, 101]), 300, 5), /ETA unknown/);
    });
    it("property: a passing caughtUp verdict implies every entrant within tolerance", () => {
        fc.assert(
            fc.property(
                fc.array(
                    fc.tuple(fc.integer({ min: 2, max: 1000 }), fc.integer({ min: 0, max: 5 })),
                    {
                        minLength: 1,
                        maxLength: 5,
                    },
                ),
                fc.integer({ min: 0, max: 1100 }),
                fc.integer({ min: 0, max: 10 }),
                (specs, ref, tolerance) => {
                    const entrants = specs.map(([h, step], i) => node(`e-${i}`, [h, h + step]));
                    const v = evaluateCaughtUp(entrants, ref, {
                        expected: entrants.length,
                        tolerance,
                        minPeers: 1,
                        requireAdvancing: true,
                    });
                    if (v.pass) {
                        for (const [h, step] of specs) {
                            assert.ok(ref - (h + step) <= tolerance && step > 0);
                        }
                    }
                },
            ),
        );
    });
});
