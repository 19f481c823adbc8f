// The shell the adapters put into pods, run for real: the readiness script against /status
// answers served by stand-in curl and wget.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { adapterFor } from "../../chains";
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
