package prepare

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"chainfleet/node-agent/internal/tomlmerge"
)

// p2pKeys are the config.toml [p2p] keys that list peers, in the dialect of the chain's
// binary: CometBFT v0.38 (and the Cosmos SDK chains built on it) write `persistent_peers` and
// `seeds` (cometbft config/toml.go); Sei's fork (Tendermint v0.35 layout) writes
// `persistent-peers` and `bootstrap-peers` and has no `seeds` (chains/sei.ts, chains/types.ts).
type p2pKeys struct{ persistentPeers, seeds string }

func peerKeys(chain string) p2pKeys {
	if chain == Sei {
		return p2pKeys{persistentPeers: "persistent-peers", seeds: "bootstrap-peers"}
	}
	return p2pKeys{persistentPeers: "persistent_peers", seeds: "seeds"}
}

// splitPeers splits a comma-separated peer list the way CometBFT does (node/setup.go
// splitAndTrimEmpty(s, ",", " ")): entries are trimmed and empty ones dropped.
func splitPeers(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// peerParts splits `[proto://]<id>@<host>:<port>` into the node ID (lower case) and the host,
// as cometbft p2p/netaddress.go NewNetAddressString does (removeProtocolIfDefined, split at
// "@", net.SplitHostPort). ok is false when the entry has no host to resolve.
func peerParts(entry string) (id, host string, ok bool) {
	rest := entry
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		id, rest = strings.ToLower(rest[:i]), rest[i+1:]
	}
	h, _, err := net.SplitHostPort(rest)
	if err != nil || h == "" {
		return id, "", false
	}
	return id, h, true
}

// dropSelf removes this node's own entries from the peer lists of the configToml overrides
// (before they are merged). The same overrides go to every pod of a StatefulSet, so the list
// of in-fleet peers names the pod itself too.
//
// Why (CometBFT v0.38.19): a node never peers with itself, and listing it only costs.
// p2p/transport.go MultiplexTransport.upgrade rejects a connection whose remote node ID is our
// own ("Reject self": ErrRejected with isSelf, p2p/errors.go ErrRejected.IsSelf) — only after
// the TCP connection and the secret-connection handshake, on both the dialing and the
// accepting side; p2p/switch.go Switch.addOutboundPeerWithConfig and acceptRoutine then move
// the address into the address book's "our addresses" and, for a dial, do not retry it. For
// persistent_peers: node/node.go NewNode passes the list to Switch.AddPersistentPeers, which
// resolves every host once (p2p/netaddress.go NewNetAddressString) — our own name included,
// which a pod that is not ready yet may not have in DNS ("Error in peer's address" in the
// log) — and keeps the entry as a persistent peer; Switch.dialPeersAsync then skips it
// ("Ignore attempt to connect to ourselves": NetAddress.Same matches on the ID). For seeds:
// p2p/pex/pex_reactor.go checkSeeds resolves them the same way, and dialSeeds dials them via
// Switch.DialPeerWithAddress with no such check, so a self entry costs a connection and a
// handshake to our own listener each time the node looks for peers, ending in the IsSelf
// rejection. Dropping it here also keeps --peer-wait from waiting for this pod's own name.
func (r *runner) dropSelf(ov map[string]any) (map[string]any, string) {
	if r.nodeID == "" || ov == nil {
		return ov, ""
	}
	p2p, ok := ov["p2p"].(map[string]any)
	if !ok {
		return ov, ""
	}
	keys := peerKeys(r.Chain)
	var newP2P map[string]any
	var dropped []string
	for _, key := range []string{keys.persistentPeers, keys.seeds} {
		s, ok := p2p[key].(string) // another type: the merge reports it
		if !ok {
			continue
		}
		var kept []string
		n := 0
		for _, e := range splitPeers(s) {
			if id, _, _ := peerParts(e); id == r.nodeID {
				n++
				continue
			}
			kept = append(kept, e)
		}
		if n == 0 {
			continue
		}
		if newP2P == nil {
			newP2P = copyTop(p2p)
		}
		newP2P[key] = strings.Join(kept, ",")
		dropped = append(dropped, key)
	}
	if newP2P == nil {
		return ov, ""
	}
	out := copyTop(ov)
	out["p2p"] = newP2P
	return out, fmt.Sprintf("dropped this node (%s) from %s", r.nodeID, strings.Join(dropped, " and "))
}

// Resolver looks up a host name; *net.Resolver satisfies it. Tests inject their own.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// waitForPeers waits, up to --peer-wait, until the host of every entry in the final
// config.toml's persistent peers resolves.
//
// Why: CometBFT v0.38.19 resolves persistent peers' host names once, when the node is built:
// node/node.go NewNode calls p2p/switch.go Switch.AddPersistentPeers, and node.OnStart calls
// Switch.DialPeersAsync; both turn the strings into addresses with p2p/netaddress.go
// NewNetAddressStrings → NewNetAddressString, which calls net.LookupIP for a host that is not
// an IP and returns ErrNetAddressLookup when it fails. Both functions log that error, skip it
// ("It ignores ErrNetAddressLookup") and go on without the entry: that peer is neither dialed
// nor redialed (reconnectToPeer works on the resolved address) until the node restarts. A pod
// of another StatefulSet created at the same moment may not have its DNS record yet, so wait
// a bounded time for it. Never longer: a node with some peers is better than none, and this
// must never block a node forever.
func (r *runner) waitForPeers(ctx context.Context) error {
	if r.PeerWait <= 0 {
		r.say("peers", "not waiting for peers' DNS names (no --peer-wait)")
		return nil
	}
	key := peerKeys(r.Chain).persistentPeers
	data, err := os.ReadFile(filepath.Join(r.configDir, "config.toml"))
	if err != nil {
		return err
	}
	doc, err := tomlmerge.Decode(data)
	if err != nil {
		return err // validate has parsed it already
	}
	var list string
	if p2p, ok := doc["p2p"].(map[string]any); ok {
		list, _ = p2p[key].(string)
	}
	hosts := map[string]bool{} // host → resolves
	var order, bad []string
	for _, e := range splitPeers(list) {
		id, h, ok := peerParts(e)
		switch {
		case !ok:
			bad = append(bad, e)
		case r.nodeID != "" && id == r.nodeID:
			// our own name: it may not resolve before this pod is ready
		default:
			if _, seen := hosts[h]; !seen {
				hosts[h] = net.ParseIP(h) != nil // an IP literal needs no lookup
				order = append(order, h)
			}
		}
	}
	badNote := ""
	if len(bad) > 0 {
		badNote = fmt.Sprintf(" (no host:port in %s)", strings.Join(bad, ", "))
	}
	if len(order) == 0 {
		r.say("peers", "no peers to resolve in config.toml p2p.%s%s", key, badNote)
		return nil
	}
	res := r.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	poll := r.PeerPollInterval
	if poll <= 0 {
		poll = time.Second
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, r.PeerWait)
	defer cancel()

	pending := func() []string {
		var p []string
		for _, h := range order {
			if !hosts[h] {
				p = append(p, h)
			}
		}
		return p
	}
	// resolve looks up every pending host at once; each lookup ends at the deadline.
	resolve := func() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, h := range pending() {
			wg.Add(1)
			go func(h string) {
				defer wg.Done()
				lctx, lcancel := context.WithTimeout(wctx, 5*time.Second)
				defer lcancel()
				if addrs, err := res.LookupHost(lctx, h); err == nil && len(addrs) > 0 {
					mu.Lock()
					hosts[h] = true
					mu.Unlock()
				}
			}(h)
		}
		wg.Wait()
	}

	resolve()
	waiting := pending()
	if len(waiting) == 0 {
		r.say("peers", "all %d peer hosts in p2p.%s resolve%s", len(order), key, badNote)
		return nil
	}
	r.say("peers", "%d of %d peer hosts in p2p.%s resolve; waiting up to %s for %s%s",
		len(order)-len(waiting), len(order), key, r.PeerWait, strings.Join(waiting, ", "), badNote)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-wctx.Done():
			if err := ctx.Err(); err != nil {
				return err
			}
			left := pending()
			r.say("peers", "gave up after %s: %d of %d peer hosts do not resolve: %s; continuing (the node starts with the peers it can resolve)",
				time.Since(start).Round(time.Millisecond), len(left), len(order), strings.Join(left, ", "))
			return nil
		case <-t.C:
			resolve()
			if len(pending()) == 0 {
				r.say("peers", "all %d peer hosts in p2p.%s resolve after %s", len(order), key, time.Since(start).Round(time.Millisecond))
				return nil
			}
		}
	}
}
