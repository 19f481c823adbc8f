// Package halt runs a Cosmos SDK node until its app has committed one exact height, then proves
// it: the hard-fork bootstrap of chainfleet (a new node's volume, the old binary, stop at H-1 so
// the new binary can apply the upgrade at H).
//
// Why the node's exit code proves nothing (../shared/research/cosmos-upgrade.md §2–4, runs of
// SDK v0.47.17 and v0.50.15): v0.47 exits 0 after a halt in consensus mode but 130 when it
// halts during block sync; v0.50 in consensus mode never exits (CONSENSUS FAILURE, RPC stays
// up); v0.50 in block sync panics with exit 2; SIGTERM gives 0 in every version. And /status
// reports the block store, one above the app when the app refused a block. So the agent watches
// the app's own height (/abci_info last_block_height, answered by the app's Info), stops the node
// itself once that height is reached, and decides on the height the app committed to disk
// (application.db `s/latest`, read offline) — whatever the exit code.
package halt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	toml "github.com/pelletier/go-toml/v2"

	"chainfleet/node-agent/internal/exitcode"
	"chainfleet/node-agent/internal/storedb"
)

// NotProven is the exit code when the node ended without its app at the target height
// (exitcode.NotProven): distinct from 1 (retryable) and 3 (bad input), so the Job's pod status
// says which it was.
const NotProven = exitcode.NotProven

// Options are the inputs of Run; main.go fills them from flags.
type Options struct {
	// Home is the node's home (the volume).
	Home string
	// Target is the height the app must have committed: H-1 for an upgrade at H.
	Target int64
	// RPC is the node's CometBFT RPC base URL (its /abci_info).
	RPC string
	// Argv starts the node; it is run as a child, never exec'd, so the agent sees it end.
	Argv []string
	// RPCOnly skips the offline read of application.db: for apps whose committed state is not
	// there (Sei's SeiDB keeps it elsewhere), the app's own /abci_info answers are the witness.
	RPCOnly bool
	// Poll is the time between /abci_info calls.
	Poll time.Duration
	// Settle is how long the app may stay at Target before the agent stops the node (a v0.47
	// node halting by itself is then left to finish its own graceful shutdown).
	Settle time.Duration
	// StopGrace is how long the node gets after SIGTERM before SIGKILL.
	StopGrace time.Duration
	// Signals delivers the signals the agent receives (SIGTERM when the pod is deleted).
	Signals <-chan os.Signal
	Out     io.Writer
	Client  *http.Client
}

// Verdict is what Run concluded.
type Verdict struct {
	// Committed is the app's committed height at the end; Source says where it was read.
	Committed int64
	Source    string
	// MaxSeen is the highest app height /abci_info reported while the node ran.
	MaxSeen int64
	// NodeExit is the node's exit status ("not started" when it was not run).
	NodeExit string
	// StoppedBy names the signal that stopped the agent, if one did.
	StoppedBy string
}

// Message is the one line a pod's termination message carries.
func (v Verdict) Message(target int64) string {
	msg := fmt.Sprintf("app committed height %d (%s), needed %d; highest app height seen over RPC %d; node %s",
		v.Committed, v.Source, target, v.MaxSeen, v.NodeExit)
	if v.StoppedBy != "" {
		msg += "; stopped by " + v.StoppedBy + ", not a halt"
	}
	return msg
}

// Run starts the node unless the app already holds Target, stops it once the app has committed
// Target, and returns nil only when the app's committed height is exactly Target.
func Run(ctx context.Context, o Options) (Verdict, error) {
	o.defaults()
	v := Verdict{NodeExit: "not started"}
	if h, src, ok := o.committedOffline(); ok {
		v.Committed, v.Source = h, src
		switch {
		case h == o.Target:
			fmt.Fprintf(o.Out, "halt: the app already committed %d (%s): not starting the node (an earlier run got here)\n", h, src)
			return v, nil
		case h > o.Target:
			return v, &exitcode.Error{Code: NotProven, Err: fmt.Errorf("the app on this volume is already past %d (%s): the old binary went too far, and the new binary cannot apply an upgrade at %d here; start the volume again from a snapshot or an incumbent's clone", o.Target, v.Message(o.Target), o.Target+1)}
		}
		fmt.Fprintf(o.Out, "halt: the app is at %d (%s); running the node to %d\n", h, src, o.Target)
	}

	cmd := exec.Command(o.Argv[0], o.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = o.Out, o.Out
	if err := cmd.Start(); err != nil {
		return v, fmt.Errorf("start the node (%s): %w", strings.Join(o.Argv, " "), err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	poll := time.NewTicker(o.Poll)
	defer poll.Stop()
	var reachedAt time.Time
	var stopSent, killAt time.Time
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-exited:
			break loop
		case sig := <-o.Signals:
			v.StoppedBy = sig.String()
			fmt.Fprintf(o.Out, "halt: received %s; stopping the node\n", sig)
			stopSent = o.stop(cmd, stopSent)
		case <-ctx.Done():
			v.StoppedBy = "context: " + ctx.Err().Error()
			stopSent = o.stop(cmd, stopSent)
		case now := <-poll.C:
			if !stopSent.IsZero() {
				if killAt.IsZero() {
					killAt = stopSent.Add(o.StopGrace)
				}
				if now.After(killAt) {
					fmt.Fprintf(o.Out, "halt: the node did not stop within %s of SIGTERM; killing it\n", o.StopGrace)
					_ = cmd.Process.Kill()
				}
				continue
			}
			h, err := o.appHeight(ctx)
			if err != nil {
				continue // RPC not up yet, or shutting down: the exit or the next poll decides
			}
			if h > v.MaxSeen {
				v.MaxSeen = h
			}
			switch {
			case h > o.Target:
				fmt.Fprintf(o.Out, "halt: the app committed %d, past %d: stopping the node\n", h, o.Target)
				stopSent = o.stop(cmd, stopSent)
			case h == o.Target && reachedAt.IsZero():
				reachedAt = now
				fmt.Fprintf(o.Out, "halt: the app committed %d; the node gets %s to halt by itself\n", h, o.Settle)
			case h == o.Target && now.Sub(reachedAt) >= o.Settle:
				fmt.Fprintf(o.Out, "halt: the app holds %d; stopping the node (SIGTERM)\n", h)
				stopSent = o.stop(cmd, stopSent)
			}
		}
	}
	v.NodeExit = describeExit(cmd.ProcessState, waitErr)

	if h, src, ok := o.committedOffline(); ok {
		v.Committed, v.Source = h, src
	} else {
		// No readable application.db (another backend, another layout): the app's own answer
		// over RPC is the next best witness. It can only be lower than the truth, never higher.
		v.Committed, v.Source = v.MaxSeen, src+"; the highest /abci_info answer counts instead"
	}
	fmt.Fprintf(o.Out, "halt: %s\n", v.Message(o.Target))
	if v.Committed == o.Target && v.StoppedBy == "" {
		return v, nil
	}
	return v, &exitcode.Error{Code: NotProven, Err: errors.New(v.Message(o.Target))}
}

func (o *Options) defaults() {
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Settle < 0 {
		o.Settle = 0
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 30 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 2 * time.Second}
	}
}

// stop sends SIGTERM once; it returns when it was sent.
func (o *Options) stop(cmd *exec.Cmd, sent time.Time) time.Time {
	if !sent.IsZero() {
		return sent
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	return time.Now()
}

// appHeight asks the app (through CometBFT's ABCI Info) which height it last committed.
// CometBFT v0.37/v0.38 rpc/core/abci.go ABCIInfo: `{"result":{"response":{"last_block_height":
// "34",...}}}`, an int64 as a JSON string, left out when 0.
func (o *Options) appHeight(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(o.RPC, "/")+"/abci_info", nil)
	if err != nil {
		return 0, err
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/abci_info: HTTP %d", resp.StatusCode)
	}
	var doc struct {
		Result *struct {
			Response struct {
				LastBlockHeight json.RawMessage `json:"last_block_height"`
			} `json:"response"`
		} `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return 0, fmt.Errorf("/abci_info: %w", err)
	}
	if doc.Result == nil {
		return 0, errors.New("/abci_info: no result")
	}
	raw := strings.Trim(string(doc.Result.Response.LastBlockHeight), `"`)
	if raw == "" || raw == "null" {
		return 0, nil
	}
	return strconv.ParseInt(raw, 10, 64)
}

// committedOffline reads the app's committed height from <home>/data/application.db when the
// app keeps it in goleveldb (the SDK's default: app.toml app-db-backend empty falls back to
// config.toml db_backend, whose default is goleveldb). ok is false, with the reason in src,
// when it cannot be read; a missing database is height 0 (a fresh volume).
func (o *Options) committedOffline() (height int64, src string, ok bool) {
	const rel = "data/application.db"
	if o.RPCOnly {
		return 0, rel + " is not read for this chain", false
	}
	if backend := o.dbBackend(); backend != "goleveldb" {
		return 0, fmt.Sprintf("%s is not read: the app's database backend is %s, the agent reads goleveldb", rel, backend), false
	}
	h, err := storedb.AppCommittedHeight(filepath.Join(o.Home, rel))
	switch {
	case errors.Is(err, storedb.ErrMissing):
		return 0, rel + " does not exist yet", true
	case err != nil:
		return 0, fmt.Sprintf("%s is unreadable: %v", rel, err), false
	}
	return h, "read from " + rel, true
}

func (o *Options) dbBackend() string {
	read := func(file, key string) string {
		data, err := os.ReadFile(filepath.Join(o.Home, "config", file))
		if err != nil {
			return ""
		}
		var doc map[string]any
		if toml.Unmarshal(data, &doc) != nil {
			return ""
		}
		s, _ := doc[key].(string)
		return s
	}
	if b := read("app.toml", "app-db-backend"); b != "" {
		return b
	}
	if b := read("config.toml", "db_backend"); b != "" {
		return b
	}
	return "goleveldb"
}

func describeExit(ps *os.ProcessState, err error) string {
	if ps == nil {
		return fmt.Sprintf("did not run (%v)", err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exited %d", ps.ExitCode())
}
