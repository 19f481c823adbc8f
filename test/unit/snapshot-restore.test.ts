/**
 * lib/snapshot-restore.sh, run for real with `sh` against a local HTTP server that supports
 * Range requests and can cut a response short; and lib/snapshot.ts, the builder that ships the
 * script. The script runs with a PATH holding only the tools its header lists, once per toolset
 * (curl with GNU tools, GNU wget, BusyBox), so a tool it uses but does not document fails here.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
    existsSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    readdirSync,
    rmSync,
    statSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
    SNAPSHOT_MARKER,
    SNAPSHOT_SCRIPT_DIR,
    SNAPSHOT_SCRIPT_KEY,
    SNAPSHOT_SCRIPT_PATH,
    SnapshotConfigSchema,
    buildSnapshotRestore,
    snapshotArchitectures,
    snapshotNodeAffinity,
    snapshotScript,
} from "../../lib/snapshot";

const SCRIPT = path.join(__dirname, "..", "..", "lib", "snapshot-restore.sh");

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Which on this machine has `name`, or undefined. */
function which(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(":")) {
        const candidate = path.join(dir, name);
        if (dir && existsSync(candidate)) return candidate;
    }
    return undefined;
}

// ---- a Range-capable HTTP server -------------------------------------------------------------

/** ok: serves ranges; drop: cuts every response at byte `dropAt`; no-range: ignores Range. */
type Mode = "ok" | "drop" | "no-range";

class SnapshotServer {
    private readonly files = new Map<string, { body: Buffer; mode: Mode }>();
    readonly requests: { path: string; range?: string }[] = [];
    private server?: http.Server;
    private port = 0;

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => this.handle(req, res));
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.port = (this.server.address() as AddressInfo).port;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise((resolve) => this.server?.close(resolve));
    }

    serve(urlPath: string, body: Buffer, mode: Mode = "ok"): string {
        this.files.set(urlPath, { body, mode });
        return `http://127.0.0.1:${this.port}${urlPath}`;
    }

    setMode(urlPath: string, mode: Mode): void {
        this.files.get(urlPath)!.mode = mode;
    }

    /** Where "drop" cuts a file: half way. */
    static dropAt(body: Buffer): number {
        return Math.floor(body.length / 2);
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const urlPath = new URL(req.url ?? "/", "http://x").pathname;
        this.requests.push({ path: urlPath, range: req.headers.range });
        const file = this.files.get(urlPath);
        if (file === undefined) {
            res.writeHead(404).end();
            return;
        }
        const size = file.body.length;
        const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
        let start = 0;
        if (m !== null && file.mode !== "no-range") {
            start = Number(m[1]);
            if (start >= size) {
                res.writeHead(416, { "content-range": `bytes */${size}` }).end();
                return;
            }
            res.writeHead(206, {
                "content-length": size - start,
                "content-range": `bytes ${start}-${size - 1}/${size}`,
            });
        } else {
            res.writeHead(200, { "content-length": size });
        }
        if (file.mode === "drop") {
            // Send up to the cut, then kill the connection: the client sees a short body.
            const part = file.body.subarray(
                start,
                Math.max(start, SnapshotServer.dropAt(file.body)),
            );
            res.write(part, () => res.socket?.destroy());
            return;
        }
        res.end(file.body.subarray(start));
    }
}

// ---- toolsets: the script's PATH -------------------------------------------------------------

const COMMON_TOOLS = [
    "sha256sum",
    "tar",
    "gzip",
    "lz4",
    "mkdir",
    "mv",
    "rm",
    "rmdir",
    "ls",
    "stat",
    "sed",
    "grep",
    "cat",
    "wc",
    "tr",
    "dirname",
    "uname",
    "date",
    "sleep",
    "sync",
    "chown",
];

interface Toolset {
    name: string;
    /** Why it cannot run here, if it cannot. */
    missing?: string;
    /** Command that runs the script. */
    shell: string[];
    bin: string;
    hasLz4: boolean;
}

/** A directory of symlinks to exactly `tools` (lz4 optional), so nothing else is on PATH. */
function makeBin(
    dir: string,
    tools: string[],
    resolve: (t: string) => string | undefined,
): string[] {
    mkdirSync(dir, { recursive: true });
    const missing: string[] = [];
    for (const tool of tools) {
        const target = resolve(tool);
        if (target === undefined) {
            if (tool !== "lz4") missing.push(tool);
            continue;
        }
        symlinkSync(target, path.join(dir, tool));
    }
    return missing;
}

function toolsets(root: string): Toolset[] {
    const gnu = (name: string, downloader: string): Toolset => {
        const bin = path.join(root, name.replace(/\W+/g, "-"));
        const missing = makeBin(bin, [downloader, ...COMMON_TOOLS], which);
        return {
            name,
            missing: missing.length > 0 ? `not installed: ${missing.join(", ")}` : undefined,
            shell: ["/bin/sh"],
            bin,
            hasLz4: existsSync(path.join(bin, "lz4")),
        };
    };
    const sets = [gnu("sh + curl + GNU tools", "curl"), gnu("sh + GNU wget + GNU tools", "wget")];
    const busybox = which("busybox");
    const bbBin = path.join(root, "busybox");
    let bbMissing: string | undefined = "busybox is not installed";
    if (busybox !== undefined) {
        const applets = new Set(
            execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n"),
        );
        const missing = makeBin(bbBin, ["wget", ...COMMON_TOOLS], (t) =>
            applets.has(t) ? busybox : t === "lz4" ? which("lz4") : undefined,
        );
        bbMissing = missing.length > 0 ? `busybox lacks: ${missing.join(", ")}` : undefined;
    }
    sets.push({
        name: "busybox sh + BusyBox wget/tar/sha256sum",
        missing: bbMissing,
        shell: busybox !== undefined ? [busybox, "sh"] : [],
        bin: bbBin,
        hasLz4: existsSync(path.join(bbBin, "lz4")),
    });
    return sets;
}

interface RunResult {
    code: number | null;
    stderr: string;
}

function runScript(
    toolset: Toolset,
    args: string[],
    env: Record<string, string>,
    script = SCRIPT,
): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        // Async: the server answering the script lives in this very process.
        const child = spawn(toolset.shell[0], [...toolset.shell.slice(1), script, ...args], {
            env: { PATH: toolset.bin, SNAPSHOT_RETRY_DELAY: "0", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.stdout.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stderr }));
    });
}

// ---- archives --------------------------------------------------------------------------------

/** Every file under `dir` with its content hash, for comparing trees. */
function tree(dir: string, prefix = ""): Record<string, string> {
    const out: Record<string, string> = {};
    for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
        const rel = path.join(prefix, entry.name);
        if (entry.isDirectory()) Object.assign(out, tree(dir, rel));
        else out[rel] = sha256(readFileSync(path.join(dir, rel)));
    }
    return out;
}

/** The restored tree without the marker, to compare with the archive's files. */
function restoredFiles(dir: string): Record<string, string> {
    const files = tree(dir);
    assert.ok(files[SNAPSHOT_MARKER], `no marker in ${dir}`);
    delete files[SNAPSHOT_MARKER];
    return files;
}

interface Archives {
    /** The files the archives hold. */
    source: string;
    expected: Record<string, string>;
    byFormat: Record<string, Buffer>;
    /** The same files inside a top-level `snapshot/` directory (for --strip-components). */
    wrapped: Buffer;
}

function makeArchives(root: string, lz4: boolean): Archives {
    const source = path.join(root, "source");
    mkdirSync(path.join(source, "blockstore.db"), { recursive: true });
    mkdirSync(path.join(source, "state.db"), { recursive: true });
    // Incompressible and large enough that a cut half way lands well inside the body.
    writeFileSync(path.join(source, "blockstore.db", "000001.ldb"), randomBytes(600 * 1024));
    writeFileSync(path.join(source, "state.db", "MANIFEST"), "manifest\n");
    writeFileSync(path.join(source, "priv_validator_state.json"), '{"height":"0"}\n');
    const tarball = path.join(root, "snap.tar");
    execFileSync("tar", ["-cf", tarball, "-C", source, "."]);
    const byFormat: Record<string, Buffer> = {
        tar: readFileSync(tarball),
        "tar.gz": execFileSync("gzip", ["-c", tarball], { maxBuffer: 1 << 26 }),
    };
    if (lz4) byFormat["tar.lz4"] = execFileSync("lz4", ["-c", tarball], { maxBuffer: 1 << 26 });
    const outer = path.join(root, "outer");
    mkdirSync(outer);
    execFileSync("cp", ["-R", source, path.join(outer, "snapshot")]);
    const wrapped = execFileSync("tar", ["-cf", "-", "-C", outer, "snapshot"], {
        maxBuffer: 1 << 26,
    });
    return { source, expected: tree(source), byFormat, wrapped };
}

// ---- the script ------------------------------------------------------------------------------

describe("snapshot-restore.sh", function () {
    this.timeout(60000);
    const root = mkdtempSync(path.join(tmpdir(), "snapshot-restore-"));
    const server = new SnapshotServer();
    const sets = toolsets(path.join(root, "bin"));
    const archives = makeArchives(path.join(root, "archives-src"), which("lz4") !== undefined);
    let dir: string;
    let vol: string;
    let target: string;
    let work: string;
    let n = 0;

    before(() => server.start());
    after(async () => {
        await server.stop();
        rmSync(root, { recursive: true, force: true });
    });
    beforeEach(() => {
        dir = path.join(root, `case-${n++}`);
        vol = path.join(dir, "volume");
        target = path.join(vol, "data");
        work = path.join(vol, ".chainfleet-snapshot");
        mkdirSync(vol, { recursive: true });
        server.requests.length = 0;
    });

    it("finds curl, the one downloader the init image is expected to have", () => {
        assert.equal(sets[0].missing, undefined, `${sets[0].missing}: apt-get install curl`);
    });

    for (const ts of sets) {
        describe(ts.name, () => {
            before(function () {
                if (ts.missing !== undefined) {
                    console.log(`      (skipped: ${ts.missing})`);
                    this.skip();
                }
            });

            const leftovers = () =>
                existsSync(work)
                    ? readdirSync(work).filter((f) => /^(snapshot|staging)-/.test(f))
                    : [];

            for (const format of ["tar", "tar.gz", "tar.lz4"]) {
                it(`restores a good .${format}, writes the marker, and skips on a second run`, async function () {
                    const body = archives.byFormat[format];
                    if (body === undefined || (format === "tar.lz4" && !ts.hasLz4)) this.skip();
                    const url = server.serve(`/${n}/snap.${format}`, body);
                    const env = { SNAPSHOT_URL: url, SNAPSHOT_SHA256: sha256(body) };

                    const first = await runScript(ts, [target], env);
                    assert.equal(first.code, 0, first.stderr);
                    assert.deepEqual(restoredFiles(target), archives.expected);
                    const markerText = readFileSync(path.join(target, SNAPSHOT_MARKER), "utf8");
                    assert.match(markerText, new RegExp(`^sha256=${sha256(body)}$`, "m"));
                    assert.deepEqual(leftovers(), [], "the archive and staging are cleaned up");

                    const before = server.requests.length;
                    const second = await runScript(ts, [target], env);
                    assert.equal(second.code, 0, second.stderr);
                    assert.match(second.stderr, /already restored .* nothing to do/);
                    assert.equal(server.requests.length, before, "no download on the second run");
                });
            }

            for (const keepBad of [false, true]) {
                it(`fails on a checksum mismatch, extracts nothing, ${keepBad ? "quarantines" : "deletes"} the file`, async () => {
                    const good = archives.byFormat["tar.gz"];
                    const bad = Buffer.from(good);
                    bad[bad.length >> 1] ^= 0xff;
                    const url = server.serve(`/${n}/snap.tar.gz`, bad);
                    const res = await runScript(ts, [target], {
                        SNAPSHOT_URL: url,
                        SNAPSHOT_SHA256: sha256(good),
                        ...(keepBad && { SNAPSHOT_KEEP_BAD: "1" }),
                    });
                    assert.equal(res.code, 1, res.stderr);
                    assert.match(
                        res.stderr,
                        new RegExp(`expected ${sha256(good)}, actual ${sha256(bad)}`),
                    );
                    assert.match(res.stderr, /Nothing was extracted/);
                    assert.ok(!existsSync(target), "nothing may appear at the target");
                    assert.deepEqual(leftovers(), [], "no partial file, no staging directory");
                    const quarantined = path.join(
                        work,
                        "quarantine",
                        `snapshot-${sha256(good)}.actual-${sha256(bad)}`,
                    );
                    assert.equal(existsSync(quarantined), keepBad);
                });
            }

            it("keeps a truncated download, then resumes it with a Range request", async () => {
                const body = archives.byFormat.tar;
                const urlPath = `/${n}/snap.tar`;
                const url = server.serve(urlPath, body, "drop");
                const env = {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256: sha256(body),
                    SNAPSHOT_DOWNLOAD_ATTEMPTS: "1",
                };
                const part = path.join(work, `snapshot-${sha256(body)}.part`);
                const cut = SnapshotServer.dropAt(body);

                const first = await runScript(ts, [target], env);
                assert.equal(first.code, 1, first.stderr);
                assert.match(first.stderr, /next start resumes/);
                assert.ok(!existsSync(target), "nothing extracted from a partial download");
                assert.equal(statSync(part).size, cut, "the partial file is kept for resuming");

                server.setMode(urlPath, "ok");
                const second = await runScript(ts, [target], env);
                assert.equal(second.code, 0, second.stderr);
                assert.ok(
                    server.requests.some((r) => r.path === urlPath && r.range === `bytes=${cut}-`),
                    `no Range request from byte ${cut}: ${JSON.stringify(server.requests)}`,
                );
                const files = restoredFiles(target);
                assert.deepEqual(files, archives.expected);
            });

            it("retries within one run, resuming each time", async () => {
                const body = archives.byFormat.tar;
                const urlPath = `/${n}/snap.tar`;
                const url = server.serve(urlPath, body, "drop");
                // Attempt 1 is cut short; a concurrent switch to "ok" lets attempt 2 finish.
                const run = runScript(ts, [target], {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256: sha256(body),
                    SNAPSHOT_DOWNLOAD_ATTEMPTS: "3",
                    SNAPSHOT_RETRY_DELAY: "1",
                });
                while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
                server.setMode(urlPath, "ok");
                const res = await run;
                assert.equal(res.code, 0, res.stderr);
                assert.match(res.stderr, /attempt 2 of 3/);
                assert.ok(
                    server.requests.some(
                        (r) => r.range === `bytes=${SnapshotServer.dropAt(body)}-`,
                    ),
                );
            });

            it("verifies a partial file that was already complete (server answers 416)", async () => {
                const body = archives.byFormat.tar;
                const url = server.serve(`/${n}/snap.tar`, body);
                mkdirSync(work, { recursive: true });
                writeFileSync(path.join(work, `snapshot-${sha256(body)}.part`), body);
                const res = await runScript(ts, [target], {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256: sha256(body),
                });
                assert.equal(res.code, 0, res.stderr);
                assert.equal(server.requests[0].range, `bytes=${body.length}-`);
                assert.ok(existsSync(path.join(target, SNAPSHOT_MARKER)));
            });

            it("starts over when the server ignores Range", async () => {
                const body = archives.byFormat.tar;
                const url = server.serve(`/${n}/snap.tar`, body, "no-range");
                mkdirSync(work, { recursive: true });
                writeFileSync(
                    path.join(work, `snapshot-${sha256(body)}.part`),
                    body.subarray(0, 1000),
                );
                const res = await runScript(ts, [target], {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256: sha256(body),
                    SNAPSHOT_DOWNLOAD_ATTEMPTS: "2",
                });
                assert.equal(res.code, 0, res.stderr);
                const files = restoredFiles(target);
                assert.deepEqual(files, archives.expected);
            });

            it("picks the checksum and URL of its architecture", async () => {
                const body = archives.byFormat["tar.gz"];
                server.serve(`/${n}/snap-arm64.tar.gz`, body);
                const url = server.serve(`/${n}/snap-{arch}.tar.gz`, Buffer.alloc(0));
                const env = {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256_AMD64: "0".repeat(64),
                    SNAPSHOT_SHA256_ARM64: sha256(body),
                };
                const res = await runScript(ts, [target], { ...env, SNAPSHOT_ARCH: "arm64" });
                assert.equal(res.code, 0, res.stderr);
                assert.deepEqual(
                    server.requests.map((r) => r.path),
                    [`/${n}/snap-arm64.tar.gz`],
                );
                assert.match(
                    readFileSync(path.join(target, SNAPSHOT_MARKER), "utf8"),
                    /^arch=arm64$/m,
                );

                const other = await runScript(ts, [path.join(vol, "other")], {
                    ...env,
                    SNAPSHOT_ARCH: "riscv64",
                });
                assert.equal(other.code, 2);
                assert.match(
                    other.stderr,
                    /no checksum for architecture riscv64: set SNAPSHOT_SHA256 or SNAPSHOT_SHA256_RISCV64/,
                );
            });

            it("strips a wrapping directory with SNAPSHOT_STRIP_COMPONENTS", async () => {
                const url = server.serve(`/${n}/wrapped.tar`, archives.wrapped);
                const res = await runScript(ts, [target], {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256: sha256(archives.wrapped),
                    SNAPSHOT_STRIP_COMPONENTS: "1",
                });
                assert.equal(res.code, 0, res.stderr);
                const files = restoredFiles(target);
                assert.deepEqual(files, archives.expected);
            });

            it("leaves data it did not restore alone", async () => {
                mkdirSync(target);
                writeFileSync(path.join(target, "synced-from-genesis"), "x");
                const body = archives.byFormat.tar;
                const url = server.serve(`/${n}/snap.tar`, body);
                const res = await runScript(ts, [target], {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256: sha256(body),
                });
                assert.equal(res.code, 0, res.stderr);
                assert.match(res.stderr, /already holds data that this script did not restore/);
                assert.deepEqual(readdirSync(target), ["synced-from-genesis"]);
                assert.equal(server.requests.length, 0);
            });

            it("recovers from a crash mid-extract and removes another snapshot's leftovers", async () => {
                const body = archives.byFormat.tar;
                const sum = sha256(body);
                const stale = `snapshot-${"f".repeat(64)}.part`;
                mkdirSync(path.join(work, `staging-${sum}`, "half-written"), { recursive: true });
                writeFileSync(path.join(work, stale), "old snapshot");
                mkdirSync(target); // empty, as a crash between rmdir and rename could leave it
                const url = server.serve(`/${n}/snap.tar`, body);
                const res = await runScript(ts, [target], {
                    SNAPSHOT_URL: url,
                    SNAPSHOT_SHA256: sum,
                });
                assert.equal(res.code, 0, res.stderr);
                const files = restoredFiles(target);
                assert.deepEqual(files, archives.expected, "no half-written files from the crash");
                assert.deepEqual(leftovers(), []);
            });

            it("never logs or records the URL's query (presigned credentials)", async () => {
                const body = archives.byFormat.tar;
                const url = server.serve(`/${n}/snap.tar`, body);
                const res = await runScript(ts, [target], {
                    SNAPSHOT_URL: `${url}?X-Amz-Signature=s3cr3t`,
                    SNAPSHOT_SHA256: sha256(body),
                });
                assert.equal(res.code, 0, res.stderr);
                assert.doesNotMatch(res.stderr, /s3cr3t/);
                assert.doesNotMatch(
                    readFileSync(path.join(target, SNAPSHOT_MARKER), "utf8"),
                    /s3cr3t/,
                );
            });

            // [name, args, env, message]: usage errors exit 2 before touching anything.
            const usage: [string, (t: string) => string[], Record<string, string>, RegExp][] = [
                [
                    "no target",
                    () => [],
                    { SNAPSHOT_URL: "http://h/x.tar", SNAPSHOT_SHA256: "a".repeat(64) },
                    /TARGET_DIR is missing/,
                ],
                [
                    "a relative target",
                    () => ["data"],
                    { SNAPSHOT_URL: "http://h/x.tar", SNAPSHOT_SHA256: "a".repeat(64) },
                    /absolute path/,
                ],
                [
                    "no URL",
                    (t) => [t],
                    { SNAPSHOT_SHA256: "a".repeat(64) },
                    /SNAPSHOT_URL must be an http\(s\) URL/,
                ],
                [
                    "an ftp URL",
                    (t) => [t],
                    { SNAPSHOT_URL: "ftp://h/x.tar", SNAPSHOT_SHA256: "a".repeat(64) },
                    /http\(s\) URL \(got 'ftp:\/\/h\/x.tar'\)/,
                ],
                [
                    "an upper-case checksum",
                    (t) => [t],
                    { SNAPSHOT_URL: "http://h/x.tar", SNAPSHOT_SHA256: "A".repeat(64) },
                    /64 lower-case hex/,
                ],
                [
                    "a short checksum",
                    (t) => [t],
                    { SNAPSHOT_URL: "http://h/x.tar", SNAPSHOT_SHA256: "abc" },
                    /the sha256 'abc' must be 64/,
                ],
                [
                    "an unknown format",
                    (t) => [t],
                    { SNAPSHOT_URL: "http://h/x.zip", SNAPSHOT_SHA256: "a".repeat(64) },
                    /set SNAPSHOT_FORMAT/,
                ],
                [
                    "zero attempts",
                    (t) => [t],
                    {
                        SNAPSHOT_URL: "http://h/x.tar",
                        SNAPSHOT_SHA256: "a".repeat(64),
                        SNAPSHOT_DOWNLOAD_ATTEMPTS: "0",
                    },
                    /ATTEMPTS must be a whole number >= 1/,
                ],
            ];
            for (const [name, args, env, message] of usage) {
                it(`exits 2 on ${name}`, async () => {
                    const res = await runScript(ts, args(target), env);
                    assert.equal(res.code, 2, res.stderr);
                    assert.match(res.stderr, message);
                    assert.ok(!existsSync(work));
                });
            }
        });
    }

    it("runs as the builder's init container describes it (env, args, script path)", async () => {
        const ts = sets[0];
        const body = archives.byFormat["tar.gz"];
        const url = server.serve(`/${n}/snap.tar.gz`, body);
        const spec = buildSnapshotRestore({
            snapshot: { url, sha256: sha256(body) },
            image: "registry.example/snapshot-tools:1",
            volumeName: "data",
            mountPath: vol,
            targetDir: path.join(vol, "home", "data"),
            configMapName: "snapshot-script",
        });
        // The ConfigMap's script, written where the container would mount it.
        const scriptDir = path.join(dir, "script");
        mkdirSync(scriptDir);
        const script = path.join(scriptDir, SNAPSHOT_SCRIPT_KEY);
        writeFileSync(script, spec.configMapData[SNAPSHOT_SCRIPT_KEY]);
        assert.equal(spec.container.command[1], `${SNAPSHOT_SCRIPT_DIR}/${SNAPSHOT_SCRIPT_KEY}`);
        const env = Object.fromEntries(spec.container.env.map((e) => [e.name, e.value]));
        const res = await runScript(ts, spec.container.args, env, script);
        assert.equal(res.code, 0, res.stderr);
        const files = restoredFiles(path.join(vol, "home", "data"));
        assert.deepEqual(files, archives.expected);
    });
});

// ---- the builder -----------------------------------------------------------------------------

describe("#SnapshotConfigSchema", () => {
    const H1 = "1".repeat(64);
    const H2 = "2".repeat(64);
    const valid: [string, unknown][] = [
        ["one checksum", { url: "https://snap.example/pacific-1.tar.lz4", sha256: H1 }],
        ["http and a query", { url: "http://10.0.0.1:8080/s.tar.gz?sig=x", sha256: H1 }],
        ["a .tgz", { url: "https://s.example/a.tgz", sha256: H1 }],
        ["an explicit format", { url: "https://s.example/latest", sha256: H1, format: "tar.lz4" }],
        [
            "per arch",
            { url: "https://s.example/node-{arch}.tar", sha256: { amd64: H1, arm64: H2 } },
        ],
        ["one arch only", { url: "https://s.example/node-{arch}.tar", sha256: { arm64: H2 } }],
        ["stripComponents", { url: "https://s.example/a.tar", sha256: H1, stripComponents: 1 }],
    ];
    for (const [name, config] of valid) {
        it(`accepts ${name}`, () => {
            const r = SnapshotConfigSchema.safeParse(config);
            assert.ok(r.success, JSON.stringify(r.error?.issues));
        });
    }

    // [name, config, path, message]
    const invalid: [string, unknown, string, RegExp][] = [
        [
            "an ftp URL",
            { url: "ftp://s.example/a.tar", sha256: H1 },
            "url",
            /must be an http\(s\) URL/,
        ],
        ["a file URL", { url: "file:///a.tar", sha256: H1 }, "url", /http\(s\)/],
        ["not a URL", { url: "snapshots/a.tar", sha256: H1 }, "url", /http\(s\)/],
        [
            "upper-case hex",
            { url: "https://s.example/a.tar", sha256: H1.toUpperCase().replace(/1/g, "A") },
            "sha256",
            /64 lower-case hex/,
        ],
        [
            "63 hex",
            { url: "https://s.example/a.tar", sha256: H1.slice(1) },
            "sha256",
            /64 lower-case hex/,
        ],
        [
            "a bad arch checksum",
            { url: "https://s.example/{arch}.tar", sha256: { amd64: "x" } },
            "sha256.amd64",
            /64 lower-case hex/,
        ],
        [
            "an unknown arch",
            { url: "https://s.example/{arch}.tar", sha256: { s390x: H1 } },
            "sha256",
            /s390x/,
        ],
        [
            "no arch at all",
            { url: "https://s.example/{arch}.tar", sha256: {} },
            "sha256",
            /at least one of amd64, arm64/,
        ],
        [
            "per arch without {arch}",
            { url: "https://s.example/a.tar", sha256: { amd64: H1, arm64: H2 } },
            "url",
            /must contain \{arch\}.*two checksums/,
        ],
        [
            "{arch} with one checksum",
            { url: "https://s.example/{arch}.tar", sha256: H1 },
            "sha256",
            /must be per architecture/,
        ],
        ["no format", { url: "https://s.example/latest", sha256: H1 }, "format", /set format/],
        [
            "a bad format",
            { url: "https://s.example/a.zip", sha256: H1, format: "zip" },
            "format",
            /format must be one of tar, tar.gz, tar.lz4/,
        ],
        [
            "an unknown key",
            { url: "https://s.example/a.tar", sha256: H1, checksum: H1 },
            "",
            /checksum/,
        ],
        [
            "a negative strip",
            { url: "https://s.example/a.tar", sha256: H1, stripComponents: -1 },
            "stripComponents",
            /0 or more/,
        ],
    ];
    for (const [name, config, p, message] of invalid) {
        it(`rejects ${name} at "${p}"`, () => {
            const r = SnapshotConfigSchema.safeParse(config);
            assert.ok(!r.success, "expected a failure");
            const issue = r.error.issues.find((i) => i.path.join(".") === p);
            assert.ok(issue, `no issue at "${p}": ${JSON.stringify(r.error.issues)}`);
            assert.match(issue.message, message);
        });
    }
});

describe("#buildSnapshotRestore", () => {
    const H1 = "1".repeat(64);
    const H2 = "2".repeat(64);
    const base = {
        image: "registry.example/snapshot-tools:1",
        volumeName: "data",
        mountPath: "/root/.sei",
        targetDir: "/root/.sei/data",
        configMapName: "sei-snapshot-script",
    };

    it("builds the init container, its script volume and the ConfigMap data", () => {
        const spec = buildSnapshotRestore({
            ...base,
            snapshot: {
                url: "https://s.example/pacific-1.tar.lz4",
                sha256: H1,
                stripComponents: 1,
            },
            owner: { uid: 1000, gid: 1000 },
            downloadAttempts: 3,
        });
        assert.deepEqual(spec.container, {
            name: "snapshot-restore",
            image: base.image,
            command: ["sh", "/chainfleet/snapshot/snapshot-restore.sh"],
            args: ["/root/.sei/data", "/root/.sei/.chainfleet-snapshot"],
            env: [
                { name: "SNAPSHOT_URL", value: "https://s.example/pacific-1.tar.lz4" },
                { name: "SNAPSHOT_SHA256", value: H1 },
                { name: "SNAPSHOT_FORMAT", value: "tar.lz4" },
                { name: "SNAPSHOT_STRIP_COMPONENTS", value: "1" },
                { name: "SNAPSHOT_OWNER", value: "1000:1000" },
                { name: "SNAPSHOT_DOWNLOAD_ATTEMPTS", value: "3" },
            ],
            volumeMounts: [
                { name: "data", mountPath: "/root/.sei" },
                { name: "snapshot-script", mountPath: "/chainfleet/snapshot", readOnly: true },
            ],
        });
        assert.deepEqual(spec.volume, {
            name: "snapshot-script",
            configMap: { name: "sei-snapshot-script", defaultMode: 0o555 },
        });
        const script = readFileSync(SNAPSHOT_SCRIPT_PATH, "utf8");
        assert.deepEqual(spec.configMapData, { "snapshot-restore.sh": script });
        assert.equal(snapshotScript(), script);
        assert.equal(spec.scriptSha256, sha256(script));
    });

    it("passes per-architecture checksums for the script to choose from", () => {
        const snapshot = {
            url: "https://s.example/n-{arch}.tar.gz",
            sha256: { amd64: H1, arm64: H2 },
        };
        const spec = buildSnapshotRestore({ ...base, snapshot });
        assert.deepEqual(spec.container.env, [
            { name: "SNAPSHOT_URL", value: "https://s.example/n-{arch}.tar.gz" },
            { name: "SNAPSHOT_SHA256_AMD64", value: H1 },
            { name: "SNAPSHOT_SHA256_ARM64", value: H2 },
            { name: "SNAPSHOT_FORMAT", value: "tar.gz" },
        ]);
        assert.deepEqual(snapshotArchitectures(snapshot), ["amd64", "arm64"]);
    });

    it("gives a node affinity term only when some architecture lacks a checksum", () => {
        const one = { url: "https://s.example/a.tar", sha256: H1 };
        assert.equal(snapshotArchitectures(one), undefined);
        assert.equal(snapshotNodeAffinity(one), undefined);
        assert.deepEqual(
            snapshotNodeAffinity({ url: "https://s.example/{arch}.tar", sha256: { arm64: H2 } }),
            {
                matchExpressions: [
                    { key: "kubernetes.io/arch", operator: "In", values: ["arm64"] },
                ],
            },
        );
    });

    // [name, overrides, message fragments]
    const bad: [string, Record<string, unknown>, string[]][] = [
        [
            "an invalid snapshot",
            { snapshot: { url: "ftp://x/a.tar", sha256: "abc" } },
            [
                'snapshot.url: url "ftp://x/a.tar" must be an http(s) URL',
                "snapshot.sha256: sha256 must be 64 lower-case hex",
            ],
        ],
        [
            "a target at the mount point",
            { targetDir: "/root/.sei" },
            ['targetDir: "/root/.sei" must be strictly below mountPath'],
        ],
        [
            "a target off the volume",
            { targetDir: "/data" },
            ['targetDir: "/data" must be strictly below mountPath'],
        ],
        [
            "a relative target",
            { targetDir: "data" },
            ['targetDir: "data" must be an absolute path'],
        ],
        [
            "a work dir off the volume",
            { workDir: "/tmp/work" },
            ['workDir: "/tmp/work" must be strictly below mountPath'],
        ],
        [
            "a work dir inside the target",
            { workDir: "/root/.sei/data/tmp" },
            ["must not contain one another"],
        ],
        [
            "a target escaping with ..",
            { targetDir: "/root/.sei/../data" },
            ["must be strictly below mountPath"],
        ],
        ["a bad owner", { owner: { uid: -1, gid: 1.5 } }, ["owner.uid: -1", "owner.gid: 1.5"]],
        [
            "zero attempts",
            { downloadAttempts: 0 },
            ["downloadAttempts: 0 must be a whole number >= 1"],
        ],
    ];
    for (const [name, overrides, fragments] of bad) {
        it(`rejects ${name}`, () => {
            assert.throws(
                () =>
                    buildSnapshotRestore({
                        ...base,
                        snapshot: { url: "https://s.example/a.tar", sha256: H1 },
                        ...overrides,
                    } as Parameters<typeof buildSnapshotRestore>[0]),
                (err: Error) => {
                    assert.match(err.message, /^Invalid snapshot restore options:/);
                    for (const f of fragments)
                        assert.ok(err.message.includes(f), `missing ${f} in:\n${err.message}`);
                    return true;
                },
            );
        });
    }
});
