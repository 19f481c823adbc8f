/**
 * One node set of a group: the StatefulSet with its explicitly declared volumes, the headless
 * peer Service, the chain ConfigMap and the disruption budget.
 *
 * Volumes are explicit PersistentVolumeClaims, named exactly as the StatefulSet controller would
 * name them (`data-<statefulset>-<ordinal>`), rather than left to volumeClaimTemplates alone: a
 * HardFork bootstrap Job must mount an entrant's volume before the entrant StatefulSet exists, and
 * the controller adopts claims that already carry the expected name. Pulumi then knows each volume,
 * and the StatefulSet's retention policy keeps the controller from ever deleting one.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NodeGroupInput, NodeGroupManifests, buildNodeGroup } from "../lib/manifests";

export const NODE_GROUP_TYPE = "chainfleet:fleet:NodeGroup";

export interface NodeGroupArgs extends NodeGroupInput {
    /**
     * Resources the StatefulSet must wait for besides the set's own objects: the HardFork
     * bootstraps, which are declared on `volumes` after this component, hence a promise.
     */
    startAfter?: Promise<pulumi.Resource[]>;
}

export class NodeGroup extends pulumi.ComponentResource {
    public readonly manifests: NodeGroupManifests;
    public readonly statefulSet: k8s.apps.v1.StatefulSet;
    public readonly volumes: k8s.core.v1.PersistentVolumeClaim[];
    public readonly peerService: k8s.core.v1.Service;
    public readonly p2pServices: k8s.core.v1.Service[];
    public readonly configMap: k8s.core.v1.ConfigMap;
    public readonly secrets: k8s.core.v1.Secret[];
    public readonly podDisruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    /** The selector of this set's pods (what the stable Service points at when it is active). */
    public readonly selector: Record<string, string>;

    constructor(name: string, args: NodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NODE_GROUP_TYPE, name, {}, opts);
        const m = buildNodeGroup(args);
        this.manifests = m;
        this.selector = m.selector;
        const child = { parent: this };

        this.configMap = new k8s.core.v1.ConfigMap(`${name}-config`, m.configMap, child);
        // Keys: secret in Pulumi's state as well as in the cluster.
        this.secrets = m.secrets.map(
            (secret, i) =>
                new k8s.core.v1.Secret(
                    `${name}-${i === 0 ? "node-keys" : "validator-key"}`,
                    {
                        ...secret,
                        stringData: pulumi.secret(secret.stringData as Record<string, string>),
                    },
                    { ...child, additionalSecretOutputs: ["stringData", "data"] },
                ),
        );
        this.volumes = m.pvcs.map(
            (pvc, ordinal) =>
                new k8s.core.v1.PersistentVolumeClaim(`${name}-data-${ordinal}`, pvc, {
                    ...child,
                    // A volume holds days of sync: never replace one because a field changed. The
                    // dataSource counts only at creation (an entrant's clone of its incumbent).
                    ignoreChanges: [
                        "spec.resources",
                        "spec.storageClassName",
                        "spec.dataSource",
                        "spec.dataSourceRef",
                    ],
                }),
        );
        this.peerService = new k8s.core.v1.Service(`${name}-peers`, m.peerService, child);
        this.p2pServices = m.p2pServices.map(
            (svc, ordinal) => new k8s.core.v1.Service(`${name}-p2p-${ordinal}`, svc, child),
        );
        const ownObjects: pulumi.Resource[] = [
            this.configMap,
            ...this.secrets,
            this.peerService,
            ...this.p2pServices,
            ...this.volumes,
        ];
        this.statefulSet = new k8s.apps.v1.StatefulSet(`${name}-statefulset`, m.statefulSet, {
            ...child,
            dependsOn: args.startAfter
                ? args.startAfter.then<pulumi.Resource[]>((extra) => [...ownObjects, ...extra])
                : ownObjects,
            // A Rolling set keeps its StatefulSet across revisions, but volumeClaimTemplates are
            // immutable and their labels carry the revision: Pulumi would replace the set, i.e.
            // delete it with every pod at once. The claims are declared above (and ignore size and
            // class changes too), so the template only names them and may stay as first applied.
            ...(args.pinRevision ? {} : { ignoreChanges: ["spec.volumeClaimTemplates"] }),
        });
        this.podDisruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            m.podDisruptionBudget,
            child,
        );

        this.registerOutputs({
            statefulSet: this.statefulSet.metadata.name,
            volumes: this.volumes.map((v) => v.metadata.name),
            selector: this.selector,
        });
    }
}
