/**
 * The details file: what identifies the test that the data volume holds. `init` writes it when a
 * test starts; `init` and `wait-for-completion` read it. It lives at the root of the volume,
 * beside (not inside) the node's data subdirectory, so wiping the node's data keeps it.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { SYNC_MODES, type SyncMode } from "../lib/bootstrapTest";
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

/** Rejects a data subdirectory that would escape or be the volume root. */
export function checkDataSubdir(subdir: string): string | undefined {
    const normal = path.posix.normalize(subdir);
    if (
        subdir === "" ||
        normal === "." ||
        path.posix.isAbsolute(subdir) ||
        normal.startsWith("..")
    ) {
        return `--data-subdir '${subdir}' must be a relative directory inside --data-dir (e.g. 'data'); wiping it must not touch the details file or anything outside the volume`;
    }
    return undefined;
}

/**
 * Removes the node's data subdirectory and recreates it empty, then writes `seed` files into it
 * (paths relative to the subdirectory). Only the subdirectory goes: the node's config and keys
 * beside it stay.
 */
export async function wipeNodeData(
    dataDir: string,
    subdir: string,
    seed: Record<string, string> = {},
): Promise<void> {
    const problem = checkDataSubdir(subdir);
    if (problem) {
        throw new Error(problem);
    }
    const target = path.join(dataDir, subdir);
    await fs.rm(target, { recursive: true, force: true });
    await fs.mkdir(target, { recursive: true });
    for (const [file, content] of Object.entries(seed)) {
        const dest = path.join(target, file);
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await fs.writeFile(dest, content, "utf8");
    }
}
