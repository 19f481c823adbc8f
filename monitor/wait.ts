/**
 * `monitor wait-for-completion`: the sidecar. Two phases, each a loop of observe → decide → act:
 *
 * 1. until the node completes (completion.ts): log duration and disk usage every check; then
 *    record the result in the results ConfigMap (last N kept) and as an Event;
 * 2. poll the followed tag; when its digest differs from the tested one, pin the new digest in
 *    the StatefulSet and delete the pod, so `init` starts the next test.
 *
 * In both phases a pod older than its StatefulSet's template (`pulumi up` changed it) is deleted
 * so the change applies: the StatefulSet uses OnDelete (see init.ts), and resuming costs only a
 * node restart.
 */
import type { NodeStatus } from "../chains/types";
import { assessCompletion } from "./completion";
import { ANNOTATION, EVENT_REASON, EXIT, MESSAGE } from "./constants";
import { TestDetails, detailsPath, readDetails } from "./details";
import { diskUsage, formatBytes, formatDuration } from "./diskUsage";
import { parseImageRef, pinnedImage } from "./imageRef";
import { MonitorDeps, imageVersions } from "./init";
import { podOutdated } from "./initPlan";
import { defaultStatusUrl, observeNode } from "./nodeStatus";
import type { WaitOptions } from "./options";
import { waitPodGone } from "./podInfo";
import type { TestResult } from "./results";

const REVISION_LABEL = "controller-revision-hash";

export async function runWait(opts: WaitOptions, deps: MonitorDeps): Promise<number> {
    const { kube, log, adapter } = deps;
    const now = deps.now ?? (() => new Date());
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const read = await readDetails(opts.dataDir);
    if (read.kind !== "ok") {
        throw new Error(
            `details file ${detailsPath(opts.dataDir)} is ${read.kind === "missing" ? "missing" : `unreadable (${read.error})`}: \`monitor init\` writes it before this sidecar starts; check that both mount the data volume at --data-dir ${opts.dataDir}`,
        );
    }
    const details = read.details;
    const statusUrl = opts.statusUrl ?? defaultStatusUrl(adapter);
    const elapsed = () => (now().getTime() - Date.parse(details.startTime)) / 1000;
    log.info("Waiting for the bootstrap test to complete", { ...details, statusUrl });

    /** Deletes the pod when its template is stale; true when it did (the caller then ends). */
    const replacedIfOutdated = async (): Promise<boolean> => {
        const [pod, sts] = await Promise.all([kube.getPod(), kube.getStatefulSet()]);
        const reason = podOutdated({
            podRevision: pod.metadata?.labels?.[REVISION_LABEL],
            generation: sts.metadata?.generation,
            observedGeneration: sts.status?.observedGeneration,
            updateRevision: sts.status?.updateRevision,
        });
        if (!reason) {
            return false;
        }
        log.info(MESSAGE.recreating, { reason, pod: opts.podName });
        await kube.deletePod(pod.metadata?.uid ?? "");
        await waitPodGone(kube, pod.metadata?.uid ?? "", opts.terminationWaitSeconds, sleep);
        return true;
    };

    // Phase 1: wait for completion.
    let previous: NodeStatus | undefined;
    let final: { status: NodeStatus; diskUsageBytes: number; reason: string };
    for (;;) {
        if (await replacedIfOutdated()) {
            return EXIT.ok;
        }
        const observation = await observeNode(adapter, statusUrl);
        const verdict = assessCompletion(opts.chain, previous, observation);
        const usage = await diskUsage(opts.dataDir);
        if (verdict.complete && observation.status) {
            final = { status: observation.status, diskUsageBytes: usage, reason: verdict.reason };
            break;
        }
        log.info(MESSAGE.waiting, {
            reason: verdict.reason,
            height: observation.status?.height,
            duration: formatDuration(elapsed()),
            diskUsage: formatBytes(usage),
            diskUsageBytes: usage,
        });
        previous = observation.status ?? previous;
        await sleep(opts.checkIntervalSeconds * 1000);
    }

    const result = buildResult(opts, details, final, now(), elapsed());
    const { added } = await kube.saveResult(opts.resultsConfigMap, result, opts.keepLast);
    log.info(MESSAGE.completed, {
        ...result,
        reason: final.reason,
        duration: formatDuration(result.durationSeconds),
        diskUsage: formatBytes(result.diskUsageBytes),
        resultsConfigMap: opts.resultsConfigMap,
        alreadyRecorded: !added,
    });
    if (added) {
        await kube.event(
            await kube.getStatefulSet(),
            EVENT_REASON.completed,
            `Bootstrap of ${details.image} (${details.syncMode}) completed in ${formatDuration(result.durationSeconds)} using ${formatBytes(result.diskUsageBytes)}`,
        );
    }

    // Phase 2: wait for a new digest under the followed tag.
    const follow = parseImageRef(opts.followImage, "--follow-image");
    for (;;) {
        if (await replacedIfOutdated()) {
            return EXIT.ok;
        }
        let digest: string;
        try {
            digest = (await deps.registry.resolve(follow)).digest;
        } catch (err) {
            // A registry outage must not end the sidecar; the next poll tries again.
            log.warn("could not resolve the followed image; retrying at the next poll", {
                followImage: opts.followImage,
                error: (err as Error).message,
            });
            await sleep(opts.pollTagIntervalSeconds * 1000);
            continue;
        }
        if (digest === details.digest) {
            log.info(MESSAGE.unchanged, { followImage: opts.followImage, digest });
            await sleep(opts.pollTagIntervalSeconds * 1000);
            continue;
        }
        const image = pinnedImage(follow, digest);
        const versions = await imageVersions(deps, follow, digest);
        const pod = await kube.getPod();
        await kube.pinImage(opts.nodeContainer, image, {
            [ANNOTATION.followedImage]: opts.followImage,
            [ANNOTATION.versions]: JSON.stringify(versions),
        });
        await kube.event(
            await kube.getStatefulSet(),
            EVENT_REASON.newImage,
            `${opts.followImage} moved from ${details.digest} to ${digest}; starting the next test`,
        );
        log.info(MESSAGE.newImage, { previous: details.digest, image, versions });
        const uid = pod.metadata?.uid ?? "";
        await kube.deletePod(uid);
        await waitPodGone(kube, uid, opts.terminationWaitSeconds, sleep);
        return EXIT.ok;
    }
}

export function buildResult(
    opts: Pick<WaitOptions, "chain" | "followImage">,
    details: TestDetails,
    final: { status: NodeStatus; diskUsageBytes: number },
    completedAt: Date,
    durationSeconds: number,
): TestResult {
    return {
        image: details.image,
        digest: details.digest,
        followImage: details.followImage || opts.followImage,
        versions: details.versions,
        ...(final.status.version !== undefined ? { nodeVersion: final.status.version } : {}),
        chain: opts.chain,
        syncMode: details.syncMode,
        startTime: details.startTime,
        completedAt: completedAt.toISOString(),
        durationSeconds: Math.round(durationSeconds),
        diskUsageBytes: final.diskUsageBytes,
        height: final.status.height,
    };
}
