/**
 * The preprod cohort as declared: each group gives its top ordinals (the only nodes a StatefulSet
 * can give up) to a set of its own that runs the preprod image and the `chainfleet.io/preprod=true`
 * label; the rendezvous draw decides only how many each group gives.
 */
import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { StackConfig, parseStackConfig } from "../../config";
import { nodeId } from "../../lib/cohort";
import { PreprodPlan, planPreprod } from "../../lib/preprod";
import { Recorder, settled, useRecordingMocks } from "./support/mocks";

const NEXT = "ghcr.io/sei-protocol/sei:v6.2.0";
const NOW = new Date("2026-11-22T00:00:00Z");
const CURRENT = "ghcr.io/sei-protocol/sei:v6.1.0";
// Fixed seed: a failure is a change in behaviour, never bad luck.
const SEED = 20261122;

/** Ids `<group>-<from>` … `<group>-<to - 1>`. */
function ordinals(group: string, from: number, to: number): string[] {
    return Array.from({ length: Math.max(0, to - from) }, (_, i) => `${group}-${from + i}`);
}

/** A stack of the given groups (name → replicas) and preprod config. */
function fleetStack(groups: Record<string, number>, preprod: Record<string, unknown>): StackConfig {
    return parseStackConfig({
        network: "pacific",
        chain: "sei",
        chainId: "atlantic-2",
        groups: Object.fromEntries(
            Object.entries(groups).map(([name, replicas]) => [
                name,
                { replicas, image: CURRENT, storage: { size: "1Ti" } },
            ]),
        ),
        preprod,
    });
}

/** round-half-up(percent/100 × n) by exact rational arithmetic, independent of cohortSize. */
function referenceSize(percent: number, n: number): number {
    const bp = BigInt(Math.round(percent * 100));
    return Number((2n * bp * BigInt(n) + 10000n) / 20000n);
}

/** `1 node`, `2 nodes`. */
function count(n: number): string {
    return n === 1 ? "1 node" : `${n} nodes`;
}

/** The displaced nodes: the union of the groups' `nodes`. */
function displaced(plan: PreprodPlan): string[] {
    return Object.values(plan.groups).flatMap((g) => g.nodes);
}

function stack(preprod: Record<string, unknown>): StackConfig {
    return parseStackConfig({
        network: "pacific",
        chain: "sei",
        chainId: "atlantic-2",
        groups: {
            rpc: {
                replicas: 20,
                image: "ghcr.io/sei-protocol/sei:v6.1.0",
                storage: { size: "1Ti" },
            },
            archive: {
                replicas: 20,
                image: "ghcr.io/sei-protocol/sei:v6.1.0",
                storage: { size: "8Ti" },
            },
        },
        preprod,
    });
}

describe("planPreprod", () => {
    it("draws the rounded share of the fleet and counts it per group", () => {
        const plan = planPreprod(stack({ percent: 10, image: NEXT, epoch: "2026-11" }), NOW)!;
        assert.equal(plan.selection.selected.length, 4, "10% of 40 nodes");
        const perGroup = Object.values(plan.groups).reduce((n, g) => n + g.replicas, 0);
        assert.equal(perGroup, 4);
        for (const [group, cohort] of Object.entries(plan.groups)) {
            assert.equal(cohort.image, NEXT);
            assert.deepEqual(cohort.nodes, ordinals(group, 20 - cohort.replicas, 20));
        }
    });

    it("leaves out groups without a preprod image and opted-out groups", () => {
        const onlyRpc = planPreprod(stack({ percent: 50, images: { rpc: NEXT } }), NOW)!;
        assert.deepEqual(Object.keys(onlyRpc.groups), ["rpc"]);
        assert.equal(onlyRpc.groups.rpc.replicas, 10, "50% of the 20 eligible nodes");
        const optedOut = planPreprod(
            stack({ percent: 50, image: NEXT, optOut: { groups: ["rpc"] } }),
            NOW,
        )!;
        assert.deepEqual(Object.keys(optedOut.groups), ["archive"]);
    });

    it("is the same on every run with the same inputs", () => {
        const a = planPreprod(stack({ percent: 10, image: NEXT }), NOW)!;
        const b = planPreprod(
            stack({ percent: 10, image: NEXT }),
            new Date("2026-11-30T23:59:59Z"),
        )!;
        assert.deepEqual(a.selection.selected, b.selection.selected, "same month, same cohort");
    });

    it("is undefined without preprod config", () => {
        assert.equal(
            planPreprod(
                parseStackConfig({ network: "n", chain: "sei", chainId: "atlantic-2", groups: {} }),
                NOW,
            ),
            undefined,
        );
    });
});

describe("planPreprod: a group's cohort is its top ordinals", () => {
    interface Case {
        name: string;
        groups: Record<string, number>;
        preprod: Record<string, unknown>;
        /** Per group that gives nodes: [nodes, pods]. */
        expected: Record<string, [string[], string[]]>;
        /** Every warning, in order. */
        warnings: RegExp[];
    }
    const cases: Case[] = [
        {
            // The bug: the draw named inner nodes, but the shrunk set dropped rpc-18 and rpc-19.
            name: "20 nodes at 10%: rpc-18 and rpc-19 leave, two preprod pods replace them",
            groups: { rpc: 20 },
            preprod: { percent: 10, image: NEXT, epoch: "2026-11" },
            expected: {
                rpc: [
                    ["rpc-18", "rpc-19"],
                    ["rpc-preprod-0", "rpc-preprod-1"],
                ],
            },
            warnings: [
                /^rpc: 2 nodes \(rpc-18 and rpc-19\) leave the rpc set for the preprod cohort, and 2 pods \(rpc-preprod-0 and rpc-preprod-1\) run ghcr\.io\/sei-protocol\/sei:v6\.2\.0 in their place; the data volumes of the nodes that leave are deleted with them, and the preprod pods start on new volumes$/,
            ],
        },
        {
            // The bug: rpc-19 was opted out, yet shrinking the set by one removed it.
            name: "20 nodes, rpc-19 opted out, 5%: rpc gives nothing, and the preview says why",
            groups: { rpc: 20 },
            preprod: { percent: 5, image: NEXT, optOut: { nodes: ["rpc-19"] } },
            expected: {},
            warnings: [
                /^preprod\.optOut\.nodes: "rpc-19" also keeps the 19 nodes below it \(rpc-0 to rpc-18\) out of the cohort: a StatefulSet gives up only its highest ordinals, so they can never be picked; rpc has no node above it, so it gives none$/,
            ],
        },
        {
            name: "an opt-out in the middle: only the nodes above it can go",
            groups: { rpc: 20 },
            preprod: { percent: 50, image: NEXT, optOut: { nodes: ["rpc-15", "rpc-3"] } },
            expected: { rpc: [ordinals("rpc", 18, 20), ordinals("rpc-preprod", 0, 2)] },
            warnings: [
                /"rpc-15" also keeps the 14 nodes below it \(rpc-0 to rpc-14\) out .*; the 4 above it \(rpc-16 to rpc-19\) still can$/,
                /^rpc: 2 nodes \(rpc-18 and rpc-19\) leave/,
            ],
        },
        {
            name: "an opt-out of ordinal 0 keeps no other node out, so it says nothing",
            groups: { rpc: 20 },
            preprod: { percent: 10, image: NEXT, optOut: { nodes: ["rpc-0"] } },
            expected: { rpc: [ordinals("rpc", 18, 20), ordinals("rpc-preprod", 0, 2)] },
            warnings: [/^rpc: 2 nodes \(rpc-18 and rpc-19\) leave/],
        },
        {
            name: "an opt-out of a node outside the fleet keeps cohort.ts's warning, no more",
            groups: { rpc: 20 },
            preprod: { percent: 10, image: NEXT, optOut: { nodes: ["rpc-25"] } },
            expected: { rpc: [ordinals("rpc", 18, 20), ordinals("rpc-preprod", 0, 2)] },
            warnings: [
                /^preprod\.optOut\.nodes: "rpc-25" matches no node$/,
                /^rpc: 2 nodes \(rpc-18 and rpc-19\) leave/,
            ],
        },
        {
            name: "one node: rpc-19 leaves, one preprod pod takes its place",
            groups: { rpc: 20 },
            preprod: { percent: 5, image: NEXT },
            expected: { rpc: [["rpc-19"], ["rpc-preprod-0"]] },
            warnings: [
                /^rpc: 1 node \(rpc-19\) leaves the rpc set for the preprod cohort, and 1 pod \(rpc-preprod-0\) runs \S+ in its place; the data volume of the node that leaves is deleted with it/,
            ],
        },
        {
            name: "three or more nodes are named as a range, with their count",
            groups: { rpc: 20 },
            preprod: { percent: 25, image: NEXT },
            expected: { rpc: [ordinals("rpc", 15, 20), ordinals("rpc-preprod", 0, 5)] },
            warnings: [
                /^rpc: 5 nodes \(rpc-15 to rpc-19\) leave .* 5 pods \(rpc-preprod-0 to rpc-preprod-4\) run .* the data volumes of the nodes that leave are deleted/,
            ],
        },
        {
            name: "an opted-out group and a group without an image give nothing",
            groups: { rpc: 10, archive: 10, val: 10 },
            preprod: {
                percent: 100,
                images: { rpc: NEXT, val: NEXT },
                optOut: { groups: ["val"] },
            },
            expected: { rpc: [ordinals("rpc", 0, 10), ordinals("rpc-preprod", 0, 10)] },
            warnings: [/^rpc: 10 nodes \(rpc-0 to rpc-9\) leave/],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const plan = planPreprod(fleetStack(c.groups, c.preprod), NOW)!;
            const got = Object.fromEntries(
                Object.entries(plan.groups).map(([g, cohort]) => [g, [cohort.nodes, cohort.pods]]),
            );
            assert.deepEqual(got, c.expected);
            for (const [group, [nodes]] of Object.entries(c.expected)) {
                assert.equal(plan.groups[group].replicas, nodes.length);
            }
            assert.deepEqual(plan.selection.selected, displaced(plan).sort());
            assert.equal(
                plan.selection.warnings.length,
                c.warnings.length,
                plan.selection.warnings.join("\n"),
            );
            c.warnings.forEach((re, i) => assert.match(plan.selection.warnings[i], re));
        });
    }
});

/** A random fleet: up to four groups, images for all or some, opt-outs, percent and epoch. */
interface Scenario {
    groups: { name: string; replicas: number; image: boolean }[];
    /** One image for every group; else `images` for the groups with `image`. */
    shared: boolean;
    optGroups: string[];
    /** Some name nodes outside the fleet (ordinal ≥ replicas). */
    optNodes: { group: string; ordinal: number }[];
    percent: number;
    epoch: string;
}

// Hyphenated names that prefix each other, so a node id parsed by the wrong hyphen would show.
const GROUP_NAMES = ["rpc", "sei", "sei-rpc", "sei-rpc-2"];
const percentArb = fc.integer({ min: 0, max: 10000 }).map((bp) => bp / 100);
const epochArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/);
const scenarioArb: fc.Arbitrary<Scenario> = fc
    .uniqueArray(
        fc.record({
            name: fc.constantFrom(...GROUP_NAMES),
            replicas: fc.integer({ min: 1, max: 25 }),
            image: fc.boolean(),
        }),
        { selector: (g) => g.name, minLength: 1, maxLength: GROUP_NAMES.length },
    )
    .chain((groups) =>
        fc.record({
            groups: fc.constant(groups),
            shared: fc.boolean(),
            optGroups: fc.subarray(
                groups.map((g) => g.name),
                { maxLength: Math.min(2, groups.length) },
            ),
            optNodes: fc.uniqueArray(
                fc.record({
                    group: fc.constantFrom(...groups.map((g) => g.name)),
                    ordinal: fc.nat({ max: 30 }),
                }),
                { selector: nodeId, maxLength: 4 },
            ),
            percent: percentArb,
            epoch: epochArb,
        }),
    );

function imageOf(s: Scenario, group: string): string | undefined {
    return s.shared
        ? NEXT
        : s.groups.find((g) => g.name === group && g.image) && `${NEXT}-${group}`;
}

/** The stack config of `s`; `reversed` lists groups and opt-outs in the opposite order. */
function configOf(s: Scenario, reversed = false): StackConfig {
    const order = <T>(xs: T[]): T[] => (reversed ? [...xs].reverse() : xs);
    return parseStackConfig({
        network: "pacific",
        chain: "sei",
        chainId: "atlantic-2",
        groups: Object.fromEntries(
            order(s.groups).map((g) => [
                g.name,
                { replicas: g.replicas, image: CURRENT, storage: { size: "1Ti" } },
            ]),
        ),
        preprod: {
            percent: s.percent,
            epoch: s.epoch,
            ...(s.shared
                ? { image: NEXT }
                : {
                      images: Object.fromEntries(
                          order(s.groups.filter((g) => g.image)).map((g) => [
                              g.name,
                              imageOf(s, g.name),
                          ]),
                      ),
                  }),
            optOut: { groups: order(s.optGroups), nodes: order(s.optNodes.map(nodeId)) },
        },
    });
}

function takesPart(s: Scenario, group: string): boolean {
    return imageOf(s, group) !== undefined && !s.optGroups.includes(group);
}

/** Independently of lib/preprod.ts: each group's eligible ordinals, [first, replicas). */
function eligibleRange(s: Scenario, group: { name: string; replicas: number }): [number, number] {
    if (!takesPart(s, group.name)) {
        return [group.replicas, group.replicas];
    }
    const opted = s.optNodes
        .filter((n) => n.group === group.name && n.ordinal < group.replicas)
        .map((n) => n.ordinal);
    return [Math.max(-1, ...opted) + 1, group.replicas];
}

function plan(s: Scenario): PreprodPlan {
    return planPreprod(configOf(s), NOW)!;
}

describe("planPreprod properties", () => {
    it("(a) displaces exactly round-half-up(percent × eligible) nodes", () => {
        fc.assert(
            fc.property(scenarioArb, (s) => {
                const eligible = s.groups
                    .map((g) => eligibleRange(s, g))
                    .reduce((n, [from, to]) => n + to - from, 0);
                const p = plan(s);
                assert.equal(p.selection.eligible, eligible);
                assert.equal(displaced(p).length, referenceSize(s.percent, eligible));
                assert.deepEqual(p.selection.selected, displaced(p).sort());
            }),
            { seed: SEED, numRuns: 300 },
        );
    });

    it("(b) a group gives its top ordinals and keeps exactly what its shrunk set keeps", () => {
        fc.assert(
            fc.property(scenarioArb, (s) => {
                const p = plan(s);
                for (const g of s.groups) {
                    const cohort = p.groups[g.name];
                    const k = cohort?.replicas ?? 0;
                    const [first] = eligibleRange(s, g);
                    assert.ok(k <= g.replicas - first, `${g.name} gives more than is eligible`);
                    if (!cohort) continue;
                    assert.ok(k > 0, "a group that gives nothing is absent");
                    assert.equal(cohort.image, imageOf(s, g.name));
                    assert.deepEqual(cohort.nodes, ordinals(g.name, g.replicas - k, g.replicas));
                    // A StatefulSet of replicas - k runs ordinals 0 … replicas-k-1: the rest.
                    const kept = ordinals(g.name, 0, g.replicas - k);
                    assert.deepEqual([...kept, ...cohort.nodes], ordinals(g.name, 0, g.replicas));
                }
            }),
            { seed: SEED, numRuns: 300 },
        );
    });

    it("(c) never displaces an opted-out node or a node of an opted-out group", () => {
        fc.assert(
            fc.property(scenarioArb, (s) => {
                const p = plan(s);
                const optedOut = new Set(s.optNodes.map(nodeId));
                for (const g of s.optGroups) assert.equal(p.groups[g], undefined, g);
                for (const id of displaced(p)) assert.ok(!optedOut.has(id), `${id} opted out`);
            }),
            { seed: SEED, numRuns: 300 },
        );
    });

    it("(c) warns about an opt-out exactly when it keeps lower nodes out", () => {
        fc.assert(
            fc.property(scenarioArb, (s) => {
                const p = plan(s);
                const optedOut = new Set(s.optNodes.map(nodeId));
                for (const g of s.groups) {
                    const [first] = eligibleRange(s, g);
                    // Only a group that takes part can lose eligible nodes to an opt-out.
                    const shadowed = takesPart(s, g.name)
                        ? ordinals(g.name, 0, first - 1).filter((id) => !optedOut.has(id))
                        : [];
                    // `"<group>-<digits>"`, so sei-rpc's warnings never count sei-rpc-2's.
                    const own = new RegExp(
                        `^preprod\\.optOut\\.nodes: "${g.name}-\\d+" also keeps `,
                    );
                    const about = p.selection.warnings.filter((w) => own.test(w));
                    assert.equal(
                        about.length,
                        shadowed.length > 0 ? 1 : 0,
                        p.selection.warnings.join("\n"),
                    );
                    if (shadowed.length === 0) continue;
                    assert.ok(
                        about[0].startsWith(`preprod.optOut.nodes: "${g.name}-${first - 1}"`),
                    );
                    assert.ok(
                        about[0].includes(`${count(shadowed.length)} below it (${shadowed[0]}`),
                        about[0],
                    );
                }
            }),
            { seed: SEED, numRuns: 300 },
        );
    });

    it("(d) raising percent only adds displaced nodes", () => {
        fc.assert(
            fc.property(scenarioArb, percentArb, (s, other) => {
                const [lo, hi] = s.percent <= other ? [s.percent, other] : [other, s.percent];
                const small = displaced(plan({ ...s, percent: lo }));
                const large = new Set(displaced(plan({ ...s, percent: hi })));
                for (const id of small) assert.ok(large.has(id), `${id} left at ${hi}%`);
            }),
            { seed: SEED, numRuns: 200 },
        );
    });

    it("(e) the same inputs in any order give the same plan", () => {
        fc.assert(
            fc.property(scenarioArb, (s) => {
                const a = planPreprod(configOf(s), NOW)!;
                const b = planPreprod(configOf(s, true), NOW)!;
                assert.deepEqual(b, a);
                assert.deepEqual(Object.keys(b.groups), Object.keys(a.groups));
            }),
            { seed: SEED, numRuns: 200 },
        );
    });

    it("(g) runs one preprod pod per displaced node, named <group>-preprod-<i>", () => {
        fc.assert(
            fc.property(scenarioArb, (s) => {
                for (const [group, cohort] of Object.entries(plan(s).groups)) {
                    assert.equal(cohort.nodes.length, cohort.replicas);
                    assert.deepEqual(cohort.pods, ordinals(`${group}-preprod`, 0, cohort.replicas));
                }
            }),
            { seed: SEED, numRuns: 200 },
        );
    });

    it("(h) warns, per group that gives nodes, which nodes and volumes go", () => {
        fc.assert(
            fc.property(scenarioArb, (s) => {
                const p = plan(s);
                const givers = p.selection.warnings.filter((w) =>
                    /^[a-z0-9-]+: \d+ nodes? \(/.test(w),
                );
                assert.equal(givers.length, Object.keys(p.groups).length);
                for (const [group, c] of Object.entries(p.groups)) {
                    const w = givers.find((x) => x.startsWith(`${group}: `));
                    assert.ok(w, `no warning for ${group}`);
                    const [first, last] = [c.nodes[0], c.nodes[c.nodes.length - 1]];
                    const named = c.replicas <= 2 ? c.nodes : [first, last];
                    for (const id of named) {
                        assert.ok(w.includes(`${id} `) || w.includes(`${id})`), `${id} in ${w}`);
                    }
                    assert.ok(w.startsWith(`${group}: ${count(c.replicas)} (${first}`), w);
                    assert.match(
                        w,
                        /deleted with (it|them), and the preprod pods start on new volumes$/,
                    );
                }
            }),
            { seed: SEED, numRuns: 200 },
        );
    });
});

describe("planPreprod epochs", () => {
    const perGroup = (p: PreprodPlan) =>
        Object.fromEntries(Object.entries(p.groups).map(([g, c]) => [g, c.replicas]));

    it("(f) a new epoch can move the cohort between groups of a multi-group fleet", () => {
        const at = (epoch: string) =>
            planPreprod(
                fleetStack({ rpc: 20, archive: 20 }, { percent: 10, image: NEXT, epoch }),
                NOW,
            )!;
        const first = at("2026-01");
        const months = Array.from(
            { length: 24 },
            (_, i) => `${2026 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`,
        );
        const moved = months.find((e) => !isDeepStrictEqual(perGroup(at(e)), perGroup(first)));
        assert.ok(moved, `24 months gave one split: ${JSON.stringify(perGroup(first))}`);
        assert.equal(displaced(at(moved)).length, 4, "the size does not move with it");
    });

    it("(f) a one-group fleet's cohort does not move with the epoch", () => {
        for (const epoch of ["2026-01", "2026-02", "2027-07", "x"]) {
            const p = planPreprod(
                fleetStack({ rpc: 20 }, { percent: 10, image: NEXT, epoch }),
                NOW,
            )!;
            assert.deepEqual(displaced(p), ["rpc-18", "rpc-19"], epoch);
        }
    });
});

describe("preprod cohort under mocks", () => {
    const mocks: Recorder = useRecordingMocks();

    it("runs the cohort as its own labelled set and shrinks the group's set by as much", async () => {
        const { Fleet } = await import("../../components/Fleet");
        const config = stack({ percent: 10, image: NEXT, epoch: "2026-11" });
        const preprod = planPreprod(config, NOW)!;
        mocks.reset();
        const fleet = new Fleet("pacific", { config, preprod });
        await settled(fleet, mocks);
        const sets = mocks.resources
            .filter((r) => r.type === "kubernetes:apps/v1:StatefulSet")
            .map((r) => r.inputs);
        const volumes = mocks.resources
            .filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim")
            .map((r) => r.inputs.metadata.name as string);
        assert.ok(Object.keys(preprod.groups).length > 0, "the example must displace nodes");
        for (const [group, cohort] of Object.entries(preprod.groups)) {
            const main = sets.find((s) => s.metadata.name === group)!;
            const pre = sets.find((s) => s.metadata.name === `${group}-preprod`)!;
            assert.equal(main.spec.replicas, 20 - cohort.replicas);
            assert.equal(pre.spec.replicas, cohort.replicas);
            // What the shrunk set keeps is exactly the nodes the plan did not displace: the
            // displaced nodes' volumes are no longer declared, and the pods get their own.
            const kept = ordinals(group, 0, 20).filter((id) => !cohort.nodes.includes(id));
            const mainVolumes = volumes.filter((v) => new RegExp(`^data-${group}-\\d+$`).test(v));
            assert.deepEqual(
                mainVolumes.filter((v) => v.startsWith(`data-${group}-`)).sort(),
                kept.map((id) => `data-${id}`).sort(),
            );
            assert.deepEqual(
                volumes.filter((v) => v.startsWith(`data-${group}-preprod-`)).sort(),
                cohort.pods.map((pod) => `data-${pod}`).sort(),
            );
            assert.equal(pre.spec.template.spec.containers[0].image, NEXT);
            assert.equal(pre.spec.template.metadata.labels["chainfleet.io/preprod"], "true");
            assert.equal(main.spec.template.metadata.labels["chainfleet.io/preprod"], undefined);
            assert.notDeepEqual(pre.spec.selector.matchLabels, main.spec.selector.matchLabels);
        }
    });

    it("restores a group's snapshot with the checksum-verifying init container", async () => {
        const { Fleet } = await import("../../components/Fleet");
        const sha256 = "a".repeat(64);
        const config = parseStackConfig({
            network: "pacific",
            chain: "sei",
            chainId: "atlantic-2",
            groups: {
                rpc: {
                    replicas: 1,
                    image: "ghcr.io/sei-protocol/sei:v6.1.0",
                    storage: { size: "1Ti" },
                    snapshot: { url: "https://snapshots.example.org/pacific.tar.gz", sha256 },
                },
            },
        });
        mocks.reset();
        const fleet = new Fleet("pacific", { config });
        await settled(fleet, mocks);
        const sts = mocks.resources.find(
            (r) => r.type === "kubernetes:apps/v1:StatefulSet",
        )!.inputs;
        const [restore] = sts.spec.template.spec.initContainers;
        assert.equal(restore.image, config.snapshotImage);
        assert.ok(
            JSON.stringify(restore.env).includes(sha256),
            "the expected digest reaches the script",
        );
        const cm = mocks.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap")!.inputs;
        assert.match(cm.data["snapshot-restore.sh"], /sha256/);
        assert.match(
            sts.spec.template.metadata.annotations["chainfleet.io/snapshot-script-sha256"],
            /^[0-9a-f]{64}$/,
        );
    });
});
