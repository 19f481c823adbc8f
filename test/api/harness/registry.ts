/**
 * A real container registry on 127.0.0.1 for the api tier: Debian's `docker-registry` (the
 * CNCF distribution registry, v2 API) with a temporary storage directory and, optionally,
 * htpasswd basic auth. Images are pushed through the registry's own HTTP API (blob uploads,
 * then a manifest), so the tests need no Docker engine: a "new build" is a new layer blob,
 * hence a new manifest digest under the same tag.
 *
 * Needs the Debian package `docker-registry` (scripts/setup.sh installs it).
 */
import bcrypt from "bcryptjs";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { freePort } from "./ports";
import * as path from "node:path";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface RegistryOptions {
    /** Working directory: config, storage, htpasswd and log go here. */
    dir: string;
    /** Require these credentials (htpasswd basic auth). */
    auth?: { username: string; password: string };
}

export interface PushOptions {
    /** Labels of the image config (the monitor reads version labels from them). */
    labels?: Record<string, string>;
    /** Push an image index with one manifest per platform instead of a single manifest. */
    platforms?: { os: string; architecture: string }[];
}

interface Descriptor {
    mediaType: string;
    digest: string;
    size: number;
}

function which(binary: string, debianPackage: string): string {
    try {
        return execFileSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).trim();
    } catch {
        throw new Error(
            `api tier: '${binary}' is not installed; run \`apt-get install ${debianPackage}\` (Debian package ${debianPackage})`,
        );
    }
}

const digestOf = (body: Buffer) => `sha256:${createHash("sha256").update(body).digest("hex")}`;

export class LocalRegistry {
    private proc?: ChildProcess;

    private constructor(
        readonly opts: RegistryOptions,
        /** `127.0.0.1:<port>`: the registry part of image references. */
        readonly host: string,
    ) {}

    static async start(opts: RegistryOptions): Promise<LocalRegistry> {
        const bin = which("docker-registry", "docker-registry");
        fs.mkdirSync(path.join(opts.dir, "storage"), { recursive: true });
        const port = await freePort();
        const registry = new LocalRegistry(opts, `127.0.0.1:${port}`);
        const lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            `    rootdirectory: ${path.join(opts.dir, "storage")}`,
            "  delete:",
            "    enabled: true",
            "http:",
            `  addr: 127.0.0.1:${port}`,
            `  secret: ${randomBytes(16).toString("hex")}`,
        ];
        if (opts.auth) {
            const htpasswd = path.join(opts.dir, "htpasswd");
            // The registry accepts bcrypt entries only; bcryptjs makes them without apache2-utils.
            const entry = `${opts.auth.username}:${bcrypt.hashSync(opts.auth.password, 10)}\n`;
            fs.writeFileSync(htpasswd, entry);
            lines.push(
                "auth:",
                "  htpasswd:",
                "    realm: chainfleet-test",
                `    path: ${htpasswd}`,
            );
        }
        const config = path.join(opts.dir, "config.yml");
        fs.writeFileSync(config, `${lines.join("\n")}\n`);
        const log = fs.openSync(path.join(opts.dir, "registry.log"), "a");
        registry.proc = spawn(bin, ["serve", config], { stdio: ["ignore", log, log] });
        fs.closeSync(log);
        await registry.waitReady();
        return registry;
    }

    get url(): string {
        return `http://${this.host}`;
    }

    /** The content of a dockerconfigjson Secret for this registry's credentials. */
    dockerConfigJson(auth = this.opts.auth): string {
        if (!auth) {
            return JSON.stringify({ auths: {} });
        }
        const encoded = Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
        return JSON.stringify({ auths: { [this.host]: { auth: encoded } } });
    }

    /**
     * Pushes a new image under `repository:tag` and returns its digest (the index digest when
     * `platforms` is given). Every push has a fresh random layer, so its digest is new.
     */
    async push(repository: string, tag: string, opts: PushOptions = {}): Promise<string> {
        const platforms = opts.platforms ?? [{ os: "linux", architecture: "amd64" }];
        const manifests: (Descriptor & { platform: { os: string; architecture: string } })[] = [];
        for (const platform of platforms) {
            const layer = await this.pushBlob(repository, OCI_LAYER, randomBytes(512));
            const config = await this.pushBlob(
                repository,
                OCI_CONFIG,
                Buffer.from(
                    JSON.stringify({
                        ...platform,
                        config: { Labels: opts.labels ?? {} },
                        rootfs: { type: "layers", diff_ids: [layer.digest] },
                    }),
                ),
            );
            const manifest = Buffer.from(
                JSON.stringify({
                    schemaVersion: 2,
                    mediaType: OCI_MANIFEST,
                    config,
                    layers: [layer],
                }),
            );
            const reference = opts.platforms ? digestOf(manifest) : tag;
            const digest = await this.putManifest(repository, reference, OCI_MANIFEST, manifest);
            manifests.push({ mediaType: OCI_MANIFEST, digest, size: manifest.length, platform });
        }
        if (!opts.platforms) {
            return manifests[0].digest;
        }
        const index = Buffer.from(
            JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
        );
        return this.putManifest(repository, tag, OCI_INDEX, index);
    }

    async stop(): Promise<void> {
        const proc = this.proc;
        if (!proc || proc.exitCode !== null) {
            return;
        }
        await new Promise<void>((resolve) => {
            proc.once("exit", () => resolve());
            proc.kill("SIGTERM");
            setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
        });
    }

    private headers(extra: Record<string, string> = {}): Record<string, string> {
        const auth = this.opts.auth;
        return {
            ...extra,
            ...(auth
                ? {
                      Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
                  }
                : {}),
        };
    }

    private async pushBlob(
        repository: string,
        mediaType: string,
        body: Buffer,
    ): Promise<Descriptor> {
        const digest = digestOf(body);
        const start = await fetch(`${this.url}/v2/${repository}/blobs/uploads/`, {
            method: "POST",
            headers: this.headers(),
        });
        if (start.status !== 202) {
            throw new Error(
                `registry: starting a blob upload answered HTTP ${start.status}: ${await start.text()}`,
            );
        }
        const location = new URL(start.headers.get("location") ?? "", this.url);
        location.searchParams.set("digest", digest);
        const put = await fetch(location, {
            method: "PUT",
            headers: this.headers({ "Content-Type": "application/octet-stream" }),
            body,
        });
        if (put.status !== 201) {
            throw new Error(
                `registry: uploading blob ${digest} answered HTTP ${put.status}: ${await put.text()}`,
            );
        }
        return { mediaType, digest, size: body.length };
    }

    private async putManifest(
        repository: string,
        reference: string,
        mediaType: string,
        body: Buffer,
    ): Promise<string> {
        const res = await fetch(`${this.url}/v2/${repository}/manifests/${reference}`, {
            method: "PUT",
            headers: this.headers({ "Content-Type": mediaType }),
            body,
        });
        if (res.status !== 201) {
            throw new Error(
                `registry: PUT manifest ${reference} answered HTTP ${res.status}: ${await res.text()}`,
            );
        }
        const digest = res.headers.get("docker-content-digest") ?? "";
        if (digest !== digestOf(body)) {
            throw new Error(
                `registry: stored manifest digest ${digest} is not the body's ${digestOf(body)}`,
            );
        }
        return digest;
    }

    private async waitReady(timeoutMs = 20_000): Promise<void> {
        const until = Date.now() + timeoutMs;
        for (;;) {
            if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) {
                const log = fs.readFileSync(path.join(this.opts.dir, "registry.log"), "utf8");
                throw new Error(
                    `docker-registry exited with ${this.proc.exitCode}:\n${log.slice(-2000)}`,
                );
            }
            try {
                const res = await fetch(`${this.url}/v2/`, { signal: AbortSignal.timeout(1000) });
                // 401 with auth on: the API is up and asking for credentials.
                if (res.status === 200 || res.status === 401) {
                    return;
                }
            } catch {
                // not listening yet
            }
            if (Date.now() > until) {
                throw new Error(
                    `docker-registry on ${this.host} did not answer within ${timeoutMs} ms`,
                );
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}
