/**
 * The pod parts that prepare a CometBFT-family node's home with chainfleet-agent (node-agent/):
 * an `agent-install` init container copies the static agent from its own tiny image into an
 * emptyDir; a `prepare` init container runs it inside the group's image (so the chain's own
 * `init` writes the defaults of that very binary), with the genesis, chain id and TOML overrides
 * from config; the node's readiness probe runs `chainfleet-agent ready`, which needs nothing
 * from the image (no shell, curl or wget: the Sei image from v6.3.0 has neither).
 *
 * Pure: lib/manifests.ts puts these parts into the pod template and the group's ConfigMap.
 */
import { PROBE_HTTP_TIMEOUT_SECONDS } from "../chains/probes";
import type { ChainAdapter, EnvVar, NodeHome, ProbeSpec } from "../chains/types";
import type { GroupSpec, NodeConfigSpec, TomlTable } from "./groupSpec";
import { restrictedContainerSecurityContext } from "./podSecurity";

/**
 * The agent's image: built by scripts/images.sh (`node-agent`) FROM scratch from node-agent/build.sh.
 * Bump the tag whenever the flags the pods pass change or the agent's behaviour behind them
 * does (0.2.0: --peer-wait, self dropped from peers; 0.3.0: --state-sync-rpc,
 * --state-sync-trust-period; 0.4.0: `ready` also compares the node's height with its peers',
 * --max-peer-lag, default 10, so the probe's flags are unchanged): nodes pull IfNotPresent, so a
 * node that has the old tag would run the old agent, and the tag is part of every revision, so
 * a bump restarts the nodes onto the new agent.
 */
export const NODE_AGENT_IMAGE = "chainfleet/node-agent:0.5.1";
/** Where the agent's image holds the binary. */
export const AGENT_IMAGE_BINARY = "/usr/local/bin/chainfleet-agent";
/** The emptyDir the agent is installed into, shared by the prepare step and the node container. */
export const AGENT_VOLUME = "chainfleet-bin";
export const AGENT_DIR = "/chainfleet/bin";
export const AGENT_BINARY = `${AGENT_DIR}/chainfleet-agent`;
/** Key of the overrides file in the group's ConfigMap. */
export const OVERRIDES_KEY = "overrides.json";
/** A genesis from a ConfigMap is mounted here (not under the ConfigMap mount: that is read-only). */
export const GENESIS_VOLUME = "genesis";
export const GENESIS_DIR = "/chainfleet/genesis";
export const GENESIS_FILE = `${GENESIS_DIR}/genesis.json`;
/** The set's node keys (`<ordinal>.json`, from its Secret), mounted into the prepare step only. */
export const NODE_KEYS_VOLUME = "node-keys";
export const NODE_KEYS_DIR = "/chainfleet/node-keys";
/** The pod's ordinal: the StatefulSet controller's pod-index label, or a Job's own ordinal. */
export const POD_INDEX_ENV = "CHAINFLEET_POD_INDEX";
/**
 * The pod a home belongs to (`prepare --owner`): the set's pod, or for a bootstrap Job the set's
 * pod of its ordinal. A home found prepared for another (a cloned volume) gets a fresh node key.
 */
export const HOME_OWNER_ENV = "CHAINFLEET_HOME_OWNER";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
/** A signing group's priv_validator_key.json (from its Secret), for the prepare step only. */
export const VALIDATOR_KEY_VOLUME = "validator-key";
export const VALIDATOR_KEY_DIR = "/chainfleet/validator-key";
export const VALIDATOR_KEY_FILE = "priv_validator_key.json";
/**
 * How long prepare waits for in-fleet peers' DNS names: a pod of another set created in the same
 * `pulumi up` may not have its record yet, and CometBFT drops a peer whose name does not resolve
 * at start (node-agent README, `--peer-wait`).
 */
export const PEER_WAIT = "2m";

/** The key files a pod's prepare step places, when the group has them. */
export interface NodeKeyParts {
    /** The set's node-key Secret (`<ordinal>.json`); the stack has nodeKeySeed. */
    nodeKeySecret?: string;
    /** The Secret with the signing group's priv_validator_key.json. */
    validatorKeySecret?: string;
    /** Every node of the fleet, as persistent peers (undefined: in-fleet peers are off). */
    inFleetPeers?: readonly string[];
}

type Obj = Record<string, unknown>;

/**
 * What the prepare step reads of a group's config: a group's whole config fits, and so does a
 * bootstrap test's (the stack's chain id and genesis only).
 */
export type NodeHomeSpec = Pick<
    GroupSpec,
    "chainId" | "genesis" | "peers" | "config" | "stateSync"
>;

/**
 * The overrides file's content: `config` with `peers` merged into configToml's `[p2p]` under the
 * chain's own key names (comma-separated, as CometBFT reads them). Undefined when there is
 * nothing to override.
 */
export function nodeOverrides(
    home: NodeHome,
    config: NodeHomeSpec,
    inFleetPeers?: readonly string[],
): NodeConfigSpec | undefined {
    const out: NodeConfigSpec = {};
    const p2p: TomlTable = {};
    if (config.peers?.seeds !== undefined) {
        p2p[home.p2pKeys.seeds] = config.peers.seeds.join(",");
    }
    // In-fleet peers always write the key (even empty): the pod template passes --overrides
    // whenever they are on, whatever the fleet's nodes are this run.
    if (config.peers?.persistentPeers !== undefined || inFleetPeers !== undefined) {
        p2p[home.p2pKeys.persistentPeers] = [
            ...(config.peers?.persistentPeers ?? []),
            ...(inFleetPeers ?? []),
        ].join(",");
    }
    const configToml = config.config?.configToml;
    if (configToml !== undefined || Object.keys(p2p).length > 0) {
        const given = configToml?.p2p;
        const givenP2p =
            given !== undefined && typeof given === "object" && !Array.isArray(given) ? given : {};
        out.configToml = {
            ...(configToml ?? {}),
            ...(Object.keys(p2p).length > 0 ? { p2p: { ...givenP2p, ...p2p } } : {}),
        };
    }
    if (config.config?.appToml !== undefined) out.appToml = config.config.appToml;
    if (config.config?.clientToml !== undefined) out.clientToml = config.config.clientToml;
    return Object.keys(out).length > 0 ? out : undefined;
}

/** The `overrides.json` text for the group's ConfigMap, or undefined. */
export function overridesJson(
    home: NodeHome,
    config: NodeHomeSpec,
    inFleetPeers?: readonly string[],
): string | undefined {
    const overrides = nodeOverrides(home, config, inFleetPeers);
    return overrides === undefined ? undefined : `${JSON.stringify(overrides, null, 2)}\n`;
}

/** `chainfleet-agent prepare` flags, from config (node-agent/main.go runPrepare). */
export function prepareArgs(
    adapter: ChainAdapter,
    home: NodeHome,
    config: NodeHomeSpec,
    configDir: string,
    keys: NodeKeyParts = {},
): string[] {
    const args = ["prepare", "--chain", home.agentChain, "--home", adapter.homeDir];
    if (home.binary !== undefined) {
        args.push("--binary", home.binary);
    }
    args.push("--owner", `$(${HOME_OWNER_ENV})`);
    if (config.chainId !== undefined) {
        args.push("--chain-id", config.chainId);
    }
    const genesis = config.genesis;
    if (genesis !== undefined && "url" in genesis) {
        args.push("--genesis-url", genesis.url, "--genesis-sha256", genesis.sha256);
    } else if (genesis !== undefined) {
        args.push("--genesis-file", GENESIS_FILE);
    }
    // The peer list itself is not looked at: it changes with the fleet, the pod must not.
    const inFleet = keys.inFleetPeers !== undefined ? [] : undefined;
    if (nodeOverrides(home, config, inFleet) !== undefined) {
        args.push("--overrides", `${configDir}/${OVERRIDES_KEY}`);
    }
    if (keys.nodeKeySecret !== undefined) {
        args.push("--node-key", `${NODE_KEYS_DIR}/$(${POD_INDEX_ENV}).json`);
    }
    if (keys.validatorKeySecret !== undefined) {
        args.push("--validator-key", `${VALIDATOR_KEY_DIR}/${VALIDATOR_KEY_FILE}`);
    }
    // The trust root is the agent's to look up at pod start; config gives only the servers.
    if (config.stateSync !== undefined) {
        args.push(
            "--state-sync-rpc",
            config.stateSync.rpcServers.join(","),
            "--state-sync-trust-period",
            config.stateSync.trustPeriod,
        );
    }
    if (inFleet !== undefined) {
        args.push("--peer-wait", PEER_WAIT);
    }
    return args;
}

/**
 * The node's command under `chainfleet-agent halt` (node-agent README): run until the app has
 * committed `appHeight`, stop, and exit 0 only when the app's committed height proves it. The
 * agent is in the pod wherever the home is prepared by it (`nodeHome`), which every chain that
 * can halt is.
 */
export function haltProofCommand(
    adapter: ChainAdapter,
    appHeight: number,
    command: readonly string[],
    args: readonly string[],
): { command: string[]; args: string[] } {
    if (adapter.nodeHome === undefined || !adapter.supportsHaltHeight) {
        throw new Error(
            `chain kind "${adapter.kind}" cannot run a hard-fork bootstrap: its node has no halt height`,
        );
    }
    const rpc = adapter.ports.find((p) => p.role === "rpc")!.containerPort;
    return {
        command: [AGENT_BINARY],
        args: [
            "halt",
            "--home",
            adapter.homeDir,
            "--app-height",
            String(appHeight),
            "--rpc",
            `http://127.0.0.1:${rpc}`,
            ...(adapter.appHeightOnDisk ? [] : ["--rpc-only"]),
            "--",
            ...command,
            ...args,
        ],
    };
}

/** Exec readiness through the agent: in sync, and independent of what the image ships. */
export function agentReadinessProbe(adapter: ChainAdapter, home: NodeHome): ProbeSpec {
    const rpc = adapter.ports.find((p) => p.role === "rpc");
    if (rpc === undefined) {
        throw new Error(`chain kind ${adapter.kind} has no rpc port for the readiness probe`);
    }
    return {
        // The adapter's timing; timeoutSeconds (2 × the HTTP timeout) stays above --timeout.
        ...adapter.readinessProbe,
        exec: {
            command: [
                AGENT_BINARY,
                "ready",
                "--chain",
                home.agentChain,
                "--rpc",
                `http://127.0.0.1:${rpc.containerPort}`,
                "--timeout",
                `${PROBE_HTTP_TIMEOUT_SECONDS}s`,
            ],
        },
    };
}

export interface NodeHomeInput {
    adapter: ChainAdapter;
    config: NodeHomeSpec;
    /** The image the node runs (the group's, or a HardFork bootstrap's incumbent). */
    image: string;
    /** The node container's env: the prepare step runs the same binary. */
    env: readonly (EnvVar | Obj)[];
    dataVolume: string;
    configVolume: string;
    configDir: string;
    agentImage?: string;
    keys?: NodeKeyParts;
}

export interface NodeHomeParts {
    /** In this order, after a snapshot restore and before anything else reads the home. */
    initContainers: [Obj, Obj];
    /** The agent for the node container (its readiness probe runs it). */
    nodeVolumeMount: Obj;
    volumes: Obj[];
    readinessProbe: ProbeSpec;
}

/** Undefined for chains the agent does not prepare (Avalanche). */
export function nodeHomeParts(input: NodeHomeInput): NodeHomeParts | undefined {
    const { adapter, config, keys = {} } = input;
    const home = adapter.nodeHome;
    if (home === undefined) {
        return undefined;
    }
    const agentMount = { name: AGENT_VOLUME, mountPath: AGENT_DIR };
    const genesis = config.genesis;
    const fromConfigMap = genesis !== undefined && "configMap" in genesis ? genesis : undefined;
    const install = {
        name: "agent-install",
        image: input.agentImage ?? NODE_AGENT_IMAGE,
        command: [AGENT_IMAGE_BINARY, "install", "--to", AGENT_DIR],
        securityContext: restrictedContainerSecurityContext(),
        volumeMounts: [agentMount],
    };
    const prepare = {
        name: "prepare",
        image: input.image,
        command: [AGENT_BINARY],
        args: prepareArgs(adapter, home, config, input.configDir, keys),
        env: [...input.env],
        // The agent's last line says why it failed (e.g. a genesis checksum mismatch, exit 3):
        // the kubelet copies it into the pod's status, where the gate's and switch's reports
        // and `kubectl describe pod` show it without reading logs.
        terminationMessagePolicy: "FallbackToLogsOnError",
        securityContext: restrictedContainerSecurityContext(),
        volumeMounts: [
            { name: input.dataVolume, mountPath: adapter.homeDir },
            { ...agentMount, readOnly: true },
            { name: input.configVolume, mountPath: input.configDir, readOnly: true },
            ...(fromConfigMap
                ? [{ name: GENESIS_VOLUME, mountPath: GENESIS_DIR, readOnly: true }]
                : []),
            ...(keys.nodeKeySecret
                ? [{ name: NODE_KEYS_VOLUME, mountPath: NODE_KEYS_DIR, readOnly: true }]
                : []),
            ...(keys.validatorKeySecret
                ? [{ name: VALIDATOR_KEY_VOLUME, mountPath: VALIDATOR_KEY_DIR, readOnly: true }]
                : []),
        ],
    };
    // Keys are readable by the node's group only (fsGroup, lib/podSecurity.ts), and only the
    // prepare step mounts them: it copies them into the home with mode 0600.
    const secretVolume = (name: string, secretName: string, items?: Obj[]) => ({
        name,
        secret: { secretName, defaultMode: 0o440, ...(items ? { items } : {}) },
    });
    return {
        initContainers: [install, prepare],
        nodeVolumeMount: { ...agentMount, readOnly: true },
        volumes: [
            { name: AGENT_VOLUME, emptyDir: {} },
            ...(fromConfigMap
                ? [
                      {
                          name: GENESIS_VOLUME,
                          configMap: {
                              name: fromConfigMap.configMap,
                              items: [{ key: fromConfigMap.key, path: "genesis.json" }],
                          },
                      },
                  ]
                : []),
            ...(keys.nodeKeySecret ? [secretVolume(NODE_KEYS_VOLUME, keys.nodeKeySecret)] : []),
            ...(keys.validatorKeySecret
                ? [
                      secretVolume(VALIDATOR_KEY_VOLUME, keys.validatorKeySecret, [
                          { key: VALIDATOR_KEY_FILE, path: VALIDATOR_KEY_FILE },
                      ]),
                  ]
                : []),
        ],
        readinessProbe: agentReadinessProbe(adapter, home),
    };
}
