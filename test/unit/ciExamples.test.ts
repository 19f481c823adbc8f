/**
 * The deploy pipelines users copy (examples/ci/). scripts/lint-ci.sh checks that each is a valid
 * pipeline (actionlint, GitLab's schema); these check that each still does what
 * README §Deploy jobs promises: a config check first, previews on pull/merge requests only, `up`
 * only on the default branch, one deploy per stack at a time, credentials from secrets, and the
 * same stacks in every job. They also prove the GitLab validator rejects what it should.
 */
import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { GITLAB_CI_SCHEMA, gitlabCiProblems } from "../../scripts/lint-gitlab-ci";

const ROOT = path.join(__dirname, "..", "..");
const GITHUB = path.join(ROOT, "examples", "ci", "github-actions.yml");
const GITLAB = path.join(ROOT, "examples", "ci", "gitlab-ci.yml");

/* eslint-disable @typescript-eslint/no-explicit-any */

function stepsText(job: any): string {
    return (job.steps as any[]).map((s) => `${s.uses ?? ""} ${s.run ?? ""}`).join("\n");
}

describe("example deploy pipelines (examples/ci/)", () => {
    describe("GitHub Actions", () => {
        const wf = parse(readFileSync(GITHUB, "utf8"));
        const { preview, deploy } = wf.jobs;

        it("runs the config check before anything touches a cluster", () => {
            assert.match(stepsText(wf.jobs["config-check"]), /npm run config:check/);
            assert.deepEqual([preview.needs, deploy.needs], ["config-check", "config-check"]);
        });

        it("previews on pull requests and posts the plan as a comment", () => {
            assert.ok(wf.on.pull_request, "no pull_request trigger");
            assert.equal(preview.if, "github.event_name == 'pull_request'");
            assert.equal(preview.permissions["pull-requests"], "write");
            const preview_ = preview.steps.find((s: any) => s.id === "preview");
            assert.match(preview_.run, /pulumi preview --stack "\$STACK"/);
            const comment = preview.steps.find((s: any) =>
                String(s.uses).startsWith("actions/github-script"),
            );
            assert.ok(comment, "no comment step");
            assert.match(comment.if, /always\(\)/, "a failed preview must still be posted");
            assert.match(comment.with.script, /preview\.txt/);
        });

        it("posts the readable plan, as text and JSON, before the preview", () => {
            const ids = preview.steps.map((s: any) => s.id);
            assert.ok(ids.indexOf("plan") >= 0 && ids.indexOf("plan") < ids.indexOf("preview"));
            const plan = preview.steps.find((s: any) => s.id === "plan");
            assert.match(plan.run, /npm run --silent plan -- -s "\$STACK" 2>&1 \| tee .*plan\.txt/);
            assert.match(plan.run, /npm run --silent plan -- -s "\$STACK" --json > .*plan\.json/);
            const comment = preview.steps.find((s: any) =>
                String(s.uses).startsWith("actions/github-script"),
            );
            assert.match(comment.if, /steps\.plan\.outcome/, "a failed plan must still be posted");
            assert.match(comment.with.script, /plan\.txt/);
            assert.match(comment.with.script, /plan\.json/);
        });

        it("deploys only on a push to main, one run per stack, never cancelled", () => {
            assert.deepEqual(wf.on.push.branches, ["main"]);
            assert.equal(
                deploy.if,
                "github.event_name == 'push' && github.ref == 'refs/heads/main'",
            );
            assert.match(stepsText(deploy), /pulumi up --stack "\$STACK" --yes/);
            assert.match(deploy.concurrency.group, /\$\{\{ matrix\.stack \}\}/);
            assert.doesNotMatch(deploy.concurrency.group, /github\.(sha|run_id|ref)/);
            assert.equal(deploy.concurrency["cancel-in-progress"], false);
        });

        it("takes the kubeconfig and the passphrase from the stack's environment secrets", () => {
            for (const job of [preview, deploy]) {
                assert.equal(job.environment, "${{ matrix.stack }}");
                assert.equal(
                    job.env.PULUMI_CONFIG_PASSPHRASE,
                    "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                );
                const write = job.steps.find((s: any) => /kubeconfig/i.test(s.name ?? ""));
                assert.equal(write.env.KUBECONFIG_CONTENT, "${{ secrets.KUBECONFIG }}");
                assert.match(write.run, /KUBECONFIG=.*>> "\$GITHUB_ENV"/);
            }
            assert.equal(wf.env.PULUMI_BACKEND_URL, "${{ secrets.PULUMI_BACKEND_URL }}");
        });

        it("runs the same stacks in both jobs, each with a stack file in this repository", () => {
            assert.deepEqual(preview.strategy.matrix.stack, deploy.strategy.matrix.stack);
            for (const stack of deploy.strategy.matrix.stack) {
                assert.ok(existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`)), stack);
            }
        });

        it("installs the Pulumi CLI of the SDK's version", () => {
            const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
            assert.equal(wf.env.PULUMI_VERSION, pkg.dependencies["@pulumi/pulumi"]);
        });
    });

    describe("GitLab CI", () => {
        const text = readFileSync(GITLAB, "utf8");
        const ci = parse(text);
        const schema = JSON.parse(readFileSync(GITLAB_CI_SCHEMA, "utf8"));

        it("is valid against GitLab's CI schema", () => {
            assert.deepEqual(gitlabCiProblems(text, schema), []);
        });

        it("previews on merge requests, deploys on the default branch, one per stack", () => {
            assert.match(ci.preview.rules[0].if, /merge_request_event/);
            assert.match(ci.preview.script.join("\n"), /pulumi preview --stack "\$STACK"/);
            assert.match(ci.preview.after_script.join("\n"), /merge_requests\/.*\/notes/);
            const script = ci.preview.script.join("\n");
            assert.match(script, /npm run --silent plan -- -s "\$STACK" 2>&1 \| tee plan\.txt/);
            assert.match(script, /npm run --silent plan -- -s "\$STACK" --json > plan\.json/);
            assert.ok(script.indexOf("plan.json") < script.indexOf("pulumi preview"));
            assert.match(ci.preview.after_script.join("\n"), /plan\.txt[\s\S]*plan\.json/);
            assert.match(ci.deploy.rules[0].if, /\$CI_COMMIT_BRANCH == \$CI_DEFAULT_BRANCH/);
            assert.match(ci.deploy.script.join("\n"), /pulumi up --stack "\$STACK" --yes/);
            assert.equal(ci.deploy.resource_group, "chainfleet-$STACK");
            assert.equal(ci.deploy.interruptible, false);
            assert.deepEqual(ci.preview.needs, ["config-check"]);
            assert.deepEqual(ci.deploy.needs, ["config-check"]);
            assert.match(ci["config-check"].script.join("\n"), /npm run config:check/);
        });

        it("runs the same stacks as the GitHub workflow, each in its own environment", () => {
            const wf = parse(readFileSync(GITHUB, "utf8"));
            assert.deepEqual(
                ci[".stacks"].parallel.matrix[0].STACK,
                wf.jobs.deploy.strategy.matrix.stack,
            );
            assert.equal(ci.deploy.environment.name, "$STACK");
            assert.equal(ci.preview.environment.name, "$STACK");
        });

        for (const [name, from, to, problem] of [
            [
                "a misspelt keyword",
                "resource_group: chainfleet-$STACK",
                "resource_grup: chainfleet-$STACK",
                /schema: \/deploy: should NOT have additional properties 'resource_grup'/,
            ],
            [
                "a wrong type",
                "interruptible: false",
                "interruptible: [no]",
                /schema: \/deploy\/interruptible: should be boolean/,
            ],
            [
                "a stage that is not declared",
                "stage: deploy",
                "stage: ship",
                /deploy\.stage: 'ship' is not in stages/,
            ],
            [
                "needs naming no job",
                "needs: [config-check]",
                "needs: [config-chek]",
                /needs: no job named 'config-chek'/,
            ],
            [
                "extends naming no template",
                "extends: [.stacks, .pulumi]",
                "extends: [.stacks, .pulumy]",
                /extends: no job or template named '\.pulumy'/,
            ],
            [
                "a duplicate key",
                /^( *)interruptible: false$/m,
                "$1interruptible: false\n$1interruptible: true",
                /YAML: Map keys must be unique/,
            ],
        ] as const) {
            it(`rejects ${name}`, () => {
                assert.ok(
                    typeof from === "string" ? text.includes(from) : from.test(text),
                    `the example no longer contains ${from}`,
                );
                const problems = gitlabCiProblems(text.replace(from, to), schema);
                assert.ok(
                    problems.some((p) => problem.test(p)),
                    `expected ${problem}, got ${JSON.stringify(problems)}`,
                );
            });
        }
    });
});
