/**
 * Keys that are set but do nothing in this state, each with why and how to remove it: the program logs them
 * with `pulumi.log.warn`, so `pulumi preview` and the offline plan show them. Only for a config that is
 * otherwise valid.
 */
import * as pulumi from "@pulumi/pulumi";
import type { JobStep } from "@service-dr/dr-data";
import type { Parsed } from "./schema";
import type { Incident } from "./incident";
import type { StackConfig } from "./load";
import { rm } from "./messages";

/** What `retryWarnings` reads of the plan: the recovery Jobs this state declares. */
export interface DeclaredJobs {
  readonly dataPath: { readonly jobs: readonly { readonly step: JobStep }[] };
}

/**
 * Keys that are set but do nothing in this state, each with why and how to remove it. Only for a config that
 * is otherwise valid. `drPhase` is compared with its Pulumi.yaml default (isolate), which the engine passes
 * whether or not the stack sets it, so only restore/validate without an incident can be told apart.
 */
export function notApplying(c: Parsed, incident: Incident): string[] {
  const w: string[] = [];
  if (incident.mode === "none") {
    if (c.drPhase !== "isolate")
      w.push(
        `drPhase: ${c.drPhase} is ignored while drMode is none (no incident is open); remove it: ${rm("drPhase")}`,
      );
    for (const key of ["ptr", "rebuild", "retry", "incidentId"] as const) {
      if (c[key] !== undefined)
        w.push(
          `${key}: is ignored while drMode is none (${c.incidentId === undefined ? "no incident is open" : `incident ${c.incidentId} is closed`}); remove it: ${rm(key)}`,
        );
    }
    return w;
  }
  if (incident.mode === "ptr" && c.rebuild !== undefined)
    w.push(
      `rebuild: is ignored in drMode ptr (it describes a rebuild of a lost server); remove it: ${rm("rebuild")}`,
    );
  if (incident.mode === "rebuild" && c.ptr !== undefined)
    w.push(
      `ptr: is ignored in drMode rebuild (it describes a point-in-time restore); remove it: ${rm("ptr")}`,
    );
  if (incident.mode === "rebuild" && c.rebuild !== undefined) {
    const from = incident.source.from;
    const applies: Record<string, readonly string[]> = {
      backup: ["from", "backupBlob"],
      revive: ["from", "deletedAt"],
      geo: ["from", "serverName", "location", "network"],
    };
    for (const field of setFields(c.rebuild)) {
      // backupBlob has a default ("latest"): only a value other than it was set by someone.
      if (field === "backupBlob" && c.rebuild.backupBlob === "latest") continue;
      if (!applies[from]!.includes(field))
        w.push(
          `rebuild.${field}: is ignored with rebuild.from ${from} (it applies to rebuild.from ${Object.keys(
            applies,
          )
            .filter((f) => applies[f]!.includes(field))
            .join(", ")}); remove it: ${rm(`rebuild.${field}`)}`,
        );
    }
  }
  return w;
}

/**
 * `retry.<step>` for a step whose Job this state does not declare: it would rename nothing. Worded from the
 * plan's Jobs, the one place that decides which exist. Outside an incident the whole `retry` key is warned
 * about with the other incident keys.
 */
export function retryWarnings(config: StackConfig, plan: DeclaredJobs): string[] {
  const incident = config.incident;
  if (incident.mode === "none") return [];
  const declared = new Set(plan.dataPath.jobs.map((job) => job.step));
  return (setFields(config.retry) as JobStep[])
    .filter((step) => !declared.has(step))
    .map(
      (step) =>
        `retry.${step}: is ignored: no ${step} Job is declared in drMode ${incident.mode}, drPhase ${incident.phase}; remove it: ${rm(`retry.${step}`)}`,
    );
}

/** Logs `retryWarnings` as the config's own warnings are logged (loadConfig). */
export function warnIgnoredRetries(config: StackConfig, plan: DeclaredJobs): void {
  for (const warning of retryWarnings(config, plan)) void pulumi.log.warn(warning);
}

/** The fields of `o` that are set. */
function setFields(o: object | undefined): string[] {
  return o === undefined
    ? []
    : Object.entries(o)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
}
