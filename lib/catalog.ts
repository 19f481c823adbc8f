/**
 * The node image catalog (`catalog/images.yaml`): which container images chainfleet runs for each
 * protocol, each with the metadata a node group needs (ports, data directory, chain adapter,
 * minimum resources) and a version that is bumped whenever the image reference changes — the
 * "image + metadata" idea of seed 003 (BlockJoy's node images), checked in CI by
 * `npm run images:check` rather than by convention.
 *
 * Pure apart from `loadCatalog`, which reads one file.
 */
import { readFileSync } from "node:fs";
import { closest } from "fastest-levenshtein";
import * as semver from "semver";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { CHAIN_KINDS } from "../chains/kinds";
import type { ChainKind, ChainPort } from "../chains/types";

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

/** A parsed `[registry[:port]/]path[:tag][@sha256:<hex>]`. */
export interface ImageReference {
    /** Registry and repository path, e.g. `ghcr.io/sei-protocol/sei`. */
    name: string;
    tag?: string;
    /** `sha256:<64 lower-case hex>`. */
    digest?: string;
}

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
// distribution/reference: lower-case path components separated by '.', '_', '__' or dashes.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const NAME_RE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const SHA256_DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * Parse an image reference, or say what is wrong with it. Only sha256 digests are accepted: it is
 * what registries produce and what the pinning rule promises.
 */
export function parseImageReference(ref: string): ImageReference | { error: string } {
    if (ref.length === 0) return { error: "an image reference must not be empty" };
    if (/\s/.test(ref)) return { error: "an image reference must not contain whitespace" };
    let rest = ref;
    let digest: string | undefined;
    const at = ref.indexOf("@");
    if (at >= 0) {
        digest = ref.slice(at + 1);
        rest = ref.slice(0, at);
        if (!digest.startsWith("sha256:")) {
            return { error: `digest "${digest}" must use sha256 ("@sha256:<64 hex>")` };
        }
        if (!SHA256_DIGEST_RE.test(digest)) {
            const hex = digest.slice("sha256:".length);
            return {
                error:
                    `digest "${digest}" must be sha256: followed by 64 lower-case hex ` +
                    `characters (got ${hex.length}${/^[0-9a-f]*$/.test(hex) ? "" : ", not all lower-case hex"})`,
            };
        }
    }
    let tag: string | undefined;
    const colon = rest.lastIndexOf(":");
    // A colon before the last slash belongs to a registry port (localhost:5000/x), not a tag.
    if (colon > rest.lastIndexOf("/")) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
        if (!TAG_RE.test(tag)) {
            return { error: `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` };
        }
    }
    if (!NAME_RE.test(rest) || rest.length > 255) {
        return {
            error:
                `repository "${rest}" must be [registry[:port]/]path with lower-case path ` +
                `components (at most 255 characters)`,
        };
    }
    return {
        name: rest,
        ...(tag !== undefined && { tag }),
        ...(digest !== undefined && { digest }),
    };
}

/**
 * True unless `ref` is pinned by a well-formed sha256 digest. A tag (or a bare name, which means
 * `:latest`) can be moved to other content by whoever controls the registry, so a production
 * stack must not run one. Total on purpose: a malformed reference is not pinned, so it is
 * reported mutable rather than throwing.
 */
export function isMutableReference(ref: string): boolean {
    const parsed = parseImageReference(ref);
    return "error" in parsed || parsed.digest === undefined;
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

export const CATALOG_API_VERSION = "chainfleet.io/v1";
export const ADAPTER_KINDS = CHAIN_KINDS;
export type AdapterKind = (typeof ADAPTER_KINDS)[number];
export const PORT_ROLES = ["p2p", "rpc", "api", "grpc", "metrics", "evm"] as const;

// Compile-time only: the catalog's adapters and port roles are exactly the chain adapters' (see
// chains/types.ts), so adding one there fails the build here until the catalog knows it too.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const adaptersMatch: Same<AdapterKind, ChainKind> = true;
const rolesMatch: Same<(typeof PORT_ROLES)[number], ChainPort["role"]> = true;
void adaptersMatch;
void rolesMatch;

/** Catalog keys (protocols, entries, variants) are lower-kebab-case, as in BlockJoy's nib. */
const KEY_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const key = (what: string) =>
    z.string().regex(KEY_RE, { error: `${what} must be lower-kebab-case, e.g. "sei-full"` });
/** Kubernetes resource.Quantity ("10Gi", "500m", "4"). */
const QUANTITY_RE = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$/;
const quantity = (what: string) =>
    z
        .union([z.string(), z.number()], { error: `${what} must be a Kubernetes quantity` })
        .transform(String)
        .refine((q) => QUANTITY_RE.test(q), {
            error: `${what} must be a Kubernetes quantity such as "16Gi" or "4" or "500m"`,
        });

const imageRef = z.string({ error: "image must be a string" }).superRefine((ref, ctx) => {
    const parsed = parseImageReference(ref);
    if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
});

const PortSchema = z.strictObject({
    // IANA_SVC_NAME, what Kubernetes accepts for a container port name.
    name: z.string().regex(/^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/, {
        error: "port name must be an IANA service name: 1-15 lower-case letters, digits, '-'",
    }),
    containerPort: z
        .number()
        .int({ error: "containerPort must be a whole number" })
        .min(1, { error: "containerPort must be 1-65535" })
        .max(65535, { error: "containerPort must be 1-65535" }),
    role: z.enum(PORT_ROLES, { error: `role must be one of ${PORT_ROLES.join(", ")}` }),
    protocol: z.enum(["TCP", "UDP"], { error: "protocol must be TCP or UDP" }).optional(),
});

const ProtocolSchema = z.strictObject({
    displayName: z.string().min(1),
    /** Which chain adapter (chains/) speaks to this protocol's nodes. */
    adapter: z.enum(ADAPTER_KINDS, { error: `adapter must be one of ${ADAPTER_KINDS.join(", ")}` }),
    description: z.string().optional(),
});

export const ImageEntrySchema = z.strictObject({
    protocol: key("protocol"),
    variant: key("variant"),
    /**
     * The entry's own version (semver, no leading "v"). Bumped whenever `image` changes, so a
     * changed reference is always a visible, reviewable version change.
     */
    // semver.valid also accepts "v1.2.3" and " 1.2.3"; the catalog wants the canonical text.
    version: z.string().refine((v) => semver.valid(v) !== null && /^[0-9]\S*$/.test(v), {
        error: 'version must be a semantic version such as "1.2.3" (no leading "v")',
    }),
    /** The node software release the image carries, as upstream spells it ("v6.3.0"). */
    appVersion: z.string().min(1),
    image: imageRef,
    ports: z.array(PortSchema).min(1, { error: "ports must list at least one port" }),
    /** Where the data volume is mounted: the node's home, the chain adapter's `homeDir`. */
    dataDir: z.string().regex(/^\/\S*$/, { error: "dataDir must be an absolute path" }),
    minResources: z.strictObject({ cpu: quantity("cpu"), memory: quantity("memory") }),
    /** Production entries must be pinned by digest; see `catalogRules`. */
    production: z.boolean({ error: "production must be true or false" }),
    description: z.string().optional(),
});

/** Record key errors say the rule; zod alone says only "Invalid key in record". */
const keyError = (what: string) => (iss: { code?: string }) =>
    iss.code === "invalid_key" ? `${what} must be lower-kebab-case, e.g. "sei-full"` : undefined;

/** The structural schema; cross-field rules are in `catalogRules`. */
const CatalogShape = z.strictObject({
    apiVersion: z.literal(CATALOG_API_VERSION, {
        error: `apiVersion must be "${CATALOG_API_VERSION}"`,
    }),
    protocols: z.record(key("protocol key"), ProtocolSchema, { error: keyError("protocol keys") }),
    images: z.record(key("entry name"), ImageEntrySchema, { error: keyError("image entry names") }),
});

export type ImageEntry = z.infer<typeof ImageEntrySchema>;
export type Catalog = z.infer<typeof CatalogShape>;

/** One thing wrong with a catalog: where (`images.sei-full.image`) and what. */
export interface CatalogProblem {
    path: string;
    message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
        .join("");
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Cross-field rules, run on the raw document so they report even when an unrelated part of the
 * catalog fails the schema (all problems at once). Values of the wrong type are skipped here:
 * the schema reports those.
 */
export function catalogRules(doc: unknown): CatalogProblem[] {
    return ruleIssues(doc).map((p) => ({ path: formatPath(p.path), message: p.message }));
}

function ruleIssues(doc: unknown): { path: (string | number)[]; message: string }[] {
    const problems: { path: (string | number)[]; message: string }[] = [];
    if (!isRecord(doc) || !isRecord(doc.images)) return problems;
    const protocols = isRecord(doc.protocols) ? doc.protocols : {};
    for (const [name, entry] of Object.entries(doc.images)) {
        if (!isRecord(entry)) continue;
        const at = (...rest: (string | number)[]) => ["images", name, ...rest];
        if (typeof entry.protocol === "string" && !(entry.protocol in protocols)) {
            problems.push({
                path: at("protocol"),
                message:
                    `"${entry.protocol}" is not declared under protocols ` +
                    `(declared: ${Object.keys(protocols).join(", ") || "none"})`,
            });
        }
        if (
            entry.production === true &&
            typeof entry.image === "string" &&
            isMutableReference(entry.image) &&
            !("error" in parseImageReference(entry.image))
        ) {
            problems.push({
                path: at("image"),
                message:
                    `"${entry.image}" is a production image and must be pinned by digest ` +
                    `(name@sha256:<64 hex>); a tag can be moved to other content`,
            });
        }
        if (Array.isArray(entry.ports)) {
            const seen = new Map<unknown, number>();
            const seenNames = new Map<unknown, number>();
            entry.ports.forEach((port: unknown, i) => {
                if (!isRecord(port)) return;
                const proto = port.protocol ?? "TCP";
                const k = `${String(port.containerPort)}/${String(proto)}`;
                if (seen.has(k)) {
                    problems.push({
                        path: at("ports", i, "containerPort"),
                        message: `${k} is already used by ports[${seen.get(k)}]`,
                    });
                } else seen.set(k, i);
                if (seenNames.has(port.name)) {
                    problems.push({
                        path: at("ports", i, "name"),
                        message: `"${String(port.name)}" is already used by ports[${seenNames.get(port.name)}]`,
                    });
                } else seenNames.set(port.name, i);
            });
        }
    }
    return problems;
}

/** The catalog schema with its cross-field rules, for callers that want a typed `Catalog`. */
export const CatalogSchema = CatalogShape.superRefine((catalog, ctx) => {
    for (const p of ruleIssues(catalog)) {
        ctx.addIssue({ code: "custom", message: p.message, path: p.path });
    }
});

function describeInput(input: unknown): string {
    if (input === undefined) return "missing";
    const text = JSON.stringify(input) ?? String(input);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Zod issues as catalog problems: one per unknown key, and the offending value where known. */
function schemaProblems(doc: unknown): CatalogProblem[] {
    const result = CatalogShape.safeParse(doc, { reportInput: true });
    if (result.success) return [];
    const problems: CatalogProblem[] = [];
    for (const issue of result.error.issues) {
        if (issue.code === "unrecognized_keys") {
            for (const k of issue.keys) {
                problems.push({
                    path: formatPath([...issue.path, k]),
                    message: "unknown key (not part of the catalog schema; check the spelling)",
                });
            }
            continue;
        }
        const got = "input" in issue ? ` (got ${describeInput(issue.input)})` : "";
        problems.push({
            path: formatPath(issue.path) || "(root)",
            message: `${issue.message}${got}`,
        });
    }
    return problems;
}

/** Entries' image and version as far as they can be read, for comparison with a newer catalog. */
function looseEntries(doc: unknown): Map<string, { image: string; version: string }> {
    const out = new Map<string, { image: string; version: string }>();
    if (!isRecord(doc) || !isRecord(doc.images)) return out;
    for (const [name, entry] of Object.entries(doc.images)) {
        if (
            isRecord(entry) &&
            typeof entry.image === "string" &&
            typeof entry.version === "string"
        ) {
            out.set(name, { image: entry.image, version: entry.version });
        }
    }
    return out;
}

/**
 * Every problem with `current` (a parsed YAML document): schema errors, cross-field rules, and —
 * when `previous` (the catalog at the base revision) is given — entries whose image reference
 * changed without a higher version.
 *
 * `previous` is read leniently: it may be a catalog that fails today's schema (an older layout,
 * or the broken state being fixed), and a broken base must not block the commit that repairs it.
 * Entries new in `current`, removed, or whose previous version is not semver are not compared.
 */
export function checkCatalog(current: unknown, previous?: unknown): CatalogProblem[] {
    const problems = [...schemaProblems(current), ...catalogRules(current)];
    if (previous === undefined) return problems;
    const before = looseEntries(previous);
    for (const [name, now] of looseEntries(current)) {
        const was = before.get(name);
        if (was === undefined || was.image === now.image) continue;
        if (semver.valid(was.version) === null || semver.valid(now.version) === null) continue;
        if (!semver.gt(now.version, was.version)) {
            problems.push({
                path: `images.${name}.version`,
                message:
                    `image changed from "${was.image}" to "${now.image}" but version ` +
                    `${now.version} is not greater than the previous ${was.version}; bump it ` +
                    `(build metadata after "+" does not count)`,
            });
        }
    }
    return problems;
}

/** Parse catalog YAML text into a plain document; YAML syntax errors throw with line numbers. */
export function parseCatalogYaml(text: string, source: string): unknown {
    try {
        // uniqueKeys (the default) makes a duplicated entry name an error instead of last-wins.
        return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
    } catch (err) {
        throw new Error(`${source}: not valid YAML: ${(err as Error).message}`);
    }
}

/**
 * Read and validate a catalog file. Throws one error listing every problem with its path; the
 * comparison with a previous revision is `images:check`'s job, not the program's.
 */
export function loadCatalog(path: string): Catalog {
    const doc = parseCatalogYaml(readFileSync(path, "utf8"), path);
    const problems = checkCatalog(doc);
    if (problems.length > 0) {
        throw new Error(
            `${path}: invalid image catalog:\n${problems.map((p) => ` - ${p.path}: ${p.message}`).join("\n")}`,
        );
    }
    return CatalogShape.parse(doc);
}

/** An entry with its protocol's adapter resolved: what a node group needs to run the image. */
export interface ResolvedImage extends ImageEntry {
    /** The entry's name in the catalog. */
    entry: string;
    adapter: AdapterKind;
}

/** Look up `entryName`; an unknown name throws, suggesting the closest known one. */
export function resolveImage(catalog: Catalog, entryName: string): ResolvedImage {
    const entry = Object.prototype.hasOwnProperty.call(catalog.images, entryName)
        ? catalog.images[entryName]
        : undefined;
    const names = Object.keys(catalog.images).sort();
    if (entry === undefined) {
        const hint = names.length > 0 ? `; did you mean "${closest(entryName, names)}"?` : "";
        throw new Error(
            `image entry "${entryName}" is not in the catalog${hint} (known: ${names.join(", ") || "none"})`,
        );
    }
    const protocol = catalog.protocols[entry.protocol];
    if (protocol === undefined) {
        // Only reachable with a catalog that skipped CatalogSchema's rules.
        throw new Error(`images.${entryName}.protocol: "${entry.protocol}" is not declared`);
    }
    return { ...entry, entry: entryName, adapter: protocol.adapter };
}
