/**
 * `monitor init`: the init container. Decides (initPlan.ts) whether the pod starts a new test,
 * resumes one, or must first be pinned to a digest, and carries that out.
 *
 * ## Pinning a tag without the "pod never Ready" trap
 *
 * The test is identified by a digest, so a pod running a tag is first pinned: resolve the tag
 * through the registry, patch the StatefulSet's template to `name@sha256:…`, and get a pod from
 * the new template. The trap (research/progressive.md §1; kubernetes#67250, #60164): with the
 * default `RollingUpdate` strategy the StatefulSet controller replaces a pod for a new template
 * only once the pod is Running and Ready, and this pod is neither (it is stuck in its init
 * container, and a bootstrapping node is not Ready for days). Patching alone would wait forever.
 *
 * chainfleet's answer, in two parts:
 * 1. The StatefulSet uses `updateStrategy: OnDelete` (components/bootstrapTest/manifests.ts): the controller never
 *    replaces pods by itself, so nothing waits on readiness, and a deleted pod is always
 *    recreated from the *newest* template (with `OnDelete` the controller's
 *    `isCurrentRevisionNeeded` is false). The monitor is the one that replaces the pod.
 * 2. After the patch, `init` deletes its own pod with a UID precondition (it can never delete
 *    the replacement), then waits to be killed and, if it is not, exits non-zero (EXIT.podReplaced)
 *    so the kubelet can never start the node container of the old pod. A crash anywhere in between
 *    is safe: the next run finds the pod still on a tag, and the patch is idempotent.
 */
import type { ChainAdapter } from "../chains/types";
import { freshStart } from "./chainSettings";
import { ANNOTATION, EVENT_REASON, EXIT, MESSAGE } from "./constants";
import { readDetails, wipeForFreshStart, writeDetails } from "./details";
import { parseImageRef, pinnedImage } from "./imageRef";
import { planInit } from "./initPlan";
import type { MonitorKube } from "./kubeOps";
import type { Logger } from "./log";
import type { InitOptions } from "./options";
import type { RegistryClient } from "./registry";
import type { NodeImageContainers } from "./kubeOps";
import type { CommonOptions } from "./options";
import { nodeContainerImage, parseVersions, waitPodGone, checkOwner } from "./podInfo";

export interface MonitorDeps {
    kube: MonitorKube;
    registry: RegistryClient;
    adapter: ChainAdapter;
    log: Logger;
    now?: () => Date;
    sleep?: (ms: number) => Promise<void>;
}

export async function runInit(opts: InitOptions, deps: MonitorDeps): Promise<number> {
    const { kube, log } = deps;
    const pod = await kube.getPod();
    const podImage = nodeContainerImage(pod, opts.nodeContainer);
    const annotations = pod.metadata?.annotations ?? {};
    const details = await readDetails(opts.dataDir);
    const plan = planInit({
        podImage,
        followImage: opts.followImage,
        pinnedFrom: annotations[ANNOTATION.followedImage],
        versions: parseVersions(annotations[ANNOTATION.versions]),
        details,
        syncMode: opts.syncMode,
        now: (deps.now ?? (() => new Date()))(),
    });
    const sts = await kube.getStatefulSet();
    checkOwner(pod, opts.statefulSet);

    switch (plan.action) {
        case "pin": {
            const follow = parseImageRef(opts.followImage, "--follow-image");
            log.info(MESSAGE.pinning, { reason: plan.reason, followImage: opts.followImage });
            const { digest } = await deps.registry.resolve(follow);
            const versions = await imageVersions(deps, follow, digest);
            const image = pinnedImage(follow, digest);
            await kube.pinImage(nodeImageContainers(opts), image, {
                [ANNOTATION.followedImage]: opts.followImage,
                [ANNOTATION.versions]: JSON.stringify(versions),
            });
            await kube.event(sts, EVENT_REASON.pinned, `Pinned ${opts.followImage} to ${image}`);
            const uid = pod.metadata?.uid ?? "";
            log.info(MESSAGE.recreating, { image, pod: opts.podName, uid });
            await kube.deletePod(uid);
            const gone = await waitPodGone(kube, uid, opts.terminationWaitSeconds, deps.sleep);
            log.info("exiting without starting a test: this pod is being replaced", { gone });
            return EXIT.podReplaced;
        }
        case "resume":
            log.info(MESSAGE.resuming, { reason: plan.reason, ...plan.details });
            await kube.event(
                sts,
                EVENT_REASON.resumed,
                `Resuming the test of ${plan.details.image}`,
            );
            return EXIT.ok;
        case "fresh": {
            const fresh = freshStart(opts.chain);
            log.info(MESSAGE.starting, {
                reason: plan.reason,
                removes: fresh.remove,
                ...plan.details,
            });
            // Wipe first, details second: a crash between them leaves the old details, so the
            // next run wipes again. The other order could resume on half-wiped data.
            const removed = await wipeForFreshStart(opts.dataDir, fresh);
            log.info("Removed the previous test's node data", { removed });
            await writeDetails(opts.dataDir, plan.details);
            await kube.event(
                sts,
                EVENT_REASON.started,
                `Starting a ${plan.details.syncMode} test of ${plan.details.image}`,
            );
            return EXIT.ok;
        }
        default: {
            const unknown: never = plan;
            throw new Error(`unknown init plan ${JSON.stringify(unknown)}`);
        }
    }
}

/** The containers a pin sets the image of. */
export function nodeImageContainers(opts: CommonOptions): NodeImageContainers {
    return { node: opts.nodeContainer, init: opts.nodeInitContainers };
}

/** Version labels, best effort: a registry that hides configs must not block the test. */
export async function imageVersions(
    deps: Pick<MonitorDeps, "registry" | "log">,
    ref: ReturnType<typeof parseImageRef>,
    digest: string,
): Promise<Record<string, string>> {
    try {
        return await deps.registry.versions(ref, digest);
    } catch (err) {
        deps.log.warn("could not read the image's version labels", {
            digest,
            error: (err as Error).message,
        });
        return {};
    }
}
