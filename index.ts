/**
 * chainfleet: config -> incumbents -> components -> outputs. Config is validated in full before
 * any resource is registered; each group's incumbent is then read from the cluster, so the plan
 * (create, steady, blue-green, hard fork) rests on what really serves now, and a hard fork's
 * heights are checked against the upgrade the chain has scheduled.
 */
import * as pulumi from "@pulumi/pulumi";
import { declareFleet } from "./components/Fleet";
import { programError } from "./components/programError";
import { loadStackConfig } from "./config";
import { checkGroupsAgainstChain } from "./kube/chainPlan";
import { readIncumbents } from "./kube/incumbent";
import { chainPlanError } from "./lib/chainPlanCheck";
import { fleetGroupArgs } from "./lib/planGroup";
import { planPreprod } from "./lib/preprod";

// Errors leave as programError makes them: Pulumi would otherwise spend a minute formatting one
// before printing it (components/programError.ts).
export = async () => {
    try {
        return await program();
    } catch (err) {
        throw programError(err);
    }
};

async function program() {
    const config = loadStackConfig(pulumi.runtime.allConfig());
    const kube = {
        // The dynamic providers run in their own process and take the kubeconfig by path.
        kubeconfig: process.env.KUBECONFIG?.split(":")[0] || undefined,
        context: new pulumi.Config("kubernetes").get("context"),
    };
    const incumbents = await readIncumbents(config, kube);
    const preprod = planPreprod(config, new Date());
    for (const warning of preprod?.selection.warnings ?? []) {
        pulumi.log.warn(`preprod: ${warning}`);
    }
    // A HardFork group's haltHeight and upgradeName checked against the chain's x/upgrade plan,
    // before anything is declared: a contradiction stops here, as a config error does; the rest
    // is logged on the group (lib/chainPlanCheck.ts, chains/upgradePlan.ts compareWithPlan).
    const chainPlans = await checkGroupsAgainstChain(
        fleetGroupArgs(config.network, config, incumbents, preprod),
        kube,
    );
    const refused = chainPlanError(chainPlans);
    if (refused) {
        throw refused;
    }
    const fleet = declareFleet(config.network, { config, incumbents, kube, preprod, chainPlans });
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
}
