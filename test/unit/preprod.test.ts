/**
 * The preprod cohort as declared: each group's drawn nodes run in a set of their own with the
 * preprod image and the `chainfleet.io/preprod=true` label, and come out of the group's own set.
 */
import * as assert from "node:assert/strict";
import { StackConfig, parseStackConfig } from "../../config";
import { planPreprod } from "../../lib/preprod";
import { Recorder, settled, useRecordingMocks } from "./support/mocks";

const NEXT = "ghcr.io/sei-protocol/sei:v6.2.0";
const NOW = new Date("2026-11-22T00:00:00Z");

function stack(preprod: Record<string, unknown>): StackConfig {
    return parseStackConfig({
        network: "pacific",
        chain: "sei",
        groups: {
            rpc: {
                replicas: 20,
                image: "ghcr.io/sei-protocol/sei:v6.1.0",
                storage: { size: "1Ti" },
            },
            archive: {
                replicas: 20,
                image: "ghcr.io/sei-protocol/sei:v6.1.0",
                storage: { size: "8Ti" },
            },
        },
        preprod,
    });
}

describe("planPreprod", () => {
    it("draws the rounded share of the fleet and counts it per group", () => {
        const plan = planPreprod(stack({ percent: 10, image: NEXT, epoch: "2026-11" }), NOW)!;
        assert.equal(plan.selection.selected.length, 4, "10% of 40 nodes");
        const perGroup = Object.values(plan.groups).reduce((n, g) => n + g.replicas, 0);
        assert.equal(perGroup, 4);
        for (const [group, cohort] of Object.entries(plan.groups)) {
            assert.equal(cohort.image, NEXT);
            assert.ok(cohort.nodes.every((id) => id.startsWith(`${group}-`)));
        }
    });

    it("leaves out groups without a preprod image and opted-out groups", () => {
        const onlyRpc = planPreprod(stack({ percent: 50, images: { rpc: NEXT } }), NOW)!;
        assert.deepEqual(Object.keys(onlyRpc.groups), ["rpc"]);
        assert.equal(onlyRpc.groups.rpc.replicas, 10, "50% of the 20 eligible nodes");
        const optedOut = planPreprod(
            stack({ percent: 50, image: NEXT, optOut: { groups: ["rpc"] } }),
            NOW,
        )!;
        assert.deepEqual(Object.keys(optedOut.groups), ["archive"]);
    });

    it("is the same on every run with the same inputs", () => {
        const a = planPreprod(stack({ percent: 10, image: NEXT }), NOW)!;
        const b = planPreprod(
            stack({ percent: 10, image: NEXT }),
            new Date("2026-11-30T23:59:59Z"),
        )!;
        assert.deepEqual(a.selection.selected, b.selection.selected, "same month, same cohort");
    });

    it("is undefined without preprod config", () => {
        assert.equal(
            planPreprod(parseStackConfig({ network: "n", chain: "sei", groups: {} }), NOW),
            undefined,
        );
    });
});

describe("preprod cohort under mocks", () => {
    const mocks: Recorder = useRecordingMocks();

    it("runs the cohort as its own labelled set and shrinks the group's set by as much", async () => {
        const { Fleet } = await import("../../components/Fleet");
        const config = stack({ percent: 10, image: NEXT, epoch: "2026-11" });
        const preprod = planPreprod(config, NOW)!;
        mocks.reset();
        const fleet = new Fleet("pacific", { config, preprod });
        await settled(fleet, mocks);
        const sets = mocks.resources
            .filter((r) => r.type === "kubernetes:apps/v1:StatefulSet")
            .map((r) => r.inputs);
        for (const [group, cohort] of Object.entries(preprod.groups)) {
            const main = sets.find((s) => s.metadata.name === group)!;
            const pre = sets.find((s) => s.metadata.name === `${group}-preprod`)!;
            assert.equal(main.spec.replicas, 20 - cohort.replicas);
            assert.equal(pre.spec.replicas, cohort.replicas);
            assert.equal(pre.spec.template.spec.containers[0].image, NEXT);
            assert.equal(pre.spec.template.metadata.labels["chainfleet.io/preprod"], "true");
            assert.equal(main.spec.template.metadata.labels["chainfleet.io/preprod"], undefined);
            assert.notDeepEqual(pre.spec.selector.matchLabels, main.spec.selector.matchLabels);
        }
    });

    it("restores a group's snapshot with the checksum-verifying init container", async () => {
        const { Fleet } = await import("../../components/Fleet");
        const sha256 = "a".repeat(64);
        const config = parseStackConfig({
            network: "pacific",
            chain: "sei",
            groups: {
                rpc: {
                    replicas: 1,
                    image: "ghcr.io/sei-protocol/sei:v6.1.0",
                    storage: { size: "1Ti" },
                    snapshot: { url: "https://snapshots.example.org/pacific.tar.gz", sha256 },
                },
            },
        });
        mocks.reset();
        const fleet = new Fleet("pacific", { config });
        await settled(fleet, mocks);
        const sts = mocks.resources.find(
            (r) => r.type === "kubernetes:apps/v1:StatefulSet",
        )!.inputs;
        const [restore] = sts.spec.template.spec.initContainers;
        assert.equal(restore.image, config.snapshotImage);
        assert.ok(
            JSON.stringify(restore.env).includes(sha256),
            "the expected digest reaches the script",
        );
        const cm = mocks.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap")!.inputs;
        assert.match(cm.data["snapshot-restore.sh"], /sha256/);
        assert.match(
            sts.spec.template.metadata.annotations["chainfleet.io/snapshot-script-sha256"],
            /^[0-9a-f]{64}$/,
        );
    });
});
