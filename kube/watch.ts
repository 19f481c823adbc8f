/**
 * A small list-then-watch cache for one kind of object, plus a `Waker` that lets a waiting loop
 * sleep until something changes. Gates react to watch events within milliseconds instead of
 * polling the API every few seconds, and a watch costs one request per `timeoutSeconds`.
 *
 * What it handles: server-side watch expiry (re-watch from the last resourceVersion), `410
 * Gone`/"too old resource version" (re-list, then watch), bookmarks (keep the resourceVersion
 * fresh so a re-watch rarely needs a re-list) and dropped connections (back off, re-watch).
 */
import { forbiddenMessage, hintFromApiPath } from "../lib/forbidden";
import { isTransient, statusCode, withRetry } from "./kube";

interface Meta {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
}

/** The part of an API object the cache relies on. */
export interface KubeObject {
    metadata?: Meta;
}

/** The subset of `k8s.Watch` used here, so tests can drive events by hand. */
export interface WatchLike {
    watch(
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        callback: (phase: string, obj: unknown) => void,
        done: (err: unknown) => void,
    ): Promise<AbortController>;
}

export interface ListResult<T> {
    items: T[];
    metadata?: { resourceVersion?: string };
}

export interface WatchedListOptions<T> {
    /** Names this cache in logs and errors, e.g. `pods app=x in ns`. */
    what: string;
    watch: WatchLike;
    /** Collection path, e.g. `/api/v1/namespaces/ns/pods`. */
    path: string;
    labelSelector?: string;
    fieldSelector?: string;
    /** The matching list call (same selectors); its resourceVersion starts the watch. */
    list: () => Promise<ListResult<T>>;
    /** Called after every change to the cache (and after a re-list). */
    onChange?: () => void;
    /** Server-side watch timeout. The server closes the watch after it; we re-watch. */
    timeoutSeconds?: number;
}

/** Resolves `wait()` at the next `notify()`, or at once if one came since the last wait. */
export class Waker {
    private pending: boolean;
    private resolve?: () => void;

    // State is set in constructors, not field initializers, here and below: dynamic providers
    // capture these classes, and Pulumi's closure serializer drops field initializers.
    constructor() {
        this.pending = false;
        this.resolve = undefined;
    }

    notify(): void {
        this.pending = true;
        this.resolve?.();
    }

    /** Sleeps until notified or `ms` elapse, whichever is first. */
    wait(ms: number): Promise<void> {
        if (this.pending) {
            this.pending = false;
            return Promise.resolve();
        }
        return new Promise((resolve) => {
            // `timer` is declared before `done` uses it: Pulumi's closure serializer cannot
            // follow a reference to a const declared later in the same scope.
            let timer: NodeJS.Timeout | undefined = undefined;
            const done = () => {
                clearTimeout(timer);
                this.resolve = undefined;
                this.pending = false;
                resolve();
            };
            timer = setTimeout(done, Math.max(0, ms));
            this.resolve = done;
        });
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isGone(err: unknown): boolean {
    if (statusCode(err) === 410) {
        return true;
    }
    const s = err as { code?: unknown; reason?: unknown } | undefined;
    return s?.code === 410 || s?.reason === "Expired" || s?.reason === "Gone";
}

export class WatchedList<T extends KubeObject> {
    readonly items: Map<string, T>;
    /** Counters for logs and the bench. */
    readonly stats: { lists: number; watches: number; events: number; relistsAfterGone: number };
    /** A non-transient watch or list failure (403, 404 on the path): waiters should give up. */
    fatal?: Error;

    private resourceVersion?: string;
    private stopped: boolean;
    private controller?: AbortController;
    private loop?: Promise<void>;

    constructor(private readonly opts: WatchedListOptions<T>) {
        this.items = new Map();
        this.stats = { lists: 0, watches: 0, events: 0, relistsAfterGone: 0 };
        this.stopped = false;
    }

    /** Lists once (so `items` is filled when this resolves), then watches in the background. */
    async start(): Promise<void> {
        await this.relist();
        this.loop = this.run();
    }

    /** Stops watching. The cache keeps its last contents. */
    async stop(): Promise<void> {
        this.stopped = true;
        this.controller?.abort();
        await this.loop;
    }

    values(): T[] {
        return [...this.items.values()];
    }

    private key(obj: T): string {
        return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
    }

    private async relist(): Promise<void> {
        const res = await withRetry(`list ${this.opts.what}`, this.opts.list);
        this.stats.lists++;
        this.items.clear();
        for (const item of res.items) {
            this.items.set(this.key(item), item);
        }
        this.resourceVersion = res.metadata?.resourceVersion;
        this.opts.onChange?.();
    }

    private async run(): Promise<void> {
        let backoffMs = 200;
        let needList = false;
        while (!this.stopped) {
            try {
                if (needList) {
                    needList = false;
                    await this.relist();
                }
                const err = await this.watchOnce();
                if (this.stopped) {
                    return;
                }
                if (err === undefined) {
                    backoffMs = 200;
                    continue; // the server closed the watch at its timeout: re-watch
                }
                if (isGone(err)) {
                    this.stats.relistsAfterGone++;
                    needList = true;
                    continue;
                }
                if (!isTransient(err) && statusCode(err) !== undefined) {
                    throw err;
                }
                console.error(`watch ${this.opts.what}: ${describe(err)}; re-watching`);
            } catch (err) {
                if (this.stopped) {
                    return;
                }
                // An HTTP answer such as 403 or 404 will not fix itself: tell the waiter. Anything
                // else (dropped connection, throttling) is retried after a re-list.
                if (statusCode(err) !== undefined && !isTransient(err)) {
                    // A refused watch has no body: the path says what was refused.
                    const forbidden = forbiddenMessage(
                        err,
                        hintFromApiPath(this.opts.path, "watch"),
                    );
                    this.fatal = new Error(
                        `watch ${this.opts.what} failed: ${forbidden ?? describe(err)}`,
                        { cause: err },
                    );
                    this.opts.onChange?.();
                    return;
                }
                needList = true;
            }
            await sleep(backoffMs);
            backoffMs = Math.min(backoffMs * 2, 5000);
        }
    }

    /** One watch request. Resolves with undefined on a clean close, else with the error. */
    private watchOnce(): Promise<unknown> {
        this.stats.watches++;
        return new Promise<unknown>((resolve) => {
            let gone: unknown;
            let silent = false;
            const timeoutSeconds = this.opts.timeoutSeconds ?? 60;
            // The server ends each watch after timeoutSeconds. If it does not (a connection that
            // died without a FIN), abort ourselves a little later and re-watch.
            const guard = setTimeout(
                () => {
                    silent = true;
                    this.controller?.abort();
                },
                (timeoutSeconds + 15) * 1000,
            );
            const query = {
                resourceVersion: this.resourceVersion,
                allowWatchBookmarks: true,
                labelSelector: this.opts.labelSelector,
                fieldSelector: this.opts.fieldSelector,
                timeoutSeconds,
            };
            const onEvent = (phase: string, raw: unknown) => {
                const obj = raw as T;
                this.stats.events++;
                if (phase === "ERROR") {
                    // An expired resourceVersion arrives as an ERROR event carrying a Status.
                    gone = raw;
                    this.controller?.abort();
                    return;
                }
                const rv = obj?.metadata?.resourceVersion;
                if (rv) {
                    this.resourceVersion = rv;
                }
                if (phase === "BOOKMARK") {
                    return;
                }
                if (phase === "DELETED") {
                    this.items.delete(this.key(obj));
                } else {
                    this.items.set(this.key(obj), obj);
                }
                this.opts.onChange?.();
            };
            const onDone = (err: unknown) => {
                clearTimeout(guard);
                if (gone !== undefined) {
                    resolve(
                        isGone(gone) ? gone : new Error(`watch error event: ${describe(gone)}`),
                    );
                } else if (this.stopped || silent) {
                    resolve(undefined);
                } else {
                    resolve(err ?? undefined);
                }
            };
            this.opts.watch.watch(this.opts.path, query, onEvent, onDone).then(
                (controller) => {
                    this.controller = controller;
                    if (this.stopped) {
                        controller.abort();
                    }
                },
                (err) => {
                    clearTimeout(guard);
                    resolve(err);
                },
            );
        });
    }
}

function describe(err: unknown): string {
    if (err instanceof Error) {
        return err.message;
    }
    try {
        return JSON.stringify(err);
    } catch {
        return String(err);
    }
}
