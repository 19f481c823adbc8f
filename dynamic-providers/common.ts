/**
 * Shared plumbing for chainfleet's dynamic providers: input checking that names the input and
 * the fix, input-only diffs, plain-JSON outputs, deadlines and rate-limited progress lines.
 *
 * Everything here is serialized by value into each provider (Pulumi captures local modules by
 * value), so it must stay free of Pulumi resources and of state that cannot be copied.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isNotFound, withRetry } from "../kube/kube";
import { jsonEqual } from "../lib/json";

export { jsonEqual };

/** How the engine marks a value it will only know after an earlier resource is created. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const isUnknown = (v: unknown): boolean => v === UNKNOWN;

/** Kube access inputs every provider takes. A path, not file contents: kubeconfigs hold keys. */
export interface KubeAccessInputs {
    /** Path to a kubeconfig file. Defaults to $KUBECONFIG, then ~/.kube/config, then in-cluster. */
    kubeconfig?: string;
    /** Context in that kubeconfig. Defaults to its current context. */
    context?: string;
}

/** Properties the engine adds to inputs, never ours to return. */
const ENGINE_KEYS = ["__provider"];

/**
 * Collects every problem with the inputs, so `pulumi preview` shows them all at once. Unknown
 * values (outputs of resources not created yet) are skipped: they are checked again at `up`.
 */
export class InputChecker {
    readonly failures: pulumi.dynamic.CheckFailure[];

    // Fields are set in constructors, never by initializers, in every class a provider captures:
    // Pulumi's closure serializer keeps constructor bodies but drops class field initializers.
    constructor(
        private readonly inputs: Record<string, unknown>,
        private readonly type: string,
    ) {
        this.failures = [];
    }

    fail(property: string, reason: string): void {
        this.failures.push({ property, reason: `${this.type}.${property}: ${reason}` });
    }

    /** The value, unless it is unknown (then undefined, and no check applies). */
    private known(property: string): unknown {
        const v = this.inputs[property];
        return isUnknown(v) ? undefined : v;
    }

    isUnknown(property: string): boolean {
        return isUnknown(this.inputs[property]);
    }

    string(property: string, opts: { optional?: boolean; pattern?: RegExp; hint?: string } = {}) {
        const v = this.known(property);
        if (v === undefined || v === null || v === "") {
            if (!opts.optional && !this.isUnknown(property)) {
                this.fail(property, `required; ${opts.hint ?? "set it to a non-empty string"}`);
            }
            return;
        }
        if (typeof v !== "string") {
            this.fail(property, `must be a string, got ${JSON.stringify(v)}`);
        } else if (opts.pattern && !opts.pattern.test(v)) {
            this.fail(
                property,
                `"${v}" is not valid; ${opts.hint ?? `must match ${opts.pattern}`}`,
            );
        }
    }

    integer(property: string, opts: { optional?: boolean; min?: number; max?: number } = {}) {
        const v = this.known(property);
        if (v === undefined || v === null) {
            if (!opts.optional && !this.isUnknown(property)) {
                this.fail(
                    property,
                    `required; set an integer${opts.min !== undefined ? ` >= ${opts.min}` : ""}`,
                );
            }
            return;
        }
        if (typeof v !== "number" || !Number.isInteger(v)) {
            this.fail(property, `must be an integer, got ${JSON.stringify(v)}`);
        } else if (opts.min !== undefined && v < opts.min) {
            this.fail(property, `must be >= ${opts.min}, got ${v}`);
        } else if (opts.max !== undefined && v > opts.max) {
            this.fail(property, `must be <= ${opts.max}, got ${v}`);
        }
    }

    oneOf(property: string, allowed: readonly string[], opts: { optional?: boolean } = {}) {
        const v = this.known(property);
        if (v === undefined || v === null) {
            if (!opts.optional && !this.isUnknown(property)) {
                this.fail(property, `required; one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
            }
            return;
        }
        if (typeof v !== "string" || !allowed.includes(v)) {
            this.fail(
                property,
                `${JSON.stringify(v)} is not one of ${allowed.map((a) => `"${a}"`).join(", ")}`,
            );
        }
    }

    /** A map of label keys to values: what Kubernetes accepts as an equality selector. */
    labels(property: string, opts: { optional?: boolean } = {}) {
        const v = this.known(property);
        if (v === undefined || v === null) {
            if (!opts.optional && !this.isUnknown(property)) {
                this.fail(property, "required; give the pod labels as {key: value}");
            }
            return;
        }
        if (typeof v !== "object" || Array.isArray(v)) {
            this.fail(property, `must be a map of label key to value, got ${JSON.stringify(v)}`);
            return;
        }
        const entries = Object.entries(v as Record<string, unknown>);
        if (entries.length === 0) {
            this.fail(
                property,
                "must not be empty: an empty selector matches every pod in the namespace",
            );
        }
        for (const [k, val] of entries) {
            if (typeof val !== "string" && !isUnknown(val)) {
                this.fail(
                    `${property}.${k}`,
                    `label values are strings, got ${JSON.stringify(val)}`,
                );
            }
        }
    }

    integerList(property: string, opts: { min?: number; max?: number } = {}) {
        const v = this.known(property);
        if (v === undefined || v === null) {
            return;
        }
        if (!Array.isArray(v)) {
            this.fail(property, `must be a list of integers, got ${JSON.stringify(v)}`);
            return;
        }
        v.forEach((x, i) => {
            const bad =
                !isUnknown(x) &&
                (typeof x !== "number" ||
                    !Number.isInteger(x) ||
                    (opts.min !== undefined && x < opts.min) ||
                    (opts.max !== undefined && x > opts.max));
            if (bad) {
                this.fail(
                    `${property}[${i}]`,
                    `must be an integer in ${opts.min ?? "-inf"}..${opts.max ?? "inf"}, got ${JSON.stringify(x)}`,
                );
            }
        });
    }
}

/** Kubernetes object names: DNS-1123 labels/subdomains. */
export const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Compares inputs only: the `triggers`, the inputs whose change means the operation must run
 * again. `olds` are the stored outputs, which carry the inputs too (every provider returns
 * them). Tuning knobs (deadlines, poll intervals, kube access) are left out of `triggers` so that
 * changing them does not re-run a gate that already passed; `providerVersion` is always in, so a
 * code change shows up as an update. Updates re-run the operation, which is idempotent.
 */
export function diffInputs(
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
    triggers: readonly string[],
): pulumi.dynamic.DiffResult & { changed: string[] } {
    const changed = triggers.filter((key) => !jsonEqual(olds[key], news[key]));
    return { changes: changed.length > 0, changed };
}

/**
 * An input every upgrade record (gate, switch, bootstrap) takes: true when the record is declared
 * only so that Pulumi keeps it, the upgrade it belongs to being over (lib/plan.ts `RecordsMode`).
 * A settled record's create and update return at once, without contacting the cluster.
 */
export interface SettledInput {
    settled?: boolean;
}

export const isSettled = (inputs: SettledInput): boolean => inputs.settled === true;

/**
 * The diff of an upgrade record. Declared settled, it never runs again, whatever else changed:
 * what it vouched for is done (and a settled declaration may not know every input the upgrade
 * had, such as the incumbent's selector). Declared to wait, it runs when it was settled before
 * (it never waited for this) or when a trigger changed (a new entrant).
 */
export function diffRecord(
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
    triggers: readonly string[],
): pulumi.dynamic.DiffResult & { changed: string[] } {
    if (isSettled(news)) {
        return { changes: false, changed: [] };
    }
    if (isSettled(olds)) {
        return { changes: true, changed: ["settled"] };
    }
    return diffInputs(olds, news, triggers);
}

/** Checks the `settled` input of an upgrade record. */
export function checkSettled(c: InputChecker, inputs: Record<string, unknown>): void {
    const v = inputs.settled;
    if (v !== undefined && typeof v !== "boolean" && !isUnknown(v)) {
        c.fail("settled", `must be true or false, got ${JSON.stringify(v)}`);
    }
}

/**
 * Outputs must be plain JSON: `undefined` members make the engine fail with "Unexpected struct
 * type" (pulumi/pulumi#7576). A JSON round trip drops them and turns Dates into strings.
 */
export function plainOutputs<T>(value: T): T {
    const copy = { ...(value as Record<string, unknown>) };
    for (const key of ENGINE_KEYS) {
        delete copy[key];
    }
    return JSON.parse(JSON.stringify(copy)) as T;
}

/** A wall-clock deadline that every wait in a provider method shares. */
export class Deadline {
    readonly startedAt: number;
    readonly at: number;

    constructor(readonly seconds: number) {
        this.startedAt = Date.now();
        this.at = this.startedAt + seconds * 1000;
    }

    remainingMs(): number {
        return Math.max(0, this.at - Date.now());
    }

    expired(): boolean {
        return Date.now() >= this.at;
    }

    elapsed(): string {
        return `${Math.round((Date.now() - this.startedAt) / 1000)}s`;
    }
}

/**
 * Progress lines for the person running `pulumi up`: a changed message at most every `minGapMs`
 * (heights change every poll; a line per poll would bury everything else), and the same message
 * again after `everyMs`, so a long quiet wait still shows it is alive.
 */
export class Progress {
    private last: string;
    private lastAt: number;

    constructor(
        private readonly prefix: string,
        private readonly everyMs = 30_000,
        private readonly minGapMs = 10_000,
    ) {
        this.last = "";
        this.lastAt = 0;
    }

    report(message: string, force = false): void {
        const now = Date.now();
        const changed = message !== this.last;
        if (
            force ||
            (changed && now - this.lastAt >= this.minGapMs) ||
            now - this.lastAt >= this.everyMs
        ) {
            console.log(`${this.prefix} ${message}`);
            this.last = message;
            this.lastAt = now;
        }
    }

    /** Always printed: start, pass, and failure lines. */
    say(message: string): void {
        console.log(`${this.prefix} ${message}`);
        this.last = message;
        this.lastAt = Date.now();
    }
}

export function errorMessage(err: unknown): string {
    if (err instanceof Error) {
        const body = (err as { body?: unknown }).body;
        const detail = typeof body === "string" ? body : (body as { message?: string })?.message;
        return detail && !err.message.includes(detail) ? `${err.message}: ${detail}` : err.message;
    }
    return String(err);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reads an object the step cannot run without (retrying transient errors). A missing one fails
 * with `missing`, which should say how to declare it; other errors pass through.
 */
export async function readRequired<T>(
    what: string,
    read: () => Promise<T>,
    missing: string,
): Promise<T> {
    try {
        return await withRetry(`read ${what}`, read);
    } catch (err) {
        if (isNotFound(err)) {
            throw new Error(missing);
        }
        throw err;
    }
}
