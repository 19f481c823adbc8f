// Command chainfleet-agent prepares a blockchain node's home and probes its readiness, inside
// pods of any chain image: it is one static binary (CGO_ENABLED=0) that needs nothing from the
// image it runs in — no shell, no curl, no CA bundle (it carries fallback roots).
//
// Commands: install, prepare, halt, ready, node-id, gen-node-key, version. See README.md.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "golang.org/x/crypto/x509roots/fallback" // TLS roots for images without a CA bundle

	"chainfleet/node-agent/internal/exitcode"
	"chainfleet/node-agent/internal/fsutil"
	"chainfleet/node-agent/internal/genesis"
	"chainfleet/node-agent/internal/halt"
	"chainfleet/node-agent/internal/nodekey"
	"chainfleet/node-agent/internal/prepare"
	"chainfleet/node-agent/internal/ready"
)

// BinaryName is the agent's file name wherever it is installed.
const BinaryName = "chainfleet-agent"

// version is set by build.sh (-X main.version=...).
var version = "dev"

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"install", "--to DIR", "copy this executable to DIR/" + BinaryName, runInstall},
		{"prepare", "--chain cometbft|sei|cosmos --home DIR [flags]", "make a node home ready to start (genesis, state sync, init, overrides, keys, upgrade-info, validate, peers)", runPrepare},
		{"ready", "--chain cometbft|sei|cosmos|avalanche [--rpc URL] [--timeout 2s] [--max-peer-lag 10]", "exit 0 only when the node is in sync (readiness probe)", runReady},
		{"halt", "--home DIR --app-height N [--rpc URL] [--rpc-only] -- NODE ARGV...", "run the node until its app has committed exactly height N, stop it, and exit 0 only when the app's committed height proves it (hard-fork bootstrap)", runHalt},
		{"node-id", "--key FILE", "print the CometBFT node ID of a node_key.json", runNodeID},
		{"gen-node-key", "", "print a fresh CometBFT node_key.json", runGenNodeKey},
		{"version", "", "print the agent's version", func(_ context.Context, _ []string, out, _ io.Writer) error {
			fmt.Fprintln(out, BinaryName, version)
			return nil
		}},
	}
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return exitcode.Usage
		}
		return exitcode.OK
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			if errors.Is(err, flag.ErrHelp) {
				return exitcode.OK
			}
			if err != nil {
				var nr *ready.NotReady
				if errors.As(err, &nr) {
					fmt.Fprintf(stderr, "not ready: %s\n", nr.Reason)
				} else {
					fmt.Fprintf(stderr, "%s %s: %v\n", BinaryName, c.name, err)
				}
			}
			return exitcode.Of(err)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q; run `%s help` for the list\n", BinaryName, args[0], BinaryName)
	return exitcode.Usage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\ncommands:\n", BinaryName)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s\n  %-13s   %s\n", c.name, c.args, "", c.summary)
	}
	fmt.Fprintf(w, "\nexit codes: 0 ok (ready: in sync), 1 failure / not ready, 2 usage error, 3 invalid input (checksum, chain-id, overrides, keys), 4 halt not proven (the app did not commit exactly --app-height)\n")
	fmt.Fprintf(w, "run `%s <command> -h` for a command's flags\n", BinaryName)
}

// newFlags makes a FlagSet whose parse errors are usage errors naming the command.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(BinaryName+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitcode.Usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return exitcode.Usagef("unexpected argument %q: every input is a flag (see -h)", fs.Arg(0))
	}
	return nil
}

func required(flagName, value, fix string) error {
	if strings.TrimSpace(value) == "" {
		return exitcode.Usagef("--%s is required: %s", flagName, fix)
	}
	return nil
}

// flagSet says whether the command line gave the flag (not just its default).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func oneOf(flagName, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	if value == "" {
		return exitcode.Usagef("--%s is required: use one of %s", flagName, strings.Join(allowed, ", "))
	}
	return exitcode.Usagef("--%s %q is not supported: use one of %s", flagName, value, strings.Join(allowed, ", "))
}

func runInstall(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("install", stderr)
	to := fs.String("to", "", "directory to copy the agent into (e.g. the shared emptyDir /chainfleet/bin)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required("to", *to, "give the directory the later containers mount, e.g. --to /chainfleet/bin"); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this executable: %w", err)
	}
	if err := os.MkdirAll(*to, 0o755); err != nil {
		return fmt.Errorf("--to %q: cannot create it: %w", *to, err)
	}
	in, err := os.Open(self)
	if err != nil {
		return fmt.Errorf("open %s: %w", self, err)
	}
	defer in.Close()
	dst := filepath.Join(*to, BinaryName)
	if err := fsutil.WriteAtomic(dst, 0o755, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return fmt.Errorf("--to %q: %w", *to, err)
	}
	fmt.Fprintf(stdout, "install: copied %s to %s\n", self, dst)
	return nil
}

func runPrepare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prepare", stderr)
	chain := fs.String("chain", "", "cometbft, sei or cosmos")
	home := fs.String("home", "", "the node's home directory (the volume)")
	binary := fs.String("binary", "", "the node daemon, a name in PATH or a path (default: cometbft for cometbft, seid for sei; required for cosmos)")
	moniker := fs.String("moniker", "", "moniker for the sei/cosmos daemon's init (default: the host name, i.e. the pod name; for cometbft set configToml.moniker)")
	chainID := fs.String("chain-id", "", "the chain id; checked against the genesis; required for sei/cosmos unless a genesis is given")
	genURL := fs.String("genesis-url", "", "http(s) URL of the genesis (gzip accepted); needs --genesis-sha256")
	genSHA := fs.String("genesis-sha256", "", "hex SHA-256 of the genesis bytes as served")
	genFile := fs.String("genesis-file", "", "a local genesis file (e.g. from a ConfigMap) instead of --genesis-url")
	overrides := fs.String("overrides", "", `JSON file {"configToml":{...},"appToml":{...},"clientToml":{...}}`)
	nodeKey := fs.String("node-key", "", "node_key.json to copy to config/ on every start")
	valKey := fs.String("validator-key", "", "priv_validator_key.json to copy to config/ on every start")
	upgrade := fs.String("upgrade-info", "", `planned upgrade for data/upgrade-info.json, e.g. '{"name":"v2","height":1000}'`)
	dlTimeout := fs.Duration("download-timeout", 30*time.Minute, "limit for the genesis download")
	initTimeout := fs.Duration("init-timeout", 5*time.Minute, "limit for the chain's init command")
	peerWait := fs.Duration("peer-wait", 0, "after the config step, wait up to this long (e.g. 2m) until the host names in config.toml's persistent peers resolve; 0: no wait")
	ssRPC := fs.String("state-sync-rpc", "", "state sync: at least two http(s) RPC base URLs, comma-separated; on a home without block data, the trust height and hash are taken from them and [statesync] is enabled")
	ssPeriod := fs.String("state-sync-trust-period", "", "state sync: the light client's trust period, a Go duration (default 168h0m0s); needs --state-sync-rpc")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := oneOf("chain", *chain, prepare.CometBFT, prepare.Sei, prepare.Cosmos); err != nil {
		return err
	}
	if err := required("home", *home, "give the node's home directory, e.g. --home /cometbft"); err != nil {
		return err
	}
	if *binary == "" {
		switch *chain {
		case prepare.CometBFT:
			*binary = "cometbft"
		case prepare.Sei:
			*binary = "seid"
		default:
			return exitcode.Usagef("--binary is required for --chain cosmos: give the daemon's name, e.g. --binary gaiad")
		}
	}
	if *moniker == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "node"
		}
		*moniker = h
	}
	absHome, err := filepath.Abs(*home)
	if err != nil {
		return exitcode.Usagef("--home %q: %v", *home, err)
	}
	o := prepare.Options{
		Chain: *chain, Home: absHome, Binary: *binary, Moniker: *moniker, ChainID: *chainID,
		OverridesFile: *overrides, NodeKeyFile: *nodeKey, ValidatorKeyFile: *valKey,
		InitTimeout: *initTimeout, PeerWait: *peerWait, Out: stdout,
	}
	src, err := genesisSource(*genURL, *genSHA, *genFile)
	if err != nil {
		return err
	}
	o.Genesis = src
	if *chain != prepare.CometBFT && *chainID == "" && src == nil {
		return exitcode.Usagef("--chain-id is required for --chain %s when no --genesis-url or --genesis-file is given (the daemon's init and client.toml need it)", *chain)
	}
	if *upgrade != "" {
		ui, err := parseUpgradeInfo(*upgrade)
		if err != nil {
			return err
		}
		o.UpgradeInfo = ui
	}
	if *dlTimeout <= 0 {
		return exitcode.Usagef("--download-timeout %s must be positive", *dlTimeout)
	}
	if *initTimeout <= 0 {
		return exitcode.Usagef("--init-timeout %s must be positive", *initTimeout)
	}
	if *peerWait < 0 {
		return exitcode.Usagef("--peer-wait %s must not be negative: give a duration like 2m, or 0 for no wait", *peerWait)
	}
	ss, err := stateSyncFlags(*ssRPC, *ssPeriod)
	if err != nil {
		return err
	}
	o.StateSync = ss
	o.HTTPClient = &http.Client{Timeout: *dlTimeout}
	return prepare.Run(ctx, o)
}

func genesisSource(u, sha, file string) (*genesis.Source, error) {
	sha = strings.ToLower(strings.TrimSpace(sha))
	if sha != "" {
		if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 {
			return nil, exitcode.Usagef("--genesis-sha256 %q is not a SHA-256: give 64 hex characters (sha256sum of the file as served)", sha)
		}
	}
	switch {
	case u != "" && file != "":
		return nil, exitcode.Usagef("--genesis-url %q and --genesis-file %q are both given: use one", u, file)
	case u != "":
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, exitcode.Usagef("--genesis-url %q: give an http:// or https:// URL", u)
		}
		if sha == "" {
			return nil, exitcode.Usagef("--genesis-url %q needs --genesis-sha256: a download is verified before it is used", u)
		}
		return &genesis.Source{URL: u, SHA256: sha}, nil
	case file != "":
		return &genesis.Source{File: file, SHA256: sha}, nil
	case sha != "":
		return nil, exitcode.Usagef("--genesis-sha256 is given without --genesis-url or --genesis-file: add the source or drop the checksum")
	}
	return nil, nil
}

// stateSyncFlags checks --state-sync-rpc and --state-sync-trust-period. At least two distinct
// servers: CometBFT (config/config.go StateSyncConfig.ValidateBasic) and Sei refuse fewer, and
// the trust root is cross-checked between two of them.
func stateSyncFlags(rpcs, period string) (*prepare.StateSync, error) {
	if rpcs == "" {
		if period != "" {
			return nil, exitcode.Usagef("--state-sync-trust-period %q needs --state-sync-rpc", period)
		}
		return nil, nil
	}
	var servers []string
	seen := map[string]bool{}
	for _, u := range strings.Split(rpcs, ",") {
		u = strings.TrimSpace(u)
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, exitcode.Usagef("--state-sync-rpc: %q is not an http:// or https:// RPC base URL (e.g. https://rpc-1.example.org:443)", u)
		}
		if seen[u] {
			return nil, exitcode.Usagef("--state-sync-rpc: %q is given twice: the trust root is checked between two different servers", u)
		}
		seen[u] = true
		servers = append(servers, u)
	}
	if len(servers) < 2 {
		return nil, exitcode.Usagef("--state-sync-rpc %q: give at least two servers, comma-separated (CometBFT's light client needs a primary and a witness)", rpcs)
	}
	d := 168 * time.Hour // CometBFT's and Sei's default (config/config.go DefaultStateSyncConfig)
	if period != "" {
		var err error
		d, err = time.ParseDuration(period)
		if err != nil || d <= 0 {
			return nil, exitcode.Usagef("--state-sync-trust-period %q: give a positive Go duration, e.g. 168h0m0s", period)
		}
	}
	return &prepare.StateSync{RPCServers: servers, TrustPeriod: d}, nil
}

func parseUpgradeInfo(s string) (*prepare.UpgradeInfo, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var v struct {
		Name   string `json:"name"`
		Height any    `json:"height"`
	}
	fix := `give a JSON object like '{"name":"v2.0.0","height":123456}'`
	if err := dec.Decode(&v); err != nil {
		return nil, exitcode.Usagef("--upgrade-info %q: %v; %s", s, err, fix)
	}
	if strings.TrimSpace(v.Name) == "" {
		return nil, exitcode.Usagef("--upgrade-info %q: name is missing; %s", s, fix)
	}
	var h int64
	var err error
	switch x := v.Height.(type) {
	case json.Number:
		h, err = strconv.ParseInt(x.String(), 10, 64)
	case string:
		h, err = strconv.ParseInt(x, 10, 64)
	default:
		err = errors.New("missing")
	}
	if err != nil || h <= 0 {
		return nil, exitcode.Usagef("--upgrade-info %q: height must be a positive integer; %s", s, fix)
	}
	return &prepare.UpgradeInfo{Name: v.Name, Height: h}, nil
}

func runReady(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ready", stderr)
	chain := fs.String("chain", "", "cometbft, sei, cosmos or avalanche")
	rpc := fs.String("rpc", "", "the node's RPC base URL (default http://127.0.0.1:26657; avalanche http://127.0.0.1:9650)")
	timeout := fs.Duration("timeout", 2*time.Second, "limit for the whole check (both requests)")
	maxPeerLag := fs.Int64("max-peer-lag", ready.DefaultMaxPeerLag, "cometbft, sei, cosmos: not ready when a peer is more than this many blocks ahead")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := oneOf("chain", *chain, "cometbft", "sei", "cosmos", "avalanche"); err != nil {
		return err
	}
	if *maxPeerLag < 0 {
		return exitcode.Usagef("--max-peer-lag %d must not be negative: give a number of blocks, e.g. %d", *maxPeerLag, ready.DefaultMaxPeerLag)
	}
	if *chain == "avalanche" && flagSet(fs, "max-peer-lag") {
		return exitcode.Usagef("--max-peer-lag is for --chain cometbft, sei or cosmos: avalanche's /ext/health decides on its own; drop the flag")
	}
	if *rpc == "" {
		*rpc = "http://127.0.0.1:26657"
		if *chain == "avalanche" {
			*rpc = "http://127.0.0.1:9650"
		}
	}
	if p, err := url.Parse(*rpc); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return exitcode.Usagef("--rpc %q: give an http:// or https:// base URL, e.g. http://127.0.0.1:26657", *rpc)
	}
	if *timeout <= 0 {
		return exitcode.Usagef("--timeout %s must be positive, e.g. 2s", *timeout)
	}
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := ready.Check(cctx, &http.Client{}, *chain, *rpc, *maxPeerLag)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready: %s\n", res.Summary)
	return nil
}

func runNodeID(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("node-id", stderr)
	key := fs.String("key", "", "path of a CometBFT node_key.json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required("key", *key, "give the node_key.json path, e.g. --key /cometbft/config/node_key.json"); err != nil {
		return err
	}
	data, err := os.ReadFile(*key)
	if err != nil {
		return exitcode.Invalidf("--key %q: %v", *key, err)
	}
	k, err := nodekey.Parse(data)
	if err != nil {
		return exitcode.Invalidf("--key %q: %v", *key, err)
	}
	fmt.Fprintln(stdout, nodekey.ID(k))
	return nil
}

func runGenNodeKey(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen-node-key", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	data, err := nodekey.Generate(nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(data))
	return nil
}

// runHalt is the hard-fork bootstrap's node container: `halt -- <node argv>` (internal/halt).
// The verdict also goes to --termination-log, which Kubernetes shows as the container's
// termination message, so the bootstrap wait can report the heights without reading logs.
func runHalt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("halt", stderr)
	home := fs.String("home", "", "the node's home directory (the volume)")
	target := fs.Int64("app-height", 0, "the height the app must have committed (H-1 for an upgrade at H)")
	rpc := fs.String("rpc", "http://127.0.0.1:26657", "the node's CometBFT RPC base URL (its /abci_info reports the app's height)")
	rpcOnly := fs.Bool("rpc-only", false, "do not read data/application.db: the app keeps its committed state elsewhere (Sei's SeiDB); /abci_info answers decide")
	poll := fs.Duration("poll", 500*time.Millisecond, "time between /abci_info calls")
	settle := fs.Duration("settle", 5*time.Second, "how long the app may hold --app-height before the agent stops the node (a node that halts by itself finishes its own shutdown)")
	grace := fs.Duration("stop-grace", 30*time.Second, "time from SIGTERM to SIGKILL")
	termLog := fs.String("termination-log", "/dev/termination-log", "file for the verdict line, when it exists (Kubernetes' terminationMessagePath)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitcode.Usagef("%v", err)
	}
	if err := required("home", *home, "give the node's home directory, e.g. --home /node"); err != nil {
		return err
	}
	if *target < 1 {
		return exitcode.Usagef("--app-height must be a positive block height (H-1 for an upgrade at H), got %d", *target)
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return exitcode.Usagef("give the node's command after --, e.g. -- seid start --home /sei --halt-height 1000")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	v, err := halt.Run(ctx, halt.Options{
		Home: *home, Target: *target, RPC: *rpc, RPCOnly: *rpcOnly, Argv: argv,
		Poll: *poll, Settle: *settle, StopGrace: *grace, Signals: sigs, Out: stdout,
	})
	if _, statErr := os.Stat(*termLog); statErr == nil {
		verdict := v.Message(*target)
		if err == nil {
			verdict = "halt proven: " + verdict
		}
		_ = os.WriteFile(*termLog, []byte(verdict), 0o644)
	}
	return err
}
