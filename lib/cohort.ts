/**
 * The preprod cohort draw: a rendezvous ranking of node identities that decides how many nodes
 * of each group run the preprod image. It does not decide which: a StatefulSet can give up only
 * its highest ordinals, so lib/preprod.ts passes in only the identities a group could really
 * give (those above its highest opted-out node) and turns the k drawn from a group into the
 * group's top k ordinals.
 *
 * Pure and deterministic, so anyone holding the stack config can recompute the cohort (the Flux
 * preprod PR rolled `Math.random()` per node, which nobody could reproduce; see
 * research/progressive.md §3). The rule is rendezvous (highest-random-weight) hashing:
 *
 *   score(node) = sha256(epoch + "\n" + nodeId), compared as a 256-bit big-endian number
 *   cohort      = the k eligible nodes with the highest score (ties: smaller id first)
 *   k           = round-half-up(percent / 100 × eligible), computed exactly (see `cohortSize`)
 *
 * What follows from that rule:
 * - exact size: the cohort has exactly k nodes, not a Bernoulli draw around k;
 * - stable: the same nodes, percent, epoch and opt-outs give the same cohort, whatever the
 *   order of the input;
 * - monotone: raising percent only adds nodes (the top k is a prefix of the top k+1);
 * - minimal churn: a node joining or leaving moves at most one other node in or out;
 * - re-roll: a new epoch gives fresh independent scores, so a new draw (for lib/preprod.ts: a
 *   new split of the cohort over the groups);
 * - opted-out groups and nodes are removed before ranking, so they are never drawn and do not
 *   count towards the eligible total.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { parseImageReference } from "./catalog";

/** A node's identity in the fleet: its group and its StatefulSet ordinal. */
export interface NodeIdentity {
    group: string;
    ordinal: number;
}

/** Opt-outs: whole groups, or single nodes by id (`<group>-<ordinal>`). */
export interface CohortOptOut {
    groups?: readonly string[];
    nodes?: readonly string[];
}

export interface CohortInput {
    nodes: readonly NodeIdentity[];
    /** Share of the eligible nodes to select, 0..100, at most two decimal places. */
    percent: number;
    /** Salt of the hash; a new epoch re-rolls the cohort. See `defaultEpoch`. */
    epoch: string;
    optOut?: CohortOptOut;
}

export interface CohortSelection {
    epoch: string;
    percent: number;
    /** Nodes left after opt-outs. */
    eligible: number;
    /**
     * Ids of the drawn nodes, sorted (ascending, by code unit). lib/preprod.ts replaces them with
     * the nodes really displaced (each group's top ordinals).
     */
    selected: string[];
    /**
     * Things a person should see (the caller logs them, e.g. with `pulumi.log.warn`): a cohort
     * that rounds to zero nodes, opt-outs that match no node.
     */
    warnings: string[];
}

/**
 * A group name: a DNS-1123 label (it names Kubernetes objects), so it cannot contain characters
 * that would make `<group>-<ordinal>` ambiguous. Hyphens are allowed: the ordinal is all digits
 * after the last hyphen, so the id still parses one way.
 */
export const GROUP_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NODE_ID_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?-(0|[1-9][0-9]*)$/;
const EPOCH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** The id a node is ranked by: `"<group>-<ordinal>"`, the StatefulSet pod name of that group. */
export function nodeId(node: NodeIdentity): string {
    return `${node.group}-${node.ordinal}`;
}

/**
 * The default epoch for `date`: its UTC month, `YYYY-MM`. With it the cohort re-rolls once a
 * month (the cadence the Flux PR chose), on the first `pulumi up` of the month. Pin `epoch` in
 * config to keep a cohort across months, or to re-roll on demand.
 */
export function defaultEpoch(date: Date): string {
    if (Number.isNaN(date.getTime())) {
        throw new Error(`defaultEpoch: invalid date ${String(date)}`);
    }
    const month = String(date.getUTCMonth() + 1).padStart(2, "0");
    return `${String(date.getUTCFullYear()).padStart(4, "0")}-${month}`;
}

/**
 * Percent in hundredths of a percent (basis points), so the size can be computed with integers.
 * Returns undefined when percent is out of 0..100 or has more than two decimal places.
 */
function basisPoints(percent: number): number | undefined {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) return undefined;
    const bp = Math.round(percent * 100);
    // 1e-6 absorbs binary representation error (7.1 * 100 = 709.9999999999999) but not a third
    // decimal place (7.125 * 100 = 712.5).
    return Math.abs(bp - percent * 100) < 1e-6 ? bp : undefined;
}

/**
 * Cohort size for `percent` of `eligible` nodes: round(percent/100 × eligible), with .5 rounded
 * up, computed in integers so that 2.5% of 20 nodes is exactly 0.5 and rounds to 1.
 *
 * There is deliberately no minimum of one node: percent is the blast radius the operator agreed
 * to, and 5% of a 3-node fleet rounded up to one node would be 33%. A small fleet therefore gets
 * an empty cohort until percent reaches `minPercentForOneNode(eligible)`; `selectCohort` says so
 * in its warnings.
 */
export function cohortSize(percent: number, eligible: number): number {
    const bp = basisPoints(percent);
    if (bp === undefined) {
        throw new Error(
            `cohortSize: percent ${percent} must be a number from 0 to 100 with at most two ` +
                `decimal places`,
        );
    }
    if (!Number.isSafeInteger(eligible) || eligible < 0) {
        throw new Error(`cohortSize: eligible ${eligible} must be a non-negative integer`);
    }
    // round-half-up(bp × eligible / 10000) == floor((bp × eligible + 5000) / 10000).
    return Math.floor((bp * eligible + 5000) / 10000);
}

/** The smallest percent (two decimals) that selects at least one of `eligible` nodes. */
export function minPercentForOneNode(eligible: number): number | undefined {
    if (eligible <= 0) return undefined;
    // Need bp × eligible ≥ 5000, so bp = ceil(5000 / eligible).
    return Math.ceil(5000 / eligible) / 100;
}

/**
 * The rendezvous score of a node in an epoch: sha256 of `epoch + "\n" + id`, as lower-case hex.
 * Hex strings of equal length compare like the numbers they spell, so no BigInt is needed. The
 * newline separates the two parts: neither may contain one, so distinct pairs hash distinct input.
 */
export function nodeScore(id: string, epoch: string): string {
    return createHash("sha256").update(`${epoch}\n${id}`).digest("hex");
}

/**
 * Select the preprod cohort. Throws, listing every problem, when the input is malformed (bad
 * percent, epoch, group name or ordinal, duplicate node ids): those are caller bugs, not config
 * the user can fix, since config goes through `PreprodConfigSchema` first.
 */
export function selectCohort(input: CohortInput): CohortSelection {
    const problems: string[] = [];
    if (basisPoints(input.percent) === undefined) {
        problems.push(
            `percent: ${input.percent} must be from 0 to 100 with at most two decimal places`,
        );
    }
    if (!EPOCH_PATTERN.test(input.epoch)) {
        problems.push(
            `epoch: ${JSON.stringify(input.epoch)} must be 1-64 characters of ` +
                `[A-Za-z0-9._:-], starting with a letter or digit`,
        );
    }
    const ids = new Set<string>();
    input.nodes.forEach((node, i) => {
        if (!GROUP_NAME_PATTERN.test(node.group)) {
            problems.push(
                `nodes[${i}].group: ${JSON.stringify(node.group)} must be a DNS-1123 label`,
            );
        }
        if (!Number.isSafeInteger(node.ordinal) || node.ordinal < 0) {
            problems.push(`nodes[${i}].ordinal: ${node.ordinal} must be a non-negative integer`);
        }
        const id = nodeId(node);
        if (ids.has(id)) problems.push(`nodes[${i}]: duplicate node id ${JSON.stringify(id)}`);
        ids.add(id);
    });
    if (problems.length > 0) {
        throw new Error(`Invalid preprod cohort input:\n - ${problems.join("\n - ")}`);
    }

    const optGroups = new Set(input.optOut?.groups ?? []);
    const optNodes = new Set(input.optOut?.nodes ?? []);
    const warnings: string[] = [];
    const groups = new Set(input.nodes.map((n) => n.group));
    for (const g of [...optGroups].sort()) {
        if (!groups.has(g)) {
            warnings.push(`preprod.optOut.groups: ${JSON.stringify(g)} matches no node group`);
        }
    }
    for (const n of [...optNodes].sort()) {
        if (!ids.has(n)) {
            warnings.push(`preprod.optOut.nodes: ${JSON.stringify(n)} matches no node`);
        }
    }

    const eligible = input.nodes
        .filter((n) => !optGroups.has(n.group) && !optNodes.has(nodeId(n)))
        .map((n) => {
            const id = nodeId(n);
            return { id, score: nodeScore(id, input.epoch) };
        });
    // Highest score first; ids break the (astronomically unlikely) tie so the order is total and
    // the result never depends on input order.
    eligible.sort((a, b) =>
        a.score !== b.score ? (a.score < b.score ? 1 : -1) : a.id < b.id ? -1 : 1,
    );
    const k = cohortSize(input.percent, eligible.length);
    if (k === 0 && input.percent > 0 && eligible.length > 0) {
        warnings.push(
            `preprod.percent: ${input.percent}% of ${eligible.length} eligible nodes rounds to ` +
                `0, so no node runs the preprod image; ${minPercentForOneNode(eligible.length)}% ` +
                `or more selects one`,
        );
    }
    const selected = eligible
        .slice(0, k)
        .map((e) => e.id)
        .sort();
    return {
        epoch: input.epoch,
        percent: input.percent,
        eligible: eligible.length,
        selected,
        warnings,
    };
}

/** A container image reference, checked by the catalog's parser so both agree on the grammar. */
const ImageReference = z.string().superRefine((ref, ctx) => {
    const parsed = parseImageReference(ref);
    if ("error" in parsed) {
        ctx.addIssue({ code: "custom", message: `${JSON.stringify(ref)}: ${parsed.error}` });
    }
});

const GroupName = z
    .string()
    .regex(GROUP_NAME_PATTERN, { error: "must be a DNS-1123 label (a node group name)" });

/**
 * Stack config `preprod`:
 *
 * ```yaml
 * preprod:
 *   percent: 7                # share of eligible nodes, 0..100, two decimals at most
 *   image: <ref>              # preprod image for every group...
 *   images: {sei-rpc: <ref>}  # ...or per group (wins over `image`)
 *   epoch: "2025-07"          # defaults to the current UTC month, see defaultEpoch
 *   optOut: {groups: [validators], nodes: [sei-rpc-0]}
 * ```
 *
 * A node opt-out also keeps the lower ordinals of its group out of the cohort (lib/preprod.ts).
 */
export const PreprodConfigSchema = z.strictObject({
    percent: z
        .number()
        .min(0)
        .max(100)
        .refine((p) => basisPoints(p) !== undefined, {
            error: "must have at most two decimal places",
        }),
    image: ImageReference.optional(),
    images: z
        .record(GroupName, ImageReference, {
            // Without this zod says only "Invalid key in record".
            error: (iss) =>
                iss.code === "invalid_key"
                    ? "keys must be node group names (DNS-1123 labels)"
                    : undefined,
        })
        .optional(),
    epoch: z
        .string()
        .regex(EPOCH_PATTERN, {
            error: "must be 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit",
        })
        .optional(),
    optOut: z
        .strictObject({
            groups: z.array(GroupName).optional(),
            nodes: z
                .array(
                    z.string().regex(NODE_ID_PATTERN, {
                        error: 'must be a node id "<group>-<ordinal>", e.g. "sei-rpc-0"',
                    }),
                )
                .optional(),
        })
        .optional(),
});

export type PreprodConfig = z.infer<typeof PreprodConfigSchema>;

/** The preprod image for `group`: `images[group]`, else `image`, else undefined (none set). */
export function preprodImageFor(config: PreprodConfig, group: string): string | undefined {
    return config.images?.[group] ?? config.image;
}

/** `selectCohort` for validated config, with the epoch defaulting to the UTC month of `now`. */
export function selectPreprodCohort(
    config: PreprodConfig,
    nodes: readonly NodeIdentity[],
    now: Date,
): CohortSelection {
    return selectCohort({
        nodes,
        percent: config.percent,
        epoch: config.epoch ?? defaultEpoch(now),
        optOut: config.optOut,
    });
}
