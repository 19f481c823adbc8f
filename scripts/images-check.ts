/**
 * `npm run images:check [-- --base <rev>] [-- --file <path>]`
 *
 * Validates the node image catalog (default `catalog/images.yaml`) and compares it with the same
 * file at a base revision (default HEAD), so that a changed image reference without a version
 * bump fails CI. When the base has no commit yet, or no catalog at that path, only the schema
 * and pinning checks run (said on stdout). An explicit `--base` that does not resolve is an
 * error: a typo must not quietly skip the comparison.
 *
 * Exit codes: 0 clean, 1 problems found (all listed), 2 usage or environment error.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { CatalogProblem, checkCatalog, parseCatalogYaml } from "../lib/catalog";

export interface ImagesCheckOptions {
    /** Catalog file; relative paths are taken from `cwd`. */
    file: string;
    /** Git revision to compare with. Defaults to HEAD. */
    base?: string;
    cwd: string;
}

export interface ImagesCheckResult {
    problems: CatalogProblem[];
    /** What the catalog was compared with, or why it was not. */
    comparedWith: string;
}

function git(args: string[], cwd: string): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Does `rev` name a commit in the repository at `cwd`? */
function revisionExists(rev: string, cwd: string): boolean {
    try {
        git(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], cwd);
        return true;
    } catch {
        return false;
    }
}

/** The text of `absFile` at `rev`, or undefined when that commit has no such file. */
function fileAtRevision(rev: string, absFile: string): string | undefined {
    const cwd = path.dirname(absFile);
    // realpath on both sides: the top level git prints has symlinks resolved (/tmp on macOS).
    const top = realpathSync(git(["rev-parse", "--show-toplevel"], cwd).trim());
    // git show wants a path relative to the top level, with forward slashes.
    const rel = path.relative(top, realpathSync(absFile)).split(path.sep).join("/");
    try {
        git(["cat-file", "-e", `${rev}:${rel}`], cwd);
    } catch {
        return undefined;
    }
    return git(["show", `${rev}:${rel}`], cwd);
}

export function runImagesCheck(opts: ImagesCheckOptions): ImagesCheckResult {
    const file = path.resolve(opts.cwd, opts.file);
    if (!existsSync(file)) throw new UsageError(`${opts.file}: no such file`);
    let current: unknown;
    try {
        current = parseCatalogYaml(readFileSync(file, "utf8"), opts.file);
    } catch (err) {
        return {
            problems: [{ path: "(file)", message: (err as Error).message }],
            comparedWith: "nothing",
        };
    }
    const dir = path.dirname(file);
    const rev = opts.base ?? "HEAD";
    let previous: unknown;
    let comparedWith: string;
    if (!revisionExists(rev, dir)) {
        if (opts.base !== undefined) throw new UsageError(`--base ${rev}: not a commit here`);
        comparedWith = `nothing (${rev} does not resolve: no commit yet, or not a git repository): schema and pinning checks only`;
    } else {
        const text = fileAtRevision(rev, file);
        if (text === undefined) {
            comparedWith = `nothing (${rev} has no ${opts.file}): schema and pinning checks only`;
        } else {
            try {
                previous = parseCatalogYaml(text, `${rev}:${opts.file}`);
                comparedWith = rev;
            } catch {
                // A base that is not even YAML cannot be compared, and must not block its fix.
                comparedWith = `nothing (${rev}:${opts.file} is not valid YAML)`;
            }
        }
    }
    return { problems: checkCatalog(current, previous), comparedWith };
}

class UsageError extends Error {}

function parseArgs(argv: string[]): { file: string; base?: string } {
    let file = "catalog/images.yaml";
    let base: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = (): string => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`${arg} needs a value`);
            return v;
        };
        if (arg === "--base") base = value();
        else if (arg === "--file") file = value();
        else if (arg.startsWith("--base=")) base = arg.slice("--base=".length);
        else if (arg.startsWith("--file=")) file = arg.slice("--file=".length);
        else
            throw new UsageError(
                `unknown argument ${arg}; usage: images-check [--base <rev>] [--file <path>]`,
            );
    }
    return { file, base };
}

export function main(argv: string[], cwd: string): number {
    try {
        const args = parseArgs(argv);
        const { problems, comparedWith } = runImagesCheck({ ...args, cwd });
        if (problems.length > 0) {
            console.error(
                `${args.file}: ${problems.length} problem(s) (compared with ${comparedWith}):`,
            );
            for (const p of problems) console.error(`  ${p.path}: ${p.message}`);
            return 1;
        }
        console.log(`${args.file}: OK (compared with ${comparedWith})`);
        return 0;
    } catch (err) {
        if (err instanceof UsageError) {
            console.error(`images-check: ${err.message}`);
            return 2;
        }
        throw err;
    }
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2), process.cwd());
}
