/**
 * Reads what a HardFork group's chain says about its upgrade, before planning: x/upgrade's
 * scheduled plan, the height the named upgrade was applied at, and the recent block time
 * (chains/upgradePlan.ts parses them). It asks one Ready pod of the group's active set through
 * the API server's pod proxy (kube/rpc.ts), with the kubeconfig's credentials, as the gates and
 * `npm run nodes` read node RPC: it needs `list` on pods and `get` on pods/proxy
 * (config/deployer.ts).
 *
 * Bounded: one read takes at most READ_TIMEOUT_MS, all groups in parallel. It never throws: a
 * failure is returned as a reason (no Ready pod, a 403, a timeout, an answer that does not
 * parse), which lib/chainPlanCheck.ts turns into a warning. Whether the chain agrees is decided
 * there, not here.
 */
import { adapterFor, portFor } from "../chains";
import {
    CURRENT_PLAN_PATH,
    appliedPlanPath,
    olderSampleHeight,
    parseAppliedPlan,
    parseBlockStamp,
    parseCurrentPlan,
    secondsPerBlock,
} from "../chains/upgradePlan";
import {
    ChainPlanCheck,
    ChainPlanTarget,
    ChainRead,
    chainPlanTargets,
    checkChainPlans,
} from "../lib/chainPlanCheck";
import type { GroupPlanArgs } from "../lib/planGroup";
import type { KubeAccess } from "./kube";
import { fetchJson, podProxyUrl } from "./rpc";

/** The whole read of one group: the pod list and every RPC call. */
export const READ_TIMEOUT_MS = 10_000;

/** What the read needs from the cluster; the unit tests pass a fake. */
export interface ChainRpc {
    /** Names of the Running, Ready pods `selector` selects in `namespace`, sorted. */
    readyPods(
        namespace: string,
        selector: Record<string, string>,
        timeoutMs: number,
    ): Promise<string[]>;
    /** GET `path` (with its query string) on `port` of `pod`, as parsed JSON. */
    get(
        namespace: string,
        pod: string,
        port: number,
        path: string,
        timeoutMs: number,
    ): Promise<unknown>;
}

const message = (err: unknown): string =>
    (err instanceof Error ? err.message : String(err)).split("\n")[0];

/** One target's chain, read from the first Ready pod of its active set. */
export async function readChainPlan(
    rpc: ChainRpc,
    target: ChainPlanTarget,
    opts: { timeoutMs?: number; now?: () => number } = {},
): Promise<ChainRead> {
    const now = opts.now ?? Date.now;
    const deadline = now() + (opts.timeoutMs ?? READ_TIMEOUT_MS);
    const left = () => Math.max(1, deadline - now());
    let pods: string[];
    try {
        pods = await rpc.readyPods(target.namespace, target.selector, left());
    } catch (err) {
        return { unreadable: `cannot list the pods of set ${target.set}: ${message(err)}` };
    }
    const pod = pods[0];
    if (pod === undefined) {
        return { unreadable: `no Ready pod of set ${target.set} to ask` };
    }
    const adapter = adapterFor(target.chain);
    const port = portFor(adapter, "rpc").containerPort;
    const get = (path: string) => rpc.get(target.namespace, pod, port, path, left());
    try {
        const [status, plan, appliedHeight] = await Promise.all([
            get(adapter.statusPath).then(adapter.parseStatus),
            get(CURRENT_PLAN_PATH).then(parseCurrentPlan),
            target.upgradeName === undefined
                ? undefined
                : get(appliedPlanPath(target.upgradeName)).then(parseAppliedPlan),
        ]);
        const latestTime = status.latestBlockTime;
        const latestMs = latestTime === undefined ? NaN : Date.parse(latestTime);
        const older = olderSampleHeight(status.height);
        let perBlock: number | undefined;
        if (older !== undefined && latestTime !== undefined) {
            // Only the estimate needs it: a node that has pruned the block still answers the rest.
            try {
                const block = parseBlockStamp(await get(`/block?height=${older}`));
                perBlock = secondsPerBlock(block, { height: status.height, time: latestTime });
            } catch {
                perBlock = undefined;
            }
        }
        return {
            state: {
                node: pod,
                latestHeight: status.height,
                ...(plan && { plan }),
                ...(!Number.isNaN(latestMs) && {
                    latestBlockAgeSeconds: Math.max(0, Math.round((now() - latestMs) / 1000)),
                }),
                ...(perBlock !== undefined && { secondsPerBlock: perBlock }),
                ...(appliedHeight !== undefined && { appliedHeight }),
            },
        };
    } catch (err) {
        return { unreadable: `${pod}: ${message(err)}` };
    }
}

/** Every target's chain, read in parallel. */
export async function readChainPlans(
    targets: readonly ChainPlanTarget[],
    access: KubeAccess,
    rpc: ChainRpc = kubeChainRpc(access),
): Promise<Record<string, ChainRead>> {
    const reads = await Promise.all(targets.map((t) => readChainPlan(rpc, t)));
    return Object.fromEntries(targets.map((t, i) => [t.group, reads[i]]));
}

/**
 * The verdict of every group whose chain is checked (lib/chainPlanCheck.ts chainPlanTargets),
 * from `groups` as the fleet plans them (lib/planGroup.ts fleetGroupArgs): what index.ts stops
 * on (chainPlanError) or logs, and what `npm run plan` shows. A stack without such a group reads
 * nothing.
 */
export async function checkGroupsAgainstChain(
    groups: readonly GroupPlanArgs[],
    access: KubeAccess,
    rpc?: ChainRpc,
): Promise<Record<string, ChainPlanCheck>> {
    const targets = chainPlanTargets(groups);
    if (targets.length === 0) {
        return {};
    }
    return checkChainPlans(targets, await readChainPlans(targets, access, rpc));
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A ChainRpc over the Kubernetes API, the kubeconfig loaded on first use. */
export function kubeChainRpc(access: KubeAccess): ChainRpc {
    // Loaded lazily, as kube/incumbent.ts does: a stack without a checked group needs no client.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = () => (require("./kube") as typeof import("./kube")).loadKubeConfig(access);
    let config: ReturnType<typeof load> | undefined;
    const kc = () => (config ??= load());
    return {
        async readyPods(namespace, selector, timeoutMs) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { k8s } = require("./kube") as typeof import("./kube");
            const core = kc().makeApiClient(k8s.CoreV1Api);
            const labelSelector = Object.entries(selector)
                .map(([k, v]) => `${k}=${v}`)
                .join(",");
            const list = await within(
                timeoutMs,
                `list pods ${labelSelector} in ${namespace}`,
                core.listNamespacedPod({ namespace, labelSelector }),
            );
            return list.items
                .filter(
                    (p) =>
                        p.status?.phase === "Running" &&
                        !p.metadata?.deletionTimestamp &&
                        (p.status?.conditions ?? []).some(
                            (c) => c.type === "Ready" && c.status === "True",
                        ),
                )
                .map((p) => p.metadata?.name ?? "")
                .filter((n) => n !== "")
                .sort();
        },
        async get(namespace, pod, port, path, timeoutMs) {
            const server = kc().getCurrentCluster()?.server ?? "";
            // fetchJson's timeout is the socket's idle time; the read's bound is the total.
            return within(
                timeoutMs,
                `GET ${path} on ${pod}`,
                fetchJson(podProxyUrl(server, namespace, pod, port, path), {
                    timeoutMs,
                    kubeConfig: kc(),
                }),
            );
        },
    };
}
