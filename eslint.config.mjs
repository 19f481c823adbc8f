// Flat config: typescript-eslint's recommended rules over the whole program, plus the layering.
import tseslint from "typescript-eslint";

/**
 * Which top-level folders each folder may import. Imports run one way: chains <- lib <- config,
 * kube <- monitor, dynamic-providers <- components <- index.ts. lib/ is pure (no cluster, no
 * engine); kube/ is API I/O; monitor/ is a separate program whose image holds only chains/, lib/,
 * kube/ and monitor/ (monitor/Dockerfile); dynamic providers run in the engine's own process and
 * so carry no config/ (zod schemas cannot be serialized). Type-only imports count too: a folder
 * that needs a type from above it should own a plain type instead (lib/groupSpec.ts).
 * test/unit/layering.test.ts checks the same from the outside: no folder cycles, and the
 * monitor's compiled closure.
 */
const LAYERS = {
    chains: [],
    lib: ["chains"],
    config: ["chains", "lib"],
    kube: ["chains", "lib"],
    monitor: ["chains", "lib", "kube"],
    "dynamic-providers": ["chains", "lib", "kube"],
    components: ["chains", "lib", "config", "kube", "monitor", "dynamic-providers"],
};
const FOLDERS = Object.keys(LAYERS);

const layering = Object.entries(LAYERS).map(([folder, allowed]) => {
    const forbidden = FOLDERS.filter((f) => f !== folder && !allowed.includes(f));
    const below = allowed.length > 0 ? allowed.join(", ") : "nothing outside itself";
    return {
        files: [`${folder}/**/*.ts`],
        rules: {
            "@typescript-eslint/no-restricted-imports": [
                "error",
                {
                    patterns: [
                        {
                            // `../config/schema`, `../../kube/watch`, …: a top-level folder not
                            // below this one, reached from any depth.
                            regex: `^(\\.\\./)+(${forbidden.join("|")})(/|$)`,
                            message: `${folder}/ may import only ${below} (eslint.config.mjs LAYERS)`,
                        },
                        {
                            // The program's entry point (index.ts) is above every folder.
                            regex: "^(\\.\\./)*\\.\\.(/index)?$",
                            message: `${folder}/ may not import the program's index.ts`,
                        },
                    ],
                },
            ],
        },
    };
});

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "tools/", ".cache/", ".scratch/"] },
    ...tseslint.configs.recommended,
    {
        rules: {
            "@typescript-eslint/no-unused-vars": [
                "error",
                {
                    argsIgnorePattern: "^_",
                    varsIgnorePattern: "^_",
                    caughtErrorsIgnorePattern: "^_",
                },
            ],
        },
    },
    ...layering,
);
