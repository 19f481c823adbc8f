package tomlmerge

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// A trimmed config.toml as `cometbft init` (v0.38.19) writes it, plus an app.toml-like array of
// tables and a date-time, to cover every TOML type.
const base = `
proxy_app = "tcp://127.0.0.1:26658"
moniker = "node"
db_backend = "goleveldb"
filter_peers = false

[rpc]
laddr = "tcp://127.0.0.1:26657"
cors_allowed_origins = []
max_open_connections = 900
timeout_broadcast_tx_commit = "10s"

[p2p]
laddr = "tcp://0.0.0.0:26656"
persistent_peers = ""
send_rate = 5120000
pex = true

[consensus]
timeout_commit = "1s"

[instrumentation]
prometheus = false
namespace = "cometbft"

[mempool]
size = 5000
recheck = true
experimental_max_gossip_connections_to_persistent_peers = 0

[state-sync]
snapshot-interval = 0
rpc_servers = ["a:26657", "b:26657"]
ratio = 0.5
trust_time = 2024-01-02T03:04:05Z

[[sinks]]
name = "x"
level = 1
`

func TestMerge(t *testing.T) {
	doc, err := Decode([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		overrides string
		check     func(t *testing.T, out map[string]any)
		problems  []string // substrings, each must appear; nil means success
	}{
		{
			name:      "string in a nested table keeps the rest of the table",
			overrides: `{"p2p":{"persistent_peers":"id@host:26656"}}`,
			check: func(t *testing.T, out map[string]any) {
				p2p := out["p2p"].(map[string]any)
				want(t, p2p["persistent_peers"], "id@host:26656")
				want(t, p2p["laddr"], "tcp://0.0.0.0:26656")
				want(t, p2p["send_rate"], int64(5120000))
				want(t, p2p["pex"], true)
			},
		},
		{
			name:      "integer stays int64, bool stays bool, top-level string",
			overrides: `{"rpc":{"max_open_connections":2000},"instrumentation":{"prometheus":true},"proxy_app":"kvstore"}`,
			check: func(t *testing.T, out map[string]any) {
				want(t, out["rpc"].(map[string]any)["max_open_connections"], int64(2000))
				want(t, out["instrumentation"].(map[string]any)["prometheus"], true)
				want(t, out["proxy_app"], "kvstore")
			},
		},
		{
			name:      "float from an integer literal stays a float; integral 3.0 accepted for an integer",
			overrides: `{"state-sync":{"ratio":1,"snapshot-interval":1000.0}}`,
			check: func(t *testing.T, out map[string]any) {
				ss := out["state-sync"].(map[string]any)
				want(t, ss["ratio"], float64(1))
				want(t, ss["snapshot-interval"], int64(1000))
			},
		},
		{
			name:      "arrays are replaced whole, not appended",
			overrides: `{"state-sync":{"rpc_servers":["c:26657"]},"rpc":{"cors_allowed_origins":["*"]}}`,
			check: func(t *testing.T, out map[string]any) {
				want(t, out["state-sync"].(map[string]any)["rpc_servers"], []any{"c:26657"})
				want(t, out["rpc"].(map[string]any)["cors_allowed_origins"], []any{"*"})
			},
		},
		{
			name:      "array of tables replaced; date-time from RFC 3339",
			overrides: `{"sinks":[{"name":"y","level":2},{"name":"z","level":3}],"state-sync":{"trust_time":"2025-06-07T08:09:10Z"}}`,
			check: func(t *testing.T, out map[string]any) {
				want(t, out["sinks"], []any{map[string]any{"name": "y", "level": int64(2)}, map[string]any{"name": "z", "level": int64(3)}})
				want(t, out["state-sync"].(map[string]any)["trust_time"], time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC))
			},
		},
		{
			name:      "type mismatch names the key path and both types",
			overrides: `{"rpc":{"max_open_connections":"2000"}}`,
			problems:  []string{"rpc.max_open_connections: the file has an integer (900) but the override is a string"},
		},
		{
			name:      "a string for a boolean",
			overrides: `{"p2p":{"pex":"false"}}`,
			problems:  []string{"p2p.pex: the file has a boolean"},
		},
		{
			name:      "a fraction for an integer",
			overrides: `{"mempool":{"size":10.5}}`,
			problems:  []string{"mempool.size: the file has an integer (5000) but the override is 10.5"},
		},
		{
			name:      "a scalar for a table and a table for a scalar",
			overrides: `{"consensus":"fast","moniker":{"a":1}}`,
			problems:  []string{"consensus: the file has a table", "moniker: the file has a string"},
		},
		{
			name:      "array element of the wrong type",
			overrides: `{"state-sync":{"rpc_servers":["a", 5]}}`,
			problems:  []string{"state-sync.rpc_servers[1]: the file has a string"},
		},
		{
			name:      "null is refused",
			overrides: `{"p2p":{"laddr":null}}`,
			problems:  []string{"p2p.laddr: null is not a TOML value"},
		},
		{
			name:      "unknown top-level section and key, with did-you-mean, all reported at once",
			overrides: `{"p2pp":{"laddr":"x"},"statesync":{},"prox_app":"kvstore","rpc":{"max_open_connections":"x"}}`,
			problems: []string{
				`p2pp: unknown key`, `did you mean "p2p"?`,
				`statesync: unknown key`, `did you mean "state-sync"?`,
				`prox_app: unknown key`, `did you mean "proxy_app"?`,
				`rpc.max_open_connections: the file has an integer`,
			},
		},
		{
			name:      "unknown nested key; '-' for '_' suggested",
			overrides: `{"p2p":{"persistent-peers":"x"},"mempool":{"experimental_max_gossip_connections_to_persistent_peer":1}}`,
			problems: []string{
				`p2p.persistent-peers: unknown key`, `did you mean "persistent_peers"?`,
				`did you mean "experimental_max_gossip_connections_to_persistent_peers"?`,
			},
		},
		{
			name:      "no suggestion when nothing is close",
			overrides: `{"completely_unrelated":1}`,
			problems:  []string{`completely_unrelated: unknown key (the file has no "completely_unrelated" here)`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ov, err := DecodeOverrides([]byte(tc.overrides))
			if err != nil {
				t.Fatal(err)
			}
			before, _ := Decode([]byte(base))
			out, err := Merge(doc, ov, "")
			if !reflect.DeepEqual(doc, before) {
				t.Fatal("Merge modified its input document")
			}
			if tc.problems != nil {
				if err == nil {
					t.Fatalf("want problems %q, got success", tc.problems)
				}
				for _, p := range tc.problems {
					if !strings.Contains(err.Error(), p) {
						t.Errorf("error lacks %q:\n%v", p, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
			// Round trip: what Encode writes parses back to the same document.
			enc, err := Encode(out)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(enc)
			if err != nil {
				t.Fatalf("encoded TOML does not parse: %v\n%s", err, enc)
			}
			if !reflect.DeepEqual(back, out) {
				t.Errorf("round trip differs:\n%#v\n%#v", back, out)
			}
		})
	}
}

func TestMergeEmptyOverridesIsIdentity(t *testing.T) {
	doc, _ := Decode([]byte(base))
	out, err := Merge(doc, map[string]any{}, "configToml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, doc) {
		t.Fatal("empty overrides changed the document")
	}
}

func TestProblemsNamePrefix(t *testing.T) {
	doc, _ := Decode([]byte(base))
	ov, _ := DecodeOverrides([]byte(`{"rpc":{"laddr":1}}`))
	_, err := Merge(doc, ov, "configToml")
	if err == nil || !strings.HasPrefix(err.Error(), "configToml.rpc.laddr:") {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeOverridesRejects(t *testing.T) {
	for _, in := range []string{`null`, `[1]`, `{"a":1} {"b":2}`, `{"a":`} {
		if _, err := DecodeOverrides([]byte(in)); err == nil {
			t.Errorf("%s: want an error", in)
		}
	}
}

func want(t *testing.T, got, w any) {
	t.Helper()
	if !reflect.DeepEqual(got, w) {
		t.Errorf("got %#v (%T), want %#v (%T)", got, got, w, w)
	}
}
