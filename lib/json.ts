/**
 * JSON helpers with one meaning everywhere: revisions (lib/revision.ts), the bootstrap's spec
 * hash and the providers' input diffs hash or compare the same way. Zod-free and import-free, so
 * dynamic providers carry it into their own process.
 */

/** JSON with object keys sorted at every depth, so key order in YAML never changes a hash. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(canonicalJson).join(",")}]`;
    }
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

/** Deep equality on JSON values, ignoring object key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
    if (a === b) {
        return true;
    }
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
        return false;
    }
    if (Array.isArray(a) !== Array.isArray(b)) {
        return false;
    }
    const ak = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const bk = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return (
        ak.length === bk.length &&
        ak.every((k) =>
            jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
        )
    );
}
