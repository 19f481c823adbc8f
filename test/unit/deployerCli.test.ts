/**
 * `npm run deployer` (scripts/deployer.ts) as a user runs it: a committed stack's identity comes
 * out as YAML `kubectl apply` takes, a kubeconfig is written readable by its owner only, and a
 * wrong argument exits 2 naming the flag and the fix.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { runDeployer } from "../../scripts/deployer";

const ROOT = path.join(__dirname, "..", "..");

/** The command in this process (fast); one case below runs it as npm does. */
function deployer(...args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = runDeployer(args, {
        out: (t) => (stdout += t),
        err: (t) => (stderr += t),
        cwd: ROOT,
    });
    return { code, stdout, stderr };
}

describe("npm run deployer (scripts/deployer.ts)", () => {
    let dir: string;
    before(() => {
        dir = mkdtempSync(path.join(tmpdir(), "deployer-cli-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("prints the identity of a committed stack, ready for kubectl apply", () => {
        const r = deployer("-s", "sei-testnet");
        assert.equal(r.code, 0, r.stderr);
        const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
        assert.deepEqual(
            docs.map((d) => d.kind),
            [
                "Namespace",
                "Namespace",
                "ServiceAccount",
                "Secret",
                "Role",
                "RoleBinding",
                "ClusterRole",
                "ClusterRoleBinding",
            ],
        );
        const config = parse(readFileSync(path.join(ROOT, "Pulumi.sei-testnet.yaml"), "utf8"));
        const ns = config.config["chainfleet:namespace"] ?? config.config["chainfleet:network"];
        const role = docs.find((d) => d.kind === "Role");
        assert.equal(role.metadata.namespace, ns);
        // The stack has a HardFork group: its bootstrap Jobs are in the Role.
        assert.ok(role.rules.some((r: { resources: string[] }) => r.resources.includes("jobs")));
        assert.match(r.stdout, /^# The deploying identity of stack Pulumi\.sei-testnet\.yaml/);
    });

    it("writes a kubeconfig readable by its owner only", () => {
        const ca = path.join(dir, "ca.crt");
        const token = path.join(dir, "token");
        const out = path.join(dir, "kubeconfig");
        writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        writeFileSync(token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n");
        const r = deployer(
            "-s",
            "fuji",
            "--kubeconfig-out",
            out,
            "--server",
            "https://203.0.113.10:6443",
            "--ca",
            ca,
            "--token-file",
            token,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(statSync(out).mode & 0o777, 0o600);
        const kc = parse(readFileSync(out, "utf8"));
        assert.equal(kc.users[0].user.token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
        assert.equal(kc.contexts[0].context.namespace, "avalanche-fuji");
        assert.match(r.stderr, /auth can-i --list -n avalanche-fuji/);
    });

    for (const [name, args, message] of [
        ["no stack", [], /give the stack: -s <stack>/],
        ["a stack without a file", ["-s", "nope"], /-s: Pulumi\.nope\.yaml does not exist/],
        [
            "--kubeconfig-out without --server",
            ["-s", "fuji", "--kubeconfig-out", "/nonexistent/kc"],
            /--kubeconfig-out needs --server/,
        ],
    ] as const) {
        it(`exits 2 on ${name}, naming the flag`, () => {
            const r = deployer(...args);
            assert.equal(r.code, 2, r.stderr);
            assert.match(r.stderr, message);
            assert.equal(r.stdout, "");
        });
    }

    it("sets the process exit code when run as a script", function () {
        this.timeout(60_000); // starts ts-node
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "scripts/deployer.ts", "-s", "nope"],
            { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^deployer: -s: Pulumi\.nope\.yaml does not exist/);
    });
});
