/**
 * `npm run nodes -- -s <stack> [--wait-in-sync SECONDS] [--json]`: each node pod of the stack
 * with its height, whether it is catching up and its peer count, read through the API server's
 * pod proxy (as the gates read them), so it works from anywhere kubectl does. With
 * --wait-in-sync it polls until every node is in sync (height above 0 and advancing, not
 * catching up, at least one peer) or the time is up (exit 1). `npm run dev` runs it.
 */
import { Command } from "commander";
import { adapterFor } from "../chains";
import { loadKubeConfig } from "../kube/kube";
import { allInSyncAndAdvancing, readNodes, renderNodes } from "./nodeStatus";
import { CliError, clusterAccess, loadStack } from "./stack";

async function main(): Promise<number> {
    const program = new Command("nodes")
        .requiredOption("-s, --stack <stack>", "the stack (reads Pulumi.<stack>.yaml)")
        .option(
            "--wait-in-sync <seconds>",
            "poll until every node is in sync, at most this long",
            Number,
        )
        .option("--json", "print JSON");
    const opts = program
        .parse(process.argv)
        .opts<{ stack: string; waitInSync?: number; json?: boolean }>();
    // As `npm run plan`: the stack file, and its cluster as index.ts reaches it.
    const { config, flat } = loadStack({ stack: opts.stack }, process.cwd());
    const adapter = adapterFor(config.chain);
    const kc = loadKubeConfig(clusterAccess(process.env, flat));
    const namespace = config.namespace ?? config.network;
    const started = Date.now();
    const deadline = started + (opts.waitInSync ?? 0) * 1000;
    const first = new Map<string, number>();
    for (;;) {
        const rows = await readNodes(kc, adapter, namespace, config.network);
        const done = allInSyncAndAdvancing(rows, first);
        if (opts.waitInSync === undefined || done || Date.now() > deadline) {
            process.stdout.write(
                opts.json ? `${JSON.stringify(rows, null, 2)}\n` : renderNodes(rows),
            );
            if (opts.waitInSync === undefined) return 0;
            const seconds = ((Date.now() - started) / 1000).toFixed(0);
            (done ? process.stdout : process.stderr).write(
                done
                    ? `nodes: all ${rows.length} nodes in sync and advancing after ${seconds}s\n`
                    : `nodes: not every node was in sync and advancing within ${opts.waitInSync}s\n`,
            );
            return done ? 0 : 1;
        }
        await new Promise((r) => setTimeout(r, 2000));
    }
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (err: unknown) => {
            process.stderr.write(`nodes: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(err instanceof CliError ? err.code : 1);
        },
    );
}
