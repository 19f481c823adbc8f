/**
 * `npm run config:check [-- Pulumi.<stack>.yaml ...]`: validates stack files without the Pulumi
 * engine or a cluster, printing every problem. With no arguments it checks every stack file.
 */
import { readdirSync } from "node:fs";
import { ConfigError, loadStackConfig } from "../config";
import { readStackFile } from "../config/stackFile";

const files = process.argv.slice(2);
const targets =
    files.length > 0 ? files : readdirSync(".").filter((f) => /^Pulumi\..+\.yaml$/.test(f));
let failed = 0;
for (const file of targets) {
    try {
        const config = loadStackConfig(readStackFile(file));
        console.log(
            `ok   ${file}: ${Object.keys(config.groups).length} group(s) on ${config.network}`,
        );
    } catch (err) {
        failed++;
        console.error(`FAIL ${file}: ${err instanceof ConfigError ? err.message : String(err)}`);
    }
}
process.exit(failed > 0 ? 1 : 0);
