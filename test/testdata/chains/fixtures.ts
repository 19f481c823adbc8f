// Helpers for the chains unit tests (test/unit/chains*.test.ts): load a fixture from this folder,
// and copy it with one field changed or removed, to build malformed answers from real ones.
import { readFileSync } from "node:fs";
import * as path from "node:path";

export const FIXTURES = __dirname;

export function fixturePath(name: string): string {
    return path.join(FIXTURES, name);
}

export function fixtureText(name: string): string {
    return readFileSync(fixturePath(name), "utf8");
}

export function fixture(name: string): unknown {
    return JSON.parse(fixtureText(name));
}

/** A deep copy of `value` with the field at `dotted` set to `to`, or deleted when `to` is DELETE. */
export const DELETE = Symbol("delete");
export function withField(value: unknown, dotted: string, to: unknown): unknown {
    const copy = structuredClone(value) as Record<string, unknown>;
    const keys = dotted.split(".");
    const last = keys.pop() as string;
    let cur: Record<string, unknown> = copy;
    for (const key of keys) {
        const next = cur[key];
        if (next === null || typeof next !== "object") {
            throw new Error(
                `test bug: ${dotted} does not exist in the fixture (stopped at ${key})`,
            );
        }
        cur = next as Record<string, unknown>;
    }
    if (to === DELETE) delete cur[last];
    else cur[last] = to;
    return copy;
}
