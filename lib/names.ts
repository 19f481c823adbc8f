/**
 * Every Kubernetes object name chainfleet generates for a node group, in one place, so that the
 * config validator can prove a group name keeps all of them within Kubernetes' limits before
 * anything is registered.
 */

/** Length of the revision hash that names carry (hex characters). */
export const REVISION_LENGTH = 8;

/** The name of the data volume claim template; the StatefulSet controller prefixes PVC names with it. */
export const DATA_VOLUME = "data";

export interface GroupNames {
    /** StatefulSet of one revision of the group. */
    statefulSet: string;
    /** Headless Service giving the revision's pods stable DNS names for peering. */
    peerService: string;
    /** Client-facing Service; outlives revisions, its selector pins one. */
    stableService: string;
    configMap: string;
    /** The set's node keys (`<ordinal>.json`), derived from the stack's nodeKeySeed. */
    nodeKeySecret: string;
    podDisruptionBudget: string;
    /** Pod of `ordinal`. */
    pod(ordinal: number): string;
    /** PVC of `ordinal`, exactly as the StatefulSet controller names it so it adopts ours. */
    pvc(ordinal: number): string;
    /** Hard-fork bootstrap Job of `ordinal`. */
    bootstrapJob(ordinal: number): string;
    /**
     * The per-pod p2p Service of `ordinal` (in-fleet peers): a stable ClusterIP for the pod, since
     * CometBFT resolves a peer's name once and keeps the IP (a restarted pod gets a new one).
     */
    p2pService(ordinal: number): string;
}

/** The Secret of a signing group's validator key when chainfleet derives it (dev/test networks). */
export function validatorKeySecretName(group: string): string {
    return `${group}-validator-key`;
}

/**
 * Names of one node set of a group. A set updated in place (Rolling) is named after the group
 * alone; a set that exists beside others during an upgrade (BlueGreen, HardFork) carries its
 * revision, so entrant and incumbent never collide.
 */
export function groupNames(group: string, revision?: string): GroupNames {
    return {
        ...setObjectNames(revision ? `${group}-${revision}` : group),
        stableService: group,
    };
}

/** The names of the objects of the node set whose StatefulSet is `statefulSet`. */
export function setObjectNames(statefulSet: string): Omit<GroupNames, "stableService"> {
    return {
        statefulSet,
        peerService: `${statefulSet}-peers`,
        configMap: `${statefulSet}-config`,
        nodeKeySecret: `${statefulSet}-node-keys`,
        podDisruptionBudget: statefulSet,
        pod: (ordinal) => `${statefulSet}-${ordinal}`,
        pvc: (ordinal) => `${DATA_VOLUME}-${statefulSet}-${ordinal}`,
        bootstrapJob: (ordinal) => `${statefulSet}-bootstrap-${ordinal}`,
        p2pService: (ordinal) => `${statefulSet}-p2p-${ordinal}`,
    };
}

interface NameLimit {
    what: string;
    name: string;
    max: number;
}

/**
 * The generated names of a group with `replicas` pods, each with the limit Kubernetes puts on it.
 * Limits that bite: a StatefulSet's pods carry the label `controller-revision-hash:
 * <statefulset>-<10 chars>` (63 max, so 52 for the StatefulSet); Services, pods (hostnames) and
 * Jobs (the `job-name` label) are 63.
 */
export function nameLimits(group: string, replicas: number): NameLimit[] {
    const names = groupNames(group, "x".repeat(REVISION_LENGTH));
    const lastOrdinal = Math.max(0, replicas - 1);
    return [
        { what: "StatefulSet", name: names.statefulSet, max: 52 },
        { what: "peer Service", name: names.peerService, max: 63 },
        { what: "stable Service", name: names.stableService, max: 63 },
        { what: "pod", name: names.pod(lastOrdinal), max: 63 },
        { what: "bootstrap Job", name: names.bootstrapJob(lastOrdinal), max: 63 },
        { what: "p2p Service", name: names.p2pService(lastOrdinal), max: 63 },
        { what: "ConfigMap", name: names.configMap, max: 253 },
        { what: "PersistentVolumeClaim", name: names.pvc(lastOrdinal), max: 253 },
    ];
}

/** Human-readable reasons why `group` is too long, or an empty list. */
export function nameLengthProblems(group: string, replicas: number): string[] {
    return nameLimits(group, replicas)
        .filter((limit) => limit.name.length > limit.max)
        .map(
            (limit) =>
                `generated ${limit.what} name '${limit.name}' would be ${limit.name.length} characters (limit ${limit.max}); shorten the group name`,
        );
}
