// Status parsers against real answer shapes (test/testdata/chains/README.md says where each
// fixture comes from), and against those answers broken one field at a time.
import assert from "node:assert/strict";
import {
    adapterFor,
    ChainResponseError,
    parseAvalancheHealth,
    parseAvalancheStatus,
    parseCometStatus,
    parseInfoPeersCount,
    parseIsBootstrapped,
    parseNetInfoPeerCount,
    parseSeiLagStatus,
    parseSeiStatus,
    type NodeStatus,
} from "../../chains";
import { DELETE, fixture, fixtureText, withField } from "../testdata/chains/fixtures";

const COMET_DOCS = "cometbft/status-docs-example.json";
const COMET_CAUGHT_UP = "cometbft/status-v0.38.19-caught-up.json";
const SEI_CAUGHT_UP = "sei/status-caught-up.json";
const SEI_UNWRAPPED = "sei/status-catching-up-unwrapped.json";
const AVA_HEALTH = "avalanche/health-docs-example.json";
const AVA_BOOTSTRAPPING = "avalanche/health-get-bootstrapping.json";

/** Asserts that `fn` throws a ChainResponseError whose message matches every pattern. */
function assertRejects(fn: () => unknown, ...patterns: RegExp[]): void {
    assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof ChainResponseError, `expected ChainResponseError, got ${err}`);
        for (const p of patterns) assert.match(err.message, p);
        return true;
    });
}

describe("chains: CometBFT /status", () => {
    const cases: { name: string; body: unknown; want: NodeStatus }[] = [
        {
            name: "v0.38 OpenAPI example",
            body: fixture(COMET_DOCS),
            want: {
                height: 1262196,
                catchingUp: false,
                network: "cosmoshub-2",
                version: "0.32.1",
                latestBlockTime: "2019-08-01T11:52:22.818762194Z",
            },
        },
        {
            name: "real v0.38.19 validator, caught up",
            body: fixture(COMET_CAUGHT_UP),
            want: {
                height: 57,
                catchingUp: false,
                network: "test-chain-M12DR7",
                version: "0.38.19",
                latestBlockTime: "2026-11-22T00:49:16.367955821Z",
            },
        },
        {
            name: "real v0.38.19 node in block sync",
            body: fixture("cometbft/status-v0.38.19-catching-up.json"),
            want: {
                height: 1,
                catchingUp: true,
                network: "test-chain-M12DR7",
                version: "0.38.19",
                latestBlockTime: "2026-11-22T00:48:16.642173902Z",
            },
        },
        {
            name: "real v0.38.19 node just started (height 0)",
            body: fixture("cometbft/status-v0.38.19-fresh.json"),
            want: {
                height: 0,
                catchingUp: true,
                network: "test-chain-M12DR7",
                version: "0.38.19",
                latestBlockTime: "1970-01-01T00:00:00Z",
            },
        },
        {
            name: "payload without the JSON-RPC envelope",
            body: (fixture(COMET_DOCS) as { result: unknown }).result,
            want: {
                height: 1262196,
                catchingUp: false,
                network: "cosmoshub-2",
                version: "0.32.1",
                latestBlockTime: "2019-08-01T11:52:22.818762194Z",
            },
        },
    ];
    for (const c of cases) {
        it(`parses the ${c.name}`, () => {
            assert.deepEqual(parseCometStatus(c.body), c.want);
            assert.deepEqual(adapterFor("cometbft").parseStatus(c.body), c.want);
        });
    }

    const H = "result.sync_info.latest_block_height";
    const broken: { name: string; body: unknown; patterns: RegExp[] }[] = [
        {
            name: "height as a JSON number",
            body: withField(fixture(COMET_DOCS), H, 1262196),
            patterns: [
                /result\.sync_info\.latest_block_height: expected a decimal string/,
                /received number 1262196/,
            ],
        },
        {
            name: "height missing",
            body: withField(fixture(COMET_DOCS), H, DELETE),
            patterns: [
                /result\.sync_info\.latest_block_height: expected a decimal string .*, received nothing \(the field is missing\)/,
            ],
        },
        {
            name: "negative height",
            body: withField(fixture(COMET_DOCS), H, "-5"),
            patterns: [/latest_block_height: expected a decimal string.*received string "-5"/],
        },
        {
            name: "height with trailing junk",
            body: withField(fixture(COMET_DOCS), H, "12a"),
            patterns: [/latest_block_height: expected a decimal string.*received string "12a"/],
        },
        {
            name: "height beyond 2^53",
            body: withField(fixture(COMET_DOCS), H, "99999999999999999999"),
            patterns: [/latest_block_height: 99999999999999999999 is beyond 2\^53/],
        },
        {
            name: "catching_up as a string",
            body: withField(fixture(COMET_DOCS), "result.sync_info.catching_up", "false"),
            patterns: [/result\.sync_info\.catching_up: expected boolean, received string "false"/],
        },
        {
            name: "no sync_info",
            body: withField(fixture(COMET_DOCS), "result.sync_info", DELETE),
            patterns: [/result\.sync_info: expected object, received nothing/],
        },
        {
            name: "two wrong fields at once",
            body: withField(withField(fixture(COMET_DOCS), H, 5), "result.node_info.network", null),
            patterns: [/latest_block_height: .*received number 5/, /network: .*received null/],
        },
        {
            name: "envelope without a result",
            body: { jsonrpc: "2.0", id: 1 },
            patterns: [/^CometBFT \/status answer/, /result: expected object, received nothing/],
        },
        {
            name: "HTML from a proxy",
            body: "<html>502 Bad Gateway</html>",
            patterns: [/not a JSON object: received string "<html>502 Bad Gateway<\/html>"/],
        },
        {
            name: "JSON array",
            body: [1, 2],
            patterns: [/not a JSON object: received array \[1,2\]/],
        },
    ];
    for (const b of broken) {
        it(`rejects ${b.name}, naming the field and the fix`, () => {
            // Every shape error also says where to look.
            assertRejects(() => parseCometStatus(b.body), ...b.patterns, /port \(26657\)/);
        });
    }

    it("reports a JSON-RPC error answer (real v0.38.19) as the node's error", () => {
        assertRejects(
            () => parseCometStatus(fixture("cometbft/error-v0.38.19-internal.json")),
            /^CometBFT \/status failed on the node: JSON-RPC error -32603 Internal error: height 99999999 must be less than or equal to the current blockchain height 57$/,
        );
    });
});

describe("chains: /net_info peer count", () => {
    const cases: [string, number][] = [
        ["cometbft/net_info-v0.38.19-no-peers.json", 0],
        ["cometbft/net_info-v0.38.19-one-peer.json", 1],
        ["sei/net_info.json", 2],
    ];
    for (const [name, want] of cases) {
        it(`reads n_peers = ${want} from ${name}`, () => {
            assert.equal(parseNetInfoPeerCount(fixture(name)), want);
            assert.equal(adapterFor("sei").parsePeerCount(fixture(name)), want);
        });
    }

    it("rejects n_peers as a JSON number", () => {
        const body = withField(fixture("sei/net_info.json"), "result.n_peers", 2);
        assertRejects(
            () => parseNetInfoPeerCount(body),
            /result\.n_peers: expected a decimal string .* received number 2/,
        );
    });

    it("rejects a /status answer given by mistake", () => {
        assertRejects(
            () => parseNetInfoPeerCount(fixture(COMET_CAUGHT_UP)),
            /^CometBFT \/net_info answer/,
            /result\.n_peers: expected a decimal string .*, received nothing/,
            /path is \/net_info/,
        );
    });
});

describe("chains: Sei /status", () => {
    it("reads Sei's additions from an enveloped answer", () => {
        assert.deepEqual(parseSeiStatus(fixture(SEI_CAUGHT_UP)), {
            height: 151234567,
            catchingUp: false,
            network: "pacific-1",
            version: "v6.3.0",
            latestBlockTime: "2025-06-01T12:00:00.123456789Z",
            maxPeerHeight: 151234568,
            lastCommittedHeight: 151234567,
        });
    });

    it("reads an answer without the JSON-RPC envelope, catching up", () => {
        const status = adapterFor("sei").parseStatus(fixture(SEI_UNWRAPPED));
        assert.equal(status.height, 149000000);
        assert.equal(status.catchingUp, true);
        assert.equal(status.maxPeerHeight, 151234600);
    });

    it("reads a plain CometBFT answer (no Sei fields) and falls back to node_info.version", () => {
        const status = parseSeiStatus(fixture(COMET_CAUGHT_UP));
        assert.deepEqual(status, {
            height: 57,
            catchingUp: false,
            network: "test-chain-M12DR7",
            version: "0.38.19",
            latestBlockTime: "2026-11-22T00:49:16.367955821Z",
        });
    });

    it('treats max_peer_block_height "0" (no peer heard yet) as unknown', () => {
        const body = withField(
            fixture(SEI_CAUGHT_UP),
            "result.sync_info.max_peer_block_height",
            "0",
        );
        assert.equal(parseSeiStatus(body).maxPeerHeight, undefined);
    });

    const broken: [string, string, unknown, RegExp][] = [
        [
            "max_peer_block_height as a number",
            "result.sync_info.max_peer_block_height",
            151234568,
            /result\.sync_info\.max_peer_block_height: expected a decimal string.*received number 151234568/,
        ],
        [
            "last_committed_block_height not a number",
            "result.sync_info.last_committed_block_height",
            "abc",
            /last_committed_block_height: expected a decimal string.*received string "abc"/,
        ],
        [
            "application_info.version as a number",
            "result.application_info.version",
            6,
            /result\.application_info\.version: expected string, received number 6/,
        ],
    ];
    for (const [name, field, value, pattern] of broken) {
        it(`rejects ${name}`, () => {
            assertRejects(
                () => parseSeiStatus(withField(fixture(SEI_CAUGHT_UP), field, value)),
                /^Sei \/status answer/,
                pattern,
            );
        });
    }

    it("names unwrapped fields without a result. prefix", () => {
        const body = withField(fixture(SEI_UNWRAPPED), "sync_info.catching_up", 1);
        assertRejects(
            () => parseSeiStatus(body),
            /\n {2}- sync_info\.catching_up: expected boolean/,
        );
    });
});

describe("chains: Sei /lag_status", () => {
    it("reads the numbers when the lag is under the threshold", () => {
        assert.deepEqual(parseSeiLagStatus(fixture("sei/lag_status-ok.json")), {
            lagTooHigh: false,
            currentHeight: 151234567,
            maxPeerHeight: 151234568,
            lag: 1,
        });
    });

    it('reports "lag is too high" as a state, not a failure', () => {
        const lag = parseSeiLagStatus(fixture("sei/lag_status-too-high.json"));
        assert.deepEqual(lag, {
            lagTooHigh: true,
            error: "JSON-RPC error -32603 Internal error: lag is too high",
        });
    });

    it("throws on any other JSON-RPC error", () => {
        assertRejects(
            () => parseSeiLagStatus(fixture("cometbft/error-v0.38.19-internal.json")),
            /^Sei \/lag_status failed on the node: JSON-RPC error -32603/,
        );
    });

    it("rejects a lag encoded as a string (lag_status uses plain numbers)", () => {
        const body = withField(fixture("sei/lag_status-ok.json"), "result.lag", "1");
        assertRejects(
            () => parseSeiLagStatus(body),
            /result\.lag: expected number, received string "1"/,
        );
    });
});

describe("chains: Avalanche /ext/health", () => {
    it("reads the documented health.health example", () => {
        assert.deepEqual(parseAvalancheHealth(fixture(AVA_HEALTH)), {
            healthy: true,
            bootstrapped: true,
            cChainHeight: 31273749,
            connectedPeers: 284,
            failing: [],
        });
        assert.deepEqual(adapterFor("avalanche").parseStatus(fixture(AVA_HEALTH)), {
            height: 31273749,
            catchingUp: false,
            peers: 284,
        });
    });

    it("reads a bare GET body while bootstrapping: catching up, height unknown (0)", () => {
        assert.deepEqual(parseAvalancheHealth(fixture(AVA_BOOTSTRAPPING)), {
            healthy: false,
            bootstrapped: false,
            connectedPeers: 17,
            failing: ["C", "bootstrapped"],
        });
        assert.deepEqual(parseAvalancheStatus(fixture(AVA_BOOTSTRAPPING)), {
            height: 0,
            catchingUp: true,
            peers: 17,
        });
    });

    it("counts a passing bootstrapped check that still lists a subnet as not bootstrapped", () => {
        const body = withField(fixture(AVA_HEALTH), "result.checks.bootstrapped.message", [
            "29uVeLPJB1eQJkzRemU8g8wZDw5uJRqpab5U2mX9euieVwiEbL",
        ]);
        assert.equal(parseAvalancheHealth(body).bootstrapped, false);
        assert.equal(parseAvalancheStatus(body).catchingUp, true);
    });

    it("reads the readiness document's bootstrapped check, but refuses it as a status", () => {
        const readiness = fixture("avalanche/readiness-docs-example.json");
        assert.equal(parseAvalancheHealth(readiness).bootstrapped, true);
        assertRejects(
            () => parseAvalancheStatus(readiness),
            /no checks\.C\.message\.engine\.consensus\.lastAcceptedHeight although the node is bootstrapped/,
            /Call GET \/ext\/health/,
        );
    });

    it("rejects the liveness document, which has no checks", () => {
        assertRejects(
            () => parseAvalancheHealth(fixture("avalanche/liveness-docs-example.json")),
            /has no result\.checks\.bootstrapped check/,
            /not \/ext\/health\/liveness/,
        );
    });

    const broken: [string, string, unknown, RegExp][] = [
        [
            "lastAcceptedHeight as a string",
            "result.checks.C.message.engine.consensus.lastAcceptedHeight",
            "31273749",
            /result\.checks\.C\.message\.engine\.consensus\.lastAcceptedHeight: expected number, received string "31273749"/,
        ],
        [
            "negative connectedPeers",
            "result.checks.network.message.connectedPeers",
            -1,
            /result\.checks\.network\.message\.connectedPeers: .*received number -1/,
        ],
        [
            "healthy missing",
            "result.healthy",
            DELETE,
            /result\.healthy: expected boolean, received nothing/,
        ],
        [
            "a check error that is not a string",
            "result.checks.bootstrapped.error",
            500,
            /result\.checks\.bootstrapped\.error: expected string, received number 500/,
        ],
    ];
    for (const [name, field, value, pattern] of broken) {
        it(`rejects ${name}`, () => {
            assertRejects(
                () => parseAvalancheStatus(withField(fixture(AVA_HEALTH), field, value)),
                /^Avalanche \/ext\/health answer/,
                pattern,
            );
        });
    }
});

describe("chains: Avalanche info API", () => {
    const bootstrapped: [string, unknown, boolean][] = [
        ["result true", fixture("avalanche/is_bootstrapped-true.json"), true],
        ["result false", fixture("avalanche/is_bootstrapped-false.json"), false],
        [
            "the 503 text a bootstrapping chain answers",
            fixtureText("avalanche/not-done-bootstrapping.txt"),
            false,
        ],
    ];
    for (const [name, body, want] of bootstrapped) {
        it(`reads isBootstrapped = ${want} from ${name}`, () => {
            assert.equal(parseIsBootstrapped(body), want);
        });
    }

    it("throws on an unknown chain, quoting the node and the fix", () => {
        assertRejects(
            () => parseIsBootstrapped(fixture("avalanche/is_bootstrapped-unknown-chain.json")),
            /JSON-RPC error -32000 there is no chain with alias\/ID 'Q'/,
            /Pass a chain alias/,
        );
    });

    it("throws on other text and on a string isBootstrapped", () => {
        assertRejects(() => parseIsBootstrapped("404 page not found"), /text instead of JSON/);
        const body = withField(
            fixture("avalanche/is_bootstrapped-true.json"),
            "result.isBootstrapped",
            "true",
        );
        assertRejects(
            () => parseIsBootstrapped(body),
            /result\.isBootstrapped: expected boolean, received string "true"/,
        );
    });

    it("reads numPeers as the node sends it (string) and as the docs show it (number)", () => {
        assert.equal(parseInfoPeersCount(fixture("avalanche/info_peers-string-count.json")), 3);
        assert.equal(parseInfoPeersCount(fixture("avalanche/info_peers-docs-example.json")), 3);
        assert.equal(
            adapterFor("avalanche").parsePeerCount(
                fixture("avalanche/info_peers-string-count.json"),
            ),
            3,
        );
    });

    it("rejects a negative or missing numPeers", () => {
        const peers = fixture("avalanche/info_peers-string-count.json");
        assertRejects(
            () => parseInfoPeersCount(withField(peers, "result.numPeers", "-1")),
            /result\.numPeers: .*received string "-1"/,
        );
        assertRejects(
            () => parseInfoPeersCount(withField(peers, "result.numPeers", DELETE)),
            /result\.numPeers: .*received nothing/,
        );
    });
});
