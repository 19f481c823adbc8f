package genesis

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"chainfleet/node-agent/internal/exitcode"
)

const doc = `{"genesis_time":"2024-01-01T00:00:00Z","chain_id":"test-1","initial_height":"1","app_state":{"bank":{"balances":[{"a":[1,2,{"b":null}]}]}},"validators":[]}`

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// server serves body at /genesis and counts requests.
func server(t *testing.T, body []byte) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func listing(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestFetch(t *testing.T) {
	plain := []byte(doc)
	zipped := gz(t, plain)
	cases := []struct {
		name     string
		served   []byte
		sha      string
		chainID  string
		wantErr  string
		wantGzip bool
	}{
		{name: "good", served: plain, sha: sum(plain), chainID: "test-1"},
		{name: "good without chain-id check", served: plain, sha: sum(plain)},
		{name: "gzip detected by magic bytes, checksum of the gzip bytes", served: zipped, sha: sum(zipped), chainID: "test-1", wantGzip: true},
		{name: "wrong checksum", served: plain, sha: strings.Repeat("ab", 32), wantErr: "genesis checksum mismatch for http"},
		{name: "checksum of the decompressed bytes is not the served one", served: zipped, sha: sum(plain), wantErr: "expected sha256 " + sum(plain) + ", got " + sum(zipped)},
		{name: "chain-id mismatch", served: plain, sha: sum(plain), chainID: "other-2", wantErr: `has chain_id "test-1" but --chain-id is "other-2"`},
		{name: "not json", served: []byte("<html>"), sha: sum([]byte("<html>")), wantErr: "not JSON"},
		{name: "no chain_id", served: []byte(`{"a":1}`), sha: sum([]byte(`{"a":1}`)), wantErr: "no chain_id"},
		{name: "truncated gzip", served: zipped[:len(zipped)-10], sha: sum(zipped[:len(zipped)-10]), wantErr: "does not decompress"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := server(t, tc.served)
			home := t.TempDir()
			cfg := filepath.Join(home, "config")
			os.MkdirAll(cfg, 0o700)
			src := Source{URL: srv.URL + "/genesis", SHA256: tc.sha}
			f, err := Fetch(context.Background(), srv.Client(), src, home, tc.chainID)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
				if exitcode.Of(err) != exitcode.Invalid {
					t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.Invalid)
				}
				if l := listing(t, home); len(l) != 1 || l[0] != "config" {
					t.Fatalf("a failed fetch left files: %v", l)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Record.Gzip != tc.wantGzip || f.Record.ChainID != "test-1" || f.Record.SourceSHA256 != tc.sha || f.Record.GenesisSHA256 != sum(plain) {
				t.Fatalf("record %+v", f.Record)
			}
			if err := Place(f, cfg); err != nil {
				t.Fatal(err)
			}
			f.Cleanup()
			got, _ := os.ReadFile(filepath.Join(cfg, "genesis.json"))
			if !bytes.Equal(got, plain) {
				t.Fatalf("placed genesis differs")
			}
			if ok, _ := UpToDate(cfg, src); !ok {
				t.Fatal("UpToDate false right after Place")
			}
			if l := listing(t, home); strings.Join(l, ",") != "config,config/genesis.json,config/genesis.json.verified" {
				t.Fatalf("files: %v", l)
			}
		})
	}
}

func TestUpToDate(t *testing.T) {
	plain := []byte(doc)
	srv, n := server(t, plain)
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	os.MkdirAll(cfg, 0o700)
	src := Source{URL: srv.URL, SHA256: sum(plain)}
	if ok, _ := UpToDate(cfg, src); ok {
		t.Fatal("up to date with nothing there")
	}
	f, err := Fetch(context.Background(), srv.Client(), src, home, "")
	if err != nil {
		t.Fatal(err)
	}
	Place(f, cfg)
	if ok, _ := UpToDate(cfg, src); !ok || n.Load() != 1 {
		t.Fatalf("ok=%v requests=%d", ok, n.Load())
	}
	// Another expected hash (the stack changed the genesis): not up to date.
	if ok, _ := UpToDate(cfg, Source{URL: srv.URL, SHA256: strings.Repeat("0", 64)}); ok {
		t.Fatal("up to date for another checksum")
	}
	// genesis.json changed under the record (e.g. a snapshot of another network): not up to date.
	os.WriteFile(filepath.Join(cfg, "genesis.json"), []byte(`{"chain_id":"x"}`), 0o644)
	if ok, _ := UpToDate(cfg, src); ok {
		t.Fatal("up to date after genesis.json changed")
	}
}

func TestFetchFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "g.json")
	os.WriteFile(p, []byte(doc), 0o644)
	f, err := Fetch(context.Background(), nil, Source{File: p}, dir, "test-1")
	if err != nil {
		t.Fatal(err)
	}
	f.Cleanup()
	_, err = Fetch(context.Background(), nil, Source{File: p, SHA256: strings.Repeat("1", 64)}, dir, "")
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("got %v", err)
	}
}

func TestHTTPErrorIsRetryable(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	defer s.Close()
	home := t.TempDir()
	_, err := Fetch(context.Background(), s.Client(), Source{URL: s.URL, SHA256: strings.Repeat("0", 64)}, home, "")
	if err == nil || !strings.Contains(err.Error(), "404") || exitcode.Of(err) != exitcode.Failure {
		t.Fatalf("got %v (code %d)", err, exitcode.Of(err))
	}
}

func TestScan(t *testing.T) {
	cases := map[string]string{
		`{"chain_id":"a"}`: "a",
		` {"x":{"chain_id":"nested"},"chain_id":"top"} `: "top",
		`{"chain_id":1}`:      "ERR",
		`{"chain_id":""}`:     "ERR",
		`{"chain_id":"a"} {}`: "ERR",
		`{"chain_id":"a",}`:   "ERR",
		`[]`:                  "ERR",
		`{"chain_id":"a"`:     "ERR",
	}
	for in, want := range cases {
		got, err := Scan(strings.NewReader(in))
		if want == "ERR" {
			if err == nil {
				t.Errorf("%s: want an error, got %q", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestUpToDateFileWithoutChecksum(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.MkdirAll(cfg, 0o700)
	p := filepath.Join(dir, "g.json")
	os.WriteFile(p, []byte(doc), 0o644)
	src := Source{File: p}
	f, err := Fetch(context.Background(), nil, src, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	Place(f, cfg)
	if ok, _ := UpToDate(cfg, src); !ok {
		t.Fatal("not up to date right after Place")
	}
	os.WriteFile(p, []byte(`{"chain_id":"new"}`), 0o644) // the ConfigMap changed
	if ok, _ := UpToDate(cfg, src); ok {
		t.Fatal("up to date although the source file changed")
	}
}
