/**
 * `npm run plan` (scripts/plan.ts) as a user and a pipeline run it: the committed dev stack
 * offline, as JSON and as text, from a child process; a broken stack file names every key path;
 * then, in this process with a fake cluster, a plan read from the cluster and a cluster that
 * cannot be read.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { Writer } from "protobufjs/minimal";
import { CURRENT_PLAN_PATH, appliedPlanPath } from "../../chains/upgradePlan";
import type { ChainRpc } from "../../kube/chainPlan";
import type { ClusterReader } from "../../kube/incumbent";
import type { ReadableStackPlan } from "../../lib/readablePlan";
import { runPlan } from "../../scripts/plan";

const ROOT = path.join(__dirname, "..", "..");

/** The command as npm runs it (package.json `plan`). */
function planProcess(...args: string[]) {
    const r = spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "scripts/plan.ts", ...args],
        { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, KUBECONFIG: "" } },
    );
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The text plan with each wrapped field on one line. */
const unwrapped = (text: string) => text.replace(/\n {15}(?=\S)/g, " ");

/** Node RPC of a cluster without nodes: no pod of any set is Ready. */
const noNodes: ChainRpc = {
    readyPods: async () => [],
    get: async () => assert.fail("no node to ask"),
};

/** The command in this process, with a fake cluster. */
async function plan(reader: ClusterReader | undefined, ...args: string[]) {
    return planWith(reader, noNodes, ...args);
}

async function planWith(reader: ClusterReader | undefined, chainRpc: ChainRpc, ...args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runPlan(args, {
        out: (t) => (stdout += t),
        err: (t) => (stderr += t),
        cwd: ROOT,
        env: {},
        reader,
        chainRpc,
    });
    return { code, stdout, stderr };
}

/**
 * Pulumi.sei-testnet.yaml's archive group (HardFork, haltHeight 180000000, upgradeName v6.1.0)
 * served by an older set, archive-aaaaaaaa, whose node answers with `plan` scheduled.
 */
function seiTestnet(plan: { name: string; height: number } | undefined) {
    const reader: ClusterReader = {
        service: async (_ns, name) => ({ selector: { "chainfleet.io/set": `${name}-aaaaaaaa` } }),
        statefulSet: async () => ({
            image: "ghcr.io/sei-protocol/sei:v6.0.0",
            replicas: 2,
            revision: "aaaaaaaa",
        }),
    };
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    // The latest block now, the one 100 blocks back 40 s ago: 0.40 s a block.
    const now = Date.now();
    const message = plan
        ? Writer.create()
              .uint32(0x0a)
              .fork()
              .uint32(0x0a)
              .string(plan.name)
              .uint32(0x18)
              .int64(plan.height)
              .ldelim()
              .finish()
        : new Uint8Array();
    const answers: Record<string, unknown> = {
        "/status": {
            result: {
                node_info: { network: "atlantic-2", version: "v6.0.0" },
                sync_info: {
                    latest_block_height: "179990000",
                    latest_block_time: new Date(now).toISOString(),
                    catching_up: false,
                },
            },
        },
        [CURRENT_PLAN_PATH]: { result: { response: { code: 0, value: b64(message) } } },
        [appliedPlanPath("v6.1.0")]: { result: { response: { code: 0, value: "" } } },
        "/block?height=179989900": {
            result: {
                block: {
                    header: {
                        height: "179989900",
                        time: new Date(now - 40_000).toISOString(),
                    },
                },
            },
        },
    };
    const chainRpc: ChainRpc = {
        readyPods: async (namespace, selector) =>
            selector["chainfleet.io/set"] === "archive-aaaaaaaa" && namespace === "sei-testnet"
                ? ["archive-aaaaaaaa-0"]
                : [],
        get: async (_ns, _pod, _port, path) => answers[path] ?? assert.fail(`unexpected ${path}`),
    };
    return { reader, chainRpc };
}

const dev = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")).config;

/**
 * A cluster where the dev stack's validator already runs its revision and rpc serves from an
 * older one (rpc-aaaaaaaa, CometBFT v0.38.18, 2 replicas): a BlueGreen upgrade of rpc.
 */
async function devCluster(): Promise<ClusterReader> {
    const offline = await plan(undefined, "-s", "dev", "--offline", "--json");
    const desired = JSON.parse(offline.stdout) as ReadableStackPlan;
    const validator = desired.groups.find((g) => g.group === "validator")!.entrant;
    return {
        async service(namespace, name) {
            assert.equal(namespace, "chainfleet-dev");
            const set = name === "rpc" ? "rpc-aaaaaaaa" : validator.statefulSet;
            return { selector: { "chainfleet.io/set": set } };
        },
        async statefulSet(_namespace, name) {
            return name === "rpc-aaaaaaaa"
                ? { image: "cometbft/cometbft:v0.38.18", replicas: 2, revision: "aaaaaaaa" }
                : { image: validator.image, replicas: 1, revision: validator.revision };
        },
    };
}

describe("npm run plan (scripts/plan.ts)", function () {
    this.timeout(60_000); // the child processes start ts-node

    it("package.json runs it as the other CLIs", () => {
        const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(pkg.scripts.plan, "node -r ts-node/register/transpile-only scripts/plan.ts");
    });

    it("--offline --json: the dev stack's groups, as first deployments", () => {
        const r = planProcess("-s", "dev", "--offline", "--json");
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as ReadableStackPlan;
        assert.deepEqual(Object.keys(out), [
            "stack",
            "network",
            "chain",
            "namespace",
            "offline",
            "preprod",
            "groups",
            "notes",
            "problems",
        ]);
        assert.deepEqual(
            [out.stack, out.network, out.chain, out.namespace, out.offline, out.problems],
            ["dev", "dev", "cometbft", "chainfleet-dev", true, []],
        );
        const groups = dev["chainfleet:groups"];
        assert.deepEqual(
            out.groups.map((g) => g.group),
            Object.keys(groups),
        );
        for (const g of out.groups) {
            assert.deepEqual(Object.keys(g), [
                "group",
                "chain",
                "strategy",
                "upgrade",
                "planKind",
                "reason",
                "records",
                "incumbent",
                "entrant",
                "imageChanged",
                "hardFork",
                "chainPlan",
                "rollout",
                "gate",
                "trafficSwitch",
                "preprod",
                "deletes",
                "notes",
                "problems",
            ]);
            assert.equal(g.upgrade, "create");
            assert.equal(g.incumbent, null);
            assert.equal(g.chainPlan, null);
            assert.deepEqual(g.deletes, []);
            assert.equal(g.strategy, groups[g.group].update.strategy);
            assert.equal(g.entrant.image, groups[g.group].image);
            assert.equal(g.entrant.replicas, groups[g.group].replicas);
            assert.match(g.entrant.revision, /^[0-9a-f]{8}$/);
        }
    });

    it("--offline: the text says it is offline, then one section per group", () => {
        const r = planProcess("-s", "dev", "--offline");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        const lines = r.stdout.split("\n");
        assert.equal(
            lines[0],
            "Plan of stack dev: network dev, chain cometbft, namespace chainfleet-dev",
        );
        assert.match(
            lines[1],
            /^OFFLINE: the cluster was not read; every group is planned as a first deployment$/,
        );
        for (const group of Object.keys(dev["chainfleet:groups"])) {
            const section = r.stdout.split(`\n${group}: create\n`)[1]?.split("\n\n")[0];
            assert.ok(section, `no section for ${group} in\n${r.stdout}`);
            assert.match(section, /^ {2}image {8}cometbft\/cometbft:v0\.38\.19$/m);
            assert.match(section, /^ {2}will delete {2}nothing$/m);
        }
    });

    it("README §The plan shows the dev stack's real output", async () => {
        const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
        const section = readme.split("\n### The plan\n")[1]?.split("\n### ")[0];
        assert.ok(section, "README has no §The plan");
        const [offline, upgrade] = [...section.matchAll(/```text\n([\s\S]*?)```/g)].map(
            (m) => m[1],
        );
        assert.equal(offline, (await plan(undefined, "-s", "dev", "--offline")).stdout);
        // The second example is the rpc group's section of a plan read from a cluster.
        const live = (await plan(await devCluster(), "-s", "dev")).stdout;
        assert.equal(upgrade, live.split("\n\n").find((s) => s.startsWith("rpc: ")) + "\n");
    });

    it("a broken stack file: every problem with its key path, exit 1", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "plan-cli-"));
        try {
            const file = path.join(dir, "Pulumi.broken.yaml");
            const groups = structuredClone(dev["chainfleet:groups"]);
            groups.rpc.replicas = 0;
            groups.rpc.update.strategy = "Bluegreen";
            writeFileSync(
                file,
                JSON.stringify({ config: { ...dev, "chainfleet:groups": groups } }),
            );
            const r = planProcess("--stack-file", file);
            assert.equal(r.code, 1, r.stderr);
            assert.equal(r.stdout, "");
            assert.match(
                r.stderr,
                /^plan: .*Pulumi\.broken\.yaml: Invalid chainfleet stack config \(2 problems\)/,
            );
            assert.match(r.stderr, /^ {2}- groups\.rpc\.replicas: .*\(got 0\)$/m);
            assert.match(r.stderr, /^ {2}- groups\.rpc\.update\.strategy: .*\(got "Bluegreen"\)$/m);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("reads the incumbents from the cluster and plans the upgrade they call for", async () => {
        const reader = await devCluster();
        const r = await plan(reader, "-s", "dev");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^incumbents read from the cluster$/m);
        assert.match(r.stdout, /^validator: none$/m);
        assert.match(r.stdout, /^rpc: BlueGreen$/m);
        assert.match(
            r.stdout,
            /^ {2}gate {9}caughtUp within 5m \(300s\): 2 replicas, tolerance 5 blocks, /m,
        );
        assert.match(r.stdout, /^ {2}switch {7}Service rpc → rpc-\w{8} within 2m \(120s\)/m);
        for (const name of ["rpc-aaaaaaaa", "data-rpc-aaaaaaaa-0", "data-rpc-aaaaaaaa-1"]) {
            assert.match(r.stdout, new RegExp(`^ {17}\\w+ .*\\b${name}(,|$)`, "m"), name);
        }
        const json = JSON.parse((await plan(reader, "-s", "dev", "--json")).stdout);
        assert.equal(json.offline, false);
        assert.equal(json.groups[1].imageChanged, true);
        assert.equal(json.groups[1].deletes.length, 8);
    });

    it("a cluster that cannot be read: says so and how to plan without it, exit 1", async () => {
        const reader: ClusterReader = {
            service: async () => {
                throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
            },
            statefulSet: async () => undefined,
        };
        const r = await plan(reader, "-s", "dev");
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        assert.equal(
            r.stderr,
            "plan: cannot read the cluster (connect ECONNREFUSED 127.0.0.1:6443); use --offline to plan without it\n",
        );
    });

    it("a group that cannot be declared: the plan, then the problem, exit 1", async () => {
        // A HardFork group whose incumbent's image is unknown: the bootstrap has nothing to run.
        const reader: ClusterReader = {
            service: async (_ns, name) => ({
                selector: { "chainfleet.io/set": `${name}-aaaaaaaa` },
            }),
            statefulSet: async () => undefined,
        };
        const r = await plan(reader, "-s", "sei-testnet");
        assert.equal(r.code, 1);
        assert.match(r.stdout, /^archive: HardFork$/m);
        assert.match(r.stdout, /^ {2}PROBLEM {6}group archive: cannot tell which image/m);
        assert.match(
            r.stderr,
            /^plan: group archive: cannot tell which image .* set update\.bootstrapImage/m,
        );
    });

    it("a HardFork group: the chain's scheduled upgrade, its height, name and when", async () => {
        const { reader, chainRpc } = seiTestnet({ name: "v6.1.0", height: 180000000 });
        const r = await planWith(reader, chainRpc, "-s", "sei-testnet");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^archive: HardFork$/m);
        assert.match(
            r.stdout,
            /^ {2}chain plan {3}upgrade v6\.1\.0 at 180000000, in ~1h6m \(10000 blocks at 0\.40s\/block\)$/m,
        );
        const json = JSON.parse(
            (await planWith(reader, chainRpc, "-s", "sei-testnet", "--json")).stdout,
        );
        const archive = (json as ReadableStackPlan).groups.find((g) => g.group === "archive")!;
        assert.deepEqual(archive.chainPlan, {
            level: "info",
            message: "upgrade v6.1.0 at 180000000, in ~1h6m (10000 blocks at 0.40s/block)",
            node: "archive-aaaaaaaa-0",
            scheduled: { name: "v6.1.0", height: 180000000, info: "" },
            latestHeight: 179990000,
            secondsPerBlock: 0.4,
            etaSeconds: 4000,
            appliedHeight: 0,
        });
        // BlueGreen groups are not asked.
        assert.equal(json.groups.find((g: { group: string }) => g.group === "rpc").chainPlan, null);
    });

    it("a HardFork the chain contradicts: the plan, then the problem naming the key, exit 1", async () => {
        const { reader, chainRpc } = seiTestnet({ name: "v6.1.0", height: 180000500 });
        const r = await planWith(reader, chainRpc, "-s", "sei-testnet");
        assert.equal(r.code, 1);
        assert.match(
            r.stdout,
            /^ {2}PROBLEM {6}group archive: the chain's plan v6\.1\.0 is at height 180000500,/m,
        );
        assert.match(
            r.stderr,
            /^plan: group archive: the chain's plan v6\.1\.0 is at height 180000500, but groups\.archive\.update\.haltHeight is 180000000: set it to 180000500/m,
        );
    });

    it("no plan on the chain yet: a warning in the plan, exit 0", async () => {
        const { reader, chainRpc } = seiTestnet(undefined);
        const r = await planWith(reader, chainRpc, "-s", "sei-testnet");
        assert.equal(r.code, 0, r.stderr);
        assert.match(
            unwrapped(r.stdout),
            /^ {2}chain plan {3}WARNING: no upgrade plan is scheduled on the chain yet \(governance proposal not passed\?\): nothing on chain confirms groups\.archive\.update\.haltHeight 180000000 or upgrade v6\.1\.0; 180000000 is in ~1h6m \(10000 blocks at 0\.40s\/block\)\. Go on only if the fork is coordinated off chain \(every validator halting at 179999999\)$/m,
        );
    });

    it("no node to ask: a warning that says why, exit 0", async () => {
        const { reader } = seiTestnet(undefined);
        const r = await planWith(reader, noNodes, "-s", "sei-testnet");
        assert.equal(r.code, 0, r.stderr);
        assert.match(
            unwrapped(r.stdout),
            /^ {2}chain plan {3}WARNING: cannot read the chain's upgrade plan \(no Ready pod of set archive-aaaaaaaa to ask\), so groups\.archive\.update\.haltHeight 180000000 and upgradeName v6\.1\.0 are not checked against the chain$/m,
        );
    });

    for (const [name, args, message] of [
        ["no stack", [], /^plan: give the stack: -s <stack>/],
        ["a stack without a file", ["-s", "nope"], /^plan: -s: Pulumi\.nope\.yaml does not exist/],
        ["an unknown option", ["-s", "dev", "--ofline"], /unknown option '--ofline'/],
    ] as const) {
        it(`exits 2 on ${name}`, async () => {
            const r = await plan(undefined, ...args);
            assert.equal(r.code, 2, r.stderr);
            assert.match(r.stderr, message);
            assert.equal(r.stdout, "");
        });
    }
});
