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
import { DEFAULTS } from "../lib/defaults";
import { DNS_NAME, InputChecker, SettledInput, isUnknown } from "./common";
import { ProviderInputs, ResourceArgs, defineProvider } from "./kit";
import { runTrafficSwitch } from "./trafficSwitchRun";

export const TRAFFIC_SWITCH_VERSION = "1";

export {
    PREVIOUS_SELECTOR_ANNOTATION,
    SWITCHED_AT_ANNOTATION,
    SWITCH_FIELD_MANAGER,
} from "./constants";

export const TRAFFIC_SWITCH_DEFAULTS = {
    minReady: 1,
    deadlineSeconds: DEFAULTS.switchSeconds as number,
    rollbackOnFailure: true,
};

/** Constructor arguments: every input may be an Output; defaulted ones may be left out. */
export type TrafficSwitchArgs = ResourceArgs<
    TrafficSwitchInputs,
    keyof typeof TRAFFIC_SWITCH_DEFAULTS
>;
export type TrafficSwitchOutputs = TrafficSwitchInputs & TrafficSwitchResult;

export interface TrafficSwitchInputs extends ProviderInputs, SettledInput {
    namespace: string;
    serviceName: string;
    /** The selector to set, e.g. {app.kubernetes.io/instance: x, chainfleet.io/revision: <entrant>}. */
    selector: Record<string, string>;
    /** Ready entrant pods required before the flip, and ready endpoints after it. */
    minReady: number;
    deadlineSeconds: number;
    /** Put the previous selector back if the flipped Service shows no ready entrants in time. */
    rollbackOnFailure: boolean;
}

/** What the switch did: its outputs besides its inputs. */
export interface TrafficSwitchResult {
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

/** The switch's own input checks (kit.ts checks kube access and `settled`). */
function checkSwitchInputs(c: InputChecker, inputs: Record<string, unknown>): void {
    c.string("namespace", { pattern: DNS_NAME, hint: "use the stable Service's namespace" });
    c.string("serviceName", { pattern: DNS_NAME, hint: "name the stable Service to switch" });
    c.labels("selector");
    c.integer("minReady", { min: 1 });
    c.integer("deadlineSeconds", { min: 1 });
    if (typeof inputs.rollbackOnFailure !== "boolean" && !isUnknown(inputs.rollbackOnFailure)) {
        c.fail(
            "rollbackOnFailure",
            `must be true or false, got ${JSON.stringify(inputs.rollbackOnFailure)}`,
        );
    }
}

const trafficSwitch = defineProvider<TrafficSwitchInputs, TrafficSwitchResult, TrafficSwitchArgs>(
    {
        type: "TrafficSwitch",
        version: TRAFFIC_SWITCH_VERSION,
        defaults: TRAFFIC_SWITCH_DEFAULTS,
        triggers: TRIGGERS,
        outputs: [
            "previousSelector",
            "currentSelector",
            "switchedAt",
            "changed",
            "minReadyDuringSwitch",
        ],
    },
    {
        check: checkSwitchInputs,
        run: runTrafficSwitch,
        id: (inputs: TrafficSwitchInputs) => `${inputs.namespace}/${inputs.serviceName}`,
        // Settled: the plan declares it only while the selector already is this one (lib/plan.ts).
        settled: (inputs: TrafficSwitchInputs): TrafficSwitchResult => ({
            previousSelector: inputs.selector,
            currentSelector: inputs.selector,
            switchedAt: new Date().toISOString(),
            changed: false,
            minReadyDuringSwitch: -1,
        }),
        // delete: never flip back on delete; see the module comment.
    },
);
export const TrafficSwitch = trafficSwitch.Resource;
export type TrafficSwitch = InstanceType<typeof TrafficSwitch>;
export const { check: checkTrafficSwitch, provider: trafficSwitchProvider } = trafficSwitch;
