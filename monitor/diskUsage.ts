/**
 * Disk usage of the data volume (like `du -s`: allocated blocks, hard links counted once). The
 * human forms of bytes and durations that the logs show are in lib/units.ts.
 */
import { promises as fs, type Stats } from "node:fs";
import * as path from "node:path";
import { formatBytes, formatDuration } from "../lib/units";

/** The two calls the walk makes; the tests substitute failing ones. */
export interface DiskUsageFs {
    lstat(p: string): Promise<Stats>;
    readdir(p: string): Promise<string[]>;
}

export interface DiskUsage {
    /** Bytes allocated under the directory, not counting what could not be read. */
    bytes: number;
    /**
     * Paths that could not be read (EACCES, ELOOP, EIO, ENAMETOOLONG, …): neither they nor
     * anything below them is counted, so `bytes` is then a lower bound.
     */
    unreadable: number;
    /** Paths that disappeared or changed type during the walk (ENOENT, ENOTDIR): normal. */
    vanished: number;
    /** The first few unreadable paths, as `path: CODE`, for the log. */
    examples: string[];
}

const MAX_EXAMPLES = 5;
/** A path that is gone, or whose parent stopped being a directory, since it was listed. */
const VANISHED = ["ENOENT", "ENOTDIR"];

/**
 * Bytes allocated under `dir`. Never fails because of the filesystem: the sidecar measures a
 * volume the node is rewriting (compactions delete and replace files under the walk), and a path
 * it may not read (a root-owned `lost+found` on a volume without fsGroup, a directory the node
 * made private) must not end the sidecar and lose the test's result. What vanished is skipped;
 * what could not be read is skipped and counted (avalanche's monitor likewise ignores `du`'s
 * exit status 1, avalanchego tests/fixture/bootstrapmonitor/wait.go `getDiskUsage`).
 * Anything that is not an errno error (a bug) still throws.
 */
export async function diskUsage(dir: string, ops: DiskUsageFs = fs): Promise<DiskUsage> {
    const seen = new Set<string>();
    const usage: DiskUsage = { bytes: 0, unreadable: 0, vanished: 0, examples: [] };
    /** True when `err` was a filesystem error, now counted; false for anything else. */
    const skipped = (p: string, err: unknown): boolean => {
        const code = (err as NodeJS.ErrnoException | undefined)?.code;
        if (typeof code !== "string") {
            return false;
        }
        if (VANISHED.includes(code)) {
            usage.vanished++;
        } else {
            usage.unreadable++;
            if (usage.examples.length < MAX_EXAMPLES) {
                usage.examples.push(`${p}: ${code}`);
            }
        }
        return true;
    };
    const walk = async (p: string): Promise<void> => {
        let st: Stats;
        try {
            st = await ops.lstat(p);
        } catch (err) {
            if (skipped(p, err)) return;
            throw err;
        }
        const id = `${st.dev}:${st.ino}`;
        if (seen.has(id)) {
            return;
        }
        seen.add(id);
        usage.bytes += typeof st.blocks === "number" ? st.blocks * 512 : st.size;
        if (st.isDirectory()) {
            let entries: string[];
            try {
                entries = await ops.readdir(p);
            } catch (err) {
                if (skipped(p, err)) return;
                throw err;
            }
            for (const entry of entries) {
                await walk(path.join(p, entry));
            }
        }
    };
    await walk(dir);
    return usage;
}

/** `1.2GiB`, or `≥1.2GiB` when part of the volume could not be read. */
export function formatUsage(usage: Pick<DiskUsage, "bytes" | "unreadable">): string {
    return `${usage.unreadable > 0 ? "≥" : ""}${formatBytes(usage.bytes)}`;
}

export { formatBytes, formatDuration };
