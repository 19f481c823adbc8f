/**
 * The deploying identity (config/deployer.ts, `npm run deployer`) is enough, and every rule of it
 * is needed: `pulumi preview` and a whole BlueGreen `pulumi up` run as that ServiceAccount, with
 * the kubeconfig `npm run deployer -- --kubeconfig-out` writes; then each rule of its Role and of
 * its ClusterRole is taken away in turn, and a run without it fails naming the permission.
 *
 * The table is cheap enough for every CI run (about 2 minutes on the 2-core runner): the Role's
 * rows share one stack, deployed once with the whole identity, and each row tries an upgrade to
 * an image of its own. A failed upgrade switches nothing and deletes nothing, and a row's new
 * image means a new set, so every object kind, the gate and the switch lie ahead of each row's
 * run as they did of the first, whatever the rows before it left. The ClusterRole's rule (the
 * stack's Namespace) is used when the Namespace is applied, i.e. by a first deploy: its row is
 * a first deploy of a stack of its own.
 *
 * The stacks are applied by the cluster admin only for what a platform team would do once: the
 * identity itself (`kubectl apply` of the deployer's output). Everything else is the deployer's.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, parseStackConfig } from "../../config";
import {
    DeployerRule,
    DeployerRules,
    buildDeployerIdentity,
    buildKubeconfig,
    renderDeployerYaml,
    renderKubeconfig,
} from "../../config/deployer";
import { CometChain, CometNode, waitForHeight } from "../api/harness/cometbft";
import {
    deleteNamespace,
    kube,
    requireCluster,
    selectorOf,
    waitUntil,
    waitForReadyPods,
} from "./harness/cluster";
import {
    COMETBFT_V1,
    COMETBFT_V2,
    cometGroup,
    outputs,
    pinnedSet,
    setFingerprint,
    stableSelector,
    uniqueSuffix,
} from "./harness/fleet";
import { E2eStack, RunResult, formatResult } from "./harness/pulumi";
import { installFailureReport, step, stopChain } from "./harness/report";

const GROUP = "rpc";
const REPLICAS = 2;
const DEPLOY_NS = "chainfleet-deploy";

type Obj = Record<string, unknown>;

/** Which rule of the identity to take away: an index into its Role's or ClusterRole's rules. */
interface Drop {
    scope: "namespaced" | "cluster";
    index: number;
}

/** "get, list on apps/statefulsets": how a row names its rule. */
function ruleName(rule: DeployerRule): string {
    const group = rule.apiGroups[0] ? `${rule.apiGroups[0]}/` : "";
    const names = rule.resourceNames ? ` named ${rule.resourceNames.join(", ")}` : "";
    return `${rule.verbs.join(", ")} on ${group}${rule.resources.join(", ")}${names}`;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * What a run without `rule` must say: ours ("the deploying identity lacks <verb> on <resource>
 * in namespace …", lib/forbidden.ts), or, for objects the Kubernetes provider applies, the API
 * server's ('cannot <verb> resource "<resource>"'), for one of the rule's verbs.
 */
function namesRule(rule: DeployerRule): RegExp {
    const verbs = rule.verbs.join("|");
    const resource = escape(rule.resources[0]);
    return new RegExp(
        `the deploying identity lacks (${verbs})(, [a-z]+)* on ${resource}( named \\S+)? (in namespace|at cluster scope)` +
            `|cannot (${verbs}) resource \\\\*"${resource}\\\\*"`,
    );
}

/** Deletes objects as the admin, best effort (`kind/name`, in `namespace` if given). */
function kubectlDelete(objects: string[], namespace?: string): void {
    if (objects.length === 0) {
        return;
    }
    const scope = namespace ? [`--namespace=${namespace}`] : [];
    try {
        execFileSync(
            "kubectl",
            ["delete", "--ignore-not-found", "--wait=false", ...scope, ...objects],
            {
                stdio: ["ignore", "ignore", "inherit"],
            },
        );
    } catch (err) {
        console.error(`could not delete ${objects.join(" ")}: ${(err as Error).message}`);
    }
}

/** Asserts that `run` failed and that its output names a permission of `rule`. */
function assertFailsNaming(run: RunResult, rule: DeployerRule): void {
    assert.ok(run.code !== 0 && !run.timedOut, `without ${ruleName(rule)}:\n${formatResult(run)}`);
    assert.match(
        run.output,
        namesRule(rule),
        `without ${ruleName(rule)}, the failure does not name it:\n${formatResult(run)}`,
    );
}

describe("e2e: a deploy job's least-privilege identity", function () {
    const id = uniqueSuffix();
    const chainDir = path.join(os.tmpdir(), `chainfleet-e2e-lp-chain-${id}`);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-e2e-lp-"));
    let chain: CometChain | undefined;
    let validator: CometNode;
    let full: CometNode[] = [];
    /** The stack the running test uses (the failure report shows it). */
    let stack: E2eStack | undefined;
    const stacks: E2eStack[] = [];
    let namespace = "";
    const namespaces: string[] = [];
    /** The identities applied (their cluster-scoped objects and ServiceAccounts outlive namespaces). */
    const identities = new Set<string>();

    const report = installFailureReport({
        stack: () => stack,
        namespace: () => namespace,
        chain: () => chain,
        chainDir: () => chainDir,
    });

    /** A BlueGreen stack at `image`; the gate reads the host's CometBFT nodes directly. */
    const config = (network: string, ns: string, image: string): Obj => ({
        network,
        namespace: ns,
        chain: "cometbft",
        groups: {
            [GROUP]: cometGroup(image, REPLICAS, {
                strategy: "BlueGreen",
                caughtUpTolerance: 5,
                timeouts: { gateSeconds: 120, switchSeconds: 120 },
                gate: {
                    rpc: "direct",
                    directUrls: [full[0].rpcUrl, full[1].rpcUrl],
                    incumbentUrls: [validator.rpcUrl, full[2].rpcUrl],
                },
            }),
        },
    });

    function parsed(raw: Obj) {
        try {
            return parseStackConfig(raw);
        } catch (err) {
            throw new Error(err instanceof ConfigError ? err.message : String(err));
        }
    }

    /**
     * Applies the identity for the configs `raws` (the first is the stack's; the others are
     * granted too, as for a change), without the rule `drop` names, as the admin, and writes a
     * kubeconfig that authenticates as it. Returns the kubeconfig's path and the whole identity's
     * rules.
     */
    async function identityFor(
        raws: Obj[],
        name: string,
        drop?: Drop,
    ): Promise<{ kubeconfig: string; rules: DeployerRules }> {
        const raw = raws[0];
        const identity = buildDeployerIdentity(parsed(raw), {
            name,
            alsoConfigs: raws.slice(1).map(parsed),
        });
        const rules = identity.rules;
        if (drop) {
            const kind = drop.scope === "namespaced" ? "Role" : "ClusterRole";
            const without = <T>(list: T[]) => list.filter((_, i) => i !== drop.index);
            identity.rules = { ...rules, [drop.scope]: without(rules[drop.scope]) };
            for (const o of identity.objects.filter((x) => x.kind === kind)) {
                o.rules = without(o.rules as unknown[]);
            }
        }
        execFileSync("kubectl", ["apply", "-f", "-"], {
            input: renderDeployerYaml(identity),
            stdio: ["pipe", "ignore", "inherit"],
        });
        identities.add(name);
        let token = "";
        let ca = "";
        await waitUntil(`the token of ${name}`, async () => {
            const secret = await kube().core.readNamespacedSecret({
                namespace: DEPLOY_NS,
                name: `${name}-token`,
            });
            token = Buffer.from(secret.data?.token ?? "", "base64").toString();
            ca = Buffer.from(secret.data?.["ca.crt"] ?? "", "base64").toString();
            return token !== "" && ca !== "" ? true : undefined;
        });
        const file = path.join(workDir, `${name}.kubeconfig`);
        fs.writeFileSync(
            file,
            renderKubeconfig(
                buildKubeconfig({
                    server: process.env.CHAINFLEET_APISERVER_URL ?? "",
                    caPem: ca,
                    token,
                    namespace: String(raw.namespace),
                    name,
                }),
            ),
            { mode: 0o600 },
        );
        return { kubeconfig: file, rules };
    }

    /** A new stack in the suite's list (disposed at the end), the one the failure report shows. */
    async function newStack(label: string, kubeconfig: string, raw: Obj): Promise<E2eStack> {
        stack = new E2eStack({ label });
        stacks.push(stack);
        stack.extraEnv = { KUBECONFIG: kubeconfig };
        stack.writeConfig(raw);
        await stack.init();
        return stack;
    }

    before(async function () {
        await requireCluster();
        chain = new CometChain({ dir: chainDir });
        validator = await chain.startValidator();
        full = [
            await chain.addFullNode("full-0"),
            await chain.addFullNode("full-1"),
            await chain.addFullNode("full-2"),
        ];
        await waitForHeight(validator.rpcUrl, 3);
    });

    after(async function () {
        for (const ns of namespaces) {
            await deleteNamespace(ns);
        }
        // What the identities put outside the stacks' namespaces.
        const names = [...identities];
        kubectlDelete(names.flatMap((n) => [`clusterrolebinding/${n}`, `clusterrole/${n}`]));
        kubectlDelete(
            names.flatMap((n) => [`serviceaccount/${n}`, `secret/${n}-token`]),
            DEPLOY_NS,
        );
        for (const s of stacks) {
            await s.dispose();
        }
        await stopChain(chain, chainDir, report);
        fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("runs preview and a whole BlueGreen upgrade as the deployer, with nothing more", async function () {
        const network = `lp-${id}`;
        namespace = `e2e-lp-${id}`;
        namespaces.push(namespace);
        const v1 = config(network, namespace, COMETBFT_V1);
        const v2 = config(network, namespace, COMETBFT_V2);
        // The identity for the change: the configs after and before (README §Deploy jobs).
        const { kubeconfig } = await identityFor([v2, v1], `chainfleet-deploy-${network}`);
        await newStack("least-privilege", kubeconfig, v1);

        await step("preview as the deployer", () => stack!.preview());
        const before = await step("up v1 as the deployer", async () => {
            await stack!.up();
            const set = pinnedSet(network, GROUP, (await outputs(stack!)).revisions[GROUP]);
            await waitForReadyPods(namespace, selectorOf(set.selector), REPLICAS);
            return set;
        });
        await step("up v2 (blue-green) as the deployer", async () => {
            stack!.writeConfig(v2);
            await stack!.up();
            const after = pinnedSet(network, GROUP, (await outputs(stack!)).revisions[GROUP]);
            assert.notEqual(after.names.statefulSet, before.names.statefulSet);
            const svc = await kube().core.readNamespacedService({ namespace, name: GROUP });
            assert.deepEqual(svc.spec?.selector, after.selector);
        });
    });

    describe("each rule taken away in turn", function () {
        // The rules of this suite's stack shape, known before any node runs (they name the rows).
        const probe = (() => {
            const url = "http://127.0.0.1:1";
            return buildDeployerIdentity(
                parseStackConfig({
                    network: "probe",
                    chain: "cometbft",
                    groups: {
                        [GROUP]: cometGroup(COMETBFT_V1, REPLICAS, {
                            strategy: "BlueGreen",
                            gate: {
                                rpc: "direct",
                                directUrls: [url, url],
                                incumbentUrls: [url, url],
                            },
                        }),
                    },
                }),
            ).rules;
        })();

        // The Role's rows share this stack, at v1 with the whole identity.
        const network = `lpt-${id}`;
        const tableNs = `e2e-lpt-${id}`;
        const name = `chainfleet-deploy-${network}`;
        let v1Set: ReturnType<typeof pinnedSet> | undefined;
        let tableStack: E2eStack | undefined;

        before(async function () {
            namespaces.push(tableNs);
            const v1 = config(network, tableNs, COMETBFT_V1);
            const { kubeconfig } = await identityFor([v1], name);
            tableStack = await newStack("least-privilege-table", kubeconfig, v1);
            await step("up v1 with the whole identity", () => tableStack!.up());
            v1Set = pinnedSet(network, GROUP, (await outputs(tableStack)).revisions[GROUP]);
        });

        probe.namespaced.forEach((rule, index) => {
            it(`without the Role's ${ruleName(rule)}, an upgrade fails naming it`, async function () {
                assert.ok(tableStack && v1Set, "the table's stack was not deployed");
                stack = tableStack;
                namespace = tableNs;
                // An image of this row's own: a new set, so the run creates every kind again.
                const next = config(network, tableNs, `${COMETBFT_V2}-rule${index}`);
                const { rules } = await identityFor([next], name, { scope: "namespaced", index });
                assert.deepEqual(
                    rules.namespaced[index],
                    rule,
                    "the stack's rules are the probe's",
                );
                const before = await setFingerprint(tableNs, v1Set.names.statefulSet);
                tableStack.writeConfig(next);
                const run = await tableStack.up([], { allowFailure: true, timeoutMs: 300_000 });
                assertFailsNaming(run, rule);
                // Refused, the upgrade switched nothing and deleted nothing: v1 still serves.
                assert.deepEqual(await stableSelector(tableNs, GROUP), v1Set.selector);
                assert.deepEqual(await setFingerprint(tableNs, v1Set.names.statefulSet), before);
            });
        });

        probe.cluster.forEach((rule, index) => {
            // The probe's rule names the probe's Namespace; each stack's names its own.
            const title = `${ruleName({ ...rule, resourceNames: undefined })} (its Namespace)`;
            it(`without the ClusterRole's ${title}, a first deploy fails naming it`, async function () {
                const first = `lpc${index}-${id}`;
                namespace = `e2e-lpc${index}-${id}`;
                namespaces.push(namespace);
                const v1 = config(first, namespace, COMETBFT_V1);
                const { kubeconfig, rules } = await identityFor(
                    [v1],
                    `chainfleet-deploy-${first}`,
                    { scope: "cluster", index },
                );
                assert.deepEqual(
                    { ...rules.cluster[index], resourceNames: undefined, why: [] },
                    { ...rule, resourceNames: undefined, why: [] },
                );
                await newStack(`least-privilege-cluster-${index}`, kubeconfig, v1);
                const run = await stack!.up([], { allowFailure: true, timeoutMs: 300_000 });
                assertFailsNaming(run, rules.cluster[index]);
            });
        });
    });
});
