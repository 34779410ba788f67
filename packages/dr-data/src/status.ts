/**
 * `status`: is last night's backup good? Per database under a server's nightly prefix, the newest backup (its
 * age, size, and whether it verified from storage, from its status record, verify.ts), the newest one that did
 * verify, and the newest drill report under the server's drill prefix (naming.ts `drillReport`). The verdict
 * is what an alert needs: ok only when every database's newest backup verified and is younger than the maximum
 * age; otherwise each reason, one per database. A backup without a status record is "unverified": it was taken
 * without `--verify`, or its verification has not finished (or died).
 */
import type { ContainerClient } from "@azure/storage-blob";
import { DateTime } from "luxon";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { describeError, storageErrorCode, UsageError } from "./errors";
import { listBackups, sortNewestFirst, formatAge, formatTable, type BackupEntry } from "./list";
import {
  AZURE_SERVER_NAME,
  backupPrefix,
  backupStatusBlobName,
  drillReport,
  parseDrillReportBlobName,
} from "./naming";
import { formatBytes } from "./progress";
import { parseStatus, type BackupStatus } from "./verify";
import { formatLastDrill, lastDrillOf, type LastDrill } from "./reports/drill-report-shape";

/** A nightly schedule (24 h) plus two hours of grace. */
export const DEFAULT_MAX_AGE_HOURS = 26;

export interface StatusOptions {
  readonly store: BlobStoreSettings;
  /** The live server whose nightly backups and drills are looked at. */
  readonly server: string;
  /** Only this database; default every database with a backup under the prefix. */
  readonly database?: string | undefined;
  readonly now: DateTime;
  readonly maxAgeHours: number;
}

/** A backup as the status shows it. */
export interface BackupSummary {
  readonly backup: string;
  /** UTC ISO 8601, from the blob's name. */
  readonly startedAt: string;
  readonly ageHours: number;
  readonly size: number;
  /** `unverified`: no status record. */
  readonly verification: "verified" | "failed" | "unverified";
  /** Why `failed` or `unverified`; null when verified. */
  readonly reason: string | null;
}

export interface DatabaseStatus {
  readonly database: string;
  readonly newest: BackupSummary | null;
  readonly lastVerified: BackupSummary | null;
  readonly ok: boolean;
  /** Why not ok; null when ok. */
  readonly problem: string | null;
}

export interface StatusReport {
  readonly container: string;
  readonly prefix: string;
  readonly now: string;
  readonly maxAgeHours: number;
  readonly databases: DatabaseStatus[];
  /** The newest drill report (when, result, timings, objectives met), or null: none under `drillPrefix`. */
  readonly lastDrill: LastDrill | null;
  readonly drillPrefix: string;
  readonly ok: boolean;
  /** Every reason it is not ok (one per database, or the prefix holding none). */
  readonly problems: string[];
}

export async function backupStatus(o: StatusOptions): Promise<StatusReport> {
  if (!AZURE_SERVER_NAME.test(o.server)) {
    throw new UsageError(
      `status: --server must be a flexible server name (3–63 lowercase letters, digits, inner hyphens); ` +
        `got ${JSON.stringify(o.server)}`,
    );
  }
  const container = containerClient(o.store);
  const prefix = backupPrefix.nightly(o.server);
  const entries = await listBackups({ store: o.store, prefix, database: o.database });
  const names = o.database !== undefined ? [o.database] : [...new Set(entries.map((e) => e.database))].sort();
  const databases: DatabaseStatus[] = [];
  for (const database of names) {
    const mine = sortNewestFirst(entries.filter((e) => e.database === database));
    databases.push(await databaseStatus(container, database, mine, o));
  }
  const where = `${container.containerName}/${prefix}/`;
  const problems =
    databases.length === 0
      ? [`no backup at all under ${where}: the nightly never committed one there`]
      : databases.flatMap((d) => (d.problem === null ? [] : [d.problem]));
  const drillPrefix = drillReport.prefix(o.server);
  return {
    container: container.containerName,
    prefix,
    now: isoUtc(o.now),
    maxAgeHours: o.maxAgeHours,
    databases,
    lastDrill: await newestDrill(container, drillPrefix),
    drillPrefix,
    ok: problems.length === 0,
    problems,
  };
}

/** One database: its newest backup, the newest that verified, and whether the newest is good and recent. */
async function databaseStatus(
  container: ContainerClient,
  database: string,
  newestFirst: readonly BackupEntry[],
  o: StatusOptions,
): Promise<DatabaseStatus> {
  const where = `${container.containerName}/${backupPrefix.nightly(o.server)}/`;
  if (newestFirst.length === 0) {
    const problem = `${database}: no backup at all under ${where}`;
    return { database, newest: null, lastVerified: null, ok: false, problem };
  }
  const summaries: BackupSummary[] = [];
  for (const entry of newestFirst) {
    summaries.push(await summarize(container, entry, o.now));
    if (summaries[summaries.length - 1]!.verification === "verified") break;
  }
  const newest = summaries[0]!;
  const lastVerified = summaries.find((s) => s.verification === "verified") ?? null;
  // The exact age decides (the summary's is rounded for reading).
  const ageHours = o.now.diff(newestFirst[0]!.startedAt).as("hours");
  const problem = newestProblem(database, newest, ageHours, o.maxAgeHours);
  return { database, newest, lastVerified, ok: problem === null, problem };
}

/** Why the newest backup does not do, or null: it must have verified and be younger than the maximum age. */
export function newestProblem(
  database: string,
  newest: BackupSummary,
  ageHours: number,
  maxAgeHours: number,
): string | null {
  const problems: string[] = [];
  if (ageHours >= maxAgeHours) {
    problems.push(
      `no backup in the last ${maxAgeHours} h: the newest, ${newest.backup}, is ${formatHours(ageHours)} old ` +
        `(the nightly did not run, or failed before its commit)`,
    );
  }
  if (newest.verification === "failed") {
    problems.push(`the newest backup, ${newest.backup}, did not verify: ${newest.reason}`);
  } else if (newest.verification === "unverified") {
    problems.push(`the newest backup, ${newest.backup}, is unverified: ${newest.reason}`);
  }
  return problems.length === 0 ? null : `${database}: ${problems.join("; ")}`;
}

/** A backup and its status record, if it has one. */
export async function summarize(
  container: ContainerClient,
  e: BackupEntry,
  now: DateTime,
): Promise<BackupSummary> {
  const base = {
    backup: e.name,
    startedAt: isoUtc(e.startedAt),
    ageHours: Math.round(now.diff(e.startedAt).as("hours") * 100) / 100,
    size: e.size,
  };
  const record = await readStatus(container, e.name);
  if ("missing" in record) return { ...base, verification: "unverified", reason: record.missing };
  const s = record.status;
  if (s.backup !== e.name || s.size !== e.size) {
    const reason = `its status record is of ${s.backup} (${s.size} bytes), not of this blob (${e.size} bytes)`;
    return { ...base, verification: "unverified", reason };
  }
  return s.verified
    ? { ...base, verification: "verified", reason: null }
    : { ...base, verification: "failed", reason: s.reason };
}

/** `<blob>.status.json`, or why there is none to go by. */
async function readStatus(
  container: ContainerClient,
  blob: string,
): Promise<{ readonly status: BackupStatus } | { readonly missing: string }> {
  const name = backupStatusBlobName(blob);
  let bytes: Buffer;
  try {
    bytes = await container.getBlobClient(name).downloadToBuffer();
  } catch (err) {
    if (storageErrorCode(err) === "BlobNotFound") {
      return {
        missing: `no status record ${name} (taken without --verify, or its verification did not finish)`,
      };
    }
    throw new Error(`reading ${container.containerName}/${name}`, { cause: err });
  }
  try {
    return { status: parseStatus(bytes.toString("utf8"), name) };
  } catch (err) {
    return { missing: describeError(err) };
  }
}

/** The newest `drill/<server>/<stamp>/report.json`, by the time in its name; null when there is none. */
async function newestDrill(container: ContainerClient, prefix: string): Promise<LastDrill | null> {
  let newest: { report: string; startedAt: DateTime } | undefined;
  try {
    for await (const item of container.listBlobsFlat({ prefix: `${prefix}/` })) {
      const parsed = parseDrillReportBlobName(item.name);
      if (parsed !== undefined && (newest === undefined || parsed.startedAt > newest.startedAt)) {
        newest = { report: item.name, startedAt: parsed.startedAt };
      }
    }
  } catch (cause) {
    throw new Error(`listing ${container.containerName}/${prefix}/`, { cause });
  }
  return newest === undefined ? null : lastDrillOf(container, newest.report, isoUtc(newest.startedAt));
}

function isoUtc(t: DateTime): string {
  return t.toUTC().toISO({ suppressMilliseconds: true }) ?? "";
}

function formatHours(hours: number): string {
  return formatAge(hours * 3600);
}

/** The human form: a table of databases, the last drill, and the verdict last (an alert's log shows it). */
export function formatStatus(r: StatusReport): string {
  const rows = r.databases.map((d) => [
    d.database,
    d.newest?.backup ?? "none",
    d.newest === null ? "-" : formatHours(d.newest.ageHours),
    d.newest === null ? "-" : formatBytes(d.newest.size),
    d.newest?.verification ?? "-",
    d.lastVerified === null
      ? "none"
      : `${d.lastVerified.backup} (${formatHours(d.lastVerified.ageHours)} old)`,
  ]);
  const table =
    rows.length === 0
      ? `no backups under ${r.container}/${r.prefix}/`
      : formatTable(["database", "newest backup", "age", "size", "verified", "last verified"], rows);
  const drill =
    r.lastDrill === null
      ? `last drill: no drill recorded (none under ${r.container}/${r.drillPrefix}/)`
      : formatLastDrill(r.lastDrill);
  const verdict = r.ok
    ? `OK: every newest backup verified and younger than ${r.maxAgeHours} h (as of ${r.now})`
    : `NOT OK (as of ${r.now}, maximum age ${r.maxAgeHours} h):\n${r.problems.map((p) => `  - ${p}`).join("\n")}`;
  return [table, drill, verdict].join("\n");
}
