/**
 * chainfleet: config -> incumbents -> components -> outputs. Config is validated in full before
 * any resource is registered; each group's incumbent is then read from the cluster, so the plan
 * (create, steady, blue-green, hard fork) rests on what really serves now.
 */
import * as pulumi from "@pulumi/pulumi";
import { declareFleet } from "./components/Fleet";
import { ConfigError, loadStackConfig } from "./config";
import { readIncumbents } from "./kube/incumbent";
import { planPreprod } from "./lib/preprod";

/**
 * The stack's config, or a failed run that says why, fast. Pulumi prints an uncaught error with
 * util.inspect and its stack frames, which under ts-node and Pulumi's inspector session took
 * minutes for a one-line config problem (measured: 169 s of a `pulumi preview`, 125 s of it in
 * the garbage collector). The problems are the whole message: no stack is needed.
 */
function loadConfigOrFail() {
    try {
        return loadStackConfig(pulumi.runtime.allConfig());
    } catch (err) {
        throw err instanceof ConfigError ? runFailure(err.message) : err;
    }
}

/**
 * A RunError is printed as its message alone; Pulumi still inspects it once for its trace span,
 * which without frames is cheap too (12 s for the whole failed preview instead of 169 s).
 */
function runFailure(message: string): pulumi.RunError {
    const failure = new pulumi.RunError(message);
    failure.stack = `${failure.name}: ${failure.message}`;
    return failure;
}

/** The incumbents, or a failed run that says why (a 403 names the missing permission). */
async function readIncumbentsOrFail(...args: Parameters<typeof readIncumbents>) {
    try {
        return await readIncumbents(...args);
    } catch (err) {
        throw runFailure(
            `cannot read the groups' incumbents from the cluster; nothing was changed: ${err instanceof Error ? err.message : String(err)}`,
        );
    }
}

export = async () => {
    const config = loadConfigOrFail();
    const kube = {
        // The dynamic providers run in their own process and take the kubeconfig by path.
        kubeconfig: process.env.KUBECONFIG?.split(":")[0] || undefined,
        context: new pulumi.Config("kubernetes").get("context"),
    };
    const incumbents = await readIncumbentsOrFail(config, kube);
    const preprod = planPreprod(config, new Date());
    for (const warning of preprod?.selection.warnings ?? []) {
        pulumi.log.warn(`preprod: ${warning}`);
    }
    const fleet = declareFleet(config.network, { config, incumbents, kube, preprod });
    return {
        network: config.network,
        namespace: fleet.namespace.metadata.name,
        revisions: fleet.revisions(),
        // Only when configured: an undefined output makes Pulumi warn on every run.
        ...(preprod && {
            preprod: {
                epoch: preprod.selection.epoch,
                percent: preprod.selection.percent,
                // The nodes that left their group's set (its top ordinals), and the pods that
                // run the preprod image in their place.
                nodes: Object.values(preprod.groups).flatMap((g) => g.nodes),
                pods: Object.values(preprod.groups).flatMap((g) => g.pods),
                groups: preprod.groups,
            },
        }),
        stableServices: Object.fromEntries(
            Object.entries(fleet.deployments).map(([g, d]) => [g, d.stableService.metadata.name]),
        ),
    };
};
