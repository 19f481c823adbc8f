import * as assert from "node:assert/strict";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import {
    countEndpoints,
    evaluateSwitched,
    matchesSelector,
    selectorPatch,
    selectorString,
    selectorsEqual,
} from "../../dynamic-providers/switchPlan";

const slice = (
    ...eps: [pod: string, ready?: boolean, terminating?: boolean][]
): V1EndpointSlice => ({
    addressType: "IPv4",
    endpoints: eps.map(([pod, ready, terminating]) => ({
        addresses: [`10.0.0.${pod.length}`],
        conditions: { ready, terminating },
        targetRef: { kind: "Pod", name: pod },
    })),
});

describe("#switch selector logic", () => {
    it("selectorsEqual ignores order and catches extra keys", () => {
        assert.ok(selectorsEqual({ a: "1", b: "2" }, { b: "2", a: "1" }));
        assert.ok(!selectorsEqual({ a: "1" }, { a: "1", b: "2" }));
        assert.ok(!selectorsEqual({ a: "1" }, { a: "2" }));
        assert.ok(selectorsEqual(undefined, {}));
    });
    it("selectorString is sorted", () => {
        assert.equal(selectorString({ z: "1", a: "2" }), "a=2,z=1");
    });
    it("matchesSelector", () => {
        assert.ok(matchesSelector({ a: "1", b: "2" }, { a: "1" }));
        assert.ok(!matchesSelector({ a: "1" }, { a: "1", b: "2" }));
        assert.ok(!matchesSelector(undefined, { a: "1" }));
    });
    it("the merge patch nulls keys the target drops and is conditional on the resourceVersion", () => {
        const patch = selectorPatch(
            { app: "x", "chainfleet.io/revision": "a", legacy: "y" },
            { app: "x", "chainfleet.io/revision": "b" },
            "42",
            { "chainfleet.io/switched-at": "t" },
        );
        assert.deepEqual(patch, {
            metadata: { resourceVersion: "42", annotations: { "chainfleet.io/switched-at": "t" } },
            spec: { selector: { app: "x", "chainfleet.io/revision": "b", legacy: null } },
        });
    });
});

describe("#switch endpoint verification", () => {
    const entrants = new Set(["b-0", "b-1"]);
    const cases: [string, V1EndpointSlice[], number, boolean, RegExp][] = [
        [
            "entrants only, all ready",
            [slice(["b-0", true], ["b-1", true])],
            2,
            true,
            /2 ready endpoints, all entrants/,
        ],
        ["ready unset counts as ready", [slice(["b-0"], ["b-1"])], 2, true, /2 ready/],
        [
            "incumbent still listed",
            [slice(["a-0", true], ["b-0", true])],
            1,
            false,
            /still include non-entrant a-0/,
        ],
        [
            "not enough ready",
            [slice(["b-0", true], ["b-1", false])],
            2,
            false,
            /1\/2 entrant endpoints ready \(2 listed\)/,
        ],
        ["terminating is not ready", [slice(["b-0", true, true])], 1, false, /0\/1/],
        ["no slices yet", [], 1, false, /0\/1 entrant endpoints ready \(0 listed\)/],
        ["spread over slices", [slice(["b-0", true]), slice(["b-1", true])], 2, true, /2 ready/],
    ];
    for (const [name, slices, min, pass, reason] of cases) {
        it(name, () => {
            const v = evaluateSwitched(slices, entrants, min);
            assert.equal(v.pass, pass, v.reason);
            assert.match(v.reason, reason);
        });
    }
    it("countEndpoints without an entrant set reports no foreigners", () => {
        assert.deepEqual(countEndpoints([slice(["a-0", true], ["b-0", false])]), {
            ready: 1,
            total: 2,
            foreign: [],
        });
    });
});
