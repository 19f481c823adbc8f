/**
 * TrafficSwitch: points a stable Service's selector at the entrant revision, once the entrant's
 * pods are Ready, and verifies through the Service's EndpointSlices that only entrant pods serve.
 *
 * - Already switched (selector equal): no-op.
 * - Entrants not ready by the deadline: fails without touching the Service.
 * - Flipped but the EndpointSlices do not show ready entrants by the deadline: the selector is
 *   put back (when `rollbackOnFailure`, the default and still ours to revert), then it fails.
 * - Settled (the upgrade is over; common.ts `diffRecord`): returns at once, reading nothing.
 * - Delete is a no-op: flipping back on delete would send traffic to incumbents that are being
 *   torn down. Teardown is the incumbents' deletion.
 *
 * The Service is declared by Pulumi with `ignoreChanges: ["spec.selector"]`; this provider owns
 * the field from the first flip (research/pulumi.md §D).
 */
import * as pulumi from "@pulumi/pulumi";
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
import { runTrafficSwitch } from "./trafficSwitchRun";

export const TRAFFIC_SWITCH_VERSION = "1";

export {
    PREVIOUS_SELECTOR_ANNOTATION,
    SWITCHED_AT_ANNOTATION,
    SWITCH_FIELD_MANAGER,
} from "./constants";

export const TRAFFIC_SWITCH_DEFAULTS = {
    minReady: 1,
    deadlineSeconds: 600,
    rollbackOnFailure: true,
};

export interface TrafficSwitchInputs extends KubeAccessInputs, SettledInput {
    namespace: string;
    serviceName: string;
    /** The selector to set, e.g. {app.kubernetes.io/instance: x, chainfleet.io/revision: <entrant>}. */
    selector: Record<string, string>;
    /** Ready entrant pods required before the flip, and ready endpoints after it. */
    minReady: number;
    deadlineSeconds: number;
    /** Put the previous selector back if the flipped Service shows no ready entrants in time. */
    rollbackOnFailure: boolean;
    providerVersion: string;
}

export interface TrafficSwitchOutputs extends TrafficSwitchInputs {
    previousSelector: Record<string, string>;
    currentSelector: Record<string, string>;
    /** When the selector was flipped (RFC 3339); for a no-op, when an earlier run flipped it. */
    switchedAt: string;
    /** False when the Service already had the selector. */
    changed: boolean;
    /** Fewest ready endpoints seen from just before the flip until verified (-1 for a no-op). */
    minReadyDuringSwitch: number;
}

const TRIGGERS: readonly (keyof TrafficSwitchInputs)[] = [
    "namespace",
    "serviceName",
    "selector",
    "minReady",
    "providerVersion",
];

export function checkTrafficSwitch(
    news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<TrafficSwitchInputs> {
    const inputs = {
        ...TRAFFIC_SWITCH_DEFAULTS,
        ...Object.fromEntries(Object.entries(news).filter(([, v]) => v != null)),
    } as Record<string, unknown>;
    const c = new InputChecker(inputs, "TrafficSwitch");
    c.string("kubeconfig", { optional: true });
    c.string("context", { optional: true });
    c.string("namespace", { pattern: DNS_NAME, hint: "use the stable Service's namespace" });
    c.string("serviceName", { pattern: DNS_NAME, hint: "name the stable Service to switch" });
    c.labels("selector");
    c.integer("minReady", { min: 1 });
    c.integer("deadlineSeconds", { min: 1 });
    checkSettled(c, inputs);
    if (typeof inputs.rollbackOnFailure !== "boolean" && !isUnknown(inputs.rollbackOnFailure)) {
        c.fail(
            "rollbackOnFailure",
            `must be true or false, got ${JSON.stringify(inputs.rollbackOnFailure)}`,
        );
    }
    inputs.providerVersion = TRAFFIC_SWITCH_VERSION;
    return { inputs: inputs as unknown as TrafficSwitchInputs, failures: c.failures };
}

async function switchAndReturn(inputs: TrafficSwitchInputs): Promise<TrafficSwitchOutputs> {
    // Settled: the plan declares it only while the selector already is this one (lib/plan.ts).
    const result = isSettled(inputs)
        ? {
              previousSelector: inputs.selector,
              currentSelector: inputs.selector,
              switchedAt: new Date().toISOString(),
              changed: false,
              minReadyDuringSwitch: -1,
          }
        : await runTrafficSwitch(inputs);
    return plainOutputs({ ...inputs, ...result });
}

export const trafficSwitchProvider: pulumi.dynamic.ResourceProvider<
    TrafficSwitchInputs,
    TrafficSwitchOutputs
> = {
    async check(_olds, news) {
        return checkTrafficSwitch(news as unknown as Record<string, unknown>);
    },
    async diff(_id, olds, news) {
        return diffRecord(
            olds as unknown as Record<string, unknown>,
            news as unknown as Record<string, unknown>,
            TRIGGERS,
        );
    },
    async create(inputs) {
        return {
            id: `${inputs.namespace}/${inputs.serviceName}`,
            outs: await switchAndReturn(inputs),
        };
    },
    async update(_id, _olds, news) {
        return { outs: await switchAndReturn(news) };
    },
    async delete() {
        // Never flip back on delete; see the module comment.
    },
};

type Defaulted = keyof typeof TRAFFIC_SWITCH_DEFAULTS;
type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export type TrafficSwitchArgs = Inputify<
    Omit<TrafficSwitchInputs, Defaulted | "providerVersion"> &
        Partial<Pick<TrafficSwitchInputs, Defaulted>>
>;

export class TrafficSwitch extends pulumi.dynamic.Resource {
    declare readonly previousSelector: pulumi.Output<Record<string, string>>;
    declare readonly currentSelector: pulumi.Output<Record<string, string>>;
    declare readonly switchedAt: pulumi.Output<string>;
    declare readonly changed: pulumi.Output<boolean>;
    declare readonly minReadyDuringSwitch: pulumi.Output<number>;

    constructor(name: string, args: TrafficSwitchArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            trafficSwitchProvider,
            name,
            {
                ...args,
                providerVersion: TRAFFIC_SWITCH_VERSION,
                previousSelector: undefined,
                currentSelector: undefined,
                switchedAt: undefined,
                changed: undefined,
                minReadyDuringSwitch: undefined,
            },
            opts,
            "upgrade",
            "TrafficSwitch",
        );
    }
}
