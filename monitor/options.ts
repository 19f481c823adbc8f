/** The monitor's options after parsing, and their defaults. */
import type { ChainKind } from "../chains/types";
import { MONITOR_DEFAULTS, type SyncMode } from "../lib/bootstrapTest";

export const DEFAULTS = MONITOR_DEFAULTS;

/** Options `init` and `wait-for-completion` share. */
export interface CommonOptions {
    namespace: string;
    podName: string;
    statefulSet: string;
    nodeContainer: string;
    /** Init containers that run the node's image (the home preparation): pinned with it. */
    nodeInitContainers: string[];
    chain: ChainKind;
    /**
     * The data volume's mount point, the node's home: holds the details file beside the node's
     * files. What a new test removes from it is the chain's (chainSettings.ts `freshStart`).
     */
    dataDir: string;
    syncMode: SyncMode;
    /** The tag whose digests are tested. */
    followImage: string;
    /** A dockerconfigjson file (a mounted `kubernetes.io/dockerconfigjson` Secret). */
    registryAuthFile?: string;
    /** Registries to reach over plain HTTP (loopback ones always are). */
    plainHttpRegistries: string[];
    kubeconfig?: string;
    terminationWaitSeconds: number;
}

export type InitOptions = CommonOptions;

export interface WaitOptions extends CommonOptions {
    checkIntervalSeconds: number;
    pollTagIntervalSeconds: number;
    /** Defaults to `<statefulSet>-results`. */
    resultsConfigMap: string;
    keepLast: number;
    /** Node container restarts (in one pod) after which the test counts as failed. */
    maxNodeRestarts: number;
    /** How old the node's newest block may be for the test to complete. */
    maxBlockAgeSeconds: number;
    /** Overrides the adapter's status URL on 127.0.0.1. */
    statusUrl?: string;
}

export function defaultResultsConfigMap(statefulSet: string): string {
    return `${statefulSet}-results`;
}
