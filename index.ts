/**
 * chainfleet: config -> components -> outputs. Config is validated in full before any resource
 * is registered, so a bad stack changes nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { Fleet } from "./components/Fleet";
import { loadStackConfig } from "./config";

const config = loadStackConfig(pulumi.runtime.allConfig());
const fleet = new Fleet(config.network, { config });

export const network = config.network;
export const namespace = fleet.namespace.metadata.name;
export const revisions = fleet.revisions();
export const stableServices = Object.fromEntries(
    Object.entries(fleet.deployments).map(([group, d]) => [group, d.stableService.metadata.name]),
);
