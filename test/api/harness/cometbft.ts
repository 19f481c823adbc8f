/**
 * Real CometBFT nodes on 127.0.0.1 for the api and e2e tiers: one single-validator chain
 * (`kvstore` app, fast blocks) and full nodes that block-sync from it, so gates see real
 * heights, real `catching_up` and real peer counts.
 *
 * Each node is a child process with its own home under `dir`. Ports are picked free on
 * 127.0.0.1. `stop()` ends a node (SIGTERM, then SIGKILL); `stopAll()` ends every node started
 * here, and is safe to call twice; `dispose()` also removes `dir`.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "./ports";
import { toolPath } from "./tools";

export interface CometNode {
    name: string;
    home: string;
    rpcPort: number;
    p2pPort: number;
    rpcUrl: string;
    nodeId: string;
    proc?: ChildProcess;
    /** Started by `startNode`; false after `stop`. */
    running: boolean;
}

export interface ChainOptions {
    /** Directory for node homes and logs; created if missing. */
    dir: string;
    /**
     * Block interval. Defaults to 500ms (~2 blocks/s): fast enough to see rates and ETAs move,
     * slow enough that a full node that left block sync catches up through consensus gossip (at
     * 200ms the validator outruns it on a busy 2-core machine).
     */
    timeoutCommit?: string;
}

function setToml(file: string, key: string, value: string): void {
    const text = fs.readFileSync(file, "utf8");
    const re = new RegExp(`^${key.replace(/[.]/g, "\\.")} = .*$`, "m");
    if (!re.test(text)) {
        throw new Error(`${file} has no "${key} = ..." line to set`);
    }
    fs.writeFileSync(file, text.replace(re, `${key} = ${value}`));
}

export class CometChain {
    readonly nodes: CometNode[] = [];
    private readonly bin: string;
    validator?: CometNode;

    constructor(private readonly opts: ChainOptions) {
        this.bin = toolPath("cometbft");
        fs.mkdirSync(opts.dir, { recursive: true });
    }

    private async init(name: string): Promise<CometNode> {
        const home = path.join(this.opts.dir, name);
        fs.rmSync(home, { recursive: true, force: true });
        execFileSync(this.bin, ["init", "--home", home], { stdio: "ignore" });
        const cfg = path.join(home, "config", "config.toml");
        setToml(cfg, "timeout_commit", `"${this.opts.timeoutCommit ?? "500ms"}"`);
        // Several nodes share 127.0.0.1: let them peer with each other.
        setToml(cfg, "addr_book_strict", "false");
        setToml(cfg, "allow_duplicate_ip", "true");
        const nodeId = execFileSync(this.bin, ["show-node-id", "--home", home], {
            encoding: "utf8",
        }).trim();
        const rpcPort = await freePort();
        const p2pPort = await freePort();
        const node: CometNode = {
            name,
            home,
            rpcPort,
            p2pPort,
            rpcUrl: `http://127.0.0.1:${rpcPort}`,
            nodeId,
            running: false,
        };
        this.nodes.push(node);
        return node;
    }

    /** Creates and starts the single validator; blocks start at once. */
    async startValidator(name = "validator"): Promise<CometNode> {
        const node = await this.init(name);
        this.validator = node;
        await this.startNode(node);
        return node;
    }

    /**
     * Creates a full node with the validator's genesis and the validator as persistent peer.
     * `start: false` leaves it stopped, to be started later (a node that has to catch up).
     * `isolated: true` gives it no peer: it never syncs (a gate that cannot pass).
     */
    async addFullNode(
        name: string,
        opts: { start?: boolean; isolated?: boolean } = {},
    ): Promise<CometNode> {
        const v = this.validator;
        if (!v) {
            throw new Error("start the validator before adding full nodes");
        }
        const node = await this.init(name);
        fs.copyFileSync(
            path.join(v.home, "config", "genesis.json"),
            path.join(node.home, "config", "genesis.json"),
        );
        if (!opts.isolated) {
            setToml(
                path.join(node.home, "config", "config.toml"),
                "persistent_peers",
                `"${v.nodeId}@127.0.0.1:${v.p2pPort}"`,
            );
        }
        if (opts.start !== false) {
            await this.startNode(node);
        }
        return node;
    }

    /**
     * Starts (or restarts) a node and waits until its RPC answers. A node that has never run and
     * dies because one of its ports was taken meanwhile gets fresh ports and another try (no peer
     * has its address yet); any other failure throws with the end of the node's log.
     */
    async startNode(node: CometNode): Promise<void> {
        const firstStart = node.proc === undefined;
        for (let attempt = 1; ; attempt++) {
            const logFile = path.join(this.opts.dir, `${node.name}.log`);
            const logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
            const failure = await this.spawnAndWait(node, logFile);
            if (failure === undefined) {
                return;
            }
            const log = fs.readFileSync(logFile, "utf8").slice(logStart);
            if (firstStart && attempt < 3 && /address already in use/.test(log)) {
                node.rpcPort = await freePort();
                node.p2pPort = await freePort();
                node.rpcUrl = `http://127.0.0.1:${node.rpcPort}`;
                continue;
            }
            const tail = log.trim().split("\n").slice(-5).join("\n    ");
            throw new Error(
                `cometbft ${node.name} did not answer on ${node.rpcUrl}: ${failure}; its log (${logFile}) ends:\n    ${tail}`,
            );
        }
    }

    /** Spawns the node; resolves undefined once its RPC answers, or why it did not. */
    private async spawnAndWait(node: CometNode, logFile: string): Promise<string | undefined> {
        const log = fs.openSync(logFile, "a");
        const proc = spawn(
            this.bin,
            [
                "start",
                "--home",
                node.home,
                "--proxy_app=kvstore",
                `--rpc.laddr=tcp://127.0.0.1:${node.rpcPort}`,
                `--p2p.laddr=tcp://127.0.0.1:${node.p2pPort}`,
                "--log_level=error",
            ],
            { stdio: ["ignore", log, log] },
        );
        fs.closeSync(log);
        node.proc = proc;
        node.running = true;
        const exited = new Promise<void>((resolve) =>
            proc.once("exit", () => {
                node.running = false;
                resolve();
            }),
        );
        const until = Date.now() + 30_000;
        for (;;) {
            try {
                await status(node.rpcUrl);
                return undefined;
            } catch (err) {
                if (!node.running) {
                    await exited;
                    return `it exited (${proc.exitCode ?? proc.signalCode}) before answering`;
                }
                if (Date.now() > until) {
                    return `no answer in 30 s (${(err as Error).message})`;
                }
                await new Promise((r) => setTimeout(r, 200));
            }
        }
    }

    async stop(node: CometNode): Promise<void> {
        const proc = node.proc;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
            node.running = false;
            return;
        }
        const exited = new Promise<void>((r) => proc.once("exit", () => r()));
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
        node.running = false;
    }

    async stopAll(): Promise<void> {
        await Promise.all(this.nodes.map((n) => this.stop(n)));
    }

    /** Stops every node and removes `dir` (homes and logs), unless CHAINFLEET_KEEP_NODES is set. */
    async dispose(): Promise<void> {
        await this.stopAll();
        if (!process.env.CHAINFLEET_KEEP_NODES) {
            fs.rmSync(this.opts.dir, { recursive: true, force: true });
        }
    }
}

export interface CometStatus {
    height: number;
    catchingUp: boolean;
}

/** `/status` of a node, reduced to height and catching_up. */
export async function status(rpcUrl: string): Promise<CometStatus> {
    const res = await fetch(`${rpcUrl}/status`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as {
        result: { sync_info: { latest_block_height: string; catching_up: boolean } };
    };
    return {
        height: Number(body.result.sync_info.latest_block_height),
        catchingUp: body.result.sync_info.catching_up,
    };
}

/** Waits until `rpcUrl` reports at least `height`. */
export async function waitForHeight(
    rpcUrl: string,
    height: number,
    timeoutMs = 60_000,
): Promise<number> {
    const until = Date.now() + timeoutMs;
    for (;;) {
        try {
            const s = await status(rpcUrl);
            if (s.height >= height) {
                return s.height;
            }
        } catch {
            // not up yet
        }
        if (Date.now() > until) {
            throw new Error(`${rpcUrl} did not reach height ${height} within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}
