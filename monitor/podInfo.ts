/** Small readings of the monitor's own pod, with errors that name the flag to fix. */
import { setTimeout as delay } from "node:timers/promises";
import type { k8s } from "../kube/kube";
import type { NodeRestarts } from "./completion";
import type { MonitorKube } from "./kubeOps";

export function nodeContainerImage(pod: k8s.V1Pod, container: string): string {
    const containers = pod.spec?.containers ?? [];
    const node = containers.find((c) => c.name === container);
    if (!node?.image) {
        throw new Error(
            `--node-container '${container}' names no container of pod ${pod.metadata?.name} (it has: ${containers.map((c) => c.name).join(", ") || "none"}); pass the node container's name`,
        );
    }
    return node.image;
}

/** The versions annotation, or {} when absent or not a JSON object of strings. */
export function parseVersions(annotation: string | undefined): Record<string, string> {
    if (!annotation) {
        return {};
    }
    try {
        const json: unknown = JSON.parse(annotation);
        if (json === null || typeof json !== "object" || Array.isArray(json)) {
            return {};
        }
        return Object.fromEntries(
            Object.entries(json as Record<string, unknown>).filter(
                ([, v]) => typeof v === "string",
            ),
        ) as Record<string, string>;
    } catch {
        return {};
    }
}

/**
 * Refuses to act unless `statefulSet` owns the pod: a wrong `--statefulset` would otherwise pin
 * (and later repoint) some other workload's image.
 */
export function checkOwner(pod: k8s.V1Pod, statefulSet: string): void {
    const owners = pod.metadata?.ownerReferences ?? [];
    const owned = owners.some((o) => o.kind === "StatefulSet" && o.name === statefulSet);
    if (!owned) {
        const actual = owners.map((o) => `${o.kind}/${o.name}`).join(", ") || "nothing";
        throw new Error(
            `--statefulset '${statefulSet}' does not own pod ${pod.metadata?.name} (owned by ${actual}); pass the name of the StatefulSet that runs this pod`,
        );
    }
}

/**
 * Waits up to `seconds` for the pod incarnation `uid` to disappear. In a cluster the kubelet
 * kills this process first; run locally (the api tests), this is how the command ends.
 */
export async function waitPodGone(
    kube: MonitorKube,
    uid: string,
    seconds: number,
    sleep: (ms: number) => Promise<void> = (ms) => delay(ms),
): Promise<boolean> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
        if (await kube.podGone(uid)) {
            return true;
        }
        await sleep(Math.min(2000, Math.max(0, deadline - Date.now())));
    }
    return kube.podGone(uid);
}

/** The node container's restart count and last exit, from the pod's status. */
export function nodeRestarts(pod: k8s.V1Pod, container: string): NodeRestarts {
    const status = pod.status?.containerStatuses?.find((c) => c.name === container);
    const last = status?.lastState?.terminated;
    return {
        count: status?.restartCount ?? 0,
        ...(last ? { lastExit: { exitCode: last.exitCode, reason: last.reason } } : {}),
    };
}
