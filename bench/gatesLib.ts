/**
 * Measuring helpers for bench/gates.ts: percentiles, an API request counter, a polling baseline
 * and harness pods whose readiness the bench flips at a known moment.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { k8s } from "../kube/kube";
import { HARNESS_SCHEDULER, clients, setPodState } from "../test/api/harness/kube";

export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) {
        return NaN;
    }
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank];
}

export interface Summary {
    n: number;
    p50: number;
    p99: number;
    max: number;
}

export const summarize = (values: readonly number[]): Summary => ({
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: Math.max(...values),
});

/**
 * Counts requests to the API server made by every client in this process: typed API calls go
 * through `applySecurityAuthentication`, watches, logs and pod-proxy calls through
 * `applyToHTTPSOptions`. Patching the prototype counts the clients the providers build inside
 * their methods too, without touching provider code.
 */
export class RequestCounter {
    count = 0;
    private restore: (() => void)[] = [];

    install(): this {
        const proto = k8s.KubeConfig.prototype as unknown as Record<
            string,
            (...a: unknown[]) => unknown
        >;
        for (const method of ["applySecurityAuthentication", "applyToHTTPSOptions"]) {
            const original = proto[method];
            const bump = () => this.count++;
            proto[method] = function (this: unknown, ...args: unknown[]) {
                bump();
                return original.apply(this, args);
            };
            this.restore.push(() => {
                proto[method] = original;
            });
        }
        return this;
    }

    uninstall(): void {
        this.restore.splice(0).forEach((r) => r());
    }
}

/** Analytic latency of a poller with interval P (condition true at a uniformly random phase). */
export function pollerModel(intervalMs: number, requestMs: number): Summary {
    return {
        n: Infinity,
        p50: intervalMs * 0.5 + requestMs,
        p99: intervalMs * 0.99 + requestMs,
        max: intervalMs + requestMs,
    };
}

/** Two harness pods labelled for one trial; `a` starts Ready, `b` does not exist as Ready yet. */
export async function trialPods(
    namespace: string,
    trial: string,
): Promise<{ labels: Record<string, string>; a: string; b: string }> {
    const labels = { "bench.chainfleet.io/trial": trial };
    const names = [`t${trial}-a`, `t${trial}-b`];
    for (const name of names) {
        await clients().core.createNamespacedPod({
            namespace,
            body: {
                metadata: { name, labels },
                spec: {
                    schedulerName: HARNESS_SCHEDULER,
                    containers: [{ name: "node", image: "example.invalid/node:v1" }],
                },
            },
        });
    }
    await setPodState(namespace, names[0], { running: true });
    return { labels, a: names[0], b: names[1] };
}

const isReady = (p: V1Pod) =>
    p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** A plain poller: list the pods every `intervalMs` until `count` are Ready. Returns when it saw it. */
export async function pollUntilReady(
    namespace: string,
    labelSelector: string,
    count: number,
    intervalMs: number,
): Promise<number> {
    for (;;) {
        const pods = (await clients().core.listNamespacedPod({ namespace, labelSelector })).items;
        if (pods.filter(isReady).length >= count) {
            return Date.now();
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A random pause, so the condition turns true at a random phase of any poll cycle. */
export const jitter = (minMs: number, maxMs: number): Promise<void> =>
    sleep(minMs + Math.random() * (maxMs - minMs));

export const fmt = (ms: number): string => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : "-");
