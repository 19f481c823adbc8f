/**
 * Where the api/e2e tiers find the toolchain that scripts/tools.sh builds: on PATH once
 * scripts/env.sh is sourced, or under ${CHAINFLEET_CACHE:-~/.cache/chainfleet}/tools/<tool>-*\/bin.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const cacheDir = (): string =>
    process.env.CHAINFLEET_CACHE ?? path.join(os.homedir(), ".cache", "chainfleet");

/** Absolute path of a tool binary, or undefined when it has not been built. */
export function findTool(name: string): string | undefined {
    try {
        const onPath = execFileSync("sh", ["-c", `command -v ${name}`], {
            encoding: "utf8",
        }).trim();
        if (onPath) {
            return onPath;
        }
    } catch {
        // not on PATH
    }
    const tools = path.join(cacheDir(), "tools");
    if (!fs.existsSync(tools)) {
        return undefined;
    }
    // <piece>-<key>.tmp.<pid> directories are builds still running (scripts/tools.sh).
    const built = fs.readdirSync(tools).filter((entry) => !entry.includes(".tmp."));
    for (const entry of built.sort().reverse()) {
        const candidate = path.join(tools, entry, "bin", name);
        if (fs.existsSync(candidate)) {
            return candidate;
        }
    }
    return undefined;
}

export function toolPath(name: string): string {
    const found = findTool(name);
    if (!found) {
        throw new Error(
            `${name} not found on PATH or under ${cacheDir()}/tools; run scripts/tools.sh (npm run tools)`,
        );
    }
    return found;
}
