/**
 * Chain adapters: what each kind of node needs in a pod, and how to read its status. Components
 * and dynamic providers import from here, never from the per-chain files.
 */
import { avalancheAdapter } from "./avalanche";
import { cometbftAdapter } from "./cometbft";
import { CHAIN_KINDS } from "./kinds";
import { seiAdapter } from "./sei";
import type { ChainAdapter, ChainKind, ChainPort } from "./types";

export type * from "./types";
export { ChainResponseError } from "./parse";
export { upgradeInfoJson, UPGRADE_INFO_PATH } from "./cosmos";
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

export function adapterFor(kind: ChainKind): ChainAdapter {
    switch (kind) {
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
