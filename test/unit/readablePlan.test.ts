/**
 * lib/readablePlan.ts: the plan a reviewer reads. A table of the plans a group can have, each
 * checked as JSON (what the pipeline's comment carries) and as text; then that the text spells
 * out every object the JSON says will be deleted, for the table and for random groups.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { parseStackConfig } from "../../config";
import type { GroupConfig } from "../../config/schema";
import type { Incumbent } from "../../lib/plan";
import { GroupPlanArgs, planGroup } from "../../lib/planGroup";
import { planPreprod } from "../../lib/preprod";
import type { GroupCohort } from "../../lib/preprod";
import {
    ReadableGroupPlan,
    ReadableStackPlan,
    describeGroupPlan,
    describeStackPlan,
    duration,
    renderPlanText,
} from "../../lib/readablePlan";

const OLD_IMAGE = "ghcr.io/sei-protocol/sei:v6.0.0";
const NEW_IMAGE = "ghcr.io/sei-protocol/sei:v6.1.0";
const PREPROD_IMAGE = "ghcr.io/sei-protocol/sei:v6.2.0-rc1";

function groupConfig(
    update: Record<string, unknown>,
    group: Record<string, unknown> = {},
): GroupConfig {
    return parseStackConfig({
        network: "testnet",
        chain: "sei",
        chainId: "atlantic-2",
        groups: {
            rpc: { replicas: 3, image: NEW_IMAGE, storage: { size: "100Gi" }, update, ...group },
        },
    }).groups.rpc;
}

function args(config: GroupConfig, incumbent?: Incumbent, cohort?: GroupCohort): GroupPlanArgs {
    return {
        name: "testnet-rpc",
        network: "testnet",
        namespace: "chains",
        chain: "sei",
        group: "rpc",
        config,
        incumbent,
        cohort,
    };
}

/** The plan as text, for one group. */
function text(group: ReadableGroupPlan): string {
    const stack: ReadableStackPlan = {
        stack: "testnet",
        network: "testnet",
        chain: "sei",
        namespace: "chains",
        offline: false,
        preprod: null,
        groups: [group],
        notes: [],
        problems: group.problems,
    };
    return renderPlanText(stack);
}

/** Whether `name` appears in `text` as a whole name (not as the prefix of a longer one). */
function names(text: string, name: string): boolean {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(`(^|[\\s,])${escaped}(,|\\s|$)`, "m").test(text);
}

const hardFork = {
    strategy: "HardFork",
    entrantVolumes: "genesis",
    haltHeight: 1000,
    upgradeName: "v6.1.0",
};
const rev = (strategy: string, group: Record<string, unknown> = {}) => {
    const p = planGroup(args(groupConfig({ strategy }, group)));
    return { set: p.nodeSet.statefulSetName, revision: p.revision };
};
/** The set a BlueGreen group of the default config declares. */
const BLUE_GREEN_SET = rev("BlueGreen").set;
const cohort: GroupCohort = {
    replicas: 1,
    image: PREPROD_IMAGE,
    nodes: ["rpc-2"],
    pods: ["rpc-preprod-0"],
};

interface Case {
    name: string;
    update: Record<string, unknown>;
    group?: Record<string, unknown>;
    incumbent?: () => Incumbent;
    cohort?: GroupCohort;
    /** Fields of the JSON that must be exactly these. */
    expect: Partial<ReadableGroupPlan>;
    /** `kind name` of every deletion, in order. */
    deletes: string[];
    /** What the text must say. */
    says: RegExp[];
}

const cases: Case[] = [
    {
        name: "first deployment",
        update: { strategy: "BlueGreen" },
        expect: {
            upgrade: "create",
            incumbent: null,
            imageChanged: null,
            gate: null,
            trafficSwitch: null,
            hardFork: null,
        },
        deletes: [],
        says: [
            /^rpc: create$/m,
            /^ {2}image {8}ghcr\.io\/sei-protocol\/sei:v6\.1\.0$/m,
            /^ {2}will delete {2}nothing$/m,
        ],
    },
    {
        name: "no change: the records stay settled, nothing waits",
        update: { strategy: "BlueGreen" },
        incumbent: () => ({
            ...rev("BlueGreen"),
            image: NEW_IMAGE,
            replicas: 3,
            switchedAt: "2026-01-01T00:00:00Z",
        }),
        expect: {
            upgrade: "none",
            records: "settled",
            imageChanged: false,
            gate: null,
            trafficSwitch: null,
        },
        deletes: [],
        says: [/^rpc: none$/m, /image {8}\S+ \(unchanged\)$/m, /will delete {2}nothing/],
    },
    {
        name: "Rolling image bump: the set is updated in place",
        update: { strategy: "Rolling" },
        incumbent: () => ({ set: "rpc", revision: "aaaaaaaa", image: OLD_IMAGE, replicas: 3 }),
        expect: {
            upgrade: "Rolling",
            imageChanged: true,
            rollout: { statefulSet: "rpc", maxUnavailable: 1, deadlineSeconds: 3600 },
            gate: null,
        },
        deletes: [],
        says: [
            /^rpc: Rolling$/m,
            /image {8}ghcr\.io\/sei-protocol\/sei:v6\.0\.0 → ghcr\.io\/sei-protocol\/sei:v6\.1\.0$/m,
            /rollout {6}replaces the pods of rpc within 1h \(3600s\), at most 1 unavailable$/m,
            /will delete {2}nothing/,
        ],
    },
    {
        name: "BlueGreen: caught-up gate, switch, the incumbent set deleted after it",
        update: {
            strategy: "BlueGreen",
            caughtUpTolerance: 3,
            timeouts: { gateSeconds: 7200, switchSeconds: 300 },
        },
        incumbent: () => ({
            set: "rpc-aaaaaaaa",
            revision: "aaaaaaaa",
            image: OLD_IMAGE,
            replicas: 2,
        }),
        expect: {
            upgrade: "BlueGreen",
            imageChanged: true,
            gate: {
                mode: "caughtUp",
                replicas: 3,
                tolerance: 3,
                minPeers: 1,
                rpcMode: "podProxy",
                referenceRpcs: [],
                deadlineSeconds: 7200,
            },
        },
        deletes: [
            "StatefulSet rpc-aaaaaaaa",
            "Pod rpc-aaaaaaaa-0",
            "Pod rpc-aaaaaaaa-1",
            "PersistentVolumeClaim data-rpc-aaaaaaaa-0",
            "PersistentVolumeClaim data-rpc-aaaaaaaa-1",
            "Service rpc-aaaaaaaa-peers",
            "ConfigMap rpc-aaaaaaaa-config",
            "PodDisruptionBudget rpc-aaaaaaaa",
        ],
        says: [
            /^rpc: BlueGreen$/m,
            /replicas {5}2 → 3$/m,
            /gate {9}caughtUp within 2h \(7200s\): 3 replicas, tolerance 3 blocks, minPeers 1, rpc\s+podProxy$/m,
            /switch {7}Service rpc → rpc-\w{8} within 5m \(300s\); rolls back on failure$/m,
            /will delete {2}the incumbent set rpc-aaaaaaaa, after the switch to rpc-\w{8}:/,
        ],
    },
    {
        name: "HardFork: H and H-1 apart, the bootstraps run the incumbent image",
        update: hardFork,
        incumbent: () => ({
            set: "rpc-aaaaaaaa",
            revision: "aaaaaaaa",
            image: OLD_IMAGE,
            replicas: 3,
        }),
        expect: { upgrade: "HardFork", imageChanged: true },
        deletes: [
            "StatefulSet rpc-aaaaaaaa",
            ...[0, 1, 2].map((i) => `Pod rpc-aaaaaaaa-${i}`),
            ...[0, 1, 2].map((i) => `PersistentVolumeClaim data-rpc-aaaaaaaa-${i}`),
            "Service rpc-aaaaaaaa-peers",
            "ConfigMap rpc-aaaaaaaa-config",
            "PodDisruptionBudget rpc-aaaaaaaa",
        ],
        says: [
            /^rpc: HardFork$/m,
            /halt height {2}H = 1000, the first height the new binary executes \(upgrade v6\.1\.0\)/,
            /halt after {3}H-1 = 999, the last height the incumbent commits/,
            /bootstrap {4}ghcr\.io\/sei-protocol\/sei:v6\.0\.0 runs to height 999 within 6h \(21600s\) on\s+data-rpc-\w{8}-0, data-rpc-\w{8}-1, data-rpc-\w{8}-2$/m,
            /gate {9}running within 1h \(3600s\): /,
        ],
    },
    {
        name: "preprod cohort: the group's top node leaves for the cohort's set",
        update: { strategy: "Rolling" },
        incumbent: () => ({ ...rev("Rolling"), image: NEW_IMAGE, replicas: 3 }),
        cohort,
        expect: { upgrade: "none" },
        deletes: ["Pod rpc-2", "PersistentVolumeClaim data-rpc-2"],
        says: [
            /replicas {5}3 → 2$/m,
            /preprod {6}rpc-preprod runs ghcr\.io\/sei-protocol\/sei:v6\.2\.0-rc1 \(revision \w{8}\) in place of\s+rpc-2$/m,
            /will delete {2}the nodes rpc gives to the preprod cohort; rpc-preprod runs\s+ghcr\.io\/sei-protocol\/sei:v6\.2\.0-rc1 in their place, on new volumes:/,
        ],
    },
    {
        name: "scaled down: the top ordinals and their volumes",
        update: { strategy: "BlueGreen" },
        incumbent: () => ({ ...rev("BlueGreen"), image: NEW_IMAGE, replicas: 5 }),
        expect: { upgrade: "none", imageChanged: false },
        deletes: [
            `Pod ${BLUE_GREEN_SET}-3`,
            `Pod ${BLUE_GREEN_SET}-4`,
            `PersistentVolumeClaim data-${BLUE_GREEN_SET}-3`,
            `PersistentVolumeClaim data-${BLUE_GREEN_SET}-4`,
        ],
        says: [/will delete {2}the nodes rpc-\w{8} loses, scaling down from 5 to 3 replicas:/],
    },
    {
        name: "an incumbent whose replicas are unknown: said so, no volumes guessed",
        update: { strategy: "BlueGreen" },
        incumbent: () => ({ set: "rpc-aaaaaaaa", revision: "aaaaaaaa" }),
        expect: { imageChanged: null },
        deletes: [
            "StatefulSet rpc-aaaaaaaa",
            "Service rpc-aaaaaaaa-peers",
            "ConfigMap rpc-aaaaaaaa-config",
            "PodDisruptionBudget rpc-aaaaaaaa",
        ],
        says: [/note {9}the replica count of rpc-aaaaaaaa could not be read/, /\(unknown\) → /],
    },
];

function describeCase(c: Case): ReadableGroupPlan {
    return describeGroupPlan(args(groupConfig(c.update, c.group), c.incumbent?.(), c.cohort));
}

describe("readable plan (lib/readablePlan.ts)", () => {
    for (const c of cases) {
        it(c.name, () => {
            const plan = describeCase(c);
            for (const [key, value] of Object.entries(c.expect)) {
                assert.deepEqual(plan[key as keyof ReadableGroupPlan], value, key);
            }
            assert.deepEqual(
                plan.deletes.map((d) => `${d.kind} ${d.name}`),
                c.deletes,
            );
            assert.deepEqual(plan.problems, []);
            const t = text(plan);
            for (const re of c.says) {
                assert.match(t, re);
            }
            // JSON-able: nothing is lost on the way to the pipeline.
            assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
        });
    }

    it("HardFork: the heights are planGroup's, H-1 apart, and the bootstraps name the entrant volumes", () => {
        const a = args(groupConfig(hardFork), cases[4].incumbent!());
        const p = planGroup(a);
        const hf = describeGroupPlan(a, p).hardFork!;
        assert.equal(hf.haltHeight, 1000);
        assert.equal(hf.haltAfterHeight, 999);
        assert.equal(hf.upgradeName, "v6.1.0");
        assert.deepEqual(
            hf.bootstraps,
            p.bootstraps.map((b) => ({
                job: `rpc-${p.revision}-bootstrap-${b.ordinal}`,
                pvc: b.pvcName,
                image: OLD_IMAGE,
                deadlineSeconds: 21600,
            })),
        );
    });

    it("a group that cannot be declared shows planGroup's problem", () => {
        const plan = describeGroupPlan(
            args(groupConfig(hardFork), { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" }),
        );
        assert.equal(plan.problems.length, 1);
        assert.equal(plan.hardFork?.bootstraps[0].image, null);
        assert.match(text(plan), /PROBLEM {6}group rpc: cannot tell which image/);
    });

    it("the text names every object the JSON says will be deleted", () => {
        for (const c of cases) {
            const plan = describeCase(c);
            const t = text(plan);
            for (const d of plan.deletes) {
                assert.ok(names(t, d.name), `${c.name}: ${d.kind} ${d.name} is not in\n${t}`);
            }
            assert.equal(
                (t.match(/will delete {2}(?!nothing)/g) ?? []).length,
                new Set(plan.deletes.map((d) => d.why)).size,
                c.name,
            );
        }
    });

    it("the text names every deleted object, for any group, incumbent and cohort", () => {
        const incumbentSet = fc.constantFrom("rpc", "rpc-aaaaaaaa", "own");
        fc.assert(
            fc.property(
                fc.constantFrom("Rolling", "BlueGreen", "HardFork"),
                fc.integer({ min: 1, max: 12 }),
                fc.option(fc.integer({ min: 0, max: 14 }), { nil: undefined }),
                incumbentSet,
                fc.integer({ min: 0, max: 3 }),
                (strategy, replicas, live, set, k) => {
                    const update = strategy === "HardFork" ? hardFork : { strategy };
                    const config = groupConfig(update, { replicas });
                    const own = planGroup(args(config)).nodeSet.statefulSetName;
                    const taken = Math.min(k, replicas - 1);
                    const plan = describeGroupPlan(
                        args(
                            config,
                            {
                                set: set === "own" ? own : set,
                                revision: "aaaaaaaa",
                                image: OLD_IMAGE,
                                replicas: live,
                            },
                            taken > 0
                                ? {
                                      replicas: taken,
                                      image: PREPROD_IMAGE,
                                      nodes: [],
                                      pods: [],
                                  }
                                : undefined,
                        ),
                    );
                    const t = text(plan);
                    for (const d of plan.deletes) {
                        assert.ok(names(t, d.name), `${d.kind} ${d.name} is not in\n${t}`);
                    }
                    // Every deleted volume is a volume of the set that serves now.
                    for (const d of plan.deletes.filter(
                        (x) => x.kind === "PersistentVolumeClaim",
                    )) {
                        assert.match(
                            d.name,
                            new RegExp(`^data-${plan.incumbent!.statefulSet}-\\d+$`),
                        );
                    }
                },
            ),
            { numRuns: 60 },
        );
    });

    it("a stack: groups in config order, offline said first, preprod warnings shown", () => {
        const config = parseStackConfig({
            network: "testnet",
            chain: "sei",
            chainId: "atlantic-2",
            groups: {
                validator: {
                    replicas: 4,
                    image: NEW_IMAGE,
                    storage: { size: "1Ti" },
                    update: { strategy: "Rolling" },
                },
                rpc: {
                    replicas: 2,
                    image: NEW_IMAGE,
                    storage: { size: "1Ti" },
                    update: { strategy: "BlueGreen" },
                },
            },
            preprod: { percent: 50, image: PREPROD_IMAGE, optOut: { groups: ["rpc"] } },
        });
        const preprod = planPreprod(config, new Date("2026-12-01T00:00:00Z"));
        const plan = describeStackPlan({ stack: "testnet", config, preprod, offline: true });
        assert.deepEqual(
            plan.groups.map((g) => [g.group, g.upgrade]),
            [
                ["validator", "create"],
                ["rpc", "create"],
            ],
        );
        assert.deepEqual(plan.groups[0].preprod?.displaces, ["validator-2", "validator-3"]);
        assert.equal(plan.preprod?.epoch, "2026-12");
        const t = renderPlanText(plan);
        assert.match(t, /^Plan of stack testnet: network testnet, chain sei, namespace testnet\n/);
        assert.match(t, /^OFFLINE: the cluster was not read/m);
        assert.match(
            t,
            /^ {2}warning {6}validator: 2 nodes \(validator-2 and validator-3\) leave/m,
        );
        assert.ok(t.indexOf("\nvalidator: create") < t.indexOf("\nrpc: create"));
    });

    it("durations say hours and minutes, and the seconds of the config", () => {
        assert.deepEqual([0, 45, 300, 3600, 5400, 21600, 90].map(duration), [
            "0s",
            "45s",
            "5m (300s)",
            "1h (3600s)",
            "1h30m (5400s)",
            "6h (21600s)",
            "1m30s (90s)",
        ]);
    });
});
