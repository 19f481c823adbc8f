/**
 * What every chainfleet dynamic provider has in common, so that each provider module keeps only
 * its own check and its own run:
 *
 * - `check`: defaults merged in (null and undefined mean "not set"), kube access checked, the
 *   provider's own checks, `settled` checked for upgrade records, and the version stamped;
 * - `diff`: inputs only, against the provider's triggers (`diffRecord` for upgrade records);
 * - `create`/`update`: a settled record returns its settled result without contacting the
 *   cluster, anything else runs; outputs are the inputs plus the result, as plain JSON;
 * - the resource class: every input may be an Output, defaulted ones may be left out, outputs
 *   are declared to the engine as unknown until the provider returns them.
 *
 * The provider half is serialized by value into the engine's provider process with everything it
 * captures (test/unit/providers-serialize.test.ts runs it there), so it must stay free of
 * Pulumi values and zod; the resource half runs in the program only.
 */
import * as pulumi from "@pulumi/pulumi";
import { explainForbiddenInChain } from "../lib/forbidden";
import {
    InputChecker,
    KubeAccessInputs,
    SettledInput,
    checkSettled,
    diffInputs,
    diffRecord,
    isSettled,
    plainOutputs,
} from "./common";

type Obj = Record<string, unknown>;

/** What every provider's resolved inputs carry. */
export interface ProviderInputs extends KubeAccessInputs {
    providerVersion: string;
}

/** What a provider declares about itself: its name, version, defaults, triggers and outputs. */
export interface ProviderContract<I extends ProviderInputs, R extends object> {
    /** The resource type: names it in check failures (`HeightGate.namespace: …`) and tokens. */
    type: string;
    /** Bump when the behaviour changes, so stacks re-run their resources with the new code. */
    version: string;
    /** Filled in by `check` for inputs that are not set. */
    defaults: Partial<I>;
    /**
     * Inputs that run the operation again when changed. Tuning knobs (deadlines, polling, kube
     * access) are left out, so changing them does not re-run a step that already passed.
     */
    triggers: readonly (keyof I)[];
    /** The result's fields, which the engine is told about (as unknown) at declaration. */
    outputs: readonly (keyof R & string)[];
}

/** What a provider does: its own checks, its run, and the rest only where it has any. */
export interface ProviderBehaviour<I extends ProviderInputs, R extends object> {
    /** The provider's own input checks; kube access and `settled` are the kit's. */
    check(c: InputChecker, inputs: Obj): void;
    /** Carries the operation out and returns what it found. Must be idempotent. */
    run(inputs: I): Promise<R>;
    /** The resource's id, from the inputs it was created with. */
    id(inputs: I): string;
    /**
     * Upgrade records only (lib/plan.ts `RecordsMode`): the result of a record declared only so
     * that Pulumi keeps it. Its presence makes the resource a record: `settled` is checked and
     * the diff is `diffRecord`.
     */
    settled?(inputs: I): R;
    /** Runs before an update: what the old inputs left behind that the new ones will not use. */
    beforeUpdate?(olds: I & R, news: I): Promise<void>;
    /** Undoes what is ours to undo; most providers only observe, and have nothing to do. */
    delete?(props: I & R): Promise<void>;
}

export interface DefinedProvider<I extends ProviderInputs, R extends object, A> {
    /** `check` on its own, for tests and for callers that validate before declaring. */
    check(news: Obj): pulumi.dynamic.CheckResult<I>;
    provider: pulumi.dynamic.ResourceProvider<I, I & R>;
    /** The resource class the program declares. */
    Resource: ResourceClass<A, R>;
}

/**
 * A provider from its spec: `A` is the resource's constructor arguments (`ResourceArgs`), `I` the
 * inputs `check` resolves them to, `R` what a run returns beside them.
 */
export function defineProvider<I extends ProviderInputs, R extends object, A>(
    contract: ProviderContract<I, R>,
    behaviour: ProviderBehaviour<I, R>,
): DefinedProvider<I, R, A> {
    const spec = { ...contract, ...behaviour };
    const isRecord = spec.settled !== undefined;
    // Not called `check`: the serializer reads a method `check() {…}` as a function named
    // check, so a free `check` inside it would mean the method itself.
    const checkInputs = (news: Obj): pulumi.dynamic.CheckResult<I> => {
        const set = Object.fromEntries(Object.entries(news).filter(([, v]) => v != null));
        const inputs: Obj = { ...spec.defaults, ...set };
        const c = new InputChecker(inputs, spec.type);
        c.string("kubeconfig", { optional: true });
        c.string("context", { optional: true });
        spec.check(c, inputs);
        if (isRecord) {
            checkSettled(c, inputs);
        }
        inputs.providerVersion = spec.version;
        return { inputs: inputs as unknown as I, failures: c.failures };
    };
    const runAndReturn = async (inputs: I): Promise<I & R> => {
        const settled = spec.settled && isSettled(inputs as SettledInput);
        const result = settled ? spec.settled!(inputs) : await spec.run(inputs);
        return plainOutputs({ ...inputs, ...result });
    };
    const provider: pulumi.dynamic.ResourceProvider<I, I & R> = {
        async check(_olds, news) {
            return checkInputs(news as unknown as Obj);
        },
        async diff(_id, olds, news) {
            const diff = isRecord ? diffRecord : diffInputs;
            return diff(olds as unknown as Obj, news as unknown as Obj, spec.triggers as string[]);
        },
        // A 403 anywhere below becomes the permission the deploying identity lacks (the
        // original error is its cause): a deploy job's log then says what to grant.
        async create(inputs) {
            try {
                return { id: spec.id(inputs), outs: await runAndReturn(inputs) };
            } catch (err) {
                throw explainForbiddenInChain(err);
            }
        },
        async update(_id, olds, news) {
            try {
                await spec.beforeUpdate?.(olds, news);
                return { outs: await runAndReturn(news) };
            } catch (err) {
                throw explainForbiddenInChain(err);
            }
        },
        async delete(_id, props) {
            try {
                await spec.delete?.(props);
            } catch (err) {
                throw explainForbiddenInChain(err);
            }
        },
    };
    return { check: checkInputs, provider, Resource: resourceClass<A, R>(provider, spec) };
}

type Inputify<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** Constructor arguments: every input may be an Output; `Optional` ones may be left out. */
export type ResourceArgs<I extends ProviderInputs, Optional extends keyof I> = Inputify<
    Omit<I, Optional | "providerVersion"> & Partial<Pick<I, Optional>>
>;

/** The resource as the program sees it: each result field is an Output. */
export type DynamicResource<R> = pulumi.dynamic.Resource & {
    readonly [K in keyof R]-?: pulumi.Output<R[K]>;
};

type ResourceClass<A, R> = new (
    name: string,
    args: A,
    opts?: pulumi.CustomResourceOptions,
) => DynamicResource<R>;

/** The resource class of a provider; its token is `pulumi-nodejs:dynamic/upgrade:<type>`. */
function resourceClass<A, R extends object>(
    provider: pulumi.dynamic.ResourceProvider,
    spec: Pick<ProviderContract<ProviderInputs, R>, "type" | "version" | "outputs">,
): ResourceClass<A, R> {
    const unknownOutputs = Object.fromEntries(spec.outputs.map((key) => [key, undefined]));
    return class extends pulumi.dynamic.Resource {
        constructor(name: string, args: A, opts?: pulumi.CustomResourceOptions) {
            super(
                provider,
                name,
                { ...args, providerVersion: spec.version, ...unknownOutputs },
                opts,
                "upgrade",
                spec.type,
            );
        }
    } as unknown as ResourceClass<A, R>;
}
