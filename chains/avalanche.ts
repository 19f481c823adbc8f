/**
 * Avalanche (`avalanchego`). Response shapes: avalanchego `api/health/service.md`, `handler.go`
 * and `result.go`, and `api/info/service.md` (research/operators.md §5).
 */
import { z } from "zod";
import {
    ChainResponseError,
    describe,
    formatRpcError,
    jsonRpcError,
    parseWith,
    safeUint,
    unwrapJsonRpc,
    type ResponseContext,
} from "./parse";
import { httpGetProbe, httpGetReadinessProbe } from "./probes";
import type { ChainAdapter, ChainPort, NodeStatus, StartCommand, StartOptions } from "./types";

export const AVALANCHE_HTTP_PORT = 9650;
export const AVALANCHE_STAKING_PORT = 9651;
/** --data-dir: db/, staking/ (the node's identity), logs/ and chainData/ go under it. */
export const AVALANCHE_DATA_DIR = "/data";
/** The official image keeps the binary here, off PATH. */
export const AVALANCHEGO_BINARY = "/avalanchego/build/avalanchego";
export const AVALANCHE_INFO_PATH = "/ext/info";

const HEALTH_CONTEXT: ResponseContext = {
    what: "Avalanche /ext/health",
    hint:
        `Check that the URL points at avalanchego's HTTP port (${AVALANCHE_HTTP_PORT}) and the ` +
        "path is /ext/health (not /ext/health/liveness, which carries no checks).",
};

const INFO_CONTEXT: ResponseContext = {
    what: "Avalanche info API",
    hint: `Check that the call is a JSON-RPC POST to ${AVALANCHE_INFO_PATH} on port ${AVALANCHE_HTTP_PORT}.`,
};

const checkSchema = z.object({ message: z.unknown().optional(), error: z.string().optional() });
const healthSchema = z.object({
    checks: z.record(z.string(), checkSchema),
    healthy: z.boolean(),
});

type Check = z.output<typeof checkSchema>;

/** What `/ext/health` says, beyond the normalised NodeStatus. */
export interface AvalancheHealth {
    healthy: boolean;
    /** All chains finished bootstrapping: the `bootstrapped` check passes and lists no subnet. */
    bootstrapped: boolean;
    /** C-Chain last accepted height; undefined while the chain cannot report it yet. */
    cChainHeight?: number;
    connectedPeers?: number;
    /** Names of failing checks, for progress messages. */
    failing: string[];
}

const C_HEIGHT_PATH = ["C", "message", "engine", "consensus", "lastAcceptedHeight"];
const PEERS_PATH = ["network", "message", "connectedPeers"];

function dig(root: unknown, path: readonly string[]): unknown {
    let cur = root;
    for (const key of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<string, unknown>)[key];
    }
    return cur;
}

function passes(check: Check): boolean {
    return check.error === undefined;
}

/**
 * Parse the health document: the bare body of `GET /ext/health` (200 or 503) or the JSON-RPC
 * answer of `health.health`.
 */
export function parseAvalancheHealth(json: unknown): AvalancheHealth {
    const [result, prefix] = unwrapJsonRpc(json, HEALTH_CONTEXT);
    const health = parseWith(healthSchema, result, HEALTH_CONTEXT, prefix);
    const at = (path: readonly string[]) => [prefix, "checks", ...path].filter((p) => p).join(".");

    const boot = health.checks.bootstrapped;
    if (boot === undefined) {
        throw new ChainResponseError(
            `${HEALTH_CONTEXT.what} answer has no ${at(["bootstrapped"])} check.\n${HEALTH_CONTEXT.hint}`,
        );
    }
    // While chains bootstrap the check fails and its message lists the subnets still going.
    const pending = Array.isArray(boot.message) ? boot.message.length : 0;
    const bootstrapped = passes(boot) && pending === 0;

    const out: AvalancheHealth = {
        healthy: health.healthy,
        bootstrapped,
        failing: Object.entries(health.checks)
            .filter(([, check]) => !passes(check))
            .map(([name]) => name)
            .sort(),
    };

    const rawHeight = dig(health.checks, C_HEIGHT_PATH);
    if (rawHeight !== undefined) {
        out.cChainHeight = parseWith(safeUint, rawHeight, HEALTH_CONTEXT, at(C_HEIGHT_PATH));
    }

    const rawPeers = dig(health.checks, PEERS_PATH);
    if (rawPeers !== undefined) {
        out.connectedPeers = parseWith(safeUint, rawPeers, HEALTH_CONTEXT, at(PEERS_PATH));
    }
    return out;
}

/**
 * NodeStatus from the health document. Height is 0 while the C-Chain cannot report one (still
 * bootstrapping, or its check failing); a bootstrapped node with a passing C check and no height
 * means a document without chain checks, or a new health layout, and throws.
 */
export function parseAvalancheStatus(json: unknown): NodeStatus {
    const health = parseAvalancheHealth(json);
    if (health.cChainHeight === undefined && health.bootstrapped && !health.failing.includes("C")) {
        throw new ChainResponseError(
            `${HEALTH_CONTEXT.what} answer has no checks.C.message.engine.consensus.lastAcceptedHeight ` +
                "although the node is bootstrapped. Call GET /ext/health (the readiness and " +
                "liveness documents carry no chain checks); if that is the URL, the health layout " +
                "changed in this avalanchego version.",
        );
    }
    const status: NodeStatus = {
        height: health.cChainHeight ?? 0,
        catchingUp: !health.bootstrapped,
    };
    if (health.connectedPeers !== undefined) status.peers = health.connectedPeers;
    return status;
}

/** The JSON-RPC body asking whether `chain` ("P", "X", "C" or a chain ID) has bootstrapped. */
export function isBootstrappedRequestBody(chain: string): string {
    return JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "info.isBootstrapped",
        params: { chain },
    });
}

/**
 * Whether a chain has bootstrapped, from an `info.isBootstrapped` answer. Also accepts the plain
 * text a chain's own API answers (503) while it bootstraps, "API call rejected because chain is
 * not done bootstrapping", as `false`. Any other JSON-RPC error (an unknown chain) throws.
 */
export function parseIsBootstrapped(body: unknown): boolean {
    if (typeof body === "string") {
        if (body.includes("not done bootstrapping")) return false;
        throw new ChainResponseError(
            `${INFO_CONTEXT.what} answered with text instead of JSON: ${describe(body)}\n${INFO_CONTEXT.hint}`,
        );
    }
    const err = jsonRpcError(body);
    if (err !== undefined) {
        throw new ChainResponseError(
            `info.isBootstrapped failed on the node: ${formatRpcError(err)}. ` +
                'Pass a chain alias ("P", "X", "C") or a chain ID the node tracks.',
        );
    }
    const [result, prefix] = unwrapJsonRpc(body, INFO_CONTEXT);
    const schema = z.object({ isBootstrapped: z.boolean() });
    return parseWith(schema, result, INFO_CONTEXT, prefix).isBootstrapped;
}

/**
 * avalanchego encodes numPeers with its json.Uint64, a decimal string; the published example
 * shows a bare number, so both are read.
 */
const numPeersSchema = z.union([
    safeUint,
    z.string().regex(/^(0|[1-9][0-9]*)$/, { error: 'expected a count such as "3" or 3' }),
]);

/** The peer count from an `info.peers` answer. */
export function parseInfoPeersCount(json: unknown): number {
    const [result, prefix] = unwrapJsonRpc(json, INFO_CONTEXT);
    const peers = parseWith(z.object({ numPeers: numPeersSchema }), result, INFO_CONTEXT, prefix);
    return Number(peers.numPeers);
}

const ports: readonly ChainPort[] = [
    { name: "http", containerPort: AVALANCHE_HTTP_PORT, role: "rpc" },
    { name: "staking", containerPort: AVALANCHE_STAKING_PORT, role: "p2p" },
];

function haltUnsupported(height: number): Error {
    return new Error(
        `chain kind "avalanche" cannot halt at height ${height}: avalanchego has no halt-height ` +
            "setting, because Avalanche network upgrades activate at a time, not a height. " +
            'Use strategy "BlueGreen" (or Rolling) for avalanche groups.',
    );
}

export const avalancheAdapter: ChainAdapter = {
    kind: "avalanche",
    homeDir: AVALANCHE_DATA_DIR,
    // The database, where a snapshot goes; staking/ (the NodeID) and chainData/ sit beside it.
    dataSubdir: "db",
    ports,
    start(opts: StartOptions): StartCommand {
        if (opts.haltHeight !== undefined) throw haltUnsupported(opts.haltHeight);
        return {
            command: [AVALANCHEGO_BINARY],
            args: [
                "--data-dir",
                AVALANCHE_DATA_DIR,
                "--http-host",
                "0.0.0.0",
                "--http-port",
                String(AVALANCHE_HTTP_PORT),
                "--staking-port",
                String(AVALANCHE_STAKING_PORT),
                // The default ("localhost") answers 403 to any Host header that is a name rather
                // than an IP, which includes every Service DNS name the gate and clients use.
                "--http-allowed-hosts",
                "*",
                ...opts.extraArgs,
            ],
            env: [],
        };
    },
    supportsHaltHeight: false,
    haltHeightArgs(height: number): string[] {
        throw haltUnsupported(height);
    },
    appHeightOnDisk: false,
    // /ext/health, not /ext/health/readiness: readiness holds the `bootstrapped` check only, red
    // until every chain has bootstrapped and green for good afterwards (avalanchego v1.14.2
    // chains/manager.go, run here: see the issue 14 note). The full health adds each chain's
    // consensus and networking checks, which fail when the node loses its peers or its consensus
    // stalls. Health checks run every 30 s, so a node answers 503 "not yet run" for up to 30 s.
    readinessProbe: httpGetReadinessProbe("/ext/health", "http"),
    livenessProbe: httpGetProbe("/ext/health/liveness", "http", "liveness"),
    startupProbe: httpGetProbe("/ext/health/liveness", "http", "startup"),
    statusPath: "/ext/health",
    statusRequest: { method: "GET" },
    statusHttpCodes: [200, 503],
    parseStatus: parseAvalancheStatus,
    peersPath: AVALANCHE_INFO_PATH,
    peersRequest: {
        method: "POST",
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "info.peers", params: {} }),
    },
    parsePeerCount: parseInfoPeersCount,
};
