/**
 * Pure builder of a bootstrap test's Kubernetes objects: the one-replica StatefulSet (node +
 * `monitor init` + `monitor wait-for-completion`), its ServiceAccount, a Role granting only
 * what monitor/kubeOps.ts calls, and the ConfigMap its home preparation reads.
 * components/BootstrapTest.ts declares them as resources.
 *
 * On CometBFT-family chains the node's home is prepared as a group's is (lib/nodeHome.ts):
 * after `monitor init` has started or resumed the test, `agent-install` and `prepare` write the
 * network's genesis, chain id and in-fleet peers with the tested image's own defaults, so the
 * node joins the stack's network and block-syncs from it. `prepare` runs the tested image too,
 * so the monitor pins it with the node container (`--node-init-container`).
 *
 * It is program-side code, so it lives with its component rather than in monitor/ (which holds
 * only what runs in the monitor's image); but it and the monitor form one contract: the flags the
 * containers get are the flags monitor/program.ts parses, and the Role's rules are the calls
 * monitor/kubeOps.ts makes.
 */
import { adapterFor } from "../../chains";
import type { ChainAdapter, ChainKind, EnvVar } from "../../chains/types";
import type { PlacementSpec } from "../../lib/groupSpec";
import { ANNOTATION as LIB_ANNOTATION, LABEL } from "../../lib/labels";
import { CONFIG_DIR, DEFAULT_REQUESTS, TERMINATION_GRACE_SECONDS } from "../../lib/manifests";
import {
    HOME_OWNER_ENV,
    NodeHomeSpec,
    OVERRIDES_KEY,
    nodeHomeParts,
    overridesJson,
} from "../../lib/nodeHome";
import { nodePodSecurityContext, restrictedContainerSecurityContext } from "../../lib/podSecurity";
import { DATA_VOLUME } from "../../lib/names";
import { syncModeEnv } from "../../monitor/chainSettings";
import type { BootstrapTestConfig } from "../../config/bootstrapTest";
import { TEST_LABEL } from "../../monitor/constants";
import { parseImageRef } from "../../monitor/imageRef";
import { defaultResultsConfigMap } from "../../monitor/options";

type Obj = Record<string, unknown>;

/** The node's container name; index 0 of the pod's containers (see NODE_IMAGE_PATH). */
export const NODE_CONTAINER = "node";
/** Where the image's Dockerfile puts the compiled CLI. */
export const MONITOR_ENTRYPOINT = ["node", "/app/monitor/cli.js"];
/** Where the dockerconfigjson Secret is mounted in the monitor containers. */
export const REGISTRY_AUTH_DIR = "/var/run/chainfleet/registry";
export const REGISTRY_AUTH_FILE = `${REGISTRY_AUTH_DIR}/config.json`;
/**
 * The field the monitor owns once it pins a digest: Pulumi must ignore it, or every `pulumi up`
 * would put the tag back and restart the test.
 */
export const NODE_IMAGE_PATH = "spec.template.spec.containers[0].image";
/** The init container that prepares the node's home; it runs the node's image. */
export const PREPARE_CONTAINER = "prepare";
const CONFIG_VOLUME = "config";

export interface BootstrapTestNames {
    statefulSet: string;
    pod: string;
    serviceAccount: string;
    role: string;
    roleBinding: string;
    resultsConfigMap: string;
    /** `overrides.json` (the in-fleet peers) for the prepare step. */
    configMap: string;
}

export function bootstrapTestNames(name: string): BootstrapTestNames {
    return {
        configMap: `${name}-config`,
        statefulSet: name,
        pod: `${name}-0`,
        serviceAccount: `${name}-monitor`,
        role: `${name}-monitor`,
        roleBinding: `${name}-monitor`,
        resultsConfigMap: defaultResultsConfigMap(name),
    };
}

export interface BootstrapTestManifestArgs<Image = string> {
    namespace: string;
    chain: ChainKind;
    /** The stack's network, for labels. */
    network?: string;
    test: BootstrapTestConfig;
    /** The monitor's image; any value (a Pulumi Input too) is placed into the manifests as is. */
    monitorImage: Image;
    /** Defaults to `adapterFor(chain)`. */
    adapter?: ChainAdapter;
    /** The stack's network the node joins (CometBFT-family chains). */
    join?: BootstrapTestJoin;
}

/** What a bootstrap test's node needs of the stack to join its network. */
export interface BootstrapTestJoin {
    /** The stack's chain id and genesis (a generated one as its ConfigMap). */
    home: NodeHomeSpec;
    /** Every node of the fleet as `<id>@<host>:<port>`, when the fleet has in-fleet peers. */
    inFleetPeers?: readonly string[];
    placement?: PlacementSpec;
}

export interface BootstrapTestManifests {
    names: BootstrapTestNames;
    labels: Record<string, string>;
    serviceAccount: Obj;
    role: Obj;
    roleBinding: Obj & { roleRef: { apiGroup: string; kind: string; name: string } };
    configMap: Obj;
    statefulSet: Obj;
    /**
     * The fields the monitor owns once it pins a digest (the node container's image, and the
     * prepare step's): Pulumi must ignore them, or every `pulumi up` would put the tag back.
     */
    monitorOwnedPaths: string[];
}

/**
 * Exactly what the monitor calls (monitor/kubeOps.ts), by name wherever RBAC allows. Kubernetes
 * cannot restrict `create` by name (the name is not in the request path), so creating the
 * results ConfigMap and Events is namespace-wide; reading and updating the ConfigMap is not.
 */
export function monitorRules(names: BootstrapTestNames): Obj[] {
    return [
        {
            apiGroups: ["apps"],
            resources: ["statefulsets"],
            resourceNames: [names.statefulSet],
            verbs: ["get", "patch"],
        },
        {
            apiGroups: [""],
            resources: ["pods"],
            resourceNames: [names.pod],
            verbs: ["get", "delete"],
        },
        {
            apiGroups: [""],
            resources: ["configmaps"],
            resourceNames: [names.resultsConfigMap],
            verbs: ["get", "update"],
        },
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
        { apiGroups: [""], resources: ["events"], verbs: ["create"] },
    ];
}

/**
 * The node's env: the adapter's, then the test's own (which may override the adapter's), then
 * the sync mode's, which nothing may override: a test labelled full-sync must not state-sync.
 */
export function nodeEnv(
    adapterEnv: readonly EnvVar[],
    test: BootstrapTestConfig,
    chain: ChainKind,
): EnvVar[] {
    const sync = syncModeEnv(chain, test.syncMode);
    for (const { name } of sync) {
        if (name in test.env) {
            throw new Error(
                `bootstrapTests[${test.name}].env.${name} is set by syncMode (${test.syncMode}); remove it from env and choose the mode with syncMode`,
            );
        }
    }
    const merged = new Map<string, string>();
    for (const e of [
        ...adapterEnv,
        ...Object.entries(test.env).map(([name, value]) => ({ name, value })),
        ...sync,
    ]) {
        merged.set(e.name, e.value);
    }
    return [...merged].map(([name, value]) => ({ name, value }));
}

function monitorArgs(
    command: "init" | "wait-for-completion",
    args: BootstrapTestManifestArgs<unknown>,
    adapter: ChainAdapter,
    names: BootstrapTestNames,
): string[] {
    const { test } = args;
    const prepared = adapter.nodeHome !== undefined;
    const common = [
        command,
        `--statefulset=${names.statefulSet}`,
        `--node-container=${NODE_CONTAINER}`,
        ...(prepared ? [`--node-init-container=${PREPARE_CONTAINER}`] : []),
        `--chain=${args.chain}`,
        `--data-dir=${adapter.homeDir}`,
        `--sync-mode=${test.syncMode}`,
        `--follow-image=${test.image}`,
        ...(test.registrySecret ? [`--registry-auth-file=${REGISTRY_AUTH_FILE}`] : []),
        ...(test.plainHttp
            ? [`--plain-http-registry=${parseImageRef(test.image, "image").registry}`]
            : []),
    ];
    if (command === "init") {
        return common;
    }
    return [
        ...common,
        `--check-interval=${test.intervals.checkSeconds}`,
        `--poll-tag-interval=${test.intervals.pollTagSeconds}`,
        `--results-configmap=${names.resultsConfigMap}`,
        `--keep-last=${test.keepResults}`,
        `--max-node-restarts=${test.maxNodeRestarts}`,
        `--max-block-age=${test.maxBlockAgeSeconds}`,
    ];
}

function monitorContainer(
    name: string,
    command: "init" | "wait-for-completion",
    args: BootstrapTestManifestArgs<unknown>,
    adapter: ChainAdapter,
    names: BootstrapTestNames,
): Obj {
    return {
        name,
        image: args.monitorImage,
        command: MONITOR_ENTRYPOINT,
        args: monitorArgs(command, args, adapter, names),
        env: [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        ],
        resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        },
        volumeMounts: [
            // init wipes and writes; the sidecar only measures disk usage and reads the details.
            { name: DATA_VOLUME, mountPath: adapter.homeDir, readOnly: command !== "init" },
            ...(args.test.registrySecret
                ? [{ name: "registry-auth", mountPath: REGISTRY_AUTH_DIR, readOnly: true }]
                : []),
        ],
    };
}

export function buildBootstrapTestManifests<Image = string>(
    args: BootstrapTestManifestArgs<Image>,
): BootstrapTestManifests {
    const { test, namespace, chain } = args;
    const adapter = args.adapter ?? adapterFor(chain);
    const names = bootstrapTestNames(test.name);
    const selector = { [TEST_LABEL]: test.name };
    const labels: Record<string, string> = {
        [LABEL.name]: `${chain}-bootstrap-test`,
        [LABEL.instance]: test.name,
        [LABEL.component]: "bootstrap-test",
        [LABEL.partOf]: "chainfleet",
        [LABEL.managedBy]: "pulumi",
        ...(args.network ? { [LABEL.network]: args.network } : {}),
        ...selector,
    };
    const meta = (name: string, extra: Obj = {}) => ({ name, namespace, labels, ...extra });
    const start = adapter.start({ extraArgs: test.args });
    const env = [
        ...nodeEnv(start.env, test, chain),
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ...(adapter.nodeHome
            ? [{ name: HOME_OWNER_ENV, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }]
            : []),
    ];
    const homeSpec: NodeHomeSpec = args.join?.home ?? {};
    const inFleetPeers = args.join?.inFleetPeers;
    // The followed tag: `monitor init` pins it (here and in prepare) before the first test runs.
    const home = nodeHomeParts({
        adapter,
        config: homeSpec,
        image: test.image,
        env,
        dataVolume: DATA_VOLUME,
        configVolume: CONFIG_VOLUME,
        configDir: CONFIG_DIR,
        keys: { inFleetPeers },
    });
    const overrides = adapter.nodeHome
        ? overridesJson(adapter.nodeHome, homeSpec, inFleetPeers)
        : undefined;
    const initContainers = [
        // First: a pod about to be replaced by a pin must not prepare anything.
        monitorContainer("init", "init", args, adapter, names),
        ...(home ? home.initContainers : []),
    ];
    const placement = args.join?.placement;

    const node = {
        name: NODE_CONTAINER,
        image: test.image,
        command: start.command,
        args: start.args,
        env,
        ports: adapter.ports.map((p) => ({
            name: p.name,
            containerPort: p.containerPort,
            protocol: "TCP",
        })),
        readinessProbe: home ? home.readinessProbe : adapter.readinessProbe,
        livenessProbe: adapter.livenessProbe,
        startupProbe: adapter.startupProbe,
        resources: { requests: { ...DEFAULT_REQUESTS } },
        securityContext: restrictedContainerSecurityContext(),
        volumeMounts: [
            { name: DATA_VOLUME, mountPath: adapter.homeDir },
            ...(home ? [home.nodeVolumeMount] : []),
        ],
    };
    const registryAuthVolume = {
        name: "registry-auth",
        secret: {
            secretName: test.registrySecret,
            items: [{ key: ".dockerconfigjson", path: "config.json" }],
        },
    };
    const volumes = [
        ...(test.registrySecret ? [registryAuthVolume] : []),
        ...(home ? [{ name: CONFIG_VOLUME, configMap: { name: names.configMap } }] : []),
        ...(home ? home.volumes : []),
    ];

    const statefulSet = {
        metadata: meta(names.statefulSet, {
            // A bootstrapping node is not Ready for days; Pulumi must not wait for it.
            annotations: { [LIB_ANNOTATION.skipAwait]: "true" },
        }),
        spec: {
            replicas: 1,
            serviceName: names.statefulSet,
            selector: { matchLabels: selector },
            // Only the monitor (or a person) replaces the pod: see monitor/init.ts for why
            // RollingUpdate would wait forever on a pod that is never Ready.
            updateStrategy: { type: "OnDelete" },
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            template: {
                metadata: { labels },
                spec: {
                    serviceAccountName: names.serviceAccount,
                    securityContext: nodePodSecurityContext(),
                    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
                    ...(placement?.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
                    ...(placement?.tolerations ? { tolerations: placement.tolerations } : {}),
                    ...(test.registrySecret
                        ? { imagePullSecrets: [{ name: test.registrySecret }] }
                        : {}),
                    initContainers,
                    containers: [
                        node,
                        monitorContainer("monitor", "wait-for-completion", args, adapter, names),
                    ],
                    ...(volumes.length > 0 ? { volumes } : {}),
                },
            },
            volumeClaimTemplates: [
                {
                    metadata: { name: DATA_VOLUME, labels },
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        ...(test.storage.storageClass
                            ? { storageClassName: test.storage.storageClass }
                            : {}),
                        resources: { requests: { storage: test.storage.size } },
                    },
                },
            ],
        },
    };

    return {
        names,
        labels,
        serviceAccount: { metadata: meta(names.serviceAccount) },
        role: { metadata: meta(names.role), rules: monitorRules(names) },
        roleBinding: {
            metadata: meta(names.roleBinding),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.role },
            subjects: [{ kind: "ServiceAccount", name: names.serviceAccount, namespace }],
        },
        configMap: {
            metadata: meta(names.configMap),
            data: overrides === undefined ? {} : { [OVERRIDES_KEY]: overrides },
        },
        statefulSet,
        monitorOwnedPaths: [
            NODE_IMAGE_PATH,
            ...initContainers.flatMap((c, i) =>
                c.name === PREPARE_CONTAINER
                    ? [`spec.template.spec.initContainers[${i}].image`]
                    : [],
            ),
        ],
    };
}
