import * as assert from "node:assert/strict";
import type { ChainKind, NodeStatus } from "../../chains/types";
import { Observation, assessCompletion } from "../../monitor/completion";

const st = (height: number, catchingUp: boolean): NodeStatus => ({ height, catchingUp });

describe("monitor completion detection", () => {
    const table: [string, ChainKind, NodeStatus | undefined, Observation, boolean, RegExp][] = [
        // CometBFT and Sei: not catching up and advancing.
        [
            "node down",
            "cometbft",
            undefined,
            { error: "ECONNREFUSED" },
            false,
            /not answering: ECONNREFUSED/,
        ],
        [
            "catching up",
            "cometbft",
            st(10, true),
            { status: st(50, true) },
            false,
            /still catching up \(height 50\)/,
        ],
        [
            "first caught-up sample",
            "cometbft",
            undefined,
            { status: st(50, false) },
            false,
            /waiting for the height to advance/,
        ],
        [
            "caught up, frozen",
            "sei",
            st(50, false),
            { status: st(50, false) },
            false,
            /not advancing \(50 → 50\)/,
        ],
        [
            "caught up, went back",
            "sei",
            st(51, false),
            { status: st(50, false) },
            false,
            /not advancing/,
        ],
        [
            "caught up and advancing",
            "cometbft",
            st(50, false),
            { status: st(52, false) },
            true,
            /advancing \(50 → 52\)/,
        ],
        [
            "just finished catching up",
            "sei",
            st(40, true),
            { status: st(41, false) },
            true,
            /40 → 41/,
        ],
        // Avalanche: health 200 and bootstrapped, no height needed.
        [
            "avalanche bootstrapping",
            "avalanche",
            undefined,
            { status: st(0, true), healthy: false },
            false,
            /still bootstrapping/,
        ],
        [
            "avalanche bootstrapped, unhealthy",
            "avalanche",
            undefined,
            { status: st(0, false), healthy: false },
            false,
            /not yet healthy/,
        ],
        [
            "avalanche done",
            "avalanche",
            undefined,
            { status: st(0, false), healthy: true },
            true,
            /bootstrapped and healthy/,
        ],
        [
            "avalanche healthy but bootstrapping",
            "avalanche",
            undefined,
            { status: st(0, true), healthy: true },
            false,
            /still bootstrapping/,
        ],
    ];
    for (const [what, chain, previous, current, complete, reason] of table) {
        it(`${chain}: ${what} → ${complete ? "complete" : "waiting"}`, () => {
            const verdict = assessCompletion(chain, previous, current);
            assert.equal(verdict.complete, complete);
            assert.match(verdict.reason, reason);
        });
    }

    // The live tip: a halted network's last block moves the height once, and is old.
    const NOW = new Date("2026-03-01T12:00:00Z");
    const at = (height: number, latestBlockTime: string): NodeStatus => ({
        height,
        catchingUp: false,
        latestBlockTime,
    });
    const tipRows: [string, string, number, boolean, RegExp][] = [
        ["newest block 5 s old", "2026-03-01T11:59:55Z", 120, true, /advancing \(50 → 51\)/],
        ["newest block exactly at the limit", "2026-03-01T11:58:00Z", 120, true, /advancing/],
        [
            "a halted network's last block",
            "2026-03-01T11:40:00Z",
            120,
            false,
            /newest block is from 2026-03-01T11:40:00Z \(1200s ago, more than 120s\)/,
        ],
        ["a slow chain with a raised limit", "2026-03-01T11:40:00Z", 1800, true, /advancing/],
        ["an unreadable block time", "yesterday", 120, false, /NaNs ago/],
    ];
    for (const [what, blockTime, maxBlockAgeSeconds, complete, reason] of tipRows) {
        it(`cometbft: ${what} → ${complete ? "complete" : "waiting"}`, () => {
            const verdict = assessCompletion(
                "cometbft",
                at(50, blockTime),
                { status: at(51, blockTime) },
                { now: NOW, maxBlockAgeSeconds },
            );
            assert.equal(verdict.complete, complete);
            assert.match(verdict.reason, reason);
        });
    }
});
