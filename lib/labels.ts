/** Label keys and label sets shared by the builders, the dynamic providers and the tests. */

export const LABEL = {
    name: "app.kubernetes.io/name",
    instance: "app.kubernetes.io/instance",
    component: "app.kubernetes.io/component",
    partOf: "app.kubernetes.io/part-of",
    managedBy: "app.kubernetes.io/managed-by",
    network: "chainfleet.io/network",
    group: "chainfleet.io/group",
    revision: "chainfleet.io/revision",
    /** The node set (StatefulSet) a pod belongs to; makes StatefulSet selectors disjoint. */
    set: "chainfleet.io/set",
    preprod: "chainfleet.io/preprod",
} as const;

export const ANNOTATION = {
    image: "chainfleet.io/image",
    snapshotScript: "chainfleet.io/snapshot-script-sha256",
    skipAwait: "pulumi.com/skipAwait",
} as const;

/**
 * Stable Service annotation the traffic switch writes when it flips the selector; the program
 * reads it (kube/incumbent.ts) to tell a group that was ever switched, whose records it keeps.
 */
export const SWITCHED_AT_ANNOTATION = "chainfleet.io/switched-at";

export interface GroupIdentity {
    network: string;
    chain: string;
    group: string;
}

/** Labels every object of a group carries, whatever its revision. */
export function groupLabels(id: GroupIdentity): Record<string, string> {
    return {
        [LABEL.name]: `${id.chain}-node`,
        [LABEL.instance]: `${id.network}-${id.group}`.slice(0, 63).replace(/-+$/, ""),
        [LABEL.component]: "node",
        [LABEL.partOf]: "chainfleet",
        [LABEL.managedBy]: "pulumi",
        [LABEL.network]: id.network,
        [LABEL.group]: id.group,
    };
}

/**
 * The selector of one node set's pods: narrow enough that two networks can share a namespace and
 * that no two StatefulSets ever select the same pods. A set that carries its revision in its name
 * (BlueGreen, HardFork) also pins the revision; a Rolling set's pods change revision in place.
 */
export function setSelector(
    id: GroupIdentity,
    set: string,
    revision?: string,
): Record<string, string> {
    return {
        [LABEL.network]: id.network,
        [LABEL.group]: id.group,
        [LABEL.set]: set,
        ...(revision ? { [LABEL.revision]: revision } : {}),
    };
}
