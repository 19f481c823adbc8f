/**
 * The Rollout provider's contract without a cluster: check() fills defaults and names each bad
 * input with its fix, diff() re-runs only on what changes the target, and the provider serializes
 * and runs in a plain Node process as the engine's dynamic-provider plugin does.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
    ROLLOUT_VERSION,
    RolloutInputs,
    RolloutOutputs,
    UNKNOWN,
    checkRollout,
    rolloutProvider,
} from "../../dynamic-providers";

const valid = (): Record<string, unknown> => ({
    namespace: "chain",
    statefulSetName: "rpc",
    revision: "cf67c289",
});

const reasons = (news: Record<string, unknown>) =>
    (checkRollout(news).failures ?? []).map((f) => `${f.property}: ${f.reason}`);

describe("Rollout provider contract", () => {
    it("fills the defaults and stamps the provider version", () => {
        const { inputs, failures } = checkRollout(valid());
        assert.deepEqual(failures, []);
        assert.deepEqual(inputs, {
            ...valid(),
            maxUnavailable: 1,
            waitFor: "running",
            deadlineSeconds: 3600,
            providerVersion: ROLLOUT_VERSION,
        });
    });

    it("names every bad input and its fix at once", () => {
        const got = reasons({
            namespace: "Bad_NS",
            statefulSetName: "",
            revision: "not a label!",
            maxUnavailable: 0,
            waitFor: "synced",
            deadlineSeconds: 1.5,
        });
        assert.deepEqual(got, [
            'namespace: Rollout.namespace: "Bad_NS" is not valid; use the namespace the StatefulSet runs in',
            "statefulSetName: Rollout.statefulSetName: required; name the StatefulSet whose pods to replace",
            'revision: Rollout.revision: "not a label!" is not valid; give the chainfleet.io/revision label value of the template to roll to',
            "maxUnavailable: Rollout.maxUnavailable: must be >= 1, got 0",
            'waitFor: Rollout.waitFor: "synced" is not one of "running", "ready"',
            "deadlineSeconds: Rollout.deadlineSeconds: must be an integer, got 1.5",
        ]);
    });

    it("leaves values not known at preview to be checked at up", () => {
        assert.deepEqual(reasons({ ...valid(), namespace: UNKNOWN, revision: UNKNOWN }), []);
    });

    it("re-runs for a new revision or provider version, not for tuning knobs", async () => {
        const olds = checkRollout(valid()).inputs as RolloutInputs;
        const diff = (over: Record<string, unknown>) =>
            rolloutProvider.diff!(
                "id",
                olds as RolloutOutputs,
                { ...olds, ...over } as RolloutInputs,
            );
        assert.equal((await diff({ revision: "0badcafe" })).changes, true);
        assert.equal((await diff({ statefulSetName: "other" })).changes, true);
        assert.equal((await diff({ providerVersion: "999" })).changes, true);
        for (const knob of [
            { maxUnavailable: 3 },
            { waitFor: "ready" },
            { deadlineSeconds: 5 },
            { kubeconfig: "/elsewhere" },
        ]) {
            assert.equal((await diff(knob)).changes, false, JSON.stringify(knob));
        }
    });

    it("serializes, and its check() runs in a plain Node process", async function () {
        this.timeout(120_000);
        // Captured through a local, as `new pulumi.dynamic.Resource` captures its argument.
        const provider: object = rolloutProvider;
        const { text } = await pulumi.runtime.serializeFunction(() => provider, {
            allowSecrets: true,
        });
        assert.doesNotMatch(text, /class KubeConfig/, "client-node must be required, not inlined");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-rollout-"));
        const file = path.join(dir, "provider.js");
        fs.writeFileSync(file, text);
        // Loaded as the engine's dynamic-provider server does: compiled from a string, with
        // node_modules resolved from the program directory and no TypeScript loader.
        const driver = `
            const Module = require("module");
            const m = new Module("", null);
            m.paths = Module._nodeModulePaths(process.cwd());
            m._compile(require("fs").readFileSync(${JSON.stringify(file)}, "utf8"), "");
            m.exports.handler().check({}, ${JSON.stringify(valid())})
                .then((out) => process.stdout.write(JSON.stringify(out)));`;
        try {
            const out = JSON.parse(
                execFileSync(process.execPath, ["-e", driver], {
                    cwd: path.resolve(__dirname, "../.."),
                    encoding: "utf8",
                }),
            );
            assert.deepEqual(out.failures, []);
            assert.equal(out.inputs.providerVersion, ROLLOUT_VERSION);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
