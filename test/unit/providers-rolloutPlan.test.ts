/**
 * The Rollout's decisions (dynamic-providers/rolloutPlan.ts): which pods go next, and when it is done. Tables for
 * the rules, then properties over random pod sets, then a simulated cluster that runs whole
 * rollouts to the end.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import type { V1Pod } from "@kubernetes/client-node";
import {
    RolloutPod,
    RolloutState,
    WaitFor,
    labelSelectorString,
    nextStep,
    ordinalOf,
    rolloutPod,
    settled,
} from "../../dynamic-providers/rolloutPlan";
import { rolloutMaxUnavailable } from "../../lib/rolloutBudget";

const NEW = "node-new";
const OLD = "node-old";

/**
 * A pod by shorthand: `o`/`n` = outdated/current revision, then `R` Ready (and running), `r`
 * running but not Ready, `p` Pending, `t` terminating. E.g. pod(1, "oR").
 */
function pod(ordinal: number, code: string): RolloutPod {
    const [rev, state] = code;
    return {
        name: `node-${ordinal}`,
        uid: `uid-${ordinal}-${code}`,
        revision: rev === "n" ? NEW : OLD,
        phase: state === "p" ? "Pending" : "Running",
        ready: state === "R",
        running: state === "R" || state === "r",
        terminating: state === "t",
    };
}

/** pods("oR oR or") = node-0 oR, node-1 oR, node-2 or; "-" leaves an ordinal missing. */
const pods = (codes: string): RolloutPod[] =>
    codes
        .split(" ")
        .map((code, i) => (code === "-" ? undefined : pod(i, code)))
        .filter((p): p is RolloutPod => p !== undefined);

function state(codes: string, over: Partial<RolloutState> = {}): RolloutState {
    const list = pods(codes);
    return {
        pods: list,
        replicas: codes.split(" ").length,
        updateRevision: NEW,
        maxUnavailable: 1,
        waitFor: "running",
        replaced: [],
        ...over,
    };
}

const deleted = (s: RolloutState) => nextStep(s).delete.map((p) => p.name);

describe("Rollout: nextStep", () => {
    const table: [string, RolloutState, string[], boolean][] = [
        // [what, state, pods deleted (in order), done]
        // Nothing outdated
        ["all current and running: done", state("nR nR nR"), [], true],
        ["all current, one syncing (running, not Ready): done", state("nR nr nR"), [], true],
        [
            "a current pod this run did not replace may stay unready: done",
            state("nR np nR", { waitFor: "ready" }),
            [],
            true,
        ],
        [
            "a pod this run replaced is still Pending: not done",
            state("nR np nR", { replaced: ["node-1"] }),
            [],
            false,
        ],
        [
            "a pod this run replaced is gone and not back yet: not done",
            state("nR - nR", { replaced: ["node-1"] }),
            [],
            false,
        ],
        [
            "waitFor ready: a replaced pod running but not Ready: not done",
            state("nR nr nR", { replaced: ["node-1"], waitFor: "ready" }),
            [],
            false,
        ],
        // All Ready: the budget decides, highest ordinal first
        ["maxUnavailable 1: one pod, the highest ordinal", state("oR oR oR"), ["node-2"], false],
        [
            "maxUnavailable 2: the two highest ordinals",
            state("oR oR oR", { maxUnavailable: 2 }),
            ["node-2", "node-1"],
            false,
        ],
        [
            "maxUnavailable above replicas: everything at once",
            state("oR oR oR", { maxUnavailable: 5 }),
            ["node-2", "node-1", "node-0"],
            false,
        ],
        // Outdated pods that are not Ready: first, all at once, whatever the budget
        [
            "one not Ready: it alone (it already uses the budget of 1)",
            state("oR or oR"),
            ["node-1"],
            false,
        ],
        ["Pending outdated pod: deleted at once too", state("op oR oR"), ["node-0"], false],
        [
            "two not Ready with maxUnavailable 1: both, beyond the budget",
            state("or oR or"),
            ["node-0", "node-2"],
            false,
        ],
        [
            "one not Ready with maxUnavailable 2: it first, then one Ready",
            state("oR or oR", { maxUnavailable: 2 }),
            ["node-1", "node-2"],
            false,
        ],
        [
            "halted node beside a pending replacement: still deleted at once",
            state("or np oR", { replaced: ["node-1"] }),
            ["node-0"],
            false,
        ],
        // Waiting on replacements
        ["a replacement Pending: wait", state("oR oR np"), [], false],
        [
            "a replacement running, not Ready, waitFor running: next goes",
            state("oR oR nr"),
            ["node-1"],
            false,
        ],
        [
            "a replacement running, not Ready, waitFor ready: wait",
            state("oR oR nr", { waitFor: "ready" }),
            [],
            false,
        ],
        [
            "a replacement Ready, waitFor ready: next goes",
            state("oR oR nR", { waitFor: "ready" }),
            ["node-1"],
            false,
        ],
        ["a terminating outdated pod uses the budget: wait", state("oR oR ot"), [], false],
        ["a missing pod uses the budget: wait", state("oR oR -"), [], false],
        ["a current pod stuck Pending uses the budget: wait", state("oR oR np nR"), [], false],
        [
            "only terminating outdated pods left: not done, nothing to delete",
            state("nR nR ot", { replaced: ["node-2"] }),
            [],
            false,
        ],
    ];
    for (const [what, s, expected, done] of table) {
        it(what, () => {
            const step = nextStep(s);
            assert.deepEqual(
                step.delete.map((p) => p.name),
                expected,
            );
            assert.equal(step.done, done, step.reason);
        });
    }

    it("orders ordinals as numbers: node-10 goes before node-9", () => {
        const list = Array.from({ length: 11 }, (_, i) => pod(i, "oR"));
        assert.deepEqual(deleted({ ...state("oR"), pods: list, replicas: 11 }), ["node-10"]);
    });

    it("a pod without a revision label is outdated", () => {
        const s = state("nR nR");
        const unlabelled = { ...pod(1, "nR"), revision: "" };
        assert.deepEqual(deleted({ ...s, pods: [s.pods[0], unlabelled] }), ["node-1"]);
    });

    it("says what it waits for", () => {
        assert.match(
            nextStep(state("oR oR np")).reason,
            /2 outdated \(node-0, node-1\); 1\/1 unavailable, waiting for node-2 to be running/,
        );
        assert.match(nextStep(state("oR or oR")).reason, /deleting node-1 \(not Ready\)/);
        assert.match(
            nextStep(state("nR np nR", { replaced: ["node-1"] })).reason,
            /waiting for node-1 to be running/,
        );
    });
});

describe("Rollout: properties", () => {
    const codeArb = fc.constantFrom("oR", "or", "op", "ot", "nR", "nr", "np", "nt", "-");
    const stateArb = fc
        .record({
            codes: fc.array(codeArb, { minLength: 1, maxLength: 8 }),
            maxUnavailable: fc.integer({ min: 1, max: 4 }),
            waitFor: fc.constantFrom<WaitFor>("running", "ready"),
        })
        .map(({ codes, maxUnavailable, waitFor }) =>
            state(codes.join(" "), { maxUnavailable, waitFor }),
        );

    it("deletes every live outdated pod that is not Ready, and nothing current or terminating", () => {
        fc.assert(
            fc.property(stateArb, (s) => {
                const step = nextStep(s);
                const names = step.delete.map((p) => p.name);
                for (const p of s.pods) {
                    const outdated = p.revision !== s.updateRevision;
                    if (outdated && !p.terminating && !p.ready) {
                        assert.ok(names.includes(p.name), `${p.name} must go`);
                    }
                    if (!outdated || p.terminating) {
                        assert.ok(!names.includes(p.name), `${p.name} must stay`);
                    }
                }
            }),
        );
    });

    it("takes Ready pods down only within maxUnavailable", () => {
        fc.assert(
            fc.property(stateArb, (s) => {
                const step = nextStep(s);
                const readyGone = step.delete.filter((p) => p.ready).length;
                assert.ok(readyGone <= Math.max(0, s.maxUnavailable - step.unavailable));
                // After the batch: Ready pods lost never push past the budget.
                const after = s.pods.map((p) =>
                    step.delete.includes(p) ? { ...p, terminating: true } : p,
                );
                const unavailableAfter = s.replicas - after.filter((p) => settled(p, s)).length;
                assert.ok(unavailableAfter <= Math.max(s.maxUnavailable, step.unavailable));
            }),
        );
    });

    it("is done only when nothing is outdated", () => {
        fc.assert(
            fc.property(stateArb, (s) => {
                if (nextStep(s).done) {
                    assert.ok(s.pods.every((p) => p.revision === s.updateRevision));
                }
            }),
        );
    });
});

/**
 * A cluster in miniature: deleted pods come back one tick later as Pending at the new revision,
 * and Pending pods become running (and then Ready) a tick later, unless they are broken.
 */
function simulate(initial: RolloutState, brokenOrdinals: number[] = []) {
    let podsNow = [...initial.pods];
    const replaced: string[] = [];
    let most = 0;
    for (let tick = 0; tick < 200; tick++) {
        const s = { ...initial, pods: podsNow, replaced };
        const step = nextStep(s);
        most = Math.max(most, step.unavailable);
        if (step.done) {
            return { done: true, ticks: tick, most, replaced, pods: podsNow };
        }
        for (const p of step.delete) {
            replaced.push(p.name);
        }
        const gone = step.delete.map((p) => p.name);
        podsNow = podsNow.map((p) => {
            const ordinal = ordinalOf(p.name);
            if (gone.includes(p.name)) {
                return { ...p, terminating: true };
            }
            if (p.terminating) {
                return { ...pod(ordinal, "np"), uid: `${p.uid}+` };
            }
            if (p.phase === "Pending" && !brokenOrdinals.includes(ordinal)) {
                return { ...p, phase: "Running", running: true };
            }
            if (p.running && !p.ready && p.revision === NEW) {
                return { ...p, ready: true };
            }
            return p;
        });
    }
    return { done: false, ticks: 200, most, replaced, pods: podsNow };
}

describe("Rollout: whole rollouts on a simulated cluster", () => {
    it("breaks the stuck-rollout trap: a halted node goes first, the rest one by one", () => {
        const run = simulate(state("oR or oR oR"));
        assert.ok(run.done);
        assert.equal(run.replaced[0], "node-1", "the node that is not Ready goes first");
        assert.deepEqual([...run.replaced].sort(), ["node-0", "node-1", "node-2", "node-3"]);
        assert.equal(run.most, 1, "never more than maxUnavailable down");
        assert.ok(run.pods.every((p) => p.revision === NEW && p.running));
    });

    it("stops at a broken replacement instead of taking the next node down", () => {
        const run = simulate(state("oR oR oR"), [2]);
        assert.equal(run.done, false);
        assert.deepEqual(run.replaced, ["node-2"]);
    });

    it("ends with every pod current from any start, within the budget plus what was down", () => {
        const startArb = fc
            .record({
                codes: fc.array(fc.constantFrom("oR", "or", "op", "nR", "nr", "np"), {
                    minLength: 1,
                    maxLength: 8,
                }),
                maxUnavailable: fc.integer({ min: 1, max: 3 }),
                waitFor: fc.constantFrom<WaitFor>("running", "ready"),
            })
            .map(({ codes, maxUnavailable, waitFor }) =>
                state(codes.join(" "), { maxUnavailable, waitFor }),
            );
        fc.assert(
            fc.property(startArb, (s) => {
                const initiallyDown = nextStep(s).unavailable;
                const run = simulate(s);
                assert.ok(run.done, "finishes");
                assert.ok(run.pods.every((p) => p.revision === NEW));
                assert.ok(run.most <= Math.max(s.maxUnavailable, initiallyDown), `${run.most}`);
            }),
        );
    });
});

describe("Rollout: helpers", () => {
    it("reads revision, readiness and running from a Pod", () => {
        const v1: V1Pod = {
            metadata: {
                name: "rpc-2",
                uid: "u",
                labels: { "controller-revision-hash": "rpc-abc" },
            },
            status: {
                phase: "Running",
                conditions: [{ type: "Ready", status: "False" }],
                containerStatuses: [
                    {
                        name: "node",
                        image: "x",
                        imageID: "",
                        ready: false,
                        restartCount: 3,
                        state: { waiting: { reason: "CrashLoopBackOff" } },
                    },
                ],
            },
        };
        assert.deepEqual(rolloutPod(v1), {
            name: "rpc-2",
            uid: "u",
            revision: "rpc-abc",
            phase: "Running",
            ready: false,
            running: false,
            terminating: false,
            waitingReason: "CrashLoopBackOff",
        });
    });

    it("maxUnavailable from the disruption budget: whole numbers >= 1, else 1", () => {
        assert.equal(rolloutMaxUnavailable(undefined), 1);
        assert.equal(rolloutMaxUnavailable({}), 1);
        assert.equal(rolloutMaxUnavailable({ maxUnavailable: 2 }), 2);
        assert.equal(rolloutMaxUnavailable({ maxUnavailable: 0 }), 1);
        assert.equal(rolloutMaxUnavailable({ maxUnavailable: "50%" }), 1);
    });

    it("turns a LabelSelector into a query string", () => {
        assert.equal(
            labelSelectorString({
                matchLabels: { a: "1", b: "2" },
                matchExpressions: [
                    { key: "c", operator: "In", values: ["x", "y"] },
                    { key: "d", operator: "NotIn", values: ["z"] },
                    { key: "e", operator: "Exists" },
                    { key: "f", operator: "DoesNotExist" },
                ],
            }),
            "a=1,b=2,c in (x,y),d notin (z),e,!f",
        );
        assert.throws(
            () => labelSelectorString({ matchExpressions: [{ key: "g", operator: "Gt" }] }),
            /unknown label selector operator "Gt" on g/,
        );
    });
});
