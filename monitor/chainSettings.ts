/**
 * What a sync mode and a fresh start mean for each chain: the settings the node container gets
 * for `state-sync` / `full-sync`, and what a new test removes from the volume and writes back
 * before the node starts from scratch. Pure data.
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
        case "cosmos":
            throw new Error(
                "bootstrap tests do not run cosmos chains yet: their daemon's variable prefix " +
                    "(<DAEMON>_STATESYNC_ENABLE) comes from the stack's cosmos.daemon",
            );
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

/** What a new test does to the volume before the node starts from scratch. */
export interface FreshStart {
    /**
     * What goes, relative to the volume root: a list of paths, or `everything` on the volume
     * except the details file (and `lost+found`, which belongs to the filesystem).
     */
    remove: readonly string[] | "everything";
    /** Files written afterwards, relative to the volume root. */
    seed: Record<string, string>;
}

/**
 * The zero signing state. CometBFT and Sei keep `priv_validator_state.json` in `data/` and refuse
 * to start when the key exists but the state file does not, so a wipe writes it back as their own
 * `unsafe-reset-all` does (`resetFilePV`).
 */
const ZERO_VALIDATOR_STATE = `${JSON.stringify({ height: "0", round: 0, step: 0 }, null, 2)}\n`;

/**
 * What a from-scratch start removes, per chain, as each chain's own reset does. The volume is the
 * node's home (chains/*.ts `homeDir`); config, genesis and keys stay unless the reset removes them.
 *
 * - CometBFT: `cometbft unsafe-reset-all` removes the whole `data/` (blocks, state, WAL, evidence,
 *   tx index), the address book `config/addrbook.json`, and resets the validator state; keys,
 *   genesis and config.toml stay (cometbft v0.38.19 `cmd/cometbft/commands/reset.go` `resetAll`,
 *   paths from `config/config.go`). A kept address book would let a "fresh" node skip peer
 *   discovery, which a new node cannot.
 * - Sei: `seid tendermint unsafe-reset-all` removes `data/` (which also holds the app's state:
 *   `application.db`, sei-db's `committer.db` and state store, `receipt.db`, `upgrade-info.json`;
 *   sei-db `common/utils/path.go`) and `wasm/` (contract code, `app/app.go` `wasmDir`), then resets
 *   the validator state (sei-chain `sei-tendermint/cmd/tendermint/commands/reset.go` `ResetAll`;
 *   v6.3.0 still left `wasm/`, later versions remove it). Sei's peer store is `data/peerstore.db`.
 * - Avalanche: avalanche's own bootstrap monitor removes the node's whole data directory
 *   (avalanchego `tests/fixture/bootstrapmonitor/init.go`, `os.RemoveAll(NodeDataDir(dataDir))`).
 *   Here the volume root is `--data-dir`, so that is everything on it: `db/`, `chainData/` (per
 *   chain databases, Firewood's among them), `staking/` (so each test gets a new NodeID, as
 *   upstream), `logs/`, `plugins/`, and `process.json` (gone after a clean shutdown); seen in
 *   the data directory of avalanchego v1.14.2 run here.
 */
export function freshStart(chain: ChainKind): FreshStart {
    switch (chain) {
        case "cometbft":
            return {
                remove: ["data", "config/addrbook.json"],
                seed: { "data/priv_validator_state.json": ZERO_VALIDATOR_STATE },
            };
        case "sei":
            return {
                remove: ["data", "wasm"],
                seed: { "data/priv_validator_state.json": ZERO_VALIDATOR_STATE },
            };
        case "cosmos":
            // `<daemon> comet unsafe-reset-all` (cosmos-sdk server/cmt_cmds.go): CometBFT's reset,
            // whose data/ holds the app's application.db too.
            return {
                remove: ["data", "config/addrbook.json"],
                seed: { "data/priv_validator_state.json": ZERO_VALIDATOR_STATE },
            };
        case "avalanche":
            return { remove: "everything", seed: {} };
        default: {
            const unknown: never = chain;
            throw new Error(`unknown chain '${String(unknown)}'`);
        }
    }
}
