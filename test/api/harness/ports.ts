/**
 * Loopback ports for the test tiers' own servers (CometBFT nodes, the local registry).
 *
 * A port from `listen(0)` lies in the kernel's ephemeral range (32768–60999 here), which is also
 * where every outgoing connection gets its local port: between our probe closing the port and
 * the child process binding it, a connection of the Pulumi engine, kube-apiserver or etcd may
 * take it, and the child dies with "address already in use" (it did, in CI: a CometBFT
 * validator that never answered). So test servers get ports below that range, above the local
 * cluster's fixed ports (12379, 16443, 20247–20281, see scripts/cluster.sh), each checked free on
 * 127.0.0.1 and never handed out twice by one process.
 */
import * as net from "node:net";

const FIRST = 21000;
const LAST = 32000;
// A random start, so two test processes started together rarely probe the same ports.
let cursor = FIRST + Math.floor(Math.random() * (LAST - FIRST));

function bindable(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
}

/** A port outside the ephemeral range that is free on 127.0.0.1 now, never returned before. */
export async function freePort(): Promise<number> {
    for (let tries = 0; tries < LAST - FIRST; tries++) {
        const port = cursor;
        cursor = cursor + 1 >= LAST ? FIRST : cursor + 1;
        if (await bindable(port)) {
            return port;
        }
    }
    throw new Error(`no free port on 127.0.0.1 in ${FIRST}–${LAST - 1}`);
}
