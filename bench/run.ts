/**
 * `npm run bench`: program evaluation per fleet size (1, 10, 100, 1000 groups of 3 replicas),
 * each size in a fresh process, with the growth factor between sizes set beside the size ratio.
 * The smallest size is the baseline measured in the same run; linear growth shows as a time
 * factor near the size factor. Gate and switch benchmarks run after it when present: against
 * the local cluster (bench/gates.ts) and, through the pod proxy, on its real node
 * (bench/gatesPodProxy.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

interface Row {
    groups: number;
    validateMs: number;
    totalMs: number;
    resources: number;
    peakRssMiB: number;
}

const sizes = (process.env.BENCH_SIZES ?? "1,10,100,1000").split(",").map(Number);
const rows: Row[] = sizes.map((n) => {
    const out = execFileSync(
        process.execPath,
        ["-r", "ts-node/register", "bench/fleet.ts", String(n)],
        {
            encoding: "utf8",
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
        },
    );
    return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Row;
});

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log("\nProgram evaluation under mocks (3 replicas per group)");
console.log(
    `${pad("groups", 7)} ${pad("resources", 10)} ${pad("validate ms", 12)} ${pad("total ms", 10)} ${pad("ms/group", 9)} ${pad("peak RSS MiB", 13)} ${pad("time factor", 12)} ${pad("size factor", 12)}`,
);
rows.forEach((row, i) => {
    const prev = rows[i - 1];
    const timeFactor = prev ? (row.totalMs / prev.totalMs).toFixed(1) : "baseline";
    const sizeFactor = prev ? (row.groups / prev.groups).toFixed(1) : "";
    console.log(
        `${pad(row.groups, 7)} ${pad(row.resources, 10)} ${pad(row.validateMs.toFixed(1), 12)} ${pad(row.totalMs.toFixed(0), 10)} ${pad((row.totalMs / row.groups).toFixed(2), 9)} ${pad(row.peakRssMiB.toFixed(0), 13)} ${pad(timeFactor, 12)} ${pad(sizeFactor, 12)}`,
    );
});
const largest = rows[rows.length - 1];
console.log(
    `\n${largest.groups} groups evaluated in ${(largest.totalMs / 1000).toFixed(2)} s (aim: well under 10 s).`,
);

for (const extra of ["bench/gates.ts", "bench/gatesPodProxy.ts"]) {
    if (existsSync(extra)) {
        execFileSync(process.execPath, ["-r", "ts-node/register", extra], { stdio: "inherit" });
    }
}
