package nodekey

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

// The vector: the secret key of RFC 8032 section 7.1 TEST 1 (seed 9d61b1…7f60, public key
// d75a98…511a), written as node_key.json (value = base64(seed || public key)). Its ID was
// derived by CometBFT v0.38.19 itself: `cometbft show-node-id --home H` with this file as
// H/config/node_key.json printed 21fe31dfa154a261626bf854046fd2271b7bed4b. (It equals
// hex(sha256(d75a98…511a)[:20]), the rule in p2p/key.go and crypto/ed25519/ed25519.go.)
const rfc8032NodeKey = `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg=="}}`

const rfc8032ID = "21fe31dfa154a261626bf854046fd2271b7bed4b"

func TestIDKnownVector(t *testing.T) {
	k, err := Parse([]byte(rfc8032NodeKey))
	if err != nil {
		t.Fatal(err)
	}
	if got := ID(k); got != rfc8032ID {
		t.Fatalf("ID = %s, want %s", got, rfc8032ID)
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	data, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"`) {
		t.Fatalf("not CometBFT's layout: %s", data)
	}
	k, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if id := ID(k); len(id) != 40 || strings.ToLower(id) != id {
		t.Fatalf("bad id %q", id)
	}
	other, _ := Generate(nil)
	k2, _ := Parse(other)
	if ID(k) == ID(k2) {
		t.Fatal("two generated keys have one ID")
	}
}

func TestParseRejects(t *testing.T) {
	seed := make([]byte, 32)
	bad := ed25519.NewKeyFromSeed(seed)
	bad[40] ^= 1 // public half no longer matches the seed
	corrupt, _ := Marshal(bad)
	cases := map[string]string{
		"not json":       `nope`,
		"wrong type":     `{"priv_key":{"type":"tendermint/PrivKeySecp256k1","value":"AAAA"}}`,
		"not base64":     `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"!!"}}`,
		"short":          `{"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"AAAA"}}`,
		"inconsistent":   string(corrupt),
		"missing fields": `{}`,
	}
	for name, in := range cases {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
