// Re-extracts ci.schema.json from an unpacked gitlab-ci-local package (see README.md):
//   npm pack gitlab-ci-local@<version> && tar xzf gitlab-ci-local-<version>.tgz
//   node tools/gitlab-ci/extract-schema.cjs package/dist/index.js > tools/gitlab-ci/ci.schema.json
// The package bundles GitLab's schema (its src/schema.json) into dist/index.js as one object
// literal; this finds that literal by its $id, cuts it out by matching braces outside strings,
// and evaluates it in an empty context (a data literal: no globals, a 5 s limit).
"use strict";
const fs = require("node:fs");
const vm = require("node:vm");

const file = process.argv[2];
if (!file) {
    console.error("usage: node extract-schema.cjs <gitlab-ci-local>/dist/index.js > ci.schema.json");
    process.exit(2);
}
const src = fs.readFileSync(file, "utf8");
const marker = '$id:"https://gitlab.com/.gitlab-ci.yml"';
const at = src.indexOf(marker);
if (at < 0) {
    console.error(`${file}: no object with ${marker}; the bundle's layout changed`);
    process.exit(1);
}
const start = src.lastIndexOf("{", at);
let depth = 0;
let quote = null;
let end = start;
for (; end < src.length; end++) {
    const c = src[end];
    if (quote) {
        if (c === "\\") end++;
        else if (c === quote) quote = null;
        continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) break;
}
const schema = vm.runInNewContext(`(${src.slice(start, end + 1)})`, Object.create(null), {
    timeout: 5000,
});
if (schema.$schema !== "http://json-schema.org/draft-07/schema#" || !schema.properties?.stages) {
    console.error(`${file}: the object found is not GitLab's CI schema`);
    process.exit(1);
}
process.stdout.write(JSON.stringify(schema, null, 2) + "\n");
