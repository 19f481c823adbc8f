/**
 * Reaching a node's RPC from the program (kube/chainPlan.ts: the chain's upgrade plan, read at
 * preview) and from a dynamic provider (the height gate), in one of two ways:
 *
 * - `podProxy` (the default for users): through the API server's pod proxy,
 *   `/api/v1/namespaces/{ns}/pods/{pod}:{port}/proxy/<path>`, with the kubeconfig's credentials.
 *   Works from a laptop or CI without network access to pod IPs.
 * - `direct`: plain HTTP to a URL per pod (`directUrls`). For clusters whose pod IPs are routable
 *   from where `pulumi up` runs, and for tests, where the API server cannot proxy to the fake pod
 *   IPs kwok hands out and real nodes listen on 127.0.0.1.
 *
 * Only Node built-ins are used (http/https), so nothing here needs capturing beyond this file.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { explainForbidden } from "../lib/forbidden";

export type RpcMode = "podProxy" | "direct";

/** The pod-proxy URL for `path` on `port` of a pod. `path` keeps its own query string. */
export function podProxyUrl(
    server: string,
    namespace: string,
    pod: string,
    port: number,
    path: string,
): string {
    const base = server.replace(/\/+$/, "");
    const rel = path.startsWith("/") ? path : `/${path}`;
    return `${base}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy${rel}`;
}

/** `path` appended to a node's base URL (which may itself carry a path prefix). */
export function directUrl(base: string, path: string): string {
    const rel = path.startsWith("/") ? path : `/${path}`;
    return `${base.replace(/\/+$/, "")}${rel}`;
}

export interface HttpOptions {
    method?: "GET" | "POST";
    body?: string;
    timeoutMs: number;
    /** For pod-proxy URLs: TLS material and credentials come from this kubeconfig. */
    kubeConfig?: KubeConfig;
    /**
     * Non-2xx statuses whose body is still the document asked for (Avalanche health answers 503
     * with its status JSON while unhealthy). 2xx is always accepted.
     */
    acceptStatuses?: readonly number[];
}

/** GET/POST `url` and parse the JSON answer. Other statuses throw with the status and body start. */
export async function fetchJson(url: string, opts: HttpOptions): Promise<unknown> {
    const target = new URL(url);
    const reqOpts: https.RequestOptions = {
        method: opts.method ?? "GET",
        headers: { accept: "application/json" },
    };
    if (opts.kubeConfig) {
        await opts.kubeConfig.applyToHTTPSOptions(reqOpts);
    }
    if (opts.body !== undefined) {
        reqOpts.headers = { ...reqOpts.headers, "content-type": "application/json" };
    }
    const lib = target.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.request(target, reqOpts, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("error", reject);
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                const status = res.statusCode ?? 0;
                const accepted =
                    (status >= 200 && status < 300) || opts.acceptStatuses?.includes(status);
                if (!accepted) {
                    const err = new Error(
                        `HTTP ${status} from ${redact(url)}: ${text.slice(0, 200).trim()}`,
                    );
                    // Through the pod proxy, a 403 is the deploying identity's missing
                    // pods/proxy permission (get, or create for a POST): say so.
                    reject(
                        status === 403
                            ? explainForbidden(err, {
                                  verb: opts.method === "POST" ? "create" : "get",
                              })
                            : err,
                    );
                    return;
                }
                try {
                    resolve(JSON.parse(text));
                } catch {
                    reject(new Error(`non-JSON answer from ${redact(url)}: ${text.slice(0, 120)}`));
                }
            });
        });
        req.setTimeout(opts.timeoutMs, () =>
            req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)),
        );
        req.on("error", reject);
        if (opts.body !== undefined) {
            req.write(opts.body);
        }
        req.end();
    });
}

/** Drops credentials a URL may carry before it lands in a log or an error. */
export function redact(url: string): string {
    try {
        const u = new URL(url);
        if (u.username || u.password) {
            u.username = "***";
            u.password = "";
        }
        return u.toString();
    } catch {
        return url;
    }
}
