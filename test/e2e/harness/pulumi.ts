/**
 * The real `pulumi` CLI against a throw-away copy of this project, for the e2e tier.
 *
 * Each `E2eStack` owns a temp directory with:
 * - `project/`: a copy of the program (every top-level entry but the tests, the Go tool modules,
 *   `.git` and the committed `Pulumi.<stack>.yaml` files), with `node_modules` symlinked. The
 *   stack's own `Pulumi.<stack>.yaml` is written there, so the committed stack files are never
 *   read or touched, and edits others make to the tree mid-run cannot change a test half-way.
 * - `backend/`: a file backend (`PULUMI_BACKEND_URL=file://...`) of its own.
 * - `logs/`: the output and engine event log (`--event-log`) of every command, numbered.
 *
 * Commands run as child processes. Each result keeps the combined output and the parsed engine
 * events, so a test can assert on the summary and print the output when a step fails.
 */
import type { EngineEvent, OpMap } from "@pulumi/pulumi/automation";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { findTool } from "../../api/harness/tools";

/** The checkout this test file belongs to (test/e2e/harness -> root). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/** The Pulumi project name (Pulumi.yaml `name`) and so the config namespace. */
export const PROJECT = "chainfleet";

/** Top-level entries of the checkout a `pulumi up` never needs. */
const NOT_COPIED = [
    ".git",
    ".scratch",
    ".ci",
    "node_modules",
    "test",
    "tools",
    "bench",
    "bin",
    ".cache",
];

export interface RunResult {
    /** `pulumi up --yes ...`, for messages. */
    command: string;
    code: number | null;
    signal: NodeJS.Signals | null;
    /** stdout and stderr, interleaved as they arrived. */
    output: string;
    durationMs: number;
    timedOut: boolean;
    /** Engine events from `--event-log` (empty for commands that have none). */
    events: EngineEvent[];
    logFile: string;
}

export interface RunOptions {
    /** Resolve with a non-zero exit instead of throwing. */
    allowFailure?: boolean;
    /** Kill the process tree and fail after this long. Default 10 minutes. */
    timeoutMs?: number;
}

/** A command in flight: its pid, its (future) result, and a way to kill it and its children. */
export interface Running {
    pid: number;
    result: Promise<RunResult>;
    /** Output so far. */
    output(): string;
    /** SIGKILLs the process and every descendant (plugins run in process groups of their own). */
    killTree(): Promise<number[]>;
}

/** The resource changes of a run, from its summary event; undefined if it never got that far. */
export function summaryOf(result: RunResult): OpMap | undefined {
    return result.events.find((e) => e.summaryEvent)?.summaryEvent?.resourceChanges;
}

/** `{create: 3, same: 2}` -> "create=3 same=2". */
export function describeChanges(changes: OpMap | undefined): string {
    if (!changes) {
        return "(no summary event)";
    }
    return Object.entries(changes)
        .filter(([, n]) => (n ?? 0) > 0)
        .map(([op, n]) => `${op}=${n}`)
        .join(" ");
}

/** Steps of a preview or update: [op, resource type, name] for each resourcePreEvent. */
export function stepsOf(result: RunResult): { op: string; type: string; name: string }[] {
    return result.events
        .map((e) => e.resourcePreEvent?.metadata)
        .filter((m): m is NonNullable<typeof m> => m !== undefined)
        .map((m) => ({ op: m.op, type: m.type, name: m.urn.split("::").pop() ?? m.urn }));
}

/** Error and warning diagnostics of a run, joined: what the person running `pulumi up` reads. */
export function diagnosticsOf(result: RunResult, severity = "error"): string {
    return result.events
        .map((e) => e.diagnosticEvent)
        .filter((d) => d && d.severity === severity)
        .map((d) => d!.message)
        .join("\n");
}

/** The last `lines` lines of a command's output, for error messages. */
export function tail(text: string, lines = 150): string {
    const all = text.trimEnd().split("\n");
    const cut = all.length > lines ? [`... (${all.length - lines} earlier lines cut)`] : [];
    return [...cut, ...all.slice(-lines)].join("\n");
}

export function formatResult(r: RunResult, lines = 150): string {
    const how = r.timedOut
        ? "TIMED OUT"
        : r.signal
          ? `killed by ${r.signal}`
          : `exit ${r.code ?? "?"}`;
    return (
        `$ ${r.command}  (${how}, ${(r.durationMs / 1000).toFixed(1)}s, full log: ${r.logFile})\n` +
        tail(r.output, lines)
    );
}

/** pids of `root` and all its descendants, read from /proc (Linux). */
export function processTree(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch {
            // The process exited while we listed.
        }
    }
    const out: number[] = [];
    const todo = [root];
    while (todo.length > 0) {
        const pid = todo.pop()!;
        out.push(pid);
        todo.push(...(children.get(pid) ?? []));
    }
    return out;
}

export const isAlive = (pid: number): boolean => {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
        return state !== "Z" && state !== "X";
    } catch {
        return false;
    }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs a process tree without letting any of it escape: the tree is frozen (SIGSTOP) and
 * re-read until it stops growing, because a killed parent's children are re-parented to init
 * and could no longer be found. Returns the pids killed.
 */
export async function killProcessTree(root: number): Promise<number[]> {
    const frozen = new Set<number>();
    for (let round = 0; round < 20; round++) {
        const found = processTree(root).filter((p) => !frozen.has(p));
        if (found.length === 0) {
            break;
        }
        for (const pid of found) {
            try {
                process.kill(pid, "SIGSTOP");
                frozen.add(pid);
            } catch {
                // already gone
            }
        }
    }
    for (const pid of frozen) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
    const until = Date.now() + 10_000;
    while ([...frozen].some(isAlive) && Date.now() < until) {
        await sleep(50);
    }
    return [...frozen];
}

export interface StackOptions {
    /** Names the temp directory and the log lines. */
    label: string;
    /** The stack's name in its (private) backend. */
    stack?: string;
}

export class E2eStack {
    readonly root: string;
    readonly projectDir: string;
    readonly backendDir: string;
    readonly logDir: string;
    readonly stack: string;
    readonly label: string;
    /** Every command run, in order. */
    readonly results: RunResult[] = [];
    /** Keep the temp directory (logs, backend) at `dispose`: set when a test failed. */
    keep = false;
    /** Set over the environment of every command, e.g. another identity's KUBECONFIG. */
    extraEnv: NodeJS.ProcessEnv = {};
    /** Commands still running (killed by `dispose`). */
    private readonly inFlight = new Set<ChildProcess>();
    private seq = 0;
    private readonly pulumi: string;

    constructor(opts: StackOptions) {
        const pulumi = findTool("pulumi");
        if (!pulumi) {
            throw new Error(
                "e2e tier: the pulumi CLI was not found; run scripts/tools.sh and `source scripts/env.sh`",
            );
        }
        if (!process.env.PULUMI_HOME) {
            throw new Error(
                "e2e tier: PULUMI_HOME is not set, so the kubernetes plugin built by scripts/tools.sh " +
                    "would not be found; `source scripts/env.sh` first",
            );
        }
        this.pulumi = pulumi;
        this.label = opts.label;
        this.stack = opts.stack ?? "e2e";
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), `chainfleet-e2e-${opts.label}-`));
        this.projectDir = path.join(this.root, "project");
        this.backendDir = path.join(this.root, "backend");
        this.logDir = path.join(this.root, "logs");
        fs.mkdirSync(this.backendDir);
        fs.mkdirSync(this.logDir);
        copyProject(this.projectDir);
    }

    get stackFile(): string {
        return path.join(this.projectDir, `Pulumi.${this.stack}.yaml`);
    }

    /** What every command runs with: the private backend, a passphrase, nothing online. */
    env(): NodeJS.ProcessEnv {
        return {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${this.backendDir}`,
            PULUMI_CONFIG_PASSPHRASE: "chainfleet-e2e",
            PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            // Enables `--event-log` (a debug flag; the Automation API sets the same).
            PULUMI_DEBUG_COMMANDS: "true",
            // Type-checking the program on every run costs ~12 s of a 2-core machine's time, ~30
            // times per e2e run; `tsc --noEmit` checks the same code once. Set it to "false" to
            // run the program exactly as a user's `pulumi up` does.
            PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
            ...this.extraEnv,
        };
    }

    /**
     * Writes the stack's config: `config` holds the `chainfleet:*` keys without the prefix; keys
     * that contain ':' are written as they are. The encryption salt `stack init` wrote is kept.
     */
    writeConfig(config: Record<string, unknown>): void {
        let salt: unknown;
        if (fs.existsSync(this.stackFile)) {
            salt = (YAML.parse(fs.readFileSync(this.stackFile, "utf8")) ?? {}).encryptionsalt;
        }
        const keyed = Object.fromEntries(
            Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${PROJECT}:${k}`, v]),
        );
        fs.writeFileSync(
            this.stackFile,
            YAML.stringify({ ...(salt ? { encryptionsalt: salt } : {}), config: keyed }),
        );
    }

    /** Creates the stack in the private backend (after `writeConfig`, which it keeps). */
    async init(): Promise<RunResult> {
        return this.run(["stack", "init", this.stack, "--non-interactive"]);
    }

    /** Flags every engine command gets. */
    private engineArgs(eventLog: string): string[] {
        return [
            "--stack",
            this.stack,
            "--non-interactive",
            "--color",
            "never",
            "--event-log",
            eventLog,
        ];
    }

    async preview(extra: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
        return this.engine("preview", extra, opts);
    }

    /** `pulumi up --yes --skip-preview` (the preview would run the whole program once more). */
    async up(extra: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
        return this.engine("up", ["--yes", "--skip-preview", ...extra], opts);
    }

    startUp(extra: string[] = [], opts: RunOptions = {}): Running {
        return this.startEngine("up", ["--yes", "--skip-preview", ...extra], opts);
    }

    async destroy(extra: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
        return this.engine("destroy", ["--yes", "--skip-preview", ...extra], opts);
    }

    async refresh(extra: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
        return this.engine("refresh", ["--yes", "--skip-preview", ...extra], opts);
    }

    private engine(cmd: string, extra: string[], opts: RunOptions): Promise<RunResult> {
        return this.startEngine(cmd, extra, opts).result;
    }

    private startEngine(cmd: string, extra: string[], opts: RunOptions): Running {
        const eventLog = path.join(
            this.logDir,
            `${String(this.seq + 1).padStart(2, "0")}-events.jsonl`,
        );
        return this.start([cmd, ...this.engineArgs(eventLog), ...extra], opts, eventLog);
    }

    /** Runs any pulumi command (with the stack's env) to completion. */
    async run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
        return this.start(args, opts).result;
    }

    /** Starts a pulumi command. Unless `allowFailure`, a non-zero exit rejects `result`. */
    start(args: string[], opts: RunOptions = {}, eventLog?: string): Running {
        const n = String(++this.seq).padStart(2, "0");
        const logFile = path.join(this.logDir, `${n}-${args[0]}.log`);
        const command = `pulumi ${args.join(" ")}`;
        const started = Date.now();
        const child = spawn(this.pulumi, args, {
            cwd: this.projectDir,
            env: this.env(),
            stdio: ["ignore", "pipe", "pipe"],
        });
        this.inFlight.add(child);
        const pid = child.pid!;
        let output = "";
        const log = fs.createWriteStream(logFile);
        log.write(`$ ${command}\n`);
        const onData = (chunk: Buffer) => {
            output += chunk.toString("utf8");
            log.write(chunk);
        };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            void killProcessTree(pid);
        }, opts.timeoutMs ?? 600_000);

        const result = new Promise<RunResult>((resolve, reject) => {
            child.once("error", reject);
            child.once("close", (code, signal) => {
                clearTimeout(timer);
                this.inFlight.delete(child);
                log.end();
                const r: RunResult = {
                    command,
                    code,
                    signal,
                    output,
                    durationMs: Date.now() - started,
                    timedOut,
                    events: eventLog ? readEvents(eventLog) : [],
                    logFile,
                };
                this.results.push(r);
                const how = timedOut ? "timed out" : signal ? signal : `exit ${code}`;
                console.log(
                    `      [${this.label}] ${command.split(" --")[0]}: ${how} in ${(r.durationMs / 1000).toFixed(1)}s` +
                        (summaryOf(r) ? ` (${describeChanges(summaryOf(r))})` : ""),
                );
                if ((code !== 0 || timedOut) && !opts.allowFailure) {
                    reject(new Error(`pulumi command failed:\n${formatResult(r)}`));
                } else {
                    resolve(r);
                }
            });
        });
        return {
            pid,
            result,
            output: () => output,
            killTree: () => killProcessTree(pid),
        };
    }

    /** The stack's checkpoint in the file backend (read directly: works while a run holds it). */
    checkpoint(): Checkpoint | undefined {
        const file = path.join(this.backendDir, ".pulumi", "stacks", PROJECT, `${this.stack}.json`);
        if (!fs.existsSync(file)) {
            return undefined;
        }
        try {
            return JSON.parse(fs.readFileSync(file, "utf8")) as Checkpoint;
        } catch {
            return undefined; // caught mid-write; the caller polls again
        }
    }

    /** Operations the engine began and never finished (what a killed run leaves). */
    pendingOperations(): PendingOperation[] {
        return this.checkpoint()?.checkpoint?.latest?.pending_operations ?? [];
    }

    /** Resources recorded in the checkpoint. */
    resources(): CheckpointResource[] {
        return this.checkpoint()?.checkpoint?.latest?.resources ?? [];
    }

    /** Lock files of the stack in the file backend (one per run holding it). */
    lockFiles(): string[] {
        const dir = path.join(this.backendDir, ".pulumi", "locks");
        if (!fs.existsSync(dir)) {
            return [];
        }
        return (fs.readdirSync(dir, { recursive: true }) as string[])
            .map((f) => path.join(dir, f))
            .filter((f) => f.endsWith(".json") && fs.statSync(f).isFile());
    }

    /** The last command's result, for failure reports. */
    last(): RunResult | undefined {
        return this.results[this.results.length - 1];
    }

    /** Kills commands still running; removes the temp directory unless kept (or E2E_KEEP). */
    async dispose(): Promise<void> {
        for (const child of this.inFlight) {
            if (child.pid) {
                await killProcessTree(child.pid);
            }
        }
        if (!this.keep && !process.env.E2E_KEEP) {
            fs.rmSync(this.root, { recursive: true, force: true });
        } else {
            console.log(`      [${this.label}] kept ${this.root}`);
        }
    }
}

export interface PendingOperation {
    type: string;
    resource: { urn: string; type: string; id?: string };
}

export interface CheckpointResource {
    urn: string;
    type: string;
    id?: string;
    outputs?: Record<string, unknown>;
}

export interface Checkpoint {
    checkpoint?: {
        latest?: {
            resources?: CheckpointResource[];
            pending_operations?: PendingOperation[];
        };
    };
}

function readEvents(file: string): EngineEvent[] {
    if (!fs.existsSync(file)) {
        return [];
    }
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .flatMap((line) => {
            try {
                return [JSON.parse(line) as EngineEvent];
            } catch {
                return []; // a line cut short by a kill
            }
        });
}

function copyProject(dest: string): void {
    fs.mkdirSync(dest, { recursive: true });
    for (const entry of fs.readdirSync(REPO_ROOT)) {
        if (NOT_COPIED.includes(entry) || /^Pulumi\..+\.ya?ml$/.test(entry)) {
            continue;
        }
        fs.cpSync(path.join(REPO_ROOT, entry), path.join(dest, entry), { recursive: true });
    }
    // Node resolves packages through the symlink; the dynamic-provider shim and ts-node too.
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dest, "node_modules"), "dir");
}
