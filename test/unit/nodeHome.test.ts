/**
 * Node home preparation in the pod (lib/nodeHome.ts via lib/manifests.ts): the agent-install and
 * prepare init containers, the overrides.json in the group's ConfigMap, the agent readiness
 * probe, the revision; and the flags the manifest passes, run through the real agent
 * (node-agent/build.sh) and, where the host has one, the real cometbft.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { adapterFor } from "../../chains";
import type { ChainKind } from "../../chains/kinds";
import { parseStackConfig } from "../../config";
import { buildBootstrapJob, buildNodeGroup, CONFIG_DIR, NodeGroupInput } from "../../lib/manifests";
import {
    AGENT_BINARY,
    AGENT_DIR,
    GENESIS_FILE,
    NODE_AGENT_IMAGE,
    OVERRIDES_KEY,
} from "../../lib/nodeHome";
import { revisionOf } from "../../lib/revision";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const NODE_A = "a".repeat(40);
const NODE_B = "b".repeat(40);
const SHA = "c".repeat(64);

const IMAGES: Record<ChainKind, string> = {
    cometbft: "cometbft/cometbft:v0.38.19",
    sei: "ghcr.io/sei-protocol/sei:v6.3.0",
    cosmos: "chainfleet/testchain:0.47-v1",
    avalanche: "avaplatform/avalanchego:v1.13.5",
};

function input(chain: ChainKind, stackKeys: Obj = {}, group: Obj = {}): NodeGroupInput {
    const config = parseStackConfig({
        network: "testnet",
        chain,
        ...stackKeys,
        groups: {
            rpc: { replicas: 2, image: IMAGES[chain], storage: { size: "10Gi" }, ...group },
        },
    });
    return {
        network: "testnet",
        chain,
        group: "rpc",
        namespace: "chains",
        revision: revisionOf(chain, config.groups.rpc),
        pinRevision: false,
        config: config.groups.rpc,
        adapter: adapterFor(chain),
    };
}

const podOf = (i: NodeGroupInput): Obj => (buildNodeGroup(i).statefulSet as Obj).spec.template.spec;
const initNames = (pod: Obj): string[] => (pod.initContainers ?? []).map((c: Obj) => c.name);
const init = (pod: Obj, name: string): Obj => pod.initContainers.find((c: Obj) => c.name === name);

describe("node home: the agent in the pod (lib/nodeHome.ts)", () => {
    it("a cometbft group without new keys: install, then prepare with cometbft init's defaults", () => {
        const pod = podOf(input("cometbft"));
        assert.deepEqual(initNames(pod), ["agent-install", "prepare"]);
        const install = init(pod, "agent-install");
        assert.equal(install.image, NODE_AGENT_IMAGE);
        assert.deepEqual(install.command, [
            "/usr/local/bin/chainfleet-agent",
            "install",
            "--to",
            AGENT_DIR,
        ]);
        assert.deepEqual(install.volumeMounts, [{ name: "chainfleet-bin", mountPath: AGENT_DIR }]);
        const prepare = init(pod, "prepare");
        assert.equal(prepare.image, IMAGES.cometbft, "the chain's own image runs its init");
        assert.deepEqual(prepare.command, [AGENT_BINARY]);
        assert.deepEqual(prepare.args, [
            "prepare",
            "--chain",
            "cometbft",
            "--home",
            "/cometbft",
            "--owner",
            "$(CHAINFLEET_HOME_OWNER)",
        ]);
        assert.equal(
            prepare.terminationMessagePolicy,
            "FallbackToLogsOnError",
            "the agent's error reaches the pod's status",
        );
        assert.ok(
            prepare.env.some((e: Obj) => e.name === "CMTHOME" && e.value === "/cometbft"),
            "the node's env",
        );
        assert.deepEqual(
            prepare.volumeMounts.map((m: Obj) => [m.name, m.mountPath]),
            [
                ["data", "/cometbft"],
                ["chainfleet-bin", AGENT_DIR],
                ["config", CONFIG_DIR],
            ],
        );
        assert.ok(pod.volumes.some((v: Obj) => v.name === "chainfleet-bin" && v.emptyDir));
        const cm = buildNodeGroup(input("cometbft")).configMap as Obj;
        assert.equal(cm.data[OVERRIDES_KEY], undefined, "nothing to override");
    });

    it("keeps the pod non-root with every capability dropped, init containers included", () => {
        const pod = podOf(input("cometbft"));
        assert.equal(pod.securityContext.runAsUser, 10001);
        assert.equal(pod.securityContext.runAsNonRoot, true);
        for (const c of [...pod.initContainers, ...pod.containers]) {
            assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] }, c.name);
            assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
        }
    });

    it("readiness runs `chainfleet-agent ready` from the shared volume, no shell or curl", () => {
        for (const chain of ["cometbft", "sei"] as const) {
            const pod = podOf(input(chain, chain === "sei" ? { chainId: "atlantic-2" } : {}));
            const node = pod.containers[0];
            assert.deepEqual(node.readinessProbe.exec.command, [
                AGENT_BINARY,
                "ready",
                "--chain",
                chain,
                "--rpc",
                "http://127.0.0.1:26657",
                "--timeout",
                "5s",
            ]);
            assert.ok(node.readinessProbe.timeoutSeconds > 5, "the probe outlasts --timeout");
            assert.ok(
                node.volumeMounts.some(
                    (m: Obj) =>
                        m.name === "chainfleet-bin" && m.mountPath === AGENT_DIR && m.readOnly,
                ),
            );
        }
    });

    it("a sei group: chain id, genesis url, overrides with peers in Sei's own p2p keys", () => {
        const i = input(
            "sei",
            {
                chainId: "atlantic-2",
                genesis: { url: "https://example.org/atlantic-2/genesis.json.gz", sha256: SHA },
            },
            {
                snapshot: { url: "https://s.example.org/a.tar.gz", sha256: SHA },
                config: {
                    configToml: { p2p: { "max-connections": 300 }, moniker: "rpc" },
                    appToml: { "minimum-gas-prices": "0.01usei" },
                    clientToml: { "keyring-backend": "test" },
                },
                peers: {
                    seeds: [`${NODE_A}@seed.example.org:26656`, `${NODE_B}@10.0.0.2:26656`],
                    persistentPeers: [`${NODE_B}@10.0.0.2:26656`],
                },
            },
        );
        const pod = podOf({ ...i, upgradeInfo: { name: "v6.3.0", height: 1000 } });
        assert.deepEqual(initNames(pod), [
            "snapshot-restore",
            "agent-install",
            "prepare",
            "upgrade-info",
        ]);
        assert.deepEqual(init(pod, "prepare").args, [
            "prepare",
            "--chain",
            "sei",
            "--home",
            "/sei",
            "--owner",
            "$(CHAINFLEET_HOME_OWNER)",
            "--chain-id",
            "atlantic-2",
            "--genesis-url",
            "https://example.org/atlantic-2/genesis.json.gz",
            "--genesis-sha256",
            SHA,
            "--overrides",
            `${CONFIG_DIR}/${OVERRIDES_KEY}`,
        ]);
        const cm = buildNodeGroup(i).configMap as Obj;
        assert.deepEqual(JSON.parse(cm.data[OVERRIDES_KEY]), {
            configToml: {
                moniker: "rpc",
                p2p: {
                    "max-connections": 300,
                    "bootstrap-peers": `${NODE_A}@seed.example.org:26656,${NODE_B}@10.0.0.2:26656`,
                    "persistent-peers": `${NODE_B}@10.0.0.2:26656`,
                },
            },
            appToml: { "minimum-gas-prices": "0.01usei" },
            clientToml: { "keyring-backend": "test" },
        });
    });

    it("a stateSync group: prepare gets the servers and the trust period, never a trust root", () => {
        const rpcServers = ["https://rpc-1.example.org", "http://10.0.0.2:26657"];
        const i = input("cometbft", {}, { stateSync: { rpcServers } });
        assert.deepEqual(init(podOf(i), "prepare").args, [
            "prepare",
            "--chain",
            "cometbft",
            "--home",
            "/cometbft",
            "--owner",
            "$(CHAINFLEET_HOME_OWNER)",
            "--state-sync-rpc",
            "https://rpc-1.example.org,http://10.0.0.2:26657",
            "--state-sync-trust-period",
            "168h0m0s",
        ]);
        assert.equal(
            (buildNodeGroup(i).configMap as Obj).data[OVERRIDES_KEY],
            undefined,
            "[statesync] is the agent's to write, not an override",
        );
    });

    it("a cometbft group: peers become seeds / persistent_peers", () => {
        const i = input("cometbft", {}, { peers: { persistentPeers: [`${NODE_A}@v-0.v:26656`] } });
        const cm = buildNodeGroup(i).configMap as Obj;
        assert.deepEqual(JSON.parse(cm.data[OVERRIDES_KEY]), {
            configToml: { p2p: { persistent_peers: `${NODE_A}@v-0.v:26656` } },
        });
    });

    it("a genesis from a ConfigMap: mounted for prepare, passed as --genesis-file", () => {
        const i = input("cometbft", { genesis: { configMap: "dev-genesis", key: "g.json" } });
        const pod = podOf(i);
        const prepare = init(pod, "prepare");
        assert.deepEqual(prepare.args.slice(7), ["--genesis-file", GENESIS_FILE]);
        assert.ok(
            prepare.volumeMounts.some(
                (m: Obj) => m.name === "genesis" && m.mountPath === path.dirname(GENESIS_FILE),
            ),
        );
        assert.deepEqual(
            pod.volumes.find((v: Obj) => v.name === "genesis"),
            {
                name: "genesis",
                configMap: {
                    name: "dev-genesis",
                    items: [{ key: "g.json", path: "genesis.json" }],
                },
            },
        );
    });

    it("a HardFork bootstrap prepares the home with the incumbent image", () => {
        const i = input("sei", { chainId: "atlantic-2" });
        const job = buildBootstrapJob(i, 0, "ghcr.io/sei-protocol/sei:v6.0.0", 999) as Obj;
        const pod = job.spec.template.spec;
        assert.deepEqual(initNames(pod), ["agent-install", "prepare"]);
        assert.equal(init(pod, "prepare").image, "ghcr.io/sei-protocol/sei:v6.0.0");
        assert.equal(pod.containers[0].readinessProbe, undefined);
    });

    it("avalanche pods get no agent and keep their health probe", () => {
        const pod = podOf(input("avalanche"));
        assert.deepEqual(initNames(pod), []);
        assert.deepEqual(pod.containers[0].readinessProbe.httpGet, {
            path: "/ext/health",
            port: "http",
        });
    });

    it("the revision moves with chainId, genesis, config, peers and stateSync", () => {
        const base = input("sei", { chainId: "atlantic-2" }).config;
        const revisions = [
            base,
            { ...base, chainId: "pacific-1" },
            { ...base, genesis: { url: "https://example.org/g.json", sha256: SHA } },
            { ...base, genesis: { configMap: "g", key: "genesis.json" } },
            { ...base, config: { configToml: { moniker: "x" } } },
            { ...base, config: { configToml: { moniker: "y" } } },
            { ...base, peers: { seeds: [`${NODE_A}@s:26656`] } },
            { ...base, peers: { persistentPeers: [`${NODE_A}@s:26656`] } },
            { ...base, stateSync: { rpcServers: ["http://a", "http://b"], trustPeriod: "168h" } },
            { ...base, stateSync: { rpcServers: ["http://a", "http://c"], trustPeriod: "168h" } },
            { ...base, stateSync: { rpcServers: ["http://a", "http://b"], trustPeriod: "336h" } },
        ].map((g) => revisionOf("sei", g));
        assert.equal(new Set(revisions).size, revisions.length, revisions.join(" "));
        assert.equal(revisionOf("sei", { ...base }), revisions[0], "stable");
    });
});

/** The agent built once by node-agent/build.sh (needs Go); undefined without Go. */
function buildAgent(dir: string): string | undefined {
    const go = spawnSync("go", ["version"], { encoding: "utf8" });
    if (go.status !== 0) return undefined;
    const root = path.resolve(__dirname, "../..");
    // Not niced: npm test builds the toolchain at lower priorities beside this tier, and a
    // nice 19 build here waited minutes behind them.
    const r = spawnSync("bash", [path.join(root, "node-agent/build.sh"), dir], {
        encoding: "utf8",
    });
    assert.equal(r.status, 0, `node-agent/build.sh failed:\n${r.stderr}`);
    return path.join(dir, "chainfleet-agent");
}

/** The host's cometbft (scripts/tools.sh puts it under the cache), if there is one. */
function hostCometbftDir(): string | undefined {
    const tools = path.join(
        process.env.CHAINFLEET_CACHE ?? path.join(os.homedir(), ".cache/chainfleet"),
        "tools",
    );
    const dirs = fs.existsSync(tools)
        ? fs
              .readdirSync(tools)
              // not <piece>-<key>.tmp.<pid>: a build still running (scripts/tools.sh)
              .filter((d) => d.startsWith("cometbft-") && !d.includes(".tmp."))
        : [];
    const bin = dirs
        .map((d) => path.join(tools, d, "bin"))
        .find((d) => fs.existsSync(path.join(d, "cometbft")));
    return bin;
}

describe("node home: the manifest's prepare and ready flags, run by the real agent", function () {
    this.timeout(600_000);
    let tmp: string;
    let agent: string | undefined;

    before(function () {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-agent-"));
        agent = buildAgent(path.join(tmp, "bin"));
        if (!agent) this.skip();
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** The manifest's prepare args with pod paths mapped into `root` (and its overrides file). */
    function prepareCommand(i: NodeGroupInput, root: string): string[] {
        const pod = podOf(i);
        const prepare = init(pod, "prepare");
        const home = path.join(root, "home");
        const cm = buildNodeGroup(i).configMap as Obj;
        fs.mkdirSync(path.join(root, "etc"), { recursive: true });
        if (cm.data[OVERRIDES_KEY]) {
            fs.writeFileSync(path.join(root, "etc", OVERRIDES_KEY), cm.data[OVERRIDES_KEY]);
        }
        const map = (arg: string): string =>
            arg === i.adapter.homeDir
                ? home
                : arg.startsWith(CONFIG_DIR)
                  ? path.join(root, "etc", arg.slice(CONFIG_DIR.length))
                  : arg === GENESIS_FILE
                    ? path.join(root, "genesis.json")
                    : arg;
        return prepare.args.map(map);
    }

    /** Runs the manifest's prepare command with pod paths mapped into `root`. */
    function runPrepare(i: NodeGroupInput, root: string, env: NodeJS.ProcessEnv = {}) {
        return spawnSync(agent!, prepareCommand(i, root), {
            encoding: "utf8",
            env: { ...process.env, ...env },
        });
    }

    /** The same, without blocking the event loop (for servers in this process). */
    function runPrepareAsync(
        i: NodeGroupInput,
        root: string,
        env: NodeJS.ProcessEnv = {},
    ): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return runAgentAsync(prepareCommand(i, root), env);
    }

    function runAgentAsync(
        args: string[],
        env: NodeJS.ProcessEnv = {},
    ): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return new Promise((resolve, reject) => {
            const child = spawn(agent!, args, {
                env: { ...process.env, ...env },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", reject);
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    }

    it("accepts every flag a sei manifest passes (usage errors exit 2)", () => {
        const i = input(
            "sei",
            {
                chainId: "atlantic-2",
                genesis: { url: "http://127.0.0.1:9/genesis.json", sha256: SHA },
            },
            {
                config: { appToml: { pruning: "nothing" } },
                peers: { seeds: [`${NODE_A}@s:1`] },
                stateSync: { rpcServers: ["http://127.0.0.1:9", "http://127.0.0.1:10"] },
            },
        );
        const r = runPrepare(i, path.join(tmp, "sei"), { PATH: "/nonexistent" });
        // The download fails (nothing listens on port 9): a retryable failure, not a usage error.
        assert.equal(r.status, 1, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
        assert.doesNotMatch(r.stderr, /flag provided but not defined|is required/);
    });

    it("runs the readiness probe's command: not ready with a peer more than 10 blocks ahead", async () => {
        const command = podOf(input("cometbft")).containers[0].readinessProbe.exec
            .command as string[];
        assert.equal(command[0], AGENT_BINARY);
        // /status at 100, catching_up false; the peer's latest block is 110, then 111.
        for (const [peerLatest, status, out] of [
            [
                110,
                0,
                /^ready: in sync at height 100; highest peer at 110 \(1 peer, max lag 10\)\n$/,
            ],
            [111, 1, /^not ready: 11 blocks behind peer d{40} \(height 111, ours 100\)\n$/],
        ] as const) {
            const rpc = await fakeRpc(100, peerLatest);
            try {
                const args = command
                    .slice(1)
                    .map((a) => (a.startsWith("http://127.0.0.1:") ? rpc.url : a));
                const r = await runAgentAsync(args);
                assert.equal(r.status, status, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
                assert.match(status === 0 ? r.stdout : r.stderr, out);
            } finally {
                await new Promise((done) => rpc.server.close(done));
            }
        }
    });

    it("prepares a real cometbft home: init, overrides with peers, then a ConfigMap genesis", function () {
        const cometbft = hostCometbftDir();
        if (!cometbft) {
            // The flags were still checked by the test above.
            this.skip();
        }
        const env = { PATH: `${cometbft}:${process.env.PATH}` };
        const first = input(
            "cometbft",
            {},
            {
                config: { configToml: { moniker: "rpc-0", p2p: { max_num_inbound_peers: 7 } } },
                peers: { persistentPeers: [`${NODE_A}@validator-0.validator:26656`] },
            },
        );
        const r1 = runPrepare(first, path.join(tmp, "c1"), env);
        assert.equal(r1.status, 0, `exit ${r1.status}\n${r1.stdout}\n${r1.stderr}`);
        const toml = fs.readFileSync(path.join(tmp, "c1/home/config/config.toml"), "utf8");
        assert.match(toml, /persistent_peers = ["']a{40}@validator-0\.validator:26656["']/);
        assert.match(toml, /max_num_inbound_peers = 7\b/);
        assert.match(toml, /moniker = ["']rpc-0["']/);

        // The genesis that init wrote, given to a second node through the ConfigMap path.
        const genesis = fs.readFileSync(path.join(tmp, "c1/home/config/genesis.json"), "utf8");
        const chainId = JSON.parse(genesis).chain_id as string;
        fs.mkdirSync(path.join(tmp, "c2"), { recursive: true });
        fs.writeFileSync(path.join(tmp, "c2/genesis.json"), genesis);
        const second = input("cometbft", { chainId, genesis: { configMap: "dev-genesis" } });
        const r2 = runPrepare(second, path.join(tmp, "c2"), env);
        assert.equal(r2.status, 0, `exit ${r2.status}\n${r2.stdout}\n${r2.stderr}`);
        assert.equal(
            JSON.parse(fs.readFileSync(path.join(tmp, "c2/home/config/genesis.json"), "utf8"))
                .chain_id,
            chainId,
        );
        // Idempotent: the next start of the same pod.
        const again = runPrepare(second, path.join(tmp, "c2"), env);
        assert.equal(again.status, 0, `exit ${again.status}\n${again.stderr}`);
    });

    it("prepares a real cometbft home for state sync: the trust root from two RPC servers", async function () {
        const cometbft = hostCometbftDir();
        if (!cometbft) {
            this.skip();
        }
        const servers = await Promise.all([fakeRpc(12345), fakeRpc(12340)]);
        try {
            const rpcServers = servers.map((s) => s.url);
            const i = input("cometbft", {}, { stateSync: { rpcServers, trustPeriod: "72h" } });
            const r = await runPrepareAsync(i, path.join(tmp, "ss"), {
                PATH: `${cometbft}:${process.env.PATH}`,
            });
            assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
            const toml = fs.readFileSync(path.join(tmp, "ss/home/config/config.toml"), "utf8");
            const statesync = toml.slice(toml.indexOf("[statesync]"));
            assert.match(statesync, /^enable = true$/m);
            assert.match(
                statesync,
                new RegExp(`^rpc_servers = ["']${rpcServers.join(",")}["']$`, "m"),
            );
            assert.match(statesync, /^trust_height = 12000$/m);
            assert.match(statesync, new RegExp(`^trust_hash = ["']${blockHash(12000)}["']$`, "m"));
            assert.match(statesync, /^trust_period = ["']72h0m0s["']$/m);
        } finally {
            await Promise.all(servers.map((s) => new Promise((done) => s.server.close(done))));
        }
    });
});

/** A block hash of the fake chain below: upper-case hex, as CometBFT's RPC prints it. */
const blockHash = (height: number): string =>
    createHash("sha256").update(`block-${height}`).digest("hex").toUpperCase();

/**
 * A CometBFT RPC that answers /status, /commit?height=H and /dump_consensus_state (one peer,
 * whose latest block is `peerLatest`: it decides the next height) for one chain, on 127.0.0.1.
 */
async function fakeRpc(
    latest: number,
    peerLatest = latest,
): Promise<{ url: string; server: http.Server }> {
    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://x");
        const height = Number(url.searchParams.get("height"));
        const peer = {
            node_address: `${"d".repeat(40)}@10.0.0.9:26656`,
            peer_state: { round_state: { height: String(peerLatest + 1), round: 0, step: 1 } },
        };
        const result =
            url.pathname === "/status"
                ? { sync_info: { latest_block_height: String(latest), catching_up: false } }
                : url.pathname === "/dump_consensus_state"
                  ? { round_state: { height: String(latest + 1) }, peers: [peer] }
                  : url.pathname === "/commit" && height >= 1 && height <= latest
                    ? {
                          signed_header: {
                              header: { chain_id: "any", height: String(height) },
                              commit: {
                                  height: String(height),
                                  block_id: { hash: blockHash(height) },
                              },
                          },
                          canonical: true,
                      }
                    : undefined;
        res.setHeader("content-type", "application/json");
        res.end(
            JSON.stringify(
                result === undefined
                    ? { jsonrpc: "2.0", id: -1, error: { code: -32603, message: "no such block" } }
                    : { jsonrpc: "2.0", id: -1, result },
            ),
        );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
