/**
 * What the operator commands (`npm run plan`, `npm run bootstrap-tests`) share: picking the stack
 * file from `-s <stack>` or `--stack-file <path>`, loading it, and reaching its cluster as
 * index.ts does. Each failure is a `CliError`: one message, and the exit code to end with.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { ConfigError, StackConfig, loadStackConfig } from "../config";
import { readStackFile, secureKeys } from "../config/stackFile";

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
 * The stack's decrypted secrets, from `pulumi config --show-secrets` (where the stack's backend
 * and passphrase are at hand, as in a deploy job). Node keys derive from nodeKeySeed and its
 * fingerprint is part of each revision, so without it the revisions a plan shows would not be
 * pulumi up's: `warn` says so.
 */
export function stackSecrets(
    opts: StackOptions,
    cwd: string,
    env: Record<string, string | undefined>,
    warn: (text: string) => void,
): Record<string, string> {
    const { file } = stackFileOf(opts, cwd);
    const keys = existsSync(file) ? secureKeys(file) : [];
    if (keys.length === 0) {
        return {};
    }
    const got = opts.stack
        ? spawnSync("pulumi", ["config", "--show-secrets", "--json", "--stack", opts.stack], {
              cwd,
              env: { ...process.env, ...env },
              encoding: "utf8",
          })
        : undefined;
    if (got?.status === 0) {
        const parsed = JSON.parse(got.stdout) as Record<string, { value?: string }>;
        return Object.fromEntries(keys.map((k) => [k, parsed[k]?.value ?? ""]));
    }
    const why = got ? got.stderr.trim() || `pulumi exited ${got.status}` : "no stack name";
    warn(
        `cannot decrypt ${keys.join(", ")} (${why}): revisions of groups with node keys are ` +
            "computed with a stand-in seed and will differ from pulumi up's",
    );
    return {};
}

/**
 * Loads the stack that `-s` or `--stack-file` names, relative to `cwd`; `secrets` are its
 * decrypted values by full key (stackSecrets), stand-ins otherwise (config/stackFile.ts).
 */
export function loadStack(
    opts: StackOptions,
    cwd: string,
    secrets: Record<string, string> = {},
): LoadedStack {
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
        flat = readStackFile(file, secrets);
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
