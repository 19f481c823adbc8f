/**
 * `npm run plan -- -s <stack> [--json] [--offline]`: what `pulumi up` of a stack would do to each
 * group, for a reviewer: the upgrade kind, incumbent → entrant, the HardFork heights, the gates
 * and their deadlines, and what it deletes (lib/readablePlan.ts). The deploy pipelines post it as
 * the pull request's comment (examples/ci/).
 *
 * It reads the stack file and, unless --offline, each group's incumbent from the cluster that
 * $KUBECONFIG points at (kube/incumbent.ts, as index.ts does), and a HardFork group's chain
 * (kube/chainPlan.ts: the upgrade it has scheduled). No Pulumi engine, no state: it
 * does not see objects only Pulumi's state knows (the plan says so).
 */
import { Command } from "commander";
import { ChainRpc, checkGroupsAgainstChain } from "../kube/chainPlan";
import { ClusterReader, readIncumbents } from "../kube/incumbent";
import type { ChainPlanCheck } from "../lib/chainPlanCheck";
import { fleetGroupArgs } from "../lib/planGroup";
import { planPreprod } from "../lib/preprod";
import { describeStackPlan, renderPlanText } from "../lib/readablePlan";
import { CliError, clusterAccess, commanderExit, loadStack } from "./stack";

interface Options {
    stack?: string;
    stackFile?: string;
    json?: boolean;
    offline?: boolean;
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
    /** Node RPC through the pod proxy (the chain's upgrade plan); by default that cluster's. */
    chainRpc?: ChainRpc;
    /** The preprod draw's clock. */
    now?: Date;
}

async function run(opts: Options, io: Io): Promise<number> {
    const { name, config, flat } = loadStack(opts, io.cwd);

    const preprod = planPreprod(config, io.now ?? new Date());
    let incumbents;
    let chainPlans: Record<string, ChainPlanCheck> | undefined;
    if (!opts.offline) {
        const access = clusterAccess(io.env, flat);
        try {
            incumbents = await readIncumbents(config, access, io.reader);
        } catch (err) {
            throw new CliError(
                `cannot read the cluster (${err instanceof Error ? err.message : String(err)}); ` +
                    "use --offline to plan without it",
                1,
            );
        }
        // As index.ts: HardFork groups checked against their chain's upgrade plan. Never throws;
        // a contradiction is among the plan's problems.
        chainPlans = await checkGroupsAgainstChain(
            fleetGroupArgs(config.network, config, incumbents, preprod),
            access,
            io.chainRpc,
        );
    }
    const plan = describeStackPlan({
        stack: name,
        config,
        incumbents,
        preprod,
        offline: opts.offline ?? false,
        chainPlans,
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
        if (err instanceof CliError) {
            io.err(`plan: ${err.message}\n`);
            return err.code;
        }
        return commanderExit(err);
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
