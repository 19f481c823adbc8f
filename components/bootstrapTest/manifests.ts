/**
 * Pure builder of a bootstrap test's Kubernetes objects: the one-replica StatefulSet (node +
 * `monitor init` + `monitor wait-for-completion`), its ServiceAccount, and a Role granting only
 * what monitor/kubeOps.ts calls. components/BootstrapTest.ts declares them as resources.
 *
 * It is program-side code, so it lives with its component rather than in monitor/ (which holds
 * only what runs in the monitor's image); but it and the monitor form one contract: the flags the
 * containers get are the flags monitor/program.ts parses, and the Role's rules are the calls
 * monitor/kubeOps.ts makes.
 */
import { adapterFor } from "../../chains";
import type { ChainAdapter, ChainKind, EnvVar } from "../../chains/types";
import { ANNOTATION as LIB_ANNOTATION, LABEL } from "../../lib/labels";
import { DEFAULT_REQUESTS, TERMINATION_GRACE_SECONDS } from "../../lib/manifests";
import { nodePodSecurityContext, restrictedContainerSecurityContext } from "../../lib/podSecurity";
import { DATA_VOLUME } from "../../lib/names";
import { syncModeEnv } from "../../monitor/chainSettings";
import type { BootstrapTestConfig } from "../../config/bootstrapTest";
import { TEST_LABEL } from "../../monitor/constants";
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

export interface BootstrapTestNames {
    statefulSet: string;
    pod: string;
    serviceAccount: string;
    role: string;
    roleBinding: string;
    resultsConfigMap: string;
}

export function bootstrapTestNames(name: string): BootstrapTestNames {
    return {
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
}

export interface BootstrapTestManifests {
    names: BootstrapTestNames;
    labels: Record<string, string>;
    serviceAccount: Obj;
    role: Obj;
    roleBinding: Obj & { roleRef: { apiGroup: string; kind: string; name: string } };
    statefulSet: Obj;
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
    const common = [
        command,
        `--statefulset=${names.statefulSet}`,
        `--node-container=${NODE_CONTAINER}`,
        `--chain=${args.chain}`,
        `--data-dir=${adapter.homeDir}`,
        `--sync-mode=${test.syncMode}`,
        `--follow-image=${test.image}`,
        ...(test.registrySecret ? [`--registry-auth-file=${REGISTRY_AUTH_FILE}`] : []),
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

    const node = {
        name: NODE_CONTAINER,
        // The followed tag: `monitor init` pins it to a digest before the first test runs.
        image: test.image,
        command: start.command,
        args: start.args,
        env: [
            ...nodeEnv(start.env, test, chain),
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ],
        ports: adapter.ports.map((p) => ({
            name: p.name,
            containerPort: p.containerPort,
            protocol: "TCP",
        })),
        readinessProbe: adapter.readinessProbe,
        livenessProbe: adapter.livenessProbe,
        startupProbe: adapter.startupProbe,
        resources: { requests: { ...DEFAULT_REQUESTS } },
        securityContext: restrictedContainerSecurityContext(),
        volumeMounts: [{ name: DATA_VOLUME, mountPath: adapter.homeDir }],
    };

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
                    ...(test.registrySecret
                        ? { imagePullSecrets: [{ name: test.registrySecret }] }
                        : {}),
                    initContainers: [monitorContainer("init", "init", args, adapter, names)],
                    containers: [
                        node,
                        monitorContainer("monitor", "wait-for-completion", args, adapter, names),
                    ],
                    ...(test.registrySecret
                        ? {
                              volumes: [
                                  {
                                      name: "registry-auth",
                                      secret: {
                                          secretName: test.registrySecret,
                                          items: [
                                              { key: ".dockerconfigjson", path: "config.json" },
                                          ],
                                      },
                                  },
                              ],
                          }
                        : {}),
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
        statefulSet,
    };
}
