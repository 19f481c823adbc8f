package ready

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture reads a body the TypeScript adapters are tested with (test/testdata/chains/sei in
// the repository).
func fixture(t *testing.T, name string) string {
	t.Helper()
	return chainFixture(t, "sei", name)
}

// chainFixture reads test/testdata/chains/<chain>/<name>.
func chainFixture(t *testing.T, chain, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "test", "testdata", "chains", chain, name))
	if err != nil {
		t.Fatalf("repository fixture: %v", err)
	}
	return string(b)
}

func TestCheck(t *testing.T) {
	caughtUp := `{"jsonrpc":"2.0","id":-1,"result":{"node_info":{},"sync_info":{"latest_block_height":"42","catching_up":false}}}`
	cases := []struct {
		name   string
		chain  string
		status int
		body   string
		ok     string // substring of the summary; empty: not ready
		reason string // substring of the reason
	}{
		{name: "cometbft caught up", chain: "cometbft", status: 200, body: caughtUp, ok: "in sync at height 42"},
		{name: "catching up", chain: "cometbft", status: 200, body: `{"result":{"sync_info":{"latest_block_height":"7","catching_up":true}}}`, reason: "node is catching up (latest_block_height 7)"},
		{name: "fresh node at height 0", chain: "cosmos", status: 200, body: `{"result":{"sync_info":{"latest_block_height":"0","catching_up":false}}}`, reason: "no block yet"},
		{name: "numeric height", chain: "cosmos", status: 200, body: `{"result":{"sync_info":{"latest_block_height":5,"catching_up":false}}}`, ok: "height 5"},
		{name: "sei caught up (repository fixture, wrapped)", chain: "sei", status: 200, body: fixture(t, "status-caught-up.json"), ok: "in sync"},
		{name: "sei catching up (repository fixture, unwrapped)", chain: "sei", status: 200, body: fixture(t, "status-catching-up-unwrapped.json"), reason: "catching up (latest_block_height 149000000)"},
		{name: "sei unwrapped caught up", chain: "sei", status: 200, body: `{"node_info":{},"sync_info":{"latest_block_height":"9","catching_up":false}}`, ok: "height 9"},
		{name: "rpc error", chain: "sei", status: 200, body: `{"jsonrpc":"2.0","id":-1,"error":{"code":-32603,"message":"Internal error","data":"boom"}}`, reason: "RPC error -32603: Internal error boom"},
		{name: "no sync_info", chain: "cometbft", status: 200, body: `{"result":{}}`, reason: "no sync_info.catching_up"},
		{name: "http 500", chain: "cometbft", status: 500, body: "oops\nmore", reason: "HTTP 500: oops more"},
		{name: "not json", chain: "cometbft", status: 200, body: "<html>", reason: "not JSON"},
		{name: "avalanche healthy", chain: "avalanche", status: 200, body: `{"checks":{"C":{"message":{}},"P":{}},"healthy":true}`, ok: "healthy (2 checks pass)"},
		{name: "avalanche 503", chain: "avalanche", status: 503, body: `{"checks":{"bootstrapped":{"error":{"message":"subnets not bootstrapped"}},"network":{}},"healthy":false}`, reason: "not healthy (HTTP 503): bootstrapped: subnets not bootstrapped"},
		{name: "avalanche 200 but unhealthy body", chain: "avalanche", status: 200, body: `{"healthy":false}`, reason: "not healthy (HTTP 200)"},
		{name: "avalanche garbage", chain: "avalanche", status: 404, body: `404 page not found`, reason: "HTTP 404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.URL.Path)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer s.Close()
			res, err := Check(context.Background(), s.Client(), tc.chain, s.URL+"/", DefaultMaxPeerLag)
			wantPath := "/status"
			if tc.chain == "avalanche" {
				wantPath = "/ext/health"
			}
			if len(paths) == 0 || paths[0] != wantPath {
				t.Errorf("asked %q, want %q first", paths, wantPath)
			}
			if tc.ok != "" {
				if err != nil || !strings.Contains(res.Summary, tc.ok) {
					t.Fatalf("want ready %q, got %v %v", tc.ok, res, err)
				}
				return
			}
			var nr *NotReady
			if !errors.As(err, &nr) {
				t.Fatalf("want NotReady, got %v %v", res, err)
			}
			if !strings.Contains(nr.Reason, tc.reason) || strings.Contains(nr.Reason, "\n") {
				t.Fatalf("reason %q, want one line containing %q", nr.Reason, tc.reason)
			}
		})
	}
}

func TestUnreachableAndTimeout(t *testing.T) {
	// Nothing listens on this port (36999 is in the range the tests may use).
	_, err := Check(context.Background(), http.DefaultClient, "cometbft", "http://127.0.0.1:36999", DefaultMaxPeerLag)
	var nr *NotReady
	if !errors.As(err, &nr) || !strings.Contains(nr.Reason, "GET http://127.0.0.1:36999/status") {
		t.Fatalf("got %v", err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Check(ctx, slow.Client(), "cometbft", slow.URL, DefaultMaxPeerLag)
	if !errors.As(err, &nr) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %s", err, time.Since(start))
	}
}

// node serves /status and /dump_consensus_state like a CometBFT RPC; dumpCode 0 means 200.
type node struct {
	status, dump string
	dumpCode     int
	dumpDelay    time.Duration
	asked        []string
}

func (n *node) serve(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.asked = append(n.asked, r.URL.Path)
		switch r.URL.Path {
		case "/status":
			w.Write([]byte(n.status))
		case "/dump_consensus_state":
			if n.dumpDelay > 0 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(n.dumpDelay):
				}
			}
			if n.dumpCode != 0 {
				w.WriteHeader(n.dumpCode)
			}
			w.Write([]byte(n.dump))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func statusAt(h int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":-1,"result":{"sync_info":{"latest_block_height":"%d","catching_up":false}}}`, h)
}

// dumpWith is a CometBFT-shaped /dump_consensus_state whose peers decide the given heights
// (round_state.height: the peer's latest block + 1).
func dumpWith(deciding ...int) string {
	var peers []string
	for i, h := range deciding {
		peers = append(peers, fmt.Sprintf(`{"node_address":"%040x@10.0.0.%d:26656","peer_state":{"round_state":{"height":"%d","round":0,"step":1},"stats":{"votes":"0","block_parts":"0"}}}`, i+1, i+1, h))
	}
	return `{"jsonrpc":"2.0","id":-1,"result":{"round_state":{"height":"1"},"peers":[` + strings.Join(peers, ",") + `]}}`
}

func TestPeerLag(t *testing.T) {
	seiDump := fixture(t, "dump_consensus_state-behind.json")
	var seiEnv struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(seiDump), &seiEnv); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	cases := []struct {
		name   string
		node   node
		lag    *int64 // nil: DefaultMaxPeerLag
		ok     string // the whole summary; empty: not ready
		reason string // the whole reason
	}{
		{
			// Captured: a node that switched to consensus while the validator was down (its
			// other peer was not ahead), then crawled; /status said catching_up false.
			name:   "cometbft v0.38.19 captured: behind the validator in consensus mode",
			node:   node{status: chainFixture(t, "cometbft", "status-v0.38.19-behind-in-consensus.json"), dump: chainFixture(t, "cometbft", "dump_consensus_state-v0.38.19-behind.json")},
			reason: "342 blocks behind peer 4d838125f7907f9b8c20a9f4e091a92af8f7990c (height 716, ours 374)",
		},
		{
			name: "cometbft v0.38.19 captured: the validator, its peer behind it",
			node: node{status: statusAt(717), dump: chainFixture(t, "cometbft", "dump_consensus_state-v0.38.19-validator.json")},
			ok:   "in sync at height 717; highest peer at 374 (1 peer, max lag 10)",
		},
		{
			name:   "the example of the README",
			node:   node{status: statusAt(1533), dump: dumpWith(1534, 2930, 1200)},
			reason: "1396 blocks behind peer 0000000000000000000000000000000000000002 (height 2929, ours 1533)",
		},
		{name: "peers within the lag", node: node{status: statusAt(100), dump: dumpWith(101, 111, 99)}, ok: "in sync at height 100; highest peer at 110 (3 peers, max lag 10)"},
		{name: "one block over the lag", node: node{status: statusAt(100), dump: dumpWith(101, 112)}, reason: "11 blocks behind peer 0000000000000000000000000000000000000002 (height 111, ours 100)"},
		{name: "--max-peer-lag 0", node: node{status: statusAt(100), dump: dumpWith(102)}, lag: &zero, reason: "1 blocks behind peer 0000000000000000000000000000000000000001 (height 101, ours 100)"},
		{name: "--max-peer-lag 0, peer at our height", node: node{status: statusAt(100), dump: dumpWith(101)}, lag: &zero, ok: "in sync at height 100; highest peer at 100 (1 peer, max lag 0)"},
		{name: "no peers", node: node{status: statusAt(5), dump: dumpWith()}, ok: "in sync at height 5; no peer reports a height (0 peers)"},
		{
			name: "a peer without consensus state yet (CometBFT's zero entry) and one still block-syncing",
			node: node{status: statusAt(5), dump: `{"result":{"peers":[{"node_address":"","peer_state":null},{"node_address":"ab@1.2.3.4:26656","peer_state":{"round_state":{"height":"0"}}}]}}`},
			ok:   "in sync at height 5; no peer reports a height (1 peer)",
		},
		{
			name: "numeric heights and one unreadable entry",
			node: node{status: statusAt(50), dump: `{"result":{"peers":[{"node_address":"aa@h:1","peer_state":{"round_state":{"height":51}}},{"node_address":"bb@h:1","peer_state":{"round_state":{}}}]}}`},
			ok:   "in sync at height 50; highest peer at 50 (2 peers, 1 unreadable, max lag 10)",
		},
		{
			name:   "sei-tendermint shape (constructed fixture, enveloped)",
			node:   node{status: fixture(t, "status-caught-up.json"), dump: seiDump},
			reason: "1432 blocks behind peer 1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c1b3a5f7e (height 151235999, ours 151234567)",
		},
		{
			name:   "sei-tendermint shape without the JSON-RPC envelope",
			node:   node{status: fixture(t, "status-catching-up-unwrapped.json"), dump: string(seiEnv.Result)},
			reason: "node is catching up", // the /status rule comes first
		},
		{
			name:   "sei unwrapped dump, caught up status",
			node:   node{status: `{"sync_info":{"latest_block_height":"151234567","catching_up":false}}`, dump: string(seiEnv.Result)},
			reason: "1432 blocks behind peer 1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c1b3a5f7e (height 151235999, ours 151234567)",
		},
		{
			name: "sei peers in sync",
			node: node{status: fixture(t, "status-caught-up.json"), dump: strings.Replace(seiDump, `"151236000"`, `"151234569"`, 1)},
			ok:   "in sync at height 151234567; highest peer at 151234568 (2 peers, max lag 10)",
		},
		// Where the peers' heights cannot be read, /status alone decides, as before.
		{
			name: "endpoint 404",
			node: node{status: statusAt(42), dumpCode: 404, dump: "404 page not found\n"},
			ok:   "in sync at height 42; peer heights unknown, so catching_up alone decides (GET {URL}/dump_consensus_state: HTTP 404: 404 page not found)",
		},
		{
			name: "rpc error",
			node: node{status: statusAt(42), dump: `{"jsonrpc":"2.0","id":-1,"error":{"code":-32601,"message":"Method not found"}}`},
			ok:   "in sync at height 42; peer heights unknown, so catching_up alone decides (GET {URL}/dump_consensus_state: RPC error -32601: Method not found)",
		},
		{
			name: "another shape",
			node: node{status: statusAt(42), dump: `{"result":{"round_state":{}}}`},
			ok:   "in sync at height 42; peer heights unknown, so catching_up alone decides (GET {URL}/dump_consensus_state: no peers list in the answer)",
		},
		{
			name: "no height readable",
			node: node{status: statusAt(42), dump: `{"result":{"peers":[{"node_address":"aa@h:1","peer_state":{"round_state":{"height":"x"}}}]}}`},
			ok:   "in sync at height 42; peer heights unknown, so catching_up alone decides (GET {URL}/dump_consensus_state: no peer_state.round_state.height readable in 1 peers)",
		},
		{
			name: "not JSON",
			node: node{status: statusAt(42), dump: `<html>`},
			ok:   "in sync at height 42; peer heights unknown, so catching_up alone decides (GET {URL}/dump_consensus_state: not JSON: invalid character '<' looking for beginning of value)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lag := int64(DefaultMaxPeerLag)
			if tc.lag != nil {
				lag = *tc.lag
			}
			n := tc.node
			s := n.serve(t)
			res, err := Check(context.Background(), s.Client(), "cometbft", s.URL, lag)
			if tc.ok != "" {
				want := strings.ReplaceAll(tc.ok, "{URL}", s.URL)
				if err != nil || res.Summary != want {
					t.Fatalf("want ready %q, got %+v %v", want, res, err)
				}
				return
			}
			var nr *NotReady
			if !errors.As(err, &nr) {
				t.Fatalf("want NotReady, got %+v %v", res, err)
			}
			if !strings.Contains(nr.Reason, tc.reason) || strings.Contains(nr.Reason, "\n") {
				t.Fatalf("reason %q, want one line containing %q", nr.Reason, tc.reason)
			}
			if strings.Contains(tc.reason, "catching up") && len(n.asked) != 1 {
				t.Fatalf("asked %v: a node that is catching up needs no second request", n.asked)
			}
		})
	}
}

// The whole call, both requests, ends at the context's deadline; a /dump_consensus_state that
// does not answer in time leaves the /status rule to decide.
func TestPeerLagWithinTimeout(t *testing.T) {
	n := &node{status: statusAt(42), dump: dumpWith(2000), dumpDelay: 5 * time.Second}
	s := n.serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Check(ctx, s.Client(), "sei", s.URL, DefaultMaxPeerLag)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	if err != nil || !strings.HasPrefix(res.Summary, "in sync at height 42; peer heights unknown, so catching_up alone decides (GET "+s.URL+"/dump_consensus_state: ") ||
		!strings.Contains(res.Summary, "deadline exceeded") {
		t.Fatalf("got %+v %v", res, err)
	}
}
