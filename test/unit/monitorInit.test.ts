/**
 * `monitor init` starting a new test on a real temporary directory, with the Kubernetes calls
 * faked: what a fresh start removes from each chain's volume and what it keeps.
 */
import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { adapterFor } from "../../chains";
import type { ChainKind } from "../../chains/types";
import { ANNOTATION, EVENT_REASON, EXIT } from "../../monitor/constants";
import { DETAILS_FILE, TestDetails, readDetails, writeDetails } from "../../monitor/details";
import { MonitorDeps, runInit } from "../../monitor/init";
import { MonitorKube, pinPatch } from "../../monitor/kubeOps";
import type { InitOptions } from "../../monitor/options";

const OLD = `sha256:${"1".repeat(64)}`;
const NEW = `sha256:${"2".repeat(64)}`;
const FOLLOW = "ghcr.io/org/node:master";

/** Every file under `dir`, relative, sorted; directories end in `/`. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
    const out: string[] = [];
    for (const entry of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
        const rel = path.posix.join(prefix, entry.name);
        if (entry.isDirectory()) {
            const below = await tree(dir, rel);
            out.push(...(below.length > 0 ? below : [`${rel}/`]));
        } else {
            out.push(rel);
        }
    }
    return out.sort();
}

async function put(dir: string, files: Record<string, string>): Promise<void> {
    for (const [file, content] of Object.entries(files)) {
        const target = path.join(dir, file);
        if (file.endsWith("/")) {
            await fs.mkdir(target, { recursive: true });
            continue;
        }
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(target, content);
    }
}

/** A pod already pinned to NEW from FOLLOW, so init's plan is a fresh start. */
function fakeDeps(chain: ChainKind, events: string[]): MonitorDeps {
    const pod = {
        metadata: {
            name: "bt-0",
            uid: "u1",
            annotations: { [ANNOTATION.followedImage]: FOLLOW },
            ownerReferences: [{ kind: "StatefulSet", name: "bt" }],
        },
        spec: { containers: [{ name: "node", image: `ghcr.io/org/node@${NEW}` }] },
    };
    const kube = {
        getPod: async () => pod,
        getStatefulSet: async () => ({ metadata: { name: "bt", uid: "s1" } }),
        event: async (_sts: unknown, reason: string) => {
            events.push(reason);
        },
    } as unknown as MonitorKube;
    const quiet = { info() {}, warn() {}, error() {} };
    return {
        kube,
        registry: {} as MonitorDeps["registry"],
        adapter: adapterFor(chain),
        log: quiet,
        now: () => new Date("2026-03-01T00:00:00.000Z"),
    };
}

const ZERO_STATE = { height: "0", round: 0, step: 0 };

interface Case {
    chain: ChainKind;
    /** The volume before init: a node that ran the previous test. */
    before: Record<string, string>;
    /** Every file left afterwards, besides the details file. */
    after: string[];
    /** Why, in the upstream sources. */
    source: string;
}

const CASES: Case[] = [
    {
        chain: "cometbft",
        before: {
            "config/config.toml": "# config",
            "config/genesis.json": "{}",
            "config/node_key.json": "{}",
            "config/priv_validator_key.json": "{}",
            "config/addrbook.json": '{"addrs":[]}',
            "data/blockstore.db/000001.ldb": "blocks",
            "data/state.db/000001.ldb": "state",
            "data/cs.wal/wal": "wal",
            "data/priv_validator_state.json": '{"height":"500","round":0,"step":3}',
        },
        after: [
            "config/config.toml",
            "config/genesis.json",
            "config/node_key.json",
            "config/priv_validator_key.json",
            "data/priv_validator_state.json",
        ],
        source: "cometbft v0.38.19 cmd/cometbft/commands/reset.go resetAll",
    },
    {
        chain: "sei",
        before: {
            "config/app.toml": "# app",
            "config/client.toml": "# client",
            "config/config.toml": "# config",
            "config/genesis.json": "{}",
            "config/node_key.json": "{}",
            "data/application.db/000001.ldb": "app",
            "data/committer.db/changelog": "sc",
            "data/pebbledb/000001.sst": "ss",
            "data/upgrade-info.json": '{"name":"v6","height":100}',
            "data/priv_validator_state.json": '{"height":"500","round":0,"step":3}',
            "wasm/wasm/state/wasm/abcdef": "contract",
        },
        after: [
            "config/app.toml",
            "config/client.toml",
            "config/config.toml",
            "config/genesis.json",
            "config/node_key.json",
            "data/priv_validator_state.json",
        ],
        source: "sei-chain sei-tendermint/cmd/tendermint/commands/reset.go ResetAll",
    },
    {
        chain: "avalanche",
        before: {
            "db/mainnet/v1.4.5/000001.ldb": "db",
            "chainData/2q9e4r6Mu3U68nU1fYjgbR6JvwrRx36CohpAX5UQxse55x1Q5/db/firewood": "chain",
            "staking/staker.key": "key",
            "staking/staker.crt": "crt",
            "staking/signer.key": "bls",
            "logs/main.log": "log",
            "process.json": "{}",
            "lost+found/": "",
        },
        after: ["lost+found/"],
        source: "avalanchego tests/fixture/bootstrapmonitor/init.go os.RemoveAll(NodeDataDir)",
    },
];

describe("monitor init: a fresh start", () => {
    let dir: string;
    beforeEach(async () => {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), "monitor-init-"));
    });
    afterEach(async () => {
        await fs.rm(dir, { recursive: true, force: true });
    });

    for (const { chain, before, after, source } of CASES) {
        it(`${chain}: removes what a from-scratch node must not find (${source})`, async () => {
            const old: TestDetails = {
                image: `ghcr.io/org/node@${OLD}`,
                digest: OLD,
                startTime: "2026-02-01T00:00:00.000Z",
                syncMode: "full-sync",
                followImage: FOLLOW,
                versions: {},
            };
            await put(dir, before);
            await writeDetails(dir, old);
            const events: string[] = [];
            const opts: InitOptions = {
                namespace: "chains",
                podName: "bt-0",
                statefulSet: "bt",
                nodeContainer: "node",
                nodeInitContainers: [],
                chain,
                dataDir: dir,
                syncMode: "full-sync",
                followImage: FOLLOW,
                plainHttpRegistries: [],
                terminationWaitSeconds: 1,
            };

            assert.equal(await runInit(opts, fakeDeps(chain, events)), EXIT.ok);

            assert.deepEqual(await tree(dir), [...after, DETAILS_FILE].sort());
            const read = await readDetails(dir);
            assert.equal(read.kind === "ok" && read.details.digest, NEW);
            assert.deepEqual(events, [EVENT_REASON.started]);
            for (const kept of after.filter((f) => !f.endsWith("/") && f in before)) {
                if (kept.endsWith("priv_validator_state.json")) continue;
                assert.equal(await fs.readFile(path.join(dir, kept), "utf8"), before[kept]);
            }
            if (after.includes("data/priv_validator_state.json")) {
                const state = await fs.readFile(
                    path.join(dir, "data/priv_validator_state.json"),
                    "utf8",
                );
                assert.deepEqual(JSON.parse(state), ZERO_STATE, "validator state not reset");
            }
        });
    }
});

describe("monitor pin patch", () => {
    const rows: [string, string[], unknown][] = [
        ["the node container alone", [], undefined],
        [
            "with the init containers that run its image",
            ["prepare"],
            [{ name: "prepare", image: "n@sha256:1" }],
        ],
    ];
    for (const [what, init, initContainers] of rows) {
        it(`pins ${what}, by container name`, () => {
            type Patch = {
                spec: {
                    template: {
                        metadata: { annotations: unknown };
                        spec: { containers: unknown; initContainers?: unknown };
                    };
                };
            };
            const patch = pinPatch({ node: "node", init }, "n@sha256:1", { a: "b" }) as Patch;
            const spec = patch.spec.template.spec;
            assert.deepEqual(spec.containers, [{ name: "node", image: "n@sha256:1" }]);
            assert.deepEqual(spec.initContainers, initContainers);
            assert.deepEqual(patch.spec.template.metadata.annotations, { a: "b" });
        });
    }
});
