/**
 * The waiting half of the HeightGate: watch the pods, poll node RPC for heights (which have no
 * watch), ask gates.ts for a verdict, print progress, and stop at the deadline.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { ChainAdapter } from "../chains/types";
import {
    NodeObservation,
    Verdict,
    evaluateAtHeight,
    evaluateCaughtUp,
    evaluateRunning,
    latest,
    podView,
    progressLine,
    rateOf,
    recordSample,
    referenceHeight,
    referenceRate,
    formatRate,
    initFailure,
    refusedInput,
} from "./gates";
import { KubeClients, kubeClients } from "../kube/kube";
import { selectorString } from "./switchPlan";
import { Waker, WatchedList } from "../kube/watch";
import { watchPods } from "../kube/watches";
import { loadChains } from "./chainsLoader";
import { Deadline, Progress, errorMessage } from "./common";
import type { HeightGateInputs } from "./heightGate";
import { directUrl, fetchJson, podProxyUrl } from "../kube/rpc";

/** What a passed gate found: the gate's outputs besides its inputs. */
export interface HeightGateResult {
    /** When the gate passed (RFC 3339). */
    passedAt: string;
    /** Entrant pod -> height when the gate passed (empty in `running` mode). */
    heights: Record<string, number>;
    /** The reference height at pass time, or -1 when there was none. */
    referenceHeight: number;
    /** Seconds the gate waited. */
    waitedSeconds: number;
    /** The passing verdict, e.g. "all 3 entrants caught up (...)". */
    reason: string;
}

const livePodNames = (list: WatchedList<V1Pod>) =>
    list
        .values()
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => p.metadata?.name ?? "")
        .sort();

/** Samples node RPC: status (and peers when asked) for each named target. */
export class Sampler {
    private readonly timeoutMs: number;

    constructor(
        private readonly inputs: HeightGateInputs,
        private readonly adapter: ChainAdapter,
        private readonly clients: KubeClients,
    ) {
        // Long enough for a busy API server, short enough that one hung pod cannot stall a round.
        this.timeoutMs = Math.min(5000, Math.max(1000, inputs.pollIntervalMs * 4));
    }

    /** The URL of `path` on a pod, or why there is none. */
    podUrl(pod: string, path: string): string {
        const { inputs } = this;
        if (inputs.rpcMode === "direct") {
            const base = inputs.directUrls?.[pod];
            if (!base) {
                throw new Error(
                    `no directUrls entry for pod ${pod}; add "${pod}": "http://host:port"`,
                );
            }
            return directUrl(base, path);
        }
        const server = this.clients.config.getCurrentCluster()?.server ?? "";
        return podProxyUrl(server, inputs.namespace, pod, inputs.rpcPort, path);
    }

    /** `withPeers`: entrants' peer counts are judged; incumbents' and references' are not. */
    async sample(
        node: NodeObservation,
        urlFor: (path: string) => string,
        viaApi: boolean,
        withPeers: boolean,
    ) {
        const a = this.adapter;
        const common = {
            timeoutMs: this.timeoutMs,
            kubeConfig: viaApi ? this.clients.config : undefined,
        };
        try {
            const statusBody = await fetchJson(urlFor(a.statusPath), {
                ...common,
                method: a.statusRequest.method,
                body: a.statusRequest.body,
                acceptStatuses: a.statusHttpCodes,
            });
            const status = a.parseStatus(statusBody);
            let peers = status.peers;
            if (withPeers && peers === undefined) {
                const body = await fetchJson(urlFor(a.peersPath), {
                    ...common,
                    method: a.peersRequest.method,
                    body: a.peersRequest.body,
                });
                peers = a.parsePeerCount(body);
            }
            recordSample(node, {
                at: Date.now(),
                height: status.height,
                catchingUp: status.catchingUp,
                peers,
            });
        } catch (err) {
            node.error = errorMessage(err);
        }
    }
}

/** Keeps one NodeObservation per name, dropping names that went away. */
function syncObservations(
    map: Map<string, NodeObservation>,
    names: readonly string[],
): NodeObservation[] {
    for (const key of [...map.keys()]) {
        if (!names.includes(key)) {
            map.delete(key);
        }
    }
    return names.map((name) => {
        let node = map.get(name);
        if (!node) {
            node = { name, history: [] };
            map.set(name, node);
        }
        return node;
    });
}

/**
 * An entrant whose RPC did not answer because an init container failed (say the agent's prepare,
 * on a wrong genesis checksum): the failure is the reason, not the refused connection.
 */
function noteInitFailures(nodes: NodeObservation[], pods: WatchedList<V1Pod>): void {
    const failures = new Map(pods.values().map((p) => [p.metadata?.name, initFailure(p)]));
    for (const n of nodes) {
        const failure = failures.get(n.name);
        if (n.error !== undefined && failure !== undefined) {
            n.error = failure;
        }
    }
}

export async function runHeightGate(inputs: HeightGateInputs): Promise<HeightGateResult> {
    const deadline = new Deadline(inputs.deadlineSeconds);
    const where = `${inputs.namespace}/${selectorString(inputs.entrantSelector)}`;
    const progress = new Progress(`[HeightGate ${inputs.mode} ${where}]`);
    const clients = kubeClients(inputs);
    const waker = new Waker();
    const entrants = watchPods(
        clients,
        inputs.namespace,
        selectorString(inputs.entrantSelector),
        waker,
    );
    const wantsIncumbents = inputs.mode === "caughtUp" && inputs.incumbentSelector !== undefined;
    const incumbents = wantsIncumbents
        ? watchPods(
              clients,
              inputs.namespace,
              selectorString(inputs.incumbentSelector ?? {}),
              waker,
          )
        : undefined;
    const watches = [entrants, ...(incumbents ? [incumbents] : [])];

    const usesRpc = inputs.mode !== "running";
    const adapter = loadChains().adapterFor(inputs.chain);
    const sampler = new Sampler(inputs, adapter, clients);
    const entrantPeers = inputs.mode === "caughtUp" && inputs.minPeers > 0;
    const entrantObs = new Map<string, NodeObservation>();
    const incumbentObs = new Map<string, NodeObservation>();
    const referenceObs = new Map<string, NodeObservation>(
        (inputs.referenceRpcs ?? []).map((url) => [url, { name: url, history: [] }]),
    );
    const hasReference = wantsIncumbents || referenceObs.size > 0;

    progress.say(
        `waiting up to ${inputs.deadlineSeconds}s for ${inputs.replicas} pod(s) (${describeGoal(inputs)})`,
    );
    try {
        await Promise.all(watches.map((w) => w.start()));
        let verdict: Verdict = { pass: false, reason: "not evaluated yet" };
        let entrantNodes: NodeObservation[] = [];
        let sources: NodeObservation[] = [];
        for (;;) {
            const fatal = watches.find((w) => w.fatal)?.fatal;
            if (fatal) {
                throw fatal;
            }
            const refused = entrants
                .values()
                .map((p) => [p.metadata?.name ?? "?", refusedInput(p)] as const)
                .filter(([, why]) => why !== undefined);
            if (refused.length > 0) {
                throw new Error(
                    `HeightGate (${inputs.mode}) on pods ${selectorString(inputs.entrantSelector)} in ` +
                        `${inputs.namespace}: the agent refused the input of ` +
                        refused.map(([pod, why]) => `${pod} (${why})`).join("; ") +
                        `; no restart can fix that: fix the stack config and run \`pulumi up\` again. ` +
                        `Nothing was changed: incumbents keep serving.`,
                );
            }
            if (!usesRpc) {
                verdict = evaluateRunning(entrants.values().map(podView), inputs.replicas);
            } else {
                entrantNodes = syncObservations(entrantObs, livePodNames(entrants));
                const incumbentNodes = incumbents
                    ? syncObservations(incumbentObs, livePodNames(incumbents))
                    : [];
                sources = [...incumbentNodes, ...referenceObs.values()];
                const viaApi = inputs.rpcMode === "podProxy";
                await Promise.all([
                    ...entrantNodes.map((n) =>
                        sampler.sample(n, (p) => sampler.podUrl(n.name, p), viaApi, entrantPeers),
                    ),
                    ...incumbentNodes.map((n) =>
                        sampler.sample(n, (p) => sampler.podUrl(n.name, p), viaApi, false),
                    ),
                    ...[...referenceObs.values()].map((n) =>
                        sampler.sample(n, (p) => directUrl(n.name, p), false, false),
                    ),
                ]);
                noteInitFailures(entrantNodes, entrants);
                verdict = evaluate(inputs, entrantNodes, sources, hasReference);
            }
            if (verdict.pass) {
                const ref = referenceHeight(sources);
                progress.say(`passed after ${deadline.elapsed()}: ${verdict.reason}`);
                return {
                    passedAt: new Date().toISOString(),
                    heights: Object.fromEntries(
                        entrantNodes.map((n) => [n.name, latest(n)?.height ?? 0]),
                    ),
                    referenceHeight: ref ?? -1,
                    waitedSeconds: Math.round((Date.now() - deadline.startedAt) / 1000),
                    reason: verdict.reason,
                };
            }
            if (deadline.expired()) {
                throw new Error(deadlineMessage(inputs, verdict, entrantNodes, sources, deadline));
            }
            progress.report(usesRpc ? statusLines(inputs, entrantNodes, sources) : verdict.reason);
            // Pod modes sleep until a watch event; RPC modes poll at the interval, and a pod
            // event (a pod appearing, a restart) starts the next round early.
            const pause = usesRpc ? inputs.pollIntervalMs : 30_000;
            await waker.wait(Math.min(pause, deadline.remainingMs()));
        }
    } finally {
        await Promise.all(watches.map((w) => w.stop()));
    }
}

function evaluate(
    inputs: HeightGateInputs,
    entrantNodes: NodeObservation[],
    sources: NodeObservation[],
    hasReference: boolean,
): Verdict {
    if (inputs.mode === "atHeight") {
        return evaluateAtHeight(entrantNodes, inputs.targetHeight ?? 0, inputs.replicas);
    }
    return evaluateCaughtUp(
        entrantNodes,
        referenceHeight(sources),
        {
            expected: inputs.replicas,
            tolerance: inputs.tolerance,
            minPeers: inputs.minPeers,
            requireAdvancing: inputs.requireAdvancing,
        },
        hasReference,
    );
}

function describeGoal(inputs: HeightGateInputs): string {
    switch (inputs.mode) {
        case "running":
            return "all Ready";
        case "atHeight":
            return `height >= ${inputs.targetHeight}`;
        default:
            return `caught up within ${inputs.tolerance} blocks, >= ${inputs.minPeers} peers`;
    }
}

/** The goal the ETA counts towards: the target height, or the reference height. */
function goalOf(
    inputs: HeightGateInputs,
    sources: NodeObservation[],
): [number | undefined, number] {
    if (inputs.mode === "atHeight") {
        return [inputs.targetHeight, 0];
    }
    const ref = referenceHeight(sources);
    return [ref === undefined ? undefined : ref - inputs.tolerance, referenceRate(sources) ?? 0];
}

function statusLines(
    inputs: HeightGateInputs,
    entrantNodes: NodeObservation[],
    sources: NodeObservation[],
): string {
    const [goal, goalRate] = goalOf(inputs, sources);
    const lines = entrantNodes.map((n) => progressLine(n, goal, goalRate));
    if (inputs.mode === "caughtUp") {
        const ref = referenceHeight(sources);
        lines.push(
            ref === undefined
                ? "reference: none reachable"
                : `reference h=${ref} (${formatRate(referenceRate(sources))})`,
        );
    }
    return lines.join(" | ");
}

function deadlineMessage(
    inputs: HeightGateInputs,
    verdict: Verdict,
    entrantNodes: NodeObservation[],
    sources: NodeObservation[],
    deadline: Deadline,
): string {
    const lines = [
        `HeightGate (${inputs.mode}) on pods ${selectorString(inputs.entrantSelector)} in ${inputs.namespace} ` +
            `did not pass within deadlineSeconds=${inputs.deadlineSeconds}: ${verdict.reason}.`,
    ];
    if (inputs.mode !== "running") {
        const [goal, goalRate] = goalOf(inputs, sources);
        for (const n of entrantNodes) {
            lines.push(`  entrant ${progressLine(n, goal, goalRate)}`);
        }
        for (const n of sources) {
            const h = latest(n)?.height;
            lines.push(
                `  reference ${n.name}: ${h === undefined ? `unreachable (${n.error ?? "no answer"})` : `h=${h}, ${formatRate(rateOf(n.history))}`}`,
            );
        }
    }
    lines.push(
        `Nothing was changed: incumbents keep serving. Run \`pulumi up\` again to resume waiting, ` +
            `or raise deadlineSeconds if the ETA above is longer than ${deadline.seconds}s.`,
    );
    return lines.join("\n");
}
