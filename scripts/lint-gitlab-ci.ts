/**
 * `node -r ts-node/register/transpile-only scripts/lint-gitlab-ci.ts <file>...` (run by
 * scripts/lint-ci.sh): validates GitLab CI files offline, against GitLab's CI JSON schema
 * (tools/gitlab-ci/ci.schema.json, see its README) with ajv, plus the references GitLab's own
 * linter resolves and a schema cannot (stages, `needs`, `extends`).
 *
 * ajv is the one eslint already brings (ajv 6, JSON Schema draft-07, which the GitLab schema
 * uses); it is loaded at run time so that its absence says what to install.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";

export const GITLAB_CI_SCHEMA = path.join(__dirname, "..", "tools", "gitlab-ci", "ci.schema.json");

/** Top-level keys that are settings, not jobs (GitLab's reserved keywords). */
const GLOBAL_KEYS = [
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
    "types",
];
/** GitLab's stages when a file names none, and the two it always adds. */
const DEFAULT_STAGES = ["build", "test", "deploy"];
const IMPLICIT_STAGES = [".pre", ".post"];

type Job = Record<string, unknown>;

interface AjvError {
    dataPath?: string;
    instancePath?: string;
    message?: string;
    params?: Record<string, unknown>;
}
type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

function compileSchema(schema: unknown): Validate {
    let Ajv: new (opts: Record<string, unknown>) => { compile(s: unknown): Validate };
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        Ajv = require("ajv");
    } catch {
        throw new Error(
            "ajv is not installed; run `npm ci` (eslint brings ajv 6), or add ajv@6 to devDependencies",
        );
    }
    // allErrors: report every problem at once. The schema's `markdownDescription` keywords are
    // for editors; ajv 6 ignores keywords it does not know.
    return new Ajv({ allErrors: true, jsonPointers: true }).compile(schema);
}

function describeAjv(e: AjvError): string {
    const where = (e.dataPath ?? e.instancePath ?? "") || "(root)";
    const extra = e.params?.additionalProperty
        ? ` '${String(e.params.additionalProperty)}'`
        : e.params?.allowedValues
          ? ` ${JSON.stringify(e.params.allowedValues)}`
          : "";
    return `${where}: ${e.message ?? "invalid"}${extra}`;
}

/** A job with its `extends` chain merged the way GitLab does (deep merge of maps, last wins). */
function resolved(jobs: Record<string, Job>, name: string, seen: string[] = []): Job {
    const job = jobs[name] ?? {};
    const parents = job.extends === undefined ? [] : [job.extends].flat().map(String);
    let merged: Job = {};
    for (const parent of parents) {
        if (seen.includes(parent) || !jobs[parent]) {
            continue;
        }
        merged = deepMerge(merged, resolved(jobs, parent, [...seen, name]));
    }
    return deepMerge(merged, job);
}

function deepMerge(a: Job, b: Job): Job {
    const out: Job = { ...a };
    for (const [k, v] of Object.entries(b)) {
        const prev = out[k];
        out[k] =
            prev && v && typeof prev === "object" && typeof v === "object" && !Array.isArray(v)
                ? deepMerge(prev as Job, v as Job)
                : v;
    }
    return out;
}

/**
 * Every problem of one GitLab CI document: YAML errors, schema violations, then references the
 * schema cannot check. An empty list means valid.
 */
export function gitlabCiProblems(text: string, schema: unknown): string[] {
    const doc = parseDocument(text, { uniqueKeys: true });
    const problems = [...doc.errors, ...doc.warnings].map((e) => `YAML: ${e.message}`);
    if (doc.errors.length > 0) {
        return problems;
    }
    const data = doc.toJS() as Record<string, unknown> | null;
    if (!data || typeof data !== "object" || Array.isArray(data)) {
        return [...problems, "(root): must be a map of jobs and settings"];
    }
    const validate = compileSchema(schema);
    if (!validate(data)) {
        problems.push(...(validate.errors ?? []).map((e) => `schema: ${describeAjv(e)}`));
    }

    const jobs: Record<string, Job> = {};
    for (const [key, value] of Object.entries(data)) {
        if (!GLOBAL_KEYS.includes(key) && value && typeof value === "object") {
            jobs[key] = value as Job;
        }
    }
    const stages = [
        ...IMPLICIT_STAGES,
        ...(Array.isArray(data.stages) ? data.stages.map(String) : DEFAULT_STAGES),
    ];
    for (const [name, job] of Object.entries(jobs)) {
        for (const parent of job.extends === undefined ? [] : [job.extends].flat()) {
            if (!jobs[String(parent)]) {
                problems.push(`${name}.extends: no job or template named '${String(parent)}'`);
            }
        }
        if (name.startsWith(".")) {
            continue; // a template: its stage and needs are checked in the jobs that extend it
        }
        const full = resolved(jobs, name);
        const stage = full.stage === undefined ? "test" : String(full.stage);
        if (!stages.includes(stage)) {
            problems.push(
                `${name}.stage: '${stage}' is not in stages (${stages.filter((s) => !s.startsWith(".")).join(", ")})`,
            );
        }
        const needs = Array.isArray(full.needs) ? full.needs : [];
        for (const need of needs) {
            const target =
                typeof need === "string" ? need : (need as { job?: unknown } | null)?.job;
            if (typeof target === "string" && (!jobs[target] || target.startsWith("."))) {
                problems.push(`${name}.needs: no job named '${target}'`);
            }
        }
    }
    return problems;
}

function main(files: string[]): number {
    if (files.length === 0) {
        console.error("usage: lint-gitlab-ci.ts <.gitlab-ci.yml>...");
        return 2;
    }
    const schema = JSON.parse(readFileSync(GITLAB_CI_SCHEMA, "utf8"));
    let failed = 0;
    for (const file of files) {
        const problems = gitlabCiProblems(readFileSync(file, "utf8"), schema);
        if (problems.length > 0) {
            failed++;
            console.error(`FAIL ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        } else {
            console.log(`ok   ${file}: valid against GitLab's CI schema`);
        }
    }
    return failed > 0 ? 1 : 0;
}

if (require.main === module) {
    process.exit(main(process.argv.slice(2)));
}
