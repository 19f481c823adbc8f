/**
 * Plain CometBFT nodes (`cometbft start`), and the `/status` and `/net_info` parsers that Sei
 * reuses. Response shapes: cometbft v0.38 `rpc/core/types/responses.go` (research/operators.md §3);
 * test/testdata/chains/cometbft holds answers captured from a real v0.38.19 node.
 */
import { z } from "zod";
import { int64String, parseWith, unwrapJsonRpc, type ResponseContext } from "./parse";
import { httpGetProbe, statusExecReadinessProbe } from "./probes";
import type { ChainAdapter, ChainPort, NodeStatus, StartCommand, StartOptions } from "./types";

export const COMETBFT_P2P_PORT = 26656;
export const COMETBFT_RPC_PORT = 26657;
export const COMETBFT_METRICS_PORT = 26660;

/**
 * The official image sets CMTHOME=/cometbft and owns that directory, and CMTHOME takes precedence
 * over --home (cmd/cometbft/commands/root.go), so the volume goes exactly there.
 */
export const COMETBFT_HOME = "/cometbft";

const STATUS_CONTEXT: ResponseContext = {
    what: "CometBFT /status",
    hint:
        `Check that the URL points at the node's CometBFT RPC port (${COMETBFT_RPC_PORT}) ` +
        "and the path is /status, and that the group's chain kind matches the node software.",
};

const NET_INFO_CONTEXT: ResponseContext = {
    what: "CometBFT /net_info",
    hint: `Check that the URL points at the node's CometBFT RPC port (${COMETBFT_RPC_PORT}) and the path is /net_info.`,
};

/** The `sync_info` fields every CometBFT-based node reports. */
export const syncInfoSchema = z.object({
    latest_block_height: int64String,
    latest_block_time: z.string().min(1),
    catching_up: z.boolean(),
});

export const nodeInfoSchema = z.object({
    network: z.string(),
    version: z.string(),
});

const statusSchema = z.object({ node_info: nodeInfoSchema, sync_info: syncInfoSchema });

/** Parse a `/status` answer (with or without the JSON-RPC envelope) into a NodeStatus. */
export function parseCometStatus(json: unknown, ctx: ResponseContext = STATUS_CONTEXT): NodeStatus {
    const [result, prefix] = unwrapJsonRpc(json, ctx);
    const status = parseWith(statusSchema, result, ctx, prefix);
    return {
        height: status.sync_info.latest_block_height,
        catchingUp: status.sync_info.catching_up,
        network: status.node_info.network,
        version: status.node_info.version,
        latestBlockTime: status.sync_info.latest_block_time,
    };
}

const netInfoSchema = z.object({ n_peers: int64String });

/** The peer count from `/net_info` (`n_peers`, an integer encoded as a string). */
export function parseNetInfoPeerCount(json: unknown): number {
    const [result, prefix] = unwrapJsonRpc(json, NET_INFO_CONTEXT);
    return parseWith(netInfoSchema, result, NET_INFO_CONTEXT, prefix).n_peers;
}

const ports: readonly ChainPort[] = [
    { name: "p2p", containerPort: COMETBFT_P2P_PORT, role: "p2p" },
    { name: "rpc", containerPort: COMETBFT_RPC_PORT, role: "rpc" },
    { name: "metrics", containerPort: COMETBFT_METRICS_PORT, role: "metrics" },
];

/**
 * Why a `cometbft` group cannot halt at a height. `cometbft start` v0.38 has no halt flag
 * (cmd/cometbft/commands/run_node.go): halting is the ABCI application's job, and the built-in
 * kvstore app has no halt height. The HardFork strategy needs an app that can halt.
 */
function haltUnsupported(height: number): Error {
    return new Error(
        `chain kind "cometbft" cannot halt at height ${height}: \`cometbft start\` (v0.38) has no ` +
            "halt-height flag, because halting is the ABCI application's job and the kvstore app " +
            'has none. Use strategy "BlueGreen" for cometbft groups, or run the chain under an ' +
            'adapter whose app halts (kind "sei": seid start --halt-height).',
    );
}

export const cometbftAdapter: ChainAdapter = {
    kind: "cometbft",
    homeDir: COMETBFT_HOME,
    dataSubdir: "data",
    // cometbft v0.38.19 config/toml.go: `[p2p] seeds`, `persistent_peers`; no app/client.toml.
    nodeHome: {
        agentChain: "cometbft",
        sections: ["configToml"],
        p2pKeys: { seeds: "seeds", persistentPeers: "persistent_peers" },
        initNeedsChainId: false,
    },
    ports,
    start(opts: StartOptions): StartCommand {
        if (opts.haltHeight !== undefined) throw haltUnsupported(opts.haltHeight);
        return {
            command: ["cometbft"],
            args: [
                "start",
                "--home",
                COMETBFT_HOME,
                // The default RPC address is 127.0.0.1, out of reach of Services and probes.
                "--rpc.laddr",
                `tcp://0.0.0.0:${COMETBFT_RPC_PORT}`,
                "--p2p.laddr",
                `tcp://0.0.0.0:${COMETBFT_P2P_PORT}`,
                ...opts.extraArgs,
            ],
            env: [
                { name: "CMTHOME", value: COMETBFT_HOME },
                // Prometheus is off in a default config.toml and has no start flag; viper reads
                // CMT_-prefixed variables over the file, so the metrics port really serves.
                { name: "CMT_INSTRUMENTATION_PROMETHEUS", value: "true" },
                {
                    name: "CMT_INSTRUMENTATION_PROMETHEUS_LISTEN_ADDR",
                    value: `:${COMETBFT_METRICS_PORT}`,
                },
            ],
        };
    },
    supportsHaltHeight: false,
    haltHeightArgs(height: number): string[] {
        throw haltUnsupported(height);
    },
    appHeightOnDisk: false,
    readinessProbe: statusExecReadinessProbe(COMETBFT_RPC_PORT),
    livenessProbe: httpGetProbe("/health", "rpc", "liveness"),
    startupProbe: httpGetProbe("/health", "rpc", "startup"),
    statusPath: "/status",
    statusRequest: { method: "GET" },
    statusHttpCodes: [200],
    parseStatus: (json) => parseCometStatus(json),
    peersPath: "/net_info",
    peersRequest: { method: "GET" },
    parsePeerCount: parseNetInfoPeerCount,
};
