/**
 * Turns a Kubernetes 403 into what the person running the deploy must fix:
 *
 *   the deploying identity lacks <verb> on <resource>[/<subresource>] in namespace <ns>; see README §Deploy jobs
 *
 * A 403 reaches chainfleet's code in three shapes, and each carries a different amount of the
 * facts, so the parser reads whatever is there and takes the rest from a hint the caller knows:
 * - `ApiException` of @kubernetes/client-node 1.x (typed API calls): `code` 403 and `body`, the
 *   Status as JSON *text* (the generated clients hand over `response.body.text()` unparsed).
 *   Its `message` reads `<resource>[.<group>] ["<name>"] is forbidden: User "<u>" cannot <verb>
 *   resource "<resource>[/<sub>]" in API group "<g>" in the namespace "<ns>"` (or `at the cluster
 *   scope`), the API server's `forbiddenMessage`; `details` has `kind` (the resource, without the
 *   subresource), `group` and `name`, but no verb or namespace.
 * - A failed watch (`k8s.Watch`, used by lib/watch.ts): a plain `Error("Forbidden")` with
 *   `statusCode` 403 and no body at all. Only the hint can say what was refused.
 * - A pod-proxy call (kube/rpc.ts `fetchJson`): `Error("HTTP 403 from <url>: <first
 *   200 characters of the Status JSON>")`. The URL gives the namespace and `pods/proxy`; the cut
 *   body may or may not still hold the verb.
 * The RBAC escalation check (creating a Role that grants what the creator lacks) is a 403 too,
 * with `... is attempting to grant RBAC permissions not currently held:` and one
 * `{APIGroups:[..], Resources:[..], ResourceNames:[..], Verbs:[..]}` per missing permission.
 *
 * Pure: duck-typed on those shapes, so it needs neither the client library nor a cluster.
 */

/** What the caller was doing, for the shapes that do not say (watches, the pod proxy). */
/** Where the README explains each rule of the deployer identity (config/deployer.ts). */
export const DEPLOY_JOBS_DOC = "README §Deploy jobs";

export interface ForbiddenHint {
    verb?: string;
    /** `pods`, `pods/proxy`, ... */
    resource?: string;
    apiGroup?: string;
    /** Leave out for cluster-scoped calls. */
    namespace?: string;
}

/** One permission the identity lacks. */
export interface MissingPermission {
    verbs: string[];
    /** With its subresource, e.g. `pods/proxy`. */
    resource: string;
    apiGroup?: string;
    /** undefined: cluster scope (`clusterScope`), or not known. */
    namespace?: string;
    /** True only when the API server said "at the cluster scope". */
    clusterScope?: boolean;
    resourceNames?: string[];
}

export interface Forbidden {
    missing: MissingPermission[];
    /** The user the API server named, e.g. `system:serviceaccount:ns:name`. */
    user?: string;
    /** True when the 403 came from the RBAC escalation check (granting what is not held). */
    escalation: boolean;
    /** The API server's own message, when there was one. */
    serverMessage?: string;
}

interface Status {
    kind?: string;
    code?: number;
    reason?: string;
    message?: string;
    details?: { name?: string; group?: string; kind?: string };
}

// The parts of the API server's sentence, each matched alone: a body cut at 200 characters (the
// pod-proxy shape) keeps its first parts, and each part needs its closing quote or space, so a cut
// word is never taken for a whole one. `\\?"` also matches the `\"` of JSON embedded in a message.
const USER_RE = /User \\?"([^"\\]*)\\?" cannot /i;
const VERB_RE = /cannot ([a-z]+) /i;
const RESOURCE_RE = /cannot [a-z]+ resource \\?"([^"\\]*)\\?"/i;
const GROUP_RE = /in API group \\?"([^"\\]*)\\?"/i;
const NAMESPACE_RE = /in the namespace \\?"([^"\\]*)\\?"/i;
const CLUSTER_SCOPE_RE = /at the cluster scope/i;
const ESCALATION_RE =
    /user \\?"([^"\\]*)\\?" \(groups=.*?\) is attempting to grant RBAC permissions/i;
const PROXY_URL_RE = /\/api\/v1\/namespaces\/([^/\s]+)\/pods\/[^/\s]+\/proxy(?:[/?\s:]|$)/;

function asStatus(value: unknown): Status | undefined {
    let v = value;
    if (typeof v === "string") {
        try {
            v = JSON.parse(v);
        } catch {
            return undefined;
        }
    }
    if (v && typeof v === "object" && (v as Status).kind === "Status") {
        return v as Status;
    }
    return undefined;
}

function httpStatusOf(err: unknown): number | undefined {
    const e = err as { code?: unknown; statusCode?: unknown; message?: unknown } | undefined;
    if (typeof e?.code === "number") {
        return e.code;
    }
    if (typeof e?.statusCode === "number") {
        return e.statusCode;
    }
    const m = typeof e?.message === "string" ? /^HTTP (\d{3}) from /.exec(e.message) : null;
    return m ? Number(m[1]) : undefined;
}

/** Every `"…"` inside a Go `%q` slice such as `["get" "patch"]` (or with commas). */
function quoted(list: string | undefined): string[] {
    return list ? [...list.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]) : [];
}

function parseEscalation(text: string, hint: ForbiddenHint): MissingPermission[] {
    const missing: MissingPermission[] = [];
    for (const m of text.matchAll(/\{APIGroups:(\[[^\]]*\])?[^{}]*?\}/g)) {
        const rule = m[0];
        const field = (name: string) => new RegExp(`${name}:(\\[[^\\]]*\\])`).exec(rule)?.[1];
        const resources = quoted(field("Resources"));
        const verbs = quoted(field("Verbs"));
        const names = quoted(field("ResourceNames"));
        const group = quoted(m[1])[0];
        for (const resource of resources) {
            missing.push({
                verbs,
                resource,
                ...(group ? { apiGroup: group } : {}),
                ...(hint.namespace ? { namespace: hint.namespace } : {}),
                ...(names.length > 0 ? { resourceNames: names } : {}),
            });
        }
    }
    return missing;
}

/**
 * The permission a 403 says is missing, or undefined when `err` is not a 403. Facts the error
 * does not carry come from `hint`; the error's own facts win where both exist.
 */
export function parseForbidden(err: unknown, hint: ForbiddenHint = {}): Forbidden | undefined {
    const e = err as { body?: unknown; message?: unknown } | undefined;
    const status = asStatus(e?.body) ?? asStatus(err);
    const code = status?.code ?? httpStatusOf(err);
    if (code !== 403) {
        return undefined;
    }
    const rawMessage = typeof e?.message === "string" ? e.message : "";
    // The Status message is unescaped; a message with an embedded body has `\"` for `"`.
    const text = status?.message ?? rawMessage;

    const escalation = ESCALATION_RE.exec(text);
    if (escalation) {
        const missing = parseEscalation(text, hint);
        return {
            missing:
                missing.length > 0
                    ? missing
                    : [{ verbs: [hint.verb ?? "?"], resource: hint.resource ?? "?" }],
            user: escalation[1],
            escalation: true,
            serverMessage: status?.message,
        };
    }

    const proxy = PROXY_URL_RE.exec(rawMessage);
    const user = USER_RE.exec(text)?.[1];
    const verb = VERB_RE.exec(text)?.[1] ?? hint.verb ?? "?";
    const resource =
        RESOURCE_RE.exec(text)?.[1] ??
        (proxy ? "pods/proxy" : undefined) ??
        hint.resource ??
        status?.details?.kind ??
        "?";
    const apiGroup = GROUP_RE.exec(text)?.[1] ?? status?.details?.group ?? hint.apiGroup;
    // Only a sentence that says so means cluster scope: a cut one may have lost its namespace.
    const clusterScope = CLUSTER_SCOPE_RE.test(text);
    const namespace = clusterScope
        ? undefined
        : (NAMESPACE_RE.exec(text)?.[1] ??
          (proxy ? decodeURIComponent(proxy[1]) : undefined) ??
          hint.namespace);
    return {
        missing: [
            {
                verbs: [verb],
                resource,
                ...(apiGroup ? { apiGroup } : {}),
                ...(namespace ? { namespace } : {}),
                ...(clusterScope ? { clusterScope } : {}),
            },
        ],
        ...(user ? { user } : {}),
        escalation: false,
        serverMessage: status?.message,
    };
}

function describe(p: MissingPermission): string {
    const names = p.resourceNames?.length ? ` named ${p.resourceNames.join(", ")}` : "";
    const where = p.namespace
        ? `in namespace ${p.namespace}`
        : p.clusterScope
          ? "at cluster scope"
          : "(namespace unknown)";
    return `${p.verbs.join(", ")} on ${p.resource}${names} ${where}`;
}

/** The one-line explanation of a 403, or undefined when `err` is not one. */
export function forbiddenMessage(err: unknown, hint: ForbiddenHint = {}): string | undefined {
    const f = parseForbidden(err, hint);
    if (!f) {
        return undefined;
    }
    const lacks = f.missing.map(describe).join("; and ");
    const why = f.escalation
        ? " (Kubernetes lets an identity grant, in a Role it creates, only what it holds itself)"
        : "";
    return `the deploying identity lacks ${lacks}${why}; see ${DEPLOY_JOBS_DOC}`;
}

/**
 * `err` as an Error whose message says which permission is missing (the original is its
 * `cause`), or `err` unchanged when it is not a 403.
 */
export function explainForbidden(err: unknown, hint: ForbiddenHint = {}): unknown {
    const message = forbiddenMessage(err, hint);
    return message === undefined ? err : new Error(message, { cause: err });
}

/**
 * The hint for a request whose 403 has no body (a watch): an API path such as
 * `/api/v1/namespaces/<ns>/pods` or `/apis/<group>/<version>/namespaces/<ns>/<resource>` names
 * the resource, its group and namespace.
 */
export function hintFromApiPath(apiPath: string, verb: string): ForbiddenHint {
    const parts = apiPath
        .split("?")[0]
        .split("/")
        .filter((p) => p !== "");
    const core = parts[0] === "api";
    const apiGroup = core ? "" : parts[1];
    let rest = parts.slice(core ? 2 : 3);
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
        namespace = decodeURIComponent(rest[1]);
        rest = rest.slice(2);
    }
    return {
        verb,
        ...(rest[0] ? { resource: rest[0] } : {}),
        ...(apiGroup !== undefined ? { apiGroup } : {}),
        ...(namespace ? { namespace } : {}),
    };
}

/**
 * Like `explainForbidden`, but also finds a 403 that another error wraps (`cause`, at any
 * depth), as providers' own messages do: the explanation comes first, the wrapper's message
 * after it, so neither the missing permission nor the context is lost.
 */
export function explainForbiddenInChain(err: unknown): unknown {
    let current: unknown = err;
    for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
        const message = forbiddenMessage(current);
        if (message !== undefined) {
            if (current === err) {
                return new Error(message, { cause: err });
            }
            return new Error(`${message} (${(err as Error).message ?? String(err)})`, {
                cause: err,
            });
        }
        current = (current as { cause?: unknown }).cause;
    }
    return err;
}
