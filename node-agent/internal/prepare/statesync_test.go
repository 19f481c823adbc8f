package prepare

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"chainfleet/node-agent/internal/exitcode"
	"chainfleet/node-agent/internal/storedb"
	"chainfleet/node-agent/internal/tomlmerge"
)

// fakeRPC plays a CometBFT RPC server: /status and /commit?height=H, with a block hash that
// is a function of salt and height (two servers of one chain share the salt).
type fakeRPC struct {
	latest   int64
	chainID  string
	salt     string
	unwrap   bool // answer without the JSON-RPC envelope, as Sei's RPC may
	hits     atomic.Int32
	srv      *httptest.Server
	failures int32 // answer 503 to this many requests first
}

func blockHash(salt string, h int64) string {
	s := sha256.Sum256([]byte(salt + strconv.FormatInt(h, 10)))
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func newFakeRPC(t *testing.T, latest int64, salt string) *fakeRPC {
	f := &fakeRPC{latest: latest, chainID: "net-1", salt: salt}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.hits.Add(1)
		if n <= f.failures {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		var res string
		switch r.URL.Path {
		case "/status":
			res = fmt.Sprintf(`{"node_info":{"network":%q},"sync_info":{"latest_block_height":"%d","catching_up":false}}`, f.chainID, f.latest)
		case "/commit":
			h, _ := strconv.ParseInt(r.URL.Query().Get("height"), 10, 64)
			if h < 1 || h > f.latest {
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":-1,"error":{"code":-32603,"message":"Internal error","data":"height %d must be less than or equal to the current blockchain height %d"}}`, h, f.latest)
				return
			}
			res = fmt.Sprintf(`{"signed_header":{"header":{"chain_id":%q,"height":"%d"},"commit":{"height":"%d","round":0,"block_id":{"hash":%q}}},"canonical":true}`,
				f.chainID, h, h, blockHash(f.salt, h))
		default:
			http.NotFound(w, r)
			return
		}
		if f.unwrap {
			fmt.Fprint(w, res)
		} else {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":-1,"result":%s}`, res)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// deadURL is an address where nothing listens.
func deadURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

func ssOpts(e *env, chain string, servers ...string) Options {
	o := e.opts(chain)
	if chain != CometBFT {
		o.ChainID = "net-1"
	}
	o.StateSync = &StateSync{RPCServers: servers, TrustPeriod: 168 * time.Hour, Attempts: 2, Interval: 10 * time.Millisecond, RequestTimeout: 2 * time.Second}
	return o
}

func statesyncOf(t *testing.T, e *env) map[string]any {
	t.Helper()
	doc, err := tomlmerge.Decode([]byte(e.read("config/config.toml")))
	if err != nil {
		t.Fatal(err)
	}
	return doc["statesync"].(map[string]any)
}

func TestTrustHeight(t *testing.T) {
	for _, c := range []struct{ latest, want int64 }{
		{1, 1}, {10, 1}, {11, 1}, {12, 2}, {999, 989}, {1009, 999}, {1010, 1000}, {12345, 12000}, {13009, 12000}, {13010, 13000},
	} {
		if got := trustHeight(c.latest); got != c.want {
			t.Errorf("trustHeight(%d) = %d, want %d", c.latest, got, c.want)
		}
	}
}

func TestStateSyncFreshHome(t *testing.T) {
	a, b := newFakeRPC(t, 12345, "net-1"), newFakeRPC(t, 12340, "net-1")
	e := newEnv(t)
	o := ssOpts(e, CometBFT, a.srv.URL, b.srv.URL)
	o.StateSync.TrustPeriod = 100 * time.Hour
	out := mustRun(t, o)
	ss := statesyncOf(t, e)
	want := map[string]any{
		"enable": true, "rpc_servers": a.srv.URL + "," + b.srv.URL, "trust_height": int64(12000),
		"trust_hash": blockHash("net-1", 12000), "trust_period": "100h0m0s", "discovery_time": "15s",
	}
	for k, v := range want {
		if ss[k] != v {
			t.Errorf("statesync.%s = %#v, want %#v", k, ss[k], v)
		}
	}
	for _, s := range []string{
		"no data/state.db (the node has not run on this home); asking",
		fmt.Sprintf("trust height 12000 (latest 12345) hash %s from %s, confirmed by %s", blockHash("net-1", 12000), a.srv.URL, b.srv.URL),
		"wrote the state sync trust root into config/config.toml",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestStateSyncMismatchWritesNothing(t *testing.T) {
	a, liar := newFakeRPC(t, 5000, "net-1"), newFakeRPC(t, 5000, "another chain")
	e := newEnv(t)
	out, err := run(t, ssOpts(e, CometBFT, a.srv.URL, liar.srv.URL))
	if exitcode.Of(err) != exitcode.Invalid {
		t.Fatalf("exit %d (%v), want 3:\n%s", exitcode.Of(err), err, out)
	}
	for _, s := range []string{"disagree on block 4000", a.srv.URL, liar.srv.URL, blockHash("net-1", 4000), blockHash("another chain", 4000)} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
	if got := tree(t, e.home); got != "" {
		t.Fatalf("a mismatch wrote into the home:\n%s", got)
	}
	if e.initCalls() != 0 {
		t.Fatal("init ran")
	}

	// The same on a home that exists: config.toml stays as it was.
	o := e.opts(CometBFT)
	mustRun(t, o)
	before := tree(t, e.home)
	if _, err := run(t, ssOpts(e, CometBFT, a.srv.URL, liar.srv.URL)); exitcode.Of(err) != exitcode.Invalid {
		t.Fatalf("exit %d, want 3", exitcode.Of(err))
	}
	if after := tree(t, e.home); after != before {
		t.Fatalf("a mismatch changed the home:\n%s\n%s", before, after)
	}
}

func TestStateSyncWrongChain(t *testing.T) {
	a, b := newFakeRPC(t, 5000, "x"), newFakeRPC(t, 5000, "x")
	a.chainID, b.chainID = "other-1", "other-1"
	e := newEnv(t)
	_, err := run(t, ssOpts(e, Sei, a.srv.URL, b.srv.URL))
	if exitcode.Of(err) != exitcode.Invalid || !strings.Contains(err.Error(), `serves chain "other-1", not "net-1"`) {
		t.Fatalf("got %v", err)
	}
}

// writeState writes a goleveldb state.db holding a tendermint.state.State with the given
// LastBlockHeight (field 3), beside a chain_id (field 2) and an empty version (field 1).
func writeState(t *testing.T, dir string, height int64) {
	t.Helper()
	db, err := leveldb.OpenFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	msg := []byte{0x0a, 0x00, 0x12, 0x05, 'n', 'e', 't', '-', '1'}
	if height > 0 {
		msg = append(msg, 0x18)
		for x := uint64(height); ; x >>= 7 {
			if x < 0x80 {
				msg = append(msg, byte(x))
				break
			}
			msg = append(msg, byte(x)|0x80)
		}
	}
	msg = append(msg, 0x70, 0x01) // initial_height = 1 (field 14)
	if err := db.Put([]byte("stateKey"), msg, nil); err != nil {
		t.Fatal(err)
	}
}

func TestStateSyncHomeWithData(t *testing.T) {
	a, b := newFakeRPC(t, 5000, "net-1"), newFakeRPC(t, 5000, "net-1")
	e := newEnv(t)
	mustRun(t, e.opts(CometBFT))
	writeState(t, filepath.Join(e.home, "data", "state.db"), 300)
	if h, err := storedb.StateLastBlockHeight(filepath.Join(e.home, "data", "state.db")); err != nil || h != 300 {
		t.Fatalf("LastBlockHeight = %d, %v", h, err)
	}
	before := tree(t, e.home)
	out := mustRun(t, ssOpts(e, CometBFT, a.srv.URL, b.srv.URL))
	if !strings.Contains(out, "left [statesync] untouched: the state in data/state.db is at height 300 (the node skips state sync when LastBlockHeight > 0)") {
		t.Errorf("output:\n%s", out)
	}
	if after := tree(t, e.home); after != before {
		t.Fatalf("the home changed:\n%s\n%s", before, after)
	}
	if a.hits.Load()+b.hits.Load() != 0 {
		t.Fatal("a home with block data asked the servers")
	}

	// A state at height 0 (the node ran but did not sync): a trust root again.
	os.RemoveAll(filepath.Join(e.home, "data", "state.db"))
	writeState(t, filepath.Join(e.home, "data", "state.db"), 0)
	out = mustRun(t, ssOpts(e, CometBFT, a.srv.URL, b.srv.URL))
	if !strings.Contains(out, "the state in data/state.db is at height 0") || statesyncOf(t, e)["trust_height"] != int64(4000) {
		t.Fatalf("output:\n%s", out)
	}

	// db_dir from the overrides is honoured.
	os.RemoveAll(filepath.Join(e.home, "data", "state.db"))
	writeState(t, filepath.Join(e.home, "db", "state.db"), 7)
	o := ssOpts(e, CometBFT, a.srv.URL, b.srv.URL)
	o.OverridesFile = e.file("ov.json", `{"configToml":{"moniker":"m"}}`)
	fakeDoc := strings.Replace(e.read("config/config.toml"), `proxy_app = `, "db_dir = \"db\"\nproxy_app = ", 1)
	os.WriteFile(filepath.Join(e.home, "config", "config.toml"), []byte(fakeDoc), 0o644)
	if out = mustRun(t, o); !strings.Contains(out, "the state in db/state.db is at height 7") {
		t.Fatalf("output:\n%s", out)
	}

	// Another backend: its state.db is not read; that it exists counts as block data.
	o.OverridesFile = e.file("ov.json", `{"configToml":{"db_backend":"pebbledb"}}`)
	fakeDoc = strings.Replace(e.read("config/config.toml"), `proxy_app = `, "db_backend = \"goleveldb\"\nproxy_app = ", 1)
	os.WriteFile(filepath.Join(e.home, "config", "config.toml"), []byte(fakeDoc), 0o644)
	out = mustRun(t, o)
	if !strings.Contains(out, "db/state.db exists and the agent reads only goleveldb (db_backend is pebbledb)") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestStateSyncSeiHomeWithData(t *testing.T) {
	a, b := newFakeRPC(t, 5000, "net-1"), newFakeRPC(t, 5000, "net-1")
	e := newEnv(t)
	o := ssOpts(e, Sei, a.srv.URL, b.srv.URL)
	o.OverridesFile = e.file("ov.json", `{"configToml":{"moniker":"m"}}`)
	mustRun(t, o) // a fresh home: written
	if statesyncOf(t, e)["trust-height"] != int64(4000) {
		t.Fatal("not written on a fresh home")
	}
	os.MkdirAll(filepath.Join(e.home, "data", "state.db"), 0o755)
	before := tree(t, e.home)
	hits := a.hits.Load() + b.hits.Load()
	out := mustRun(t, o)
	if !strings.Contains(out, "left [statesync] untouched: data/state.db exists and the agent does not read Sei's state store") {
		t.Errorf("output:\n%s", out)
	}
	if tree(t, e.home) != before || a.hits.Load()+b.hits.Load() != hits {
		t.Fatal("a Sei home with a state.db was changed or the servers asked")
	}
}

func TestStateSyncOneServerDown(t *testing.T) {
	b, c := newFakeRPC(t, 3000, "net-1"), newFakeRPC(t, 2995, "net-1")
	down := deadURL(t)
	e := newEnv(t)
	out := mustRun(t, ssOpts(e, CometBFT, down, b.srv.URL, c.srv.URL))
	ss := statesyncOf(t, e)
	if ss["rpc_servers"] != strings.Join([]string{down, b.srv.URL, c.srv.URL}, ",") || ss["trust_hash"] != blockHash("net-1", 2000) {
		t.Fatalf("statesync = %v", ss)
	}
	if !strings.Contains(out, "from "+b.srv.URL+", confirmed by "+c.srv.URL+"; "+down+" did not answer") {
		t.Errorf("output:\n%s", out)
	}

	// The witness down: the primary is confirmed by the next server instead.
	e2 := newEnv(t)
	out = mustRun(t, ssOpts(e2, CometBFT, b.srv.URL, down, c.srv.URL))
	if !strings.Contains(out, "confirmed by "+c.srv.URL) {
		t.Errorf("output:\n%s", out)
	}
}

func TestStateSyncRetriesThenFails(t *testing.T) {
	a, b := newFakeRPC(t, 3000, "net-1"), newFakeRPC(t, 3000, "net-1")
	a.failures = 3 // the first attempt finds only b; the second, a again
	e := newEnv(t)
	out := mustRun(t, ssOpts(e, Sei, a.srv.URL, b.srv.URL))
	if !strings.Contains(out, "attempt 1 of 2") || !strings.Contains(out, "HTTP 503") || !strings.Contains(out, "attempt 2)") {
		t.Errorf("output:\n%s", out)
	}
	// Sei's key names, and an RPC without the envelope.
	ss := statesyncOf(t, e)
	if ss["enable"] != true || ss["rpc-servers"] != a.srv.URL+","+b.srv.URL || ss["trust-height"] != int64(2000) || ss["trust-period"] != "168h0m0s" {
		t.Fatalf("sei statesync = %v", ss)
	}

	e2 := newEnv(t)
	_, err := run(t, ssOpts(e2, CometBFT, deadURL(t), b.srv.URL))
	if exitcode.Of(err) != exitcode.Failure || !strings.Contains(err.Error(), "no two of the --state-sync-rpc servers answered after 2 attempts") {
		t.Fatalf("got exit %d: %v", exitcode.Of(err), err)
	}
	if got := tree(t, e2.home); got != "" {
		t.Fatalf("unreachable servers wrote into the home:\n%s", got)
	}
}

func TestStateSyncUnwrappedAnswers(t *testing.T) {
	a, b := newFakeRPC(t, 3000, "net-1"), newFakeRPC(t, 3000, "net-1")
	a.unwrap, b.unwrap = true, true
	e := newEnv(t)
	mustRun(t, ssOpts(e, Sei, a.srv.URL, b.srv.URL))
	if statesyncOf(t, e)["trust-hash"] != blockHash("net-1", 2000) {
		t.Fatal("unwrapped answers not read")
	}
}

func TestStateSyncWithOverridesOfTheSameKeys(t *testing.T) {
	a, b := newFakeRPC(t, 3000, "net-1"), newFakeRPC(t, 3000, "net-1")
	e := newEnv(t)
	o := ssOpts(e, CometBFT, a.srv.URL, b.srv.URL)
	o.OverridesFile = e.file("ov.json", `{"configToml":{"statesync":{"trust_height":5,"discovery_time":"20s"}}}`)
	_, err := run(t, o)
	if exitcode.Of(err) != exitcode.Invalid || !strings.Contains(err.Error(), "configToml.statesync.trust_height and --state-sync-rpc is given: set one") {
		t.Fatalf("got %v", err)
	}
	// Other [statesync] keys merge beside the trust root.
	o.OverridesFile = e.file("ov.json", `{"configToml":{"statesync":{"discovery_time":"20s"}}}`)
	out := mustRun(t, o)
	if ss := statesyncOf(t, e); ss["discovery_time"] != "20s" || ss["trust_height"] != int64(2000) {
		t.Fatalf("statesync = %v", ss)
	}
	if !strings.Contains(out, "merged overrides and the state sync trust root into config/config.toml") {
		t.Errorf("output:\n%s", out)
	}
}

func TestProtoVarintField(t *testing.T) {
	// field 1: message; field 5: fixed64; field 3: varint 150; field 6: fixed32.
	msg := []byte{0x0a, 0x02, 0x08, 0x01, 0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x18, 0x96, 0x01, 0x35, 1, 2, 3, 4}
	if v, err := storedb.VarintField(msg, 3); err != nil || v != 150 {
		t.Fatalf("got %d, %v", v, err)
	}
	if v, err := storedb.VarintField(msg[:4], 3); err != nil || v != 0 {
		t.Fatalf("absent field: got %d, %v", v, err)
	}
	if _, err := storedb.VarintField([]byte{0x0a, 0x09, 0x01}, 3); err == nil {
		t.Fatal("a truncated message was accepted")
	}
}
