/**
 * ImageBuild (dynamic-providers/imageBuild*.ts) with a fake Docker: an injected exec that records
 * each argument list and answers as the CLI would, and a stub `docker` script on PATH for the
 * real execFile path. The real Docker build and push are test/e2e/monitor-image-build.test.ts's.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    IMAGE_BUILD_VERSION,
    ImageBuildInputs,
    checkImageBuild,
    imageBuildProvider,
} from "../../dynamic-providers/imageBuild";
import { readBuildContext } from "../../dynamic-providers/imageBuildContext";
import {
    pickRepoDigest,
    pushedDigest,
    registryOf,
    repositoryOf,
} from "../../dynamic-providers/imageBuildPlan";
import {
    DockerExec,
    ExecResult,
    execDocker,
    runImageBuild,
} from "../../dynamic-providers/imageBuildRun";

const repoRoot = path.resolve(__dirname, "../..");
const DIGEST = `sha256:${"d".repeat(64)}`;
const IMAGE_ID = `sha256:${"1".repeat(64)}`;
const IMAGE = "127.0.0.1:5000/chainfleet-monitor:e2e";
/** The monitor context's hash, read once before the tests (the tar is built asynchronously). */
let HASH: string;

const inputs = (over: Partial<ImageBuildInputs> = {}): ImageBuildInputs => ({
    providerVersion: IMAGE_BUILD_VERSION,
    imageName: IMAGE,
    context: repoRoot,
    dockerfile: "monitor/Dockerfile",
    platform: "linux/amd64",
    skipPush: false,
    contextHash: HASH,
    deadlineSeconds: 900,
    ...over,
});

const ok = (stdout = "", output = stdout): ExecResult => ({
    code: 0,
    stdout,
    output,
    notFound: false,
    timedOut: false,
});
const fail = (output: string, code = 1): ExecResult => ({ ...ok("", output), code });

type Answers = Partial<Record<"version" | "build" | "push" | "image", ExecResult>>;

/** A fake Docker CLI: records each call and answers by subcommand (all succeed by default). */
function fakeDocker(answers: Answers = {}) {
    const calls: { args: string[]; input?: Buffer; timeoutMs: number }[] = [];
    const exec: DockerExec = async (args, opts) => {
        calls.push({ args, ...opts });
        const sub = args[0] as keyof Answers;
        if (sub === "build") {
            const iidfile = args[args.indexOf("--iidfile") + 1];
            if (!answers.build || answers.build.code === 0) {
                fs.writeFileSync(iidfile, IMAGE_ID);
            }
        }
        const defaults: Required<Answers> = {
            version: ok("28.2.2\n"),
            build: ok("Successfully built 111111111111\n"),
            push: ok(`e2e: digest: ${DIGEST} size: 1234\n`),
            image: ok(JSON.stringify([`127.0.0.1:5000/chainfleet-monitor@${DIGEST}`])),
        };
        return answers[sub] ?? defaults[sub];
    };
    return { exec, calls };
}

describe("#providers ImageBuild", () => {
    before(async () => {
        HASH = (await readBuildContext(repoRoot, "monitor/Dockerfile")).hash;
    });

    let logs: string[];
    let log: typeof console.log;
    beforeEach(() => {
        logs = [];
        log = console.log;
        console.log = (...a: unknown[]) => void logs.push(a.join(" "));
    });
    afterEach(() => {
        console.log = log;
    });

    it("builds with the context tar on stdin, pushes, and returns the pushed digest", async () => {
        const docker = fakeDocker();
        const result = await runImageBuild(inputs({ network: "host" }), docker.exec);
        assert.deepEqual(result, {
            repoDigest: `127.0.0.1:5000/chainfleet-monitor@${DIGEST}`,
            imageId: IMAGE_ID,
        });
        const iidfile = docker.calls[1].args[docker.calls[1].args.indexOf("--iidfile") + 1];
        assert.deepEqual(
            docker.calls.map((c) => c.args),
            [
                ["version", "--format", "{{.Server.Version}}"],
                [
                    "build",
                    "--file",
                    "monitor/Dockerfile",
                    "--platform",
                    "linux/amd64",
                    "--tag",
                    IMAGE,
                    "--iidfile",
                    iidfile,
                    "--network",
                    "host",
                    "-",
                ],
                ["push", IMAGE],
                ["image", "inspect", "--format", "{{json .RepoDigests}}", IMAGE],
            ],
        );
        assert.deepEqual(
            docker.calls[1].input,
            (await readBuildContext(repoRoot, "monitor/Dockerfile")).tar,
        );
        assert.ok(!fs.existsSync(iidfile), "the temp iidfile is removed");
        assert.ok(docker.calls.every((c) => c.timeoutMs > 899_000 && c.timeoutMs <= 900_000));
        assert.ok(
            logs.some((l) => /pushed 127\.0\.0\.1:5000\/chainfleet-monitor@sha256:d+/.test(l)),
        );
    });

    it("skipPush: builds only, and the tag is what the pods run", async () => {
        const docker = fakeDocker();
        const result = await runImageBuild(inputs({ skipPush: true }), docker.exec);
        assert.deepEqual(result, { repoDigest: IMAGE, imageId: IMAGE_ID });
        assert.deepEqual(
            docker.calls.map((c) => c.args[0]),
            ["version", "build"],
        );
    });

    it("says so, and builds what is there, when the context changed since the program hashed it", async () => {
        const docker = fakeDocker();
        await runImageBuild(inputs({ contextHash: "0".repeat(64) }), docker.exec);
        assert.ok(logs.some((l) => /context changed since the program hashed it/.test(l)));
        assert.equal(docker.calls.length, 4);
    });

    const buildLog = Array.from({ length: 40 }, (_, i) => `Step line ${i + 1}`).join("\n");
    const errors: [string, Answers, Partial<ImageBuildInputs>, RegExp][] = [
        [
            "no docker binary",
            { version: { ...fail(""), code: null, notFound: true } },
            {},
            /`docker` CLI is not on the PATH .*apt-get install docker\.io.*chainfleet:monitorImage/,
        ],
        [
            "no daemon answering",
            {
                version: fail(
                    "Cannot connect to the Docker daemon at unix:///run/x.sock. Is the docker daemon running?",
                ),
            },
            {},
            /no Docker daemon answers at (DOCKER_HOST=|the default socket).*Cannot connect.*set DOCKER_HOST/,
        ],
        [
            "a failed build, with its last 30 lines",
            {
                build: fail(
                    `${buildLog}\nThe command '/bin/sh -c npm ci' returned a non-zero code: 1`,
                ),
            },
            {},
            /`docker build` of monitor\/Dockerfile failed \(exit 1\); its last 30 lines:\nStep line 12\n(.|\n)*npm ci' returned(.|\n)*fix the Dockerfile/,
        ],
        [
            "a push refused for credentials",
            { push: fail("unauthorized: authentication required") },
            { imageName: "ghcr.io/org/chainfleet-monitor:v1" },
            /the registry ghcr\.io refused the push: unauthorized(.|\n)*run `docker login ghcr\.io`/,
        ],
        [
            "a push refused by Docker Hub",
            { push: fail("denied: requested access to the resource is denied") },
            { imageName: "org/chainfleet-monitor:v1" },
            /registry docker\.io refused(.|\n)*`docker login docker\.io`/,
        ],
        [
            "a push that cannot reach the registry",
            { push: fail('Get "http://127.0.0.1:5000/v2/": dial tcp: connection refused') },
            {},
            /`docker push` failed \(exit 1\)(.|\n)*connection refused(.|\n)*127\.0\.0\.1:5000 is reachable/,
        ],
        [
            "no digest after the push",
            { push: ok("pushed\n"), image: ok("[]") },
            {},
            /push` succeeded but no digest of 127\.0\.0\.1:5000\/chainfleet-monitor was found .*RepoDigests \[\]/,
        ],
        [
            "a build past the deadline",
            { build: { ...fail("Step 1/9 : FROM node:20-slim"), code: null, timedOut: true } },
            { deadlineSeconds: 60 },
            /`docker build` did not finish within deadlineSeconds=60(.|\n)*Step 1\/9(.|\n)*raise deadlineSeconds/,
        ],
    ];
    for (const [what, answers, over, message] of errors) {
        it(`fails naming what failed and the fix: ${what}`, async () => {
            const docker = fakeDocker(answers);
            await assert.rejects(runImageBuild(inputs(over), docker.exec), message);
        });
    }

    it("reads the pushed digest: the one push printed, in our repository", () => {
        const other = `sha256:${"a".repeat(64)}`;
        const cases: [string, string[], string | undefined, string | undefined][] = [
            [
                IMAGE,
                [`127.0.0.1:5000/chainfleet-monitor@${DIGEST}`],
                DIGEST,
                `127.0.0.1:5000/chainfleet-monitor@${DIGEST}`,
            ],
            [
                IMAGE,
                [`127.0.0.1:5000/chainfleet-monitor@${DIGEST}`],
                undefined,
                `127.0.0.1:5000/chainfleet-monitor@${DIGEST}`,
            ],
            [
                IMAGE,
                [
                    `127.0.0.1:5000/chainfleet-monitor@${other}`,
                    `127.0.0.1:5000/chainfleet-monitor@${DIGEST}`,
                ],
                DIGEST,
                `127.0.0.1:5000/chainfleet-monitor@${DIGEST}`,
            ],
            [
                IMAGE,
                [
                    `127.0.0.1:5000/chainfleet-monitor@${other}`,
                    `127.0.0.1:5000/chainfleet-monitor@${DIGEST}`,
                ],
                undefined,
                undefined,
            ],
            [IMAGE, [`ghcr.io/x/chainfleet-monitor@${DIGEST}`], DIGEST, undefined],
            [
                "docker.io/library/busybox:1",
                [`busybox@${DIGEST}`],
                DIGEST,
                `docker.io/library/busybox@${DIGEST}`,
            ],
            ["org/m:1", [`org/m@${DIGEST}`], undefined, `org/m@${DIGEST}`],
        ];
        for (const [image, repoDigests, pushed, want] of cases) {
            assert.equal(
                pickRepoDigest(image, repoDigests, pushed),
                want,
                JSON.stringify([image, repoDigests, pushed]),
            );
        }
        assert.equal(pushedDigest(`a\ne2e: digest: ${DIGEST} size: 9\n`), DIGEST);
        assert.equal(pushedDigest("nothing"), undefined);
        assert.equal(repositoryOf("127.0.0.1:5000/m:e2e"), "127.0.0.1:5000/m");
        assert.equal(repositoryOf("127.0.0.1:5000/m"), "127.0.0.1:5000/m");
        assert.deepEqual(
            ["ghcr.io/o/m:1", "localhost/m", "127.0.0.1:5000/m:1", "o/m:1", "m"].map(registryOf),
            ["ghcr.io", "localhost", "127.0.0.1:5000", "docker.io", "docker.io"],
        );
    });

    it("check: fills defaults, stamps the version, and names each bad input and the fix", () => {
        const good = checkImageBuild({
            imageName: IMAGE,
            context: repoRoot,
            dockerfile: "monitor/Dockerfile",
            contextHash: HASH,
        });
        assert.deepEqual(good.failures, []);
        assert.equal(good.inputs!.platform, "linux/amd64");
        assert.equal(good.inputs!.skipPush, false);
        assert.equal(good.inputs!.deadlineSeconds, 900);
        assert.equal(good.inputs!.providerVersion, IMAGE_BUILD_VERSION);
        const bad = checkImageBuild({
            imageName: `${IMAGE}@${DIGEST}`,
            context: "relative/dir",
            dockerfile: "../Dockerfile",
            platform: "amd64",
            network: "host; rm -rf /",
            contextHash: "abc",
            skipPush: "yes",
            deadlineSeconds: 0,
        });
        assert.deepEqual(
            bad.failures!.map((f) => f.property),
            [
                "imageName",
                "context",
                "dockerfile",
                "platform",
                "network",
                "contextHash",
                "deadlineSeconds",
                "skipPush",
            ],
        );
        assert.match(bad.failures![0].reason, /^ImageBuild\.imageName: .*no digest/);
    });

    it("diff compares inputs only: unchanged is no change, a new context hash is an update", async () => {
        const olds = { ...inputs(), repoDigest: `x@${DIGEST}`, imageId: IMAGE_ID };
        const diff = (news: ImageBuildInputs) => imageBuildProvider.diff!("id", olds, news);
        assert.deepEqual(await diff(inputs()), { changes: false, changed: [] });
        // Another checkout of the same files, or a longer deadline: nothing to build.
        assert.deepEqual(await diff(inputs({ context: "/elsewhere", deadlineSeconds: 5 })), {
            changes: false,
            changed: [],
        });
        assert.deepEqual(await diff(inputs({ contextHash: "0".repeat(64) })), {
            changes: true,
            changed: ["contextHash"],
        });
        assert.deepEqual(await diff(inputs({ imageName: "r/m:2", skipPush: true })), {
            changes: true,
            changed: ["imageName", "skipPush"],
        });
    });

    it("delete is a no-op: it runs no docker command", async () => {
        const before = process.env.PATH;
        process.env.PATH = "/nonexistent";
        try {
            await imageBuildProvider.delete!("id", { ...inputs(), repoDigest: "x", imageId: "y" });
        } finally {
            process.env.PATH = before;
        }
    });

    describe("through execFile, with a stub docker on PATH", () => {
        let dir: string;
        let path0: string | undefined;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-docker-stub-"));
            path0 = process.env.PATH;
        });
        afterEach(() => {
            process.env.PATH = path0;
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("no docker on PATH is the no-docker error", async () => {
            process.env.PATH = dir;
            const r = await execDocker(["version"], { timeoutMs: 5000 });
            assert.equal(r.notFound, true);
            await assert.rejects(runImageBuild(inputs()), /`docker` CLI is not on the PATH/);
        });

        it("passes the arguments without a shell, stdin through, and kills at the timeout", async () => {
            fs.writeFileSync(
                path.join(dir, "docker"),
                '#!/bin/sh\nif [ "$1" = sleep ]; then exec sleep 10; fi\nprintf "%s|" "$@"; wc -c >&2\nexit 3\n',
                { mode: 0o755 },
            );
            process.env.PATH = `${dir}:${path0}`;
            const r = await execDocker(["a b", "$HOME", "{{json .X}}"], {
                input: Buffer.alloc(70_000),
                timeoutMs: 5000,
            });
            assert.equal(r.code, 3);
            assert.equal(r.stdout, "a b|$HOME|{{json .X}}|");
            assert.match(r.output, /70000/);
            const slow = await execDocker(["sleep"], { timeoutMs: 200 });
            assert.equal(slow.timedOut, true);
        });
    });
});
