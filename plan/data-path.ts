/**
 * The data path of the plan: backup storage, the nightly backup, and the backup/restore/compare Jobs that the
 * DR mode and phase call for. Pure, like plan.ts: names come from naming.ts, which the data-plane tool
 * (`packages/dr-data/`) and the drill share, so the Jobs and the tool can never disagree on where a dump is.
 */
import type { DateTime } from "luxon";
import type { PtrIncident, RebuildIncident, StackConfig } from "../config";
import {
  backupPrefix,
  COPY_RESTORE_VARIANT,
  incidentDoneBlobName,
  incidentLogBlobName,
  k8sName,
  PART_OF_LABEL,
  ptrServerName,
  runId,
  serverFqdn,
  tableSetTag,
} from "@service-dr/dr-data";
import type {
  ConnectionPrefix,
  CopyRestoreArgs,
  JobStep,
  ParsedArgs,
  TableRestoreArgs,
} from "@service-dr/dr-data";
import { NIGHTLY_PREFIX_ROOT, planIdentities, podIdentity, WORKLOAD_IDENTITY_LABEL } from "./identity";
import type { DataPod, IdentitiesPlan, IdentityPlan } from "./identity";
import {
  jobTimeoutMinutes,
  LONGEST_JOB_WORK,
  MEASURED_THROUGHPUT,
  scratchSizeFor,
  scratchVolume,
} from "./sizing";
import type { EphemeralVolume } from "./sizing";
import { azureUtc } from "./time";

/** Which server a Job's connection points at. */
export type ServerRef = "live" | "ptr";

/** Environment prefixes the tool reads a connection from: the contract's (packages/dr-data/src/contract.ts). */
export type { ConnectionPrefix };

export interface ServerConnection {
  readonly ref: ServerRef;
  readonly host: string;
  readonly user: string;
  readonly database: string;
}

/**
 * A command of the data tool as its typed options (the contract, packages/dr-data/src/contract.ts): the plan
 * keeps it typed; the component renders the argv with the contract's builders (`buildToolArgs`), which the
 * tool's CLI parses back with the same definitions.
 */
export type DataCommand = Extract<
  ParsedArgs,
  { readonly command: "backup" | "restore" | "compare" | "inspect" | "reconcile" | "incident-report" }
>;

export interface DataJobPlan {
  /** The Kubernetes Job name: incident, step and (PTR steps) restore time — never re-run once finished. */
  readonly name: string;
  readonly step: JobStep;
  /** The tool's command (the image's entrypoint is the tool), typed until the component renders it. */
  readonly args: DataCommand;
  readonly connections: Readonly<Partial<Record<ConnectionPrefix, ServerConnection>>>;
  /** The Job that must have succeeded first (same plan), if any. */
  readonly after: string | undefined;
  /** Restores are idempotent by this id; undefined for backups and compares. */
  readonly runId: string | undefined;
  /** The ServiceAccount its pod runs as: the recovery identity's (plan-identity.ts POD_IDENTITY). */
  readonly serviceAccountName: string;
  /** Where the tool writes this Job's full output (`incident/<id>/logs/<job>.log` in the backup container). */
  readonly logBlob: string;
  /**
   * The Job's completion record (`incident/<id>/done/<job>.json`): the tool writes it after a success and,
   * finding it, does nothing — a Job deleted by going back a phase and created again never runs twice.
   */
  readonly doneBlob: string;
}

/** A Job as the steps plan it, before its evidence blobs are named and its identity given. */
type PlannedJob = Omit<DataJobPlan, "logBlob" | "doneBlob" | "serviceAccountName">;

export interface StoragePlan {
  readonly accountName: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly redundancy: string;
  readonly container: string;
  /** The lifecycle rule deletes blobs under this prefix after `retentionDays`. Incident dumps are kept. */
  readonly nightlyPrefixRoot: string;
  readonly retentionDays: number;
  /** The account-level time-based immutability policy's state (`backup.immutability`). */
  readonly immutability: "Locked" | "Unlocked";
}

export interface NightlyBackupPlan {
  readonly name: string;
  readonly schedule: string;
  readonly timeZone: string;
  /** Suspended during an incident: a dump of a flawed or empty server must never become `latest`. */
  readonly suspended: boolean;
  /** Always a backup; typed until the component renders it, like a Job's. */
  readonly args: DataCommand;
  readonly connection: ServerConnection;
  /** The ServiceAccount its pods run as: the nightly identity's, never the recovery one's (POD_IDENTITY). */
  readonly serviceAccountName: string;
}

/**
 * The troubleshooting pod: while the PTR copy exists, the tool's image sleeping in the data pods'
 * namespace with both servers' connections, for `kubectl exec … -- psql-ptr` / `psql-live`.
 */
export interface TroubleshootPodPlan {
  readonly name: string;
  readonly connections: Readonly<Partial<Record<ConnectionPrefix, ServerConnection>>>;
  /** The recovery identity's ServiceAccount (POD_IDENTITY): it exists while the incident does. */
  readonly serviceAccountName: string;
  /** The commands the stack outputs. */
  readonly psqlPtr: string;
  readonly psqlLive: string;
}

/**
 * The data tool's pods' NetworkPolicy: no ingress; egress only to DNS (kube-system's kube-dns, 53), the
 * servers (their delegated subnet, 5432), the backup storage (its private endpoints, 443) and Microsoft Entra
 * (443 to public addresses: NetworkPolicy has no host names, and Entra has no fixed private address).
 */
export interface DataNetworkPolicyPlan {
  readonly name: string;
  readonly namespace: string;
  /** The labels every data tool pod carries (and no other pod of the namespace carries both). */
  readonly podLabels: Readonly<Record<string, string>>;
  readonly postgresCidrs: readonly string[];
  readonly storageCidrs: readonly string[];
}

export interface DataPathPlan {
  readonly namespace: string;
  readonly image: string;
  readonly parallelJobs: number;
  /**
   * Minutes `pulumi up` waits for each Job, and its `activeDeadlineSeconds`: `dataTool.timeoutMinutes`, or
   * derived from the database size at the measured restore rate, for the Job with the most work (sizing.ts
   * `jobTimeoutMinutes`, `LONGEST_JOB_WORK`).
   */
  readonly timeoutMinutes: number;
  /** The Jobs' and the CronJob's scratch at SCRATCH_DIR: a generic ephemeral volume (sizing.ts). */
  readonly scratch: EphemeralVolume;
  readonly storage: StoragePlan;
  /** Who the pods run as (workload identity) and how they log in (plan-identity.ts): one identity per role. */
  readonly identities: IdentitiesPlan;
  readonly nightly: NightlyBackupPlan;
  /**
   * In the order they run; each one's `after` names its predecessor. At the incident's close (see
   * `planDataPath`'s `closing`) the last is the report Job, after every recovery Job.
   */
  readonly jobs: readonly DataJobPlan[];
  /** Declared while the PTR copy exists (drMode ptr, ptr.restoreTime set). */
  readonly troubleshootPod: TroubleshootPodPlan | undefined;
  readonly networkPolicy: DataNetworkPolicyPlan;
}

/** Where the tool keeps downloads and directory dumps inside a Job's pod. */
export const SCRATCH_DIR = "/scratch";
/** The pod volume mounted at SCRATCH_DIR. */
export const SCRATCH_VOLUME = "scratch";

/**
 * `closing`: the incident's closing state (control.ts `incidentClosing`: drPhase validate, maintenance off, the
 * freeze off), where the report Job is declared after the recovery Jobs.
 */
export function planDataPath(
  cfg: StackConfig,
  restoreTimeUtc: DateTime | undefined,
  closing: boolean,
): DataPathPlan {
  const ctx = dataPathContext(cfg);
  const open = cfg.incident;
  const planned = incidentJobs(ctx, cfg, restoreTimeUtc, closing);
  return {
    // The data pods' own namespace: a pod can use only a ServiceAccount of its namespace, so the app's pods
    // can never run as a data identity.
    namespace: cfg.kubernetes.dataNamespace,
    image: cfg.dataTool.image,
    parallelJobs: ctx.jobs,
    ...jobSizing(cfg),
    storage: storagePlan(cfg, ctx.container),
    identities: ctx.identities,
    nightly: {
      name: k8sName.nightlyBackup(cfg.kubernetes.service),
      schedule: cfg.backup.schedule,
      timeZone: cfg.timeZone,
      suspended: open.mode !== "none",
      // --verify: the committed dump is read back from storage and checked as a restore would, and
      // <blob>.status.json records it; a backup that does not verify fails this Job.
      args: ctx.backupArgs(backupPrefix.nightly(ctx.live), ctx.live, true),
      connection: ctx.server("live", "nightly-backup"),
      serviceAccountName: ctx.runAs("nightly-backup").serviceAccountName,
    },
    jobs: planned.map((j) => ({
      ...j,
      serviceAccountName: ctx.runAs("recovery-job").serviceAccountName,
      logBlob: incidentLogBlobName(ctx.incident, j.name),
      doneBlob: incidentDoneBlobName(ctx.incident, j.name),
    })),
    troubleshootPod:
      open.mode === "ptr" && restoreTimeUtc !== undefined
        ? troubleshootPod(cfg.kubernetes.dataNamespace, ctx.incident, ctx)
        : undefined,
    networkPolicy: {
      name: `${cfg.kubernetes.service}-dr-data-egress`,
      namespace: cfg.kubernetes.dataNamespace,
      podLabels: { ...PART_OF_LABEL, [WORKLOAD_IDENTITY_LABEL]: "true" },
      postgresCidrs: cfg.kubernetes.dataEgress.postgresCidrs,
      storageCidrs: cfg.kubernetes.dataEgress.storageCidrs,
    },
  };
}

/** The incident's Jobs in order: its recovery steps, then (at close) the report. */
function incidentJobs(
  ctx: DataPathContext,
  cfg: StackConfig,
  restoreTimeUtc: DateTime | undefined,
  closing: boolean,
): PlannedJob[] {
  const open = cfg.incident;
  const recovery: PlannedJob[] =
    open.mode === "ptr"
      ? ptrJobs(ctx, open, restoreTimeUtc)
      : open.mode === "rebuild"
        ? rebuildJobs(ctx, open)
        : [];
  if (!closing || open.mode === "none") return recovery;
  return [
    ...recovery,
    reportJob(ctx, open, open.mode === "ptr" ? restoreTimeUtc : undefined, recovery.at(-1)?.name),
  ];
}

/** The backup storage account and container, its lifecycle and immutability. */
function storagePlan(cfg: StackConfig, container: string): StoragePlan {
  return {
    accountName: cfg.backup.storageAccountName,
    resourceGroup: cfg.azure.resourceGroup,
    location: cfg.azure.location,
    redundancy: cfg.backup.redundancy,
    container,
    nightlyPrefixRoot: NIGHTLY_PREFIX_ROOT,
    retentionDays: cfg.backup.retentionDays,
    immutability: cfg.backup.immutability === "locked" ? "Locked" : "Unlocked",
  };
}

/** What every Job of the data path is built from: the servers, the login, and the tool's argv builders. */
interface DataPathContext {
  readonly cfg: StackConfig;
  readonly live: string;
  readonly db: string;
  readonly container: string;
  readonly jobs: number;
  readonly identities: IdentitiesPlan;
  /** The identity a pod runs as: its ServiceAccount and its PostgreSQL login come from this one answer. */
  readonly runAs: (pod: DataPod) => IdentityPlan;
  /** The incident's id; outside one no Job is planned, so "" names nothing. */
  readonly incident: string;
  /** A connection to `ref` as `pod`'s identity (a recovery Job's unless said). */
  readonly server: (ref: ServerRef, pod?: DataPod) => ServerConnection;
  /** Both servers as a recovery Job logs in, as inspect and reconcile read them. */
  readonly bothSides: () => { readonly PTR_: ServerConnection; readonly LIVE_: ServerConnection };
  /** `verify`: the nightly's read-back from storage (an incident's dumps are checked by the restore that reads them). */
  readonly backupArgs: (prefix: string, source: string, verify?: boolean) => DataCommand;
  readonly restoreArgs: (prefix: string, blob: string, id: string) => DataCommand;
  readonly retry: (step: JobStep) => number | undefined;
}

function dataPathContext(cfg: StackConfig): DataPathContext {
  const live = cfg.postgres.serverName;
  const db = cfg.postgres.appDatabase;
  const identities = planIdentities(cfg);
  const runAs = (pod: DataPod): IdentityPlan => podIdentity(identities, pod);
  const container = cfg.backup.container;
  const jobs = cfg.dataTool.parallelJobs;
  const server = (ref: ServerRef, pod: DataPod = "recovery-job"): ServerConnection => ({
    ref,
    host: serverFqdn(ref === "live" ? live : ptrServerName(live)),
    // The managed identity's principal name is its PostgreSQL role (Entra logins only).
    user: runAs(pod).name,
    database: db,
  });
  return {
    cfg,
    live,
    db,
    container,
    jobs,
    identities,
    runAs,
    incident: cfg.incident.mode === "none" ? "" : cfg.incident.id,
    server,
    bothSides: () => ({ PTR_: server("ptr"), LIVE_: server("live") }),
    // The tool's typed options (packages/dr-data/src/contract.ts): the component renders them to argv.
    backupArgs: (prefix, source, verify) => ({
      command: "backup",
      options: { container, prefix, sourceServer: source, jobs, workDir: SCRATCH_DIR, verify },
    }),
    restoreArgs: (prefix, blob, id) => ({
      command: "restore",
      options: { container, prefix, blob, runId: id, jobs, workDir: SCRATCH_DIR },
    }),
    retry: (step) => cfg.retry?.[step],
  };
}

/** Scenario 2: the flawed database's backup, the inspection once the copy exists, then the restore phase. */
function ptrJobs(
  ctx: DataPathContext,
  open: PtrIncident,
  restoreTimeUtc: DateTime | undefined,
): PlannedJob[] {
  const { incident, retry } = ctx;
  const backupFlawed = k8sName.job(incident, "backup-flawed", undefined, retry("backup-flawed"));
  const planned: PlannedJob[] = [
    {
      // "Back up the flawed database": first, and kept declared for the whole incident so it never runs twice.
      name: backupFlawed,
      step: "backup-flawed",
      args: ctx.backupArgs(backupPrefix.flawed(incident, ctx.live), ctx.live),
      connections: { "": ctx.server("live") },
      after: undefined,
      runId: undefined,
    },
  ];
  if (restoreTimeUtc === undefined) return planned;
  // "Connect to the PTR server for troubleshooting, before deciding on a full restore or otherwise": as soon as
  // the copy exists, compare it with the live database and write the report. Named by the restore time (a new
  // copy is a new inspection) and kept declared for the rest of the incident, so it never runs again — in the
  // restore phase live is what the restore made it.
  const inspect = k8sName.job(incident, "inspect", restoreTimeUtc, retry("inspect"));
  planned.push({
    name: inspect,
    step: "inspect",
    args: {
      command: "inspect",
      options: { container: ctx.container, incident, restoreTime: azureUtc(restoreTimeUtc), jobs: ctx.jobs },
    },
    connections: ctx.bothSides(),
    after: backupFlawed,
    runId: undefined,
  });
  if (open.phase !== "isolate") planned.push(...ptrRestoreJobs(ctx, restoreTimeUtc, inspect));
  return planned;
}

/**
 * The restore phase: first the export of what users wrote since the restore point, then the restore. The whole
 * database in one Job (`restore --from-copy`: the copy dumped and stored as the evidence while pg_restore reads
 * it, the swap, then the comparison with the copy); the chosen tables the long way, since `restore --tables`
 * reads a stored dump: the copy's backup, the export, the table restore and its comparison.
 */
function ptrRestoreJobs(ctx: DataPathContext, time: DateTime, first: string): PlannedJob[] {
  const { incident, retry } = ctx;
  const tables = ctx.cfg.ptr?.tables;
  // Where the copy's dump is stored: written by the whole restore or by backup-ptr, read by the table restore.
  const copyPrefix = backupPrefix.ptrCopy(incident, ctx.live, time);
  const reconcile = k8sName.job(incident, "reconcile", time, retry("reconcile"));
  const exportJob: PlannedJob = {
    // "Keep this data for reconciliation later on": what live holds and the copy lacks (or holds changed),
    // exported before the restore replaces it. Named by the restore time only: it is never run again
    // (after a restore it would export less), whatever is restored.
    name: reconcile,
    step: "reconcile",
    args: {
      command: "reconcile",
      options: { container: ctx.container, incident, restoreTime: azureUtc(time), jobs: ctx.jobs },
    },
    connections: ctx.bothSides(),
    after: first,
    runId: undefined,
  };
  if (tables === undefined) return [exportJob, wholeRestoreJob(ctx, time, copyPrefix, reconcile)];
  const backupPtr = k8sName.job(incident, "backup-ptr", time, retry("backup-ptr"));
  return [
    {
      // "Upload restored database to Azure storage": the PTR copy's dump is the table restore's input.
      name: backupPtr,
      step: "backup-ptr",
      args: ctx.backupArgs(copyPrefix, ptrServerName(ctx.live)),
      connections: { "": ctx.server("ptr") },
      after: first,
      runId: undefined,
    },
    { ...exportJob, after: backupPtr },
    ...tableRestoreJobs(ctx, time, copyPrefix, reconcile, tables),
  ];
}

/**
 * "Upload restored database to Azure storage", "Restore data into the source server", then validate: one Job.
 * The copy's dump goes to its prefix (the evidence, verified from storage before the swap) while pg_restore
 * reads it into a new database, swapped in by renames; then live is compared with the copy.
 */
function wholeRestoreJob(
  ctx: DataPathContext,
  time: DateTime,
  copyPrefix: string,
  after: string,
): PlannedJob {
  const id = runId.ptrRestore(time);
  return {
    name: k8sName.job(ctx.incident, "restore", time, ctx.retry("restore"), COPY_RESTORE_VARIANT),
    step: "restore",
    args: {
      command: "restore",
      options: {
        fromCopy: true,
        container: ctx.container,
        prefix: copyPrefix,
        sourceServer: ptrServerName(ctx.live),
        runId: id,
        jobs: ctx.jobs,
        workDir: SCRATCH_DIR,
      } satisfies CopyRestoreArgs,
    },
    // The target (PG*, as every restore) and the copy it dumps and compares with (PTR_PG*).
    connections: { "": ctx.server("live"), PTR_: ctx.server("ptr") },
    after,
    runId: id,
  };
}

/**
 * "…or otherwise": only the chosen tables' rows, merged into the live database in one transaction (their
 * previous rows kept in dr_before_<run id>); the other tables keep what users wrote since. Then their check.
 */
function tableRestoreJobs(
  ctx: DataPathContext,
  time: DateTime,
  copyPrefix: string,
  after: string,
  tables: readonly string[],
): PlannedJob[] {
  const { incident, retry } = ctx;
  const tag = tableSetTag(tables);
  const id = runId.ptrTableRestore(time, tables);
  const restore = k8sName.job(incident, "restore", time, retry("restore"), tag);
  // The contract's TableRestoreArgs: none of a whole-database restore's flags (the tool refuses them beside
  // --tables).
  const options: TableRestoreArgs = {
    tables,
    container: ctx.container,
    prefix: copyPrefix,
    blob: "latest",
    sourceDatabase: ctx.db,
    database: ctx.db,
    runId: id,
    workDir: SCRATCH_DIR,
  };
  return [
    {
      name: restore,
      step: "restore",
      args: { command: "restore", options },
      connections: { "": ctx.server("live") },
      after,
      runId: id,
    },
    {
      // Validate the restore: the chosen tables of the live database now equal the PTR copy's.
      name: k8sName.job(incident, "compare", time, retry("compare"), tag),
      step: "compare",
      args: { command: "compare", options: { tables, runId: id } },
      connections: { LEFT_: ctx.server("live"), RIGHT_: ctx.server("ptr") },
      after: restore,
      runId: undefined,
    },
  ];
}

/**
 * Scenario 1 from a backup: the restore into the recreated server and its check against the backup's manifest.
 * A revived or geo-restored server brings its data with it: no Job.
 */
function rebuildJobs(ctx: DataPathContext, open: RebuildIncident): PlannedJob[] {
  if (open.source.from !== "backup" || open.phase === "isolate") return [];
  const { incident, retry } = ctx;
  const id = runId.rebuildRestore(incident);
  const restore = k8sName.job(incident, "restore", undefined, retry("restore"));
  return [
    {
      // "Restore the data from previous backup in Azure storage": the newest nightly dump, or a named one.
      name: restore,
      step: "restore",
      args: ctx.restoreArgs(backupPrefix.nightly(ctx.live), open.source.backupBlob, id),
      connections: { "": ctx.server("live") },
      after: undefined,
      runId: id,
    },
    {
      // Validate the restore: the lost server leaves no second database, so the rebuilt live database is
      // checked against the manifest that backup took in pg_dump's snapshot (row counts and checksums of
      // every table); the restore run's record names the blob it restored, so nothing is looked up again.
      name: k8sName.job(incident, "compare", undefined, retry("compare")),
      step: "compare",
      args: { command: "compare", options: { runId: id, container: ctx.container, jobs: ctx.jobs } },
      connections: { "": ctx.server("live") },
      after: restore,
      runId: undefined,
    },
  ];
}

/**
 * The retro's evidence at close ("Post DR review"): `dr-data incident-report` reads what the incident's Jobs
 * left under `incident/<id>/` (their completion records and logs, the inspection and reconciliation reports)
 * and writes `incident/<id>/report.json` and `report.md` once. After the last recovery Job, so its timeline
 * is complete; one per incident (no restore time in its name: it reports on all of them). It reads and
 * writes only the blob store: no server connection. `--restore-time` is the PTR copy's point (a rebuild has
 * none it could name: the tool falls back to the reports'); `--declared-at` is `incidentDeclaredAt`, the
 * incident's start, where the RTO begins and the RPO ends (without it the tool takes the first Job's start, which
 * leaves out the time before the first up); the objectives are the service's when it has them (without them the
 * tool leaves them unjudged).
 */
function reportJob(
  ctx: DataPathContext,
  open: PtrIncident | RebuildIncident,
  restoreTimeUtc: DateTime | undefined,
  after: string | undefined,
): PlannedJob {
  const restoreTime = restoreTimeUtc === undefined ? {} : { restoreTime: azureUtc(restoreTimeUtc) };
  const declaredAt = open.declaredAt === undefined ? {} : { declaredAt: azureUtc(open.declaredAt.utc) };
  return {
    name: k8sName.job(ctx.incident, "report", undefined, ctx.retry("report")),
    step: "report",
    args: {
      command: "incident-report",
      options: {
        container: ctx.container,
        incident: ctx.incident,
        timeZone: ctx.cfg.timeZone,
        ...declaredAt,
        ...restoreTime,
        // The incident is measured against the service's objectives when it has them (config/drill.ts).
        ...(ctx.cfg.objectives === undefined
          ? {}
          : { rpoMinutes: ctx.cfg.objectives.rpoMinutes, rtoMinutes: ctx.cfg.objectives.rtoMinutes }),
      },
    },
    connections: {},
    after,
    runId: undefined,
  };
}

/** The Jobs' timeout and scratch volume: as configured, or derived from the expected database size. */
function jobSizing(cfg: StackConfig): Pick<DataPathPlan, "timeoutMinutes" | "scratch"> {
  const t = cfg.dataTool;
  // Without an expected size, the server's storage: the database cannot be larger.
  const databaseBytes = (t.databaseSizeGiB ?? cfg.postgres.storageSizeGb) * GiB;
  return {
    timeoutMinutes:
      t.timeoutMinutes ??
      jobTimeoutMinutes(databaseBytes * LONGEST_JOB_WORK, MEASURED_THROUGHPUT.restoreBytesPerSecond),
    scratch: scratchVolume(
      SCRATCH_VOLUME,
      t.scratch.storageClass,
      t.scratch.size ?? scratchSizeFor(databaseBytes),
      {
        ...PART_OF_LABEL,
      },
    ),
  };
}

const GiB = 1024 ** 3;

function troubleshootPod(namespace: string, incident: string, ctx: DataPathContext): TroubleshootPodPlan {
  const name = k8sName.troubleshootPod(incident);
  const exec = (helper: string): string => `kubectl -n ${namespace} exec -it ${name} -- ${helper}`;
  return {
    name,
    connections: { PTR_: ctx.server("ptr", "troubleshoot"), LIVE_: ctx.server("live", "troubleshoot") },
    serviceAccountName: ctx.runAs("troubleshoot").serviceAccountName,
    psqlPtr: exec("psql-ptr"),
    psqlLive: exec("psql-live"),
  };
}
