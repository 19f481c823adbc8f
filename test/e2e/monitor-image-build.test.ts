/**
 * `chainfleet:monitorImageBuild` for real (issue 10): `pulumi up` builds monitor/Dockerfile with
 * the Docker CLI (dynamic-providers/imageBuild.ts), pushes it to a registry on loopback and runs
 * the bootstrap test's monitor by the pushed digest; the next `up` builds nothing; a preview of a
 * changed context shows the update but builds and pushes nothing.
 *
 * The daemon is scripts/images.sh's (`images.sh daemon node`: started when none answers, with the
 * node:20-slim base image loaded, as `images.sh build monitor` has it); pulumi and its provider
 * process get its DOCKER_HOST, and DOCKER_BUILDKIT=0 (the legacy builder, as images.sh builds:
 * BuildKit would pull its Dockerfile frontend). That daemon has no bridge network, so the build
 * runs with `network: host` (its `npm ci` needs the npm registry). The test's pods stay on kwok:
 * the point is the build.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1StatefulSet } from "@kubernetes/client-node";
import { LocalRegistry } from "../api/harness/registry";
import { deleteNamespace, kube, requireCluster } from "./harness/cluster";
import { assertNoChanges, uniqueSuffix } from "./harness/fleet";
import { devConfig } from "./harness/dev";
import { E2eStack, REPO_ROOT, diagnosticsOf, stepsOf } from "./harness/pulumi";
import { installFailureReport } from "./harness/report";

const REPOSITORY = "chainfleet-monitor";
const TAG = "e2e";
const IMAGE_BUILD = "pulumi-nodejs:dynamic/image:ImageBuild";
/** A cold build runs `npm ci` twice (build and deps stages); a warm one hits the daemon's cache. */
const UP_TIMEOUT_MS = 30 * 60_000;

/** `bash scripts/images.sh daemon node`: a daemon with node:20-slim; returns its DOCKER_HOST. */
function ensureDaemon(): string {
    const out = execFileSync(
        "bash",
        [path.join(REPO_ROOT, "scripts/images.sh"), "daemon", "node"],
        {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            timeout: 20 * 60_000,
        },
    );
    const line = out
        .trim()
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("DOCKER_HOST="));
    assert.ok(line, `scripts/images.sh daemon printed no DOCKER_HOST= line:\n${out}`);
    return line.slice("DOCKER_HOST=".length);
}

/** The manifest digest the registry serves for `REPOSITORY:TAG` (its HTTP API, not Docker's). */
async function registryDigest(registry: LocalRegistry): Promise<string> {
    const res = await fetch(`${registry.url}/v2/${REPOSITORY}/manifests/${TAG}`, {
        method: "HEAD",
        headers: {
            Accept: [
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.oci.image.index.v1+json",
            ].join(", "),
        },
    });
    assert.equal(res.status, 200, `HEAD ${REPOSITORY}:${TAG} answered HTTP ${res.status}`);
    const digest = res.headers.get("docker-content-digest") ?? "";
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    return digest;
}

/** The images of the monitor's two containers: the init container and the sidecar. */
function monitorImages(sts: V1StatefulSet): string[] {
    const spec = sts.spec?.template.spec;
    const init = spec?.initContainers?.find((c) => c.name === "init")?.image;
    const sidecar = spec?.containers.find((c) => c.name === "monitor")?.image;
    return [init ?? "(no init container)", sidecar ?? "(no monitor container)"];
}

describe("e2e: monitorImageBuild builds and pushes the monitor during pulumi up", function () {
    const id = uniqueSuffix();
    const network = `imgbuild-${id}`;
    const namespace = `e2e-imgbuild-${id}`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `chainfleet-e2e-imgbuild-${id}-`));
    // The dev config without its published monitor image: the build replaces it.
    const { monitorImage: _published, ...dev } = devConfig();
    const [devTest] = dev.bootstrapTests as Record<string, unknown>[];
    const testName = String(devTest.name);
    let stack: E2eStack | undefined;
    let registry: LocalRegistry | undefined;
    let dockerHost = "";
    let pushed = "";
    let failed = false;

    const report = installFailureReport({ stack: () => stack, namespace: () => namespace });
    const statefulSet = () => kube().apps.readNamespacedStatefulSet({ namespace, name: testName });
    const localImageId = () =>
        execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", imageName()], {
            encoding: "utf8",
            env: { ...process.env, DOCKER_HOST: dockerHost },
        }).trim();
    const imageName = () => `${registry!.host}/${REPOSITORY}:${TAG}`;

    before(async function () {
        await requireCluster();
        dockerHost = ensureDaemon();
        registry = await LocalRegistry.start({ dir: path.join(tmp, "registry") });
        stack = new E2eStack({ label: "monitor-image-build" });
        stack.extraEnv = { DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: "0" };
        stack.writeConfig({
            ...dev,
            network,
            namespace,
            bootstrapTests: [devTest],
            monitorImageBuild: { imageName: imageName(), network: "host" },
        });
        await stack.init();
    });

    after(async function () {
        await registry?.stop();
        await deleteNamespace(namespace);
        await stack?.dispose();
        if (!report.failed()) {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    // The steps build on each other: after a failure the rest would only repeat it.
    beforeEach(function () {
        if (failed) {
            this.skip();
        }
    });
    afterEach(function () {
        failed ||= this.currentTest?.state === "failed";
    });

    it("up builds and pushes the monitor; both monitor containers run the pushed digest", async function () {
        const up = await stack!.up([], { timeoutMs: UP_TIMEOUT_MS });
        assert.equal(up.code, 0, diagnosticsOf(up));
        assert.ok(
            stepsOf(up).some((s) => s.type === IMAGE_BUILD && s.op === "create"),
            "no ImageBuild was created",
        );
        pushed = await registryDigest(registry!);
        assert.deepEqual(monitorImages(await statefulSet()), [
            `${registry!.host}/${REPOSITORY}@${pushed}`,
            `${registry!.host}/${REPOSITORY}@${pushed}`,
        ]);
    });

    it("a second up has nothing to do: the same context builds nothing", async function () {
        const imageId = localImageId();
        const again = await stack!.up(["--expect-no-changes"], {
            allowFailure: true,
            timeoutMs: UP_TIMEOUT_MS,
        });
        assertNoChanges(again);
        assert.equal(again.code, 0, diagnosticsOf(again));
        assert.equal(await registryDigest(registry!), pushed);
        assert.equal(localImageId(), imageId, "the daemon's tag moved: something built");
    });

    it("a preview of a changed context shows the update, and neither builds nor pushes", async function () {
        const imageId = localImageId();
        // Inside the allow-list (monitor/**), in the stack's own copy of the program.
        fs.writeFileSync(path.join(stack!.projectDir, "monitor", "e2e-changed.txt"), `${id}\n`);
        const preview = await stack!.preview([], { timeoutMs: UP_TIMEOUT_MS });
        assert.equal(preview.code, 0, diagnosticsOf(preview));
        const steps = stepsOf(preview).filter((s) => s.type === IMAGE_BUILD);
        assert.deepEqual(
            steps.map((s) => s.op),
            ["update"],
            JSON.stringify(stepsOf(preview)),
        );
        assert.equal(await registryDigest(registry!), pushed, "the preview pushed");
        assert.equal(localImageId(), imageId, "the preview built");
    });
});
