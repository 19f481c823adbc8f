/** The committed dev stack's config, as the e2e tests start from it. */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT, REPO_ROOT } from "./pulumi";

export interface DevGroup {
    replicas: number;
    image: string;
}

export interface DevConfig {
    chain: string;
    groups: Record<string, DevGroup>;
    [key: string]: unknown;
}

/** Pulumi.dev.yaml's config, keys without the `chainfleet:` prefix. */
export function devConfig(): DevConfig {
    const file = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8"));
    return Object.fromEntries(
        Object.entries(file.config as Record<string, unknown>).map(([k, v]) => [
            k.replace(`${PROJECT}:`, ""),
            v,
        ]),
    ) as DevConfig;
}
