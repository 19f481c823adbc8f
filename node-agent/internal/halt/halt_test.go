package halt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/syndtr/goleveldb/leveldb"

	"chainfleet/node-agent/internal/exitcode"
)

// TestMain doubles as the fake node: re-executed with FAKE_NODE_HOME set, it commits
// FAKE_NODE_HEIGHT to the home's application.db (as the app would) and then exits with
// FAKE_NODE_EXIT, or with "run" keeps running until a signal kills it.
func TestMain(m *testing.M) {
	home := os.Getenv("FAKE_NODE_HOME")
	if home == "" {
		os.Exit(m.Run())
	}
	var h int64
	fmt.Sscan(os.Getenv("FAKE_NODE_HEIGHT"), &h)
	if h >= 0 {
		writeAppHeight(nil, home, h)
	}
	// The app's RPC answers only once its state is committed (fakeApp).
	if err := os.WriteFile(filepath.Join(home, "rpc-up"), nil, 0o644); err != nil {
		panic(err)
	}
	if os.Getenv("FAKE_NODE_EXIT") == "run" {
		time.Sleep(time.Minute)
	}
	var code int
	fmt.Sscan(os.Getenv("FAKE_NODE_EXIT"), &code)
	os.Exit(code)
}

// writeAppHeight stores s/latest as the Cosmos SDK's root multistore does: a protobuf
// Int64Value (field 1, varint).
func writeAppHeight(t *testing.T, home string, h int64) {
	db, err := leveldb.OpenFile(filepath.Join(home, "data", "application.db"), nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	val := []byte{0x08}
	for x := uint64(h); ; x >>= 7 {
		if x < 0x80 {
			val = append(val, byte(x))
			break
		}
		val = append(val, byte(x)|0x80)
	}
	if err := db.Put([]byte("s/latest"), val, nil); err != nil {
		panic(err)
	}
}

// fakeApp answers /abci_info with the height in h, once the fake node is up.
func fakeApp(t *testing.T, home string, h *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(filepath.Join(home, "rpc-up")); err != nil {
			http.Error(w, "not up", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path != "/abci_info" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":-1,"result":{"response":{"data":"app","last_block_height":"%d"}}}`, h.Load())
	}))
	t.Cleanup(srv.Close)
	return srv
}

type run struct {
	name      string
	before    int64  // app height on disk before (-1: no database)
	exit      string // the fake node's exit code, or "run"
	rpc       int64  // what /abci_info reports
	after     int64  // app height on disk once the node has run (-1: unchanged)
	signal    bool
	rpcOnly   bool
	wantErr   bool
	wantOut   []string
	notWanted []string
}

func TestRun(t *testing.T) {
	const target = 34
	for _, tc := range []run{
		{name: "already at the target: the node is not started", before: 34, exit: "0", after: -1,
			wantOut: []string{"already committed 34", "not starting"}, notWanted: []string{"node exited"}},
		{name: "past the target: refused at once", before: 35, exit: "0", after: -1, wantErr: true,
			wantOut: []string{"already past 34"}, notWanted: []string{"node exited"}},
		{name: "halts by itself at the target (v0.47, exit 0)", before: -1, exit: "0", rpc: 0, after: 34,
			wantOut: []string{"app committed height 34 (read from data/application.db), needed 34", "node exited 0"}},
		{name: "v0.47 block sync halt (exit 130) counts by the height", before: 10, exit: "130", after: 34,
			wantOut: []string{"needed 34", "node exited 130"}},
		{name: "v0.50: the app holds the target, the node never exits: the agent stops it", before: -1, exit: "run", rpc: 34, after: 34,
			wantOut: []string{"the app committed 34", "stopping the node (SIGTERM)", "node killed by terminated"}},
		{name: "exit 0 one short of the target (halt-height semantics wrong): not proven", before: -1, exit: "0", after: 33, wantErr: true,
			wantOut: []string{"app committed height 33", "needed 34"}},
		{name: "a crash below the target: not proven", before: -1, exit: "2", after: 20, wantErr: true,
			wantOut: []string{"app committed height 20", "node exited 2"}},
		{name: "past the target over RPC: stopped and refused", before: -1, exit: "run", rpc: 36, after: 36, wantErr: true,
			wantOut: []string{"past 34: stopping the node", "app committed height 36"}},
		{name: "stopped by SIGTERM even at the target: not a halt", before: -1, exit: "run", rpc: 20, after: 34, signal: true, wantErr: true,
			wantOut: []string{"stopped by terminated, not a halt"}},
		{name: "rpc-only: the highest /abci_info answer decides", before: -1, exit: "run", rpc: 34, after: -1, rpcOnly: true,
			wantOut: []string{"app committed height 34 (data/application.db is not read for this chain; the highest /abci_info answer counts instead)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.MkdirAll(filepath.Join(home, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.before >= 0 {
				writeAppHeight(t, home, tc.before)
			}
			var h atomic.Int64
			h.Store(tc.rpc)
			srv := fakeApp(t, home, &h)
			sigs := make(chan os.Signal, 1)
			var out strings.Builder
			t.Setenv("FAKE_NODE_HOME", home)
			t.Setenv("FAKE_NODE_HEIGHT", fmt.Sprint(tc.after))
			t.Setenv("FAKE_NODE_EXIT", tc.exit)
			argv := []string{os.Args[0], "-test.run=^$"}
			if tc.signal {
				go func() { time.Sleep(300 * time.Millisecond); sigs <- syscall.SIGTERM }()
			}
			o := Options{Home: home, Target: target, RPC: srv.URL, Argv: argv, Poll: 50 * time.Millisecond,
				Settle: 150 * time.Millisecond, StopGrace: 2 * time.Second, Signals: sigs, Out: &out, RPCOnly: tc.rpcOnly}
			_, err := Run(context.Background(), o)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tc.wantErr, out.String())
			}
			var ee *exitcode.Error
			if err != nil && (!errors.As(err, &ee) || ee.Code != NotProven) {
				t.Fatalf("err = %v, want exit code %d", err, NotProven)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) && (err == nil || !strings.Contains(err.Error(), w)) {
					t.Errorf("output lacks %q:\n%s\nerr: %v", w, out.String(), err)
				}
			}
			for _, w := range tc.notWanted {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}
