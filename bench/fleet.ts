/**
 * Evaluates the whole program under mocks for one fleet size, in its own process so that peak
 * memory belongs to that size alone, and prints one JSON line: `npm run bench` runs it per size.
 */
import * as pulumi from "@pulumi/pulumi";
import { performance } from "node:perf_hooks";

const groups = Number(process.argv[2] ?? "1");
const replicas = 3;

async function main(): Promise<void> {
    let registered = 0;
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered++;
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        "chainfleet",
        "bench",
    );
    const { parseStackConfig } = await import("../config");
    const { declareFleet } = await import("../components/Fleet");
    const raw = {
        network: "bench",
        chain: "sei",
        chainId: "atlantic-2",
        groups: Object.fromEntries(
            Array.from({ length: groups }, (_, i) => [
                `g${i}`,
                {
                    replicas,
                    image: `ghcr.io/sei-protocol/sei:v6.${i % 7}.0`,
                    storage: { size: "2Ti" },
                    update: { strategy: i % 2 === 0 ? "BlueGreen" : "Rolling" },
                },
            ]),
        ),
    };

    const start = performance.now();
    const config = parseStackConfig(raw);
    const validated = performance.now();
    const fleet = declareFleet(config.network, { config });
    await new Promise<void>((resolve) => fleet.urn.apply(() => resolve()));
    // Wait until registrations stop arriving: children register asynchronously.
    let last = -1;
    while (registered !== last) {
        last = registered;
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const end = performance.now();
    console.log(
        JSON.stringify({
            groups,
            validateMs: validated - start,
            totalMs: end - start,
            resources: registered,
            peakRssMiB: process.resourceUsage().maxRSS / 1024,
        }),
    );
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
