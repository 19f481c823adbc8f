/**
 * Loads the chain adapters (chains/) inside a provider method instead of capturing them.
 *
 * Why: Pulumi serializes a dynamic provider's closure, inlining local modules by value. The
 * adapters validate answers with zod schemas built at module load, and those hold bound native
 * functions, which cannot be serialized ("could not be serialized because it was a native
 * function"). So the provider captures only the adapters' absolute path (a string, resolved in
 * the program process during `pulumi up`) and requires it when a method runs. The provider
 * process is plain Node, so TypeScript sources need ts-node (a dependency of any TypeScript
 * Pulumi program); it is registered once, transpile-only, and only if no .ts loader is present.
 */
import type * as Chains from "../chains";

/** Resolved where the program runs; chains/index.ts in this checkout. */
const CHAINS_ENTRY = require.resolve("../chains");

export function loadChains(): typeof Chains {
    if (!require.extensions[".ts"] && CHAINS_ENTRY.endsWith(".ts")) {
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require("ts-node").register({ transpileOnly: true });
        } catch (err) {
            throw new Error(
                `chain adapters at ${CHAINS_ENTRY} need ts-node in the dynamic-provider process, ` +
                    `and it could not be loaded (${(err as Error).message}). Run \`npm install\` in the ` +
                    `Pulumi program's directory.`,
            );
        }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(CHAINS_ENTRY) as typeof Chains;
}
