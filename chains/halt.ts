/**
 * Running a node that halts on purpose inside a Kubernetes Job.
 *
 * A Job completes only when its container exits 0, but seid ends a deliberate halt with exit 130
 * (research/operators.md §2 SEI (b)). The wrapper below maps the halt codes to 0 and passes every
 * other code through, so the bootstrap wait can trust the Job's Complete and Failed conditions.
 *
 * The node runs as a child of sh, not exec'd, because sh has to see its exit code. sh is PID 1,
 * and PID 1 ignores SIGTERM unless it traps it, so the wrapper traps TERM and INT and forwards
 * them: deleting the Job's pod still stops the node gracefully. The wait loop repeats because a
 * trapped signal interrupts `wait` before the child has exited.
 *
 * An asynchronous child of a non-interactive shell starts with SIGINT ignored. seid still halts
 * with 130: the Cosmos SDK asks for SIGINT with Go's signal.Notify, which installs a handler even
 * for an ignored signal, then exits with 128 + the signal number.
 *
 * A node that was stopped is not a node that halted, whatever its exit code: seid exits 0 on
 * SIGTERM (sei-cosmos server/start.go waits for the signal, then returns nil), so an evicted or
 * deleted bootstrap pod would otherwise count as a halt and the next step would start the new
 * image below the upgrade height. The signals that stop a pod reach the wrapper (PID 1) first,
 * so it remembers that it forwarded one and then exits 128 + that signal instead.
 */

/** The $0 of the wrapper script, so `ps` shows what the shell is for. */
export const HALT_WRAPPER_NAME = "chainfleet-halt-wrapper";

export function haltWrapperScript(haltExitCodes: readonly number[]): string {
    if (
        haltExitCodes.length === 0 ||
        !haltExitCodes.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)
    ) {
        throw new Error(
            `haltExitCodes must list exit codes (integers 0-255), got ${JSON.stringify(haltExitCodes)}`,
        );
    }
    const codes = haltExitCodes.join("|");
    return [
        '"$@" &',
        "pid=$!",
        "stopped_by=",
        `trap 'stopped_by=TERM; kill -TERM "$pid" 2>/dev/null' TERM`,
        `trap 'stopped_by=INT; kill -INT "$pid" 2>/dev/null' INT`,
        "while :; do",
        '    wait "$pid"',
        "    rc=$?",
        '    kill -0 "$pid" 2>/dev/null || break',
        "done",
        'if [ -n "$stopped_by" ]; then',
        `    echo "${HALT_WRAPPER_NAME}: node stopped by SIG$stopped_by (exit $rc), not a halt" >&2`,
        '    [ "$stopped_by" = TERM ] && exit 143',
        "    exit 130",
        "fi",
        'case "$rc" in',
        `    ${codes}) echo "${HALT_WRAPPER_NAME}: node halted on purpose (exit $rc)"; exit 0 ;;`,
        "esac",
        'exit "$rc"',
    ].join("\n");
}

/**
 * Wrap `argv` so that a halt exits 0. The node's own argv goes into `args`, so anything a caller
 * appends to `args` still reaches the node.
 */
export function exitZeroOnHalt(
    argv: readonly string[],
    haltExitCodes: readonly number[],
): { command: string[]; args: string[] } {
    return {
        command: ["/bin/sh", "-c", haltWrapperScript(haltExitCodes), HALT_WRAPPER_NAME],
        args: [...argv],
    };
}
