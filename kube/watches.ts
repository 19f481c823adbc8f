/**
 * The watches the dynamic providers keep, set up in one place: each is a `WatchedList` of one
 * kind of object in one namespace that wakes `waker` on every change.
 */
import type { V1EndpointSlice, V1Job, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { KubeClients } from "./kube";
import { ListResult, Waker, WatchedList } from "./watch";

/** Pods matching `labelSelector`; `list` overrides the plain list call (same selector). */
export function watchPods(
    clients: KubeClients,
    namespace: string,
    labelSelector: string,
    waker: Waker,
    opts: { what?: string; list?: () => Promise<ListResult<V1Pod>> } = {},
): WatchedList<V1Pod> {
    return new WatchedList<V1Pod>({
        what: opts.what ?? `pods ${labelSelector} in ${namespace}`,
        watch: clients.watch,
        path: `/api/v1/namespaces/${namespace}/pods`,
        labelSelector,
        list: opts.list ?? (() => clients.core.listNamespacedPod({ namespace, labelSelector })),
        onChange: () => waker.notify(),
    });
}

/** The kinds watched by name: where they live and how to list them. */
const BY_NAME = {
    Job: {
        path: (namespace: string) => `/apis/batch/v1/namespaces/${namespace}/jobs`,
        list: (clients: KubeClients, namespace: string, fieldSelector: string) =>
            clients.batch.listNamespacedJob({ namespace, fieldSelector }),
    },
    StatefulSet: {
        path: (namespace: string) => `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
        list: (clients: KubeClients, namespace: string, fieldSelector: string) =>
            clients.apps.listNamespacedStatefulSet({ namespace, fieldSelector }),
    },
};
interface ByName {
    Job: V1Job;
    StatefulSet: V1StatefulSet;
}

/** The one object of `kind` called `name`, as a list of at most one. */
export function watchByName<K extends keyof ByName>(
    clients: KubeClients,
    kind: K,
    namespace: string,
    name: string,
    waker: Waker,
): WatchedList<ByName[K]> {
    const fieldSelector = `metadata.name=${name}`;
    const { path, list } = BY_NAME[kind];
    return new WatchedList<ByName[K]>({
        what: `${kind} ${namespace}/${name}`,
        watch: clients.watch,
        path: path(namespace),
        fieldSelector,
        list: () => list(clients, namespace, fieldSelector) as Promise<ListResult<ByName[K]>>,
        onChange: () => waker.notify(),
    });
}

/** The EndpointSlices of the Service called `serviceName`. */
export function watchEndpointSlices(
    clients: KubeClients,
    namespace: string,
    serviceName: string,
    waker: Waker,
): WatchedList<V1EndpointSlice> {
    const labelSelector = `kubernetes.io/service-name=${serviceName}`;
    return new WatchedList<V1EndpointSlice>({
        what: `EndpointSlices of Service ${namespace}/${serviceName}`,
        watch: clients.watch,
        path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
        labelSelector,
        list: () => clients.discovery.listNamespacedEndpointSlice({ namespace, labelSelector }),
        onChange: () => waker.notify(),
    });
}
