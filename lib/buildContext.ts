/**
 * A Docker build context as data: which files a `.dockerignore` lets through, and the tar that
 * carries them to the daemon. Pure: the caller walks the directory and reads the files
 * (dynamic-providers/imageBuildContext.ts); the same bytes are hashed at declaration and sent at
 * build time, so the hash is over exactly what the build sees.
 *
 * The ignore rules are Docker's (https://docs.docker.com/build/concepts/context/#dockerignore-files):
 * one pattern a line, `#` comments, `!` re-includes, the last matching line decides, a pattern
 * that matches a directory matches everything below it, and `**` spans directories.
 * monitor/Dockerfile.dockerignore is an allow-list (`**`, then `!path` lines), read the same way
 * as scripts/images.sh `monitor_context` reads it. Character classes (`[...]`) and escapes are
 * refused rather than guessed at.
 */
import { createHash } from "node:crypto";

export interface IgnoreRule {
    /** The cleaned pattern, for messages. */
    pattern: string;
    /** A `!` line: re-includes what it matches. */
    exception: boolean;
    regex: RegExp;
    /** One regex per `/`-separated part, for deciding whether a directory is worth walking. */
    parts: (RegExp | "**")[];
}

/** Glob to regex source: `*` and `?` stay within one path part, `**` spans parts. */
function globSource(glob: string, line: number): string {
    let out = "";
    for (let i = 0; i < glob.length; i++) {
        const ch = glob[i];
        if (ch === "*" && glob[i + 1] === "*") {
            const slash = glob[i + 2] === "/";
            out += slash ? "(.*/)?" : ".*";
            i += slash ? 2 : 1;
        } else if (ch === "*") {
            out += "[^/]*";
        } else if (ch === "?") {
            out += "[^/]";
        } else if (ch === "[" || ch === "\\") {
            throw new Error(
                `.dockerignore line ${line}: "${glob}" uses ${ch === "[" ? "a character class" : "an escape"}, which chainfleet's context reader does not understand; use *, ? and ** only`,
            );
        } else {
            out += ch.replace(/[.+^${}()|]/g, "\\$&");
        }
    }
    return out;
}

/** filepath.Clean as Docker applies it to patterns: no leading `/` or `./`, no trailing `/`. */
function cleanPattern(p: string): string {
    return p
        .split("/")
        .filter((part, i) => part !== "." && (part !== "" || i === 0))
        .join("/")
        .replace(/^\/+/, "");
}

/** The rules of a `.dockerignore` text, in order. */
export function parseDockerignore(text: string): IgnoreRule[] {
    const rules: IgnoreRule[] = [];
    text.split("\n").forEach((raw, index) => {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) {
            return;
        }
        const exception = line.startsWith("!");
        const pattern = cleanPattern(exception ? line.slice(1).trim() : line);
        if (pattern === "") {
            throw new Error(`.dockerignore line ${index + 1}: "${line}" names no pattern`);
        }
        rules.push({
            pattern,
            exception,
            regex: new RegExp(`^${globSource(pattern, index + 1)}$`),
            parts: pattern
                .split("/")
                .map((part) =>
                    part === "**" ? "**" : new RegExp(`^${globSource(part, index + 1)}$`),
                ),
        });
    });
    return rules;
}

/** Does `rule` match `path` or one of its parent directories? */
function matches(rule: IgnoreRule, path: string): boolean {
    const parts = path.split("/");
    for (let n = parts.length; n >= 1; n--) {
        if (rule.regex.test(parts.slice(0, n).join("/"))) {
            return true;
        }
    }
    return false;
}

/** Is `path` (relative, `/`-separated) left out of the context? The last matching rule decides. */
export function isExcluded(rules: readonly IgnoreRule[], path: string): boolean {
    let excluded = false;
    for (const rule of rules) {
        if (matches(rule, path)) {
            excluded = !rule.exception;
        }
    }
    return excluded;
}

/**
 * Could anything below directory `dir` be in the context? An excluded directory is still walked
 * when an exception could re-include something inside it (as Docker does); otherwise it is
 * skipped, which keeps node_modules and .git out of the walk.
 */
export function mayHoldIncluded(rules: readonly IgnoreRule[], dir: string): boolean {
    if (!isExcluded(rules, dir)) {
        return true;
    }
    const parts = dir.split("/");
    return rules.some((rule) => {
        if (!rule.exception) {
            return false;
        }
        for (let i = 0; i < rule.parts.length; i++) {
            const part = rule.parts[i];
            if (part === "**" || i >= parts.length) {
                return true;
            }
            if (!part.test(parts[i])) {
                return false;
            }
        }
        return false;
    });
}

export interface ContextFile {
    /** Relative to the context, `/`-separated. */
    path: string;
    /** Whether any execute bit is set; the tar records 0755 or 0644. */
    executable: boolean;
    content: Buffer;
}

const BLOCK = 512;

/** `value` in octal, zero-padded to `width - 1` digits and NUL-terminated. */
function octal(value: number, width: number): string {
    return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** ustar splits a long path into a prefix (up to 155 bytes) and a name (up to 100). */
function splitPath(path: string): { name: string; prefix: string } {
    if (Buffer.byteLength(path) <= 100) {
        return { name: path, prefix: "" };
    }
    for (let i = path.indexOf("/"); i !== -1; i = path.indexOf("/", i + 1)) {
        const prefix = path.slice(0, i);
        const name = path.slice(i + 1);
        if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) {
            return { name, prefix };
        }
    }
    throw new Error(
        `build context: "${path}" is too long for a tar header (100-byte name, 155-byte prefix); shorten it or leave it out in the .dockerignore`,
    );
}

function header(file: ContextFile): Buffer {
    const h = Buffer.alloc(BLOCK);
    const { name, prefix } = splitPath(file.path);
    h.write(name, 0);
    h.write(octal(file.executable ? 0o755 : 0o644, 8), 100);
    h.write(octal(0, 8), 108); // uid
    h.write(octal(0, 8), 116); // gid
    h.write(octal(file.content.length, 12), 124);
    h.write(octal(0, 12), 136); // mtime: fixed, so the same files make the same bytes
    h.write("        ", 148); // the checksum counts its own field as spaces
    h.write("0", 156); // a regular file
    h.write("ustar\0", 257);
    h.write("00", 263);
    h.write(prefix, 345);
    let sum = 0;
    for (const byte of h) {
        sum += byte;
    }
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    return h;
}

/**
 * An uncompressed ustar archive of `files`, sorted by path, with fixed owners, modes and times:
 * the same files give the same bytes. Directories are implied by the paths (the daemon creates
 * them), as in scripts/images.sh's context tar.
 */
export function contextTar(files: readonly ContextFile[]): Buffer {
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const chunks: Buffer[] = [];
    for (const file of sorted) {
        chunks.push(header(file), file.content);
        const pad = (BLOCK - (file.content.length % BLOCK)) % BLOCK;
        chunks.push(Buffer.alloc(pad));
    }
    chunks.push(Buffer.alloc(2 * BLOCK));
    return Buffer.concat(chunks);
}

/** The hex sha256 of a context tar: what `contextHash` inputs carry. */
export const sha256Hex = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
