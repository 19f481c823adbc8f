/**
 * HeightGate: a dynamic resource whose create (or update) returns only once a group of entrant
 * pods is `running` (all Ready), `caughtUp` (synced to the incumbents' or reference RPCs' height)
 * or `atHeight` (at or past a target height), and fails at its own deadline otherwise.
 *
 * A failed gate changes nothing: it reads pods and node RPC, never writes. Pulumi keeps no new
 * state for a failed create or update, so the next `pulumi up` runs the gate again (resume).
 * A `settled` gate (the upgrade is over; common.ts `diffRecord`) passes at once. Delete is a no-op.
 */
import * as pulumi from "@pulumi/pulumi";
import { CHAIN_KINDS, type ChainKind } from "../chains/kinds";
import { selectorString } from "../lib/switchPlan";
import {
    DNS_NAME,
    InputChecker,
    KubeAccessInputs,
    SettledInput,
    checkSettled,
    diffRecord,
    isSettled,
    isUnknown,
    plainOutputs,
} from "./common";
import { runHeightGate } from "./heightGateRun";
import type { RpcMode } from "./rpc";

/** Bump when the gate's behaviour changes, so stacks re-run their gates with the new code. */
export const HEIGHT_GATE_VERSION = "1";

export type GateMode = "running" | "caughtUp" | "atHeight";
export const GATE_MODES: readonly GateMode[] = ["running", "caughtUp", "atHeight"];

export const HEIGHT_GATE_DEFAULTS = {
    rpcMode: "podProxy" as RpcMode,
    tolerance: 2,
    minPeers: 1,
    requireAdvancing: true,
    deadlineSeconds: 1800,
    pollIntervalMs: 500,
};

/** What the provider methods receive: resolved, with defaults filled in by `check`. */
export interface HeightGateInputs extends KubeAccessInputs, SettledInput {
    namespace: string;
    chain: ChainKind;
    mode: GateMode;
    /** Labels selecting the entrant pods (the new revision). */
    entrantSelector: Record<string, string>;
    /** How many entrant pods must pass. Fewer existing pods never pass. */
    replicas: number;
    /** Labels selecting the incumbent pods, whose highest height is the reference (caughtUp). */
    incumbentSelector?: Record<string, string>;
    /** The node's RPC container port (for pod-proxy URLs). */
    rpcPort: number;
    rpcMode: RpcMode;
    /** direct mode: pod name -> base URL of that pod's RPC (entrants and incumbents). */
    directUrls?: Record<string, string>;
    /** Base URLs of trusted nodes of the same chain; their highest height is a reference. */
    referenceRpcs?: string[];
    /** caughtUp: blocks an entrant may trail the reference by. */
    tolerance: number;
    /** caughtUp: peers each entrant must have. 0 skips the check. */
    minPeers: number;
    /** caughtUp: the height must rise while observed. Off for a chain halted on purpose. */
    requireAdvancing: boolean;
    /** atHeight: the height every entrant must reach. */
    targetHeight?: number;
    /** Give up (fail the update) after this long. The engine ignores customTimeouts. */
    deadlineSeconds: number;
    /** How often node RPC is polled (heights have no watch). Pods are watched, not polled. */
    pollIntervalMs: number;
    providerVersion: string;
}

export interface HeightGateOutputs extends HeightGateInputs {
    /** When the gate passed (RFC 3339). */
    passedAt: string;
    /** Entrant pod -> height when the gate passed (empty in `running` mode). */
    heights: Record<string, number>;
    /** The reference height at pass time, or -1 when there was none. */
    referenceHeight: number;
    /** Seconds the gate waited. */
    waitedSeconds: number;
    /** The passing verdict, e.g. "all 3 entrants caught up (...)". */
    reason: string;
}

/** Inputs that re-run the gate when changed. Deadlines, polling and kube access do not. */
const TRIGGERS: readonly (keyof HeightGateInputs)[] = [
    "namespace",
    "chain",
    "mode",
    "entrantSelector",
    "replicas",
    "incumbentSelector",
    "rpcPort",
    "rpcMode",
    "directUrls",
    "referenceRpcs",
    "tolerance",
    "minPeers",
    "requireAdvancing",
    "targetHeight",
    "providerVersion",
];

function validUrl(s: unknown): boolean {
    if (typeof s !== "string") {
        return false;
    }
    try {
        const u = new URL(s);
        return u.protocol === "http:" || u.protocol === "https:";
    } catch {
        return false;
    }
}

export function checkHeightGate(
    news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<HeightGateInputs> {
    const inputs = { ...HEIGHT_GATE_DEFAULTS, ...dropNullish(news) } as Record<string, unknown>;
    const c = new InputChecker(inputs, "HeightGate");
    c.string("kubeconfig", { optional: true });
    c.string("context", { optional: true });
    c.string("namespace", { pattern: DNS_NAME, hint: "use the namespace the node group runs in" });
    c.oneOf("chain", CHAIN_KINDS);
    c.oneOf("mode", GATE_MODES);
    c.labels("entrantSelector");
    c.labels("incumbentSelector", { optional: true });
    c.integer("replicas", { min: 1 });
    c.oneOf("rpcMode", ["podProxy", "direct"]);
    c.integer("tolerance", { min: 0 });
    c.integer("minPeers", { min: 0 });
    c.integer("deadlineSeconds", { min: 1 });
    c.integer("pollIntervalMs", { min: 50, max: 60_000 });
    c.integer("targetHeight", { optional: true, min: 1 });
    checkSettled(c, inputs);
    if (typeof inputs.requireAdvancing !== "boolean" && !isUnknown(inputs.requireAdvancing)) {
        c.fail(
            "requireAdvancing",
            `must be true or false, got ${JSON.stringify(inputs.requireAdvancing)}`,
        );
    }

    // A settled gate reads no RPC, so what only reaching nodes needs is not required of it.
    const usesRpc =
        (inputs.mode === "caughtUp" || inputs.mode === "atHeight") &&
        !isSettled(inputs as SettledInput);
    if (inputs.mode === "atHeight" && inputs.targetHeight === undefined) {
        c.fail(
            "targetHeight",
            'required when mode is "atHeight"; set the height every entrant must reach',
        );
    }
    if (usesRpc && inputs.rpcMode === "podProxy") {
        c.integer("rpcPort", { min: 1, max: 65535 });
    } else {
        c.integer("rpcPort", { optional: true, min: 1, max: 65535 });
    }
    const direct = inputs.directUrls;
    if (direct !== undefined && !isUnknown(direct)) {
        if (typeof direct !== "object" || direct === null || Array.isArray(direct)) {
            c.fail(
                "directUrls",
                'must map pod names to base URLs, e.g. {"node-0": "http://10.0.0.5:26657"}',
            );
        } else {
            for (const [pod, url] of Object.entries(direct)) {
                if (!isUnknown(url) && !validUrl(url)) {
                    c.fail(`directUrls.${pod}`, `${JSON.stringify(url)} is not an http(s) URL`);
                }
            }
        }
    }
    if (
        usesRpc &&
        inputs.rpcMode === "direct" &&
        (direct === undefined || Object.keys(direct ?? {}).length === 0)
    ) {
        c.fail(
            "directUrls",
            'required when rpcMode is "direct"; map every entrant pod name to its RPC URL',
        );
    }
    const refs = inputs.referenceRpcs;
    if (refs !== undefined && !isUnknown(refs)) {
        if (!Array.isArray(refs)) {
            c.fail("referenceRpcs", "must be a list of base URLs");
        } else {
            refs.forEach((u, i) => {
                if (!isUnknown(u) && !validUrl(u)) {
                    c.fail(`referenceRpcs[${i}]`, `${JSON.stringify(u)} is not an http(s) URL`);
                }
            });
        }
    }
    inputs.providerVersion = HEIGHT_GATE_VERSION;
    return { inputs: inputs as unknown as HeightGateInputs, failures: c.failures };
}

/** null and undefined mean "not set", so defaults apply to them. */
function dropNullish(obj: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== null));
}

export function heightGateId(inputs: HeightGateInputs): string {
    return `${inputs.namespace}/${inputs.mode}/${selectorString(inputs.entrantSelector)}`;
}

async function runAndReturn(inputs: HeightGateInputs): Promise<HeightGateOutputs> {
    const result = isSettled(inputs)
        ? {
              passedAt: new Date().toISOString(),
              heights: {},
              referenceHeight: -1,
              waitedSeconds: 0,
              reason: "settled: the revision is already active, nothing to wait for",
          }
        : await runHeightGate(inputs);
    return plainOutputs({ ...inputs, ...result });
}

export const heightGateProvider: pulumi.dynamic.ResourceProvider<
    HeightGateInputs,
    HeightGateOutputs
> = {
    async check(_olds, news) {
        return checkHeightGate(news as unknown as Record<string, unknown>);
    },
    async diff(_id, olds, news) {
        return diffRecord(
            olds as unknown as Record<string, unknown>,
            news as unknown as Record<string, unknown>,
            TRIGGERS,
        );
    },
    async create(inputs) {
        return { id: heightGateId(inputs), outs: await runAndReturn(inputs) };
    },
    async update(_id, _olds, news) {
        return { outs: await runAndReturn(news) };
    },
    async delete() {
        // Nothing to undo: the gate only observed.
    },
};

type Defaulted = keyof typeof HEIGHT_GATE_DEFAULTS;
type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** Constructor arguments: every input may be an Output; defaulted ones may be left out. */
export type HeightGateArgs = Inputify<
    Omit<HeightGateInputs, Defaulted | "providerVersion" | "rpcPort"> &
        Partial<Pick<HeightGateInputs, Defaulted | "rpcPort">>
>;

export class HeightGate extends pulumi.dynamic.Resource {
    declare readonly passedAt: pulumi.Output<string>;
    declare readonly heights: pulumi.Output<Record<string, number>>;
    declare readonly referenceHeight: pulumi.Output<number>;
    declare readonly waitedSeconds: pulumi.Output<number>;
    declare readonly reason: pulumi.Output<string>;

    constructor(name: string, args: HeightGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            heightGateProvider,
            name,
            {
                ...args,
                providerVersion: HEIGHT_GATE_VERSION,
                passedAt: undefined,
                heights: undefined,
                referenceHeight: undefined,
                waitedSeconds: undefined,
                reason: undefined,
            },
            opts,
            "upgrade",
            "HeightGate",
        );
    }
}
