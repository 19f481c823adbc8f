/**
 * Reads a `Pulumi.<stack>.yaml` the way the Pulumi engine hands config to a program (a flat map of
 * `project:key` to text, structured values as JSON), so stack files can be validated without the
 * engine: in tests, and by `npm run config:check` in a deploy job before `pulumi up`.
 *
 * Secrets are stored encrypted (`key: {secure: <ciphertext>}`) and only the engine (or `pulumi
 * config --show-secrets`) decrypts them. Without their values a check puts in a stand-in of the
 * right shape, so a secret's presence counts; the program checks the real value at preview.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

/** Stand-ins for the secret keys chainfleet reads, valid for their rules. */
export const SECRET_STAND_INS: Record<string, string> = {
    "chainfleet:nodeKeySeed": "0".repeat(64),
};

const isSecure = (value: unknown): boolean =>
    value !== null && typeof value === "object" && "secure" in value;

/** `secrets`: decrypted values by full key (e.g. from `pulumi config --show-secrets --json`). */
export function readStackFile(
    path: string,
    secrets: Record<string, string> = {},
): Record<string, string> {
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(readConfig(path))) {
        if (isSecure(value)) {
            flat[key] = secrets[key] ?? SECRET_STAND_INS[key] ?? "(secret)";
            continue;
        }
        flat[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return flat;
}

function readConfig(path: string): Record<string, unknown> {
    const doc = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
    return doc?.config ?? {};
}
