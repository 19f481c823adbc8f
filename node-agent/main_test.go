package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chainfleet/node-agent/internal/exitcode"
)

func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		msg  string // must appear in stderr
	}{
		{nil, "usage: chainfleet-agent <command>"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"install"}, "--to is required: give the directory"},
		{[]string{"install", "--to"}, "flag needs an argument: -to"},
		{[]string{"prepare", "--home", "/x"}, "--chain is required: use one of cometbft, sei, cosmos"},
		{[]string{"prepare", "--chain", "avalanche", "--home", "/x"}, `--chain "avalanche" is not supported: use one of cometbft, sei, cosmos`},
		{[]string{"prepare", "--chain", "cometbft"}, "--home is required"},
		{[]string{"prepare", "--chain", "cosmos", "--home", "/x", "--chain-id", "c"}, "--binary is required for --chain cosmos"},
		{[]string{"prepare", "--chain", "sei", "--home", "/x"}, "--chain-id is required for --chain sei"},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--genesis-url", "http://h/g"}, `--genesis-url "http://h/g" needs --genesis-sha256`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--genesis-url", "ftp://h/g", "--genesis-sha256", strings.Repeat("a", 64)}, `--genesis-url "ftp://h/g": give an http:// or https:// URL`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--genesis-url", "http://h/g", "--genesis-sha256", "abc"}, `--genesis-sha256 "abc" is not a SHA-256: give 64 hex characters`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--genesis-url", "http://h/g", "--genesis-file", "/g", "--genesis-sha256", strings.Repeat("a", 64)}, "are both given: use one"},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--genesis-sha256", strings.Repeat("a", 64)}, "--genesis-sha256 is given without --genesis-url or --genesis-file"},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--upgrade-info", `{"name":"v2"}`}, "height must be a positive integer"},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--upgrade-info", `{"name":"v2","height":5,"info":"x"}`}, `unknown field "info"`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--upgrade-info", `{"height":5}`}, "name is missing"},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--peer-wait", "soon"}, `invalid value "soon" for flag -peer-wait`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--peer-wait", "-1s"}, "--peer-wait -1s must not be negative"},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "extra"}, `unexpected argument "extra"`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--state-sync-rpc", "http://a:26657"}, "give at least two servers"},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--state-sync-rpc", "http://a:26657,a:26657"}, `"a:26657" is not an http:// or https:// RPC base URL`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--state-sync-rpc", "http://a:26657,http://a:26657"}, `"http://a:26657" is given twice`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--state-sync-rpc", "http://a,http://b", "--state-sync-trust-period", "7d"}, `--state-sync-trust-period "7d": give a positive Go duration`},
		{[]string{"prepare", "--chain", "cometbft", "--home", "/x", "--state-sync-trust-period", "168h"}, "needs --state-sync-rpc"},
		{[]string{"ready"}, "--chain is required: use one of cometbft, sei, cosmos, avalanche"},
		{[]string{"ready", "--chain", "sei", "--rpc", "127.0.0.1:26657"}, `--rpc "127.0.0.1:26657": give an http:// or https:// base URL`},
		{[]string{"ready", "--chain", "sei", "--timeout", "0s"}, "--timeout 0s must be positive"},
		{[]string{"ready", "--chain", "sei", "--timeout", "soon"}, `invalid value "soon" for flag -timeout`},
		{[]string{"node-id"}, "--key is required"},
	}
	for _, tc := range cases {
		code, _, stderr := cli(tc.args...)
		if code != exitcode.Usage || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 with %q", tc.args, code, stderr, tc.msg)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"prepare", "-h"}, {"ready", "--help"}} {
		if code, _, _ := cli(args...); code != 0 {
			t.Errorf("%q: exit %d", args, code)
		}
	}
}

func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin")
	code, out, stderr := cli("install", "--to", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	self, _ := os.Executable()
	a, _ := os.ReadFile(self)
	b, err := os.ReadFile(filepath.Join(dir, BinaryName))
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("copy differs (%v)", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, BinaryName)); st.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v", st.Mode())
	}
	if !strings.Contains(out, "install: copied") {
		t.Fatal(out)
	}
	// Again over the existing copy (a restarted init container).
	if code, _, stderr := cli("install", "--to", dir); code != 0 {
		t.Fatal(stderr)
	}
}

func TestNodeIDAndGenNodeKey(t *testing.T) {
	code, key, _ := cli("gen-node-key")
	if code != 0 {
		t.Fatal(code)
	}
	p := filepath.Join(t.TempDir(), "node_key.json")
	os.WriteFile(p, []byte(key), 0o600)
	code, id, stderr := cli("node-id", "--key", p)
	if code != 0 || len(strings.TrimSpace(id)) != 40 {
		t.Fatalf("exit %d %q %s", code, id, stderr)
	}
	os.WriteFile(p, []byte("{}"), 0o600)
	if code, _, stderr := cli("node-id", "--key", p); code != exitcode.Invalid || !strings.Contains(stderr, "--key \""+p+"\"") {
		t.Fatalf("exit %d %s", code, stderr)
	}
}

func TestReadyExitCodes(t *testing.T) {
	body := `{"result":{"sync_info":{"latest_block_height":"3","catching_up":false}}}`
	dump := `{"result":{"peers":[]}}`
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/status":
			w.Write([]byte(body))
		case r.URL.Path == "/dump_consensus_state" && dump != "":
			w.Write([]byte(dump))
		default:
			http.NotFound(w, r)
		}
	}))
	defer s.Close()
	code, out, _ := cli("ready", "--chain", "cometbft", "--rpc", s.URL)
	if code != 0 || out != "ready: in sync at height 3; no peer reports a height (0 peers)\n" {
		t.Fatalf("exit %d %q", code, out)
	}
	body = `{"result":{"sync_info":{"latest_block_height":"3","catching_up":true}}}`
	code, _, stderr := cli("ready", "--chain", "cometbft", "--rpc", s.URL)
	if code != exitcode.Failure || stderr != "not ready: node is catching up (latest_block_height 3)\n" {
		t.Fatalf("exit %d %q", code, stderr)
	}

	// catching_up false, but a peer decides height 2930 (its latest block is 2929).
	body = `{"result":{"sync_info":{"latest_block_height":"1533","catching_up":false}}}`
	dump = `{"result":{"peers":[{"node_address":"4d838125f7907f9b8c20a9f4e091a92af8f7990c@10.0.0.7:26656","peer_state":{"round_state":{"height":"2930"}}},` +
		`{"node_address":"48d805fe93879eb254c3a889cbd9350be4e8cbfa@10.0.0.8:26656","peer_state":{"round_state":{"height":"1534"}}}]}}`
	code, _, stderr = cli("ready", "--chain", "cometbft", "--rpc", s.URL)
	if code != exitcode.Failure || stderr != "not ready: 1396 blocks behind peer 4d838125f7907f9b8c20a9f4e091a92af8f7990c (height 2929, ours 1533)\n" {
		t.Fatalf("exit %d %q", code, stderr)
	}
	code, out, _ = cli("ready", "--chain", "sei", "--rpc", s.URL, "--max-peer-lag", "1400")
	if code != 0 || out != "ready: in sync at height 1533; highest peer at 2929 (2 peers, max lag 1400)\n" {
		t.Fatalf("exit %d %q", code, out)
	}

	// Without /dump_consensus_state, catching_up decides as before.
	dump = ""
	code, out, _ = cli("ready", "--chain", "cosmos", "--rpc", s.URL)
	if code != 0 || !strings.HasPrefix(out, "ready: in sync at height 1533; peer heights unknown, so catching_up alone decides (GET "+s.URL+"/dump_consensus_state: HTTP 404") {
		t.Fatalf("exit %d %q", code, out)
	}

	for _, args := range [][]string{
		{"ready", "--chain", "cometbft", "--max-peer-lag", "-1"},
		{"ready", "--chain", "avalanche", "--max-peer-lag", "10"},
		{"ready", "--chain", "cometbft", "--max-peer-lag", "ten"},
	} {
		if code, _, stderr := cli(args...); code != exitcode.Usage || !strings.Contains(stderr, "max-peer-lag") {
			t.Errorf("%v: exit %d %q", args, code, stderr)
		}
	}
}

func TestPrepareExitCodeForBadChecksum(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"chain_id":"a"}`)) }))
	defer s.Close()
	home := filepath.Join(t.TempDir(), "home")
	code, _, stderr := cli("prepare", "--chain", "cometbft", "--home", home, "--genesis-url", s.URL, "--genesis-sha256", strings.Repeat("0", 64))
	if code != exitcode.Invalid || !strings.Contains(stderr, "genesis checksum mismatch") || !strings.Contains(stderr, "expected sha256 "+strings.Repeat("0", 64)) {
		t.Fatalf("exit %d %s", code, stderr)
	}
}
