// Package prepare makes a node home ready for the node's first (or next) start: the chain's
// own init, the genesis, config overrides (with a state sync trust root from RPC servers, on a
// home without block data), keys, priv_validator_state and upgrade-info, then a
// validation and, when asked, a bounded wait for the persistent peers' DNS names. Every step
// is idempotent: run it on every pod start, on an empty volume, on a home from an earlier
// start or on one restored from a snapshot, and it converges to the same files. Each step
// prints one line saying what it did or why it skipped.
package prepare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"chainfleet/node-agent/internal/exitcode"
	"chainfleet/node-agent/internal/fsutil"
	"chainfleet/node-agent/internal/genesis"
	"chainfleet/node-agent/internal/nodekey"
	"chainfleet/node-agent/internal/tomlmerge"
)

// Chains prepare knows.
const (
	CometBFT = "cometbft"
	Sei      = "sei"
	Cosmos   = "cosmos"
)

// UpgradeInfo is the planned upgrade a new binary must find in data/upgrade-info.json.
type UpgradeInfo struct {
	Name   string
	Height int64
}

// Options are prepare's inputs; main.go fills them from flags and has checked them.
type Options struct {
	Chain         string
	Home          string
	Binary        string
	Moniker       string
	ChainID       string
	Genesis       *genesis.Source // nil: keep the genesis the chain's init wrote
	OverridesFile string
	NodeKeyFile   string
	// Owner names the pod this home belongs to (config/chainfleet-owner). A home prepared for
	// another owner is a copy (a cloned volume): without NodeKeyFile it gets a fresh node key,
	// since two nodes with one node ID refuse each other and a peer drops one of them.
	Owner            string
	ValidatorKeyFile string
	UpgradeInfo      *UpgradeInfo
	HTTPClient       *http.Client
	InitTimeout      time.Duration
	// PeerWait bounds the wait for the persistent peers' host names to resolve; 0: no wait.
	PeerWait time.Duration
	// Resolver looks up the peers' host names (nil: net.DefaultResolver).
	Resolver Resolver
	// PeerPollInterval is the time between lookups while waiting (0: one second).
	PeerPollInterval time.Duration
	// StateSync: configure state sync with a trust root from these RPC servers (nil: leave
	// [statesync] to the overrides).
	StateSync *StateSync
	Out       io.Writer
}

// Overrides are the parsed --overrides file: per TOML file, the tables to merge.
type Overrides struct {
	ConfigToml map[string]any
	AppToml    map[string]any
	ClientToml map[string]any
}

// overrideKeys maps the JSON keys of an overrides file to the files under config/.
var overrideFiles = []struct{ key, file string }{
	{"configToml", "config.toml"},
	{"appToml", "app.toml"},
	{"clientToml", "client.toml"},
}

// ParseOverrides reads an overrides file: {"configToml":{...},"appToml":{...},"clientToml":{...}}.
func ParseOverrides(data []byte) (*Overrides, error) {
	m, err := tomlmerge.DecodeOverrides(data)
	if err != nil {
		return nil, err
	}
	var probs tomlmerge.Problems
	ov := &Overrides{}
	for k, v := range m {
		tbl, ok := v.(map[string]any)
		switch k {
		case "configToml", "appToml", "clientToml":
			if !ok {
				probs = append(probs, fmt.Sprintf("%s: must be an object of TOML keys and tables", k))
				continue
			}
		default:
			probs = append(probs, fmt.Sprintf("%s: unknown file key; use configToml, appToml or clientToml", k))
			continue
		}
		switch k {
		case "configToml":
			ov.ConfigToml = tbl
		case "appToml":
			ov.AppToml = tbl
		case "clientToml":
			ov.ClientToml = tbl
		}
	}
	if len(probs) > 0 {
		sort.Strings(probs)
		return nil, probs
	}
	return ov, nil
}

func (o *Overrides) forKey(k string) map[string]any {
	if o == nil {
		return nil
	}
	switch k {
	case "configToml":
		return o.ConfigToml
	case "appToml":
		return o.AppToml
	default:
		return o.ClientToml
	}
}

type runner struct {
	Options
	configDir, dataDir string
	overrides          *Overrides
	nodeKey            []byte
	nodeID             string // of --node-key; "" without one
	validatorKey       []byte
}

func (r *runner) say(step, format string, args ...any) {
	fmt.Fprintf(r.Out, "prepare: %-15s %s\n", step+":", fmt.Sprintf(format, args...))
}

// Run prepares the home. Errors carry exit codes (package exitcode).
func Run(ctx context.Context, o Options) error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	r := &runner{Options: o, configDir: filepath.Join(o.Home, "config"), dataDir: filepath.Join(o.Home, "data")}

	// Read every input first: a bad input fails before anything in the home changes.
	if err := r.readInputs(); err != nil {
		return err
	}
	if err := r.checkStateSyncOverrides(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Home, 0o755); err != nil {
		return fmt.Errorf("--home %q: cannot create it: %w", o.Home, err)
	}

	// The genesis is fetched and verified before init, so a bad checksum writes nothing.
	fetched, err := r.fetchGenesis(ctx)
	if err != nil {
		return err
	}
	if fetched != nil {
		defer fetched.Cleanup()
		if r.ChainID == "" {
			r.ChainID = fetched.Record.ChainID
		}
	}
	// Like the genesis, the trust root is looked up before init: a server that lies (exit 3)
	// or servers that do not answer (exit 1) leave the home as it was.
	trust, err := r.stateSync(ctx)
	if err != nil {
		return err
	}
	if err := r.init(ctx); err != nil {
		return err
	}
	if err := r.placeGenesis(fetched); err != nil {
		return err
	}
	if err := r.applyOverrides(trust); err != nil {
		return err
	}
	if err := r.homeOwner(); err != nil {
		return err
	}
	if err := r.writeKeys(); err != nil {
		return err
	}
	if err := r.privValidatorState(); err != nil {
		return err
	}
	if err := r.upgradeInfo(); err != nil {
		return err
	}
	if err := r.validate(); err != nil {
		return err
	}
	return r.waitForPeers(ctx)
}

// ownerFile records which pod a home was prepared for (Options.Owner).
const ownerFile = "chainfleet-owner"

// homeOwner gives a copied home its own node key, then records this owner. A home without the
// file (new, or prepared by an agent before 0.5.1, chainfleet/node-agent:0.5.1) is taken as this owner's: init just wrote its
// key, or it has been this node's all along.
func (r *runner) homeOwner() error {
	if r.Owner == "" {
		return nil
	}
	path := filepath.Join(r.configDir, ownerFile)
	prev, err := os.ReadFile(path)
	switch {
	case err == nil && strings.TrimSpace(string(prev)) != r.Owner && r.NodeKeyFile == "":
		key, err := nodekey.Generate(nil)
		if err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(filepath.Join(r.configDir, "node_key.json"), key, 0o600); err != nil {
			return err
		}
		k, _ := nodekey.Parse(key)
		r.say("owner", "the home was prepared for %s (a copied volume): new node key, node ID %s", strings.TrimSpace(string(prev)), nodekey.ID(k))
	case err == nil && strings.TrimSpace(string(prev)) == r.Owner:
		r.say("owner", "the home is %s's", r.Owner)
		return nil
	case err != nil && !os.IsNotExist(err):
		return err
	default:
		r.say("owner", "recorded %s as the home's owner", r.Owner)
	}
	return fsutil.WriteFileAtomic(path, []byte(r.Owner+"\n"), 0o644)
}

func (r *runner) readInputs() error {
	if r.OverridesFile != "" {
		data, err := os.ReadFile(r.OverridesFile)
		if err != nil {
			return exitcode.Invalidf("--overrides %q: %v", r.OverridesFile, err)
		}
		ov, err := ParseOverrides(data)
		if err != nil {
			return exitcode.Invalidf("--overrides %q: %v", r.OverridesFile, err)
		}
		r.overrides = ov
	}
	if r.NodeKeyFile != "" {
		data, err := os.ReadFile(r.NodeKeyFile)
		if err != nil {
			return exitcode.Invalidf("--node-key %q: %v", r.NodeKeyFile, err)
		}
		k, err := nodekey.Parse(data)
		if err != nil {
			return exitcode.Invalidf("--node-key %q: %v", r.NodeKeyFile, err)
		}
		r.nodeKey = data
		r.nodeID = nodekey.ID(k)
	}
	if r.ValidatorKeyFile != "" {
		data, err := os.ReadFile(r.ValidatorKeyFile)
		if err != nil {
			return exitcode.Invalidf("--validator-key %q: %v", r.ValidatorKeyFile, err)
		}
		if err := checkValidatorKey(data); err != nil {
			return exitcode.Invalidf("--validator-key %q: %v", r.ValidatorKeyFile, err)
		}
		r.validatorKey = data
	}
	return nil
}

// checkValidatorKey checks the shape of a priv_validator_key.json (privval/file.go FilePVKey:
// address, pub_key, priv_key) without printing any of it.
func checkValidatorKey(data []byte) error {
	var k struct {
		Address string          `json:"address"`
		PubKey  json.RawMessage `json:"pub_key"`
		PrivKey json.RawMessage `json:"priv_key"`
	}
	if err := json.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("not a priv_validator_key.json: %v", err)
	}
	if k.Address == "" || len(k.PubKey) == 0 || len(k.PrivKey) == 0 {
		return errors.New("not a priv_validator_key.json: it needs address, pub_key and priv_key")
	}
	return nil
}

func (r *runner) fetchGenesis(ctx context.Context) (*genesis.Fetched, error) {
	if r.Genesis == nil {
		return nil, nil
	}
	if ok, rec := genesis.UpToDate(r.configDir, *r.Genesis); ok {
		if r.ChainID != "" && rec.ChainID != r.ChainID {
			return nil, exitcode.Invalidf("config/genesis.json (verified earlier from %s) has chain_id %q but --chain-id is %q", rec.Source, rec.ChainID, r.ChainID)
		}
		if r.ChainID == "" {
			r.ChainID = rec.ChainID
		}
		r.say("genesis", "skipped download: config/genesis.json is the one verified earlier (sha256 %s, chain_id %s)", rec.SourceSHA256, rec.ChainID)
		return nil, nil
	}
	start := time.Now()
	f, err := genesis.Fetch(ctx, r.HTTPClient, *r.Genesis, r.Home, r.ChainID)
	if err != nil {
		return nil, err
	}
	how := "read"
	if r.Genesis.URL != "" {
		how = "downloaded"
	}
	check := "no sha256 given"
	if r.Genesis.SHA256 != "" {
		check = "sha256 verified " + f.Record.SourceSHA256
	}
	gz := ""
	if f.Record.Gzip {
		gz = ", gunzipped"
	}
	r.say("genesis", "%s %s (%d bytes, %s%s, chain_id %s) in %s", how, f.Record.Source, f.Bytes, check, gz, f.Record.ChainID, time.Since(start).Round(time.Millisecond))
	return f, nil
}

// init runs the chain's own init when the home has no config/config.toml, so the config files
// carry the defaults of the very binary that will run.
//
// CometBFT v0.38.19: `cometbft init` (cmd/cometbft/commands/init.go initFilesWithConfig) writes
// config/priv_validator_key.json, data/priv_validator_state.json, config/node_key.json and a
// genesis.json, each only when missing; config/config.toml is written by
// config.EnsureRoot (config/toml.go) from the root command's ParseConfig
// (cmd/cometbft/commands/root.go), whose home is $CMTHOME, else $TMHOME, else --home.
//
// Cosmos SDK: `<daemon> init <moniker> --chain-id <id> --home <dir>` (cosmos-sdk and
// sei-cosmos x/genutil/client/cli/init.go InitCmd: cobra.ExactArgs(1) for the moniker, flags
// --chain-id, --overwrite, --home) writes the keys, a genesis.json (refusing with "genesis.json
// file already exists" unless --overwrite) and config/config.toml; app.toml and client.toml
// come from the server and client config handlers of the daemon's root command.
func (r *runner) init(ctx context.Context) error {
	cfgToml := filepath.Join(r.configDir, "config.toml")
	if fsutil.Exists(cfgToml) {
		r.say("init", "skipped: config/config.toml exists")
		return nil
	}
	bin, err := exec.LookPath(r.Binary)
	if err != nil {
		return fmt.Errorf("--binary %q: %v; give the node daemon's name in the image's PATH or its absolute path", r.Binary, err)
	}
	var args []string
	env := os.Environ()
	switch r.Chain {
	case CometBFT:
		args = []string{"init", "--home", r.Home}
		// CMTHOME (then TMHOME) wins over --home in cometbft's root.go; make them agree.
		env = setEnv(env, "CMTHOME", r.Home)
		env = unsetEnv(env, "TMHOME")
	default:
		if r.ChainID == "" {
			return exitcode.Usagef("--chain-id is required for --chain %s when no genesis is given (the daemon's init needs it)", r.Chain)
		}
		args = []string{"init", r.Moniker, "--chain-id", r.ChainID, "--home", r.Home}
	}

	// A home restored from a snapshot may have a genesis but no config.toml. The SDK's init
	// refuses to run over an existing genesis.json: keep it aside and put it back afterwards.
	gen := filepath.Join(r.configDir, "genesis.json")
	kept := filepath.Join(r.Home, ".chainfleet-genesis.kept")
	restored := false
	if r.Chain != CometBFT && fsutil.Exists(gen) {
		if err := os.Rename(gen, kept); err != nil {
			return err
		}
		restored = true
		defer func() {
			if restored {
				_ = os.Rename(kept, gen)
			}
		}()
	}

	ictx, cancel := context.WithTimeout(ctx, r.InitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ictx, bin, args...)
	cmd.Env = env
	cmd.Dir = r.Home
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		// The SDK's root command writes config.toml before init's own work (its config
		// interceptor), so a failed init can leave one behind. Remove it: config.toml is what
		// says "init has run", and the next start must run init again.
		removed := ""
		if rmErr := os.Remove(cfgToml); rmErr == nil {
			removed = " (removed the config/config.toml it left, so the next run inits again)"
		}
		return fmt.Errorf("init: %s %s failed: %v%s\n%s", bin, strings.Join(args, " "), err, removed, tail(out.String(), 20))
	}
	if restored {
		restored = false
		if err := os.Rename(kept, gen); err != nil {
			return err
		}
	}
	if !fsutil.Exists(cfgToml) {
		return fmt.Errorf("init: %s %s exited 0 but wrote no config/config.toml; is --home right for this binary?\n%s", bin, strings.Join(args, " "), tail(out.String(), 20))
	}
	r.say("init", "ran %s %s (%s)", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return nil
}

func (r *runner) placeGenesis(f *genesis.Fetched) error {
	if f == nil {
		if r.Genesis == nil {
			if fsutil.Exists(filepath.Join(r.configDir, "genesis.json")) {
				r.say("genesis", "no source given: keeping config/genesis.json")
			} else {
				r.say("genesis", "no source given and config/genesis.json is missing (validate will fail)")
			}
		}
		return nil
	}
	if err := os.MkdirAll(r.configDir, 0o700); err != nil {
		return err
	}
	if err := genesis.Place(f, r.configDir); err != nil {
		return err
	}
	r.say("genesis", "placed config/genesis.json (sha256 %s)", f.Record.GenesisSHA256)
	return nil
}

// applyOverrides merges the overrides into config.toml, app.toml and client.toml with the TOML
// library, and for Cosmos/Sei sets client.toml's chain-id: sei-cosmos server/start.go panics
// ("chain-id mismatch") when a --chain-id flag differs from client.toml's chain-id.
//
// With a trust root (--state-sync-rpc on a home without block data), its [statesync] keys are
// merged into config.toml with the overrides, in the same typed merge.
func (r *runner) applyOverrides(trust *trustRoot) error {
	var probs tomlmerge.Problems
	var notes []string
	type pending struct {
		name string
		doc  map[string]any
	}
	var writes []pending
	for _, f := range overrideFiles {
		ov := r.overrides.forKey(f.key)
		if f.key == "configToml" {
			var note string
			if ov, note = r.dropSelf(ov); note != "" {
				r.say("config", "%s", note)
			}
			ov = r.stateSyncOverrides(ov, trust)
		}
		setChainID := f.file == "client.toml" && r.Chain != CometBFT && r.ChainID != ""
		if len(ov) == 0 && !setChainID {
			continue
		}
		path := filepath.Join(r.configDir, f.file)
		var doc map[string]any
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			doc, err = tomlmerge.Decode(data)
			if err != nil {
				return exitcode.Invalidf("config/%s does not parse as TOML: %v", f.file, err)
			}
		case os.IsNotExist(err) && f.file == "client.toml" && setChainID:
			doc = map[string]any{} // older daemons write no client.toml at init
		case os.IsNotExist(err):
			probs = append(probs, fmt.Sprintf("%s: config/%s does not exist (the %s binary did not write it), so none of its keys can be set", f.key, f.file, r.Chain))
			continue
		default:
			return err
		}
		merged := copyTop(doc)
		if len(ov) > 0 {
			m, err := tomlmerge.Merge(doc, ov, f.key)
			if err != nil {
				var p tomlmerge.Problems
				if errors.As(err, &p) {
					probs = append(probs, p...)
					continue
				}
				return err
			}
			merged = m
		}
		if setChainID {
			if v, ok := ov["chain-id"]; ok && v != r.ChainID {
				probs = append(probs, fmt.Sprintf("clientToml.chain-id: %v differs from --chain-id %q; leave it out (prepare sets it)", v, r.ChainID))
				continue
			}
			if old, ok := merged["chain-id"]; ok {
				if _, isStr := old.(string); !isStr {
					probs = append(probs, fmt.Sprintf("clientToml.chain-id: the file has a %T, expected a string", old))
					continue
				}
			}
			merged["chain-id"] = r.ChainID
		}
		if reflect.DeepEqual(merged, doc) && data != nil {
			notes = append(notes, "config/"+f.file+" unchanged (already has these values)")
			continue
		}
		writes = append(writes, pending{f.file, merged})
	}
	if len(probs) > 0 {
		if r.OverridesFile == "" {
			return exitcode.Invalidf("config: %v", probs)
		}
		return exitcode.Invalidf("--overrides %q: %v", r.OverridesFile, probs)
	}
	// Write only when every file merged cleanly, so a mistake changes nothing.
	for _, w := range writes {
		out, err := tomlmerge.Encode(w.doc)
		if err != nil {
			return fmt.Errorf("encode config/%s: %w", w.name, err)
		}
		if _, err := tomlmerge.Decode(out); err != nil {
			return fmt.Errorf("config/%s as encoded does not parse back: %w", w.name, err)
		}
		if err := fsutil.WriteFileAtomic(filepath.Join(r.configDir, w.name), out, 0o644); err != nil {
			return err
		}
		what := "merged overrides into"
		switch {
		case w.name == "client.toml" && len(r.overrides.forKey("clientToml")) == 0:
			what = "set chain-id " + r.ChainID + " in"
		case w.name == "config.toml" && trust != nil && len(r.overrides.forKey("configToml")) == 0:
			what = "wrote the state sync trust root into"
		case w.name == "config.toml" && trust != nil:
			what = "merged overrides and the state sync trust root into"
		}
		notes = append(notes, what+" config/"+w.name)
	}
	switch {
	case len(notes) > 0:
		r.say("config", "%s", strings.Join(notes, "; "))
	case r.overrides == nil:
		r.say("config", "no overrides given")
	default:
		r.say("config", "overrides name no keys")
	}
	return nil
}

func copyTop(m map[string]any) map[string]any {
	c := make(map[string]any, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// writeKeys copies the mounted keys into config/ on every start, so losing the volume (or
// restoring a snapshot taken from another node) cannot change the node's identity.
func (r *runner) writeKeys() error {
	if err := os.MkdirAll(r.configDir, 0o700); err != nil {
		return err
	}
	write := func(step string, data []byte, name, flag, extra string) error {
		dst := filepath.Join(r.configDir, name)
		if data == nil {
			what := "kept"
			if !fsutil.Exists(dst) {
				what = "none present"
			}
			r.say(step, "no %s given: %s config/%s", flag, what, name)
			return nil
		}
		if fsutil.SameContent(dst, data) {
			r.say(step, "config/%s already matches %s%s", name, flag, extra)
			return nil
		}
		if err := fsutil.WriteFileAtomic(dst, data, 0o600); err != nil {
			return err
		}
		r.say(step, "wrote config/%s from %s%s", name, flag, extra)
		return nil
	}
	extra := ""
	if r.nodeKey != nil {
		extra = " (node id " + r.nodeID + ")"
	}
	if err := write("node-key", r.nodeKey, "node_key.json", "--node-key", extra); err != nil {
		return err
	}
	return write("validator-key", r.validatorKey, "priv_validator_key.json", "--validator-key", "")
}

// PrivValidatorState is CometBFT's initial FilePVLastSignState (privval/file.go, written by
// cmtjson, which renders int64 as a string).
const PrivValidatorState = "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}"

// privValidatorState creates data/priv_validator_state.json only when it is missing. It is
// never modified: it is what stops a validator from signing twice at one height.
func (r *runner) privValidatorState() error {
	if err := os.MkdirAll(r.dataDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(r.dataDir, "priv_validator_state.json")
	if fsutil.Exists(path) {
		r.say("signing-state", "data/priv_validator_state.json exists; left untouched")
		return nil
	}
	// O_EXCL: never replace a file that appeared since the check.
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.WriteString(PrivValidatorState); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	r.say("signing-state", "created data/priv_validator_state.json at height 0")
	return nil
}

// upgradeFile is data/upgrade-info.json in the plan-shaped form {"name","time","height"} with
// a zero time and no "info". Readers take what they need: sei-cosmos x/upgrade/keeper/keeper.go
// ReadUpgradeInfoFromDisk decodes it with encoding/json into store.UpgradeInfo{Name, Height}
// (ignoring "time"); its own writer, DumpUpgradeInfoWithInfoToDisk, writes name and height
// (and info when set) to <home>/data/upgrade-info.json. The file is rewritten when absent or
// when its name or height differ, so a stale file from a restored snapshot never wins.
type upgradeFile struct {
	Name   string `json:"name"`
	Time   string `json:"time"`
	Height int64  `json:"height"`
}

func (r *runner) upgradeInfo() error {
	if r.UpgradeInfo == nil {
		r.say("upgrade-info", "none requested")
		return nil
	}
	path := filepath.Join(r.dataDir, "upgrade-info.json")
	want := upgradeFile{Name: r.UpgradeInfo.Name, Time: "0001-01-01T00:00:00Z", Height: r.UpgradeInfo.Height}
	if data, err := os.ReadFile(path); err == nil {
		var have struct {
			Name   string          `json:"name"`
			Height json.RawMessage `json:"height"`
		}
		if json.Unmarshal(data, &have) == nil && have.Name == want.Name && rawHeight(have.Height) == want.Height {
			r.say("upgrade-info", "data/upgrade-info.json already names %s at height %d", want.Name, want.Height)
			return nil
		}
		r.say("upgrade-info", "data/upgrade-info.json is stale (%s); replacing it", strings.TrimSpace(string(data)))
	}
	data, err := json.Marshal(want)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return err
	}
	r.say("upgrade-info", "wrote data/upgrade-info.json: %s", data)
	return nil
}

// rawHeight reads a height written as a number or a string; -1 when neither.
func rawHeight(raw json.RawMessage) int64 {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (r *runner) validate() error {
	gen := filepath.Join(r.configDir, "genesis.json")
	chainID, err := genesis.ScanFile(gen)
	if err != nil {
		return exitcode.Invalidf("validate: config/genesis.json: %v", err)
	}
	if r.ChainID != "" && chainID != r.ChainID {
		return exitcode.Invalidf("validate: config/genesis.json has chain_id %q but --chain-id is %q", chainID, r.ChainID)
	}
	var parsed []string
	for _, f := range overrideFiles {
		data, err := os.ReadFile(filepath.Join(r.configDir, f.file))
		if os.IsNotExist(err) && f.file != "config.toml" {
			continue
		}
		if err != nil {
			return exitcode.Invalidf("validate: config/%s: %v", f.file, err)
		}
		if _, err := tomlmerge.Decode(data); err != nil {
			return exitcode.Invalidf("validate: config/%s does not parse as TOML: %v", f.file, err)
		}
		parsed = append(parsed, f.file)
	}
	r.say("validate", "genesis.json has chain_id %s; TOML parses: %s", chainID, strings.Join(parsed, ", "))
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func setEnv(env []string, k, v string) []string {
	return append(unsetEnv(env, k), k+"="+v)
}

func unsetEnv(env []string, k string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, k+"=") {
			out = append(out, e)
		}
	}
	return out
}
