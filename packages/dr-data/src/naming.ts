/**
 * Physical names: the one place that turns logical names (the live server, an incident id, a database) into
 * the names Azure, Kubernetes, PostgreSQL and the blob store see. The Pulumi program, the data-plane tool
 * (`packages/dr-data/`) and the drill all import it, so a name is never re-derived somewhere else (the seed's workflows
 * re-derived them in bash, and drifted).
 *
 * Every function here is pure. Limits that the platforms enforce are exported as constants so the config
 * validation can check names *before* anything is declared.
 */
import * as crypto from "node:crypto";
import { DateTime } from "luxon";

/** Azure Database for PostgreSQL flexible server names: 3–63 chars, lowercase letters, digits, hyphens, not starting or ending with a hyphen. */
export const AZURE_SERVER_NAME = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/;
/** Kubernetes DNS-1123 label (namespaces, Service names, container names): ≤ 63 chars. */
export const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** Kubernetes DNS-1123 subdomain (Deployment, Job, Ingress, Secret names): ≤ 253 chars, dot-separated labels. */
export const DNS1123_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/**
 * Job names are subdomains, but the Job controller copies the name into the `job-name` label of its pods and
 * labels are ≤ 63 chars, so a Job's name is in practice a DNS-1123 label.
 */
export const JOB_NAME = DNS1123_LABEL;
/** PostgreSQL truncates identifiers longer than NAMEDATALEN-1 = 63 bytes: a truncated name could collide. */
export const PG_IDENTIFIER_MAX_BYTES = 63;
/** An incident id is part of Job names and database names, so it is short and lowercase. */
export const INCIDENT_ID = /^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$/;

/**
 * The incident id `nextStep` and the messages suggest: `inc-YYYYMMDD-HHMM`, the wall clock in the stack's
 * zone, so a second incident on the same day gets another id (17 characters: within INCIDENT_ID's 20). With
 * `appDatabase`, the first of the shorter forms whose derived names fit this stack in either mode
 * (`incidentIdProblems`): a long database name leaves less room (`<db>_restore_rebuild-<id>` ≤ 63 bytes), and
 * an id the stack would refuse is never suggested.
 */
export function suggestedIncidentId(now: DateTime, zone: string, appDatabase?: string): string {
  const local = now.setZone(zone);
  const t = local.isValid ? local : now.toUTC();
  const forms = [
    `inc-${t.toFormat("yyyyLLdd-HHmm")}`,
    `inc-${t.toFormat("yyLLdd-HHmm")}`,
    t.toFormat("yyLLdd-HHmm"),
  ];
  if (appDatabase === undefined) return forms[0]!;
  return forms.find((id) => incidentIdProblems(id, appDatabase).length === 0) ?? forms[forms.length - 1]!;
}

/** The point-in-time-restore copy of a live server (the seed's `s189t01-ittms-stg-pg-ptr`). */
export function ptrServerName(liveServerName: string): string {
  return `${liveServerName}-ptr`;
}

/** The Azure resource id of a flexible server; the PTR copy names its source by this id. */
export function flexibleServerId(subscriptionId: string, resourceGroup: string, serverName: string): string {
  return (
    `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}` +
    `/providers/Microsoft.DBforPostgreSQL/flexibleServers/${serverName}`
  );
}

/** The Azure resource id of a database on a flexible server (the import id of `dbforpostgresql.Database`). */
export function flexibleServerDatabaseId(serverId: string, database: string): string {
  return `${serverId}/databases/${database}`;
}

/** The host name Azure gives a flexible server (public cloud). */
export function serverFqdn(serverName: string): string {
  return `${serverName}.postgres.database.azure.com`;
}

/** `YYYYMMDDTHHMMSSZ`, always UTC: sorts lexically in time order, which `list` and `latest` rely on. */
export function compactUtc(instant: DateTime | Date): string {
  const dt = instant instanceof Date ? DateTime.fromJSDate(instant) : instant;
  return dt.toUTC().toFormat("yyyyLLdd'T'HHmmss'Z'");
}

/** Parses `compactUtc` back; undefined if the text is not exactly that shape. */
export function parseCompactUtc(text: string): DateTime | undefined {
  if (!/^\d{8}T\d{6}Z$/.test(text)) return undefined;
  const dt = DateTime.fromFormat(text, "yyyyLLdd'T'HHmmss'Z'", { zone: "utc" });
  return dt.isValid ? dt : undefined;
}

/** Where a backup blob goes: `<prefix>/<db>_<YYYYMMDDTHHMMSSZ>` (the style guide's deterministic name). */
export function backupBlobName(prefix: string, database: string, startedAt: DateTime | Date): string {
  return `${trimSlashes(prefix)}/${database}_${compactUtc(startedAt)}`;
}

/** Reads `<prefix>/<db>_<stamp>` back into its parts; undefined for any other blob under the prefix. */
export function parseBackupBlobName(
  name: string,
): { prefix: string; database: string; startedAt: DateTime } | undefined {
  const slash = name.lastIndexOf("/");
  const base = name.slice(slash + 1);
  const m = /^(.+)_(\d{8}T\d{6}Z)$/.exec(base);
  if (!m) return undefined;
  const startedAt = parseCompactUtc(m[2]!);
  if (!startedAt) return undefined;
  return { prefix: slash < 0 ? "" : name.slice(0, slash), database: m[1]!, startedAt };
}

/**
 * The sidecar blob holding a backup's manifest (per-table row counts and checksums, packages/dr-data/src/manifest.ts):
 * `<backup blob>.manifest.json`. `parseBackupBlobName` does not read it as a backup.
 */
export function backupManifestBlobName(backupBlobName: string): string {
  return `${backupBlobName}.manifest.json`;
}

/**
 * The sidecar blob holding a backup's verification record (packages/dr-data/src/verify.ts): `<backup blob>.status.json`,
 * written once, after the backup was read back from storage and checked. Beside the backup, under the same
 * prefix, so the lifecycle rule that deletes the backup deletes its record too. `parseBackupBlobName` does not
 * read it as a backup.
 */
export function backupStatusBlobName(backupBlobName: string): string {
  return `${backupBlobName}.status.json`;
}

/**
 * The empty marker `<backup blob>.verified`, written once after a status record that says verified (and never
 * after one that does not): its name alone tells a verified nightly, which is what the storage logs the
 * missing-backup alert reads carry (a blob's name, not its contents). Under the backup's prefix, like the record.
 */
export function backupVerifiedBlobName(backupBlobName: string): string {
  return `${backupBlobName}.verified`;
}

/**
 * What a blob name or prefix the tool accepts may be: segments separated by single `/`, none empty, `.` or
 * `..`; no leading `/`, no backslash, no control character. A blob's URL is the container's with the name
 * appended, and URL resolution collapses `..` — `../other/x` would be another container's blob, and
 * `nightly/../x` a blob outside the `nightly/` prefix its lifecycle rule keeps.
 */
export const BLOB_PATH_RULE =
  'segments separated by single "/", none empty, "." or ".."; no leading "/", no backslash, no control character';

/** Why `value` is not a safe blob name or prefix (BLOB_PATH_RULE), or undefined when it is. */
export function blobPathProblem(value: string): string | undefined {
  if (value === "") return "it is empty";
  if (value.startsWith("/")) return 'it starts with "/"';
  if (value.includes("\\")) return "it holds a backslash";
  if (/[\u0000-\u001f\u007f]/.test(value)) return "it holds a control character";
  const segments = value.split("/");
  if (segments.includes("")) return "it has an empty segment";
  const dots = segments.find((x) => x === "." || x === "..");
  if (dots !== undefined) return `it has a "${dots}" segment`;
  return undefined;
}

/** Blob prefixes, one per kind of backup, so a nightly `latest` can never pick an incident's copy. */
export const backupPrefix = {
  /** The scheduled nightly dump of the live server. */
  nightly: (liveServerName: string): string => `nightly/${liveServerName}`,
  /** "Back up the flawed database" before anything else happens in a loss-of-data incident. */
  flawed: (incidentId: string, liveServerName: string): string =>
    `incident/${incidentId}/flawed/${liveServerName}`,
  /**
   * "Upload the restored database to storage": the PTR copy's dump, the input of the restore. One prefix per
   * restore time, so `latest` under it is always the dump of the copy made for that time.
   */
  ptrCopy: (incidentId: string, liveServerName: string, restoreTimeUtc: DateTime): string =>
    `incident/${incidentId}/ptr/${ptrServerName(liveServerName)}/${compactUtc(restoreTimeUtc)}`,
  /** Everything an incident writes (its dumps and its Jobs' logs) is under this prefix. */
  incident: (incidentId: string): string => `incident/${incidentId}`,
} as const;

/**
 * Where a recovery drill's report of a live server is kept: `drill/<server>/<YYYYMMDDTHHMMSSZ>/report.json`, one
 * folder per drill, named by when it started (so the newest sorts last). `dr-data status` reads the newest one
 * under `drillReport.prefix`.
 */
export const drillReport = {
  prefix: (liveServerName: string): string => `drill/${liveServerName}`,
  blob: (liveServerName: string, startedAt: DateTime | Date): string =>
    `${drillReport.prefix(liveServerName)}/${compactUtc(startedAt)}/report.json`,
} as const;

/**
 * Where a drill's Job writes its full output: `drill/<server>/<YYYYMMDDTHHMMSSZ>/logs/<job name>.log`, in the
 * drill's folder (never under `incident/`: a drill is no incident, and its records must not make a later
 * incident's step look done).
 */
export function drillLogBlobName(
  liveServerName: string,
  startedAt: DateTime | Date,
  jobName: string,
): string {
  return `${drillReport.prefix(liveServerName)}/${compactUtc(startedAt)}/logs/${jobName}.log`;
}

/** A drill Job's completion record (job-log.ts): `drill/<server>/<YYYYMMDDTHHMMSSZ>/done/<job name>.json`. */
export function drillDoneBlobName(
  liveServerName: string,
  startedAt: DateTime | Date,
  jobName: string,
): string {
  return `${drillReport.prefix(liveServerName)}/${compactUtc(startedAt)}/done/${jobName}.json`;
}

/**
 * A scheduled drill's throwaway point-in-time copy of the live server: `<live>-drill`. Never the live name nor
 * the incident copy's (`<live>-ptr`), so a drill and an incident can never hold or delete the other's server.
 */
export function drillServerName(liveServerName: string): string {
  return `${liveServerName}-drill`;
}

/**
 * A drill's Job: `<drill id>-<step>` (the id is `drill-YYYYMMDD-HHMM`), a new name per drill, so a Job of
 * an earlier drill is never mistaken for this one's.
 */
export function drillJobName(drillId: string, step: string): string {
  return `${drillId}-${step}`;
}

/** The scratch database on the drill's copy the newest nightly backup is restored into (never the app's). */
export function drillScratchDatabase(appDatabase: string): string {
  return `${appDatabase}_drill`;
}

/**
 * The run id of a drill's restore: the same for every drill, since each drill restores into a copy made fresh
 * from live (which never holds a drill's databases), and short, so the staging database's name fits.
 */
export const DRILL_RUN_ID = "drill";

/** Reads `drill/<server>/<stamp>/report.json` back: the drill's start; undefined for any other name. */
export function parseDrillReportBlobName(name: string): { server: string; startedAt: DateTime } | undefined {
  const m = /^drill\/([^/]+)\/(\d{8}T\d{6}Z)\/report\.json$/.exec(name);
  const startedAt = m === null ? undefined : parseCompactUtc(m[2]!);
  return m === null || startedAt === undefined ? undefined : { server: m[1]!, startedAt };
}

/**
 * Where the tool writes a recovery Job's full output (stdout and stderr), so the evidence — verification,
 * compare tables — outlives the Job: `incident/<id>/logs/<job name>.log` in the backup container.
 */
export function incidentLogBlobName(incidentId: string, jobName: string): string {
  return `${backupPrefix.incident(incidentId)}/logs/${jobName}.log`;
}

/**
 * The record a recovery Job's tool writes once its step succeeded: `incident/<id>/done/<job name>.json`. A Job
 * that Kubernetes runs again under the same name (the operator went back a phase, which deletes the Job, and
 * forward again, which creates it anew) finds it and does nothing, so a finished step never runs twice —
 * whatever order of phases got there. `retry.<step>` gives a new Job name, hence a new record.
 */
export function incidentDoneBlobName(incidentId: string, jobName: string): string {
  return `${backupPrefix.incident(incidentId)}/done/${jobName}.json`;
}

/**
 * The environment a recovery Job gives the tool (packages/dr-data/src/job-log.ts): the container, the blob its full output
 * goes to, and the blob of its completion record. Without them the tool writes no log and keeps no record.
 */
export const JOB_LOG_ENV = {
  container: "DR_DATA_LOG_CONTAINER",
  blob: "DR_DATA_LOG_BLOB",
  done: "DR_DATA_DONE_BLOB",
} as const;

/** The identifier-safe form of a run id (`-` is legal in DNS names but would need quoting in SQL). */
export function runIdForSql(runId: string): string {
  return runId.replace(/-/g, "_");
}

/** The database a restore fills before the swap; dropped by nobody automatically. */
export function stagingDatabaseName(database: string, runId: string): string {
  return `${database}_restore_${runIdForSql(runId)}`;
}

/** What the live database is renamed to by the swap: kept, never dropped by the tool. */
export function beforeDatabaseName(database: string, runId: string): string {
  return `${database}_before_${runIdForSql(runId)}`;
}

/** Byte length as PostgreSQL counts it (UTF-8). */
export function pgIdentifierBytes(identifier: string): number {
  return Buffer.byteLength(identifier, "utf8");
}

/**
 * Any run id (from `runId` below or given by hand): lowercase letters, digits and inner hyphens. It becomes
 * part of database names (`runIdForSql`) and Job names, whose own length limits apply on top.
 */
export const RUN_ID = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** The one check of a run id: undefined when it is one, else the problem naming the flag and the value. */
export function runIdProblem(runId: string): string | undefined {
  if (RUN_ID.test(runId)) return undefined;
  return `--run-id ${JSON.stringify(runId)} must be lowercase letters, digits and inner hyphens`;
}

/**
 * Run ids of the restores: the key of their idempotence (a run id whose `<db>_before_<run id>` exists has
 * completed) and part of the database names they create, so they are short. A PTR restore is identified by
 * its restore time (a new time is a new run); a rebuild's restore by the incident.
 */
export const runId = {
  ptrRestore: (restoreTimeUtc: DateTime): string => `pitr-${compactUtc(restoreTimeUtc).toLowerCase()}`,
  rebuildRestore: (incidentId: string): string => `rebuild-${incidentId}`,
  /**
   * A table-level restore (`ptr.tables`): the restore time and the table set, so another set is another run
   * (the tool refuses a run id whose record names other tables) and the same set, in any order, the same run.
   */
  ptrTableRestore: (restoreTimeUtc: DateTime, tables: readonly string[]): string =>
    `${runId.ptrRestore(restoreTimeUtc)}-${tableSetTag(tables)}`,
} as const;

/**
 * `t<6 hex>`: a digest of a table set (sorted, so the order it is listed in does not matter). Part of the
 * table-level restore's run id and of its Jobs' names: a changed `ptr.tables` is a new Job, never a finished
 * one silently kept (a Job's spec is never updated, components/recovery-jobs.ts).
 */
export function tableSetTag(tables: readonly string[]): string {
  const digest = crypto
    .createHash("sha256")
    .update([...tables].sort().join(","))
    .digest("hex");
  return `t${digest.slice(0, 6)}`;
}
/** The longest run id either kind can produce for an incident id (used to check database name lengths). */
export function longestRunId(incidentId: string): string {
  const ptr = runId.ptrRestore(DateTime.fromMillis(0, { zone: "utc" }));
  const rebuild = runId.rebuildRestore(incidentId);
  return ptr.length >= rebuild.length ? ptr : rebuild;
}

/**
 * Why an incident id cannot name this stack's recovery objects, in either mode (an incident may be re-declared
 * in the other): the longest recovery Job name must be a DNS-1123 label, and the longest database names a
 * restore creates must fit PostgreSQL's 63 bytes, or they would be truncated and could collide.
 */
export function incidentIdProblems(incidentId: string, appDatabase: string | undefined): string[] {
  const problems: string[] = [];
  const job = k8sNameProblem({
    object: "longest recovery Job",
    name: longestJobName(incidentId),
    rule: "job",
  });
  if (job !== undefined) problems.push(job);
  if (appDatabase !== undefined) {
    const run = longestRunId(incidentId);
    const long = [beforeDatabaseName(appDatabase, run), stagingDatabaseName(appDatabase, run)].find(
      (name) => pgIdentifierBytes(name) > PG_IDENTIFIER_MAX_BYTES,
    );
    if (long !== undefined) {
      problems.push(
        `with postgres.appDatabase ${JSON.stringify(appDatabase)} it makes the database name "${long}" longer than PostgreSQL's ${PG_IDENTIFIER_MAX_BYTES} bytes; use a shorter incidentId`,
      );
    }
  }
  return problems;
}

/** Kubernetes object names derived from the service's base name. */
export const k8sName = {
  maintenancePage: (service: string): string => `${service}-maintenance`,
  maintenanceMessage: (service: string): string => `${service}-maintenance-message`,
  publicIngress: (service: string): string => `${service}-public`,
  temporaryIngress: (service: string): string => `${service}-temp`,
  nightlyBackup: (service: string): string => `${service}-db-backup`,
  dataToolSecret: (service: string): string => `${service}-dr-db-credentials`,
  storageSecret: (service: string): string => `${service}-dr-storage`,
  /** The troubleshooting pod (psql-ptr, psql-live) of an incident while its PTR copy exists. */
  troubleshootPod: (incidentId: string): string => `dr-${incidentId}-psql`,
  /**
   * One Job per incident, step and (for PTR steps) restore time: a later `pulumi up` sees the same name and
   * does not run it again; a new restore time is a new Job. `retry` (config `retry.<step>`, 1–99) is the one
   * deliberate way to run a step again: `-r<N>` makes it a new Job. `variant` tells apart Jobs of the same
   * step that do different things: the table-level restore and its compare carry `tableSetTag(ptr.tables)`.
   */
  job: (
    incidentId: string,
    step: JobStep,
    restoreTimeUtc?: DateTime,
    retry?: number,
    variant?: string,
  ): string =>
    `dr-${incidentId}-${step}` +
    (restoreTimeUtc === undefined ? "" : `-${compactUtc(restoreTimeUtc).toLowerCase()}`) +
    (variant === undefined ? "" : `-${variant}`) +
    (retry === undefined ? "" : `-r${retry}`),
} as const;

/**
 * The variant of the whole-database PTR restore Job (`restore --from-copy`, which also dumps the copy and
 * compares with it): its own name, so an incident upgraded from the three Jobs (backup-ptr, restore, compare)
 * never takes their finished restore Job for this one — it runs, finds the run completed and still compares.
 */
export const COPY_RESTORE_VARIANT = "flow";

/** The largest `retry.<step>` (two digits keep the longest Job name predictable). */
export const MAX_RETRY = 99;

export type JobStep =
  "backup-flawed" | "inspect" | "backup-ptr" | "reconcile" | "restore" | "compare" | "report";
/**
 * Every step a recovery Job can have, and whether its name carries a restore time (the PTR steps do, as
 * plan-data.ts names them; the flawed-database backup and a rebuild's steps do not).
 */
export const JOB_STEPS: Readonly<Record<JobStep, { readonly timed: boolean; readonly variant?: boolean }>> = {
  "backup-flawed": { timed: false },
  inspect: { timed: true },
  "backup-ptr": { timed: true },
  reconcile: { timed: true },
  // The table-level restore and its compare add tableSetTag (7 characters), the whole restore
  // COPY_RESTORE_VARIANT (4).
  restore: { timed: true, variant: true },
  compare: { timed: true, variant: true },
  // The incident's report at close: one per incident, whatever restore time its Jobs had.
  report: { timed: false },
};

/**
 * The longest Job name an incident id can make: its longest step, with a restore time where there is one and
 * the largest retry number.
 */
export function longestJobName(incidentId: string): string {
  const anyTime = DateTime.fromMillis(0, { zone: "utc" });
  return (Object.keys(JOB_STEPS) as JobStep[])
    .map((step) =>
      k8sName.job(
        incidentId,
        step,
        JOB_STEPS[step].timed ? anyTime : undefined,
        MAX_RETRY,
        JOB_STEPS[step].variant === true ? tableSetTag([]) : undefined,
      ),
    )
    .reduce((a, b) => (b.length > a.length ? b : a));
}

/** The rules Kubernetes applies to the names (and label values) this program derives. */
export type K8sNameRule = "service" | "label-value" | "subdomain" | "cronjob" | "job";
const K8S_NAME_RULES: Readonly<Record<K8sNameRule, { max: number; pattern: RegExp; text: string }>> = {
  // Service names are DNS-1035 labels: they must start with a letter.
  service: {
    max: 63,
    pattern: /^[a-z](?:[-a-z0-9]*[a-z0-9])?$/,
    text: "a Service name (a DNS-1035 label: starts with a letter; lowercase letters, digits, '-')",
  },
  "label-value": {
    max: 63,
    pattern: /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/,
    text: "a label value",
  },
  subdomain: { max: 253, pattern: DNS1123_SUBDOMAIN, text: "an object name (a DNS-1123 subdomain)" },
  // The CronJob controller appends 11 characters (-<minutes since epoch>) for its Jobs, which are labels.
  cronjob: { max: 52, pattern: DNS1123_SUBDOMAIN, text: "a CronJob name" },
  // The Job controller copies the name into its pods' job-name label.
  job: { max: 63, pattern: JOB_NAME, text: "a Job name (its pods' job-name label)" },
};

/** A Kubernetes name derived from config, with what it names and the rule it must follow. */
export interface DerivedK8sName {
  /** What the name is, as the message says it: "nightly backup CronJob name". */
  readonly object: string;
  readonly name: string;
  readonly rule: K8sNameRule;
}

/** Every Kubernetes name (and label value) derived from `kubernetes.service`. */
export function serviceDerivedNames(service: string): DerivedK8sName[] {
  const page = k8sName.maintenancePage(service);
  return [
    { object: "maintenance page Deployment name", name: page, rule: "subdomain" },
    { object: "maintenance page Service name", name: page, rule: "service" },
    { object: "maintenance page's app label value", name: page, rule: "label-value" },
    { object: "temporary Ingress name", name: k8sName.temporaryIngress(service), rule: "subdomain" },
    { object: "nightly backup CronJob name", name: k8sName.nightlyBackup(service), rule: "cronjob" },
    { object: "database credentials Secret name", name: k8sName.dataToolSecret(service), rule: "subdomain" },
    { object: "storage credentials Secret name", name: k8sName.storageSecret(service), rule: "subdomain" },
  ];
}

/** Why a derived name breaks its rule (`makes the … name "…" …`), or undefined when it is valid. */
export function k8sNameProblem(n: DerivedK8sName): string | undefined {
  const rule = K8S_NAME_RULES[n.rule];
  if (n.name.length > rule.max)
    return `makes the ${n.object} "${n.name}" ${n.name.length} characters; ${rule.text} is at most ${rule.max}`;
  if (!rule.pattern.test(n.name)) return `makes the ${n.object} "${n.name}", which is not ${rule.text}`;
  return undefined;
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}

/**
 * What the look-before-you-restore commands write for an incident (packages/dr-data/src/inspect.ts, packages/dr-data/src/reconcile.ts): the
 * comparison of the PTR copy with the live database, and the rows users wrote since the restore point.
 */
export const incidentReport = {
  /** `incident/<id>/inspect/report.md` or `.json`; a new inspection (a new restore time) replaces it. */
  inspect: (incidentId: string, ext: "md" | "json"): string => `incident/${incidentId}/inspect/report.${ext}`,
  /** The folder of the reconciliation export. */
  reconcilePrefix: (incidentId: string): string => `incident/${incidentId}/reconcile`,
  /** `incident/<id>/reconcile/<schema>.<table>.csv`: the live rows not in the copy, or changed since. */
  reconcileTable: (incidentId: string, schema: string, table: string): string =>
    `incident/${incidentId}/reconcile/${schema}.${table}.csv`,
  /** `incident/<id>/reconcile/summary.md` or `.json`. */
  reconcileSummary: (incidentId: string, ext: "md" | "json"): string =>
    `incident/${incidentId}/reconcile/summary.${ext}`,
  /**
   * `incident/<id>/report.json` or `.md`: the incident's report at close (the timeline of its Jobs, the restore
   * point, rows lost and recovered, objectives), the evidence of the post-DR review; written once.
   */
  retro: (incidentId: string, ext: "md" | "json"): string => `incident/${incidentId}/report.${ext}`,
} as const;

/**
 * Where a table-level restore (packages/dr-data/src/table-restore.ts) keeps the restored tables' rows as they were before:
 * one schema per run id, never dropped by the tool. Its comment is the run's record (idempotence).
 */
export function tableRestoreBeforeSchema(runId: string): string {
  return `dr_before_${runIdForSql(runId)}`;
}

/** The schema a table-level restore loads the backup's rows into first; dropped when the run ends. */
export function tableRestoreStagingSchema(runId: string): string {
  return `dr_restore_${runIdForSql(runId)}`;
}
