/**
 * A recording Pulumi mock for component tests. `pulumi.runtime.setMocks` is process-wide and
 * mocha runs every file's root hooks first, so each suite installs its own recorder in a `before`
 * inside its `describe`: whichever suite runs, its recorder is the live one.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Recorder {
    resources: Recorded[];
    reset(): void;
}

/** Call inside a `describe`: installs the mocks before that suite's tests. */
export function useRecordingMocks(): Recorder {
    const recorder: Recorder = {
        resources: [],
        reset() {
            recorder.resources = [];
        },
    };
    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    recorder.resources.push({
                        type: args.type,
                        name: args.name,
                        inputs: args.inputs,
                    });
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: (args) => args.inputs,
            },
            "chainfleet",
            "test",
        );
    });
    return recorder;
}

/** Waits until `resource` and, after it, every child registered asynchronously is recorded. */
export async function settled(resource: pulumi.Resource, recorder: Recorder): Promise<void> {
    await new Promise<void>((resolve) => resource.urn.apply(() => resolve()));
    let last = -1;
    while (recorder.resources.length !== last) {
        last = recorder.resources.length;
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}
