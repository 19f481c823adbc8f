/**
 * In-fleet peers: every node the fleet declares, as `<node id>@<set>-p2p-<ordinal>.<ns>.svc:<p2p>`
 * (the pod's own ClusterIP Service, lib/manifests.ts: stable when the pod is recreated), known at
 * plan time because node keys are derived from the stack's nodeKeySeed (lib/nodeKeys.ts).
 * Each node gets the whole list as persistent peers (the agent drops the node itself), so a new
 * node finds the validators and every other node without seeds or PEX: CometBFT's address book
 * refuses private pod IPs in strict mode (config.toml `addr_book_strict`), so PEX alone would not
 * spread them.
 *
 * The host name stops at `.svc`: the pod's resolver search list completes it with the cluster's
 * own domain, so no cluster domain is assumed.
 */
import { portFor } from "../chains";
import { nodeId, podNodeKey } from "./nodeKeys";
import { GroupPlan, GroupPlanArgs, NodeSetPlan, planGroup } from "./planGroup";
import { setNames } from "./manifests";

/** The peer addresses of a set's nodes; none when the set takes no part in in-fleet peering. */
export function setPeerAddresses(set: NodeSetPlan): string[] {
    const { input } = set;
    const keys = input.nodeKeys;
    if (keys === undefined || !keys.inFleet) {
        return [];
    }
    const names = setNames(input);
    const port = portFor(input.adapter, "p2p").containerPort;
    return Array.from({ length: input.config.replicas }, (_, ordinal) => {
        const id = nodeId(podNodeKey(keys.seed, input.network, names.statefulSet, ordinal));
        return `${id}@${names.p2pService(ordinal)}.${input.namespace}.svc:${port}`;
    });
}

function withPeers(set: NodeSetPlan, peers: readonly string[]): NodeSetPlan {
    const keys = set.input.nodeKeys;
    return keys === undefined
        ? set
        : { ...set, input: { ...set.input, nodeKeys: { ...keys, peers } } };
}

/**
 * Every group's plan (planGroup), with the fleet's in-fleet peers filled in: what components/Fleet
 * declares. The peers reach only the sets' ConfigMaps (`overrides.json`), never a pod template
 * or a revision, so a node joining or leaving the fleet restarts no other node.
 */
export function planFleet(groups: readonly GroupPlanArgs[]): GroupPlan[] {
    const plans = groups.map(planGroup);
    const peers = fleetPeerAddresses(plans);
    return plans.map((plan) => ({
        ...plan,
        nodeSet: withPeers(plan.nodeSet, peers),
        ...(plan.preprod
            ? { preprod: { ...plan.preprod, nodeSet: withPeers(plan.preprod.nodeSet, peers) } }
            : {}),
    }));
}

/**
 * Every node of the fleet as a peer address, in group order: what each node gets, and what a
 * bootstrap test's node joins the network through. Empty without in-fleet peers.
 */
export function fleetPeerAddresses(plans: readonly GroupPlan[]): string[] {
    return plans.flatMap((plan) => [
        ...setPeerAddresses(plan.nodeSet),
        ...(plan.preprod ? setPeerAddresses(plan.preprod.nodeSet) : []),
    ]);
}
