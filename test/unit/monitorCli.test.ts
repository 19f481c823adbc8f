/** The command line: flags and env reach the commands typed and defaulted; bad input is named. */
import * as assert from "node:assert/strict";
import { EXIT } from "../../monitor/constants";
import type { InitOptions, WaitOptions } from "../../monitor/options";
import { Handlers, runCli } from "../../monitor/program";

const REQUIRED = [
    "--namespace=ns",
    "--pod-name=t-0",
    "--statefulset=t",
    "--chain=cometbft",
    "--data-dir=/cometbft",
    "--sync-mode=full-sync",
    "--follow-image=ghcr.io/org/node:master",
];

const READ_ENV = /^(MONITOR_|POD_NAME$|POD_NAMESPACE$|KUBECONFIG$)/;

/** Runs the CLI with recording handlers; returns what they got and what commander printed. */
async function run(argv: string[], env: Record<string, string> = {}) {
    const got: { init?: InitOptions; wait?: WaitOptions } = {};
    const handlers: Handlers = {
        init: async (o) => ((got.init = o), 0),
        wait: async (o) => ((got.wait = o), 7),
    };
    let out = "";
    // The flags read these variables; the shell running the tests may have some set.
    const keys = Object.keys(process.env).filter((k) => READ_ENV.test(k));
    const saved = { ...process.env };
    keys.forEach((k) => delete process.env[k]);
    Object.assign(process.env, env);
    try {
        const code = await runCli(argv, handlers, {
            writeOut: (s) => (out += s),
            writeErr: (s) => (out += s),
        });
        return { code, got, out };
    } finally {
        for (const key of new Set([...keys, ...Object.keys(env)])) {
            if (saved[key] === undefined) delete process.env[key];
            else process.env[key] = saved[key];
        }
    }
}

describe("monitor CLI", () => {
    it("parses init with defaults", async () => {
        const { code, got } = await run(["init", ...REQUIRED]);
        assert.equal(code, 0);
        assert.deepEqual(got.init, {
            namespace: "ns",
            podName: "t-0",
            statefulSet: "t",
            nodeContainer: "node",
            nodeInitContainers: [],
            chain: "cometbft",
            dataDir: "/cometbft",
            syncMode: "full-sync",
            followImage: "ghcr.io/org/node:master",
            plainHttpRegistries: [],
            terminationWaitSeconds: 300,
        });
    });

    it("parses wait-for-completion, returning the command's exit code", async () => {
        const { code, got } = await run([
            "wait-for-completion",
            ...REQUIRED,
            "--check-interval=5",
            "--poll-tag-interval",
            "30",
            "--keep-last=3",
            "--max-node-restarts=9",
            "--status-url=http://127.0.0.1:1234/status",
            "--registry-auth-file=/auth/config.json",
            "--plain-http-registry=a:5000",
            "--plain-http-registry=b:5000",
        ]);
        assert.equal(code, 7);
        assert.deepEqual(
            {
                checkIntervalSeconds: got.wait?.checkIntervalSeconds,
                pollTagIntervalSeconds: got.wait?.pollTagIntervalSeconds,
                keepLast: got.wait?.keepLast,
                maxNodeRestarts: got.wait?.maxNodeRestarts,
                resultsConfigMap: got.wait?.resultsConfigMap,
                statusUrl: got.wait?.statusUrl,
                registryAuthFile: got.wait?.registryAuthFile,
                plainHttpRegistries: got.wait?.plainHttpRegistries,
            },
            {
                checkIntervalSeconds: 5,
                pollTagIntervalSeconds: 30,
                keepLast: 3,
                maxNodeRestarts: 9,
                resultsConfigMap: "t-results",
                statusUrl: "http://127.0.0.1:1234/status",
                registryAuthFile: "/auth/config.json",
                plainHttpRegistries: ["a:5000", "b:5000"],
            },
        );
    });

    it("reads the pod's identity from the env the manifest sets", async () => {
        const args = REQUIRED.filter(
            (a) => !a.startsWith("--namespace") && !a.startsWith("--pod-name"),
        );
        const { code, got } = await run(["init", ...args], {
            POD_NAMESPACE: "from-env",
            POD_NAME: "p-0",
        });
        assert.equal(code, 0);
        assert.equal(got.init?.namespace, "from-env");
        assert.equal(got.init?.podName, "p-0");
    });

    it("prints help for each command and exits 0", async () => {
        for (const argv of [["--help"], ["init", "--help"], ["wait-for-completion", "--help"]]) {
            const { code, out } = await run(argv);
            assert.equal(code, 0);
            assert.match(out, /Usage: monitor/);
        }
        const { out } = await run(["wait-for-completion", "--help"]);
        for (const flag of [
            "--check-interval",
            "--poll-tag-interval",
            "--keep-last",
            "--status-url",
            "--results-configmap",
        ]) {
            assert.ok(out.includes(flag), `help lacks ${flag}`);
        }
    });

    const usage: [string, string[], RegExp][] = [
        [
            "a missing flag",
            ["init", ...REQUIRED.slice(1)],
            /required option '--namespace <namespace>' not specified/,
        ],
        [
            "an unknown chain",
            ["init", ...REQUIRED, "--chain=eth"],
            /'--chain <kind>' argument 'eth' is invalid.*sei, cometbft, avalanche/,
        ],
        [
            "an unknown sync mode",
            ["init", ...REQUIRED, "--sync-mode=fast"],
            /--sync-mode <mode>' argument 'fast' is invalid/,
        ],
        [
            "a digest to follow",
            ["init", ...REQUIRED, `--follow-image=node@sha256:${"a".repeat(64)}`],
            /--follow-image <ref>' argument .* is invalid.*must name a tag to follow/,
        ],
        [
            "a bad image",
            ["init", ...REQUIRED, "--follow-image=Node:x"],
            /--follow-image 'Node:x' is not an image reference/,
        ],
        [
            "zero seconds",
            ["wait-for-completion", ...REQUIRED, "--check-interval=0"],
            /--check-interval <seconds>' argument '0' is invalid. must be a whole number of seconds/,
        ],
        [
            "a fractional interval",
            ["wait-for-completion", ...REQUIRED, "--poll-tag-interval=1.5"],
            /--poll-tag-interval/,
        ],
        [
            "keep-last out of range",
            ["wait-for-completion", ...REQUIRED, "--keep-last=500"],
            /--keep-last <n>' argument '500' is invalid. must be a whole number from 1 to 100/,
        ],
        [
            "no node restarts allowed",
            ["wait-for-completion", ...REQUIRED, "--max-node-restarts=0"],
            /--max-node-restarts <n>' argument '0' is invalid. must be a whole number, at least 1/,
        ],
        [
            "a status URL that is not http",
            ["wait-for-completion", ...REQUIRED, "--status-url=ftp://x"],
            /--status-url <url>' argument 'ftp:\/\/x' is invalid/,
        ],
        [
            // Removed: what a new test wipes is the chain's (chainSettings.ts freshStart).
            "--data-subdir",
            ["init", ...REQUIRED, "--data-subdir=db"],
            /unknown option '--data-subdir=db'/,
        ],
        ["an unknown command", ["start"], /unknown command 'start'/],
    ];
    for (const [what, argv, message] of usage) {
        it(`rejects ${what} with exit ${EXIT.usage}, naming the flag`, async () => {
            const { code, got, out } = await run(argv);
            assert.equal(code, EXIT.usage);
            assert.deepEqual(got, {}, "a command ran despite the usage error");
            assert.match(out, message);
        });
    }
});
