/**
 * 403s turned into "the deploying identity lacks <verb> on <resource> in namespace <ns>"
 * (lib/forbidden.ts), over the three shapes a 403 takes in this program: a real
 * @kubernetes/client-node ApiException carrying the API server's Status text, a failed watch
 * (no body), and the pod proxy's cut body; plus the RBAC escalation check's 403.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import { fetchJson } from "../../kube/rpc";
import {
    explainForbidden,
    explainForbiddenInChain,
    forbiddenMessage,
    hintFromApiPath,
    parseForbidden,
} from "../../lib/forbidden";
import { defineProvider } from "../../dynamic-providers/kit";
import { k8s } from "../../kube/kube";

const USER = "system:serviceaccount:chainfleet-deploy:chainfleet-deploy-dev";
const DOC = "; see README §Deploy jobs";

/** The Status body the API server sends with a 403 (apiserver errors.NewForbidden). */
function statusBody(
    message: string,
    details: { name?: string; group?: string; kind: string },
): string {
    return JSON.stringify({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message,
        reason: "Forbidden",
        details,
        code: 403,
    });
}

/** What a typed client call throws: the body is the response text, unparsed. */
function apiException(body: string, code = 403): InstanceType<typeof k8s.ApiException<string>> {
    return new k8s.ApiException<string>(code, "Unknown API Status Code!", body, {
        "content-type": "application/json",
    });
}

/** What kube/rpc.ts fetchJson throws for a non-2xx answer. */
function proxyError(url: string, body: string): Error {
    return new Error(`HTTP 403 from ${url}: ${body.slice(0, 200).trim()}`);
}

interface Case {
    name: string;
    err: () => unknown;
    hint?: Parameters<typeof forbiddenMessage>[1];
    message: string;
}

const CASES: Case[] = [
    {
        name: "list Jobs (batch group, no object name)",
        err: () =>
            apiException(
                statusBody(
                    `jobs.batch is forbidden: User "${USER}" cannot list resource "jobs" in API group "batch" in the namespace "sei-testnet"`,
                    { group: "batch", kind: "jobs" },
                ),
            ),
        message: `the deploying identity lacks list on jobs in namespace sei-testnet${DOC}`,
    },
    {
        name: "patch the stable Service (named object, core group)",
        err: () =>
            apiException(
                statusBody(
                    `services "rpc-stable" is forbidden: User "${USER}" cannot patch resource "services" in API group "" in the namespace "chainfleet-dev"`,
                    { name: "rpc-stable", kind: "services" },
                ),
            ),
        message: `the deploying identity lacks patch on services in namespace chainfleet-dev${DOC}`,
    },
    {
        name: "a subresource: the bootstrap's log tail",
        err: () =>
            apiException(
                statusBody(
                    `pods "archive-r1-bootstrap-0-x7k2p" is forbidden: User "${USER}" cannot get resource "pods/log" in API group "" in the namespace "sei"`,
                    { name: "archive-r1-bootstrap-0-x7k2p", kind: "pods" },
                ),
            ),
        // details.kind says only "pods": the subresource comes from the sentence.
        message: `the deploying identity lacks get on pods/log in namespace sei${DOC}`,
    },
    {
        name: "cluster scope: creating a namespace",
        err: () =>
            apiException(
                statusBody(
                    `namespaces is forbidden: User "${USER}" cannot create resource "namespaces" in API group "" at the cluster scope`,
                    { kind: "namespaces" },
                ),
            ),
        // A namespace hint must not put a cluster-scoped refusal into a namespace.
        hint: { namespace: "chainfleet-dev" },
        message: `the deploying identity lacks create on namespaces at cluster scope${DOC}`,
    },
    {
        name: "a watch refused: no body, so the caller's hint says what",
        err: () => Object.assign(new Error("Forbidden"), { statusCode: 403 }),
        hint: { verb: "watch", resource: "endpointslices", namespace: "chainfleet-dev" },
        message: `the deploying identity lacks watch on endpointslices in namespace chainfleet-dev${DOC}`,
    },
    {
        name: "the pod proxy, body cut before the namespace: the URL gives it",
        err: () =>
            proxyError(
                "https://10.0.0.1:6443/api/v1/namespaces/chain/pods/node-0:26657/proxy/status",
                statusBody(
                    `pods "node-0:26657" is forbidden: User "system:serviceaccount:ci:d" cannot get resource "pods/proxy" in API group "" in the namespace "chain"`,
                    { name: "node-0:26657", kind: "pods" },
                ),
            ),
        message: `the deploying identity lacks get on pods/proxy in namespace chain${DOC}`,
    },
    {
        name: "the pod proxy, body cut before the verb: the hint gives the method",
        err: () =>
            proxyError(
                "https://10.0.0.1:6443/api/v1/namespaces/avalanche-fuji/pods/api-r2-0:9650/proxy/ext/info",
                statusBody(
                    `pods "api-r2-0:9650" is forbidden: User "${USER}-with-a-long-suffix" cannot create resource "pods/proxy" in API group "" in the namespace "avalanche-fuji"`,
                    { name: "api-r2-0:9650", kind: "pods" },
                ),
            ),
        hint: { verb: "create" },
        message: `the deploying identity lacks create on pods/proxy in namespace avalanche-fuji${DOC}`,
    },
    {
        name: "the escalation check: creating the monitor's Role",
        err: () =>
            apiException(
                statusBody(
                    `roles.rbac.authorization.k8s.io "bt-cometbft-monitor" is forbidden: user "${USER}" (groups=["system:serviceaccounts" "system:serviceaccounts:chainfleet-deploy" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n` +
                        `{APIGroups:[""], Resources:["events"], Verbs:["create"]}\n` +
                        `{APIGroups:["apps"], Resources:["statefulsets"], ResourceNames:["bt-cometbft"], Verbs:["get" "patch"]}`,
                    {
                        name: "bt-cometbft-monitor",
                        group: "rbac.authorization.k8s.io",
                        kind: "roles",
                    },
                ),
            ),
        hint: { namespace: "chainfleet-dev" },
        message:
            "the deploying identity lacks create on events in namespace chainfleet-dev; and " +
            "get, patch on statefulsets named bt-cometbft in namespace chainfleet-dev " +
            "(Kubernetes lets an identity grant, in a Role it creates, only what it holds itself)" +
            DOC,
    },
];

describe("403 explained (lib/forbidden.ts)", () => {
    for (const c of CASES) {
        it(c.name, () => {
            assert.equal(forbiddenMessage(c.err(), c.hint), c.message);
        });
    }

    it("reads the ApiException's body, not its message (which escapes the body twice)", () => {
        const err = CASES[0].err() as Error;
        assert.match(err.message, /HTTP-Code: 403/);
        const f = parseForbidden(err);
        assert.equal(f?.user, USER);
        assert.deepEqual(f?.missing, [
            { verbs: ["list"], resource: "jobs", apiGroup: "batch", namespace: "sei-testnet" },
        ]);
        assert.equal(f?.escalation, false);
    });

    it("lets the error's own facts win over the hint", () => {
        const f = parseForbidden(CASES[1].err(), {
            verb: "get",
            resource: "pods",
            namespace: "elsewhere",
        });
        assert.deepEqual(f?.missing[0], {
            verbs: ["patch"],
            resource: "services",
            namespace: "chainfleet-dev",
        });
    });

    it("says '?' rather than guess when neither the error nor the hint knows", () => {
        const err = Object.assign(new Error("Forbidden"), { statusCode: 403 });
        assert.equal(
            forbiddenMessage(err),
            `the deploying identity lacks ? on ? (namespace unknown)${DOC}`,
        );
    });

    for (const [name, err] of [
        [
            "a 404",
            () =>
                apiException(
                    JSON.stringify({ kind: "Status", code: 404, reason: "NotFound" }),
                    404,
                ),
        ],
        ["a 401 (no body)", () => new k8s.ApiException(401, "Unauthorized", undefined, {})],
        ["a 409 watch error", () => Object.assign(new Error("Conflict"), { statusCode: 409 })],
        [
            "a pod proxy 503",
            () => new Error("HTTP 503 from https://x/api/v1/namespaces/n/pods/p:1/proxy/: no"),
        ],
        [
            "a dropped connection",
            () => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
        ],
        ["not an error at all", () => undefined],
    ] as const) {
        it(`leaves ${name} alone`, () => {
            const e = err();
            assert.equal(parseForbidden(e), undefined);
            assert.equal(explainForbidden(e, { verb: "get" }), e);
        });
    }

    it("explainForbidden keeps the original error as the cause", () => {
        const original = CASES[0].err();
        const explained = explainForbidden(original) as Error;
        assert.notEqual(explained, original);
        assert.equal(explained.message, CASES[0].message);
        assert.equal(explained.cause, original);
    });
});

describe("forbidden: where 403s are explained", () => {
    const paths: [string, string, Record<string, string>][] = [
        [
            "/api/v1/namespaces/sei/pods",
            "watch",
            { verb: "watch", resource: "pods", apiGroup: "", namespace: "sei" },
        ],
        [
            "/apis/batch/v1/namespaces/n-1/jobs?watch=1",
            "watch",
            { verb: "watch", resource: "jobs", apiGroup: "batch", namespace: "n-1" },
        ],
        [
            "/apis/discovery.k8s.io/v1/namespaces/x/endpointslices",
            "list",
            {
                verb: "list",
                resource: "endpointslices",
                apiGroup: "discovery.k8s.io",
                namespace: "x",
            },
        ],
        ["/api/v1/nodes", "watch", { verb: "watch", resource: "nodes", apiGroup: "" }],
    ];
    for (const [apiPath, verb, want] of paths) {
        it(`hintFromApiPath ${apiPath}`, () => {
            assert.deepEqual(hintFromApiPath(apiPath, verb), want);
        });
    }

    it("explainForbiddenInChain finds a 403 a provider wrapped, and keeps the wrapper's words", () => {
        const original = CASES[0].err();
        const wrapped = new Error("Bootstrap sei-0: reading Job failed", { cause: original });
        const explained = explainForbiddenInChain(wrapped) as Error;
        assert.equal(
            explained.message,
            `${CASES[0].message} (Bootstrap sei-0: reading Job failed)`,
        );
        assert.equal(explained.cause, wrapped);
        const plain = new Error("a timeout", { cause: new Error("socket hang up") });
        assert.equal(explainForbiddenInChain(plain), plain);
    });

    it("a provider operation (dynamic-providers/kit.ts) that hits a 403 fails with the explanation", async () => {
        const original = CASES[0].err();
        const { provider } = defineProvider(
            {
                type: "chainfleet:test:Forbidden",
                version: "1",
                defaults: {},
                triggers: [],
                outputs: [],
                check: () => undefined,
            } as never,
            {
                id: () => "x",
                run: async () => {
                    throw new Error("listing Jobs failed", { cause: original });
                },
            } as never,
        );
        await assert.rejects(provider.create!({} as never), (err: Error) => {
            assert.equal(err.message, `${CASES[0].message} (listing Jobs failed)`);
            return true;
        });
    });

    for (const [method, verb] of [
        ["GET", "get"],
        ["POST", "create"],
    ] as const) {
        it(`the pod proxy's 403 (${method}) names pods/proxy ${verb} in the pod's namespace`, async () => {
            // The API server's answer when the identity may not use the pod proxy.
            const body = statusBody(
                `pods "val-0" is forbidden: User "${USER}" cannot ${verb} resource "pods/proxy" in API group "" in the namespace "sei"`,
                { name: "val-0", kind: "pods" },
            );
            const server = http.createServer((_req, res) => {
                res.writeHead(403, { "content-type": "application/json" }).end(body);
            });
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            const port = (server.address() as { port: number }).port;
            const url = `http://127.0.0.1:${port}/api/v1/namespaces/sei/pods/val-0:26657/proxy/status`;
            try {
                await assert.rejects(
                    fetchJson(url, {
                        method,
                        timeoutMs: 5000,
                        ...(method === "POST" ? { body: "{}" } : {}),
                    }),
                    (err: Error) => {
                        assert.equal(
                            err.message,
                            `the deploying identity lacks ${verb} on pods/proxy in namespace sei${DOC}`,
                        );
                        return true;
                    },
                );
            } finally {
                server.close();
            }
        });
    }
});
