/**
 * `monitor wait-for-completion`: the sidecar. Two phases, each a loop of observe → decide → act:
 *
 * 1. until the node completes, or fails for good (its container restarted --max-node-restarts
 *    times; completion.ts): log duration and disk usage every check, and keep the test in
 *    progress in the results ConfigMap's `current.json`; then record the result there (last N
 *    kept) and as an Event (a Warning for a failure);
 * 2. poll the followed tag; when its digest differs from the tested one, pin the new digest in
 *    the StatefulSet and delete the pod, so `init` starts the next test.
 *
 * In both phases a pod older than its StatefulSet's template (`pulumi up` changed it) is deleted
 * so the change applies: the StatefulSet uses OnDelete (see init.ts), and resuming costs only a
 * node restart.
 */
import type { NodeStatus } from "../chains/types";
import type { k8s } from "../kube/kube";
import type { Outcome } from "../lib/bootstrapTest";
import { assessCompletion, assessFailure } from "./completion";
import { ANNOTATION, EVENT_REASON, EXIT, MESSAGE } from "./constants";
import { TestDetails, detailsPath, readDetails } from "./details";
import { DiskUsage, diskUsage, formatDuration, formatUsage } from "./diskUsage";
import { parseImageRef, pinnedImage } from "./imageRef";
import { MonitorDeps, imageVersions, nodeImageContainers } from "./init";
import { podOutdated } from "./initPlan";
import { defaultStatusUrl, observeNode } from "./nodeStatus";
import type { WaitOptions } from "./options";
import { nodeRestarts, waitPodGone } from "./podInfo";
import type { RunningTest, TestResult } from "./results";

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
    const replacedIfOutdated = async (pod: k8s.V1Pod, sts: k8s.V1StatefulSet): Promise<boolean> => {
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
    const outdated = async (): Promise<{ pod: k8s.V1Pod; replaced: boolean }> => {
        const [pod, sts] = await Promise.all([kube.getPod(), kube.getStatefulSet()]);
        return { pod, replaced: await replacedIfOutdated(pod, sts) };
    };

    // Phase 1: wait for completion, or for the node to fail for good.
    let previous: NodeStatus | undefined;
    let written: { at: number; restarts: number } | undefined;
    let final: Final;
    for (;;) {
        const { pod, replaced } = await outdated();
        if (replaced) {
            return EXIT.ok;
        }
        const restarts = nodeRestarts(pod, opts.nodeContainer);
        const observation = await observeNode(adapter, statusUrl);
        const verdict = assessCompletion(opts.chain, previous, observation, {
            now: now(),
            maxBlockAgeSeconds: opts.maxBlockAgeSeconds,
        });
        const usage = await diskUsage(opts.dataDir);
        const failure = verdict.complete
            ? undefined
            : assessFailure(restarts, opts.maxNodeRestarts);
        if (verdict.complete || failure !== undefined) {
            final = {
                outcome: verdict.complete ? "completed" : "failed",
                reason: failure ?? verdict.reason,
                status: observation.status ?? previous,
                usage,
            };
            break;
        }
        log.info(MESSAGE.waiting, {
            reason: verdict.reason,
            height: observation.status?.height,
            nodeRestarts: restarts.count,
            duration: formatDuration(elapsed()),
            diskUsage: formatUsage(usage),
            diskUsageBytes: usage.bytes,
            ...diskUsageProblems(usage),
        });
        previous = observation.status ?? previous;
        // The test in progress, for `npm run bootstrap-tests`: at once, then every few minutes
        // and whenever the node restarted. Best effort: the test goes on without it.
        const at = now().getTime();
        if (
            written === undefined ||
            at - written.at >= CURRENT_EVERY_SECONDS * 1000 ||
            restarts.count !== written.restarts
        ) {
            try {
                await kube.saveCurrent(
                    opts.resultsConfigMap,
                    runningTest(opts, details, {
                        status: verdict.reason,
                        height: previous?.height,
                        usage,
                        restarts: restarts.count,
                        at: now(),
                    }),
                );
                written = { at, restarts: restarts.count };
            } catch (err) {
                log.warn("could not record the test in progress", {
                    resultsConfigMap: opts.resultsConfigMap,
                    error: (err as Error).message,
                });
            }
        }
        await sleep(opts.checkIntervalSeconds * 1000);
    }

    const result = buildResult(opts, details, final, now(), elapsed());
    const { added } = await kube.saveResult(opts.resultsConfigMap, result, opts.keepLast);
    const summary = `${formatDuration(result.durationSeconds)} using ${formatUsage(final.usage)}`;
    const fields = {
        ...result,
        duration: formatDuration(result.durationSeconds),
        diskUsage: formatUsage(final.usage),
        ...diskUsageProblems(final.usage),
        resultsConfigMap: opts.resultsConfigMap,
        alreadyRecorded: !added,
    };
    if (final.outcome === "completed") {
        log.info(MESSAGE.completed, fields);
    } else {
        log.error(MESSAGE.failed, fields);
    }
    if (added) {
        const sts = await kube.getStatefulSet();
        if (final.outcome === "completed") {
            await kube.event(
                sts,
                EVENT_REASON.completed,
                `Bootstrap of ${details.image} (${details.syncMode}) completed in ${summary}`,
            );
        } else {
            await kube.event(
                sts,
                EVENT_REASON.failed,
                `Bootstrap of ${details.image} (${details.syncMode}) failed after ${summary}: ${final.reason}; the next digest of ${opts.followImage} starts a new test`,
                "Warning",
            );
        }
    }

    // Phase 2: wait for a new digest under the followed tag.
    const follow = parseImageRef(opts.followImage, "--follow-image");
    for (;;) {
        if ((await outdated()).replaced) {
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
        await kube.pinImage(nodeImageContainers(opts), image, {
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

/** How phase 1 ended. */
interface Final {
    outcome: Outcome;
    reason: string;
    /** The node's last status, when it ever answered. */
    status?: NodeStatus;
    usage: DiskUsage;
}

/** How often the sidecar rewrites `current.json` (besides on a node restart). */
export const CURRENT_EVERY_SECONDS = 300;

/** Log fields for a partial disk-usage walk; none when it read everything. */
function diskUsageProblems(usage: DiskUsage): Record<string, unknown> {
    return usage.unreadable > 0
        ? { diskUsageUnreadable: usage.unreadable, diskUsageUnreadableExamples: usage.examples }
        : {};
}

export function runningTest(
    opts: Pick<WaitOptions, "chain" | "followImage">,
    details: TestDetails,
    now: { status: string; height?: number; usage: DiskUsage; restarts: number; at: Date },
): RunningTest {
    return {
        image: details.image,
        digest: details.digest,
        followImage: details.followImage || opts.followImage,
        versions: details.versions,
        chain: opts.chain,
        syncMode: details.syncMode,
        startTime: details.startTime,
        updatedAt: now.at.toISOString(),
        status: now.status,
        ...(now.height !== undefined ? { height: now.height } : {}),
        diskUsageBytes: now.usage.bytes,
        ...(now.usage.unreadable > 0 ? { diskUsageUnreadable: now.usage.unreadable } : {}),
        nodeRestarts: now.restarts,
    };
}

export function buildResult(
    opts: Pick<WaitOptions, "chain" | "followImage">,
    details: TestDetails,
    final: Final,
    completedAt: Date,
    durationSeconds: number,
): TestResult {
    const status = final.status;
    return {
        outcome: final.outcome,
        reason: final.reason,
        image: details.image,
        digest: details.digest,
        followImage: details.followImage || opts.followImage,
        versions: details.versions,
        ...(status?.version !== undefined ? { nodeVersion: status.version } : {}),
        chain: opts.chain,
        syncMode: details.syncMode,
        startTime: details.startTime,
        completedAt: completedAt.toISOString(),
        durationSeconds: Math.round(durationSeconds),
        diskUsageBytes: final.usage.bytes,
        ...(final.usage.unreadable > 0 ? { diskUsageUnreadable: final.usage.unreadable } : {}),
        ...(status !== undefined ? { height: status.height } : {}),
    };
}
