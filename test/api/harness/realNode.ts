/**
 * The local cluster's real node (scripts/cluster/node.sh): a kubelet with containerd on this
 * host, tainted so that only pods that ask for it run there. Its pods run the images
 * scripts/images.sh built, reach this host at the bridge address, and the API server reaches
 * them through its pod proxy.
 *
 * `podReport` is what a failing test prints about a pod: each container's state and logs
 * (current and previous), the pod's events and the runtime's view (`crictl`-like, from the
 * pod's status), so a red run says why without a rerun.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { clients, waitFor } from "./kube";

export const REAL_NODE = "chainfleet-node";
export const REAL_NODE_TAINT = "chainfleet.io/real-node";
/** The host, as pods see it (the bridge's address; also the node IP and the cluster DNS). */
export const HOST_ADDRESS = "10.244.0.1";
/** The node's containerd (scripts/cluster/node.sh). */
export const CONTAINERD_SOCKET = "/run/chainfleet/containerd.sock";

/** True when the real node is Ready. */
export async function realNodeReady(): Promise<boolean> {
    try {
        const node = await clients().core.readNode({ name: REAL_NODE });
        return (
            node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false
        );
    } catch {
        return false;
    }
}

/**
 * Skips the suite when there is no real node (CHAINFLEET_REAL_NODE=0, a machine without root),
 * unless CHAINFLEET_REQUIRE_REAL=1 (CI), where a missing node fails it.
 */
export async function requireRealNode(ctx: Mocha.Context): Promise<void> {
    if (await realNodeReady()) {
        return;
    }
    const why = `the real node ${REAL_NODE} is not Ready (scripts/cluster.sh up starts it; it needs root)`;
    if (process.env.CHAINFLEET_REQUIRE_REAL === "1") {
        throw new Error(`${why}; CHAINFLEET_REQUIRE_REAL=1 requires it`);
    }
    console.log(`      skipped: ${why}`);
    ctx.skip();
}

/** A pod spec placed on the real node: its selector and the toleration of its taint. */
export function onRealNode<T extends Record<string, unknown>>(spec: T): T {
    return {
        ...spec,
        nodeSelector: { type: "real" },
        tolerations: [
            ...((spec.tolerations as unknown[]) ?? []),
            { key: REAL_NODE_TAINT, operator: "Exists", effect: "NoSchedule" },
        ],
    };
}

export async function readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
        return await clients().core.readNamespacedPod({ namespace, name });
    } catch {
        return undefined;
    }
}

async function logsOf(
    namespace: string,
    pod: string,
    container: string,
    previous: boolean,
): Promise<string | undefined> {
    try {
        const text = await clients().core.readNamespacedPodLog({
            namespace,
            name: pod,
            container,
            previous,
            tailLines: 40,
        });
        return String(text);
    } catch {
        return undefined;
    }
}

/** Everything worth knowing about a pod that did not do what a test expected. */
export async function podReport(namespace: string, name: string): Promise<string> {
    const pod = await readPod(namespace, name);
    if (!pod) {
        return `pod ${namespace}/${name}: not found`;
    }
    const lines = [
        `pod ${namespace}/${name} on ${pod.spec?.nodeName ?? "(unscheduled)"}: phase ${pod.status?.phase}, ` +
            `conditions ${JSON.stringify((pod.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ""}`))}`,
    ];
    const statuses = [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
    ];
    for (const s of statuses) {
        lines.push(
            `  container ${s.name}: ${JSON.stringify(s.state)}, restarts ${s.restartCount}, ` +
                `image ${s.image} (${s.imageID ?? "?"}), runtime id ${s.containerID ?? "none"}`,
        );
        for (const previous of [false, true]) {
            const log = await logsOf(namespace, name, s.name, previous);
            if (log?.trim()) {
                const label = previous ? "previous log" : "log";
                lines.push(
                    `    ${label}:`,
                    ...log
                        .trimEnd()
                        .split("\n")
                        .map((l) => `      ${l}`),
                );
            }
        }
    }
    const events = await clients().core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
    });
    for (const e of events.items) {
        lines.push(`  event ${e.type} ${e.reason} (x${e.count ?? 1}): ${e.message}`);
    }
    return lines.join("\n");
}

/** Waits until `check(pod)` holds; on timeout the error carries the pod's report. */
export async function waitForPod(
    namespace: string,
    name: string,
    what: string,
    check: (pod: V1Pod) => boolean,
    timeoutMs = 120_000,
): Promise<V1Pod> {
    let last: V1Pod | undefined;
    try {
        await waitFor(
            `${namespace}/${name} ${what}`,
            async () => {
                last = await readPod(namespace, name);
                return last !== undefined && check(last);
            },
            timeoutMs,
        );
    } catch (err) {
        throw new Error(`${(err as Error).message}\n${await podReport(namespace, name)}`);
    }
    return last!;
}

export const isReady = (pod: V1Pod): boolean =>
    pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** The terminated state of a pod's (init) container, once it has one. */
export function terminated(pod: V1Pod, container: string) {
    const all = [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
    ];
    const s = all.find((c) => c.name === container);
    return s?.state?.terminated ?? s?.lastState?.terminated;
}
