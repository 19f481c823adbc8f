/**
 * The chain kinds chainfleet runs: the one list that config validation, the chain adapters, the
 * HeightGate provider, the bootstrap monitor's CLI and the image catalog all check against.
 * Zod-free and import-free, so a dynamic provider can carry it into its own process.
 */
export const CHAIN_KINDS = ["sei", "cometbft", "cosmos", "avalanche"] as const;

export type ChainKind = (typeof CHAIN_KINDS)[number];
