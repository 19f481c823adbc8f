/**
 * Each node pod of a network with its height, whether it is catching up and its peer count, read
 * through the API server's pod proxy as the gates read them (`npm run nodes`, `npm run dev`, the
 * e2e tier's real-network test).
 */
import * as k8s from "@kubernetes/client-node";
import type { ChainAdapter } from "../chains/types";
import { fetchJson, podProxyUrl } from "../kube/rpc";
import { LABEL } from "../lib/labels";

export interface NodeRow {
    pod: string;
    group: string;
    ready: boolean;
    height?: number;
    catchingUp?: boolean;
    peers?: number;
    /** Why the node could not be read. */
    error?: string;
}

/** In sync: what `npm run dev` waits for, per node. */
export function inSync(row: NodeRow): boolean {
    return (
        row.error === undefined &&
        (row.height ?? 0) > 0 &&
        row.catchingUp === false &&
        (row.peers ?? 0) >= 1
    );
}

/**
 * Every node in sync and each one above the height it had when `firstSeen` first saw it (a node
 * in sync at a height that never moves is a halted network). Records first heights as it goes:
 * pass the same map on every poll.
 */
export function allInSyncAndAdvancing(
    rows: readonly NodeRow[],
    firstSeen: Map<string, number>,
): boolean {
    for (const r of rows) {
        if (r.height !== undefined && !firstSeen.has(r.pod)) firstSeen.set(r.pod, r.height);
    }
    const moved = (r: NodeRow) => (r.height ?? 0) > (firstSeen.get(r.pod) ?? Infinity);
    return rows.length > 0 && rows.every((r) => inSync(r) && moved(r));
}

export function renderNodes(rows: readonly NodeRow[]): string {
    if (rows.length === 0) {
        return "no node pods\n";
    }
    const table = [
        ["POD", "GROUP", "READY", "HEIGHT", "CATCHING UP", "PEERS"],
        ...rows.map((r) =>
            r.error !== undefined
                ? [r.pod, r.group, String(r.ready), "-", "-", `- (${r.error})`]
                : [
                      r.pod,
                      r.group,
                      String(r.ready),
                      String(r.height ?? "-"),
                      String(r.catchingUp ?? "-"),
                      String(r.peers ?? "-"),
                  ],
        ),
    ];
    const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
    return table
        .map((row) =>
            row
                .map((cell, c) => cell.padEnd(widths[c]))
                .join("  ")
                .trimEnd(),
        )
        .join("\n")
        .concat("\n");
}

async function readNode(
    kc: k8s.KubeConfig,
    adapter: ChainAdapter,
    namespace: string,
    pod: k8s.V1Pod,
): Promise<NodeRow> {
    const name = pod.metadata?.name ?? "";
    const row: NodeRow = {
        pod: name,
        group: pod.metadata?.labels?.[LABEL.group] ?? "",
        ready:
            pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    };
    const port = adapter.ports.find((p) => p.role === "rpc")?.containerPort ?? 0;
    const url = (path: string) =>
        podProxyUrl(kc.getCurrentCluster()?.server ?? "", namespace, name, port, path);
    try {
        const call = { timeoutMs: 3000, kubeConfig: kc };
        const status = adapter.parseStatus(
            await fetchJson(url(adapter.statusPath), {
                ...call,
                ...adapter.statusRequest,
                acceptStatuses: adapter.statusHttpCodes,
            }),
        );
        row.height = status.height;
        row.catchingUp = status.catchingUp;
        row.peers = adapter.parsePeerCount(
            await fetchJson(url(adapter.peersPath), { ...call, ...adapter.peersRequest }),
        );
    } catch (err) {
        row.error = (err instanceof Error ? err.message : String(err)).split("\n")[0].slice(0, 100);
    }
    return row;
}

export async function readNodes(
    kc: k8s.KubeConfig,
    adapter: ChainAdapter,
    namespace: string,
    network: string,
) {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const pods = await core.listNamespacedPod({
        namespace,
        labelSelector: `${LABEL.network}=${network},${LABEL.component}=node`,
    });
    const running = pods.items.filter((p) => p.status?.phase === "Running");
    const rows = await Promise.all(running.map((p) => readNode(kc, adapter, namespace, p)));
    return rows.sort((a, b) => a.pod.localeCompare(b.pod));
}
