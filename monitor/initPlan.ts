/**
 * What `init` does, decided from what it observed. Pure, so every case is a row in a table test.
 */
import { DetailsRead, SyncMode, TestDetails } from "./details";
import { parseImageRef } from "./imageRef";

export interface InitObservation {
    /** The node container's image in this pod. */
    podImage: string;
    /** The tag the test follows (`--follow-image`). */
    followImage: string;
    /** The pod's `chainfleet.io/followed-image` annotation: the tag its digest came from. */
    pinnedFrom?: string;
    /** The pod's version annotation, parsed. */
    versions: Record<string, string>;
    details: DetailsRead;
    syncMode: SyncMode;
    now: Date;
}

export type InitPlan =
    /** The pod does not run a digest of the followed tag: resolve, patch, replace the pod. */
    | { action: "pin"; reason: string }
    /** The volume holds a test of this digest and sync mode: keep the data. */
    | { action: "resume"; reason: string; details: TestDetails }
    /** Start afresh: wipe the node's data, then write `details`. */
    | { action: "fresh"; reason: string; details: TestDetails };

export function planInit(obs: InitObservation): InitPlan {
    const pod = parseImageRef(obs.podImage, "the node container's image");
    if (pod.digest === undefined) {
        return {
            action: "pin",
            reason: `the pod runs tag ${obs.podImage}; a test must identify its image by digest`,
        };
    }
    if (obs.pinnedFrom !== obs.followImage) {
        return {
            action: "pin",
            reason:
                obs.pinnedFrom === undefined
                    ? `the pod's digest was not resolved from the followed image ${obs.followImage}`
                    : `the followed image changed from ${obs.pinnedFrom} to ${obs.followImage}`,
        };
    }
    const fresh = (reason: string): InitPlan => ({
        action: "fresh",
        reason,
        details: {
            image: obs.podImage,
            digest: pod.digest as string,
            startTime: obs.now.toISOString(),
            syncMode: obs.syncMode,
            followImage: obs.followImage,
            versions: obs.versions,
        },
    });
    const read = obs.details;
    if (read.kind === "missing") {
        return fresh("no details file: the volume holds no test yet");
    }
    if (read.kind === "corrupt") {
        // The data cannot be tied to an image, so it cannot count towards a result.
        return fresh(`the details file is unreadable (${read.error})`);
    }
    const previous = read.details;
    if (previous.digest !== pod.digest) {
        return fresh(`the image digest changed from ${previous.digest} to ${pod.digest}`);
    }
    if (previous.syncMode !== obs.syncMode) {
        // A state-synced volume never replayed history: resuming it as a full sync would
        // report a full sync that never happened.
        return fresh(`the sync mode changed from ${previous.syncMode} to ${obs.syncMode}`);
    }
    return {
        action: "resume",
        reason: `the volume holds the test of ${pod.digest} started at ${previous.startTime}`,
        details: previous,
    };
}

export interface RevisionObservation {
    /** The pod's `controller-revision-hash` label. */
    podRevision?: string;
    generation?: number;
    observedGeneration?: number;
    updateRevision?: string;
}

/**
 * Why the pod is older than its StatefulSet's template, or undefined when it is current (or the
 * controller has not caught up yet, in which case the revision cannot be trusted). The
 * StatefulSet uses `OnDelete`, so a newer template reaches the pod only when someone deletes it.
 */
export function podOutdated(obs: RevisionObservation): string | undefined {
    if (!obs.podRevision || !obs.updateRevision) {
        return undefined;
    }
    if ((obs.observedGeneration ?? 0) < (obs.generation ?? 0)) {
        return undefined;
    }
    return obs.podRevision === obs.updateRevision
        ? undefined
        : `pod runs revision ${obs.podRevision} but the StatefulSet's template is ${obs.updateRevision}`;
}
