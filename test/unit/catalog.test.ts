import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import {
    CatalogProblem,
    CatalogSchema,
    checkCatalog,
    isMutableReference,
    loadCatalog,
    parseImageReference,
    resolveImage,
} from "../../lib/catalog";
import { main as imagesCheckMain } from "../../scripts/images-check";
import { adapterFor } from "../../chains";

const ROOT = path.join(__dirname, "..", "..");
const TESTDATA = path.join(ROOT, "test", "testdata", "catalog");
const VALID = path.join(TESTDATA, "valid.yaml");
const D1 = "1".repeat(64);
const D2 = "2".repeat(64);

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A fresh copy of the valid fixture, to mutate per case. */
function validDoc(): Doc {
    return parseYaml(readFileSync(VALID, "utf8")) as Doc;
}

/** Problems as "path: message" lines, easy to match and to read in a failure. */
function lines(problems: CatalogProblem[]): string[] {
    return problems.map((p) => `${p.path}: ${p.message}`);
}

function assertProblems(problems: CatalogProblem[], expected: [string, RegExp][]): void {
    const got = lines(problems);
    assert.equal(problems.length, expected.length, `problems:\n${got.join("\n")}`);
    for (const [p, message] of expected) {
        const hit = problems.find((x) => x.path === p && message.test(x.message));
        assert.ok(hit, `no problem at ${p} matching ${message}; got:\n${got.join("\n")}`);
    }
}

describe("#parseImageReference / #isMutableReference", () => {
    // [ref, parsed or error fragment, mutable]
    const cases: [string, { name: string; tag?: string; digest?: string } | RegExp, boolean][] = [
        ["cometbft/cometbft:v0.38.17", { name: "cometbft/cometbft", tag: "v0.38.17" }, true],
        ["busybox", { name: "busybox" }, true], // bare name: implicitly :latest
        [`a/b@sha256:${D1}`, { name: "a/b", digest: `sha256:${D1}` }, false],
        [
            `ghcr.io/sei-protocol/sei:v6.3.0@sha256:${D1}`,
            { name: "ghcr.io/sei-protocol/sei", tag: "v6.3.0", digest: `sha256:${D1}` },
            false,
        ],
        ["localhost:5000/node", { name: "localhost:5000/node" }, true], // a port, not a tag
        [
            `localhost:5000/node:1@sha256:${D2}`,
            { name: "localhost:5000/node", tag: "1", digest: `sha256:${D2}` },
            false,
        ],
        ["a/b@sha256:abc", /64 lower-case hex characters \(got 3\)/, true],
        [`a/b@sha256:${"A".repeat(64)}`, /not all lower-case hex/, true],
        [`a/b@md5:${D1}`, /must use sha256/, true],
        ["Upper/Case:1", /lower-case path components/, true],
        ["a/b:bad tag", /whitespace/, true],
        ["a/b:-x", /tag "-x"/, true],
        ["", /must not be empty/, true],
    ];
    for (const [ref, want, mutable] of cases) {
        it(`${ref || "(empty)"} -> ${want instanceof RegExp ? want : JSON.stringify(want)}`, () => {
            const got = parseImageReference(ref);
            if (want instanceof RegExp) {
                assert.ok("error" in got, `expected an error, got ${JSON.stringify(got)}`);
                assert.match(got.error, want);
            } else {
                assert.deepEqual(got, want);
            }
            assert.equal(isMutableReference(ref), mutable);
        });
    }
});

describe("#checkCatalog (schema and rules)", () => {
    // [name, mutation of the valid fixture, expected problems [path, message]]
    const cases: [string, (d: Doc) => void, [string, RegExp][]][] = [
        ["the valid fixture", () => {}, []],
        [
            "a production entry referenced by tag",
            (d) => (d.images["cometbft-full"].image = "docker.io/cometbft/cometbft:v0.38.17"),
            [["images.cometbft-full.image", /production image and must be pinned by digest/]],
        ],
        [
            "a production entry with a bare name (implicit :latest)",
            (d) => (d.images["cometbft-full"].image = "docker.io/cometbft/cometbft"),
            [["images.cometbft-full.image", /must be pinned by digest/]],
        ],
        [
            "a development entry referenced by tag",
            (d) => (d.images["cometbft-dev"].production = false),
            [],
        ],
        [
            "a bad digest (too short)",
            (d) => (d.images["cometbft-full"].image = `x/y@sha256:${D1.slice(1)}`),
            [["images.cometbft-full.image", /64 lower-case hex characters \(got 63\)/]],
        ],
        [
            "a bad digest (upper-case)",
            (d) => (d.images["cometbft-full"].image = `x/y@sha256:${D1.replace(/1/g, "F")}`),
            [["images.cometbft-full.image", /not all lower-case hex/]],
        ],
        [
            "an unknown key in an entry",
            (d) => (d.images["cometbft-dev"].imagee = "x:1"),
            [["images.cometbft-dev.imagee", /unknown key/]],
        ],
        ["an unknown top-level key", (d) => (d.image = {}), [["image", /unknown key/]]],
        [
            "an unknown key in a port",
            (d) => (d.images["cometbft-dev"].ports[0].hostPort = 1),
            [["images.cometbft-dev.ports[0].hostPort", /unknown key/]],
        ],
        [
            "an undeclared protocol",
            (d) => (d.images["cometbft-dev"].protocol = "cosmos"),
            [["images.cometbft-dev.protocol", /"cosmos" is not declared under protocols/]],
        ],
        [
            "a version with a leading v",
            (d) => (d.images["cometbft-dev"].version = "v1.0.0"),
            [["images.cometbft-dev.version", /semantic version.*\(got "v1.0.0"\)/]],
        ],
        [
            "an unknown adapter",
            (d) => (d.protocols.cometbft.adapter = "tendermint"),
            [
                [
                    "protocols.cometbft.adapter",
                    /adapter must be one of sei, cometbft, cosmos, avalanche/,
                ],
            ],
        ],
        [
            "a port number used twice",
            (d) => (d.images["cometbft-full"].ports[1].containerPort = 26656),
            [
                [
                    "images.cometbft-full.ports[1].containerPort",
                    /26656\/TCP is already used by ports\[0\]/,
                ],
            ],
        ],
        [
            "a port out of range",
            (d) => (d.images["cometbft-dev"].ports[0].containerPort = 70000),
            [["images.cometbft-dev.ports[0].containerPort", /1-65535.*70000/]],
        ],
        [
            "a bad memory quantity",
            (d) => (d.images["cometbft-dev"].minResources.memory = "4 GB"),
            [["images.cometbft-dev.minResources.memory", /Kubernetes quantity/]],
        ],
        [
            "a missing production flag",
            (d) => delete d.images["cometbft-dev"].production,
            [["images.cometbft-dev.production", /true or false.*missing/]],
        ],
        [
            "a relative data directory",
            (d) => (d.images["cometbft-dev"].dataDir = "cometbft"),
            [["images.cometbft-dev.dataDir", /absolute path/]],
        ],
        [
            "an entry name that is not kebab-case",
            (d) => (d.images.Cometbft_Dev = d.images["cometbft-dev"]),
            [["images.Cometbft_Dev", /image entry names must be lower-kebab-case/]],
        ],
        [
            "a wrong apiVersion",
            (d) => (d.apiVersion = "v1"),
            [["apiVersion", /must be "chainfleet.io\/v1"/]],
        ],
        [
            // The pinning rule still reports although another entry fails the schema.
            "several problems at once",
            (d) => {
                d.images["cometbft-full"].image = "docker.io/cometbft/cometbft:v0.38.17";
                d.images["cometbft-dev"].replicas = 3;
            },
            [
                ["images.cometbft-full.image", /must be pinned by digest/],
                ["images.cometbft-dev.replicas", /unknown key/],
            ],
        ],
    ];
    for (const [name, mutate, expected] of cases) {
        it(`${expected.length === 0 ? "accepts" : "reports"} ${name}`, () => {
            const doc = validDoc();
            mutate(doc);
            assertProblems(checkCatalog(doc), expected);
            // CatalogSchema, for callers who parse, agrees on pass/fail.
            assert.equal(CatalogSchema.safeParse(doc).success, expected.length === 0);
        });
    }

    it("reports a document that is not a mapping", () => {
        assertProblems(checkCatalog("just text"), [["(root)", /expected object/]]);
    });
});

describe("#checkCatalog (against the previous catalog)", () => {
    const FULL = "cometbft-full";
    const pinned = (d: string) => `docker.io/cometbft/cometbft:v0.38.17@sha256:${d}`;
    // [name, change to previous, change to current, expected problems]
    const cases: [string, (d: Doc) => void, (d: Doc) => void, [string, RegExp][]][] = [
        ["no change", () => {}, () => {}, []],
        [
            "a changed reference without a version bump",
            () => {},
            (d) => (d.images[FULL].image = pinned(D2)),
            [
                [
                    `images.${FULL}.version`,
                    /image changed from .*1111.* to .*2222.* not greater than the previous 1.0.0/,
                ],
            ],
        ],
        [
            "a changed reference with a lower version",
            () => {},
            (d) => {
                d.images[FULL].image = pinned(D2);
                d.images[FULL].version = "0.9.0";
            },
            [[`images.${FULL}.version`, /0.9.0 is not greater than the previous 1.0.0/]],
        ],
        [
            "a changed reference bumped only in build metadata",
            () => {},
            (d) => {
                d.images[FULL].image = pinned(D2);
                d.images[FULL].version = "1.0.0+rebuild.1";
            },
            [[`images.${FULL}.version`, /build metadata/]],
        ],
        [
            "a changed reference with a patch bump",
            () => {},
            (d) => {
                d.images[FULL].image = pinned(D2);
                d.images[FULL].version = "1.0.1";
            },
            [],
        ],
        [
            "a changed reference with a pre-release of the next patch",
            () => {},
            (d) => {
                d.images[FULL].image = pinned(D2);
                d.images[FULL].version = "1.0.1-rc.1";
            },
            [],
        ],
        [
            "a tag-to-digest change without a bump (the reference changed)",
            () => {},
            (d) => (d.images["cometbft-dev"].image = `docker.io/cometbft/cometbft@sha256:${D2}`),
            [["images.cometbft-dev.version", /not greater/]],
        ],
        ["a version bump alone", () => {}, (d) => (d.images[FULL].version = "2.0.0"), []],
        ["a new entry", (d) => delete d.images["cometbft-dev"], () => {}, []],
        ["a removed entry", () => {}, (d) => delete d.images["cometbft-dev"], []],
        [
            "a previous catalog that fails today's schema (still compared, leniently)",
            (d) => (d.images[FULL].oldField = true),
            (d) => (d.images[FULL].image = pinned(D2)),
            [[`images.${FULL}.version`, /not greater/]],
        ],
        [
            "a previous version that is not semver (not compared)",
            (d) => (d.images[FULL].version = "latest"),
            (d) => (d.images[FULL].image = pinned(D2)),
            [],
        ],
    ];
    for (const [name, changePrevious, changeCurrent, expected] of cases) {
        it(`${expected.length === 0 ? "accepts" : "reports"} ${name}`, () => {
            const previous = validDoc();
            changePrevious(previous);
            const current = validDoc();
            changeCurrent(current);
            assertProblems(checkCatalog(current, previous), expected);
        });
    }

    it("ignores a previous document that is not a catalog at all", () => {
        const current = validDoc();
        current.images[FULL].image = pinned(D2);
        assertProblems(checkCatalog(current, "garbage"), []);
        assertProblems(checkCatalog(current, null), []);
    });
});

describe("#loadCatalog / #resolveImage", () => {
    it("loads the project's catalog, every production entry pinned", () => {
        const catalog = loadCatalog(path.join(ROOT, "catalog", "images.yaml"));
        const adapters = new Set<string>();
        for (const name of Object.keys(catalog.images)) {
            const image = resolveImage(catalog, name);
            adapters.add(image.adapter);
            if (image.production) assert.ok(!isMutableReference(image.image), name);
        }
        assert.deepEqual([...adapters].sort(), ["avalanche", "cometbft", "sei"]);
    });

    it("agrees with the chain adapters on data directory and ports", () => {
        // The catalog describes images; chains/ runs them. Drift between the two would mount the
        // volume where the node does not write, or expose ports nothing listens on.
        const catalog = loadCatalog(path.join(ROOT, "catalog", "images.yaml"));
        for (const name of Object.keys(catalog.images)) {
            const image = resolveImage(catalog, name);
            const adapter = adapterFor(image.adapter);
            assert.equal(image.dataDir, adapter.homeDir, `${name}: dataDir`);
            for (const port of image.ports) {
                const match = adapter.ports.find((p) => p.name === port.name);
                assert.ok(
                    match,
                    `${name}: port ${port.name} is not one of the ${adapter.kind} adapter's`,
                );
                assert.equal(port.containerPort, match.containerPort, `${name}: ${port.name}`);
                assert.equal(port.role, match.role, `${name}: ${port.name} role`);
            }
        }
    });

    it("resolves an entry with its protocol's adapter", () => {
        const image = resolveImage(loadCatalog(VALID), "cometbft-full");
        assert.equal(image.entry, "cometbft-full");
        assert.equal(image.adapter, "cometbft");
        assert.equal(image.image, `docker.io/cometbft/cometbft:v0.38.17@sha256:${D1}`);
        assert.deepEqual(image.minResources, { cpu: "2", memory: "4Gi" });
        assert.equal(image.ports.length, 2);
    });

    it("suggests the closest entry for an unknown name", () => {
        assert.throws(
            () => resolveImage(loadCatalog(VALID), "cometbft-ful"),
            /"cometbft-ful" is not in the catalog; did you mean "cometbft-full"\? \(known: cometbft-dev, cometbft-full\)/,
        );
        // Object.prototype names are not entries.
        assert.throws(() => resolveImage(loadCatalog(VALID), "constructor"), /not in the catalog/);
    });

    it("throws one error listing every problem of an invalid file", () => {
        const file = path.join(TESTDATA, "invalid.yaml");
        assert.throws(
            () => loadCatalog(file),
            (err: Error) => {
                for (const part of [
                    "invalid.yaml: invalid image catalog",
                    "images.cometbft-full.replicas: unknown key",
                    'images.cometbft-full.image: "docker.io/cometbft/cometbft:v0.38.17" is a production image',
                    'images.geth-full.protocol: "ethereum" is not declared',
                ]) {
                    assert.ok(err.message.includes(part), `missing ${part} in:\n${err.message}`);
                }
                return true;
            },
        );
    });

    it("rejects duplicated keys instead of keeping the last", () => {
        assert.throws(
            () => loadCatalog(path.join(TESTDATA, "duplicate-key.yaml")),
            /duplicate-key.yaml: not valid YAML: .*[Mm]ap keys must be unique/s,
        );
    });
});

describe("images:check", () => {
    let repo: string;
    let out: string[];
    let err: string[];
    const originalLog = console.log;
    const originalError = console.error;

    const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
            cwd: repo,
            stdio: "pipe",
        });
    const writeCatalog = (mutate: (d: Doc) => void = () => {}) => {
        const doc = validDoc();
        mutate(doc);
        writeFileSync(path.join(repo, "catalog", "images.yaml"), JSON.stringify(doc, null, 2));
    };
    const run = (...argv: string[]) => {
        out = [];
        err = [];
        console.log = (...a: unknown[]) => void out.push(a.join(" "));
        console.error = (...a: unknown[]) => void err.push(a.join(" "));
        try {
            return imagesCheckMain(argv, repo);
        } finally {
            console.log = originalLog;
            console.error = originalError;
        }
    };

    beforeEach(() => {
        repo = mkdtempSync(path.join(tmpdir(), "images-check-"));
        mkdirSync(path.join(repo, "catalog"));
        git("init", "-q");
    });
    afterEach(() => rmSync(repo, { recursive: true, force: true }));

    it("runs only the schema checks before the first commit", () => {
        copyFileSync(VALID, path.join(repo, "catalog", "images.yaml"));
        assert.equal(run(), 0);
        assert.match(out.join("\n"), /OK \(compared with nothing \(HEAD does not resolve/);
    });

    it("runs only the schema checks when HEAD has no catalog", () => {
        writeFileSync(path.join(repo, "README"), "x");
        git("add", "README");
        git("commit", "-q", "-m", "first");
        writeCatalog((d) => (d.images["cometbft-full"].image = "x/y:1"));
        assert.equal(run(), 1);
        assert.match(err.join("\n"), /compared with nothing \(HEAD has no catalog\/images.yaml\)/);
        assert.match(err.join("\n"), /images.cometbft-full.image: .*must be pinned by digest/);
    });

    it("fails on a changed reference without a version bump, and passes once bumped", () => {
        writeCatalog();
        git("add", ".");
        git("commit", "-q", "-m", "catalog");
        writeCatalog((d) => (d.images["cometbft-full"].image = `x/y@sha256:${D2}`));
        assert.equal(run(), 1);
        assert.match(err.join("\n"), /1 problem\(s\) \(compared with HEAD\)/);
        assert.match(err.join("\n"), /images.cometbft-full.version: image changed/);
        writeCatalog((d) => {
            d.images["cometbft-full"].image = `x/y@sha256:${D2}`;
            d.images["cometbft-full"].version = "1.1.0";
        });
        assert.equal(run(), 0);
        assert.match(out.join("\n"), /OK \(compared with HEAD\)/);
    });

    it("compares with --base and rejects a base that does not resolve", () => {
        writeCatalog();
        git("add", ".");
        git("commit", "-q", "-m", "one");
        writeCatalog((d) => (d.images["cometbft-full"].version = "1.1.0"));
        git("commit", "-q", "-am", "two");
        writeCatalog((d) => {
            d.images["cometbft-full"].version = "1.1.0";
            d.images["cometbft-full"].image = `x/y@sha256:${D2}`;
        });
        assert.equal(run("--base", "HEAD~1"), 0, err.join("\n"));
        assert.equal(run(), 1, "HEAD has 1.1.0 already");
        assert.equal(run("--base", "no-such-rev"), 2);
        assert.match(err.join("\n"), /--base no-such-rev: not a commit here/);
        assert.equal(run("--bse", "HEAD"), 2);
        assert.match(err.join("\n"), /unknown argument --bse/);
    });

    it("exits 1 through npm's command line, listing the problems", function () {
        this.timeout(120000);
        copyFileSync(
            path.join(TESTDATA, "invalid.yaml"),
            path.join(repo, "catalog", "images.yaml"),
        );
        const result = spawnSync(
            process.execPath,
            [
                "-r",
                require.resolve("ts-node/register"),
                path.join(ROOT, "scripts", "images-check.ts"),
            ],
            {
                cwd: repo,
                encoding: "utf8",
                // ts-node looks for tsconfig.json from the cwd, which here is the temp repo.
                env: {
                    ...process.env,
                    TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"),
                    TS_NODE_TRANSPILE_ONLY: "1",
                },
            },
        );
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, /3 problem\(s\)/);
        assert.match(result.stderr, /images.geth-full.protocol/);
    });
});
