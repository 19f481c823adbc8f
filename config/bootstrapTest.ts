/**
 * The config of one bootstrap test: an element of the stack key `chainfleet:bootstrapTests`.
 * config/schema.ts plugs `BootstrapTestConfigSchema` into the stack schema; the chain
 * and the namespace come from the stack, not from here. Objects are strict, like the rest of the
 * stack config: a misspelt key is an error, not a silently ignored setting.
 */
import { z } from "zod";
import {
    DNS1035_LABEL,
    booleanFlag,
    DNS1123_SUBDOMAIN,
    imageReference,
    positiveInt,
    storageSchema,
} from "./rules";
import { MAX_KEEP, MONITOR_DEFAULTS as DEFAULTS, SYNC_MODES } from "../lib/bootstrapTest";

/**
 * A test's name names its StatefulSet; the controller puts `<statefulset>-<10 chars>` in the
 * pods' `controller-revision-hash` label (63 max), hence 52.
 */
export const MAX_TEST_NAME = 52;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const intervalsSchema = z.strictObject({
    checkSeconds: positiveInt("checkSeconds").default(DEFAULTS.checkIntervalSeconds),
    pollTagSeconds: positiveInt("pollTagSeconds").default(DEFAULTS.pollTagIntervalSeconds),
});

export const BootstrapTestConfigSchema = z.strictObject({
    /** Names the StatefulSet, its pod (`<name>-0`), the results ConfigMap (`<name>-results`). */
    name: z
        .string({ error: "name must be a string" })
        .max(MAX_TEST_NAME, { error: `name must be at most ${MAX_TEST_NAME} characters` })
        .regex(DNS1035_LABEL, {
            error: "name must be a DNS-1035 label: lower-case letters, digits and '-', starting with a letter",
        }),
    /** The tag to follow; each digest it points at gets one test. */
    image: imageReference.refine((ref) => !ref.includes("@"), {
        error: "image must be a tag to follow (e.g. 'ghcr.io/org/node:master'), not a digest: a digest never moves, so no next test would ever start",
    }),
    syncMode: z.enum(SYNC_MODES, { error: `syncMode must be one of ${SYNC_MODES.join(", ")}` }),
    storage: storageSchema,
    intervals: intervalsSchema.default(intervalsSchema.parse({})),
    /** How many results the results ConfigMap keeps. Defaults to 10. */
    keepResults: positiveInt("keepResults")
        .max(MAX_KEEP, { error: `keepResults must be at most ${MAX_KEEP}` })
        .default(DEFAULTS.keepLast),
    /**
     * Node container restarts (in one pod) after which the test counts as failed and the next
     * digest may start. Defaults to 5.
     */
    maxNodeRestarts: positiveInt("maxNodeRestarts").default(DEFAULTS.maxNodeRestarts),
    /**
     * How old the node's newest block may be for a test to complete: a bootstrap ends at the
     * live tip. Raise it for chains with slow or skipped empty blocks. Defaults to 120.
     */
    maxBlockAgeSeconds: positiveInt("maxBlockAgeSeconds").default(DEFAULTS.maxBlockAgeSeconds),
    /**
     * A `kubernetes.io/dockerconfigjson` Secret in the namespace: the pod pulls with it and the
     * monitor resolves tags with it. Needed for private registries only.
     */
    registrySecret: z
        .string()
        .regex(DNS1123_SUBDOMAIN, {
            error: "registrySecret must name a Secret (a DNS-1123 subdomain)",
        })
        .optional(),
    /**
     * The followed image's registry speaks plain HTTP (a registry on a private address, like the
     * local cluster's node registry); loopback registries always are. Defaults to false.
     */
    plainHttp: booleanFlag("plainHttp").default(false),
    /** Extra node args, appended after the chain's own. */
    args: z.array(z.string({ error: "args must be strings" })).default([]),
    /** Extra node environment, e.g. state-sync servers and trust height (CMT_STATESYNC_…). */
    env: z
        .record(z.string().regex(ENV_NAME), z.string({ error: "env values must be strings" }), {
            // zod reports a bad key as "Invalid key in record" unless the record says otherwise.
            error: (issue) =>
                issue.code === "invalid_key"
                    ? "env names must be shell identifiers (letters, digits, '_')"
                    : undefined,
        })
        .default({}),
});

export type BootstrapTestConfigInput = z.input<typeof BootstrapTestConfigSchema>;
export type BootstrapTestConfig = z.output<typeof BootstrapTestConfigSchema>;
