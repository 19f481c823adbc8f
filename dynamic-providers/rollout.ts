/**
 * Rollout: a dynamic resource whose create (or update) replaces the pods of a StatefulSet that
 * uses `updateStrategy: OnDelete` with pods of its newest template, `maxUnavailable` at a time,
 * and returns once none is left on an older revision. It fails at its own deadline otherwise.
 *
 * Why not the controller's RollingUpdate: it replaces one pod, then waits for it to be Ready, and
 * it stalls on a pod that is not Ready (kubernetes#67250, Sei #211). A node's readiness means "in
 * sync", which takes hours after a restart, and a node halted at an upgrade height is never Ready
 * again on the old binary. Here outdated pods that are not Ready go first and all at once; Ready
 * ones go within the budget, each replacement waited for until `waitFor` (lib/rollout.ts).
 *
 * Idempotent: a pod already on the newest revision is never touched, so a run after an
 * interruption or a failure continues where the last one stopped, and a run with nothing outdated
 * deletes nothing. Delete is a no-op: there is nothing to undo.
 */
import * as pulumi from "@pulumi/pulumi";
import { WAIT_FOR, WaitFor } from "../lib/rollout";
import { DNS_NAME, InputChecker, KubeAccessInputs, diffInputs, plainOutputs } from "./common";
import { runRollout } from "./rolloutRun";

/** Bump when the rollout's behaviour changes, so stacks re-run their rollouts with the new code. */
export const ROLLOUT_VERSION = "1";

export const ROLLOUT_DEFAULTS = {
    maxUnavailable: 1,
    /** Readiness means "in sync" and can take hours; running is what a restart must show. */
    waitFor: "running" as WaitFor,
    deadlineSeconds: 3600,
};

/** Label values: what the revision label (`chainfleet.io/revision`) may hold. */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export interface RolloutInputs extends KubeAccessInputs {
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
    providerVersion: string;
}

export interface RolloutOutputs extends RolloutInputs {
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

export function checkRollout(
    news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<RolloutInputs> {
    const inputs = {
        ...ROLLOUT_DEFAULTS,
        ...Object.fromEntries(Object.entries(news).filter(([, v]) => v != null)),
    } as Record<string, unknown>;
    const c = new InputChecker(inputs, "Rollout");
    c.string("kubeconfig", { optional: true });
    c.string("context", { optional: true });
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
    inputs.providerVersion = ROLLOUT_VERSION;
    return { inputs: inputs as unknown as RolloutInputs, failures: c.failures };
}

export const rolloutId = (inputs: RolloutInputs): string =>
    `${inputs.namespace}/${inputs.statefulSetName}@${inputs.revision}`;

async function runAndReturn(inputs: RolloutInputs): Promise<RolloutOutputs> {
    const result = await runRollout(inputs);
    return plainOutputs({ ...inputs, ...result });
}

export const rolloutProvider: pulumi.dynamic.ResourceProvider<RolloutInputs, RolloutOutputs> = {
    async check(_olds, news) {
        return checkRollout(news as unknown as Record<string, unknown>);
    },
    async diff(_id, olds, news) {
        return diffInputs(
            olds as unknown as Record<string, unknown>,
            news as unknown as Record<string, unknown>,
            TRIGGERS,
        );
    },
    async create(inputs) {
        return { id: rolloutId(inputs), outs: await runAndReturn(inputs) };
    },
    async update(_id, _olds, news) {
        return { outs: await runAndReturn(news) };
    },
    async delete() {
        // Nothing to undo: replaced pods run the template Pulumi declared.
    },
};

type Defaulted = keyof typeof ROLLOUT_DEFAULTS;
type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** Constructor arguments: every input may be an Output; defaulted ones may be left out. */
export type RolloutArgs = Inputify<
    Omit<RolloutInputs, Defaulted | "providerVersion"> & Partial<Pick<RolloutInputs, Defaulted>>
>;

export class Rollout extends pulumi.dynamic.Resource {
    declare readonly updateRevision: pulumi.Output<string>;
    declare readonly replaced: pulumi.Output<string[]>;
    declare readonly changed: pulumi.Output<boolean>;
    declare readonly finishedAt: pulumi.Output<string>;
    declare readonly waitedSeconds: pulumi.Output<number>;
    declare readonly mostUnavailable: pulumi.Output<number>;

    constructor(name: string, args: RolloutArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            rolloutProvider,
            name,
            {
                ...args,
                providerVersion: ROLLOUT_VERSION,
                updateRevision: undefined,
                replaced: undefined,
                changed: undefined,
                finishedAt: undefined,
                waitedSeconds: undefined,
                mostUnavailable: undefined,
            },
            opts,
            "upgrade",
            "Rollout",
        );
    }
}
