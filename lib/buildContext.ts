/**
 * A Docker build context as data: which files a `.dockerignore` lets through, and the tar that
 * carries them to the daemon. Pure: the caller walks the directory and reads the files
 * (dynamic-providers/imageBuildContext.ts); the same bytes are hashed at declaration and sent at
 * build time, so the hash is over exactly what the build sees.
 *
 * The ignore rules are Docker's (https://docs.docker.com/build/concepts/context/#dockerignore-files),
 * read by @balena/dockerignore, the port of Moby's matcher that dockerode uses: one pattern a line,
 * `#` comments, `!` re-includes, the last matching line decides, a pattern that matches a
 * directory matches everything below it, `**` spans directories, `[...]` classes and `\` escapes.
 * monitor/Dockerfile.dockerignore is an allow-list (`**`, then `!path` lines), read the same way
 * as scripts/images.sh `monitor_context` reads it. The tar is written by tar-stream (what tar-fs,
 * and so dockerode, packs contexts with).
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
// `import x = require()` so that the dynamic-provider serializer captures these as modules (a
// `require` in the provider process) instead of inlining them: dynamic-providers/README.md.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import dockerignore = require("@balena/dockerignore");
// eslint-disable-next-line @typescript-eslint/no-require-imports
import tarStream = require("tar-stream");

export interface DockerignoreRules {
    /** The matcher: `ignores(path)` is Docker's verdict for a file. */
    matcher: dockerignore.Ignore;
    /**
     * For each `!` line, the pattern's literal start (up to its first wildcard, `[` or `\`): a
     * directory whose path is not compatible with any of these holds nothing an exception could
     * re-include.
     */
    exceptionPrefixes: string[];
}

/** The literal start of an exception pattern, cleaned as Docker cleans patterns. */
function literalPrefix(pattern: string): string {
    const cleaned = path.posix.normalize(pattern).replace(/^(\.?\/)+/, "");
    const wild = cleaned.search(/[*?[\\]/);
    return wild === -1 ? cleaned : cleaned.slice(0, wild);
}

/** The rules of a `.dockerignore` text. Docker is case-sensitive on Linux, and so is this. */
export function parseDockerignore(text: string): DockerignoreRules {
    const lines = text.split(/\r?\n/).map((l) => l.trim());
    // Docker refuses a bare `!` (moby/patternmatcher: illegal exclusion pattern); the library
    // would drop it silently.
    const bare = lines.findIndex((l) => l === "!");
    if (bare !== -1) {
        throw new Error(`.dockerignore line ${bare + 1}: "!" names no pattern`);
    }
    return {
        matcher: dockerignore.default({ ignorecase: false }).add(lines),
        exceptionPrefixes: lines
            .filter((l) => l.startsWith("!"))
            .map((l) => literalPrefix(l.slice(1).trim())),
    };
}

/** Is `file` (relative, `/`-separated) left out of the context? The last matching rule decides. */
export function isExcluded(rules: DockerignoreRules, file: string): boolean {
    return rules.matcher.ignores(file);
}

/**
 * Could anything below directory `dir` be in the context? An excluded directory is still walked
 * when an exception could re-include something inside it (as Docker does); otherwise it is
 * skipped, which keeps node_modules and .git out of the walk. Conservative: a pattern that
 * matches below `dir` starts with `dir/` or with a part of it, so its literal start is
 * compatible with `dir/`.
 */
export function mayHoldIncluded(rules: DockerignoreRules, dir: string): boolean {
    if (!isExcluded(rules, dir)) {
        return true;
    }
    const dirSlash = `${dir}/`;
    return rules.exceptionPrefixes.some((p) => p.startsWith(dirSlash) || dirSlash.startsWith(p));
}

export interface ContextFile {
    /** Relative to the context, `/`-separated. */
    path: string;
    /** Whether any execute bit is set; the tar records 0755 or 0644. */
    executable: boolean;
    content: Buffer;
}

/**
 * An uncompressed tar archive of `files`, sorted by path, with fixed owners (0/0, no names),
 * modes (0644 or 0755) and times (the epoch): the same files give the same bytes. Directories
 * are implied by the paths (the daemon creates them), as in scripts/images.sh's context tar.
 * A path too long for a ustar header gets a PAX header, which the daemon reads.
 */
export async function contextTar(files: readonly ContextFile[]): Promise<Buffer> {
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const pack = tarStream.pack();
    for (const file of sorted) {
        pack.entry(
            {
                name: file.path,
                type: "file",
                mode: file.executable ? 0o755 : 0o644,
                uid: 0,
                gid: 0,
                uname: "",
                gname: "",
                mtime: new Date(0),
            },
            file.content,
        );
    }
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) {
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
}

/** The hex sha256 of a context tar: what `contextHash` inputs carry. */
export const sha256Hex = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
