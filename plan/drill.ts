/**
 * The scheduled drill, planned: pure, like the rest of plan/. While `drill` is set and no incident is open, a
 * throwaway point-in-time copy of the live server (`<live>-drill`, restored to a few minutes before the
 * drill's start) and three Jobs on it, in order:
 *
 * 1. `restore`: the newest nightly backup into a scratch database on the COPY (`<db>_drill`), never live; the
 *    tool checks the restored database against the backup's manifest before it is kept (scenario 1's path);
 * 2. `inspect`: the copy against live, read only (scenario 2's look);
 * 3. `report`: `dr-data drill-report`, the steps' timings, RPO and RTO against `objectives`, written once to
 *    `drill/<live>/<start>/report.json`.
 *
 * Nothing of the live app changes: no replica patch, no maintenance page, no freeze, the nightly keeps
 * running. The drill's own identity is an administrator of the copy only; the inspection reads live as the
 * nightly identity, which already reads it (`pg_read_all_data`) and, the copy holding live's roles at the
 * restore point, reads the copy too.
 */
import type { DateTime } from "luxon";
import {
  backupPrefix,
  DRILL_RUN_ID,
  drillDoneBlobName,
  drillJobName,
  drillLogBlobName,
  drillReport,
  drillScratchDatabase,
  drillServerName,
  serverFqdn,
} from "@service-dr/dr-data";
import type { ConnectionPrefix, ParsedArgs } from "@service-dr/dr-data";
import type { Objectives, StackConfig } from "../config";
import { DRILL_RESTORE_LAG_MINUTES, drillStart } from "../config";
import { pointInTimeCopy, type LiveServerPlan, type PtrCopyPlan } from "./control";
import { SCRATCH_DIR, type ServerConnection } from "./data-path";
import {
  containerRole,
  identityBase,
  nightlyCustomRole,
  nightlyWriteCondition,
  planIdentities,
} from "./identity";
import type { BlobRole, IdentityPlan } from "./identity";
import { azureUtc } from "./time";

/** The drill's steps, in the order they run; a Job's `service-dr/step` label is `drill-<step>`. */
export type DrillStep = "restore" | "inspect" | "report";
export const DRILL_STEPS: readonly DrillStep[] = ["restore", "inspect", "report"];

/** A drill Job's command as the contract types it (packages/dr-data/src/contract.ts). */
export type DrillCommand = Extract<ParsedArgs, { readonly command: "restore" | "inspect" | "drill-report" }>;

export interface DrillJobPlan {
  /** `<drill id>-<step>`: a new Job per drill. */
  readonly name: string;
  readonly step: DrillStep;
  readonly args: DrillCommand;
  readonly connections: Readonly<Partial<Record<ConnectionPrefix, ServerConnection>>>;
  /** The Job that must have succeeded first, if any. */
  readonly after: string | undefined;
  readonly serviceAccountName: string;
  /** `drill/<live>/<start>/logs/<job>.log` and `…/done/<job>.json`: the report reads them back. */
  readonly logBlob: string;
  readonly doneBlob: string;
}

export interface DrillPlan {
  /** `drill-YYYYMMDD-HHMM`. */
  readonly id: string;
  /** The drill's start (its id), ISO 8601 UTC: the RTO is measured from it. */
  readonly startedAt: string;
  /** The throwaway copy: the incident copy's shape under another name, never live's. */
  readonly copy: PtrCopyPlan;
  /** The drill's identity, declared with the drill: an Entra administrator of the copy only. */
  readonly identity: IdentityPlan;
  /**
   * A second blob role of the nightly identity, declared with the drill and gone with it: the inspection runs
   * as the nightly identity (it reads live and the copy) and writes its report under `incident/<drill id>/`
   * and its log and record under `drill/`, which its standing role (`nightly/` only) does not allow. Azure
   * adds assignments up; deleting stays denied in both.
   */
  readonly inspectAccess: BlobRole & { readonly description: string };
  /** The database the nightly backup is restored into, on the copy. */
  readonly scratchDatabase: string;
  readonly jobs: readonly DrillJobPlan[];
  /** Where the report is written: `drill/<live>/<YYYYMMDDTHHMMSSZ>/report.json` in the backup container. */
  readonly reportBlob: string;
  readonly objectives: Objectives;
}

/** The drill's identity's name: the service's, like the other identities of the data path. */
export function drillIdentityName(service: string): string {
  return `${service}-dr-drill`;
}

/**
 * The drill of this config, or undefined: no `drill`, or an incident open (it takes precedence: the config
 * warns, config/drill.ts drillWarnings). `live` is the plan's live server (its id, region and network).
 */
export function planDrill(cfg: StackConfig, live: LiveServerPlan): DrillPlan | undefined {
  if (cfg.drill === undefined || cfg.incident.mode !== "none") return undefined;
  const start = drillStart(cfg.drill);
  if (start === undefined || cfg.objectives === undefined)
    throw new Error(`config: drill ${cfg.drill} passed validation without a start or objectives`);
  const id = cfg.drill;
  const copy = drillCopy(cfg, live, start.minus({ minutes: DRILL_RESTORE_LAG_MINUTES }));
  const identity = drillIdentity(cfg);
  const inspectAccess = nightlyInspectAccess(cfg, id);
  const scratchDatabase = drillScratchDatabase(cfg.postgres.appDatabase);
  const objectives = cfg.objectives;
  const planned = drillJobs({ cfg, id, start: azureUtc(start), copy, identity, scratchDatabase, objectives });
  const jobs = planned.map((j) => ({
    ...j,
    logBlob: drillLogBlobName(live.name, start, j.name),
    doneBlob: drillDoneBlobName(live.name, start, j.name),
  }));
  return {
    id,
    startedAt: azureUtc(start),
    copy,
    identity,
    inspectAccess,
    scratchDatabase,
    jobs,
    reportBlob: drillReport.blob(live.name, start),
    objectives,
  };
}

function drillCopy(cfg: StackConfig, live: LiveServerPlan, restore: DateTime): PtrCopyPlan {
  return pointInTimeCopy(drillServerName(live.name), live, restore, cfg.timeZone);
}

/**
 * The drill's identity: reads the container and writes only under `drill/` (its Jobs' logs, records and the
 * report), never deletes; declared with the drill and gone with it.
 */
function drillIdentity(cfg: StackConfig): IdentityPlan {
  const name = drillIdentityName(cfg.kubernetes.service);
  const { roleDefinitionId, roleName } = containerRole(cfg);
  return {
    ...identityBase(cfg, name, "data-drill"),
    blobRole: { name: roleName(name), roleDefinitionId, condition: nightlyWriteCondition(DRILL_PREFIX_ROOT) },
    blobRoleDescription:
      "service-dr scheduled drill: reads; writes drill records only; never deletes (this container only)",
  };
}

/**
 * The nightly identity's second blob role, for the drill's inspection: writes under `drill/` (its log and
 * record) and `incident/<drill id>/` (its report), never deletes.
 */
function nightlyInspectAccess(cfg: StackConfig, id: string): DrillPlan["inspectAccess"] {
  const { roleName } = containerRole(cfg);
  // The nightly identity's own custom role (no delete, tier, lock or key), with the drill's prefixes.
  const { nightlyRoleId } = nightlyCustomRole(cfg);
  const nightly = planIdentities(cfg).nightly.name;
  return {
    // Named apart from the standing assignment (a GUID of scope, role and this name), so it never replaces it.
    name: roleName(`${nightly}|drill`, nightlyRoleId),
    roleDefinitionId: nightlyRoleId,
    condition: nightlyWriteCondition(DRILL_PREFIX_ROOT, `${backupPrefix.incident(id)}/`),
    description: `service-dr drill ${id}: the nightly identity's inspection writes its evidence (this container only)`,
  };
}

/** Where every drill writes (naming.ts drillReport.prefix): the only prefix the drill identity writes. */
export const DRILL_PREFIX_ROOT = "drill/";

interface DrillJobsContext {
  readonly cfg: StackConfig;
  readonly id: string;
  readonly start: string;
  readonly copy: PtrCopyPlan;
  readonly identity: IdentityPlan;
  readonly scratchDatabase: string;
  readonly objectives: Objectives;
}

function drillJobs(ctx: DrillJobsContext): Omit<DrillJobPlan, "logBlob" | "doneBlob">[] {
  const { cfg, id, copy, identity } = ctx;
  const live = cfg.postgres.serverName;
  const db = cfg.postgres.appDatabase;
  const container = cfg.backup.container;
  const jobs = cfg.dataTool.parallelJobs;
  const nightly = planIdentities(cfg).nightly;
  const on = (host: string, as: IdentityPlan, database: string): ServerConnection => ({
    ref: host === copy.fqdn ? "ptr" : "live",
    host,
    user: as.name,
    database,
  });
  const restore = drillJobName(id, "restore");
  const inspect = drillJobName(id, "inspect");
  return [
    {
      name: restore,
      step: "restore",
      // Into the scratch database of the COPY: the connection names the copy, and nothing else.
      args: {
        command: "restore",
        options: {
          container,
          prefix: backupPrefix.nightly(live),
          blob: "latest",
          // The backups are the app database's: without this the tool would look for the scratch name's.
          sourceDatabase: db,
          database: ctx.scratchDatabase,
          runId: DRILL_RUN_ID,
          jobs,
          workDir: SCRATCH_DIR,
        },
      },
      connections: { "": on(copy.fqdn, identity, ctx.scratchDatabase) },
      after: undefined,
      serviceAccountName: identity.serviceAccountName,
    },
    {
      name: inspect,
      step: "inspect",
      args: {
        command: "inspect",
        options: { container, incident: id, restoreTime: copy.pointInTimeUtc, jobs },
      },
      // Read only, as the nightly identity: it reads live (pg_read_all_data) and the copy holds its role too.
      connections: { PTR_: on(copy.fqdn, nightly, db), LIVE_: on(serverFqdn(live), nightly, db) },
      after: restore,
      serviceAccountName: nightly.serviceAccountName,
    },
    reportJob(ctx, { restore, inspect }),
  ];
}

/** The last Job: the report of the steps before it, against the objectives; it connects to no server. */
function reportJob(
  ctx: DrillJobsContext,
  steps: { readonly restore: string; readonly inspect: string },
): Omit<DrillJobPlan, "logBlob" | "doneBlob"> {
  const { cfg, objectives } = ctx;
  return {
    name: drillJobName(ctx.id, "report"),
    step: "report",
    args: {
      command: "drill-report",
      options: {
        container: cfg.backup.container,
        server: cfg.postgres.serverName,
        database: cfg.postgres.appDatabase,
        startedAt: ctx.start,
        steps,
        rpoMinutes: objectives.rpoMinutes,
        rtoMinutes: objectives.rtoMinutes,
      },
    },
    connections: {},
    after: steps.inspect,
    serviceAccountName: ctx.identity.serviceAccountName,
  };
}
