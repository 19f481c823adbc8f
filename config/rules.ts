/**
 * Reusable value rules for the stack config. Each rule's message says what is allowed, so the
 * error a user sees names the rule as well as the key and the value.
 */
import { z } from "zod";

/** RFC 1123 label: what Kubernetes accepts for a namespace. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1035 label: what Kubernetes accepts for a Service name (must start with a letter). */
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: StorageClass and most object names. */
export const DNS1123_SUBDOMAIN =
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Kubernetes resource.Quantity, as the API server parses it ("10Gi", "500m", "1.5", "1e3"). */
export const QUANTITY =
    /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$/;
/**
 * An OCI image reference: `[registry[:port]/]path[:tag][@sha256:<64 hex>]`, lower-case path
 * components as the distribution spec requires. A tag or a digest is required: a bare name would
 * silently mean `:latest`.
 */
export const IMAGE_REFERENCE =
    /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const HAS_TAG_OR_DIGEST = /(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;

/** A plain object (not null, not an array): what the cross-key rules walk in raw input. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);

export const dns1123Label = (what: string) =>
    z
        .string({ error: `${what} must be a string` })
        .max(63, { error: `${what} must be at most 63 characters` })
        .regex(DNS1123_LABEL, {
            error: `${what} must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit`,
        });

export const quantity = (what: string) =>
    z
        .union([z.string(), z.number()], {
            error: `${what} must be a Kubernetes quantity such as "10Gi" or "500m"`,
        })
        .transform((value) => String(value))
        .refine((value) => QUANTITY.test(value), {
            error: `${what} must be a Kubernetes quantity such as "10Gi" or "500m"`,
        });

export const imageReference = z
    .string({ error: "image must be a string such as 'ghcr.io/org/node:v1.2.3'" })
    .min(1, { error: "image must not be empty", abort: true })
    .refine((ref) => IMAGE_REFERENCE.test(ref), {
        error: "image must be an OCI reference such as 'ghcr.io/org/node:v1.2.3' or 'repo@sha256:<64 hex>'",
        abort: true,
    })
    .refine((ref) => HAS_TAG_OR_DIGEST.test(ref), {
        error: "image must name a tag or a digest (a bare name silently means ':latest')",
    });

export const positiveInt = (what: string) =>
    z
        .number({ error: `${what} must be a whole number` })
        .int({ error: `${what} must be a whole number` })
        .min(1, { error: `${what} must be at least 1` });

export const nonNegativeInt = (what: string) =>
    z
        .number({ error: `${what} must be a whole number` })
        .int({ error: `${what} must be a whole number` })
        .min(0, { error: `${what} must be 0 or more` });

/** `true`/`false`, also as the strings Pulumi config stores for top-level keys. */
export const booleanFlag = (what: string) =>
    z.preprocess(
        (value) => (value === "true" ? true : value === "false" ? false : value),
        z.boolean({ error: `${what} must be true or false` }),
    );

/** A data volume: its size and, optionally, its StorageClass (node groups and bootstrap tests). */
export const storageSchema = z.strictObject({
    size: quantity("size"),
    storageClass: z
        .string()
        .regex(DNS1123_SUBDOMAIN, { error: "storageClass must be a DNS-1123 subdomain" })
        .optional(),
});
