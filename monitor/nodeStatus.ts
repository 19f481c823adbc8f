/**
 * One observation of the node through its chain adapter: fetch the status endpoint, parse it
 * with the adapter. Failures become an `error` in the observation, never an exception: a node
 * that is restarting is part of a bootstrap, not a reason for the sidecar to die.
 */
import type { ChainAdapter } from "../chains/types";
import type { Observation } from "./completion";
import type { FetchLike } from "./registry";

/** `http://127.0.0.1:<rpc port><statusPath>`: the node container shares the pod's network. */
export function defaultStatusUrl(adapter: ChainAdapter): string {
    const rpc = adapter.ports.find((p) => p.role === "rpc");
    if (!rpc) {
        throw new Error(`the ${adapter.kind} adapter has no rpc port; pass --status-url`);
    }
    return `http://127.0.0.1:${rpc.containerPort}${adapter.statusPath}`;
}

export async function observeNode(
    adapter: ChainAdapter,
    url: string,
    opts: { timeoutMs?: number; fetch?: FetchLike } = {},
): Promise<Observation> {
    const doFetch = opts.fetch ?? ((u: string, init: RequestInit) => globalThis.fetch(u, init));
    const { method, body } = adapter.statusRequest;
    let res: Response;
    try {
        res = await doFetch(url, {
            method,
            ...(body !== undefined
                ? { body, headers: { "Content-Type": "application/json" } }
                : {}),
            signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
    } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        return { error: `${url}: ${cause?.code ?? (err as Error).message}` };
    }
    const accepted = adapter.statusHttpCodes ?? [200];
    if (!accepted.includes(res.status)) {
        await res.arrayBuffer().catch(() => undefined);
        return { error: `${url} answered HTTP ${res.status}` };
    }
    try {
        const status = adapter.parseStatus(await res.json());
        // Avalanche's health endpoint answers 503 (with the same document) until healthy.
        return { status, healthy: res.status === 200 };
    } catch (err) {
        return { error: `${url}: ${(err as Error).message}` };
    }
}
