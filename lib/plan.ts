/**
 * The upgrade plan of one group: a pure function of the desired revision, the group's strategy and
 * the incumbent read from the cluster. NodeDeployment declares what the plan says; nothing here
 * touches Pulumi or a cluster, so every transition is table-tested.
 */
import type { UpdateConfig } from "../config/schema";
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

export interface UpgradePlan {
    kind: PlanKind;
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
    update: Pick<UpdateConfig, "strategy">,
    incumbent: Incumbent | undefined,
): UpgradePlan {
    const pinRevision = update.strategy !== "Rolling";
    const set = groupNames(group, pinRevision ? desiredRevision : undefined).statefulSet;
    if (!incumbent) {
        return { kind: "create", set, pinRevision, reason: "first deployment: nothing to gate" };
    }
    if (incumbent.set === set && incumbent.revision === desiredRevision) {
        return {
            kind: "steady",
            set,
            pinRevision,
            reason: `revision ${desiredRevision} is active`,
        };
    }
    if (incumbent.set === set) {
        // Only a Rolling set keeps its name across revisions.
        return {
            kind: "inPlace",
            set,
            pinRevision,
            incumbent,
            reason: `rolling ${set} from ${incumbent.revision} to ${desiredRevision} in place`,
        };
    }
    const kind: PlanKind = update.strategy === "HardFork" ? "hardFork" : "blueGreen";
    return {
        kind,
        set,
        pinRevision,
        incumbent,
        reason: `${kind === "hardFork" ? "hard fork" : "blue-green"} from ${incumbent.set} (${incumbent.revision}) to ${set} (${desiredRevision})`,
    };
}
