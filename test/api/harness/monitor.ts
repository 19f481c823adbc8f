/**
 * Runs the bootstrap monitor (monitor/cli.ts) as a local process, standing in for its containers
 * on a cluster whose kubelets are kwok's, and the checks its tests share: the api tier's monitor
 * test and the e2e test of the dev stack's bootstrap test.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { k8s, loadKubeConfig, statusCode } from "../../../kube/kube";
import { clients, kubeAccess, waitFor } from "./kube";

/* eslint-disable @typescript-eslint/no-explicit-any */

const ROOT = path.resolve(__dirname, "../../..");

export interface MonitorRun {
    lines: Record<string, any>[];
    exit: Promise<number>;
    proc: ChildProcess;
}

const running = new Set<ChildProcess>();

/** Starts `monitor <args>` as a child process, collecting its JSON log lines. */
export function startMonitor(args: string[]): MonitorRun {
    const proc = spawn(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", path.join(ROOT, "monitor/cli.ts"), ...args],
        { cwd: ROOT, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") } },
    );
    running.add(proc);
    const lines: Record<string, any>[] = [];
    let buffer = "";
    let stderr = "";
    proc.stdout?.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            try {
                lines.push(JSON.parse(line));
            } catch {
                lines.push({ msg: line, raw: true });
            }
        }
    });
    proc.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number>((resolve) =>
        proc.on("exit", (code) => {
            running.delete(proc);
            if (stderr.trim()) {
                lines.push({ msg: stderr.trim(), stderr: true });
            }
            resolve(code ?? -1);
        }),
    );
    return { lines, exit, proc };
}

/** Runs `monitor <args>` to its end; fails with its log if it takes longer than `ms`. */
export async function runMonitor(
    args: string[],
    ms = 120_000,
): Promise<{ code: number; lines: any[] }> {
    const run = startMonitor(args);
    const timer = setTimeout(() => run.proc.kill("SIGKILL"), ms);
    const code = await run.exit;
    clearTimeout(timer);
    return { code, lines: run.lines };
}

export const messages = (lines: any[]) => lines.map((l) => l.msg as string);
export const show = (lines: any[]) => lines.map((l) => JSON.stringify(l)).join("\n");

export async function waitForLine(run: MonitorRun, msg: string, ms = 120_000): Promise<any> {
    let found: any;
    await waitFor(
        `monitor log line '${msg}'`,
        async () => {
            found = run.lines.find((l) => l.msg === msg);
            if (!found && run.proc.exitCode !== null) {
                throw new Error(
                    `monitor exited ${run.proc.exitCode} before '${msg}':\n${show(run.lines)}`,
                );
            }
            return found !== undefined;
        },
        ms,
    );
    return found;
}

/** A kubeconfig that authenticates as the monitor's ServiceAccount, via the TokenRequest API. */
export async function serviceAccountKubeconfig(
    namespace: string,
    sa: string,
    file: string,
): Promise<void> {
    const review = await clients().core.createNamespacedServiceAccountToken({
        name: sa,
        namespace,
        body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { audiences: [], expirationSeconds: 3600 },
        },
    });
    const token = review.status?.token;
    assert.ok(token, "TokenRequest returned no token");
    const cluster = loadKubeConfig(kubeAccess()).getCurrentCluster();
    assert.ok(cluster, "the admin kubeconfig has no current cluster");
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
        clusters: [{ ...cluster, name: "local" }],
        users: [{ name: sa, token }],
        contexts: [{ name: sa, cluster: "local", user: sa, namespace }],
        currentContext: sa,
    });
    fs.writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
}

export async function eventReasons(namespace: string): Promise<string[]> {
    const list = await clients().core.listNamespacedEvent({ namespace });
    return list.items
        .filter((e) => e.involvedObject.kind === "StatefulSet")
        .map((e) => e.reason ?? "");
}

export async function podUid(namespace: string, name: string): Promise<string | undefined> {
    try {
        return (await clients().core.readNamespacedPod({ namespace, name })).metadata?.uid;
    } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
    }
}

/** Waits for the StatefulSet controller to (re)create the pod with a UID other than `oldUid`. */
export async function waitForNewPod(
    namespace: string,
    name: string,
    oldUid?: string,
): Promise<k8s.V1Pod> {
    let pod: k8s.V1Pod | undefined;
    await waitFor(`pod ${name} replacing ${oldUid ?? "nothing"}`, async () => {
        try {
            pod = await clients().core.readNamespacedPod({ namespace, name });
        } catch (err) {
            if (statusCode(err) === 404) return false;
            throw err;
        }
        return pod.metadata?.uid !== oldUid && !pod.metadata?.deletionTimestamp;
    });
    return pod as k8s.V1Pod;
}

/** Kills every monitor process still running (a test's clean-up). */
export function killMonitors(): void {
    for (const proc of running) {
        proc.kill("SIGKILL");
    }
}
