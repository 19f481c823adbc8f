/**
 * HeightGate: a dynamic resource whose create (or update) returns only once a group of entrant
 * pods is `running` (all Ready), `caughtUp` (synced to the incumbents' or reference RPCs' height)
 * or `atHeight` (at or past a target height), and fails at its own deadline otherwise.
 *
 * A failed gate changes nothing: it reads pods and node RPC, never writes. Pulumi keeps no new
 * state for a failed create or update, so the next `pulumi up` runs the gate again (resume).
 * A `settled` gate (the upgrade is over; common.ts `diffRecord`) passes at once. Delete is a no-op.
 * The provider plumbing (defaults, diff, outputs, the resource class) is kit.ts's.
 */
import { CHAIN_KINDS, type ChainKind } from "../chains/kinds";
import { DEFAULTS } from "../lib/defaults";
import { selectorString } from "./switchPlan";
import { DNS_NAME, InputChecker, SettledInput, isSettled, isUnknown } from "./common";
import { HeightGateResult, runHeightGate } from "./heightGateRun";
import { ProviderInputs, ResourceArgs, defineProvider } from "./kit";
import type { RpcMode } from "../kube/rpc";

/** Bump when the gate's behaviour changes, so stacks re-run their gates with the new code. */
export const HEIGHT_GATE_VERSION = "1";

export type GateMode = "running" | "caughtUp" | "atHeight";
export const GATE_MODES: readonly GateMode[] = ["running", "caughtUp", "atHeight"];

/** The tolerance and the deadline are the stack config's (lib/defaults.ts). */
export const HEIGHT_GATE_DEFAULTS = {
    rpcMode: "podProxy" as RpcMode,
    tolerance: DEFAULTS.caughtUpTolerance as number,
    minPeers: 1,
    requireAdvancing: true,
    deadlineSeconds: DEFAULTS.gateSeconds as number,
    pollIntervalMs: 500,
};

/** Constructor arguments: every input may be an Output; defaulted ones may be left out. */
export type HeightGateArgs = ResourceArgs<
    HeightGateInputs,
    keyof typeof HEIGHT_GATE_DEFAULTS | "rpcPort"
>;
export type HeightGateOutputs = HeightGateInputs & HeightGateResult;

/** What the provider methods receive: resolved, with defaults filled in by `check`. */
export interface HeightGateInputs extends ProviderInputs, SettledInput {
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

/** The gate's own input checks (kit.ts checks kube access and `settled`). */
function checkGateInputs(c: InputChecker, inputs: Record<string, unknown>): void {
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
}

export const heightGateId = (inputs: HeightGateInputs): string =>
    `${inputs.namespace}/${inputs.mode}/${selectorString(inputs.entrantSelector)}`;

const heightGate = defineProvider<HeightGateInputs, HeightGateResult, HeightGateArgs>(
    {
        type: "HeightGate",
        version: HEIGHT_GATE_VERSION,
        defaults: HEIGHT_GATE_DEFAULTS,
        triggers: TRIGGERS,
        outputs: ["passedAt", "heights", "referenceHeight", "waitedSeconds", "reason"],
    },
    {
        check: checkGateInputs,
        run: runHeightGate,
        id: heightGateId,
        settled: (): HeightGateResult => ({
            passedAt: new Date().toISOString(),
            heights: {},
            referenceHeight: -1,
            waitedSeconds: 0,
            reason: "settled: the revision is already active, nothing to wait for",
        }),
        // delete: nothing to undo, the gate only observed.
    },
);
export const HeightGate = heightGate.Resource;
export type HeightGate = InstanceType<typeof HeightGate>;
export const { check: checkHeightGate, provider: heightGateProvider } = heightGate;
