/**
 * The chain's upgrade plan read at preview: which groups are checked (lib/chainPlanCheck.ts
 * chainPlanTargets), the read from one Ready pod with a fake ChainRpc (kube/chainPlan.ts
 * readChainPlan), the verdicts and the error that stops `pulumi up`, and the real ChainRpc
 * against a fake API server (pod list and pod proxy over HTTP, as the cluster serves them).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Writer } from "protobufjs/minimal";
import { CURRENT_PLAN_PATH, appliedPlanPath } from "../../chains/upgradePlan";
import { parseStackConfig } from "../../config";
import { ChainRpc, kubeChainRpc, readChainPlan, readChainPlans } from "../../kube/chainPlan";
import {
    ChainPlanError,
    ChainPlanTarget,
    chainPlanError,
    chainPlanTargets,
    checkChainPlans,
} from "../../lib/chainPlanCheck";
import type { Incumbent } from "../../lib/plan";
import { fleetGroupArgs, groupUpgrade } from "../../lib/planGroup";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const abci = (value: Uint8Array) => ({
    jsonrpc: "2.0",
    id: -1,
    result: { response: { code: 0, log: "", value: b64(value), height: "5000" } },
});
const planAnswer = (name: string, height: number) =>
    abci(
        Writer.create()
            .uint32(0x0a)
            .fork()
            .uint32(0x0a)
            .string(name)
            .uint32(0x18)
            .int64(height)
            .ldelim()
            .finish(),
    );
const appliedAnswer = (height: number) =>
    abci(height === 0 ? new Uint8Array() : Writer.create().uint32(0x08).int64(height).finish());
const status = (height: number, time: string) => ({
    jsonrpc: "2.0",
    id: -1,
    result: {
        node_info: { network: "atlantic-2", version: "v6.0.0" },
        sync_info: {
            latest_block_height: String(height),
            latest_block_time: time,
            catching_up: false,
        },
    },
});
const block = (height: number, time: string) => ({
    jsonrpc: "2.0",
    id: -1,
    result: { block: { header: { height: String(height), time } } },
});

function stack(groups: Record<string, Record<string, unknown>>, chain = "sei") {
    const chainKeys: Record<string, Record<string, unknown>> = {
        sei: { chainId: "atlantic-2" },
        cosmos: { chainId: "cosmoshub-4", cosmos: { daemon: "gaiad", sdkVersion: "v0.50.13" } },
    };
    const base = {
        replicas: 2,
        image: "ghcr.io/sei-protocol/sei:v6.1.0",
        storage: { size: "1Ti" },
    };
    return parseStackConfig({
        network: "testnet",
        chain,
        ...chainKeys[chain],
        groups: Object.fromEntries(
            Object.entries(groups).map(([g, update]) => [g, { ...base, update }]),
        ),
    });
}

const OLD: Incumbent = {
    set: "archive-aaaaaaaa",
    revision: "aaaaaaaa",
    image: "ghcr.io/sei-protocol/sei:v6.0.0",
};
const hardFork = {
    strategy: "HardFork",
    haltHeight: 5600,
    upgradeName: "v6.1.0",
    entrantVolumes: "cloneIncumbent",
};

describe("chain plan: which groups are checked", () => {
    it("HardFork groups of a Cosmos SDK chain that have an incumbent, upgrading or steady", () => {
        const config = stack({
            archive: hardFork,
            steady: { ...hardFork, upgradeName: undefined },
            fresh: hardFork,
            rpc: { strategy: "BlueGreen" },
        });
        const args = fleetGroupArgs("testnet", config);
        const steadySet = groupUpgrade(args[1]).upgrade.set;
        const incumbents: Record<string, Incumbent | undefined> = {
            archive: OLD,
            // Already on its revision: the fork was made.
            steady: { set: steadySet, revision: steadySet.split("-").pop()! },
            fresh: undefined,
            rpc: { ...OLD, set: "rpc-aaaaaaaa" },
        };
        const targets = chainPlanTargets(fleetGroupArgs("testnet", config, incumbents));
        assert.deepEqual(targets, [
            {
                group: "archive",
                namespace: "testnet",
                chain: "sei",
                set: "archive-aaaaaaaa",
                selector: {
                    "chainfleet.io/network": "testnet",
                    "chainfleet.io/group": "archive",
                    "chainfleet.io/set": "archive-aaaaaaaa",
                },
                haltHeight: 5600,
                upgradeName: "v6.1.0",
                upgrading: true,
            },
            {
                group: "steady",
                namespace: "testnet",
                chain: "sei",
                set: steadySet,
                selector: {
                    "chainfleet.io/network": "testnet",
                    "chainfleet.io/group": "steady",
                    "chainfleet.io/set": steadySet,
                },
                haltHeight: 5600,
                upgrading: false,
            },
        ]);
    });

    it("a cosmos chain's HardFork group too", () => {
        const config = stack({ hub: hardFork }, "cosmos");
        const targets = chainPlanTargets(
            fleetGroupArgs("testnet", config, { hub: { ...OLD, set: "hub-aaaaaaaa" } }),
        );
        assert.deepEqual(
            targets.map((t) => [t.group, t.chain, t.set, t.upgrading]),
            [["hub", "cosmos", "hub-aaaaaaaa", true]],
        );
    });

    it("no group of a chain without x/upgrade (cometbft cannot use HardFork; avalanche neither)", () => {
        const config = stack({ rpc: { strategy: "BlueGreen" } }, "cometbft");
        const args = fleetGroupArgs("testnet", config, { rpc: OLD });
        assert.deepEqual(chainPlanTargets(args), []);
    });
});

/** A fake cluster: pods by selector, and answers by pod and path. Records each GET. */
function fakeRpc(answers: Record<string, unknown | Error>, pods = ["archive-aaaaaaaa-0"]) {
    const calls: string[] = [];
    const rpc: ChainRpc = {
        async readyPods() {
            return pods;
        },
        async get(namespace, pod, port, p) {
            calls.push(`${namespace}/${pod}:${port}${p}`);
            const answer = answers[p];
            if (answer === undefined) throw new Error(`HTTP 404 from ${p}`);
            if (answer instanceof Error) throw answer;
            return answer;
        },
    };
    return { rpc, calls };
}

const target: ChainPlanTarget = {
    group: "archive",
    namespace: "testnet",
    chain: "sei",
    set: "archive-aaaaaaaa",
    selector: { "chainfleet.io/set": "archive-aaaaaaaa" },
    haltHeight: 5600,
    upgradeName: "v6.1.0",
    upgrading: true,
};
const NOW = Date.parse("2026-12-06T10:00:03Z");
const healthy = {
    "/status": status(5000, "2026-12-06T10:00:00Z"),
    [CURRENT_PLAN_PATH]: planAnswer("v6.1.0", 5600),
    [appliedPlanPath("v6.1.0")]: appliedAnswer(0),
    "/block?height=4900": block(4900, "2026-12-06T09:50:00Z"),
};

describe("chain plan: the read (kube/chainPlan.ts)", () => {
    it("asks the first Ready pod for its status, the plan, the applied height and an older block", async () => {
        const { rpc, calls } = fakeRpc(healthy, ["archive-aaaaaaaa-0", "archive-aaaaaaaa-1"]);
        const read = await readChainPlan(rpc, target, { now: () => NOW });
        assert.deepEqual(read, {
            state: {
                node: "archive-aaaaaaaa-0",
                latestHeight: 5000,
                plan: { name: "v6.1.0", height: 5600, info: "" },
                latestBlockAgeSeconds: 3,
                secondsPerBlock: 6,
                appliedHeight: 0,
            },
        });
        assert.deepEqual(calls.sort(), [
            `testnet/archive-aaaaaaaa-0:26657${appliedPlanPath("v6.1.0")}`,
            `testnet/archive-aaaaaaaa-0:26657${CURRENT_PLAN_PATH}`,
            "testnet/archive-aaaaaaaa-0:26657/block?height=4900",
            "testnet/archive-aaaaaaaa-0:26657/status",
        ]);
    });

    it("no upgradeName: AppliedPlan is not asked; a pruned older block: no estimate", async () => {
        const { rpc, calls } = fakeRpc({
            ...healthy,
            "/block?height=4900": new Error("height 4900 is not available, lowest height is 4950"),
        });
        const read = await readChainPlan(
            rpc,
            { ...target, upgradeName: undefined },
            { now: () => NOW },
        );
        assert.ok("state" in read);
        assert.equal(read.state.secondsPerBlock, undefined);
        assert.equal(read.state.appliedHeight, undefined);
        assert.ok(!calls.some((c) => c.includes("AppliedPlan")));
    });

    for (const [name, rpc, why] of [
        ["no Ready pod", fakeRpc(healthy, []).rpc, /^no Ready pod of set archive-aaaaaaaa to ask$/],
        [
            "the pod list refused",
            {
                ...fakeRpc(healthy).rpc,
                readyPods: async () => {
                    throw new Error(
                        "the deploying identity lacks list on pods in namespace testnet",
                    );
                },
            },
            /^cannot list the pods of set archive-aaaaaaaa: the deploying identity lacks list on pods/,
        ],
        [
            "the pod proxy refused (403)",
            fakeRpc({
                ...healthy,
                [CURRENT_PLAN_PATH]: new Error(
                    "the deploying identity lacks get on pods/proxy in namespace testnet; see README §Deploy jobs",
                ),
            }).rpc,
            /^archive-aaaaaaaa-0: the deploying identity lacks get on pods\/proxy/,
        ],
        [
            "a node that is not a Cosmos SDK app",
            fakeRpc({
                ...healthy,
                [CURRENT_PLAN_PATH]: {
                    result: { response: { code: 6, log: "unknown query path", codespace: "sdk" } },
                },
            }).rpc,
            /^archive-aaaaaaaa-0: abci_query .*CurrentPlan failed in the app: code 6 \(codespace sdk\): unknown query path$/,
        ],
    ] as const) {
        it(`${name}: a reason, never a throw`, async () => {
            const read = await readChainPlan(rpc, target);
            assert.ok("unreadable" in read, JSON.stringify(read));
            assert.match(read.unreadable, why);
        });
    }
});

describe("chain plan: verdicts and the error that stops `pulumi up`", () => {
    it("a readable chain goes through compareWithPlan; an unreadable one warns, saying why", () => {
        const other = { ...target, group: "other", upgradeName: undefined };
        const checks = checkChainPlans([target, other], {
            archive: {
                state: {
                    node: "archive-aaaaaaaa-0",
                    latestHeight: 5000,
                    secondsPerBlock: 6,
                    appliedHeight: 0,
                    plan: { name: "v6.1.0", height: 5700, info: "" },
                },
            },
            other: { unreadable: "no Ready pod of set archive-aaaaaaaa to ask" },
        });
        assert.equal(checks.archive.level, "problem");
        assert.match(
            checks.archive.message,
            /at height 5700, but groups\.archive\.update\.haltHeight is 5600/,
        );
        assert.equal(checks.archive.chain?.latestHeight, 5000);
        assert.deepEqual(checks.other, {
            group: "other",
            level: "warn",
            message:
                "cannot read the chain's upgrade plan (no Ready pod of set archive-aaaaaaaa to ask), so groups.other.update.haltHeight 5600 are not checked against the chain",
        });
        const err = chainPlanError(checks);
        assert.ok(err instanceof ChainPlanError);
        assert.match(
            err.message,
            /^The chain disagrees with the stack config \(1 problem\); nothing was changed:\n {2}- group archive: the chain's plan v6\.1\.0 is at height 5700/,
        );
        assert.equal(chainPlanError({ other: checks.other }), undefined);
    });

    it("a steady group whose chain agrees and schedules nothing is quiet; one with a plan is not", () => {
        const steady = { ...target, upgrading: false };
        const state = { node: "archive-aaaaaaaa-0", latestHeight: 6000, appliedHeight: 5600 };
        const next = { name: "v6.2.0", height: 7000, info: "" };
        const quiet = checkChainPlans([steady], { archive: { state } }).archive;
        assert.equal(quiet.level, "info");
        assert.equal(quiet.quiet, true);
        const loud = checkChainPlans([steady], { archive: { state: { ...state, plan: next } } });
        assert.equal(loud.archive.quiet, undefined);
        assert.match(loud.archive.message, /next scheduled: upgrade v6\.2\.0 at 7000/);
        // The same chain while the group forks: worth saying.
        assert.equal(checkChainPlans([target], { archive: { state } }).archive.quiet, undefined);
    });
});

describe("chain plan: the ChainRpc over a cluster (fake API server)", () => {
    let server: http.Server;
    let dir: string;
    const seen: string[] = [];
    let hang = false;

    before(async () => {
        const pod = (name: string, ready: boolean, phase = "Running") => ({
            metadata: { name },
            status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
        });
        server = http.createServer((req, res): void => {
            seen.push(req.url ?? "");
            const url = new URL(req.url ?? "", "http://x");
            const json = (body: unknown): void =>
                void res
                    .writeHead(200, { "content-type": "application/json" })
                    .end(JSON.stringify(body));
            if (url.pathname === "/api/v1/namespaces/testnet/pods") {
                json({
                    kind: "PodList",
                    apiVersion: "v1",
                    metadata: {},
                    items: [
                        pod("archive-aaaaaaaa-1", true),
                        pod("archive-aaaaaaaa-0", false),
                        pod("archive-aaaaaaaa-2", true, "Pending"),
                        pod("archive-aaaaaaaa-3", true),
                    ],
                });
                return;
            }
            const proxy = "/api/v1/namespaces/testnet/pods/archive-aaaaaaaa-1:26657/proxy";
            if (url.pathname.startsWith(proxy)) {
                if (hang) return; // never answers
                const rpcPath = url.pathname.slice(proxy.length) + url.search;
                const answer = (healthy as Record<string, unknown>)[rpcPath];
                if (answer) return json(answer);
            }
            res.writeHead(404).end("not found");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-chainplan-"));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        fs.writeFileSync(
            path.join(dir, "kubeconfig"),
            JSON.stringify({
                apiVersion: "v1",
                kind: "Config",
                clusters: [
                    { name: "c", cluster: { server: url, "insecure-skip-tls-verify": true } },
                ],
                users: [{ name: "u", user: { token: "t" } }],
                contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
                "current-context": "x",
            }),
        );
    });
    after(() => {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("lists the set's pods by label, keeps the Running and Ready ones, asks through the pod proxy", async () => {
        const rpc = kubeChainRpc({ kubeconfig: path.join(dir, "kubeconfig") });
        const reads = await readChainPlans([target], {}, rpc);
        assert.ok("state" in reads.archive, JSON.stringify(reads.archive));
        assert.equal(reads.archive.state.node, "archive-aaaaaaaa-1");
        assert.equal(reads.archive.state.plan?.height, 5600);
        assert.equal(reads.archive.state.secondsPerBlock, 6);
        assert.ok(
            seen.includes(
                "/api/v1/namespaces/testnet/pods?labelSelector=chainfleet.io%2Fset%3Darchive-aaaaaaaa",
            ),
            seen.join("\n"),
        );
        // The query string reaches the node as CometBFT's URI handler reads it.
        assert.ok(
            seen.includes(
                "/api/v1/namespaces/testnet/pods/archive-aaaaaaaa-1:26657/proxy/abci_query?path=%22%2Fcosmos.upgrade.v1beta1.Query%2FCurrentPlan%22",
            ),
            seen.join("\n"),
        );
    });

    it("a node that does not answer: the read gives up at its deadline, with a reason", async () => {
        hang = true;
        try {
            const rpc = kubeChainRpc({ kubeconfig: path.join(dir, "kubeconfig") });
            const started = Date.now();
            const read = await readChainPlan(rpc, target, { timeoutMs: 300 });
            assert.ok(Date.now() - started < 2000);
            assert.ok("unreadable" in read);
            assert.match(
                read.unreadable,
                /^archive-aaaaaaaa-1: (GET .* on archive-aaaaaaaa-1: )?no answer within \d+ ms$/,
            );
        } finally {
            hang = false;
        }
    });

    it("no kubeconfig to load: a reason, not a crash", async () => {
        const rpc = kubeChainRpc({ kubeconfig: path.join(dir, "missing") });
        const read = await readChainPlan(rpc, target);
        assert.ok("unreadable" in read);
        assert.match(read.unreadable, /^cannot list the pods of set archive-aaaaaaaa: /);
    });
});
