/**
 * The pure builder of a bootstrap test's objects. The strongest check here is the round trip:
 * the flags the manifests give the monitor containers must parse with the monitor's own CLI into
 * the options the test's config asks for.
 */
import * as assert from "node:assert/strict";
import { adapterFor } from "../../chains";
import { BootstrapTestConfigSchema } from "../../config/bootstrapTest";
import {
    NODE_CONTAINER,
    REGISTRY_AUTH_FILE,
    buildBootstrapTestManifests,
    monitorRules,
    nodeEnv,
} from "../../components/bootstrapTest/manifests";
import type { InitOptions, WaitOptions } from "../../monitor/options";
import { runCli } from "../../monitor/program";

/* eslint-disable @typescript-eslint/no-explicit-any */

const test = (over: Record<string, unknown> = {}) =>
    BootstrapTestConfigSchema.parse({
        name: "comet-master",
        image: "ghcr.io/org/cometbft:master",
        syncMode: "full-sync",
        storage: { size: "200Gi", storageClass: "fast" },
        intervals: { checkSeconds: 30, pollTagSeconds: 120 },
        keepResults: 5,
        ...over,
    });

const build = (
    over: Record<string, unknown> = {},
    chain: "cometbft" | "sei" | "avalanche" = "cometbft",
) =>
    buildBootstrapTestManifests({
        namespace: "chains",
        chain,
        network: "devnet",
        test: test(over),
        monitorImage: "ghcr.io/org/monitor@sha256:" + "f".repeat(64),
    });

const podSpec = (m: ReturnType<typeof build>) => (m.statefulSet as any).spec.template.spec;

/** Parses a container's args with the monitor CLI, as the container would. */
async function parseArgs(args: string[]): Promise<InitOptions | WaitOptions> {
    let got: InitOptions | WaitOptions | undefined;
    // Only the pod's fieldRef variables: the shell's KUBECONFIG or MONITOR_* must not leak in.
    const saved = { ...process.env };
    for (const key of Object.keys(process.env)) {
        if (/^(MONITOR_|POD_NAME$|POD_NAMESPACE$|KUBECONFIG$)/.test(key)) delete process.env[key];
    }
    process.env.POD_NAME = "comet-master-0";
    process.env.POD_NAMESPACE = "chains";
    try {
        const code = await runCli(
            args,
            {
                init: async (o) => ((got = o), 0),
                wait: async (o) => ((got = o), 0),
            },
            { writeOut: () => undefined, writeErr: (s) => assert.fail(s) },
        );
        assert.equal(code, 0);
    } finally {
        for (const key of Object.keys(process.env)) {
            if (!(key in saved)) delete process.env[key];
        }
        Object.assign(process.env, saved);
    }
    assert.ok(got);
    return got;
}

describe("bootstrap test manifests", () => {
    it("runs one pod, replaced only on delete, without Pulumi waiting for readiness", () => {
        const sts = build().statefulSet as any;
        assert.equal(sts.metadata.name, "comet-master");
        assert.equal(sts.metadata.namespace, "chains");
        assert.equal(sts.metadata.annotations["pulumi.com/skipAwait"], "true");
        assert.equal(sts.spec.replicas, 1);
        assert.deepEqual(sts.spec.updateStrategy, { type: "OnDelete" });
        assert.deepEqual(sts.spec.selector.matchLabels, {
            "chainfleet.io/bootstrap-test": "comet-master",
        });
        assert.equal(
            sts.spec.template.metadata.labels["chainfleet.io/bootstrap-test"],
            "comet-master",
        );
        assert.deepEqual(sts.spec.volumeClaimTemplates[0].spec, {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "fast",
            resources: { requests: { storage: "200Gi" } },
        });
    });

    it("puts the node container first, on the followed tag, with the sync mode's settings", () => {
        const spec = podSpec(build());
        const [node, sidecar] = spec.containers;
        assert.equal(node.name, NODE_CONTAINER);
        assert.equal(node.image, "ghcr.io/org/cometbft:master");
        assert.equal(sidecar.name, "monitor");
        const adapter = adapterFor("cometbft");
        const start = adapter.start({ extraArgs: [] });
        assert.deepEqual(node.command, start.command);
        assert.deepEqual(node.args, start.args);
        assert.ok(
            node.env.some((e: any) => e.name === "CMT_STATESYNC_ENABLE" && e.value === "false"),
        );
        assert.deepEqual(node.volumeMounts, [
            { name: "data", mountPath: adapter.homeDir },
            { name: "chainfleet-bin", mountPath: "/chainfleet/bin", readOnly: true },
        ]);
        assert.deepEqual(node.readinessProbe.exec.command.slice(0, 2), [
            "/chainfleet/bin/chainfleet-agent",
            "ready",
        ]);
        assert.equal(spec.serviceAccountName, "comet-master-monitor");
    });

    it("prepares the home after init, in the tested image, and pins that image there too", async () => {
        const m = build();
        const spec = podSpec(m);
        assert.deepEqual(
            spec.initContainers.map((c: any) => c.name),
            ["init", "agent-install", "prepare"],
            "init first: a pod about to be replaced for a pin prepares nothing",
        );
        const prepare = spec.initContainers[2];
        assert.equal(prepare.image, "ghcr.io/org/cometbft:master");
        assert.deepEqual(m.monitorOwnedPaths, [
            "spec.template.spec.containers[0].image",
            "spec.template.spec.initContainers[2].image",
        ]);
        for (const c of [spec.initContainers[0], spec.containers[1]]) {
            assert.deepEqual((await parseArgs(c.args)).nodeInitContainers, ["prepare"]);
        }
        // Avalanche's home is not prepared by the agent: nothing else to pin.
        const ava = build({}, "avalanche");
        assert.deepEqual(
            podSpec(ava).initContainers.map((c: any) => c.name),
            ["init"],
        );
        assert.deepEqual(ava.monitorOwnedPaths, ["spec.template.spec.containers[0].image"]);
        assert.deepEqual(
            (await parseArgs(podSpec(ava).initContainers[0].args)).nodeInitContainers,
            [],
        );
    });

    it("joins the stack's network: its genesis, chain id, in-fleet peers and placement", () => {
        const peers = ["aa@validator-p2p-0.chains.svc:26656", "bb@rpc-p2p-0.chains.svc:26656"];
        const placement = {
            nodeSelector: { type: "real" },
            tolerations: [
                { key: "chainfleet.io/real-node", operator: "Exists", effect: "NoSchedule" },
            ],
        };
        const m = buildBootstrapTestManifests({
            namespace: "chains",
            chain: "cometbft",
            network: "devnet",
            test: test(),
            monitorImage: "monitor:1",
            join: {
                home: {
                    chainId: "devnet-1",
                    genesis: { configMap: "devnet-genesis", key: "genesis.json" },
                },
                inFleetPeers: peers,
                placement: placement as any,
            },
        });
        const spec = podSpec(m);
        const args: string[] = spec.initContainers[2].args;
        const after = (flag: string) => args[args.indexOf(flag) + 1];
        assert.equal(after("--chain-id"), "devnet-1");
        assert.equal(after("--genesis-file"), "/chainfleet/genesis/genesis.json");
        assert.equal(after("--overrides"), "/etc/chainfleet/overrides.json");
        assert.equal(after("--peer-wait"), "2m");
        assert.equal(after("--owner"), "$(CHAINFLEET_HOME_OWNER)");
        assert.ok(!args.includes("--node-key"), "the test's node makes its own key");
        assert.ok(!args.includes("--validator-key"), "a test's node never signs");
        const overrides = JSON.parse((m.configMap as any).data["overrides.json"]);
        assert.equal(overrides.configToml.p2p.persistent_peers, peers.join(","));
        assert.deepEqual((m.configMap as any).metadata.name, "comet-master-config");
        assert.ok(
            spec.volumes.some(
                (v: any) => v.name === "genesis" && v.configMap?.name === "devnet-genesis",
            ),
        );
        assert.ok(
            spec.volumes.some(
                (v: any) => v.name === "config" && v.configMap?.name === "comet-master-config",
            ),
        );
        assert.deepEqual(spec.nodeSelector, placement.nodeSelector);
        assert.deepEqual(spec.tolerations, placement.tolerations);
        // Without a network to join: no overrides, no placement, the node's own genesis.
        const alone = build();
        assert.deepEqual((alone.configMap as any).data, {});
        assert.equal(podSpec(alone).nodeSelector, undefined);
        assert.ok(!podSpec(alone).initContainers[2].args.includes("--genesis-file"));
    });

    it("tells the monitor a plainHttp test's registry speaks plain HTTP", async () => {
        const spec = podSpec(
            build({ image: "10.244.0.1:20500/cometbft/cometbft:v0.38.x", plainHttp: true }),
        );
        for (const c of [spec.initContainers[0], spec.containers[1]]) {
            assert.deepEqual((await parseArgs(c.args)).plainHttpRegistries, ["10.244.0.1:20500"]);
        }
        const tls = podSpec(build());
        assert.deepEqual((await parseArgs(tls.initContainers[0].args)).plainHttpRegistries, []);
    });

    it("gives init a writable volume and the sidecar a read-only one", () => {
        const spec = podSpec(build());
        const init = spec.initContainers[0];
        const sidecar = spec.containers[1];
        assert.equal(init.name, "init");
        assert.equal(init.args[0], "init");
        assert.equal(sidecar.args[0], "wait-for-completion");
        assert.equal(init.volumeMounts[0].readOnly, false);
        assert.equal(sidecar.volumeMounts[0].readOnly, true);
        for (const c of [init, sidecar]) {
            assert.equal(c.image, "ghcr.io/org/monitor@sha256:" + "f".repeat(64));
            assert.deepEqual(
                c.env.map((e: any) => [e.name, e.valueFrom.fieldRef.fieldPath]),
                [
                    ["POD_NAME", "metadata.name"],
                    ["POD_NAMESPACE", "metadata.namespace"],
                ],
            );
        }
    });

    it("passes init flags that the monitor CLI parses into the test's settings", async () => {
        const adapter = adapterFor("cometbft");
        const opts = await parseArgs(podSpec(build()).initContainers[0].args);
        assert.deepEqual(opts, {
            namespace: "chains",
            podName: "comet-master-0",
            statefulSet: "comet-master",
            nodeContainer: NODE_CONTAINER,
            nodeInitContainers: ["prepare"],
            chain: "cometbft",
            dataDir: adapter.homeDir,
            syncMode: "full-sync",
            followImage: "ghcr.io/org/cometbft:master",
            plainHttpRegistries: [],
            terminationWaitSeconds: 300,
        });
    });

    it("passes sidecar flags with the intervals, results ConfigMap and N", async () => {
        const opts = (await parseArgs(podSpec(build()).containers[1].args)) as WaitOptions;
        assert.equal(opts.checkIntervalSeconds, 30);
        assert.equal(opts.pollTagIntervalSeconds, 120);
        assert.equal(opts.resultsConfigMap, "comet-master-results");
        assert.equal(opts.keepLast, 5);
        assert.equal(opts.maxNodeRestarts, 5, "the config default reaches the sidecar");
        assert.equal(opts.maxBlockAgeSeconds, 120, "so does the tip's age");
        const slow = await parseArgs(
            podSpec(build({ maxBlockAgeSeconds: 900 })).containers[1].args,
        );
        assert.equal((slow as WaitOptions).maxBlockAgeSeconds, 900);
        const seven = await parseArgs(podSpec(build({ maxNodeRestarts: 7 })).containers[1].args);
        assert.equal((seven as WaitOptions).maxNodeRestarts, 7);
        assert.equal(opts.statusUrl, undefined, "in the pod the adapter's own URL is right");
    });

    it("mounts a registry Secret for pulls and for the monitor's lookups", async () => {
        const spec = podSpec(build({ registrySecret: "ghcr-pull" }));
        assert.deepEqual(spec.imagePullSecrets, [{ name: "ghcr-pull" }]);
        assert.deepEqual(spec.volumes[0], {
            name: "registry-auth",
            secret: {
                secretName: "ghcr-pull",
                items: [{ key: ".dockerconfigjson", path: "config.json" }],
            },
        });
        for (const c of [spec.initContainers[0], spec.containers[1]]) {
            assert.ok(c.volumeMounts.some((v: any) => v.name === "registry-auth" && v.readOnly));
            assert.equal((await parseArgs(c.args)).registryAuthFile, REGISTRY_AUTH_FILE);
        }
        const plain = podSpec(build());
        assert.ok(!plain.volumes.some((v: any) => v.name === "registry-auth"));
        assert.equal(plain.imagePullSecrets, undefined);
    });

    it("uses each chain's home as the volume", async () => {
        for (const chain of ["sei", "avalanche"] as const) {
            const adapter = adapterFor(chain);
            const spec = podSpec(build({}, chain));
            const opts = await parseArgs(spec.initContainers[0].args);
            assert.equal(opts.dataDir, adapter.homeDir);
            assert.equal(opts.chain, chain);
        }
    });

    it("grants exactly what the monitor calls, by name where RBAC allows", () => {
        const m = build();
        assert.deepEqual((m.role as any).rules, [
            {
                apiGroups: ["apps"],
                resources: ["statefulsets"],
                resourceNames: ["comet-master"],
                verbs: ["get", "patch"],
            },
            {
                apiGroups: [""],
                resources: ["pods"],
                resourceNames: ["comet-master-0"],
                verbs: ["get", "delete"],
            },
            {
                apiGroups: [""],
                resources: ["configmaps"],
                resourceNames: ["comet-master-results"],
                verbs: ["get", "update"],
            },
            { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
            { apiGroups: [""], resources: ["events"], verbs: ["create"] },
        ]);
        assert.deepEqual(m.roleBinding, {
            metadata: { name: "comet-master-monitor", namespace: "chains", labels: m.labels },
            roleRef: {
                apiGroup: "rbac.authorization.k8s.io",
                kind: "Role",
                name: "comet-master-monitor",
            },
            subjects: [
                { kind: "ServiceAccount", name: "comet-master-monitor", namespace: "chains" },
            ],
        });
        assert.deepEqual(monitorRules(m.names), (m.role as any).rules);
        const verbs = (m.role as any).rules.flatMap((r: any) => r.verbs);
        for (const never of ["list", "watch", "deletecollection", "*"]) {
            assert.ok(!verbs.includes(never), `Role grants ${never}`);
        }
    });

    it("lets the test's env override the adapter's but never the sync mode's", () => {
        const t = test({ env: { CMTHOME: "/elsewhere", EXTRA: "1" } });
        const env = nodeEnv([{ name: "CMTHOME", value: "/cometbft" }], t, "cometbft");
        assert.deepEqual(env, [
            { name: "CMTHOME", value: "/elsewhere" },
            { name: "EXTRA", value: "1" },
            { name: "CMT_STATESYNC_ENABLE", value: "false" },
        ]);
        assert.throws(
            () => nodeEnv([], test({ env: { CMT_STATESYNC_ENABLE: "true" } }), "cometbft"),
            /bootstrapTests\[comet-master\].env.CMT_STATESYNC_ENABLE is set by syncMode \(full-sync\); remove it/,
        );
    });

    it("appends the test's args after the chain's", () => {
        const node = podSpec(build({ args: ["--log_level=debug"] })).containers[0];
        assert.equal(node.args.at(-1), "--log_level=debug");
    });
});
