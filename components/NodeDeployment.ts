/**
 * A node group as its clients see it: the stable client-facing Service and the node set that
 * serves behind it. The Service outlives sets; its selector pins the active one and, once created,
 * is owned by the traffic switch, so Pulumi declares the Service but ignores `spec.selector`
 * (research/pulumi.md §D: the live value is re-sent, so there is no conflict and no revert).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { adapterFor } from "../chains";
import type { Chain, GroupConfig } from "../config/schema";
import { buildStableService } from "../lib/manifests";
import { revisionOf } from "../lib/revision";
import { NodeGroup } from "./NodeGroup";

export const NODE_DEPLOYMENT_TYPE = "chainfleet:fleet:NodeDeployment";

export interface NodeDeploymentArgs {
    network: string;
    namespace: string;
    chain: Chain;
    group: string;
    config: GroupConfig;
}

export class NodeDeployment extends pulumi.ComponentResource {
    public readonly revision: string;
    public readonly stableService: k8s.core.v1.Service;
    public readonly nodeGroup: NodeGroup;

    constructor(name: string, args: NodeDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NODE_DEPLOYMENT_TYPE, name, {}, opts);
        const adapter = adapterFor(args.chain);
        const identity = { network: args.network, chain: args.chain, group: args.group };
        this.revision = revisionOf(args.chain, args.config);
        const pinRevision = args.config.update.strategy !== "Rolling";

        this.nodeGroup = new NodeGroup(
            pinRevision ? `${name}-${this.revision}` : `${name}-nodes`,
            {
                ...identity,
                namespace: args.namespace,
                revision: this.revision,
                pinRevision,
                config: args.config,
                adapter,
            },
            { parent: this },
        );
        this.stableService = new k8s.core.v1.Service(
            `${name}-stable`,
            buildStableService(
                { ...identity, namespace: args.namespace, adapter },
                this.nodeGroup.selector,
            ),
            { parent: this, ignoreChanges: ["spec.selector"] },
        );

        this.registerOutputs({ revision: this.revision, stableService: this.stableService.metadata.name });
    }
}
