/**
 * The stack's configuration: the one reader of `pulumi.Config` (read.ts), schema-parsed (schema.ts), checked
 * by one-concern rules (rules.ts), with the incident as one union (incident.ts), every problem at once
 * (messages.ts) and the keys that do nothing warned about (warnings.ts). load.ts puts them together.
 */
export { loadConfig, parseConfig } from "./load";
export type { StackConfig } from "./load";
export { PROJECT, readRawConfig } from "./read";
export { CONFIG_KEYS } from "./schema";
export type { DrMode, DrPhase, RebuildFrom } from "./schema";
export { unreachable } from "./incident";
export type { Incident, PtrIncident, RebuildIncident, RebuildSource } from "./incident";
export { CROSS_FIELD_RULES, REVIVE_WINDOW, serverWithinClient } from "./rules";
export type { Rule } from "./rules";
export { ruleContext } from "./context";
export type { RuleContext } from "./context";
export { ConfigError, editDistance, nearest } from "./messages";
export type { Problem } from "./messages";
export { retryWarnings, warnIgnoredRetries } from "./warnings";
export type { DeclaredJobs } from "./warnings";
export * from "./identity";
export * from "./data-tool-image";
export * from "./data-namespace";
export * from "./alerts";
export * from "./drill";
