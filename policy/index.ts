/**
 * The policy pack the workflows run with every preview and up: `pulumi preview --policy-pack policy
 * --policy-pack-config policy/config/<environment>.json` (config-file.ts: one per environment, shared by its
 * services' stacks). Every policy is mandatory (policies.ts).
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("service-dr", { enforcementLevel: "mandatory", policies: [...POLICIES] });
