// Package ready is the readiness probe: it passes only when the node is in sync.
//
// CometBFT, Cosmos SDK chains and Sei: GET <rpc>/status. The node is ready when
// sync_info.catching_up is false and sync_info.latest_block_height is above 0 (a fresh node
// with no peers reports catching_up false at height 0 before its first block; chains/probes.ts
// used the same rule). The JSON-RPC envelope ({"result": {...}}) is optional: Sei's RPC may
// return the status object unwrapped (chains/sei.ts, test/testdata/chains/sei/).
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

// NotReady is a negative answer with its one-line reason.
type NotReady struct{ Reason string }

func (e *NotReady) Error() string { return e.Reason }

// Check asks the node once. ctx bounds the whole call.
func Check(ctx context.Context, client *http.Client, chain, rpc string) (*Result, error) {
	base := strings.TrimRight(rpc, "/")
	switch chain {
	case "avalanche":
		return checkAvalanche(ctx, client, base+"/ext/health")
	default:
		return checkStatus(ctx, client, base+"/status")
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

type rpcEnvelope struct {
	Result *statusBody `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
	statusBody
}

func checkStatus(ctx context.Context, client *http.Client, url string) (*Result, error) {
	code, body, err := get(ctx, client, url)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, &NotReady{Reason: fmt.Sprintf("GET %s: HTTP %d: %s", url, code, oneLine(body))}
	}
	var env rpcEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &NotReady{Reason: fmt.Sprintf("GET %s: not JSON: %v", url, err)}
	}
	if env.Error != nil {
		return nil, &NotReady{Reason: fmt.Sprintf("GET %s: RPC error %d: %s %s", url, env.Error.Code, env.Error.Message, env.Error.Data)}
	}
	si := env.SyncInfo
	if env.Result != nil && env.Result.SyncInfo != nil {
		si = env.Result.SyncInfo
	}
	if si == nil || si.CatchingUp == nil {
		return nil, &NotReady{Reason: fmt.Sprintf("GET %s: no sync_info.catching_up in the answer", url)}
	}
	height, herr := parseHeight(si.LatestBlockHeight)
	if *si.CatchingUp {
		return nil, &NotReady{Reason: fmt.Sprintf("node is catching up (latest_block_height %s)", heightText(height, herr))}
	}
	if herr != nil {
		return nil, &NotReady{Reason: fmt.Sprintf("latest_block_height: %v", herr)}
	}
	if height <= 0 {
		return nil, &NotReady{Reason: "no block yet (latest_block_height 0)"}
	}
	return &Result{Summary: fmt.Sprintf("in sync at height %d", height)}, nil
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
