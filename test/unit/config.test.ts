import * as assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import {
    ConfigError,
    DEFAULTS,
    loadStackConfig,
    parseStackConfig,
    rawStackConfig,
} from "../../config";
import { readStackFile } from "../../config/stackFile";

/** A small valid stack; each case below breaks one rule of it. */
function validStack(): Record<string, unknown> {
    return {
        network: "testnet",
        chain: "sei",
        chainId: "atlantic-2",
        groups: {
            rpc: {
                replicas: 2,
                image: "ghcr.io/sei-protocol/sei:v6.1.0",
                storage: { size: "100Gi" },
                update: { strategy: "BlueGreen" },
            },
        },
    };
}

/** Sets `value` at a dotted path of `stack`, a fresh valid one by default (`undefined` deletes). */
function withValue(
    path: string,
    value: unknown,
    stack: Record<string, unknown> = validStack(),
): Record<string, unknown> {
    const keys = path.split(".");
    let node = stack as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) {
        node[key] ??= {};
        node = node[key] as Record<string, unknown>;
    }
    const last = keys[keys.length - 1];
    if (value === undefined) {
        delete node[last];
    } else {
        node[last] = value;
    }
    return stack;
}

function problemsOf(raw: Record<string, unknown>): ConfigError["problems"] {
    try {
        parseStackConfig(raw);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        return err.problems;
    }
    assert.fail("expected the config to be rejected");
}

interface Case {
    rule: string;
    path: string;
    value: unknown;
    /** The key path the problem must be reported at (defaults to `path`). */
    at?: string;
    message: RegExp;
    /** Other keys to set first (dotted path -> value), so that only the rule under test breaks. */
    also?: Record<string, unknown>;
}

const DIGEST = `@sha256:${"d".repeat(64)}`;
const PINNED = `ghcr.io/sei-protocol/sei${DIGEST}`;
const SHA = "a".repeat(64);
const SEED = "5".repeat(64);
/** A plain CometBFT stack (its chainId needs a genesis, which the cases give). */
const COMET = {
    chain: "cometbft",
    chainId: "dev-1",
    "groups.rpc.image": "cometbft/cometbft:v0.38.19",
};
const AVALANCHE = {
    chain: "avalanche",
    chainId: undefined,
    "groups.rpc.image": "avaplatform/avalanchego:v1.13.5",
};
/**
 * 43 characters: its StatefulSet name `<group>-<revision>` is 52, just within its limit, and so are
 * its pods' names, but a bootstrap Job's `<group>-<revision>-bootstrap-0` is 64.
 */
const LONG_GROUP = "g".repeat(43);

const cases: Case[] = [
    {
        rule: "network required",
        path: "network",
        value: undefined,
        message: /network must be a string/,
    },
    {
        rule: "network is a DNS label",
        path: "network",
        value: "Sei_Testnet",
        message: /DNS-1123 label/,
    },
    {
        rule: "chain is known",
        path: "chain",
        value: "ethereum",
        message: /one of sei, cometbft, cosmos, avalanche/,
    },
    {
        rule: "namespace is a DNS label",
        path: "namespace",
        value: "a".repeat(64),
        message: /at most 63/,
    },
    { rule: "production is a boolean", path: "production", value: "yes", message: /true or false/ },
    { rule: "replicas >= 1", path: "groups.rpc.replicas", value: 0, message: /at least 1/ },
    { rule: "replicas integer", path: "groups.rpc.replicas", value: 1.5, message: /whole number/ },
    {
        rule: "replicas required",
        path: "groups.rpc.replicas",
        value: undefined,
        message: /whole number/,
    },
    { rule: "image non-empty", path: "groups.rpc.image", value: "", message: /must not be empty/ },
    {
        rule: "image tag or digest",
        path: "groups.rpc.image",
        value: "ghcr.io/sei-protocol/sei",
        message: /tag or a digest/,
    },
    {
        rule: "image well-formed",
        path: "groups.rpc.image",
        value: "ghcr.io/Sei/sei:v1",
        message: /OCI reference/,
    },
    {
        rule: "storage size quantity",
        path: "groups.rpc.storage.size",
        value: "100GB",
        message: /Kubernetes quantity/,
    },
    {
        rule: "storage required",
        path: "groups.rpc.storage",
        value: undefined,
        message: /expected object/,
    },
    {
        rule: "cpu quantity",
        path: "groups.rpc.resources",
        value: { requests: { cpu: "two" } },
        at: "groups.rpc.resources.requests.cpu",
        message: /Kubernetes quantity/,
    },
    {
        rule: "storageClass subdomain",
        path: "groups.rpc.storage.storageClass",
        value: "Fast SSD",
        message: /DNS-1123 subdomain/,
    },
    {
        rule: "strategy known",
        path: "groups.rpc.update.strategy",
        value: "Canary",
        message: /Rolling, BlueGreen, HardFork/,
    },
    {
        rule: "a HardFork says where its entrant volumes start",
        path: "groups.rpc.update",
        value: { strategy: "HardFork", haltHeight: 100 },
        at: "groups.rpc.update.entrantVolumes",
        message:
            /must reach the upgrade height with the old binary: set entrantVolumes: cloneIncumbent.*configure the group's snapshot.*entrantVolumes: genesis/,
    },
    {
        rule: "entrantVolumes snapshot needs a snapshot",
        path: "groups.rpc.update",
        value: { strategy: "BlueGreen", entrantVolumes: "snapshot" },
        at: "groups.rpc.update.entrantVolumes",
        message: /entrantVolumes snapshot needs the group's snapshot/,
    },
    {
        rule: "entrantVolumes is for groups with entrants",
        path: "groups.rpc.update",
        value: { strategy: "Rolling", entrantVolumes: "cloneIncumbent" },
        at: "groups.rpc.update.entrantVolumes",
        message: /applies to BlueGreen and HardFork: a Rolling group has no entrants/,
    },
    {
        rule: "entrantVolumes known",
        path: "groups.rpc.update",
        value: { strategy: "BlueGreen", entrantVolumes: "copy" },
        at: "groups.rpc.update.entrantVolumes",
        message: /entrantVolumes must be one of snapshot, cloneIncumbent, genesis/,
    },
    {
        rule: "HardFork needs haltHeight",
        path: "groups.rpc.update",
        value: { strategy: "HardFork" },
        at: "groups.rpc.update.haltHeight",
        message: /HardFork needs an integer haltHeight >= 2/,
    },
    {
        rule: "haltHeight >= 2",
        path: "groups.rpc.update",
        value: { strategy: "HardFork", entrantVolumes: "genesis", haltHeight: 0 },
        at: "groups.rpc.update.haltHeight",
        message: /at least 2/,
    },
    {
        // The bootstrap halts after H-1, and block 0 is no block: refused here, not at preview.
        rule: "haltHeight 1 leaves the bootstrap no block to halt after",
        path: "groups.rpc.update",
        value: { strategy: "HardFork", entrantVolumes: "genesis", haltHeight: 1 },
        at: "groups.rpc.update.haltHeight",
        message: /at least 2: the bootstrap halts the incumbent after block haltHeight - 1/,
    },
    {
        rule: "haltHeight only for HardFork",
        path: "groups.rpc.update.haltHeight",
        value: 100,
        message: /only applies to strategy HardFork/,
    },
    {
        rule: "tolerance >= 0",
        path: "groups.rpc.update.caughtUpTolerance",
        value: -1,
        message: /0 or more/,
    },
    {
        rule: "timeouts positive",
        path: "groups.rpc.update.timeouts",
        value: { gateSeconds: 0 },
        at: "groups.rpc.update.timeouts.gateSeconds",
        message: /at least 1/,
    },
    {
        rule: "pdb one of",
        path: "groups.rpc.podDisruptionBudget",
        value: { maxUnavailable: 1, minAvailable: 1 },
        message: /only one of maxUnavailable or minAvailable/,
    },
    {
        rule: "pdb percent",
        path: "groups.rpc.podDisruptionBudget",
        value: { maxUnavailable: "150%" },
        at: "groups.rpc.podDisruptionBudget.maxUnavailable",
        message: /percentage/,
    },
    {
        rule: "memory quantity",
        path: "groups.rpc.resources",
        value: { limits: { memory: "8 GB" } },
        at: "groups.rpc.resources.limits.memory",
        message: /memory must be a Kubernetes quantity/,
    },
    {
        rule: "upgradeName non-empty",
        path: "groups.rpc.update.upgradeName",
        value: "",
        message: /upgradeName must not be empty/,
    },
    {
        rule: "upgradeName without spaces",
        path: "groups.rpc.update.upgradeName",
        value: "v6 upgrade",
        message: /upgradeName must not contain spaces/,
    },
    {
        rule: "bootstrap timeout positive",
        path: "groups.rpc.update.timeouts",
        value: { bootstrapSeconds: 0 },
        at: "groups.rpc.update.timeouts.bootstrapSeconds",
        message: /bootstrapSeconds must be at least 1/,
    },
    {
        rule: "switch timeout whole",
        path: "groups.rpc.update.timeouts",
        value: { switchSeconds: 2.5 },
        at: "groups.rpc.update.timeouts.switchSeconds",
        message: /switchSeconds must be a whole number/,
    },
    {
        rule: "gate rpc known",
        path: "groups.rpc.update.gate",
        value: { rpc: "ingress" },
        at: "groups.rpc.update.gate.rpc",
        message: /rpc must be podProxy or direct/,
    },
    {
        rule: "gate minPeers >= 0",
        path: "groups.rpc.update.gate",
        value: { minPeers: -1 },
        at: "groups.rpc.update.gate.minPeers",
        message: /minPeers must be 0 or more/,
    },
    {
        rule: "bootstrapImage well-formed",
        path: "groups.rpc.update.bootstrapImage",
        value: "ghcr.io/sei-protocol/sei",
        message: /tag or a digest/,
    },
    {
        rule: "pdb integer >= 0",
        path: "groups.rpc.podDisruptionBudget",
        value: { minAvailable: -1 },
        at: "groups.rpc.podDisruptionBudget.minAvailable",
        message: /0 or more/,
    },
    {
        rule: "pdb integer whole",
        path: "groups.rpc.podDisruptionBudget",
        value: { minAvailable: 1.5 },
        at: "groups.rpc.podDisruptionBudget.minAvailable",
        message: /whole number or a percentage/,
    },
    {
        rule: "snapshot sha256",
        path: "groups.rpc.snapshot",
        value: { url: "https://x.example/s.tar", sha256: "abc" },
        at: "groups.rpc.snapshot.sha256",
        message: /64 lower-case hex/,
    },
    {
        rule: "snapshot url",
        path: "groups.rpc.snapshot",
        value: { url: "ftp://x.example/s.tar", sha256: "a".repeat(64) },
        at: "groups.rpc.snapshot.url",
        message: /http\(s\) URL/,
    },
    {
        rule: "env names",
        path: "groups.rpc.env",
        value: { "BAD-NAME": "1" },
        at: "groups.rpc.env.BAD-NAME",
        message: /env names must be letters/,
    },
    {
        rule: "lz4 snapshot needs a snapshot image (url)",
        path: "groups.rpc.snapshot",
        value: { url: "https://x.example/s.tar.lz4", sha256: SHA },
        at: "groups.rpc.snapshot.url",
        message: /tar\.lz4 snapshots need lz4.*set snapshotImage to an image with .*lz4/,
    },
    {
        rule: "lz4 snapshot needs a snapshot image (format)",
        path: "groups.rpc.snapshot",
        value: { url: "https://x.example/latest", sha256: SHA, format: "tar.lz4" },
        at: "groups.rpc.snapshot.format",
        message: /tar\.lz4 snapshots need lz4.*set snapshotImage/,
    },
    {
        rule: "lz4 snapshot needs more than BusyBox",
        path: "groups.rpc.snapshot",
        value: { url: "https://x.example/s.tar.lz4", sha256: SHA },
        also: { snapshotImage: "docker.io/library/busybox:1.36" },
        at: "groups.rpc.snapshot.url",
        message: /tar\.lz4 snapshots need lz4/,
    },
    {
        rule: "env values are strings",
        path: "groups.rpc.env",
        value: { PORT: 26657 },
        at: "groups.rpc.env.PORT",
        message: /env values must be strings/,
    },
    {
        rule: "configFiles keys are file names",
        path: "groups.rpc.configFiles",
        value: { "conf/app.toml": "x = 1" },
        at: "groups.rpc.configFiles.conf/app.toml",
        message: /must be a file name/,
    },
    {
        rule: "direct RPC needs URLs",
        path: "groups.rpc.update.gate",
        value: { rpc: "direct" },
        at: "groups.rpc.update.gate.directUrls",
        message: /one RPC URL per entrant replica/,
    },
    {
        rule: "gate URLs are http(s)",
        path: "groups.rpc.update.gate",
        value: { referenceRpcs: ["tcp://x:1"] },
        at: "groups.rpc.update.gate.referenceRpcs.0",
        message: /http\(s\) URL/,
    },
    {
        rule: "image or catalogImage",
        path: "groups.rpc.catalogImage",
        value: "sei-full",
        at: "groups.rpc.image",
        message: /exactly one of image or catalogImage/,
    },
    {
        rule: "catalogImage names an entry",
        path: "groups.rpc",
        value: { replicas: 1, catalogImage: "Sei_Full", storage: { size: "1Gi" } },
        at: "groups.rpc.catalogImage",
        message: /catalogImage must name a catalog entry/,
    },
    {
        rule: "catalog entry exists",
        path: "groups.rpc",
        value: { replicas: 1, catalogImage: "sei-ful", storage: { size: "1Gi" } },
        at: "groups.rpc.catalogImage",
        message: /not in the catalog; did you mean "sei-full"/,
    },
    {
        rule: "catalog entry serves the chain",
        path: "groups.rpc",
        value: { replicas: 1, catalogImage: "avalanchego-full", storage: { size: "1Gi" } },
        at: "groups.rpc.catalogImage",
        message: /avalanche image, but the stack's chain is sei/,
    },
    {
        rule: "production pins digests",
        path: "production",
        value: true,
        at: "groups.rpc.image",
        message: /production stacks need digest-pinned images/,
    },
    {
        rule: "production pins the bootstrap image",
        path: "groups.rpc.update.bootstrapImage",
        value: "ghcr.io/sei-protocol/sei:v6.0.0",
        also: { production: true, "groups.rpc.image": PINNED },
        message: /production stacks need digest-pinned images/,
    },
    {
        rule: "production pins the preprod image",
        path: "preprod",
        value: { percent: 5, image: "ghcr.io/sei-protocol/sei:v6.2.0" },
        also: { production: true, "groups.rpc.image": PINNED },
        at: "preprod.image",
        message: /production stacks need digest-pinned images/,
    },
    {
        rule: "production pins per-group preprod images",
        path: "preprod",
        value: { percent: 5, images: { rpc: "ghcr.io/sei-protocol/sei:v6.2.0" } },
        also: { production: true, "groups.rpc.image": PINNED },
        at: "preprod.images.rpc",
        message: /production stacks need digest-pinned images/,
    },
    {
        rule: "production pins the monitor image",
        path: "monitorImage",
        value: "ghcr.io/org/chainfleet-monitor:v1",
        also: { production: true, "groups.rpc.image": PINNED },
        message: /production stacks need digest-pinned images/,
    },
    {
        rule: "production pins the snapshot image (default is a tag)",
        path: "groups.rpc.snapshot",
        value: { url: "https://x.example/s.tar.gz", sha256: SHA },
        also: { production: true, "groups.rpc.image": PINNED },
        at: "snapshotImage",
        message:
            /groups with a snapshot \(rpc\).*the default, a tag.*set snapshotImage to repo@sha256:/,
    },
    {
        rule: "production resolves followed tags over TLS only",
        path: "bootstrapTests",
        value: [
            {
                name: "bt",
                image: "10.244.0.1:20500/sei:main",
                syncMode: "full-sync",
                storage: { size: "1Gi" },
                plainHttp: true,
            },
        ],
        also: {
            production: true,
            "groups.rpc.image": PINNED,
            monitorImage: `ghcr.io/org/chainfleet-monitor@sha256:${"c".repeat(64)}`,
        },
        at: "bootstrapTests.0.plainHttp",
        message: /plain-HTTP registry.*serve the registry over HTTPS/,
    },
    {
        rule: "snapshotImage well-formed",
        path: "snapshotImage",
        value: "busybox",
        message: /tag or a digest/,
    },
    {
        rule: "monitorImage well-formed",
        path: "monitorImage",
        value: "ghcr.io/Org/monitor:v1",
        message: /OCI reference/,
    },
    {
        rule: "preprod percent range",
        path: "preprod",
        value: { percent: 150, image: "ghcr.io/sei-protocol/sei:v6.2.0" },
        at: "preprod.percent",
        message: /100/,
    },
    {
        rule: "preprod images name groups",
        path: "preprod",
        value: { percent: 5, images: { rcp: "ghcr.io/sei-protocol/sei:v6.2.0" } },
        at: "preprod.images.rcp",
        message: /no group named 'rcp'/,
    },
    {
        rule: "preprod opt-out names groups",
        path: "preprod",
        value: { percent: 5, image: "ghcr.io/sei-protocol/sei:v6.2.0", optOut: { groups: ["x"] } },
        at: "preprod.optOut.groups.0",
        message: /no group named 'x'/,
    },
    {
        rule: "bootstrap tests need the monitor image",
        path: "bootstrapTests",
        value: [{ name: "bt", image: "sei:main", syncMode: "full-sync", storage: { size: "1Gi" } }],
        at: "monitorImage",
        message: /bootstrapTests need monitorImage/,
    },
    {
        rule: "monitor image: published or built, not both",
        path: "monitorImageBuild",
        value: { imageName: "ghcr.io/org/chainfleet-monitor:v1" },
        also: { monitorImage: "ghcr.io/org/chainfleet-monitor:v1" },
        message: /monitorImage .* or monitorImageBuild, not both/,
    },
    {
        rule: "monitor image build: imageName well-formed",
        path: "monitorImageBuild",
        value: { imageName: "ghcr.io/Org/monitor:v1" },
        at: "monitorImageBuild.imageName",
        message: /OCI reference/,
    },
    {
        rule: "monitor image build: platform os/arch",
        path: "monitorImageBuild",
        value: { imageName: "ghcr.io/org/monitor:v1", platform: "amd64" },
        at: "monitorImageBuild.platform",
        message: /linux\/amd64/,
    },
    {
        rule: "monitor image build: network is a Docker network name",
        path: "monitorImageBuild",
        value: { imageName: "ghcr.io/org/monitor:v1", network: "host; rm" },
        at: "monitorImageBuild.network",
        message: /Docker network name/,
    },
    {
        rule: "monitor image build: no registry credentials (the engine's docker login is used)",
        path: "monitorImageBuild",
        value: { imageName: "ghcr.io/org/monitor:v1", registry: { username: "u", password: "p" } },
        at: "monitorImageBuild.registry",
        message: /unknown key/,
    },
    {
        rule: "production refuses an unpushed monitor build (a tag)",
        path: "monitorImageBuild",
        value: { imageName: "ghcr.io/org/monitor:v1", skipPush: true },
        also: { production: true, "groups.rpc.image": PINNED },
        at: "monitorImageBuild.skipPush",
        message: /not pushed is referenced by its tag/,
    },
    {
        rule: "bootstrap test names are unique",
        path: "bootstrapTests",
        value: [
            { name: "rpc", image: "sei:main", syncMode: "full-sync", storage: { size: "1Gi" } },
        ],
        at: "bootstrapTests.0.name",
        message: /must differ from each other and from group names/,
    },
    {
        rule: "unknown top-level key",
        path: "grups",
        value: {},
        message: /unknown key; did you mean 'groups'\?/,
    },
    {
        rule: "unknown group key",
        path: "groups.rpc.replica",
        value: 1,
        message: /did you mean 'replicas'\?/,
    },
    {
        rule: "unknown update key",
        path: "groups.rpc.update.haltHieght",
        value: 5,
        message: /did you mean 'haltHeight'\?/,
    },
    {
        rule: "group name DNS-1035",
        path: "groups.Rpc_1",
        value: validStack().groups,
        at: "groups.Rpc_1",
        message: /DNS-1035/,
    },
    {
        rule: "group name length",
        path: "groups.a-group-name-that-is-far-too-long-for-kubernetes",
        value: { replicas: 1, image: "x:1", storage: { size: "1Gi" } },
        at: "groups.a-group-name-that-is-far-too-long-for-kubernetes",
        message: /StatefulSet name .* \(limit 52\); shorten the group name/,
    },
    {
        rule: "pod name length",
        path: `groups.${"p".repeat(60)}`,
        value: { replicas: 1, image: "x:1", storage: { size: "1Gi" } },
        at: `groups.${"p".repeat(60)}`,
        message: /generated pod name .* \(limit 63\); shorten the group name/,
    },
    {
        rule: "bootstrap Job name length",
        path: `groups.${LONG_GROUP}`,
        value: { replicas: 1, image: "x:1", storage: { size: "1Gi" } },
        at: `groups.${LONG_GROUP}`,
        message: /generated bootstrap Job name .* \(limit 63\); shorten the group name/,
    },
    {
        rule: "no HardFork on avalanche",
        path: "chain",
        value: "avalanche",
        also: {
            "groups.hf": {
                replicas: 1,
                image: "avaplatform/avalanchego:v1.13.5",
                storage: { size: "1Ti" },
                update: { strategy: "HardFork", entrantVolumes: "genesis", haltHeight: 10 },
            },
        },
        at: "groups.hf.update.strategy",
        message: /avalanche node has no halt-height flag/,
    },
    // Node home (config/nodeHome.ts): chainId, genesis, config, peers, stateSync.
    {
        rule: "chainId characters",
        path: "chainId",
        value: "atlantic 2",
        message: /chainId must be 1-50 letters, digits/,
    },
    {
        rule: "sei needs a chainId or a genesis",
        path: "chainId",
        value: undefined,
        message: /sei nodes need chainId \(or a genesis, whose chain_id is used\) for groups rpc/,
    },
    {
        rule: "a cometbft chainId needs a genesis",
        path: "chainId",
        value: "dev-1",
        also: { chain: "cometbft", "groups.rpc.image": "cometbft/cometbft:v0.38.19" },
        message:
            /chainId needs a genesis .* for groups rpc: `cometbft init` writes a genesis with a random chain id/,
    },
    {
        rule: "genesis url needs sha256",
        path: "genesis",
        value: { url: "https://example.org/genesis.json" },
        at: "genesis.sha256",
        message: /genesis url needs sha256/,
    },
    {
        rule: "genesis sha256 is 64 hex",
        path: "genesis",
        value: { url: "https://example.org/genesis.json", sha256: "abc" },
        at: "genesis.sha256",
        message: /64 lower-case hex characters/,
    },
    {
        rule: "genesis url is http(s)",
        path: "genesis",
        value: { url: "ftp://example.org/genesis.json", sha256: SHA },
        at: "genesis.url",
        message: /url must be an http\(s\) URL/,
    },
    {
        rule: "genesis has a source",
        path: "genesis",
        value: {},
        at: "genesis.url",
        message:
            /exactly one of url \(with sha256\), configMap \(with an optional key\) or generate/,
    },
    {
        rule: "genesis has one source",
        path: "genesis",
        value: { url: "https://example.org/genesis.json", sha256: SHA, configMap: "genesis" },
        at: "genesis.configMap",
        message:
            /exactly one of url \(with sha256\), configMap \(with an optional key\) or generate/,
    },
    {
        rule: "genesis key goes with configMap",
        path: "genesis",
        value: { url: "https://example.org/genesis.json", sha256: SHA, key: "g.json" },
        at: "genesis.key",
        message: /key goes with configMap/,
    },
    {
        rule: "group genesis names a ConfigMap",
        path: "groups.rpc.genesis",
        value: { configMap: "Genesis_File" },
        at: "groups.rpc.genesis.configMap",
        message: /configMap must name a ConfigMap \(DNS-1123 subdomain\)/,
    },
    {
        rule: "config sections are tables",
        path: "groups.rpc.config",
        value: { configToml: "p2p.seeds = 'x'" },
        at: "groups.rpc.config.configToml",
        message: /configToml must be a table/,
    },
    {
        rule: "config sections are known",
        path: "groups.rpc.config",
        value: { configTOML: {} },
        at: "groups.rpc.config.configTOML",
        message: /did you mean 'configToml'\?/,
    },
    {
        rule: "TOML has no null",
        path: "groups.rpc.config",
        value: { configToml: { p2p: { seeds: null } } },
        at: "groups.rpc.config.configToml.p2p.seeds",
        message: /TOML has no null/,
    },
    {
        rule: "cometbft has no app.toml",
        path: "groups.rpc.config",
        value: { appToml: { "minimum-gas-prices": "0usei" } },
        also: {
            chain: "cometbft",
            chainId: undefined,
            "groups.rpc.image": "cometbft/cometbft:v0.38.19",
        },
        at: "groups.rpc.config.appToml",
        message: /cometbft nodes have no app.toml: their init writes only config.toml/,
    },
    {
        rule: "peers are <node id>@<host>:<port>",
        path: "groups.rpc.peers",
        value: { seeds: ["abc@seed.example.org:26656"] },
        at: "groups.rpc.peers.seeds.0",
        message: /node id is 40 lower-case hex characters/,
    },
    {
        rule: "peer ports are 1-65535",
        path: "groups.rpc.peers",
        value: { persistentPeers: [`${"a".repeat(40)}@node.example.org:70000`] },
        at: "groups.rpc.peers.persistentPeers.0",
        message: /the port 1-65535/,
    },
    {
        rule: "peers are not given twice",
        path: "groups.rpc.config",
        value: { configToml: { p2p: { "persistent-peers": "" } } },
        also: { "groups.rpc.peers": { persistentPeers: [`${"a".repeat(40)}@n:26656`] } },
        at: "groups.rpc.config.configToml.p2p.persistent-peers",
        message: /set peers.persistentPeers or configToml.p2p.persistent-peers, not both/,
    },
    {
        rule: "stateSync needs at least two rpc servers",
        path: "groups.rpc.stateSync",
        value: { rpcServers: ["https://rpc-1.example.org"] },
        at: "groups.rpc.stateSync.rpcServers",
        message:
            /rpcServers needs at least two servers: CometBFT's light client needs a primary and a witness/,
    },
    {
        rule: "stateSync rpc servers are http(s) URLs",
        path: "groups.rpc.stateSync",
        value: { rpcServers: ["rpc-1.example.org:26657", "https://rpc-2.example.org"] },
        at: "groups.rpc.stateSync.rpcServers.0",
        message: /an rpc server must be an http\(s\) RPC base URL without commas/,
    },
    {
        rule: "stateSync rpc servers have no commas",
        path: "groups.rpc.stateSync",
        value: { rpcServers: ["https://a.example.org/x,y", "https://rpc-2.example.org"] },
        at: "groups.rpc.stateSync.rpcServers.0",
        message: /an rpc server must be an http\(s\) RPC base URL without commas/,
    },
    {
        rule: "stateSync rpc servers are different servers",
        path: "groups.rpc.stateSync",
        value: { rpcServers: ["https://rpc-1.example.org", "https://rpc-1.example.org"] },
        at: "groups.rpc.stateSync.rpcServers",
        message: /rpcServers must be different servers/,
    },
    {
        rule: "stateSync trustPeriod is a Go duration",
        path: "groups.rpc.stateSync",
        value: {
            rpcServers: ["https://a.example.org", "https://b.example.org"],
            trustPeriod: "7d",
        },
        at: "groups.rpc.stateSync.trustPeriod",
        message: /trustPeriod must be a Go duration such as 168h0m0s/,
    },
    {
        rule: "stateSync trustPeriod is above 0",
        path: "groups.rpc.stateSync",
        value: {
            rpcServers: ["https://a.example.org", "https://b.example.org"],
            trustPeriod: "0h0m0s",
        },
        at: "groups.rpc.stateSync.trustPeriod",
        message: /trustPeriod must be above 0/,
    },
    {
        rule: "stateSync takes no trust height: the RPC servers give it at pod start",
        path: "groups.rpc.stateSync",
        value: {
            rpcServers: ["https://a.example.org", "https://b.example.org"],
            trustHeight: 1000,
        },
        at: "groups.rpc.stateSync.trustHeight",
        message: /unknown key/,
    },
    {
        rule: "stateSync and configToml.statesync are not both given",
        path: "groups.rpc.config",
        value: { configToml: { statesync: { enable: true } } },
        also: {
            "groups.rpc.stateSync": {
                rpcServers: ["https://a.example.org", "https://b.example.org"],
            },
        },
        at: "groups.rpc.config.configToml.statesync",
        message: /set stateSync or configToml.statesync, not both/,
    },
    {
        rule: "no stateSync on avalanche",
        path: "groups.rpc.stateSync",
        value: { rpcServers: ["https://a.example.org", "https://b.example.org"] },
        also: {
            chain: "avalanche",
            chainId: undefined,
            "groups.rpc.image": "avaplatform/avalanchego:v1.13.5",
        },
        message:
            /avalanche nodes are not prepared by chainfleet-agent: chainId, genesis, config, peers and stateSync apply to CometBFT-family chains/,
    },
    {
        rule: "no node-home keys on avalanche",
        path: "groups.rpc.peers",
        value: { seeds: [`${"a".repeat(40)}@seed.example.org:26656`] },
        also: {
            chain: "avalanche",
            "groups.rpc.image": "avaplatform/avalanchego:v1.13.5",
        },
        message: /avalanche nodes are not prepared by chainfleet-agent/,
    },
    {
        rule: "no chainId on avalanche",
        path: "chain",
        value: "avalanche",
        also: { "groups.rpc.image": "avaplatform/avalanchego:v1.13.5" },
        at: "chainId",
        message:
            /avalanche nodes are not prepared by chainfleet-agent: chainId, genesis, config, peers and stateSync apply to CometBFT-family chains/,
    },
    // The network keys (config/network.ts).
    {
        rule: "nodeKeySeed is 64 hex",
        path: "nodeKeySeed",
        value: "not-hex",
        message: /64 lower-case hex characters: pulumi config set --secret chainfleet:nodeKeySeed/,
    },
    {
        rule: "genesis.generate is for plain CometBFT apps",
        path: "genesis",
        value: { generate: {} },
        also: { nodeKeySeed: SEED, "groups.rpc.validator": {}, "groups.rpc.replicas": 1 },
        at: "genesis.generate",
        message: /a sei genesis needs accounts and gentxs: give genesis.url or genesis.configMap/,
    },
    {
        rule: "genesis.generate needs nodeKeySeed",
        path: "genesis",
        value: { generate: {} },
        also: COMET,
        at: "nodeKeySeed",
        message: /genesis.generate needs nodeKeySeed: the validators' keys are derived from it/,
    },
    {
        rule: "genesis.generate needs chainId",
        path: "chainId",
        value: undefined,
        also: { ...COMET, nodeKeySeed: SEED, genesis: { generate: {} } },
        message: /genesis.generate needs chainId/,
    },
    {
        rule: "genesis.generate needs a signing group",
        path: "genesis",
        value: { generate: {} },
        also: { ...COMET, nodeKeySeed: SEED },
        at: "genesis.generate",
        message: /needs a signing group \(a group with `validator: \{\}`\)/,
    },
    {
        rule: "genesis.generate is not for production",
        path: "production",
        value: true,
        also: { ...COMET, nodeKeySeed: SEED, genesis: { generate: {} } },
        at: "genesis.generate",
        message: /production stacks join a network with a published genesis/,
    },
    {
        rule: "genesis.generate time is RFC 3339",
        path: "genesis",
        value: { generate: { time: "yesterday" } },
        also: COMET,
        at: "genesis.generate.time",
        message: /time must be an RFC 3339 time/,
    },
    {
        rule: "genesis.generate is a network key",
        path: "groups.rpc.genesis",
        value: { generate: {} },
        at: "groups.rpc.genesis.generate",
        message: /generate is a network key: set chainfleet:genesis.generate/,
    },
    {
        rule: "a signing group has one replica",
        path: "groups.rpc.validator",
        value: { keySecret: "rpc-key" },
        also: { "groups.rpc.update.strategy": "Rolling" },
        at: "groups.rpc.replicas",
        message:
            /a signing group \(validator\) has exactly 1 replica: two processes with one validator key double-sign/,
    },
    {
        rule: "a signing group has no entrant (BlueGreen)",
        path: "groups.rpc.validator",
        value: { keySecret: "rpc-key" },
        also: { "groups.rpc.replicas": 1 },
        at: "groups.rpc.update.strategy",
        message:
            /a signing group cannot use BlueGreen: its entrant would run beside the incumbent with the same validator key/,
    },
    {
        rule: "a signing group has no entrant (HardFork)",
        path: "groups.rpc.validator",
        value: { keySecret: "rpc-key" },
        also: {
            "groups.rpc.replicas": 1,
            "groups.rpc.update": {
                strategy: "HardFork",
                entrantVolumes: "genesis",
                haltHeight: 100,
                upgradeName: "v2",
            },
        },
        at: "groups.rpc.update.strategy",
        message: /a signing group cannot use HardFork/,
    },
    {
        rule: "a validator of an existing network names its key",
        path: "groups.rpc.validator",
        value: {},
        also: { "groups.rpc.replicas": 1, "groups.rpc.update.strategy": "Rolling" },
        at: "groups.rpc.validator.keySecret",
        message: /a validator of an existing network needs keySecret/,
    },
    {
        rule: "a generated genesis derives its validators' keys",
        path: "groups.rpc.validator",
        value: { keySecret: "rpc-key" },
        also: {
            ...COMET,
            nodeKeySeed: SEED,
            genesis: { generate: {} },
            "groups.rpc.replicas": 1,
            "groups.rpc.update.strategy": "Rolling",
        },
        at: "groups.rpc.validator.keySecret",
        message:
            /a generated genesis names validators whose keys chainfleet derives from nodeKeySeed; drop keySecret/,
    },
    {
        rule: "a signing group is opted out of preprod",
        path: "preprod",
        value: { percent: 10, image: "ghcr.io/sei-protocol/sei:v6.2.0" },
        also: {
            "groups.rpc.validator": { keySecret: "rpc-key" },
            "groups.rpc.replicas": 1,
            "groups.rpc.update.strategy": "Rolling",
        },
        at: "preprod.optOut.groups",
        message: /signing group rpc must be opted out of the preprod cohort/,
    },
    {
        rule: "validator keySecret names a Secret",
        path: "groups.rpc.validator",
        value: { keySecret: "Key_File" },
        at: "groups.rpc.validator.keySecret",
        message: /keySecret must name a Secret/,
    },
    {
        rule: "avalanche groups do not sign with CometBFT keys",
        path: "groups.rpc.validator",
        value: { keySecret: "k" },
        also: { ...AVALANCHE, "groups.rpc.replicas": 1 },
        message: /avalanche groups cannot sign with a CometBFT validator key/,
    },
    {
        rule: "avalanche nodes take no node keys",
        path: "nodeKeySeed",
        value: SEED,
        also: AVALANCHE,
        message: /avalanche nodes take no CometBFT node keys/,
    },
    {
        rule: "in-fleet peers need nodeKeySeed",
        path: "groups.rpc.peers",
        value: { inFleet: true },
        at: "groups.rpc.peers.inFleet",
        message: /in-fleet peers need nodeKeySeed/,
    },
    {
        rule: "placement toleration effects are Kubernetes'",
        path: "placement",
        value: { tolerations: [{ key: "pool", operator: "Exists", effect: "NoScheduling" }] },
        at: "placement.tolerations.0.effect",
        message: /effect must be NoSchedule, PreferNoSchedule or NoExecute/,
    },
    {
        rule: "placement nodeSelector values are strings",
        path: "groups.rpc.placement",
        value: { nodeSelector: { pool: 3 } },
        at: "groups.rpc.placement.nodeSelector.pool",
        message: /nodeSelector values must be strings/,
    },
    {
        rule: "chain cosmos needs its daemon",
        path: "chain",
        value: "cosmos",
        at: "cosmos",
        message:
            /chain cosmos needs the daemon it runs: cosmos: \{daemon: gaiad, sdkVersion: v0\.50\.13\}/,
    },
    {
        rule: "cosmos is for chain cosmos only",
        path: "cosmos",
        value: { daemon: "gaiad" },
        at: "cosmos",
        message: /cosmos applies to chain cosmos only; the sei adapter knows its own daemon/,
    },
    {
        rule: "cosmos.daemon is a command or an absolute path",
        path: "cosmos",
        value: { daemon: "gaiad start" },
        also: { chain: "cosmos" },
        at: "cosmos.daemon",
        message:
            /daemon must be the daemon's name in the image's PATH \(e\.g\. gaiad\) or an absolute path/,
    },
    {
        rule: "cosmos.home is an absolute directory",
        path: "cosmos",
        value: { daemon: "gaiad", home: "/data/../etc" },
        also: { chain: "cosmos" },
        at: "cosmos.home",
        message: /home must be an absolute directory other than \//,
    },
    {
        rule: "cosmos.sdkVersion has its patch version",
        path: "cosmos",
        value: { daemon: "gaiad", sdkVersion: "v0.50" },
        also: { chain: "cosmos" },
        at: "cosmos.sdkVersion",
        message: /with its patch version.*--halt-height changed meaning in v0\.50\.10/,
    },
    {
        rule: "cosmos.sdkVersion is a released SDK line",
        path: "cosmos",
        value: { daemon: "gaiad", sdkVersion: "v0.49.1" },
        also: { chain: "cosmos" },
        at: "cosmos.sdkVersion",
        message:
            /v0\.49 is not a Cosmos SDK release line chainfleet knows \(v0\.45, v0\.46, v0\.47, v0\.50, v0\.53, or newer\)/,
    },
    {
        rule: "overrides.json is chainfleet's",
        path: "groups.rpc.configFiles",
        value: { "overrides.json": "{}" },
        at: "groups.rpc.configFiles.overrides.json",
        message: /overrides.json is chainfleet's own file/,
    },
];

describe("config validation", () => {
    for (const c of cases) {
        it(`rejects: ${c.rule}`, () => {
            let raw = validStack();
            for (const [path, value] of Object.entries(c.also ?? {})) {
                raw = withValue(path, value, raw);
            }
            raw = withValue(c.path, c.value, raw);
            const problems = problemsOf(raw);
            const at = c.at ?? c.path;
            const problem = problems.find((p) => p.path === at && c.message.test(p.rule));
            assert.ok(
                problem,
                `no problem at ${at} matching ${c.message}; got:\n${problems.map((p) => `${p.path}: ${p.rule}`).join("\n")}`,
            );
        });
    }

    it("accepts the valid base stack and fills defaults", () => {
        const config = parseStackConfig(validStack());
        assert.equal(config.namespace, "testnet", "namespace defaults to the network");
        assert.equal(config.production, false);
        assert.equal(config.groups.rpc.update.caughtUpTolerance, DEFAULTS.caughtUpTolerance);
        assert.equal(config.groups.rpc.update.timeouts.gateSeconds, DEFAULTS.gateSeconds);
    });

    it("defaults a missing update block to Rolling", () => {
        const config = parseStackConfig(withValue("groups.rpc.update", undefined));
        assert.equal(config.groups.rpc.update.strategy, "Rolling");
    });

    it("reports every problem at once, with path, value and rule", () => {
        const raw = validStack();
        raw.chain = "ethereum";
        const rpc = (raw.groups as Record<string, Record<string, unknown>>).rpc;
        rpc.replicas = 0;
        rpc.image = "nope";
        const err = (() => {
            try {
                parseStackConfig(raw);
            } catch (e) {
                return e as ConfigError;
            }
            return assert.fail("expected rejection");
        })();
        assert.deepEqual(
            err.problems.map((p) => p.path),
            ["chain", "groups.rpc.image", "groups.rpc.replicas"],
        );
        assert.match(err.message, /3 problems/);
        assert.match(err.message, /groups\.rpc\.replicas: replicas must be at least 1 \(got 0\)/);
        assert.match(err.message, /chain: .* \(got "ethereum"\)/);
    });

    it("resolves a catalog entry to its digest-pinned image", () => {
        const config = parseStackConfig(
            withValue("groups.rpc", {
                replicas: 1,
                catalogImage: "sei-full",
                storage: { size: "1Gi" },
            }),
        );
        assert.match(config.groups.rpc.image, /@sha256:[0-9a-f]{64}$/);
    });

    it("lets a production stack run catalog entries and digests", () => {
        const raw = withValue("groups.rpc", {
            replicas: 1,
            catalogImage: "sei-full",
            storage: { size: "1Gi" },
        });
        raw.production = true;
        assert.equal(parseStackConfig(raw).production, true);
    });

    it("accepts an lz4 snapshot once snapshotImage is set", () => {
        const raw = withValue("groups.rpc.snapshot", {
            url: "https://x.example/s.tar.lz4",
            sha256: SHA,
        });
        raw.snapshotImage = "docker.io/library/debian:bookworm-slim";
        assert.equal(parseStackConfig(raw).snapshotImage, raw.snapshotImage);
    });

    it("lets a production stack keep the default snapshot image when no group has a snapshot", () => {
        const raw = withValue("groups.rpc.image", PINNED);
        raw.production = true;
        assert.match(parseStackConfig(raw).snapshotImage, /busybox:1\.36$/);
    });

    it("lets a production stack restore snapshots with a digest-pinned snapshot image", () => {
        const raw = withValue("groups.rpc.image", PINNED);
        raw.production = true;
        raw.snapshotImage = `docker.io/library/busybox${DIGEST}`;
        raw.monitorImage = `ghcr.io/org/chainfleet-monitor${DIGEST}`;
        withValue("groups.rpc.snapshot", { url: "https://x.example/s.tar", sha256: SHA }, raw);
        assert.equal(parseStackConfig(raw).production, true);
    });

    it("gives each group the stack's chainId and genesis; a group's own genesis wins", () => {
        const raw = withValue("genesis", { url: "https://example.org/g.json.gz", sha256: SHA });
        withValue("groups.rpc.peers", { seeds: [`${"b".repeat(40)}@seed.example.org:26656`] }, raw);
        withValue("groups.other", { ...(validStack().groups as Record<string, object>).rpc }, raw);
        withValue("groups.other.genesis", { configMap: "other-genesis" }, raw);
        withValue("groups.other.config", { appToml: { "minimum-gas-prices": "0.01usei" } }, raw);
        const config = parseStackConfig(raw);
        assert.equal(config.groups.rpc.chainId, "atlantic-2");
        assert.deepEqual(config.groups.rpc.genesis, {
            url: "https://example.org/g.json.gz",
            sha256: SHA,
        });
        assert.deepEqual(config.groups.other.genesis, {
            configMap: "other-genesis",
            key: "genesis.json",
        });
        assert.deepEqual(config.groups.other.config, {
            appToml: { "minimum-gas-prices": "0.01usei" },
        });
        assert.deepEqual(config.groups.rpc.peers?.seeds, [
            `${"b".repeat(40)}@seed.example.org:26656`,
        ]);
    });

    it("takes a group's stateSync with the default trust period", () => {
        const servers = ["https://rpc-1.example.org", "http://10.0.0.2:26657/"];
        const config = parseStackConfig(withValue("groups.rpc.stateSync", { rpcServers: servers }));
        assert.deepEqual(config.groups.rpc.stateSync, {
            rpcServers: servers,
            trustPeriod: "168h0m0s",
        });
        const custom = parseStackConfig(
            withValue("groups.rpc.stateSync", { rpcServers: servers, trustPeriod: "336h" }),
        );
        assert.equal(custom.groups.rpc.stateSync?.trustPeriod, "336h");
    });

    it("never prints a nodeKeySeed, not even a wrong one", () => {
        const secret = "Z".repeat(64);
        const problems = problemsOf(withValue("nodeKeySeed", secret));
        const problem = problems.find((p) => p.path === "nodeKeySeed");
        assert.equal(problem?.value, "(secret, not shown)");
        assert.ok(!JSON.stringify(problems).includes(secret));
    });

    it("resolves a generated genesis to its ConfigMap for every group, and the stack's placement", () => {
        const placement = { nodeSelector: { pool: "nodes" } };
        const own = { tolerations: [{ key: "dedicated", operator: "Exists" as const }] };
        const config = parseStackConfig({
            network: "dev",
            chain: "cometbft",
            chainId: "dev-1",
            nodeKeySeed: SEED,
            genesis: { generate: {} },
            placement,
            groups: {
                validator: {
                    replicas: 1,
                    image: "cometbft/cometbft:v0.38.19",
                    storage: { size: "1Gi" },
                    validator: {},
                },
                rpc: {
                    replicas: 2,
                    image: "cometbft/cometbft:v0.38.19",
                    storage: { size: "1Gi" },
                    placement: own,
                },
            },
        });
        assert.deepEqual(config.genesis, { generate: { time: "2026-01-01T00:00:00Z", power: 10 } });
        for (const g of ["validator", "rpc"]) {
            assert.deepEqual(config.groups[g].genesis, {
                configMap: "dev-genesis",
                key: "genesis.json",
            });
        }
        assert.deepEqual(config.groups.validator.placement, placement);
        assert.deepEqual(config.groups.rpc.placement, own, "a group's own placement wins");
    });

    it("accepts a digest-pinned image", () => {
        const digest = `ghcr.io/sei-protocol/sei@sha256:${"a".repeat(64)}`;
        assert.equal(
            parseStackConfig(withValue("groups.rpc.image", digest)).groups.rpc.image,
            digest,
        );
    });
});

describe("raw Pulumi config", () => {
    it("parses structured values and keeps scalars as text", () => {
        const raw = rawStackConfig({
            "chainfleet:network": "dev",
            "chainfleet:production": "true",
            "chainfleet:groups": '{"a":{"replicas":1}}',
            "kubernetes:context": "ignored",
        });
        assert.deepEqual(raw, {
            network: "dev",
            production: "true",
            groups: { a: { replicas: 1 } },
        });
    });

    it("reads production=true from its string form", () => {
        const all = { "chainfleet:production": "true" } as Record<string, string>;
        const pinned = withValue(
            "groups.rpc.image",
            `ghcr.io/sei-protocol/sei@sha256:${"c".repeat(64)}`,
        );
        for (const [k, v] of Object.entries(pinned)) {
            all[`chainfleet:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
        }
        assert.equal(loadStackConfig(all).production, true);
    });
});

describe("example stacks", () => {
    const stackFiles = readdirSync(".").filter((f) => /^Pulumi\..+\.yaml$/.test(f));

    it("include dev and two network stacks", () => {
        assert.ok(stackFiles.includes("Pulumi.dev.yaml"));
        assert.ok(stackFiles.length >= 3, `found ${stackFiles.join(", ")}`);
    });

    for (const file of stackFiles) {
        it(`${file} validates`, () => {
            const config = loadStackConfig(readStackFile(file));
            assert.ok(Object.keys(config.groups).length > 0);
        });
    }
});
