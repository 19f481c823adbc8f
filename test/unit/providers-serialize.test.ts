/**
 * The providers run in a separate process from serialized closures. These tests serialize each
 * provider the way `new pulumi.dynamic.Resource` does, load the text in a plain Node process
 * (no ts-node registered, like the engine's dynamic-provider plugin) and call it. Serialization
 * failures (a captured native function, an ES module inlined by value) surface here, not at
 * `pulumi up`.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
    HEIGHT_GATE_DEFAULTS,
    bootstrapProvider,
    heightGateProvider,
    imageBuildProvider,
    rolloutProvider,
    trafficSwitchProvider,
} from "../../dynamic-providers";
import { loadChains } from "../../dynamic-providers/chainsLoader";
import { readBuildContext } from "../../dynamic-providers/imageBuildContext";
import { Deadline, InputChecker, Progress } from "../../dynamic-providers/common";
import { isTransient } from "../../kube/kube";
import { Waker, WatchedList } from "../../kube/watch";

const repoRoot = path.resolve(__dirname, "../..");

/** Loads serialized text like the engine's dynamic-provider server and runs `script` on it. */
function runSerialized(text: string, script: string, env: NodeJS.ProcessEnv = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-ser-"));
    const file = path.join(dir, "provider.js");
    fs.writeFileSync(file, text);
    const driver = `
        const Module = require("module");
        const m = new Module("", null);
        m.paths = Module._nodeModulePaths(process.cwd());
        m._compile(require("fs").readFileSync(${JSON.stringify(file)}, "utf8"), "");
        const handler = m.exports.handler();
        (async () => { ${script} })().then((out) => process.stdout.write(JSON.stringify(out)),
            (err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });`;
    try {
        return execFileSync(process.execPath, ["-e", driver], {
            cwd: repoRoot,
            encoding: "utf8",
            env: { ...process.env, ...env },
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function serialize(provider: object): Promise<string> {
    const res = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    return res.text;
}

describe("#providers serialization", function () {
    this.timeout(120_000);

    const cases: [string, object, Record<string, unknown>][] = [
        [
            "HeightGate",
            heightGateProvider,
            {
                namespace: "ns",
                chain: "cometbft",
                mode: "running",
                entrantSelector: { a: "b" },
                replicas: 1,
            },
        ],
        [
            "Bootstrap",
            bootstrapProvider,
            {
                namespace: "ns",
                pvcName: "data",
                haltHeight: 5,
                job: {
                    metadata: { name: "j" },
                    spec: {
                        template: {
                            spec: {
                                restartPolicy: "Never",
                                containers: [],
                                volumes: [
                                    { name: "d", persistentVolumeClaim: { claimName: "data" } },
                                ],
                            },
                        },
                    },
                },
            },
        ],
        [
            "TrafficSwitch",
            trafficSwitchProvider,
            { namespace: "ns", serviceName: "s", selector: { a: "b" } },
        ],
        [
            "Rollout",
            rolloutProvider,
            { namespace: "ns", statefulSetName: "s", revision: "abcdef12" },
        ],
        [
            "ImageBuild",
            imageBuildProvider,
            {
                imageName: "127.0.0.1:5000/m:e2e",
                context: repoRoot,
                dockerfile: "monitor/Dockerfile",
                contextHash: "0".repeat(64),
            },
        ],
    ];
    for (const [name, provider, inputs] of cases) {
        it(`${name} serializes and its check() runs in a plain Node process`, async () => {
            const text = await serialize(provider);
            assert.doesNotMatch(
                text,
                /class KubeConfig/,
                "client-node must be required, not inlined",
            );
            const out = JSON.parse(
                runSerialized(text, `return handler.check({}, ${JSON.stringify(inputs)});`),
            );
            assert.deepEqual(out.failures, [], JSON.stringify(out));
            assert.ok(out.inputs.providerVersion);
        });
    }

    it("the provider kit travels along: defaults, version stamp, diff and the settled path", async () => {
        // Every provider is built by dynamic-providers/kit.ts; what the kit adds must work in
        // the provider process too, not only in the program.
        const gate = { namespace: "ns", chain: "cometbft", mode: "running", replicas: 1 };
        const inputs = { ...gate, entrantSelector: { a: "b" } };
        const out = JSON.parse(
            runSerialized(
                await serialize(heightGateProvider),
                `const checked = await handler.check({}, ${JSON.stringify(inputs)});
                 const diff = await handler.diff("id", { ...checked.inputs, providerVersion: "0" },
                     checked.inputs);
                 const settled = await handler.create({ ...checked.inputs, settled: true });
                 return { checked, diff, settled };`,
            ),
        );
        assert.equal(out.checked.inputs.tolerance, HEIGHT_GATE_DEFAULTS.tolerance);
        assert.equal(out.checked.inputs.providerVersion, "1");
        assert.deepEqual(out.diff, { changes: true, changed: ["providerVersion"] });
        assert.equal(out.settled.outs.referenceHeight, -1);
        assert.match(out.settled.id, /^ns\/running\//);
    });

    it("ImageBuild builds and pushes in the provider process, through a stub docker on PATH", async () => {
        // The whole create: the context read and tarred there, execFile, the deadline, the
        // digest read back. The stub answers like the Docker CLI and logs what it was asked.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-ser-docker-"));
        const digest = `sha256:${"d".repeat(64)}`;
        fs.writeFileSync(
            path.join(dir, "docker"),
            [
                "#!/bin/sh",
                `echo "$*" >>"${dir}/calls"`,
                "case $1 in",
                "version) echo 28.2.2 ;;",
                `build) wc -c >"${dir}/stdin"; while [ $# -gt 0 ]; do`,
                `  if [ "$1" = --iidfile ]; then printf sha256:1 >"$2"; fi; shift; done ;;`,
                `push) echo "e2e: digest: ${digest} size: 1" ;;`,
                `image) echo '["127.0.0.1:5000/m@${digest}"]' ;;`,
                "esac",
            ].join("\n"),
            { mode: 0o755 },
        );
        try {
            const inputs = {
                imageName: "127.0.0.1:5000/m:e2e",
                context: repoRoot,
                dockerfile: "monitor/Dockerfile",
                contextHash: (await readBuildContext(repoRoot, "monitor/Dockerfile")).hash,
            };
            const text = runSerialized(
                await serialize(imageBuildProvider),
                `const checked = await handler.check({}, ${JSON.stringify(inputs)});
                 const created = await handler.create(checked.inputs);
                 const diff = await handler.diff(created.id, created.outs, checked.inputs);
                 return { failures: checked.failures, created, diff };`,
                { PATH: `${dir}:${process.env.PATH}` },
            );
            const out = JSON.parse(text.slice(text.lastIndexOf("\n{") + 1));
            assert.deepEqual(out.failures, []);
            assert.equal(out.created.outs.repoDigest, `127.0.0.1:5000/m@${digest}`);
            assert.equal(out.created.outs.imageId, "sha256:1");
            assert.deepEqual(out.diff, { changes: false, changed: [] });
            const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
            assert.deepEqual(
                calls.map((c) => c.split(" ")[0]),
                ["version", "build", "push", "image"],
            );
            const sent = Number(fs.readFileSync(path.join(dir, "stdin"), "utf8").trim());
            assert.equal(sent, (await readBuildContext(repoRoot, "monitor/Dockerfile")).tar.length);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("captured classes keep their state and captured tables still work", async () => {
        // Pulumi's serializer drops class field initializers and turns captured Sets into plain
        // objects; these are the shapes that broke before, exercised in the provider process.
        const probe = {
            run: async () => {
                const d = new Deadline(10);
                const c = new InputChecker({}, "T");
                c.string("x");
                const w = new Waker();
                w.notify();
                await w.wait(10_000);
                const l = new WatchedList({
                    what: "x",
                    watch: undefined as never,
                    path: "/",
                    list: undefined as never,
                });
                new Progress("[p]").report("hello");
                return {
                    remaining: d.remainingMs() > 9000,
                    failures: c.failures.length,
                    items: l.items.size,
                    stats: l.stats.lists,
                    transient:
                        isTransient({ statusCode: 503 }) && !isTransient({ statusCode: 404 }),
                };
            },
        };
        const text = runSerialized(await serialize(probe), "return handler.run();");
        assert.match(text, /^\[p\] hello\n/);
        const out = JSON.parse(text.replace(/^\[p\] hello\n/, ""));
        assert.deepEqual(out, {
            remaining: true,
            failures: 1,
            items: 0,
            stats: 0,
            transient: true,
        });
    });

    it("chain adapters load at run time in a process without a .ts loader", async () => {
        const probe = {
            statusPath: () => loadChains().adapterFor("cometbft").statusPath,
        };
        const out = runSerialized(await serialize(probe), "return handler.statusPath();");
        assert.equal(JSON.parse(out), "/status");
    });
});
