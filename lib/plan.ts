/**
 * The upgrade plan of one group: a pure function of the desired revision, the group's strategy and
 * the incumbent read from the cluster. NodeDeployment declares what the plan says; nothing here
 * touches Pulumi or a cluster, so every transition is table-tested.
 */
import type { UpdateSpec } from "./groupSpec";
import { groupNames } from "./names";

/** The set that serves a group now, as read from the live cluster. */
export interface Incumbent {
    /** StatefulSet name of the active set (from the stable Service's selector). */
    set: string;
    /** Its revision label. */
    revision: string;
    /** The image its node container runs (what a HardFork bootstrap runs). */
    image?: string;
    /** Its replica count. */
    replicas?: number;
    /** When the traffic switch last flipped the group's stable Service; absent if it never did. */
    switchedAt?: string;
}

export type PlanKind =
    /** No incumbent: create the set and point the stable Service at it; nothing to gate. */
    | "create"
    /** The incumbent already is the desired set: declare it as it is (scaling included). */
    | "steady"
    /** Rolling: update the incumbent set in place. */
    | "inPlace"
    /** BlueGreen, or a strategy change: entrant set, caught-up gate, switch, teardown. */
    | "blueGreen"
    /** HardFork: entrant volumes, bootstrap with the incumbent image, running gate, switch, teardown. */
    | "hardFork";

/**
 * The group's upgrade records: the gate, the switch and (HardFork) the bootstraps, one of each
 * per group, named without a revision so that each upgrade updates them rather than replacing
 * them.
 * - `active`: they wait (and switch) for this plan's entrant.
 * - `settled`: the group has records from an earlier upgrade and no upgrade is under way; they
 *   are declared so Pulumi keeps them (a record left out would be deleted, and a finished
 *   upgrade would never be a no-op) and do nothing, not even contact the cluster.
 * - `none`: the group never switched (first deployment onwards): nothing to keep.
 */
export type RecordsMode = "active" | "settled" | "none";

export interface UpgradePlan {
    kind: PlanKind;
    records: RecordsMode;
    /** StatefulSet name of the set to declare (the entrant, when there is one). */
    set: string;
    /** Whether that set is named after (and selects) its revision. */
    pinRevision: boolean;
    /** The incumbent that keeps serving until the switch, when the plan replaces one. */
    incumbent?: Incumbent;
    /** Why the plan is what it is, for the preview log. */
    reason: string;
}

export function planUpgrade(
    group: string,
    desiredRevision: string,
    update: Pick<UpdateSpec, "strategy">,
    incumbent: Incumbent | undefined,
): UpgradePlan {
    const pinRevision = update.strategy !== "Rolling";
    const set = groupNames(group, pinRevision ? desiredRevision : undefined).statefulSet;
    if (!incumbent) {
        return {
            kind: "create",
            records: "none",
            set,
            pinRevision,
            reason: "first deployment: nothing to gate",
        };
    }
    const records: RecordsMode = incumbent.switchedAt ? "settled" : "none";
    if (incumbent.set === set && incumbent.revision === desiredRevision) {
        return {
            kind: "steady",
            records,
            set,
            pinRevision,
            reason: `revision ${desiredRevision} is active`,
        };
    }
    if (incumbent.set === set) {
        // Only a Rolling set keeps its name across revisions.
        return {
            kind: "inPlace",
            records,
            set,
            pinRevision,
            incumbent,
            reason: `rolling ${set} from ${incumbent.revision} to ${desiredRevision} in place`,
        };
    }
    const kind: PlanKind = update.strategy === "HardFork" ? "hardFork" : "blueGreen";
    return {
        kind,
        records: "active",
        set,
        pinRevision,
        incumbent,
        reason: `${kind === "hardFork" ? "hard fork" : "blue-green"} from ${incumbent.set} (${incumbent.revision}) to ${set} (${desiredRevision})`,
    };
}
