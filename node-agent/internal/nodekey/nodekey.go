// Package nodekey reads and writes CometBFT's node_key.json and derives the node ID.
//
// The rule, from CometBFT v0.38.19:
//   - p2p/key.go: `func (nodeKey *NodeKey) ID() ID { return PubKeyToID(nodeKey.PubKey()) }` and
//     `PubKeyToID(pubKey) = ID(hex.EncodeToString(pubKey.Address()))`;
//   - crypto/ed25519/ed25519.go: `PrivKey.PubKey()` copies privKey[32:] (the key is the 32-byte
//     seed followed by the 32-byte public key, Go's crypto/ed25519 layout), and
//     `PubKey.Address()` is `tmhash.SumTruncated(pubKey)`;
//   - crypto/tmhash/hash.go: `SumTruncated` is the first TruncatedSize = 20 bytes of SHA-256.
//
// So the node ID is hex(sha256(pubkey)[:20]), 40 lower-case hex characters.
//
// The file is written by cmtjson (libs/json), which wraps registered types as
// {"type": <name>, "value": <base64>}; the name is "tendermint/PrivKeyEd25519"
// (crypto/ed25519/ed25519.go PrivKeyName).
package nodekey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// PrivKeyType is the amino/cmtjson type name of an ed25519 private key.
const PrivKeyType = "tendermint/PrivKeyEd25519"

type typedKey struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type nodeKeyFile struct {
	PrivKey typedKey `json:"priv_key"`
}

// Parse reads a node_key.json and returns its ed25519 private key (64 bytes). It checks that
// the public half stored in the key matches the seed, so a corrupted file is refused rather
// than yielding an ID that the node would not have.
func Parse(data []byte) (ed25519.PrivateKey, error) {
	var f nodeKeyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a node_key.json: %w", err)
	}
	if f.PrivKey.Type != PrivKeyType {
		return nil, fmt.Errorf("priv_key.type is %q; only %q is supported", f.PrivKey.Type, PrivKeyType)
	}
	raw, err := base64.StdEncoding.DecodeString(f.PrivKey.Value)
	if err != nil {
		return nil, fmt.Errorf("priv_key.value is not base64: %w", err)
	}
	if len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("priv_key.value has %d bytes; an ed25519 key has %d", len(raw), ed25519.PrivateKeySize)
	}
	key := ed25519.PrivateKey(raw)
	derived := ed25519.NewKeyFromSeed(key.Seed())
	if !derived.Equal(key) {
		return nil, fmt.Errorf("priv_key.value is inconsistent: its public half does not belong to its seed")
	}
	return key, nil
}

// ID is the CometBFT node ID of the key's public key.
func ID(key ed25519.PrivateKey) string {
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:20])
}

// Generate returns a fresh node_key.json, as CometBFT's p2p.LoadOrGenNodeKey writes it.
func Generate(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, err
	}
	return Marshal(priv)
}

// Marshal renders a node_key.json for key.
func Marshal(key ed25519.PrivateKey) ([]byte, error) {
	return json.Marshal(nodeKeyFile{PrivKey: typedKey{Type: PrivKeyType, Value: base64.StdEncoding.EncodeToString(key)}})
}
