/**
 * The deploying identity (config/deployer.ts, `npm run deployer`) is enough, and every rule of it
 * is needed: `pulumi preview` and a whole BlueGreen `pulumi up` run as that ServiceAccount, with
 * the kubeconfig `npm run deployer -- --kubeconfig-out` writes; then, for each rule of its Role,
 * an upgrade run by an identity without that rule fails and says which permission is missing
 * (that table only with CHAINFLEET_E2E_RBAC_TABLE=1: it takes about a minute per rule).
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
    uniqueSuffix,
} from "./harness/fleet";
import { E2eStack } from "./harness/pulumi";
import { installFailureReport, step, stopChain } from "./harness/report";

const GROUP = "rpc";
const REPLICAS = 2;
const DEPLOY_NS = "chainfleet-deploy";

type Obj = Record<string, unknown>;

describe("e2e: a deploy job's least-privilege identity", function () {
    const id = uniqueSuffix();
    const chainDir = path.join(os.tmpdir(), `chainfleet-e2e-lp-chain-${id}`);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "chainfleet-e2e-lp-"));
    let chain: CometChain | undefined;
    let validator: CometNode;
    let full: CometNode[] = [];
    let stack: E2eStack | undefined;
    let namespace = "";
    const namespaces: string[] = [];

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
     * granted too, as for a change) minus `dropRule` (an index into its Role's rules) as the admin, and writes a kubeconfig that authenticates as it. Returns the kubeconfig's path and
     * the Role's rules.
     */
    async function identityFor(
        raws: Obj[],
        name: string,
        dropRule?: number,
    ): Promise<{ kubeconfig: string; rules: DeployerRule[] }> {
        const raw = raws[0];
        const identity = buildDeployerIdentity(parsed(raw), {
            name,
            alsoConfigs: raws.slice(1).map(parsed),
        });
        const rules = identity.rules.namespaced;
        if (dropRule !== undefined) {
            identity.rules.namespaced = rules.filter((_, i) => i !== dropRule);
            for (const o of identity.objects) {
                if (o.kind === "Role") {
                    (o as { rules: unknown[] }).rules = (o as { rules: unknown[] }).rules.filter(
                        (_, i) => i !== dropRule,
                    );
                }
            }
        }
        execFileSync("kubectl", ["apply", "-f", "-"], {
            input: renderDeployerYaml(identity),
            stdio: ["pipe", "ignore", "inherit"],
        });
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
        await stack?.dispose();
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
        stack = new E2eStack({ label: "least-privilege" });
        stack.extraEnv = { KUBECONFIG: kubeconfig };
        stack.writeConfig(v1);
        await stack.init();

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

    // Each rule of the Role, taken away in turn: an upgrade run without it fails, naming the
    // permission. A fresh stack per rule, deployed first with the whole identity, so every
    // rule's first use lies ahead of the failing run.
    const ruleCount = (() => {
        // The same stack shape, only to count the rules before any node runs.
        const url = "http://127.0.0.1:1";
        const shape = parseStackConfig({
            network: "probe",
            chain: "cometbft",
            groups: {
                [GROUP]: cometGroup(COMETBFT_V1, REPLICAS, {
                    strategy: "BlueGreen",
                    gate: { rpc: "direct", directUrls: [url, url], incumbentUrls: [url, url] },
                }),
            },
        });
        return buildDeployerIdentity(shape).rules.namespaced.length;
    })();

    // About a minute per rule: opt-in (CHAINFLEET_E2E_RBAC_TABLE=1), so the tier stays inside
    // CI's time; the positive run above is always part of it.
    const table = process.env.CHAINFLEET_E2E_RBAC_TABLE === "1";
    for (let i = 0; i < (table ? ruleCount : 0); i++) {
        it(`without Role rule ${i + 1} of ${ruleCount}, the upgrade fails naming the permission`, async function () {
            const network = `lp${i}-${id}`;
            namespace = `e2e-lp${i}-${id}`;
            namespaces.push(namespace);
            const v1 = config(network, namespace, COMETBFT_V1);
            const v2 = config(network, namespace, COMETBFT_V2);
            const name = `chainfleet-deploy-${network}`;
            const whole = await identityFor([v2, v1], name);
            await stack?.dispose();
            stack = new E2eStack({ label: `least-privilege-${i}` });
            stack.extraEnv = { KUBECONFIG: whole.kubeconfig };
            stack.writeConfig(v1);
            await stack.init();
            await step("up v1 with the whole identity", () => stack!.up());

            const { rules } = await identityFor([v2, v1], name, i);
            const dropped = rules[i];
            stack.writeConfig(v2);
            const up = await stack.up([], { allowFailure: true });
            assert.notEqual(up.code, 0, `up succeeded without rule ${JSON.stringify(dropped)}`);
            // Ours ("the deploying identity lacks <verb> on <resource>") or, for objects the
            // Kubernetes provider applies, the API server's ("cannot <verb> resource "<resource>"").
            const resource = dropped.resources[0];
            const named = new RegExp(
                `lacks (${dropped.verbs.join("|")})[^;]* on ${resource}\\b|cannot (${dropped.verbs.join("|")}) resource \\\\*"${resource}\\\\*"`,
            );
            assert.match(
                up.output,
                named,
                `rule ${JSON.stringify(dropped)}: the failure does not name it`,
            );
        });
    }
});
