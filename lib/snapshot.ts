/**
 * Restoring a node's data from a snapshot archive before the node starts: the init container
 * that runs `lib/snapshot-restore.sh` on the data volume, and the ConfigMap data that ships
 * the script. The script verifies the archive's sha256 before extracting anything (seed 004);
 * see its header for the crash and resume behaviour.
 *
 * Per-architecture checksums. A snapshot is data, so usually one file fits every node; where a
 * provider publishes one archive per architecture, `url` carries an `{arch}` placeholder and
 * `sha256` is `{amd64, arm64}`. The architecture is chosen inside the pod, by the script, from
 * `uname -m`: a container runs on its node's CPU, so that always agrees with the node's
 * `kubernetes.io/arch` label — which the downward API cannot expose (it offers pod fields and
 * `spec.nodeName`, not node labels). A node whose architecture has no checksum fails the init
 * container with a message naming the missing variable; `snapshotNodeAffinity` gives the term
 * that keeps pods off such nodes in the first place.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";

/**
 * BusyBox has wget, sha256sum and tar: enough for .tar and .tar.gz snapshots, but not for .tar.lz4
 * (no lz4), so an lz4 snapshot needs `snapshotImage` set (config/schema.ts crossKeyProblems).
 */
export const DEFAULT_SNAPSHOT_IMAGE = "docker.io/library/busybox:1.36";

export const SNAPSHOT_ARCHITECTURES = ["amd64", "arm64"] as const;
export type SnapshotArchitecture = (typeof SNAPSHOT_ARCHITECTURES)[number];
export const SNAPSHOT_FORMATS = ["tar", "tar.gz", "tar.lz4"] as const;
export type SnapshotFormat = (typeof SNAPSHOT_FORMATS)[number];

/** The placeholder in `url` that the script replaces with the pod's architecture. */
export const ARCH_PLACEHOLDER = "{arch}";
/** Key of the script in the ConfigMap, and its file name in the init container. */
export const SNAPSHOT_SCRIPT_KEY = "snapshot-restore.sh";
/** The script, read when a builder first needs it: it runs in pods, so it ships beside this builder. */
export const SNAPSHOT_SCRIPT_PATH = path.join(__dirname, SNAPSHOT_SCRIPT_KEY);
/** Where the init container mounts the script's ConfigMap. */
export const SNAPSHOT_SCRIPT_DIR = "/chainfleet/snapshot";
/** Name of the marker the script writes into the restored directory. */
export const SNAPSHOT_MARKER = ".chainfleet-snapshot-restored";

const sha256Hex = z
    .string({ error: "sha256 must be a string of 64 lower-case hex characters" })
    .regex(/^[0-9a-f]{64}$/, { error: "sha256 must be 64 lower-case hex characters" });

/** The archive format implied by a URL's path, if its extension says. */
export function formatFromUrl(url: string): SnapshotFormat | undefined {
    const p = url.split(/[?#]/, 1)[0];
    if (p.endsWith(".tar")) return "tar";
    if (p.endsWith(".tar.gz") || p.endsWith(".tgz")) return "tar.gz";
    if (p.endsWith(".tar.lz4")) return "tar.lz4";
    return undefined;
}

/**
 * Group config `snapshot`:
 *
 * ```yaml
 * snapshot:
 *   url: https://snapshots.example.com/pacific-1/latest.tar.lz4
 *   sha256: 3f5a...                    # or, one archive per architecture:
 *   # url: https://snapshots.example.com/node-{arch}.tar.gz
 *   # sha256: {amd64: 3f5a..., arm64: 9c0d...}
 *   format: tar.lz4                    # only when the URL's path has no such extension
 *   stripComponents: 1                 # tar --strip-components, when the archive wraps a dir
 * ```
 */
export const SnapshotConfigSchema = z
    .strictObject({
        url: z.string({ error: "url must be a string" }).superRefine((url, ctx) => {
            let parsed: URL | undefined;
            try {
                parsed = new URL(url.split(ARCH_PLACEHOLDER).join("amd64"));
            } catch {
                parsed = undefined;
            }
            if (parsed === undefined || !/^https?:$/.test(parsed.protocol) || !parsed.host) {
                ctx.addIssue({
                    code: "custom",
                    message: `url ${JSON.stringify(url)} must be an http(s) URL`,
                });
            }
        }),
        sha256: z.union([
            sha256Hex,
            z
                .strictObject({ amd64: sha256Hex.optional(), arm64: sha256Hex.optional() })
                .refine((s) => s.amd64 !== undefined || s.arm64 !== undefined, {
                    error: "sha256 per architecture must give at least one of amd64, arm64",
                }),
        ]),
        format: z
            .enum(SNAPSHOT_FORMATS, {
                error: `format must be one of ${SNAPSHOT_FORMATS.join(", ")}`,
            })
            .optional(),
        stripComponents: z
            .number()
            .int({ error: "stripComponents must be a whole number" })
            .min(0, { error: "stripComponents must be 0 or more" })
            .optional(),
    })
    .superRefine((s, ctx) => {
        const perArch = typeof s.sha256 === "object";
        const templated = s.url.includes(ARCH_PLACEHOLDER);
        // One file cannot match two checksums, and one checksum cannot match two files.
        if (perArch && !templated) {
            ctx.addIssue({
                code: "custom",
                path: ["url"],
                message:
                    `url ${JSON.stringify(s.url)} must contain ${ARCH_PLACEHOLDER} when sha256 ` +
                    `is given per architecture (one file cannot have two checksums)`,
            });
        }
        if (!perArch && templated) {
            ctx.addIssue({
                code: "custom",
                path: ["sha256"],
                message:
                    `url contains ${ARCH_PLACEHOLDER}, so sha256 must be per architecture: ` +
                    `{amd64: <hex>, arm64: <hex>}`,
            });
        }
        if (s.format === undefined && formatFromUrl(s.url) === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["format"],
                message:
                    `the url's path does not end in .tar, .tar.gz, .tgz or .tar.lz4; set format ` +
                    `to one of ${SNAPSHOT_FORMATS.join(", ")}`,
            });
        }
    });

export type SnapshotConfig = z.infer<typeof SnapshotConfigSchema>;

/** Architectures that have a checksum, or undefined when one checksum serves every node. */
export function snapshotArchitectures(config: SnapshotConfig): SnapshotArchitecture[] | undefined {
    if (typeof config.sha256 === "string") return undefined;
    const sums = config.sha256;
    return SNAPSHOT_ARCHITECTURES.filter((a) => sums[a] !== undefined);
}

/**
 * A `core.v1.NodeSelectorTerm` keeping pods on architectures that have a checksum, for the pod's
 * `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`.
 * Undefined when any architecture will do.
 */
export function snapshotNodeAffinity(
    config: SnapshotConfig,
): { matchExpressions: { key: string; operator: "In"; values: string[] }[] } | undefined {
    const archs = snapshotArchitectures(config);
    if (archs === undefined) return undefined;
    return { matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: archs }] };
}

// Plain objects in the shape of the Kubernetes core/v1 types, so callers can hand them to
// @pulumi/kubernetes unchanged and tests can read them without Outputs.
export interface EnvVar {
    name: string;
    value: string;
}
export interface VolumeMount {
    name: string;
    mountPath: string;
    readOnly?: boolean;
}
export interface ResourceRequirements {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
}
export interface InitContainer {
    name: string;
    image: string;
    command: string[];
    args: string[];
    env: EnvVar[];
    volumeMounts: VolumeMount[];
    resources?: ResourceRequirements;
    securityContext?: Record<string, unknown>;
}
export interface ConfigMapVolume {
    name: string;
    configMap: { name: string; defaultMode: number };
}

export interface SnapshotRestoreOptions {
    snapshot: SnapshotConfig;
    /** Init container image: sh, curl or wget, sha256sum, tar, gzip, lz4 (see the script). */
    image: string;
    /** Name of the data volume in the pod spec (the StatefulSet's volumeClaimTemplate). */
    volumeName: string;
    /** Where the init container mounts the data volume. */
    mountPath: string;
    /** Directory the archive's contents become; strictly below `mountPath` (it is renamed). */
    targetDir: string;
    /** Download and staging area, on the volume. Defaults to `<mountPath>/.chainfleet-snapshot`. */
    workDir?: string;
    /** Name of the ConfigMap that holds `configMapData`. */
    configMapName: string;
    /** Defaults to "snapshot-restore". */
    containerName?: string;
    /** Name of the pod volume for the script. Defaults to "snapshot-script". */
    scriptVolumeName?: string;
    /** uid/gid the restored tree is chowned to, for a node container that is not root. */
    owner?: { uid: number; gid: number };
    /** Download attempts within one start of the pod. Defaults to the script's 5. */
    downloadAttempts?: number;
    resources?: ResourceRequirements;
    securityContext?: Record<string, unknown>;
}

export interface SnapshotRestoreSpec {
    /** For the pod's `initContainers`, before anything that reads the data directory. */
    container: InitContainer;
    /** For the pod's `volumes`: the script's ConfigMap, mounted read-only and executable. */
    volume: ConfigMapVolume;
    /** `data` of the ConfigMap named `configMapName`. */
    configMapData: Record<string, string>;
    /**
     * sha256 of the script. A ConfigMap change does not restart pods, so put this into the group's
     * revision inputs (or a pod annotation) to roll pods when the script changes.
     */
    scriptSha256: string;
}

let cachedScript: string | undefined;

/** The restore script's text, read from `SNAPSHOT_SCRIPT_PATH` once per process. */
export function snapshotScript(): string {
    cachedScript ??= readFileSync(SNAPSHOT_SCRIPT_PATH, "utf8");
    return cachedScript;
}

/** Is `child` strictly below `parent` (both absolute, normalised POSIX paths)? */
function isBelow(child: string, parent: string): boolean {
    const rel = path.posix.relative(parent, child);
    return rel !== "" && !rel.startsWith("..") && !path.posix.isAbsolute(rel);
}

/**
 * The init container, its script volume and the ConfigMap data for restoring `opts.snapshot`.
 * Throws one error listing every problem (option name, value, rule).
 */
export function buildSnapshotRestore(opts: SnapshotRestoreOptions): SnapshotRestoreSpec {
    const problems: string[] = [];
    const parsed = SnapshotConfigSchema.safeParse(opts.snapshot);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            problems.push(`snapshot.${issue.path.join(".")}: ${issue.message}`.replace(/\.:/, ":"));
        }
    }
    const absolute = (name: string, value: string): string => {
        if (!path.posix.isAbsolute(value)) {
            problems.push(`${name}: ${JSON.stringify(value)} must be an absolute path`);
        }
        return path.posix.normalize(value);
    };
    const mountPath = absolute("mountPath", opts.mountPath);
    const targetDir = absolute("targetDir", opts.targetDir);
    const workDir = absolute("workDir", opts.workDir ?? `${mountPath}/.chainfleet-snapshot`);
    // Both on the volume: the final rename is only atomic within one filesystem, and the mount
    // point itself cannot be renamed.
    if (!isBelow(targetDir, mountPath)) {
        problems.push(
            `targetDir: ${JSON.stringify(opts.targetDir)} must be strictly below mountPath ` +
                `${JSON.stringify(opts.mountPath)} (it is put in place by a rename on the volume)`,
        );
    }
    if (!isBelow(workDir, mountPath)) {
        problems.push(
            `workDir: ${JSON.stringify(workDir)} must be strictly below mountPath ` +
                `${JSON.stringify(opts.mountPath)} (same filesystem as targetDir)`,
        );
    }
    if (workDir === targetDir || isBelow(workDir, targetDir) || isBelow(targetDir, workDir)) {
        problems.push(
            `workDir: ${JSON.stringify(workDir)} and targetDir ${JSON.stringify(targetDir)} ` +
                `must not contain one another`,
        );
    }
    if (opts.owner !== undefined) {
        for (const k of ["uid", "gid"] as const) {
            const v = opts.owner[k];
            if (!Number.isSafeInteger(v) || v < 0) {
                problems.push(`owner.${k}: ${v} must be a non-negative integer`);
            }
        }
    }
    if (
        opts.downloadAttempts !== undefined &&
        (!Number.isSafeInteger(opts.downloadAttempts) || opts.downloadAttempts < 1)
    ) {
        problems.push(`downloadAttempts: ${opts.downloadAttempts} must be a whole number >= 1`);
    }
    if (problems.length > 0) {
        throw new Error(`Invalid snapshot restore options:\n - ${problems.join("\n - ")}`);
    }
    const snapshot = parsed.data as SnapshotConfig;

    const env: EnvVar[] = [{ name: "SNAPSHOT_URL", value: snapshot.url }];
    if (typeof snapshot.sha256 === "string") {
        env.push({ name: "SNAPSHOT_SHA256", value: snapshot.sha256 });
    } else {
        for (const arch of SNAPSHOT_ARCHITECTURES) {
            const sum = snapshot.sha256[arch];
            if (sum !== undefined)
                env.push({ name: `SNAPSHOT_SHA256_${arch.toUpperCase()}`, value: sum });
        }
    }
    // Always explicit, so the script never guesses from a URL it was not validated against.
    env.push({
        name: "SNAPSHOT_FORMAT",
        value: snapshot.format ?? (formatFromUrl(snapshot.url) as string),
    });
    if (snapshot.stripComponents !== undefined && snapshot.stripComponents > 0) {
        env.push({ name: "SNAPSHOT_STRIP_COMPONENTS", value: String(snapshot.stripComponents) });
    }
    if (opts.owner !== undefined) {
        env.push({ name: "SNAPSHOT_OWNER", value: `${opts.owner.uid}:${opts.owner.gid}` });
    }
    if (opts.downloadAttempts !== undefined) {
        env.push({ name: "SNAPSHOT_DOWNLOAD_ATTEMPTS", value: String(opts.downloadAttempts) });
    }

    const scriptVolume = opts.scriptVolumeName ?? "snapshot-script";
    const script = snapshotScript();
    const container: InitContainer = {
        name: opts.containerName ?? "snapshot-restore",
        image: opts.image,
        command: ["sh", `${SNAPSHOT_SCRIPT_DIR}/${SNAPSHOT_SCRIPT_KEY}`],
        args: [targetDir, workDir],
        env,
        volumeMounts: [
            { name: opts.volumeName, mountPath },
            { name: scriptVolume, mountPath: SNAPSHOT_SCRIPT_DIR, readOnly: true },
        ],
        ...(opts.resources !== undefined && { resources: opts.resources }),
        ...(opts.securityContext !== undefined && { securityContext: opts.securityContext }),
    };
    return {
        container,
        volume: { name: scriptVolume, configMap: { name: opts.configMapName, defaultMode: 0o555 } },
        configMapData: { [SNAPSHOT_SCRIPT_KEY]: script },
        scriptSha256: createHash("sha256").update(script).digest("hex"),
    };
}
