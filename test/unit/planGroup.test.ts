/**
 * lib/planGroup.ts without an engine: tables of what each kind of plan declares, then properties
 * over random configs, incumbents and cohorts (the arithmetic: halt heights, replica counts,
 * selectors and child names), in the manner of pulumi-awsx's subnetDistributorNew.test.ts.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { buildNodeGroup } from "../../lib/manifests";
import { ConfigError, parseStackConfig } from "../../config";
import type { GroupConfig } from "../../config/schema";
import type { Incumbent } from "../../lib/plan";
import { GroupPlan, planGroup } from "../../lib/planGroup";
import type { GroupCohort } from "../../lib/preprod";

type Strategy = "Rolling" | "BlueGreen" | "HardFork";

function groupConfig(
    update: Record<string, unknown>,
    group: Record<string, unknown> = {},
): GroupConfig {
    return parseStackConfig({
        network: "testnet",
        chain: "sei",
        chainId: "atlantic-2",
        groups: {
            rpc: {
                replicas: 3,
                image: "ghcr.io/sei-protocol/sei:v6.1.0",
                storage: { size: "100Gi" },
                update,
                ...group,
            },
        },
    }).groups.rpc;
}

function plan(config: GroupConfig, incumbent?: Incumbent, cohort?: GroupCohort): GroupPlan {
    return planGroup({
        name: "testnet-rpc",
        network: "testnet",
        namespace: "chains",
        chain: "sei",
        group: "rpc",
        config,
        incumbent,
        cohort,
    });
}

const OLD_IMAGE = "ghcr.io/sei-protocol/sei:v6.0.0";
const hardFork = {
    strategy: "HardFork",
    entrantVolumes: "genesis",
    haltHeight: 1000,
    upgradeName: "v6.1.0",
};
const elsewhere: Incumbent = { set: "rpc-aaaaaaaa", revision: "aaaaaaaa", image: OLD_IMAGE };
const switched: Incumbent = { ...elsewhere, switchedAt: "2026-01-01T00:00:00Z" };

describe("planGroup: what each plan declares", () => {
    const cases: {
        name: string;
        update: Record<string, unknown>;
        /** The incumbent, or a function of the plan's own set (steady states). */
        incumbent?: Incumbent | ((set: string, revision: string) => Incumbent);
        kind: string;
        bootstraps: number;
        records: boolean;
        settled?: boolean;
        rollout: boolean;
    }[] = [
        {
            name: "first Rolling deployment",
            update: { strategy: "Rolling" },
            kind: "create",
            bootstraps: 0,
            records: false,
            rollout: true,
        },
        {
            name: "first HardFork deployment: nothing to bootstrap from",
            update: hardFork,
            kind: "create",
            bootstraps: 0,
            records: false,
            rollout: false,
        },
        {
            name: "BlueGreen from another set",
            update: { strategy: "BlueGreen" },
            incumbent: elsewhere,
            kind: "blueGreen",
            bootstraps: 0,
            records: true,
            rollout: false,
        },
        {
            name: "HardFork from another set",
            update: hardFork,
            incumbent: elsewhere,
            kind: "hardFork",
            bootstraps: 3,
            records: true,
            settled: false,
            rollout: false,
        },
        {
            name: "HardFork over: the records stay, settled",
            update: hardFork,
            incumbent: (set, revision) => ({ ...switched, set, revision }),
            kind: "steady",
            bootstraps: 3,
            records: true,
            settled: true,
            rollout: false,
        },
        {
            name: "Rolling in place",
            update: { strategy: "Rolling" },
            incumbent: (set) => ({ set, revision: "aaaaaaaa" }),
            kind: "inPlace",
            bootstraps: 0,
            records: false,
            rollout: true,
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const config = groupConfig(c.update);
            const probe = plan(config);
            const incumbent =
                typeof c.incumbent === "function"
                    ? c.incumbent(probe.nodeSet.statefulSetName, probe.revision)
                    : c.incumbent;
            const p = plan(config, incumbent);
            assert.equal(p.upgrade.kind, c.kind);
            assert.deepEqual(p.problems, []);
            assert.equal(p.bootstraps.length, c.bootstraps);
            assert.equal(p.gate !== undefined, c.records, "gate");
            assert.equal(p.trafficSwitch !== undefined, c.records, "switch");
            assert.equal(p.rollout !== undefined, c.rollout, "rollout");
            if (c.settled !== undefined) {
                assert.equal(p.gate?.settled, c.settled);
                for (const b of p.bootstraps) {
                    assert.equal(b.settled, c.settled);
                    assert.equal(b.job === undefined, c.settled, "a settled bootstrap has no Job");
                }
            }
        });
    }

    it("HardFork: the bootstrap names H and H-1 apart, and the entrant learns H", () => {
        const p = plan(groupConfig(hardFork), elsewhere);
        assert.deepEqual(
            p.bootstraps.map((b) => [
                b.resourceName,
                b.pvcName,
                b.upgradeHeight,
                b.haltAfterHeight,
            ]),
            [0, 1, 2].map((i) => [
                `testnet-rpc-bootstrap-${i}`,
                `data-${p.nodeSet.statefulSetName}-${i}`,
                1000,
                999,
            ]),
        );
        assert.deepEqual(p.nodeSet.input.upgradeInfo, { name: "v6.1.0", height: 1000 });
        assert.equal(p.gate?.mode, "running");
        assert.deepEqual(p.gate?.incumbentSelector?.["chainfleet.io/set"], "rpc-aaaaaaaa");
    });

    it("HardFork without a known incumbent image: a problem naming the fix, no Job", () => {
        const p = plan(groupConfig(hardFork), { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" });
        assert.equal(p.problems.length, 1);
        assert.match(p.problems[0], /set update\.bootstrapImage/);
        assert.ok(p.bootstraps.every((b) => b.job === undefined));
    });

    it("direct gate URLs map to the pods of the entrant and of the incumbent", () => {
        const config = groupConfig({
            strategy: "BlueGreen",
            gate: {
                rpc: "direct",
                directUrls: ["http://e0:26657"],
                incumbentUrls: ["http://i0:26657"],
            },
        });
        const p = plan(config, elsewhere);
        assert.deepEqual(p.gate?.directUrls, {
            [`${p.nodeSet.statefulSetName}-0`]: "http://e0:26657",
            "rpc-aaaaaaaa-0": "http://i0:26657",
        });
    });
});

describe("planGroup: entrant volumes", () => {
    const dataSources = (p: GroupPlan) =>
        buildNodeGroup(p.nodeSet.input).pvcs.map(
            (pvc) => (pvc.spec as { dataSource?: { kind: string; name: string } }).dataSource,
        );
    const cases: {
        name: string;
        update: Record<string, unknown>;
        incumbent?: Incumbent;
        want: (string | undefined)[];
    }[] = [
        {
            name: "cloneIncumbent: each entrant volume clones the incumbent's of its ordinal, wrapping",
            update: { ...hardFork, entrantVolumes: "cloneIncumbent" },
            incumbent: { ...elsewhere, replicas: 2 },
            want: ["data-rpc-aaaaaaaa-0", "data-rpc-aaaaaaaa-1", "data-rpc-aaaaaaaa-0"],
        },
        {
            name: "cloneIncumbent on BlueGreen too",
            update: { strategy: "BlueGreen", entrantVolumes: "cloneIncumbent" },
            incumbent: { ...elsewhere, replicas: 3 },
            want: ["data-rpc-aaaaaaaa-0", "data-rpc-aaaaaaaa-1", "data-rpc-aaaaaaaa-2"],
        },
        {
            name: "cloneIncumbent on a first deployment: nothing to clone",
            update: { ...hardFork, entrantVolumes: "cloneIncumbent" },
            want: [undefined, undefined, undefined],
        },
        {
            name: "cloneIncumbent once switched: the set is the incumbent, no clone of itself",
            update: { ...hardFork, entrantVolumes: "cloneIncumbent" },
            incumbent: undefined,
            want: [undefined, undefined, undefined],
        },
        {
            name: "genesis: empty volumes",
            update: hardFork,
            incumbent: elsewhere,
            want: [undefined, undefined, undefined],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const got = dataSources(plan(groupConfig(c.update), c.incumbent));
            assert.deepEqual(
                got.map((d) => d?.name),
                c.want,
            );
            for (const d of got) if (d) assert.equal(d.kind, "PersistentVolumeClaim");
        });
    }

    it("a steady set that was cloned declares no dataSource (its PVCs ignore it anyway)", () => {
        const config = groupConfig({ ...hardFork, entrantVolumes: "cloneIncumbent" });
        const first = plan(config, { ...elsewhere, replicas: 3 });
        const steady = plan(config, {
            set: first.nodeSet.statefulSetName,
            revision: first.revision,
            image: "x",
            replicas: 3,
            switchedAt: "2026-01-01T00:00:00Z",
        });
        assert.deepEqual(dataSources(steady), [undefined, undefined, undefined]);
    });
});

describe("planGroup: properties", () => {
    const strategy = fc.constantFrom<Strategy>("Rolling", "BlueGreen", "HardFork");
    const incumbent = fc.option(
        fc.record({
            set: fc.constantFrom("rpc", "rpc-aaaaaaaa"),
            revision: fc.constantFrom("aaaaaaaa", "bbbbbbbb"),
            image: fc.constant(OLD_IMAGE),
            switchedAt: fc.option(fc.constant("2026-01-01T00:00:00Z"), { nil: undefined }),
        }),
        { nil: undefined },
    );
    const scenario = fc.record({
        strategy,
        upgradeHeight: fc.integer({ min: 2, max: 2 ** 40 }),
        replicas: fc.integer({ min: 1, max: 6 }),
        cohortReplicas: fc.integer({ min: 0, max: 2 }),
        incumbent,
    });
    type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
    function planOf(s: Scenario): {
        p: GroupPlan;
        replicas: number;
        cohort?: GroupCohort;
    } {
        const update =
            s.strategy === "HardFork"
                ? {
                      strategy: s.strategy,
                      entrantVolumes: "genesis",
                      haltHeight: s.upgradeHeight,
                      upgradeName: "up",
                  }
                : { strategy: s.strategy };
        const config = groupConfig(update, { replicas: s.replicas + s.cohortReplicas });
        const cohort =
            s.cohortReplicas > 0
                ? { replicas: s.cohortReplicas, image: OLD_IMAGE, nodes: [], pods: [] }
                : undefined;
        return { p: plan(config, s.incumbent, cohort), replicas: s.replicas, cohort };
    }

    it("every bootstrap halts at upgradeHeight - 1 >= 1, and its Job says so", () => {
        fc.assert(
            fc.property(scenario, (s) => {
                const { p } = planOf(s);
                for (const b of p.bootstraps) {
                    assert.equal(b.haltAfterHeight, b.upgradeHeight - 1);
                    assert.ok(b.haltAfterHeight >= 1);
                    if (b.job) {
                        assert.match(JSON.stringify(b.job), new RegExp(`${b.haltAfterHeight}`));
                    }
                }
            }),
            { numRuns: 60 },
        );
    });

    it("one bootstrap per entrant volume, only for a HardFork with records", () => {
        fc.assert(
            fc.property(scenario, (s) => {
                const { p, replicas } = planOf(s);
                const expected =
                    s.strategy === "HardFork" && p.upgrade.records !== "none" ? replicas : 0;
                assert.deepEqual(
                    p.bootstraps.map((b) => b.ordinal),
                    Array.from({ length: expected }, (_, i) => i),
                );
            }),
            { numRuns: 60 },
        );
    });

    it("the cohort's nodes come out of the group's: set + cohort = configured replicas", () => {
        fc.assert(
            fc.property(scenario, (s) => {
                const { p, replicas, cohort } = planOf(s);
                assert.equal(p.nodeSet.input.config.replicas, replicas);
                assert.equal(p.preprod?.nodeSet.input.config.replicas ?? 0, cohort?.replicas ?? 0);
                if (p.gate) {
                    assert.equal(p.gate.replicas, replicas);
                }
            }),
            { numRuns: 60 },
        );
    });

    it("gate, switch and stable Service all point at the declared set", () => {
        fc.assert(
            fc.property(scenario, (s) => {
                const { p } = planOf(s);
                const spec = p.stableService.manifest.spec as { selector: unknown };
                assert.deepEqual(spec.selector, p.nodeSet.selector);
                assert.equal(p.gate === undefined, p.trafficSwitch === undefined);
                assert.equal(p.gate === undefined, p.upgrade.records === "none");
                if (p.gate && p.trafficSwitch) {
                    assert.deepEqual(p.gate.entrantSelector, p.nodeSet.selector);
                    assert.deepEqual(p.trafficSwitch.selector, p.nodeSet.selector);
                }
            }),
            { numRuns: 60 },
        );
    });

    it("children are named `${name}-<role>`, each name once; Rolling sets get a Rollout", () => {
        fc.assert(
            fc.property(scenario, (s) => {
                const { p } = planOf(s);
                const names = [
                    p.nodeSet.resourceName,
                    p.rollout?.resourceName,
                    p.preprod?.nodeSet.resourceName,
                    p.preprod?.rollout.resourceName,
                    p.stableService.resourceName,
                    ...p.bootstraps.map((b) => b.resourceName),
                    p.gate?.resourceName,
                    p.trafficSwitch?.resourceName,
                ].filter((n): n is string => n !== undefined);
                assert.ok(names.every((n) => n.startsWith("testnet-rpc-")));
                assert.equal(new Set(names).size, names.length);
                assert.equal(p.rollout !== undefined, s.strategy === "Rolling");
            }),
            { numRuns: 60 },
        );
    });

    it("whatever haltHeight validates, the bootstrap gets a block to halt after", () => {
        fc.assert(
            fc.property(fc.integer({ min: -3, max: 50 }), (haltHeight) => {
                let config: GroupConfig;
                try {
                    config = groupConfig({
                        strategy: "HardFork",
                        entrantVolumes: "genesis",
                        haltHeight,
                    });
                } catch (err) {
                    assert.ok(err instanceof ConfigError);
                    assert.ok(haltHeight < 2, `haltHeight ${haltHeight} was refused`);
                    assert.match(err.message, /update\.haltHeight/);
                    return;
                }
                const p = plan(config, elsewhere);
                assert.ok(p.bootstraps.every((b) => b.haltAfterHeight >= 1));
            }),
            { numRuns: 60 },
        );
    });
});
