/**
 * Rollout: a dynamic resource whose create (or update) replaces the pods of a StatefulSet that
 * uses `updateStrategy: OnDelete` with pods of its newest template, `maxUnavailable` at a time,
 * and returns once none is left on an older revision. It fails at its own deadline otherwise.
 *
 * Why not the controller's RollingUpdate: it replaces one pod, then waits for it to be Ready, and
 * it stalls on a pod that is not Ready (kubernetes#67250, Sei #211). A node's readiness means "in
 * sync", which takes hours after a restart, and a node halted at an upgrade height is never Ready
 * again on the old binary. Here outdated pods that are not Ready go first and all at once; Ready
 * ones go within the budget, each replacement waited for until `waitFor` (rolloutPlan.ts).
 *
 * Idempotent: a pod already on the newest revision is never touched, so a run after an
 * interruption or a failure continues where the last one stopped, and a run with nothing outdated
 * deletes nothing. Delete is a no-op: there is nothing to undo.
 */
import { DEFAULTS } from "../lib/defaults";
import { WAIT_FOR, WaitFor } from "./rolloutPlan";
import { DNS_NAME, InputChecker } from "./common";
import { ProviderInputs, ResourceArgs, defineProvider } from "./kit";
import { runRollout } from "./rolloutRun";

/** Bump when the rollout's behaviour changes, so stacks re-run their rollouts with the new code. */
export const ROLLOUT_VERSION = "1";

export const ROLLOUT_DEFAULTS = {
    maxUnavailable: DEFAULTS.maxUnavailable as number,
    /** Readiness means "in sync" and can take hours; running is what a restart must show. */
    waitFor: "running" as WaitFor,
    deadlineSeconds: DEFAULTS.gateSeconds as number,
};

/** Constructor arguments: every input may be an Output; defaulted ones may be left out. */
export type RolloutArgs = ResourceArgs<RolloutInputs, keyof typeof ROLLOUT_DEFAULTS>;
export type RolloutOutputs = RolloutInputs & RolloutResult;

/** Label values: what the revision label (`chainfleet.io/revision`) may hold. */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export interface RolloutInputs extends ProviderInputs {
    namespace: string;
    statefulSetName: string;
    /**
     * The `chainfleet.io/revision` label of the template to roll to. The rollout checks that the
     * StatefulSet's template carries it, so it never rolls to a template it was not declared for;
     * a new revision changes the inputs and runs the rollout again.
     */
    revision: string;
    /** Ready pods that may be down at once (outdated pods that are not Ready do not count). */
    maxUnavailable: number;
    /** What each replacement must reach before the next pod goes. */
    waitFor: WaitFor;
    /** Give up (fail the update) after this long. The engine ignores customTimeouts. */
    deadlineSeconds: number;
}

/** What the rollout did: its outputs besides its inputs. */
export interface RolloutResult {
    /** The StatefulSet's `status.updateRevision`: every pod carries it now. */
    updateRevision: string;
    /** Pods this run deleted, in order. Empty when nothing was outdated. */
    replaced: string[];
    /** False when nothing was outdated. */
    changed: boolean;
    /** When the last pod reached the new revision and `waitFor` (RFC 3339). */
    finishedAt: string;
    waitedSeconds: number;
    /** The most pods unavailable at once during the run (pods not Ready at the start count). */
    mostUnavailable: number;
}

/**
 * Inputs that re-run the rollout when changed. The budget, `waitFor`, the deadline and kube access
 * only shape a run, and a finished rollout has nothing left to do with them.
 */
const TRIGGERS: readonly (keyof RolloutInputs)[] = [
    "namespace",
    "statefulSetName",
    "revision",
    "providerVersion",
];

/** The rollout's own input checks (kit.ts checks kube access). */
function checkRolloutInputs(c: InputChecker): void {
    c.string("namespace", { pattern: DNS_NAME, hint: "use the namespace the StatefulSet runs in" });
    c.string("statefulSetName", {
        pattern: DNS_NAME,
        hint: "name the StatefulSet whose pods to replace",
    });
    c.string("revision", {
        pattern: LABEL_VALUE,
        hint: "give the chainfleet.io/revision label value of the template to roll to",
    });
    c.integer("maxUnavailable", { min: 1 });
    c.oneOf("waitFor", WAIT_FOR);
    c.integer("deadlineSeconds", { min: 1 });
}

export const rolloutId = (inputs: RolloutInputs): string =>
    `${inputs.namespace}/${inputs.statefulSetName}@${inputs.revision}`;

const rollout = defineProvider<RolloutInputs, RolloutResult, RolloutArgs>(
    {
        type: "Rollout",
        version: ROLLOUT_VERSION,
        defaults: ROLLOUT_DEFAULTS,
        triggers: TRIGGERS,
        outputs: [
            "updateRevision",
            "replaced",
            "changed",
            "finishedAt",
            "waitedSeconds",
            "mostUnavailable",
        ],
    },
    {
        check: checkRolloutInputs,
        run: runRollout,
        id: rolloutId,
        // delete: nothing to undo, replaced pods run the template Pulumi declared.
    },
);
export const Rollout = rollout.Resource;
export type Rollout = InstanceType<typeof Rollout>;
export const { check: checkRollout, provider: rolloutProvider } = rollout;
