package ready

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture reads a status body the TypeScript adapters are tested with
// (test/testdata/chains/sei in the repository).
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "test", "testdata", "chains", "sei", name))
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
			var path string
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer s.Close()
			res, err := Check(context.Background(), s.Client(), tc.chain, s.URL+"/")
			wantPath := "/status"
			if tc.chain == "avalanche" {
				wantPath = "/ext/health"
			}
			if path != wantPath {
				t.Errorf("asked %q, want %q", path, wantPath)
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
	_, err := Check(context.Background(), http.DefaultClient, "cometbft", "http://127.0.0.1:36999")
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
	_, err = Check(ctx, slow.Client(), "cometbft", slow.URL)
	if !errors.As(err, &nr) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %s", err, time.Since(start))
	}
}
