/**
 * Reads a build context from disk: the files its `.dockerignore` lets through (lib/buildContext.ts
 * decides), as the tar `docker build -` receives and that tar's sha256. The program calls it to
 * compute ImageBuild's `contextHash` (so `diff` compares inputs only and preview never builds);
 * the provider calls it again to send the same bytes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
    ContextFile,
    DockerignoreRules,
    contextTar,
    isExcluded,
    mayHoldIncluded,
    parseDockerignore,
    sha256Hex,
} from "../lib/buildContext";

export interface BuildContext {
    /** The files sent, relative to the context, sorted. */
    files: string[];
    tar: Buffer;
    /** sha256 of `tar`, hex. */
    hash: string;
    /** The ignore file that applied, relative to the context, if any. */
    ignoreFile?: string;
}

/**
 * The ignore file Docker reads: `<Dockerfile>.dockerignore` beside the Dockerfile first (as
 * BuildKit does), then `.dockerignore` at the context's root.
 */
function ignoreFileOf(context: string, dockerfile: string): string | undefined {
    return [`${dockerfile}.dockerignore`, ".dockerignore"].find((f) =>
        fs.existsSync(path.join(context, f)),
    );
}

function walk(context: string, rules: DockerignoreRules, rel: string, out: ContextFile[]) {
    const dir = path.join(context, rel);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
            if (mayHoldIncluded(rules, child)) {
                walk(context, rules, child, out);
            }
        } else if (entry.isFile() && !isExcluded(rules, child)) {
            // Symlinks and special files are left out: the contexts built here have none, and
            // following a link could reach outside the context.
            const full = path.join(dir, entry.name);
            out.push({
                path: child,
                executable: (fs.statSync(full).mode & 0o111) !== 0,
                content: fs.readFileSync(full),
            });
        }
    }
}

/**
 * The context under directory `context` for `dockerfile` (relative to it). The Dockerfile is
 * always sent, as the Docker CLI always sends it, even when the ignore file leaves it out.
 */
export async function readBuildContext(context: string, dockerfile: string): Promise<BuildContext> {
    if (!fs.existsSync(path.join(context, dockerfile))) {
        throw new Error(
            `build context ${context}: no Dockerfile at ${dockerfile}; give the path of the Dockerfile relative to the context`,
        );
    }
    const ignoreFile = ignoreFileOf(context, dockerfile);
    const rules = ignoreFile
        ? parseDockerignore(fs.readFileSync(path.join(context, ignoreFile), "utf8"))
        : parseDockerignore("");
    const files: ContextFile[] = [];
    walk(context, rules, "", files);
    if (!files.some((f) => f.path === dockerfile)) {
        const full = path.join(context, dockerfile);
        files.push({
            path: dockerfile,
            executable: false,
            content: fs.readFileSync(full),
        });
    }
    const tar = await contextTar(files);
    return {
        files: files.map((f) => f.path).sort(),
        tar,
        hash: sha256Hex(tar),
        ...(ignoreFile ? { ignoreFile } : {}),
    };
}
