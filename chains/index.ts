/**
 * Chain adapters: what each kind of node needs in a pod, and how to read its status. Components
 * and dynamic providers import from here, never from the per-chain files.
 */
import { avalancheAdapter } from "./avalanche";
import { cometbftAdapter } from "./cometbft";
import { cosmosAdapter, type CosmosApp } from "./cosmosSdk";
import { CHAIN_KINDS } from "./kinds";
import { seiAdapter } from "./sei";
import type { ChainAdapter, ChainKind, ChainPort } from "./types";

export type * from "./types";
export { ChainResponseError } from "./parse";
export { upgradeInfoJson, UPGRADE_INFO_PATH } from "./cosmos";
export {
    cosmosAdapter,
    haltFlagHeight,
    sdkVersionProblem,
    defaultCosmosHome,
    DEFAULT_SDK_VERSION,
    type CosmosApp,
} from "./cosmosSdk";
export { parseCometStatus, parseNetInfoPeerCount } from "./cometbft";
export { parseSeiStatus, parseSeiLagStatus, type SeiStatus, type SeiLagStatus } from "./sei";
export {
    parseAvalancheHealth,
    parseAvalancheStatus,
    parseIsBootstrapped,
    parseInfoPeersCount,
    isBootstrappedRequestBody,
    AVALANCHE_INFO_PATH,
    type AvalancheHealth,
} from "./avalanche";

export { CHAIN_KINDS };

/**
 * The node used when a `cosmos` adapter is asked for without the stack's `cosmos:` settings: only
 * by readers of status documents (the height gate, the monitor), which are the same for every
 * Cosmos SDK daemon. Config validation requires the settings wherever pods are built.
 */
const STATUS_ONLY_COSMOS_APP: CosmosApp = { daemon: "cosmosd" };

/** The adapter of `kind`; a `cosmos` chain takes its daemon, home and SDK from `cosmos`. */
export function adapterFor(kind: ChainKind, cosmos?: CosmosApp): ChainAdapter {
    switch (kind) {
        case "cosmos":
            return cosmosAdapter(cosmos ?? STATUS_ONLY_COSMOS_APP);
        case "sei":
            return seiAdapter;
        case "cometbft":
            return cometbftAdapter;
        case "avalanche":
            return avalancheAdapter;
        default: {
            // Config is validated before it gets here; this catches a kind added to ChainKind
            // without an adapter (compile time) or an unvalidated string (run time).
            const unknown: never = kind;
            throw new Error(
                `Unknown chain kind ${JSON.stringify(unknown)}. Allowed values are: ${CHAIN_KINDS.join(", ")}.`,
            );
        }
    }
}

/** The adapter's first port with `role`; throws naming the ports it has. */
export function portFor(adapter: ChainAdapter, role: ChainPort["role"]): ChainPort {
    const port = adapter.ports.find((p) => p.role === role);
    if (port === undefined) {
        const have = adapter.ports.map((p) => `${p.name} (${p.role})`).join(", ");
        throw new Error(`chain kind "${adapter.kind}" has no ${role} port; it has ${have}`);
    }
    return port;
}
