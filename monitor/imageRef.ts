/**
 * Image references as the distribution spec and Docker spell them, reduced to what the monitor
 * needs: which registry to ask, which repository, and whether the reference is already pinned to
 * a digest. Pure: no network.
 */

/** A sha256 content digest, the only algorithm registries use for manifests in practice. */
export const DIGEST = /^sha256:[a-f0-9]{64}$/;

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Docker Hub is named `docker.io` in references but served from this host. */
export const DOCKER_HUB = "docker.io";
export const DOCKER_HUB_API = "registry-1.docker.io";

export interface ImageRef {
    /** The reference without tag or digest, as written (`node`, `ghcr.io/org/node`). */
    name: string;
    /** Registry host[:port]; `docker.io` when the reference names none. */
    registry: string;
    /** Repository path inside the registry (`library/node` for Docker Hub's official images). */
    repository: string;
    tag?: string;
    digest?: string;
}

/**
 * Parses `[registry[:port]/]path[:tag][@sha256:<hex>]`. The first path component names a registry
 * only when it looks like a host (has a dot or a port, or is `localhost`), as Docker decides.
 */
export function parseImageRef(ref: string, what = "image"): ImageRef {
    const fail = (why: string): never => {
        throw new Error(
            `${what} '${ref}' is not an image reference (${why}); expected [registry/]repository[:tag][@sha256:<64 hex>]`,
        );
    };
    if (ref.trim() !== ref || ref === "") {
        fail("empty or surrounded by spaces");
    }
    let rest = ref;
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        if (!DIGEST.test(digest)) {
            fail(`digest '${digest}' is not sha256:<64 lower-case hex>`);
        }
    }
    let tag: string | undefined;
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
        if (!TAG.test(tag)) {
            fail(`tag '${tag}' has characters a tag cannot have`);
        }
    }
    const parts = rest.split("/");
    const first = parts[0];
    const hasRegistry =
        parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
    const registry = hasRegistry ? first.toLowerCase() : DOCKER_HUB;
    const path = hasRegistry ? parts.slice(1) : parts;
    for (const component of path) {
        if (!COMPONENT.test(component)) {
            fail(`path component '${component}' must be lower-case letters, digits and separators`);
        }
    }
    const isHub = registry === DOCKER_HUB || registry === "index.docker.io";
    const repository = isHub && path.length === 1 ? `library/${path[0]}` : path.join("/");
    return {
        name: rest,
        registry: isHub ? DOCKER_HUB : registry,
        repository,
        ...(tag !== undefined ? { tag } : {}),
        ...(digest !== undefined ? { digest } : {}),
    };
}

/** The host to send API calls to (Docker Hub's API lives on its own host). */
export function registryApiHost(registry: string): string {
    return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** The digest-pinned reference for `ref` at `digest`: `name@sha256:…` (the tag is dropped). */
export function pinnedImage(ref: ImageRef, digest: string): string {
    if (!DIGEST.test(digest)) {
        throw new Error(`cannot pin ${ref.name} to '${digest}': not a sha256 digest`);
    }
    return `${ref.name}@${digest}`;
}

/** What a registry is asked for: the digest if pinned, else the tag (`latest` when none). */
export function manifestReference(ref: ImageRef): string {
    return ref.digest ?? ref.tag ?? "latest";
}

/** True when two references name the same repository in the same registry. */
export function sameRepository(a: ImageRef, b: ImageRef): boolean {
    return a.registry === b.registry && a.repository === b.repository;
}
