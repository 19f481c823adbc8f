/**
 * Stack keys that shape a CometBFT-family node's home (prepared by chainfleet-agent, node-agent/):
 * `chainId`, `genesis`, and per group `config` (TOML overrides), `peers` and `stateSync`. The
 * rules that need the chain kind or several keys at once are in `nodeHomeProblems`, run beside
 * the schema.
 */
import { z } from "zod";
import { adapterFor } from "../chains";
import type { ChainKind } from "../chains/kinds";
import type { ConfigSection } from "../chains/types";
import type { GenesisSpec, TomlTable } from "../lib/groupSpec";
import { generateSchema, inFleetSchema } from "./network";
import { DNS1123_SUBDOMAIN, isObject } from "./rules";

/** CometBFT's MaxChainIDLen is 50 (types/genesis.go); the SDK takes the same characters. */
export const CHAIN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/;

export const chainIdSchema = z.string({ error: "chainId must be a string" }).regex(CHAIN_ID, {
    error: "chainId must be 1-50 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. atlantic-2)",
});

/** The ConfigMap key genesis comes from when `genesis.key` is not given. */
export const DEFAULT_GENESIS_KEY = "genesis.json";

const httpUrl = z.string({ error: "url must be a string" }).refine(
    (url) => {
        try {
            const parsed = new URL(url);
            return /^https?:$/.test(parsed.protocol) && parsed.host !== "";
        } catch {
            return false;
        }
    },
    { error: "url must be an http(s) URL" },
);

export const genesisSchema = z
    .strictObject({
        url: httpUrl.optional(),
        sha256: z
            .string({ error: "sha256 must be a string" })
            .regex(/^[0-9a-f]{64}$/, {
                error: "sha256 must be 64 lower-case hex characters (sha256sum of the file as served)",
            })
            .optional(),
        configMap: z
            .string({ error: "configMap must be a string" })
            .max(253, { error: "configMap must be at most 253 characters" })
            .regex(DNS1123_SUBDOMAIN, {
                error: "configMap must name a ConfigMap (DNS-1123 subdomain)",
            })
            .optional(),
        key: z
            .string({ error: "key must be a string" })
            .regex(/^[-._a-zA-Z0-9]+$/, {
                error: "key must be a ConfigMap key (letters, digits, '-', '_', '.')",
            })
            .optional(),
        /** A new dev/test network's genesis, written by chainfleet (config/network.ts). */
        generate: generateSchema.optional(),
    })
    .superRefine((g, ctx) => {
        const issue = (path: string, input: unknown, message: string) =>
            ctx.addIssue({ code: "custom", path: [path], input, message });
        const sources = [g.url, g.configMap, g.generate].filter((v) => v !== undefined).length;
        if (sources !== 1) {
            issue(
                g.url === undefined ? "url" : "configMap",
                g.url === undefined ? undefined : g.configMap,
                "genesis needs exactly one of url (with sha256), configMap (with an optional key) or generate",
            );
        }
        if (g.url !== undefined && g.sha256 === undefined) {
            issue(
                "sha256",
                undefined,
                "genesis url needs sha256: a download is verified before it is used",
            );
        }
        if (g.configMap !== undefined && g.sha256 !== undefined) {
            issue(
                "sha256",
                g.sha256,
                "sha256 goes with url; a ConfigMap's genesis is not downloaded",
            );
        }
        if (g.url !== undefined && g.key !== undefined) {
            issue(
                "key",
                g.key,
                "key goes with configMap (the ConfigMap key that holds genesis.json)",
            );
        }
    })
    .transform((g): GenesisSpec =>
        g.generate !== undefined
            ? { generate: g.generate }
            : g.url !== undefined
              ? { url: g.url, sha256: g.sha256 ?? "" }
              : { configMap: g.configMap ?? "", key: g.key ?? DEFAULT_GENESIS_KEY },
    );

const TOML_VALUE_RULE =
    "TOML values are strings, numbers, booleans, arrays or tables (TOML has no null)";

/** Every value that is not one TOML can hold, with its path below the section. */
function badTomlValues(value: unknown, path: (string | number)[]): (string | number)[][] {
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => badTomlValues(v, [...path, i]));
    }
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([k, v]) => badTomlValues(v, [...path, k]));
    }
    const ok =
        typeof value === "string" ||
        typeof value === "boolean" ||
        (typeof value === "number" && Number.isFinite(value));
    return ok ? [] : [path];
}

/**
 * A plain nested object of TOML values. Walked by hand rather than with a recursive zod union,
 * whose failure would name the enclosing table instead of the bad key.
 */
const tomlTable = (section: ConfigSection): z.ZodType<TomlTable> =>
    z
        .custom<TomlTable>((v) => v !== null && typeof v === "object" && !Array.isArray(v), {
            error: `${section} must be a table: an object of TOML keys and sections, e.g. {p2p: {max_num_inbound_peers: 40}}`,
        })
        .superRefine((table, ctx) => {
            for (const path of badTomlValues(table, [])) {
                ctx.addIssue({ code: "custom", path, message: TOML_VALUE_RULE });
            }
        });

export const nodeConfigSchema = z.strictObject({
    configToml: tomlTable("configToml").optional(),
    appToml: tomlTable("appToml").optional(),
    clientToml: tomlTable("clientToml").optional(),
});

/** `<node id>@<host>:<port>`: the node id is 40 hex digits (CometBFT p2p/netaddress.go). */
const PEER = /^[0-9a-f]{40}@(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$/;

export function isPeerAddress(value: string): boolean {
    const m = PEER.exec(value);
    return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 65535;
}

const peerAddress = z.string({ error: "a peer must be a string" }).refine(isPeerAddress, {
    error:
        "a peer must be <node id>@<host>:<port>: the node id is 40 lower-case hex characters " +
        "(`cometbft show-node-id`), the port 1-65535",
});

export const peersSchema = z.strictObject({
    /** Every node of the fleet as a persistent peer (needs nodeKeySeed); on by default with it. */
    inFleet: inFleetSchema,
    seeds: z.array(peerAddress, { error: "seeds must be a list of peers" }).optional(),
    persistentPeers: z
        .array(peerAddress, { error: "persistentPeers must be a list of peers" })
        .optional(),
});

/**
 * A Go duration as time.ParseDuration reads it and CometBFT's config writes it
 * (time.Duration.String, e.g. `168h0m0s`).
 */
export const GO_DURATION = /^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$/;
/** CometBFT's and Sei's default trust period (config/config.go DefaultStateSyncConfig). */
export const DEFAULT_TRUST_PERIOD = "168h0m0s";

const rpcServer = z.string({ error: "an rpc server must be a string" }).refine(
    (url) => {
        try {
            const parsed = new URL(url);
            return /^https?:$/.test(parsed.protocol) && parsed.host !== "" && !url.includes(",");
        } catch {
            return false;
        }
    },
    {
        error: "an rpc server must be an http(s) RPC base URL without commas (e.g. https://rpc.example.org:443)",
    },
);

export const stateSyncSchema = z.strictObject({
    /**
     * At least two: CometBFT refuses fewer (config/config.go StateSyncConfig.ValidateBasic),
     * and the agent takes the trust root only when two servers agree on it.
     */
    rpcServers: z
        .array(rpcServer, { error: "rpcServers must be a list of http(s) RPC base URLs" })
        .min(2, {
            error: "rpcServers needs at least two servers: CometBFT's light client needs a primary and a witness, and the trust root is checked between two",
        })
        .refine((urls) => new Set(urls).size === urls.length, {
            error: "rpcServers must be different servers: the trust root is checked between two",
        }),
    trustPeriod: z
        .string({ error: "trustPeriod must be a string" })
        .regex(GO_DURATION, {
            error: "trustPeriod must be a Go duration such as 168h0m0s or 336h (units h, m, s, ms)",
        })
        .refine((d) => /[1-9]/.test(d), { error: "trustPeriod must be above 0" })
        .default(DEFAULT_TRUST_PERIOD),
});

type Problem = { path: (string | number)[]; input: unknown; message: string };

/**
 * The rules on these keys that need the chain kind or several keys: which chains take them at
 * all, which config files a chain's init writes, the chain id a chain's init needs, and peers
 * or state sync given twice. Reads the raw input (see crossKeyProblems in schema.ts for why).
 */
export function nodeHomeProblems(
    raw: Record<string, unknown>,
    chain: ChainKind | undefined,
): Problem[] {
    const problems: Problem[] = [];
    if (chain === undefined || !isObject(raw.groups)) {
        return problems;
    }
    const home = adapterFor(chain).nodeHome;
    if (home === undefined) {
        const refuse = (path: (string | number)[], input: unknown) =>
            problems.push({
                path,
                input,
                message:
                    `${chain} nodes are not prepared by chainfleet-agent: chainId, genesis, config, ` +
                    `peers and stateSync apply to CometBFT-family chains (cometbft, sei); ${chain}'s ` +
                    `own config files, bootstrap peers and state sync are not supported yet`,
            });
        for (const key of ["chainId", "genesis"]) {
            if (raw[key] !== undefined) refuse([key], raw[key]);
        }
        for (const [name, group] of Object.entries(raw.groups)) {
            for (const key of ["genesis", "config", "peers", "stateSync"]) {
                if (isObject(group) && group[key] !== undefined) {
                    refuse(["groups", name, key], group[key]);
                }
            }
        }
        return problems;
    }
    const needChainId: string[] = [];
    const needGenesis: string[] = [];
    for (const [name, group] of Object.entries(raw.groups)) {
        if (!isObject(group)) continue;
        const at = ["groups", name];
        const config = isObject(group.config) ? group.config : {};
        for (const section of ["configToml", "appToml", "clientToml"] as const) {
            if (config[section] !== undefined && !home.sections.includes(section)) {
                problems.push({
                    path: [...at, "config", section],
                    input: config[section],
                    message:
                        `${chain} nodes have no ${fileOf(section)}: their init writes only ` +
                        home.sections.map(fileOf).join(", "),
                });
            }
        }
        const hasGenesis = group.genesis !== undefined || raw.genesis !== undefined;
        if (home.initNeedsChainId && raw.chainId === undefined && !hasGenesis) {
            needChainId.push(name);
        }
        if (!home.initNeedsChainId && raw.chainId !== undefined && !hasGenesis) {
            needGenesis.push(name);
        }
        const peers = isObject(group.peers) ? group.peers : {};
        const p2p =
            isObject(config.configToml) && isObject(config.configToml.p2p)
                ? config.configToml.p2p
                : {};
        for (const [key, tomlKey] of [
            ["seeds", home.p2pKeys.seeds],
            ["persistentPeers", home.p2pKeys.persistentPeers],
        ] as const) {
            if (peers[key] !== undefined && p2p[tomlKey] !== undefined) {
                problems.push({
                    path: [...at, "config", "configToml", "p2p", tomlKey],
                    input: p2p[tomlKey],
                    message: `set peers.${key} or configToml.p2p.${tomlKey}, not both (peers.${key} becomes that key)`,
                });
            }
        }
        if (
            group.stateSync !== undefined &&
            isObject(config.configToml) &&
            config.configToml.statesync !== undefined
        ) {
            problems.push({
                path: [...at, "config", "configToml", "statesync"],
                input: config.configToml.statesync,
                message:
                    "set stateSync or configToml.statesync, not both (stateSync writes [statesync], " +
                    "with the trust root the RPC servers give when a pod starts on an empty home)",
            });
        }
    }
    if (needChainId.length > 0) {
        problems.push({
            path: ["chainId"],
            input: undefined,
            message:
                `${chain} nodes need chainId (or a genesis, whose chain_id is used) for groups ` +
                `${needChainId.join(", ")}: the node's init and client.toml need the chain id`,
        });
    }
    if (needGenesis.length > 0) {
        problems.push({
            path: ["chainId"],
            input: raw.chainId,
            message:
                `chainId needs a genesis (stack or group genesis) for groups ${needGenesis.join(", ")}: ` +
                `\`${chain} init\` writes a genesis with a random chain id, which would not match`,
        });
    }
    return problems;
}

const fileOf = (section: ConfigSection): string => section.replace("Toml", ".toml");
