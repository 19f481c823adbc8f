/**
 * The working half of the TrafficSwitch: wait for ready entrants (pod watch), flip the selector
 * with a conditional merge patch, verify through the EndpointSlices (watch), roll back on failure.
 */
import type { V1Service } from "@kubernetes/client-node";
import { KubeClients, kubeClients, isConflict, mergePatchOptions, withRetry } from "../kube/kube";
import {
    Selector,
    countEndpoints,
    evaluateSwitched,
    selectorPatch,
    selectorString,
    selectorsEqual,
} from "./switchPlan";
import { podView } from "./gates";
import { Waker } from "../kube/watch";
import { watchEndpointSlices, watchPods } from "../kube/watches";
import { Deadline, Progress, readRequired } from "./common";
import {
    PREVIOUS_SELECTOR_ANNOTATION,
    SWITCHED_AT_ANNOTATION,
    SWITCH_FIELD_MANAGER,
} from "./constants";
import type { TrafficSwitchInputs, TrafficSwitchResult as Result } from "./trafficSwitch";

/**
 * Time the verification always gets (capped at the whole deadline), even when waiting for
 * readiness used up the deadline: a flipped selector deserves a fair check before a rollback.
 */
const MIN_VERIFY_MS = 30_000;

function readService(clients: KubeClients, inputs: TrafficSwitchInputs): Promise<V1Service> {
    return readRequired(
        `Service ${inputs.namespace}/${inputs.serviceName}`,
        () =>
            clients.core.readNamespacedService({
                name: inputs.serviceName,
                namespace: inputs.namespace,
            }),
        `TrafficSwitch: Service ${inputs.namespace}/${inputs.serviceName} does not exist. ` +
            `Declare the stable Service before the switch (dependsOn), or fix serviceName.`,
    );
}

/**
 * Writes `target` as the selector, conditional on the resourceVersion read. A 409 means someone
 * else wrote the Service in between: re-read and try again, unless they already switched it.
 */
async function patchSelector(
    clients: KubeClients,
    inputs: TrafficSwitchInputs,
    service: V1Service,
    target: Selector,
    annotations: Record<string, string | null>,
): Promise<V1Service> {
    let current = service;
    for (let attempt = 0; ; attempt++) {
        if (selectorsEqual(current.spec?.selector, target)) {
            return current;
        }
        const body = selectorPatch(
            current.spec?.selector,
            target,
            current.metadata?.resourceVersion,
            annotations,
        );
        try {
            return await withRetry(`patch Service ${inputs.namespace}/${inputs.serviceName}`, () =>
                clients.core.patchNamespacedService(
                    {
                        name: inputs.serviceName,
                        namespace: inputs.namespace,
                        body,
                        fieldManager: SWITCH_FIELD_MANAGER,
                    },
                    mergePatchOptions(),
                ),
            );
        } catch (err) {
            if (!isConflict(err) || attempt >= 5) {
                throw err;
            }
            current = await readService(clients, inputs);
        }
    }
}

function watchers(clients: KubeClients, inputs: TrafficSwitchInputs, waker: Waker) {
    const { namespace } = inputs;
    return {
        pods: watchPods(clients, namespace, selectorString(inputs.selector), waker),
        slices: watchEndpointSlices(clients, namespace, inputs.serviceName, waker),
    };
}

export async function runTrafficSwitch(inputs: TrafficSwitchInputs): Promise<Result> {
    const deadline = new Deadline(inputs.deadlineSeconds);
    const progress = new Progress(`[TrafficSwitch ${inputs.namespace}/${inputs.serviceName}]`);
    const clients = kubeClients(inputs);
    const target = inputs.selector;

    const service = await readService(clients, inputs);
    const before = service.spec?.selector ?? {};
    if (selectorsEqual(before, target)) {
        progress.say(`already selects ${selectorString(target)}; nothing to do`);
        const annotations = service.metadata?.annotations ?? {};
        let previous: Selector = before;
        try {
            previous = JSON.parse(annotations[PREVIOUS_SELECTOR_ANNOTATION] ?? "null") ?? before;
        } catch {
            // A hand-edited annotation: report the current selector instead.
        }
        return {
            previousSelector: previous,
            currentSelector: before,
            switchedAt: annotations[SWITCHED_AT_ANNOTATION] ?? new Date().toISOString(),
            changed: false,
            minReadyDuringSwitch: -1,
        };
    }

    const waker = new Waker();
    const { pods, slices } = watchers(clients, inputs, waker);
    await Promise.all([pods.start(), slices.start()]);
    try {
        // 1. Entrants ready. Nothing has been written yet, so failing here changes nothing.
        progress.say(
            `waiting up to ${inputs.deadlineSeconds}s for ${inputs.minReady} ready pod(s) matching ${selectorString(target)}`,
        );
        for (;;) {
            const fatal = pods.fatal ?? slices.fatal;
            if (fatal) {
                throw fatal;
            }
            const views = pods
                .values()
                .map(podView)
                .filter((p) => !p.terminating);
            const ready = views.filter((p) => p.ready).length;
            if (ready >= inputs.minReady) {
                break;
            }
            const msg = `${ready}/${inputs.minReady} entrant pods Ready (${views.map((p) => `${p.name} ${p.ready ? "Ready" : (p.waitingReason ?? p.phase)}`).join(", ") || "none exist"})`;
            if (deadline.expired()) {
                throw new Error(
                    `TrafficSwitch: Service ${inputs.namespace}/${inputs.serviceName} was not switched: ${msg} ` +
                        `after deadlineSeconds=${inputs.deadlineSeconds}. The selector still is ${selectorString(before)}; ` +
                        `incumbents keep serving. Run \`pulumi up\` again once the entrants are Ready.`,
                );
            }
            progress.report(msg);
            await waker.wait(Math.min(30_000, deadline.remainingMs()));
        }

        // 2. Flip. The annotations record when and from what, for the no-op path and for people
        // (and for the program: kube/incumbent.ts reads `switched-at` to keep upgrade records).
        const annotationsBefore = {
            [SWITCHED_AT_ANNOTATION]:
                service.metadata?.annotations?.[SWITCHED_AT_ANNOTATION] ?? null,
            [PREVIOUS_SELECTOR_ANNOTATION]:
                service.metadata?.annotations?.[PREVIOUS_SELECTOR_ANNOTATION] ?? null,
        };
        let minReady = countEndpoints(slices.values()).ready;
        const switchedAt = new Date().toISOString();
        await patchSelector(clients, inputs, service, target, {
            [SWITCHED_AT_ANNOTATION]: switchedAt,
            [PREVIOUS_SELECTOR_ANNOTATION]: JSON.stringify(before),
        });
        progress.say(
            `selector ${selectorString(before)} -> ${selectorString(target)}; verifying endpoints`,
        );

        // 3. Verify: the Service's endpoints are entrants only, and enough are ready.
        const verifyUntil = Math.max(
            deadline.at,
            Date.now() + Math.min(MIN_VERIFY_MS, deadline.seconds * 1000),
        );
        for (;;) {
            const fatal = pods.fatal ?? slices.fatal;
            if (fatal) {
                throw fatal;
            }
            minReady = Math.min(minReady, countEndpoints(slices.values()).ready);
            const entrantNames = new Set(pods.values().map((p) => p.metadata?.name ?? ""));
            const verdict = evaluateSwitched(slices.values(), entrantNames, inputs.minReady);
            if (verdict.pass) {
                progress.say(
                    `switched: ${verdict.reason}; fewest ready endpoints during the switch: ${minReady}`,
                );
                return {
                    previousSelector: before,
                    currentSelector: target,
                    switchedAt,
                    changed: true,
                    minReadyDuringSwitch: minReady,
                };
            }
            if (Date.now() >= verifyUntil) {
                throw new Error(
                    await failVerification(
                        clients,
                        inputs,
                        before,
                        annotationsBefore,
                        verdict.reason,
                    ),
                );
            }
            progress.report(verdict.reason);
            await waker.wait(Math.min(5000, verifyUntil - Date.now()));
        }
    } finally {
        await Promise.all([pods.stop(), slices.stop()]);
    }
}

/** Puts the previous selector back if the Service still has ours, and says what happened. */
async function failVerification(
    clients: KubeClients,
    inputs: TrafficSwitchInputs,
    before: Selector,
    annotationsBefore: Record<string, string | null>,
    reason: string,
): Promise<string> {
    const head =
        `TrafficSwitch: after switching Service ${inputs.namespace}/${inputs.serviceName} to ` +
        `${selectorString(inputs.selector)}, its EndpointSlices did not show ready entrants in time: ${reason}.`;
    if (!inputs.rollbackOnFailure) {
        return `${head} rollbackOnFailure is false, so the selector stays switched.`;
    }
    const now = await readService(clients, inputs);
    if (!selectorsEqual(now.spec?.selector, inputs.selector)) {
        return `${head} Someone changed the selector meanwhile (now ${selectorString(now.spec?.selector ?? {})}); left as is.`;
    }
    // The annotations go back to what they were: an earlier switch's record stays true.
    await patchSelector(clients, inputs, now, before, annotationsBefore);
    return `${head} The selector was put back to ${selectorString(before)}; incumbents serve again. Check the entrant pods' readiness and run \`pulumi up\` again.`;
}
