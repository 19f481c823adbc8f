import * as assert from "node:assert/strict";
import { ClusterReader, readIncumbent } from "../../kube/incumbent";
import { Incumbent, PlanKind, planUpgrade } from "../../lib/plan";

type Strategy = "Rolling" | "BlueGreen" | "HardFork";

const cases: {
    name: string;
    strategy: Strategy;
    incumbent?: Incumbent;
    kind: PlanKind;
    set: string;
}[] = [
    { name: "first Rolling deployment", strategy: "Rolling", kind: "create", set: "rpc" },
    {
        name: "first BlueGreen deployment",
        strategy: "BlueGreen",
        kind: "create",
        set: "rpc-bbbbbbbb",
    },
    {
        name: "first HardFork deployment",
        strategy: "HardFork",
        kind: "create",
        set: "rpc-bbbbbbbb",
    },
    {
        name: "Rolling, unchanged",
        strategy: "Rolling",
        incumbent: { set: "rpc", revision: "bbbbbbbb" },
        kind: "steady",
        set: "rpc",
    },
    {
        name: "Rolling, new revision",
        strategy: "Rolling",
        incumbent: { set: "rpc", revision: "aaaaaaaa" },
        kind: "inPlace",
        set: "rpc",
    },
    {
        name: "BlueGreen, unchanged",
        strategy: "BlueGreen",
        incumbent: { set: "rpc-bbbbbbbb", revision: "bbbbbbbb" },
        kind: "steady",
        set: "rpc-bbbbbbbb",
    },
    {
        name: "BlueGreen, new revision",
        strategy: "BlueGreen",
        incumbent: { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" },
        kind: "blueGreen",
        set: "rpc-bbbbbbbb",
    },
    {
        name: "HardFork, new revision",
        strategy: "HardFork",
        incumbent: { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" },
        kind: "hardFork",
        set: "rpc-bbbbbbbb",
    },
    {
        name: "HardFork after the fork (switched)",
        strategy: "HardFork",
        incumbent: { set: "rpc-bbbbbbbb", revision: "bbbbbbbb" },
        kind: "steady",
        set: "rpc-bbbbbbbb",
    },
    {
        name: "Rolling -> BlueGreen",
        strategy: "BlueGreen",
        incumbent: { set: "rpc", revision: "bbbbbbbb" },
        kind: "blueGreen",
        set: "rpc-bbbbbbbb",
    },
    {
        name: "BlueGreen -> Rolling (gated like blue-green)",
        strategy: "Rolling",
        incumbent: { set: "rpc-aaaaaaaa", revision: "aaaaaaaa" },
        kind: "blueGreen",
        set: "rpc",
    },
];

describe("planUpgrade", () => {
    for (const c of cases) {
        it(`${c.name}: ${c.kind}`, () => {
            const plan = planUpgrade("rpc", "bbbbbbbb", { strategy: c.strategy }, c.incumbent);
            assert.equal(plan.kind, c.kind);
            assert.equal(plan.set, c.set);
            assert.equal(plan.pinRevision, c.strategy !== "Rolling");
            const replaces =
                c.kind === "blueGreen" || c.kind === "hardFork" || c.kind === "inPlace";
            assert.equal(plan.incumbent, replaces ? c.incumbent : undefined);
            const switches = c.kind === "blueGreen" || c.kind === "hardFork";
            assert.equal(plan.records, switches ? "active" : "none");
        });
    }

    // Once the switch has flipped a group's Service, its records stay declared, so they are
    // never deleted by a later run; they wait only while an upgrade is under way.
    const switchedAt = "2026-11-30T00:00:00.000Z";
    const recordCases: {
        name: string;
        strategy: Strategy;
        incumbent: Incumbent;
        records: string;
    }[] = [
        {
            name: "BlueGreen, unchanged after a switch",
            strategy: "BlueGreen",
            incumbent: { set: "rpc-bbbbbbbb", revision: "bbbbbbbb", switchedAt },
            records: "settled",
        },
        {
            name: "HardFork, after the fork",
            strategy: "HardFork",
            incumbent: { set: "rpc-bbbbbbbb", revision: "bbbbbbbb", switchedAt },
            records: "settled",
        },
        {
            name: "Rolling in place after a strategy change",
            strategy: "Rolling",
            incumbent: { set: "rpc", revision: "aaaaaaaa", switchedAt },
            records: "settled",
        },
        {
            name: "BlueGreen, a second upgrade",
            strategy: "BlueGreen",
            incumbent: { set: "rpc-aaaaaaaa", revision: "aaaaaaaa", switchedAt },
            records: "active",
        },
    ];
    for (const c of recordCases) {
        it(`${c.name}: records ${c.records}`, () => {
            const plan = planUpgrade("rpc", "bbbbbbbb", { strategy: c.strategy }, c.incumbent);
            assert.equal(plan.records, c.records);
        });
    }
});

describe("readIncumbent", () => {
    function reader(
        selector?: Record<string, string>,
        sts?: Record<string, unknown>,
        switchedAt?: string,
    ): ClusterReader {
        return {
            service: async () => selector && { selector, switchedAt },
            statefulSet: async () => sts,
        };
    }

    it("is undefined without a stable Service (first deployment)", async () => {
        assert.equal(await readIncumbent(reader(undefined), "ns", "rpc"), undefined);
    });

    it("is undefined when the Service does not select a chainfleet set", async () => {
        assert.equal(await readIncumbent(reader({ app: "x" }), "ns", "rpc"), undefined);
    });

    it("takes the set and revision from the selector and the image from the StatefulSet", async () => {
        const found = await readIncumbent(
            reader(
                { "chainfleet.io/set": "rpc-aaaaaaaa", "chainfleet.io/revision": "aaaaaaaa" },
                { image: "sei:v1", replicas: 3, revision: "zzzzzzzz" },
            ),
            "ns",
            "rpc",
        );
        assert.deepEqual(found, {
            set: "rpc-aaaaaaaa",
            revision: "aaaaaaaa",
            image: "sei:v1",
            replicas: 3,
        });
    });

    it("carries the traffic switch's annotation: this group has upgrade records", async () => {
        const found = await readIncumbent(
            reader(
                { "chainfleet.io/set": "rpc-aaaaaaaa", "chainfleet.io/revision": "aaaaaaaa" },
                { image: "sei:v1", replicas: 3 },
                "2026-11-30T00:00:00.000Z",
            ),
            "ns",
            "rpc",
        );
        assert.equal(found?.switchedAt, "2026-11-30T00:00:00.000Z");
    });

    it("takes a Rolling set's revision from its StatefulSet label", async () => {
        const found = await readIncumbent(
            reader(
                { "chainfleet.io/set": "rpc" },
                { image: "sei:v1", replicas: 1, revision: "cccccccc" },
            ),
            "ns",
            "rpc",
        );
        assert.equal(found?.revision, "cccccccc");
    });
});
