/** The committed dev stack's config, as the e2e tests start from it. */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT, REPO_ROOT } from "./pulumi";

/** The label the bootstrap monitor records an image's version from. */
export const VERSION_LABEL = "org.opencontainers.image.version";

/**
 * `scripts/cluster.sh push`: an imported image into the cluster's registry under `repoTag`, with
 * its tag as the version label; returns the pushed reference by digest.
 */
export function clusterPush(image: string, repoTag: string): string {
    const version = image.slice(image.lastIndexOf(":") + 1);
    const script = path.join(REPO_ROOT, "scripts/cluster.sh");
    return execFileSync("bash", [script, "push", image, repoTag, `${VERSION_LABEL}=${version}`], {
        encoding: "utf8",
    }).trim();
}

/**
 * What `npm run dev` pushes before its `pulumi up` (scripts/dev.sh): the tag the dev stack's
 * bootstrap test follows, from the image its validator runs.
 */
export function pushDevFollowedTag(dev: DevConfig): string {
    const [test] = dev.bootstrapTests as { image: string }[];
    const repoTag = test.image.slice(test.image.indexOf("/") + 1);
    return clusterPush(dev.groups.validator.image, repoTag);
}

export interface DevGroup {
    replicas: number;
    image: string;
}

export interface DevConfig {
    chain: string;
    groups: Record<string, DevGroup>;
    [key: string]: unknown;
}

/**
 * Pulumi.dev.yaml's config, keys without the `chainfleet:` prefix. Its secrets are encrypted for
 * the dev stack alone, so each test stack gets a fresh value of its own (a nodeKeySeed in plain
 * text: the program reads it as it reads a decrypted secret).
 */
export function devConfig(): DevConfig {
    const file = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8"));
    const fresh: Record<string, () => string> = {
        nodeKeySeed: () => randomBytes(32).toString("hex"),
    };
    return Object.fromEntries(
        Object.entries(file.config as Record<string, unknown>).map(([k, v]) => {
            const key = k.replace(`${PROJECT}:`, "");
            const secure = v !== null && typeof v === "object" && "secure" in v;
            if (secure && !fresh[key]) {
                throw new Error(
                    `Pulumi.dev.yaml's secret ${k} has no stand-in in test/e2e/harness/dev.ts`,
                );
            }
            return [key, secure ? fresh[key]() : v];
        }),
    ) as DevConfig;
}
