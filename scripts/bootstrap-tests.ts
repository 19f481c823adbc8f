/**
 * `npm run bootstrap-tests -- -s <stack> [--json]`: the stack's continuous bootstrap tests as an
 * operator reads them: one row a test run (image, digest, sync mode, start, duration, disk use,
 * outcome), the test in progress first. The rows come from each test's results ConfigMap
 * (`<test>-results`, written by the monitor's sidecar: monitor/wait.ts), read from the cluster
 * that $KUBECONFIG points at with the stack's `kubernetes:context`, as index.ts does. The
 * formatting is lib/bootstrapTestReport.ts.
 */
import { Command } from "commander";
import { defaultResultsConfigMap } from "../monitor/options";
import {
    TestReadout,
    describeBootstrapTests,
    renderBootstrapTestsTable,
} from "../lib/bootstrapTestReport";
import { CliError, clusterAccess, commanderExit, loadStack } from "./stack";

interface Options {
    stack?: string;
    stackFile?: string;
    json?: boolean;
}

/** What the command reads from the cluster; the unit tests pass a fake. */
export interface ResultsReader {
    /** ConfigMap `name`'s data, or undefined when there is no such ConfigMap. */
    configMapData(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** Where the command reads and writes: the process, or a test's fakes. */
export interface Io {
    out(text: string): void;
    err(text: string): void;
    /** Stack files are relative to this directory (the repository root when run by npm). */
    cwd: string;
    env: Record<string, string | undefined>;
    /** The cluster; by default the one $KUBECONFIG points at. */
    reader?: ResultsReader;
    now?: Date;
}

/** A ResultsReader over the Kubernetes API. */
export function kubeResultsReader(access: {
    kubeconfig?: string;
    context?: string;
}): ResultsReader {
    // Loaded lazily: the unit tests never need a cluster client.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kube = require("../kube/kube") as typeof import("../kube/kube");
    const clients = kube.kubeClients(access);
    return {
        async configMapData(namespace, name) {
            try {
                const cm = await kube.withRetry(`ConfigMap ${namespace}/${name}`, () =>
                    clients.core.readNamespacedConfigMap({ name, namespace }),
                );
                return cm.data ?? {};
            } catch (err) {
                if (kube.isNotFound(err)) {
                    return undefined;
                }
                throw new Error(
                    kube.statusCode(err) === 403
                        ? `ConfigMap ${namespace}/${name}: forbidden; reading the results needs \`get\` on configmaps in namespace ${namespace}`
                        : `ConfigMap ${namespace}/${name}: ${err instanceof Error ? err.message : String(err)}`,
                    { cause: err },
                );
            }
        },
    };
}

async function run(opts: Options, io: Io): Promise<number> {
    const { name, config, flat } = loadStack(opts, io.cwd);
    const namespace = config.namespace ?? config.network;
    const reader = io.reader ?? kubeResultsReader(clusterAccess(io.env, flat));
    let tests: TestReadout[];
    try {
        tests = await Promise.all(
            config.bootstrapTests.map(async (test): Promise<TestReadout> => {
                const configMap = defaultResultsConfigMap(test.name);
                const data = await reader.configMapData(namespace, configMap);
                return {
                    name: test.name,
                    chain: config.chain,
                    configMap: `${namespace}/${configMap}`,
                    ...(data !== undefined ? { data } : {}),
                };
            }),
        );
    } catch (err) {
        throw new CliError(
            `cannot read the bootstrap tests' results from the cluster: ${err instanceof Error ? err.message : String(err)}`,
            1,
        );
    }
    const now = io.now ?? new Date();
    const report = describeBootstrapTests({ stack: name, namespace, tests, now });
    io.out(
        opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderBootstrapTestsTable(report, now),
    );
    return 0;
}

/**
 * The command: 0 when the results are printed (also when there are none yet), 1 when the stack's
 * config is invalid or the cluster cannot be read, 2 on a usage error (all said on `io.err`).
 */
export async function runBootstrapTests(argv: string[], io: Io): Promise<number> {
    let code = 0;
    const program = new Command("bootstrap-tests")
        .description(
            "Print the stack's bootstrap test results: image, digest, sync mode, start, duration, disk use, outcome; the test in progress first",
        )
        .option("-s, --stack <stack>", "stack name: reads Pulumi.<stack>.yaml")
        .option("--stack-file <path>", "or the stack file's path")
        .option("--json", "print the results as JSON")
        .exitOverride()
        .configureOutput({ writeOut: io.out, writeErr: io.err })
        .action(async (opts: Options) => {
            code = await run(opts, io);
        });
    try {
        await program.parseAsync(argv, { from: "user" });
        return code;
    } catch (err) {
        if (err instanceof CliError) {
            io.err(`bootstrap-tests: ${err.message}\n`);
            return err.code;
        }
        return commanderExit(err);
    }
}

if (require.main === module) {
    runBootstrapTests(process.argv.slice(2), {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        cwd: process.cwd(),
        env: process.env,
    }).then(
        (code) => (process.exitCode = code),
        (err) => {
            process.stderr.write(
                `bootstrap-tests: ${err instanceof Error ? err.stack : String(err)}\n`,
            );
            process.exitCode = 1;
        },
    );
}
