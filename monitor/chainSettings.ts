/**
 * What a sync mode and a fresh start mean for each chain: the settings the node container gets
 * for `state-sync` / `full-sync`, and the files a wiped data directory needs before the node can
 * start again. Pure data.
 */
import type { ChainKind, EnvVar } from "../chains/types";
import type { SyncMode } from "./details";

/**
 * The node settings for `mode`, as environment variables (they leave the adapter's start args
 * alone and show up plainly in `kubectl describe`).
 *
 * - CometBFT reads `CMT_<SECTION>_<KEY>` for any key of config.toml (viper, prefix `CMT`), so
 *   `CMT_STATESYNC_ENABLE` switches `[statesync] enable`. State sync also needs rpc_servers,
 *   trust_height and trust_hash: give them through the test's `env`
 *   (`CMT_STATESYNC_RPC_SERVERS`, …).
 * - Sei (a Cosmos SDK app) prefixes variables with the binary's name: `SEID_STATESYNC_ENABLE`
 *   (the SDK's `InterceptConfigsPreRunHandler` sets the prefix; inference from its source).
 * - avalanchego takes chain configs as base64 JSON in `AVAGO_CHAIN_CONFIG_CONTENT`: a map from
 *   chain alias to `{Config, Upgrade}` where Config is itself base64 bytes; the C-Chain's
 *   `state-sync-enabled` chooses the mode (research/progressive.md §1).
 */
export function syncModeEnv(chain: ChainKind, mode: SyncMode): EnvVar[] {
    const enabled = mode === "state-sync";
    switch (chain) {
        case "cometbft":
            return [{ name: "CMT_STATESYNC_ENABLE", value: String(enabled) }];
        case "sei":
            return [{ name: "SEID_STATESYNC_ENABLE", value: String(enabled) }];
        case "avalanche":
            return [{ name: "AVAGO_CHAIN_CONFIG_CONTENT", value: avalancheChainConfig(enabled) }];
        default: {
            const unknown: never = chain;
            throw new Error(
                `unknown chain '${String(unknown)}'; expected sei, cometbft or avalanche`,
            );
        }
    }
}

export function avalancheChainConfig(stateSyncEnabled: boolean): string {
    const cChain = Buffer.from(JSON.stringify({ "state-sync-enabled": stateSyncEnabled }));
    const content = { C: { Config: cChain.toString("base64"), Upgrade: null } };
    return Buffer.from(JSON.stringify(content)).toString("base64");
}

/**
 * Files a fresh data subdirectory needs, relative to it. CometBFT and Sei keep
 * `priv_validator_state.json` in `data/` and refuse to start when the key exists but the state
 * file does not, so a wipe writes back the zero state (as `unsafe-reset-all` does).
 */
export function freshDataSeed(chain: ChainKind): Record<string, string> {
    switch (chain) {
        case "cometbft":
        case "sei":
            return {
                "priv_validator_state.json": `${JSON.stringify({ height: "0", round: 0, step: 0 }, null, 2)}\n`,
            };
        case "avalanche":
            return {};
        default: {
            const unknown: never = chain;
            throw new Error(`unknown chain '${String(unknown)}'`);
        }
    }
}
