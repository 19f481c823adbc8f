/**
 * Registry auth and digest resolution against a scripted fetch: each test lists the answers the
 * "registry" gives and asserts on the requests the client made.
 */
import * as assert from "node:assert/strict";
import { parseImageRef } from "../../monitor/imageRef";
import {
    MANIFEST_ACCEPT,
    MEDIA_TYPE,
    RegistryClient,
    digestFromHeader,
    pickPlatformManifest,
    sha256Digest,
    usesPlainHttp,
    versionsFromLabels,
} from "../../monitor/registry";
import {
    credentialsFor,
    normaliseRegistryKey,
    parseChallenge,
    parseDockerConfig,
    tokenUrl,
} from "../../monitor/registryAuth";

const D1 = `sha256:${"1".repeat(64)}`;
const b64 = (s: string) => Buffer.from(s).toString("base64");

interface Call {
    url: string;
    method: string;
    headers: Record<string, string>;
}

/** A fetch that answers from `script` in order and records every request. */
function scripted(script: ((call: Call) => Response)[]) {
    const calls: Call[] = [];
    const fetch = async (url: string, init: RequestInit): Promise<Response> => {
        const call = {
            url,
            method: init.method ?? "GET",
            headers: (init.headers ?? {}) as Record<string, string>,
        };
        calls.push(call);
        const next = script.shift();
        if (!next) {
            throw new Error(`unexpected request ${call.method} ${url}`);
        }
        return next(call);
    };
    return { fetch, calls };
}

const answer =
    (status: number, headers: Record<string, string> = {}, body?: string) =>
    () =>
        new Response(status === 204 || body === undefined ? null : body, { status, headers });

describe("monitor registry auth (pure)", () => {
    it("reads auth, username/password and registrytoken entries, normalising hosts", () => {
        const auths = parseDockerConfig(
            JSON.stringify({
                auths: {
                    "https://index.docker.io/v1/": { auth: b64("hub:pw:with:colons") },
                    "GHCR.io": { username: "u", password: "p" },
                    "https://reg.example:5000/v2/": { registrytoken: "tok" },
                },
            }),
            "test",
        );
        assert.deepEqual(credentialsFor(auths, "docker.io"), {
            username: "hub",
            password: "pw:with:colons",
        });
        assert.deepEqual(credentialsFor(auths, "ghcr.io"), { username: "u", password: "p" });
        assert.deepEqual(credentialsFor(auths, "reg.example:5000"), { registryToken: "tok" });
        assert.equal(credentialsFor(auths, "quay.io"), undefined);
        assert.equal(credentialsFor(undefined, "quay.io"), undefined);
    });

    const badConfigs: [string, RegExp][] = [
        ["{not json", /src is not JSON.*dockerconfigjson such as/],
        ["[]", /src must hold a JSON object/],
        [
            JSON.stringify({ auths: { "r.io": { auth: b64("nocolon") } } }),
            /auths\["r.io"\].auth must be base64 of "user:password"/,
        ],
        [JSON.stringify({ auths: { "r.io": {} } }), /auths\["r.io"\] has no credentials/],
        [
            JSON.stringify({ auths: { "r.io": { identitytoken: "x" } } }),
            /identitytoken.*does not exchange/,
        ],
    ];
    for (const [content, message] of badConfigs) {
        it(`rejects ${content.slice(0, 40)} with a message naming the source and the fix`, () => {
            assert.throws(() => parseDockerConfig(content, "src"), message);
        });
    }

    it("normalises registry keys", () => {
        assert.equal(normaliseRegistryKey("https://registry-1.docker.io"), "docker.io");
        assert.equal(normaliseRegistryKey("http://Reg.Example:5000/v2/"), "reg.example:5000");
    });

    it("parses bearer challenges with commas inside quoted scopes", () => {
        const c = parseChallenge(
            'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:org/node:pull,push"',
        );
        assert.equal(c.scheme, "bearer");
        assert.deepEqual(c.params, {
            realm: "https://auth.example/token",
            service: "registry.example",
            scope: "repository:org/node:pull,push",
        });
        assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), {
            scheme: "basic",
            params: { realm: "Registry Realm" },
        });
    });

    it("builds the token URL, asking for pull when the challenge names no scope", () => {
        const url = new URL(
            tokenUrl(
                { scheme: "bearer", params: { realm: "https://a/token", service: "s" } },
                "org/node",
            ),
        );
        assert.equal(url.searchParams.get("service"), "s");
        assert.equal(url.searchParams.get("scope"), "repository:org/node:pull");
    });

    it("accepts only well-formed digests from headers", () => {
        assert.equal(digestFromHeader(` ${D1} `), D1);
        assert.equal(digestFromHeader("sha256:xyz"), undefined);
        assert.equal(digestFromHeader(null), undefined);
    });

    it("talks plain HTTP to loopback and listed registries only", () => {
        assert.equal(usesPlainHttp("127.0.0.1:5000"), true);
        assert.equal(usesPlainHttp("localhost"), true);
        assert.equal(usesPlainHttp("[::1]:5000"), true);
        assert.equal(usesPlainHttp("ghcr.io"), false);
        assert.equal(usesPlainHttp("reg.lan:5000", ["reg.lan:5000"]), true);
    });

    it("picks the platform's manifest from an index and says what it offers otherwise", () => {
        const index = {
            manifests: [
                { digest: "sha256:arm", platform: { os: "linux", architecture: "arm64" } },
                { digest: "sha256:amd", platform: { os: "linux", architecture: "amd64" } },
                { digest: "sha256:att", platform: { os: "unknown", architecture: "unknown" } },
            ],
        };
        assert.equal(
            pickPlatformManifest(index, { os: "linux", architecture: "amd64" }),
            "sha256:amd",
        );
        assert.throws(
            () => pickPlatformManifest(index, { os: "linux", architecture: "s390x" }),
            /no manifest for linux\/s390x \(it offers linux\/arm64, linux\/amd64\)/,
        );
    });

    it("keeps version-bearing labels only", () => {
        assert.deepEqual(
            versionsFromLabels({
                "org.opencontainers.image.version": "v1.2.3",
                "org.opencontainers.image.revision": "abc",
                "io.avalanche.avalanchego.version": "1.11",
                maintainer: "x",
                "org.opencontainers.image.licenses": "MIT",
            }),
            {
                "org.opencontainers.image.version": "v1.2.3",
                "org.opencontainers.image.revision": "abc",
                "io.avalanche.avalanchego.version": "1.11",
            },
        );
    });
});

describe("monitor registry client (scripted fetch)", () => {
    const ref = parseImageRef("registry.example/org/node:master");

    it("asks HEAD for every manifest type and takes Docker-Content-Digest", async () => {
        const { fetch, calls } = scripted([
            answer(200, { "docker-content-digest": D1, "content-type": MEDIA_TYPE.ociIndex }),
        ]);
        const got = await new RegistryClient({ fetch }).resolve(ref);
        assert.deepEqual(got, { digest: D1, mediaType: MEDIA_TYPE.ociIndex });
        assert.equal(calls[0].method, "HEAD");
        assert.equal(calls[0].url, "https://registry.example/v2/org/node/manifests/master");
        for (const type of Object.values(MEDIA_TYPE)) {
            assert.ok(calls[0].headers.Accept.includes(type), `Accept lacks ${type}`);
        }
        assert.equal(calls[0].headers.Accept, MANIFEST_ACCEPT);
    });

    it("falls back to GET and hashes the body when HEAD has no digest", async () => {
        const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociManifest });
        const { fetch, calls } = scripted([answer(405), answer(200, {}, body)]);
        const got = await new RegistryClient({ fetch }).resolve(ref);
        assert.equal(got.digest, sha256Digest(Buffer.from(body)));
        assert.deepEqual(
            calls.map((c) => c.method),
            ["HEAD", "GET"],
        );
    });

    it("refuses a GET whose claimed digest does not match its body", async () => {
        const { fetch } = scripted([
            answer(200),
            answer(200, { "docker-content-digest": D1 }, "{}"),
        ]);
        await assert.rejects(new RegistryClient({ fetch }).resolve(ref), /body hashes to sha256:/);
    });

    it("answers a bearer challenge with a token fetched using basic credentials, then reuses it", async () => {
        const auths = parseDockerConfig(
            JSON.stringify({ auths: { "registry.example": { username: "u", password: "p" } } }),
            "f",
        );
        const challenge = 'Bearer realm="https://auth.example/token",service="registry.example"';
        const { fetch, calls } = scripted([
            answer(401, { "www-authenticate": challenge }),
            answer(200, {}, JSON.stringify({ token: "T1" })),
            answer(200, { "docker-content-digest": D1 }),
            answer(200, { "docker-content-digest": D1 }),
        ]);
        const client = new RegistryClient({ fetch, auths });
        await client.resolve(ref);
        await client.resolve(ref);
        assert.equal(
            calls[1].url,
            "https://auth.example/token?service=registry.example&scope=repository%3Aorg%2Fnode%3Apull",
        );
        assert.equal(calls[1].headers.Authorization, `Basic ${b64("u:p")}`);
        assert.equal(calls[2].headers.Authorization, "Bearer T1");
        assert.equal(
            calls[3].headers.Authorization,
            "Bearer T1",
            "token not reused on the next poll",
        );
        assert.equal(calls.length, 4);
    });

    it("gets anonymous bearer tokens without credentials (public images)", async () => {
        const { fetch, calls } = scripted([
            answer(401, { "www-authenticate": 'Bearer realm="https://auth.example/token"' }),
            answer(200, {}, JSON.stringify({ access_token: "anon" })),
            answer(200, { "docker-content-digest": D1 }),
        ]);
        await new RegistryClient({ fetch }).resolve(ref);
        assert.equal(calls[1].headers.Authorization, undefined);
        assert.equal(calls[2].headers.Authorization, "Bearer anon");
    });

    it("sends basic credentials on a basic challenge", async () => {
        const auths = parseDockerConfig(
            JSON.stringify({ auths: { "registry.example": { auth: b64("a:b") } } }),
            "f",
        );
        const { fetch, calls } = scripted([
            answer(401, { "www-authenticate": 'Basic realm="r"' }),
            answer(200, { "docker-content-digest": D1 }),
        ]);
        await new RegistryClient({ fetch, auths }).resolve(ref);
        assert.equal(calls[1].headers.Authorization, `Basic ${b64("a:b")}`);
    });

    it("names --registry-auth-file when a basic challenge finds no credentials", async () => {
        const { fetch } = scripted([answer(401, { "www-authenticate": 'Basic realm="r"' })]);
        await assert.rejects(
            new RegistryClient({ fetch }).resolve(ref),
            /asks for a username and password.*pass --registry-auth-file pointing at a dockerconfigjson with an entry for registry.example/,
        );
    });

    it("names the credentials' source when the registry refuses them", async () => {
        const auths = parseDockerConfig(
            JSON.stringify({ auths: { "registry.example": { auth: b64("a:wrong") } } }),
            "f",
        );
        const { fetch } = scripted([
            answer(401, { "www-authenticate": 'Basic realm="r"' }),
            answer(401, { "www-authenticate": 'Basic realm="r"' }),
        ]);
        await assert.rejects(
            new RegistryClient({ fetch, auths, authSource: "--registry-auth-file /x" }).resolve(
                ref,
            ),
            /refused the credentials from --registry-auth-file \/x for org\/node \(HTTP 401/,
        );
    });

    it("reports a missing tag naming --follow-image", async () => {
        const { fetch } = scripted([answer(404)]);
        await assert.rejects(
            new RegistryClient({ fetch }).resolve(ref),
            /registry.example\/org\/node:master not found .*HTTP 404.*--follow-image/,
        );
    });

    it("reports an unreachable registry with the URL and the network error", async () => {
        const fetch = async () => {
            throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
        };
        await assert.rejects(
            new RegistryClient({ fetch }).resolve(ref),
            /cannot reach registry at https:\/\/registry.example\/v2\/org\/node\/manifests\/master: ECONNREFUSED/,
        );
    });

    it("reads version labels through index → platform manifest → config blob", async () => {
        const json = (value: unknown) => answer(200, {}, JSON.stringify(value));
        const { fetch, calls } = scripted([
            json({
                mediaType: MEDIA_TYPE.ociIndex,
                manifests: [
                    { digest: "sha256:child", platform: { os: "linux", architecture: "amd64" } },
                ],
            }),
            json({ mediaType: MEDIA_TYPE.ociManifest, config: { digest: "sha256:cfg" } }),
            json({ config: { Labels: { "org.opencontainers.image.version": "v9" } } }),
        ]);
        const versions = await new RegistryClient({ fetch }).versions(ref, D1, {
            os: "linux",
            architecture: "amd64",
        });
        assert.deepEqual(versions, { "org.opencontainers.image.version": "v9" });
        assert.deepEqual(
            calls.map((c) => c.url.replace("https://registry.example/v2/org/node/", "")),
            [`manifests/${D1}`, "manifests/sha256:child", "blobs/sha256:cfg"],
        );
    });
});
