import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import {
    NodeIdentity,
    PreprodConfigSchema,
    cohortSize,
    defaultEpoch,
    minPercentForOneNode,
    nodeId,
    nodeScore,
    preprodImageFor,
    selectCohort,
    selectPreprodCohort,
} from "../../lib/cohort";

// Fixed seeds: the statistical properties below are checked on the same samples every run, so a
// failure is a change in behaviour, never bad luck.
const SEED = 20250701;

const GROUPS = ["sei-rpc", "sei-archive", "val", "a", "b-1"];
const fleetArb = fc.uniqueArray(
    fc.record({ group: fc.constantFrom(...GROUPS), ordinal: fc.nat({ max: 40 }) }),
    { selector: nodeId, maxLength: 80 },
);
/** Percent with at most two decimals, as config allows. */
const percentArb = fc.integer({ min: 0, max: 10000 }).map((bp) => bp / 100);
const epochArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/);

function fleet(groups: Record<string, number>): NodeIdentity[] {
    return Object.entries(groups).flatMap(([group, n]) =>
        Array.from({ length: n }, (_, ordinal) => ({ group, ordinal })),
    );
}

/** round-half-up(percent/100 × n) by exact rational arithmetic, independent of cohortSize. */
function referenceSize(percent: number, n: number): number {
    const bp = BigInt(Math.round(percent * 100));
    return Number((2n * bp * BigInt(n) + 10000n) / 20000n);
}

describe("#cohortSize", () => {
    // [percent, eligible, expected]: exact halves round up; no minimum of one node.
    const cases: [number, number, number][] = [
        [0, 100, 0],
        [100, 7, 7],
        [7, 13, 1], // 0.91
        [5, 10, 1], // 0.5 exactly: up
        [2.5, 20, 1], // 0.5 exactly, fractional percent: up
        [4.99, 10, 0], // 0.499
        [15, 10, 2], // 1.5: up
        [25, 2, 1], // 0.5: up
        [5, 3, 0], // 0.15: a small fleet gets no preprod node
        [33.33, 3, 1], // 0.9999
        [50, 1, 1],
        [49.99, 1, 0],
        [7.1, 1000, 71], // 7.1 * 100 is 709.999... in binary floating point
        [0.01, 5000, 1], // 0.5
        [0.01, 4999, 0], // 0.4999
        [7, 13000, 910], // the Flux fleet: ~13k nodes at 7%
        [50, 0, 0],
    ];
    for (const [percent, eligible, expected] of cases) {
        it(`${percent}% of ${eligible} is ${expected}`, () => {
            assert.equal(cohortSize(percent, eligible), expected);
        });
    }

    const bad: [number, number, RegExp][] = [
        [100.01, 10, /percent 100.01/],
        [-1, 10, /percent -1/],
        [7.125, 10, /two decimal places/],
        [Number.NaN, 10, /percent NaN/],
        [5, -1, /eligible -1/],
        [5, 1.5, /eligible 1.5/],
    ];
    for (const [percent, eligible, message] of bad) {
        it(`rejects percent ${percent}, eligible ${eligible}`, () => {
            assert.throws(() => cohortSize(percent, eligible), message);
        });
    }

    it("matches exact rational rounding for every two-decimal percent", () => {
        fc.assert(
            fc.property(percentArb, fc.nat({ max: 100000 }), (percent, n) => {
                assert.equal(cohortSize(percent, n), referenceSize(percent, n));
            }),
            { seed: SEED, numRuns: 2000 },
        );
    });

    it("minPercentForOneNode is the threshold where the cohort becomes non-empty", () => {
        assert.equal(minPercentForOneNode(0), undefined);
        for (const n of [1, 2, 3, 7, 13, 99, 100, 101, 5000, 13000]) {
            const p = minPercentForOneNode(n) as number;
            assert.equal(cohortSize(p, n), 1, `${p}% of ${n}`);
            assert.equal(cohortSize(Math.round(p * 100 - 1) / 100, n), 0, `below ${p}% of ${n}`);
        }
    });
});

describe("#defaultEpoch", () => {
    const cases: [string, string][] = [
        ["2025-01-31T23:59:59Z", "2025-01"],
        ["2025-02-01T00:00:00Z", "2025-02"],
        // Local time ahead of UTC: still January in UTC.
        ["2025-02-01T00:30:00+01:00", "2025-01"],
        // Local time behind UTC: already January in UTC.
        ["2024-12-31T23:30:00-01:00", "2025-01"],
        ["0999-07-04T12:00:00Z", "0999-07"],
    ];
    for (const [iso, expected] of cases) {
        it(`${iso} -> ${expected}`, () => assert.equal(defaultEpoch(new Date(iso)), expected));
    }
    it("rejects an invalid date", () => {
        assert.throws(() => defaultEpoch(new Date("not a date")), /invalid date/);
    });
});

describe("#selectCohort", () => {
    it("is pinned: the same fleet and epoch give this cohort in every version", () => {
        // Changing the hash input would silently re-roll every fleet's cohort: this test makes
        // such a change deliberate. The expected ids were checked with `printf | sha256sum`.
        assert.equal(
            nodeScore("sei-rpc-0", "2025-07"),
            "43266e43c499370ac311231187efad0c96a02662032d5a6b2792381457be9269",
        );
        const got = selectCohort({
            nodes: fleet({ "sei-rpc": 10, "sei-archive": 10 }),
            percent: 20,
            epoch: "2025-07",
        });
        assert.deepEqual(got.selected, [
            "sei-archive-2",
            "sei-archive-6",
            "sei-rpc-5",
            "sei-rpc-8",
        ]);
        assert.equal(got.eligible, 20);
        assert.deepEqual(got.warnings, []);
    });

    it("has exactly round(percent × eligible) members", () => {
        fc.assert(
            fc.property(fleetArb, percentArb, epochArb, (nodes, percent, epoch) => {
                const got = selectCohort({ nodes, percent, epoch });
                assert.equal(got.eligible, nodes.length);
                assert.equal(got.selected.length, referenceSize(percent, nodes.length));
                assert.equal(new Set(got.selected).size, got.selected.length);
                const ids = new Set(nodes.map(nodeId));
                for (const id of got.selected) assert.ok(ids.has(id), `${id} is not in the fleet`);
            }),
            { seed: SEED, numRuns: 500 },
        );
    });

    it("is stable: same inputs in any order give the same cohort", () => {
        const arb = fleetArb.chain((nodes) =>
            fc.tuple(
                fc.constant(nodes),
                fc.shuffledSubarray(nodes, { minLength: nodes.length, maxLength: nodes.length }),
            ),
        );
        fc.assert(
            fc.property(arb, percentArb, epochArb, ([nodes, shuffled], percent, epoch) => {
                const a = selectCohort({ nodes, percent, epoch });
                const b = selectCohort({ nodes: shuffled, percent, epoch });
                assert.deepEqual(b, a);
            }),
            { seed: SEED, numRuns: 300 },
        );
    });

    it("grows monotonically: raising percent only adds nodes", () => {
        fc.assert(
            fc.property(fleetArb, percentArb, percentArb, epochArb, (nodes, p1, p2, epoch) => {
                const [lo, hi] = p1 <= p2 ? [p1, p2] : [p2, p1];
                const small = selectCohort({ nodes, percent: lo, epoch }).selected;
                const large = new Set(selectCohort({ nodes, percent: hi, epoch }).selected);
                for (const id of small) assert.ok(large.has(id), `${id} left at ${hi}%`);
            }),
            { seed: SEED, numRuns: 500 },
        );
    });

    it("never picks opted-out groups or nodes, and does not count them", () => {
        const arb = fleetArb.chain((nodes) =>
            fc.tuple(fc.constant(nodes), fc.subarray(GROUPS), fc.subarray(nodes.map(nodeId))),
        );
        fc.assert(
            fc.property(arb, percentArb, epochArb, ([nodes, groups, ids], percent, epoch) => {
                const got = selectCohort({ nodes, percent, epoch, optOut: { groups, nodes: ids } });
                const out = (n: NodeIdentity) =>
                    groups.includes(n.group) || ids.includes(nodeId(n));
                const eligible = nodes.filter((n) => !out(n));
                assert.equal(got.eligible, eligible.length);
                assert.equal(got.selected.length, referenceSize(percent, eligible.length));
                for (const n of nodes.filter(out)) {
                    assert.ok(!got.selected.includes(nodeId(n)), `${nodeId(n)} opted out`);
                }
            }),
            { seed: SEED, numRuns: 500 },
        );
    });

    it("re-rolls: a different epoch gives a different cohort", () => {
        // 10 of 100 nodes: two independent draws coincide with probability 1/C(100,10) ≈ 6e-14,
        // so on fixed samples every pair must differ, and they should share about k²/n = 1 node.
        const nodes = fleet({ "sei-rpc": 40, "sei-archive": 30, val: 30 });
        let pairs = 0;
        let shared = 0;
        fc.assert(
            fc.property(epochArb, epochArb, (e1, e2) => {
                fc.pre(e1 !== e2);
                const a = selectCohort({ nodes, percent: 10, epoch: e1 }).selected;
                const b = new Set(selectCohort({ nodes, percent: 10, epoch: e2 }).selected);
                assert.notDeepEqual([...b].sort(), a, `epochs ${e1} and ${e2} gave one cohort`);
                pairs++;
                shared += a.filter((id) => b.has(id)).length;
            }),
            { seed: SEED, numRuns: 300 },
        );
        const meanShared = shared / pairs;
        assert.ok(meanShared > 0.5 && meanShared < 2, `mean overlap ${meanShared}, expected ~1`);
    });

    it("spreads the cohort over groups and nodes in proportion to their size", () => {
        // 400 monthly-style epochs over a fleet with unequal groups. Per epoch a group's count is
        // hypergeometric; summed over 400 epochs the standard deviation is ~2.5% of the mean, so
        // ±10% is about 4 sigma. Each node's expected count is 400 × 0.2 = 80 (sd 8): ±40 is 5 sigma.
        const groups = { "sei-rpc": 50, "sei-archive": 30, val: 20 };
        const nodes = fleet(groups);
        const byGroup = new Map<string, number>();
        const byNode = new Map<string, number>();
        const epochs = 400;
        for (let i = 0; i < epochs; i++) {
            const epoch = `${2000 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`;
            for (const id of selectCohort({ nodes, percent: 20, epoch }).selected) {
                const group = id.slice(0, id.lastIndexOf("-"));
                byGroup.set(group, (byGroup.get(group) ?? 0) + 1);
                byNode.set(id, (byNode.get(id) ?? 0) + 1);
            }
        }
        for (const [group, size] of Object.entries(groups)) {
            const expected = epochs * 20 * (size / nodes.length);
            const got = byGroup.get(group) ?? 0;
            assert.ok(
                Math.abs(got - expected) <= 0.1 * expected,
                `${group}: ${got} vs ${expected}`,
            );
        }
        for (const n of nodes) {
            const got = byNode.get(nodeId(n)) ?? 0;
            assert.ok(got >= 40 && got <= 120, `${nodeId(n)} picked ${got} times, expected ~80`);
        }
    });

    it("warns when the cohort rounds to zero, naming the percent that selects one node", () => {
        const got = selectCohort({ nodes: fleet({ val: 3 }), percent: 5, epoch: "2025-07" });
        assert.deepEqual(got.selected, []);
        assert.equal(got.warnings.length, 1);
        assert.match(got.warnings[0], /5% of 3 eligible nodes rounds to 0.*16\.67%/);
        // percent 0 is a deliberate "off": no warning.
        assert.deepEqual(
            selectCohort({ nodes: fleet({ val: 3 }), percent: 0, epoch: "e" }).warnings,
            [],
        );
    });

    it("warns about opt-outs that match nothing (typos)", () => {
        const got = selectCohort({
            nodes: fleet({ val: 2 }),
            percent: 50,
            epoch: "e",
            optOut: { groups: ["vals"], nodes: ["val-7", "val-1"] },
        });
        assert.deepEqual(got.warnings, [
            'preprod.optOut.groups: "vals" matches no node group',
            'preprod.optOut.nodes: "val-7" matches no node',
        ]);
        assert.deepEqual(got.selected, ["val-0"]);
    });

    it("rejects malformed input, listing every problem", () => {
        assert.throws(
            () =>
                selectCohort({
                    nodes: [
                        { group: "val", ordinal: 0 },
                        { group: "val", ordinal: 0 },
                        { group: "Val_X", ordinal: 1 },
                        { group: "val", ordinal: -1 },
                    ],
                    percent: 7.125,
                    epoch: "a b",
                }),
            (err: Error) => {
                for (const part of [
                    "percent: 7.125",
                    'epoch: "a b"',
                    'nodes[1]: duplicate node id "val-0"',
                    'nodes[2].group: "Val_X"',
                    "nodes[3].ordinal: -1",
                ]) {
                    assert.ok(err.message.includes(part), `missing ${part} in ${err.message}`);
                }
                return true;
            },
        );
    });
});

describe("#PreprodConfigSchema", () => {
    const IMAGE = "ghcr.io/sei-protocol/sei:v6.4.0-rc1";
    const valid: [string, unknown][] = [
        ["percent only", { percent: 7 }],
        ["zero", { percent: 0 }],
        ["two decimals", { percent: 2.55 }],
        [
            "everything",
            {
                percent: 100,
                image: IMAGE,
                images: { "sei-rpc": `ghcr.io/sei-protocol/sei@sha256:${"a".repeat(64)}` },
                epoch: "2025-07",
                optOut: { groups: ["validators"], nodes: ["sei-rpc-0", "sei-archive-12"] },
            },
        ],
    ];
    for (const [name, config] of valid) {
        it(`accepts ${name}`, () => assert.ok(PreprodConfigSchema.safeParse(config).success));
    }

    // [name, config, path of the issue, message fragment]
    const invalid: [string, unknown, string, RegExp][] = [
        ["missing percent", {}, "percent", /expected number/],
        ["percent over 100", { percent: 101 }, "percent", /<=100/],
        ["negative percent", { percent: -1 }, "percent", />=0/],
        ["three decimals", { percent: 7.125 }, "percent", /two decimal places/],
        ["percent as string", { percent: "7" }, "percent", /expected number/],
        ["unknown key", { percent: 7, percnt: 8 }, "", /percnt/],
        ["unknown optOut key", { percent: 7, optOut: { group: ["a"] } }, "optOut", /group/],
        [
            "bad node id",
            { percent: 7, optOut: { nodes: ["sei-rpc"] } },
            "optOut.nodes.0",
            /<group>-<ordinal>/,
        ],
        ["bad group", { percent: 7, optOut: { groups: ["Sei"] } }, "optOut.groups.0", /DNS-1123/],
        ["bad image", { percent: 7, image: "Ghcr.io/x:y z" }, "image", /whitespace/],
        [
            "bad digest",
            { percent: 7, images: { val: "x@sha256:abc" } },
            "images.val",
            /64 lower-case hex/,
        ],
        ["bad images key", { percent: 7, images: { Val: IMAGE } }, "images.Val", /group names/],
        ["epoch with a space", { percent: 7, epoch: "2025 07" }, "epoch", /1-64 characters/],
        ["empty epoch", { percent: 7, epoch: "" }, "epoch", /1-64 characters/],
    ];
    for (const [name, config, path, message] of invalid) {
        it(`rejects ${name} at "${path}"`, () => {
            const result = PreprodConfigSchema.safeParse(config);
            assert.ok(!result.success, "expected a failure");
            const issue = result.error.issues.find((i) => i.path.join(".") === path);
            assert.ok(issue, `no issue at "${path}": ${JSON.stringify(result.error.issues)}`);
            assert.match(issue.message, message);
        });
    }
});

describe("#preprodImageFor / #selectPreprodCohort", () => {
    it("prefers the group's image, then the shared one", () => {
        const config = PreprodConfigSchema.parse({
            percent: 7,
            image: "a:1",
            images: { b: "b:2" },
        });
        assert.equal(preprodImageFor(config, "b"), "b:2");
        assert.equal(preprodImageFor(config, "c"), "a:1");
        assert.equal(preprodImageFor(PreprodConfigSchema.parse({ percent: 7 }), "c"), undefined);
    });

    it("defaults the epoch to the UTC month of now, and an explicit epoch wins", () => {
        const nodes = fleet({ val: 30 });
        const now = new Date("2025-07-15T10:00:00Z");
        const implicit = selectPreprodCohort({ percent: 20 }, nodes, now);
        assert.equal(implicit.epoch, "2025-07");
        assert.deepEqual(implicit, selectCohort({ nodes, percent: 20, epoch: "2025-07" }));
        assert.equal(selectPreprodCohort({ percent: 20, epoch: "x" }, nodes, now).epoch, "x");
    });
});
