/**
 * Gate and switch benchmarks against the local cluster (scripts/cluster.sh up) and real CometBFT
 * nodes. Prints one table; `--json <file>` also writes the raw figures.
 *
 * 1. Reaction latency, condition true -> provider returns, TRIALS trials each:
 *    - `running` gate (pod watch): the last pod's Ready written at a random moment;
 *    - `atHeight` gate (RPC polled every 500 ms, direct mode): the node reaching the target, as
 *      seen by a 10 ms side poller;
 *    - beside them a real 1 s poller measured the same way, and 5 s / 10 s pollers (the intervals
 *      operators use) computed from the uniform-phase model, checked against the 1 s one.
 * 2. API requests per minute while a gate waits (counted in-process), beside the pollers.
 * 3. Gate -> selector flip: `running` gate passes, TrafficSwitch flips; time from the gate's
 *    return to the Service's new selector (seen by a watch) and to the switch's verified return.
 * 4. Fewest ready endpoints seen (EndpointSlice watch) during every switch.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import {
    HeightGateInputs,
    TrafficSwitchInputs,
    heightGateProvider,
    trafficSwitchProvider,
} from "../dynamic-providers";
import { countEndpoints, selectorsEqual } from "../dynamic-providers/switchPlan";
import { Waker, WatchedList } from "../kube/watch";
import { CometChain, status } from "../test/api/harness/cometbft";
import {
    clients,
    createNamespace,
    createService,
    createStatefulSet,
    deleteNamespace,
    readyPods,
    requireCluster,
    setPodState,
} from "../test/api/harness/kube";
import {
    RequestCounter,
    check,
    jitter,
    pollUntilReady,
    pollerModel,
    sleep,
    summarize,
    table,
    trialPods,
} from "./gatesLib";

const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const WAIT_SECONDS = Number(process.env.BENCH_WAIT_SECONDS ?? 65);

/** Trials of the watch-driven `running` gate and of a real 1 s poller on the same event. */
async function runningLatency(
    ns: string,
): Promise<{ gate: number[]; poll1s: number[]; requestMs: number[] }> {
    const gate: number[] = [];
    const poll1s: number[] = [];
    const requestMs: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
        for (const kind of ["gate", "poll"] as const) {
            const trial = await trialPods(ns, `${kind}${i}`);
            const selector = `bench.chainfleet.io/trial=${kind}${i}`;
            const done =
                kind === "gate"
                    ? check<HeightGateInputs>(heightGateProvider, {
                          namespace: ns,
                          chain: "cometbft",
                          mode: "running",
                          entrantSelector: trial.labels,
                          replicas: 2,
                          deadlineSeconds: 60,
                      }).then(async (inputs) => {
                          await heightGateProvider.create(inputs);
                          return Date.now();
                      })
                    : pollUntilReady(ns, selector, 2, 1000);
            await jitter(1500, 2500);
            const t0 = Date.now();
            await setPodState(ns, trial.b, { running: true });
            requestMs.push(Date.now() - t0);
            const latency = (await done) - t0;
            (kind === "gate" ? gate : poll1s).push(latency);
        }
    }
    return { gate, poll1s, requestMs };
}

/** Trials of the RPC-polled `atHeight` gate (500 ms, direct) against a real node. */
async function atHeightLatency(ns: string, rpcUrl: string): Promise<number[]> {
    const out: number[] = [];
    const trial = await trialPods(ns, "height");
    const directUrls = { [trial.a]: rpcUrl, [trial.b]: rpcUrl };
    for (let i = 0; i < TRIALS; i++) {
        // Blocks and polls both tick at ~500 ms; a random start keeps their phases independent.
        await jitter(0, 1000);
        const target = (await status(rpcUrl)).height + 2;
        const inputs = await check<HeightGateInputs>(heightGateProvider, {
            namespace: ns,
            chain: "cometbft",
            mode: "atHeight",
            targetHeight: target,
            entrantSelector: trial.labels,
            replicas: 2,
            rpcMode: "direct",
            directUrls,
            pollIntervalMs: 500,
            deadlineSeconds: 60,
        });
        let reachedAt = 0;
        const watcher = (async () => {
            while (!reachedAt) {
                if ((await status(rpcUrl)).height >= target) {
                    reachedAt = Date.now();
                }
                await sleep(10);
            }
        })();
        await heightGateProvider.create(inputs);
        const returnedAt = Date.now();
        await watcher;
        out.push(returnedAt - reachedAt);
    }
    return out;
}

/** API requests made while a `running` gate waits WAIT_SECONDS for a pod that never turns Ready. */
async function requestsWhileWaiting(ns: string): Promise<number> {
    const trial = await trialPods(ns, "idle");
    const inputs = await check<HeightGateInputs>(heightGateProvider, {
        namespace: ns,
        chain: "cometbft",
        mode: "running",
        entrantSelector: trial.labels,
        replicas: 2,
        deadlineSeconds: WAIT_SECONDS,
    });
    const counter = new RequestCounter().install();
    const t0 = Date.now();
    try {
        await heightGateProvider.create(inputs).catch(() => undefined);
    } finally {
        counter.uninstall();
    }
    return (counter.count * 60_000) / (Date.now() - t0);
}

interface SwitchFigures {
    gateToFlip: number[];
    gateToVerified: number[];
    minReadySeen: number;
    providerMinReady: number[];
}

/** Alternates the Service between blue and green TRIALS times, each flip right after a gate. */
async function switchTrials(ns: string): Promise<SwitchFigures> {
    const blue = { "app.kubernetes.io/instance": "bench", "chainfleet.io/revision": "blue" };
    const green = { "app.kubernetes.io/instance": "bench", "chainfleet.io/revision": "green" };
    await createStatefulSet(ns, "blue", blue, 2);
    await createStatefulSet(ns, "green", green, 2);
    await createService(ns, "rpc", blue);
    await readyPods(ns, blue, 2);
    await readyPods(ns, green, 2);

    const c = clients();
    const waker = new Waker();
    const services = new WatchedList<V1Service>({
        what: "bench service",
        watch: c.watch,
        path: `/api/v1/namespaces/${ns}/services`,
        fieldSelector: "metadata.name=rpc",
        list: () =>
            c.core.listNamespacedService({ namespace: ns, fieldSelector: "metadata.name=rpc" }),
        onChange: () => waker.notify(),
    });
    let minReadySeen = Infinity;
    let tracking = false;
    const slices: WatchedList<V1EndpointSlice> = new WatchedList<V1EndpointSlice>({
        what: "bench slices",
        watch: c.watch,
        path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        labelSelector: "kubernetes.io/service-name=rpc",
        list: () =>
            c.discovery.listNamespacedEndpointSlice({
                namespace: ns,
                labelSelector: "kubernetes.io/service-name=rpc",
            }),
        onChange: () => {
            if (tracking) {
                minReadySeen = Math.min(minReadySeen, countEndpoints(slices.values()).ready);
            }
        },
    });
    await Promise.all([services.start(), slices.start()]);
    while (countEndpoints(slices.values()).ready < 2) {
        await sleep(100);
    }

    const figures: SwitchFigures = {
        gateToFlip: [],
        gateToVerified: [],
        minReadySeen: 0,
        providerMinReady: [],
    };
    try {
        for (let i = 0; i < TRIALS; i++) {
            const target = i % 2 === 0 ? green : blue;
            const gate = await check<HeightGateInputs>(heightGateProvider, {
                namespace: ns,
                chain: "cometbft",
                mode: "running",
                entrantSelector: target,
                replicas: 2,
                deadlineSeconds: 60,
            });
            const sw = await check<TrafficSwitchInputs>(trafficSwitchProvider, {
                namespace: ns,
                serviceName: "rpc",
                selector: target,
                minReady: 2,
                deadlineSeconds: 60,
            });
            tracking = true;
            minReadySeen = Math.min(minReadySeen, countEndpoints(slices.values()).ready);
            await heightGateProvider.create(gate);
            const gateAt = Date.now();
            let flippedAt = 0;
            const flipSeen = (async () => {
                while (!flippedAt) {
                    const svc = services.values()[0];
                    if (selectorsEqual(svc?.spec?.selector, target)) {
                        flippedAt = Date.now();
                        return;
                    }
                    await waker.wait(1000);
                }
            })();
            const res = await trafficSwitchProvider.create(sw);
            const verifiedAt = Date.now();
            await flipSeen;
            tracking = false;
            figures.gateToFlip.push(flippedAt - gateAt);
            figures.gateToVerified.push(verifiedAt - gateAt);
            figures.providerMinReady.push(
                (res.outs as { minReadyDuringSwitch: number }).minReadyDuringSwitch,
            );
        }
    } finally {
        await Promise.all([services.stop(), slices.stop()]);
    }
    figures.minReadySeen = minReadySeen;
    return figures;
}

async function main(): Promise<void> {
    try {
        await requireCluster();
    } catch (err) {
        console.log(`\nGate benchmarks skipped: ${(err as Error).message}`);
        return;
    }
    const jsonOut = process.argv.includes("--json")
        ? process.argv[process.argv.indexOf("--json") + 1]
        : undefined;
    const chain = new CometChain({
        dir: path.join(os.tmpdir(), `chainfleet-bench-${process.pid}`),
    });
    const ns = await createNamespace("bench");
    try {
        const validator = await chain.startValidator();
        console.log(`\nGate benchmarks: ${TRIALS} trials each (namespace ${ns})`);
        const running = await runningLatency(ns);
        const requestMs = summarize(running.requestMs).p50;
        const atHeight = await atHeightLatency(ns, validator.rpcUrl);
        const gatePerMin = await requestsWhileWaiting(ns);
        const sw = await switchTrials(ns);
        const listMs = requestMs;

        table([
            [
                "running gate (pod watch)",
                summarize(running.gate),
                "condition true -> create() returns",
            ],
            ["1 s poller, measured", summarize(running.poll1s), "same event, list pods every 1 s"],
            ["5 s poller, model", pollerModel(5000, listMs), "uniform phase + one list"],
            ["10 s poller, model", pollerModel(10_000, listMs), "uniform phase + one list"],
            [
                "atHeight gate (RPC 500 ms)",
                summarize(atHeight),
                "node at target -> create() returns",
            ],
            [
                "gate -> selector flipped",
                summarize(sw.gateToFlip),
                "gate returns -> Service watch sees new selector",
            ],
            [
                "gate -> switch verified",
                summarize(sw.gateToVerified),
                "... -> EndpointSlices entrant-only and ready",
            ],
        ]);
        console.log("\nAPI requests per minute of waiting (one gate, one pod selector)");
        console.log(
            `  running gate, watch:        ${gatePerMin.toFixed(1)} req/min (measured over ${WAIT_SECONDS} s)`,
        );
        console.log(`  1 s poller:                 60.0 req/min`);
        console.log(`  5 s poller:                 12.0 req/min`);
        console.log(`  10 s poller:                 6.0 req/min`);
        console.log(
            "  podProxy mode adds RPC calls through the API server: per pod per poll, /status " +
                "(+ /net_info in caughtUp): 120-240 req/min per pod at 500 ms; direct mode adds none",
        );
        console.log(
            `\nFewest ready endpoints during ${TRIALS} switches: ${sw.minReadySeen} (EndpointSlice watch); provider's own count: min ${Math.min(...sw.providerMinReady)}`,
        );
        if (jsonOut) {
            fs.writeFileSync(
                jsonOut,
                JSON.stringify(
                    { trials: TRIALS, running, atHeight, gatePerMin, switch: sw },
                    null,
                    2,
                ),
            );
        }
    } finally {
        await chain.dispose();
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
