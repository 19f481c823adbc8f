/**
 * The monitor's Kubernetes calls, and nothing else: every verb here has a matching rule in the
 * Role that manifests.ts builds (and the api test proves the Role allows exactly these).
 * Transient API errors are retried (kube/kube.ts `withRetry`); the rest fail with the object named.
 */
import { KubeClients, isConflict, isNotFound, k8s, statusCode, withRetry } from "../kube/kube";
import { FIELD_MANAGER, TEST_LABEL } from "./constants";
import type { Logger } from "./log";
import { RunningTest, TestResult, dataWithCurrent, dataWithResult } from "./results";

export interface MonitorTarget {
    namespace: string;
    podName: string;
    statefulSet: string;
}

/** The containers that run the node's image: the node's, and init containers such as prepare. */
export interface NodeImageContainers {
    node: string;
    init: readonly string[];
}

/**
 * The strategic-merge patch that pins the node's image (in the node container and the init
 * containers that run the same image) and sets annotations on the pod template. Containers
 * merge by name, so the patch cannot hit the wrong container the way a JSON patch on
 * `/containers/0` can.
 */
export function pinPatch(
    containers: NodeImageContainers,
    image: string,
    annotations: Record<string, string>,
): Record<string, unknown> {
    return {
        spec: {
            template: {
                metadata: { annotations },
                spec: {
                    containers: [{ name: containers.node, image }],
                    ...(containers.init.length > 0
                        ? { initContainers: containers.init.map((name) => ({ name, image })) }
                        : {}),
                },
            },
        },
    };
}

/** Unique enough for an Event name: the object, then time and a random suffix in hex. */
function eventName(object: string): string {
    const suffix = Math.floor(Math.random() * 0xffff).toString(16);
    return `${object}.${Date.now().toString(16)}${suffix}`;
}

export class MonitorKube {
    constructor(
        private readonly kube: KubeClients,
        readonly target: MonitorTarget,
        private readonly log: Logger,
    ) {}

    private get ns(): string {
        return this.target.namespace;
    }

    async getPod(): Promise<k8s.V1Pod> {
        return this.named("read pod", this.target.podName, () =>
            this.kube.core.readNamespacedPod({ name: this.target.podName, namespace: this.ns }),
        );
    }

    async getStatefulSet(): Promise<k8s.V1StatefulSet> {
        return this.named("read StatefulSet", this.target.statefulSet, () =>
            this.kube.apps.readNamespacedStatefulSet({
                name: this.target.statefulSet,
                namespace: this.ns,
            }),
        );
    }

    async pinImage(
        containers: NodeImageContainers,
        image: string,
        annotations: Record<string, string>,
    ) {
        await this.named("patch StatefulSet", this.target.statefulSet, () =>
            this.kube.apps.patchNamespacedStatefulSet(
                {
                    name: this.target.statefulSet,
                    namespace: this.ns,
                    body: pinPatch(containers, image, annotations),
                    fieldManager: FIELD_MANAGER,
                },
                k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
            ),
        );
    }

    /**
     * Deletes this pod, but only the incarnation with `uid`: if the controller already replaced
     * it, the precondition fails (409) and the replacement is left alone.
     */
    async deletePod(uid: string): Promise<void> {
        try {
            await this.named("delete pod", this.target.podName, () =>
                this.kube.core.deleteNamespacedPod({
                    name: this.target.podName,
                    namespace: this.ns,
                    body: { preconditions: { uid } },
                }),
            );
        } catch (err) {
            if (isNotFound(err) || isConflict(err)) {
                return;
            }
            throw err;
        }
    }

    /** True once no pod with `uid` exists (deleted, or replaced by a new incarnation). */
    async podGone(uid: string): Promise<boolean> {
        try {
            const pod = await this.getPod();
            return pod.metadata?.uid !== uid;
        } catch (err) {
            if (isNotFound(err)) {
                return true;
            }
            throw err;
        }
    }

    /**
     * Records an Event on the StatefulSet. Best effort: an Event is for people watching, and a
     * failure to write one must not fail the test; it is logged as a warning instead.
     */
    async event(
        sts: k8s.V1StatefulSet,
        reason: string,
        message: string,
        type: "Normal" | "Warning" = "Normal",
    ): Promise<void> {
        const now = new Date();
        try {
            await withRetry("create event", () =>
                this.kube.core.createNamespacedEvent({
                    namespace: this.ns,
                    body: {
                        metadata: { name: eventName(this.target.statefulSet), namespace: this.ns },
                        involvedObject: {
                            apiVersion: "apps/v1",
                            kind: "StatefulSet",
                            name: this.target.statefulSet,
                            namespace: this.ns,
                            uid: sts.metadata?.uid,
                        },
                        reason,
                        message,
                        type,
                        count: 1,
                        firstTimestamp: now,
                        lastTimestamp: now,
                        source: { component: FIELD_MANAGER },
                        reportingComponent: `chainfleet.io/${FIELD_MANAGER}`,
                        reportingInstance: this.target.podName,
                    },
                }),
            );
        } catch (err) {
            this.log.warn("could not record event", { reason, error: (err as Error).message });
        }
    }

    /**
     * Adds `result` to the results ConfigMap, keeping the newest `keepLast`, and clears the test
     * from `current.json`.
     */
    async saveResult(
        configMap: string,
        result: TestResult,
        keepLast: number,
    ): Promise<{ added: boolean }> {
        let added = false;
        await this.updateConfigMap(configMap, (data) => {
            const next = dataWithResult(data, result, keepLast);
            if (next.problem) {
                this.log.warn("results ConfigMap partly unreadable; keeping what could be read", {
                    configMap,
                    problem: next.problem,
                });
            }
            added = next.added;
            return next.data;
        });
        return { added };
    }

    /** Records the test in progress in the results ConfigMap's `current.json`. */
    async saveCurrent(configMap: string, current: RunningTest): Promise<void> {
        await this.updateConfigMap(configMap, (data) => dataWithCurrent(data, current));
    }

    /**
     * Read-modify-write of the results ConfigMap with the resourceVersion as precondition, retried
     * on conflict, so two writers (an old and a new sidecar during a pod replacement) cannot drop
     * each other's result. `change` returns the new data, or undefined to leave it as it is.
     */
    private async updateConfigMap(
        configMap: string,
        change: (data: Record<string, string> | undefined) => Record<string, string> | undefined,
    ): Promise<void> {
        for (let attempt = 0; attempt < 5; attempt++) {
            const existing = await this.readConfigMap(configMap);
            const data = change(existing?.data);
            if (data === undefined) {
                return;
            }
            const body: k8s.V1ConfigMap = {
                metadata: {
                    name: configMap,
                    namespace: this.ns,
                    labels: {
                        [TEST_LABEL]: this.target.statefulSet,
                        ...existing?.metadata?.labels,
                    },
                    ...(existing ? { resourceVersion: existing.metadata?.resourceVersion } : {}),
                },
                data,
            };
            try {
                await withRetry("write results ConfigMap", () =>
                    existing
                        ? this.kube.core.replaceNamespacedConfigMap({
                              name: configMap,
                              namespace: this.ns,
                              body,
                              fieldManager: FIELD_MANAGER,
                          })
                        : this.kube.core.createNamespacedConfigMap({
                              namespace: this.ns,
                              body,
                              fieldManager: FIELD_MANAGER,
                          }),
                );
                return;
            } catch (err) {
                // A create that lost the race to another writer is a 409 too: read again.
                if (!isConflict(err)) {
                    throw this.wrap("write ConfigMap", configMap, err);
                }
            }
        }
        throw new Error(
            `ConfigMap ${this.ns}/${configMap} kept changing under the monitor (5 conflicts); is another writer updating it?`,
        );
    }

    private async readConfigMap(name: string): Promise<k8s.V1ConfigMap | undefined> {
        try {
            return await withRetry("read results ConfigMap", () =>
                this.kube.core.readNamespacedConfigMap({ name, namespace: this.ns }),
            );
        } catch (err) {
            if (isNotFound(err)) {
                return undefined;
            }
            throw this.wrap("read ConfigMap", name, err);
        }
    }

    private async named<T>(what: string, name: string, fn: () => Promise<T>): Promise<T> {
        try {
            return await withRetry(`${what} ${name}`, fn);
        } catch (err) {
            throw this.wrap(what, name, err);
        }
    }

    /** Names the call and object, and says what a 403 means for this ServiceAccount. */
    private wrap(what: string, name: string, err: unknown): Error {
        const code = statusCode(err);
        const hint =
            code === 403
                ? "; the monitor's ServiceAccount lacks this permission: check the Role that components/BootstrapTest.ts declares"
                : "";
        const wrapped = new Error(
            `${what} ${this.ns}/${name} failed: ${describeApiError(err)}${hint}`,
            {
                cause: err,
            },
        );
        // Keep the status visible to isNotFound/isConflict/isTransient.
        (wrapped as { statusCode?: number }).statusCode = code;
        return wrapped;
    }
}

/** `HTTP 403: pods "x" is forbidden: …` from an ApiException, whose own message is a dump. */
export function describeApiError(err: unknown): string {
    if (err instanceof k8s.ApiException) {
        let message: unknown;
        try {
            const body: unknown = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
            message = (body as { message?: unknown } | undefined)?.message;
        } catch {
            message = undefined;
        }
        return `HTTP ${err.code}${typeof message === "string" ? `: ${message}` : ""}`;
    }
    return err instanceof Error ? err.message : String(err);
}
