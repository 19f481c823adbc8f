/**
 * The deploying identity (lib/deployer.ts): which rules each kind of stack gets, that everything
 * namespaced stays in the stack's namespace, that the identity holds every verb the monitor's Role
 * grants (or Kubernetes refuses to create that Role), and the YAML and kubeconfig it prints.
 */
import * as assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { StackConfig, parseStackConfig } from "../../config";
import {
    DEFAULT_DEPLOYER_NAMESPACE,
    DeployerRule,
    buildDeployerIdentity,
    buildKubeconfig,
    deployerRules,
    renderDeployerYaml,
} from "../../config/deployer";
import { bootstrapTestNames, monitorRules } from "../../components/bootstrapTest/manifests";

type Raw = Record<string, unknown>;

const SHA = "a".repeat(64);

function group(strategy: string, over: Raw = {}): Raw {
    return {
        replicas: 2,
        image: "cometbft/cometbft:v0.38.19",
        storage: { size: "10Gi" },
        update: {
            strategy,
            ...(strategy === "HardFork" ? { haltHeight: 1000, entrantVolumes: "genesis" } : {}),
        },
        ...over,
    };
}

function stack(over: Raw = {}): StackConfig {
    return parseStackConfig({
        network: "testnet",
        chain: "cometbft",
        groups: { rpc: group("BlueGreen") },
        ...over,
    });
}

const BOOTSTRAP_TESTS = {
    monitorImage: "ghcr.io/chainfleet/monitor:0.1.0",
    bootstrapTests: [
        {
            name: "bt-comet",
            image: "cometbft/cometbft:v0.38.x",
            syncMode: "full-sync",
            storage: { size: "1Gi" },
        },
    ],
};

/** "resource verb" pairs the Role grants, e.g. "pods/proxy get" (api groups checked apart). */
function grants(rules: DeployerRule[]): Set<string> {
    return new Set(
        rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res} ${v}`))),
    );
}

/** Whether `rules` hold `verb` on `resource` of `group` for every name in `names` (RBAC's test). */
function holds(
    rules: DeployerRule[],
    group: string,
    resource: string,
    verb: string,
    names: string[] = [],
): boolean {
    return rules.some(
        (r) =>
            (r.apiGroups.includes(group) || r.apiGroups.includes("*")) &&
            (r.resources.includes(resource) || r.resources.includes("*")) &&
            (r.verbs.includes(verb) || r.verbs.includes("*")) &&
            (!r.resourceNames?.length ||
                (names.length > 0 && names.every((n) => r.resourceNames!.includes(n)))),
    );
}

/** Every verb of `granted` (a Role's rules) that `holder` does not hold: what the check refuses. */
function notHeld(holder: DeployerRule[], granted: Record<string, unknown>[]): string[] {
    const missing: string[] = [];
    for (const rule of granted as {
        apiGroups: string[];
        resources: string[];
        verbs: string[];
        resourceNames?: string[];
    }[]) {
        for (const g of rule.apiGroups) {
            for (const res of rule.resources) {
                for (const v of rule.verbs) {
                    if (!holds(holder, g, res, v, rule.resourceNames)) {
                        missing.push(`${g || "core"}/${res} ${v}`);
                    }
                }
            }
        }
    }
    return missing;
}

// What every stack's identity gets: Pulumi applying, reading and deleting what NodeGroup and
// NodeDeployment declare, and the incumbent read.
const ALWAYS = [
    "statefulsets get",
    "statefulsets create",
    "statefulsets patch",
    "statefulsets delete",
    "statefulsets list",
    "statefulsets watch",
    "services get",
    "services patch",
    "services create",
    "services delete",
    "configmaps create",
    "configmaps patch",
    "configmaps delete",
    "persistentvolumeclaims create",
    "persistentvolumeclaims patch",
    "persistentvolumeclaims delete",
    "poddisruptionbudgets create",
    "poddisruptionbudgets patch",
    "poddisruptionbudgets delete",
];

interface Case {
    name: string;
    config: () => StackConfig;
    has: string[];
    hasNot: string[];
}

const CASES: Case[] = [
    {
        name: "blue-green, podProxy gate (the default), nothing else",
        config: () => stack(),
        has: [...ALWAYS, "pods list", "pods watch", "pods/proxy get", "endpointslices list"],
        hasNot: [
            // GET through the proxy only: cometbft answers status and net_info to GET.
            "pods/proxy create",
            // No Rollout (no Rolling group, no preprod) and no monitor: nothing deletes pods.
            "pods delete",
            "pods get",
            "jobs create",
            "pods/log get",
            "serviceaccounts create",
            "roles create",
            "rolebindings create",
            "events create",
            "configmaps update",
            "secrets get",
        ],
    },
    {
        name: "with bootstrap tests: their ServiceAccount, Role, binding and the monitor's grants",
        config: () => stack(BOOTSTRAP_TESTS),
        has: [
            ...ALWAYS,
            "serviceaccounts create",
            "serviceaccounts delete",
            "roles create",
            "roles patch",
            "roles delete",
            "rolebindings create",
            "rolebindings delete",
            "events create",
            "configmaps update",
            "pods get",
            "pods delete",
        ],
        hasNot: ["jobs create", "secrets get", "roles escalate", "roles bind"],
    },
    {
        name: "HardFork only: bootstrap Jobs, their logs, the PVC annotation, the chain's plan read through the proxy; no RPC gate",
        config: () =>
            stack({
                chain: "sei",
                chainId: "atlantic-2",
                groups: { archive: group("HardFork", { image: "sei:v6" }) },
            }),
        has: [
            ...ALWAYS,
            "jobs get",
            "jobs list",
            "jobs watch",
            "jobs create",
            "jobs delete",
            "pods/log get",
            "pods list",
            "persistentvolumeclaims patch",
            "endpointslices watch",
            // kube/chainPlan.ts: CurrentPlan and AppliedPlan from an incumbent, before planning.
            "pods/proxy get",
        ],
        // A HardFork gate checks pods running (mode "running"), never node RPC; nothing POSTs.
        hasNot: ["pods/proxy create", "jobs update", "jobs patch", "pods delete"],
    },
    {
        name: "Rolling only: the Rollout's set watch and pod deletes; no gate, no switch",
        config: () => stack({ groups: { validator: group("Rolling") } }),
        has: [...ALWAYS, "pods list", "pods watch", "pods delete"],
        hasNot: ["endpointslices list", "jobs create"],
    },
    {
        name: "direct RPC: no pod proxy",
        config: () =>
            stack({
                groups: {
                    rpc: group("BlueGreen", {
                        update: {
                            strategy: "BlueGreen",
                            gate: { rpc: "direct", directUrls: ["http://10.0.0.1:26657"] },
                        },
                    }),
                },
            }),
        has: ["pods list", "endpointslices list"],
        hasNot: ["pods/proxy get", "pods/proxy create"],
    },
    {
        name: "Avalanche: info.peers is a POST through the proxy",
        config: () =>
            stack({ chain: "avalanche", groups: { api: group("BlueGreen", { image: "ava:1" }) } }),
        has: ["pods/proxy get", "pods/proxy create"],
        hasNot: [],
    },
    {
        name: "Avalanche with minPeers 0: no peer call, so no POST",
        config: () =>
            stack({
                chain: "avalanche",
                groups: {
                    api: group("BlueGreen", {
                        image: "ava:1",
                        update: { strategy: "BlueGreen", gate: { minPeers: 0 } },
                    }),
                },
            }),
        has: ["pods/proxy get"],
        hasNot: ["pods/proxy create"],
    },
    {
        name: "preprod cohort: its own Rollout deletes pods",
        config: () =>
            stack({
                preprod: { percent: 10, image: "cometbft/cometbft:v0.38.20" },
                groups: { rpc: group("BlueGreen", { replicas: 10 }) },
            }),
        has: ["pods delete"],
        hasNot: [],
    },
];

describe("deployer identity (config/deployer.ts)", () => {
    describe("rules per kind of stack", () => {
        for (const c of CASES) {
            it(c.name, () => {
                const { namespaced } = deployerRules(c.config());
                const g = grants(namespaced);
                for (const want of c.has) {
                    assert.ok(g.has(want), `expected the Role to grant "${want}"`);
                }
                for (const not of c.hasNot) {
                    assert.ok(!g.has(not), `expected the Role NOT to grant "${not}"`);
                }
            });
        }

        it("a snapshot changes no rule (the restore script ships in the group's ConfigMap)", () => {
            const snapshot = {
                url: "https://snapshots.example.com/testnet.tar.gz",
                sha256: SHA,
            };
            const without = deployerRules(stack());
            const withSnapshot = deployerRules(
                stack({ groups: { rpc: group("BlueGreen", { snapshot }) } }),
            );
            assert.ok(withSnapshot.namespaced.length > 0);
            assert.deepEqual(withSnapshot, without);
        });

        it("grants no list or watch on Endpoints or Events: a run works without them", () => {
            // Every object carries pulumi.com/skipAwait or has no awaiter (test/unit/components),
            // so Pulumi's Service awaiter never watches Endpoints, and its event aggregator only
            // relays Warning events while it waits; the e2e least-privilege run holds neither.
            for (const c of CASES) {
                const g = grants(deployerRules(c.config()).namespaced);
                for (const not of [
                    "endpoints list",
                    "endpoints watch",
                    "events list",
                    "events watch",
                ]) {
                    assert.ok(!g.has(not), `${c.name}: grants "${not}"`);
                }
            }
        });

        it("grants no wildcard, no Secrets, no update outside the monitor's ConfigMap", () => {
            for (const c of CASES) {
                for (const rule of deployerRules(c.config()).namespaced) {
                    const all = [...rule.apiGroups, ...rule.resources, ...rule.verbs];
                    assert.ok(!all.includes("*"), `${c.name}: wildcard in ${JSON.stringify(rule)}`);
                    assert.ok(!rule.resources.includes("secrets"), `${c.name}: Secrets granted`);
                    if (rule.verbs.includes("update")) {
                        assert.deepEqual(rule.resources, ["configmaps"], c.name);
                    }
                }
            }
        });

        it("each verb of each rule names the code that needs it", () => {
            for (const c of CASES) {
                const { namespaced, cluster } = deployerRules(c.config());
                for (const rule of [...namespaced, ...cluster]) {
                    const explained = new Set(
                        rule.why.flatMap((line) => line.split(":")[0].split(/,\s*/)),
                    );
                    for (const verb of rule.verbs) {
                        assert.ok(
                            explained.has(verb),
                            `${c.name}: ${rule.resources.join()} ${verb} has no reason (${rule.why.join(" | ")})`,
                        );
                    }
                    assert.ok(
                        rule.why.every((line) => /\.(ts|go)\b/.test(line)),
                        `${c.name}: a reason of ${rule.resources.join()} names no file`,
                    );
                }
            }
        });

        it("grants the union of several configs, for the deploy that changes one into another", () => {
            const before = stack({
                chain: "sei",
                chainId: "atlantic-2",
                groups: { rpc: group("HardFork"), v: group("Rolling") },
            });
            const after = stack({ chain: "sei", chainId: "atlantic-2", ...BOOTSTRAP_TESTS });
            const union = grants(deployerRules([before, after]).namespaced);
            for (const c of [before, after]) {
                for (const g of grants(deployerRules(c).namespaced)) {
                    assert.ok(union.has(g), `union lacks ${g}`);
                }
            }
            assert.ok(union.has("jobs create") && union.has("roles create"));
        });

        it("refuses configs of different namespaces and an empty list, naming the fix", () => {
            assert.throws(
                () => deployerRules([stack(), stack({ namespace: "other" })]),
                /different namespaces \(testnet, other\).*one per stack/,
            );
            assert.throws(() => deployerRules([]), /at least one stack config/);
        });
    });

    describe("namespace scoping", () => {
        for (const [name, over, ns] of [
            ["namespace defaults to the network", {}, "testnet"],
            ["an explicit namespace", { namespace: "sei-prod" }, "sei-prod"],
        ] as const) {
            it(name, () => {
                const id = buildDeployerIdentity(stack({ ...over, ...BOOTSTRAP_TESTS }));
                const byKind = (kind: string) =>
                    id.objects.filter((o) => o.kind === kind) as {
                        metadata: { name: string; namespace?: string };
                        rules?: DeployerRule[];
                        subjects?: { namespace: string; name: string }[];
                    }[];
                assert.equal(id.namespace, ns);
                const [role] = byKind("Role");
                const [binding] = byKind("RoleBinding");
                assert.equal(role.metadata.namespace, ns);
                assert.equal(binding.metadata.namespace, ns);
                // The ServiceAccount and its token live apart from the stack's namespace, so no
                // pod there can run as the deployer.
                const [sa] = byKind("ServiceAccount");
                const [secret] = byKind("Secret") as unknown as {
                    type: string;
                    metadata: { namespace: string; annotations: Record<string, string> };
                }[];
                assert.equal(sa.metadata.namespace, DEFAULT_DEPLOYER_NAMESPACE);
                assert.notEqual(sa.metadata.namespace, ns);
                assert.equal(secret.type, "kubernetes.io/service-account-token");
                assert.equal(secret.metadata.namespace, DEFAULT_DEPLOYER_NAMESPACE);
                assert.equal(
                    secret.metadata.annotations["kubernetes.io/service-account.name"],
                    sa.metadata.name,
                );
                for (const b of [binding, ...byKind("ClusterRoleBinding")]) {
                    assert.deepEqual(b.subjects, [
                        {
                            kind: "ServiceAccount",
                            name: sa.metadata.name,
                            namespace: sa.metadata.namespace,
                        },
                    ]);
                }
                // Both namespaces exist before the Role is bound in one of them.
                assert.deepEqual(
                    byKind("Namespace").map((n) => n.metadata.name),
                    [DEFAULT_DEPLOYER_NAMESPACE, ns],
                );
                // The ClusterRole: only the stack's Namespace, by name, and no create or delete.
                const [clusterRole] = byKind("ClusterRole");
                assert.deepEqual(
                    (clusterRole.rules as unknown as Record<string, unknown>[]).map((r) => ({
                        ...r,
                    })),
                    [
                        {
                            apiGroups: [""],
                            resources: ["namespaces"],
                            resourceNames: [ns],
                            verbs: ["get", "patch"],
                        },
                    ],
                );
                assert.ok(
                    !id.rules.namespaced.some((r) => r.resources.includes("namespaces")),
                    "namespaces are cluster-scoped: a Role cannot grant them",
                );
            });
        }

        it("takes another ServiceAccount namespace and name", () => {
            const id = buildDeployerIdentity(stack(), {
                deployerNamespace: "ci",
                name: "deployer",
            });
            const sa = id.objects.find((o) => o.kind === "ServiceAccount") as {
                metadata: { name: string; namespace: string };
            };
            assert.deepEqual(sa.metadata, { ...sa.metadata, name: "deployer", namespace: "ci" });
        });
    });

    describe("RBAC escalation: the deployer holds every verb the monitor's Role grants", () => {
        for (const [name, testName] of [
            ["a test of the dev stack", "bt-cometbft"],
            ["a long test name", "archive-state-sync-nightly"],
        ]) {
            it(name, () => {
                const config = stack({
                    ...BOOTSTRAP_TESTS,
                    bootstrapTests: [{ ...BOOTSTRAP_TESTS.bootstrapTests[0], name: testName }],
                });
                const granted = monitorRules(bootstrapTestNames(testName));
                assert.ok(granted.length > 0);
                assert.deepEqual(notHeld(deployerRules(config).namespaced, granted), []);
            });
        }

        it("the check itself finds a verb the deployer lacks", () => {
            // Without this, an always-empty notHeld would pass the cases above.
            const granted = monitorRules(bootstrapTestNames("bt"));
            const rules = deployerRules(stack(BOOTSTRAP_TESTS)).namespaced.map((r) =>
                r.resources.includes("events")
                    ? { ...r, verbs: r.verbs.filter((v) => v !== "create") }
                    : r,
            );
            assert.deepEqual(notHeld(rules, granted), ["core/events create"]);
            // A rule limited to other names does not hold a grant on the monitor's names.
            const named = [
                {
                    apiGroups: ["apps"],
                    resources: ["statefulsets"],
                    resourceNames: ["x"],
                    verbs: ["get", "patch"],
                    why: [],
                },
            ];
            assert.ok(notHeld(named, granted).includes("apps/statefulsets get"));
        });
    });

    describe("output", () => {
        it("prints YAML that parses back to the objects, each rule under its reasons", () => {
            const id = buildDeployerIdentity(stack(BOOTSTRAP_TESTS));
            const text = renderDeployerYaml(id, ["header line"]);
            const docs = parseAllDocuments(text);
            assert.deepEqual(
                docs.map((d) => d.toJS()),
                id.objects,
            );
            assert.match(text, /^# header line\n/);
            assert.match(
                text,
                /# get: kube\/incumbent\.ts kubeClusterReader\.service[^\n]*\n(\s*#[^\n]*\n)*\s*- apiGroups:\n\s*- ""\n\s*resources:\n\s*- services\n/,
            );
            assert.match(
                text,
                /# create: held to grant it: components\/bootstrapTest\/manifests\.ts monitorRules/,
            );
        });

        it("writes a kubeconfig with the token, the CA and the stack's namespace", () => {
            const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
            const kc = buildKubeconfig({
                server: "https://203.0.113.10:6443",
                caPem: pem,
                token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n",
                namespace: "sei-prod",
                name: "chainfleet-deploy-sei",
            }) as {
                clusters: { cluster: Record<string, string> }[];
                users: { user: { token: string } }[];
                contexts: { context: Record<string, string> }[];
                "current-context": string;
            };
            assert.equal(
                Buffer.from(
                    kc.clusters[0].cluster["certificate-authority-data"],
                    "base64",
                ).toString(),
                pem,
            );
            assert.equal(kc.users[0].user.token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
            assert.equal(kc.contexts[0].context.namespace, "sei-prod");
            assert.equal(kc["current-context"], "chainfleet-deploy-sei");
        });

        for (const [name, over, message] of [
            [
                "an http server",
                { server: "http://x:6443" },
                /server \(--server\) "http:\/\/x:6443" must be the API server's https:\/\/ URL/,
            ],
            [
                "a CA that is not PEM",
                { caPem: "abc" },
                /ca \(--ca\) is not a PEM certificate; give the token Secret's ca.crt/,
            ],
            [
                "an empty token",
                { token: " \n" },
                /token \(--token-file\) is empty or not a JWT; give the token Secret's token, base64-decoded/,
            ],
        ] as const) {
            it(`refuses ${name}, naming the argument and where to get it`, () => {
                const valid = {
                    server: "https://x:6443",
                    caPem: "-----BEGIN CERTIFICATE-----\n",
                    token: "abc.def.ghi",
                    namespace: "n",
                    name: "d",
                };
                assert.doesNotThrow(() => buildKubeconfig(valid));
                assert.throws(() => buildKubeconfig({ ...valid, ...over }), message);
            });
        }
    });
});
