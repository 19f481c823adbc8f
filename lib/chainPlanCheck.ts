/**
 * A HardFork group's `update.haltHeight` and `upgradeName` checked against the chain before any
 * resource is registered (issue 13): which groups are checked (chainPlanTargets), and each one's
 * verdict from what kube/chainPlan.ts read (checkChainPlans, the rules in chains/upgradePlan.ts
 * compareWithPlan). index.ts stops on a problem, as on a config error (ChainPlanError), and logs
 * the rest on the group; `npm run plan` shows the same (lib/readablePlan.ts).
 */
import type { ChainKind } from "../chains/kinds";
import {
    compareWithPlan,
    isCosmosSdkChain,
    type ChainUpgradeState,
    type PlanVerdict,
} from "../chains/upgradePlan";
import { setSelector } from "./labels";
import { groupUpgrade, type GroupPlanArgs } from "./planGroup";

/** A group whose chain is asked, and what it is asked about. */
export interface ChainPlanTarget {
    group: string;
    namespace: string;
    chain: ChainKind;
    /** The active set, whose Ready pods are asked (the stable Service's selector names it). */
    set: string;
    selector: Record<string, string>;
    haltHeight: number;
    upgradeName?: string;
    /** This run makes the fork (lib/plan.ts kind `hardFork`). */
    upgrading: boolean;
}

/** What kube/chainPlan.ts read of a target's chain, or why it could not. */
export type ChainRead = { state: ChainUpgradeState } | { unreadable: string };

/** A group's verdict, with what the chain said when it could be read. */
export interface ChainPlanCheck extends PlanVerdict {
    group: string;
    chain?: ChainUpgradeState;
    /**
     * Nothing a person running `pulumi up` needs to see: a steady group whose chain agrees and
     * schedules nothing (logged at debug, as steady groups' plans are).
     */
    quiet?: boolean;
}

/**
 * The groups checked: HardFork on a Cosmos SDK chain (the others have no x/upgrade to ask), with
 * an incumbent whose nodes can answer (a first deployment has none, and makes no fork).
 */
export function chainPlanTargets(groups: readonly GroupPlanArgs[]): ChainPlanTarget[] {
    return groups.flatMap((args): ChainPlanTarget[] => {
        const { update } = args.config;
        const incumbent = args.incumbent;
        if (
            update.strategy !== "HardFork" ||
            update.haltHeight === undefined ||
            !isCosmosSdkChain(args.chain) ||
            !incumbent
        ) {
            return [];
        }
        const identity = { network: args.network, chain: args.chain, group: args.group };
        return [
            {
                group: args.group,
                namespace: args.namespace,
                chain: args.chain,
                set: incumbent.set,
                selector: setSelector(identity, incumbent.set),
                haltHeight: update.haltHeight,
                ...(update.upgradeName !== undefined && { upgradeName: update.upgradeName }),
                upgrading: groupUpgrade(args).upgrade.kind === "hardFork",
            },
        ];
    });
}

/** Each target's verdict. A chain that could not be read is a warning that says why. */
export function checkChainPlans(
    targets: readonly ChainPlanTarget[],
    reads: Record<string, ChainRead | undefined>,
): Record<string, ChainPlanCheck> {
    return Object.fromEntries(
        targets.map((t): [string, ChainPlanCheck] => {
            const read = reads[t.group];
            if (read === undefined || "unreadable" in read) {
                const why = read?.unreadable ?? "it was not read";
                const declared =
                    `groups.${t.group}.update.haltHeight ${t.haltHeight}` +
                    (t.upgradeName === undefined ? "" : ` and upgradeName ${t.upgradeName}`);
                return [
                    t.group,
                    {
                        group: t.group,
                        level: "warn",
                        message: `cannot read the chain's upgrade plan (${why}), so ${declared} are not checked against the chain`,
                    },
                ];
            }
            const verdict = compareWithPlan(t, read.state);
            const quiet = !t.upgrading && verdict.level === "info" && !read.state.plan;
            return [
                t.group,
                { group: t.group, ...verdict, chain: read.state, ...(quiet && { quiet }) },
            ];
        }),
    );
}

/**
 * The chain refused a group's upgrade config. Its message is whole (each group's key path, the
 * chain's value and the fix), so the program prints it without a stack
 * (components/programError.ts), before any resource is registered.
 */
export class ChainPlanError extends Error {
    constructor(readonly problems: ChainPlanCheck[]) {
        super(
            `The chain disagrees with the stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n` +
                problems.map((p) => `  - group ${p.group}: ${p.message}`).join("\n"),
        );
        this.name = "ChainPlanError";
    }
}

/** The checks' problems as one error, or undefined when none blocks. */
export function chainPlanError(checks: Record<string, ChainPlanCheck>): ChainPlanError | undefined {
    const problems = Object.values(checks).filter((c) => c.level === "problem");
    return problems.length > 0 ? new ChainPlanError(problems) : undefined;
}
