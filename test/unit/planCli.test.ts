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

/** The command in this process, with a fake cluster. */
async function plan(reader: ClusterReader | undefined, ...args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runPlan(args, {
        out: (t) => (stdout += t),
        err: (t) => (stderr += t),
        cwd: ROOT,
        env: {},
        reader,
    });
    return { code, stdout, stderr };
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
