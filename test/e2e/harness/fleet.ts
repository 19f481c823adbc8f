/**
 * Stack configs and stack outputs for the e2e scenarios, and the checks several of them share.
 */
import * as assert from "node:assert/strict";
import { LABEL } from "../../../lib/labels";
import { groupNames } from "../../../lib/names";
import { pods, pvcs, selectorOf, service, statefulSets } from "./cluster";
import { E2eStack, RunResult, stepsOf, summaryOf } from "./pulumi";

/** A short random suffix, so names never collide with an earlier run or another stack. */
export const uniqueSuffix = (): string => Math.random().toString(36).slice(2, 7);

/** Images are never pulled (kwok runs no containers): any reference works, only the text counts. */
export const COMETBFT_V1 = "cometbft/cometbft:v0.38.19";
export const COMETBFT_V2 = "cometbft/cometbft:v0.38.20";

/** A small CometBFT group: kvstore app, 1Gi volume, tiny requests (the fake nodes do not care). */
export function cometGroup(
    image: string,
    replicas: number,
    update: Record<string, unknown>,
): Record<string, unknown> {
    return {
        replicas,
        image,
        args: ["--proxy_app=kvstore"],
        storage: { size: "1Gi" },
        resources: { requests: { cpu: "10m", memory: "32Mi" } },
        update,
    };
}

/** What index.ts exports. */
export interface FleetOutputs {
    network: string;
    namespace: string;
    revisions: Record<string, string>;
    stableServices: Record<string, string>;
}

export async function outputs(stack: E2eStack): Promise<FleetOutputs> {
    const r = await stack.run(["stack", "output", "--json", "--stack", stack.stack]);
    return JSON.parse(r.output) as FleetOutputs;
}

/**
 * The upgrade plans a run announced: NodeDeployment logs each group's plan reason at info level
 * when it upgrades ("rpc: blue-green from rpc-a (a) to rpc-b (b)"); creates and steady groups are
 * quiet.
 */
export function planMessages(result: RunResult): string[] {
    return result.events
        .map((e) => e.diagnosticEvent)
        .filter(
            (d) =>
                d?.severity === "info" &&
                // urn:pulumi:<stack>::<project>::<parent types$>type::name
                d.urn?.split("::")[2]?.endsWith("chainfleet:fleet:NodeDeployment") &&
                d.message.trim() !== "",
        )
        .map((d) => d!.message.trim());
}

/** The pinned (BlueGreen/HardFork) set of a group at a revision: names and pod selector. */
export function pinnedSet(network: string, group: string, revision: string) {
    const names = groupNames(group, revision);
    return {
        names,
        selector: {
            [LABEL.network]: network,
            [LABEL.group]: group,
            [LABEL.set]: names.statefulSet,
            [LABEL.revision]: revision,
        },
    };
}

/**
 * Asserts that a run changed nothing at all: its summary counts only unchanged resources and
 * no step other than "same" was taken.
 */
export function assertNoChanges(result: RunResult): void {
    const changes = summaryOf(result);
    assert.ok(changes, `no summary event in the event log of \`${result.command}\``);
    const changed = Object.entries(changes).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
    const steps = stepsOf(result).filter((s) => s.op !== "same");
    assert.deepEqual(
        { changed, steps },
        { changed: [], steps: [] },
        "an unchanged stack must be a no-op",
    );
}

/**
 * Asserts that a run touched no Kubernetes object: every step on a `kubernetes:*` resource is
 * "same". Weaker than `assertNoChanges`: Pulumi-only bookkeeping (dynamic resources) may change.
 */
export function assertNoKubernetesChanges(result: RunResult): void {
    const touched = stepsOf(result).filter(
        (s) => s.type.startsWith("kubernetes:") && s.op !== "same",
    );
    assert.deepEqual(touched, [], `\`${result.command}\` changed Kubernetes objects`);
    assert.ok(summaryOf(result), `no summary event in the event log of \`${result.command}\``);
}

/** The stable Service's selector (the set serving the group now). */
export async function stableSelector(namespace: string, group: string) {
    const svc = await service(namespace, groupNames(group).stableService);
    assert.ok(svc, `stable Service ${namespace}/${group} is missing`);
    return svc.spec?.selector ?? {};
}

/** UIDs of what a set is made of, to prove later that nothing of it was touched or recreated. */
export async function setFingerprint(namespace: string, set: string) {
    const selector = selectorOf({ [LABEL.set]: set });
    const sts = (await statefulSets(namespace)).filter((s) => s.metadata?.name === set);
    return {
        statefulSet: sts.map(
            (s) => `${s.metadata?.name}:${s.metadata?.uid}:gen${s.metadata?.generation}`,
        ),
        pods: (await pods(namespace, selector))
            .map((p) => `${p.metadata?.name}:${p.metadata?.uid}`)
            .sort(),
        pvcs: (await pvcs(namespace, selector))
            .map((p) => `${p.metadata?.name}:${p.metadata?.uid}`)
            .sort(),
    };
}
