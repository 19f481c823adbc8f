/**
 * Turns the preprod cohort selection (lib/cohort.ts) into what each group declares: how many of
 * its nodes run the next release, and which image. A group with no preprod image has nothing to
 * run first, so it takes no part in the draw.
 *
 * The cohort runs as a StatefulSet of its own per group (`<group>-preprod`) rather than as a
 * partition of the group's StatefulSet: a partitioned rolling update can only move the highest
 * ordinals, so it could not honour the draw (or a single node's opt-out), and every change of
 * the preprod image would be a template change of the group's own StatefulSet. A set of its own
 * changes without touching the other pods, and can run a different image per group.
 */
import type { StackConfig } from "../config/schema";
import {
    CohortSelection,
    NodeIdentity,
    nodeId,
    preprodImageFor,
    selectPreprodCohort,
} from "./cohort";

export interface GroupCohort {
    /** Nodes of the group in the cohort. */
    replicas: number;
    /** The image they run. */
    image: string;
    /** Ids of the drawn nodes (`<group>-<ordinal>`), for the stack outputs. */
    nodes: string[];
}

export interface PreprodPlan {
    selection: CohortSelection;
    groups: Record<string, GroupCohort>;
}

export function planPreprod(config: StackConfig, now: Date): PreprodPlan | undefined {
    const preprod = config.preprod;
    if (!preprod) {
        return undefined;
    }
    const nodes: NodeIdentity[] = Object.entries(config.groups)
        .filter(([group]) => preprodImageFor(preprod, group) !== undefined)
        .flatMap(([group, g]) =>
            Array.from({ length: g.replicas }, (_, ordinal) => ({ group, ordinal })),
        );
    const selection = selectPreprodCohort(preprod, nodes, now);
    const chosen = new Set(selection.selected);
    const groups: Record<string, GroupCohort> = {};
    for (const [group, g] of Object.entries(config.groups)) {
        const image = preprodImageFor(preprod, group);
        const ids = Array.from({ length: g.replicas }, (_, ordinal) => nodeId({ group, ordinal }));
        const drawn = ids.filter((id) => chosen.has(id));
        if (image && drawn.length > 0) {
            groups[group] = { replicas: drawn.length, image, nodes: drawn };
        }
    }
    return { selection, groups };
}
