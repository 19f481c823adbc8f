/**
 * A group's revision: a short hash of every input that shapes its pods. Equal inputs give the
 * same revision on every machine, so an unchanged stack is a no-op; any pod-shaping change gives a
 * new one, which is what makes an entrant group. Replicas, the update strategy and the disruption
 * budget do not shape pods and are left out, so scaling never looks like an upgrade.
 *
 * The snapshot-restore init container's image is a stack-wide key (`snapshotImage`), not a group
 * key, so callers pass it beside the group. It counts only for groups with a snapshot: the others
 * have no such container, and their revision must not move when it changes.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "./json";
import type { ChainKind } from "../chains/kinds";
import type { GroupSpec } from "./groupSpec";
import { DEFAULT_SNAPSHOT_IMAGE } from "./snapshot";
import { REVISION_LENGTH } from "./names";
import { NODE_AGENT_IMAGE } from "./nodeHome";
import { adapterFor } from "../chains";

export { canonicalJson };

/**
 * The inputs that shape a group's pods. `snapshotImage` is the stack's `snapshotImage`; defaults
 * to the schema's default, as lib/manifests.ts does.
 */
export function podShapingInputs(
    chain: ChainKind,
    group: GroupSpec,
    snapshotImage: string = DEFAULT_SNAPSHOT_IMAGE,
    nodeKeySeed?: string,
): Record<string, unknown> {
    return {
        chain,
        image: group.image,
        args: group.args ?? [],
        env: group.env ?? {},
        configFiles: group.configFiles ?? {},
        resources: group.resources ?? {},
        // A StatefulSet's volumeClaimTemplates are immutable, so storage changes need new objects.
        storage: group.storage,
        snapshot: group.snapshot ?? null,
        // Absent (not null) without a snapshot, so those groups keep the revision they had.
        snapshotImage: group.snapshot ? snapshotImage : undefined,
        // What the prepare step puts into the home (chainfleet-agent, lib/nodeHome.ts); absent
        // when not given, and the agent's image only for the chains whose pods run it.
        chainId: group.chainId,
        // chain cosmos: the daemon and home shape every container; the SDK version the halt flag.
        cosmos: group.cosmos,
        genesis: group.genesis,
        config: group.config,
        peers: group.peers,
        stateSync: group.stateSync,
        nodeAgent: adapterFor(chain, group.cosmos).nodeHome ? NODE_AGENT_IMAGE : undefined,
        validator: group.validator,
        placement: group.placement,
        // Whether pods get fleet node keys (a key flag and a Secret volume): not which seed, so
        // a revision is computed alike by `npm run plan`, which cannot decrypt it.
        nodeKeys: nodeKeySeed === undefined ? undefined : true,
    };
}

export function revisionOf(
    chain: ChainKind,
    group: GroupSpec,
    snapshotImage: string = DEFAULT_SNAPSHOT_IMAGE,
    nodeKeySeed?: string,
): string {
    return createHash("sha256")
        .update(canonicalJson(podShapingInputs(chain, group, snapshotImage, nodeKeySeed)))
        .digest("hex")
        .slice(0, REVISION_LENGTH);
}
