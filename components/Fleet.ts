/**
 * A network's fleet: its namespace and one NodeDeployment per configured group.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/schema";
import type { KubeAccessInputs } from "../dynamic-providers";
import type { ChainPlanCheck } from "../lib/chainPlanCheck";
import type { Incumbent } from "../lib/plan";
import { networkGenesis } from "../config";
import { fleetPeerAddresses, planFleet } from "../lib/fleetPeers";
import { generatedGenesis } from "../lib/genesis";
import { fleetGroupArgs } from "../lib/planGroup";
import type { PreprodPlan } from "../lib/preprod";
import { BootstrapTest } from "./BootstrapTest";
import { NodeDeployment } from "./NodeDeployment";

export const FLEET_TYPE = "chainfleet:fleet:Fleet";

export interface FleetArgs {
    config: StackConfig;
    /** Each group's incumbent, read from the cluster before planning (kube/incumbent.ts). */
    incumbents?: Record<string, Incumbent | undefined>;
    /** How the dynamic providers reach the cluster. */
    kube?: KubeAccessInputs;
    /** The preprod cohort of this run (lib/preprod.ts). */
    preprod?: PreprodPlan;
    /** HardFork groups' upgrades checked against their chain (lib/chainPlanCheck.ts), by group. */
    chainPlans?: Record<string, ChainPlanCheck>;
}

export class Fleet extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    public readonly genesis?: k8s.core.v1.ConfigMap;
    public readonly deployments: Record<string, NodeDeployment>;
    public readonly bootstrapTests: Record<string, BootstrapTest>;

    constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super(FLEET_TYPE, name, {}, opts);
        const { config } = args;
        const namespace = config.namespace ?? config.network;
        this.namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: namespace, labels: { "chainfleet.io/network": config.network } } },
            { parent: this },
        );
        // A generated genesis (dev/test networks): every group's prepare step reads it.
        const genesis = generatedGenesis(config);
        this.genesis =
            genesis &&
            new k8s.core.v1.ConfigMap(
                `${name}-genesis`,
                { ...genesis, metadata: { ...genesis.metadata, namespace } },
                { parent: this, dependsOn: [this.namespace] },
            );
        this.deployments = {};
        // The same arguments as `npm run plan` describes (lib/planGroup.ts fleetGroupArgs), planned
        // together so that each group knows the others' nodes as peers.
        const groups = fleetGroupArgs(name, config, args.incumbents, args.preprod);
        const plans = planFleet(groups);
        groups.forEach(({ name: child, ...group }, i) => {
            this.deployments[group.group] = new NodeDeployment(
                child,
                {
                    ...group,
                    config: config.groups[group.group],
                    kube: args.kube,
                    plan: plans[i],
                    chainPlan: args.chainPlans?.[group.group],
                },
                {
                    parent: this,
                    dependsOn: [this.namespace, ...(this.genesis ? [this.genesis] : [])],
                },
            );
        });
        this.bootstrapTests = {};
        // A test's node joins the stack's network as a group's nodes do: its genesis and chain
        // id, every fleet node as a peer (when the fleet derives node keys), its placement.
        const peers = fleetPeerAddresses(plans);
        const genesisSpec = networkGenesis(config);
        const join = {
            home: {
                ...(config.chainId !== undefined ? { chainId: config.chainId } : {}),
                ...(genesisSpec !== undefined ? { genesis: genesisSpec } : {}),
            },
            ...(peers.length > 0 ? { inFleetPeers: peers } : {}),
            ...(config.placement !== undefined ? { placement: config.placement } : {}),
        };
        for (const test of config.bootstrapTests) {
            this.bootstrapTests[test.name] = new BootstrapTest(
                `${name}-bootstrap-${test.name}`,
                {
                    namespace,
                    chain: config.chain,
                    network: config.network,
                    test,
                    join,
                    ...(config.monitorImageBuild
                        ? { buildMonitorImage: config.monitorImageBuild }
                        : { monitorImage: config.monitorImage }),
                },
                {
                    parent: this,
                    dependsOn: [this.namespace, ...(this.genesis ? [this.genesis] : [])],
                },
            );
        }
        this.registerOutputs({
            namespace: this.namespace.metadata.name,
            revisions: this.revisions(),
        });
    }

    /** The desired revision of each group. */
    public revisions(): Record<string, string> {
        return Object.fromEntries(
            Object.entries(this.deployments).map(([group, d]) => [group, d.revision]),
        );
    }
}

/**
 * Declares a Fleet with stack-trace capture switched off while its resources are constructed.
 * The Pulumi SDK records a stack trace for every resource and for every promise it creates
 * (source positions and its promise-leak report); under ts-node each capture is source-mapped,
 * and for large fleets that was most of the program's run time and memory (`npm run bench`:
 * 2-3x faster with it off). Errors thrown later keep their stacks; ours carry their own message.
 */
export function declareFleet(
    name: string,
    args: FleetArgs,
    opts?: pulumi.ComponentResourceOptions,
): Fleet {
    const saved = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return new Fleet(name, args, opts);
    } finally {
        Error.stackTraceLimit = saved;
    }
}
