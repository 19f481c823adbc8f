// Package genesis fetches a genesis file, verifies it before anything uses it, and places it
// into a node home atomically.
//
// The order is the safety argument: the bytes are downloaded to a temporary file in the home
// (same file system as config/, so the final rename is atomic), their SHA-256 is compared with
// the expected one *as served* (before any decompression), a gzip stream (detected by its
// magic bytes 1f 8b, not by the URL) is decompressed to a second temporary file, the result must
// be one JSON object with a string chain_id (equal to the expected chain-id when one is given),
// and only then is it renamed to config/genesis.json. A failed check removes the temporary
// files, so config/ is never touched. A record beside the genesis
// (config/genesis.json.verified) keeps the verified source hash and the hash of the placed
// file, so the next start (or a restart after a crash) does not download again while
// config/genesis.json is still the file that was verified.
package genesis

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"chainfleet/node-agent/internal/exitcode"
	"chainfleet/node-agent/internal/fsutil"
)

// RecordName is the file beside config/genesis.json that records what was verified.
const RecordName = "genesis.json.verified"

// Source is where the genesis comes from: a URL with its SHA-256, or a local file (e.g. a
// mounted ConfigMap) with an optional SHA-256.
type Source struct {
	URL    string
	SHA256 string // lower-case hex of the bytes as served / as in the file; required with URL
	File   string
}

// Record is the content of config/genesis.json.verified.
type Record struct {
	Source        string `json:"source"`
	SourceSHA256  string `json:"sourceSha256"`
	GenesisSHA256 string `json:"genesisSha256"`
	ChainID       string `json:"chainId"`
	Gzip          bool   `json:"gzip"`
}

// Fetched is a verified genesis waiting in a temporary file to be placed.
type Fetched struct {
	Path   string // temporary file holding the (decompressed) genesis JSON
	Record Record
	Bytes  int64 // size of the source as served
	temps  []string
}

// Cleanup removes the temporary files (safe after Place, which moved the genesis away).
func (f *Fetched) Cleanup() {
	for _, t := range f.temps {
		_ = os.Remove(t)
	}
}

// UpToDate reports whether configDir holds a genesis verified from src: the record names the
// same source hash and genesis.json still has the hash recorded. It returns the record either way.
func UpToDate(configDir string, src Source) (bool, *Record) {
	data, err := os.ReadFile(filepath.Join(configDir, RecordName))
	if err != nil {
		return false, nil
	}
	var rec Record
	if json.Unmarshal(data, &rec) != nil {
		return false, nil
	}
	want := src.SHA256
	if want == "" && src.File != "" {
		// A local file without a checksum: up to date while the file is what was placed.
		if want, err = fileSHA256(src.File); err != nil {
			return false, &rec
		}
	}
	if want == "" || rec.SourceSHA256 != want {
		return false, &rec
	}
	sum, err := fileSHA256(filepath.Join(configDir, "genesis.json"))
	if err != nil || sum != rec.GenesisSHA256 {
		return false, &rec
	}
	return true, &rec
}

// Fetch downloads (or reads) src into tmpDir, verifies it and returns it ready to Place.
// wantChainID, when not empty, must equal the genesis chain_id. Verification failures are
// exitcode.Invalid errors; nothing but the temporary files is written, and they are removed.
func Fetch(ctx context.Context, client *http.Client, src Source, tmpDir, wantChainID string) (f *Fetched, err error) {
	f = &Fetched{}
	defer func() {
		if err != nil {
			f.Cleanup()
			f = nil
		}
	}()
	raw := filepath.Join(tmpDir, ".chainfleet-genesis.download")
	dec := filepath.Join(tmpDir, ".chainfleet-genesis.json.tmp")
	f.temps = []string{raw, dec}
	f.Cleanup() // leftovers of a run that crashed

	var from string
	var n int64
	var sum string
	if src.URL != "" {
		from = src.URL
		n, sum, err = download(ctx, client, src.URL, raw)
	} else {
		from = src.File
		n, sum, err = copyHashed(src.File, raw)
	}
	if err != nil {
		return f, err
	}
	f.Bytes = n
	if src.SHA256 != "" && sum != src.SHA256 {
		return f, exitcode.Invalidf("genesis checksum mismatch for %s: expected sha256 %s, got %s (%d bytes as served); nothing was written. Fix the genesis sha256 in the stack config, or the URL if it serves the wrong file", from, src.SHA256, sum, n)
	}
	gz, err := isGzip(raw)
	if err != nil {
		return f, err
	}
	path := raw
	if gz {
		if err := gunzip(raw, dec); err != nil {
			return f, exitcode.Invalidf("genesis from %s starts like gzip but does not decompress: %v", from, err)
		}
		path = dec
	}
	chainID, err := ScanFile(path)
	if err != nil {
		return f, exitcode.Invalidf("genesis from %s: %v", from, err)
	}
	if wantChainID != "" && chainID != wantChainID {
		return f, exitcode.Invalidf("genesis from %s has chain_id %q but --chain-id is %q; nothing was written. Fix the chain id or the genesis source", from, chainID, wantChainID)
	}
	gsum, err := fileSHA256(path)
	if err != nil {
		return f, err
	}
	f.Path = path
	f.Record = Record{Source: from, SourceSHA256: sum, GenesisSHA256: gsum, ChainID: chainID, Gzip: gz}
	return f, nil
}

// Place renames the fetched genesis to configDir/genesis.json and writes the record.
func Place(f *Fetched, configDir string) error {
	dst := filepath.Join(configDir, "genesis.json")
	if err := os.Chmod(f.Path, 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Path, dst); err != nil {
		return fmt.Errorf("place genesis: %w", err)
	}
	rec, err := json.MarshalIndent(f.Record, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(configDir, RecordName), append(rec, '\n'), 0o644)
}

func download(ctx context.Context, client *http.Client, url, dst string) (int64, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", exitcode.Usagef("--genesis-url %q: %v", url, err)
	}
	// Ask for the bytes exactly as stored: a transparently decompressed body would not match
	// the published checksum.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("download genesis from %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("download genesis from %s: HTTP %s", url, resp.Status)
	}
	return writeHashed(resp.Body, dst)
}

func copyHashed(src, dst string) (int64, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, "", exitcode.Invalidf("--genesis-file %q: %v", src, err)
	}
	defer in.Close()
	return writeHashed(in, dst)
}

func writeHashed(r io.Reader, dst string) (int64, string, error) {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if err != nil {
		out.Close()
		return n, "", fmt.Errorf("write %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func isGzip(path string) (bool, error) {
	fh, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	var magic [2]byte
	n, _ := io.ReadFull(fh, magic[:])
	return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b, nil
}

func gunzip(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(bufio.NewReader(in))
	if err != nil {
		return err
	}
	defer zr.Close()
	_, _, err = writeHashed(zr, dst)
	return err
}

func fileSHA256(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(fh, 1<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ScanFile checks that path holds exactly one JSON object with a non-empty string chain_id at
// its top level and returns it.
func ScanFile(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	return Scan(bufio.NewReaderSize(fh, 1<<20))
}

// Scan reads a whole JSON document token by token (a multi-GB app_state is never held in
// memory), checks it is one object and returns its top-level chain_id.
func Scan(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", errors.New("not a JSON object")
	}
	chainID, found := "", false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("not valid JSON: %w", err)
		}
		key, _ := tok.(string)
		if key == "chain_id" {
			var v any
			if err := dec.Decode(&v); err != nil {
				return "", fmt.Errorf("not valid JSON: %w", err)
			}
			s, ok := v.(string)
			if !ok {
				return "", fmt.Errorf("chain_id is not a string (%v)", v)
			}
			chainID, found = s, true
			continue
		}
		if err := skip(dec); err != nil {
			return "", fmt.Errorf("not valid JSON: %w", err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("not valid JSON: data after the top-level object")
	}
	if !found || strings.TrimSpace(chainID) == "" {
		return "", errors.New("no chain_id at the top level")
	}
	return chainID, nil
}

// skip consumes one JSON value.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
