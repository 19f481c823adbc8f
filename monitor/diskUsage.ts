/**
 * Disk usage of the data volume (like `du -s`: allocated blocks, hard links counted once) and
 * the human forms of bytes and durations that the logs show.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";

/**
 * Bytes allocated under `dir`. Files that vanish mid-walk are skipped: the node compacts its
 * database while the sidecar measures it.
 */
export async function diskUsage(dir: string): Promise<number> {
    const seen = new Set<string>();
    let total = 0;
    const walk = async (p: string): Promise<void> => {
        let st;
        try {
            st = await fs.lstat(p);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                return;
            }
            throw err;
        }
        const id = `${st.dev}:${st.ino}`;
        if (seen.has(id)) {
            return;
        }
        seen.add(id);
        total += typeof st.blocks === "number" ? st.blocks * 512 : st.size;
        if (st.isDirectory()) {
            let entries: string[];
            try {
                entries = await fs.readdir(p);
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                    return;
                }
                throw err;
            }
            for (const entry of entries) {
                await walk(path.join(p, entry));
            }
        }
    };
    await walk(dir);
    return total;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(bytes: number): string {
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
        value /= 1024;
        unit++;
    }
    return unit === 0 ? `${value}B` : `${value.toFixed(1)}${UNITS[unit]}`;
}

/** `93784` → `1d2h3m4s`; zero parts are left out. */
export function formatDuration(seconds: number): string {
    let rest = Math.max(0, Math.floor(seconds));
    const parts: string[] = [];
    for (const [unit, size] of [
        ["d", 86400],
        ["h", 3600],
        ["m", 60],
    ] as const) {
        if (rest >= size) {
            parts.push(`${Math.floor(rest / size)}${unit}`);
            rest %= size;
        }
    }
    if (rest > 0 || parts.length === 0) {
        parts.push(`${rest}s`);
    }
    return parts.join("");
}
