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
import { DEFAULTS } from "../lib/defaults";
import { DNS_NAME, InputChecker, SettledInput, isSettled, isUnknown } from "./common";
import { deleteBootstrapJob, jobName, runBootstrap } from "./bootstrapRun";
import { ProviderInputs, ResourceArgs, defineProvider } from "./kit";

/** Bump when the bootstrap's behaviour changes, so stacks pick up the new code. */
export const BOOTSTRAP_VERSION = "1";

export {
    BOOTSTRAPPED_HEIGHT_ANNOTATION,
    JOB_HALT_HEIGHT_ANNOTATION,
    JOB_SPEC_HASH_ANNOTATION,
} from "./constants";

export const BOOTSTRAP_DEFAULTS = {
    haltExitCodes: [] as number[],
    deadlineSeconds: DEFAULTS.bootstrapSeconds as number,
    logTailLines: 30,
};

/** Constructor arguments: every input may be an Output; defaulted ones may be left out. */
export type BootstrapArgs = ResourceArgs<BootstrapInputs, keyof typeof BOOTSTRAP_DEFAULTS>;
export type BootstrapOutputs = BootstrapInputs & BootstrapResult;

export interface BootstrapInputs extends ProviderInputs, SettledInput {
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
}

/** What the bootstrap did: its outputs besides its inputs. */
export interface BootstrapResult {
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

/** The bootstrap's own input checks (kit.ts checks kube access and `settled`). */
function checkBootstrapInputs(c: InputChecker, inputs: Obj): void {
    c.string("namespace", { pattern: DNS_NAME, hint: "use the entrant's namespace" });
    c.string("pvcName", { pattern: DNS_NAME, hint: "name the entrant's data PVC" });
    c.string("container", { optional: true });
    c.integer("haltHeight", { min: 1 });
    c.integerList("haltExitCodes", { min: 0, max: 255 });
    c.integer("deadlineSeconds", { min: 1 });
    c.integer("logTailLines", { min: 0, max: 1000 });
    if (!isSettled(inputs)) {
        checkJob(c, inputs.job, inputs.pvcName);
    }
}

const bootstrap = defineProvider<BootstrapInputs, BootstrapResult, BootstrapArgs>(
    {
        type: "Bootstrap",
        version: BOOTSTRAP_VERSION,
        defaults: BOOTSTRAP_DEFAULTS,
        triggers: TRIGGERS,
        outputs: ["bootstrappedHeight", "how", "exitCode", "completedAt"],
    },
    {
        check: checkBootstrapInputs,
        run: runBootstrap,
        id: (inputs: BootstrapInputs) =>
            `${inputs.namespace}/${inputs.pvcName}@${inputs.haltHeight}`,
        settled: (inputs: BootstrapInputs): BootstrapResult => ({
            bootstrappedHeight: inputs.haltHeight,
            how: "settled",
            exitCode: -1,
            completedAt: new Date().toISOString(),
        }),
        // A different Job name leaves the old Job behind; remove it (it is ours) before running.
        beforeUpdate: async (olds: BootstrapInputs, news: BootstrapInputs) => {
            if (jobName(olds) && jobName(olds) !== jobName(news)) {
                await deleteBootstrapJob(olds);
            }
        },
        delete: deleteBootstrapJob,
    },
);
export const Bootstrap = bootstrap.Resource;
export type Bootstrap = InstanceType<typeof Bootstrap>;
export const { check: checkBootstrap, provider: bootstrapProvider } = bootstrap;
