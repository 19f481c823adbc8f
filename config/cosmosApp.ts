/**
 * The stack key `cosmos`: which Cosmos SDK daemon a `chain: cosmos` stack runs (chains/cosmosSdk.ts).
 * Its SDK version decides what `--halt-height` a hard-fork bootstrap passes, so it is checked here,
 * with every other problem, before anything is planned.
 */
import { z } from "zod";
import { sdkVersionProblem } from "../chains/cosmosSdk";
import type { ChainKind } from "../chains/kinds";
import { isObject } from "./rules";

/** A command in the image's PATH (`gaiad`) or an absolute path to one (`/usr/bin/gaiad`). */
const DAEMON = /^(?:[A-Za-z0-9._-]+|(?:\/[A-Za-z0-9._-]+)+)$/;
/** An absolute directory other than `/`, without `.`/`..` segments. */
const HOME = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._-]+)+$/;

export const cosmosAppSchema = z.strictObject({
    daemon: z.string({ error: "daemon must be a string" }).regex(DAEMON, {
        error: "daemon must be the daemon's name in the image's PATH (e.g. gaiad) or an absolute path to it",
    }),
    home: z
        .string({ error: "home must be a string" })
        .regex(HOME, {
            error: "home must be an absolute directory other than / (e.g. /gaiad): the data volume is mounted there",
        })
        .optional(),
    sdkVersion: z
        .string({ error: "sdkVersion must be a string" })
        .superRefine((v, ctx) => {
            const problem = sdkVersionProblem(v);
            if (problem !== undefined)
                ctx.addIssue({ code: "custom", message: `sdkVersion ${problem}` });
        })
        .optional(),
});

type Problem = { path: (string | number)[]; input: unknown; message: string };

/** `cosmos` is required by `chain: cosmos` and means nothing to the other chains. */
export function cosmosAppProblems(
    raw: Record<string, unknown>,
    chain: ChainKind | undefined,
): Problem[] {
    const problems: Problem[] = [];
    if (chain === "cosmos" && raw.cosmos === undefined) {
        problems.push({
            path: ["cosmos"],
            input: undefined,
            message:
                "chain cosmos needs the daemon it runs: cosmos: {daemon: gaiad, sdkVersion: v0.50.13} " +
                "(home defaults to /<daemon>)",
        });
    }
    if (chain !== undefined && chain !== "cosmos" && raw.cosmos !== undefined) {
        problems.push({
            path: ["cosmos"],
            input: raw.cosmos,
            message: `cosmos applies to chain cosmos only; the ${chain} adapter knows its own daemon: remove the key`,
        });
    }
    const tests = Array.isArray(raw.bootstrapTests) ? raw.bootstrapTests : [];
    if (chain === "cosmos" && tests.length > 0 && isObject(raw.cosmos)) {
        problems.push({
            path: ["bootstrapTests"],
            input: `${tests.length} test(s)`,
            message:
                "bootstrap tests run sei, cometbft and avalanche nodes; cosmos chains are not supported by the monitor yet",
        });
    }
    return problems;
}
