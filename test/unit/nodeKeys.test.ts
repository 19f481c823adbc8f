/**
 * Keys derived from the stack's nodeKeySeed (lib/nodeKeys.ts): the node ID and validator address
 * against what the real CometBFT v0.38.19 wrote and printed for the same keys (`cometbft init`,
 * `cometbft show-node-id`), the files' layout, and the derivation's properties.
 */
import * as assert from "node:assert/strict";
import {
    deriveKey,
    keyFromSeed,
    nodeId,
    nodeKeyJson,
    podNodeKey,
    validatorAddress,
    validatorKeyJson,
} from "../../lib/nodeKeys";

/** From `cometbft init` (v0.38.19) on this machine: config/node_key.json and its show-node-id. */
const NODE_KEY_VALUE =
    "U0zAMVu0VN771Zjb56Op/zItGrTtYFmTINjHwAA8Y+H7epbg+MWa6A+rErb25qjQTcpE+PrgDF8KzSwvsJOZfw==";
const NODE_ID = "525b00b066f7143565a5403d337b0e545a9e5a67";
/** The same init's config/priv_validator_key.json. */
const VALIDATOR_PRIV =
    "vOJg2LkNNFI84dZ5PIDfRh00WFW7DhbLEpJ4uZRgXiMziBPSTwksNhXIkN+cn1hj+b50S03iWfb+EkMETRcUYw==";
const VALIDATOR_PUB = "M4gT0k8JLDYVyJDfnJ9YY/m+dEtN4ln2/hJDBE0XFGM=";
const VALIDATOR_ADDRESS = "8B339F1F5109CE0E055D8D0D3B04AD8BE87370BE";

const SEED = "0123456789abcdef".repeat(4);

describe("node keys: CometBFT's own rules", () => {
    it("derives the node ID cometbft show-node-id printed for the same key", () => {
        const raw = Buffer.from(NODE_KEY_VALUE, "base64");
        const key = keyFromSeed(raw.subarray(0, 32));
        assert.deepEqual(key.publicKey, raw.subarray(32), "public half from the seed");
        assert.equal(nodeId(key), NODE_ID);
        assert.equal(
            nodeKeyJson(key),
            JSON.stringify({
                priv_key: { type: "tendermint/PrivKeyEd25519", value: NODE_KEY_VALUE },
            }),
        );
    });

    it("writes priv_validator_key.json as cometbft init did", () => {
        const key = keyFromSeed(Buffer.from(VALIDATOR_PRIV, "base64").subarray(0, 32));
        assert.equal(validatorAddress(key), VALIDATOR_ADDRESS);
        assert.deepEqual(JSON.parse(validatorKeyJson(key)), {
            address: VALIDATOR_ADDRESS,
            pub_key: { type: "tendermint/PubKeyEd25519", value: VALIDATOR_PUB },
            priv_key: { type: "tendermint/PrivKeyEd25519", value: VALIDATOR_PRIV },
        });
    });
});

describe("node keys: derivation from the seed", () => {
    it("is stable: the same seed and pod give the same node ID on every run", () => {
        const a = nodeId(podNodeKey(SEED, "dev", "rpc", 0));
        assert.equal(nodeId(podNodeKey(SEED, "dev", "rpc", 0)), a);
        assert.match(a, /^[0-9a-f]{40}$/);
    });

    it("differs for every input that names another node", () => {
        const ids = [
            podNodeKey(SEED, "dev", "rpc", 0),
            podNodeKey(SEED, "dev", "rpc", 1),
            podNodeKey(SEED, "dev", "rpc-1a2b3c4d", 0),
            podNodeKey(SEED, "prod", "rpc", 0),
            podNodeKey("f".repeat(64), "dev", "rpc", 0),
            deriveKey(SEED, "validator/dev/rpc"),
        ].map(nodeId);
        assert.equal(new Set(ids).size, ids.length, ids.join(" "));
    });

    for (const bad of ["", "abc", "A".repeat(64), "0".repeat(63), "0".repeat(65)]) {
        it(`refuses the seed ${JSON.stringify(bad)}, naming the key and the fix`, () => {
            assert.throws(
                () => deriveKey(bad, "node/x"),
                /nodeKeySeed must be 64 lower-case hex.*openssl rand -hex 32/,
            );
        });
    }
});
