/**
 * Reads each group's incumbent from the live cluster: the stable Service's selector names the
 * active set, and that StatefulSet gives its image and replicas. Stack outputs are not used for
 * this: they are overwritten even by failed updates, while the selector changes only when the
 * traffic switch has succeeded.
 */
import { LABEL, SWITCHED_AT_ANNOTATION } from "../lib/labels";
import { groupNames } from "../lib/names";
import type { Incumbent } from "../lib/plan";
import { forbiddenMessage } from "../lib/forbidden";

/**
 * The incumbent read failed. Its message is whole (which object, and the permission to grant or
 * the cluster to check), so the program prints it without a stack (components/programError.ts).
 */
export class ClusterReadError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = "ClusterReadError";
    }
}

/** What the program reads of a stable Service. */
export interface LiveService {
    selector?: Record<string, string>;
    /** The traffic switch's `chainfleet.io/switched-at` annotation, if it ever switched it. */
    switchedAt?: string;
}

export interface LiveSet {
    image?: string;
    replicas?: number;
    revision?: string;
}

/** What the program needs to read from the cluster; the unit tests pass a fake. */
export interface ClusterReader {
    /** Service `name`'s selector and switch annotation, or undefined when there is no such Service. */
    service(namespace: string, name: string): Promise<LiveService | undefined>;
    /** StatefulSet `name`'s node image, replicas and revision label, if it exists. */
    statefulSet(namespace: string, name: string): Promise<LiveSet | undefined>;
}

export async function readIncumbent(
    reader: ClusterReader,
    namespace: string,
    group: string,
): Promise<Incumbent | undefined> {
    const service = await reader.service(namespace, groupNames(group).stableService);
    const selector = service?.selector;
    const set = selector?.[LABEL.set];
    if (!selector || !set) {
        return undefined;
    }
    const live = await reader.statefulSet(namespace, set);
    // A set's revision label is on its pods; a Rolling set's selector omits it, so the
    // StatefulSet's own revision label (kept current by Pulumi) is the fallback.
    const revision = selector[LABEL.revision] ?? live?.revision ?? "";
    return {
        set,
        revision,
        image: live?.image,
        replicas: live?.replicas,
        ...(service?.switchedAt ? { switchedAt: service.switchedAt } : {}),
    };
}

/** A ClusterReader over the Kubernetes API (kubeconfig from $KUBECONFIG or ~/.kube/config). */
export function kubeClusterReader(access: {
    kubeconfig?: string;
    context?: string;
}): ClusterReader {
    // Loaded lazily: unit tests and `config:check` never need a cluster client.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kube = require("./kube") as typeof import("./kube");
    const clients = kube.kubeClients(access);
    const orUndefined = async <T>(what: string, call: () => Promise<T>): Promise<T | undefined> => {
        try {
            return await kube.withRetry(what, call);
        } catch (err) {
            if (kube.isNotFound(err)) {
                return undefined;
            }
            // A 403 is the deploying identity's missing permission, not an unreachable cluster.
            const forbidden = forbiddenMessage(err);
            if (forbidden !== undefined) {
                throw new ClusterReadError(`cannot read ${what}: ${forbidden}`, { cause: err });
            }
            throw new ClusterReadError(
                `cannot read ${what} from the cluster (${err instanceof Error ? err.message : String(err)}); ` +
                    "chainfleet reads each group's active revision before planning, so it needs " +
                    "the cluster that `kubernetes:kubeconfig`/$KUBECONFIG points at to answer",
                { cause: err },
            );
        }
    };
    return {
        async service(namespace, name) {
            const svc = await orUndefined(`Service ${namespace}/${name}`, () =>
                clients.core.readNamespacedService({ name, namespace }),
            );
            return (
                svc && {
                    selector: svc.spec?.selector,
                    switchedAt: svc.metadata?.annotations?.[SWITCHED_AT_ANNOTATION],
                }
            );
        },
        async statefulSet(namespace, name) {
            const sts = await orUndefined(`StatefulSet ${namespace}/${name}`, () =>
                clients.apps.readNamespacedStatefulSet({ name, namespace }),
            );
            if (!sts) {
                return undefined;
            }
            const node = sts.spec?.template.spec?.containers.find((c) => c.name === "node");
            return {
                image: node?.image,
                replicas: sts.spec?.replicas,
                revision: sts.metadata?.labels?.[LABEL.revision],
            };
        },
    };
}

/** Every group's incumbent, read in parallel. */
export async function readIncumbents(
    config: { namespace?: string; network: string; groups: Record<string, unknown> },
    access: { kubeconfig?: string; context?: string },
    reader: ClusterReader = kubeClusterReader(access),
): Promise<Record<string, Incumbent | undefined>> {
    const namespace = config.namespace ?? config.network;
    const groups = Object.keys(config.groups);
    const found = await Promise.all(groups.map((g) => readIncumbent(reader, namespace, g)));
    return Object.fromEntries(groups.map((g, i) => [g, found[i]]));
}
