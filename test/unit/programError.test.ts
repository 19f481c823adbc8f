/**
 * What the program's top level throws (components/programError.ts): errors Pulumi prints as they
 * are, without the coloured util.inspect that spins for a minute on every program's stack, and
 * with text that still says what to fix.
 */
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { programError } from "../../components/programError";
import { ConfigError, parseStackConfig } from "../../config";
import { Writer } from "protobufjs/minimal";
import { CURRENT_PLAN_PATH } from "../../chains/upgradePlan";
import { checkGroupsAgainstChain } from "../../kube/chainPlan";
import { ClusterReadError, readIncumbents } from "../../kube/incumbent";
import { ChainPlanError, chainPlanError } from "../../lib/chainPlanCheck";
import { fleetGroupArgs } from "../../lib/planGroup";

/**
 * How Pulumi formats an unhandled program error (cmd/run/run.ts, for the message and for its
 * tracing span): internal to the SDK, hence required by path.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultErrorMessage } = require("@pulumi/pulumi/cmd/run/error") as {
    defaultErrorMessage(err: unknown): string;
};

/** The last frame of every program's stack under Pulumi (the SDK's source maps point there). */
const PULUMI_FRAME =
    "    at async Stack.initializeAndRegisterOutputs (/w/node_modules/@pulumi/resource.ts:1598:22)";

/** A kubeconfig for a plain-HTTP API server at `url`. */
function kubeconfigFor(url: string, dir: string): string {
    const file = path.join(dir, "kubeconfig");
    fs.writeFileSync(
        file,
        JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "c", cluster: { server: url, "insecure-skip-tls-verify": true } }],
            users: [{ name: "u", user: { token: "t" } }],
            contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
            "current-context": "x",
        }),
    );
    return file;
}

describe("programError (components/programError.ts)", () => {
    it("an incumbent read refused with 403: a RunError naming the missing permission, no stack", async () => {
        const user = "system:serviceaccount:chainfleet-deploy:chainfleet-deploy-dev";
        const body = JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            message: `services "rpc" is forbidden: User "${user}" cannot get resource "services" in API group "" in the namespace "dev"`,
            reason: "Forbidden",
            details: { name: "rpc", kind: "services" },
            code: 403,
        });
        const server = http.createServer((_req, res) => {
            res.writeHead(403, { "content-type": "application/json" }).end(body);
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-programError-"));
        try {
            const port = (server.address() as { port: number }).port;
            const kubeconfig = kubeconfigFor(`http://127.0.0.1:${port}`, dir);
            const err = await readIncumbents(
                { namespace: "dev", network: "dev", groups: { rpc: {} } },
                { kubeconfig },
            ).then(
                () => assert.fail("the read succeeded"),
                (e: unknown) => e,
            );
            assert.ok(err instanceof ClusterReadError, String(err));
            const thrown = programError(err);
            assert.ok(pulumi.RunError.isInstance(thrown), "a RunError: printed as its message");
            assert.equal(
                thrown.message,
                "cannot read Service dev/rpc: the deploying identity lacks get on services in " +
                    "namespace dev; see README §Deploy jobs",
            );
        } finally {
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a config error: a RunError with every problem", () => {
        let err: unknown;
        try {
            parseStackConfig({ network: "dev", chain: "cometbftx", groups: {} });
        } catch (e) {
            err = e;
        }
        assert.ok(err instanceof ConfigError);
        const thrown = programError(err);
        assert.ok(pulumi.RunError.isInstance(thrown));
        assert.equal(thrown.message, err.message);
        assert.match(thrown.message, /chain must be one of/);
    });

    it("a HardFork the chain contradicts (index.ts's check): a RunError with each problem", async () => {
        const config = parseStackConfig({
            network: "testnet",
            chain: "sei",
            chainId: "atlantic-2",
            groups: {
                archive: {
                    replicas: 1,
                    image: "ghcr.io/sei-protocol/sei:v6.1.0",
                    storage: { size: "1Ti" },
                    update: {
                        strategy: "HardFork",
                        haltHeight: 5600,
                        entrantVolumes: "cloneIncumbent",
                    },
                },
            },
        });
        const incumbents = { archive: { set: "archive-aaaaaaaa", revision: "aaaaaaaa" } };
        const plan = Writer.create().uint32(0x0a).fork();
        plan.uint32(0x0a).string("v6.1.0").uint32(0x18).int64(5700).ldelim();
        const answers: Record<string, unknown> = {
            "/status": {
                result: {
                    node_info: { network: "atlantic-2", version: "v6.0.0" },
                    sync_info: {
                        latest_block_height: "1",
                        latest_block_time: new Date().toISOString(),
                        catching_up: false,
                    },
                },
            },
            [CURRENT_PLAN_PATH]: {
                result: {
                    response: { value: Buffer.from(plan.finish()).toString("base64") },
                },
            },
        };
        const checks = await checkGroupsAgainstChain(
            fleetGroupArgs(config.network, config, incumbents),
            {},
            {
                readyPods: async () => ["archive-aaaaaaaa-0"],
                get: async (_ns, _pod, _port, p) => answers[p],
            },
        );
        const err = chainPlanError(checks);
        assert.ok(err instanceof ChainPlanError);
        const thrown = programError(err);
        assert.ok(pulumi.RunError.isInstance(thrown));
        assert.equal(thrown.stack, "");
        assert.equal(
            thrown.message,
            "The chain disagrees with the stack config (1 problem); nothing was changed:\n" +
                "  - group archive: the chain's plan v6.1.0 is at height 5700, but " +
                "groups.archive.update.haltHeight is 5600: set it to 5700 (CurrentPlan on archive-aaaaaaaa-0)",
        );
    });

    it("a ResourceError: still on its resource, its stack in the text, the stack hidden", () => {
        const err = new pulumi.ResourceError("rpc: the plan has a problem", undefined);
        const thrown = programError(err);
        assert.ok(pulumi.ResourceError.isInstance(thrown));
        assert.equal(thrown.hideStack, true);
        assert.match(thrown.message, /^ResourceError: rpc: the plan has a problem\n\s+at /);
        // One that hides its stack already keeps its message alone.
        const hidden = programError(new pulumi.ResourceError("quiet", undefined, true));
        assert.ok(pulumi.ResourceError.isInstance(hidden));
        assert.equal(hidden.message, "quiet");
    });

    it("anything else: a RunError with the stack and the cause, as Pulumi's own fallback prints", () => {
        const err = new Error("unexpected", { cause: new Error("underneath") });
        const thrown = programError(err);
        assert.ok(pulumi.RunError.isInstance(thrown));
        assert.match(thrown.message, /^Error: unexpected\n\s+at /);
        assert.match(thrown.message, /\[cause\]: Error: underneath/);
        const run = new pulumi.RunError("already a RunError");
        assert.equal(programError(run), run);
    });

    it("gives Pulumi's formatter nothing to spin on: no stack, so the message alone", () => {
        // With this frame in its stack, Pulumi's formatter spins for half a minute or more.
        const program = new Error("refused", { cause: new Error("underneath") });
        program.stack = `Error: refused\n${PULUMI_FRAME}`;
        const config = new ConfigError([{ path: "chain", value: '"x"', rule: "a chain" }]);
        const resource = new pulumi.ResourceError("plan problem", undefined);
        resource.stack = `ResourceError: plan problem\n${PULUMI_FRAME}`;
        for (const err of [program, config, resource, new pulumi.RunError("run")]) {
            const started = Date.now();
            const thrown = programError(err);
            assert.equal(thrown.stack, "", `${err.message}: no stack`);
            assert.equal(defaultErrorMessage(thrown), thrown.message);
            assert.ok(Date.now() - started < 2000, `${err.message}: ${Date.now() - started} ms`);
        }
        assert.ok(programError(program).message.includes(PULUMI_FRAME));
    });
});
