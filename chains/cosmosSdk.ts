/**
 * A generic Cosmos SDK chain (`chain: cosmos`): any `<daemon>` built on the Cosmos SDK and
 * CometBFT (gaiad, osmosisd, our own test chain). What differs between such chains is the daemon's
 * name, its home, and the SDK release line, which fixes what `--halt-height` means.
 */
import { parseCometStatus, parseNetInfoPeerCount } from "./cometbft";
import { checkHeight } from "./cosmos";
import { httpGetProbe, statusExecReadinessProbe } from "./probes";
import type { ChainAdapter, ChainPort, StartCommand, StartOptions } from "./types";

export const COSMOS_P2P_PORT = 26656;
export const COSMOS_RPC_PORT = 26657;

/** The stack's `cosmos:` key: which daemon, where its home is, which SDK it is built on. */
export interface CosmosApp {
    /** The daemon's name in the image's PATH (or an absolute path), e.g. `gaiad`. */
    daemon: string;
    /** The node's home, where the data volume is mounted. Default `/<daemon's base name>`. */
    home?: string;
    /** The Cosmos SDK version the daemon is built on, e.g. `v0.47.17`. Default: see below. */
    sdkVersion?: string;
}

/**
 * The SDK a `cosmos` chain is taken to run when the stack does not say: a current release line,
 * whose `--halt-height H` leaves the app at H-1. A wrong guess cannot break a volume: the
 * bootstrap proves the app's committed height (node-agent `halt`) and fails otherwise.
 */
export const DEFAULT_SDK_VERSION = "v0.50.10";

/** The released Cosmos SDK lines (v0.48, v0.49, v0.51 and v0.52 were never released). */
export const SDK_LINES = [45, 46, 47, 50, 53] as const;

const SDK_VERSION_RE = /^v0\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

/** Why `version` is not a Cosmos SDK version chainfleet knows, or undefined when it is one. */
export function sdkVersionProblem(version: string): string | undefined {
    const m = SDK_VERSION_RE.exec(version);
    if (!m) {
        return (
            "must be the Cosmos SDK release the daemon is built on, with its patch version " +
            '(e.g. "v0.47.17" or "v0.50.15": `<daemon> version --long` prints it as ' +
            "cosmos_sdk_version); the patch matters, since --halt-height changed meaning in v0.50.10"
        );
    }
    const minor = Number(m[1]);
    if (
        minor < SDK_LINES[0] ||
        (minor <= 53 && !(SDK_LINES as readonly number[]).includes(minor))
    ) {
        return `v0.${minor} is not a Cosmos SDK release line chainfleet knows (${SDK_LINES.map((l) => `v0.${l}`).join(", ")}, or newer)`;
    }
    return undefined;
}

/**
 * The `--halt-height` that leaves the app committed at H-1, for an upgrade at H.
 *
 * - Up to v0.50.9 (and v0.45–v0.47, where the check is in Commit with `>=`; v0.50.1–v0.50.9
 *   check in FinalizeBlock with `>`): the halt-height block is committed, so the flag is H-1.
 * - From v0.50.10 (cosmos-sdk #21256, baseapp/abci.go `checkHalt` with `>=`, v0.53 too): only
 *   blocks below the halt height are committed, so the flag is H. With H-1 the app stops at H-2
 *   and the new binary refuses the home ("version of store circuit mismatch root store's
 *   version"): seen here, ../shared/research/cosmos-upgrade.md.
 */
export function haltFlagHeight(upgradeHeight: number, sdkVersion = DEFAULT_SDK_VERSION): number {
    checkHeight("haltHeight", upgradeHeight);
    const problem = sdkVersionProblem(sdkVersion);
    if (problem !== undefined) {
        throw new Error(`cosmos.sdkVersion ${JSON.stringify(sdkVersion)} ${problem}`);
    }
    const [, minor, patch] = SDK_VERSION_RE.exec(sdkVersion)!.map(Number);
    const commitsHaltBlock = minor < 50 || (minor === 50 && patch < 10);
    return commitsHaltBlock ? upgradeHeight - 1 : upgradeHeight;
}

/** The home a daemon gets when the stack does not set one: `/gaiad` for `gaiad`. */
export function defaultCosmosHome(daemon: string): string {
    return `/${daemon.split("/").pop()}`;
}

const ports: readonly ChainPort[] = [
    { name: "p2p", containerPort: COSMOS_P2P_PORT, role: "p2p" },
    { name: "rpc", containerPort: COSMOS_RPC_PORT, role: "rpc" },
    { name: "metrics", containerPort: 26660, role: "metrics" },
    { name: "api", containerPort: 1317, role: "api" },
    { name: "grpc", containerPort: 9090, role: "grpc" },
];

/** The adapter of one Cosmos SDK daemon. */
export function cosmosAdapter(app: CosmosApp): ChainAdapter {
    const home = app.home ?? defaultCosmosHome(app.daemon);
    const sdkVersion = app.sdkVersion ?? DEFAULT_SDK_VERSION;
    const haltHeightArgs = (upgradeHeight: number): string[] => [
        "--halt-height",
        String(haltFlagHeight(upgradeHeight, sdkVersion)),
    ];
    return {
        kind: "cosmos",
        homeDir: home,
        dataSubdir: "data",
        // cosmos-sdk server/config/toml.go and CometBFT v0.37/v0.38 config/toml.go: the daemon's
        // init writes config.toml (`[p2p] seeds`, `persistent_peers`), app.toml, client.toml.
        nodeHome: {
            agentChain: "cosmos",
            binary: app.daemon,
            sections: ["configToml", "appToml", "clientToml"],
            p2pKeys: { seeds: "seeds", persistentPeers: "persistent_peers" },
            initNeedsChainId: true,
        },
        ports,
        start(opts: StartOptions): StartCommand {
            const halt = opts.haltHeight === undefined ? [] : haltHeightArgs(opts.haltHeight);
            return {
                command: [app.daemon],
                args: [
                    "start",
                    "--home",
                    home,
                    // cosmos-sdk server/start.go adds CometBFT's node flags (AddNodeFlags): reachable
                    // by Services and probes whatever config.toml says.
                    "--rpc.laddr",
                    `tcp://0.0.0.0:${COSMOS_RPC_PORT}`,
                    "--p2p.laddr",
                    `tcp://0.0.0.0:${COSMOS_P2P_PORT}`,
                    ...halt,
                    ...opts.extraArgs,
                ],
                env: [],
            };
        },
        supportsHaltHeight: true,
        haltHeightArgs,
        appHeightOnDisk: true,
        readinessProbe: statusExecReadinessProbe(COSMOS_RPC_PORT),
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
}
