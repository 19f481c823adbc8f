/**
 * A node group as its clients see it: the stable client-facing Service and the node set behind it,
 * and, when the desired revision differs from the incumbent read from the cluster, the upgrade that
 * `pulumi up` carries out (lib/plan.ts decides which):
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
import { adapterFor, portFor } from "../chains";
import type { Chain, GroupConfig } from "../config/schema";
import {
    Bootstrap,
    HeightGate,
    KubeAccessInputs,
    Rollout,
    TrafficSwitch,
} from "../dynamic-providers";
import { LABEL, setSelector } from "../lib/labels";
import { NodeGroupInput, buildBootstrapJob, buildStableService } from "../lib/manifests";
import { groupNames } from "../lib/names";
import { Incumbent, UpgradePlan, planUpgrade } from "../lib/plan";
import type { GroupCohort } from "../lib/preprod";
import { revisionOf } from "../lib/revision";
import { rolloutMaxUnavailable } from "../lib/rollout";
import { NodeGroup } from "./NodeGroup";

export const NODE_DEPLOYMENT_TYPE = "chainfleet:fleet:NodeDeployment";

export interface NodeDeploymentArgs {
    network: string;
    namespace: string;
    chain: Chain;
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
}

export class NodeDeployment extends pulumi.ComponentResource {
    public readonly revision: string;
    public readonly plan: UpgradePlan;
    public readonly stableService: k8s.core.v1.Service;
    public readonly nodeGroup: NodeGroup;
    public readonly gate?: HeightGate;
    public readonly trafficSwitch?: TrafficSwitch;
    /** Moves a Rolling set's pods to this revision (and its preprod cohort's, `preprodRollout`). */
    public readonly rollout?: Rollout;
    public readonly preprod?: NodeGroup;
    public readonly preprodRollout?: Rollout;

    constructor(name: string, args: NodeDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NODE_DEPLOYMENT_TYPE, name, {}, opts);
        const { incumbent } = args;
        // The cohort's nodes come out of the group's own count.
        const config = {
            ...args.config,
            replicas: args.config.replicas - (args.cohort?.replicas ?? 0),
        };
        const adapter = adapterFor(args.chain);
        const identity = { network: args.network, chain: args.chain, group: args.group };
        const update = config.update;
        this.revision = revisionOf(args.chain, config, args.snapshotImage);
        this.plan = planUpgrade(args.group, this.revision, update, incumbent);
        // Upgrades are what a person watching `pulumi up` wants to see; steady groups are noise.
        const quiet = this.plan.kind === "create" || this.plan.kind === "steady";
        (quiet ? pulumi.log.debug : pulumi.log.info)(`${args.group}: ${this.plan.reason}`, this);
        const kube = args.kube ?? {};

        const input: NodeGroupInput = {
            ...identity,
            namespace: args.namespace,
            revision: this.revision,
            pinRevision: this.plan.pinRevision,
            config,
            adapter,
            snapshotImage: args.snapshotImage,
            upgradeInfo:
                update.strategy === "HardFork" && update.upgradeName && adapter.supportsHaltHeight
                    ? { name: update.upgradeName, height: update.haltHeight! }
                    : undefined,
        };
        const names = groupNames(args.group, this.plan.pinRevision ? this.revision : undefined);

        // The group's upgrade records (lib/plan.ts RecordsMode): they wait while an upgrade is
        // under way and are kept, settled, once the group has been switched at least once.
        const records = this.plan.records;
        const settled = records === "settled";
        const beforeStart =
            records !== "none" && update.strategy === "HardFork"
                ? (volumes: k8s.core.v1.PersistentVolumeClaim[]) =>
                      volumes.map((volume, ordinal) => {
                          // The incumbent commits H-1 and stops; the new binary executes H.
                          const haltAt = update.haltHeight! - 1;
                          return new Bootstrap(
                              `${name}-bootstrap-${ordinal}`,
                              {
                                  ...kube,
                                  namespace: args.namespace,
                                  job: settled
                                      ? undefined
                                      : buildBootstrapJob(
                                            input,
                                            ordinal,
                                            this.incumbentImage(args),
                                            haltAt,
                                        ),
                                  pvcName: names.pvc(ordinal),
                                  haltHeight: haltAt,
                                  haltExitCodes: [...adapter.haltExitCodes],
                                  deadlineSeconds: update.timeouts.bootstrapSeconds,
                                  settled,
                              },
                              { parent: this, dependsOn: [volume] },
                          );
                      })
                : undefined;

        this.nodeGroup = new NodeGroup(
            this.plan.pinRevision ? `${name}-${this.revision}` : `${name}-nodes`,
            { ...input, beforeStart },
            { parent: this },
        );
        // Rolling sets use OnDelete (lib/manifests.ts), so only a Rollout moves their pods to a new
        // revision. It is declared on every plan of a Rolling set, not only `inPlace`: a failed
        // rollout leaves the StatefulSet on the new revision, so the next `pulumi up` plans
        // `steady` and must still finish it. A Rollout that finished is in state with the same
        // inputs and does not run again; on a first deployment it finds nothing outdated.
        if (!this.plan.pinRevision) {
            this.rollout = this.declareRollout(
                `${name}-rollout-${this.revision}`,
                this.nodeGroup,
                this.revision,
                { kube, namespace: args.namespace, config },
            );
        }

        if (args.cohort) {
            const cohortConfig = {
                ...args.config,
                image: args.cohort.image,
                replicas: args.cohort.replicas,
            };
            const cohortRevision = revisionOf(args.chain, cohortConfig, args.snapshotImage);
            this.preprod = new NodeGroup(
                `${name}-preprod`,
                {
                    ...input,
                    config: cohortConfig,
                    revision: cohortRevision,
                    pinRevision: false,
                    variant: "preprod",
                    upgradeInfo: undefined,
                    podLabels: { [LABEL.preprod]: "true" },
                },
                { parent: this },
            );
            // The cohort's set is updated in place too (a new preprod image).
            this.preprodRollout = this.declareRollout(
                `${name}-preprod-rollout-${cohortRevision}`,
                this.preprod,
                cohortRevision,
                { kube, namespace: args.namespace, config: cohortConfig },
            );
        }

        this.stableService = new k8s.core.v1.Service(
            `${name}-stable`,
            buildStableService(
                { ...identity, namespace: args.namespace, adapter },
                this.nodeGroup.selector,
            ),
            { parent: this, ignoreChanges: ["spec.selector"], dependsOn: [this.nodeGroup] },
        );

        if (records !== "none") {
            const podUrls = (set: string, urls?: string[]) =>
                Object.fromEntries((urls ?? []).map((url, ordinal) => [`${set}-${ordinal}`, url]));
            // The incumbent is known only while it is being replaced; a settled gate needs none.
            const incumbent = settled ? undefined : this.plan.incumbent!;
            this.gate = new HeightGate(
                `${name}-gate`,
                {
                    ...kube,
                    namespace: args.namespace,
                    chain: args.chain,
                    // A hard-forked node starts at the fork height with nothing to catch up
                    // against until the network moves on: running is the gate there.
                    mode: update.strategy === "HardFork" ? "running" : "caughtUp",
                    entrantSelector: this.nodeGroup.selector,
                    replicas: config.replicas,
                    incumbentSelector: incumbent && setSelector(identity, incumbent.set),
                    rpcPort: portFor(adapter, "rpc").containerPort,
                    rpcMode: update.gate.rpc,
                    directUrls: {
                        ...podUrls(this.plan.set, update.gate.directUrls),
                        ...(incumbent && podUrls(incumbent.set, update.gate.incumbentUrls)),
                    },
                    referenceRpcs: update.gate.referenceRpcs ?? [],
                    tolerance: update.caughtUpTolerance,
                    minPeers: update.gate.minPeers,
                    deadlineSeconds: update.timeouts.gateSeconds,
                    settled,
                },
                { parent: this, dependsOn: [this.nodeGroup] },
            );
            this.trafficSwitch = new TrafficSwitch(
                `${name}-switch`,
                {
                    ...kube,
                    namespace: args.namespace,
                    serviceName: names.stableService,
                    selector: this.nodeGroup.selector,
                    minReady: 1,
                    deadlineSeconds: update.timeouts.switchSeconds,
                    rollbackOnFailure: true,
                    settled,
                },
                { parent: this, dependsOn: [this.gate, this.stableService] },
            );
        }

        this.registerOutputs({
            revision: this.revision,
            plan: this.plan.kind,
            stableService: this.stableService.metadata.name,
        });
    }

    /** The Rollout of a Rolling set to `revision`, after Pulumi has applied its template. */
    private declareRollout(
        resourceName: string,
        set: NodeGroup,
        revision: string,
        on: { kube: KubeAccessInputs; namespace: string; config: GroupConfig },
    ): Rollout {
        return new Rollout(
            resourceName,
            {
                ...on.kube,
                namespace: on.namespace,
                statefulSetName: set.manifests.names.statefulSet,
                revision,
                maxUnavailable: rolloutMaxUnavailable(on.config.podDisruptionBudget),
                deadlineSeconds: on.config.update.timeouts.gateSeconds,
            },
            { parent: this, dependsOn: [set] },
        );
    }

    /** The image a HardFork bootstrap runs: the config override, else the incumbent's. */
    private incumbentImage(args: NodeDeploymentArgs): string {
        const image = args.config.update.bootstrapImage ?? args.incumbent?.image;
        if (!image) {
            throw new pulumi.ResourceError(
                `group ${args.group}: cannot tell which image the incumbent set ` +
                    `${args.incumbent?.set ?? "(none)"} runs, so the HardFork bootstrap has nothing to run; ` +
                    "set update.bootstrapImage to the incumbent image",
                this,
            );
        }
        return image;
    }
}
