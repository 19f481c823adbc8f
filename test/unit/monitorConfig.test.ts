import * as assert from "node:assert/strict";
import { avalancheChainConfig, freshStart, syncModeEnv } from "../../monitor/chainSettings";
import { BootstrapTestConfigSchema } from "../../config/bootstrapTest";

const minimal = {
    name: "cometbft-master",
    image: "ghcr.io/org/node:master",
    syncMode: "state-sync",
    storage: { size: "100Gi" },
};

describe("monitor bootstrap test config schema", () => {
    it("fills defaults", () => {
        assert.deepEqual(BootstrapTestConfigSchema.parse(minimal), {
            ...minimal,
            intervals: { checkSeconds: 60, pollTagSeconds: 300 },
            keepResults: 10,
            maxNodeRestarts: 5,
            maxBlockAgeSeconds: 120,
            plainHttp: false,
            args: [],
            env: {},
        });
    });

    it("accepts every field", () => {
        const full = {
            ...minimal,
            syncMode: "full-sync",
            storage: { size: "2Ti", storageClass: "fast-ssd" },
            intervals: { checkSeconds: 30, pollTagSeconds: 600 },
            keepResults: 20,
            maxNodeRestarts: 3,
            maxBlockAgeSeconds: 600,
            registrySecret: "ghcr-pull",
            plainHttp: true,
            args: ["--log_level=info"],
            env: { CMT_STATESYNC_RPC_SERVERS: "a:26657,b:26657" },
        };
        assert.deepEqual(BootstrapTestConfigSchema.parse(full), full);
    });

    const bad: [string, Record<string, unknown>, string, RegExp][] = [
        [
            "a digest",
            { image: `node@sha256:${"a".repeat(64)}` },
            "image",
            /must be a tag to follow.*never moves/,
        ],
        ["a bare image", { image: "ghcr.io/org/node" }, "image", /must name a tag or a digest/],
        [
            "an unknown sync mode",
            { syncMode: "fast" },
            "syncMode",
            /syncMode must be one of state-sync, full-sync/,
        ],
        ["an upper-case name", { name: "Master" }, "name", /DNS-1035 label/],
        ["a long name", { name: `a${"b".repeat(52)}` }, "name", /at most 52 characters/],
        ["a bad size", { storage: { size: "lots" } }, "storage.size", /Kubernetes quantity/],
        ["an unknown storage key", { storage: { size: "1Gi", clas: "x" } }, "storage", /clas/],
        [
            "zero interval",
            { intervals: { checkSeconds: 0 } },
            "intervals.checkSeconds",
            /at least 1/,
        ],
        ["too many results", { keepResults: 1000 }, "keepResults", /at most 100/],
        ["no restarts allowed", { maxNodeRestarts: 0 }, "maxNodeRestarts", /maxNodeRestarts/],
        ["a typo'd key", { syncmode: "full-sync" }, "", /syncmode/],
        ["a bad env name", { env: { "A-B": "x" } }, "env.A-B", /shell identifiers/],
    ];
    for (const [what, override, path, message] of bad) {
        it(`rejects ${what} at '${path}'`, () => {
            const parsed = BootstrapTestConfigSchema.safeParse({ ...minimal, ...override });
            assert.equal(parsed.success, false);
            const issues = parsed.error?.issues ?? [];
            const issue = issues.find((i) => i.path.join(".") === path);
            assert.ok(issue, `no issue at '${path}': ${JSON.stringify(issues)}`);
            assert.match(issue.message, message);
        });
    }
});

describe("monitor chain settings", () => {
    const table: [string, "state-sync" | "full-sync", string, string][] = [
        ["cometbft", "state-sync", "CMT_STATESYNC_ENABLE", "true"],
        ["cometbft", "full-sync", "CMT_STATESYNC_ENABLE", "false"],
        ["sei", "state-sync", "SEID_STATESYNC_ENABLE", "true"],
        ["sei", "full-sync", "SEID_STATESYNC_ENABLE", "false"],
    ];
    for (const [chain, mode, name, value] of table) {
        it(`${chain} ${mode} sets ${name}=${value}`, () => {
            assert.deepEqual(syncModeEnv(chain as "sei", mode), [{ name, value }]);
        });
    }

    it("avalanche sets the C-Chain's state-sync-enabled in AVAGO_CHAIN_CONFIG_CONTENT", () => {
        for (const [mode, enabled] of [
            ["state-sync", true],
            ["full-sync", false],
        ] as const) {
            const [env] = syncModeEnv("avalanche", mode);
            assert.equal(env.name, "AVAGO_CHAIN_CONFIG_CONTENT");
            const content = JSON.parse(Buffer.from(env.value, "base64").toString());
            const cConfig = JSON.parse(Buffer.from(content.C.Config, "base64").toString());
            assert.deepEqual(cConfig, { "state-sync-enabled": enabled });
            assert.equal(env.value, avalancheChainConfig(enabled));
        }
    });

    it("seeds the zero validator state after a wipe of a CometBFT-family node", () => {
        for (const chain of ["cometbft", "sei"] as const) {
            const { seed } = freshStart(chain);
            assert.deepEqual(Object.keys(seed), ["data/priv_validator_state.json"]);
            assert.deepEqual(JSON.parse(seed["data/priv_validator_state.json"]), {
                height: "0",
                round: 0,
                step: 0,
            });
        }
        assert.deepEqual(freshStart("avalanche").seed, {});
    });

    it("removes what each chain's own reset removes", () => {
        assert.deepEqual(freshStart("cometbft").remove, ["data", "config/addrbook.json"]);
        assert.deepEqual(freshStart("sei").remove, ["data", "wasm"]);
        assert.equal(freshStart("avalanche").remove, "everything");
    });
});
