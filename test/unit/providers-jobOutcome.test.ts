import * as assert from "node:assert/strict";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { classifyJob, podExit } from "../../dynamic-providers/jobOutcome";

const job = (...conditions: [type: string, reason?: string, message?: string][]): V1Job => ({
    metadata: { name: "boot", uid: "u1" },
    status: {
        conditions: conditions.map(([type, reason, message]) => ({
            type,
            status: "True",
            reason,
            message,
        })),
    },
});

const pod = (
    name: string,
    phase: string,
    exit?: number,
    extra: { finishedAt?: string; reason?: string; message?: string; last?: boolean } = {},
): V1Pod => {
    const terminated =
        exit === undefined
            ? undefined
            : {
                  exitCode: exit,
                  reason: extra.reason,
                  message: extra.message,
                  finishedAt: extra.finishedAt as unknown as Date,
              };
    return {
        metadata: { name },
        status: {
            phase,
            containerStatuses: [
                {
                    name: "node",
                    image: "incumbent",
                    imageID: "",
                    ready: false,
                    restartCount: 0,
                    state: extra.last
                        ? { running: {} }
                        : terminated
                          ? { terminated }
                          : { running: {} },
                    lastState: extra.last && terminated ? { terminated } : undefined,
                },
            ],
        },
    };
};

describe("#bootstrap exit-code classification", () => {
    const cases: {
        name: string;
        job: V1Job | undefined;
        pods: V1Pod[];
        halt: number[];
        want: { state: string; exitCode?: number; pod?: string };
        reason?: RegExp;
    }[] = [
        {
            name: "no Job yet",
            job: undefined,
            pods: [],
            halt: [],
            want: { state: "pending" },
            reason: /not created/,
        },
        {
            name: "Job without pods",
            job: job(),
            pods: [],
            halt: [],
            want: { state: "pending" },
            reason: /no pod yet/,
        },
        {
            name: "pod running",
            job: job(),
            pods: [pod("p1", "Running")],
            halt: [],
            want: { state: "running" },
            reason: /p1 Running/,
        },
        {
            name: "Complete",
            job: job(["Complete"]),
            pods: [],
            halt: [],
            want: { state: "succeeded", exitCode: 0 },
        },
        {
            name: "exit 0 before the Job condition lands",
            job: job(),
            pods: [pod("p1", "Succeeded", 0)],
            halt: [],
            want: { state: "succeeded", exitCode: 0, pod: "p1" },
        },
        {
            name: "Sei halt: exit 130 counts as success although the Job Failed",
            job: job(["Failed", "BackoffLimitExceeded"]),
            pods: [pod("p1", "Failed", 130)],
            halt: [130],
            want: { state: "succeeded", exitCode: 130, pod: "p1" },
            reason: /exited 130 \(a halt exit code\)/,
        },
        {
            name: "exit 130 without 130 in haltExitCodes is a failure",
            job: job([
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ]),
            pods: [pod("p1", "Failed", 130)],
            halt: [],
            want: { state: "failed", exitCode: 130, pod: "p1" },
            reason: /BackoffLimitExceeded: Job has reached the specified backoff limit; pod p1 exited 130/,
        },
        {
            name: "exit 1 fails with the container's reason and message",
            job: job(["Failed", "BackoffLimitExceeded"]),
            pods: [
                pod("p1", "Failed", 1, {
                    reason: "Error",
                    message: "panic: store version mismatch\n",
                }),
            ],
            halt: [130],
            want: { state: "failed", exitCode: 1, pod: "p1" },
            reason: /pod p1 exited 1 \(Error: panic: store version mismatch\)/,
        },
        {
            name: "FailureTarget (pods still terminating) fails as well",
            job: job(["FailureTarget", "BackoffLimitExceeded"]),
            pods: [pod("p1", "Failed", 2)],
            halt: [130],
            want: { state: "failed", exitCode: 2 },
        },
        {
            name: "several attempts: the latest non-halt exit is reported",
            job: job(["Failed", "BackoffLimitExceeded"]),
            pods: [
                pod("p2", "Failed", 137, {
                    finishedAt: "2026-01-01T00:02:00Z",
                    reason: "OOMKilled",
                }),
                pod("p1", "Failed", 1, { finishedAt: "2026-01-01T00:01:00Z" }),
            ],
            halt: [130],
            want: { state: "failed", exitCode: 137, pod: "p2" },
            reason: /OOMKilled/,
        },
        {
            name: "a halt on a retry wins over an earlier failed attempt",
            job: job(),
            pods: [pod("p1", "Failed", 1), pod("p2", "Failed", 130)],
            halt: [130],
            want: { state: "succeeded", exitCode: 130, pod: "p2" },
        },
        {
            name: "DeadlineExceeded with no pod exit recorded",
            job: job([
                "Failed",
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            ]),
            pods: [],
            halt: [],
            want: { state: "failed" },
            reason: /DeadlineExceeded: Job was active longer/,
        },
        {
            name: "restartPolicy OnFailure: the exit lives in lastState",
            job: job(),
            pods: [pod("p1", "Running", 130, { last: true })],
            halt: [130],
            want: { state: "succeeded", exitCode: 130 },
        },
        {
            name: "pending pod shows its waiting reason",
            job: job(),
            pods: [
                {
                    metadata: { name: "p1" },
                    status: {
                        phase: "Pending",
                        containerStatuses: [
                            {
                                name: "node",
                                image: "i",
                                imageID: "",
                                ready: false,
                                restartCount: 0,
                                state: { waiting: { reason: "ImagePullBackOff" } },
                            },
                        ],
                    },
                },
            ],
            halt: [],
            want: { state: "pending" },
            reason: /p1 Pending \(ImagePullBackOff\)/,
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const got = classifyJob(c.job, c.pods, c.halt) as {
                state: string;
                exitCode?: number;
                pod?: string;
                reason: string;
            };
            assert.equal(got.state, c.want.state, got.reason);
            if ("exitCode" in c.want) {
                assert.equal(got.exitCode, c.want.exitCode);
            }
            if (c.want.pod) {
                assert.equal(got.pod, c.want.pod);
            }
            if (c.reason) {
                assert.match(got.reason, c.reason);
            }
        });
    }

    it("podExit picks the named container", () => {
        const p = pod("p1", "Failed", 3);
        p.status?.containerStatuses?.push({
            name: "sidecar",
            image: "s",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0 } },
        });
        assert.equal(podExit(p)?.exitCode, 3);
        assert.equal(podExit(p, "sidecar")?.exitCode, 0);
        assert.equal(podExit(p, "missing"), undefined);
    });
});
