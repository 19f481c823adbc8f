/**
 * Registry credentials and challenges, pure: reading a `kubernetes.io/dockerconfigjson` Secret's
 * content, choosing the entry for a registry, and parsing `WWW-Authenticate` challenges into the
 * next request to make.
 */
import { DOCKER_HUB } from "./imageRef";

export interface RegistryCredentials {
    username?: string;
    password?: string;
    /** A bearer token to send as is (`registrytoken` in a docker config). */
    registryToken?: string;
}

/** The `auths` of a docker config, keyed by normalised registry host. */
export type DockerAuths = ReadonlyMap<string, RegistryCredentials>;

/** Names Docker Hub goes by in docker configs; `docker login` writes the first. */
const HUB_ALIASES = ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"];

/** `https://index.docker.io/v1/` → `docker.io`; `Registry.example:5000/v2/` → `registry.example:5000`. */
export function normaliseRegistryKey(key: string): string {
    const host = key
        .trim()
        .replace(/^[a-z]+:\/\//i, "")
        .replace(/\/.*$/, "")
        .toLowerCase();
    return HUB_ALIASES.includes(host) ? DOCKER_HUB : host;
}

/**
 * Parses the content of a dockerconfigjson file (`{"auths": {host: {auth | username+password |
 * registrytoken}}}`; a bare `{host: …}` map, the old `.dockercfg` shape, is accepted too).
 * `source` names where the content came from, for the error message.
 */
export function parseDockerConfig(content: string, source: string): DockerAuths {
    let json: unknown;
    try {
        json = JSON.parse(content);
    } catch (err) {
        throw new Error(
            `${source} is not JSON (${(err as Error).message}); it must hold a dockerconfigjson such as {"auths": {"ghcr.io": {"auth": "<base64 user:password>"}}}`,
        );
    }
    const root = json as Record<string, unknown> | null;
    if (root === null || typeof root !== "object" || Array.isArray(root)) {
        throw new Error(`${source} must hold a JSON object with an "auths" map`);
    }
    const auths = (root.auths ?? root) as Record<string, unknown>;
    const result = new Map<string, RegistryCredentials>();
    for (const [key, entry] of Object.entries(auths)) {
        if (entry === null || typeof entry !== "object") {
            throw new Error(`${source}: auths["${key}"] must be an object`);
        }
        result.set(
            normaliseRegistryKey(key),
            credentialsOf(entry as Record<string, unknown>, key, source),
        );
    }
    return result;
}

function credentialsOf(
    entry: Record<string, unknown>,
    key: string,
    source: string,
): RegistryCredentials {
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    if (str(entry.registrytoken)) {
        return { registryToken: str(entry.registrytoken) };
    }
    if (str(entry.auth)) {
        const decoded = Buffer.from(entry.auth as string, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon <= 0) {
            throw new Error(
                `${source}: auths["${key}"].auth must be base64 of "user:password" (no ':' after decoding)`,
            );
        }
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (str(entry.username) && typeof entry.password === "string") {
        return { username: entry.username as string, password: entry.password };
    }
    if (str(entry.identitytoken)) {
        throw new Error(
            `${source}: auths["${key}"] has only an identitytoken (an OAuth refresh token), which the monitor does not exchange; use a username and password or token instead`,
        );
    }
    throw new Error(
        `${source}: auths["${key}"] has no credentials; give "auth" (base64 user:password), "username"+"password" or "registrytoken"`,
    );
}

/** The credentials for `registry` (as `parseImageRef` names it), if the config has any. */
export function credentialsFor(
    auths: DockerAuths | undefined,
    registry: string,
): RegistryCredentials | undefined {
    return auths?.get(normaliseRegistryKey(registry));
}

export function basicAuthorization(creds: RegistryCredentials): string | undefined {
    if (creds.username === undefined || creds.password === undefined) {
        return undefined;
    }
    return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
}

export interface Challenge {
    /** Lower-cased scheme: `bearer` or `basic` are the ones registries send. */
    scheme: string;
    params: Record<string, string>;
}

/**
 * Parses one `WWW-Authenticate` challenge: `Bearer realm="https://auth/token",service="reg",
 * scope="repository:org/node:pull"`. Quoted values may hold commas (scopes with several actions),
 * so this tokenises rather than splitting on commas.
 */
export function parseChallenge(header: string): Challenge {
    const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
    if (!match) {
        throw new Error(`cannot parse WWW-Authenticate header '${header}'`);
    }
    const params: Record<string, string> = {};
    const rest = match[2];
    const param = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gy;
    let m: RegExpExecArray | null;
    while (param.lastIndex < rest.length && (m = param.exec(rest)) !== null) {
        params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
    }
    return { scheme: match[1].toLowerCase(), params };
}

/**
 * The token endpoint URL for a bearer challenge, asking for pull access to `repository` when the
 * challenge names no scope (some registries only send realm and service).
 */
export function tokenUrl(challenge: Challenge, repository: string): string {
    const realm = challenge.params.realm;
    if (!realm) {
        throw new Error(`bearer challenge without a realm: ${JSON.stringify(challenge.params)}`);
    }
    const url = new URL(realm);
    if (challenge.params.service) {
        url.searchParams.set("service", challenge.params.service);
    }
    url.searchParams.set("scope", challenge.params.scope ?? `repository:${repository}:pull`);
    return url.toString();
}

/** The token in a token endpoint's response (`token`, or the OAuth2 `access_token`). */
export function tokenFromResponse(json: unknown): string {
    const body = (json ?? {}) as Record<string, unknown>;
    const token = body.token ?? body.access_token;
    if (typeof token !== "string" || token === "") {
        throw new Error("registry token endpoint answered without a token or access_token");
    }
    return token;
}
