/**
 * Stack keys that make a fleet one network: `nodeKeySeed` (node and validator keys derived at plan
 * time, lib/nodeKeys.ts), `genesis.generate` (a new dev/test network's genesis), a group's
 * `validator` (a signing group) and `peers.inFleet`, and `placement` (where a group's pods run).
 * The rules that span keys are in `networkProblems`, run beside the schema.
 */
import { z } from "zod";
import { adapterFor } from "../chains";
import type { ChainKind } from "../chains/kinds";
import { NODE_KEY_SEED } from "../lib/nodeKeys";
import { DNS1123_SUBDOMAIN, booleanFlag, isObject, nonNegativeInt, positiveInt } from "./rules";

/** Fixed, so a generated genesis is the same file on every run (and a restart joins it again). */
export const DEFAULT_GENESIS_TIME = "2026-01-01T00:00:00Z";
/** The voting power `cometbft init` gives its one validator. */
export const DEFAULT_VALIDATOR_POWER = 10;

export const nodeKeySeedSchema = z
    .string({ error: "nodeKeySeed must be a string" })
    .regex(NODE_KEY_SEED, {
        error:
            "nodeKeySeed must be 64 lower-case hex characters: " +
            "pulumi config set --secret chainfleet:nodeKeySeed $(openssl rand -hex 32)",
    });

export const generateSchema = z.strictObject({
    time: z.iso
        .datetime({
            offset: true,
            error: "time must be an RFC 3339 time such as 2026-01-01T00:00:00Z",
        })
        .default(DEFAULT_GENESIS_TIME),
    power: positiveInt("power").default(DEFAULT_VALIDATOR_POWER),
});

export const validatorSchema = z.strictObject({
    /** A Secret in the namespace with `priv_validator_key.json`; absent: derived (dev/test). */
    keySecret: z
        .string({ error: "keySecret must be a string" })
        .max(253, { error: "keySecret must be at most 253 characters" })
        .regex(DNS1123_SUBDOMAIN, { error: "keySecret must name a Secret (DNS-1123 subdomain)" })
        .optional(),
});

const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelKey =
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const tolerationSchema = z.strictObject({
    key: z.string().regex(labelKey, { error: "key must be a label key" }).optional(),
    operator: z.enum(["Exists", "Equal"], { error: "operator must be Exists or Equal" }).optional(),
    value: z.string().regex(labelValue, { error: "value must be a label value" }).optional(),
    effect: z
        .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"], {
            error: "effect must be NoSchedule, PreferNoSchedule or NoExecute",
        })
        .optional(),
    tolerationSeconds: nonNegativeInt("tolerationSeconds").optional(),
});

/** Where pods run: a node pool's labels and the taints its nodes carry. */
export const placementSchema = z.strictObject({
    nodeSelector: z
        .record(
            z.string().regex(labelKey, { error: "nodeSelector keys must be label keys" }),
            z
                .string({ error: "nodeSelector values must be strings (quote numbers in YAML)" })
                .regex(labelValue, { error: "nodeSelector values must be label values" }),
        )
        .optional(),
    tolerations: z.array(tolerationSchema, { error: "tolerations must be a list" }).optional(),
});

export const inFleetSchema = booleanFlag("inFleet").optional();

type Problem = { path: (string | number)[]; input: unknown; message: string };

const STRATEGIES_WITH_AN_ENTRANT = ["BlueGreen", "HardFork"];

/**
 * The rules on these keys that need the chain kind or several keys: what a generated genesis
 * needs, and that a signing group never has two processes with its key (one replica; no entrant
 * beside the incumbent; never in the preprod cohort). Reads the raw input, as crossKeyProblems does.
 */
export function networkProblems(
    raw: Record<string, unknown>,
    chain: ChainKind | undefined,
): Problem[] {
    const problems: Problem[] = [];
    const add = (path: (string | number)[], input: unknown, message: string) =>
        problems.push({ path, input, message });
    const groups = isObject(raw.groups) ? raw.groups : {};
    const prepared = chain === undefined || adapterFor(chain).nodeHome !== undefined;
    const generate = isObject(raw.genesis) ? raw.genesis.generate : undefined;
    const signing = Object.entries(groups).filter(
        ([, g]) => isObject(g) && g.validator !== undefined,
    );

    if (raw.nodeKeySeed !== undefined && !prepared) {
        add(
            ["nodeKeySeed"],
            "(secret)",
            `${chain} nodes take no CometBFT node keys; drop nodeKeySeed`,
        );
    }
    if (generate !== undefined) {
        const at = ["genesis", "generate"];
        if (chain !== undefined && chain !== "cometbft") {
            add(
                at,
                generate,
                `genesis.generate writes a CometBFT genesis for a plain CometBFT app (e.g. kvstore); ` +
                    `a ${chain} genesis needs accounts and gentxs: give genesis.url or genesis.configMap`,
            );
        }
        if (raw.chainId === undefined) {
            add(
                ["chainId"],
                undefined,
                "genesis.generate needs chainId: the generated genesis' chain_id",
            );
        }
        if (raw.nodeKeySeed === undefined) {
            add(
                ["nodeKeySeed"],
                undefined,
                "genesis.generate needs nodeKeySeed: the validators' keys are derived from it " +
                    "(pulumi config set --secret chainfleet:nodeKeySeed $(openssl rand -hex 32))",
            );
        }
        if (signing.length === 0) {
            add(
                at,
                generate,
                "genesis.generate needs a signing group (a group with `validator: {}`) to name as validator",
            );
        }
        if (raw.production === true || raw.production === "true") {
            add(
                at,
                generate,
                "production stacks join a network with a published genesis (genesis.url with sha256); " +
                    "genesis.generate makes a new dev or test network",
            );
        }
    }
    for (const [name, group] of Object.entries(groups)) {
        if (!isObject(group)) continue;
        const at = ["groups", name];
        if (isObject(group.genesis) && group.genesis.generate !== undefined) {
            add(
                [...at, "genesis", "generate"],
                group.genesis.generate,
                "generate is a network key: set chainfleet:genesis.generate",
            );
        }
        const inFleet = isObject(group.peers) ? group.peers.inFleet : undefined;
        if ((inFleet === true || inFleet === "true") && raw.nodeKeySeed === undefined) {
            add(
                [...at, "peers", "inFleet"],
                inFleet,
                "in-fleet peers need nodeKeySeed: a peer address names the node's ID, derived from it",
            );
        }
        if (group.validator === undefined) continue;
        if (!prepared) {
            add(
                [...at, "validator"],
                group.validator,
                `${chain} groups cannot sign with a CometBFT validator key`,
            );
            continue;
        }
        if (group.replicas !== undefined && group.replicas !== 1) {
            add(
                [...at, "replicas"],
                group.replicas,
                "a signing group (validator) has exactly 1 replica: two processes with one validator key double-sign",
            );
        }
        const strategy = isObject(group.update) ? group.update.strategy : undefined;
        if (typeof strategy === "string" && STRATEGIES_WITH_AN_ENTRANT.includes(strategy)) {
            add(
                [...at, "update", "strategy"],
                strategy,
                `a signing group cannot use ${strategy}: its entrant would run beside the incumbent with the same ` +
                    "validator key and double-sign; use Rolling (the StatefulSet stops the old pod before it starts the new one)",
            );
        }
        const keySecret = isObject(group.validator) ? group.validator.keySecret : undefined;
        if (keySecret === undefined && generate === undefined) {
            add(
                [...at, "validator", "keySecret"],
                undefined,
                "a validator of an existing network needs keySecret: a Secret in the namespace with priv_validator_key.json " +
                    "(a key derived from nodeKeySeed is only for a generated genesis, which names it)",
            );
        }
        if (keySecret !== undefined && generate !== undefined) {
            add(
                [...at, "validator", "keySecret"],
                keySecret,
                "a generated genesis names validators whose keys chainfleet derives from nodeKeySeed; drop keySecret",
            );
        }
        if (raw.preprod !== undefined && !optedOut(raw.preprod, name)) {
            add(
                ["preprod", "optOut", "groups"],
                isObject(raw.preprod) && isObject(raw.preprod.optOut)
                    ? raw.preprod.optOut.groups
                    : undefined,
                `signing group ${name} must be opted out of the preprod cohort: a cohort node would start with its validator key`,
            );
        }
    }
    return problems;
}

function optedOut(preprod: unknown, group: string): boolean {
    const groups =
        isObject(preprod) && isObject(preprod.optOut) ? preprod.optOut.groups : undefined;
    return Array.isArray(groups) && groups.includes(group);
}
