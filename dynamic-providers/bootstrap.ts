/**
 * Bootstrap: runs a Job that brings an entrant's volume to the halt height with the *incumbent*
 * image (hard fork via bootstrap, seeds/001), and returns once the node halted there.
 *
 * - Already done (the PVC carries `chainfleet.io/bootstrapped-height: <haltHeight>`): success at
 *   once, after removing a Job an interrupted run may have left.
 * - Otherwise the Job is created if absent (an existing one from an interrupted run with the same
 *   spec is resumed, not restarted) and watched: success on Complete or on a halt exit code, fast
 *   failure on Failed with the exit code and the last log lines.
 * - On success the PVC is annotated first, then the Job is deleted (Foreground, so its pods are
 *   gone before the entrant StatefulSet mounts the volume). The volume itself is never touched.
 * - On the deadline the Job keeps running, so the next `pulumi up` resumes it.
 * - Settled (the fork is over; common.ts `diffRecord`): returns at once; no Job is needed.
 * - Delete removes our Job if it is still there and leaves the PVC alone.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    DNS_NAME,
    InputChecker,
    KubeAccessInputs,
    SettledInput,
    checkSettled,
    diffRecord,
    isSettled,
    isUnknown,
    plainOutputs,
} from "./common";
import { deleteBootstrapJob, jobName, runBootstrap } from "./bootstrapRun";

/** Bump when the bootstrap's behaviour changes, so stacks pick up the new code. */
export const BOOTSTRAP_VERSION = "1";

export {
    BOOTSTRAPPED_HEIGHT_ANNOTATION,
    JOB_HALT_HEIGHT_ANNOTATION,
    JOB_SPEC_HASH_ANNOTATION,
} from "./constants";

export const BOOTSTRAP_DEFAULTS = {
    haltExitCodes: [] as number[],
    deadlineSeconds: 6 * 3600,
    logTailLines: 30,
};

export interface BootstrapInputs extends KubeAccessInputs, SettledInput {
    namespace: string;
    /**
     * A batch/v1 Job manifest (plain object) that runs the incumbent image with the halt height
     * and mounts `pvcName`. `metadata.name` is required; the namespace is set to `namespace`.
     * Its pods must use restartPolicy Never; backoffLimit 0 is recommended. Not needed (and
     * ignored) when settled.
     */
    job?: Record<string, unknown>;
    /** The entrant's data volume; only ever annotated, never modified otherwise. */
    pvcName: string;
    /** The height the node halts at (the HardFork flow passes H-1). */
    haltHeight: number;
    /** Exit codes that mean "halted on purpose", besides 0 (Sei: 130). */
    haltExitCodes: number[];
    /** The container running the node, when the pod has several. Defaults to the first. */
    container?: string;
    /** Give up after this long (the Job keeps running for the next attempt). */
    deadlineSeconds: number;
    /** Log lines quoted when the Job fails. */
    logTailLines: number;
    providerVersion: string;
}

export interface BootstrapOutputs extends BootstrapInputs {
    /** The height recorded on the PVC. */
    bootstrappedHeight: number;
    /**
     * "job" when this run waited for a Job, "alreadyDone" when the PVC was annotated, "settled"
     * when the record was declared after the fork.
     */
    how: "job" | "alreadyDone" | "settled";
    /** The exit code that counted as success (0 for Complete), -1 when already done. */
    exitCode: number;
    completedAt: string;
}

const TRIGGERS: readonly (keyof BootstrapInputs)[] = [
    "namespace",
    "job",
    "pvcName",
    "haltHeight",
    "haltExitCodes",
    "container",
    "providerVersion",
];

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined =>
    v && typeof v === "object" && !Array.isArray(v) && !isUnknown(v) ? (v as Obj) : undefined;

/** Checks the Job manifest: the parts the bootstrap relies on. Unknown parts are skipped. */
function checkJob(c: InputChecker, job: unknown, pvcName: unknown): void {
    const j = asObj(job);
    if (job === undefined || job === null) {
        c.fail("job", "required; pass the bootstrap Job manifest (batch/v1 Job) as a plain object");
        return;
    }
    if (!j) {
        if (!isUnknown(job)) {
            c.fail("job", "must be a Job manifest object");
        }
        return;
    }
    const name = asObj(j.metadata)?.name;
    if (name === undefined && !isUnknown(asObj(j.metadata)?.name)) {
        c.fail("job.metadata.name", "required: the bootstrap finds and resumes its Job by name");
    } else if (typeof name === "string" && !DNS_NAME.test(name)) {
        c.fail("job.metadata.name", `"${name}" is not a valid Kubernetes name`);
    }
    const podSpec = asObj(asObj(asObj(j.spec)?.template)?.spec);
    if (!podSpec) {
        if (!isUnknown(j.spec)) {
            c.fail("job.spec.template.spec", "required: the pod that runs the incumbent image");
        }
        return;
    }
    const policy = podSpec.restartPolicy;
    if (policy !== "Never" && !isUnknown(policy)) {
        c.fail(
            "job.spec.template.spec.restartPolicy",
            `must be "Never", got ${JSON.stringify(policy)}: with OnFailure the kubelet restarts a node that halted on purpose, in place, forever`,
        );
    }
    const volumes = podSpec.volumes;
    if (Array.isArray(volumes) && typeof pvcName === "string") {
        const mounts = volumes.some(
            (v) =>
                isUnknown(v) ||
                isUnknown(asObj(asObj(v)?.persistentVolumeClaim)?.claimName) ||
                asObj(asObj(v)?.persistentVolumeClaim)?.claimName === pvcName,
        );
        if (!mounts) {
            c.fail(
                "job.spec.template.spec.volumes",
                `no volume mounts PVC "${pvcName}"; the Job must run on the volume it bootstraps`,
            );
        }
    } else if (!isUnknown(volumes) && typeof pvcName === "string") {
        c.fail(
            "job.spec.template.spec.volumes",
            `missing; add a volume with persistentVolumeClaim.claimName "${pvcName}"`,
        );
    }
}

export function checkBootstrap(news: Obj): pulumi.dynamic.CheckResult<BootstrapInputs> {
    const inputs = {
        ...BOOTSTRAP_DEFAULTS,
        ...Object.fromEntries(Object.entries(news).filter(([, v]) => v != null)),
    } as Obj;
    const c = new InputChecker(inputs, "Bootstrap");
    c.string("kubeconfig", { optional: true });
    c.string("context", { optional: true });
    c.string("namespace", { pattern: DNS_NAME, hint: "use the entrant's namespace" });
    c.string("pvcName", { pattern: DNS_NAME, hint: "name the entrant's data PVC" });
    c.string("container", { optional: true });
    c.integer("haltHeight", { min: 1 });
    c.integerList("haltExitCodes", { min: 0, max: 255 });
    c.integer("deadlineSeconds", { min: 1 });
    c.integer("logTailLines", { min: 0, max: 1000 });
    checkSettled(c, inputs);
    if (!isSettled(inputs)) {
        checkJob(c, inputs.job, inputs.pvcName);
    }
    inputs.providerVersion = BOOTSTRAP_VERSION;
    return { inputs: inputs as unknown as BootstrapInputs, failures: c.failures };
}

async function bootstrapOrSettle(inputs: BootstrapInputs): ReturnType<typeof runBootstrap> {
    if (isSettled(inputs)) {
        return {
            bootstrappedHeight: inputs.haltHeight,
            how: "settled",
            exitCode: -1,
            completedAt: new Date().toISOString(),
        };
    }
    return runBootstrap(inputs);
}

export const bootstrapProvider: pulumi.dynamic.ResourceProvider<BootstrapInputs, BootstrapOutputs> =
    {
        async check(_olds, news) {
            return checkBootstrap(news as unknown as Obj);
        },
        async diff(_id, olds, news) {
            return diffRecord(olds as unknown as Obj, news as unknown as Obj, TRIGGERS);
        },
        async create(inputs) {
            const result = await bootstrapOrSettle(inputs);
            return {
                id: `${inputs.namespace}/${inputs.pvcName}@${inputs.haltHeight}`,
                outs: plainOutputs({ ...inputs, ...result }),
            };
        },
        async update(_id, olds, news) {
            // A different Job name leaves the old Job behind; remove it (it is ours) before running.
            if (jobName(olds) && jobName(olds) !== jobName(news)) {
                await deleteBootstrapJob(olds);
            }
            const result = await bootstrapOrSettle(news);
            return { outs: plainOutputs({ ...news, ...result }) };
        },
        async delete(_id, props) {
            await deleteBootstrapJob(props);
        },
    };

type Defaulted = keyof typeof BOOTSTRAP_DEFAULTS;
type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export type BootstrapArgs = Inputify<
    Omit<BootstrapInputs, Defaulted | "providerVersion"> & Partial<Pick<BootstrapInputs, Defaulted>>
>;

export class Bootstrap extends pulumi.dynamic.Resource {
    declare readonly bootstrappedHeight: pulumi.Output<number>;
    declare readonly how: pulumi.Output<BootstrapOutputs["how"]>;
    declare readonly exitCode: pulumi.Output<number>;
    declare readonly completedAt: pulumi.Output<string>;

    constructor(name: string, args: BootstrapArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            bootstrapProvider,
            name,
            {
                ...args,
                providerVersion: BOOTSTRAP_VERSION,
                bootstrappedHeight: undefined,
                how: undefined,
                exitCode: undefined,
                completedAt: undefined,
            },
            opts,
            "upgrade",
            "Bootstrap",
        );
    }
}
