/**
 * The HeightGate's RPC sampler (dynamic-providers/heightGateRun.ts) against a local HTTP server
 * answering with real CometBFT documents: which calls one sample makes. Through the pod proxy
 * each call is an API server request, so a call whose answer the gate never judges is load for
 * nothing (bench/gatesPodProxy.ts counts them).
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import { adapterFor } from "../../chains";
import { HEIGHT_GATE_DEFAULTS, HeightGateInputs } from "../../dynamic-providers";
import { NodeObservation, latest } from "../../dynamic-providers/gates";
import { Sampler } from "../../dynamic-providers/heightGateRun";
import { directUrl } from "../../kube/rpc";
import type { KubeClients } from "../../kube/kube";
import { fixtureText } from "../testdata/chains/fixtures";

describe("#providers HeightGate sampler", () => {
    const answers: Record<string, string> = {
        "/status": fixtureText("cometbft/status-v0.38.19-caught-up.json"),
        "/net_info": fixtureText("cometbft/net_info-v0.38.19-one-peer.json"),
    };
    let server: http.Server;
    let base = "";
    let calls: string[] = [];

    before(async () => {
        server = http.createServer((req, res) => {
            calls.push(req.url ?? "");
            const body = answers[req.url ?? ""];
            res.writeHead(body ? 200 : 404, { "content-type": "application/json" });
            res.end(body ?? "{}");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(() => server.close());
    beforeEach(() => {
        calls = [];
    });

    const sampler = () =>
        new Sampler(
            { ...HEIGHT_GATE_DEFAULTS, rpcMode: "direct" } as HeightGateInputs,
            adapterFor("cometbft"),
            {} as KubeClients,
        );

    it("asks an entrant for its status and its peers", async () => {
        const node: NodeObservation = { name: "entrant", history: [] };
        await sampler().sample(node, (p) => directUrl(base, p), false, true);
        assert.deepEqual(calls, ["/status", "/net_info"]);
        assert.equal(node.error, undefined);
        assert.equal(latest(node)?.peers, 1);
        assert.ok((latest(node)?.height ?? 0) > 0);
    });

    it("asks an incumbent or a reference for its status only: their peers are not judged", async () => {
        const node: NodeObservation = { name: "incumbent", history: [] };
        await sampler().sample(node, (p) => directUrl(base, p), false, false);
        assert.deepEqual(calls, ["/status"]);
        assert.equal(latest(node)?.peers, undefined);
    });
});
