/** Human forms of bytes and durations, as the monitor's logs and the results table show them. */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatBytes(bytes: number): string {
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
        value /= 1024;
        unit++;
    }
    return unit === 0 ? `${value}B` : `${value.toFixed(1)}${UNITS[unit]}`;
}

/** `93784` → `1d2h3m4s`; zero parts are left out. */
export function formatDuration(seconds: number): string {
    let rest = Math.max(0, Math.floor(seconds));
    const parts: string[] = [];
    for (const [unit, size] of [
        ["d", 86400],
        ["h", 3600],
        ["m", 60],
    ] as const) {
        if (rest >= size) {
            parts.push(`${Math.floor(rest / size)}${unit}`);
            rest %= size;
        }
    }
    if (rest > 0 || parts.length === 0) {
        parts.push(`${rest}s`);
    }
    return parts.join("");
}
