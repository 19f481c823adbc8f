/**
 * The details file: what identifies the test that the data volume holds. `init` writes it when a
 * test starts; `init` and `wait-for-completion` read it. It lives at the root of the volume,
 * beside (not inside) the node's data, and a new test's wipe keeps it.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { SYNC_MODES, type SyncMode } from "../lib/bootstrapTest";
import type { FreshStart } from "./chainSettings";
import { DIGEST } from "./imageRef";

export { SYNC_MODES, type SyncMode };
export const DETAILS_FILE = "chainfleet-bootstrap-test.json";

export interface TestDetails {
    /** The digest-pinned image under test (`name@sha256:…`). */
    image: string;
    /** Its digest: with the start time, what identifies a test. */
    digest: string;
    /** When the test started (ISO 8601). */
    startTime: string;
    syncMode: SyncMode;
    /** The tag the test's image was resolved from. */
    followImage: string;
    /** Version labels of the image, when the registry had them. */
    versions: Record<string, string>;
}

export type DetailsRead =
    { kind: "missing" } | { kind: "ok"; details: TestDetails } | { kind: "corrupt"; error: string };

export function detailsPath(dataDir: string): string {
    return path.join(dataDir, DETAILS_FILE);
}

/** Checks the shape of a parsed details file; returns the problem, or undefined. */
export function detailsProblem(json: unknown): string | undefined {
    const d = json as Partial<TestDetails> | null;
    if (d === null || typeof d !== "object") {
        return "not a JSON object";
    }
    if (typeof d.digest !== "string" || !DIGEST.test(d.digest)) {
        return "digest is not sha256:<64 hex>";
    }
    if (typeof d.image !== "string" || !d.image.endsWith(`@${d.digest}`)) {
        return "image is not pinned to its digest";
    }
    if (typeof d.startTime !== "string" || Number.isNaN(Date.parse(d.startTime))) {
        return "startTime is not a timestamp";
    }
    if (!SYNC_MODES.includes(d.syncMode as SyncMode)) {
        return `syncMode is not one of ${SYNC_MODES.join(", ")}`;
    }
    return undefined;
}

export async function readDetails(dataDir: string): Promise<DetailsRead> {
    let text: string;
    try {
        text = await fs.readFile(detailsPath(dataDir), "utf8");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
            return { kind: "missing" };
        }
        throw err;
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (err) {
        return { kind: "corrupt", error: `not JSON: ${(err as Error).message}` };
    }
    const problem = detailsProblem(json);
    if (problem) {
        return { kind: "corrupt", error: problem };
    }
    const d = json as TestDetails;
    return {
        kind: "ok",
        details: { ...d, followImage: d.followImage ?? "", versions: d.versions ?? {} },
    };
}

/**
 * Writes the details atomically (temp file + rename): a half-written file after a crash would
 * read as corrupt and wipe a test that had been running for days.
 */
export async function writeDetails(dataDir: string, details: TestDetails): Promise<void> {
    const target = detailsPath(dataDir);
    const temp = `${target}.tmp-${process.pid}`;
    await fs.writeFile(temp, `${JSON.stringify(details, null, 2)}\n`, "utf8");
    await fs.rename(temp, target);
}

/** What a wipe never removes from the volume root: the details file and the filesystem's own. */
export const KEPT_ON_WIPE = [DETAILS_FILE, "lost+found"] as const;

/** Rejects a path to remove that would escape the volume, be its root, or be kept. */
export function checkWipePath(p: string): string | undefined {
    const normal = path.posix.normalize(p);
    if (
        p === "" ||
        normal === "." ||
        path.posix.isAbsolute(p) ||
        normal === ".." ||
        normal.startsWith("../") ||
        (KEPT_ON_WIPE as readonly string[]).includes(normal.split("/")[0])
    ) {
        return `cannot remove '${p}' for a fresh start: only relative paths inside the volume, other than ${KEPT_ON_WIPE.join(" and ")}, may go`;
    }
    return undefined;
}

/**
 * Prepares the volume for a new test (monitor/chainSettings.ts `freshStart`): removes what the
 * chain's reset removes, then writes the seed files. The details file always stays, so a crash
 * halfway leaves the old details and the next `init` wipes again. `lost+found` stays too: it
 * belongs to the filesystem, and on a volume without fsGroup it is root's and unreadable, so
 * removing it would fail.
 */
export async function wipeForFreshStart(dataDir: string, fresh: FreshStart): Promise<string[]> {
    const targets =
        fresh.remove === "everything"
            ? (await fs.readdir(dataDir)).filter(
                  (entry) => !(KEPT_ON_WIPE as readonly string[]).includes(entry),
              )
            : [...fresh.remove];
    for (const target of [...targets, ...Object.keys(fresh.seed)]) {
        const problem = checkWipePath(target);
        if (problem) {
            throw new Error(problem);
        }
    }
    for (const target of targets) {
        await fs.rm(path.join(dataDir, target), { recursive: true, force: true });
    }
    for (const [file, content] of Object.entries(fresh.seed)) {
        const dest = path.join(dataDir, file);
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await fs.writeFile(dest, content, "utf8");
    }
    return targets;
}
