/**
 * The sidecar's disk-usage walk on a volume it cannot fully read: it must measure what it can,
 * count what it could not, and never throw (a throw ends the sidecar, and with it the test's
 * result). Avalanche's own monitor runs `du -sh` and ignores its exit status 1 ("files cannot
 * be accessed", avalanchego tests/fixture/bootstrapmonitor/wait.go getDiskUsage).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { diskUsage, type DiskUsageFs } from "../../monitor/diskUsage";

/** An errno error as node:fs raises it. */
function errno(code: string, p: string): NodeJS.ErrnoException {
    return Object.assign(new Error(`${code}: ${p}`), { code, path: p });
}

describe("monitor disk usage", () => {
    let dir: string;
    beforeEach(async () => {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), "monitor-du-"));
    });
    afterEach(() => {
        // GNU rm walks with openat, so it removes trees whose paths are too long for node:fs.
        execFileSync("rm", ["-rf", dir]);
    });

    it("skips and counts a path it cannot stat (ENAMETOOLONG, real filesystem)", async () => {
        await fs.writeFile(path.join(dir, "readable"), Buffer.alloc(64 * 1024, 1));
        // Two trees of ~2 KiB paths, one moved inside the other: every path below the join is
        // longer than PATH_MAX (4096), which no rename or mkdir would have accepted directly.
        const part = "x".repeat(200);
        const a = path.join(dir, "a", ...Array(10).fill(part));
        const b = path.join(dir, "b", ...Array(12).fill(part));
        await fs.mkdir(a, { recursive: true });
        await fs.mkdir(b, { recursive: true });
        await fs.writeFile(path.join(b, "leaf"), "data");
        await fs.rename(path.join(dir, "b"), path.join(a, "b"));

        const usage = await diskUsage(dir);

        assert.ok(usage.bytes >= 64 * 1024, `measured ${usage.bytes}`);
        assert.ok(usage.unreadable >= 1, JSON.stringify(usage));
        assert.match(usage.examples.join("\n"), /ENAMETOOLONG/);
        assert.equal(usage.vanished, 0);
    });

    /** A filesystem where `fail` says which call on which path fails, and with what. */
    function failing(fail: (call: "lstat" | "readdir", p: string) => string | undefined) {
        const ops: DiskUsageFs = {
            lstat: async (p) => {
                const code = fail("lstat", p);
                if (code) throw errno(code, p);
                return fs.lstat(p);
            },
            readdir: async (p) => {
                const code = fail("readdir", p);
                if (code) throw errno(code, p);
                return fs.readdir(p);
            },
        };
        return ops;
    }

    const table: {
        what: string;
        call: "lstat" | "readdir";
        code: string;
        unreadable: number;
        vanished: number;
    }[] = [
        {
            what: "a subdirectory it may not list",
            call: "readdir",
            code: "EACCES",
            unreadable: 1,
            vanished: 0,
        },
        {
            what: "a subdirectory it may not stat",
            call: "lstat",
            code: "EACCES",
            unreadable: 1,
            vanished: 0,
        },
        {
            what: "too many symbolic links",
            call: "lstat",
            code: "ELOOP",
            unreadable: 1,
            vanished: 0,
        },
        { what: "an I/O error", call: "readdir", code: "EIO", unreadable: 1, vanished: 0 },
        {
            what: "a file deleted mid-walk",
            call: "lstat",
            code: "ENOENT",
            unreadable: 0,
            vanished: 1,
        },
        {
            what: "a directory deleted before listing",
            call: "readdir",
            code: "ENOENT",
            unreadable: 0,
            vanished: 1,
        },
        {
            what: "a directory replaced by a file",
            call: "readdir",
            code: "ENOTDIR",
            unreadable: 0,
            vanished: 1,
        },
        {
            what: "a path whose parent became a file",
            call: "lstat",
            code: "ENOTDIR",
            unreadable: 0,
            vanished: 1,
        },
    ];
    for (const { what, call, code, unreadable, vanished } of table) {
        it(`skips ${what} (${call} ${code}) and measures the rest`, async () => {
            await fs.mkdir(path.join(dir, "sub"));
            await fs.writeFile(path.join(dir, "sub", "f"), Buffer.alloc(8192, 1));
            await fs.writeFile(path.join(dir, "other"), Buffer.alloc(64 * 1024, 1));
            const target = path.join(dir, "sub");
            const whole = await diskUsage(dir);

            const usage = await diskUsage(
                dir,
                failing((c, p) => (c === call && p === target ? code : undefined)),
            );

            assert.equal(usage.unreadable, unreadable);
            assert.equal(usage.vanished, vanished);
            assert.ok(usage.bytes >= 64 * 1024, "the readable file was not counted");
            assert.ok(usage.bytes < whole.bytes, "the skipped subtree was counted");
            if (unreadable > 0) {
                assert.deepEqual(usage.examples, [`${target}: ${code}`]);
            }
        });
    }

    it("reports an unreadable volume root as zero bytes, one unreadable path", async () => {
        const usage = await diskUsage(
            dir,
            failing((c, p) => (c === "readdir" && p === dir ? "EACCES" : undefined)),
        );
        assert.equal(usage.unreadable, 1);
        assert.ok(usage.bytes < 64 * 1024);
    });

    it("keeps only the first few examples", async () => {
        for (let i = 0; i < 8; i++) {
            await fs.mkdir(path.join(dir, `d${i}`));
        }
        const usage = await diskUsage(
            dir,
            failing((c, p) => (c === "readdir" && p !== dir ? "EACCES" : undefined)),
        );
        assert.equal(usage.unreadable, 8);
        assert.equal(usage.examples.length, 5);
    });

    it("still throws what is not a filesystem error (a bug, not the volume)", async () => {
        const ops: DiskUsageFs = {
            lstat: async () => {
                throw new TypeError("boom");
            },
            readdir: fs.readdir,
        };
        await assert.rejects(diskUsage(dir, ops), /boom/);
    });
});
