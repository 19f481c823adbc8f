/**
 * Cluster helpers for the api and e2e tiers: namespaces per test, workloads that kwok runs, and a
 * stand-in kubelet for pods whose end the test must decide (exit 130, exit 1, "still running").
 *
 * kwok marks pods Running/Ready and completes Job pods with exit 0, which covers the happy paths.
 * For other exits, `harnessPodSpec` keeps a pod away from the scheduler and kwok (a scheduler
 * name nobody serves), and `setPodState` writes its status the way a kubelet would. The Job
 * controller and everything downstream then react to it for real.
 */
import type { V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { KubeClients, kubeClients, isNotFound, mergePatchOptions } from "../../../kube/kube";

/** Kube access for providers under test: the kubeconfig scripts/env.sh exports. */
export function kubeAccess(): { kubeconfig?: string } {
    return process.env.KUBECONFIG ? { kubeconfig: process.env.KUBECONFIG } : {};
}

let shared: KubeClients | undefined;
export function clients(): KubeClients {
    shared ??= kubeClients(kubeAccess());
    return shared;
}

/** Fails with the fix when no API server answers, instead of a wall of ECONNREFUSED. */
export async function requireCluster(): Promise<void> {
    try {
        await clients().core.listNamespace({ limit: 1 });
    } catch (err) {
        throw new Error(
            `api tier: no Kubernetes API server answers (KUBECONFIG=${process.env.KUBECONFIG ?? "unset"}): ` +
                `${(err as Error).message}. Run \`source scripts/env.sh && scripts/cluster.sh up\` first.`,
        );
    }
}

/** A fresh namespace named `<prefix>-<random>`. */
export async function createNamespace(prefix: string): Promise<string> {
    const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
    await clients().core.createNamespace({
        body: { metadata: { name, labels: { "chainfleet.io/test": "api" } } },
    });
    // The ServiceAccount controller adds "default"; pods (even kwok's) wait for it.
    await waitFor(`ServiceAccount default in ${name}`, async () => {
        try {
            await clients().core.readNamespacedServiceAccount({ name: "default", namespace: name });
            return true;
        } catch (err) {
            if (isNotFound(err)) {
                return false;
            }
            throw err;
        }
    });
    return name;
}

/** Deletes a namespace without waiting for it to go. */
export async function deleteNamespace(name: string): Promise<void> {
    try {
        await clients().core.deleteNamespace({ name, propagationPolicy: "Background" });
    } catch (err) {
        if (!isNotFound(err)) {
            throw err;
        }
    }
}

/** Polls `check` every 100 ms until it returns true, or throws after `timeoutMs`. */
export async function waitFor(
    what: string,
    check: () => Promise<boolean>,
    timeoutMs = 60_000,
): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
        if (await check()) {
            return;
        }
        if (Date.now() > until) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** A scheduler name nobody serves: pods using it stay unscheduled, so kwok never runs them. */
export const HARNESS_SCHEDULER = "chainfleet-harness";

/** A minimal pod spec for a container named `node`; `harness: true` keeps kwok away. */
export function podSpec(opts: { harness?: boolean; pvc?: string; restartPolicy?: string } = {}) {
    return {
        ...(opts.harness ? { schedulerName: HARNESS_SCHEDULER } : {}),
        restartPolicy: opts.restartPolicy ?? "Never",
        containers: [
            { name: "node", image: "example.invalid/incumbent:v1", command: ["node", "start"] },
        ],
        ...(opts.pvc
            ? { volumes: [{ name: "data", persistentVolumeClaim: { claimName: opts.pvc } }] }
            : {}),
    };
}

export type FakePodState = { running: true } | { exitCode: number; message?: string };

/**
 * Writes a pod's status as its kubelet would: Running, or terminated with an exit code (phase
 * Succeeded for 0, Failed otherwise). Only for harness pods (see HARNESS_SCHEDULER).
 */
export async function setPodState(
    namespace: string,
    name: string,
    state: FakePodState,
): Promise<void> {
    const now = new Date().toISOString();
    const terminated = "exitCode" in state;
    const status: V1PodStatus = {
        phase: terminated ? (state.exitCode === 0 ? "Succeeded" : "Failed") : "Running",
        startTime: now as unknown as Date,
        conditions: [
            {
                type: "Ready",
                status: terminated ? "False" : "True",
                lastTransitionTime: now as unknown as Date,
            },
        ],
        containerStatuses: [
            {
                name: "node",
                image: "example.invalid/incumbent:v1",
                imageID: "",
                ready: !terminated,
                restartCount: 0,
                started: !terminated,
                state: terminated
                    ? {
                          terminated: {
                              exitCode: state.exitCode,
                              reason: state.exitCode === 0 ? "Completed" : "Error",
                              message: state.message,
                              startedAt: now as unknown as Date,
                              finishedAt: now as unknown as Date,
                          },
                      }
                    : { running: { startedAt: now as unknown as Date } },
            },
        ],
    };
    await clients().core.patchNamespacedPodStatus(
        { name, namespace, body: { status } },
        mergePatchOptions(),
    );
}

/** The pods of a Job, by the label the Job controller sets. */
export async function jobPods(namespace: string, job: string): Promise<V1Pod[]> {
    const res = await clients().core.listNamespacedPod({
        namespace,
        labelSelector: `batch.kubernetes.io/job-name=${job}`,
    });
    return res.items;
}

/** Waits for the Job's first pod and returns its name. */
export async function firstJobPod(namespace: string, job: string): Promise<string> {
    let name = "";
    await waitFor(`a pod of Job ${namespace}/${job}`, async () => {
        const pods = await jobPods(namespace, job);
        name = pods[0]?.metadata?.name ?? "";
        return name !== "";
    });
    return name;
}

/** A StatefulSet kwok runs: its pods become Running and Ready with fake IPs. */
export async function createStatefulSet(
    namespace: string,
    name: string,
    labels: Record<string, string>,
    replicas: number,
): Promise<void> {
    await clients().apps.createNamespacedStatefulSet({
        namespace,
        body: {
            metadata: { name, labels },
            spec: {
                replicas,
                serviceName: name,
                podManagementPolicy: "Parallel",
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels },
                    spec: {
                        containers: [
                            {
                                name: "node",
                                image: "example.invalid/node:v1",
                                ports: [{ name: "rpc", containerPort: 26657 }],
                            },
                        ],
                    },
                },
            },
        },
    });
}

/** Waits until `count` pods matching `labels` are Ready; returns their names, sorted. */
export async function readyPods(
    namespace: string,
    labels: Record<string, string>,
    count: number,
): Promise<string[]> {
    const labelSelector = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
    let names: string[] = [];
    await waitFor(`${count} Ready pods ${labelSelector} in ${namespace}`, async () => {
        const pods = (await clients().core.listNamespacedPod({ namespace, labelSelector })).items;
        names = pods
            .filter((p) =>
                p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
            )
            .map((p) => p.metadata?.name ?? "")
            .sort();
        return names.length >= count;
    });
    return names;
}

/** A ClusterIP Service on port 26657 selecting `selector`. */
export async function createService(
    namespace: string,
    name: string,
    selector: Record<string, string>,
): Promise<void> {
    await clients().core.createNamespacedService({
        namespace,
        body: {
            metadata: { name },
            spec: { selector, ports: [{ name: "rpc", port: 26657, targetPort: "rpc" }] },
        },
    });
}

/** A PVC with no storage class requirements (it may stay Pending: the tests never mount it). */
export async function createPvc(namespace: string, name: string): Promise<void> {
    await clients().core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: {
            metadata: { name },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
    });
}
