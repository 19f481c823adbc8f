/**
 * What the program's top level (index.ts) throws, so that Pulumi prints it at once.
 *
 * Pulumi formats an unhandled program error with `util.inspect(err, { colors: true })`, for the
 * message (unless it is a RunError, or a ResourceError with `hideStack`) and again, always, for
 * its tracing span. With colours, Node 20's inspect marks the package of every `node_modules`
 * frame of the stack, and loops on a scoped package's file that has no directory after the scope:
 * the frame `node_modules/@pulumi/resource.ts` (where the SDK's source maps point) ends every
 * program's stack. The loop runs until the string outgrows V8's limit, half a minute of CPU or
 * more each time, before Pulumi falls back to `util.inspect(err)`. A deploy job whose identity
 * lacked a permission, or a stack with a config error, waited a minute for its one-line message.
 *
 * Pulumi formats an error without a stack as its message alone. So the error thrown carries none:
 * chainfleet's own errors (config, the incumbent read, a HardFork the chain contradicts) keep
 * their message, which is whole; any other error gets the text Pulumi's own fallback would print
 * (its stack and cause included), formatted here without colours.
 */
import * as pulumi from "@pulumi/pulumi";
import * as util from "node:util";
import { ConfigError } from "../config";
import { ClusterReadError } from "../kube/incumbent";
import { ChainPlanError } from "../lib/chainPlanCheck";

/** `err` as an error Pulumi prints at once: no stack of its own, the same text or a shorter one. */
export function programError(err: unknown): Error {
    if (
        err instanceof ConfigError ||
        err instanceof ClusterReadError ||
        err instanceof ChainPlanError
    ) {
        // Whole sentences for the person running `pulumi up`; a stack adds nothing to them.
        return stackless(new pulumi.RunError(err.message));
    }
    if (pulumi.ResourceError.isInstance(err)) {
        const text = err.hideStack ? err.message : util.inspect(err);
        return stackless(new pulumi.ResourceError(text, err.resource, true));
    }
    if (pulumi.RunError.isInstance(err)) {
        return stackless(err);
    }
    // Anything else is unexpected: what Pulumi's fallback prints, with the stack and the cause.
    return stackless(new pulumi.RunError(util.inspect(err)));
}

function stackless<E extends Error>(err: E): E {
    err.stack = "";
    return err;
}
