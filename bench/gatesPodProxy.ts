/**
 * The caughtUp gate on real nodes through the API server's pod proxy, the way chainfleet runs it
 * (mode caughtUp, rpcMode podProxy, the provider's defaults: 500 ms polls, tolerance 5,
 * minPeers 1, requireAdvancing), beside a plain 1 s poller on the same event in the same run.
 * Needs the local cluster's real node (scripts/cluster.sh up as root); without it, says so.
 *
 * Setup, on the real node: a single-validator CometBFT chain (kvstore app, 1 s blocks: CometBFT's
 * default) in a plain pod, the incumbent. Each trial starts the gate and the 1 s poller, each at
 * a random phase of a block, then creates an entrant pod: a full node with a fresh home that
 * block-syncs from the validator, switches to consensus and closes the last blocks of the gap
 * there.
 *
 * Reaction = passed - turned true:
 * - the condition: what the gate reads (the entrant's /status and /net_info, the validator's
 *   /status, through the pod proxy) judged by the gate's own rules (gates.ts `evaluateCaughtUp`);
 * - turned true: as a side poller sees it, reading the same every 50 ms through the same proxy
 *   (over one kept-alive connection, so that its ~50 calls/s stay cheap for the API server). Near
 *   the tolerance the condition can flap (a validator block lands between the two /status reads),
 *   so "turned true" is the start of the passing stretch the observer passed in; the table also
 *   gives the gate's figure from the first time it turned true, and how many trials flapped;
 * - passed: for the gate, the moment its `create()` returns; for the 1 s poller (the same reads
 *   and rules every 1 s, a TLS connection per call as the gate), its passing /status answer.
 * The gate and both pollers observe the same entrant at once: trials do not overlap.
 *
 * API requests per minute of waiting: counted in-process (RequestCounter) per KubeConfig, so the
 * gate's own (lists, watches, proxied RPC) are told from the pollers' and the bench's, and
 * divided by the time the gate waited (its start to its return), over all trials.
 *
 * `--json <file>` also writes the raw figures per trial.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { adapterFor } from "../chains";
import { HEIGHT_GATE_DEFAULTS, HeightGateInputs, heightGateProvider } from "../dynamic-providers";
import { fetchJson, podProxyUrl } from "../kube/rpc";
import {
    clients,
    createNamespace,
    deleteNamespace,
    requireCluster,
    waitFor,
} from "../test/api/harness/kube";
import { onRealNode, podReport, realNodeReady, waitForPod } from "../test/api/harness/realNode";
import { toolPath } from "../test/api/harness/tools";
import {
    CaughtUpPoller,
    CaughtUpTarget,
    RequestCounter,
    check,
    pollerModel,
    sleep,
    summarize,
    table,
    timesTurnedTrue,
    trueSince,
} from "./gatesLib";

const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const IMAGE = "cometbft/cometbft:v0.38.19";
const RPC_PORT = 26657;
/**
 * CometBFT's default. At 500 ms (test/api/harness/cometbft.ts) consensus closes the gap barely
 * faster than blocks come, and the condition flaps in most trials.
 */
const BLOCK_TIME = "1s";
const VALIDATOR = "validator";
const ROLE = "bench.chainfleet.io/role";
const TRIAL = "bench.chainfleet.io/trial";

/**
 * A CometBFT node's container script: a fresh home with the seed's genesis (and, for the
 * validator, its keys), then the node with the kvstore app, RPC open to the pod proxy.
 */
function nodeScript(peer?: string): string {
    const keys = peer ? "" : 'cp /seed/priv_validator_key.json /seed/node_key.json "$h/config/"';
    return [
        "set -e",
        // The image's CMTHOME (/cometbft), which wins over --home.
        'h="$CMTHOME"',
        "cometbft init >/dev/null",
        'cp /seed/genesis.json "$h/config/"',
        keys,
        // Pods peer on private addresses, which a strict address book refuses.
        "sed -i -e 's/^addr_book_strict = .*/addr_book_strict = false/' " +
            `-e 's/^timeout_commit = .*/timeout_commit = "${BLOCK_TIME}"/' "$h/config/config.toml"`,
        `exec cometbft start --proxy_app=kvstore --rpc.laddr=tcp://0.0.0.0:${RPC_PORT}` +
            (peer ? ` --p2p.persistent_peers=${peer}` : ""),
    ].join("\n");
}

function nodePod(name: string, labels: Record<string, string>, peer?: string): V1Pod {
    return {
        metadata: { name, labels },
        spec: onRealNode({
            terminationGracePeriodSeconds: 1,
            containers: [
                {
                    name: "node",
                    image: IMAGE,
                    command: ["/bin/sh", "-c", nodeScript(peer)],
                    resources: { requests: { cpu: "10m", memory: "64Mi" } },
                    volumeMounts: [{ name: "seed", mountPath: "/seed", readOnly: true }],
                },
            ],
            volumes: [{ name: "seed", configMap: { name: "seed" } }],
        }),
    };
}

/** The validator pod, producing blocks; returns its peer address (node id @ pod IP). */
async function startValidator(ns: string): Promise<string> {
    const seed = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-bench-seed-"));
    try {
        const cometbft = toolPath("cometbft");
        execFileSync(cometbft, ["init", "--home", seed], { stdio: "ignore" });
        const id = execFileSync(cometbft, ["show-node-id", "--home", seed], {
            encoding: "utf8",
        }).trim();
        const file = (f: string) => fs.readFileSync(path.join(seed, "config", f), "utf8");
        await clients().core.createNamespacedConfigMap({
            namespace: ns,
            body: {
                metadata: { name: "seed" },
                data: Object.fromEntries(
                    ["genesis.json", "priv_validator_key.json", "node_key.json"].map((f) => [
                        f,
                        file(f),
                    ]),
                ),
            },
        });
        await clients().core.createNamespacedPod({
            namespace: ns,
            body: nodePod(VALIDATOR, { [ROLE]: VALIDATOR }),
        });
        const pod = await waitForPod(ns, VALIDATOR, "running", (p) => !!p.status?.podIP);
        const config = clients().config;
        const url = podProxyUrl(
            config.getCurrentCluster()?.server ?? "",
            ns,
            VALIDATOR,
            RPC_PORT,
            "/status",
        );
        await waitFor(
            "the validator's first blocks",
            async () => {
                const body = await fetchJson(url, { kubeConfig: config, timeoutMs: 2000 }).catch(
                    () => undefined,
                );
                return body !== undefined && adapterFor("cometbft").parseStatus(body).height >= 3;
            },
            60_000,
        ).catch(async (err: Error) => {
            throw new Error(`${err.message}\n${await podReport(ns, VALIDATOR)}`);
        });
        return `${id}@${pod.status!.podIP}:26656`;
    } finally {
        fs.rmSync(seed, { recursive: true, force: true });
    }
}

interface Trial {
    /** Reactions: last turned true (side poller) -> passed. */
    gate: number;
    poll1s: number;
    /** First turned true -> gate passed: what an operator sees when the condition flapped. */
    gateFromFirst: number;
    /** The gate's verdict (its "passed" line) -> its create() returns. */
    verdictToReturn: number;
    /** Entrant pod created -> caught up (side poller). */
    startToCaughtUp: number;
    /** Times the side poller saw the condition turn true before the gate passed. */
    turnedTrue: number;
    gateWaitMs: number;
    side: CaughtUpPoller;
    poll1sPoller: CaughtUpPoller;
}

/** When the gate printed its "passed" line (set by main's console filter). */
let gateVerdictAt = 0;

/** One entrant pod, started while the gate, the 1 s poller and the side poller wait for it. */
async function trial(ns: string, i: number, peer: string): Promise<Trial> {
    const name = `entrant-${i}`;
    const labels = { [TRIAL]: String(i) };
    const inputs = await check<HeightGateInputs>(heightGateProvider, {
        namespace: ns,
        chain: "cometbft",
        mode: "caughtUp",
        entrantSelector: labels,
        incumbentSelector: { [ROLE]: VALIDATOR },
        replicas: 1,
        rpcPort: RPC_PORT,
        deadlineSeconds: 120,
    });
    const target: CaughtUpTarget = {
        namespace: ns,
        entrant: name,
        incumbent: VALIDATOR,
        rpcPort: RPC_PORT,
        rules: {
            expected: 1,
            tolerance: inputs.tolerance,
            minPeers: inputs.minPeers,
            requireAdvancing: inputs.requireAdvancing,
        },
    };
    const side = new CaughtUpPoller(target, {
        intervalMs: 50,
        keepAlive: true,
        untilStopped: true,
    });
    // The entrant catches up just after one of the validator's blocks (1 s apart), and the
    // previous trial ended just after one: each observer starts at its own random phase of a block.
    const gateDelay = Math.random() * 1000;
    const gateStart = Date.now() + gateDelay;
    const gate = sleep(gateDelay)
        .then(() => heightGateProvider.create(inputs))
        .then(() => Date.now());
    gate.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    const poll1s = new CaughtUpPoller(target, {
        intervalMs: 1000,
        startAfterMs: Math.random() * 1000,
    });
    let createdAt = 0;
    try {
        await sleep(1000);
        createdAt = Date.now();
        await clients().core.createNamespacedPod({
            namespace: ns,
            body: nodePod(name, labels, peer),
        });
        const gateAt = await gate;
        const verdictAt = gateVerdictAt;
        // The 1 s poller gets as long again as the gate waited, then gives up (NaN).
        const giveUp = setTimeout(() => poll1s.stop(), gateAt - gateStart);
        const pollAt = await poll1s.passedAt;
        clearTimeout(giveUp);
        side.stop();
        const firstTrue = await side.passedAt;
        if (Number.isNaN(firstTrue)) {
            // No reference moment: the trial measures nothing. Say why, and go on.
            const why = side.errors.at(-1) ?? "its answers never passed";
            console.log(
                `trial ${i}: unmeasured, the side poller never saw the entrant caught up ` +
                    `(${side.rounds.length} rounds, ${side.errors.length} failed calls; last: ${why})`,
            );
        }
        return {
            gate: gateAt - trueSince(side.rounds, gateAt),
            poll1s: pollAt - trueSince(side.rounds, pollAt),
            gateFromFirst: gateAt - firstTrue,
            verdictToReturn: gateAt - verdictAt,
            startToCaughtUp: firstTrue - createdAt,
            turnedTrue: timesTurnedTrue(side.rounds, gateAt),
            gateWaitMs: gateAt - gateStart,
            side,
            poll1sPoller: poll1s,
        };
    } catch (err) {
        throw new Error(`trial ${i}: ${(err as Error).message}\n${await podReport(ns, name)}`);
    } finally {
        side.stop();
        poll1s.stop();
        await clients()
            .core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 })
            .catch(() => undefined);
    }
}

const loadavg = () => os.loadavg()[0].toFixed(1);

async function main(): Promise<void> {
    const title = "\nCaught-up gate on real nodes, through the pod proxy";
    try {
        await requireCluster();
    } catch (err) {
        console.log(`${title}: skipped: ${(err as Error).message}`);
        return;
    }
    if (!(await realNodeReady())) {
        console.log(`${title}: skipped: no real node (scripts/cluster.sh up as root starts it)`);
        return;
    }
    const jsonOut = process.argv.includes("--json")
        ? process.argv[process.argv.indexOf("--json") + 1]
        : undefined;
    const started = Date.now();
    const ns = await createNamespace("bench-proxy");
    // The gate prints its progress; only the moment it passes matters here.
    const log = console.log;
    console.log = (...args: unknown[]) => {
        const line = String(args[0]);
        if (line.startsWith("[HeightGate") && / passed after /.test(line)) {
            gateVerdictAt = Date.now();
        }
        if (process.env.BENCH_VERBOSE || !line.startsWith("[HeightGate")) {
            log(...args);
        }
    };
    try {
        const peer = await startValidator(ns);
        console.log(
            `${title}: ${TRIALS} trials (namespace ${ns}, ${os.cpus().length} CPUs, load ${loadavg()})`,
        );
        const counter = new RequestCounter().install();
        const trials: Trial[] = [];
        try {
            for (let i = 0; i < TRIALS; i++) {
                trials.push(await trial(ns, i, peer));
            }
        } finally {
            counter.uninstall();
        }
        const measured = trials.filter((t) => Number.isFinite(t.startToCaughtUp));
        // n says how many trials each figure has: a poller that gave up has none.
        const col = (f: (t: Trial) => number) =>
            summarize(measured.map(f).filter((v) => Number.isFinite(v)));
        const polls = trials.map((t) => t.poll1sPoller);
        const perMin = (requests: number, ms: number) => ((requests * 60_000) / ms).toFixed(0);
        const gateWaitMs = trials.reduce((n, t) => n + t.gateWaitMs, 0);
        const gateRequests = counter.countExcept([
            clients().config,
            ...trials.flatMap((t) => [t.side.config, t.poll1sPoller.config]),
        ]);
        const pollRequests = polls.reduce((n, p) => n + (counter.byConfig.get(p.config) ?? 0), 0);
        const pollMs = polls.reduce((n, p) => n + p.stoppedAt - p.startedAt, 0);
        const flapped = measured.filter((t) => t.turnedTrue > 1).length;
        const call = summarize(polls.flatMap((p) => p.requestMs));
        table([
            [
                "caughtUp gate, 500 ms",
                col((t) => t.gate),
                "turned true -> create() returns (aim: p99 < 1 s)",
            ],
            ["1 s poller, measured", col((t) => t.poll1s), "same reads and rules, every 1 s"],
            [
                "gate, from first true",
                col((t) => t.gateFromFirst),
                `first turned true -> create() returns (flapped in ${flapped}/${measured.length})`,
            ],
            [
                "gate verdict -> return",
                col((t) => t.verdictToReturn),
                `"passed" printed -> create() returns (watches stopped)`,
            ],
            [
                "pod-proxy RPC call",
                call,
                "/status or /net_info, a TLS connection each, as the gate",
            ],
            [
                "pod-proxy call, kept alive",
                summarize(trials.flatMap((t) => t.side.requestMs)),
                "the same over one kept-alive connection (side poller's)",
            ],
            [
                "gate, model",
                pollerModel(HEIGHT_GATE_DEFAULTS.pollIntervalMs + 2 * call.p50, 2 * call.p50),
                "U(0, interval + 2 calls) + 2 calls: /status, then /net_info",
            ],
            [
                "entrant start -> caught up",
                col((t) => t.startToCaughtUp),
                "pod created -> side poller sees it caught up",
            ],
        ]);
        console.log("\nAPI requests per minute of waiting (one entrant, one incumbent)");
        console.log(
            `  caughtUp gate, 500 ms: ${perMin(gateRequests, gateWaitMs)} req/min ` +
                `(${gateRequests} over ${(gateWaitMs / 1000).toFixed(0)} s: watches, lists, proxied RPC)`,
        );
        console.log(
            `  1 s poller:            ${perMin(pollRequests, pollMs)} req/min ` +
                `(${pollRequests} over ${(pollMs / 1000).toFixed(0)} s)`,
        );
        console.log(
            `Took ${((Date.now() - started) / 1000).toFixed(0)} s (load ${loadavg()} at the end).`,
        );
        if (jsonOut) {
            const raw = trials.map(({ side, poll1sPoller, ...figures }) => ({
                ...figures,
                sideRounds: side.rounds.length,
                poll1sRequestMs: poll1sPoller.requestMs,
            }));
            fs.writeFileSync(
                jsonOut,
                JSON.stringify({ trials: raw, gateRequests, gateWaitMs, pollRequests, pollMs }),
            );
        }
    } finally {
        console.log = log;
        await deleteNamespace(ns);
    }
}

main().then(
    () => process.exit(0),
    (err) => {
        console.error(err);
        process.exit(1);
    },
);
