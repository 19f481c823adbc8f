/**
 * chainfleet's dynamic providers. Each is a Pulumi dynamic resource whose create/update carries
 * out one upgrade step inside `pulumi up` and fails at its own deadline; see each module.
 */
export * from "./bootstrap";
export * from "./heightGate";
export * from "./rollout";
export * from "./trafficSwitch";
export { UNKNOWN } from "./common";
export type { KubeAccessInputs } from "./common";
export type { RpcMode } from "../kube/rpc";
