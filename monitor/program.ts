/**
 * The command line (commander): two commands sharing their flags, each flag also readable from
 * an environment variable so the pod manifest can use `fieldRef`s for the pod's own identity.
 * Parsing only: the commands' work is injected, so the tests check flags without a cluster.
 */
import {
    Command,
    CommanderError,
    InvalidArgumentError,
    Option,
    OutputConfiguration,
} from "commander";
import { CHAIN_KINDS, type ChainKind } from "../chains/kinds";
import { SYNC_MODES, SyncMode } from "./details";
import { EXIT } from "./constants";
import { parseImageRef } from "./imageRef";
import {
    CommonOptions,
    DEFAULTS,
    InitOptions,
    WaitOptions,
    defaultResultsConfigMap,
} from "./options";
import { MAX_KEEP } from "./results";

export interface Handlers {
    init(opts: InitOptions): Promise<number>;
    wait(opts: WaitOptions): Promise<number>;
}

const seconds = (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
        throw new InvalidArgumentError("must be a whole number of seconds, at least 1.");
    }
    return n;
};

const count = (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
        throw new InvalidArgumentError("must be a whole number, at least 1.");
    }
    return n;
};

const keepLast = (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > MAX_KEEP) {
        throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_KEEP}.`);
    }
    return n;
};

const image = (value: string): string => {
    try {
        const ref = parseImageRef(value, "--follow-image");
        if (ref.digest !== undefined || ref.tag === undefined) {
            throw new Error(
                "it must name a tag to follow, such as repo:master (a digest never moves)",
            );
        }
    } catch (err) {
        throw new InvalidArgumentError(`${(err as Error).message}.`);
    }
    return value;
};

const url = (value: string): string => {
    try {
        const parsed = new URL(value);
        if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
            throw new Error();
        }
    } catch {
        throw new InvalidArgumentError(
            "must be an http(s) URL such as http://127.0.0.1:26657/status.",
        );
    }
    return value;
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function commonOptions(cmd: Command): Command {
    return cmd
        .addOption(
            new Option("--namespace <namespace>", "namespace of the pod and StatefulSet")
                .env("POD_NAMESPACE")
                .makeOptionMandatory(),
        )
        .addOption(
            new Option("--pod-name <name>", "name of the pod this runs in")
                .env("POD_NAME")
                .makeOptionMandatory(),
        )
        .addOption(
            new Option("--statefulset <name>", "the StatefulSet that runs the test pod")
                .env("MONITOR_STATEFULSET")
                .makeOptionMandatory(),
        )
        .addOption(
            new Option("--node-container <name>", "name of the node's container in the pod")
                .env("MONITOR_NODE_CONTAINER")
                .default(DEFAULTS.nodeContainer),
        )
        .addOption(
            new Option(
                "--node-init-container <name>",
                "init container that runs the node's image, pinned with it (repeatable)",
            )
                .argParser(collect)
                .default([]),
        )
        .addOption(
            new Option("--chain <kind>", "chain of the node")
                // cosmos chains need their daemon's settings, which the monitor has no flags for yet.
                .choices(CHAIN_KINDS.filter((k) => k !== "cosmos"))
                .env("MONITOR_CHAIN")
                .makeOptionMandatory(),
        )
        .addOption(
            new Option("--data-dir <path>", "mount point of the data volume (the node's home)")
                .env("MONITOR_DATA_DIR")
                .makeOptionMandatory(),
        )
        .addOption(
            new Option("--sync-mode <mode>", "how the node syncs")
                .choices(SYNC_MODES)
                .env("MONITOR_SYNC_MODE")
                .makeOptionMandatory(),
        )
        .addOption(
            new Option(
                "--follow-image <ref>",
                "the image tag to follow, e.g. ghcr.io/org/node:master",
            )
                .env("MONITOR_FOLLOW_IMAGE")
                .argParser(image)
                .makeOptionMandatory(),
        )
        .addOption(
            new Option(
                "--registry-auth-file <path>",
                "dockerconfigjson with registry credentials (a mounted Secret)",
            ).env("MONITOR_REGISTRY_AUTH_FILE"),
        )
        .addOption(
            new Option(
                "--plain-http-registry <host>",
                "registry reached over plain HTTP (repeatable; loopback ones always are)",
            )
                .argParser(collect)
                .default([]),
        )
        .addOption(
            new Option(
                "--kubeconfig <path>",
                "kubeconfig to use (default: ~/.kube/config, else in-cluster)",
            ).env("KUBECONFIG"),
        )
        .addOption(
            new Option(
                "--termination-wait <seconds>",
                "after deleting its own pod, how long to wait to be killed before exiting",
            )
                .argParser(seconds)
                .default(DEFAULTS.terminationWaitSeconds),
        );
}

type Raw = Record<string, unknown>;

function toCommon(raw: Raw): CommonOptions {
    return {
        namespace: raw.namespace as string,
        podName: raw.podName as string,
        statefulSet: raw.statefulset as string,
        nodeContainer: raw.nodeContainer as string,
        nodeInitContainers: raw.nodeInitContainer as string[],
        chain: raw.chain as ChainKind,
        dataDir: raw.dataDir as string,
        syncMode: raw.syncMode as SyncMode,
        followImage: raw.followImage as string,
        ...(raw.registryAuthFile ? { registryAuthFile: raw.registryAuthFile as string } : {}),
        plainHttpRegistries: raw.plainHttpRegistry as string[],
        ...(raw.kubeconfig ? { kubeconfig: raw.kubeconfig as string } : {}),
        terminationWaitSeconds: raw.terminationWait as number,
    };
}

/** Builds the CLI; `output` lets tests capture what commander prints. */
export function buildProgram(
    handlers: Handlers,
    output?: OutputConfiguration,
): {
    program: Command;
    exitCode: () => number;
} {
    let code: number = EXIT.ok;
    const program = new Command("monitor")
        .description(
            "Continuous bootstrap testing of a chain node: `init` runs as the test pod's init container, `wait-for-completion` as its sidecar.",
        )
        .exitOverride()
        .showHelpAfterError("(run with --help for usage)");
    if (output) {
        program.configureOutput(output);
    }

    commonOptions(
        program
            .command("init")
            .description(
                "start or resume the test on the data volume; pins a followed tag to its digest first",
            ),
    ).action(async (raw: Raw) => {
        code = await handlers.init(toCommon(raw));
    });

    commonOptions(
        program
            .command("wait-for-completion")
            .description(
                "wait for the node to finish bootstrapping, record the result, then start the next test when the followed tag moves",
            ),
    )
        .addOption(
            new Option("--check-interval <seconds>", "how often to check the node")
                .env("MONITOR_CHECK_INTERVAL")
                .argParser(seconds)
                .default(DEFAULTS.checkIntervalSeconds),
        )
        .addOption(
            new Option("--poll-tag-interval <seconds>", "how often to poll the followed tag")
                .env("MONITOR_POLL_TAG_INTERVAL")
                .argParser(seconds)
                .default(DEFAULTS.pollTagIntervalSeconds),
        )
        .addOption(
            new Option(
                "--results-configmap <name>",
                "ConfigMap keeping the results (default: <statefulset>-results)",
            ).env("MONITOR_RESULTS_CONFIGMAP"),
        )
        .addOption(
            new Option("--keep-last <n>", "how many results the ConfigMap keeps")
                .env("MONITOR_KEEP_LAST")
                .argParser(keepLast)
                .default(DEFAULTS.keepLast),
        )
        .addOption(
            new Option(
                "--max-node-restarts <n>",
                "node container restarts after which the test counts as failed",
            )
                .env("MONITOR_MAX_NODE_RESTARTS")
                .argParser(count)
                .default(DEFAULTS.maxNodeRestarts),
        )
        .addOption(
            new Option(
                "--max-block-age <seconds>",
                "how old the node's newest block may be for the test to complete",
            )
                .env("MONITOR_MAX_BLOCK_AGE")
                .argParser(count)
                .default(DEFAULTS.maxBlockAgeSeconds),
        )
        .addOption(
            new Option(
                "--status-url <url>",
                "the node's status endpoint (default: the chain's, on 127.0.0.1)",
            )
                .env("MONITOR_STATUS_URL")
                .argParser(url),
        )
        .action(async (raw: Raw) => {
            const common = toCommon(raw);
            code = await handlers.wait({
                ...common,
                checkIntervalSeconds: raw.checkInterval as number,
                pollTagIntervalSeconds: raw.pollTagInterval as number,
                resultsConfigMap:
                    (raw.resultsConfigmap as string | undefined) ??
                    defaultResultsConfigMap(common.statefulSet),
                keepLast: raw.keepLast as number,
                maxNodeRestarts: raw.maxNodeRestarts as number,
                maxBlockAgeSeconds: raw.maxBlockAge as number,
                ...(raw.statusUrl ? { statusUrl: raw.statusUrl as string } : {}),
            });
        });

    return { program, exitCode: () => code };
}

/**
 * Parses `argv` (user args only, without node and script) and runs the command. Returns the
 * exit code: 0 for --help, 2 for a usage error, else what the command returned.
 */
export async function runCli(
    argv: readonly string[],
    handlers: Handlers,
    output?: OutputConfiguration,
): Promise<number> {
    const { program, exitCode } = buildProgram(handlers, output);
    try {
        await program.parseAsync([...argv], { from: "user" });
    } catch (err) {
        if (err instanceof CommanderError) {
            return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
        }
        throw err;
    }
    return exitCode();
}
