/**
 * Pure builders for the Kubernetes objects of one node group revision. They return plain
 * objects; components/ declares them as resources. Keeping them pure lets the tests and the
 * benchmark check every field without an engine.
 */
import { UPGRADE_INFO_PATH, upgradeInfoJson } from "../chains/cosmos";
import type { ChainAdapter } from "../chains/types";
import type { GroupSpec } from "./groupSpec";
import {
    NODE_UID,
    nodePodSecurityContext,
    restrictedContainerSecurityContext,
} from "./podSecurity";
import { DEFAULT_SNAPSHOT_IMAGE, buildSnapshotRestore } from "./snapshot";
import { ANNOTATION, GroupIdentity, LABEL, groupLabels, setSelector } from "./labels";
import {
    DATA_VOLUME,
    GroupNames,
    groupNames,
    setObjectNames,
    validatorKeySecretName,
} from "./names";
import {
    NodeKeyParts,
    OVERRIDES_KEY,
    POD_INDEX_ENV,
    POD_INDEX_LABEL,
    VALIDATOR_KEY_FILE,
    haltProofCommand,
    nodeHomeParts,
    overridesJson,
} from "./nodeHome";
import { groupValidatorKey, nodeKeyJson, podNodeKey, validatorKeyJson } from "./nodeKeys";

export { NODE_UID };
/** Where the group's ConfigMap is mounted read-only. */
export const CONFIG_DIR = "/etc/chainfleet";
const CONFIG_VOLUME = "config";
/** Requests used when a group sets none: the scheduler needs some to place nodes sensibly. */
export const DEFAULT_REQUESTS = { cpu: "500m", memory: "1Gi" } as const;
/** Nodes flush their databases on SIGTERM; killing them early risks a corrupt store. */
export const TERMINATION_GRACE_SECONDS = 300;
/** The label the StatefulSet controller puts on each pod with its name. */
const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";

type Obj = Record<string, unknown>;

export interface NodeGroupInput extends GroupIdentity {
    namespace: string;
    /**
     * `entrantVolumes: cloneIncumbent`: the entrant's volumes are created as clones of this set's
     * (a PVC dataSource). Only at creation: the PVCs ignore later changes to it.
     */
    cloneVolumesOf?: { set: string; replicas: number };
    revision: string;
    /**
     * True for a set that lives beside other revisions during an upgrade (BlueGreen, HardFork):
     * its objects are named after the revision and its selector pins it. False for a Rolling set,
     * updated in place under the group's own name.
     */
    pinRevision: boolean;
    config: GroupSpec;
    adapter: ChainAdapter;
    /** Overrides the image (a HardFork bootstrap runs the incumbent image). */
    image?: string;
    /** Extra labels for the pods (e.g. the preprod cohort marker). */
    podLabels?: Record<string, string>;
    /** A second set of the same group (the preprod cohort): named `<group>-<variant>`. */
    variant?: string;
    /**
     * HardFork entrants of Cosmos chains: the upgrade the new binary must find in
     * `data/upgrade-info.json`, which a node halted with --halt-height never writes.
     */
    upgradeInfo?: { name: string; height: number };
    /** Image of the snapshot-restore init container (when the group has a snapshot). */
    snapshotImage?: string;
    /**
     * Node keys derived from the stack's nodeKeySeed (lib/nodeKeys.ts); `inFleet`: the fleet's
     * nodes are persistent peers, `peers` their addresses (lib/fleetPeers.ts fills them in).
     */
    nodeKeys?: { seed: string; inFleet: boolean; peers: readonly string[] };
}

export interface NodeGroupManifests {
    names: GroupNames;
    labels: Record<string, string>;
    selector: Record<string, string>;
    configMap: Obj;
    /** The set's node keys, and a derived validator key (dev/test): Pulumi secrets. */
    secrets: Obj[];
    peerService: Obj;
    /** In-fleet peering: one ClusterIP Service per pod, the address its peers dial. */
    p2pServices: Obj[];
    pvcs: Obj[];
    statefulSet: Obj;
    podDisruptionBudget: Obj;
}

function metadata(name: string, input: NodeGroupInput, extra: Obj = {}): Obj {
    return { name, namespace: input.namespace, labels: setLabels(input), ...extra };
}

function setLabels(input: NodeGroupInput): Record<string, string> {
    return {
        ...groupLabels(input),
        [LABEL.set]: setNames(input).statefulSet,
        [LABEL.revision]: input.revision,
    };
}

export function setNames(input: NodeGroupInput): GroupNames {
    const base = input.variant ? `${input.group}-${input.variant}` : input.group;
    return groupNames(base, input.pinRevision ? input.revision : undefined);
}

/** The claim spec shared by the explicit PVCs and the StatefulSet's template (they must agree). */
function claimSpec(config: GroupSpec): Obj {
    return {
        accessModes: ["ReadWriteOnce"],
        ...(config.storage.storageClass ? { storageClassName: config.storage.storageClass } : {}),
        resources: { requests: { storage: config.storage.size } },
    };
}

/** The key files and peers the prepare step places (lib/nodeHome.ts). */
function nodeKeyParts(input: NodeGroupInput, names: GroupNames): NodeKeyParts {
    const { nodeKeys } = input;
    const validator = input.config.validator;
    return {
        nodeKeySecret: nodeKeys ? names.nodeKeySecret : undefined,
        validatorKeySecret: validator
            ? (validator.keySecret ?? validatorKeySecretName(input.group))
            : undefined,
        inFleetPeers: nodeKeys?.inFleet ? nodeKeys.peers : undefined,
    };
}

/**
 * The pod template of the set; `ordinal` for a bootstrap Job's pod, which has no pod-index label
 * to pick its node key by.
 */
export function buildPodTemplate(
    input: NodeGroupInput,
    names: GroupNames,
    haltHeight?: number,
    ordinal?: number,
): Obj {
    const { adapter, config } = input;
    const start = adapter.start({ extraArgs: config.args ?? [], haltHeight });
    const keys = nodeKeyParts(input, names);
    const podIndex =
        ordinal !== undefined
            ? { value: String(ordinal) }
            : { valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } } };
    const env = [
        ...start.env,
        ...Object.entries(config.env ?? {}).map(([name, value]) => ({ name, value })),
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "CHAINFLEET_NETWORK", value: input.network },
        { name: "CHAINFLEET_PEER_SERVICE", value: names.peerService },
        ...(keys.nodeKeySecret ? [{ name: POD_INDEX_ENV, ...podIndex }] : []),
    ];
    const image = input.image ?? config.image;
    const restore = snapshotRestore(input, names);
    // CometBFT-family homes are prepared by chainfleet-agent (lib/nodeHome.ts): after a restore
    // (the agent keeps restored data), before upgrade-info (the agent's init must run first).
    const home = nodeHomeParts({
        adapter,
        config,
        image,
        env,
        dataVolume: DATA_VOLUME,
        configVolume: CONFIG_VOLUME,
        configDir: CONFIG_DIR,
        keys,
    });
    const initContainers = [
        ...(restore ? [restore.container] : []),
        ...(home ? home.initContainers : []),
        ...(input.upgradeInfo ? [upgradeInfoContainer(input, image)] : []),
    ];
    return {
        metadata: {
            labels: { ...setLabels(input), ...(input.podLabels ?? {}) },
            annotations: {
                [ANNOTATION.image]: image,
                // The restore script ships in the ConfigMap; a new script must restart pods.
                ...(restore ? { [ANNOTATION.snapshotScript]: restore.scriptSha256 } : {}),
            },
        },
        spec: {
            securityContext: nodePodSecurityContext(),
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            ...(config.placement?.nodeSelector
                ? { nodeSelector: config.placement.nodeSelector }
                : {}),
            ...(config.placement?.tolerations ? { tolerations: config.placement.tolerations } : {}),
            containers: [
                {
                    name: "node",
                    image,
                    command: start.command,
                    args: start.args,
                    env,
                    ports: adapter.ports.map((p) => ({
                        name: p.name,
                        containerPort: p.containerPort,
                        protocol: "TCP",
                    })),
                    // Startup gives a long store replay a day before liveness may restart it.
                    startupProbe: adapter.startupProbe,
                    readinessProbe: home ? home.readinessProbe : adapter.readinessProbe,
                    livenessProbe: adapter.livenessProbe,
                    resources: {
                        requests: { ...DEFAULT_REQUESTS, ...(config.resources?.requests ?? {}) },
                        ...(config.resources?.limits ? { limits: config.resources.limits } : {}),
                    },
                    securityContext: restrictedContainerSecurityContext(),
                    volumeMounts: [
                        { name: DATA_VOLUME, mountPath: adapter.homeDir },
                        { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
                        ...(home ? [home.nodeVolumeMount] : []),
                    ],
                },
            ],
            ...(initContainers.length > 0 ? { initContainers } : {}),
            volumes: [
                { name: CONFIG_VOLUME, configMap: { name: names.configMap } },
                ...(restore ? [restore.volume] : []),
                ...(home ? home.volumes : []),
            ],
        },
    };
}

/** The checksum-verified snapshot restore of a group with a snapshot (lib/snapshot.ts). */
function snapshotRestore(input: NodeGroupInput, names: GroupNames) {
    const snapshot = input.config.snapshot;
    if (!snapshot) {
        return undefined;
    }
    return buildSnapshotRestore({
        snapshot,
        image: input.snapshotImage ?? DEFAULT_SNAPSHOT_IMAGE,
        volumeName: DATA_VOLUME,
        mountPath: input.adapter.homeDir,
        targetDir: `${input.adapter.homeDir}/${input.adapter.dataSubdir}`,
        configMapName: names.configMap,
        owner: { uid: NODE_UID, gid: NODE_UID },
    });
}

/**
 * Writes `data/upgrade-info.json` before the new binary starts, unless the node already has one
 * (an old binary that reached the upgrade itself writes it; never overwrite that).
 */
function upgradeInfoContainer(input: NodeGroupInput, image: string): Obj {
    const info = input.upgradeInfo!;
    const file = `${input.adapter.homeDir}/${UPGRADE_INFO_PATH}`;
    return {
        name: "upgrade-info",
        image,
        command: [
            "/bin/sh",
            "-c",
            'mkdir -p "$(dirname "$FILE")" && { [ -s "$FILE" ] || printf "%s" "$UPGRADE_INFO" > "$FILE"; }',
        ],
        env: [
            { name: "FILE", value: file },
            { name: "UPGRADE_INFO", value: upgradeInfoJson(info.name, info.height) },
        ],
        securityContext: restrictedContainerSecurityContext(),
        volumeMounts: [{ name: DATA_VOLUME, mountPath: input.adapter.homeDir }],
    };
}

/**
 * The HardFork bootstrap Job of one replica: the *incumbent* image with the halt flag for an
 * upgrade at `upgradeHeight` = H, on the entrant's own volume, so the entrant reaches the fork
 * with the binary that can still produce those blocks. The node runs under `chainfleet-agent
 * halt` (node-agent/internal/halt), which stops it once the app has committed H-1 and exits 0
 * only when the app's committed height proves it: the node's own exit code says nothing (SDK
 * v0.50 never exits after a halt; SIGTERM gives 0). No probes: the Job's outcome is that exit.
 */
export function buildBootstrapJob(
    input: NodeGroupInput,
    ordinal: number,
    incumbentImage: string,
    upgradeHeight: number,
): Obj {
    const names = setNames(input);
    const template = buildPodTemplate(
        { ...input, image: incumbentImage, upgradeInfo: undefined },
        names,
        upgradeHeight,
        ordinal,
    );
    const pod = template.spec as { containers: Obj[]; volumes: Obj[] };
    const node: Obj = { ...pod.containers[0] };
    delete node.startupProbe;
    delete node.readinessProbe;
    delete node.livenessProbe;
    const proof = haltProofCommand(
        input.adapter,
        upgradeHeight - 1,
        node.command as string[],
        node.args as string[],
    );
    node.command = proof.command;
    node.args = proof.args;
    // The verdict line (heights, exit) reaches the pod's status for the bootstrap wait to quote.
    node.terminationMessagePolicy = "FallbackToLogsOnError";
    // The Job's pods leave out the set label: no StatefulSet, Service or budget may select them.
    const podLabels = {
        ...groupLabels(input),
        [LABEL.component]: "bootstrap",
        [LABEL.revision]: input.revision,
    };
    return {
        metadata: metadata(names.bootstrapJob(ordinal), input, {
            annotations: { [ANNOTATION.image]: incumbentImage },
        }),
        spec: {
            backoffLimit: 0,
            template: {
                metadata: { ...(template.metadata as Obj), labels: podLabels },
                spec: {
                    ...pod,
                    restartPolicy: "Never",
                    containers: [node],
                    volumes: [
                        ...pod.volumes,
                        {
                            name: DATA_VOLUME,
                            persistentVolumeClaim: { claimName: names.pvc(ordinal) },
                        },
                    ],
                },
            },
        },
    };
}

/** The selector of the set's pods (what the stable Service points at when the set is active). */
export function nodeSetSelector(input: NodeGroupInput): Record<string, string> {
    return setSelector(
        input,
        setNames(input).statefulSet,
        input.pinRevision ? input.revision : undefined,
    );
}

export function buildNodeGroup(input: NodeGroupInput): NodeGroupManifests {
    const names = setNames(input);
    const selector = nodeSetSelector(input);
    const labels = setLabels(input);
    // Pulumi's awaiters would block on readiness that means "in sync", which takes hours for a
    // fresh node; the upgrade flow's own gates do the waiting, with their own deadlines. The
    // headless peer Service skips too: its awaiter would only wait for the Service itself (which
    // the apply already returned), yet it needs list and watch on Endpoints, and hangs without
    // them until its 10-minute timeout, so the deployer would have to hold them for nothing.
    const skipAwait = { annotations: { [ANNOTATION.skipAwait]: "true" } };

    const configMap = {
        metadata: metadata(names.configMap, input),
        data: {
            network: input.network,
            chain: input.chain,
            group: input.group,
            // No revision here: a Rolling set keeps its ConfigMap across revisions, and the
            // provider replaces a ConfigMap whose data changes (delete, then create).
            ...(input.config.configFiles ?? {}),
            ...(snapshotRestore(input, names)?.configMapData ?? {}),
            ...nodeOverridesData(input),
        },
    };

    const secrets = keySecrets(input, names, metadata);

    const p2p = input.adapter.ports.filter((p) => p.role === "p2p");
    const peerService = {
        metadata: metadata(names.peerService, input, skipAwait),
        spec: {
            clusterIP: "None",
            // Peers must find a node while it is still syncing, i.e. before it is Ready.
            publishNotReadyAddresses: true,
            selector,
            ports: p2p.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name })),
        },
    };

    // A pod's stable address for its peers: CometBFT resolves a persistent peer's name once, at
    // start, and redials that IP (p2p/netaddress.go NewNetAddressString); a pod's own IP changes
    // when it is recreated, a Service's ClusterIP does not (cosmos-operator does the same).
    const p2pServices = input.nodeKeys?.inFleet
        ? Array.from({ length: input.config.replicas }, (_, ordinal) => ({
              metadata: metadata(names.p2pService(ordinal), input, skipAwait),
              spec: {
                  type: "ClusterIP",
                  // A syncing node is not Ready, and its peers must reach it all the same.
                  publishNotReadyAddresses: true,
                  selector: { [POD_NAME_LABEL]: names.pod(ordinal) },
                  ports: p2p.map((p) => ({
                      name: p.name,
                      port: p.containerPort,
                      targetPort: p.name,
                  })),
              },
          }))
        : [];

    const clone = input.cloneVolumesOf;
    const pvcs = Array.from({ length: input.config.replicas }, (_, ordinal) => ({
        metadata: metadata(names.pvc(ordinal), input, skipAwait),
        spec: {
            ...claimSpec(input.config),
            // A clone of the incumbent's volume with the same ordinal (or a lower one, when the
            // entrant has more replicas): the entrant starts at the incumbent's height.
            ...(clone
                ? {
                      dataSource: {
                          kind: "PersistentVolumeClaim",
                          name: setObjectNames(clone.set).pvc(ordinal % clone.replicas),
                      },
                  }
                : {}),
        },
    }));

    const statefulSet = {
        metadata: metadata(names.statefulSet, input, skipAwait),
        spec: {
            replicas: input.config.replicas,
            serviceName: names.peerService,
            selector: { matchLabels: selector },
            // Nodes are independent peers: start and stop them together, not one by one.
            podManagementPolicy: "Parallel",
            // chainfleet decides when a node restarts, never the controller. A Rolling set's new
            // revision is rolled out by the Rollout resource (dynamic-providers/rollout.ts), which
            // does not stall on a node that is not Ready as RollingUpdate does (kubernetes#67250).
            // A pinned set (BlueGreen, HardFork) gets a new set for a new revision (the snapshot
            // image counts, for groups that restore one), so its template only changes when
            // chainfleet itself does; a RollingUpdate would then restart every node of the set,
            // unasked, each replaying its store for up to a day. With OnDelete such changes apply
            // at a pod's next restart.
            updateStrategy: { type: "OnDelete" },
            // The volumes are chainfleet's (explicit PVCs): the controller must never delete them.
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            template: buildPodTemplate(input, names),
            volumeClaimTemplates: [
                { metadata: { name: DATA_VOLUME, labels }, spec: claimSpec(input.config) },
            ],
        },
    };

    const pdb = input.config.podDisruptionBudget ?? { maxUnavailable: 1 };
    const podDisruptionBudget = {
        metadata: metadata(names.podDisruptionBudget, input),
        spec: { ...pdb, selector: { matchLabels: selector } },
    };

    return {
        names,
        labels,
        selector,
        configMap,
        secrets,
        peerService,
        p2pServices,
        pvcs,
        statefulSet,
        podDisruptionBudget,
    };
}

/**
 * The set's node keys (`<ordinal>.json`) and, for a signing group whose key chainfleet derives
 * (a generated genesis names it), its priv_validator_key.json.
 */
function keySecrets(
    input: NodeGroupInput,
    names: GroupNames,
    meta: (name: string, input: NodeGroupInput) => Obj,
): Obj[] {
    const seed = input.nodeKeys?.seed;
    if (seed === undefined) {
        return [];
    }
    const set = names.statefulSet;
    const nodeKeys = {
        metadata: meta(names.nodeKeySecret, input),
        type: "Opaque",
        stringData: Object.fromEntries(
            Array.from({ length: input.config.replicas }, (_, ordinal) => [
                `${ordinal}.json`,
                nodeKeyJson(podNodeKey(seed, input.network, set, ordinal)),
            ]),
        ),
    };
    const validator = input.config.validator;
    if (!validator || validator.keySecret !== undefined) {
        return [nodeKeys];
    }
    const key = groupValidatorKey(seed, input.network, input.group);
    return [
        nodeKeys,
        {
            metadata: meta(validatorKeySecretName(input.group), input),
            type: "Opaque",
            stringData: { [VALIDATOR_KEY_FILE]: validatorKeyJson(key) },
        },
    ];
}

/** `overrides.json` for the prepare step, when the group has config or peers. */
function nodeOverridesData(input: NodeGroupInput): Record<string, string> {
    const home = input.adapter.nodeHome;
    const inFleet = input.nodeKeys?.inFleet ? input.nodeKeys.peers : undefined;
    const json = home ? overridesJson(home, input.config, inFleet) : undefined;
    return json === undefined ? {} : { [OVERRIDES_KEY]: json };
}

/** Ports that clients use: everything but peer-to-peer and metrics. */
export function clientPorts(adapter: ChainAdapter): Obj[] {
    return adapter.ports
        .filter((p) => p.role !== "p2p" && p.role !== "metrics")
        .map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name }));
}

/**
 * The group's stable client-facing Service. Its selector is the active set's selector, so it pins
 * the active revision; only the traffic switch changes it after creation.
 */
export function buildStableService(
    input: GroupIdentity & { namespace: string; adapter: ChainAdapter },
    activeSelector: Record<string, string>,
): Obj {
    return {
        metadata: {
            name: groupNames(input.group).stableService,
            namespace: input.namespace,
            labels: groupLabels(input),
            annotations: { [ANNOTATION.skipAwait]: "true" },
        },
        spec: {
            type: "ClusterIP",
            selector: activeSelector,
            ports: clientPorts(input.adapter),
        },
    };
}
