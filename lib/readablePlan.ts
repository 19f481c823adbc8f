/**
 * The plan a reviewer reads (`npm run plan`, scripts/plan.ts): per group, the upgrade kind, the
 * incumbent and the entrant, the HardFork heights, the gates with their deadlines and what the
 * update deletes. It describes planGroup's result (lib/planGroup.ts) for the same arguments as
 * `pulumi up` declares (fleetGroupArgs), and recomputes nothing: a number shown here is the
 * number the program declares. Plain JSON-able objects, for the pipeline's comment, and a text
 * rendering of them.
 */
import type { ChainKind } from "../chains/kinds";
import type { ChainPlanCheck } from "./chainPlanCheck";
import type { UpdateStrategy } from "./groupSpec";
import { ANNOTATION, LABEL } from "./labels";
import { setObjectNames } from "./names";
import type { Incumbent, PlanKind, RecordsMode } from "./plan";
import { FleetSpec, GroupPlan, GroupPlanArgs, fleetGroupArgs, planGroup } from "./planGroup";
import type { PreprodPlan } from "./preprod";

/** What the update does to a group: "none" when nothing changes. */
export type UpgradeKind = "create" | "none" | "Rolling" | "BlueGreen" | "HardFork";

const UPGRADE_KIND: Record<PlanKind, UpgradeKind> = {
    create: "create",
    steady: "none",
    inPlace: "Rolling",
    blueGreen: "BlueGreen",
    hardFork: "HardFork",
};

export interface SetState {
    statefulSet: string;
    revision: string;
    /** null when the cluster did not say (the incumbent's StatefulSet could not be read). */
    image: string | null;
    replicas: number | null;
}

export interface Deletion {
    kind:
        | "StatefulSet"
        | "Pod"
        | "PersistentVolumeClaim"
        | "Service"
        | "ConfigMap"
        | "PodDisruptionBudget";
    name: string;
    /** Why it goes, and when. */
    why: string;
}

export interface ReadableGroupPlan {
    group: string;
    chain: ChainKind;
    strategy: UpdateStrategy;
    upgrade: UpgradeKind;
    /** lib/plan.ts's kind and its reason, as `pulumi up` logs them. */
    planKind: PlanKind;
    reason: string;
    /** The upgrade records (gate, switch, bootstraps): waiting, kept as they are, or none. */
    records: RecordsMode;
    /** The set serving now; null on a first deployment (or offline). */
    incumbent: SetState | null;
    /** The set the update declares. */
    entrant: SetState & { image: string; replicas: number };
    /** null when there is nothing to compare with (no incumbent, or its image unknown). */
    imageChanged: boolean | null;
    hardFork: {
        /** H: the first height the new binary executes (`update.haltHeight`). */
        haltHeight: number;
        /** H-1: the last height the incumbent commits; the bootstraps halt after it. */
        haltAfterHeight: number;
        upgradeName: string | null;
        bootstraps: {
            job: string | null;
            pvc: string;
            image: string | null;
            deadlineSeconds: number;
        }[];
    } | null;
    /**
     * A HardFork group's upgrade checked against the upgrade its chain has scheduled
     * (lib/chainPlanCheck.ts); null when not checked: another strategy, a chain without
     * x/upgrade, a first deployment, or offline. `problem` is among `problems` too.
     */
    chainPlan: {
        level: "info" | "warn" | "problem";
        message: string;
        /** The node asked; null when none could be. */
        node: string | null;
        /** The plan x/upgrade has scheduled; null when none is (or the chain was not read). */
        scheduled: { name: string; height: number; info: string } | null;
        latestHeight: number | null;
        secondsPerBlock: number | null;
        /** Estimated seconds until the scheduled plan's height (or haltHeight, without a plan). */
        etaSeconds: number | null;
        /** Where the chain applied `upgradeName`: 0 never; null when not asked. */
        appliedHeight: number | null;
    } | null;
    /** A Rolling set's pod replacement, when the update moves pods (kind Rolling). */
    rollout: { statefulSet: string; maxUnavailable: number; deadlineSeconds: number } | null;
    /** The gate the switch waits for; null when none waits (settled records, or none). */
    gate: {
        mode: "running" | "caughtUp";
        replicas: number;
        tolerance: number;
        minPeers: number;
        rpcMode: "podProxy" | "direct";
        referenceRpcs: string[];
        deadlineSeconds: number;
    } | null;
    trafficSwitch: {
        service: string;
        to: string;
        deadlineSeconds: number;
        rollbackOnFailure: boolean;
    } | null;
    preprod: {
        statefulSet: string;
        image: string;
        revision: string;
        replicas: number;
        /** The group's pods whose place the cohort takes (its top ordinals). */
        displaces: string[];
    } | null;
    /** What the update deletes, once every other step succeeded. */
    deletes: Deletion[];
    /** Things the reviewer should know that the fields above do not say. */
    notes: string[];
    /** What keeps `pulumi up` from declaring the group (planGroup's problems). */
    problems: string[];
}

export interface ReadableStackPlan {
    stack: string | null;
    network: string;
    chain: ChainKind;
    namespace: string;
    /** True when the cluster was not read: every group is planned as a first deployment. */
    offline: boolean;
    preprod: { epoch: string; percent: number; warnings: string[] } | null;
    groups: ReadableGroupPlan[];
    notes: string[];
    /** Every group's problems (each names its group): what `pulumi up` would fail on. */
    problems: string[];
}

/** One group's plan, as planGroup plans it for `args`, and what its chain said of it. */
export function describeGroupPlan(
    args: GroupPlanArgs,
    plan: GroupPlan = planGroup(args),
    chainPlan?: ChainPlanCheck,
): ReadableGroupPlan {
    const { upgrade, nodeSet } = plan;
    const declared = nodeSet.input.config;
    const incumbent = upgrade.incumbent ?? args.incumbent;
    const entrant = {
        statefulSet: nodeSet.statefulSetName,
        revision: plan.revision,
        image: declared.image,
        replicas: declared.replicas,
    };
    const firstBootstrap = plan.bootstraps[0];
    const waiting = upgrade.records === "active";
    const notes: string[] = [];
    if (incumbent && incumbent.replicas === undefined) {
        notes.push(
            `the replica count of ${incumbent.set} could not be read: its pods and volumes are not listed`,
        );
    }
    return {
        group: args.group,
        chain: args.chain,
        strategy: declared.update.strategy,
        upgrade: UPGRADE_KIND[upgrade.kind],
        planKind: upgrade.kind,
        reason: upgrade.reason,
        records: upgrade.records,
        incumbent: incumbent ? setState(incumbent) : null,
        entrant,
        imageChanged: incumbent?.image === undefined ? null : incumbent.image !== entrant.image,
        hardFork:
            firstBootstrap && !firstBootstrap.settled
                ? {
                      haltHeight: firstBootstrap.upgradeHeight,
                      haltAfterHeight: firstBootstrap.haltAfterHeight,
                      upgradeName:
                          nodeSet.input.upgradeInfo?.name ?? declared.update.upgradeName ?? null,
                      bootstraps: plan.bootstraps.map((b) => {
                          const job = b.job?.metadata as
                              { name?: string; annotations?: Record<string, string> } | undefined;
                          return {
                              job: job?.name ?? null,
                              pvc: b.pvcName,
                              image: job?.annotations?.[ANNOTATION.image] ?? null,
                              deadlineSeconds: b.deadlineSeconds,
                          };
                      }),
                  }
                : null,
        chainPlan: chainPlan
            ? {
                  level: chainPlan.level,
                  message: chainPlan.message,
                  node: chainPlan.chain?.node ?? null,
                  scheduled: chainPlan.chain?.plan ?? null,
                  latestHeight: chainPlan.chain?.latestHeight ?? null,
                  secondsPerBlock: chainPlan.chain?.secondsPerBlock ?? null,
                  etaSeconds: chainPlan.etaSeconds ?? null,
                  appliedHeight: chainPlan.chain?.appliedHeight ?? null,
              }
            : null,
        rollout:
            upgrade.kind === "inPlace" && plan.rollout
                ? {
                      statefulSet: plan.rollout.statefulSetName,
                      maxUnavailable: plan.rollout.maxUnavailable,
                      deadlineSeconds: plan.rollout.deadlineSeconds,
                  }
                : null,
        gate:
            waiting && plan.gate
                ? {
                      mode: plan.gate.mode,
                      replicas: plan.gate.replicas,
                      tolerance: plan.gate.tolerance,
                      minPeers: plan.gate.minPeers,
                      rpcMode: plan.gate.rpcMode,
                      referenceRpcs: plan.gate.referenceRpcs,
                      deadlineSeconds: plan.gate.deadlineSeconds,
                  }
                : null,
        trafficSwitch:
            waiting && plan.trafficSwitch
                ? {
                      service: plan.trafficSwitch.serviceName,
                      to: plan.trafficSwitch.selector[LABEL.set] ?? entrant.statefulSet,
                      deadlineSeconds: plan.trafficSwitch.deadlineSeconds,
                      rollbackOnFailure: plan.trafficSwitch.rollbackOnFailure,
                  }
                : null,
        preprod: plan.preprod
            ? {
                  statefulSet: plan.preprod.nodeSet.statefulSetName,
                  image: plan.preprod.nodeSet.input.config.image,
                  revision: plan.preprod.nodeSet.input.revision,
                  replicas: plan.preprod.nodeSet.input.config.replicas,
                  displaces: ordinals(entrant.replicas, args.config.replicas).map((i) =>
                      setObjectNames(entrant.statefulSet).pod(i),
                  ),
              }
            : null,
        deletes: deletions(args, plan, incumbent),
        notes,
        problems: [
            ...plan.problems,
            ...(chainPlan?.level === "problem"
                ? [`group ${args.group}: ${chainPlan.message}`]
                : []),
        ],
    };
}

/** What a stack's plan reads besides its config. */
export interface StackPlanInput {
    /** The stack's name (`Pulumi.<stack>.yaml`), when there is one. */
    stack?: string;
    config: FleetSpec;
    /** Each group's incumbent as read from the cluster; absent when offline. */
    incumbents?: Record<string, Incumbent | undefined>;
    /** The preprod cohort of this run (lib/preprod.ts planPreprod), if the stack has one. */
    preprod?: PreprodPlan;
    /** The cluster was not read: every group is planned as a first deployment. */
    offline?: boolean;
    /** HardFork groups checked against their chain (kube/chainPlan.ts), by group. */
    chainPlans?: Record<string, ChainPlanCheck>;
}

/** Every group's plan, with the same arguments as index.ts gives the Fleet. */
export function describeStackPlan(input: StackPlanInput): ReadableStackPlan {
    const { config } = input;
    // index.ts names the fleet after the network, and so its children.
    const groups = fleetGroupArgs(config.network, config, input.incumbents, input.preprod).map(
        (args) => describeGroupPlan(args, undefined, input.chainPlans?.[args.group]),
    );
    return {
        stack: input.stack ?? null,
        network: config.network,
        chain: config.chain,
        namespace: config.namespace ?? config.network,
        offline: input.offline ?? false,
        preprod: input.preprod
            ? {
                  epoch: input.preprod.selection.epoch,
                  percent: input.preprod.selection.percent,
                  warnings: input.preprod.selection.warnings,
              }
            : null,
        groups,
        notes: [
            "deletions are worked out from the set each group serves now; objects known only to " +
                "Pulumi's state (an entrant left by a failed run, a former preprod set) are not " +
                "listed: `pulumi preview` shows them",
        ],
        problems: groups.flatMap((g) => g.problems),
    };
}

function setState(incumbent: Incumbent): SetState {
    return {
        statefulSet: incumbent.set,
        revision: incumbent.revision,
        image: incumbent.image ?? null,
        replicas: incumbent.replicas ?? null,
    };
}

/** `from` … `to - 1`. */
function ordinals(from: number, to: number): number[] {
    return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/**
 * What the update deletes: Pulumi deletes what the program stops declaring, after every other
 * step of a successful update (so after the switch). That is the incumbent set when the plan
 * replaces it, or the top ordinals of a set that shrinks (scaled down, or displaced by the
 * preprod cohort): their pods, and their volumes with the data on them.
 */
function deletions(
    args: GroupPlanArgs,
    plan: GroupPlan,
    incumbent: Incumbent | undefined,
): Deletion[] {
    if (!incumbent) {
        return [];
    }
    const entrant = plan.nodeSet.statefulSetName;
    const old = setObjectNames(incumbent.set);
    const live = ordinals(0, incumbent.replicas ?? 0);
    if (incumbent.set !== entrant) {
        const why = `the incumbent set ${incumbent.set}, after the switch to ${entrant}`;
        return [
            { kind: "StatefulSet", name: old.statefulSet, why },
            ...live.map((i) => ({ kind: "Pod" as const, name: old.pod(i), why })),
            ...live.map((i) => ({ kind: "PersistentVolumeClaim" as const, name: old.pvc(i), why })),
            { kind: "Service", name: old.peerService, why },
            { kind: "ConfigMap", name: old.configMap, why },
            { kind: "PodDisruptionBudget", name: old.podDisruptionBudget, why },
        ];
    }
    const keep = plan.nodeSet.input.config.replicas;
    const leaving = ordinals(keep, incumbent.replicas ?? 0);
    const cohort = plan.preprod?.nodeSet;
    const whyFor = (i: number): string =>
        cohort && i < args.config.replicas
            ? `the nodes ${entrant} gives to the preprod cohort; ${cohort.statefulSetName} runs ` +
              `${cohort.input.config.image} in their place, on new volumes`
            : `the nodes ${entrant} loses, scaling down from ${incumbent.replicas} to ${keep} replicas`;
    return [
        ...leaving.map((i) => ({ kind: "Pod" as const, name: old.pod(i), why: whyFor(i) })),
        ...leaving.map((i) => ({
            kind: "PersistentVolumeClaim" as const,
            name: old.pvc(i),
            why: whyFor(i),
        })),
    ];
}

// ---- text ----

const LABEL_WIDTH = 13;
const WIDTH = 100;

/** The plan as a reviewer reads it: one section per group, deletions called out. */
export function renderPlanText(plan: ReadableStackPlan): string {
    const lines = [
        `Plan of stack ${plan.stack ?? "(none)"}: network ${plan.network}, chain ${plan.chain}, ` +
            `namespace ${plan.namespace}`,
        plan.offline
            ? "OFFLINE: the cluster was not read; every group is planned as a first deployment"
            : "incumbents read from the cluster",
    ];
    if (plan.preprod) {
        lines.push(
            `preprod cohort: epoch ${plan.preprod.epoch}, ${plan.preprod.percent}% of eligible nodes`,
        );
        lines.push(...plan.preprod.warnings.flatMap((w) => wrap("warning", w)));
    }
    for (const group of plan.groups) {
        lines.push("", ...renderGroup(group));
    }
    lines.push("", ...plan.notes.flatMap((n) => wrap("note", n)));
    return lines.join("\n") + "\n";
}

function renderGroup(g: ReadableGroupPlan): string[] {
    const out = [`${g.group}: ${g.upgrade}`];
    const field = (label: string, text: string) => out.push(...wrap(label, text));
    /** The entrant's value, after the incumbent's when there is one. */
    const change = (was: string | number | null | undefined, now: string | number): string =>
        !g.incumbent
            ? `${now}`
            : was === now
              ? `${now} (unchanged)`
              : `${was ?? "(unknown)"} → ${now}`;

    field("strategy", `${g.strategy} (${g.chain})`);
    field("why", g.reason);
    field("revision", change(g.incumbent?.revision, g.entrant.revision));
    field("image", change(g.incumbent?.image, g.entrant.image));
    field("set", change(g.incumbent?.statefulSet, g.entrant.statefulSet));
    field("replicas", change(g.incumbent?.replicas, g.entrant.replicas));
    if (g.hardFork) {
        const hf = g.hardFork;
        field(
            "halt height",
            `H = ${hf.haltHeight}, the first height the new binary executes` +
                (hf.upgradeName ? ` (upgrade ${hf.upgradeName})` : ""),
        );
        field("halt after", `H-1 = ${hf.haltAfterHeight}, the last height the incumbent commits`);
        const images = [...new Set(hf.bootstraps.map((b) => b.image ?? "(no image)"))];
        const deadline = Math.max(...hf.bootstraps.map((b) => b.deadlineSeconds));
        field(
            "bootstrap",
            `${images.join(", ")} runs to height ${hf.haltAfterHeight} within ${duration(deadline)} ` +
                `on ${hf.bootstraps.map((b) => b.pvc).join(", ")}`,
        );
    }
    // A problem is printed once, with the others, below.
    if (g.chainPlan && g.chainPlan.level !== "problem") {
        field(
            "chain plan",
            (g.chainPlan.level === "warn" ? "WARNING: " : "") + g.chainPlan.message,
        );
    }
    if (g.rollout) {
        const r = g.rollout;
        field(
            "rollout",
            `replaces the pods of ${r.statefulSet} within ${duration(r.deadlineSeconds)}, ` +
                `at most ${r.maxUnavailable} unavailable`,
        );
    }
    if (g.gate) {
        const gate = g.gate;
        field(
            "gate",
            `${gate.mode} within ${duration(gate.deadlineSeconds)}: ${gate.replicas} replicas, ` +
                `tolerance ${gate.tolerance} blocks, minPeers ${gate.minPeers}, rpc ${gate.rpcMode}` +
                (gate.referenceRpcs.length > 0
                    ? `, ${gate.referenceRpcs.length} reference RPC(s)`
                    : ""),
        );
    }
    if (g.trafficSwitch) {
        const sw = g.trafficSwitch;
        field(
            "switch",
            `Service ${sw.service} → ${sw.to} within ${duration(sw.deadlineSeconds)}` +
                (sw.rollbackOnFailure ? "; rolls back on failure" : ""),
        );
    }
    if (g.preprod) {
        const p = g.preprod;
        field(
            "preprod",
            `${p.statefulSet} runs ${p.image} (revision ${p.revision}) in place of ` +
                p.displaces.join(", "),
        );
    }
    if (g.deletes.length === 0) {
        field("will delete", "nothing");
    }
    // One paragraph per reason, one line per kind: every name is spelt out.
    for (const why of [...new Set(g.deletes.map((d) => d.why))]) {
        field("will delete", `${why}:`);
        const ofWhy = g.deletes.filter((d) => d.why === why);
        for (const kind of [...new Set(ofWhy.map((d) => d.kind))]) {
            const names = ofWhy.filter((d) => d.kind === kind).map((d) => d.name);
            out.push(...wrap("", `${kind} ${names.join(", ")}`, 2));
        }
    }
    for (const note of g.notes) {
        field("note", note);
    }
    for (const problem of g.problems) {
        field("PROBLEM", problem);
    }
    return out;
}

/**
 * `label` padded to the value column, then `text` (`extra` columns further in) wrapped at
 * spaces, continued under itself.
 */
function wrap(label: string, text: string, extra = 0): string[] {
    const indent = " ".repeat(2 + LABEL_WIDTH + extra);
    const lines: string[] = [];
    let line = `  ${label.padEnd(LABEL_WIDTH)}${" ".repeat(extra)}`;
    let empty = true;
    // A parenthesis and the word before it stay on one line: `1h (3600s)`.
    for (const word of text.split(/ (?!\()(?![^(]*\))/)) {
        if (!empty && line.length + 1 + word.length > WIDTH) {
            lines.push(line);
            line = indent;
            empty = true;
        }
        line += (empty ? "" : " ") + word;
        empty = false;
    }
    lines.push(line);
    return lines;
}

/** `3600` -> `1h (3600s)`, `90` -> `1m30s (90s)`. */
export function duration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const parts = [h ? `${h}h` : "", m ? `${m}m` : "", s ? `${s}s` : ""].join("");
    return parts === `${seconds}s` || seconds === 0 ? `${seconds}s` : `${parts} (${seconds}s)`;
}
