/**
 * The shape of a chainfleet stack's config (`chainfleet:*` keys in `Pulumi.<network>.yaml`).
 * Every object is strict: an unknown key is an error, because a typo such as `haltHieght` would
 * otherwise be ignored and the upgrade would run without its halt height.
 */
import { z } from "zod";
import { adapterFor } from "../chains";
import { CHAIN_KINDS } from "../chains/kinds";
import { PreprodConfigSchema } from "../lib/cohort";
import { DEFAULTS } from "../lib/defaults";
import { ENTRANT_VOLUMES, GroupSpec, UPDATE_STRATEGIES } from "../lib/groupSpec";
import { DEFAULT_SNAPSHOT_IMAGE, SnapshotConfigSchema, formatFromUrl } from "../lib/snapshot";
import { nameLengthProblems } from "../lib/names";
import {
    DNS1035_LABEL,
    booleanFlag,
    dns1123Label,
    imageReference,
    nonNegativeInt,
    positiveInt,
    quantity,
    storageSchema,
} from "./rules";
import { BootstrapTestConfigSchema } from "./bootstrapTest";
import {
    chainIdSchema,
    genesisSchema,
    nodeConfigSchema,
    nodeHomeProblems,
    peersSchema,
    stateSyncSchema,
} from "./nodeHome";
import { OVERRIDES_KEY } from "../lib/nodeHome";
import { networkProblems, nodeKeySeedSchema, placementSchema, validatorSchema } from "./network";
import { cosmosAppProblems, cosmosAppSchema } from "./cosmosApp";

export const CHAINS = CHAIN_KINDS;
export { DEFAULTS, DEFAULT_SNAPSHOT_IMAGE, UPDATE_STRATEGIES };

/**
 * The upgrade height H of a HardFork. At least 2: the bootstrap runs the incumbent until it has
 * committed H-1 and halts, so H-1 must itself be a block (heights start at 1).
 */
const upgradeHeight = z
    .number({ error: "haltHeight must be a whole number" })
    .int({ error: "haltHeight must be a whole number" })
    .min(2, {
        error: "haltHeight must be at least 2: the bootstrap halts the incumbent after block haltHeight - 1",
    });

const resourceList = z.strictObject({
    cpu: quantity("cpu").optional(),
    memory: quantity("memory").optional(),
});

const timeoutsSchema = z.strictObject({
    bootstrapSeconds: positiveInt("bootstrapSeconds").default(DEFAULTS.bootstrapSeconds),
    gateSeconds: positiveInt("gateSeconds").default(DEFAULTS.gateSeconds),
    switchSeconds: positiveInt("switchSeconds").default(DEFAULTS.switchSeconds),
});

const rpcUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** How gates reach node RPC: through the API server's pod proxy, or at given URLs. */
const gateSchema = z.strictObject({
    rpc: z
        .enum(["podProxy", "direct"], { error: "rpc must be podProxy or direct" })
        .default("podProxy"),
    /** direct: the RPC base URL of each entrant replica, by ordinal. */
    directUrls: z.array(rpcUrl).optional(),
    /** direct: the RPC base URLs of the incumbent replicas, by ordinal. */
    incumbentUrls: z.array(rpcUrl).optional(),
    /** Trusted nodes of the same chain whose height is a reference. */
    referenceRpcs: z.array(rpcUrl).optional(),
    minPeers: nonNegativeInt("minPeers").default(1),
});

const updateSchema = z
    .strictObject({
        strategy: z.enum(UPDATE_STRATEGIES, {
            error: `strategy must be one of ${UPDATE_STRATEGIES.join(", ")}`,
        }),
        haltHeight: upgradeHeight.optional(),
        /** BlueGreen and HardFork: where the entrant's volumes start (lib/groupSpec.ts). */
        entrantVolumes: z
            .enum(ENTRANT_VOLUMES, {
                error: `entrantVolumes must be one of ${ENTRANT_VOLUMES.join(", ")}`,
            })
            .optional(),
        upgradeName: z
            .string()
            .min(1, { error: "upgradeName must not be empty" })
            .regex(/^\S+$/, { error: "upgradeName must not contain spaces" })
            .optional(),
        caughtUpTolerance: nonNegativeInt("caughtUpTolerance").default(DEFAULTS.caughtUpTolerance),
        timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
        /** Overrides the incumbent image a HardFork bootstrap runs (read from the cluster otherwise). */
        bootstrapImage: imageReference.optional(),
        gate: gateSchema.default(gateSchema.parse({})),
    })
    .superRefine((update, ctx) => {
        if (update.strategy === "HardFork" && update.haltHeight === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["haltHeight"],
                input: undefined,
                message: "strategy HardFork needs an integer haltHeight >= 2 (the upgrade height)",
            });
        }
        if (update.gate.rpc === "direct" && !update.gate.directUrls?.length) {
            ctx.addIssue({
                code: "custom",
                path: ["gate", "directUrls"],
                input: update.gate.directUrls,
                message: "gate.rpc direct needs directUrls: one RPC URL per entrant replica",
            });
        }
        if (update.strategy !== "HardFork" && update.haltHeight !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["haltHeight"],
                input: update.haltHeight,
                message: `haltHeight only applies to strategy HardFork (strategy is ${update.strategy})`,
            });
        }
    });

const intOrPercent = z.union(
    [
        nonNegativeInt("value"),
        z
            .string()
            .regex(/^(100|[1-9]?[0-9])%$/, { error: "must be a whole number or a percentage" }),
    ],
    // A fraction fails both members as a type mismatch, and zod alone would say "Invalid input".
    { error: "must be a whole number or a percentage such as '25%'" },
);

const pdbSchema = z
    .strictObject({
        maxUnavailable: intOrPercent.optional(),
        minAvailable: intOrPercent.optional(),
    })
    .refine((pdb) => !(pdb.maxUnavailable !== undefined && pdb.minAvailable !== undefined), {
        error: "set only one of maxUnavailable or minAvailable (Kubernetes rejects both)",
    });

export const groupSchema = z.strictObject({
    replicas: positiveInt("replicas"),
    /** The node image; or name a catalog entry with `catalogImage` instead. */
    image: imageReference.optional(),
    /** An entry of catalog/images.yaml, resolved to its (checked, digest-pinned) image. */
    catalogImage: z
        .string()
        .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, { error: "catalogImage must name a catalog entry" })
        .optional(),
    args: z.array(z.string()).optional(),
    env: z
        .record(
            z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
                error: "env names must be letters, digits and '_', not starting with a digit",
            }),
            z.string({ error: "env values must be strings (quote numbers in YAML)" }),
        )
        .optional(),
    configFiles: z
        .record(z.string().regex(/^[-._a-zA-Z0-9]+$/, { error: "must be a file name" }), z.string())
        .optional(),
    resources: z
        .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
        .optional(),
    storage: storageSchema,
    snapshot: SnapshotConfigSchema.optional(),
    update: updateSchema.default(updateSchema.parse({ strategy: "Rolling" })),
    podDisruptionBudget: pdbSchema.optional(),
    /** Overrides the stack's genesis (a group that joins another network). */
    genesis: genesisSchema.optional(),
    /** TOML overrides merged into the files the node's own init wrote. */
    config: nodeConfigSchema.optional(),
    peers: peersSchema.optional(),
    /** State sync with a trust root from the RPC servers at pod start (node-agent prepare). */
    stateSync: stateSyncSchema.optional(),
    /** A signing group: exactly one replica, never an entrant beside it (config/network.ts). */
    validator: validatorSchema.optional(),
    /** Where the group's pods run; replaces the stack's `placement`. */
    placement: placementSchema.optional(),
});

export const stackSchema = z.strictObject({
    network: dns1123Label("network"),
    chain: z.enum(CHAINS, { error: `chain must be one of ${CHAINS.join(", ")}` }),
    /** chain cosmos: the daemon, its home and its Cosmos SDK version (config/cosmosApp.ts). */
    cosmos: cosmosAppSchema.optional(),
    namespace: dns1123Label("namespace").optional(),
    production: booleanFlag("production").default(false),
    /** The network's chain id: checked against the genesis, written to seid's client.toml. */
    chainId: chainIdSchema.optional(),
    /** The network's genesis; a group's own `genesis` wins. */
    genesis: genesisSchema.optional(),
    /** Secret: node (and dev validator) keys are derived from it at plan time (lib/nodeKeys.ts). */
    nodeKeySeed: nodeKeySeedSchema.optional(),
    /** Where every group's pods run, unless a group sets its own. */
    placement: placementSchema.optional(),
    groups: z.record(z.string(), groupSchema),
    preprod: PreprodConfigSchema.optional(),
    /** Image of the snapshot-restore init container: needs sh, wget or curl, sha256sum, tar. */
    snapshotImage: imageReference.default(DEFAULT_SNAPSHOT_IMAGE),
    /** Continuous bootstrap tests (components/BootstrapTest.ts, monitor/). */
    bootstrapTests: z.array(BootstrapTestConfigSchema).default([]),
    /** The bootstrap monitor's image (built from monitor/Dockerfile), ideally by digest. */
    monitorImage: imageReference.optional(),
    /**
     * Or build that image from monitor/Dockerfile during `pulumi up` (dynamic-providers/imageBuild.ts:
     * the `docker` CLI and a daemon where it runs) and push it to `imageName`; pods then use the
     * pushed digest.
     */
    monitorImageBuild: z
        .strictObject({
            imageName: imageReference,
            platform: z
                .string()
                .regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, {
                    error: "platform must look like linux/amd64",
                })
                .optional(),
            skipPush: booleanFlag("skipPush").optional(),
            /** `docker build --network`: "host" where the daemon has no bridge network. */
            network: z
                .string()
                .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, {
                    error: "network must be a Docker network name, e.g. host",
                })
                .optional(),
        })
        .optional(),
});

/**
 * Rules that span keys (group names against generated object names, strategy against chain).
 * They run on the raw input, beside the schema rather than inside it, because zod skips an
 * object's refinements once any field inside it has failed, and every problem is to be reported
 * at once.
 */
export function crossKeyProblems(
    raw: Record<string, unknown>,
): { path: (string | number)[]; input: unknown; message: string }[] {
    const problems: { path: (string | number)[]; input: unknown; message: string }[] = [];
    const groups = raw.groups;
    if (groups === null || typeof groups !== "object" || Array.isArray(groups)) {
        return problems;
    }
    const groupNames = Object.keys(groups as Record<string, unknown>);
    const preprod = (raw.preprod ?? {}) as Record<string, unknown>;
    const preprodGroupRefs: [(string | number)[], unknown][] = [
        ...Object.keys((preprod.images ?? {}) as object).map(
            (g): [(string | number)[], unknown] => [["preprod", "images", g], g],
        ),
        ...(Array.isArray((preprod.optOut as { groups?: unknown })?.groups)
            ? ((preprod.optOut as { groups: unknown[] }).groups.map(
                  (g, i): [(string | number)[], unknown] => [["preprod", "optOut", "groups", i], g],
              ) ?? [])
            : []),
    ];
    // BusyBox, the default snapshot image, has no lz4: without this rule an lz4 snapshot fails at
    // pod start, after scheduling and volume binding, rather than here.
    const defaultSnapshotImage =
        raw.snapshotImage === undefined || raw.snapshotImage === DEFAULT_SNAPSHOT_IMAGE;
    const tests = Array.isArray(raw.bootstrapTests) ? (raw.bootstrapTests as unknown[]) : [];
    if (tests.length > 0 && raw.monitorImage === undefined && raw.monitorImageBuild === undefined) {
        problems.push({
            path: ["monitorImage"],
            input: undefined,
            message:
                "bootstrapTests need monitorImage: the image built from monitor/Dockerfile " +
                "(or monitorImageBuild, to build and push it during `pulumi up`)",
        });
    }
    if (raw.monitorImage !== undefined && raw.monitorImageBuild !== undefined) {
        problems.push({
            path: ["monitorImageBuild"],
            input: raw.monitorImageBuild,
            message: "give monitorImage (a published image) or monitorImageBuild, not both",
        });
    }
    const seen = new Set<string>();
    tests.forEach((test, i) => {
        const testName = (test as { name?: unknown } | null)?.name;
        if (typeof testName !== "string") {
            return;
        }
        if (seen.has(testName) || groupNames.includes(testName)) {
            problems.push({
                path: ["bootstrapTests", i, "name"],
                input: testName,
                message:
                    "bootstrap test names must differ from each other and from group names (each names a StatefulSet)",
            });
        }
        seen.add(testName);
    });
    for (const [path, g] of preprodGroupRefs) {
        if (typeof g === "string" && !groupNames.includes(g)) {
            problems.push({
                path,
                input: g,
                message: `no group named '${g}' (groups: ${groupNames.join(", ")})`,
            });
        }
    }
    const chainKind = CHAINS.find((c) => c === raw.chain);
    problems.push(...nodeHomeProblems(raw, chainKind));
    problems.push(...networkProblems(raw, chainKind));
    problems.push(...cosmosAppProblems(raw, chainKind));
    for (const [name, group] of Object.entries(groups as Record<string, unknown>)) {
        const fields = (group ?? {}) as Record<string, unknown>;
        const files = fields.configFiles;
        if (files !== null && typeof files === "object" && OVERRIDES_KEY in files) {
            problems.push({
                path: ["groups", name, "configFiles", OVERRIDES_KEY],
                input: OVERRIDES_KEY,
                message: `${OVERRIDES_KEY} is chainfleet's own file in the group's ConfigMap (from config and peers); use another name`,
            });
        }
        if ((fields.image === undefined) === (fields.catalogImage === undefined)) {
            problems.push({
                path: ["groups", name, "image"],
                input: fields.image,
                message: "set exactly one of image or catalogImage",
            });
        }
        if (!DNS1035_LABEL.test(name)) {
            problems.push({
                path: ["groups", name],
                input: name,
                message:
                    "group names must be DNS-1035 labels: lower-case letters, digits and '-', starting with a letter",
            });
        }
        const replicas = Number.isInteger(fields.replicas) ? (fields.replicas as number) : 1;
        for (const message of nameLengthProblems(name, replicas)) {
            problems.push({ path: ["groups", name], input: name, message });
        }
        const snapshot = (fields.snapshot ?? {}) as Record<string, unknown>;
        const format =
            snapshot.format ??
            (typeof snapshot.url === "string" ? formatFromUrl(snapshot.url) : undefined);
        if (format === "tar.lz4" && defaultSnapshotImage) {
            const key = snapshot.format !== undefined ? "format" : "url";
            problems.push({
                path: ["groups", name, "snapshot", key],
                input: snapshot[key],
                message:
                    `tar.lz4 snapshots need lz4, which the default snapshot image ` +
                    `(${DEFAULT_SNAPSHOT_IMAGE}) lacks; set snapshotImage to an image with sh, ` +
                    `wget or curl, sha256sum, tar and lz4 (e.g. debian:bookworm-slim with lz4 installed)`,
            });
        }
        const update = (fields.update ?? {}) as Record<string, unknown>;
        problems.push(...entrantVolumeProblems(name, update, fields.snapshot !== undefined));
        const chain = CHAINS.find((c) => c === raw.chain);
        if (update.strategy === "HardFork" && chain && !adapterFor(chain).supportsHaltHeight) {
            problems.push({
                path: ["groups", name, "update", "strategy"],
                input: "HardFork",
                message: `the ${chain} node has no halt-height flag, so HardFork cannot bootstrap it; use BlueGreen`,
            });
        }
    }
    return problems;
}

/**
 * A HardFork entrant must reach H-1 with one (old) binary. From genesis that means replaying the
 * chain's whole history, across every earlier upgrade, which one binary cannot (the sei-testnet
 * archive group would replay ~180M blocks): so the stack says where its volumes start, and
 * `genesis` only when that is really meant (a young chain, a test network).
 */
function entrantVolumeProblems(
    group: string,
    update: Record<string, unknown>,
    hasSnapshot: boolean,
): { path: (string | number)[]; input: unknown; message: string }[] {
    const at = ["groups", group, "update", "entrantVolumes"];
    const given = update.entrantVolumes;
    if (update.strategy === "HardFork" && given === undefined && !hasSnapshot) {
        return [
            {
                path: at,
                input: undefined,
                message:
                    "a HardFork entrant must reach the upgrade height with the old binary: set " +
                    "entrantVolumes: cloneIncumbent (a copy of the incumbent's volume; needs a CSI " +
                    "driver that clones), configure the group's snapshot, or say entrantVolumes: " +
                    "genesis to replay the whole chain with one binary (which cannot cross earlier upgrades)",
            },
        ];
    }
    if (given === "snapshot" && !hasSnapshot) {
        return [
            {
                path: at,
                input: given,
                message: "entrantVolumes snapshot needs the group's snapshot: {url, sha256}",
            },
        ];
    }
    if (given !== undefined && update.strategy === "Rolling") {
        return [
            {
                path: at,
                input: given,
                message:
                    "entrantVolumes applies to BlueGreen and HardFork: a Rolling group has no entrants",
            },
        ];
    }
    return [];
}

type ParsedGroup = z.output<typeof groupSchema>;
/** A group once its catalog entry, if any, is resolved: `image` is always there. */
export type GroupConfig = Omit<ParsedGroup, "image"> & {
    image: string;
    /** The stack's chainId, copied in so that lib/ reads one group object. */
    chainId?: string;
};
export type StackConfigInput = z.input<typeof stackSchema>;
export type StackConfig = Omit<z.output<typeof stackSchema>, "groups"> & {
    groups: Record<string, GroupConfig>;
};
export type ParsedStackConfig = z.output<typeof stackSchema>;
export type UpdateConfig = GroupConfig["update"];
export type Chain = (typeof CHAINS)[number];

// Compile-time only: lib/ reads groups as the plain GroupSpec (lib/groupSpec.ts) so that it never
// imports config/; a key added to the schema fails the build here until GroupSpec has it too.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const groupSpecMatches: Same<GroupConfig, GroupSpec> = true;
void groupSpecMatches;
