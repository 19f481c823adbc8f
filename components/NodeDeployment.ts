/**
 * A node group as its clients see it: the stable client-facing Service and the node set behind it,
 * and, when the desired revision differs from the incumbent read from the cluster, the upgrade that
 * `pulumi up` carries out (lib/plan.ts decides which; lib/planGroup.ts plans every object):
 *
 * - Rolling: the set's template updated in place (OnDelete) -> Rollout: outdated pods that are not
 *   Ready replaced at once, the rest maxUnavailable at a time (dynamic-providers/rollout.ts).
 * - BlueGreen: entrant set -> caught-up gate -> traffic switch.
 * - HardFork: entrant volumes -> bootstrap Jobs (incumbent image, halt at H-1) -> entrant set (new
 *   image, upgrade-info.json) -> running gate -> traffic switch.
 *
 * The gate, the switch and the bootstraps are one record each per group (per ordinal for
 * bootstraps), updated by each upgrade and kept, settled, between upgrades, so that a finished
 * upgrade's next `pulumi up` is a no-op.
 *
 * The incumbent set is simply no longer declared: Pulumi deletes what a program stops declaring
 * only after every other step of a successful update, i.e. after the switch. A failed gate fails
 * the update, so nothing is deleted and the incumbents keep serving; the next `pulumi up` reads the
 * same incumbent, finds the entrant already there and resumes at the gate.
 *
 * The stable Service's selector is owned by the traffic switch after creation, so Pulumi declares
 * the Service but ignores `spec.selector` (research/pulumi.md §D: the live value is re-sent, so
 * there is no conflict and no revert).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChainKind } from "../chains/kinds";
import type { GroupConfig } from "../config/schema";
import {
    Bootstrap,
    HeightGate,
    KubeAccessInputs,
    Rollout,
    TrafficSwitch,
} from "../dynamic-providers";
import type { ChainPlanCheck } from "../lib/chainPlanCheck";
import type { Incumbent, UpgradePlan } from "../lib/plan";
import { GroupPlan, NodeSetPlan, RolloutPlan, planGroup } from "../lib/planGroup";
import type { GroupCohort } from "../lib/preprod";
import { NodeGroup } from "./NodeGroup";

export const NODE_DEPLOYMENT_TYPE = "chainfleet:fleet:NodeDeployment";

export interface NodeDeploymentArgs {
    network: string;
    namespace: string;
    chain: ChainKind;
    group: string;
    config: GroupConfig;
    /** The set serving the group now, read from the cluster; undefined on first deployment. */
    incumbent?: Incumbent;
    /** How the dynamic providers reach the cluster. */
    kube?: KubeAccessInputs;
    /** This group's share of the preprod cohort, run as a set of its own. */
    cohort?: GroupCohort;
    /** Image of the snapshot-restore init container. */
    snapshotImage?: string;
    /** The stack's secret nodeKeySeed (lib/nodeKeys.ts). */
    nodeKeySeed?: string;
    /** The group's plan as the fleet planned it (lib/fleetPeers.ts planFleet); else planned here. */
    plan?: GroupPlan;
    /**
     * A HardFork group's upgrade checked against its chain before the fleet was declared
     * (lib/chainPlanCheck.ts; index.ts has already stopped on a problem): logged on the group.
     */
    chainPlan?: ChainPlanCheck;
}

export class NodeDeployment extends pulumi.ComponentResource {
    public readonly revision: string;
    public readonly plan: UpgradePlan;
    public readonly stableService: k8s.core.v1.Service;
    public readonly nodeGroup: NodeGroup;
    public readonly bootstraps: Bootstrap[];
    public readonly gate?: HeightGate;
    public readonly trafficSwitch?: TrafficSwitch;
    /** Moves a Rolling set's pods to this revision (and its preprod cohort's, `preprodRollout`). */
    public readonly rollout?: Rollout;
    public readonly preprod?: NodeGroup;
    public readonly preprodRollout?: Rollout;

    constructor(name: string, args: NodeDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NODE_DEPLOYMENT_TYPE, name, {}, opts);
        const { kube = {}, namespace } = args;
        const access = { kube, namespace };
        const plan = args.plan ?? planGroup({ ...args, name });
        if (plan.problems.length > 0) {
            throw new pulumi.ResourceError(plan.problems.join("; "), this);
        }
        this.revision = plan.revision;
        this.plan = plan.upgrade;
        (plan.quiet ? pulumi.log.debug : pulumi.log.info)(
            `${args.group}: ${plan.upgrade.reason}`,
            this,
        );
        if (args.chainPlan) {
            // The chain's plan (height, name, when) is what a person previewing a fork checks.
            const log =
                args.chainPlan.level !== "info"
                    ? pulumi.log.warn
                    : args.chainPlan.quiet
                      ? pulumi.log.debug
                      : pulumi.log.info;
            log(`${args.group}: chain: ${args.chainPlan.message}`, this);
        }

        // The bootstraps run on the set's volumes, and the set's StatefulSet starts only after
        // them: the set declares its volumes, then waits for what is declared on them here.
        const bootstrapped = deferred<pulumi.Resource[]>();
        this.nodeGroup = this.declareNodeSet(plan.nodeSet, bootstrapped.promise);
        this.bootstraps = plan.bootstraps.map(
            ({ resourceName, ordinal, upgradeHeight: _, haltAfterHeight, ...bootstrap }) =>
                new Bootstrap(
                    resourceName,
                    { ...kube, namespace, ...bootstrap, haltHeight: haltAfterHeight },
                    { parent: this, dependsOn: [this.nodeGroup.volumes[ordinal]] },
                ),
        );
        bootstrapped.resolve(this.bootstraps);
        this.rollout = plan.rollout && this.declareRollout(plan.rollout, this.nodeGroup, access);

        if (plan.preprod) {
            this.preprod = this.declareNodeSet(plan.preprod.nodeSet);
            this.preprodRollout = this.declareRollout(plan.preprod.rollout, this.preprod, access);
        }

        this.stableService = new k8s.core.v1.Service(
            plan.stableService.resourceName,
            plan.stableService.manifest,
            { parent: this, ignoreChanges: ["spec.selector"], dependsOn: [this.nodeGroup] },
        );

        if (plan.gate && plan.trafficSwitch) {
            const { resourceName: gateName, ...gate } = plan.gate;
            this.gate = new HeightGate(
                gateName,
                { ...kube, namespace, ...gate },
                { parent: this, dependsOn: [this.nodeGroup] },
            );
            const { resourceName: switchName, ...trafficSwitch } = plan.trafficSwitch;
            this.trafficSwitch = new TrafficSwitch(
                switchName,
                { ...kube, namespace, ...trafficSwitch },
                { parent: this, dependsOn: [this.gate, this.stableService] },
            );
        }

        this.registerOutputs({
            revision: this.revision,
            plan: this.plan.kind,
            stableService: this.stableService.metadata.name,
        });
    }

    private declareNodeSet(set: NodeSetPlan, startAfter?: Promise<pulumi.Resource[]>): NodeGroup {
        return new NodeGroup(set.resourceName, { ...set.input, startAfter }, { parent: this });
    }

    /** The Rollout of a Rolling set, after Pulumi has applied its template. */
    private declareRollout(
        rollout: RolloutPlan,
        set: NodeGroup,
        access: { kube: KubeAccessInputs; namespace: string },
    ): Rollout {
        const { resourceName, ...inputs } = rollout;
        return new Rollout(
            resourceName,
            { ...access.kube, namespace: access.namespace, ...inputs },
            { parent: this, dependsOn: [set] },
        );
    }
}

/** A promise and the function that fulfils it, for a dependency declared after its dependant. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
}
