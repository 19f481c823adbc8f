// Package ready is the readiness probe: it passes only when the node is in sync.
//
// CometBFT, Cosmos SDK chains and Sei: GET <rpc>/status. The node is ready when
// sync_info.catching_up is false and sync_info.latest_block_height is above 0 (a fresh node
// with no peers reports catching_up false at height 0 before its first block; chains/probes.ts
// used the same rule). The JSON-RPC envelope ({"result": {...}}) is optional: Sei's RPC may
// return the status object unwrapped (chains/sei.ts, test/testdata/chains/sei/).
//
// catching_up false does not mean "at the head of the chain". It is the consensus reactor's
// waitSync flag (cometbft v0.38.19 rpc/core/status.go Status: CatchingUp =
// ConsensusReactor.WaitSync()), cleared for good when block sync hands over
// (consensus/reactor.go SwitchToConsensus sets waitSync = false; nothing sets it again).
// blocksync/reactor.go poolRoutine hands over on its switchToConsensusTicker (every second) as
// soon as blocksync/pool.go IsCaughtUp holds: at least one peer, and pool.height (our next
// block) >= maxPeerHeight-1 over the peers it has heard from (its other condition, "a block
// received or 5 s passed", is pool.height > 0, always true). So a node whose peers are none of
// them ahead (the one that has the blocks is restarting) switches within a second of hearing
// from them, and when the peer with the blocks comes back, the node catches up through
// consensus gossip (consensus/reactor.go gossipDataForCatchup), a few blocks per second, with
// catching_up false. So the probe also asks GET <rpc>/dump_consensus_state for the heights
// its peers are deciding (result.peers[].peer_state.round_state.height, a string: the peer's
// latest block + 1) and is not ready when a peer's latest block is more than maxPeerLag above
// ours. Where that endpoint is missing or its answer unreadable, catching_up alone decides, as
// before, and the summary says so.
//
// Avalanche: GET <http>/ext/health, which answers 200 with {"healthy": true} once every
// health check passes and 503 otherwise.
package ready

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Result is a positive answer.
type Result struct {
	Summary string
}

// DefaultMaxPeerLag is how many blocks a peer may be ahead of the node before it is not ready
// (cometbft, sei, cosmos). Two nodes that are in sync differ by 0 to 2 blocks in this measure (a
// peer in its commit step, a block made between the two requests); 10 leaves room for that and
// for a node that pauses on a heavy block, and is about 10 s of staleness at CometBFT's
// default 1 s blocks, a few seconds at Sei's sub-second ones: more than that is stale data for
// clients and for the height gate, which read readiness as "in sync". Kubernetes marks a Ready
// pod unready only after 3 failures in a row (chains/probes.ts READINESS_FAILURE_THRESHOLD,
// 10 s apart), so a passing spike does not flap it; a node tens to thousands of blocks behind
// fails every probe. (Sei's own /lag_status threshold, lag-threshold, defaults to 300: a
// load-balancer cut-off, minutes of blocks, too loose for "in sync".)
const DefaultMaxPeerLag = 10

// NotReady is a negative answer with its one-line reason.
type NotReady struct{ Reason string }

func (e *NotReady) Error() string { return e.Reason }

// Check asks the node once. ctx bounds the whole call (for cometbft/sei/cosmos both requests).
// maxPeerLag is ignored for avalanche.
func Check(ctx context.Context, client *http.Client, chain, rpc string, maxPeerLag int64) (*Result, error) {
	base := strings.TrimRight(rpc, "/")
	switch chain {
	case "avalanche":
		return checkAvalanche(ctx, client, base+"/ext/health")
	default:
		height, err := checkStatus(ctx, client, base+"/status")
		if err != nil {
			return nil, err
		}
		return checkPeers(ctx, client, base+"/dump_consensus_state", height, maxPeerLag)
	}
}

func get(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, &NotReady{Reason: fmt.Sprintf("GET %s: %v", url, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, &NotReady{Reason: fmt.Sprintf("GET %s: reading the body: %v", url, err)}
	}
	return resp.StatusCode, body, nil
}

type syncInfo struct {
	CatchingUp        *bool           `json:"catching_up"`
	LatestBlockHeight json.RawMessage `json:"latest_block_height"`
}

type statusBody struct {
	SyncInfo *syncInfo `json:"sync_info"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

type rpcEnvelope struct {
	Result *statusBody `json:"result"`
	Error  *rpcError   `json:"error"`
	statusBody
}

// checkStatus applies the /status rule and returns latest_block_height.
func checkStatus(ctx context.Context, client *http.Client, url string) (int64, error) {
	code, body, err := get(ctx, client, url)
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, &NotReady{Reason: fmt.Sprintf("GET %s: HTTP %d: %s", url, code, oneLine(body))}
	}
	var env rpcEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, &NotReady{Reason: fmt.Sprintf("GET %s: not JSON: %v", url, err)}
	}
	if env.Error != nil {
		return 0, &NotReady{Reason: fmt.Sprintf("GET %s: RPC error %d: %s %s", url, env.Error.Code, env.Error.Message, env.Error.Data)}
	}
	si := env.SyncInfo
	if env.Result != nil && env.Result.SyncInfo != nil {
		si = env.Result.SyncInfo
	}
	if si == nil || si.CatchingUp == nil {
		return 0, &NotReady{Reason: fmt.Sprintf("GET %s: no sync_info.catching_up in the answer", url)}
	}
	height, herr := parseHeight(si.LatestBlockHeight)
	if *si.CatchingUp {
		return 0, &NotReady{Reason: fmt.Sprintf("node is catching up (latest_block_height %s)", heightText(height, herr))}
	}
	if herr != nil {
		return 0, &NotReady{Reason: fmt.Sprintf("latest_block_height: %v", herr)}
	}
	if height <= 0 {
		return 0, &NotReady{Reason: "no block yet (latest_block_height 0)"}
	}
	return height, nil
}

// The answer of /dump_consensus_state, as far as the probe reads it. CometBFT v0.38.19:
// rpc/core/consensus.go DumpConsensusState, rpc/core/types/responses.go
// ResultDumpConsensusState{round_state, peers} and PeerStateInfo{node_address, peer_state};
// peer_state is consensus/reactor.go PeerState{round_state, stats} in cmtjson, where
// round_state is consensus/types/peer_round_state.go PeerRoundState and its int64 height is a
// string. node_address is "<id>@<ip>:<port>" (p2p/netaddress.go NetAddress.String). A peer the
// consensus reactor has no state for yet is a zero entry: node_address "" and peer_state null.
// sei-tendermint: the same field names (internal/rpc/core/consensus.go, rpc/coretypes
// responses.go, internal/consensus/peer_state.go, internal/consensus/types/peer_round_state.go
// `json:"height,string"`), node_address a URL "mconn://<id>@<host>:<port>"
// (internal/p2p/address.go NodeAddress.String), peers without state left out.
type dumpPeer struct {
	NodeAddress string          `json:"node_address"`
	PeerState   json.RawMessage `json:"peer_state"`
}

type dumpBody struct {
	Peers json.RawMessage `json:"peers"`
}

type dumpEnvelope struct {
	Result *dumpBody `json:"result"`
	Error  *rpcError `json:"error"`
	dumpBody
}

type peerState struct {
	RoundState *struct {
		Height json.RawMessage `json:"height"`
	} `json:"round_state"`
}

// peerHeight is one peer's latest block: the height its consensus is deciding, minus 1.
type peerHeight struct {
	ID     string
	Height int64
}

// peerHeights reads /dump_consensus_state. An error means the answer tells nothing (missing
// endpoint, not reachable in time, another shape); unreadable counts entries skipped.
func peerHeights(ctx context.Context, client *http.Client, url string) (peers []peerHeight, listed, unreadable int, err error) {
	code, body, err := get(ctx, client, url)
	if err != nil {
		return nil, 0, 0, err
	}
	if code != http.StatusOK {
		return nil, 0, 0, fmt.Errorf("GET %s: HTTP %d: %s", url, code, oneLine(body))
	}
	var env dumpEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, 0, 0, fmt.Errorf("GET %s: not JSON: %v", url, err)
	}
	if env.Error != nil {
		return nil, 0, 0, fmt.Errorf("GET %s: RPC error %d: %s %s", url, env.Error.Code, env.Error.Message, env.Error.Data)
	}
	raw := env.Peers
	if env.Result != nil && len(env.Result.Peers) > 0 {
		raw = env.Result.Peers
	}
	if len(raw) == 0 {
		return nil, 0, 0, fmt.Errorf("GET %s: no peers list in the answer", url)
	}
	var entries []dumpPeer
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, 0, 0, fmt.Errorf("GET %s: peers: %v", url, err)
	}
	for _, e := range entries {
		if len(e.PeerState) == 0 || string(e.PeerState) == "null" {
			continue // no consensus state for this peer yet (CometBFT's zero entry)
		}
		listed++
		var ps peerState
		if json.Unmarshal(e.PeerState, &ps) != nil || ps.RoundState == nil {
			unreadable++
			continue
		}
		h, herr := parseHeight(ps.RoundState.Height)
		if herr != nil {
			unreadable++
			continue
		}
		peers = append(peers, peerHeight{ID: peerID(e.NodeAddress), Height: h - 1})
	}
	if listed > 0 && unreadable == listed {
		return nil, 0, 0, fmt.Errorf("GET %s: no peer_state.round_state.height readable in %d peers", url, listed)
	}
	return peers, listed, unreadable, nil
}

// peerID is the node ID in "<id>@host:port" (CometBFT) or "mconn://<id>@host:port" (Sei).
func peerID(addr string) string {
	a := addr
	if i := strings.Index(a, "://"); i >= 0 {
		a = a[i+3:]
	}
	if i := strings.Index(a, "@"); i > 0 {
		return a[:i]
	}
	if a == "" {
		return "(no address)"
	}
	return a
}

// checkPeers compares the node's height with its peers'. Only a peer more than maxPeerLag
// blocks ahead makes it not ready; when the peers' heights cannot be read, the /status rule
// (already passed) decides and the summary says so.
func checkPeers(ctx context.Context, client *http.Client, url string, height, maxPeerLag int64) (*Result, error) {
	peers, listed, unreadable, err := peerHeights(ctx, client, url)
	if err != nil {
		return &Result{Summary: fmt.Sprintf("in sync at height %d; peer heights unknown, so catching_up alone decides (%s)",
			height, oneLineStr(err.Error()))}, nil
	}
	var top *peerHeight
	for i := range peers {
		p := &peers[i]
		if p.Height > 0 && (top == nil || p.Height > top.Height) {
			top = p
		}
	}
	if top != nil && top.Height-height > maxPeerLag {
		return nil, &NotReady{Reason: fmt.Sprintf("%d blocks behind peer %s (height %d, ours %d)",
			top.Height-height, top.ID, top.Height, height)}
	}
	counted := plural(listed, "peer")
	if unreadable > 0 {
		counted += fmt.Sprintf(", %d unreadable", unreadable)
	}
	if top == nil {
		return &Result{Summary: fmt.Sprintf("in sync at height %d; no peer reports a height (%s)", height, counted)}, nil
	}
	return &Result{Summary: fmt.Sprintf("in sync at height %d; highest peer at %d (%s, max lag %d)",
		height, top.Height, counted, maxPeerLag)}, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func parseHeight(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 {
		return 0, fmt.Errorf("missing")
	}
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer", raw)
	}
	return n, nil
}

func heightText(h int64, err error) string {
	if err != nil {
		return "unknown"
	}
	return strconv.FormatInt(h, 10)
}

type avaHealth struct {
	Healthy *bool `json:"healthy"`
	Checks  map[string]struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	} `json:"checks"`
}

func checkAvalanche(ctx context.Context, client *http.Client, url string) (*Result, error) {
	code, body, err := get(ctx, client, url)
	if err != nil {
		return nil, err
	}
	var h avaHealth
	jerr := json.Unmarshal(body, &h)
	if code == http.StatusOK && jerr == nil && h.Healthy != nil && *h.Healthy {
		return &Result{Summary: fmt.Sprintf("healthy (%d checks pass)", len(h.Checks))}, nil
	}
	if jerr != nil {
		return nil, &NotReady{Reason: fmt.Sprintf("GET %s: HTTP %d: %s", url, code, oneLine(body))}
	}
	var failing []string
	for name, c := range h.Checks {
		if c.Error != nil {
			failing = append(failing, name+": "+c.Error.Message)
		}
	}
	sort.Strings(failing)
	reason := fmt.Sprintf("not healthy (HTTP %d)", code)
	if len(failing) > 0 {
		reason += ": " + strings.Join(failing, "; ")
	}
	return nil, &NotReady{Reason: oneLineStr(reason)}
}

func oneLine(b []byte) string { return oneLineStr(string(b)) }

func oneLineStr(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}
