package prepare

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"chainfleet/node-agent/internal/nodekey"
	"chainfleet/node-agent/internal/tomlmerge"
)

func newNodeKey(t *testing.T, e *env) (file, id string) {
	t.Helper()
	nk, err := nodekey.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := nodekey.Parse(nk)
	return e.file("node_key.json", string(nk)), nodekey.ID(k)
}

func p2pOf(t *testing.T, e *env) map[string]any {
	t.Helper()
	doc, err := tomlmerge.Decode([]byte(e.read("config/config.toml")))
	if err != nil {
		t.Fatal(err)
	}
	return doc["p2p"].(map[string]any)
}

const (
	peerA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	peerB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	peerC = "cccccccccccccccccccccccccccccccccccccccc"
)

func TestDropSelfFromPeers(t *testing.T) {
	for _, tc := range []struct {
		chain, peersKey, seedsKey string
	}{
		{CometBFT, "persistent_peers", "seeds"},
		{Sei, "persistent-peers", "bootstrap-peers"},
	} {
		t.Run(tc.chain, func(t *testing.T) {
			e := newEnv(t)
			keyFile, self := newNodeKey(t, e)
			// The same overrides go to every pod of the set: this pod is among the peers
			// (with spaces around entries, as a person might write them).
			peers := peerA + "@n-0.v-peers.ns.svc.cluster.local:26656, " + self + "@n-1.v-peers.ns.svc.cluster.local:26656 , " + peerB + "@n-2.v-peers.ns.svc.cluster.local:26656"
			seeds := self + "@n-1.v-peers.ns.svc.cluster.local:26656," + peerC + "@10.0.0.3:26656"
			ov := `{"configToml":{"p2p":{"` + tc.peersKey + `":"` + peers + `","` + tc.seedsKey + `":"` + seeds + `"}}}`

			o := e.opts(tc.chain)
			if tc.chain == Sei {
				o.ChainID = "net-1"
			}
			o.OverridesFile = e.file("ov.json", ov)
			o.NodeKeyFile = keyFile
			out := mustRun(t, o)
			p2p := p2pOf(t, e)
			wantPeers := peerA + "@n-0.v-peers.ns.svc.cluster.local:26656," + peerB + "@n-2.v-peers.ns.svc.cluster.local:26656"
			if p2p[tc.peersKey] != wantPeers {
				t.Fatalf("%s = %q, want %q", tc.peersKey, p2p[tc.peersKey], wantPeers)
			}
			if p2p[tc.seedsKey] != peerC+"@10.0.0.3:26656" {
				t.Fatalf("%s = %q", tc.seedsKey, p2p[tc.seedsKey])
			}
			line := "prepare: config:         dropped this node (" + self + ") from " + tc.peersKey + " and " + tc.seedsKey + "\n"
			if strings.Count(out, "dropped this node") != 1 || !strings.Contains(out, line) {
				t.Fatalf("want one line %q:\n%s", line, out)
			}
			// Idempotent: the next start changes nothing.
			before := tree(t, e.home)
			out = mustRun(t, o)
			if tree(t, e.home) != before || !strings.Contains(out, "config/config.toml unchanged") {
				t.Fatalf("second run changed files:\n%s", out)
			}

			// Without --node-key the overrides are merged as they are.
			e2 := newEnv(t)
			o2 := e2.opts(tc.chain)
			o2.ChainID = o.ChainID
			o2.OverridesFile = e2.file("ov.json", ov)
			out = mustRun(t, o2)
			p2p = p2pOf(t, e2)
			if p2p[tc.peersKey] != peers || p2p[tc.seedsKey] != seeds || strings.Contains(out, "dropped") {
				t.Fatalf("without --node-key: %s = %q, %s = %q\n%s", tc.peersKey, p2p[tc.peersKey], tc.seedsKey, p2p[tc.seedsKey], out)
			}
		})
	}
}

// Self as the only peer leaves an empty list; overrides without self are untouched.
func TestDropSelfEdgeCases(t *testing.T) {
	r := &runner{Options: Options{Chain: CometBFT}, nodeID: peerA}
	ov := map[string]any{"p2p": map[string]any{"persistent_peers": "tcp://" + peerA + "@h:26656", "pex": false}, "moniker": "m"}
	got, note := r.dropSelf(ov)
	if got["p2p"].(map[string]any)["persistent_peers"] != "" || got["p2p"].(map[string]any)["pex"] != false || got["moniker"] != "m" || note != "dropped this node ("+peerA+") from persistent_peers" {
		t.Fatalf("got %v, %q", got, note)
	}
	if ov["p2p"].(map[string]any)["persistent_peers"] != "tcp://"+peerA+"@h:26656" {
		t.Fatal("dropSelf modified its input")
	}
	other := map[string]any{"p2p": map[string]any{"persistent_peers": peerB + "@h:26656 , " + peerC + "@i:26656"}}
	if got, note := r.dropSelf(other); note != "" || got["p2p"].(map[string]any)["persistent_peers"] != peerB+"@h:26656 , "+peerC+"@i:26656" {
		t.Fatalf("a list without self changed: %v %q", got, note)
	}
	// A value of the wrong type is left for the merge to report.
	bad := map[string]any{"p2p": map[string]any{"persistent_peers": int64(1)}}
	if _, note := r.dropSelf(bad); note != "" {
		t.Fatal(note)
	}
}

// fakeResolver answers a host after it has been asked about it `after` times (never when
// after < 0) and records every question.
type fakeResolver struct {
	t     *testing.T
	mu    sync.Mutex
	after map[string]int
	calls map[string]int
}

func (f *fakeResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[host]++
	n, ok := f.after[host]
	if !ok {
		f.t.Errorf("unexpected lookup of %q", host)
		return nil, errors.New("no such host")
	}
	if n >= 0 && f.calls[host] > n {
		return []string{"10.1.2.3"}, nil
	}
	return nil, errors.New("no such host")
}

func (f *fakeResolver) count(host string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[host]
}

func peerWaitOpts(t *testing.T, e *env, peers string, wait time.Duration, res Resolver) Options {
	keyFile, self := newNodeKey(t, e)
	peers = strings.ReplaceAll(peers, "SELF", self)
	o := e.opts(CometBFT)
	o.OverridesFile = e.file("ov.json", `{"configToml":{"p2p":{"persistent_peers":"`+peers+`"}}}`)
	o.NodeKeyFile = keyFile
	o.PeerWait = wait
	o.Resolver = res
	o.PeerPollInterval = 5 * time.Millisecond
	return o
}

func TestPeerWaitUntilResolved(t *testing.T) {
	e := newEnv(t)
	res := &fakeResolver{t: t, after: map[string]int{"n-0.a-peers.ns.svc.cluster.local": 0, "n-0.b-peers.ns.svc.cluster.local": 3}}
	// The IP literal counts as resolved; this pod's own entry is dropped and never looked up.
	o := peerWaitOpts(t, e, peerA+"@n-0.a-peers.ns.svc.cluster.local:26656,SELF@n-1.a-peers.ns.svc.cluster.local:26656,"+
		peerB+"@n-0.b-peers.ns.svc.cluster.local:26656,"+peerC+"@10.0.0.3:26656", time.Minute, res)
	start := time.Now()
	out := mustRun(t, o)
	t.Logf("prepare:\n%s", out)
	if time.Since(start) > 20*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	if n := res.count("n-0.b-peers.ns.svc.cluster.local"); n != 4 {
		t.Fatalf("the late host was looked up %d times, want 4 (answers on the 4th)", n)
	}
	if n := res.count("n-0.a-peers.ns.svc.cluster.local"); n != 1 {
		t.Fatalf("a resolved host was looked up again: %d", n)
	}
	for _, want := range []string{
		"prepare: peers:          2 of 3 peer hosts in p2p.persistent_peers resolve; waiting up to 1m0s for n-0.b-peers.ns.svc.cluster.local\n",
		"prepare: peers:          all 3 peer hosts in p2p.persistent_peers resolve after ",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "prepare: peers:") != 2 {
		t.Fatalf("want two peers lines:\n%s", out)
	}
}

func TestPeerWaitGivesUp(t *testing.T) {
	e := newEnv(t)
	res := &fakeResolver{t: t, after: map[string]int{"n-0.a-peers.ns.svc.cluster.local": 0, "never.b-peers.ns.svc.cluster.local": -1}}
	o := peerWaitOpts(t, e, peerA+"@n-0.a-peers.ns.svc.cluster.local:26656,"+peerB+"@never.b-peers.ns.svc.cluster.local:26656", 150*time.Millisecond, res)
	start := time.Now()
	out, err := run(t, o)
	took := time.Since(start)
	t.Logf("prepare:\n%s", out)
	if err != nil {
		t.Fatalf("a peer that does not resolve must not fail prepare: %v\n%s", err, out)
	}
	if took < 150*time.Millisecond || took > 10*time.Second {
		t.Fatalf("took %s with --peer-wait 150ms", took)
	}
	if res.count("never.b-peers.ns.svc.cluster.local") < 2 {
		t.Fatalf("not polled: %d lookups", res.count("never.b-peers.ns.svc.cluster.local"))
	}
	for _, want := range []string{
		"1 of 2 peer hosts in p2p.persistent_peers resolve; waiting up to 150ms for never.b-peers.ns.svc.cluster.local\n",
		": 1 of 2 peer hosts do not resolve: never.b-peers.ns.svc.cluster.local; continuing",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

// A lookup that hangs is cut off at the deadline.
type hangingResolver struct{}

func (hangingResolver) LookupHost(ctx context.Context, _ string) ([]string, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestPeerWaitHangingLookup(t *testing.T) {
	e := newEnv(t)
	o := peerWaitOpts(t, e, peerA+"@slow.example:26656", 100*time.Millisecond, hangingResolver{})
	start := time.Now()
	out := mustRun(t, o)
	if took := time.Since(start); took > 10*time.Second || !strings.Contains(out, "do not resolve: slow.example") {
		t.Fatalf("took %s:\n%s", took, out)
	}
}

func TestNoPeerWait(t *testing.T) {
	e := newEnv(t)
	res := &fakeResolver{t: t, after: map[string]int{}} // any lookup fails the test
	o := peerWaitOpts(t, e, peerA+"@n-0.a-peers.ns.svc.cluster.local:26656", 0, res)
	out := mustRun(t, o)
	if !strings.Contains(out, "prepare: peers:          not waiting for peers' DNS names (no --peer-wait)") {
		t.Fatalf("output:\n%s", out)
	}
	// Only IP literals: nothing to look up.
	e = newEnv(t)
	o = peerWaitOpts(t, e, peerA+"@10.0.0.1:26656,"+peerB+"@[fd00::1]:26656", time.Minute, res)
	out = mustRun(t, o)
	if !strings.Contains(out, "all 2 peer hosts in p2p.persistent_peers resolve\n") {
		t.Fatalf("output:\n%s", out)
	}
}
