/**
 * Pure decisions behind the traffic switch: is the selector already switched, what patch flips
 * it, and do the Service's EndpointSlices show only entrant pods with enough of them ready.
 */
import type { V1EndpointSlice } from "@kubernetes/client-node";
import type { Verdict } from "./gates";

export type Selector = Record<string, string>;

/** Same keys, same values. Order does not matter. */
export function selectorsEqual(a: Selector | undefined, b: Selector | undefined): boolean {
    const ak = Object.keys(a ?? {});
    const bk = Object.keys(b ?? {});
    return ak.length === bk.length && ak.every((k) => (b ?? {})[k] === (a ?? {})[k]);
}

/** Whether a pod's labels satisfy an equality selector. */
export function matchesSelector(labels: Selector | undefined, selector: Selector): boolean {
    return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** `k=v,k2=v2`, the labelSelector query form, keys sorted so logs and URLs are stable. */
export function selectorString(selector: Selector): string {
    return Object.keys(selector)
        .sort()
        .map((k) => `${k}=${selector[k]}`)
        .join(",");
}

/**
 * A JSON merge patch that makes the selector exactly `target`. Merge patches merge maps, so keys
 * the target drops must be sent as null or the old revision's key would survive and the selector
 * would match nothing. `resourceVersion` makes the write conditional: if someone changed the
 * Service since it was read, the API answers 409 and the switch re-reads instead of clobbering.
 */
export function selectorPatch(
    current: Selector | undefined,
    target: Selector,
    resourceVersion: string | undefined,
    annotations: Record<string, string | null>,
): Record<string, unknown> {
    const selector: Record<string, string | null> = { ...target };
    for (const key of Object.keys(current ?? {})) {
        if (!(key in target)) {
            selector[key] = null;
        }
    }
    return {
        metadata: { ...(resourceVersion ? { resourceVersion } : {}), annotations },
        spec: { selector },
    };
}

export interface EndpointCount {
    ready: number;
    total: number;
    /** Pods behind endpoints that are not entrants (still incumbents, or strangers). */
    foreign: string[];
}

/**
 * Counts endpoints across a Service's slices. `conditions.ready` unset means ready (the
 * EndpointSlice API says consumers should treat unknown as ready); terminating endpoints are
 * not ready by definition.
 */
export function countEndpoints(
    slices: readonly V1EndpointSlice[],
    entrantPods?: ReadonlySet<string>,
): EndpointCount {
    const count: EndpointCount = { ready: 0, total: 0, foreign: [] };
    for (const slice of slices) {
        for (const ep of slice.endpoints ?? []) {
            count.total++;
            if (ep.conditions?.ready !== false && ep.conditions?.terminating !== true) {
                count.ready++;
            }
            const pod = ep.targetRef?.kind === "Pod" ? ep.targetRef.name : undefined;
            if (entrantPods && (!pod || !entrantPods.has(pod))) {
                count.foreign.push(pod ?? ep.addresses.join("/"));
            }
        }
    }
    return count;
}

/** After the flip: the Service's endpoints are entrants only, and at least `minReady` ready. */
export function evaluateSwitched(
    slices: readonly V1EndpointSlice[],
    entrantPods: ReadonlySet<string>,
    minReady: number,
): Verdict {
    const c = countEndpoints(slices, entrantPods);
    if (c.foreign.length > 0) {
        return {
            pass: false,
            reason: `endpoints still include non-entrant ${c.foreign.sort().join(", ")}`,
        };
    }
    if (c.ready < minReady) {
        return {
            pass: false,
            reason: `${c.ready}/${minReady} entrant endpoints ready (${c.total} listed)`,
        };
    }
    return { pass: true, reason: `${c.ready} ready endpoints, all entrants` };
}
