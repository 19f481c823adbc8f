/**
 * Tag → digest resolution through the registry HTTP API (distribution v2 / OCI distribution),
 * with Node's fetch. One class holds the per-repository Authorization it negotiated, so a poll
 * every few minutes does not fetch a new token each time until the registry rejects the old one.
 */
import { createHash } from "node:crypto";
import { DIGEST, ImageRef, manifestReference, registryApiHost } from "./imageRef";
import {
    DockerAuths,
    basicAuthorization,
    credentialsFor,
    parseChallenge,
    tokenFromResponse,
    tokenUrl,
} from "./registryAuth";

export const MEDIA_TYPE = {
    ociIndex: "application/vnd.oci.image.index.v1+json",
    ociManifest: "application/vnd.oci.image.manifest.v1+json",
    dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
    dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/**
 * Every manifest type a tag may point at. Without the list/index types a registry answers a
 * multi-platform tag with one platform's manifest (or a 404), and the digest would not be the
 * one a kubelet pulls for `name@digest`.
 */
export const MANIFEST_ACCEPT = [
    MEDIA_TYPE.ociIndex,
    MEDIA_TYPE.ociManifest,
    MEDIA_TYPE.dockerList,
    MEDIA_TYPE.dockerManifest,
].join(", ");

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface RegistryOptions {
    /** Credentials by registry, from the mounted dockerconfigjson. */
    auths?: DockerAuths;
    /** Where the credentials came from (a flag and path), for error messages. */
    authSource?: string;
    /** Registries spoken to over plain HTTP besides loopback ones (like Docker's insecure-registries). */
    plainHttpHosts?: readonly string[];
    /** Per-request timeout. Defaults to 30 s. */
    timeoutMs?: number;
    fetch?: FetchLike;
}

export interface ResolvedImage {
    digest: string;
    mediaType?: string;
}

export interface Platform {
    os: string;
    architecture: string;
    variant?: string;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?$/;

/** Loopback registries are plain HTTP by default, as Docker treats 127.0.0.0/8. */
export function usesPlainHttp(host: string, plainHttpHosts: readonly string[] = []): boolean {
    return LOOPBACK.test(host) || plainHttpHosts.includes(host);
}

/** Validates a `Docker-Content-Digest` value; undefined when absent or malformed. */
export function digestFromHeader(value: string | null): string | undefined {
    const digest = value?.trim();
    return digest && DIGEST.test(digest) ? digest : undefined;
}

export function sha256Digest(body: Uint8Array): string {
    return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

/** This process's platform in OCI terms; the monitor runs on the node that pulls the image. */
export function currentPlatform(): Platform {
    const arch: Record<string, string> = { x64: "amd64", ia32: "386", ppc64: "ppc64le" };
    return {
        os: process.platform === "win32" ? "windows" : process.platform,
        architecture: arch[process.arch] ?? process.arch,
    };
}

interface IndexEntry {
    digest?: string;
    platform?: { os?: string; architecture?: string; variant?: string };
}

/** The entry of an image index for `platform`; errors list what the index offers. */
export function pickPlatformManifest(index: unknown, platform: Platform): string {
    const entries = ((index as { manifests?: IndexEntry[] }).manifests ?? []).filter(
        (e) => typeof e.digest === "string" && e.platform?.os !== "unknown",
    );
    const match = entries.find(
        (e) =>
            e.platform?.os === platform.os &&
            e.platform?.architecture === platform.architecture &&
            (platform.variant === undefined || e.platform?.variant === platform.variant),
    );
    if (!match?.digest) {
        const offered = entries.map((e) => `${e.platform?.os}/${e.platform?.architecture}`);
        throw new Error(
            `image index has no manifest for ${platform.os}/${platform.architecture} (it offers ${offered.join(", ") || "none"})`,
        );
    }
    return match.digest;
}

const VERSION_LABELS = [
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.source",
    "org.opencontainers.image.created",
];

/**
 * The version-bearing labels of an image config: the OCI ones plus any `*.version` label. They
 * tie a test result to a release and commit without running the image (avalanche's monitor
 * starts a pod to run `--version-json`; labels need only the registry).
 */
export function versionsFromLabels(
    labels: Record<string, unknown> | undefined,
): Record<string, string> {
    const versions: Record<string, string> = {};
    for (const [key, value] of Object.entries(labels ?? {})) {
        if (typeof value === "string" && (VERSION_LABELS.includes(key) || /\.version$/.test(key))) {
            versions[key] = value;
        }
    }
    return versions;
}

export class RegistryError extends Error {
    constructor(
        message: string,
        readonly statusCode?: number,
        options?: { cause?: unknown },
    ) {
        super(message, options);
        this.name = "RegistryError";
    }
}

export class RegistryClient {
    private readonly authorization = new Map<string, string>();
    private readonly fetch: FetchLike;

    constructor(private readonly opts: RegistryOptions = {}) {
        this.fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
    }

    /** The digest `ref`'s tag points at now (the index digest for multi-platform images). */
    async resolve(ref: ImageRef): Promise<ResolvedImage> {
        const path = `manifests/${manifestReference(ref)}`;
        const head = await this.request(ref, "HEAD", path, MANIFEST_ACCEPT);
        const headDigest = digestFromHeader(head.headers.get("docker-content-digest"));
        if (head.ok && headDigest) {
            return { digest: headDigest, mediaType: contentType(head) };
        }
        if (head.status === 404) {
            throw this.notFound(ref);
        }
        // Some registries omit the header on HEAD or refuse HEAD (405): the body's hash is the
        // digest by definition, so a GET settles it.
        const get = await this.request(ref, "GET", path, MANIFEST_ACCEPT);
        if (get.status === 404) {
            throw this.notFound(ref);
        }
        await this.ensureOk(get, ref, "GET", path);
        const body = new Uint8Array(await get.arrayBuffer());
        const computed = sha256Digest(body);
        const claimed = digestFromHeader(get.headers.get("docker-content-digest"));
        if (claimed && claimed !== computed) {
            throw new RegistryError(
                `registry ${ref.registry} sent ${ref.repository} manifest with Docker-Content-Digest ${claimed} but its body hashes to ${computed}`,
            );
        }
        return { digest: computed, mediaType: contentType(get) };
    }

    /** Version labels of the image at `digest`, descending an index to `platform`'s manifest. */
    async versions(
        ref: ImageRef,
        digest: string,
        platform: Platform = currentPlatform(),
    ): Promise<Record<string, string>> {
        let manifest = await this.getJson(ref, `manifests/${digest}`, MANIFEST_ACCEPT);
        const mediaType = (manifest as { mediaType?: string }).mediaType;
        if (
            mediaType === MEDIA_TYPE.ociIndex ||
            mediaType === MEDIA_TYPE.dockerList ||
            Array.isArray((manifest as { manifests?: unknown }).manifests)
        ) {
            const child = pickPlatformManifest(manifest, platform);
            manifest = await this.getJson(ref, `manifests/${child}`, MANIFEST_ACCEPT);
        }
        const configDigest = (manifest as { config?: { digest?: string } }).config?.digest;
        if (!configDigest) {
            throw new RegistryError(`manifest ${digest} of ${ref.name} has no config blob`);
        }
        const config = (await this.getJson(ref, `blobs/${configDigest}`, "*/*")) as {
            config?: { Labels?: Record<string, unknown> };
        };
        return versionsFromLabels(config.config?.Labels);
    }

    private async getJson(ref: ImageRef, path: string, accept: string): Promise<unknown> {
        const res = await this.request(ref, "GET", path, accept);
        await this.ensureOk(res, ref, "GET", path);
        return res.json();
    }

    /** One API call, answering a 401 challenge once with the configured credentials. */
    private async request(
        ref: ImageRef,
        method: "GET" | "HEAD",
        path: string,
        accept: string,
    ): Promise<Response> {
        const host = registryApiHost(ref.registry);
        const scheme = usesPlainHttp(host, this.opts.plainHttpHosts) ? "http" : "https";
        const url = `${scheme}://${host}/v2/${ref.repository}/${path}`;
        const key = `${ref.registry}/${ref.repository}`;
        const send = (authorization?: string) =>
            this.send(url, {
                method,
                headers: {
                    Accept: accept,
                    ...(authorization ? { Authorization: authorization } : {}),
                },
            });
        let res = await send(this.authorization.get(key));
        if (res.status !== 401) {
            return res;
        }
        await discard(res);
        const authorization = await this.authorize(ref, res.headers.get("www-authenticate"));
        this.authorization.set(key, authorization);
        res = await send(authorization);
        if (res.status === 401 || res.status === 403) {
            await discard(res);
            this.authorization.delete(key);
            throw new RegistryError(
                `registry ${ref.registry} refused the credentials from ${this.authSource()} for ${ref.repository} (HTTP ${res.status} on ${method} ${url}); check that the entry for ${ref.registry} may pull ${ref.repository}`,
                res.status,
            );
        }
        return res;
    }

    private async authorize(ref: ImageRef, header: string | null): Promise<string> {
        const creds = credentialsFor(this.opts.auths, ref.registry);
        const challenge = parseChallenge(header ?? "");
        if (challenge.scheme === "bearer") {
            if (creds?.registryToken) {
                return `Bearer ${creds.registryToken}`;
            }
            const url = tokenUrl(challenge, ref.repository);
            const basic = creds ? basicAuthorization(creds) : undefined;
            const res = await this.send(url, {
                method: "GET",
                headers: basic ? { Authorization: basic } : {},
            });
            if (!res.ok) {
                await discard(res);
                throw new RegistryError(
                    `registry token endpoint ${url} answered HTTP ${res.status}${basic ? `; check the credentials for ${ref.registry} in ${this.authSource()}` : `; the registry needs credentials: ${this.credentialsHint(ref)}`}`,
                    res.status,
                );
            }
            return `Bearer ${tokenFromResponse(await res.json())}`;
        }
        if (challenge.scheme === "basic") {
            const basic = creds ? basicAuthorization(creds) : undefined;
            if (!basic) {
                throw new RegistryError(
                    `registry ${ref.registry} asks for a username and password (HTTP 401 Basic) to read ${ref.repository}; ${this.credentialsHint(ref)}`,
                    401,
                );
            }
            return basic;
        }
        throw new RegistryError(
            `registry ${ref.registry} answered HTTP 401 with an unsupported challenge '${header ?? ""}'`,
            401,
        );
    }

    private async send(url: string, init: RequestInit): Promise<Response> {
        try {
            return await this.fetch(url, {
                ...init,
                redirect: "follow",
                signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
            });
        } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string } }).cause;
            throw new RegistryError(
                `cannot reach registry at ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
                undefined,
                { cause: err },
            );
        }
    }

    private async ensureOk(res: Response, ref: ImageRef, method: string, path: string) {
        if (!res.ok) {
            const text = await res.text().catch(() => "");
            throw new RegistryError(
                `registry ${ref.registry} answered HTTP ${res.status} to ${method} /v2/${ref.repository}/${path}: ${text.slice(0, 200)}`,
                res.status,
            );
        }
    }

    private notFound(ref: ImageRef): RegistryError {
        return new RegistryError(
            `${ref.name}:${manifestReference(ref)} not found in registry ${ref.registry} (HTTP 404); check the followed image (--follow-image) for a typo or a deleted tag`,
            404,
        );
    }

    private authSource(): string {
        return this.opts.authSource ?? "the registry credentials (--registry-auth-file)";
    }

    private credentialsHint(ref: ImageRef): string {
        return this.opts.auths
            ? `${this.authSource()} has no entry for ${ref.registry}; add one`
            : `pass --registry-auth-file pointing at a dockerconfigjson with an entry for ${ref.registry}`;
    }
}

function contentType(res: Response): string | undefined {
    return res.headers.get("content-type")?.split(";")[0].trim() || undefined;
}

/** Reads and drops a body so undici can reuse the connection. */
async function discard(res: Response): Promise<void> {
    await res.arrayBuffer().catch(() => undefined);
}
