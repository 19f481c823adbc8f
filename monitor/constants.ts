/**
 * Names shared by the monitor, the manifests that run it and the tests: annotation keys, the
 * results ConfigMap key, event reasons, exit codes. One place, so the component and the CLI
 * cannot drift apart.
 */

export const ANNOTATION = {
    /** On the pod template: the followed tag the pinned image was resolved from. */
    followedImage: "chainfleet.io/followed-image",
    /** On the pod template: JSON of the pinned image's version labels. */
    versions: "chainfleet.io/versions",
} as const;

/** Label that selects a bootstrap test's pod; its value is the test's name. */
export const TEST_LABEL = "chainfleet.io/bootstrap-test";

/** Field manager of the monitor's patches, so `managedFields` shows who pinned the image. */
export const FIELD_MANAGER = "chainfleet-monitor";

/** Keys of the results ConfigMap: the JSON list of results, newest first, and the test in progress. */
export { CURRENT_KEY, RESULTS_KEY } from "../lib/bootstrapTest";

export const EVENT_REASON = {
    started: "BootstrapTestStarted",
    resumed: "BootstrapTestResumed",
    pinned: "BootstrapTestImagePinned",
    completed: "BootstrapTestCompleted",
    /** A Warning: the node kept failing, so the test ended without bootstrapping. */
    failed: "BootstrapTestFailed",
    newImage: "BootstrapTestNewImage",
} as const;

/** Log messages that people and tests grep for (the same words as avalanche's monitor). */
export const MESSAGE = {
    starting: "Starting bootstrap test",
    resuming: "Resuming bootstrap test",
    pinning: "Pinning the followed image to its digest",
    waiting: "Bootstrap test in progress",
    completed: "Bootstrap completed successfully",
    failed: "Bootstrap test failed",
    unchanged: "Image unchanged",
    newImage: "New image found; starting the next test",
    recreating: "Deleting pod so the StatefulSet recreates it from its updated template",
} as const;

export const EXIT = {
    ok: 0,
    /** A usage error: a flag is missing or wrong. */
    usage: 2,
    /** A failure worth a restart (API, registry or file errors). */
    failed: 1,
    /**
     * `init` deleted its own pod and is waiting to be killed: exiting non-zero guarantees the
     * kubelet never starts the node container of a pod that is going away.
     */
    podReplaced: 75,
} as const;
