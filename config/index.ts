/**
 * The one typed config module: reads the `chainfleet:*` keys of the current stack, validates all
 * of them at once and returns a fully defaulted `StackConfig`, or throws one `ConfigError` that
 * lists every problem with its key path, the value given and the rule it broke. Nothing else in
 * the program reads config, so nothing touches a cluster before this has passed.
 */
import { closest } from "fastest-levenshtein";
import { z } from "zod";
import * as path from "node:path";
import { generatedGenesisConfigMap } from "../lib/genesis";
import type { GenesisSpec } from "../lib/groupSpec";
import { DEFAULT_GENESIS_KEY } from "./nodeHome";
import { Catalog, isMutableReference, loadCatalog, resolveImage } from "../lib/catalog";
import {
    DEFAULT_SNAPSHOT_IMAGE,
    GroupConfig,
    ParsedStackConfig,
    StackConfig,
    crossKeyProblems,
    stackSchema,
} from "./schema";

export * from "./schema";

/** Keys whose values are never printed in a config error. */
const SECRET_KEYS = ["nodeKeySeed"];

/** The Pulumi config namespace of this project. */
export const CONFIG_NAMESPACE = "chainfleet";

export interface ConfigProblem {
    /** Dotted key path below `chainfleet:`, e.g. `groups.rpc.update.haltHeight`. */
    path: string;
    /** The value given, as JSON (`undefined` when the key is missing). */
    value: string;
    rule: string;
}

export class ConfigError extends Error {
    constructor(readonly problems: ConfigProblem[]) {
        super(
            `Invalid chainfleet stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n` +
                problems.map((p) => `  - ${p.path}: ${p.rule} (got ${p.value})`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/**
 * Turns the flat `project:key -> string` map Pulumi gives programs into an object. Pulumi stores
 * structured values as JSON text and top-level scalars as plain strings, so only text that looks
 * like a JSON object or array is parsed.
 */
export function rawStackConfig(all: Record<string, string>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(all)) {
        if (!fullKey.startsWith(`${CONFIG_NAMESPACE}:`)) {
            continue;
        }
        const key = fullKey.slice(CONFIG_NAMESPACE.length + 1);
        const trimmed = text.trim();
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
            try {
                raw[key] = JSON.parse(trimmed);
                continue;
            } catch {
                // Not JSON after all: keep the text and let the schema say what it expected.
            }
        }
        raw[key] = text;
    }
    return raw;
}

/** Validates an already-structured config object (the unit tests' entry point). */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
    const result = stackSchema.safeParse(raw, { reportInput: true });
    const problems = [
        ...(result.success ? [] : result.error.issues.flatMap((i) => describeIssue(i, raw))),
        ...crossKeyProblems(raw).map((p) => ({
            path: joinPath(p.path.map(String)),
            value: show(p.input),
            rule: p.message,
        })),
    ];
    const resolved = result.success ? resolveImages(result.data, problems) : undefined;
    if (!resolved || problems.length > 0) {
        // Sorted by key path so the problems of one group stand together.
        throw new ConfigError(problems.sort((a, b) => a.path.localeCompare(b.path)));
    }
    return { ...resolved, namespace: resolved.namespace ?? resolved.network };
}

/** Reads and validates the current stack's config from the Pulumi runtime. */
export function loadStackConfig(all: Record<string, string>): StackConfig {
    return parseStackConfig(rawStackConfig(all));
}

/** The image catalog groups may name with `catalogImage`. */
export const CATALOG_PATH = path.join(__dirname, "..", "catalog", "images.yaml");

/**
 * The stack's genesis as the prepare step reads it: a generated genesis is the ConfigMap
 * chainfleet writes it to.
 */
export function networkGenesis(
    config: Pick<ParsedStackConfig, "genesis" | "network">,
): GenesisSpec | undefined {
    return config.genesis && "generate" in config.genesis
        ? { configMap: generatedGenesisConfigMap(config.network), key: DEFAULT_GENESIS_KEY }
        : config.genesis;
}

/**
 * Resolves `catalogImage` entries to images (the entry must serve the stack's chain), then holds
 * production stacks to digest-pinned images wherever an image is configured (group images,
 * HardFork bootstrap images, preprod, the monitor, the snapshot restore): a tag can be moved under
 * a running fleet, a digest cannot. Bootstrap tests' images are the exception: they are tags to
 * follow by design. Problems are appended to `problems`.
 */
function resolveImages(config: ParsedStackConfig, problems: ConfigProblem[]): StackConfig {
    let catalog: Catalog | undefined;
    const groups: Record<string, GroupConfig> = {};
    for (const [name, group] of Object.entries(config.groups)) {
        let image = group.image ?? "";
        if (group.catalogImage) {
            const at = `groups.${name}.catalogImage`;
            try {
                catalog ??= loadCatalog(CATALOG_PATH);
                const entry = resolveImage(catalog, group.catalogImage);
                image = entry.image;
                if (entry.adapter !== config.chain) {
                    problems.push({
                        path: at,
                        value: show(group.catalogImage),
                        rule: `catalog entry is a ${entry.adapter} image, but the stack's chain is ${config.chain}`,
                    });
                }
            } catch (err) {
                problems.push({ path: at, value: show(group.catalogImage), rule: errorText(err) });
            }
        }
        // The network's chain id, genesis and placement reach each group (a group's own wins).
        const genesis = group.genesis ?? networkGenesis(config);
        const placement = group.placement ?? config.placement;
        groups[name] = {
            ...group,
            image,
            ...(config.chainId !== undefined ? { chainId: config.chainId } : {}),
            ...(config.cosmos !== undefined ? { cosmos: config.cosmos } : {}),
            ...(genesis !== undefined ? { genesis } : {}),
            ...(placement !== undefined ? { placement } : {}),
        };
    }
    if (config.production) {
        const pinned: [string, string | undefined][] = [
            ["monitorImage", config.monitorImage],
            ...Object.entries(groups).flatMap(([name, g]): [string, string | undefined][] => [
                [`groups.${name}.${g.catalogImage ? "catalogImage" : "image"}`, g.image],
                [`groups.${name}.update.bootstrapImage`, g.update.bootstrapImage],
            ]),
            ["preprod.image", config.preprod?.image],
            ...Object.entries(config.preprod?.images ?? {}).map(([g, ref]): [string, string] => [
                `preprod.images.${g}`,
                ref,
            ]),
        ];
        for (const [at, ref] of pinned) {
            if (ref && isMutableReference(ref)) {
                problems.push({
                    path: at,
                    value: show(ref),
                    rule: "production stacks need digest-pinned images (repo@sha256:<64 hex>): a tag can move under a running fleet",
                });
            }
        }
        config.bootstrapTests.forEach((test, i) => {
            if (test.plainHttp) {
                problems.push({
                    path: `bootstrapTests.${i}.plainHttp`,
                    value: "true",
                    rule: "production stacks resolve images over TLS only: a plain-HTTP registry's answers can be altered in transit; serve the registry over HTTPS",
                });
            }
        });
        // A built monitor image is referenced by its pushed digest, unless it is not pushed.
        if (config.monitorImageBuild?.skipPush) {
            problems.push({
                path: "monitorImageBuild.skipPush",
                value: "true",
                rule: "production stacks need digest-pinned images, and an image that is not pushed is referenced by its tag: push it (drop skipPush)",
            });
        }
        // The restore init container only runs in groups with a snapshot; the default is a tag.
        const snapshotGroups = Object.keys(groups).filter((name) => groups[name].snapshot);
        if (snapshotGroups.length > 0 && isMutableReference(config.snapshotImage)) {
            const isDefault = config.snapshotImage === DEFAULT_SNAPSHOT_IMAGE;
            problems.push({
                path: "snapshotImage",
                value: show(config.snapshotImage),
                rule:
                    `production stacks need digest-pinned images, and groups with a snapshot ` +
                    `(${snapshotGroups.join(", ")}) restore it with this image` +
                    (isDefault ? " (the default, a tag)" : "") +
                    `: set snapshotImage to repo@sha256:<64 hex>`,
            });
        }
    }
    return { ...config, groups };
}

function errorText(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem[] {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
        const known = knownKeysAt(stackSchema, path);
        return issue.keys.map((key) => {
            const suggestion = known.length > 0 ? closest(key, known) : undefined;
            return {
                path: joinPath([...path, key]),
                value: show(valueAt(raw, [...path, key])),
                rule:
                    `unknown key` +
                    (suggestion ? `; did you mean '${suggestion}'?` : "") +
                    (known.length > 0 ? ` Known keys here: ${known.join(", ")}` : ""),
            };
        });
    }
    if (issue.code === "invalid_key") {
        return [
            {
                path: joinPath(path),
                value: show(path[path.length - 1]),
                rule: issue.issues.map((inner) => inner.message).join("; "),
            },
        ];
    }
    const value = "input" in issue ? issue.input : valueAt(raw, path);
    // A secret's value never reaches a log, not even a wrong one.
    const shown = SECRET_KEYS.includes(path[0]) ? "(secret, not shown)" : show(value);
    return [{ path: joinPath(path) || "(root)", value: shown, rule: issue.message }];
}

function joinPath(path: readonly string[]): string {
    return path.join(".");
}

function show(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

function valueAt(raw: unknown, path: readonly string[]): unknown {
    let node = raw;
    for (const key of path) {
        if (node === null || typeof node !== "object") {
            return undefined;
        }
        node = (node as Record<string, unknown>)[key];
    }
    return node;
}

/**
 * The keys an object schema accepts at `path`, found by walking through the wrappers zod puts
 * around it (optional, default, effects, records), so an unknown key can be matched to the closest
 * known one.
 */
function knownKeysAt(schema: z.core.$ZodType, path: readonly string[]): string[] {
    let node: z.core.$ZodType | undefined = unwrap(schema);
    for (const key of path) {
        if (node instanceof z.ZodObject) {
            node = unwrap(node.shape[key]);
        } else if (node instanceof z.ZodRecord) {
            node = unwrap(node.valueType);
        } else if (node instanceof z.ZodArray) {
            node = unwrap(node.element);
        } else {
            return [];
        }
    }
    return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
    let node = schema;
    for (let depth = 0; node && depth < 10; depth++) {
        const def = node._zod.def as unknown as Record<string, unknown>;
        const inner = (def.innerType ?? (def.type === "pipe" ? def.out : undefined)) as
            z.core.$ZodType | undefined;
        if (!inner) {
            break;
        }
        node = inner;
    }
    return node;
}
