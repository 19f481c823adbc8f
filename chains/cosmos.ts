/**
 * What Cosmos SDK chains share: the app's halt-height flag and the `upgrade-info.json` that a
 * new binary's store loader reads (research/operators.md §4).
 */

/** Throws unless `height` is a block height a node can halt at or upgrade at. */
export function checkHeight(field: string, height: number): void {
    if (!Number.isSafeInteger(height) || height < 1) {
        throw new Error(
            `${field} must be a positive integer block height, got ${String(height)}. ` +
                "0 is not allowed: the Cosmos SDK reads halt-height 0 as 'never halt'.",
        );
    }
}

/**
 * `--halt-height H-1` for an upgrade at H: in the SDK up to v0.47 (and v0.50.9) the app commits
 * the halt-height block, then shuts down, so H-1 is the flag that leaves it at H-1. Sei's
 * sei-cosmos is such a fork (seid signals itself SIGINT after committing the halt block and exits
 * 130, research/operators.md §2). Later SDKs differ: chains/cosmosSdk.ts `haltFlagHeight`.
 */
export function commitHaltBlockArgs(upgradeHeight: number): string[] {
    checkHeight("haltHeight", upgradeHeight);
    if (upgradeHeight < 2) {
        throw new Error(
            `haltHeight must be at least 2 (the app halts after committing haltHeight - 1), got ${upgradeHeight}`,
        );
    }
    return ["--halt-height", String(upgradeHeight - 1)];
}

/** Relative to the node home: where x/upgrade keeps upgrade-info.json. */
export const UPGRADE_INFO_PATH = "data/upgrade-info.json";

/**
 * The `data/upgrade-info.json` an old binary writes when it reaches an upgrade it has no handler
 * for, and that the new binary reads to install store upgrades (`UpgradeStoreLoader`). A node
 * halted at H-1 with --halt-height never writes it, so the hard-fork flow writes this instead.
 *
 * `height` is the upgrade height H, the first block the new binary executes: the loader applies
 * the store upgrades only when the last committed version is H-1. The field names and types are
 * those of the SDK's `UpgradeInfo` (`{"name","height","info"}`, height a JSON number), so the
 * output parses with the SDK's own `json.Unmarshal`.
 */
export function upgradeInfoJson(name: string, height: number, info = ""): string {
    if (name.trim() === "") {
        throw new Error(
            "upgrade name must be the plan name the new binary registers its upgrade handler " +
                "under (for example 'v6.0.0'), got an empty string",
        );
    }
    checkHeight("upgrade height", height);
    return JSON.stringify({ name, height, info });
}
