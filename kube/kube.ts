/**
 * Kubernetes API access shared by the dynamic providers, the bootstrap monitor and the api tests.
 *
 * @kubernetes/client-node 1.x is an ES module; Node >= 20.19 loads it through `require`, so the
 * CommonJS output of this program (and the dynamic-provider process, which `require`s captured
 * modules) can import it directly. 2.x needs Node 22, hence the 1.x pin.
 */
// `import x = require()` (not `import * as`) on purpose: Pulumi's closure serializer recognises a
// captured module only when the captured value *is* the module object, and TypeScript's
// `__importStar` wrapper around these ES modules hides it, so the dynamic-provider code would try
// to inline the whole client library and fail. For the same reason p-retry is used through its
// module object, never through a destructured function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import k8s = require("@kubernetes/client-node");
// eslint-disable-next-line @typescript-eslint/no-require-imports
import pRetryMod = require("p-retry");

/** Where to find the cluster. Defaults to $KUBECONFIG, then ~/.kube/config, then in-cluster. */
export interface KubeAccess {
    /** Path to a kubeconfig file. */
    kubeconfig?: string;
    /** Context to use from that kubeconfig. Defaults to its current context. */
    context?: string;
}

export interface KubeClients {
    config: k8s.KubeConfig;
    core: k8s.CoreV1Api;
    apps: k8s.AppsV1Api;
    batch: k8s.BatchV1Api;
    discovery: k8s.DiscoveryV1Api;
    rbac: k8s.RbacAuthorizationV1Api;
    watch: k8s.Watch;
}

export function loadKubeConfig(access: KubeAccess = {}): k8s.KubeConfig {
    const config = new k8s.KubeConfig();
    if (access.kubeconfig) {
        config.loadFromFile(access.kubeconfig);
    } else {
        config.loadFromDefault();
    }
    if (access.context) {
        config.setCurrentContext(access.context);
    }
    return config;
}

export function kubeClients(access: KubeAccess = {}): KubeClients {
    const config = loadKubeConfig(access);
    return {
        config,
        core: config.makeApiClient(k8s.CoreV1Api),
        apps: config.makeApiClient(k8s.AppsV1Api),
        batch: config.makeApiClient(k8s.BatchV1Api),
        discovery: config.makeApiClient(k8s.DiscoveryV1Api),
        rbac: config.makeApiClient(k8s.RbacAuthorizationV1Api),
        watch: new k8s.Watch(config),
    };
}

/** The HTTP status of a failed API call, or undefined for network-level failures. */
export function statusCode(err: unknown): number | undefined {
    if (err instanceof k8s.ApiException) {
        return err.code;
    }
    const code = (err as { code?: unknown; statusCode?: unknown } | undefined)?.statusCode;
    return typeof code === "number" ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;

// Arrays, not Sets: dynamic providers capture this module by value, and Pulumi's closure
// serializer turns a captured Set into a plain object whose `has` then throws.
const TRANSIENT_STATUS = [408, 429, 500, 502, 503, 504];
const TRANSIENT_NETWORK = [
    "ECONNRESET",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "EPIPE",
    "EAI_AGAIN",
    "UND_ERR_SOCKET",
];

/** True for errors worth retrying: throttling, server hiccups and dropped connections. */
export function isTransient(err: unknown): boolean {
    const status = statusCode(err);
    if (status !== undefined) {
        return TRANSIENT_STATUS.includes(status);
    }
    let cause: unknown = err;
    for (let depth = 0; cause && depth < 4; depth++) {
        const code = (cause as { code?: unknown }).code;
        if (typeof code === "string" && TRANSIENT_NETWORK.includes(code)) {
            return true;
        }
        cause = (cause as { cause?: unknown }).cause;
    }
    return false;
}

export interface RetryOptions {
    /** Attempts after the first. Defaults to 5. */
    retries?: number;
    /** First back-off in ms, doubled each time. Defaults to 200. */
    minTimeoutMs?: number;
    /** Give up retrying once this wall-clock time (ms since epoch) has passed. */
    deadline?: number;
}

/**
 * Runs `fn`, retrying transient API errors with exponential back-off. Non-transient errors
 * (404, 403, 422, ...) fail at once: retrying them only delays the message a person needs.
 */
export async function withRetry<T>(
    what: string,
    fn: () => Promise<T>,
    opts: RetryOptions = {},
): Promise<T> {
    return pRetryMod.default(
        async () => {
            try {
                return await fn();
            } catch (err) {
                const pastDeadline = opts.deadline !== undefined && Date.now() > opts.deadline;
                if (!isTransient(err) || pastDeadline) {
                    throw new pRetryMod.AbortError(
                        err instanceof Error ? err : new Error(String(err)),
                    );
                }
                throw err;
            }
        },
        {
            retries: opts.retries ?? 5,
            minTimeout: opts.minTimeoutMs ?? 200,
            factor: 2,
            onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
                if (retriesLeft > 0) {
                    console.error(
                        `${what}: attempt ${attemptNumber} failed (${error.message}); retrying`,
                    );
                }
            },
        },
    );
}

/**
 * Request options that send a JSON merge patch. client-node 1.x sends patches as JSON Patch
 * unless told otherwise, and a merge patch is what a partial object body means.
 */
export function mergePatchOptions() {
    return k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
}

export { k8s };
