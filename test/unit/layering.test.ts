/**
 * The layering from the outside (eslint.config.mjs LAYERS says which folder may import which):
 * no two top-level folders import each other, directly or round a cycle, and the monitor's
 * compiled closure stays inside the folders its image copies.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");
const FOLDERS = ["chains", "lib", "config", "kube", "monitor", "dynamic-providers", "components"];

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return sourceFiles(full);
        }
        return entry.name.endsWith(".ts") ? [full] : [];
    });
}

/** The top-level folder of a repository path, or the file name for a file at the root. */
const topFolder = (file: string): string => path.relative(repoRoot, file).split(path.sep)[0];

/** Every relative module a file names: imports, re-exports, `import x = require`, `require()`. */
function relativeImports(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const specifiers = [
        ...text.matchAll(/\bfrom\s+"(\.[^"]*)"/g),
        ...text.matchAll(/\brequire(?:\.resolve)?\(\s*"(\.[^"]*)"\s*\)/g),
        ...text.matchAll(/\bimport\(\s*"(\.[^"]*)"\s*\)/g),
    ];
    return specifiers.map((m) => path.resolve(path.dirname(file), m[1]));
}

/** Folder -> the other top-level folders its files import. */
function folderGraph(): Map<string, Set<string>> {
    const graph = new Map(FOLDERS.map((f) => [f, new Set<string>()]));
    for (const folder of FOLDERS) {
        for (const file of sourceFiles(path.join(repoRoot, folder))) {
            for (const target of relativeImports(file)) {
                const to = topFolder(target);
                if (to !== folder) {
                    graph.get(folder)!.add(to);
                }
            }
        }
    }
    return graph;
}

describe("#layering", function () {
    this.timeout(120_000);

    it("no folder imports the program's entry point or a folder that imports it back", () => {
        const graph = folderGraph();
        for (const [folder, targets] of graph) {
            for (const to of targets) {
                assert.ok(
                    FOLDERS.includes(to),
                    `${folder}/ imports ${to}, which is not a library folder`,
                );
                assert.ok(!graph.get(to)?.has(folder), `${folder}/ and ${to}/ import each other`);
            }
        }
        // No longer cycles either: a depth-first walk never meets a folder still on its path.
        const done = new Set<string>();
        const visit = (folder: string, trail: string[]): void => {
            assert.ok(!trail.includes(folder), `import cycle: ${[...trail, folder].join(" -> ")}`);
            if (!done.has(folder)) {
                for (const to of graph.get(folder) ?? []) {
                    visit(to, [...trail, folder]);
                }
                done.add(folder);
            }
        };
        FOLDERS.forEach((f) => visit(f, []));
    });

    it("the monitor image compiles only chains/, lib/, kube/ and monitor/, and copies them all", () => {
        const tsc = require.resolve("typescript/bin/tsc");
        const listed = execFileSync(
            process.execPath,
            [tsc, "-p", "monitor/tsconfig.build.json", "--listFilesOnly"],
            { cwd: repoRoot, encoding: "utf8" },
        )
            .split("\n")
            .map((line) => line.trim())
            .filter((line) => line.startsWith(repoRoot) && !line.includes("/node_modules/"));
        assert.ok(
            listed.some((file) => file.endsWith("monitor/cli.ts")),
            listed.join("\n"),
        );
        const folders = new Set(listed.map(topFolder));
        const allowed = ["chains", "lib", "kube", "monitor"];
        for (const folder of folders) {
            assert.ok(
                allowed.includes(folder),
                `monitor/cli.ts reaches ${folder}/: ${listed.filter((f) => topFolder(f) === folder).join(", ")}`,
            );
        }
        const dockerfile = fs.readFileSync(path.join(repoRoot, "monitor/Dockerfile"), "utf8");
        const ignore = fs.readFileSync(
            path.join(repoRoot, "monitor/Dockerfile.dockerignore"),
            "utf8",
        );
        for (const folder of folders) {
            assert.match(dockerfile, new RegExp(`^COPY ${folder}/ ${folder}/$`, "m"));
            assert.match(ignore, new RegExp(`^!${folder}/\\*\\*$`, "m"));
        }
    });
});
