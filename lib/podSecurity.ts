/**
 * The security contexts every chainfleet pod runs with: node sets, bootstrap Jobs and bootstrap
 * tests share one data-volume owner, so they must agree on it.
 */

/** Non-root identity of the node process; fsGroup makes the data volume writable for it. */
export const NODE_UID = 10001;

/** The pod-level context: a non-root node that owns its data volume. */
export function nodePodSecurityContext(): Record<string, unknown> {
    return {
        runAsNonRoot: true,
        runAsUser: NODE_UID,
        runAsGroup: NODE_UID,
        fsGroup: NODE_UID,
        // Re-chowning a multi-terabyte chain volume on every start takes hours.
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** A container that may not gain privileges and has no capabilities. */
export function restrictedContainerSecurityContext(): Record<string, unknown> {
    return { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
}
