/**
 * What the operator commands (`npm run plan`, `npm run bootstrap-tests`) share: picking the stack
 * file from `-s <stack>` or `--stack-file <path>`, loading it, and reaching its cluster as
 * index.ts does. Each failure is a `CliError`: one message, and the exit code to end with.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { ConfigError, StackConfig, loadStackConfig } from "../config";
import { readStackFile } from "../config/stackFile";

/** A failure the command explains in one message: exit `code`, no stack trace. */
export class CliError extends Error {
    constructor(
        message: string,
        readonly code: number,
    ) {
        super(message);
    }
}

export interface StackOptions {
    stack?: string;
    stackFile?: string;
}

export interface LoadedStack {
    /** The stack's name: `-s`, or taken from the file name. */
    name: string;
    config: StackConfig;
    /** The file's keys as Pulumi writes them (`kubernetes:context`, …). */
    flat: Record<string, string>;
}

/** The stack file `-s` or `--stack-file` names (relative to `cwd`), as given and resolved. */
export function stackFileOf(opts: StackOptions, cwd: string): { shown: string; file: string } {
    const shown = opts.stackFile ?? `Pulumi.${opts.stack}.yaml`;
    return { shown, file: path.resolve(cwd, shown) };
}

/**
 * Loads the stack that `-s` or `--stack-file` names, relative to `cwd`. Secrets are encrypted in
 * the file: they get stand-ins (config/stackFile.ts), which no revision depends on.
 */
export function loadStack(opts: StackOptions, cwd: string): LoadedStack {
    if ((opts.stack === undefined) === (opts.stackFile === undefined)) {
        throw new CliError(
            "give the stack: -s <stack> (reads Pulumi.<stack>.yaml) or --stack-file <path>",
            2,
        );
    }
    const { shown, file } = stackFileOf(opts, cwd);
    const flag = opts.stackFile ? "--stack-file" : "-s";
    if (!existsSync(file)) {
        throw new CliError(
            `${flag}: ${shown} does not exist; name a stack whose Pulumi.<stack>.yaml is in the current directory (run from the repository root), or give its path with --stack-file`,
            2,
        );
    }
    let flat: Record<string, string>;
    try {
        flat = readStackFile(file);
    } catch (err) {
        throw new CliError(`${shown}: not a readable stack file: ${(err as Error).message}`, 1);
    }
    let config: StackConfig;
    try {
        config = loadStackConfig(flat);
    } catch (err) {
        if (err instanceof ConfigError) {
            throw new CliError(`${shown}: ${err.message}`, 1);
        }
        throw err;
    }
    const name = opts.stack ?? path.basename(shown).replace(/^Pulumi\.(.+)\.yaml$/, "$1");
    return { name, config, flat };
}

/** As index.ts: the first path of $KUBECONFIG, and the stack's `kubernetes:context`. */
export function clusterAccess(
    env: Record<string, string | undefined>,
    flat: Record<string, string>,
): { kubeconfig?: string; context?: string } {
    return {
        kubeconfig: env.KUBECONFIG?.split(":")[0] || undefined,
        context: flat["kubernetes:context"],
    };
}

/**
 * The exit code of a commander parse that threw: commander's own exits (--help, an unknown
 * option) have already said why; anything else is rethrown.
 */
export function commanderExit(err: unknown): number {
    const exit = (err as { exitCode?: unknown }).exitCode;
    if (typeof exit === "number") {
        return exit === 0 ? 0 : 2;
    }
    throw err;
}
