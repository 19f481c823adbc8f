/**
 * Shared pieces of the status parsers: JSON-RPC envelopes, int64-as-string fields and errors that
 * name the field, what arrived there and what to check. Parsers run on answers fetched by dynamic
 * providers and the bootstrap monitor, so a message has to make sense to someone reading a failed
 * `pulumi up` without the source at hand.
 */
import { z } from "zod";

/** A node answered, but not with the document chainfleet expected. */
export class ChainResponseError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ChainResponseError";
    }
}

/** What a parser is reading, for error messages: "CometBFT /status" and how to fix a mismatch. */
export interface ResponseContext {
    what: string;
    hint: string;
}

/**
 * A non-negative int64 encoded as a JSON string, as CometBFT and Sei encode heights. A number is
 * refused on purpose: it means the answer came from something else than the node we think.
 */
const INT64_STRING = 'expected a decimal string such as "1262196" (int64 values are JSON strings)';
export const int64String = z
    .string({ error: INT64_STRING })
    .regex(/^(0|[1-9][0-9]*)$/, { error: INT64_STRING })
    .transform((s, ctx) => {
        const n = Number(s);
        if (!Number.isSafeInteger(n)) {
            ctx.addIssue({ code: "custom", message: `${s} is beyond 2^53 and cannot be a height` });
            return z.NEVER;
        }
        return n;
    });

/** A non-negative integer encoded as a JSON number (Avalanche heights, Sei /lag_status). */
export const safeUint = z
    .number()
    .int({ error: "expected a whole number" })
    .nonnegative({ error: "expected a non-negative integer" });

/** Short, bounded rendering of a received value for an error message. */
export function describe(value: unknown): string {
    if (value === undefined) return "nothing (the field is missing)";
    if (value === null) return "null";
    const json = JSON.stringify(value) ?? String(value);
    const shown = json.length > 80 ? `${json.slice(0, 77)}...` : json;
    return Array.isArray(value) ? `array ${shown}` : `${typeof value} ${shown}`;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
    let cur = data;
    for (const key of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<PropertyKey, unknown>)[key];
    }
    return cur;
}

function issueLine(issue: z.core.$ZodIssue, data: unknown, prefix: string): string {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== "").join(".");
    const received = describe(valueAt(data, issue.path));
    // zod's own type messages ("Invalid input: …") say less than "expected <type>"; messages
    // the schemas set themselves are kept.
    const generic = issue.code === "invalid_type" && issue.message.startsWith("Invalid input");
    const expected = generic ? `expected ${issue.expected}` : issue.message;
    return `  - ${path || "(the whole body)"}: ${expected}, received ${received}`;
}

/**
 * Validate `data` with `schema`, or throw one error listing every wrong field. `prefix` is the
 * path of `data` inside the body (e.g. "result" once the JSON-RPC envelope is removed).
 */
export function parseWith<S extends z.ZodType>(
    schema: S,
    data: unknown,
    ctx: ResponseContext,
    prefix = "",
): z.output<S> {
    const parsed = schema.safeParse(data);
    if (parsed.success) return parsed.data;
    const lines = parsed.error.issues.map((issue) => issueLine(issue, data, prefix));
    throw new ChainResponseError(
        `${ctx.what} answer does not have the expected shape:\n${lines.join("\n")}\n${ctx.hint}`,
    );
}

const rpcError = z.object({
    code: z.number(),
    message: z.string(),
    data: z.unknown().optional(),
});

/** The `error` member of a JSON-RPC envelope, or undefined when the body carries none. */
export function jsonRpcError(body: unknown): z.output<typeof rpcError> | undefined {
    if (body === null || typeof body !== "object" || !("error" in body)) return undefined;
    const parsed = rpcError.safeParse((body as { error: unknown }).error);
    return parsed.success ? parsed.data : undefined;
}

/** "code message: data", as the node put it. */
export function formatRpcError(err: z.output<typeof rpcError>): string {
    const data = typeof err.data === "string" && err.data !== "" ? `: ${err.data}` : "";
    return `JSON-RPC error ${err.code} ${err.message}${data}`;
}

/**
 * The payload of a JSON-RPC answer, accepting the bare payload too: Sei's fork sometimes answers
 * without the envelope and Avalanche's GET health has none. Returns the payload and its path.
 * Throws on a JSON-RPC error, quoting it, since an error is not a status.
 */
export function unwrapJsonRpc(body: unknown, ctx: ResponseContext): [unknown, string] {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
        throw new ChainResponseError(
            `${ctx.what} answer is not a JSON object: received ${describe(body)}\n${ctx.hint}`,
        );
    }
    const err = jsonRpcError(body);
    if (err !== undefined) {
        throw new ChainResponseError(`${ctx.what} failed on the node: ${formatRpcError(err)}`);
    }
    if ("jsonrpc" in body || "result" in body) {
        return [(body as { result?: unknown }).result, "result"];
    }
    return [body, ""];
}
