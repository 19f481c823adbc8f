/**
 * Measuring helpers for the gate benchmarks (bench/gates.ts, bench/gatesPodProxy.ts):
 * percentiles and the figures table, an API request counter, polling baselines (pods listed,
 * node RPC read through the pod proxy) and harness pods whose readiness the bench flips at a
 * known moment.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { V1Pod } from "@kubernetes/client-node";
import { adapterFor } from "../chains";
import {
    CaughtUpRules,
    NodeObservation,
    evaluateCaughtUp,
    latest,
    recordSample,
    referenceHeight,
} from "../dynamic-providers/gates";
import { fetchJson, podProxyUrl } from "../kube/rpc";
import { k8s, loadKubeConfig } from "../kube/kube";
import { HARNESS_SCHEDULER, clients, kubeAccess, setPodState } from "../test/api/harness/kube";

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

/** A provider's `check` with this cluster's kube access: the inputs its `create` takes. */
export async function check<T>(
    provider: {
        check?: (o: never, n: never) => Promise<{ inputs?: unknown; failures?: unknown[] }>;
    },
    raw: object,
): Promise<T> {
    const res = await provider.check!({} as never, { ...kubeAccess(), ...raw } as never);
    if (res.failures?.length) {
        throw new Error(JSON.stringify(res.failures));
    }
    return res.inputs as T;
}

/** Prints one row per measure: n, p50, p99, max and a note (or a plain figure and a note). */
export function table(rows: [string, Summary | string, string?][]): void {
    const w = Math.max(...rows.map(([n]) => n.length));
    console.log(
        `\n${"measure".padEnd(w)}  ${"n".padStart(4)}  ${"p50".padStart(9)}  ${"p99".padStart(9)}  ${"max".padStart(9)}  note`,
    );
    for (const [name, s, note] of rows) {
        if (typeof s === "string") {
            console.log(
                `${name.padEnd(w)}  ${s.padStart(4 + 2 + 9 + 2 + 9 + 2 + 9)}  ${note ?? ""}`,
            );
        } else {
            const n = Number.isFinite(s.n) ? String(s.n) : "model";
            console.log(
                `${name.padEnd(w)}  ${n.padStart(4)}  ${fmt(s.p50).padStart(9)}  ${fmt(s.p99).padStart(9)}  ${fmt(s.max).padStart(9)}  ${note ?? ""}`,
            );
        }
    }
}

/**
 * Counts requests to the API server made by every client in this process: typed API calls go
 * through `applySecurityAuthentication`, watches, logs and pod-proxy calls through
 * `applyToHTTPSOptions`. Patching the prototype counts the clients the providers build inside
 * their methods too, without touching provider code. `byConfig` splits the count by KubeConfig
 * instance, which tells a provider's requests (it loads its own) from the bench's.
 */
export class RequestCounter {
    count = 0;
    readonly byConfig = new Map<object, number>();
    private restore: (() => void)[] = [];

    install(): this {
        const proto = k8s.KubeConfig.prototype as unknown as Record<
            string,
            (...a: unknown[]) => unknown
        >;
        for (const method of ["applySecurityAuthentication", "applyToHTTPSOptions"]) {
            const original = proto[method];
            const bump = (config: object) => {
                this.count++;
                this.byConfig.set(config, (this.byConfig.get(config) ?? 0) + 1);
            };
            proto[method] = function (this: object, ...args: unknown[]) {
                bump(this);
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

    /** Requests made through any KubeConfig but these. */
    countExcept(configs: readonly object[]): number {
        return configs.reduce((n, c) => n - (this.byConfig.get(c) ?? 0), this.count);
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

/** What the caughtUp gate reads for one entrant pod, and the rules it judges it by. */
export interface CaughtUpTarget {
    namespace: string;
    entrant: string;
    incumbent: string;
    rpcPort: number;
    rules: CaughtUpRules;
}

/** One round of a CaughtUpPoller: when the entrant's /status answered, and the verdict. */
export interface Round {
    at: number;
    pass: boolean;
}

/**
 * A plain poller of what the caughtUp gate reads, through the same pod proxy: every
 * `intervalMs`, the entrant's /status and /net_info and the incumbent's /status (the three in
 * parallel), judged by the gate's own rules (dynamic-providers/gates.ts `evaluateCaughtUp`, each
 * node's history kept by `recordSample`). A round's moment is the arrival of the entrant's
 * /status answer. `passedAt` resolves with the first passing round's moment (NaN if stopped
 * first); with `untilStopped` it keeps polling after that, recording every round.
 *
 * It has its own KubeConfig, so a RequestCounter tells its requests apart. Each call opens a
 * TLS connection to the API server, as the gate's `fetchJson` does, unless `keepAlive` (the
 * side poller, whose frequent calls would otherwise load the API server they measure through).
 */
export class CaughtUpPoller {
    readonly config = loadKubeConfig(kubeAccess());
    readonly rounds: Round[] = [];
    readonly requestMs: number[] = [];
    /** Failed samples, oldest first: "<pod>: <why>". */
    readonly errors: string[] = [];
    readonly passedAt: Promise<number>;
    startedAt = 0;
    stoppedAt = 0;
    private stopped = false;
    private agent?: https.Agent;
    private headers: http.OutgoingHttpHeaders = {};

    constructor(
        private readonly target: CaughtUpTarget,
        private readonly opts: {
            intervalMs: number;
            keepAlive?: boolean;
            untilStopped?: boolean;
            /** Delay before the first round. */
            startAfterMs?: number;
        },
    ) {
        let resolve: (at: number) => void = () => undefined;
        this.passedAt = new Promise((r) => (resolve = r));
        void this.loop(resolve);
    }

    stop(): void {
        this.stopped = true;
        this.stoppedAt ||= Date.now();
    }

    private async get(pod: string, path: string): Promise<unknown> {
        const { namespace, rpcPort } = this.target;
        const url = podProxyUrl(
            this.config.getCurrentCluster()?.server ?? "",
            namespace,
            pod,
            rpcPort,
            path,
        );
        const t0 = Date.now();
        const body = this.agent
            ? await getJson(url, this.agent, this.headers, 1000)
            : await fetchJson(url, { kubeConfig: this.config, timeoutMs: 1000 });
        this.requestMs.push(Date.now() - t0);
        return body;
    }

    private async sample(node: NodeObservation, withPeers: boolean): Promise<void> {
        const a = adapterFor("cometbft");
        try {
            const [[status, at], peers] = await Promise.all([
                this.get(node.name, a.statusPath).then((body) => [body, Date.now()] as const),
                withPeers ? this.get(node.name, a.peersPath) : undefined,
            ]);
            const s = a.parseStatus(status);
            recordSample(node, {
                at,
                height: s.height,
                catchingUp: s.catchingUp,
                peers: peers === undefined ? s.peers : a.parsePeerCount(peers),
            });
        } catch (err) {
            node.error = (err as Error).message;
            this.errors.push(`${node.name}: ${node.error}`);
        }
    }

    private async loop(passed: (at: number) => void): Promise<void> {
        await sleep(this.opts.startAfterMs ?? 0);
        this.startedAt = Date.now();
        if (this.opts.keepAlive) {
            const tls: https.RequestOptions = {};
            await this.config.applyToHTTPSOptions(tls);
            const { ca, cert, key, rejectUnauthorized } = tls;
            this.agent = new https.Agent({ keepAlive: true, ca, cert, key, rejectUnauthorized });
            this.headers = (tls.headers as http.OutgoingHttpHeaders | undefined) ?? {};
        }
        const entrant: NodeObservation = { name: this.target.entrant, history: [] };
        const incumbent: NodeObservation = { name: this.target.incumbent, history: [] };
        let firstPass = NaN;
        while (!this.stopped) {
            await Promise.all([this.sample(entrant, true), this.sample(incumbent, false)]);
            const { pass } = evaluateCaughtUp(
                [entrant],
                referenceHeight([incumbent]),
                this.target.rules,
            );
            const at = pass ? latest(entrant)!.at : Date.now();
            this.rounds.push({ at, pass });
            if (pass && Number.isNaN(firstPass)) {
                firstPass = at;
                passed(at);
                if (!this.opts.untilStopped) {
                    this.stop();
                }
            }
            if (!this.stopped) {
                await sleep(this.opts.intervalMs);
            }
        }
        this.agent?.destroy();
        passed(firstPass);
    }
}

/** GET `url` as JSON over a kept-alive connection. */
function getJson(
    url: string,
    agent: https.Agent,
    headers: http.OutgoingHttpHeaders,
    timeoutMs: number,
): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const req = https.get(url, { agent, headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("error", reject);
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                if (res.statusCode !== 200) {
                    reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 120)}`));
                    return;
                }
                try {
                    resolve(JSON.parse(text));
                } catch {
                    reject(new Error(`non-JSON answer: ${text.slice(0, 120)}`));
                }
            });
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
    });
}

/**
 * When the condition last turned true before `t`, as `rounds` saw it: the start of the passing
 * stretch `t` falls in, or of the latest one before it. If none started by `t`, the first
 * passing round after it (an observer faster than the side poller then gets a negative figure).
 */
export function trueSince(rounds: readonly Round[], t: number): number {
    let since = NaN;
    let prev = false;
    for (const r of rounds) {
        if (r.at > t) {
            return Number.isNaN(since) ? (rounds.find((x) => x.pass)?.at ?? NaN) : since;
        }
        if (r.pass && !prev) {
            since = r.at;
        }
        prev = r.pass;
    }
    return since;
}

/** How many times `rounds` saw the condition turn true up to `t`. */
export const timesTurnedTrue = (rounds: readonly Round[], t: number): number =>
    rounds.filter((r, i) => r.at <= t && r.pass && !rounds[i - 1]?.pass).length;
