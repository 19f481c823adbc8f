import * as assert from "node:assert/strict";
import {
    ImageRef,
    manifestReference,
    parseImageRef,
    pinnedImage,
    registryApiHost,
} from "../../monitor/imageRef";

const D = `sha256:${"a".repeat(64)}`;

describe("monitor image references", () => {
    const cases: [string, ImageRef][] = [
        ["node:v1", { name: "node", registry: "docker.io", repository: "library/node", tag: "v1" }],
        [
            "avaplatform/avalanchego:master",
            {
                name: "avaplatform/avalanchego",
                registry: "docker.io",
                repository: "avaplatform/avalanchego",
                tag: "master",
            },
        ],
        [
            "ghcr.io/org/team/node:1.2.3-rc.1",
            {
                name: "ghcr.io/org/team/node",
                registry: "ghcr.io",
                repository: "org/team/node",
                tag: "1.2.3-rc.1",
            },
        ],
        [
            "127.0.0.1:5000/chain/node:master",
            {
                name: "127.0.0.1:5000/chain/node",
                registry: "127.0.0.1:5000",
                repository: "chain/node",
                tag: "master",
            },
        ],
        [
            "localhost/node@" + D,
            { name: "localhost/node", registry: "localhost", repository: "node", digest: D },
        ],
        [
            `registry.example:443/a/b:t@${D}`,
            {
                name: "registry.example:443/a/b",
                registry: "registry.example:443",
                repository: "a/b",
                tag: "t",
                digest: D,
            },
        ],
        [
            "index.docker.io/library/busybox:1",
            {
                name: "index.docker.io/library/busybox",
                registry: "docker.io",
                repository: "library/busybox",
                tag: "1",
            },
        ],
    ];
    for (const [ref, want] of cases) {
        it(`parses ${ref}`, () => {
            assert.deepEqual(parseImageRef(ref), want);
        });
    }

    const bad: [string, RegExp][] = [
        ["", /empty/],
        ["Node:v1", /path component 'Node'/],
        ["node@sha256:abc", /not sha256:<64/],
        ["node:v 1", /tag 'v 1'|path component/],
        [" node:v1", /spaces/],
    ];
    for (const [ref, why] of bad) {
        it(`rejects '${ref}' naming the input and the expected form`, () => {
            assert.throws(
                () => parseImageRef(ref, "--follow-image"),
                (err: Error) =>
                    err.message.startsWith(`--follow-image '${ref}'`) &&
                    why.test(err.message) &&
                    err.message.includes("[registry/]repository[:tag]"),
            );
        });
    }

    it("pins to name@digest, dropping the tag", () => {
        assert.equal(
            pinnedImage(parseImageRef("ghcr.io/org/node:master"), D),
            `ghcr.io/org/node@${D}`,
        );
        assert.throws(() => pinnedImage(parseImageRef("node:v1"), "sha256:short"), /not a sha256/);
    });

    it("asks Docker Hub's API host and defaults to latest", () => {
        assert.equal(registryApiHost("docker.io"), "registry-1.docker.io");
        assert.equal(registryApiHost("ghcr.io"), "ghcr.io");
        assert.equal(manifestReference(parseImageRef("ghcr.io/org/node")), "latest");
        assert.equal(manifestReference(parseImageRef(`node:v1@${D}`)), D);
    });
});
