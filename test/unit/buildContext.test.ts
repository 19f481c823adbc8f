/**
 * The build context ImageBuild hashes and sends: lib/buildContext.ts's ignore rules and tar, and
 * dynamic-providers/imageBuildContext.ts reading a directory with them.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { contextTar, isExcluded, mayHoldIncluded, parseDockerignore } from "../../lib/buildContext";
import { readBuildContext } from "../../dynamic-providers/imageBuildContext";

const repoRoot = path.resolve(__dirname, "../..");
const ALLOW_LIST = "# comment\n**\n!package.json\n!chains/**\n!monitor/**\n";

describe("build context: .dockerignore rules", () => {
    const rules = parseDockerignore(ALLOW_LIST);
    const cases: [string, string, boolean][] = [
        // [rules, path, excluded]
        [ALLOW_LIST, "package.json", false],
        [ALLOW_LIST, "package-lock.json", true],
        [ALLOW_LIST, "chains/sei.ts", false],
        [ALLOW_LIST, "chains/deep/x.ts", false],
        [ALLOW_LIST, "monitor/Dockerfile", false],
        [ALLOW_LIST, "node_modules/x/package.json", true],
        [ALLOW_LIST, "lib/json.ts", true],
        ["node_modules\n", "node_modules/a/b.js", true],
        ["node_modules\n", "src/node_modules/a.js", false],
        ["**/node_modules\n", "src/node_modules/a.js", true],
        ["*.md\n!README*.md\nREADME-secret.md\n", "README-secret.md", true],
        ["*.md\n!README*.md\nREADME-secret.md\n", "README.md", false],
        ["*.md\nREADME-secret.md\n!README*.md\n", "README-secret.md", false],
        ["/build/\n", "build/out.js", true],
        ["./tmp?\n", "tmpa", true],
        ["./tmp?\n", "tmpab", false],
        ["*/temp*\n", "dir/temporary.txt", true],
        ["*/temp*\n", "temporary.txt", false],
        // Case-sensitive, as Docker on Linux (the library's default is to ignore case).
        ["*.MD\n", "README.md", false],
        // Character classes and escapes, as Go's filepath.Match reads them.
        ["[ab].ts\n", "a.ts", true],
        ["[ab].ts\n", "c.ts", false],
        ["a\\*b\n", "a*b", true],
        ["a\\*b\n", "axb", false],
    ];
    for (const [text, file, excluded] of cases) {
        it(`${JSON.stringify(text)}: ${file} is ${excluded ? "left out" : "sent"}`, () => {
            assert.equal(isExcluded(parseDockerignore(text), file), excluded);
        });
    }

    it("walks an excluded directory only when an exception could re-include something in it", () => {
        assert.equal(mayHoldIncluded(rules, "chains"), true);
        assert.equal(mayHoldIncluded(rules, "monitor"), true);
        assert.equal(mayHoldIncluded(rules, "node_modules"), false);
        assert.equal(mayHoldIncluded(rules, ".git"), false);
        assert.equal(mayHoldIncluded(parseDockerignore("**\n!**/keep.txt\n"), "any"), true);
        assert.equal(mayHoldIncluded(parseDockerignore("dist\n"), "src"), true);
    });

    it("refuses a bare !, as Docker does, naming the line", () => {
        assert.throws(() => parseDockerignore("**\n!\n"), /line 2: .*names no pattern/);
    });
});

describe("build context: the tar", () => {
    const files = (long: string) => [
        { path: "b.txt", executable: false, content: Buffer.from("b\n") },
        { path: "a/run.sh", executable: true, content: Buffer.from("#!/bin/sh\n") },
        { path: long, executable: false, content: Buffer.alloc(1000, 1) },
    ];

    it("is a ustar archive GNU tar reads, sorted, with fixed owners, modes and times", async () => {
        const long = `${"d".repeat(90)}/${"f".repeat(60)}.ts`;
        const tar = await contextTar(files(long));
        assert.equal(tar.length % 512, 0);
        assert.deepEqual(
            await contextTar(files(long).reverse()),
            tar,
            "the same files, the same bytes",
        );
        // No owner names: uname (offset 265) and gname (297) of the first header are empty.
        assert.equal(tar.subarray(265, 265 + 64).toString("latin1"), "\0".repeat(64));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-tar-"));
        try {
            const file = path.join(dir, "c.tar");
            fs.writeFileSync(file, tar);
            const listing = execFileSync("tar", ["-tvf", file, "--numeric-owner"], {
                encoding: "utf8",
            });
            const rows = listing.trim().split("\n");
            assert.deepEqual(
                rows.map((r) => r.split(/\s+/).pop()),
                ["a/run.sh", "b.txt", long],
            );
            assert.match(rows[0], /^-rwxr-xr-x 0\/0 +10 1970-01-01 00:00 /);
            assert.match(rows[1], /^-rw-r--r-- 0\/0 +2 1970-01-01 00:00 /);
            execFileSync("tar", ["-xf", file, "-C", dir]);
            assert.deepEqual(fs.readFileSync(path.join(dir, long)), Buffer.alloc(1000, 1));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("carries a path too long for a ustar header in a PAX header", async () => {
        // The hand-written writer refused these; tar-stream writes a PAX header (the daemon's Go
        // archive/tar reads it).
        const long = "x".repeat(150);
        const tar = await contextTar([
            { path: long, executable: false, content: Buffer.from("x") },
        ]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-tar-"));
        try {
            const file = path.join(dir, "c.tar");
            fs.writeFileSync(file, tar);
            const listing = execFileSync("tar", ["-tf", file], { encoding: "utf8" });
            assert.equal(listing, `${long}\n`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("build context: reading a directory", () => {
    let dir: string;
    const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
    };
    const hash = async () => (await readBuildContext(dir, "monitor/Dockerfile")).hash;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-ctx-"));
        write("monitor/Dockerfile", "FROM node:20-slim\n");
        write("monitor/Dockerfile.dockerignore", ALLOW_LIST);
        write("monitor/cli.ts", "export {};\n");
        write("chains/sei.ts", "export {};\n");
        write("package.json", "{}\n");
        write("README.md", "# readme\n");
        write("node_modules/x/index.js", "module.exports = 1;\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("sends the allow-listed files and the Dockerfile's ignore file applies", async () => {
        const ctx = await readBuildContext(dir, "monitor/Dockerfile");
        assert.equal(ctx.ignoreFile, "monitor/Dockerfile.dockerignore");
        assert.deepEqual(ctx.files, [
            "chains/sei.ts",
            "monitor/Dockerfile",
            "monitor/Dockerfile.dockerignore",
            "monitor/cli.ts",
            "package.json",
        ]);
        assert.match(ctx.hash, /^[0-9a-f]{64}$/);
    });

    const changes: [string, () => void, boolean][] = [
        ["a file outside the allow-list is added", () => write("docs/new.md", "x"), false],
        ["a file outside the allow-list changes", () => write("README.md", "# new"), false],
        ["node_modules changes", () => write("node_modules/x/index.js", "2"), false],
        ["a file inside the allow-list changes", () => write("chains/sei.ts", "// x\n"), true],
        ["a file inside the allow-list is added", () => write("monitor/new.ts", "x"), true],
        ["the Dockerfile changes", () => write("monitor/Dockerfile", "FROM scratch\n"), true],
        [
            "a file becomes executable",
            () => fs.chmodSync(path.join(dir, "monitor/cli.ts"), 0o755),
            true,
        ],
    ];
    for (const [what, change, changesHash] of changes) {
        it(`${what}: the hash ${changesHash ? "changes" : "stays"}`, async () => {
            const before = await hash();
            assert.equal(await hash(), before, "the same files hash the same");
            change();
            assert.equal((await hash()) !== before, changesHash);
        });
    }

    it("always sends the Dockerfile, even when the ignore file leaves it out", async () => {
        write("build/Dockerfile", "FROM scratch\n");
        write(".dockerignore", "**\n!package.json\n");
        const ctx = await readBuildContext(dir, "build/Dockerfile");
        assert.equal(ctx.ignoreFile, ".dockerignore");
        assert.deepEqual(ctx.files, ["build/Dockerfile", "package.json"]);
    });

    it("names a missing Dockerfile", async () => {
        await assert.rejects(readBuildContext(dir, "nope/Dockerfile"), /no Dockerfile at nope/);
    });

    it("the monitor's context is what scripts/images.sh monitor_context sends", async function () {
        // images.sh lists the allow-list's pathspecs with git (tracked or new, not git-ignored);
        // the two readings of monitor/Dockerfile.dockerignore must agree.
        this.timeout(30_000);
        let listed: string;
        try {
            const specs = fs
                .readFileSync(path.join(repoRoot, "monitor/Dockerfile.dockerignore"), "utf8")
                .split("\n")
                .filter((l) => l.startsWith("!"))
                .map((l) => `:(glob)${l.slice(1)}`);
            listed = execFileSync(
                "git",
                ["ls-files", "--cached", "--others", "--exclude-standard", "--", ...specs],
                { cwd: repoRoot, encoding: "utf8" },
            );
        } catch {
            this.skip(); // not a git checkout
        }
        const git = [...new Set(listed.trim().split("\n"))]
            .filter((f) => fs.existsSync(path.join(repoRoot, f)))
            .sort();
        assert.deepEqual((await readBuildContext(repoRoot, "monitor/Dockerfile")).files, git);
    });
});
