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
 * `--halt-height H`: the app commits block H and then shuts down. This is the sei-cosmos (SDK
 * ≤ v0.47) behaviour; SDK v0.50 after #21256 commits only H-1 for the same flag, so a chain on
 * that SDK needs its own adapter before it can use this.
 */
export function cosmosHaltHeightArgs(height: number): string[] {
    checkHeight("haltHeight", height);
    return ["--halt-height", String(height)];
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
