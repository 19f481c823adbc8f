package prepare

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"chainfleet/node-agent/internal/exitcode"
	"chainfleet/node-agent/internal/fsutil"
	"chainfleet/node-agent/internal/storedb"
	"chainfleet/node-agent/internal/tomlmerge"
)

// StateSync asks prepare to configure state sync with a trust root taken from the RPC servers
// when the pod starts (never from config: a hard-coded height ages out of the trust period).
type StateSync struct {
	// RPCServers are the http(s) RPC base URLs written to rpc_servers; at least two: CometBFT
	// v0.38.19 config/config.go StateSyncConfig.ValidateBasic refuses fewer ("at least two
	// rpc_servers entries is required"), and so does Sei (sei-tendermint config/config.go
	// StateSyncConfig.ValidateBasic, light/stateprovider.go NewRPCStateProvider). The light
	// client uses the first as its primary and the others as witnesses.
	RPCServers []string
	// TrustPeriod is written as Go's duration text (time.Duration.String, e.g. "168h0m0s"), the
	// form both binaries' config templates write (config/toml.go trust_period / trust-period).
	TrustPeriod time.Duration
	// Attempts and Interval bound the wait for two servers that answer (0: 7 and 10 s, i.e.
	// about a minute); RequestTimeout bounds each request (0: 10 s).
	Attempts       int
	Interval       time.Duration
	RequestTimeout time.Duration
}

// TrustInterval: the trust height is rounded down to a multiple of this (see trustHeight).
const TrustInterval = 1000

// TrustLag is how many blocks below the first server's latest height the trust height is at
// least, so that a witness a few blocks behind the first server has the block too.
const TrustLag = 10

// trustHeight picks the trust height from the latest height of the first server that answers.
//
// The newest multiple of TrustInterval that is at least TrustLag blocks old; on a chain younger
// than that, TrustLag blocks below the latest, and never below 1. Why: (1) the block must be on
// both servers: the newest ones may not have reached a witness yet, and a node that prunes
// blocks keeps the recent ones; (2) a state sync snapshot is taken every snapshot-interval
// blocks (commonly 1000 or a multiple of it, at heights that are multiples of the interval), and
// the light client verifies a snapshot height above the trust height by skipping forward, which
// takes a few requests, while one below it is verified backwards header by header
// (cometbft light/client.go VerifyLightBlockAtHeight → backwards); rounding down to a multiple
// of 1000 keeps the trust height at or below the newest snapshot for those intervals; (3) its
// age stays far below any sensible trust period (the light client refuses a trusted header older
// than the trust period).
func trustHeight(latest int64) int64 {
	h := latest - TrustLag
	if h >= TrustInterval {
		h -= h % TrustInterval
	}
	return max(h, 1)
}

// ssKeys are the [statesync] and database keys of config.toml in the chain's dialect: CometBFT
// v0.38.19 config/toml.go writes `enable`, `rpc_servers` (a comma-separated string),
// `trust_height` (an integer), `trust_hash` and `trust_period` (strings), and `db_backend` /
// `db_dir`; Sei's fork (Tendermint v0.35 layout, sei-tendermint config/toml.go) writes
// `rpc-servers`, `trust-height`, `trust-hash`, `trust-period`, `db-backend` and `db-dir`.
type ssKeys struct {
	enable, rpcServers, trustHeight, trustHash, trustPeriod string
	dbBackend, dbDir                                        string
}

func stateSyncKeys(chain string) ssKeys {
	if chain == Sei {
		return ssKeys{"enable", "rpc-servers", "trust-height", "trust-hash", "trust-period", "db-backend", "db-dir"}
	}
	return ssKeys{"enable", "rpc_servers", "trust_height", "trust_hash", "trust_period", "db_backend", "db_dir"}
}

// trustRoot is what the servers agreed on.
type trustRoot struct {
	height, latest int64
	hash           string
	from, witness  string
	skipped        []string // servers that did not answer in the successful attempt
	attempts       int
	elapsed        time.Duration
}

// checkStateSyncOverrides refuses overrides that set the keys --state-sync-rpc writes: one
// source per key (the stack config refuses both together too).
func (r *runner) checkStateSyncOverrides() error {
	if r.StateSync == nil || r.overrides == nil {
		return nil
	}
	ss, ok := r.overrides.ConfigToml["statesync"].(map[string]any)
	if !ok {
		return nil
	}
	k := stateSyncKeys(r.Chain)
	var both []string
	for _, key := range []string{k.enable, k.rpcServers, k.trustHeight, k.trustHash, k.trustPeriod} {
		if _, set := ss[key]; set {
			both = append(both, "configToml.statesync."+key)
		}
	}
	if len(both) > 0 {
		return exitcode.Invalidf("--overrides %q sets %s and --state-sync-rpc is given: set one (the state sync flags write these keys)", r.OverridesFile, strings.Join(both, ", "))
	}
	return nil
}

// stateSync decides whether the home needs a trust root and, if so, asks the servers for one.
// It runs before init, like the genesis download, so that a server that lies (exit 3) or
// servers that do not answer (exit 1) leave the home as it was.
func (r *runner) stateSync(ctx context.Context) (*trustRoot, error) {
	if r.StateSync == nil {
		r.say("statesync", "none requested")
		return nil, nil
	}
	has, why := r.hasBlockData()
	if has {
		r.say("statesync", "left [statesync] untouched: %s", why)
		return nil, nil
	}
	r.say("statesync", "%s; asking %s for a trust root", why, strings.Join(r.StateSync.RPCServers, ", "))
	tr, err := r.lookupTrust(ctx)
	if err != nil {
		return nil, err
	}
	note := ""
	if len(tr.skipped) > 0 {
		note = fmt.Sprintf("; %s did not answer", strings.Join(tr.skipped, ", "))
	}
	r.say("statesync", "trust height %d (latest %d) hash %s from %s, confirmed by %s%s (%s, attempt %d)",
		tr.height, tr.latest, tr.hash, tr.from, tr.witness, note, tr.elapsed.Round(time.Millisecond), tr.attempts)
	return tr, nil
}

// stateSyncOverrides adds the [statesync] keys to the configToml overrides, so they go through
// the same typed merge (a key the file lacks, or of another type, is an error naming it).
func (r *runner) stateSyncOverrides(ov map[string]any, tr *trustRoot) map[string]any {
	if tr == nil {
		return ov
	}
	k := stateSyncKeys(r.Chain)
	ss := map[string]any{}
	if old, ok := ov["statesync"].(map[string]any); ok {
		ss = copyTop(old)
	}
	ss[k.enable] = true
	ss[k.rpcServers] = strings.Join(r.StateSync.RPCServers, ",")
	ss[k.trustHeight] = json.Number(strconv.FormatInt(tr.height, 10))
	ss[k.trustHash] = tr.hash
	ss[k.trustPeriod] = r.StateSync.TrustPeriod.String()
	out := copyTop(ov)
	out["statesync"] = ss
	return out
}

// hasBlockData mirrors the node's own decision. CometBFT v0.38.19 node/node.go NewNode:
// `stateSync := config.StateSync.Enable && !onlyValidatorIsUs(state, localAddr)` and then
// `if stateSync && state.LastBlockHeight > 0 { logger.Info("Found local state with non-zero
// height, skipping state sync") }`, where state is loaded from the state database
// (node/setup.go LoadStateFromDBOrGenesisDocProvider → state/store.go Load, key "stateKey",
// the protobuf tendermint.state.State whose field 3 is last_block_height). sei-tendermint
// node/node.go makeNode has the same test. So the home "has block data" exactly when
// <db_dir>/state.db holds a state with LastBlockHeight > 0: then [statesync] is left as it is,
// and the servers are not asked (a synced node must not depend on them to restart).
//
// For CometBFT-layout homes with db_backend goleveldb (CometBFT's default) the agent reads
// that state, read-only, with the goleveldb version CometBFT v0.38.19 itself uses. Where it
// cannot (another backend, Sei's store, an unreadable database) an existing state.db counts as
// block data: leaving a node that has run alone is the safe side (a fresh volume has none).
func (r *runner) hasBlockData() (bool, string) {
	k := stateSyncKeys(r.Chain)
	backend, dir := "goleveldb", "data"
	for _, tbl := range []map[string]any{r.existingConfigToml(), r.overrides.forKey("configToml")} {
		if s, ok := tbl[k.dbBackend].(string); ok && s != "" {
			backend = s
		}
		if s, ok := tbl[k.dbDir].(string); ok && s != "" {
			dir = s
		}
	}
	rel := filepath.Join(dir, "state.db")
	path := rel
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.Home, rel)
	}
	if !fsutil.Exists(path) {
		return false, fmt.Sprintf("no %s (the node has not run on this home)", rel)
	}
	switch {
	case r.Chain == Sei:
		return true, fmt.Sprintf("%s exists and the agent does not read Sei's state store: the node has run on this home, which counts as block data", rel)
	case backend != "goleveldb":
		return true, fmt.Sprintf("%s exists and the agent reads only goleveldb (%s is %s): the node has run on this home, which counts as block data", rel, k.dbBackend, backend)
	}
	h, err := storedb.StateLastBlockHeight(path)
	if err != nil {
		return true, fmt.Sprintf("%s exists but its state could not be read (%v); treating the home as synced", rel, err)
	}
	if h > 0 {
		return true, fmt.Sprintf("the state in %s is at height %d (the node skips state sync when LastBlockHeight > 0)", rel, h)
	}
	return false, fmt.Sprintf("the state in %s is at height 0 (an earlier start did not sync)", rel)
}

// existingConfigToml is config/config.toml as it is now, or nil (missing or not TOML: validate
// reports the latter).
func (r *runner) existingConfigToml() map[string]any {
	data, err := os.ReadFile(filepath.Join(r.configDir, "config.toml"))
	if err != nil {
		return nil
	}
	doc, err := tomlmerge.Decode(data)
	if err != nil {
		return nil
	}
	return doc
}

// lookupTrust finds a trust root two servers agree on, retrying while fewer than two answer.
//
// The first server (in the given order) that answers /status gives the latest height and picks
// the trust height (trustHeight); its /commit at that height gives the block hash (the header
// hash, commit.block_id.hash, which is what the light client checks trust_hash against). The
// next server that answers /commit at that height must report the same hash: a server that
// lies or serves another chain must not pick our trust root alone. A different hash stops
// prepare with exit 3, naming both servers and hashes; no retry can fix it.
func (r *runner) lookupTrust(ctx context.Context) (*trustRoot, error) {
	o := *r.StateSync
	if o.Attempts <= 0 {
		o.Attempts = 7
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		tr, problems, err := r.tryTrust(ctx, o)
		if err != nil {
			return nil, err
		}
		if tr != nil {
			tr.attempts, tr.elapsed = attempt, time.Since(start)
			return tr, nil
		}
		if attempt >= o.Attempts {
			return nil, fmt.Errorf("statesync: no two of the --state-sync-rpc servers answered after %d attempts in %s (the pod retries): %s",
				attempt, time.Since(start).Round(time.Second), strings.Join(problems, "; "))
		}
		r.say("statesync", "attempt %d of %d: %s; trying again in %s", attempt, o.Attempts, strings.Join(problems, "; "), o.Interval)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(o.Interval):
		}
	}
}

func (r *runner) tryTrust(ctx context.Context, o StateSync) (*trustRoot, []string, error) {
	servers := o.RPCServers
	var problems, skipped []string
	for i, primary := range servers {
		latest, err := r.latestHeight(ctx, o, primary)
		if err != nil {
			problems = append(problems, err.Error())
			skipped = append(skipped, primary)
			continue
		}
		h := trustHeight(latest)
		hash, err := r.commitHash(ctx, o, primary, h)
		if exitcode.Of(err) == exitcode.Invalid {
			return nil, nil, err
		}
		if err != nil {
			problems = append(problems, err.Error())
			skipped = append(skipped, primary)
			continue
		}
		for j := 1; j < len(servers); j++ {
			w := servers[(i+j)%len(servers)]
			whash, err := r.commitHash(ctx, o, w, h)
			if exitcode.Of(err) == exitcode.Invalid {
				return nil, nil, err
			}
			if err != nil {
				problems = append(problems, err.Error())
				skipped = append(skipped, w)
				continue
			}
			if !strings.EqualFold(whash, hash) {
				return nil, nil, exitcode.Invalidf("statesync: the servers disagree on block %d: %s says hash %s, %s says %s; "+
					"one of them is not a node of this chain or lies, so neither picks the trust root: check --state-sync-rpc (stack key stateSync.rpcServers)",
					h, primary, hash, w, whash)
			}
			return &trustRoot{height: h, latest: latest, hash: strings.ToUpper(hash), from: primary, witness: w, skipped: others(skipped, primary, w)}, nil, nil
		}
		problems = append(problems, fmt.Sprintf("no second server confirmed %s's block %d", primary, h))
		return nil, problems, nil
	}
	return nil, problems, nil
}

// others is s without repeats and without the servers that were used.
func others(s []string, used ...string) []string {
	seen := map[string]bool{}
	for _, u := range used {
		seen[u] = true
	}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// rpcGet GETs base+path and returns the JSON-RPC result. The envelope is optional: Sei's RPC
// may answer with the result object unwrapped (see package ready).
func (r *runner) rpcGet(ctx context.Context, o StateSync, base, path string) (json.RawMessage, error) {
	url := strings.TrimRight(base, "/") + path
	rctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	resp, err := r.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %v", url, err)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("GET %s: HTTP %d, not JSON: %s", url, resp.StatusCode, brief(body))
	}
	if env.Error != nil {
		return nil, fmt.Errorf("GET %s: RPC error %d: %s %s", url, env.Error.Code, env.Error.Message, env.Error.Data)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, brief(body))
	}
	if len(env.Result) > 0 && string(env.Result) != "null" {
		return env.Result, nil
	}
	return body, nil
}

func (r *runner) latestHeight(ctx context.Context, o StateSync, server string) (int64, error) {
	res, err := r.rpcGet(ctx, o, server, "/status")
	if err != nil {
		return 0, err
	}
	var st struct {
		NodeInfo struct {
			Network string `json:"network"`
		} `json:"node_info"`
		SyncInfo struct {
			LatestBlockHeight json.RawMessage `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if err := json.Unmarshal(res, &st); err != nil {
		return 0, fmt.Errorf("%s/status: %v", server, err)
	}
	h, err := intText(st.SyncInfo.LatestBlockHeight)
	if err != nil {
		return 0, fmt.Errorf("%s/status: sync_info.latest_block_height: %v", server, err)
	}
	if h < 1 {
		return 0, fmt.Errorf("%s/status: the server has no block yet", server)
	}
	return h, nil
}

// commitHash returns the hash of block h as the server's /commit reports it. With a known chain
// id, a server of another chain is refused (exit 3).
func (r *runner) commitHash(ctx context.Context, o StateSync, server string, h int64) (string, error) {
	res, err := r.rpcGet(ctx, o, server, "/commit?height="+strconv.FormatInt(h, 10))
	if err != nil {
		return "", err
	}
	var c struct {
		SignedHeader struct {
			Header struct {
				ChainID string          `json:"chain_id"`
				Height  json.RawMessage `json:"height"`
			} `json:"header"`
			Commit struct {
				Height  json.RawMessage `json:"height"`
				BlockID struct {
					Hash string `json:"hash"`
				} `json:"block_id"`
			} `json:"commit"`
		} `json:"signed_header"`
	}
	if err := json.Unmarshal(res, &c); err != nil {
		return "", fmt.Errorf("%s/commit?height=%d: %v", server, h, err)
	}
	if got, err := intText(c.SignedHeader.Header.Height); err != nil || got != h {
		return "", fmt.Errorf("%s/commit?height=%d: the answer is for height %s", server, h, c.SignedHeader.Header.Height)
	}
	hash := c.SignedHeader.Commit.BlockID.Hash
	if b, err := hex.DecodeString(hash); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%s/commit?height=%d: commit.block_id.hash %q is not a 32-byte hex hash", server, h, hash)
	}
	if r.ChainID != "" && c.SignedHeader.Header.ChainID != r.ChainID {
		return "", exitcode.Invalidf("statesync: %s serves chain %q, not %q: check --state-sync-rpc (stack key stateSync.rpcServers)", server, c.SignedHeader.Header.ChainID, r.ChainID)
	}
	return hash, nil
}

func intText(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 {
		return 0, errors.New("missing")
	}
	n, err := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer", raw)
	}
	return n, nil
}

func brief(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
