/**
 * Everything one node group declares, as plain data: the node set (and the preprod cohort's), the
 * Rollouts of Rolling sets, the stable Service, and the upgrade records (HardFork bootstraps, the
 * gate, the traffic switch). A pure function of the group's config, the incumbent read from the
 * cluster and the group's share of the preprod cohort; components/NodeDeployment.ts only loops
 * over the result and declares it, so every number here is table- and property-tested without an
 * engine (test/unit/planGroup.test.ts).
 */
import { adapterFor, portFor } from "../chains";
import type { ChainKind } from "../chains/kinds";
import type { GroupSpec } from "./groupSpec";
import { LABEL, setSelector } from "./labels";
import {
    NodeGroupInput,
    buildBootstrapJob,
    buildStableService,
    nodeSetSelector,
    setNames,
} from "./manifests";
import { groupNames } from "./names";
import { Incumbent, UpgradePlan, planUpgrade } from "./plan";
import type { GroupCohort } from "./preprod";
import { revisionOf } from "./revision";
import { rolloutMaxUnavailable } from "./rolloutBudget";

type Obj = Record<string, unknown>;

export interface GroupPlanArgs {
    /** The declaring component's name: every child is named `${name}-<role>`. */
    name: string;
    network: string;
    namespace: string;
    chain: ChainKind;
    group: string;
    config: GroupSpec;
    /** The set serving the group now, read from the cluster; undefined on first deployment. */
    incumbent?: Incumbent;
    /** This group's share of the preprod cohort, run as a set of its own. */
    cohort?: GroupCohort;
    /** Image of the snapshot-restore init container. */
    snapshotImage?: string;
    /** The stack's secret nodeKeySeed: node keys derived at plan time (lib/nodeKeys.ts). */
    nodeKeySeed?: string;
}

/** A node set: the NodeGroup component's name and input, and what others need of it. */
export interface NodeSetPlan {
    resourceName: string;
    input: NodeGroupInput;
    statefulSetName: string;
    /** The selector of its pods. */
    selector: Record<string, string>;
}

/** A Rollout of a Rolling set to `revision`, after Pulumi has applied its template. */
export interface RolloutPlan {
    resourceName: string;
    statefulSetName: string;
    revision: string;
    maxUnavailable: number;
    deadlineSeconds: number;
}

/** The HardFork bootstrap of one entrant volume. */
export interface BootstrapPlan {
    resourceName: string;
    ordinal: number;
    pvcName: string;
    /** H: the first height the new binary executes (`update.haltHeight`). */
    upgradeHeight: number;
    /** H-1: the last height the incumbent binary commits before it stops. */
    haltAfterHeight: number;
    /** The Job that runs the incumbent image to `haltAfterHeight`; none once settled. */
    job?: Obj;
    haltExitCodes: number[];
    deadlineSeconds: number;
    settled: boolean;
}

/** The HeightGate's inputs, but for kube access. */
export interface GatePlan {
    resourceName: string;
    chain: ChainKind;
    mode: "running" | "caughtUp";
    entrantSelector: Record<string, string>;
    replicas: number;
    incumbentSelector?: Record<string, string>;
    rpcPort: number;
    rpcMode: "podProxy" | "direct";
    directUrls: Record<string, string>;
    referenceRpcs: string[];
    tolerance: number;
    minPeers: number;
    deadlineSeconds: number;
    settled: boolean;
}

/** The TrafficSwitch's inputs, but for kube access. */
export interface SwitchPlan {
    resourceName: string;
    serviceName: string;
    selector: Record<string, string>;
    minReady: number;
    deadlineSeconds: number;
    rollbackOnFailure: boolean;
    settled: boolean;
}

export interface GroupPlan {
    revision: string;
    upgrade: UpgradePlan;
    /** Upgrades are what a person watching `pulumi up` wants to see; steady groups are noise. */
    quiet: boolean;
    nodeSet: NodeSetPlan;
    /** Rolling sets only: moves the set's pods to `revision` (dynamic-providers/rolloutPlan.ts). */
    rollout?: RolloutPlan;
    preprod?: { nodeSet: NodeSetPlan; rollout: RolloutPlan };
    stableService: { resourceName: string; manifest: Obj };
    /** HardFork with upgrade records: one per entrant volume, by ordinal. */
    bootstraps: BootstrapPlan[];
    gate?: GatePlan;
    trafficSwitch?: SwitchPlan;
    /** What keeps the plan from being declared (e.g. no image for the bootstrap to run). */
    problems: string[];
}

/** What the groups' plans read of a stack's config (config/schema.ts StackConfig is one). */
export interface FleetSpec {
    network: string;
    namespace?: string;
    chain: ChainKind;
    groups: Record<string, GroupSpec>;
    snapshotImage?: string;
    nodeKeySeed?: string;
}

/**
 * The planGroup arguments of every group of the fleet `fleetName`, in config order. `pulumi up`
 * declares these (components/Fleet.ts) and `npm run plan` describes them (lib/readablePlan.ts),
 * so the two cannot plan a group differently.
 */
export function fleetGroupArgs(
    fleetName: string,
    fleet: FleetSpec,
    incumbents: Record<string, Incumbent | undefined> = {},
    preprod?: { groups: Record<string, GroupCohort> },
): GroupPlanArgs[] {
    return Object.entries(fleet.groups).map(([group, config]) => ({
        name: `${fleetName}-${group}`,
        network: fleet.network,
        namespace: fleet.namespace ?? fleet.network,
        chain: fleet.chain,
        group,
        config,
        incumbent: incumbents[group],
        cohort: preprod?.groups[group],
        snapshotImage: fleet.snapshotImage,
        nodeKeySeed: fleet.nodeKeySeed,
    }));
}

/**
 * The group's desired revision and its upgrade plan (lib/plan.ts): planGroup's first step, for
 * callers that need only the plan's kind before the fleet is declared (lib/chainPlanCheck.ts).
 */
export function groupUpgrade(args: GroupPlanArgs): { revision: string; upgrade: UpgradePlan } {
    const config = groupConfig(args);
    const revision = revisionOf(args.chain, config, args.snapshotImage, nodeKeySeed(args));
    return { revision, upgrade: planUpgrade(args.group, revision, config.update, args.incumbent) };
}

/** The group's config with the preprod cohort's nodes taken out of its own count. */
const groupConfig = (args: GroupPlanArgs): GroupSpec => ({
    ...args.config,
    replicas: args.config.replicas - (args.cohort?.replicas ?? 0),
});

/** Only chains whose homes the agent prepares take node keys. */
const nodeKeySeed = (args: GroupPlanArgs): string | undefined =>
    adapterFor(args.chain).nodeHome ? args.nodeKeySeed : undefined;

export function planGroup(args: GroupPlanArgs): GroupPlan {
    const { name, cohort } = args;
    const config = groupConfig(args);
    const update = config.update;
    const adapter = adapterFor(args.chain, config.cosmos);
    const identity = { network: args.network, chain: args.chain, group: args.group };
    const seed = nodeKeySeed(args);
    const { revision, upgrade } = groupUpgrade(args);
    const problems: string[] = [];

    const upgradeHeight = update.strategy === "HardFork" ? update.haltHeight : undefined;
    const input: NodeGroupInput = {
        ...identity,
        namespace: args.namespace,
        revision,
        pinRevision: upgrade.pinRevision,
        // Only while an incumbent is being replaced: a settled set's PVCs ignore the field.
        cloneVolumesOf:
            update.entrantVolumes === "cloneIncumbent" &&
            upgrade.incumbent !== undefined &&
            (upgrade.kind === "blueGreen" || upgrade.kind === "hardFork")
                ? { set: upgrade.incumbent.set, replicas: upgrade.incumbent.replicas ?? 1 }
                : undefined,
        config,
        adapter,
        snapshotImage: args.snapshotImage,
        // The peers' addresses need every group's set: planFleet (lib/fleetPeers.ts) adds them.
        nodeKeys:
            seed === undefined
                ? undefined
                : { seed, inFleet: config.peers?.inFleet !== false, peers: [] },
        upgradeInfo:
            upgradeHeight !== undefined && update.upgradeName && adapter.supportsHaltHeight
                ? { name: update.upgradeName, height: upgradeHeight }
                : undefined,
    };
    const nodeSet = nodeSetPlan(
        upgrade.pinRevision ? `${name}-${revision}` : `${name}-nodes`,
        input,
    );
    const rolloutOf = (set: NodeSetPlan, resourceName: string): RolloutPlan => ({
        resourceName,
        statefulSetName: set.statefulSetName,
        revision: set.input.revision,
        maxUnavailable: rolloutMaxUnavailable(set.input.config.podDisruptionBudget),
        deadlineSeconds: update.timeouts.gateSeconds,
    });

    // The group's upgrade records (lib/plan.ts RecordsMode): they wait while an upgrade is under
    // way and are kept, settled, once the group has been switched at least once.
    const records = upgrade.records;
    const settled = records === "settled";
    const bootstraps: BootstrapPlan[] = [];
    if (records !== "none" && upgradeHeight !== undefined) {
        const image = settled ? undefined : bootstrapImage(args, problems);
        for (let ordinal = 0; ordinal < config.replicas; ordinal++) {
            // The incumbent commits H-1 and stops (proven by the agent); the new binary executes H.
            const haltAfterHeight = upgradeHeight - 1;
            bootstraps.push({
                resourceName: `${name}-bootstrap-${ordinal}`,
                ordinal,
                pvcName: setNames(input).pvc(ordinal),
                upgradeHeight,
                haltAfterHeight,
                job: image ? buildBootstrapJob(input, ordinal, image, upgradeHeight) : undefined,
                // Only the agent's 0 is a halt: it has checked the app's committed height.
                haltExitCodes: [],
                deadlineSeconds: update.timeouts.bootstrapSeconds,
                settled,
            });
        }
    }

    let gate: GatePlan | undefined;
    let trafficSwitch: SwitchPlan | undefined;
    if (records !== "none") {
        // The incumbent is known only while it is being replaced; a settled gate needs none.
        const replaced = settled ? undefined : upgrade.incumbent!;
        gate = {
            resourceName: `${name}-gate`,
            chain: args.chain,
            // A hard-forked node starts at the fork height with nothing to catch up against
            // until the network moves on: running is the gate there.
            mode: update.strategy === "HardFork" ? "running" : "caughtUp",
            entrantSelector: nodeSet.selector,
            replicas: config.replicas,
            incumbentSelector: replaced && setSelector(identity, replaced.set),
            rpcPort: portFor(adapter, "rpc").containerPort,
            rpcMode: update.gate.rpc,
            directUrls: {
                ...podUrls(upgrade.set, update.gate.directUrls),
                ...(replaced && podUrls(replaced.set, update.gate.incumbentUrls)),
            },
            referenceRpcs: update.gate.referenceRpcs ?? [],
            tolerance: update.caughtUpTolerance,
            minPeers: update.gate.minPeers,
            deadlineSeconds: update.timeouts.gateSeconds,
            settled,
        };
        trafficSwitch = {
            resourceName: `${name}-switch`,
            serviceName: groupNames(args.group).stableService,
            selector: nodeSet.selector,
            minReady: 1,
            deadlineSeconds: update.timeouts.switchSeconds,
            rollbackOnFailure: true,
            settled,
        };
    }

    let preprod: GroupPlan["preprod"];
    if (cohort) {
        const cohortConfig = { ...args.config, image: cohort.image, replicas: cohort.replicas };
        const cohortSet = nodeSetPlan(`${name}-preprod`, {
            ...input,
            config: cohortConfig,
            revision: revisionOf(args.chain, cohortConfig, args.snapshotImage, seed),
            pinRevision: false,
            variant: "preprod",
            upgradeInfo: undefined,
            podLabels: { [LABEL.preprod]: "true" },
        });
        // The cohort's set is updated in place too (a new preprod image).
        preprod = {
            nodeSet: cohortSet,
            rollout: rolloutOf(cohortSet, `${name}-preprod-rollout-${cohortSet.input.revision}`),
        };
    }

    return {
        revision,
        upgrade,
        quiet: upgrade.kind === "create" || upgrade.kind === "steady",
        nodeSet,
        // Rolling sets use OnDelete (lib/manifests.ts), so only a Rollout moves their pods to a
        // new revision. It is planned for every kind of a Rolling set, not only `inPlace`: a
        // failed rollout leaves the StatefulSet on the new revision, so the next `pulumi up`
        // plans `steady` and must still finish it. A Rollout that finished is in state with the
        // same inputs and does not run again; on a first deployment it finds nothing outdated.
        rollout: upgrade.pinRevision
            ? undefined
            : rolloutOf(nodeSet, `${name}-rollout-${revision}`),
        preprod,
        stableService: {
            resourceName: `${name}-stable`,
            manifest: buildStableService(
                { ...identity, namespace: args.namespace, adapter },
                nodeSet.selector,
            ),
        },
        bootstraps,
        gate,
        trafficSwitch,
        problems,
    };
}

function nodeSetPlan(resourceName: string, input: NodeGroupInput): NodeSetPlan {
    return {
        resourceName,
        input,
        statefulSetName: setNames(input).statefulSet,
        selector: nodeSetSelector(input),
    };
}

/** `url[i]` as the URL of pod `<set>-<i>`. */
function podUrls(set: string, urls?: string[]): Record<string, string> {
    return Object.fromEntries((urls ?? []).map((url, ordinal) => [`${set}-${ordinal}`, url]));
}

/** The image a HardFork bootstrap runs: the config override, else the incumbent's. */
function bootstrapImage(args: GroupPlanArgs, problems: string[]): string | undefined {
    const image = args.config.update.bootstrapImage ?? args.incumbent?.image;
    if (!image) {
        problems.push(
            `group ${args.group}: cannot tell which image the incumbent set ` +
                `${args.incumbent?.set ?? "(none)"} runs, so the HardFork bootstrap has nothing to run; ` +
                "set update.bootstrapImage to the incumbent image",
        );
    }
    return image;
}
