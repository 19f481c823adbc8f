/**
 * Structured logs: one JSON object a line on stdout, so `kubectl logs` stays readable and log
 * pipelines can index the fields (digest, duration, disk usage) without parsing prose.
 */

export type Fields = Record<string, unknown>;

export interface Logger {
    info(msg: string, fields?: Fields): void;
    warn(msg: string, fields?: Fields): void;
    error(msg: string, fields?: Fields): void;
}

export function jsonLogger(
    component: string,
    write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    now: () => Date = () => new Date(),
): Logger {
    const log =
        (level: string) =>
        (msg: string, fields: Fields = {}) =>
            write(JSON.stringify({ time: now().toISOString(), level, component, msg, ...fields }));
    return { info: log("info"), warn: log("warn"), error: log("error") };
}
