/**
 * The plain shape of a node group's config once validated and defaulted: what the pure code of
 * lib/ (manifests, revision, plans) reads. config/schema.ts builds the same type from its zod
 * schema and checks at compile time that the two stay equal, so lib/ never imports config/.
 */
import type { CosmosApp } from "../chains/cosmosSdk";
import type { SnapshotConfig } from "./snapshot";

export const UPDATE_STRATEGIES = ["Rolling", "BlueGreen", "HardFork"] as const;
export type UpdateStrategy = (typeof UPDATE_STRATEGIES)[number];

/** How gates reach node RPC: through the API server's pod proxy, or at given URLs. */
export type GateRpc = "podProxy" | "direct";

export interface GateSpec {
    rpc: GateRpc;
    /** direct: the RPC base URL of each entrant replica, by ordinal. */
    directUrls?: string[];
    /** direct: the RPC base URLs of the incumbent replicas, by ordinal. */
    incumbentUrls?: string[];
    /** Trusted nodes of the same chain whose height is a reference. */
    referenceRpcs?: string[];
    minPeers: number;
}

/**
 * Where an entrant's volumes start (BlueGreen, HardFork): a restored `snapshot`, a clone of the
 * incumbent's volume (`cloneIncumbent`: a PVC dataSource, which CSI drivers with cloning and the
 * local cluster's provisioner serve), or empty (`genesis`: the node replays the chain from its
 * genesis, which a HardFork bootstrap can only finish when one binary can replay all of it).
 */
export const ENTRANT_VOLUMES = ["snapshot", "cloneIncumbent", "genesis"] as const;
export type EntrantVolumes = (typeof ENTRANT_VOLUMES)[number];

export interface UpdateSpec {
    strategy: UpdateStrategy;
    entrantVolumes?: EntrantVolumes;
    /** HardFork: the upgrade height H, the first height the new binary executes. */
    haltHeight?: number;
    upgradeName?: string;
    caughtUpTolerance: number;
    timeouts: { bootstrapSeconds: number; gateSeconds: number; switchSeconds: number };
    /** Overrides the incumbent image a HardFork bootstrap runs. */
    bootstrapImage?: string;
    gate: GateSpec;
}

/** A TOML value as a stack gives it: TOML has no null. */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
    [key: string]: TomlValue;
}

/** Overrides merged key by key into the files the node's own init wrote (node-agent prepare). */
export interface NodeConfigSpec {
    configToml?: TomlTable;
    appToml?: TomlTable;
    clientToml?: TomlTable;
}

/** Peers from config, each `<40-hex node id>@<host>:<port>`. */
export interface PeersSpec {
    /** Every node of the fleet as a persistent peer; default true when the stack has nodeKeySeed. */
    inFleet?: boolean;
    seeds?: string[];
    persistentPeers?: string[];
}

/**
 * State sync: the node restores a snapshot from its peers instead of replaying every block. The
 * trust root (height and block hash) is taken from the RPC servers when a pod starts on a home
 * without block data (node-agent prepare --state-sync-rpc), never from config.
 */
export interface StateSyncSpec {
    /** http(s) RPC base URLs, at least two: the light client's primary and witnesses. */
    rpcServers: string[];
    /** A Go duration (`168h0m0s`). */
    trustPeriod: string;
}

/**
 * Where a node's genesis comes from: downloaded and verified against its sha256, or a key of a
 * ConfigMap in the group's namespace (a small file).
 */
export type GenesisSpec =
    | { url: string; sha256: string }
    | { configMap: string; key: string }
    | { generate: GenerateGenesisSpec };

/**
 * A new dev/test network's genesis, written by chainfleet (lib/genesis.ts) into a ConfigMap; the
 * config resolves a group's genesis to that ConfigMap, so groups never hold this variant.
 */
export interface GenerateGenesisSpec {
    /** RFC 3339; fixed so the file is the same on every run. */
    time: string;
    /** Each validator's voting power. */
    power: number;
}

/** A signing group: its validator key from a Secret, or derived from nodeKeySeed (dev/test). */
export interface ValidatorSpec {
    keySecret?: string;
}

export interface Toleration {
    key?: string;
    operator?: "Exists" | "Equal";
    value?: string;
    effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
    tolerationSeconds?: number;
}

/** Where a group's pods run (the stack's `placement`, or the group's own). */
export interface PlacementSpec {
    nodeSelector?: Record<string, string>;
    tolerations?: Toleration[];
}

interface ResourceList {
    cpu?: string;
    memory?: string;
}

export interface GroupSpec {
    replicas: number;
    image: string;
    catalogImage?: string;
    args?: string[];
    env?: Record<string, string>;
    configFiles?: Record<string, string>;
    resources?: { requests?: ResourceList; limits?: ResourceList };
    storage: { size: string; storageClass?: string };
    snapshot?: SnapshotConfig;
    update: UpdateSpec;
    podDisruptionBudget?: { maxUnavailable?: number | string; minAvailable?: number | string };
    /** The network's chain id (the stack's `chainId`, copied into each group). */
    chainId?: string;
    /** chain cosmos: the stack's `cosmos` (daemon, home, SDK version), copied into each group. */
    cosmos?: CosmosApp;
    /** The group's genesis, or else the stack's `genesis`. */
    genesis?: GenesisSpec;
    config?: NodeConfigSpec;
    peers?: PeersSpec;
    stateSync?: StateSyncSpec;
    validator?: ValidatorSpec;
    placement?: PlacementSpec;
}
