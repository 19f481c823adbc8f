/** The details file, the wipe and disk usage, on a temporary directory. */
import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    DETAILS_FILE,
    TestDetails,
    checkWipePath,
    readDetails,
    wipeForFreshStart,
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

    it("wipes the listed paths, keeping config and the details file, then seeds", async () => {
        await writeDetails(dir, DETAILS);
        await fs.mkdir(path.join(dir, "config"));
        await fs.writeFile(path.join(dir, "config", "genesis.json"), "{}");
        await fs.writeFile(path.join(dir, "config", "addrbook.json"), "{}");
        await fs.mkdir(path.join(dir, "data", "blockstore.db"), { recursive: true });
        await fs.writeFile(path.join(dir, "data", "blockstore.db", "000001.ldb"), "x".repeat(100));
        const removed = await wipeForFreshStart(dir, {
            remove: ["data", "config/addrbook.json", "never-existed"],
            seed: { "data/priv_validator_state.json": "{}" },
        });
        assert.deepEqual(removed, ["data", "config/addrbook.json", "never-existed"]);
        assert.deepEqual((await fs.readdir(dir)).sort(), ["config", "data", DETAILS_FILE].sort());
        assert.deepEqual(await fs.readdir(path.join(dir, "config")), ["genesis.json"]);
        assert.deepEqual(await fs.readdir(path.join(dir, "data")), ["priv_validator_state.json"]);
    });

    it("wipes everything but the details file and lost+found", async () => {
        await writeDetails(dir, DETAILS);
        await fs.mkdir(path.join(dir, "lost+found"));
        await fs.mkdir(path.join(dir, "db", "mainnet"), { recursive: true });
        await fs.writeFile(path.join(dir, ".hidden"), "x");
        await fs.writeFile(path.join(dir, `${DETAILS_FILE}.tmp-7`), "half");
        const removed = await wipeForFreshStart(dir, { remove: "everything", seed: {} });
        assert.deepEqual(removed.sort(), [".hidden", "db", `${DETAILS_FILE}.tmp-7`].sort());
        assert.deepEqual((await fs.readdir(dir)).sort(), [DETAILS_FILE, "lost+found"].sort());
    });

    const badPaths = ["", ".", "..", "../x", "/data", "a/../..", DETAILS_FILE, "lost+found/x"];
    for (const bad of badPaths) {
        it(`refuses to remove '${bad}'`, async () => {
            assert.match(checkWipePath(bad) ?? "", /cannot remove .* for a fresh start/);
            await writeDetails(dir, DETAILS);
            await assert.rejects(
                wipeForFreshStart(dir, { remove: [bad], seed: {} }),
                /cannot remove/,
            );
            await assert.rejects(
                wipeForFreshStart(dir, { remove: [], seed: { [bad]: "x" } }),
                /cannot remove/,
            );
            assert.equal((await readDetails(dir)).kind, "ok", "details file removed");
        });
    }
    it("accepts nested paths", () => {
        assert.equal(checkWipePath("db/mainnet"), undefined);
        assert.equal(checkWipePath("config/addrbook.json"), undefined);
    });

    it("measures allocated bytes, counting hard links once", async () => {
        await fs.writeFile(path.join(dir, "a"), Buffer.alloc(64 * 1024, 1));
        const one = (await diskUsage(dir)).bytes;
        await fs.link(path.join(dir, "a"), path.join(dir, "b"));
        assert.equal((await diskUsage(dir)).bytes, one, "hard link counted twice");
        await fs.writeFile(path.join(dir, "c"), Buffer.alloc(64 * 1024, 1));
        assert.ok((await diskUsage(dir)).bytes >= one + 64 * 1024);
        assert.deepEqual(await diskUsage(path.join(dir, "gone")), {
            bytes: 0,
            unreadable: 0,
            vanished: 1,
            examples: [],
        });
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
