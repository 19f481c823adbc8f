/**
 * Turns the preprod cohort draw (lib/cohort.ts) into what each group declares: how many of its
 * nodes leave the group's StatefulSet, which nodes those are, and the pods that run the preprod
 * image in their place.
 *
 * The cohort runs as a StatefulSet of its own per group (`<group>-preprod`), so a new preprod
 * image is a change of that set only and never a template change of the group's own set, and
 * each group can run its own preprod image. Its pods take the place of the group's TOP ordinals,
 * because those are the only nodes a StatefulSet can give up: shrinking it removes the highest
 * ordinals, and it cannot skip one in the middle. A draw of single nodes (`rpc-3`) could
 * therefore never be honoured; what it would really remove is `rpc-19`. So the draw decides only
 * HOW MANY nodes each group gives (k), and a group's cohort is always its top k ordinals:
 *
 * - eligible: a group's ordinals above its highest opted-out node (all of them when none is
 *   opted out; none when the group is opted out or has no preprod image). A node below an
 *   opted-out one could only leave by taking the opted-out one with it, so opted-out nodes are
 *   never displaced, at the price of keeping the nodes below them out of the cohort too.
 * - the rendezvous draw runs over the eligible identities of the whole fleet (exact size, stable,
 *   monotone), and each group gives as many nodes as the draw picked from it.
 * - the epoch re-rolls which groups give nodes and how many. Within one group the cohort is
 *   always its top ordinals, so a one-group fleet's cohort does not move with the epoch.
 *
 * The displaced nodes' volumes go with them, and the preprod pods start on volumes of their own:
 * the plan warns about that, since it is data a person would otherwise lose without seeing it in
 * `pulumi preview`.
 */
import {
    CohortSelection,
    PreprodConfig,
    NodeIdentity,
    nodeId,
    preprodImageFor,
    selectPreprodCohort,
} from "./cohort";

export interface GroupCohort {
    /** How many nodes the group gives: its set shrinks by as much, `<group>-preprod` runs as many. */
    replicas: number;
    /** The image the preprod pods run. */
    image: string;
    /** The nodes that leave the group's set, `<group>-<ordinal>`: its top ordinals, ascending. */
    nodes: string[];
    /** The pods that run in their place: `<group>-preprod-0` … `<group>-preprod-<replicas-1>`. */
    pods: string[];
}

export interface PreprodPlan {
    /**
     * The draw as it is realized: `selected` holds the displaced nodes (the union of the groups'
     * `nodes`, sorted by code unit), not the identities the rendezvous hash ranked highest, and
     * `warnings` holds this module's warnings after the draw's own.
     */
    selection: CohortSelection;
    /** Groups that give nodes, by name; a group that gives none is absent. */
    groups: Record<string, GroupCohort>;
}

/** `a`, `a and b`, or `a to z`: one line however many nodes a group gives. */
function span(ids: readonly string[]): string {
    return ids.length <= 2 ? ids.join(" and ") : `${ids[0]} to ${ids[ids.length - 1]}`;
}

/** `1 node`, `2 nodes`. */
function count(n: number, noun: string): string {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Ordinals `from` … `to - 1` of `group` as node ids. */
function ids(group: string, from: number, to: number): string[] {
    return Array.from({ length: Math.max(0, to - from) }, (_, i) =>
        nodeId({ group, ordinal: from + i }),
    );
}

/** What the cohort draw reads of the stack config. */
export interface PreprodStackInput {
    preprod?: PreprodConfig;
    groups: Record<string, { replicas: number }>;
}

export function planPreprod(config: PreprodStackInput, now: Date): PreprodPlan | undefined {
    const preprod = config.preprod;
    if (!preprod) {
        return undefined;
    }
    // Sorted, so neither the warnings nor the outputs depend on the order of the config's keys.
    const names = Object.keys(config.groups).sort();
    const optGroups = new Set(preprod.optOut?.groups ?? []);
    const optNodes = new Set(preprod.optOut?.nodes ?? []);
    const taking = names.filter(
        (g) => preprodImageFor(preprod, g) !== undefined && !optGroups.has(g),
    );

    // A group's eligible ordinals are those above its highest opted-out node; the ones below it
    // are "shadowed". Opt-outs that name no node of the fleet shadow nothing (cohort.ts warns).
    const shadowed: string[] = [];
    const warnings: string[] = [];
    for (const group of taking) {
        const n = config.groups[group].replicas;
        let highest = -1;
        for (let ordinal = n - 1; ordinal >= 0 && highest < 0; ordinal--) {
            if (optNodes.has(nodeId({ group, ordinal }))) highest = ordinal;
        }
        const below = ids(group, 0, highest).filter((id) => !optNodes.has(id));
        if (below.length === 0) continue;
        shadowed.push(...below);
        const optedOut = nodeId({ group, ordinal: highest });
        const above = ids(group, highest + 1, n);
        warnings.push(
            `preprod.optOut.nodes: ${JSON.stringify(optedOut)} also keeps the ` +
                `${count(below.length, "node")} below it (${span(below)}) out of the cohort: a ` +
                `StatefulSet gives up only its highest ordinals, so they can never be picked; ` +
                (above.length > 0
                    ? `the ${above.length} above it (${span(above)}) still can`
                    : `${group} has no node above it, so it gives none`),
        );
    }

    // Every node of the groups with a preprod image goes in, so the draw's own warnings (an
    // opt-out that matches no node) stay as they were; the nodes below an opted-out one are
    // opted out with it, so they are neither ranked nor counted as eligible.
    const nodes: NodeIdentity[] = names
        .filter((g) => preprodImageFor(preprod, g) !== undefined)
        .flatMap((group) =>
            Array.from({ length: config.groups[group].replicas }, (_, ordinal) => ({
                group,
                ordinal,
            })),
        );
    const draw = selectPreprodCohort(
        {
            ...preprod,
            optOut: { groups: preprod.optOut?.groups, nodes: [...optNodes, ...shadowed] },
        },
        nodes,
        now,
    );
    const drawn = new Set(draw.selected);

    const groups: Record<string, GroupCohort> = {};
    for (const group of taking) {
        const n = config.groups[group].replicas;
        // The draw decides only how many nodes the group gives, never which.
        const k = ids(group, 0, n).filter((id) => drawn.has(id)).length;
        if (k === 0) continue;
        const cohort: GroupCohort = {
            replicas: k,
            image: preprodImageFor(preprod, group)!,
            nodes: ids(group, n - k, n),
            pods: ids(`${group}-preprod`, 0, k),
        };
        groups[group] = cohort;
        const one = k === 1;
        warnings.push(
            `${group}: ${count(k, "node")} (${span(cohort.nodes)}) ${one ? "leaves" : "leave"} ` +
                `the ${group} set for the preprod cohort, and ${count(k, "pod")} ` +
                `(${span(cohort.pods)}) ${one ? "runs" : "run"} ${cohort.image} in ` +
                `${one ? "its" : "their"} place; the data ${one ? "volume" : "volumes"} of the ` +
                `${one ? "node" : "nodes"} that ${one ? "leaves is" : "leave are"} deleted with ` +
                `${one ? "it" : "them"}, and the preprod pods start on new volumes`,
        );
    }

    const selected = Object.values(groups)
        .flatMap((g) => g.nodes)
        .sort();
    return {
        selection: { ...draw, selected, warnings: [...draw.warnings, ...warnings] },
        groups,
    };
}
