/**
 * What a failing e2e step prints: every pulumi command the test ran (output tail and exit), the
 * namespace's objects and events, and the local CometBFT nodes the gates were pointed at (up?
 * height? last log lines). One call per suite installs it as mocha hooks, so the tests
 * themselves stay about behaviour.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CometChain } from "../../api/harness/cometbft";
import { status } from "../../api/harness/cometbft";
import { describeNamespace } from "./cluster";
import { E2eStack, formatResult, tail } from "./pulumi";

export interface ReportSources {
    stack?: () => E2eStack | undefined;
    namespace?: () => string | undefined;
    chain?: () => CometChain | undefined;
    chainDir?: () => string | undefined;
}

/** Heights and log tails of the test's CometBFT nodes. */
export async function describeChain(chain: CometChain, dir?: string): Promise<string> {
    const lines = ["--- CometBFT nodes"];
    for (const node of chain.nodes) {
        let state: string;
        try {
            const s = await status(node.rpcUrl);
            state = `h=${s.height} catching_up=${s.catchingUp}`;
        } catch (err) {
            state = `no answer (${(err as Error).message})`;
        }
        lines.push(`${node.name} ${node.rpcUrl} running=${node.running}: ${state}`);
        const log = dir ? path.join(dir, `${node.name}.log`) : undefined;
        if (log && fs.existsSync(log)) {
            const text = fs.readFileSync(log, "utf8");
            if (text.trim()) {
                lines.push(tail(text, 10).replace(/^/gm, "    "));
            }
        }
    }
    return lines.join("\n");
}

/**
 * Installs beforeEach/afterEach hooks on the current mocha suite: after a failed test, prints
 * the pulumi commands that test ran, the cluster state and the chain state, and keeps the
 * stack's temp directory (logs, backend) for a closer look. `failed()` tells the suite's own
 * clean-up whether to keep other evidence too.
 */
export function installFailureReport(sources: ReportSources): { failed: () => boolean } {
    let firstResult = 0;
    let anyFailed = false;
    beforeEach(function () {
        firstResult = sources.stack?.()?.results.length ?? 0;
    });
    afterEach(async function () {
        if (this.currentTest?.state !== "failed") {
            return;
        }
        anyFailed = true;
        const parts: string[] = [`===== e2e failure report: ${this.currentTest.fullTitle()}`];
        const stack = sources.stack?.();
        if (stack) {
            stack.keep = true;
            let results = stack.results.slice(firstResult);
            let title = `pulumi commands of this test (${results.length}`;
            if (results.length === 0 && stack.results.length > 0) {
                // A test that checks an earlier test's run: show that run.
                results = stack.results.slice(-1);
                title = "no pulumi command in this test; the last one before it (1";
            }
            parts.push(
                `--- ${title}; logs in ${stack.logDir})`,
                ...results.map((r, i) => formatResult(r, i === results.length - 1 ? 200 : 60)),
            );
            const pending = stack.pendingOperations();
            if (pending.length > 0) {
                parts.push(
                    `--- pending operations in the checkpoint: ${pending.map((p) => `${p.type} ${p.resource.urn}`).join(", ")}`,
                );
            }
        }
        const ns = sources.namespace?.();
        if (ns) {
            parts.push(await describeNamespace(ns));
        }
        const chain = sources.chain?.();
        if (chain) {
            parts.push(await describeChain(chain, sources.chainDir?.()));
        }
        const chainDir = sources.chainDir?.();
        if (chainDir) {
            parts.push(`--- node homes and logs kept in ${chainDir}`);
        }
        console.log(parts.join("\n"));
    });
    return { failed: () => anyFailed };
}

/** Stops the test's CometBFT nodes; removes their homes unless a test failed. */
export async function stopChain(
    chain: CometChain | undefined,
    dir: string,
    report: { failed: () => boolean },
): Promise<void> {
    await chain?.stopAll();
    if (!report.failed()) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Runs a named step; a failure is re-thrown with the step's name in front, so the mocha message
 * alone says where it went wrong (the failure report adds the state).
 */
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
        return await fn();
    } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        e.message = `step "${name}" failed: ${e.message}`;
        throw e;
    }
}
