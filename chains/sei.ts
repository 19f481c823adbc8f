/**
 * Sei (`seid`, a Cosmos SDK app on Sei's CometBFT fork). Response shapes: sei-chain
 * `sei-tendermint/rpc/coretypes/responses.go` (research/operators.md §3); layout and halt
 * behaviour: sei-k8s-controller (research/operators.md §2 SEI).
 */
import { z } from "zod";
import { nodeInfoSchema, parseNetInfoPeerCount, syncInfoSchema } from "./cometbft";
import { commitHaltBlockArgs } from "./cosmos";
import {
    ChainResponseError,
    formatRpcError,
    int64String,
    jsonRpcError,
    parseWith,
    safeUint,
    unwrapJsonRpc,
    type ResponseContext,
} from "./parse";
import { httpGetProbe, statusExecReadinessProbe } from "./probes";
import type { ChainAdapter, ChainPort, NodeStatus, StartCommand, StartOptions } from "./types";

export const SEI_RPC_PORT = 26657;
export const SEI_P2P_PORT = 26656;

/**
 * Sei's controller mounts the data volume at /sei and runs `seid start --home /sei`; the image's
 * default home (/root/.sei) is not writable by the non-root user our pods run as.
 */
export const SEI_HOME = "/sei";

const STATUS_CONTEXT: ResponseContext = {
    what: "Sei /status",
    hint:
        `Check that the URL points at seid's CometBFT RPC port (${SEI_RPC_PORT}) and the path ` +
        "is /status, and that the group's chain kind matches the node software.",
};

const LAG_CONTEXT: ResponseContext = {
    what: "Sei /lag_status",
    hint: `Check that the URL points at seid's RPC port (${SEI_RPC_PORT}); /lag_status exists only on Sei's fork.`,
};

/** Sei's additions to `sync_info`, all int64 strings; older releases lack some of them. */
const seiSyncInfoSchema = syncInfoSchema.extend({
    last_committed_block_height: int64String.optional(),
    max_peer_block_height: int64String.optional(),
});

const seiStatusSchema = z.object({
    node_info: nodeInfoSchema,
    application_info: z.object({ version: z.string() }).optional(),
    sync_info: seiSyncInfoSchema,
});

export interface SeiStatus extends NodeStatus {
    /**
     * The last block finalized by consensus. Equal to `height` under CometBFT consensus; under
     * Autobahn consensus can run ahead of what the app has executed (`height`).
     */
    lastCommittedHeight?: number;
}

/** Parse Sei's `/status`, with or without the JSON-RPC envelope. */
export function parseSeiStatus(json: unknown): SeiStatus {
    const [result, prefix] = unwrapJsonRpc(json, STATUS_CONTEXT);
    const status = parseWith(seiStatusSchema, result, STATUS_CONTEXT, prefix);
    const sync = status.sync_info;
    const out: SeiStatus = {
        height: sync.latest_block_height,
        catchingUp: sync.catching_up,
        network: status.node_info.network,
        // seid's release says more than the CometBFT fork's version string.
        version: status.application_info?.version ?? status.node_info.version,
        latestBlockTime: sync.latest_block_time,
    };
    // A fresh node reports 0 before it has heard from any peer: that is "unknown", not "0".
    if (sync.max_peer_block_height !== undefined && sync.max_peer_block_height > 0) {
        out.maxPeerHeight = sync.max_peer_block_height;
    }
    if (sync.last_committed_block_height !== undefined) {
        out.lastCommittedHeight = sync.last_committed_block_height;
    }
    return out;
}

export type SeiLagStatus =
    | { lagTooHigh: false; currentHeight: number; maxPeerHeight: number; lag: number }
    | { lagTooHigh: true; error: string };

/** Plain JSON numbers here, unlike /status: ResultLagStatus has no `,string` tags. */
const lagSchema = z.object({ current_height: safeUint, max_peer_height: safeUint, lag: safeUint });

/**
 * Parse Sei's `/lag_status`. Over the threshold (`lag-threshold` in config.toml) the node answers
 * with the error "lag is too high" instead of numbers; that is a state, not a malformed answer.
 * Note that the lag is 0 when the node has no peers, so this alone never proves "in sync".
 */
export function parseSeiLagStatus(json: unknown): SeiLagStatus {
    const err = jsonRpcError(json);
    if (err !== undefined) {
        const text = formatRpcError(err);
        if (text.includes("lag is too high")) return { lagTooHigh: true, error: text };
        throw new ChainResponseError(`${LAG_CONTEXT.what} failed on the node: ${text}`);
    }
    const [result, prefix] = unwrapJsonRpc(json, LAG_CONTEXT);
    const lag = parseWith(lagSchema, result, LAG_CONTEXT, prefix);
    return {
        lagTooHigh: false,
        currentHeight: lag.current_height,
        maxPeerHeight: lag.max_peer_height,
        lag: lag.lag,
    };
}

/** seid's default listeners: CometBFT, the Cosmos REST/gRPC servers and the EVM JSON-RPC. */
const ports: readonly ChainPort[] = [
    { name: "p2p", containerPort: SEI_P2P_PORT, role: "p2p" },
    { name: "rpc", containerPort: SEI_RPC_PORT, role: "rpc" },
    { name: "metrics", containerPort: 26660, role: "metrics" },
    { name: "api", containerPort: 1317, role: "api" },
    { name: "grpc", containerPort: 9090, role: "grpc" },
    { name: "grpc-web", containerPort: 9091, role: "grpc" },
    { name: "evm-rpc", containerPort: 8545, role: "evm" },
    { name: "evm-ws", containerPort: 8546, role: "evm" },
];

export const seiAdapter: ChainAdapter = {
    kind: "sei",
    homeDir: SEI_HOME,
    dataSubdir: "data",
    // sei-chain docs/migration/seiv2_config_migration.md: config.toml `[p2p]` has
    // `bootstrap-peers` and `persistent-peers` (hyphens, no `seeds`); seid writes app.toml and
    // client.toml too.
    nodeHome: {
        agentChain: "sei",
        sections: ["configToml", "appToml", "clientToml"],
        p2pKeys: { seeds: "bootstrap-peers", persistentPeers: "persistent-peers" },
        initNeedsChainId: true,
    },
    ports,
    start(opts: StartOptions): StartCommand {
        const halt = opts.haltHeight === undefined ? [] : commitHaltBlockArgs(opts.haltHeight);
        const argv = [
            "seid",
            "start",
            "--home",
            SEI_HOME,
            // Reachable by Services and probes whatever config.toml says.
            "--rpc.laddr",
            `tcp://0.0.0.0:${SEI_RPC_PORT}`,
            "--p2p.laddr",
            `tcp://0.0.0.0:${SEI_P2P_PORT}`,
            ...halt,
            ...opts.extraArgs,
        ];
        return { command: [argv[0]], args: argv.slice(1), env: [] };
    },
    supportsHaltHeight: true,
    haltHeightArgs: commitHaltBlockArgs,
    // sei-db keeps the app's committed state in its own store (`committer.db`, see
    // monitor/chainSettings.ts), not in application.db's s/latest: /abci_info decides.
    appHeightOnDisk: false,
    readinessProbe: statusExecReadinessProbe(SEI_RPC_PORT),
    livenessProbe: httpGetProbe("/health", "rpc", "liveness"),
    startupProbe: httpGetProbe("/health", "rpc", "startup"),
    statusPath: "/status",
    statusRequest: { method: "GET" },
    statusHttpCodes: [200],
    parseStatus: parseSeiStatus,
    peersPath: "/net_info",
    peersRequest: { method: "GET" },
    parsePeerCount: parseNetInfoPeerCount,
};
