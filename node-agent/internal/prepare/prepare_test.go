package prepare

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"chainfleet/node-agent/internal/exitcode"
	"chainfleet/node-agent/internal/genesis"
	"chainfleet/node-agent/internal/nodekey"
	"chainfleet/node-agent/internal/tomlmerge"
)

// The test binary doubles as a fake chain daemon: prepare runs os.Args[0] with
// CHAINFLEET_FAKE_CHAIN set, and TestMain then acts like `cometbft init` or a Cosmos SDK
// daemon's `init`, writing the files those write (see the comment on runner.init).
func TestMain(m *testing.M) {
	if kind := os.Getenv("CHAINFLEET_FAKE_CHAIN"); kind != "" {
		os.Exit(fakeChain(kind, os.Args[1:]))
	}
	os.Exit(m.Run())
}

const fakeConfigToml = `proxy_app = "tcp://127.0.0.1:26658"
moniker = "%s"

[rpc]
laddr = "tcp://127.0.0.1:26657"
max_open_connections = 900

[p2p]
laddr = "tcp://0.0.0.0:26656"
%s
pex = true

[statesync]
%s
`

// fakeP2PKeys are the peer keys of each dialect's config.toml (see peerKeys).
var fakeP2PKeys = map[string]string{
	CometBFT: "persistent_peers = \"\"\nseeds = \"\"",
	Cosmos:   "persistent_peers = \"\"\nseeds = \"\"",
	Sei:      "persistent-peers = \"\"\nbootstrap-peers = \"\"",
}

// fakeStateSync is each dialect's [statesync] table as its init writes it (cometbft v0.38.19
// config/toml.go; sei-tendermint config/toml.go).
var fakeStateSync = map[string]string{
	CometBFT: "enable = false\nrpc_servers = \"\"\ntrust_height = 0\ntrust_hash = \"\"\ntrust_period = \"168h0m0s\"\ndiscovery_time = \"15s\"",
	Cosmos:   "enable = false\nrpc_servers = \"\"\ntrust_height = 0\ntrust_hash = \"\"\ntrust_period = \"168h0m0s\"\ndiscovery_time = \"15s\"",
	Sei:      "enable = false\nuse-p2p = false\nrpc-servers = \"\"\ntrust-height = 0\ntrust-hash = \"\"\ntrust-period = \"168h0m0s\"",
}

const fakeAppToml = `minimum-gas-prices = ""
pruning = "default"

[api]
enable = false

[state-sync]
snapshot-interval = 0
`

const fakeClientToml = `chain-id = ""
keyring-backend = "os"
node = "tcp://localhost:26657"
`

func fakeChain(kind string, args []string) int {
	var home, moniker, chainID string
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(os.Stderr, "fake: only init")
		return 1
	}
	rest := args[1:]
	if kind != CometBFT {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintln(os.Stderr, "fake: init needs a moniker")
			return 1
		}
		moniker, rest = rest[0], rest[1:]
	}
	for i := 0; i+1 < len(rest); i += 2 {
		switch rest[i] {
		case "--home":
			home = rest[i+1]
		case "--chain-id":
			chainID = rest[i+1]
		default:
			fmt.Fprintln(os.Stderr, "fake: unknown flag", rest[i])
			return 1
		}
	}
	if kind == CometBFT && os.Getenv("CMTHOME") != home {
		fmt.Fprintln(os.Stderr, "fake: CMTHOME differs from --home")
		return 1
	}
	if log := os.Getenv("FAKE_LOG"); log != "" {
		f, _ := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		fmt.Fprintln(f, strings.Join(args, " "))
		f.Close()
	}
	cfg, data := filepath.Join(home, "config"), filepath.Join(home, "data")
	os.MkdirAll(cfg, 0o700)
	os.MkdirAll(data, 0o700)
	gen := filepath.Join(cfg, "genesis.json")
	if _, err := os.Stat(gen); err == nil {
		if kind != CometBFT {
			fmt.Fprintln(os.Stderr, "genesis.json file already exists:", gen)
			return 1
		}
	} else {
		if chainID == "" {
			chainID = "test-chain-AbCdEf"
		}
		os.WriteFile(gen, []byte(`{"chain_id":"`+chainID+`","app_state":{}}`), 0o644)
	}
	writeIfMissing := func(p, s string) {
		if _, err := os.Stat(p); err != nil {
			os.WriteFile(p, []byte(s), 0o600)
		}
	}
	nk, _ := nodekey.Generate(nil)
	writeIfMissing(filepath.Join(cfg, "node_key.json"), string(nk))
	writeIfMissing(filepath.Join(cfg, "priv_validator_key.json"), `{"address":"GENERATED","pub_key":{},"priv_key":{}}`)
	writeIfMissing(filepath.Join(data, "priv_validator_state.json"), PrivValidatorState)
	if moniker == "" {
		moniker = "host"
	}
	os.WriteFile(filepath.Join(cfg, "config.toml"), []byte(fmt.Sprintf(fakeConfigToml, moniker, fakeP2PKeys[kind], fakeStateSync[kind])), 0o644)
	if kind != CometBFT {
		os.WriteFile(filepath.Join(cfg, "app.toml"), []byte(fakeAppToml), 0o644)
		os.WriteFile(filepath.Join(cfg, "client.toml"), []byte(fakeClientToml), 0o644)
	}
	if os.Getenv("FAKE_FAIL") == "1" {
		fmt.Fprintln(os.Stderr, "fake: failing after config.toml was written")
		return 1
	}
	return 0
}

func TestFailedInitRunsAgain(t *testing.T) {
	e := newEnv(t)
	o := e.opts(Sei)
	o.ChainID = "net-1"
	t.Setenv("FAKE_FAIL", "1")
	_, err := run(t, o)
	if exitcode.Of(err) != exitcode.Failure || !strings.Contains(err.Error(), "fake: failing after config.toml was written") || !strings.Contains(err.Error(), "removed the config/config.toml") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.home, "config", "config.toml")); !os.IsNotExist(err) {
		t.Fatal("config.toml of the failed init is still there")
	}
	t.Setenv("FAKE_FAIL", "")
	// The failed init left a genesis.json; the SDK's init would refuse to run over it, so
	// prepare keeps it aside during the second init.
	out := mustRun(t, o)
	if e.initCalls() != 2 || !strings.Contains(out, "ran ") {
		t.Fatalf("init did not run again:\n%s", out)
	}
}

type env struct {
	t       *testing.T
	home    string
	log     string
	srv     *httptest.Server
	hits    *atomic.Int32
	body    []byte
	scratch string
}

const genesisDoc = `{"genesis_time":"2024-01-01T00:00:00Z","chain_id":"net-1","app_state":{"x":[1,2,3]}}`

func newEnv(t *testing.T) *env {
	e := &env{t: t, home: filepath.Join(t.TempDir(), "home"), scratch: t.TempDir(), body: []byte(genesisDoc), hits: &atomic.Int32{}}
	e.log = filepath.Join(e.scratch, "init.log")
	t.Setenv("FAKE_LOG", e.log)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only genesis downloads count. A CI run once saw 2 requests where the code makes 1
		// (the second run said "skipped download"): a stray, such as a state-sync poll of an
		// earlier test (statesync_test.go) reaching this server on a reused port, is not one.
		if r.URL.Path == "/genesis.json" {
			e.hits.Add(1)
		}
		w.Write(e.body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) opts(chain string) Options {
	e.t.Setenv("CHAINFLEET_FAKE_CHAIN", chain)
	return Options{Chain: chain, Home: e.home, Binary: os.Args[0], Moniker: "node-0", HTTPClient: e.srv.Client(), InitTimeout: time.Minute}
}

func (e *env) file(name string, content string) string {
	p := filepath.Join(e.scratch, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) read(rel string) string {
	b, err := os.ReadFile(filepath.Join(e.home, rel))
	if err != nil {
		e.t.Fatalf("read %s: %v", rel, err)
	}
	return string(b)
}

func (e *env) initCalls() int {
	b, _ := os.ReadFile(e.log)
	return strings.Count(string(b), "\n")
}

func run(t *testing.T, o Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	err := Run(context.Background(), o)
	return out.String(), err
}

func mustRun(t *testing.T, o Options) string {
	t.Helper()
	out, err := run(t, o)
	if err != nil {
		t.Fatalf("prepare failed: %v\n%s", err, out)
	}
	return out
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// tree lists every file under dir with its content hash, to prove a run changed nothing.
func tree(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			c, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			fmt.Fprintf(&b, "%s %s\n", rel, sha(c)[:12])
		}
		return nil
	})
	return b.String()
}

func TestInitOnlyWhenConfigTomlMissing(t *testing.T) {
	e := newEnv(t)
	o := e.opts(CometBFT)
	out := mustRun(t, o)
	if !strings.Contains(out, "prepare: init:") || !strings.Contains(out, "ran ") || e.initCalls() != 1 {
		t.Fatalf("first run did not init:\n%s", out)
	}
	if !strings.Contains(out, "keeping config/genesis.json") || !strings.Contains(out, "chain_id test-chain-AbCdEf") {
		t.Fatalf("genesis of init not kept:\n%s", out)
	}
	before := tree(t, e.home)
	out = mustRun(t, o)
	if !strings.Contains(out, "skipped: config/config.toml exists") || e.initCalls() != 1 {
		t.Fatalf("second run ran init again:\n%s", out)
	}
	if after := tree(t, e.home); after != before {
		t.Fatalf("second run changed files:\n%s\n---\n%s", before, after)
	}
	// Every step prints one line.
	for _, step := range []string{"init", "genesis", "config", "node-key", "validator-key", "signing-state", "upgrade-info", "validate", "peers"} {
		if !strings.Contains(out, "prepare: "+step+":") {
			t.Errorf("no line for step %s:\n%s", step, out)
		}
	}
}

func TestGenesis(t *testing.T) {
	plain := []byte(genesisDoc)
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(plain)
	zw.Close()
	zipped := zbuf.Bytes()

	cases := []struct {
		name    string
		served  []byte
		sha     string
		chainID string
		code    int    // 0: success
		msg     string // substring of output or error
	}{
		{name: "good", served: plain, sha: sha(plain), chainID: "net-1", msg: "sha256 verified " + sha(plain)},
		{name: "good, chain id taken from the genesis", served: plain, sha: sha(plain), msg: "chain_id net-1"},
		{name: "gzip", served: zipped, sha: sha(zipped), chainID: "net-1", msg: "gunzipped"},
		{name: "wrong checksum writes nothing", served: plain, sha: sha([]byte("other")), code: exitcode.Invalid, msg: "expected sha256 " + sha([]byte("other")) + ", got " + sha(plain)},
		{name: "chain-id mismatch writes nothing", served: plain, sha: sha(plain), chainID: "net-2", code: exitcode.Invalid, msg: `has chain_id "net-1" but --chain-id is "net-2"`},
	}
	for _, chain := range []string{CometBFT, Sei} {
		for _, tc := range cases {
			t.Run(chain+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				e.body = tc.served
				o := e.opts(chain)
				o.ChainID = tc.chainID
				o.Genesis = &genesis.Source{URL: e.srv.URL + "/genesis.json", SHA256: tc.sha}
				out, err := run(t, o)
				if tc.code != 0 {
					if exitcode.Of(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
						t.Fatalf("want exit %d with %q, got %d: %v", tc.code, tc.msg, exitcode.Of(err), err)
					}
					if entries, _ := os.ReadDir(e.home); len(entries) != 0 {
						t.Fatalf("a failed check wrote into the home: %s", tree(t, e.home))
					}
					if e.initCalls() != 0 {
						t.Fatal("init ran although the genesis failed its check")
					}
					return
				}
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if !strings.Contains(out, tc.msg) {
					t.Fatalf("output lacks %q:\n%s", tc.msg, out)
				}
				if got := e.read("config/genesis.json"); got != genesisDoc {
					t.Fatalf("genesis.json = %s", got)
				}
				if chain == Sei && !strings.Contains(e.read("config/client.toml"), `chain-id = 'net-1'`) {
					t.Fatalf("client.toml: %s", e.read("config/client.toml"))
				}
				// Second run: no download, nothing changes.
				before := tree(t, e.home)
				out = mustRun(t, o)
				if e.hits.Load() != 1 || !strings.Contains(out, "skipped download") {
					t.Fatalf("second run downloaded again (%d requests):\n%s", e.hits.Load(), out)
				}
				if tree(t, e.home) != before {
					t.Fatal("second run changed files")
				}
				// The genesis replaced behind our back (e.g. a snapshot of another network) is
				// downloaded and verified again.
				os.WriteFile(filepath.Join(e.home, "config", "genesis.json"), []byte(`{"chain_id":"net-1","x":1}`), 0o644)
				mustRun(t, o)
				if e.hits.Load() != 2 || e.read("config/genesis.json") != genesisDoc {
					t.Fatalf("a changed genesis was not replaced (%d requests)", e.hits.Load())
				}
			})
		}
	}
}

func TestGenesisFile(t *testing.T) {
	e := newEnv(t)
	o := e.opts(Cosmos)
	o.ChainID = "net-1"
	o.Genesis = &genesis.Source{File: e.file("g.json", genesisDoc)}
	mustRun(t, o)
	if e.read("config/genesis.json") != genesisDoc || e.hits.Load() != 0 {
		t.Fatal("genesis file not placed")
	}
	if e.initCalls() != 1 || !strings.Contains(mustLog(t, e.log), "init node-0 --chain-id net-1 --home "+e.home) {
		t.Fatalf("cosmos init args: %s", mustLog(t, e.log))
	}
}

func mustLog(t *testing.T, p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func TestOverrides(t *testing.T) {
	cases := []struct {
		name  string
		chain string
		ov    string
		code  int
		check func(t *testing.T, e *env)
		msgs  []string
	}{
		{
			name: "merged into config.toml, types kept", chain: CometBFT,
			ov: `{"configToml":{"p2p":{"persistent_peers":"a@b:26656","pex":false},"rpc":{"max_open_connections":10}}}`,
			check: func(t *testing.T, e *env) {
				doc, err := tomlmerge.Decode([]byte(e.read("config/config.toml")))
				if err != nil {
					t.Fatal(err)
				}
				p2p := doc["p2p"].(map[string]any)
				if p2p["persistent_peers"] != "a@b:26656" || p2p["pex"] != false || p2p["laddr"] != "tcp://0.0.0.0:26656" {
					t.Fatalf("p2p = %v", p2p)
				}
				if doc["rpc"].(map[string]any)["max_open_connections"] != int64(10) || doc["moniker"] != "host" {
					t.Fatalf("doc = %v", doc)
				}
			},
		},
		{
			name: "sei: all three files, client chain-id set", chain: Sei,
			ov: `{"configToml":{"moniker":"m"},"appToml":{"pruning":"nothing","state-sync":{"snapshot-interval":1000}},"clientToml":{"node":"tcp://127.0.0.1:26657"}}`,
			check: func(t *testing.T, e *env) {
				app, _ := tomlmerge.Decode([]byte(e.read("config/app.toml")))
				if app["pruning"] != "nothing" || app["state-sync"].(map[string]any)["snapshot-interval"] != int64(1000) {
					t.Fatalf("app = %v", app)
				}
				cl, _ := tomlmerge.Decode([]byte(e.read("config/client.toml")))
				if cl["chain-id"] != "net-1" || cl["node"] != "tcp://127.0.0.1:26657" || cl["keyring-backend"] != "os" {
					t.Fatalf("client = %v", cl)
				}
			},
		},
		{
			name: "every problem at once, and no file changes", chain: Sei, code: exitcode.Invalid,
			ov:   `{"configToml":{"p2pp":{},"rpc":{"max_open_connections":"10"}},"appToml":{"minimum_gas_prices":"1usei"},"clientToml":{"chain-id":"other"}}`,
			msgs: []string{`configToml.p2pp: unknown key`, `did you mean "p2p"?`, `configToml.rpc.max_open_connections: the file has an integer`, `appToml.minimum_gas_prices: unknown key`, `did you mean "minimum-gas-prices"?`, `clientToml.chain-id: other differs from --chain-id "net-1"`},
		},
		{
			name: "appToml for cometbft, which writes no app.toml", chain: CometBFT, code: exitcode.Invalid,
			ov:   `{"appToml":{"pruning":"nothing"}}`,
			msgs: []string{"appToml: config/app.toml does not exist"},
		},
		{
			name: "unknown file key", chain: CometBFT, code: exitcode.Invalid,
			ov:   `{"configToml":{},"config":{}}`,
			msgs: []string{"config: unknown file key; use configToml, appToml or clientToml"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.opts(tc.chain)
			if tc.chain != CometBFT {
				o.ChainID = "net-1"
			}
			// A first run without overrides, so a failing run can be shown to change nothing.
			mustRun(t, o)
			before := tree(t, e.home)
			o.OverridesFile = e.file("ov.json", tc.ov)
			out, err := run(t, o)
			if tc.code != 0 {
				if exitcode.Of(err) != tc.code {
					t.Fatalf("exit %d, want %d: %v", exitcode.Of(err), tc.code, err)
				}
				for _, m := range tc.msgs {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error lacks %q:\n%v", m, err)
					}
				}
				if tree(t, e.home) != before {
					t.Fatal("a failed merge changed files")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			tc.check(t, e)
			// Idempotent: the same overrides again change nothing.
			after := tree(t, e.home)
			out = mustRun(t, o)
			if tree(t, e.home) != after || !strings.Contains(out, "unchanged") {
				t.Fatalf("re-applying the same overrides changed files:\n%s", out)
			}
		})
	}
}

func TestKeysAndSigningState(t *testing.T) {
	e := newEnv(t)
	nk, _ := nodekey.Generate(nil)
	k, _ := nodekey.Parse(nk)
	val := `{"address":"ABC","pub_key":{"type":"tendermint/PubKeyEd25519","value":"x"},"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"y"}}`
	o := e.opts(CometBFT)
	o.NodeKeyFile = e.file("node_key.json", string(nk))
	o.ValidatorKeyFile = e.file("val.json", val)
	out := mustRun(t, o)
	if e.read("config/node_key.json") != string(nk) || e.read("config/priv_validator_key.json") != val {
		t.Fatal("keys not copied")
	}
	if !strings.Contains(out, "node id "+nodekey.ID(k)) {
		t.Fatalf("node id not printed:\n%s", out)
	}
	// A validator that signed up to height 1234: its state must survive every later run,
	// including one with a new key file and one after the keys were lost from the volume.
	signed := `{"height":"1234","round":0,"step":3,"signature":"c2ln","signbytes":"AA=="}`
	os.WriteFile(filepath.Join(e.home, "data", "priv_validator_state.json"), []byte(signed), 0o600)
	os.Remove(filepath.Join(e.home, "config", "node_key.json"))
	os.WriteFile(filepath.Join(e.home, "config", "priv_validator_key.json"), []byte(`{"address":"STALE","pub_key":{},"priv_key":{}}`), 0o600)
	out = mustRun(t, o)
	if e.read("config/node_key.json") != string(nk) || e.read("config/priv_validator_key.json") != val {
		t.Fatalf("keys not restored:\n%s", out)
	}
	if e.read("data/priv_validator_state.json") != signed {
		t.Fatal("priv_validator_state.json was modified")
	}
	if !strings.Contains(out, "left untouched") {
		t.Fatalf("output:\n%s", out)
	}
	// Missing state is created in CometBFT's format, and only then.
	os.Remove(filepath.Join(e.home, "data", "priv_validator_state.json"))
	out = mustRun(t, o)
	if e.read("data/priv_validator_state.json") != "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}" || !strings.Contains(out, "created data/priv_validator_state.json") {
		t.Fatalf("state: %q\n%s", e.read("data/priv_validator_state.json"), out)
	}
}

func TestBadKeysWriteNothing(t *testing.T) {
	for _, tc := range []struct{ flag, content string }{
		{"--node-key", `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"AAAA"}}`},
		{"--validator-key", `{"address":""}`},
	} {
		e := newEnv(t)
		o := e.opts(CometBFT)
		if tc.flag == "--node-key" {
			o.NodeKeyFile = e.file("k.json", tc.content)
		} else {
			o.ValidatorKeyFile = e.file("k.json", tc.content)
		}
		_, err := run(t, o)
		if exitcode.Of(err) != exitcode.Invalid || !strings.Contains(err.Error(), tc.flag) {
			t.Fatalf("%s: got %v", tc.flag, err)
		}
		if _, err := os.Stat(e.home); !os.IsNotExist(err) {
			t.Fatalf("%s: the home was created", tc.flag)
		}
	}
}

func TestUpgradeInfo(t *testing.T) {
	const want = `{"name":"v2","time":"0001-01-01T00:00:00Z","height":1000}`
	cases := []struct {
		name     string
		existing string // "" = absent
		result   string
		msg      string
	}{
		{name: "absent", existing: "", result: want, msg: "wrote data/upgrade-info.json"},
		{name: "same", existing: want, result: want, msg: "already names v2 at height 1000"},
		{name: "same name and height, other fields kept", existing: `{"name":"v2","height":"1000","info":"x"}`, result: `{"name":"v2","height":"1000","info":"x"}`, msg: "already names"},
		{name: "stale name from a restored snapshot", existing: `{"name":"v1","time":"0001-01-01T00:00:00Z","height":1000}`, result: want, msg: "is stale"},
		{name: "stale height", existing: `{"name":"v2","time":"0001-01-01T00:00:00Z","height":900}`, result: want, msg: "is stale"},
		{name: "garbage", existing: `not json`, result: want, msg: "is stale"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := e.opts(Sei)
			o.ChainID = "net-1"
			o.UpgradeInfo = &UpgradeInfo{Name: "v2", Height: 1000}
			if tc.existing != "" {
				os.MkdirAll(filepath.Join(e.home, "data"), 0o700)
				os.WriteFile(filepath.Join(e.home, "data", "upgrade-info.json"), []byte(tc.existing), 0o644)
			}
			out := mustRun(t, o)
			if got := e.read("data/upgrade-info.json"); got != tc.result {
				t.Fatalf("upgrade-info.json = %s, want %s", got, tc.result)
			}
			if !strings.Contains(out, tc.msg) {
				t.Fatalf("output lacks %q:\n%s", tc.msg, out)
			}
		})
	}
}

// A home restored from a snapshot: data and genesis, but no config.toml. The SDK's init
// refuses an existing genesis; prepare keeps it aside and puts it back.
func TestRestoredSnapshotHome(t *testing.T) {
	e := newEnv(t)
	os.MkdirAll(filepath.Join(e.home, "config"), 0o700)
	os.MkdirAll(filepath.Join(e.home, "data", "application.db"), 0o700)
	os.WriteFile(filepath.Join(e.home, "config", "genesis.json"), []byte(genesisDoc), 0o644)
	os.WriteFile(filepath.Join(e.home, "data", "upgrade-info.json"), []byte(`{"name":"old","height":5}`), 0o644)
	o := e.opts(Sei)
	o.ChainID = "net-1"
	o.UpgradeInfo = &UpgradeInfo{Name: "new", Height: 10}
	out := mustRun(t, o)
	if e.initCalls() != 1 || e.read("config/genesis.json") != genesisDoc {
		t.Fatalf("genesis lost or init not run:\n%s", out)
	}
	if e.read("data/upgrade-info.json") != `{"name":"new","time":"0001-01-01T00:00:00Z","height":10}` {
		t.Fatal("stale upgrade-info won")
	}
	if _, err := os.Stat(filepath.Join(e.home, ".chainfleet-genesis.kept")); !os.IsNotExist(err) {
		t.Fatal("the kept genesis was left behind")
	}
}

func TestValidateFails(t *testing.T) {
	e := newEnv(t)
	o := e.opts(CometBFT)
	mustRun(t, o)
	os.WriteFile(filepath.Join(e.home, "config", "config.toml"), []byte("[p2p\n"), 0o644)
	if _, err := run(t, o); exitcode.Of(err) != exitcode.Invalid || !strings.Contains(err.Error(), "config/config.toml does not parse") {
		t.Fatalf("got %v", err)
	}
}

// A home copied to another pod (a cloned volume) must not keep the node ID of the pod it was
// copied from: peers drop one of two nodes with one ID. The owner file tells the copy apart.
func TestCopiedHomeGetsItsOwnNodeKey(t *testing.T) {
	e := newEnv(t)
	o := e.opts(CometBFT)
	o.Owner = "rpc-aaaa-0"
	out := mustRun(t, o)
	if !strings.Contains(out, "recorded rpc-aaaa-0 as the home's owner") {
		t.Fatalf("owner not recorded:\n%s", out)
	}
	key := e.read("config/node_key.json")
	mustRun(t, o)
	if e.read("config/node_key.json") != key {
		t.Fatal("the same owner's key changed on a restart")
	}
	o.Owner = "rpc-bbbb-0" // the same files, now on another pod's volume
	out = mustRun(t, o)
	if !strings.Contains(out, "the home was prepared for rpc-aaaa-0 (a copied volume): new node key") {
		t.Fatalf("copy not detected:\n%s", out)
	}
	if e.read("config/node_key.json") == key {
		t.Fatal("the copy kept the original's node key")
	}
	if got := strings.TrimSpace(e.read("config/chainfleet-owner")); got != "rpc-bbbb-0" {
		t.Fatalf("owner = %q", got)
	}
	// Keys from config win: a copy with --node-key keeps the given key, no fresh one.
	o.Owner = "rpc-cccc-0"
	nk, _ := nodekey.Generate(nil)
	o.NodeKeyFile = e.file("node_key.json", string(nk))
	out = mustRun(t, o)
	if strings.Contains(out, "new node key") || e.read("config/node_key.json") != string(nk) {
		t.Fatalf("a given key was not kept:\n%s", out)
	}
}
