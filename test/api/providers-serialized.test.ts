/**
 * A provider as the engine runs it: serialized by Pulumi, loaded from text in a plain Node
 * process (no ts-node registered), then `create` against the real cluster and a real node. This
 * catches what only breaks out of the program process: captured modules, the chain adapters'
 * run-time loading, kube clients built inside the method.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { heightGateProvider } from "../../dynamic-providers";
import { CometChain, status } from "./harness/cometbft";
import {
    HARNESS_SCHEDULER,
    clients,
    createNamespace,
    deleteNamespace,
    kubeAccess,
    requireCluster,
} from "./harness/kube";

const repoRoot = path.resolve(__dirname, "../..");

describe("api: a serialized provider in its own process", function () {
    this.timeout(120_000);
    let ns = "";
    let chain: CometChain | undefined;
    let dir = "";

    before(async () => {
        await requireCluster();
        ns = await createNamespace("ser");
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-ser-api-"));
        chain = new CometChain({ dir: path.join(dir, "chain") });
    });
    after(async () => {
        await chain?.dispose();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        if (ns) {
            await deleteNamespace(ns);
        }
    });

    it("HeightGate atHeight passes from the serialized text", async () => {
        const validator = await chain!.startValidator();
        await clients().core.createNamespacedPod({
            namespace: ns,
            body: {
                metadata: { name: "entrant-0", labels: { rev: "b" } },
                spec: {
                    schedulerName: HARNESS_SCHEDULER,
                    containers: [{ name: "node", image: "example.invalid/n:1" }],
                },
            },
        });
        const target = (await status(validator.rpcUrl)).height + 3;
        const { inputs } = await heightGateProvider.check!(
            {} as never,
            {
                ...kubeAccess(),
                namespace: ns,
                chain: "cometbft",
                mode: "atHeight",
                targetHeight: target,
                entrantSelector: { rev: "b" },
                replicas: 1,
                rpcMode: "direct",
                directUrls: { "entrant-0": validator.rpcUrl },
                deadlineSeconds: 60,
            } as never,
        );

        // A local, as in pulumi.dynamic.Resource: `() => provider` captures the object itself.
        const provider = heightGateProvider;
        const text = (
            await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })
        ).text;
        const file = path.join(dir, "provider.js");
        fs.writeFileSync(file, text);
        const driver = `
            const Module = require("module");
            const m = new Module("", null);
            m.paths = Module._nodeModulePaths(process.cwd());
            m._compile(require("fs").readFileSync(${JSON.stringify(file)}, "utf8"), "");
            m.exports.handler().create(${JSON.stringify(inputs)}).then(
                (r) => console.log("RESULT " + JSON.stringify(r)),
                (e) => { console.error(e); process.exit(1); });`;
        const env = Object.fromEntries(
            Object.entries(process.env).filter(([k]) => !k.startsWith("TS_NODE")),
        );
        const { stdout } = await promisify(execFile)(process.execPath, ["-e", driver], {
            cwd: repoRoot,
            env,
        });
        const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
        assert.ok(line, stdout);
        const res = JSON.parse(line.slice("RESULT ".length));
        assert.ok(res.outs.heights["entrant-0"] >= target);
        assert.match(stdout, /\[HeightGate atHeight .*\] passed after/);
    });
});
