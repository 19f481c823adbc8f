#!/usr/bin/env node
/**
 * Entry point of the bootstrap monitor: wires the real Kubernetes client, registry client and
 * chain adapter into the commands, and turns failures into one log line and an exit code.
 */
import { promises as fs } from "node:fs";
import { adapterFor } from "../chains";
import { kubeClients } from "../kube/kube";
import { EXIT } from "./constants";
import { MonitorDeps, runInit } from "./init";
import { MonitorKube } from "./kubeOps";
import { jsonLogger } from "./log";
import type { CommonOptions } from "./options";
import { runCli } from "./program";
import { RegistryClient } from "./registry";
import { parseDockerConfig } from "./registryAuth";
import { runWait } from "./wait";

async function deps(opts: CommonOptions, component: string): Promise<MonitorDeps> {
    const log = jsonLogger(component);
    let auths;
    if (opts.registryAuthFile) {
        const source = `--registry-auth-file ${opts.registryAuthFile}`;
        let content: string;
        try {
            content = await fs.readFile(opts.registryAuthFile, "utf8");
        } catch (err) {
            throw new Error(
                `${source} cannot be read (${(err as NodeJS.ErrnoException).code}); mount the dockerconfigjson Secret there or drop the flag`,
            );
        }
        auths = parseDockerConfig(content, source);
    }
    return {
        kube: new MonitorKube(
            kubeClients(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
            { namespace: opts.namespace, podName: opts.podName, statefulSet: opts.statefulSet },
            log,
        ),
        registry: new RegistryClient({
            auths,
            authSource: opts.registryAuthFile && `--registry-auth-file ${opts.registryAuthFile}`,
            plainHttpHosts: opts.plainHttpRegistries,
        }),
        adapter: adapterFor(opts.chain),
        log,
    };
}

async function main(): Promise<number> {
    // The kubelet stops containers with SIGTERM; leave at once (a monitor holds no state that
    // needs flushing: the details file is written atomically, results with a precondition).
    process.once("SIGTERM", () => process.exit(EXIT.podReplaced));
    return runCli(process.argv.slice(2), {
        init: async (opts) => runInit(opts, await deps(opts, "init")),
        wait: async (opts) => runWait(opts, await deps(opts, "wait-for-completion")),
    });
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        jsonLogger("monitor").error((err as Error).message ?? String(err));
        process.exit(EXIT.failed);
    },
);
