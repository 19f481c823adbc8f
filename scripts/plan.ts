/**
 * `npm run plan -- -s <stack> [--json] [--offline]`: what `pulumi up` of a stack would do to each
 * group, for a reviewer: the upgrade kind, incumbent → entrant, the HardFork heights, the gates
 * and their deadlines, and what it deletes (lib/readablePlan.ts). The deploy pipelines post it as
 * the pull request's comment (examples/ci/).
 *
 * It reads the stack file and, unless --offline, each group's incumbent from the cluster that
 * $KUBECONFIG points at (kube/incumbent.ts, as index.ts does). No Pulumi engine, no state: it
 * does not see objects only Pulumi's state knows (the plan says so).
 */
import { Command } from "commander";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { ConfigError, StackConfig, loadStackConfig } from "../config";
import { readStackFile, secureKeys } from "../config/stackFile";
import { ClusterReader, readIncumbents } from "../kube/incumbent";
import { planPreprod } from "../lib/preprod";
import { describeStackPlan, renderPlanText } from "../lib/readablePlan";

interface Options {
    stack?: string;
    stackFile?: string;
    json?: boolean;
    offline?: boolean;
}

/** A failure the command explains in one message: exit `code`, no stack trace. */
class PlanError extends Error {
    constructor(
        message: string,
        readonly code: number,
    ) {
        super(message);
    }
}

/** Where the command reads and writes: the process, or a test's fakes. */
export interface Io {
    out(text: string): void;
    err(text: string): void;
    /** Stack files are relative to this directory (the repository root when run by npm). */
    cwd: string;
    env: Record<string, string | undefined>;
    /** The cluster; by default the one $KUBECONFIG points at. */
    reader?: ClusterReader;
    /** The preprod draw's clock. */
    now?: Date;
}

function loadConfig(
    file: string,
    shown: string,
    flag: string,
    secrets: Record<string, string> = {},
): [StackConfig, Record<string, string>] {
    if (!existsSync(file)) {
        throw new PlanError(
            `${flag}: ${shown} does not exist; name a stack whose Pulumi.<stack>.yaml is in the current directory (run from the repository root), or give its path with --stack-file`,
            2,
        );
    }
    let flat: Record<string, string>;
    try {
        flat = readStackFile(file, secrets);
    } catch (err) {
        throw new PlanError(`${shown}: not a readable stack file: ${(err as Error).message}`, 1);
    }
    try {
        return [loadStackConfig(flat), flat];
    } catch (err) {
        if (err instanceof ConfigError) {
            throw new PlanError(`${shown}: ${err.message}`, 1);
        }
        throw err;
    }
}

/**
 * The stack's decrypted secrets, from `pulumi config --show-secrets` (where the stack's backend
 * and passphrase are at hand, as in a deploy job). Node keys derive from nodeKeySeed and its
 * fingerprint is part of each revision, so without it the revisions shown would not be pulumi
 * up's: then the plan says so.
 */
function stackSecrets(file: string, stack: string | undefined, io: Io): Record<string, string> {
    const keys = existsSync(file) ? secureKeys(file) : [];
    if (keys.length === 0) {
        return {};
    }
    const got = stack
        ? spawnSync("pulumi", ["config", "--show-secrets", "--json", "--stack", stack], {
              cwd: io.cwd,
              env: { ...process.env, ...io.env },
              encoding: "utf8",
          })
        : undefined;
    if (got?.status === 0) {
        const parsed = JSON.parse(got.stdout) as Record<string, { value?: string }>;
        return Object.fromEntries(keys.map((k) => [k, parsed[k]?.value ?? ""]));
    }
    io.err(
        `plan: cannot decrypt ${keys.join(", ")} (${got ? got.stderr.trim() || `pulumi exited ${got.status}` : "no stack name"}): ` +
            "revisions of groups with node keys are shown with a stand-in seed and will differ from pulumi up's\n",
    );
    return {};
}

async function run(opts: Options, io: Io): Promise<number> {
    if ((opts.stack === undefined) === (opts.stackFile === undefined)) {
        throw new PlanError(
            "give the stack: -s <stack> (reads Pulumi.<stack>.yaml) or --stack-file <path>",
            2,
        );
    }
    const file = opts.stackFile ?? `Pulumi.${opts.stack}.yaml`;
    const secrets = stackSecrets(path.resolve(io.cwd, file), opts.stack, io);
    const [config, flat] = loadConfig(
        path.resolve(io.cwd, file),
        file,
        opts.stackFile ? "--stack-file" : "-s",
        secrets,
    );

    let incumbents;
    if (!opts.offline) {
        // As index.ts: the first path of $KUBECONFIG, and the stack's kubernetes:context.
        const access = {
            kubeconfig: io.env.KUBECONFIG?.split(":")[0] || undefined,
            context: flat["kubernetes:context"],
        };
        try {
            incumbents = await readIncumbents(config, access, io.reader);
        } catch (err) {
            throw new PlanError(
                `cannot read the cluster (${err instanceof Error ? err.message : String(err)}); ` +
                    "use --offline to plan without it",
                1,
            );
        }
    }
    const plan = describeStackPlan({
        stack: opts.stack ?? path.basename(file).replace(/^Pulumi\.(.+)\.yaml$/, "$1"),
        config,
        incumbents,
        preprod: planPreprod(config, io.now ?? new Date()),
        offline: opts.offline ?? false,
    });
    io.out(opts.json ? JSON.stringify(plan, null, 2) + "\n" : renderPlanText(plan));
    if (plan.problems.length > 0) {
        // What `pulumi up` would fail on; the plan above shows it too.
        io.err(plan.problems.map((p) => `plan: ${p}\n`).join(""));
        return 1;
    }
    return 0;
}

/**
 * The command: 0 when the plan is printed, 1 when the stack's config is invalid, the cluster
 * cannot be read or a group cannot be declared, 2 on a usage error (all said on `io.err`).
 */
export async function runPlan(argv: string[], io: Io): Promise<number> {
    let code = 0;
    const program = new Command("plan")
        .description(
            "Print what `pulumi up` of a stack would do to each node group: upgrade kind, revisions, images, halt heights, gates, deletions",
        )
        .option("-s, --stack <stack>", "stack name: reads Pulumi.<stack>.yaml")
        .option("--stack-file <path>", "or the stack file's path")
        .option("--json", "print the plan as JSON (for a pipeline)")
        .option("--offline", "do not read the cluster: plan every group as a first deployment")
        .exitOverride()
        .configureOutput({ writeOut: io.out, writeErr: io.err })
        .action(async (opts: Options) => {
            code = await run(opts, io);
        });
    try {
        await program.parseAsync(argv, { from: "user" });
        return code;
    } catch (err) {
        if (err instanceof PlanError) {
            io.err(`plan: ${err.message}\n`);
            return err.code;
        }
        // Commander's own exits (--help, an unknown option) have already said why.
        const exit = (err as { exitCode?: unknown }).exitCode;
        if (typeof exit === "number") {
            return exit === 0 ? 0 : 2;
        }
        throw err;
    }
}

if (require.main === module) {
    runPlan(process.argv.slice(2), {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        cwd: process.cwd(),
        env: process.env,
    }).then(
        (code) => (process.exitCode = code),
        (err) => {
            process.stderr.write(`plan: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
