/**
 * Reads a `Pulumi.<stack>.yaml` the way the Pulumi engine hands config to a program (a flat map of
 * `project:key` to text, structured values as JSON), so stack files can be validated without the
 * engine: in tests, and by `npm run config:check` in a deploy job before `pulumi up`.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export function readStackFile(path: string): Record<string, string> {
    const doc = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
    const flat: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc?.config ?? {})) {
        flat[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return flat;
}
