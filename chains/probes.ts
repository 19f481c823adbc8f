/**
 * Probe builders shared by the adapters.
 *
 * Readiness means "in sync": the node's Service endpoints, the height gate and the traffic switch
 * all read it. Liveness means only "the process answers", so a node that takes days to sync is
 * never restarted for being behind. A startup probe covers the time before the RPC first answers
 * (opening or replaying a large store can take hours), and liveness starts counting only after it.
 */
import type { ProbeSpec } from "./types";

/** How often readiness is checked, and how many misses in a row make a pod unready. */
export const READINESS_PERIOD_SECONDS = 10;
export const READINESS_FAILURE_THRESHOLD = 3;
/** A wedged process is restarted after LIVENESS_PERIOD × LIVENESS_FAILURES (5 minutes). */
export const LIVENESS_PERIOD_SECONDS = 30;
export const LIVENESS_FAILURE_THRESHOLD = 10;
/** The RPC may take up to STARTUP_PERIOD × STARTUP_FAILURES (24 hours) to first answer. */
export const STARTUP_PERIOD_SECONDS = 10;
export const STARTUP_FAILURE_THRESHOLD = 8640;
/** Seconds one HTTP call of a probe may take; the probe's own timeout is a little longer. */
export const PROBE_HTTP_TIMEOUT_SECONDS = 5;

const HTTP_GET_TIMING = {
    liveness: {
        periodSeconds: LIVENESS_PERIOD_SECONDS,
        failureThreshold: LIVENESS_FAILURE_THRESHOLD,
    },
    startup: { periodSeconds: STARTUP_PERIOD_SECONDS, failureThreshold: STARTUP_FAILURE_THRESHOLD },
};

/** An httpGet liveness or startup probe on the named container port. */
export function httpGetProbe(path: string, port: string, kind: "liveness" | "startup"): ProbeSpec {
    return {
        httpGet: { path, port },
        timeoutSeconds: PROBE_HTTP_TIMEOUT_SECONDS,
        successThreshold: 1,
        ...HTTP_GET_TIMING[kind],
    };
}

/** An httpGet readiness probe (Avalanche's health answers 503 until the node is healthy). */
export function httpGetReadinessProbe(path: string, port: string): ProbeSpec {
    return {
        httpGet: { path, port },
        timeoutSeconds: PROBE_HTTP_TIMEOUT_SECONDS,
        periodSeconds: READINESS_PERIOD_SECONDS,
        failureThreshold: READINESS_FAILURE_THRESHOLD,
        successThreshold: 1,
    };
}

/**
 * A POSIX sh script that passes only when a CometBFT-style `/status` on localhost says the node
 * is in sync: it answers, `catching_up` is false and `latest_block_height` is above 0 (a fresh
 * node reports false at height 0 before it has peers; Sei's controller also requires a height).
 *
 * Node images rarely ship jq and some lack curl (Sei's use busybox wget), so the script tries
 * curl, then wget, and reads the JSON with grep and sed. The patterns allow whitespace around
 * `:` so compact and pretty-printed bodies both work, and they do not depend on the JSON-RPC
 * envelope, which Sei's fork sometimes leaves out. Exit 0 means ready; anything else is unready,
 * with the reason on stderr (kubelet records it in the pod's events).
 *
 * wget gets no -T: busybox 1.35 as Debian ships it crashes on that flag (seen while testing this
 * probe). The probe's timeoutSeconds bounds the call either way.
 */
export function statusProbeScript(port: number): string {
    const url = `http://127.0.0.1:${port}/status`;
    const t = PROBE_HTTP_TIMEOUT_SECONDS;
    return [
        `url='${url}'`,
        "if command -v curl >/dev/null 2>&1; then",
        `    body=$(curl -fsS --max-time ${t} "$url") || exit 1`,
        "elif command -v wget >/dev/null 2>&1; then",
        `    body=$(wget -q -O - "$url") || exit 1`,
        "else",
        "    echo 'readiness: neither curl nor wget is in the image' >&2",
        "    exit 1",
        "fi",
        `if ! printf '%s\\n' "$body" | grep -Eq '"catching_up"[[:space:]]*:[[:space:]]*false'; then`,
        "    echo 'readiness: node is catching up' >&2",
        "    exit 1",
        "fi",
        `height=$(printf '%s\\n' "$body" | sed -n 's/.*"latest_block_height"[[:space:]]*:[[:space:]]*"\\{0,1\\}\\([0-9][0-9]*\\).*/\\1/p' | head -n 1)`,
        `if [ -z "$height" ] || [ "$height" -eq 0 ]; then`,
        `    echo "readiness: no block yet (latest_block_height '\${height}')" >&2`,
        "    exit 1",
        "fi",
    ].join("\n");
}

/** An exec readiness probe running `statusProbeScript` with /bin/sh. */
export function statusExecReadinessProbe(port: number): ProbeSpec {
    return {
        exec: { command: ["/bin/sh", "-c", statusProbeScript(port)] },
        // Two HTTP timeouts: the call itself plus slack for a slow fork/exec on a busy node.
        timeoutSeconds: 2 * PROBE_HTTP_TIMEOUT_SECONDS,
        periodSeconds: READINESS_PERIOD_SECONDS,
        failureThreshold: READINESS_FAILURE_THRESHOLD,
        successThreshold: 1,
    };
}
