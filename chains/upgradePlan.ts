/**
 * The chain's own record of a hard fork, and a HardFork group's config checked against it. A
 * Cosmos SDK chain schedules an upgrade on chain (governance passes a `MsgSoftwareUpgrade`, and
 * x/upgrade stores its `Plan`), and records the height where each named upgrade was applied.
 * kube/chainPlan.ts reads both through CometBFT's `abci_query` before any resource is registered;
 * `compareWithPlan` says whether `update.haltHeight` / `upgradeName` agree.
 *
 * The queries are the x/upgrade gRPC methods, run through ABCI (`abci_query` with the method's
 * full name as `path` and the request message as `data`); the answer's `response.value` is the
 * response message, base64 in the JSON. Field numbers, from cosmos-sdk
 * `proto/cosmos/upgrade/v1beta1/query.proto` and `upgrade.proto` (checked at 08cc1c73 and
 * 03795f14; unchanged since x/upgrade's v1beta1, which sei-cosmos forks):
 *
 *   QueryCurrentPlanResponse { Plan plan = 1; }
 *   Plan { string name = 1; Timestamp time = 2 (deprecated); int64 height = 3; string info = 4;
 *          Any upgraded_client_state = 5 (deprecated); }
 *   QueryAppliedPlanRequest  { string name = 1; }
 *   QueryAppliedPlanResponse { int64 height = 1; }   // 0: never applied
 *
 * protobufjs's Reader/Writer decode them field by field; no .proto file is loaded at run time.
 * test/testdata/chains/cosmos holds real answers (SDK v0.47 and v0.50 over CometBFT v0.37/v0.38)
 * before, at and after a governance upgrade; Sei's layout (zero fields omitted) is constructed.
 */
import { Reader, Writer } from "protobufjs/minimal";
import { z } from "zod";
import { ChainResponseError, describe, int64String, parseWith, unwrapJsonRpc } from "./parse";

/**
 * The chain kinds whose app is a Cosmos SDK app with x/upgrade, so that the chain can be asked for
 * its upgrade plan. A string, not ChainKind: kinds are being added (chains/kinds.ts), and this
 * is the one place that says which of them qualify.
 */
export function isCosmosSdkChain(kind: string): boolean {
    return kind === "sei" || kind === "cosmos";
}

/** An upgrade x/upgrade has scheduled: the new binary executes `height` first. */
export interface UpgradePlanOnChain {
    name: string;
    height: number;
    info: string;
}

const CURRENT_PLAN = "/cosmos.upgrade.v1beta1.Query/CurrentPlan";
const APPLIED_PLAN = "/cosmos.upgrade.v1beta1.Query/AppliedPlan";

/**
 * The RPC path (with its query string) of CometBFT's URI-style `abci_query`: `path` is a quoted
 * string, `data` hex with a 0x prefix (cometbft v0.38 `rpc/jsonrpc/server/http_uri_handler.go`).
 */
function abciQueryPath(method: string, data?: Uint8Array): string {
    const hex = data && data.length > 0 ? `&data=0x${Buffer.from(data).toString("hex")}` : "";
    return `/abci_query?path=${encodeURIComponent(JSON.stringify(method))}${hex}`;
}

/** The GET path of `CurrentPlan` (its request message is empty). */
export const CURRENT_PLAN_PATH = abciQueryPath(CURRENT_PLAN);

/** The GET path of `AppliedPlan(name)`. */
export function appliedPlanPath(name: string): string {
    return abciQueryPath(APPLIED_PLAN, Writer.create().uint32(tag(1, LEN)).string(name).finish());
}

const VARINT = 0;
const LEN = 2;
const tag = (field: number, wireType: number) => ((field << 3) | wireType) >>> 0;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const abciQuerySchema = z.object({
    response: z.object({
        // CometBFT writes every field, code 0 included; Sei's fork (encoding/json over the
        // generated struct, whose tags say omitempty) leaves out the zero ones.
        code: z.number().int().nonnegative().optional(),
        log: z.string().optional(),
        codespace: z.string().optional(),
        value: z
            .string()
            .regex(BASE64, { error: "expected base64 (the response message's bytes)" })
            .nullable()
            .optional(),
    }),
});

const queryContext = (method: string) => ({
    what: `abci_query ${method}`,
    hint:
        "Check that the node is a Cosmos SDK app with the x/upgrade module (chain kind sei or " +
        "cosmos) and that the URL points at its CometBFT RPC port (26657).",
});

/** The response message's bytes, or a ChainResponseError naming the app's code and log. */
function abciQueryValue(json: unknown, method: string): Uint8Array {
    const ctx = queryContext(method);
    const [result, prefix] = unwrapJsonRpc(json, ctx);
    const { response } = parseWith(abciQuerySchema, result, ctx, prefix);
    if (response.code !== undefined && response.code !== 0) {
        const space = response.codespace ? ` (codespace ${response.codespace})` : "";
        throw new ChainResponseError(
            `${ctx.what} failed in the app: code ${response.code}${space}: ` +
                `${response.log || "(no log)"}\n${ctx.hint}`,
        );
    }
    return Buffer.from(response.value ?? "", "base64");
}

/** Reads `bytes` as a message, calling `field` for each field; unknown fields are skipped. */
function decode(
    bytes: Uint8Array,
    what: string,
    field: (reader: Reader, number: number, wireType: number) => boolean,
): void {
    const reader = Reader.create(bytes);
    try {
        while (reader.pos < reader.len) {
            const t = reader.uint32();
            if (!field(reader, t >>> 3, t & 7)) {
                reader.skipType(t & 7);
            }
        }
    } catch (err) {
        throw new ChainResponseError(
            `${what}: the response message is not valid protobuf (${(err as Error).message}); ` +
                `received ${bytes.length} bytes, base64 ${describe(Buffer.from(bytes).toString("base64"))}`,
        );
    }
}

/** An int64 field as a number: heights stay below 2^53. */
function int64(reader: Reader, what: string): number {
    const v = reader.int64() as unknown as number | { toString(): string };
    const n = typeof v === "number" ? v : Number(v.toString());
    if (!Number.isSafeInteger(n) || n < 0) {
        throw new ChainResponseError(`${what}: ${String(v)} is not a block height`);
    }
    return n;
}

function expectWireType(what: string, field: string, got: number, want: number): void {
    if (got !== want) {
        throw new ChainResponseError(
            `${what}: field ${field} has wire type ${got}, expected ${want}: not the x/upgrade ` +
                "message chainfleet expects (cosmos-sdk proto/cosmos/upgrade/v1beta1)",
        );
    }
}

/**
 * The plan x/upgrade has scheduled, or undefined when there is none (an empty message: governance
 * has not passed an upgrade, or the last one was applied).
 */
export function parseCurrentPlan(json: unknown): UpgradePlanOnChain | undefined {
    const what = `abci_query ${CURRENT_PLAN}`;
    let planBytes: Uint8Array | undefined;
    decode(abciQueryValue(json, CURRENT_PLAN), what, (reader, number, wireType) => {
        if (number !== 1) return false;
        expectWireType(what, "plan (1)", wireType, LEN);
        planBytes = reader.bytes();
        return true;
    });
    if (planBytes === undefined) {
        return undefined;
    }
    const plan: UpgradePlanOnChain = { name: "", height: 0, info: "" };
    decode(planBytes, `${what} plan`, (reader, number, wireType) => {
        switch (number) {
            case 1:
                expectWireType(what, "plan.name (1)", wireType, LEN);
                plan.name = reader.string();
                return true;
            case 3:
                expectWireType(what, "plan.height (3)", wireType, VARINT);
                plan.height = int64(reader, `${what} plan.height`);
                return true;
            case 4:
                expectWireType(what, "plan.info (4)", wireType, LEN);
                plan.info = reader.string();
                return true;
            default:
                return false;
        }
    });
    if (plan.name === "" || plan.height < 1) {
        // x/upgrade's Plan.ValidateBasic refuses both, so a stored plan always has them.
        throw new ChainResponseError(
            `${what}: the plan has name ${JSON.stringify(plan.name)} and height ${plan.height}; ` +
                "x/upgrade stores only plans with a name and a positive height",
        );
    }
    return plan;
}

/** The height where upgrade `name` was applied (`AppliedPlan`); 0 when it never was. */
export function parseAppliedPlan(json: unknown): number {
    const what = `abci_query ${APPLIED_PLAN}`;
    let height = 0;
    decode(abciQueryValue(json, APPLIED_PLAN), what, (reader, number, wireType) => {
        if (number !== 1) return false;
        expectWireType(what, "height (1)", wireType, VARINT);
        height = int64(reader, `${what} height`);
        return true;
    });
    return height;
}

/** A block's height and time (RFC 3339), from `/block` or `/status`. */
export interface BlockStamp {
    height: number;
    time: string;
}

const BLOCK_CONTEXT = {
    what: "CometBFT /block",
    hint: "Check that the URL points at the node's CometBFT RPC port (26657) and the path is /block?height=<h>.",
};

const blockSchema = z.object({
    block: z.object({
        header: z.object({
            height: int64String,
            time: z.string().refine((t) => !Number.isNaN(Date.parse(t)), {
                error: "expected an RFC 3339 time",
            }),
        }),
    }),
});

/** The header height and time of a `/block` answer (CometBFT and Sei share the shape). */
export function parseBlockStamp(json: unknown): BlockStamp {
    const [result, prefix] = unwrapJsonRpc(json, BLOCK_CONTEXT);
    const { header } = parseWith(blockSchema, result, BLOCK_CONTEXT, prefix).block;
    return { height: header.height, time: header.time };
}

/** How far back the block time is sampled: 100 blocks, fewer on a young chain. */
export const BLOCK_TIME_WINDOW = 100;

/** The height of the older block to time the chain against, or undefined below height 2. */
export function olderSampleHeight(latestHeight: number): number | undefined {
    if (latestHeight < 2) return undefined;
    return latestHeight - Math.min(BLOCK_TIME_WINDOW, latestHeight - 1);
}

/** Mean seconds per block between two blocks; undefined when the times do not allow one. */
export function secondsPerBlock(older: BlockStamp, latest: BlockStamp): number | undefined {
    const blocks = latest.height - older.height;
    const seconds = (Date.parse(latest.time) - Date.parse(older.time)) / 1000;
    if (blocks <= 0 || !(seconds > 0)) return undefined;
    return seconds / blocks;
}

/** What the chain says, as kube/chainPlan.ts reads it from one node. */
export interface ChainUpgradeState {
    /** The node asked (a pod name), for messages. */
    node: string;
    /** The scheduled plan; undefined when none is. */
    plan?: UpgradePlanOnChain;
    latestHeight: number;
    /** Seconds since the node's latest block, by the reader's clock. */
    latestBlockAgeSeconds?: number;
    secondsPerBlock?: number;
    /** AppliedPlan(upgradeName): 0 when never applied; undefined when not asked (no name). */
    appliedHeight?: number;
}

/** A HardFork group's upgrade as its config declares it. */
export interface DeclaredUpgrade {
    group: string;
    /** H, `update.haltHeight`: the first height the new binary executes. */
    haltHeight: number;
    upgradeName?: string;
    /**
     * This run carries out the fork (lib/plan.ts kind `hardFork`): the bootstraps halt the
     * incumbent image at H-1 and the entrants start at H. Otherwise the group is steady and H is
     * the height of a fork already made.
     */
    upgrading: boolean;
}

export interface PlanVerdict {
    /**
     * `info`: the chain agrees (printed); `warn`: printed as a warning, `pulumi up` goes on;
     * `problem`: `pulumi up` stops before registering any resource.
     */
    level: "info" | "warn" | "problem";
    message: string;
    /** Estimated seconds until the scheduled plan's height, when there is one and a block time. */
    etaSeconds?: number;
}

/**
 * The group's declared upgrade checked against the chain. What blocks and what only warns:
 *
 * - A **problem** only while this run makes the fork (`upgrading`), and only when the chain says
 *   the config is wrong: a scheduled plan at another height or under another name, the named
 *   upgrade applied at another height, or the chain already past H with nothing applied there.
 *   Each of these makes the bootstraps halt at the wrong block or start the new binary on a
 *   block the old one executed (an app hash mismatch), or gives the new binary an
 *   upgrade-info.json under a name it has no handler for (it panics at H).
 * - A **warning** when the chain cannot confirm but need not be wrong: no plan scheduled yet
 *   (a proposal still in its voting period, or a fork coordinated off chain, where every
 *   validator halts at H-1 without a plan), or no `upgradeName` to write upgrade-info.json with.
 *   Also every disagreement on a steady group: H is then a fork already made, and nothing this
 *   run does depends on it.
 * - **info** otherwise: the plan, its height, name and an estimate of when (the preview shows it).
 *
 * A chain that cannot be read is the caller's (lib/chainPlanCheck.ts): a warning, never a crash.
 */
export function compareWithPlan(declared: DeclaredUpgrade, chain: ChainUpgradeState): PlanVerdict {
    const { group, haltHeight: h, upgradeName: name, upgrading } = declared;
    const key = (k: string) => `groups.${group}.update.${k}`;
    const blocked = (message: string): PlanVerdict => ({
        level: upgrading ? "problem" : "warn",
        message: upgrading
            ? message
            : `${message} (not blocking: ${group} is not being upgraded in this run, so ${h} is the height of a past fork; fix the config before the next one)`,
    });
    const stale = staleNote(chain);
    const plan = chain.plan;
    const scheduled = plan && schedule(plan, chain);

    if (name !== undefined && chain.appliedHeight !== undefined && chain.appliedHeight > 0) {
        if (chain.appliedHeight === h) {
            const next = scheduled ? `; next scheduled: ${scheduled.text}` : "";
            return {
                level: "info",
                message:
                    `upgrade ${name} was applied at ${h} (AppliedPlan on ${chain.node})` +
                    (upgrading ? ": the entrants block-sync across it" : "") +
                    next,
                ...(scheduled?.eta !== undefined && { etaSeconds: scheduled.eta }),
            };
        }
        return blocked(
            `the chain applied upgrade ${name} at height ${chain.appliedHeight}, not at ${h}: ` +
                `set ${key("haltHeight")} to ${chain.appliedHeight} (AppliedPlan on ${chain.node})`,
        );
    }

    if (plan && scheduled) {
        const wrong: string[] = [];
        if (plan.height !== h) {
            wrong.push(
                `the chain's plan ${plan.name} is at height ${plan.height}, but ${key("haltHeight")} is ${h}: set it to ${plan.height}`,
            );
        }
        if (name !== undefined && plan.name !== name) {
            wrong.push(
                `the chain's plan is named ${JSON.stringify(plan.name)}, but ${key("upgradeName")} is ${JSON.stringify(name)}: ` +
                    "the new binary registers its upgrade handler under the plan's name, so set it to that",
            );
        }
        if (wrong.length > 0) {
            const verdict = blocked(`${wrong.join("; ")} (CurrentPlan on ${chain.node})`);
            return { ...verdict, message: verdict.message + stale };
        }
        if (name === undefined) {
            return {
                level: "warn",
                message:
                    `${scheduled.text}; ${key("upgradeName")} is not set, so the entrants get no ` +
                    `upgrade-info.json and a release that adds stores fails at ${h}: set it to ${JSON.stringify(plan.name)}` +
                    stale,
                ...(scheduled.eta !== undefined && { etaSeconds: scheduled.eta }),
            };
        }
        return {
            level: "info",
            message: scheduled.text + stale,
            ...(scheduled.eta !== undefined && { etaSeconds: scheduled.eta }),
        };
    }

    // No plan scheduled, and the named upgrade (if any) never applied.
    if (chain.latestHeight >= h) {
        if (!upgrading) {
            return { level: "info", message: `no upgrade plan is scheduled on the chain` };
        }
        return {
            level: "problem",
            message:
                `the chain is at height ${chain.latestHeight} (${chain.node}), past ${key("haltHeight")} ${h}, ` +
                `and ${name === undefined ? "has no upgrade plan" : `never applied upgrade ${name}`}: ` +
                "the bootstraps would stop the old binary before a block it already executed and the new " +
                "binary would execute it again; check the height and name against the chain's upgrade",
        };
    }
    if (!upgrading) {
        return { level: "info", message: `no upgrade plan is scheduled on the chain` };
    }
    const away = untilText(h, chain);
    return {
        level: "warn",
        message:
            `no upgrade plan is scheduled on the chain yet (governance proposal not passed?): ` +
            `nothing on chain confirms ${key("haltHeight")} ${h}${name === undefined ? "" : ` or upgrade ${name}`}; ` +
            `${h} is ${away}. Go on only if the fork is coordinated off chain (every validator halting at ${h - 1})` +
            stale,
        ...(chain.secondsPerBlock !== undefined && {
            etaSeconds: Math.round((h - chain.latestHeight) * chain.secondsPerBlock),
        }),
    };
}

/** "upgrade v6 at 1200, in ~3h20m (2000 blocks at 6.00s/block)". */
function schedule(plan: UpgradePlanOnChain, chain: ChainUpgradeState) {
    const blocks = plan.height - chain.latestHeight;
    const eta =
        chain.secondsPerBlock !== undefined && blocks > 0
            ? Math.round(blocks * chain.secondsPerBlock)
            : undefined;
    return {
        text: `upgrade ${plan.name} at ${plan.height}, ${untilText(plan.height, chain)}`,
        eta,
    };
}

function untilText(height: number, chain: ChainUpgradeState): string {
    const blocks = height - chain.latestHeight;
    if (blocks <= 0) {
        return `reached (the node is at ${chain.latestHeight})`;
    }
    const n = `${blocks} block${blocks === 1 ? "" : "s"}`;
    if (chain.secondsPerBlock === undefined) {
        return `${n} from the node's height ${chain.latestHeight} (block time unknown)`;
    }
    return `in ~${approxDuration(blocks * chain.secondsPerBlock)} (${n} at ${chain.secondsPerBlock.toFixed(2)}s/block)`;
}

/** A node whose latest block is old is halted or behind: its heights and estimate are too. */
const STALE_SECONDS = 120;
function staleNote(chain: ChainUpgradeState): string {
    const age = chain.latestBlockAgeSeconds;
    if (age === undefined || age < STALE_SECONDS) return "";
    return (
        `; note: ${chain.node}'s latest block (${chain.latestHeight}) is ${approxDuration(age)} old, ` +
        "so it is halted or behind, and what it says may be out of date"
    );
}

/** `12345` -> `3h26m`, `90` -> `1m30s`, `200000` -> `2d7h`. */
export function approxDuration(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d}d${h}h`;
    if (h > 0) return `${h}h${m}m`;
    if (m > 0) return `${m}m${s % 60}s`;
    return `${s}s`;
}
