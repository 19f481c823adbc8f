/**
 * The contract every chain adapter fulfils. Adapters are pure data and pure functions: no
 * Pulumi resources, no network. Components turn them into manifests; dynamic providers and the
 * bootstrap monitor use the status parsers on what they fetch from a node.
 */

import type { ChainKind } from "./kinds";

export type { ChainKind };

/** A named container port. `role` says what chainfleet uses it for. */
export interface ChainPort {
    /** A Kubernetes port name: at most 15 characters, lowercase letters, digits and `-`. */
    name: string;
    containerPort: number;
    /** `evm` is an Ethereum JSON-RPC (HTTP or WebSocket) endpoint, such as Sei's 8545/8546. */
    role: "p2p" | "rpc" | "api" | "grpc" | "metrics" | "evm";
}

/** A Kubernetes probe as a plain object (the shape of `core.v1.Probe`). */
export type ProbeSpec = Record<string, unknown>;

/** A container environment variable (the shape of `core.v1.EnvVar` with a literal value). */
export interface EnvVar {
    name: string;
    value: string;
}

/** What a node reports about its sync state, normalised across chains. */
export interface NodeStatus {
    /**
     * Latest block height the node has (committed/accepted). 0 means "not known yet": an
     * Avalanche node that is still bootstrapping does not report its C-Chain height.
     */
    height: number;
    /** True while the node is still catching up / bootstrapping. */
    catchingUp: boolean;
    /** Chain/network id the node reports, where it reports one. */
    network?: string;
    /** Node software version, where reported. */
    version?: string;
    /** Highest height seen among peers, where reported (Sei). */
    maxPeerHeight?: number;
    /** Connected peers, where the status document carries it (Avalanche health). */
    peers?: number;
    /**
     * Time of the latest block as the node reports it (RFC 3339), where reported. A stalled node
     * keeps `catchingUp` false at a frozen height; an old block time gives it away.
     */
    latestBlockTime?: string;
}

export interface StartOptions {
    /**
     * Hard-fork bootstrap: the upgrade height H. The adapter adds the halt flag that leaves the
     * app committed at H-1, which depends on the SDK (`haltHeightArgs`). Only for adapters whose
     * `supportsHaltHeight` is true; the others throw.
     */
    haltHeight?: number;
    /** Extra args from the group's config, appended last. */
    extraArgs: readonly string[];
}

/** What a container needs to start the node. */
export interface StartCommand {
    command: string[];
    args: string[];
    /** Variables the command relies on (for example CometBFT's CMTHOME, which beats --home). */
    env: EnvVar[];
}

/**
 * An HTTP call on the rpc port: method and, for JSON-RPC over POST, the body. POST bodies are
 * JSON and must be sent with `Content-Type: application/json` (Avalanche rejects other types).
 */
export interface RpcRequest {
    method: "GET" | "POST";
    body?: string;
}

/** The config files whose keys a stack may override (`config.<section>` in a group). */
export type ConfigSection = "configToml" | "appToml" | "clientToml";

/**
 * How chainfleet-agent (node-agent/) prepares the home of a CometBFT-family node: runs the
 * binary's own init on an empty home, places the genesis, merges config overrides.
 */
export interface NodeHome {
    /** `chainfleet-agent prepare --chain` and `ready --chain`. */
    agentChain: "cometbft" | "sei" | "cosmos";
    /** `prepare --binary`: the daemon, where the agent cannot default it (`cosmos`). */
    binary?: string;
    /** The config files the binary's init writes, i.e. the sections a stack may override. */
    sections: readonly ConfigSection[];
    /**
     * config.toml `[p2p]` keys of this node's dialect: CometBFT v0.38 writes `seeds` and
     * `persistent_peers`; Sei's fork (Tendermint v0.35 layout) `bootstrap-peers` and
     * `persistent-peers`, and has no `seeds`.
     */
    p2pKeys: { seeds: string; persistentPeers: string };
    /**
     * The binary's init needs a chain id (the Cosmos SDK's `init --chain-id`, and seid's
     * client.toml), so a group needs `chainId` or a genesis that names one. `cometbft init`
     * writes a genesis with a random chain id instead, so there a chainId needs a genesis.
     */
    initNeedsChainId: boolean;
}

export interface ChainAdapter {
    kind: ChainKind;
    /** CometBFT-family nodes: how chainfleet-agent prepares the home. Absent: not prepared. */
    nodeHome?: NodeHome;
    /** Where the data volume is mounted (the node's home directory). */
    homeDir: string;
    /**
     * The directory inside homeDir that holds chain data: where a snapshot is restored. A fresh
     * bootstrap test removes more than this (monitor/chainSettings.ts `freshStart`).
     */
    dataSubdir: string;
    ports: readonly ChainPort[];
    /**
     * Container command, args and env that start the node; with `haltHeight`, the halt flag too.
     * A bootstrap Job runs this under `chainfleet-agent halt` (lib/manifests.ts), which decides
     * by the app's committed height, never by the exit code.
     */
    start(opts: StartOptions): StartCommand;
    /** False when the node software has no way to halt at a height; see `haltHeightArgs`. */
    supportsHaltHeight: boolean;
    /**
     * The args that leave the app committed at H-1 for an upgrade at `upgradeHeight` = H
     * (already part of `start` when haltHeight is set). Throws, naming the alternative, when
     * `supportsHaltHeight` is false.
     */
    haltHeightArgs(upgradeHeight: number): string[];
    /**
     * The app keeps its committed height in a goleveldb `data/application.db` (`s/latest`), which
     * the bootstrap reads offline to prove the halt. False: its `/abci_info` answers decide.
     */
    appHeightOnDisk: boolean;
    /** Readiness that means "in sync", not merely "process up". */
    readinessProbe: ProbeSpec;
    /** Liveness that means "process answers", so a syncing node is never killed. */
    livenessProbe: ProbeSpec;
    /**
     * Holds liveness off until the node first answers (opening or replaying a large store can
     * take hours); without it liveness would restart such a node in a loop.
     */
    startupProbe: ProbeSpec;
    /** HTTP path (on the rpc port) whose JSON `parseStatus` understands. */
    statusPath: string;
    /** HTTP method and body for the status call. */
    statusRequest: RpcRequest;
    /**
     * HTTP status codes whose body is a status document. Avalanche's health answers 503 with
     * the same JSON body while the node is unhealthy, and that body says how far it got.
     */
    statusHttpCodes: readonly number[];
    /** Parse the status endpoint's JSON; throws a clear error on an unexpected shape. */
    parseStatus(json: unknown): NodeStatus;
    /** HTTP path (on the rpc port) that reports connected peers; the caught-up gate needs > 0. */
    peersPath: string;
    /** HTTP method and body for the peers call. */
    peersRequest: RpcRequest;
    /** Parse the peers endpoint's JSON into a peer count; throws on an unexpected shape. */
    parsePeerCount(json: unknown): number;
}
