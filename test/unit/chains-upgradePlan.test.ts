// The x/upgrade answers (chains/upgradePlan.ts): abci_query envelopes around protobuf messages
// built here with protobufjs's Writer, in CometBFT's layout (every field written) and Sei's
// (zero fields left out); then compareWithPlan's table: what blocks `pulumi up`, what warns;
// then real answers captured from a Cosmos SDK chain before, at and after an upgrade.
import assert from "node:assert/strict";
import { Writer } from "protobufjs/minimal";
import { ChainResponseError, parseCometStatus } from "../../chains";
import {
    CURRENT_PLAN_PATH,
    appliedPlanPath,
    approxDuration,
    compareWithPlan,
    isCosmosSdkChain,
    olderSampleHeight,
    parseAppliedPlan,
    parseBlockStamp,
    parseCurrentPlan,
    secondsPerBlock,
    type ChainUpgradeState,
    type DeclaredUpgrade,
    type PlanVerdict,
} from "../../chains/upgradePlan";
import { fixture } from "../testdata/chains/fixtures";

/** `Plan {name = 1; time = 2; height = 3; info = 4}` with the deprecated time set, as old SDKs did. */
function planMessage(name: string, height: number, info = ""): Uint8Array {
    const w = Writer.create().uint32(0x0a).string(name);
    // time (2): an empty Timestamp, present on the wire as gogoproto's non-nullable field writes it.
    w.uint32(0x12).fork().uint32(0x08).int64(0).ldelim();
    w.uint32(0x18).int64(height);
    if (info !== "") w.uint32(0x22).string(info);
    return w.finish();
}

const currentPlanResponse = (plan?: Uint8Array): Uint8Array =>
    plan ? Writer.create().uint32(0x0a).bytes(plan).finish() : new Uint8Array();

const appliedPlanResponse = (height: number): Uint8Array =>
    height === 0 ? new Uint8Array() : Writer.create().uint32(0x08).int64(height).finish();

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** CometBFT v0.38's `abci_query` answer: every field of ResponseQuery written. */
function cometAnswer(value: Uint8Array | null, over: Record<string, unknown> = {}): unknown {
    return {
        jsonrpc: "2.0",
        id: -1,
        result: {
            response: {
                code: 0,
                log: "",
                info: "",
                index: "0",
                key: null,
                value: value === null ? null : b64(value),
                proofOps: null,
                height: "180000123",
                codespace: "",
                ...over,
            },
        },
    };
}

/** Sei's layout: the zero-valued fields are left out, and the envelope too at times. */
const seiAnswer = (value: Uint8Array): unknown => ({
    response: value.length > 0 ? { value: b64(value), height: "180000123" } : { height: "1" },
});

function assertRejects(fn: () => unknown, ...patterns: RegExp[]): void {
    assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof ChainResponseError, `expected ChainResponseError, got ${err}`);
        for (const p of patterns) assert.match(err.message, p);
        return true;
    });
}

describe("chains: x/upgrade queries", () => {
    it("asks CurrentPlan and AppliedPlan by their gRPC names, data as 0x hex", () => {
        assert.equal(
            CURRENT_PLAN_PATH,
            "/abci_query?path=%22%2Fcosmos.upgrade.v1beta1.Query%2FCurrentPlan%22",
        );
        // QueryAppliedPlanRequest {name = 1}: 0a 06 "v6.1.0"
        assert.equal(
            appliedPlanPath("v6.1.0"),
            "/abci_query?path=%22%2Fcosmos.upgrade.v1beta1.Query%2FAppliedPlan%22&data=0x0a0676362e312e30",
        );
    });

    it("treats sei and cosmos as Cosmos SDK apps, the others not", () => {
        assert.deepEqual(["sei", "cosmos", "cometbft", "avalanche"].map(isCosmosSdkChain), [
            true,
            true,
            false,
            false,
        ]);
    });

    const plan = planMessage("v6.1.0", 180000000, '{"binaries":{}}');
    const current: { name: string; body: unknown; want: ReturnType<typeof parseCurrentPlan> }[] = [
        {
            name: "CometBFT layout, a plan",
            body: cometAnswer(currentPlanResponse(plan)),
            want: { name: "v6.1.0", height: 180000000, info: '{"binaries":{}}' },
        },
        {
            name: "Sei layout, a plan",
            body: seiAnswer(currentPlanResponse(plan)),
            want: { name: "v6.1.0", height: 180000000, info: '{"binaries":{}}' },
        },
        { name: "no plan, value empty", body: cometAnswer(new Uint8Array()), want: undefined },
        { name: "no plan, value null", body: cometAnswer(null), want: undefined },
        { name: "no plan, Sei layout", body: seiAnswer(new Uint8Array()), want: undefined },
        {
            name: "a plan with unknown fields (a newer SDK) and no info",
            body: cometAnswer(
                currentPlanResponse(
                    Writer.create()
                        .uint32(0x0a)
                        .string("v7")
                        .uint32(0x18)
                        .int64(42)
                        .uint32((9 << 3) | 0)
                        .uint32(1)
                        .finish(),
                ),
            ),
            want: { name: "v7", height: 42, info: "" },
        },
    ];
    for (const c of current) {
        it(`CurrentPlan: ${c.name}`, () => {
            assert.deepEqual(parseCurrentPlan(c.body), c.want);
        });
    }

    for (const [name, body, want] of [
        ["applied, CometBFT layout", cometAnswer(appliedPlanResponse(180000000)), 180000000],
        ["never applied (empty message)", cometAnswer(appliedPlanResponse(0)), 0],
        ["applied, Sei layout", seiAnswer(appliedPlanResponse(77)), 77],
    ] as const) {
        it(`AppliedPlan: ${name}`, () => {
            assert.equal(parseAppliedPlan(body), want);
        });
    }

    it("names the app's code, codespace and log when the query fails", () => {
        const body = cometAnswer(null, {
            code: 6,
            log: "unknown query path: unknown request",
            codespace: "sdk",
        });
        assertRejects(
            () => parseCurrentPlan(body),
            /CurrentPlan failed in the app: code 6 \(codespace sdk\): unknown query path/,
            /Cosmos SDK app with the x\/upgrade module/,
        );
    });

    it("quotes a JSON-RPC error", () => {
        const body = { jsonrpc: "2.0", id: -1, error: { code: -32603, message: "Internal error" } };
        assertRejects(() => parseAppliedPlan(body), /failed on the node: JSON-RPC error -32603/);
    });

    for (const [name, body, pattern] of [
        ["no response", { jsonrpc: "2.0", result: {} }, /result\.response: expected object/],
        [
            "a value that is not base64",
            cometAnswer(null, { value: "not base64!" }),
            /result\.response\.value: expected base64/,
        ],
        [
            "code as a string",
            cometAnswer(null, { code: "0" }),
            /result\.response\.code: expected number/,
        ],
        [
            "bytes that are not protobuf",
            cometAnswer(new Uint8Array([0x0a, 0x20, 0x01])),
            /not valid protobuf/,
        ],
        [
            "plan as a varint (another message)",
            cometAnswer(Writer.create().uint32(0x08).int64(5).finish()),
            /field plan \(1\) has wire type 0, expected 2/,
        ],
        [
            "a plan without a name",
            cometAnswer(currentPlanResponse(Writer.create().uint32(0x18).int64(5).finish())),
            /the plan has name "" and height 5/,
        ],
    ] as const) {
        it(`CurrentPlan rejects ${name}`, () => {
            assertRejects(() => parseCurrentPlan(body), pattern);
        });
    }

    it("AppliedPlan rejects a height beyond 2^53", () => {
        const w = Writer.create().uint32(0x08).uint64("9007199254740993").finish();
        assertRejects(() => parseAppliedPlan(cometAnswer(w)), /9007199254740993 is not a block/);
    });
});

describe("chains: block time", () => {
    it("reads /block's header height and time, with or without the envelope", () => {
        const block = { block: { header: { height: "901", time: "2026-12-06T10:00:00.5Z" } } };
        assert.deepEqual(parseBlockStamp({ jsonrpc: "2.0", id: -1, result: block }), {
            height: 901,
            time: "2026-12-06T10:00:00.5Z",
        });
        assert.equal(parseBlockStamp(block).height, 901);
        assertRejects(
            () => parseBlockStamp({ result: { block: { header: { height: 9, time: "x" } } } }),
            /result\.block\.header\.height: expected a decimal string/,
            /result\.block\.header\.time: expected an RFC 3339 time/,
        );
    });

    it("samples 100 blocks back, fewer on a young chain, none below height 2", () => {
        assert.deepEqual([1, 2, 50, 101, 5000].map(olderSampleHeight), [undefined, 1, 1, 1, 4900]);
    });

    it("averages seconds per block; undefined when the clock does not move forward", () => {
        const at = (height: number, time: string) => ({ height, time });
        assert.equal(
            secondsPerBlock(at(100, "2026-01-01T00:00:00Z"), at(200, "2026-01-01T00:10:00Z")),
            6,
        );
        // CometBFT's nanosecond times.
        assert.equal(
            secondsPerBlock(
                at(1, "2026-01-01T00:00:00.100000000Z"),
                at(5, "2026-01-01T00:00:01.700000000Z"),
            ),
            0.4,
        );
        assert.equal(
            secondsPerBlock(at(5, "2026-01-01T00:00:00Z"), at(5, "2026-01-01T00:00:00Z")),
            undefined,
        );
        assert.equal(
            secondsPerBlock(at(1, "2026-01-01T00:01:00Z"), at(5, "2026-01-01T00:00:00Z")),
            undefined,
        );
    });

    it("rounds durations to two units", () => {
        assert.deepEqual([0, 45, 90, 3600, 12345, 200000].map(approxDuration), [
            "0s",
            "45s",
            "1m30s",
            "1h0m",
            "3h25m",
            "2d7h",
        ]);
    });
});

describe("chains: compareWithPlan", () => {
    const H = 1000;
    const upgrading: DeclaredUpgrade = {
        group: "archive",
        haltHeight: H,
        upgradeName: "v2",
        upgrading: true,
    };
    const steady: DeclaredUpgrade = { ...upgrading, upgrading: false };
    const chain = (over: Partial<ChainUpgradeState> = {}): ChainUpgradeState => ({
        node: "archive-aaaaaaaa-0",
        latestHeight: 400,
        secondsPerBlock: 6,
        appliedHeight: 0,
        ...over,
    });
    const v2 = { name: "v2", height: H, info: "" };

    const cases: {
        name: string;
        declared: DeclaredUpgrade;
        chain: ChainUpgradeState;
        level: PlanVerdict["level"];
        message: RegExp[];
        eta?: number;
    }[] = [
        {
            name: "plan matches: the height, name and an estimate",
            declared: upgrading,
            chain: chain({ plan: v2 }),
            level: "info",
            message: [/^upgrade v2 at 1000, in ~1h0m \(600 blocks at 6\.00s\/block\)$/],
            eta: 3600,
        },
        {
            name: "plan matches, block time unknown",
            declared: upgrading,
            chain: chain({ plan: v2, secondsPerBlock: undefined }),
            level: "info",
            message: [
                /^upgrade v2 at 1000, 600 blocks from the node's height 400 \(block time unknown\)$/,
            ],
        },
        {
            name: "plan matches, node halted at H-1 long ago: says the estimate is off",
            declared: upgrading,
            chain: chain({ plan: v2, latestHeight: H - 1, latestBlockAgeSeconds: 7200 }),
            level: "info",
            message: [
                /in ~6s \(1 block at/,
                /latest block \(999\) is 2h0m old, so it is halted or behind, and what it says may be out of date$/,
            ],
            eta: 6,
        },
        {
            name: "plan at another height: refuses, naming both heights and the key",
            declared: upgrading,
            chain: chain({ plan: { ...v2, height: 1200 } }),
            level: "problem",
            message: [
                /the chain's plan v2 is at height 1200, but groups\.archive\.update\.haltHeight is 1000: set it to 1200/,
                /CurrentPlan on archive-aaaaaaaa-0/,
            ],
        },
        {
            name: "plan under another name: refuses, naming the key",
            declared: upgrading,
            chain: chain({ plan: { ...v2, name: "v2.0.1" } }),
            level: "problem",
            message: [/named "v2\.0\.1", but groups\.archive\.update\.upgradeName is "v2"/],
        },
        {
            name: "both wrong: both said at once",
            declared: upgrading,
            chain: chain({ plan: { name: "v3", height: 5000, info: "" } }),
            level: "problem",
            message: [/haltHeight is 1000: set it to 5000; .*upgradeName is "v2"/],
        },
        {
            name: "plan matches but no upgradeName: warns, with the name to set",
            declared: { ...upgrading, upgradeName: undefined },
            chain: chain({ plan: v2, appliedHeight: undefined }),
            level: "warn",
            message: [/^upgrade v2 at 1000, in ~1h0m .*upgradeName is not set, .*set it to "v2"$/],
            eta: 3600,
        },
        {
            name: "no plan, applied at H: the upgrade happened",
            declared: upgrading,
            chain: chain({ latestHeight: 1500, appliedHeight: H }),
            level: "info",
            message: [
                /^upgrade v2 was applied at 1000 \(AppliedPlan on archive-aaaaaaaa-0\): the entrants block-sync across it$/,
            ],
        },
        {
            name: "applied at another height: refuses with the height to set",
            declared: upgrading,
            chain: chain({ latestHeight: 1500, appliedHeight: 990 }),
            level: "problem",
            message: [
                /applied upgrade v2 at height 990, not at 1000: set groups\.archive\.update\.haltHeight to 990/,
            ],
        },
        {
            name: "no plan yet, H ahead: warns (a proposal in its vote, or an off-chain fork)",
            declared: upgrading,
            chain: chain(),
            level: "warn",
            message: [
                /^no upgrade plan is scheduled on the chain yet \(governance proposal not passed\?\)/,
                /in ~1h0m \(600 blocks/,
                /coordinated off chain \(every validator halting at 999\)/,
            ],
            eta: 3600,
        },
        {
            name: "no plan, chain already past H, nothing applied: refuses",
            declared: upgrading,
            chain: chain({ latestHeight: 1000 }),
            level: "problem",
            message: [
                /the chain is at height 1000 .*past groups\.archive\.update\.haltHeight 1000, and never applied upgrade v2/,
            ],
        },
        {
            name: "no plan, past H, no upgradeName: refuses too",
            declared: { ...upgrading, upgradeName: undefined },
            chain: chain({ latestHeight: 2000, appliedHeight: undefined }),
            level: "problem",
            message: [/and has no upgrade plan: /],
        },
        {
            name: "steady group, its upgrade applied, the next one scheduled: info with both",
            declared: steady,
            chain: chain({
                latestHeight: 1500,
                appliedHeight: H,
                plan: { name: "v3", height: 2100, info: "" },
            }),
            level: "info",
            message: [
                /^upgrade v2 was applied at 1000 \(AppliedPlan on archive-aaaaaaaa-0\); next scheduled: upgrade v3 at 2100, in ~1h0m/,
            ],
            eta: 3600,
        },
        {
            name: "steady group, the next plan differs from the config: warns, not blocking",
            declared: { ...steady, upgradeName: undefined },
            chain: chain({
                latestHeight: 1500,
                appliedHeight: undefined,
                plan: { name: "v3", height: 2100, info: "" },
            }),
            level: "warn",
            message: [
                /plan v3 is at height 2100, but .*haltHeight is 1000/,
                /not blocking: archive is not being upgraded in this run/,
            ],
        },
        {
            name: "steady group, applied at another height: warns",
            declared: steady,
            chain: chain({ latestHeight: 1500, appliedHeight: 990 }),
            level: "warn",
            message: [/applied upgrade v2 at height 990/, /not blocking/],
        },
        {
            name: "steady group, no plan: info",
            declared: steady,
            chain: chain({ latestHeight: 1500 }),
            level: "info",
            message: [/^no upgrade plan is scheduled on the chain$/],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const verdict = compareWithPlan(c.declared, c.chain);
            assert.equal(verdict.level, c.level, verdict.message);
            for (const m of c.message) assert.match(verdict.message, m);
            assert.equal(verdict.etaSeconds, c.eta);
        });
    }
});

// Real answers of chainfleet's test chain (test/testdata/chains/cosmos/README.md): a governance
// upgrade named v047-to-v050, scheduled at 24 on the v0.47 line and at 25 on the v0.50 line.
describe("chains: x/upgrade answers captured from a real Cosmos SDK chain", () => {
    const NAME = "v047-to-v050";
    for (const [line, h] of [
        ["047", 24],
        ["050", 25],
    ] as const) {
        it(`${line}: no plan, then the plan, then applied at ${h} and cleared`, () => {
            assert.equal(
                parseCurrentPlan(fixture(`cosmos/${line}-current_plan-none.json`)),
                undefined,
            );
            assert.equal(parseAppliedPlan(fixture(`cosmos/${line}-applied_plan-none.json`)), 0);
            // Its deprecated time (2) is there, as 0001-01-01: skipped.
            assert.deepEqual(parseCurrentPlan(fixture(`cosmos/${line}-current_plan.json`)), {
                name: NAME,
                height: h,
                info: "",
            });
            assert.equal(
                parseCurrentPlan(fixture(`cosmos/${line}-upgraded-current_plan-none.json`)),
                undefined,
            );
            assert.equal(parseAppliedPlan(fixture(`cosmos/${line}-upgraded-applied_plan.json`)), h);
        });

        it(`${line}: the verdicts a HardFork group at ${h} gets before, at and after the upgrade`, () => {
            const declared = {
                group: "archive",
                haltHeight: h,
                upgradeName: NAME,
                upgrading: true,
            };
            const state = (status: string, plan: string, applied: string): ChainUpgradeState => {
                const s = parseCometStatus(fixture(`cosmos/${line}-${status}.json`));
                const p = parseCurrentPlan(fixture(`cosmos/${line}-${plan}.json`));
                return {
                    node: "archive-aaaaaaaa-0",
                    latestHeight: s.height,
                    ...(p && { plan: p }),
                    appliedHeight: parseAppliedPlan(fixture(`cosmos/${line}-${applied}.json`)),
                };
            };
            // Scheduled, the node a few blocks in: the plan agrees.
            const before = compareWithPlan(
                declared,
                state("status", "current_plan", "applied_plan-none"),
            );
            assert.equal(before.level, "info", before.message);
            assert.match(
                before.message,
                new RegExp(`^upgrade ${NAME} at ${h}, \\d+ blocks from the node's height`),
            );
            // The old binary halted at H: /status says H (block H is stored), the plan is still there.
            const halted = compareWithPlan(
                declared,
                state("status-halted", "current_plan", "applied_plan-none"),
            );
            assert.equal(halted.level, "info", halted.message);
            assert.match(halted.message, new RegExp(`at ${h}, reached \\(the node is at ${h}\\)$`));
            // Upgraded: no plan, applied at H.
            const after = compareWithPlan(
                declared,
                state("upgraded-status", "upgraded-current_plan-none", "upgraded-applied_plan"),
            );
            assert.equal(after.level, "info", after.message);
            assert.match(after.message, new RegExp(`^upgrade ${NAME} was applied at ${h} `));
            // A config one block off: refused while scheduled, and after.
            const off = { ...declared, haltHeight: h + 1 };
            for (const s of [
                state("status", "current_plan", "applied_plan-none"),
                state("upgraded-status", "upgraded-current_plan-none", "upgraded-applied_plan"),
            ]) {
                const v = compareWithPlan(off, s);
                assert.equal(v.level, "problem", v.message);
                assert.match(
                    v.message,
                    new RegExp(
                        `groups\\.archive\\.update\\.haltHeight (is ${h + 1}: set it to ${h}|to ${h})`,
                    ),
                );
            }
        });
    }

    it("asks AppliedPlan exactly as the capture did", () => {
        assert.equal(
            decodeURIComponent(appliedPlanPath(NAME)),
            '/abci_query?path="/cosmos.upgrade.v1beta1.Query/AppliedPlan"&data=0x0a0c763034372d746f2d76303530',
        );
        assert.equal(
            decodeURIComponent(CURRENT_PLAN_PATH),
            '/abci_query?path="/cosmos.upgrade.v1beta1.Query/CurrentPlan"',
        );
    });
});
