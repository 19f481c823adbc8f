/**
 * CometBFT node and validator keys derived from the stack's secret `nodeKeySeed`, and the files
 * the node reads them from. Derived, not random: the same seed, network, set and ordinal give the
 * same key on every run, so node IDs (and so in-fleet peers and a generated genesis) are known to
 * the pure planner at preview, before any key exists in the cluster, and a lost volume gets its
 * node's identity back from the Secret (node-agent `prepare --node-key`).
 *
 * The formats, from CometBFT v0.38.19 (checked against `cometbft init` / `show-node-id` output,
 * test/unit/nodeKeys.test.ts):
 *   - the private key is Go's crypto/ed25519 layout, the 32-byte seed followed by the 32-byte
 *     public key (crypto/ed25519/ed25519.go), written by cmtjson as
 *     `{"type":"tendermint/PrivKeyEd25519","value":<base64>}`;
 *   - an address is the first 20 bytes of SHA-256 of the public key (crypto/tmhash SumTruncated);
 *     the node ID is it in lower-case hex (p2p/key.go PubKeyToID), a validator's address in
 *     upper-case hex (libs/bytes HexBytes, privval/file.go FilePVKey).
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync } from "node:crypto";

/** 32 random bytes as 64 hex characters: `openssl rand -hex 32`. */
export const NODE_KEY_SEED = /^[0-9a-f]{64}$/;

/** Versioned, so a new derivation never silently changes the IDs of running nodes. */
const DERIVATION_SALT = "chainfleet/node-keys/v1";

/** DER of a PKCS#8 ed25519 private key before its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface Ed25519Key {
    seed: Buffer;
    publicKey: Buffer;
}

/** The key for `purpose` (e.g. `node/<network>/<set>/<ordinal>`): HKDF-SHA256 of the seed. */
export function deriveKey(seedHex: string, purpose: string): Ed25519Key {
    if (!NODE_KEY_SEED.test(seedHex)) {
        throw new Error("nodeKeySeed must be 64 lower-case hex characters (openssl rand -hex 32)");
    }
    const seed = Buffer.from(
        hkdfSync("sha256", Buffer.from(seedHex, "hex"), DERIVATION_SALT, purpose, 32),
    );
    return keyFromSeed(seed);
}

export function keyFromSeed(seed: Buffer): Ed25519Key {
    const privateKey = createPrivateKey({
        key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
        format: "der",
        type: "pkcs8",
    });
    // The SPKI DER of an ed25519 key ends with the 32 raw public key bytes.
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    return { seed, publicKey: Buffer.from(spki.subarray(spki.length - 32)) };
}

function address(key: Ed25519Key): Buffer {
    return createHash("sha256").update(key.publicKey).digest().subarray(0, 20);
}

/** The CometBFT node ID: 40 lower-case hex characters. */
export function nodeId(key: Ed25519Key): string {
    return address(key).toString("hex");
}

/** A validator's address as genesis.json and priv_validator_key.json write it. */
export function validatorAddress(key: Ed25519Key): string {
    return address(key).toString("hex").toUpperCase();
}

const typed = (type: string, bytes: Buffer) => ({ type, value: bytes.toString("base64") });
const privKey = (key: Ed25519Key) =>
    typed("tendermint/PrivKeyEd25519", Buffer.concat([key.seed, key.publicKey]));
export const pubKey = (key: Ed25519Key) => typed("tendermint/PubKeyEd25519", key.publicKey);

/** config/node_key.json. */
export function nodeKeyJson(key: Ed25519Key): string {
    return JSON.stringify({ priv_key: privKey(key) });
}

/** config/priv_validator_key.json. */
export function validatorKeyJson(key: Ed25519Key): string {
    return JSON.stringify(
        { address: validatorAddress(key), pub_key: pubKey(key), priv_key: privKey(key) },
        null,
        2,
    );
}

/** The node key of pod `<set>-<ordinal>`: its own per set, so entrant and incumbent differ. */
export function podNodeKey(seedHex: string, network: string, set: string, ordinal: number) {
    return deriveKey(seedHex, `node/${network}/${set}/${ordinal}`);
}

/** The validator key of a signing group whose key chainfleet derives (generated genesis only). */
export function groupValidatorKey(seedHex: string, network: string, group: string) {
    return deriveKey(seedHex, `validator/${network}/${group}`);
}
