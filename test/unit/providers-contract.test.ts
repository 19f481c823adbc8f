import * as assert from "node:assert/strict";
import {
    BOOTSTRAP_VERSION,
    HEIGHT_GATE_VERSION,
    TRAFFIC_SWITCH_VERSION,
    UNKNOWN,
    bootstrapProvider,
    heightGateProvider,
    trafficSwitchProvider,
} from "../../dynamic-providers";
import { desiredJob, jobName, jobSpecHash } from "../../dynamic-providers/bootstrapRun";
import { diffInputs, plainOutputs } from "../../dynamic-providers/common";
import { directUrl, podProxyUrl, redact } from "../../kube/rpc";
import { DEFAULTS } from "../../lib/defaults";

type Obj = Record<string, unknown>;

const bootJob = (over: Obj = {}): Obj => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "node-0-bootstrap" },
    spec: {
        backoffLimit: 0,
        template: {
            spec: {
                restartPolicy: "Never",
                containers: [{ name: "node", image: "incumbent:v1" }],
                volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data-node-0" } }],
                ...over,
            },
        },
    },
});

const validBootstrap = (): Obj => ({
    namespace: "chain",
    job: bootJob(),
    pvcName: "data-node-0",
    haltHeight: 99,
    haltExitCodes: [130],
});

const validGate = (): Obj => ({
    namespace: "chain",
    chain: "cometbft",
    mode: "caughtUp",
    entrantSelector: { "chainfleet.io/revision": "b" },
    incumbentSelector: { "chainfleet.io/revision": "a" },
    replicas: 2,
    rpcPort: 26657,
});

const validSwitch = (): Obj => ({
    namespace: "chain",
    serviceName: "rpc",
    selector: { "app.kubernetes.io/instance": "x", "chainfleet.io/revision": "b" },
});

async function failures(
    provider: {
        check?: (
            o: never,
            n: never,
        ) => Promise<{ failures?: { property: string; reason: string }[] }>;
    },
    news: Obj,
) {
    const res = await provider.check!({} as never, news as never);
    return (res.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
}

describe("#providers check()", () => {
    it("valid inputs pass and get defaults plus the provider version", async () => {
        const gate = await heightGateProvider.check!({} as never, validGate() as never);
        assert.deepEqual(gate.failures, []);
        assert.equal(gate.inputs?.pollIntervalMs, 500);
        // The stack config's default, so a gate declared without one behaves as config says.
        assert.equal(gate.inputs?.tolerance, DEFAULTS.caughtUpTolerance);
        assert.equal(gate.inputs?.deadlineSeconds, DEFAULTS.gateSeconds);
        assert.equal(gate.inputs?.rpcMode, "podProxy");
        assert.equal(gate.inputs?.providerVersion, HEIGHT_GATE_VERSION);
        const boot = await bootstrapProvider.check!({} as never, validBootstrap() as never);
        assert.deepEqual(boot.failures, []);
        assert.equal(boot.inputs?.providerVersion, BOOTSTRAP_VERSION);
        assert.equal(boot.inputs?.logTailLines, 30);
        const sw = await trafficSwitchProvider.check!({} as never, validSwitch() as never);
        assert.deepEqual(sw.failures, []);
        assert.equal(sw.inputs?.minReady, 1);
        assert.equal(sw.inputs?.providerVersion, TRAFFIC_SWITCH_VERSION);
    });

    const gateCases: [string, Obj, RegExp][] = [
        [
            "missing namespace",
            { namespace: undefined },
            /^namespace: HeightGate.namespace: required/,
        ],
        [
            "bad mode",
            { mode: "synced" },
            /mode: .*"synced" is not one of "running", "caughtUp", "atHeight"/,
        ],
        ["bad chain", { chain: "eth" }, /chain: .*"eth" is not one of/],
        [
            "empty selector",
            { entrantSelector: {} },
            /entrantSelector: .*must not be empty: an empty selector matches every pod/,
        ],
        [
            "non-string label",
            { entrantSelector: { a: 1 } },
            /entrantSelector.a: .*label values are strings/,
        ],
        ["replicas 0", { replicas: 0 }, /replicas: .*must be >= 1, got 0/],
        [
            "atHeight without target",
            { mode: "atHeight" },
            /targetHeight: .*required when mode is "atHeight"/,
        ],
        [
            "podProxy needs rpcPort",
            { rpcPort: undefined },
            /rpcPort: .*required; set an integer >= 1/,
        ],
        [
            "direct needs directUrls",
            { rpcMode: "direct" },
            /directUrls: .*required when rpcMode is "direct"/,
        ],
        [
            "direct URL not a URL",
            { rpcMode: "direct", directUrls: { "n-0": "localhost:1" } },
            /directUrls.n-0: .*not an http\(s\) URL/,
        ],
        [
            "reference not a URL",
            { referenceRpcs: ["ftp://x"] },
            /referenceRpcs\[0\]: .*not an http\(s\) URL/,
        ],
        ["poll too fast", { pollIntervalMs: 5 }, /pollIntervalMs: .*must be >= 50/],
        [
            "requireAdvancing not boolean",
            { requireAdvancing: "yes" },
            /requireAdvancing: .*must be true or false/,
        ],
    ];
    for (const [name, over, want] of gateCases) {
        it(`HeightGate: ${name}`, async () => {
            const got = await failures(heightGateProvider, { ...validGate(), ...over });
            assert.ok(
                got.some((f) => want.test(f)),
                `wanted ${want} in:\n${got.join("\n")}`,
            );
        });
    }

    it("HeightGate: running mode needs no rpcPort", async () => {
        assert.deepEqual(
            await failures(heightGateProvider, {
                ...validGate(),
                mode: "running",
                rpcPort: undefined,
            }),
            [],
        );
    });

    it("unknown values (outputs not known at preview) are not failures", async () => {
        assert.deepEqual(
            await failures(heightGateProvider, {
                ...validGate(),
                namespace: UNKNOWN,
                replicas: UNKNOWN,
                entrantSelector: UNKNOWN,
            }),
            [],
        );
        assert.deepEqual(
            await failures(bootstrapProvider, {
                ...validBootstrap(),
                job: UNKNOWN,
                haltHeight: UNKNOWN,
            }),
            [],
        );
        const partlyUnknown = bootJob({ volumes: UNKNOWN });
        assert.deepEqual(
            await failures(bootstrapProvider, { ...validBootstrap(), job: partlyUnknown }),
            [],
        );
    });

    const bootCases: [string, Obj, RegExp][] = [
        ["missing job", { job: undefined }, /job: .*required; pass the bootstrap Job manifest/],
        [
            "job without name",
            { job: { ...bootJob(), metadata: {} } },
            /job.metadata.name: .*required: the bootstrap finds and resumes its Job by name/,
        ],
        [
            "OnFailure restart policy",
            { job: bootJob({ restartPolicy: "OnFailure" }) },
            /restartPolicy: .*must be "Never", got "OnFailure": with OnFailure the kubelet restarts/,
        ],
        [
            "job not mounting the PVC",
            { pvcName: "data-node-1" },
            /volumes: .*no volume mounts PVC "data-node-1"/,
        ],
        ["halt height 0", { haltHeight: 0 }, /haltHeight: .*must be >= 1/],
        [
            "exit code out of range",
            { haltExitCodes: [130, 300] },
            /haltExitCodes\[1\]: .*integer in 0..255, got 300/,
        ],
        ["bad PVC name", { pvcName: "Data_0" }, /pvcName: .*"Data_0" is not valid/],
    ];
    for (const [name, over, want] of bootCases) {
        it(`Bootstrap: ${name}`, async () => {
            const got = await failures(bootstrapProvider, { ...validBootstrap(), ...over });
            assert.ok(
                got.some((f) => want.test(f)),
                `wanted ${want} in:\n${got.join("\n")}`,
            );
        });
    }

    const switchCases: [string, Obj, RegExp][] = [
        ["missing service", { serviceName: undefined }, /serviceName: .*required/],
        ["empty selector", { selector: {} }, /selector: .*must not be empty/],
        ["minReady 0", { minReady: 0 }, /minReady: .*must be >= 1/],
    ];
    for (const [name, over, want] of switchCases) {
        it(`TrafficSwitch: ${name}`, async () => {
            const got = await failures(trafficSwitchProvider, { ...validSwitch(), ...over });
            assert.ok(
                got.some((f) => want.test(f)),
                `wanted ${want} in:\n${got.join("\n")}`,
            );
        });
    }

    it("collects every failure at once", async () => {
        const got = await failures(heightGateProvider, { mode: "atHeight", replicas: -1 });
        assert.ok(got.length >= 4, got.join("\n"));
    });
});

describe("#providers diff()", () => {
    it("no change when only tuning knobs change", async () => {
        const olds = {
            ...validGate(),
            providerVersion: "1",
            deadlineSeconds: 60,
            passedAt: "t",
            heights: { a: 1 },
        };
        const news = {
            ...validGate(),
            providerVersion: "1",
            deadlineSeconds: 600,
            pollIntervalMs: 200,
            kubeconfig: "/k",
        };
        assert.equal(
            (await heightGateProvider.diff!("id", olds as never, news as never)).changes,
            false,
        );
    });
    it("a trigger input change is an update, not a replace", async () => {
        const olds = { ...validGate(), providerVersion: "1" };
        const news = { ...validGate(), providerVersion: "1", tolerance: 5 };
        const d = await heightGateProvider.diff!("id", olds as never, news as never);
        assert.equal(d.changes, true);
        assert.equal(d.replaces, undefined);
    });
    it("a new provider version surfaces as a change", async () => {
        const d = await trafficSwitchProvider.diff!(
            "id",
            { ...validSwitch(), providerVersion: "0" } as never,
            { ...validSwitch(), providerVersion: "1" } as never,
        );
        assert.equal(d.changes, true);
    });
    it("label order does not matter; removing an optional input does", () => {
        const a = { entrantSelector: { x: "1", y: "2" }, incumbentSelector: { r: "a" } };
        assert.equal(
            diffInputs(a, { entrantSelector: { y: "2", x: "1" }, incumbentSelector: { r: "a" } }, [
                "entrantSelector",
                "incumbentSelector",
            ]).changes,
            false,
        );
        assert.deepEqual(
            diffInputs(a, { entrantSelector: { x: "1", y: "2" } }, [
                "entrantSelector",
                "incumbentSelector",
            ]).changed,
            ["incumbentSelector"],
        );
    });
    it("bootstrap: a new Job image or halt height re-runs it; a longer deadline does not", async () => {
        const olds = {
            ...validBootstrap(),
            providerVersion: "1",
            deadlineSeconds: 10,
            bootstrappedHeight: 99,
        };
        const same = { ...validBootstrap(), providerVersion: "1", deadlineSeconds: 9999 };
        assert.equal(
            (await bootstrapProvider.diff!("id", olds as never, same as never)).changes,
            false,
        );
        const height = { ...same, haltHeight: 100 };
        assert.equal(
            (await bootstrapProvider.diff!("id", olds as never, height as never)).changes,
            true,
        );
        const image = {
            ...same,
            job: bootJob({ containers: [{ name: "node", image: "incumbent:v2" }] }),
        };
        assert.equal(
            (await bootstrapProvider.diff!("id", olds as never, image as never)).changes,
            true,
        );
    });
});

describe("#providers upgrade records: settled", () => {
    // Each provider with an input that its diff treats as a trigger.
    const records = [
        {
            name: "HeightGate",
            provider: heightGateProvider,
            valid: validGate,
            trigger: { tolerance: 9 },
        },
        {
            name: "TrafficSwitch",
            provider: trafficSwitchProvider,
            valid: validSwitch,
            trigger: { selector: { "chainfleet.io/revision": "c" } },
        },
        {
            name: "Bootstrap",
            provider: bootstrapProvider,
            valid: validBootstrap,
            trigger: { haltHeight: 5 },
        },
    ] as const;
    const diff = (p: (typeof records)[number]["provider"], olds: Obj, news: Obj) =>
        p.diff!("id", olds as never, news as never);

    for (const r of records) {
        it(`${r.name}: declared settled, it never runs again, whatever changed`, async () => {
            const olds = { ...r.valid(), providerVersion: "0" };
            const news = { ...r.valid(), ...r.trigger, providerVersion: "1", settled: true };
            assert.equal((await diff(r.provider, olds, news)).changes, false);
        });
        it(`${r.name}: settled before, asked to wait now, it runs`, async () => {
            const olds = { ...r.valid(), providerVersion: "1", settled: true };
            const news = { ...r.valid(), providerVersion: "1" };
            const d = await diff(r.provider, olds, news);
            assert.equal(d.changes, true);
            assert.deepEqual(d.changes && (d as { changed?: string[] }).changed, ["settled"]);
        });
        it(`${r.name}: waiting before and now, a trigger still decides`, async () => {
            const olds = { ...r.valid(), providerVersion: "1", settled: false };
            assert.equal((await diff(r.provider, olds, { ...olds })).changes, false);
            const news = { ...olds, ...r.trigger };
            assert.equal((await diff(r.provider, olds, news)).changes, true);
        });
        it(`${r.name}: a settled create returns at once without a cluster`, async () => {
            const inputs = {
                ...(
                    await r.provider.check!(
                        {} as never,
                        {
                            ...r.valid(),
                            settled: true,
                            // A kubeconfig that cannot exist: any cluster access would throw.
                            kubeconfig: "/nonexistent/kubeconfig",
                        } as never,
                    )
                ).inputs,
            };
            const created = await r.provider.create!(inputs as never);
            assert.equal((created.outs as unknown as Obj).settled, true);
        });
        it(`${r.name}: settled must be a boolean`, async () => {
            const got = await failures(r.provider, { ...r.valid(), settled: "yes" });
            assert.ok(
                got.some((f) => f.startsWith("settled: ")),
                got.join("\n"),
            );
        });
    }

    it("Bootstrap: a settled record needs no Job (the incumbent image is gone)", async () => {
        const { job: _job, ...rest } = validBootstrap();
        assert.deepEqual(await failures(bootstrapProvider, { ...rest, settled: true }), []);
        assert.ok((await failures(bootstrapProvider, rest)).some((f) => f.startsWith("job: ")));
    });

    it("HeightGate: a settled direct-RPC gate needs no URLs (it reads no RPC)", async () => {
        const direct = { ...validGate(), rpcMode: "direct" };
        assert.deepEqual(await failures(heightGateProvider, { ...direct, settled: true }), []);
        assert.ok(
            (await failures(heightGateProvider, direct)).some((f) => f.startsWith("directUrls")),
        );
    });
});

describe("#providers outputs and Job shaping", () => {
    it("outputs are plain JSON: no undefined, no __provider, dates as strings", () => {
        const outs = plainOutputs({
            a: 1,
            b: undefined,
            __provider: "code",
            nested: { c: undefined, d: [1] },
            when: new Date(0),
        });
        assert.deepEqual(outs, { a: 1, nested: { d: [1] }, when: "1970-01-01T00:00:00.000Z" });
    });
    it("desiredJob sets namespace, labels and the resume annotations without mutating the input", () => {
        const inputs = {
            ...validBootstrap(),
            deadlineSeconds: 1,
            logTailLines: 1,
            providerVersion: "1",
        } as never;
        const before = JSON.stringify(inputs);
        const job = desiredJob(inputs);
        assert.equal(JSON.stringify(inputs), before);
        assert.equal(job.metadata?.namespace, "chain");
        assert.equal(job.metadata?.labels?.["app.kubernetes.io/managed-by"], "chainfleet");
        assert.equal(job.metadata?.annotations?.["chainfleet.io/halt-height"], "99");
        assert.match(
            job.metadata?.annotations?.["chainfleet.io/spec-hash"] ?? "",
            /^[0-9a-f]{16}$/,
        );
        assert.equal(jobName(inputs), "node-0-bootstrap");
    });
    it("the spec hash ignores key order and changes with image or height", () => {
        const a = jobSpecHash({ job: { a: 1, b: { c: 2, d: 3 } }, haltHeight: 5 });
        assert.equal(a, jobSpecHash({ job: { b: { d: 3, c: 2 }, a: 1 }, haltHeight: 5 }));
        assert.notEqual(a, jobSpecHash({ job: { a: 1, b: { c: 2, d: 3 } }, haltHeight: 6 }));
        assert.notEqual(a, jobSpecHash({ job: { a: 2, b: { c: 2, d: 3 } }, haltHeight: 5 }));
    });
});

describe("#providers RPC URLs", () => {
    const cases: [string, string, string][] = [
        [
            podProxyUrl("https://10.0.0.1:6443", "chain", "node-0", 26657, "/status"),
            "pod proxy",
            "https://10.0.0.1:6443/api/v1/namespaces/chain/pods/node-0:26657/proxy/status",
        ],
        [
            podProxyUrl("https://api.example/", "chain", "node-0", 9650, "ext/health"),
            "trailing slash, relative path",
            "https://api.example/api/v1/namespaces/chain/pods/node-0:9650/proxy/ext/health",
        ],
        [
            podProxyUrl("https://api.example/prefix", "ns", "n", 1, "/status?x=1"),
            "server with a path prefix keeps the query",
            "https://api.example/prefix/api/v1/namespaces/ns/pods/n:1/proxy/status?x=1",
        ],
        [directUrl("http://127.0.0.1:26657", "/status"), "direct", "http://127.0.0.1:26657/status"],
        [
            directUrl("http://127.0.0.1:26657/", "status"),
            "direct, slashes",
            "http://127.0.0.1:26657/status",
        ],
        [
            directUrl("https://rpc.example/cosmos", "/net_info"),
            "direct with prefix",
            "https://rpc.example/cosmos/net_info",
        ],
    ];
    for (const [got, name, want] of cases) {
        it(name, () => assert.equal(got, want));
    }
    it("redacts credentials in URLs", () => {
        assert.equal(redact("https://user:pw@rpc.example/x"), "https://***@rpc.example/x");
        assert.equal(redact("not a url"), "not a url");
    });
});
