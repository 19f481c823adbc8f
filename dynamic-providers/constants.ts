/**
 * Names the providers write into the cluster. Kept apart from the providers so the working
 * modules and the contract modules can both import them without an import cycle.
 */

/** PVC annotation recording a finished bootstrap; later runs read it and skip the Job. */
export const BOOTSTRAPPED_HEIGHT_ANNOTATION = "chainfleet.io/bootstrapped-height";
/** Job annotations: the halt height and the spec the Job was made for (resume vs. replace). */
export const JOB_HALT_HEIGHT_ANNOTATION = "chainfleet.io/halt-height";
export const JOB_SPEC_HASH_ANNOTATION = "chainfleet.io/spec-hash";
/** Field manager of the bootstrap's PVC annotation. */
export const BOOTSTRAP_FIELD_MANAGER = "chainfleet-bootstrap";

/** Field manager of the selector flip: `kubectl get svc -o yaml --show-managed-fields` names it. */
export const SWITCH_FIELD_MANAGER = "chainfleet-switch";
/** Service annotations: when the selector was flipped and what it was before. */
export { SWITCHED_AT_ANNOTATION } from "../lib/labels";
export const PREVIOUS_SELECTOR_ANNOTATION = "chainfleet.io/previous-selector";
