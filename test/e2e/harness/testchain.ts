/**
 * A one-validator Cosmos SDK chain of our own test chain (tools/testchain) as a host process: the
 * network a hard-fork test's chainfleet group joins, and the validator whose operator upgrades it
 * by hand at the upgrade height, as validators do. A host process rather than a chainfleet group
 * because its genesis needs accounts and a gentx (chainfleet generates CometBFT genesis files
 * only) and because its upgrade is the operator's act, outside the fleet's own flow.
 *
 * The steps are those of tools/testchain/scenario.sh, which proved them with the same binaries.
 * Pods reach the validator on the cluster bridge's host address (HOST_ADDRESS); its genesis is
 * served over HTTP there, so the group's `genesis: {url, sha256}` path is the one users use.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { HOST_ADDRESS } from "../../api/harness/realNode";
import { waitUntil } from "./cluster";

/** The test chain's images (scripts/images.sh) and what each binary is. */
export const TESTCHAIN_IMAGES = {
    "047-v1": "chainfleet/testchain:0.47-v1",
    "050-v1": "chainfleet/testchain:0.50-v1",
    "050-v2": "chainfleet/testchain:0.50-v2",
} as const;
export type TestchainBinary = keyof typeof TESTCHAIN_IMAGES;

/** The plan the v2 binary has a handler for (tools/testchain/v050). */
export const UPGRADE_NAME = "v047-to-v050";
/** The gov module account: the authority of MsgSoftwareUpgrade. */
const GOV_AUTHORITY = "cosmos10d07y265gmmuvt4z0w9aw880jnsr700j6zn9kn";

/** The binary's path: scripts/env.sh puts the test chain's build directory on PATH. */
function binary(which: TestchainBinary): string {
    const name = `testchaind-${which}`;
    for (const dir of (process.env.PATH ?? "").split(":")) {
        const p = path.join(dir, name);
        if (fs.existsSync(p)) return p;
    }
    throw new Error(
        `${name} is not on PATH: run the tests under scripts/env.sh after scripts/tools.sh testchain`,
    );
}

export interface HostValidatorOptions {
    chainId: string;
    /** The v1 binary the chain starts on. */
    v1: TestchainBinary;
    /** Ports base: p2p base+56, rpc base+57, abci base+58, grpc base+90/91, genesis http base+80. */
    base: number;
}

export class HostValidator {
    readonly home: string;
    private readonly work: string;
    private child?: ChildProcess;
    private server?: http.Server;
    private logFile: string;
    /** Set by dispose: a test's background steps (the operator's restart) then stop. */
    private disposed = false;
    genesisSha256 = "";
    nodeId = "";

    constructor(private readonly opts: HostValidatorOptions) {
        this.work = fs.mkdtempSync(path.join(os.tmpdir(), `testchain-${opts.chainId}-`));
        this.home = path.join(this.work, "home");
        this.logFile = path.join(this.work, "node.log");
    }

    get rpc(): string {
        return `http://127.0.0.1:${this.opts.base + 57}`;
    }
    /** The persistent peer pods dial. */
    get peer(): string {
        return `${this.nodeId}@${HOST_ADDRESS}:${this.opts.base + 56}`;
    }
    get genesisUrl(): string {
        return `http://${HOST_ADDRESS}:${this.opts.base + 80}/genesis.json`;
    }

    private cli(bin: TestchainBinary, args: string[]): string {
        return execFileSync(binary(bin), [...args, "--home", this.home], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
    }

    /** A one-validator chain with 10 s governance and 1 s blocks, listening for pods. */
    init(): void {
        const { chainId, v1, base } = this.opts;
        this.cli(v1, ["init", "val", "--chain-id", chainId]);
        this.cli(v1, ["keys", "add", "val", "--keyring-backend", "test"]);
        const addr = this.cli(v1, [
            "keys",
            "show",
            "val",
            "-a",
            "--keyring-backend",
            "test",
        ]).trim();
        this.cli(v1, ["genesis", "add-genesis-account", addr, "1000000000000stake"]);
        this.cli(v1, [
            "genesis",
            "gentx",
            "val",
            "1000000000stake",
            "--chain-id",
            chainId,
            "--keyring-backend",
            "test",
        ]);
        this.cli(v1, ["genesis", "collect-gentxs"]);
        const genesisPath = path.join(this.home, "config", "genesis.json");
        const genesis = JSON.parse(fs.readFileSync(genesisPath, "utf8"));
        const gov = genesis.app_state.gov.params;
        gov.voting_period = "10s";
        gov.max_deposit_period = "10s";
        // v0.50: the expedited period must be shorter than the regular one.
        if (gov.expedited_voting_period !== undefined) gov.expedited_voting_period = "5s";
        fs.writeFileSync(genesisPath, JSON.stringify(genesis, null, 2));
        this.cli(v1, ["genesis", "validate-genesis"]);
        this.genesisSha256 = createHash("sha256")
            .update(fs.readFileSync(genesisPath))
            .digest("hex");
        const edit = (file: string, pairs: [RegExp, string][]) => {
            const p = path.join(this.home, "config", file);
            let text = fs.readFileSync(p, "utf8");
            for (const [re, to] of pairs) text = text.replace(re, to);
            fs.writeFileSync(p, text);
        };
        edit("config.toml", [
            [/^timeout_commit = .*$/m, 'timeout_commit = "1s"'],
            [/^laddr = "tcp:\/\/127\.0\.0\.1:26657"$/m, `laddr = "tcp://127.0.0.1:${base + 57}"`],
            [/^laddr = "tcp:\/\/0\.0\.0\.0:26656"$/m, `laddr = "tcp://0.0.0.0:${base + 56}"`],
            [/^proxy_app = .*$/m, `proxy_app = "tcp://127.0.0.1:${base + 58}"`],
            [/^pprof_laddr = .*$/m, 'pprof_laddr = ""'],
            // Pods dial it by a private address; CometBFT's address book refuses those otherwise.
            [/^addr_book_strict = .*$/m, "addr_book_strict = false"],
        ]);
        edit("app.toml", [
            [/localhost:9090/g, `127.0.0.1:${base + 90}`],
            [/localhost:9091/g, `127.0.0.1:${base + 91}`],
            [/tcp:\/\/localhost:1317/g, `tcp://127.0.0.1:${base + 17}`],
        ]);
        const key = JSON.parse(
            fs.readFileSync(path.join(this.home, "config", "node_key.json"), "utf8"),
        );
        const pub = Buffer.from(key.priv_key.value, "base64").subarray(32);
        this.nodeId = createHash("sha256").update(pub).digest("hex").slice(0, 40);
    }

    /** Serves the genesis to pods on the bridge address. */
    async serveGenesis(): Promise<void> {
        const body = fs.readFileSync(path.join(this.home, "config", "genesis.json"));
        this.server = http.createServer((_req, res) => res.end(body));
        await new Promise<void>((resolve) =>
            this.server!.listen(this.opts.base + 80, HOST_ADDRESS, resolve),
        );
    }

    /** Starts (or restarts, after stop) the node on `bin`. */
    start(bin: TestchainBinary): void {
        if (this.disposed) return;
        const log = fs.openSync(this.logFile, "a");
        this.child = spawn(binary(bin), ["start", "--home", this.home, "--log_no_color"], {
            stdio: ["ignore", log, log],
        });
        fs.closeSync(log);
    }

    /** SIGTERM, as an operator stops a node; resolves with the exit code. */
    async stop(): Promise<number | null> {
        const child = this.child;
        this.child = undefined;
        if (!child || child.exitCode !== null) return child?.exitCode ?? null;
        return new Promise((resolve) => {
            child.once("exit", (code) => resolve(code));
            child.kill("SIGTERM");
        });
    }

    log(): string {
        return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : "";
    }

    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async rpcJson(pathAndQuery: string): Promise<any> {
        const res = await fetch(`${this.rpc}${pathAndQuery}`, {
            signal: AbortSignal.timeout(3000),
        });
        return res.json();
    }

    async height(): Promise<number> {
        try {
            return Number((await this.rpcJson("/status")).result.sync_info.latest_block_height);
        } catch {
            return 0;
        }
    }

    async waitHeight(h: number, timeoutMs = 120_000): Promise<void> {
        await waitUntil(`validator height ${h}`, async () => (await this.height()) >= h, {
            timeoutMs,
            intervalMs: 500,
            describe: async () => this.log().split("\n").slice(-15).join("\n"),
        });
    }

    private tx(args: string[]): void {
        const out = this.cli(this.opts.v1, [
            "tx",
            ...args,
            "--from",
            "val",
            "--keyring-backend",
            "test",
            "--chain-id",
            this.opts.chainId,
            "--node",
            `tcp://127.0.0.1:${this.opts.base + 57}`,
            "--gas",
            "400000",
            "--yes",
            "-o",
            "json",
        ]);
        const code = JSON.parse(out).code;
        if (code !== 0) throw new Error(`tx ${args.join(" ")} failed: ${out}`);
    }

    /** Submits and votes the upgrade at `height`; resolves once the proposal has passed. */
    async scheduleUpgrade(height: number): Promise<void> {
        const proposal = path.join(this.work, "proposal.json");
        fs.writeFileSync(
            proposal,
            JSON.stringify({
                messages: [
                    {
                        "@type": "/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade",
                        authority: GOV_AUTHORITY,
                        plan: { name: UPGRADE_NAME, height: String(height), info: "" },
                    },
                ],
                metadata: "",
                deposit: "10000000stake",
                title: UPGRADE_NAME,
                summary: "the test chain's upgrade",
            }),
        );
        this.tx(["gov", "submit-proposal", proposal]);
        const node = ["--node", `tcp://127.0.0.1:${this.opts.base + 57}`, "-o", "json"];
        await waitUntil("proposal 1 on chain", async () => {
            try {
                this.cli(this.opts.v1, ["query", "gov", "proposal", "1", ...node]);
                return true;
            } catch {
                return false;
            }
        });
        this.tx(["gov", "vote", "1", "yes"]);
        await waitUntil(
            "proposal 1 to pass",
            async () => {
                const p = JSON.parse(
                    this.cli(this.opts.v1, ["query", "gov", "proposal", "1", ...node]),
                );
                const status = p.status ?? p.proposal?.status;
                return status === "PROPOSAL_STATUS_PASSED" || status === 3;
            },
            { timeoutMs: 60_000, intervalMs: 1000 },
        );
    }

    /** Resolves once the old binary has stopped at the upgrade (UPGRADE NEEDED in its log). */
    async waitForUpgradeHalt(timeoutMs: number): Promise<void> {
        await waitUntil(
            "the validator to halt at the upgrade",
            async () => this.disposed || this.log().includes(`UPGRADE "${UPGRADE_NAME}" NEEDED`),
            {
                timeoutMs,
                intervalMs: 1000,
                describe: async () => this.log().split("\n").slice(-10).join("\n"),
            },
        );
    }

    async dispose(): Promise<void> {
        this.disposed = true;
        await this.stop();
        await new Promise<void>((resolve) =>
            this.server ? this.server.close(() => resolve()) : resolve(),
        );
        if (process.env.KEEP_TESTCHAIN !== "1")
            fs.rmSync(this.work, { recursive: true, force: true });
    }
}
