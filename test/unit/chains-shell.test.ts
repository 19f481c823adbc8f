// The shell the adapters put into pods, run for real: the readiness script against /status
// answers served by stand-in curl and wget, and the halt wrapper around real child processes.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { adapterFor } from "../../chains";
import { exitZeroOnHalt, haltWrapperScript } from "../../chains/halt";
import { statusProbeScript } from "../../chains/probes";
import { DELETE, fixture, withField } from "../testdata/chains/fixtures";

/** The tools the probe may use besides curl/wget; linked into a PATH we control. */
const TOOLS = ["grep", "sed", "head", "cat"];

/** The shells the probe must run under: dash (Debian's sh) and busybox (Alpine, Sei's images). */
const SHELLS: { name: string; argv: string[] }[] = [
    { name: "/bin/sh", argv: ["/bin/sh"] },
    { name: "busybox sh", argv: ["/usr/bin/busybox", "sh"] },
];

function which(tool: string): string {
    const found = spawnSync("/bin/sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
    assert.equal(found.status, 0, `test needs ${tool} on PATH`);
    return found.stdout.trim();
}

let dir: string;

/** A bin directory with the tools, and a fake `fetcher` that logs its args and prints `body`. */
function binWith(fetchers: ("curl" | "wget")[], body: string | undefined): string {
    const bin = mkdtempSync(path.join(dir, "bin-"));
    for (const tool of TOOLS) symlinkSync(which(tool), path.join(bin, tool));
    const bodyFile = path.join(bin, "body.json");
    if (body !== undefined) writeFileSync(bodyFile, body);
    for (const f of fetchers) {
        const script = [
            "#!/bin/sh",
            `echo "${f} $*" >> "${path.join(bin, "calls.log")}"`,
            // No body means the node is down: what curl -f / wget print on connection refused.
            body === undefined
                ? `echo "${f}: connection refused" >&2; exit 7`
                : `cat "${bodyFile}"`,
        ].join("\n");
        writeFileSync(path.join(bin, f), script);
        chmodSync(path.join(bin, f), 0o755);
    }
    return bin;
}

function runProbe(shell: string[], bin: string): { status: number | null; stderr: string } {
    const script = statusProbeScript(26657);
    const res = spawnSync(shell[0], [...shell.slice(1), "-c", script], {
        env: { PATH: bin },
        encoding: "utf8",
    });
    return { status: res.status, stderr: res.stderr };
}

const compact = (name: string) => JSON.stringify(fixture(name));
const pretty = (name: string) => JSON.stringify(fixture(name), null, 4);
const CAUGHT_UP = "cometbft/status-v0.38.19-caught-up.json";

const cases: { name: string; body: string | undefined; ready: boolean; reason?: RegExp }[] = [
    { name: "real caught-up node, compact as sent", body: compact(CAUGHT_UP), ready: true },
    { name: "real caught-up node, pretty-printed", body: pretty(CAUGHT_UP), ready: true },
    {
        name: "OpenAPI example",
        body: compact("cometbft/status-docs-example.json"),
        ready: true,
    },
    { name: "Sei, enveloped", body: compact("sei/status-caught-up.json"), ready: true },
    {
        name: "real node in block sync",
        body: compact("cometbft/status-v0.38.19-catching-up.json"),
        ready: false,
        reason: /catching up/,
    },
    {
        name: "real node just started",
        body: compact("cometbft/status-v0.38.19-fresh.json"),
        ready: false,
        reason: /catching up/,
    },
    {
        name: "Sei without envelope, catching up",
        body: pretty("sei/status-catching-up-unwrapped.json"),
        ready: false,
        reason: /catching up/,
    },
    {
        name: "not catching up but at height 0",
        body: JSON.stringify(
            withField(fixture(CAUGHT_UP), "result.sync_info.latest_block_height", "0"),
        ),
        ready: false,
        reason: /no block yet \(latest_block_height '0'\)/,
    },
    {
        name: "not catching up, no height at all",
        body: JSON.stringify(
            withField(fixture(CAUGHT_UP), "result.sync_info.latest_block_height", DELETE),
        ),
        ready: false,
        reason: /no block yet \(latest_block_height ''\)/,
    },
    { name: "an HTML error page", body: "<html>502</html>", ready: false, reason: /catching up/ },
    { name: "node down", body: undefined, ready: false, reason: /connection refused/ },
];

describe("chains: readiness probe script", () => {
    before(() => {
        dir = mkdtempSync(path.join(tmpdir(), "chainfleet-probe-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const shell of SHELLS) {
        describe(`under ${shell.name}`, () => {
            before(function () {
                if (!existsSync(shell.argv[0])) this.skip();
            });

            for (const c of cases) {
                it(`${c.ready ? "passes" : "fails"} for ${c.name} (curl)`, () => {
                    const res = runProbe(shell.argv, binWith(["curl"], c.body));
                    assert.equal(res.status, c.ready ? 0 : 1, res.stderr);
                    if (c.reason) assert.match(res.stderr, c.reason);
                });
            }

            it("falls back to wget when the image has no curl", () => {
                const bin = binWith(["wget"], compact(CAUGHT_UP));
                assert.equal(runProbe(shell.argv, bin).status, 0);
                const calls = spawnSync("cat", [path.join(bin, "calls.log")], { encoding: "utf8" });
                assert.equal(calls.stdout, "wget -q -O - http://127.0.0.1:26657/status\n");
            });

            it("asks curl for localhost:26657/status, failing on HTTP errors, with a timeout", () => {
                const bin = binWith(["curl", "wget"], compact(CAUGHT_UP));
                assert.equal(runProbe(shell.argv, bin).status, 0);
                const calls = spawnSync("cat", [path.join(bin, "calls.log")], { encoding: "utf8" });
                assert.equal(
                    calls.stdout,
                    "curl -fsS --max-time 5 http://127.0.0.1:26657/status\n",
                );
            });

            it("fails, saying why, when the image has neither curl nor wget", () => {
                const res = runProbe(shell.argv, binWith([], compact(CAUGHT_UP)));
                assert.equal(res.status, 1);
                assert.match(res.stderr, /neither curl nor wget is in the image/);
            });
        });
    }

    it("is the script the cometbft and sei readiness probes run", () => {
        for (const kind of ["cometbft", "sei"] as const) {
            const exec = adapterFor(kind).readinessProbe.exec as { command: string[] };
            assert.equal(exec.command[2], statusProbeScript(26657));
        }
    });
});

/** Runs `node -e program` under the halt wrapper; resolves with its exit code and output. */
function runWrapped(
    program: string,
    onSpawn?: (pid: number) => void,
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
    const { command, args } = exitZeroOnHalt([process.execPath, "-e", program], [0, 130]);
    const child = spawn(command[0], [...command.slice(1), ...args], {
        stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (onSpawn && stdout.includes("READY")) {
            onSpawn(child.pid as number);
            onSpawn = undefined;
        }
    });
    return new Promise((resolve) => {
        child.on("close", (code, signal) => resolve({ code, signal, stdout }));
    });
}

describe("chains: halt wrapper", () => {
    const exits: [string, string, number][] = [
        ["exit 130 (seid's halt)", "process.exit(130)", 0],
        ["exit 0", "process.exit(0)", 0],
        ["exit 1 (a crash)", "process.exit(1)", 1],
        ["exit 143 (killed by SIGTERM, not a halt)", "process.exit(143)", 143],
    ];
    for (const [name, program, want] of exits) {
        it(`maps ${name} to ${want}`, async () => {
            const res = await runWrapped(program);
            assert.equal(res.code, want);
            const said = /node halted on purpose/.test(res.stdout);
            assert.equal(said, want === 0, res.stdout);
        });
    }

    it("lets a node halt by sending itself SIGINT, as the Cosmos SDK does", async () => {
        // Like Go's signal.Notify, a Node listener re-enables the SIGINT that sh ignores for
        // background jobs; the handler then exits 128 + 2, as seid does.
        const program = [
            'process.on("SIGINT", () => process.exit(130));',
            'setTimeout(() => process.kill(process.pid, "SIGINT"), 50);',
            // Gives up after 5 s, so a broken wrapper fails the test instead of hanging it.
            "setTimeout(() => process.exit(99), 5000);",
        ].join("\n");
        const res = await runWrapped(program);
        assert.equal(res.code, 0);
        assert.match(res.stdout, /node halted on purpose \(exit 130\)/);
    });

    // A stop is never a halt: seid exits 0 on SIGTERM, and an INT from outside is not the
    // node's own SIGINT. Whatever the node exits with, the wrapper reports the stop.
    const stops: [string, NodeJS.Signals, number, number][] = [
        ["exits 0 on SIGTERM, as seid does", "SIGTERM", 0, 143],
        ["exits 130 on SIGTERM", "SIGTERM", 130, 143],
        ["exits 42 on SIGTERM", "SIGTERM", 42, 143],
        ["exits 130 on a SIGINT from outside", "SIGINT", 130, 130],
    ];
    for (const [name, signal, nodeCode, want] of stops) {
        it(`a node stopped by the pod's ${signal} that ${name} is not a halt: exit ${want}`, async () => {
            const program = [
                `process.on("${signal}", () => { console.log("node got ${signal}"); process.exit(${nodeCode}); });`,
                'console.log("READY");',
                // Gives up after 5 s, so a broken wrapper fails the test instead of hanging it.
                "setTimeout(() => process.exit(99), 5000);",
            ].join("\n");
            const res = await runWrapped(program, (pid) => process.kill(pid, signal));
            // The node got the signal and finished before the wrapper exited.
            assert.match(res.stdout, new RegExp(`node got ${signal}`));
            assert.equal(res.code, want);
            assert.doesNotMatch(res.stdout, /halted on purpose/);
        });
    }

    it("refuses an empty or impossible list of halt codes", () => {
        assert.throws(() => haltWrapperScript([]), /haltExitCodes must list exit codes/);
        assert.throws(() => haltWrapperScript([256]), /integers 0-255\), got \[256\]/);
    });
});
