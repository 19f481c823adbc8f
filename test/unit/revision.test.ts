import * as assert from "node:assert/strict";
import fc from "fast-check";
import { GroupConfig, parseStackConfig } from "../../config";
import { canonicalJson, revisionOf } from "../../lib/revision";

/** Arbitrary valid groups, built through the real schema so defaults are applied as in a stack. */
const groupArb = fc
    .record({
        replicas: fc.integer({ min: 1, max: 50 }),
        tag: fc.stringMatching(/^v[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}$/),
        args: fc.array(fc.stringMatching(/^--[a-z-]{1,12}$/), { maxLength: 4 }),
        env: fc.dictionary(fc.stringMatching(/^[A-Z_]{1,8}$/), fc.string({ maxLength: 8 }), {
            maxKeys: 3,
        }),
        sizeGi: fc.integer({ min: 1, max: 4096 }),
        strategy: fc.constantFrom("Rolling", "BlueGreen"),
    })
    .map((g) => {
        const config = parseStackConfig({
            network: "net",
            chain: "cometbft",
            groups: {
                g: {
                    replicas: g.replicas,
                    image: `cometbft/cometbft:${g.tag}`,
                    args: g.args,
                    env: g.env,
                    storage: { size: `${g.sizeGi}Gi` },
                    update: { strategy: g.strategy },
                },
            },
        });
        return config.groups.g;
    });

/** Pod-shaping edits: each must produce a new revision. */
const podShapingEdits: [string, (g: GroupConfig) => GroupConfig][] = [
    ["image", (g) => ({ ...g, image: `${g.image}-patched` })],
    ["args", (g) => ({ ...g, args: [...(g.args ?? []), "--extra-flag"] })],
    ["env", (g) => ({ ...g, env: { ...(g.env ?? {}), NEW_VAR: "1" } })],
    ["resources", (g) => ({ ...g, resources: { requests: { cpu: "3" } } })],
    ["storage", (g) => ({ ...g, storage: { ...g.storage, size: "9999Ti" } })],
    ["configFiles", (g) => ({ ...g, configFiles: { "app.toml": "x = 1" } })],
    [
        "snapshot",
        (g) => ({ ...g, snapshot: { url: "https://s.example/a.tar", sha256: "b".repeat(64) } }),
    ],
];

/** Edits that do not shape pods: the revision must stay. */
const neutralEdits: [string, (g: GroupConfig) => GroupConfig][] = [
    ["replicas", (g) => ({ ...g, replicas: g.replicas + 7 })],
    [
        "strategy",
        (g) => ({
            ...g,
            update: {
                ...g.update,
                strategy: "HardFork",
                entrantVolumes: "genesis",
                haltHeight: 10,
            },
        }),
    ],
    ["tolerance", (g) => ({ ...g, update: { ...g.update, caughtUpTolerance: 99 } })],
    ["pdb", (g) => ({ ...g, podDisruptionBudget: { minAvailable: 1 } })],
];

describe("revision hash", () => {
    it("is 8 hex characters", () => {
        fc.assert(fc.property(groupArb, (g) => /^[0-9a-f]{8}$/.test(revisionOf("cometbft", g))));
    });

    it("is the same for equal inputs, whatever the key order", () => {
        fc.assert(
            fc.property(groupArb, (g) => {
                const reordered = JSON.parse(canonicalJson(g)) as GroupConfig;
                const reversed = Object.fromEntries(Object.entries(g).reverse()) as GroupConfig;
                const r = revisionOf("cometbft", g);
                return (
                    r === revisionOf("cometbft", reordered) &&
                    r === revisionOf("cometbft", reversed)
                );
            }),
        );
    });

    for (const [what, edit] of podShapingEdits) {
        it(`changes when ${what} changes`, () => {
            fc.assert(
                fc.property(
                    groupArb,
                    (g) => revisionOf("cometbft", g) !== revisionOf("cometbft", edit(g)),
                ),
            );
        });
    }

    it("changes with the chain", () => {
        fc.assert(fc.property(groupArb, (g) => revisionOf("cometbft", g) !== revisionOf("sei", g)));
    });

    for (const [what, edit] of neutralEdits) {
        it(`does not change when ${what} changes`, () => {
            fc.assert(
                fc.property(
                    groupArb,
                    (g) => revisionOf("cometbft", g) === revisionOf("cometbft", edit(g)),
                ),
            );
        });
    }
});

describe("revision and the snapshot image", () => {
    const snapshot = { url: "https://s.example/a.tar", sha256: "b".repeat(64) };
    const imageArb = fc
        .stringMatching(/^[a-z]{1,8}:[0-9]{1,3}$/)
        .map((ref) => `registry.example/${ref}`);

    it("changes for a group with a snapshot when snapshotImage changes", () => {
        fc.assert(
            fc.property(groupArb, imageArb, imageArb, (g, a, b) => {
                fc.pre(a !== b);
                const restoring = { ...g, snapshot };
                return (
                    revisionOf("cometbft", restoring, a) !== revisionOf("cometbft", restoring, b)
                );
            }),
        );
    });

    it("does not change for a group without a snapshot", () => {
        fc.assert(
            fc.property(
                groupArb,
                imageArb,
                (g, a) => revisionOf("cometbft", g, a) === revisionOf("cometbft", g),
            ),
        );
    });
});

describe("canonicalJson", () => {
    it("sorts keys at every depth and drops undefined", () => {
        assert.equal(
            canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: undefined } }),
            '{"a":{"d":[2,{"y":0,"z":1}]},"b":1}',
        );
    });
});
