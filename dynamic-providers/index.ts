/**
 * chainfleet's dynamic providers. Each is a Pulumi dynamic resource whose create/update carries
 * out one step inside `pulumi up` (an upgrade step, or ImageBuild's build and push) and fails at
 * its own deadline; see each module.
 */
export * from "./bootstrap";
export * from "./heightGate";
export * from "./imageBuild";
export * from "./rollout";
export * from "./trafficSwitch";
export { UNKNOWN } from "./common";
export type { KubeAccessInputs } from "./common";
export type { RpcMode } from "../kube/rpc";
