/**
 * The deploying identity of a stack as code: the Kubernetes objects a CI deploy job (or a person)
 * needs to run `pulumi preview` and `pulumi up` of this program without cluster-admin.
 *
 * Every rule below was derived by reading what a run does against the cluster, and each verb
 * carries the code that needs it (`DeployerRule.why`):
 * - the objects the components declare, which the Pulumi Kubernetes provider (v4.25, server-side
 *   apply) creates and changes with an apply PATCH (the API server also checks `create` when that
 *   PATCH creates the object), reads with GET, deletes with DELETE and then waits for with an
 *   informer (LIST + WATCH on the kind in the namespace; without them the deletion never
 *   finishes). The provider never sends PUT here (only for CRDs), so no `update` is granted for
 *   it;
 * - the calls of the program itself (kube/incumbent.ts) and of the dynamic providers
 *   (dynamic-providers/*Run.ts), through kube/kube.ts and kube/watch.ts;
 * - every verb the bootstrap monitor's Role grants: Kubernetes refuses to create a Role, or bind
 *   one, that grants more than its creator holds (the RBAC escalation check).
 *
 * Not granted, because a run works without them: `list`/`watch` on Endpoints (every object the
 * program declares either carries `pulumi.com/skipAwait` or has no awaiter of its own, so Pulumi's
 * Service awaiter, the one that watches Endpoints, never runs) and on Events (Pulumi's event
 * aggregator only relays an object's Warning events while it waits for that object).
 * test/e2e/least-privilege.test.ts takes each rule of a BlueGreen stack's identity away in turn
 * and sees the run fail, naming the permission.
 *
 * Scope. Everything namespaced lives in a Role in the stack's namespace. The only cluster-scoped
 * object the stack touches is that Namespace, and the ClusterRole grants only `get` and `patch`
 * on it, by name. `create` on namespaces is not granted: it cannot be limited to one name, and it
 * is never needed, because the Role must be bound inside the namespace, so the namespace exists
 * before the identity does (this module emits it). Pulumi's apply PATCH then adopts it.
 *
 * The ServiceAccount lives in a namespace of its own (DEFAULT_DEPLOYER_NAMESPACE), not in the
 * stack's: a pod can only run as a ServiceAccount of its own namespace, so nothing that runs in the
 * stack's namespace (the monitor can patch its own StatefulSet's pod template) can borrow the
 * deployer's rights.
 *
 * Some rules depend on the config (bootstrapTests, HardFork groups, podProxy gates, Rolling groups
 * and preprod). After a config change, apply the identity of the new config *before* the deploy
 * that needs it, and drop rules only *after* the deploy that stops needing them: removing e.g. the
 * bootstrap tests makes that deploy delete their Role, which needs the rules of the old config.
 * `deployerRules` takes several configs and grants their union for that deploy.
 *
 * Pure: no cluster, no Pulumi, no file system. components/ and dynamic-providers/ are read, never
 * imported, so this stays usable from a CLI that must not load the Pulumi runtime.
 */
import { Document, isMap, isSeq, stringify } from "yaml";
import { adapterFor } from "../chains";
import { isCosmosSdkChain } from "../chains/upgradePlan";
import type { StackConfig } from "./schema";

export const DEFAULT_DEPLOYER_NAMESPACE = "chainfleet-deploy";
/** Where the README explains each rule; the 403 messages of lib/forbidden.ts point at it too. */
export { DEPLOY_JOBS_DOC } from "../lib/forbidden";

type Obj = Record<string, unknown>;

/** One RBAC PolicyRule, with the code each verb is for. */
export interface DeployerRule {
    apiGroups: string[];
    resources: string[];
    resourceNames?: string[];
    verbs: string[];
    /** `verb: file function (why)`, one line per reason; printed as the rule's comment. */
    why: string[];
}

export interface DeployerRules {
    /** For the Role in the stack's namespace. */
    namespaced: DeployerRule[];
    /** For the ClusterRole: only the stack's Namespace object, by name. */
    cluster: DeployerRule[];
}

/** The order verbs are printed in, so the output is stable and reads like kubectl's. */
const VERB_ORDER = ["get", "list", "watch", "create", "update", "patch", "delete"];

/** Verbs Pulumi needs on every kind it manages (server-side apply; see the header). */
const PULUMI_MANAGED = ["get", "list", "watch", "create", "patch", "delete"] as const;

const PULUMI_WHY = (declaredBy: string) =>
    `get, list, watch, create, patch, delete: Pulumi's Kubernetes provider for the objects ${declaredBy} declares ` +
    "(apply PATCH, which creates; GET on update and refresh; DELETE, then an informer LIST+WATCH until gone)";

/**
 * Collects verbs and reasons per (apiGroup, resource, resourceNames), so each resource ends up in
 * one rule whose comment lists every user.
 */
class RuleSet {
    private readonly rules = new Map<string, DeployerRule>();

    need(
        apiGroup: string,
        resource: string,
        verbs: readonly string[],
        why: string,
        resourceNames?: string[],
    ): void {
        const key = JSON.stringify([apiGroup, resource, resourceNames ?? []]);
        let rule = this.rules.get(key);
        if (!rule) {
            rule = {
                apiGroups: [apiGroup],
                resources: [resource],
                ...(resourceNames ? { resourceNames } : {}),
                verbs: [],
                why: [],
            };
            this.rules.set(key, rule);
        }
        for (const verb of verbs) {
            if (!VERB_ORDER.includes(verb)) {
                throw new Error(`deployer rule ${resource}: unknown verb ${verb}`);
            }
            if (!rule.verbs.includes(verb)) {
                rule.verbs.push(verb);
            }
        }
        rule.verbs.sort((a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b));
        if (!rule.why.includes(why)) {
            rule.why.push(why);
        }
    }

    list(): DeployerRule[] {
        return [...this.rules.values()];
    }
}

/** Config facts the rules depend on, so several configs can be merged before deciding. */
interface Needs {
    bootstrapTests: boolean;
    hardFork: boolean;
    /** A group whose gate reads node RPC through the API server's pod proxy. */
    podProxy: boolean;
    /** ... and sends POST through it (an adapter whose status or peer call is a POST). */
    podProxyPost: boolean;
    /** A HardFork group whose chain's upgrade plan is read at preview (kube/chainPlan.ts). */
    chainPlan: boolean;
    /** Something deletes pods one by one: a Rollout (Rolling groups, the preprod cohort). */
    rollout: boolean;
    /** A group upgrades by gate and switch (every strategy but Rolling; Rolling after a change). */
    switches: boolean;
}

function needsOf(config: StackConfig): Needs {
    const adapter = adapterFor(config.chain, config.cosmos);
    const groups = Object.values(config.groups);
    // HardFork gates run in mode "running" (pod readiness only); every other strategy's gate
    // samples RPC, including a Rolling group's after a strategy change (lib/plan.ts blueGreen).
    const rpcGroups = groups.filter(
        (g) => g.update.strategy !== "HardFork" && g.update.gate.rpc === "podProxy",
    );
    return {
        bootstrapTests: config.bootstrapTests.length > 0,
        hardFork: groups.some((g) => g.update.strategy === "HardFork"),
        podProxy: rpcGroups.length > 0,
        chainPlan:
            isCosmosSdkChain(config.chain) && groups.some((g) => g.update.strategy === "HardFork"),
        // heightGateRun.ts Sampler.sample: the status call always, the peer call only when the
        // gate wants peers (minPeers > 0) and the status carried no peer count.
        podProxyPost: rpcGroups.some(
            (g) =>
                adapter.statusRequest.method === "POST" ||
                (adapter.peersRequest.method === "POST" && g.update.gate.minPeers > 0),
        ),
        rollout:
            groups.some((g) => g.update.strategy === "Rolling") || config.preprod !== undefined,
        // A Rolling group only gets a gate and a switch on a change from another strategy, and
        // that deploy is run with the union of the old and new configs' rules.
        switches: groups.some((g) => g.update.strategy !== "Rolling"),
    };
}

function mergeNeeds(all: Needs[]): Needs {
    const any = (key: keyof Needs) => all.some((n) => n[key]);
    return {
        bootstrapTests: any("bootstrapTests"),
        hardFork: any("hardFork"),
        podProxy: any("podProxy"),
        podProxyPost: any("podProxyPost"),
        chainPlan: any("chainPlan"),
        rollout: any("rollout"),
        switches: any("switches"),
    };
}

/** The stack's namespace, as components/Fleet.ts names it. */
export function stackNamespace(config: Pick<StackConfig, "namespace" | "network">): string {
    return config.namespace ?? config.network;
}

/**
 * The rules the deploying identity of `configs` needs: one config, or several (before and after a
 * change) that must share a namespace, for the union of their needs.
 */
export function deployerRules(configs: StackConfig | StackConfig[]): DeployerRules {
    const list = Array.isArray(configs) ? configs : [configs];
    if (list.length === 0) {
        throw new Error("deployerRules: give at least one stack config");
    }
    const namespace = stackNamespace(list[0]);
    for (const c of list) {
        if (stackNamespace(c) !== namespace) {
            throw new Error(
                `deployerRules: the configs name different namespaces (${namespace}, ${stackNamespace(c)}); ` +
                    "one identity serves one namespace, so emit one per stack",
            );
        }
    }
    const needs = mergeNeeds(list.map(needsOf));
    const r = new RuleSet();

    // --- apps ---------------------------------------------------------------------------------
    r.need(
        "apps",
        "statefulsets",
        PULUMI_MANAGED,
        PULUMI_WHY("components/NodeGroup.ts and BootstrapTest.ts"),
    );
    r.need(
        "apps",
        "statefulsets",
        ["get"],
        "get: kube/incumbent.ts kubeClusterReader.statefulSet (the incumbent's image and replicas, before planning)",
    );
    if (needs.rollout) {
        r.need(
            "apps",
            "statefulsets",
            ["list", "watch"],
            "list, watch: dynamic-providers/rolloutRun.ts setWatch (the set's updateRevision)",
        );
    }
    if (needs.bootstrapTests) {
        r.need(
            "apps",
            "statefulsets",
            ["get", "patch"],
            "get, patch: held to grant them: components/bootstrapTest/manifests.ts monitorRules (the monitor pins its node image)",
        );
    }

    // --- core: pods and their subresources -------------------------------------------------------
    if (needs.switches) {
        r.need(
            "",
            "pods",
            ["list", "watch"],
            "list, watch: dynamic-providers/heightGateRun.ts podWatch and trafficSwitchRun.ts watchers (readiness of entrants)",
        );
    }
    if (needs.rollout) {
        r.need(
            "",
            "pods",
            ["list", "watch", "delete"],
            "list, watch, delete: dynamic-providers/rolloutRun.ts podWatch and deletePod (an OnDelete set's pods move to a new revision only when deleted)",
        );
    }
    if (needs.hardFork) {
        r.need(
            "",
            "pods",
            ["list", "watch"],
            "list, watch: dynamic-providers/bootstrapRun.ts listJobPods and the Job pod watch (exit codes)",
        );
    }
    if (needs.bootstrapTests) {
        r.need(
            "",
            "pods",
            ["get", "delete"],
            "get, delete: held to grant them: components/bootstrapTest/manifests.ts monitorRules (the monitor restarts its own pod)",
        );
    }
    if (needs.podProxy) {
        r.need(
            "",
            "pods/proxy",
            ["get"],
            "get: dynamic-providers/heightGateRun.ts Sampler.sample via kube/rpc.ts podProxyUrl (node status through the API server)",
        );
    }
    if (needs.chainPlan) {
        r.need(
            "",
            "pods",
            ["list"],
            "list: kube/chainPlan.ts kubeChainRpc.readyPods (a Ready pod of a HardFork group's active set, before planning)",
        );
        r.need(
            "",
            "pods/proxy",
            ["get"],
            "get: kube/chainPlan.ts kubeChainRpc.get via kube/rpc.ts podProxyUrl (the chain's upgrade plan and block time, checked against haltHeight before planning)",
        );
    }
    if (needs.podProxyPost) {
        r.need(
            "",
            "pods/proxy",
            ["create"],
            `create: dynamic-providers/heightGateRun.ts Sampler.sample, POST through the pod proxy (${list[0].chain} peer count)`,
        );
    }
    if (needs.hardFork) {
        r.need(
            "",
            "pods/log",
            ["get"],
            "get: dynamic-providers/bootstrapRun.ts tailLogs (a failed bootstrap's last log lines)",
        );
    }

    // --- core: Services and their EndpointSlices -------------------------------------------------
    r.need(
        "",
        "services",
        PULUMI_MANAGED,
        PULUMI_WHY("components/NodeGroup.ts (peer) and NodeDeployment.ts (stable)"),
    );
    r.need(
        "",
        "services",
        ["get"],
        "get: kube/incumbent.ts kubeClusterReader.service (the stable Service's selector names the active set)",
    );
    if (needs.switches) {
        r.need(
            "",
            "services",
            ["get", "patch"],
            "get, patch: dynamic-providers/trafficSwitchRun.ts readService and patchSelector (the switch)",
        );
    }
    if (needs.switches) {
        r.need(
            "discovery.k8s.io",
            "endpointslices",
            ["list", "watch"],
            "list, watch: dynamic-providers/trafficSwitchRun.ts watchers (the stable Service serves the entrant)",
        );
    }

    // --- core: config, volumes, events -----------------------------------------------------------
    r.need(
        "",
        "configmaps",
        PULUMI_MANAGED,
        PULUMI_WHY("components/NodeGroup.ts (chain config, snapshot script)"),
    );
    if (needs.bootstrapTests) {
        r.need(
            "",
            "configmaps",
            ["get", "create", "update"],
            "get, create, update: held to grant them: components/bootstrapTest/manifests.ts monitorRules (the results ConfigMap)",
        );
    }
    r.need(
        "",
        "persistentvolumeclaims",
        PULUMI_MANAGED,
        PULUMI_WHY("components/NodeGroup.ts (explicit data volumes)"),
    );
    if (needs.hardFork) {
        r.need(
            "",
            "persistentvolumeclaims",
            ["get", "patch"],
            "get, patch: dynamic-providers/bootstrapRun.ts runBootstrap and annotatePvc (bootstrapped height)",
        );
    }
    if (needs.bootstrapTests) {
        r.need(
            "",
            "events",
            ["create"],
            "create: held to grant it: components/bootstrapTest/manifests.ts monitorRules (the monitor records test results as Events)",
        );
    }

    // --- policy, batch --------------------------------------------------------------------------
    r.need("policy", "poddisruptionbudgets", PULUMI_MANAGED, PULUMI_WHY("components/NodeGroup.ts"));
    if (needs.hardFork) {
        r.need(
            "batch",
            "jobs",
            ["get", "list", "watch", "create", "delete"],
            "get, list, watch, create, delete: dynamic-providers/bootstrapRun.ts getJob, ensureJob, " +
                "deleteJobAndWait, the Job watch and Bootstrap's delete (HardFork bootstrap Jobs)",
        );
    }

    // --- bootstrap tests' own identity ------------------------------------------------------------
    if (needs.bootstrapTests) {
        r.need("", "serviceaccounts", PULUMI_MANAGED, PULUMI_WHY("components/BootstrapTest.ts"));
        for (const resource of ["roles", "rolebindings"]) {
            r.need(
                "rbac.authorization.k8s.io",
                resource,
                PULUMI_MANAGED,
                PULUMI_WHY("components/BootstrapTest.ts") +
                    "; the monitor Role's own rules are held above (escalation check)",
            );
        }
    }

    const cluster = new RuleSet();
    cluster.need(
        "",
        "namespaces",
        ["get", "patch"],
        "get, patch: Pulumi's Kubernetes provider for components/Fleet.ts's Namespace (apply PATCH adopts " +
            "the namespace this identity's manifests create; GET on update and refresh). Only this name: " +
            "`pulumi destroy` (DELETE, then LIST+WATCH of all namespaces) is not a deploy job's to run",
        [namespace],
    );
    return { namespaced: r.list(), cluster: cluster.list() };
}

export interface DeployerOptions {
    /** Namespace of the ServiceAccount and its token. Defaults to DEFAULT_DEPLOYER_NAMESPACE. */
    deployerNamespace?: string;
    /** Base name of every object. Defaults to `chainfleet-deploy-<network>`. */
    name?: string;
    /** Configs of the same stack to grant as well (before a change; see the header). */
    alsoConfigs?: StackConfig[];
}

export interface DeployerIdentity {
    name: string;
    namespace: string;
    deployerNamespace: string;
    rules: DeployerRules;
    /** In apply order: namespaces, ServiceAccount, token Secret, roles, bindings. */
    objects: Obj[];
}

const RBAC = "rbac.authorization.k8s.io";

function rbacRules(rules: DeployerRule[]): Obj[] {
    return rules.map((r) => ({
        apiGroups: r.apiGroups,
        resources: r.resources,
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
        verbs: r.verbs,
    }));
}

/** The Kubernetes objects of a stack's deploying identity (see the header). */
export function buildDeployerIdentity(
    config: StackConfig,
    opts: DeployerOptions = {},
): DeployerIdentity {
    const namespace = stackNamespace(config);
    const deployerNamespace = opts.deployerNamespace ?? DEFAULT_DEPLOYER_NAMESPACE;
    const name = opts.name ?? `chainfleet-deploy-${config.network}`;
    const rules = deployerRules([config, ...(opts.alsoConfigs ?? [])]);
    const labels = {
        "app.kubernetes.io/part-of": "chainfleet",
        "app.kubernetes.io/component": "deployer",
        "chainfleet.io/network": config.network,
    };
    const subject = { kind: "ServiceAccount", name, namespace: deployerNamespace };
    const objects: Obj[] = [
        {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: {
                name: deployerNamespace,
                labels: { "app.kubernetes.io/part-of": "chainfleet" },
            },
        },
        {
            apiVersion: "v1",
            kind: "Namespace",
            // The same labels components/Fleet.ts declares: Pulumi's apply then agrees with the
            // values already there and takes the namespace over without a field conflict.
            metadata: { name: namespace, labels: { "chainfleet.io/network": config.network } },
        },
        {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name, namespace: deployerNamespace, labels },
            // The token is the Secret below; pods never run as the deployer.
            automountServiceAccountToken: false,
        },
        {
            apiVersion: "v1",
            kind: "Secret",
            type: "kubernetes.io/service-account-token",
            metadata: {
                name: `${name}-token`,
                namespace: deployerNamespace,
                labels,
                // The token controller fills data.token and data["ca.crt"] for this account.
                annotations: { "kubernetes.io/service-account.name": name },
            },
        },
        {
            apiVersion: `${RBAC}/v1`,
            kind: "Role",
            metadata: { name, namespace, labels },
            rules: rbacRules(rules.namespaced),
        },
        {
            apiVersion: `${RBAC}/v1`,
            kind: "RoleBinding",
            metadata: { name, namespace, labels },
            roleRef: { apiGroup: RBAC, kind: "Role", name },
            subjects: [subject],
        },
        {
            apiVersion: `${RBAC}/v1`,
            kind: "ClusterRole",
            metadata: { name, labels },
            rules: rbacRules(rules.cluster),
        },
        {
            apiVersion: `${RBAC}/v1`,
            kind: "ClusterRoleBinding",
            metadata: { name, labels },
            roleRef: { apiGroup: RBAC, kind: "ClusterRole", name },
            subjects: [subject],
        },
    ];
    return { name, namespace, deployerNamespace, rules, objects };
}

export interface KubeconfigInput {
    /** The API server URL, e.g. https://203.0.113.10:6443. */
    server: string;
    /** PEM of the cluster CA (the token Secret's `ca.crt`). */
    caPem: string;
    /** The ServiceAccount token (the token Secret's `token`, decoded). */
    token: string;
    /** The stack's namespace: the context's default. */
    namespace: string;
    /** Names the cluster, user and context. */
    name: string;
}

/** A kubeconfig that authenticates as the deployer with its token. */
export function buildKubeconfig(input: KubeconfigInput): Obj {
    const problems: string[] = [];
    let url: URL | undefined;
    try {
        url = new URL(input.server);
    } catch {
        url = undefined;
    }
    if (!url || url.protocol !== "https:") {
        problems.push(
            `server (--server) ${JSON.stringify(input.server)} must be the API server's https:// URL ` +
                "(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')",
        );
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(input.caPem)) {
        problems.push(
            "ca (--ca) is not a PEM certificate; give the token Secret's ca.crt " +
                "(kubectl get secret … -o jsonpath='{.data.ca\\.crt}' | base64 -d)",
        );
    }
    const token = input.token.trim();
    if (!/^[A-Za-z0-9._-]+$/.test(token)) {
        problems.push(
            "token (--token-file) is empty or not a JWT; give the token Secret's token, base64-decoded " +
                "(kubectl get secret … -o jsonpath='{.data.token}' | base64 -d)",
        );
    }
    if (problems.length > 0) {
        throw new Error(`cannot write a kubeconfig:\n  - ${problems.join("\n  - ")}`);
    }
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            {
                name: input.name,
                cluster: {
                    server: input.server,
                    "certificate-authority-data": Buffer.from(input.caPem).toString("base64"),
                },
            },
        ],
        users: [{ name: input.name, user: { token } }],
        contexts: [
            {
                name: input.name,
                context: { cluster: input.name, user: input.name, namespace: input.namespace },
            },
        ],
        "current-context": input.name,
    };
}

/**
 * The identity as one multi-document YAML stream for `kubectl apply -f -`, each rule preceded by
 * a comment that says which code needs each of its verbs, so a reviewer can audit the grant.
 */
export function renderDeployerYaml(identity: DeployerIdentity, header: string[] = []): string {
    const whyFor = (kind: unknown): DeployerRule[] | undefined =>
        kind === "Role"
            ? identity.rules.namespaced
            : kind === "ClusterRole"
              ? identity.rules.cluster
              : undefined;
    const docs = identity.objects.map((obj, i) => {
        const doc = new Document(obj);
        const rules = whyFor(obj.kind);
        const seq = doc.get("rules", true);
        if (rules && isSeq(seq)) {
            seq.items.forEach((item, j) => {
                if (isMap(item)) {
                    item.commentBefore = rules[j].why.map((line) => ` ${line}`).join("\n");
                }
            });
        }
        if (i === 0 && header.length > 0) {
            doc.commentBefore = header.map((line) => ` ${line}`).join("\n");
        }
        return doc.toString({ lineWidth: 0 });
    });
    return docs.join("---\n");
}

/** A kubeconfig object as YAML text. */
export function renderKubeconfig(kubeconfig: Obj): string {
    return stringify(kubeconfig, { lineWidth: 0 });
}
