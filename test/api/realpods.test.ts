/**
 * chainfleet's pods, run for real on the local cluster's real node (kubelet + containerd):
 * the manifests lib/manifests.ts builds, with the images scripts/images.sh built here.
 *
 * - the CometBFT image's readiness probe (chains/probes.ts) passes only when the node is in
 *   sync: a validator and a full node that syncs from it by its headless-Service DNS name get
 *   Ready; a node with no peer never does;
 * - the gate's default path, the API server's pod proxy, reaches a real node's RPC;
 * - the snapshot restore init container restores a good archive and stops the pod, saying why,
 *   on a corrupt or a truncated one;
 * - the upgrade-info init container writes data/upgrade-info.json, and keeps one that exists;
 * - a genesis from a URL (the agent's `prepare`): the right sha256, of genesis.json or of the
 *   .gz as served, starts a fleet planned by planFleet; a wrong one keeps the pod in `prepare`,
 *   says both sums and writes nothing, and a BlueGreen entrant with it leaves the incumbent
 *   serving;
 * - a node under the halt wrapper (chains/halt.ts) that is stopped is a failed Job, not a halt.
 *
 * Homes are prepared by chainfleet's own init containers (agent-install, then the agent's
 * `prepare`: `cometbft init`, the genesis from a ConfigMap, TOML overrides, peers), and readiness
 * is the agent's `ready`. The test adds only what chainfleet does not do yet: the validator's
 * key (VALIDATOR_KEY), and the real node's selector and toleration.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { UPGRADE_INFO_PATH, adapterFor, upgradeInfoJson } from "../../chains";
import { HeightGateInputs, HeightGateOutputs, heightGateProvider } from "../../dynamic-providers";
import { fetchJson, podProxyUrl } from "../../kube/rpc";
import { DEFAULT_GENESIS_TIME, DEFAULT_VALIDATOR_POWER } from "../../config/network";
import { planFleet } from "../../lib/fleetPeers";
import { generatedGenesisJson } from "../../lib/genesis";
import type { GroupSpec } from "../../lib/groupSpec";
import { NodeGroupInput, buildNodeGroup } from "../../lib/manifests";
import { AGENT_BINARY, AGENT_DIR, AGENT_IMAGE_BINARY, NODE_AGENT_IMAGE } from "../../lib/nodeHome";
import { groupValidatorKey } from "../../lib/nodeKeys";
import type { Incumbent } from "../../lib/plan";
import type { GroupPlan, GroupPlanArgs } from "../../lib/planGroup";
import { SNAPSHOT_MARKER } from "../../lib/snapshot";
import {
    clients,
    createNamespace,
    deleteNamespace,
    kubeAccess,
    requireCluster,
    waitFor,
} from "./harness/kube";
import {
    HOST_ADDRESS,
    isReady,
    onRealNode,
    podReport,
    requireRealNode,
    terminated,
    waitForPod,
} from "./harness/realNode";
import { toolPath } from "./harness/tools";

type Obj = Record<string, unknown>;

const COMETBFT_IMAGE = "cometbft/cometbft:v0.38.19";
const BUSYBOX_IMAGE = "docker.io/library/busybox:1.36";

/**
 * The test's only stand-in: the validator's key. chainfleet prepares every home itself (the
 * agent's `prepare` init container: `cometbft init`, the genesis from the "seed" ConfigMap, the
 * TOML overrides), but keeps no validator keys yet (the network issue), so the validator pod
 * copies its key over the generated one before the node's own command.
 */
const VALIDATOR_KEY = [
    "set -e",
    'cp /seed/priv_validator_key.json /seed/node_key.json "$CMTHOME/config/"',
    'exec "$@"',
].join("\n");

/**
 * A one-replica CometBFT group. CometBFT alone has no application: `--proxy_app=kvstore` runs
 * its built-in one (the default, tcp://127.0.0.1:26658, waits for an external app forever).
 * Requests are small: the real node has 2 cores, and the default (500m) would fit 4 pods.
 */
function groupSpec(overrides: Partial<GroupSpec> = {}): GroupSpec {
    const { args = [], ...rest } = overrides;
    return {
        replicas: 1,
        image: COMETBFT_IMAGE,
        args: ["--proxy_app=kvstore", ...args],
        // One network: every node's genesis from the same ConfigMap (the agent places it).
        genesis: { configMap: "seed", key: "genesis.json" },
        // Pods peer on private addresses, which a strict address book refuses.
        config: { configToml: { p2p: { addr_book_strict: false } } },
        resources: { requests: { cpu: "10m", memory: "64Mi" } },
        storage: { size: "1Gi" },
        update: {
            strategy: "Rolling",
            caughtUpTolerance: 5,
            timeouts: { bootstrapSeconds: 600, gateSeconds: 600, switchSeconds: 300 },
            gate: { rpc: "podProxy", minPeers: 1 },
        },
        ...rest,
    };
}

function groupInput(namespace: string, group: string, config: GroupSpec): NodeGroupInput {
    return {
        network: "realpods",
        chain: "cometbft",
        group,
        namespace,
        revision: "r1",
        pinRevision: false,
        config,
        adapter: adapterFor("cometbft"),
        snapshotImage: BUSYBOX_IMAGE,
    };
}

/**
 * Creates a set's ConfigMap, key Secrets, peer Service and StatefulSet, placed on the real node. A
 * `validator` gets the seed's key (VALIDATOR_KEY); `main: "<sh script>"` replaces the node by
 * that script and a sleep (for init container tests: the script shows what they left).
 */
async function createGroup(
    input: NodeGroupInput,
    opts: { role?: "validator" | "full"; main?: "node" | string } = {},
): Promise<{ pod: string; pvc: string; peerService: string; selector: Record<string, string> }> {
    const m = buildNodeGroup(input);
    const ns = input.namespace;
    await clients().core.createNamespacedConfigMap({ namespace: ns, body: m.configMap });
    for (const secret of m.secrets) {
        await clients().core.createNamespacedSecret({ namespace: ns, body: secret });
    }
    await clients().core.createNamespacedService({ namespace: ns, body: m.peerService });
    // In-fleet peers dial each pod's own ClusterIP Service (lib/fleetPeers.ts).
    for (const svc of m.p2pServices) {
        await clients().core.createNamespacedService({ namespace: ns, body: svc });
    }
    const sts = structuredClone(m.statefulSet) as { spec: { template: { spec: Obj } } };
    const pod = sts.spec.template.spec as { containers: Obj[]; volumes: Obj[] };
    const node = pod.containers[0] as Obj & { command: string[]; args: string[]; env: Obj[] };
    if (opts.main !== undefined && opts.main !== "node") {
        Object.assign(node, {
            command: ["/bin/sh", "-c", `${opts.main}\nexec sleep 3600`],
            args: [],
        });
        delete node.readinessProbe;
        delete node.livenessProbe;
        delete node.startupProbe;
    } else if (opts.role === "validator") {
        node.command = ["/bin/sh", "-c", VALIDATOR_KEY, "validator-key", ...node.command];
        (node.volumeMounts as Obj[]).push({ name: "seed", mountPath: "/seed", readOnly: true });
        pod.volumes.push({ name: "seed", configMap: { name: "seed" } });
    }
    sts.spec.template.spec = onRealNode(pod);
    await clients().apps.createNamespacedStatefulSet({
        namespace: ns,
        body: sts as unknown as V1StatefulSet,
    });
    return {
        pod: m.names.pod(0),
        pvc: m.names.pvc(0),
        peerService: m.names.peerService,
        selector: m.selector,
    };
}

function sha256(body: Buffer): string {
    return createHash("sha256").update(body).digest("hex");
}

/** `latest_block_height` from a CometBFT /status body. */
function heightOf(status: unknown): number {
    const s = status as { result?: { sync_info?: { latest_block_height?: string } } };
    return Number(s.result?.sync_info?.latest_block_height ?? 0);
}

describe("api: real pods on the real node", function () {
    this.timeout(600_000);
    let ns = "";
    let seedDir = "";
    let validatorId = "";

    before(async function () {
        await requireCluster();
        await requireRealNode(this);
        ns = await createNamespace("real");
        // One genesis with one validator; its keys go to the validator pod only.
        seedDir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-realpods-"));
        const home = path.join(seedDir, "validator");
        const cometbft = toolPath("cometbft");
        execFileSync(cometbft, ["init", "--home", home], { stdio: "ignore" });
        validatorId = execFileSync(cometbft, ["show-node-id", "--home", home], {
            encoding: "utf8",
        }).trim();
        const file = (name: string) => fs.readFileSync(path.join(home, "config", name), "utf8");
        await clients().core.createNamespacedConfigMap({
            namespace: ns,
            body: {
                metadata: { name: "seed" },
                data: {
                    "genesis.json": file("genesis.json"),
                    "priv_validator_key.json": file("priv_validator_key.json"),
                    "node_key.json": file("node_key.json"),
                },
            },
        });
    });

    after(async () => {
        if (ns && !process.env.CHAINFLEET_KEEP_NAMESPACES) {
            await deleteNamespace(ns);
        }
        if (seedDir) {
            fs.rmSync(seedDir, { recursive: true, force: true });
        }
    });

    describe("the CometBFT readiness probe: Ready only when in sync", () => {
        let validatorPod = "";
        let validatorService = "";
        let validatorSelector: Record<string, string> = {};
        let fullSelector: Record<string, string> = {};
        let aloneSelector: Record<string, string> = {};

        it("a validator producing blocks gets Ready, and the pod proxy reaches its RPC", async () => {
            ({
                pod: validatorPod,
                peerService: validatorService,
                selector: validatorSelector,
            } = await createGroup(groupInput(ns, "val", groupSpec()), { role: "validator" }));
            await waitForPod(ns, validatorPod, "Ready", isReady, 180_000);
            const status = await rpcStatus(ns, validatorPod);
            assert.ok(heightOf(status) > 0, JSON.stringify(status));
        });

        it("a full node that syncs from the validator by its DNS name gets Ready", async () => {
            const peer = `${validatorId}@${validatorPod}.${validatorService}.${ns}.svc.cluster.local:26656`;
            const input = groupInput(ns, "full", groupSpec({ peers: { persistentPeers: [peer] } }));
            const { pod, selector } = await createGroup(input, { role: "full" });
            fullSelector = selector;
            await waitForPod(ns, pod, "Ready", isReady, 180_000);
        });

        it("a node with no peer stays unready, and its events say why", async () => {
            const { pod, selector } = await createGroup(groupInput(ns, "alone", groupSpec()), {
                role: "full",
            });
            aloneSelector = selector;
            // Running, probed at least three times (period 10 s), never Ready.
            await waitForPod(ns, pod, "running", (p) => p.status?.phase === "Running");
            await new Promise((r) => setTimeout(r, 35_000));
            const now = await clients().core.readNamespacedPod({ namespace: ns, name: pod });
            assert.equal(isReady(now), false, await podReport(ns, pod));
            const events = await clients().core.listNamespacedEvent({
                namespace: ns,
                fieldSelector: `involvedObject.name=${pod}`,
            });
            const probeFailures = events.items
                .filter((e) => e.reason === "Unhealthy")
                .map((e) => e.message ?? "");
            assert.ok(
                probeFailures.some((m) => /not ready: (node is catching up|no block yet)/.test(m)),
                `no readiness failure with the probe's reason:\n${await podReport(ns, pod)}`,
            );
        });

        // The gate as users run it: podProxy, the default (config/schema.ts), against real pods.
        const gate = async (entrantSelector: Record<string, string>, deadlineSeconds: number) => {
            const raw = {
                ...kubeAccess(),
                namespace: ns,
                chain: "cometbft",
                mode: "caughtUp",
                entrantSelector,
                incumbentSelector: validatorSelector,
                replicas: 1,
                rpcMode: "podProxy",
                rpcPort: 26657,
                deadlineSeconds,
                tolerance: 5,
                minPeers: 1,
                pollIntervalMs: 1000,
            };
            const { inputs, failures } = await heightGateProvider.check!(
                {} as HeightGateInputs,
                raw as unknown as HeightGateInputs,
            );
            assert.deepEqual(failures, []);
            return (await heightGateProvider.create(inputs as HeightGateInputs))
                .outs as HeightGateOutputs;
        };

        it("the height gate, through the pod proxy, passes the synced full node", async () => {
            const outs = await gate(fullSelector, 120);
            assert.match(outs.reason, /all 1 entrants caught up/);
            const [height] = Object.values(outs.heights);
            assert.ok(height > 0 && outs.referenceHeight - height <= 5, JSON.stringify(outs));
        });

        it("the height gate, through the pod proxy, fails the node with no peer in time", async () => {
            await assert.rejects(gate(aloneSelector, 5), (err: Error) => {
                assert.match(err.message, /did not pass within deadlineSeconds=5/);
                assert.match(err.message, /Nothing was changed/);
                return true;
            });
        });
    });

    describe("the snapshot restore init container (lib/snapshot-restore.sh in BusyBox)", () => {
        let server: http.Server | undefined;
        let base = "";
        let good = Buffer.alloc(0);

        before(async () => {
            // A snapshot of a data directory: two stores and a file at the top.
            const src = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-snap-"));
            fs.mkdirSync(path.join(src, "blockstore.db"));
            fs.mkdirSync(path.join(src, "state.db"));
            fs.writeFileSync(
                path.join(src, "blockstore.db", "000001.ldb"),
                "blocks\n".repeat(5000),
            );
            fs.writeFileSync(path.join(src, "state.db", "000001.ldb"), "state\n");
            fs.writeFileSync(path.join(src, "priv_validator_state.json"), "{}\n");
            const archive = path.join(src, "..", `${path.basename(src)}.tar.gz`);
            execFileSync("tar", ["-czf", archive, "-C", src, "."]);
            good = fs.readFileSync(archive);
            fs.rmSync(src, { recursive: true, force: true });
            fs.rmSync(archive, { force: true });
            const corrupt = Buffer.from(good);
            corrupt[corrupt.length >> 1] ^= 0xff;
            server = http.createServer((req, res) => {
                if (req.url === "/good.tar.gz" || req.url === "/corrupt.tar.gz") {
                    res.writeHead(200, { "content-length": good.length });
                    res.end(req.url === "/good.tar.gz" ? good : corrupt);
                } else if (req.url === "/truncated.tar.gz") {
                    // Says the whole length, sends half, hangs up: every attempt breaks off.
                    res.writeHead(200, { "content-length": good.length });
                    res.write(good.subarray(0, good.length >> 1), () => res.destroy());
                } else {
                    res.writeHead(404).end();
                }
            });
            // The bridge address: reachable from pods, not from outside this host.
            await new Promise<void>((r) => server!.listen(0, HOST_ADDRESS, r));
            base = `http://${HOST_ADDRESS}:${(server!.address() as { port: number }).port}`;
        });

        after(() => server?.close());

        const LIST = "cd /cometbft/data && find . -type f | sort && echo LISTED";

        it("restores a good archive before the node starts, owned by the node's user", async () => {
            const config = groupSpec({
                snapshot: { url: `${base}/good.tar.gz`, sha256: sha256(good) },
            });
            const { pod } = await createGroup(groupInput(ns, "snap-good", config), {
                main: `${LIST} && stat -c '%u' blockstore.db/000001.ldb`,
            });
            await waitForPod(ns, pod, "running", (p) => p.status?.phase === "Running");
            const restore = terminated(await readPodOrThrow(ns, pod), "snapshot-restore");
            assert.equal(restore?.exitCode, 0, await podReport(ns, pod));
            const listing = await logsUntil(ns, pod, "node", /LISTED/);
            for (const file of [
                "./blockstore.db/000001.ldb",
                "./state.db/000001.ldb",
                "./priv_validator_state.json",
                `./${SNAPSHOT_MARKER}`,
            ]) {
                assert.ok(listing.split("\n").includes(file), `${file} missing in:\n${listing}`);
            }
            assert.match(listing, /LISTED\n10001\n?$/);
        });

        const bad: [string, string, RegExp][] = [
            ["a corrupt archive", "corrupt", /sha256 mismatch/],
            ["a truncated download", "truncated", /sha256 mismatch|downloading .* failed/],
        ];
        for (const [name, file, reason] of bad) {
            it(`stops the pod on ${name}, says why, and restores nothing`, async () => {
                const config = groupSpec({
                    snapshot: { url: `${base}/${file}.tar.gz`, sha256: sha256(good) },
                });
                const { pod } = await createGroup(groupInput(ns, `snap-${file}`, config), {
                    main: LIST,
                });
                const failed = await waitForPod(
                    ns,
                    pod,
                    "with a failed restore",
                    (p) => (terminated(p, "snapshot-restore")?.exitCode ?? 0) !== 0,
                    180_000,
                );
                // The node container never started, so nothing read a half-restored directory.
                const node = failed.status?.containerStatuses?.find((c) => c.name === "node");
                assert.ok(
                    !node?.state?.running && !node?.lastState?.terminated,
                    await podReport(ns, pod),
                );
                const log = await logsUntil(ns, pod, "snapshot-restore", reason, true);
                assert.match(log, reason);
            });
        }
    });

    describe("a genesis from a URL, checked against its sha256 (the agent's prepare)", () => {
        const network = "realpods";
        const chainId = "realpods-gen";
        // The stack's secret nodeKeySeed: node and validator keys derived from it (lib/nodeKeys.ts).
        const seed = randomBytes(32).toString("hex");
        // A new network's genesis naming the signing group's derived key (what genesis.generate
        // writes), served by URL as an existing network's would be: as is, and gzipped.
        const genesis = Buffer.from(
            generatedGenesisJson(
                chainId,
                { time: DEFAULT_GENESIS_TIME, power: DEFAULT_VALIDATOR_POWER },
                [{ name: "gen-val", key: groupValidatorKey(seed, network, "gen-val") }],
            ),
        );
        const gz = gzipSync(genesis);
        const served: Record<string, Buffer> = { "/genesis.json": genesis, "/genesis.json.gz": gz };
        let server: http.Server | undefined;
        let base = "";
        let fleet: GroupPlan[] = [];
        const pods: Record<string, Awaited<ReturnType<typeof createGroup>>> = {};

        const withGenesis = (file: string, sha: string) =>
            groupSpec({ chainId, genesis: { url: `${base}/${file}`, sha256: sha } });
        /**
         * The fleet as components/Fleet.ts plans it (planFleet: node keys, in-fleet peers): a
         * signing group, and a BlueGreen full node that syncs from it, its genesis the .gz with `rpcSha`.
         */
        const fleetArgs = (rpcSha: string, incumbent?: Incumbent): GroupPlanArgs[] =>
            [
                {
                    group: "gen-val",
                    config: { ...withGenesis("genesis.json", sha256(genesis)), validator: {} },
                },
                {
                    group: "gen-rpc",
                    config: {
                        ...withGenesis("genesis.json.gz", rpcSha),
                        update: { ...groupSpec().update, strategy: "BlueGreen" as const },
                    },
                    incumbent,
                },
            ].map((g) => ({
                ...g,
                name: `realpods-${g.group}`,
                network,
                namespace: ns,
                chain: "cometbft" as const,
                snapshotImage: BUSYBOX_IMAGE,
                nodeKeySeed: seed,
            }));

        // Groups that must never get past prepare: `expected` is the sha256 their config gives.
        const wrong = [
            {
                name: "a wrong sha256",
                group: "gen-bad",
                file: "genesis.json",
                expected: sha256(Buffer.from("another network's genesis")),
            },
            {
                name: "the unzipped file's sha256 for a .gz URL",
                group: "gen-bad-gz",
                file: "genesis.json.gz",
                expected: sha256(genesis),
            },
        ];

        before(async () => {
            server = http.createServer((req, res) => {
                const body = served[req.url ?? ""];
                if (body === undefined) {
                    res.writeHead(404).end();
                } else {
                    res.writeHead(200, { "content-length": body.length }).end(body);
                }
            });
            await new Promise<void>((r) => server!.listen(0, HOST_ADDRESS, r));
            base = `http://${HOST_ADDRESS}:${(server!.address() as { port: number }).port}`;
            // Everything starts at once: the fleet, and the groups that must stay in prepare.
            fleet = planFleet(fleetArgs(sha256(gz)));
            for (const plan of fleet) {
                pods[plan.nodeSet.input.group] = await createGroup(plan.nodeSet.input);
                await clients().core.createNamespacedService({
                    namespace: ns,
                    body: plan.stableService.manifest,
                });
            }
            for (const c of wrong) {
                pods[c.group] = await createGroup(
                    groupInput(ns, c.group, withGenesis(c.file, c.expected)),
                );
            }
        });

        after(() => server?.close());

        const right = [
            {
                name: "genesis.json with its sha256: the validator",
                group: "gen-val",
                file: "genesis.json",
                gunzipped: "",
            },
            {
                name: "genesis.json.gz with the sha256 of the gz bytes: a full node syncing from it",
                group: "gen-rpc",
                file: "genesis.json.gz",
                gunzipped: ", gunzipped",
            },
        ];
        for (const c of right) {
            it(`${c.name} starts and gets Ready`, async () => {
                const { pod } = pods[c.group];
                await waitForPod(ns, pod, "Ready", isReady, 180_000);
                const body = served[`/${c.file}`];
                const log = await logsUntil(ns, pod, "prepare", /genesis:/);
                const line = `downloaded ${base}/${c.file} (${body.length} bytes, sha256 verified ${sha256(body)}${c.gunzipped}, chain_id ${chainId})`;
                assert.ok(log.includes(line), `no "${line}" in the prepare log:\n${log}`);
            });
        }

        /**
         * The pod is held in its prepare init container: it exited 3 (invalid input), the kubelet
         * ran it again, the node never started; its log and its status name both sums; and the
         * volume, seen from another pod, is as empty as prepare found it (no config/, no init).
         */
        async function stuckInPrepare(
            set: { pod: string; pvc: string },
            file: string,
            expected: string,
        ): Promise<void> {
            const { pod, pvc } = set;
            const prepare = (p: V1Pod) =>
                p.status?.initContainerStatuses?.find((s) => s.name === "prepare");
            const failed = await waitForPod(
                ns,
                pod,
                "with prepare failed and restarted",
                (p) =>
                    (prepare(p)?.restartCount ?? 0) >= 1 && terminated(p, "prepare") !== undefined,
                120_000,
            );
            const report = await podReport(ns, pod);
            assert.equal(prepare(failed)?.lastState?.terminated?.exitCode, 3, report);
            assert.equal(failed.status?.phase, "Pending", report);
            const node = failed.status?.containerStatuses?.find((c) => c.name === "node");
            assert.ok(!node?.state?.running && !node?.lastState?.terminated, report);
            const body = served[`/${file}`];
            const message =
                `genesis checksum mismatch for ${base}/${file}: expected sha256 ${expected}, ` +
                `got ${sha256(body)} (${body.length} bytes as served); nothing was written`;
            const log = await logsUntil(ns, pod, "prepare", /checksum mismatch/, true);
            assert.ok(log.includes(message), `no "${message}" in the prepare log:\n${log}`);
            // And in the pod's status (FallbackToLogsOnError), where the gate reads it.
            const status = prepare(failed)?.lastState?.terminated?.message ?? "";
            assert.ok(status.includes(message), `no "${message}" in the status:\n${report}`);
            assert.deepEqual(await volumeFiles(ns, pvc), [], report);
        }

        for (const c of wrong) {
            it(`${c.name}: the pod stays in prepare, its log names both sums, nothing is written`, async () => {
                await stuckInPrepare(pods[c.group], c.file, c.expected);
            });
        }

        it("a BlueGreen entrant with a wrong sha256 is stuck in prepare; the incumbent keeps serving", async () => {
            const incumbentPlan = fleet.find((p) => p.nodeSet.input.group === "gen-rpc")!;
            const incumbent = pods["gen-rpc"].pod;
            const ready = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === "Ready");
            const before = await waitForPod(ns, incumbent, "Ready", isReady, 180_000);
            const heightBefore = heightOf(await rpcStatus(ns, incumbent));
            // The next `pulumi up`, with a wrong sha256: planned as BlueGreen, beside the incumbent.
            const wrongSha = sha256(Buffer.from("a typo in the stack config"));
            const entrantPlan = planFleet(
                fleetArgs(wrongSha, {
                    set: incumbentPlan.nodeSet.statefulSetName,
                    revision: incumbentPlan.revision,
                    image: COMETBFT_IMAGE,
                    replicas: 1,
                }),
            ).find((p) => p.nodeSet.input.group === "gen-rpc")!;
            assert.equal(entrantPlan.upgrade.kind, "blueGreen");
            assert.notEqual(
                entrantPlan.nodeSet.statefulSetName,
                incumbentPlan.nodeSet.statefulSetName,
            );
            const entrant = await createGroup(entrantPlan.nodeSet.input);
            await stuckInPrepare(entrant, "genesis.json.gz", wrongSha);
            // The gate the plan declares (caughtUp on the entrant against the incumbent, through
            // the pod proxy) does not pass it, says why from the pod's status, and changes nothing.
            const gate = entrantPlan.gate!;
            const raw = {
                ...kubeAccess(),
                namespace: ns,
                chain: gate.chain,
                mode: gate.mode,
                entrantSelector: gate.entrantSelector,
                incumbentSelector: gate.incumbentSelector,
                replicas: gate.replicas,
                rpcMode: gate.rpcMode,
                rpcPort: gate.rpcPort,
                deadlineSeconds: 3,
                tolerance: gate.tolerance,
                minPeers: gate.minPeers,
                pollIntervalMs: 1000,
            };
            const { inputs, failures } = await heightGateProvider.check!(
                {} as HeightGateInputs,
                raw as unknown as HeightGateInputs,
            );
            assert.deepEqual(failures, []);
            await assert.rejects(
                heightGateProvider.create(inputs as HeightGateInputs),
                (err: Error) => {
                    assert.match(
                        err.message,
                        new RegExp(
                            `${entrant.pod} \\(init container prepare exited 3( \\(\\d+ restarts\\))?: ` +
                                `chainfleet-agent prepare: genesis checksum mismatch for .*expected sha256 ${wrongSha}, got ${sha256(gz)}`,
                        ),
                    );
                    assert.match(err.message, /Nothing was changed: incumbents keep serving/);
                    return true;
                },
            );
            // The incumbent: Ready all along (the condition never changed), not restarted,
            // still following the chain, and the endpoint of the group's stable Service.
            const now = await readPodOrThrow(ns, incumbent);
            const report = await podReport(ns, incumbent);
            assert.ok(isReady(now), report);
            assert.equal(
                String(ready(now)?.lastTransitionTime),
                String(ready(before)?.lastTransitionTime),
                report,
            );
            assert.equal(now.status?.containerStatuses?.[0]?.restartCount, 0, report);
            assert.ok(heightOf(await rpcStatus(ns, incumbent)) > heightBefore, report);
            const slices = await clients().discovery.listNamespacedEndpointSlice({
                namespace: ns,
                labelSelector: `kubernetes.io/service-name=gen-rpc`,
            });
            const endpoints = slices.items.flatMap((s) => s.endpoints ?? []);
            assert.deepEqual(
                endpoints.map((e) => [e.targetRef?.name, e.conditions?.ready]),
                [[incumbent, true]],
            );
        });
    });

    describe("the upgrade-info init container", () => {
        it("writes data/upgrade-info.json, and keeps the one a node already has", async () => {
            const input = {
                ...groupInput(ns, "upgrade", groupSpec()),
                upgradeInfo: { name: "v2", height: 120 },
            };
            const file = `/cometbft/${UPGRADE_INFO_PATH}`;
            // The node stand-in shows the file, then replaces it, as a node that reached the
            // upgrade itself would.
            const { pod } = await createGroup(input, {
                main: `cat ${file}; echo; echo SHOWN; printf '%s' '{"name":"own","height":7}' > ${file}`,
            });
            await waitForPod(ns, pod, "running", (p) => p.status?.phase === "Running");
            const first = await logsUntil(ns, pod, "node", /SHOWN/);
            assert.equal(first.split("\n")[0], upgradeInfoJson("v2", 120));
            // The StatefulSet brings the pod back on the same volume: the init container runs
            // again and must leave the node's own file alone.
            const uid = (await readPodOrThrow(ns, pod)).metadata?.uid;
            await clients().core.deleteNamespacedPod({
                namespace: ns,
                name: pod,
                gracePeriodSeconds: 0,
            });
            await waitForPod(
                ns,
                pod,
                "back and running",
                (p) => p.metadata?.uid !== uid && p.status?.phase === "Running",
            );
            const second = await logsUntil(ns, pod, "node", /SHOWN/);
            assert.equal(second.split("\n")[0], '{"name":"own","height":7}');
        });
    });

    describe("chainfleet-agent halt in a Job (node-agent/internal/halt)", () => {
        it("a real node stopped by its pod's deletion fails the Job with exit 4: a stop is not a halt", async () => {
            // A real CometBFT node, which like seid exits 0 on SIGTERM (cometbft libs/os
            // TrapSignal calls os.Exit(0); checked here): judged by its exit, this Job would be
            // Complete. Under the agent it fails, and says why in the termination message.
            const node = [
                "/bin/sh",
                "-c",
                "cometbft init --home /tmp/h >/dev/null && exec cometbft start --home /tmp/h --proxy_app=kvstore",
            ];
            const agentMount = { name: "agent", mountPath: AGENT_DIR };
            await clients().batch.createNamespacedJob({
                namespace: ns,
                body: {
                    metadata: { name: "halt" },
                    spec: {
                        backoffLimit: 0,
                        template: {
                            spec: onRealNode({
                                restartPolicy: "Never",
                                terminationGracePeriodSeconds: 20,
                                volumes: [{ name: "agent", emptyDir: {} }],
                                initContainers: [
                                    {
                                        name: "agent-install",
                                        image: NODE_AGENT_IMAGE,
                                        command: [AGENT_IMAGE_BINARY, "install", "--to", AGENT_DIR],
                                        volumeMounts: [agentMount],
                                    },
                                ],
                                containers: [
                                    {
                                        name: "node",
                                        image: COMETBFT_IMAGE,
                                        command: [AGENT_BINARY],
                                        args: [
                                            "halt",
                                            "--home",
                                            "/tmp/h",
                                            "--app-height",
                                            "100000",
                                            "--rpc-only",
                                            "--",
                                            ...node,
                                        ],
                                        volumeMounts: [agentMount],
                                    },
                                ],
                            }),
                        },
                    },
                },
            });
            const pods = await clients().core.listNamespacedPod({
                namespace: ns,
                labelSelector: "batch.kubernetes.io/job-name=halt",
            });
            let pod = pods.items[0]?.metadata?.name ?? "";
            await waitFor("the halt Job's pod", async () => {
                const list = await clients().core.listNamespacedPod({
                    namespace: ns,
                    labelSelector: "batch.kubernetes.io/job-name=halt",
                });
                pod = list.items[0]?.metadata?.name ?? "";
                return pod !== "";
            });
            // Running and committing blocks: then deleted, as an eviction or a drain would.
            await logsUntil(ns, pod, "node", /./, false, 120_000).catch(() => "");
            await waitForPod(ns, pod, "running", (p) => p.status?.phase === "Running");
            await new Promise((r) => setTimeout(r, 3000));
            await clients().core.deleteNamespacedPod({ namespace: ns, name: pod });
            let conditions: string[] = [];
            await waitFor(
                "the halt Job to finish",
                async () => {
                    const job = await clients().batch.readNamespacedJob({
                        namespace: ns,
                        name: "halt",
                    });
                    conditions = (job.status?.conditions ?? [])
                        .filter((c) => c.status === "True")
                        .map((c) => c.type);
                    return conditions.includes("Complete") || conditions.includes("Failed");
                },
                120_000,
            );
            assert.ok(
                conditions.includes("Failed") && !conditions.includes("Complete"),
                `Job conditions: ${conditions.join(", ")}`,
            );
        });
    });
});

async function readPodOrThrow(namespace: string, name: string): Promise<V1Pod> {
    return clients().core.readNamespacedPod({ namespace, name });
}

/** The container's log once it matches `pattern` (the previous run's with `previous`). */
async function logsUntil(
    namespace: string,
    pod: string,
    container: string,
    pattern: RegExp,
    previous = false,
    timeoutMs = 120_000,
): Promise<string> {
    let text = "";
    try {
        await waitFor(
            `${container} log of ${namespace}/${pod} to match ${pattern}`,
            async () => {
                for (const prev of previous ? [false, true] : [false]) {
                    try {
                        text = String(
                            await clients().core.readNamespacedPodLog({
                                namespace,
                                name: pod,
                                container,
                                previous: prev,
                            }),
                        );
                    } catch {
                        text = "";
                    }
                    if (pattern.test(text)) {
                        return true;
                    }
                }
                return false;
            },
            timeoutMs,
        );
    } catch (err) {
        throw new Error(`${(err as Error).message}\n${await podReport(namespace, pod)}`);
    }
    return text;
}

/** CometBFT's /status of a pod, through the API server's pod proxy (as the gate reads it). */
async function rpcStatus(namespace: string, pod: string): Promise<unknown> {
    const kc = clients().config;
    const server = kc.getCurrentCluster()?.server ?? "";
    const url = podProxyUrl(server, namespace, pod, 26657, "/status");
    return fetchJson(url, { kubeConfig: kc, timeoutMs: 10_000 });
}

/** The files on a volume claim, listed by a pod of its own (lost+found left out). */
async function volumeFiles(namespace: string, pvc: string): Promise<string[]> {
    const name = `ls-${pvc}`;
    await clients().core.createNamespacedPod({
        namespace,
        body: {
            metadata: { name },
            spec: onRealNode({
                restartPolicy: "Never",
                containers: [
                    {
                        name: "ls",
                        image: BUSYBOX_IMAGE,
                        command: [
                            "/bin/sh",
                            "-c",
                            "find /volume -mindepth 1 | sort && echo LISTED",
                        ],
                        volumeMounts: [{ name: "volume", mountPath: "/volume", readOnly: true }],
                    },
                ],
                volumes: [
                    { name: "volume", persistentVolumeClaim: { claimName: pvc, readOnly: true } },
                ],
            }),
        },
    });
    await waitForPod(namespace, name, "Succeeded", (p) => p.status?.phase === "Succeeded");
    const log = await logsUntil(namespace, name, "ls", /LISTED/);
    return log
        .split("\n")
        .filter((l) => l !== "" && l !== "LISTED" && !l.startsWith("/volume/lost+found"));
}
