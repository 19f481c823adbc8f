/**
 * ImageBuild's pure half: the Docker CLI argument lists, reading the CLI's answers, and the
 * errors that name what failed and the fix. imageBuildRun.ts runs them.
 *
 * Docker CLI behaviour relied on (Docker 28, `docker <cmd> --help` and docs.docker.com):
 * - `docker build ... -` reads the context as a tar on stdin; `--file` is then a path inside that
 *   tar (https://docs.docker.com/build/concepts/context/, "tarball piped ... through stdin").
 * - `--iidfile` writes the built image's ID; `--platform` and `--network` are build flags.
 * - `docker push` prints `<tag>: digest: sha256:<hex> size: <n>` once the manifest is stored, and
 *   fills the image's RepoDigests with `<repository>@sha256:<hex>`, which
 *   `docker image inspect --format '{{json .RepoDigests}}'` prints as a JSON list.
 * - The daemon treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default (Engine API,
 *   RegistryServiceConfig.InsecureRegistryCIDRs), which is what the e2e test's loopback registry needs.
 */
import type { ImageBuildInputs } from "./imageBuild";

/** How many lines of a failed command's output an error carries. */
export const TAIL_LINES = 30;

export const versionArgs = (): string[] => ["version", "--format", "{{.Server.Version}}"];

export function buildArgs(inputs: ImageBuildInputs, iidfile: string): string[] {
    return [
        "build",
        "--file",
        inputs.dockerfile,
        "--platform",
        inputs.platform,
        "--tag",
        inputs.imageName,
        "--iidfile",
        iidfile,
        ...(inputs.network ? ["--network", inputs.network] : []),
        "-",
    ];
}

export const pushArgs = (imageName: string): string[] => ["push", imageName];

export const inspectArgs = (imageName: string): string[] => [
    "image",
    "inspect",
    "--format",
    "{{json .RepoDigests}}",
    imageName,
];

/** The repository of `name[:tag]`: a `:` after the last `/` starts the tag. */
export function repositoryOf(imageName: string): string {
    const colon = imageName.lastIndexOf(":");
    return colon > imageName.lastIndexOf("/") ? imageName.slice(0, colon) : imageName;
}

/** The registry host a reference is pushed to, as `docker login` takes it. */
export function registryOf(imageName: string): string {
    const first = imageName.split("/")[0];
    const isHost =
        imageName.includes("/") &&
        (first.includes(".") || first.includes(":") || first === "localhost");
    return isHost ? first : "docker.io";
}

/** `busybox` and `docker.io/library/busybox` are the same repository; Docker prints the short one. */
function fullRepository(repository: string): string {
    if (registryOf(repository) !== "docker.io" || repository.startsWith("docker.io/")) {
        return repository;
    }
    return repository.includes("/") ? `docker.io/${repository}` : `docker.io/library/${repository}`;
}

/** The digest in `docker push`'s last `digest: sha256:<hex>` line, if it printed one. */
export function pushedDigest(output: string): string | undefined {
    const all = [...output.matchAll(/digest: (sha256:[0-9a-f]{64})/g)];
    return all.length > 0 ? all[all.length - 1][1] : undefined;
}

/**
 * `<repository>@sha256:<hex>` for what was just pushed: the RepoDigests entry of our repository
 * with the digest push printed, or, when push printed none, the only entry of our repository.
 * Undefined when neither holds (the caller's error shows what inspect listed).
 */
export function pickRepoDigest(
    imageName: string,
    repoDigests: readonly string[],
    pushed: string | undefined,
): string | undefined {
    const repository = repositoryOf(imageName);
    const ours = repoDigests
        .filter((rd) => fullRepository(rd.split("@")[0]) === fullRepository(repository))
        .map((rd) => rd.split("@")[1]);
    const digest = pushed
        ? ours.find((d) => d === pushed)
        : ours.length === 1
          ? ours[0]
          : undefined;
    return digest ? `${repository}@${digest}` : undefined;
}

/** The last `n` non-empty lines of a command's output. */
export function tail(output: string, n = TAIL_LINES): string {
    const lines = output.split("\n").filter((l) => l.trim() !== "");
    return lines.slice(-n).join("\n");
}

/** A push the registry refused for want of credentials (401/403 and their wordings). */
export const isAuthFailure = (output: string): boolean =>
    /unauthorized|authentication required|no basic auth credentials|denied|forbidden|\b40[13]\b/i.test(
        output,
    );

export const IMAGE_BUILD_ERRORS = {
    noDocker: (image: string) =>
        `ImageBuild ${image}: the \`docker\` CLI is not on the PATH of the process running \`pulumi up\`; ` +
        "install it there (Debian: apt-get install docker.io), or build and push the image elsewhere " +
        "and set chainfleet:monitorImage instead of monitorImageBuild",
    noDaemon: (image: string, host: string | undefined, output: string) =>
        `ImageBuild ${image}: no Docker daemon answers at ${host ? `DOCKER_HOST=${host}` : "the default socket (DOCKER_HOST is not set)"}: ` +
        `${tail(output, 3)}; start one, or set DOCKER_HOST in the environment of \`pulumi up\` to one that runs`,
    buildFailed: (image: string, dockerfile: string, code: number | null, output: string) =>
        `ImageBuild ${image}: \`docker build\` of ${dockerfile} failed (exit ${code}); its last ${TAIL_LINES} lines:\n` +
        `${tail(output)}\nfix the Dockerfile or its context, then run \`pulumi up\` again`,
    pushRefused: (image: string, output: string) => {
        const registry = registryOf(image);
        return (
            `ImageBuild ${image}: the registry ${registry} refused the push: ${tail(output, 5)}\n` +
            `run \`docker login ${registry}\` as the user that runs \`pulumi up\` (the Docker CLI's own ` +
            "login is what is used), or push to a repository that account may write, then run `pulumi up` again"
        );
    },
    pushFailed: (image: string, code: number | null, output: string) =>
        `ImageBuild ${image}: \`docker push\` failed (exit ${code}); its last ${TAIL_LINES} lines:\n${tail(output)}\n` +
        `check that ${registryOf(image)} is reachable from the Docker daemon, then run \`pulumi up\` again`,
    digestMissing: (image: string, repoDigests: readonly string[], pushed: string | undefined) =>
        `ImageBuild ${image}: \`docker push\` succeeded but no digest of ${repositoryOf(image)} was found ` +
        `(push printed ${pushed ?? "no digest"}; \`docker image inspect\` lists RepoDigests ${JSON.stringify(repoDigests)}); ` +
        "the pods need the pushed digest: run `pulumi up` again, and if it persists, push by hand and set chainfleet:monitorImage",
    deadline: (image: string, step: string, seconds: number, output: string) =>
        `ImageBuild ${image}: \`docker ${step}\` did not finish within deadlineSeconds=${seconds}` +
        `${output.trim() ? `; its last lines:\n${tail(output, 10)}\n` : "; "}` +
        "raise deadlineSeconds, or look at the Docker daemon (is it overloaded or stuck pulling?)",
    commandFailed: (image: string, step: string, code: number | null, output: string) =>
        `ImageBuild ${image}: \`docker ${step}\` failed (exit ${code}): ${tail(output, 10)}`,
};
