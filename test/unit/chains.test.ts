// Adapters as data: ports, start commands, halt support, probes and the upgrade-info file.
import assert from "node:assert/strict";
import {
    adapterFor,
    CHAIN_KINDS,
    isBootstrappedRequestBody,
    portFor,
    upgradeInfoJson,
    haltFlagHeight,
    type ChainAdapter,
    type ChainKind,
} from "../../chains";

const adapters: ChainAdapter[] = CHAIN_KINDS.map((kind) => adapterFor(kind));

describe("chains: adapterFor", () => {
    for (const kind of CHAIN_KINDS) {
        it(`returns the ${kind} adapter`, () => {
            assert.equal(adapterFor(kind).kind, kind);
        });
    }

    it("throws on an unknown kind, listing the allowed ones", () => {
        assert.throws(
            () => adapterFor("solana" as ChainKind),
            /^Error: Unknown chain kind "solana"\. Allowed values are: sei, cometbft, cosmos, avalanche\.$/,
        );
    });
});

describe("chains: ports", () => {
    const want: Record<ChainKind, Record<string, [number, string]>> = {
        cometbft: { p2p: [26656, "p2p"], rpc: [26657, "rpc"], metrics: [26660, "metrics"] },
        cosmos: {
            p2p: [26656, "p2p"],
            rpc: [26657, "rpc"],
            metrics: [26660, "metrics"],
            api: [1317, "api"],
            grpc: [9090, "grpc"],
        },
        sei: {
            p2p: [26656, "p2p"],
            rpc: [26657, "rpc"],
            metrics: [26660, "metrics"],
            api: [1317, "api"],
            grpc: [9090, "grpc"],
            "grpc-web": [9091, "grpc"],
            "evm-rpc": [8545, "evm"],
            "evm-ws": [8546, "evm"],
        },
        avalanche: { http: [9650, "rpc"], staking: [9651, "p2p"] },
    };
    for (const a of adapters) {
        it(`${a.kind} declares exactly its ports`, () => {
            const got = Object.fromEntries(a.ports.map((p) => [p.name, [p.containerPort, p.role]]));
            assert.deepEqual(got, want[a.kind]);
        });

        it(`${a.kind} port names are valid, unique Kubernetes port names`, () => {
            // IANA_SVC_NAME: 1-15 of [a-z0-9-], at least one letter, no leading, trailing or
            // doubled hyphen. The API server rejects anything else.
            for (const p of a.ports) {
                assert.match(p.name, /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$/);
                assert.ok(p.name.length <= 15, `${p.name} is longer than 15 characters`);
            }
            assert.equal(new Set(a.ports.map((p) => p.name)).size, a.ports.length);
            assert.equal(new Set(a.ports.map((p) => p.containerPort)).size, a.ports.length);
        });
    }

    it("finds the rpc port of each kind, and names the ports when a role is missing", () => {
        assert.equal(portFor(adapterFor("cometbft"), "rpc").containerPort, 26657);
        assert.equal(portFor(adapterFor("sei"), "rpc").containerPort, 26657);
        assert.equal(portFor(adapterFor("avalanche"), "rpc").containerPort, 9650);
        assert.throws(
            () => portFor(adapterFor("avalanche"), "grpc"),
            /chain kind "avalanche" has no grpc port; it has http \(rpc\), staking \(p2p\)/,
        );
    });
});

describe("chains: home and data directories", () => {
    const want: [ChainKind, string, string][] = [
        ["cometbft", "/cometbft", "data"],
        ["sei", "/sei", "data"],
        ["avalanche", "/data", "db"],
    ];
    for (const [kind, home, data] of want) {
        it(`${kind} mounts at ${home} and keeps chain data in ${data}/`, () => {
            assert.equal(adapterFor(kind).homeDir, home);
            assert.equal(adapterFor(kind).dataSubdir, data);
        });
    }
});

describe("chains: start commands", () => {
    const extraArgs = ["--log_level", "debug"];

    it("cometbft: cometbft start on the volume, RPC on all interfaces, metrics on", () => {
        assert.deepEqual(adapterFor("cometbft").start({ extraArgs }), {
            command: ["cometbft"],
            args: [
                "start",
                "--home",
                "/cometbft",
                "--rpc.laddr",
                "tcp://0.0.0.0:26657",
                "--p2p.laddr",
                "tcp://0.0.0.0:26656",
                "--log_level",
                "debug",
            ],
            env: [
                { name: "CMTHOME", value: "/cometbft" },
                { name: "CMT_INSTRUMENTATION_PROMETHEUS", value: "true" },
                { name: "CMT_INSTRUMENTATION_PROMETHEUS_LISTEN_ADDR", value: ":26660" },
            ],
        });
    });

    it("sei: seid start with --home on the volume", () => {
        assert.deepEqual(adapterFor("sei").start({ extraArgs }), {
            command: ["seid"],
            args: [
                "start",
                "--home",
                "/sei",
                "--rpc.laddr",
                "tcp://0.0.0.0:26657",
                "--p2p.laddr",
                "tcp://0.0.0.0:26656",
                "--log_level",
                "debug",
            ],
            env: [],
        });
    });

    it("avalanche: avalanchego with --data-dir, HTTP reachable from the cluster", () => {
        assert.deepEqual(adapterFor("avalanche").start({ extraArgs: ["--network-id", "fuji"] }), {
            command: ["/avalanchego/build/avalanchego"],
            args: [
                "--data-dir",
                "/data",
                "--http-host",
                "0.0.0.0",
                "--http-port",
                "9650",
                "--staking-port",
                "9651",
                "--http-allowed-hosts",
                "*",
                "--network-id",
                "fuji",
            ],
            env: [],
        });
    });

    it("points each start command at its home directory", () => {
        for (const a of adapters) {
            const argv = [...a.start({ extraArgs: [] }).args];
            const env = a.start({ extraArgs: [] }).env.map((e) => e.value);
            assert.ok(
                [...argv, ...env].includes(a.homeDir),
                `${a.kind} start does not point at ${a.homeDir}`,
            );
        }
    });
});

describe("chains: halt height", () => {
    // The flag that leaves the app committed at H-1 for an upgrade at H = 100, per SDK release:
    // the halt-height block is committed up to v0.50.9, only the blocks below it from v0.50.10
    // (cosmos-sdk #21256; reproduced here, research/cosmos-upgrade.md).
    const lines: [string, string | undefined, number][] = [
        ["sei (sei-cosmos, an SDK v0.47 fork)", "sei", 99],
        ["cosmos v0.45.16", "v0.45.16", 99],
        ["cosmos v0.46.16", "v0.46.16", 99],
        ["cosmos v0.47.17", "v0.47.17", 99],
        ["cosmos v0.50.1", "v0.50.1", 99],
        ["cosmos v0.50.9 (last with > in checkHalt)", "v0.50.9", 99],
        ["cosmos v0.50.10 (first with >=)", "v0.50.10", 100],
        ["cosmos v0.50.15", "v0.50.15", 100],
        ["cosmos v0.50.10-rc.1", "v0.50.10-rc.1", 100],
        ["cosmos v0.53.4", "v0.53.4", 100],
        ["cosmos without sdkVersion (default v0.50.10)", undefined, 100],
    ];
    for (const [name, version, flag] of lines) {
        it(`${name}: --halt-height ${flag} for an upgrade at 100`, () => {
            const adapter =
                version === "sei"
                    ? adapterFor("sei")
                    : adapterFor("cosmos", { daemon: "gaiad", sdkVersion: version });
            assert.equal(adapter.supportsHaltHeight, true);
            assert.deepEqual(adapter.haltHeightArgs(100), ["--halt-height", String(flag)]);
            const cmd = adapter.start({ haltHeight: 100, extraArgs: ["--trace"] });
            assert.deepEqual(cmd.args.slice(-3), ["--halt-height", String(flag), "--trace"]);
        });
    }

    it("the same rule through haltFlagHeight, which refuses an unknown SDK line", () => {
        assert.equal(haltFlagHeight(2, "v0.47.0"), 1);
        assert.equal(haltFlagHeight(2, "v0.53.0"), 2);
        assert.throws(
            () => haltFlagHeight(100, "v0.48.0"),
            /v0\.48 is not a Cosmos SDK release line/,
        );
        assert.throws(() => haltFlagHeight(100, "v0.50"), /with its patch version/);
    });

    it("cosmos start runs the daemon from its home, reachable on all addresses", () => {
        const cmd = adapterFor("cosmos", { daemon: "testchaind" }).start({ extraArgs: [] });
        assert.deepEqual(cmd.command, ["testchaind"]);
        assert.deepEqual(cmd.args, [
            "start",
            "--home",
            "/testchaind",
            "--rpc.laddr",
            "tcp://0.0.0.0:26657",
            "--p2p.laddr",
            "tcp://0.0.0.0:26656",
        ]);
        const home = adapterFor("cosmos", { daemon: "/usr/bin/gaiad", home: "/data" });
        assert.equal(home.homeDir, "/data");
        assert.equal(adapterFor("cosmos", { daemon: "/usr/bin/gaiad" }).homeDir, "/gaiad");
        assert.deepEqual(home.nodeHome?.binary, "/usr/bin/gaiad");
    });

    it("only cosmos reads the app's committed height on disk (sei-db keeps it elsewhere)", () => {
        assert.equal(adapterFor("cosmos", { daemon: "gaiad" }).appHeightOnDisk, true);
        assert.equal(adapterFor("sei").appHeightOnDisk, false);
    });

    const badHeights: [string, number][] = [
        ["0 (which the SDK reads as 'never')", 0],
        ["a negative height", -1],
        ["a fraction", 1.5],
        ["NaN", Number.NaN],
        ["a height beyond 2^53", 2 ** 53],
    ];
    for (const [name, h] of badHeights) {
        it(`sei refuses ${name}`, () => {
            assert.throws(
                () => adapterFor("sei").haltHeightArgs(h),
                /haltHeight must be a positive integer block height/,
            );
            assert.throws(
                () => adapterFor("cosmos", { daemon: "gaiad" }).haltHeightArgs(h),
                /haltHeight must be a positive integer block height/,
            );
            assert.throws(
                () => adapterFor("sei").start({ haltHeight: h, extraArgs: [] }),
                /haltHeight must be a positive integer/,
            );
        });
    }

    const noHalt: [ChainKind, RegExp][] = [
        ["cometbft", /`cometbft start` \(v0\.38\) has no halt-height flag.*kvstore app has none/],
        ["avalanche", /avalanchego has no halt-height setting.*activate at a time/],
    ];
    for (const [kind, why] of noHalt) {
        it(`${kind} cannot halt at a height and says what to use instead`, () => {
            const a = adapterFor(kind);
            assert.equal(a.supportsHaltHeight, false);
            const msg = new RegExp(`chain kind "${kind}" cannot halt at height 100: `);
            assert.throws(() => a.haltHeightArgs(100), msg);
            assert.throws(() => a.haltHeightArgs(100), why);
            assert.throws(() => a.haltHeightArgs(100), /Use strategy "BlueGreen"/);
            assert.throws(() => a.start({ haltHeight: 100, extraArgs: [] }), msg);
        });
    }
});

describe("chains: probes", () => {
    for (const a of adapters) {
        it(`${a.kind} httpGet probes name a declared port`, () => {
            const names = new Set(a.ports.map((p) => p.name));
            for (const probe of [a.readinessProbe, a.livenessProbe, a.startupProbe]) {
                const http = probe.httpGet as { port: string } | undefined;
                if (http !== undefined) assert.ok(names.has(http.port), `no port ${http.port}`);
            }
        });

        it(`${a.kind} liveness tolerates 5 minutes of silence, startup 24 hours`, () => {
            const window = (p: Record<string, unknown>) =>
                (p.periodSeconds as number) * (p.failureThreshold as number);
            assert.equal(window(a.livenessProbe), 300);
            assert.equal(window(a.startupProbe), 24 * 3600);
            assert.equal(window(a.readinessProbe), 30);
        });
    }

    for (const kind of ["cometbft", "sei"] as const) {
        it(`${kind}: readiness runs the /status script, liveness only asks /health`, () => {
            const a = adapterFor(kind);
            const exec = a.readinessProbe.exec as { command: string[] };
            assert.deepEqual(exec.command.slice(0, 2), ["/bin/sh", "-c"]);
            assert.match(exec.command[2], /^url='http:\/\/127\.0\.0\.1:26657\/status'$/m);
            assert.match(exec.command[2], /"catching_up"/);
            assert.deepEqual(a.livenessProbe.httpGet, { path: "/health", port: "rpc" });
            assert.deepEqual(a.startupProbe.httpGet, { path: "/health", port: "rpc" });
        });
    }

    it("avalanche: readiness is the full health, liveness the liveness endpoint", () => {
        const a = adapterFor("avalanche");
        assert.deepEqual(a.readinessProbe.httpGet, { path: "/ext/health", port: "http" });
        assert.deepEqual(a.livenessProbe.httpGet, { path: "/ext/health/liveness", port: "http" });
        assert.deepEqual(a.startupProbe.httpGet, { path: "/ext/health/liveness", port: "http" });
    });
});

describe("chains: status and peers requests", () => {
    const want: [ChainKind, string, string, number[], string][] = [
        ["cometbft", "GET", "/status", [200], "/net_info"],
        ["sei", "GET", "/status", [200], "/net_info"],
        ["avalanche", "GET", "/ext/health", [200, 503], "/ext/info"],
    ];
    for (const [kind, method, path, codes, peersPath] of want) {
        it(`${kind}: ${method} ${path} (HTTP ${codes.join("/")}), peers from ${peersPath}`, () => {
            const a = adapterFor(kind);
            assert.equal(a.statusRequest.method, method);
            assert.equal(a.statusPath, path);
            assert.deepEqual(a.statusHttpCodes, codes);
            assert.equal(a.peersPath, peersPath);
        });
    }

    it("avalanche asks for peers with a JSON-RPC info.peers POST", () => {
        const req = adapterFor("avalanche").peersRequest;
        assert.equal(req.method, "POST");
        assert.deepEqual(JSON.parse(req.body ?? ""), {
            jsonrpc: "2.0",
            id: 1,
            method: "info.peers",
            params: {},
        });
    });

    it("builds the info.isBootstrapped call for a chain", () => {
        assert.deepEqual(JSON.parse(isBootstrappedRequestBody("C")), {
            jsonrpc: "2.0",
            id: 1,
            method: "info.isBootstrapped",
            params: { chain: "C" },
        });
    });
});

describe("chains: upgradeInfoJson", () => {
    it("writes the SDK's UpgradeInfo: name, height as a number, info", () => {
        assert.equal(
            upgradeInfoJson("v6.0.0", 50000000),
            '{"name":"v6.0.0","height":50000000,"info":""}',
        );
        assert.equal(
            upgradeInfoJson("v6.0.0", 7, '{"binaries":{}}'),
            '{"name":"v6.0.0","height":7,"info":"{\\"binaries\\":{}}"}',
        );
    });

    it("refuses an empty name and a height that is not a block", () => {
        assert.throws(() => upgradeInfoJson(" ", 100), /upgrade name must be the plan name/);
        assert.throws(() => upgradeInfoJson("v6", 0), /upgrade height must be a positive integer/);
        assert.throws(() => upgradeInfoJson("v6", 2.5), /upgrade height must be a positive/);
    });
});
