/**
 * What the e2e tests read from the cluster, through the project's own client (kube/kube.ts):
 * listings by chainfleet's labels, waits, recorders that watch an object kind for the whole of
 * a `pulumi up` (selector flips, ready endpoints, Jobs, volume UIDs), and a plain-text dump of a
 * namespace for failure reports.
 */
import type {
    CoreV1Event,
    V1EndpointSlice,
    V1Job,
    V1PersistentVolumeClaim,
    V1Pod,
    V1Service,
} from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { KubeClients, isNotFound, kubeClients } from "../../../kube/kube";
import { CONTAINERD_SOCKET, REAL_NODE, podReport } from "../../api/harness/realNode";
import { LABEL } from "../../../lib/labels";
import { WatchedList } from "../../../kube/watch";

let shared: KubeClients | undefined;

/** Clients for the cluster scripts/env.sh points KUBECONFIG at. */
export function kube(): KubeClients {
    shared ??= kubeClients(
        process.env.KUBECONFIG ? { kubeconfig: process.env.KUBECONFIG.split(":")[0] } : {},
    );
    return shared;
}

/** Fails with the fix when no API server answers. */
export async function requireCluster(): Promise<void> {
    try {
        await kube().core.listNamespace({ limit: 1 });
    } catch (err) {
        throw new Error(
            `e2e tier: no Kubernetes API server answers (KUBECONFIG=${process.env.KUBECONFIG ?? "unset"}): ` +
                `${(err as Error).message}. Run \`source scripts/env.sh && scripts/cluster.sh up\` first.`,
        );
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns something other than undefined/false, and returns that. On
 * timeout the error carries the last value `describe` gave, so a person sees how far it got.
 */
export async function waitUntil<T>(
    what: string,
    check: () => Promise<T | undefined | false>,
    opts: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> } = {},
): Promise<T> {
    const until = Date.now() + (opts.timeoutMs ?? 60_000);
    let lastError = "";
    for (;;) {
        try {
            const v = await check();
            if (v !== undefined && v !== false) {
                return v;
            }
        } catch (err) {
            lastError = ` (last error: ${(err as Error).message})`;
        }
        if (Date.now() > until) {
            const state = opts.describe ? `\n${await opts.describe()}` : "";
            throw new Error(
                `timed out after ${opts.timeoutMs ?? 60_000} ms waiting for ${what}${lastError}${state}`,
            );
        }
        await sleep(opts.intervalMs ?? 250);
    }
}

export const selectorOf = (labels: Record<string, string>): string =>
    Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");

/** The labels every object of a network's group carries (lib/labels.ts groupLabels). */
export function groupSelector(network: string, group: string): string {
    return selectorOf({ [LABEL.network]: network, [LABEL.group]: group });
}

export const isReady = (p: V1Pod): boolean =>
    p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export async function pods(namespace: string, labelSelector?: string): Promise<V1Pod[]> {
    return (await kube().core.listNamespacedPod({ namespace, labelSelector })).items;
}

export async function statefulSets(namespace: string, labelSelector?: string) {
    return (await kube().apps.listNamespacedStatefulSet({ namespace, labelSelector })).items;
}

export async function pvcs(namespace: string, labelSelector?: string) {
    return (await kube().core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }))
        .items;
}

export async function jobs(namespace: string, labelSelector?: string) {
    return (await kube().batch.listNamespacedJob({ namespace, labelSelector })).items;
}

export async function service(namespace: string, name: string): Promise<V1Service | undefined> {
    try {
        return await kube().core.readNamespacedService({ namespace, name });
    } catch (err) {
        if (isNotFound(err)) {
            return undefined;
        }
        throw err;
    }
}

/** Ready endpoints over all EndpointSlices of a Service. */
export function readyEndpoints(slices: readonly V1EndpointSlice[]): number {
    return slices.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready === true)
        .length;
}

/** Waits until `count` pods matching `labelSelector` are Running and Ready; returns them. */
export async function waitForReadyPods(
    namespace: string,
    labelSelector: string,
    count: number,
    timeoutMs = 120_000,
): Promise<V1Pod[]> {
    return waitUntil(
        `${count} Running, Ready pods ${labelSelector} in ${namespace}`,
        async () => {
            const live = (await pods(namespace, labelSelector)).filter(
                (p) => !p.metadata?.deletionTimestamp,
            );
            const ready = live.filter((p) => p.status?.phase === "Running" && isReady(p));
            return ready.length === count && live.length === count ? ready : undefined;
        },
        { timeoutMs, describe: () => describeNamespace(namespace) },
    );
}

/** Waits until the namespace is gone (after a destroy). */
export async function waitForNamespaceGone(namespace: string, timeoutMs = 120_000) {
    await waitUntil(
        `namespace ${namespace} to be deleted`,
        async () => {
            try {
                await kube().core.readNamespace({ name: namespace });
                return false;
            } catch (err) {
                if (isNotFound(err)) {
                    return true;
                }
                throw err;
            }
        },
        { timeoutMs, describe: () => describeNamespace(namespace) },
    );
}

/** Deletes a namespace a failed test may have left (best effort, background). */
export async function deleteNamespace(namespace: string): Promise<void> {
    try {
        await kube().core.deleteNamespace({ name: namespace, propagationPolicy: "Background" });
    } catch (err) {
        if (!isNotFound(err)) {
            console.error(`could not delete namespace ${namespace}: ${(err as Error).message}`);
        }
    }
}

/**
 * Watches one kind of object in a namespace for as long as a test needs, calling `record` on
 * every change with the whole current list. Used to see what happens *during* a `pulumi up`,
 * which the state before and after cannot show (a selector that flips twice, an endpoint gap,
 * a Job that came and went).
 */
export class Recorder<T extends { metadata?: { name?: string } }> {
    private readonly list: WatchedList<T>;

    constructor(
        what: string,
        path: string,
        list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
        private readonly record: (items: T[]) => void,
        selectors: { labelSelector?: string; fieldSelector?: string } = {},
    ) {
        this.list = new WatchedList<T>({
            what,
            watch: kube().watch,
            path,
            ...selectors,
            list,
            onChange: () => this.record(this.list.values()),
            // Short server-side watches: a stale connection is replaced within seconds.
            timeoutSeconds: 30,
        });
    }

    async start(): Promise<this> {
        await this.list.start();
        return this;
    }

    async stop(): Promise<void> {
        await this.list.stop();
        if (this.list.fatal) {
            throw this.list.fatal;
        }
    }

    values(): T[] {
        return this.list.values();
    }
}

/** Every distinct selector a Service had while watched, in order. */
export function recordSelectors(namespace: string, name: string) {
    const seen: Record<string, string>[] = [];
    const recorder = new Recorder<V1Service>(
        `Service ${namespace}/${name}`,
        `/api/v1/namespaces/${namespace}/services`,
        () =>
            kube().core.listNamespacedService({
                namespace,
                fieldSelector: `metadata.name=${name}`,
            }),
        (items) => {
            const selector = items[0]?.spec?.selector;
            const last = seen[seen.length - 1];
            if (selector && JSON.stringify(selector) !== JSON.stringify(last)) {
                seen.push({ ...selector });
            }
        },
        { fieldSelector: `metadata.name=${name}` },
    );
    return { recorder, seen };
}

/** The ready endpoints of a Service after every change of its EndpointSlices, and the minimum. */
export function recordReadyEndpoints(namespace: string, serviceName: string) {
    const samples: { at: number; ready: number; endpoints: string }[] = [];
    const labelSelector = `kubernetes.io/service-name=${serviceName}`;
    const recorder = new Recorder<V1EndpointSlice>(
        `EndpointSlices of ${namespace}/${serviceName}`,
        `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
        () => kube().discovery.listNamespacedEndpointSlice({ namespace, labelSelector }),
        (items) =>
            samples.push({
                at: Date.now(),
                ready: readyEndpoints(items),
                endpoints: items
                    .map(
                        (s) =>
                            `${s.metadata?.name}[${(s.endpoints ?? [])
                                .map(
                                    (e) =>
                                        `${e.targetRef?.name}${e.conditions?.ready ? "" : "(not ready)"}`,
                                )
                                .join(" ")}]`,
                    )
                    .join(" "),
            }),
        { labelSelector },
    );
    return {
        recorder,
        samples,
        min: () => Math.min(...samples.map((s) => s.ready)),
        /** One line per change, with the time since the first: for failure messages. */
        timeline: () =>
            samples
                .map(
                    (s) =>
                        `  +${((s.at - samples[0].at) / 1000).toFixed(1)}s ready=${s.ready} ${s.endpoints}`,
                )
                .join("\n"),
    };
}

/** Every Job seen in a namespace (by uid), as first and last seen. */
export function recordJobs(namespace: string) {
    const seen = new Map<string, V1Job>();
    const recorder = new Recorder<V1Job>(
        `Jobs in ${namespace}`,
        `/apis/batch/v1/namespaces/${namespace}/jobs`,
        () => kube().batch.listNamespacedJob({ namespace }),
        (items) => {
            for (const job of items) {
                seen.set(job.metadata?.uid ?? "", job);
            }
        },
    );
    return { recorder, seen };
}

/** Every UID each PVC name had while watched. */
export function recordPvcUids(namespace: string) {
    const uids = new Map<string, Set<string>>();
    const recorder = new Recorder<V1PersistentVolumeClaim>(
        `PVCs in ${namespace}`,
        `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
        () => kube().core.listNamespacedPersistentVolumeClaim({ namespace }),
        (items) => {
            for (const pvc of items) {
                const name = pvc.metadata?.name ?? "";
                uids.set(name, (uids.get(name) ?? new Set()).add(pvc.metadata?.uid ?? ""));
            }
        },
    );
    return { recorder, uids };
}

const labelsText = (labels?: Record<string, string>) =>
    Object.entries(labels ?? {})
        .filter(([k]) => k.startsWith("chainfleet.io/"))
        .map(([k, v]) => `${k.replace("chainfleet.io/", "")}=${v}`)
        .join(",");

/**
 * A namespace at a glance, like a few `kubectl get` commands: StatefulSets, pods, PVCs,
 * Services with their selectors, EndpointSlices, Jobs, and the latest events. Printed when a
 * step fails; never throws (it is called from error paths).
 */
export async function describeNamespace(namespace: string, eventCount = 40): Promise<string> {
    const k = kube();
    const lines: string[] = [`--- cluster state of namespace ${namespace}`];
    const section = async (title: string, fn: () => Promise<string[]>) => {
        try {
            const body = await fn();
            lines.push(`${title}:`, ...(body.length ? body.map((l) => `  ${l}`) : ["  (none)"]));
        } catch (err) {
            lines.push(`${title}: (unavailable: ${(err as Error).message})`);
        }
    };
    await section("statefulsets", async () =>
        (await statefulSets(namespace)).map(
            (s) =>
                `${s.metadata?.name} replicas=${s.status?.readyReplicas ?? 0}/${s.spec?.replicas} ` +
                `image=${s.spec?.template.spec?.containers[0]?.image} [${labelsText(s.metadata?.labels)}]`,
        ),
    );
    await section("pods", async () =>
        (await pods(namespace)).map(
            (p) =>
                `${p.metadata?.name} ${p.status?.phase}${isReady(p) ? " Ready" : ""}` +
                `${p.metadata?.deletionTimestamp ? " Terminating" : ""} ` +
                `image=${p.spec?.containers[0]?.image} [${labelsText(p.metadata?.labels)}]`,
        ),
    );
    await section("pvcs", async () =>
        (await pvcs(namespace)).map(
            (p) =>
                `${p.metadata?.name} ${p.status?.phase} uid=${p.metadata?.uid} ` +
                `annotations=${JSON.stringify(
                    Object.fromEntries(
                        Object.entries(p.metadata?.annotations ?? {}).filter(([a]) =>
                            a.startsWith("chainfleet.io/"),
                        ),
                    ),
                )}`,
        ),
    );
    await section("services", async () =>
        (await k.core.listNamespacedService({ namespace })).items.map(
            (s) => `${s.metadata?.name} selector=${selectorOf(s.spec?.selector ?? {})}`,
        ),
    );
    await section("endpointslices", async () =>
        (await k.discovery.listNamespacedEndpointSlice({ namespace })).items.map(
            (s) =>
                `${s.metadata?.name} (service ${s.metadata?.labels?.["kubernetes.io/service-name"]}): ` +
                (s.endpoints ?? [])
                    .map((e) => `${e.targetRef?.name}${e.conditions?.ready ? "" : "(not ready)"}`)
                    .join(" "),
        ),
    );
    await section("jobs", async () =>
        (await jobs(namespace)).map(
            (j) =>
                `${j.metadata?.name} active=${j.status?.active ?? 0} succeeded=${j.status?.succeeded ?? 0} ` +
                `failed=${j.status?.failed ?? 0} conditions=${(j.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(",")}`,
        ),
    );
    // Pods that ran for real: their containers' logs (current and previous), their events and
    // what the container runtime holds for them; and the real node's own state and events.
    const real = (await pods(namespace).catch(() => [])).filter(
        (p) => p.spec?.nodeName === REAL_NODE,
    );
    for (const p of real) {
        lines.push(await podReport(namespace, p.metadata?.name ?? ""));
    }
    if (real.length > 0) {
        await section(`node ${REAL_NODE}`, async () => {
            const node = await k.core.readNode({ name: REAL_NODE });
            const events = await k.core.listNamespacedEvent({
                namespace: "default",
                fieldSelector: `involvedObject.kind=Node,involvedObject.name=${REAL_NODE}`,
            });
            return [
                `conditions ${(node.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(",")}`,
                ...events.items.slice(-10).map((e) => `event ${e.type} ${e.reason}: ${e.message}`),
                ...runtimeView(real.flatMap((p) => containerIds(p))),
            ];
        });
    }
    await section(`events (latest ${eventCount})`, async () =>
        (await k.core.listNamespacedEvent({ namespace })).items
            .sort((a, b) => eventTime(a) - eventTime(b))
            .slice(-eventCount)
            .map(
                (e) =>
                    `${new Date(eventTime(e)).toISOString().slice(11, 19)} ${e.type} ${e.reason} ` +
                    `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message}`,
            ),
    );
    return lines.join("\n");
}

function eventTime(e: CoreV1Event): number {
    const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
    return t ? new Date(t as unknown as string).getTime() : 0;
}

function containerIds(pod: V1Pod): string[] {
    return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
        .map((c) => c.containerID?.replace(/^containerd:\/\//, "") ?? "")
        .filter((id) => id !== "");
}

/** containerd's own view of the given containers (`ctr tasks ls` on the node's socket). */
function runtimeView(ids: string[]): string[] {
    try {
        const out = execFileSync(
            "ctr",
            ["--address", CONTAINERD_SOCKET, "-n", "k8s.io", "tasks", "ls"],
            { encoding: "utf8", timeout: 10_000 },
        );
        const rows = out.split("\n").filter((l) => ids.some((id) => l.startsWith(id)));
        return rows.length
            ? rows.map((r) => `runtime task ${r}`)
            : ["runtime: no task left for these containers"];
    } catch (err) {
        return [`runtime: unavailable (${(err as Error).message.split("\n")[0]})`];
    }
}
