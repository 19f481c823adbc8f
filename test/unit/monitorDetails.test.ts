/** The details file, the wipe and disk usage, on a temporary directory. */
import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    DETAILS_FILE,
    TestDetails,
    checkDataSubdir,
    readDetails,
    wipeNodeData,
    writeDetails,
} from "../../monitor/details";
import { diskUsage, formatBytes, formatDuration } from "../../monitor/diskUsage";

const D1 = `sha256:${"1".repeat(64)}`;
const DETAILS: TestDetails = {
    image: `ghcr.io/org/node@${D1}`,
    digest: D1,
    startTime: "2026-01-01T00:00:00.000Z",
    syncMode: "full-sync",
    followImage: "ghcr.io/org/node:master",
    versions: { "org.opencontainers.image.version": "v1" },
};

describe("monitor details file and data wipe", () => {
    let dir: string;
    beforeEach(async () => {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), "monitor-details-"));
    });
    afterEach(async () => {
        await fs.rm(dir, { recursive: true, force: true });
    });

    it("reads what it wrote, and reports a missing file as missing", async () => {
        assert.deepEqual(await readDetails(dir), { kind: "missing" });
        await writeDetails(dir, DETAILS);
        assert.deepEqual(await readDetails(dir), { kind: "ok", details: DETAILS });
        assert.deepEqual(await fs.readdir(dir), [DETAILS_FILE], "temp file left behind");
    });

    const corrupt: [string, string, RegExp][] = [
        ["not JSON", "{", /not JSON/],
        ["no digest", JSON.stringify({ ...DETAILS, digest: "x" }), /digest is not sha256/],
        ["image not pinned", JSON.stringify({ ...DETAILS, image: "node:v1" }), /not pinned/],
        ["bad time", JSON.stringify({ ...DETAILS, startTime: "yesterday" }), /startTime/],
        ["bad mode", JSON.stringify({ ...DETAILS, syncMode: "fast" }), /syncMode/],
    ];
    for (const [what, content, why] of corrupt) {
        it(`reports ${what} as corrupt`, async () => {
            await fs.writeFile(path.join(dir, DETAILS_FILE), content);
            const read = await readDetails(dir);
            assert.equal(read.kind, "corrupt");
            assert.match(read.kind === "corrupt" ? read.error : "", why);
        });
    }

    it("wipes only the data subdirectory, keeping config and the details file, then seeds it", async () => {
        await writeDetails(dir, DETAILS);
        await fs.mkdir(path.join(dir, "config"));
        await fs.writeFile(path.join(dir, "config", "genesis.json"), "{}");
        await fs.mkdir(path.join(dir, "data", "blockstore.db"), { recursive: true });
        await fs.writeFile(path.join(dir, "data", "blockstore.db", "000001.ldb"), "x".repeat(100));
        await wipeNodeData(dir, "data", { "priv_validator_state.json": "{}" });
        assert.deepEqual((await fs.readdir(dir)).sort(), ["config", "data", DETAILS_FILE].sort());
        assert.deepEqual(await fs.readdir(path.join(dir, "data")), ["priv_validator_state.json"]);
        assert.equal(await fs.readFile(path.join(dir, "config", "genesis.json"), "utf8"), "{}");
    });

    const badSubdirs = ["", ".", "..", "../x", "/data", "a/../.."];
    for (const subdir of badSubdirs) {
        it(`refuses to wipe --data-subdir '${subdir}'`, async () => {
            assert.match(
                checkDataSubdir(subdir) ?? "",
                /--data-subdir .* must be a relative directory inside --data-dir/,
            );
            await assert.rejects(wipeNodeData(dir, subdir), /--data-subdir/);
        });
    }
    it("accepts nested subdirectories", () => {
        assert.equal(checkDataSubdir("db/mainnet"), undefined);
    });

    it("measures allocated bytes, counting hard links once", async () => {
        await fs.writeFile(path.join(dir, "a"), Buffer.alloc(64 * 1024, 1));
        const one = await diskUsage(dir);
        await fs.link(path.join(dir, "a"), path.join(dir, "b"));
        assert.equal(await diskUsage(dir), one, "hard link counted twice");
        await fs.writeFile(path.join(dir, "c"), Buffer.alloc(64 * 1024, 1));
        assert.ok((await diskUsage(dir)) >= one + 64 * 1024);
        assert.equal(await diskUsage(path.join(dir, "gone")), 0);
    });

    const bytes: [number, string][] = [
        [0, "0B"],
        [1023, "1023B"],
        [1536, "1.5KiB"],
        [5 * 1024 ** 3, "5.0GiB"],
    ];
    for (const [n, text] of bytes) {
        it(`formats ${n} bytes as ${text}`, () => assert.equal(formatBytes(n), text));
    }
    const durations: [number, string][] = [
        [0, "0s"],
        [59.9, "59s"],
        [3600, "1h"],
        [93784, "1d2h3m4s"],
    ];
    for (const [s, text] of durations) {
        it(`formats ${s} seconds as ${text}`, () => assert.equal(formatDuration(s), text));
    }
});
