/**
 * The genesis of a new dev/test CometBFT network (`genesis.generate`): the signing groups'
 * derived validator keys, the stack's chain id and a fixed time, so the file is the same on every
 * run. It goes into a ConfigMap in the network's namespace, which every group's prepare step
 * places like any other ConfigMap genesis (lib/nodeHome.ts).
 *
 * The layout is CometBFT v0.38.19's GenesisDoc (types/genesis.go) as `cometbft init` writes it,
 * 64-bit integers as strings (cmtjson). Consensus params are left out: ValidateAndComplete fills
 * in DefaultConsensusParams, so the defaults are those of the binary that reads the file.
 */
import type { GenerateGenesisSpec, GenesisSpec, GroupSpec } from "./groupSpec";
import { Ed25519Key, groupValidatorKey, pubKey, validatorAddress } from "./nodeKeys";

/** The ConfigMap the generated genesis is written to (key `genesis.json`). */
export function generatedGenesisConfigMap(network: string): string {
    return `${network}-genesis`;
}

export interface GenesisValidator {
    /** The signing group's name (the genesis' validator name). */
    name: string;
    key: Ed25519Key;
}

export function generatedGenesisJson(
    chainId: string,
    spec: GenerateGenesisSpec,
    validators: readonly GenesisValidator[],
): string {
    const doc = {
        genesis_time: new Date(spec.time).toISOString().replace(".000Z", "Z"),
        chain_id: chainId,
        initial_height: "1",
        validators: validators.map((v) => ({
            address: validatorAddress(v.key),
            pub_key: pubKey(v.key),
            power: String(spec.power),
            name: v.name,
        })),
        app_hash: "",
    };
    return `${JSON.stringify(doc, null, 2)}\n`;
}

/** What a generated genesis reads of the stack's config. */
export interface GenesisFleetSpec {
    network: string;
    chainId?: string;
    genesis?: GenesisSpec;
    nodeKeySeed?: string;
    groups: Record<string, GroupSpec>;
}

/**
 * The ConfigMap of the stack's generated genesis (without its namespace), or undefined when the
 * stack's genesis is not generated. Its validators are the signing groups whose keys chainfleet
 * derives, in config order.
 */
export function generatedGenesis(
    fleet: GenesisFleetSpec,
):
    | { metadata: { name: string; labels: Record<string, string> }; data: Record<string, string> }
    | undefined {
    const genesis = fleet.genesis;
    if (genesis === undefined || !("generate" in genesis)) {
        return undefined;
    }
    if (fleet.chainId === undefined || fleet.nodeKeySeed === undefined) {
        // config/network.ts refuses this; a caller that skipped it gets the same rule.
        throw new Error("genesis.generate needs chainId and nodeKeySeed");
    }
    const seed = fleet.nodeKeySeed;
    const validators = Object.entries(fleet.groups)
        .filter(([, g]) => g.validator !== undefined && g.validator.keySecret === undefined)
        .map(([name]) => ({ name, key: groupValidatorKey(seed, fleet.network, name) }));
    return {
        metadata: {
            name: generatedGenesisConfigMap(fleet.network),
            labels: { "chainfleet.io/network": fleet.network },
        },
        data: { "genesis.json": generatedGenesisJson(fleet.chainId, genesis.generate, validators) },
    };
}
