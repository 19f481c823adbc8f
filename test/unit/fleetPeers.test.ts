/**
 * A fleet that is one network (lib/fleetPeers.ts, lib/genesis.ts, the key parts of
 * lib/manifests.ts): node keys per pod in each set's Secret, in-fleet peers computed at plan time
 * and written only to the ConfigMaps, a signing group's derived validator key, and the generated
 * genesis that names it. The real CometBFT accepting all of it is the e2e tier's real-network test.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { parseStackConfig } from "../../config";
import type { StackConfig } from "../../config/schema";
import { planFleet } from "../../lib/fleetPeers";
import { generatedGenesis } from "../../lib/genesis";
import { buildBootstrapJob, buildNodeGroup } from "../../lib/manifests";
import {
    groupValidatorKey,
    nodeId,
    nodeKeyJson,
    podNodeKey,
    pubKey,
    validatorAddress,
    validatorKeyJson,
} from "../../lib/nodeKeys";
import { GroupPlan, fleetGroupArgs, planGroup } from "../../lib/planGroup";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SEED = "3".repeat(64);

function devStack(
    overrides: Record<string, unknown> = {},
    rpc: Record<string, unknown> = {},
): StackConfig {
    return parseStackConfig({
        network: "dev",
        chain: "cometbft",
        namespace: "chainfleet-dev",
        chainId: "dev-1",
        genesis: { generate: {} },
        nodeKeySeed: SEED,
        groups: {
            validator: {
                replicas: 1,
                image: "cometbft/cometbft:v0.38.19",
                storage: { size: "1Gi" },
                validator: {},
            },
            rpc: {
                replicas: 2,
                image: "cometbft/cometbft:v0.38.19",
                storage: { size: "1Gi" },
                update: { strategy: "BlueGreen" },
                ...rpc,
            },
        },
        ...overrides,
    });
}

const plansOf = (config: StackConfig) => planFleet(fleetGroupArgs("dev", config));
const byGroup = (plans: GroupPlan[], group: string) =>
    plans.find((p) => p.nodeSet.input.group === group)!;
const manifestsOf = (plan: GroupPlan) => buildNodeGroup(plan.nodeSet.input);
const podSpec = (plan: GroupPlan) => (manifestsOf(plan).statefulSet as Obj).spec.template.spec;
const prepareOf = (plan: GroupPlan) =>
    podSpec(plan).initContainers.find((c: Obj) => c.name === "prepare");
const persistentPeers = (plan: GroupPlan): string[] => {
    const overrides = JSON.parse((manifestsOf(plan).configMap as Obj).data["overrides.json"]);
    const text: string = overrides.configToml.p2p.persistent_peers;
    return text === "" ? [] : text.split(",");
};

describe("fleet peers and keys", () => {
    it("lists every node of the fleet as a persistent peer, with the ID of its derived key", () => {
        const plans = plansOf(devStack());
        const rpcSet = byGroup(plans, "rpc").nodeSet.statefulSetName;
        const expected = [
            `${nodeId(podNodeKey(SEED, "dev", "validator", 0))}@validator-p2p-0.chainfleet-dev.svc:26656`,
            `${nodeId(podNodeKey(SEED, "dev", rpcSet, 0))}@${rpcSet}-p2p-0.chainfleet-dev.svc:26656`,
            `${nodeId(podNodeKey(SEED, "dev", rpcSet, 1))}@${rpcSet}-p2p-1.chainfleet-dev.svc:26656`,
        ];
        assert.match(rpcSet, /^rpc-[0-9a-f]{8}$/, "a BlueGreen set carries its revision");
        for (const group of ["validator", "rpc"]) {
            assert.deepEqual(persistentPeers(byGroup(plans, group)), expected, group);
        }
    });

    it("gives each pod a ClusterIP Service of its own, the address its peers dial", () => {
        const rpc = byGroup(plansOf(devStack()), "rpc");
        const set = rpc.nodeSet.statefulSetName;
        const services = manifestsOf(rpc).p2pServices as Obj[];
        assert.deepEqual(
            services.map((s) => [s.metadata.name, s.spec.selector, s.spec.ports]),
            [0, 1].map((i) => [
                `${set}-p2p-${i}`,
                { "statefulset.kubernetes.io/pod-name": `${set}-${i}` },
                [{ name: "p2p", port: 26656, targetPort: "p2p" }],
            ]),
        );
        for (const svc of services) {
            assert.equal(svc.spec.type, "ClusterIP", "a stable IP, unlike the pod's");
            assert.equal(svc.spec.publishNotReadyAddresses, true, "a syncing node is reachable");
            assert.equal(svc.metadata.annotations["pulumi.com/skipAwait"], "true");
        }
        const off = byGroup(plansOf(devStack({}, { peers: { inFleet: false } })), "rpc");
        assert.deepEqual(manifestsOf(off).p2pServices, [], "none without in-fleet peering");
    });

    it("puts each pod's node key in its set's Secret and has prepare pick it by pod index", () => {
        const plans = plansOf(devStack());
        const rpc = byGroup(plans, "rpc");
        const set = rpc.nodeSet.statefulSetName;
        const [nodeKeys] = manifestsOf(rpc).secrets as Obj[];
        assert.equal(nodeKeys.metadata.name, `${set}-node-keys`);
        assert.deepEqual(nodeKeys.stringData, {
            "0.json": nodeKeyJson(podNodeKey(SEED, "dev", set, 0)),
            "1.json": nodeKeyJson(podNodeKey(SEED, "dev", set, 1)),
        });
        const prepare = prepareOf(rpc);
        assert.deepEqual(
            prepare.args.slice(
                prepare.args.indexOf("--node-key"),
                prepare.args.indexOf("--node-key") + 2,
            ),
            ["--node-key", "/chainfleet/node-keys/$(CHAINFLEET_POD_INDEX).json"],
        );
        assert.deepEqual(
            prepare.env.find((e: Obj) => e.name === "CHAINFLEET_POD_INDEX"),
            {
                name: "CHAINFLEET_POD_INDEX",
                valueFrom: {
                    fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" },
                },
            },
        );
        assert.ok(prepare.args.includes("--overrides") && prepare.args.includes("--peer-wait"));
        assert.ok(!prepare.args.includes("--validator-key"), "an rpc node holds no validator key");
        const keysMount = prepare.volumeMounts.find((m: Obj) => m.name === "node-keys");
        assert.deepEqual(keysMount, {
            name: "node-keys",
            mountPath: "/chainfleet/node-keys",
            readOnly: true,
        });
        const node = podSpec(rpc).containers[0];
        assert.ok(
            !node.volumeMounts.some((m: Obj) => m.name === "node-keys"),
            "only the prepare step sees the keys",
        );
    });

    it("gives the signing group its derived validator key, and the genesis names that key", () => {
        const config = devStack();
        const validator = byGroup(plansOf(config), "validator");
        const secrets = manifestsOf(validator).secrets as Obj[];
        const key = groupValidatorKey(SEED, "dev", "validator");
        assert.deepEqual(secrets[1].metadata.name, "validator-validator-key");
        assert.deepEqual(secrets[1].stringData, {
            "priv_validator_key.json": validatorKeyJson(key),
        });
        assert.ok(prepareOf(validator).args.includes("--validator-key"));

        const genesis = generatedGenesis(config)!;
        assert.equal(genesis.metadata.name, "dev-genesis");
        const doc = JSON.parse(genesis.data["genesis.json"]);
        assert.deepEqual(doc, {
            genesis_time: "2026-01-01T00:00:00Z",
            chain_id: "dev-1",
            initial_height: "1",
            validators: [
                {
                    address: validatorAddress(key),
                    pub_key: pubKey(key),
                    power: "10",
                    name: "validator",
                },
            ],
            app_hash: "",
        });
        assert.equal(
            generatedGenesis(config)!.data["genesis.json"],
            genesis.data["genesis.json"],
            "stable",
        );
        for (const group of ["validator", "rpc"]) {
            assert.deepEqual(config.groups[group].genesis, {
                configMap: "dev-genesis",
                key: "genesis.json",
            });
        }
    });

    it("leaves a group with peers.inFleet false out of the list, and gives it none", () => {
        const plans = plansOf(devStack({}, { peers: { inFleet: false } }));
        assert.deepEqual(
            persistentPeers(byGroup(plans, "validator")).length,
            1,
            "the validator alone",
        );
        const rpc = byGroup(plans, "rpc");
        assert.equal((manifestsOf(rpc).configMap as Obj).data["overrides.json"], undefined);
        assert.ok(!prepareOf(rpc).args.includes("--peer-wait"));
        assert.ok(prepareOf(rpc).args.includes("--node-key"), "it keeps its stable node key");
    });

    it("without nodeKeySeed: no Secrets, no key flags; a seed is a new revision, not which seed", () => {
        const config = parseStackConfig({
            network: "dev",
            chain: "cometbft",
            groups: {
                rpc: { replicas: 2, image: "cometbft/cometbft:v0.38.19", storage: { size: "1Gi" } },
            },
        });
        const [rpc] = plansOf(config);
        assert.deepEqual(manifestsOf(rpc).secrets, []);
        assert.ok(!prepareOf(rpc).env.some((e: Obj) => e.name === "CHAINFLEET_POD_INDEX"));
        assert.deepEqual(prepareOf(rpc).args, [
            "prepare",
            "--chain",
            "cometbft",
            "--home",
            "/cometbft",
        ]);
        const seeded = plansOf({ ...config, nodeKeySeed: SEED });
        assert.notEqual(
            seeded[0].revision,
            rpc.revision,
            "a seed restarts the nodes onto their keys",
        );
        // Which seed is not part of it: `npm run plan` cannot decrypt it, and must agree.
        const other = plansOf({ ...config, nodeKeySeed: "4".repeat(64) });
        assert.equal(other[0].revision, seeded[0].revision);
    });

    it("a HardFork bootstrap Job picks its node key by its own ordinal", () => {
        const config = parseStackConfig({
            network: "testnet",
            chain: "sei",
            chainId: "atlantic-2",
            nodeKeySeed: SEED,
            groups: {
                rpc: {
                    replicas: 2,
                    image: "ghcr.io/sei-protocol/sei:v6.1.0",
                    storage: { size: "10Gi" },
                    update: {
                        strategy: "HardFork",
                        entrantVolumes: "genesis",
                        haltHeight: 100,
                        upgradeName: "v6.1.0",
                    },
                },
            },
        });
        const [rpc] = planFleet(fleetGroupArgs("testnet", config));
        const job = buildBootstrapJob(
            rpc.nodeSet.input,
            1,
            "ghcr.io/sei-protocol/sei:v6.0.0",
            99,
        ) as Obj;
        const prepare = job.spec.template.spec.initContainers.find(
            (c: Obj) => c.name === "prepare",
        );
        assert.deepEqual(
            prepare.env.find((e: Obj) => e.name === "CHAINFLEET_POD_INDEX"),
            { name: "CHAINFLEET_POD_INDEX", value: "1" },
        );
    });

    it("property: the peers reach only the ConfigMaps, never a pod template or a revision", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 5 }),
                fc.integer({ min: 1, max: 5 }),
                fc.boolean(),
                (rpcs, archives, inFleet) => {
                    const config = devStack({}, { replicas: rpcs });
                    config.groups.archive = {
                        ...config.groups.rpc,
                        replicas: archives,
                        peers: { inFleet },
                    };
                    const args = fleetGroupArgs("dev", config);
                    const alone = args.map(planGroup);
                    const together = planFleet(args);
                    together.forEach((plan, i) => {
                        assert.equal(plan.revision, alone[i].revision);
                        assert.deepEqual(
                            (manifestsOf(plan).statefulSet as Obj).spec.template,
                            (manifestsOf(alone[i]).statefulSet as Obj).spec.template,
                        );
                    });
                    const listed = persistentPeers(together[0]);
                    assert.equal(listed.length, 1 + rpcs + (inFleet ? archives : 0));
                    assert.equal(
                        new Set(listed.map((p) => p.split("@")[0])).size,
                        listed.length,
                        "unique node IDs",
                    );
                },
            ),
            { numRuns: 40 },
        );
    });
});
