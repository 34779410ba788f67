/**
 * `dr-data <backup|restore|compare|list|status|inspect|reconcile> [flags]` — the data-plane tool. See docs/data-tool.md.
 *
 * Exit status: 0 ok (a restore whose run id already completed is ok), 1 a failure, a verification failure or
 * differences found by compare, 2 a usage error (the message names the flag and the allowed values).
 * Logs and progress go to stderr; the result (blob name, restore status, comparison, listing) to stdout.
 */
import { DateTime } from "luxon";
import { RUN_ID } from "./naming";
import { backup } from "./backup";
import { blobStoreFromEnv } from "./blobstore";
import { compare, formatComparison } from "./compare";
import { compareWithBackup, type BackupRef } from "./compare-backup";
import { connectionFromEnv } from "./connection";
import { describeError, UsageError, VerificationError } from "./errors";
import { requiredFlag } from "./flags";
import {
  COMPARE,
  parseBackupArgs,
  parseCompareArgs,
  parseListArgs,
  parseRestoreArgs,
  parseStatusArgs,
} from "./contract";
import * as incident from "./cli-incident";
import { formatBackupList, listBackups } from "./list";
import { restore, type RestoreResult } from "./restore";
import { backupStatus, DEFAULT_MAX_AGE_HOURS, formatStatus } from "./status";
import { runWithJobLog } from "./job-log";
import * as reports from "./reports/cli-reports";

type Env = Readonly<Record<string, string | undefined>>;
interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const USAGE = `usage: dr-data <command> [flags]

commands:
  backup   --container C --prefix P [--database D] [--source-server NAME] [--format custom|directory]
           [--compress 0-9|none|gzip|lz4|zstd[:level]] [--stream-compress zstd:1-19|none] [--jobs N]
           [--block-size-mib N] [--upload-concurrency N] [--work-dir DIR] [--no-manifest] [--verify]
  restore  --container C --blob NAME|latest [--prefix P] --run-id ID [--database D] [--source-database D]
           [--jobs N] [--no-acl] [--analyze] [--setting name=value]... [--maintenance-database postgres]
           [--work-dir DIR] [--allow-unverified] [--skip-missing-roles]
  compare  [--left-database D] [--right-database D] [--jobs N] [--all]
  compare  --run-id ID [--container C] [--database D] [--jobs N] [--all]
  compare  --against-backup NAME|latest --container C [--prefix P] [--source-database D] [--database D]
           [--jobs N] [--all]
  list     --container C --prefix P [--database D]
  status   --container C --server S [--database D] [--max-age-hours N] [--now ISO-TIME] [--json]
${incident.INCIDENT_USAGE}
${reports.REPORTS_USAGE}

manifest: backup records each table's row count and checksum (and sequence values), taken in pg_dump's own
  snapshot, as <blob>.manifest.json (its sha256 in the dump's metadata); --no-manifest skips it. restore checks
  the staging database against it before the swap and refuses the swap on any difference. compare --run-id
  checks a database against the manifest of the backup that restore run restored (PG* is that database's
  server; the run's record names the container and blob); --against-backup names the backup instead.
  restore refuses a backup without a manifest unless --allow-unverified is given.

verification: backup --verify (the nightly CronJob's) reads the committed backup back from storage and checks
  it as a restore would (metadata, manifest, size, sha256, pg_restore --list, table of contents), then writes
  <blob>.status.json once beside it; a backup that does not verify exits 1 after its record says why.
  status shows, per database under nightly/<server>, the newest backup (age, size, verified, failed or
  unverified: no record), the newest verified one and the last drill report (drill/<server>/); it exits 0
  only when every newest backup verified and is younger than --max-age-hours (default 26), else 1 with why.

database-level properties: backup records the database's owner, privileges, ALTER DATABASE / ALTER ROLE …
  IN DATABASE settings, comment, encoding, locale and extensions in the manifest. restore onto a new database
  applies them (every role they name must exist, else it refuses before anything is touched;
  --skip-missing-roles skips what goes to missing roles); over an existing database the replaced database's
  are kept and differences from the backup's record are reported. compare reports database-level differences.

restore target: --database, else PGDATABASE (unless it names the maintenance database), else the backup's
  source database; when PGDATABASE picks a database other than the backup's source, the first line says so.
  The tool connects to the maintenance database (--maintenance-database, default postgres) for CREATE, RENAME
  and DROP DATABASE.

environment:
  PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE      the server and database (backup: source; restore:
                                                           target, see "restore target")
  LEFT_PG* / RIGHT_PG*                                     compare's two sides (each falls back to PG*)
  DR_STORAGE_AUTH=entra|connection-string|shared-key         how the blob store is reached (unset: the one kind
                                                           present; two kinds refused): entra with
                                                           AZURE_STORAGE_ACCOUNT [or AZURE_STORAGE_BLOB_ENDPOINT];
                                                           AZURE_STORAGE_CONNECTION_STRING; or
                                                           AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY
  DR_PG_AUTH=password|entra                                PostgreSQL login: PGPASSWORD (default), or an Entra
                                                           access token fetched for every connection
  DR_DATA_LOG_CONTAINER + DR_DATA_LOG_BLOB [+ DR_DATA_DONE_BLOB]
                                                           a recovery Job's whole output kept as that blob; with
                                                           DONE, a step that already succeeded does nothing
  PG_BINDIR                                                where pg_dump/pg_restore are (default: PATH)
exit status: 0 ok, 1 failure or differences, 2 usage error`;

const COMMANDS = [
  "backup",
  "restore",
  "compare",
  "list",
  "status",
  "inspect",
  "reconcile",
  "pg-token",
  "drill-report",
  "incident-report",
] as const;

// Re-exported: the argv rules live with the flags they check (contract.ts).
export { intFlag, settingsFlag } from "./contract";

async function runBackup(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseBackupArgs(args);
  const result = await backup({
    log: io.err,
    connection: connectionFromEnv(env, "", f.database),
    store: blobStoreFromEnv(env, f.container),
    prefix: f.prefix,
    sourceServer: f.sourceServer,
    format: f.format,
    compress: f.compress,
    streamCompress: f.streamCompress,
    jobs: f.jobs,
    blockSize: f.blockSizeMib === undefined ? undefined : f.blockSizeMib * 1024 * 1024,
    uploadConcurrency: f.uploadConcurrency,
    workDir: f.workDir,
    binDir: env.PG_BINDIR,
    manifest: !(f.noManifest ?? false),
    verify: f.verify,
  });
  io.out(result.blobName);
  return 0;
}

/** `status`: 0 when every newest backup verified and is recent, 1 otherwise (the reasons are printed). */
async function runStatus(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseStatusArgs(args);
  const report = await backupStatus({
    store: blobStoreFromEnv(env, f.container),
    server: f.server,
    database: f.database,
    now: f.now === undefined ? DateTime.utc() : incident.instantFlag("status", "now", f.now),
    maxAgeHours: f.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS,
  });
  io.out(f.json === true ? JSON.stringify(report, null, 2) : formatStatus(report));
  return report.ok ? 0 : 1;
}

/**
 * The restore target, as the help says: `--database`, else `PGDATABASE`, else (undefined) the backup's source
 * database. A `PGDATABASE` naming the maintenance database is where to connect, not a target (the tool never
 * restores into the database it connects to).
 */
export function restoreTarget(
  flag: string | undefined,
  pgDatabase: string | undefined,
  maintenance: string,
): { database: string | undefined; from: "flag" | "PGDATABASE" | undefined } {
  if (flag !== undefined) return { database: flag, from: "flag" };
  if (pgDatabase !== undefined && pgDatabase !== "" && pgDatabase !== maintenance) {
    return { database: pgDatabase, from: "PGDATABASE" };
  }
  return { database: undefined, from: undefined };
}

async function runRestore(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseRestoreArgs(args);
  if (f.tables !== undefined) return incident.runTableRestore({ ...f, tables: f.tables }, env, io);
  if (f.blob === "latest" && (f.prefix ?? "") === "") {
    throw new UsageError(
      "restore: --blob latest needs --prefix (the prefix to pick the newest backup under)",
    );
  }
  const maintenance = f.maintenanceDatabase ?? "postgres";
  const target = restoreTarget(f.database, env.PGDATABASE, maintenance);
  const result = await restore({
    log: io.err,
    connection: connectionFromEnv(env, "", maintenance),
    store: blobStoreFromEnv(env, f.container),
    from: f.blob === "latest" ? { latestUnder: f.prefix! } : { blob: f.blob },
    database: target.database,
    databaseFrom: target.from,
    allowUnverified: f.allowUnverified,
    skipMissingRoles: f.skipMissingRoles,
    sourceDatabase: f.sourceDatabase,
    runId: f.runId,
    jobs: f.jobs,
    noAcl: f.noAcl,
    analyze: f.analyze,
    sessionSettings: f.settings,
    workDir: f.workDir,
    binDir: env.PG_BINDIR,
  });
  io.out(
    result.status === "already-completed"
      ? `run ${result.runId} already completed (${result.beforeDatabase} exists): nothing done`
      : `restored ${result.blobName} into ${result.database}; previous database kept as ${result.beforeDatabase}; ` +
          (result.contents === "verified"
            ? "contents verified against the backup's manifest"
            : "no manifest: contents NOT verified (--allow-unverified)") +
          propertiesSummary(result),
  );
  return 0;
}

function propertiesSummary(r: RestoreResult): string {
  switch (r.properties) {
    case "from backup":
      return (
        "; database-level properties applied from the backup" +
        ((r.skippedForMissingRoles ?? []).length > 0 ? " except those of missing roles (see the log)" : "")
      );
    case "kept": {
      const n = (r.propertiesDifferFromBackup ?? []).length;
      return `; database-level properties kept from the replaced database${n > 0 ? ` (${n} differ from the backup's record, see the log)` : ""}`;
    }
    case "not recorded":
      return "; the backup records no database-level properties: the server's defaults apply";
    default:
      return "";
  }
}

async function runCompare(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseCompareArgs(args);
  if (f.tables !== undefined) return incident.runCompareTables({ ...f, tables: f.tables }, env, io);
  const jobs = f.jobs;
  const runId = f.runId;
  const against = f.againstBackup;
  if (runId !== undefined || against !== undefined) {
    if (runId !== undefined && against !== undefined) {
      throw new UsageError("compare: give --run-id or --against-backup, not both");
    }
    for (const field of ["leftDatabase", "rightDatabase"] as const) {
      if (f[field] !== undefined) {
        throw new UsageError(
          `compare: --${COMPARE[field].flag} is for comparing two databases; use --database here`,
        );
      }
    }
    const connection = connectionFromEnv(env, "", f.database);
    let ref: BackupRef;
    if (runId !== undefined) {
      if (!RUN_ID.test(runId)) {
        throw new UsageError(
          `compare: --run-id ${JSON.stringify(runId)} must be lowercase letters, digits and inner hyphens`,
        );
      }
      if (f.prefix !== undefined || f.sourceDatabase !== undefined) {
        throw new UsageError("compare: --prefix and --source-database go with --against-backup latest");
      }
      ref = { runId, container: f.container };
    } else {
      const container = requiredFlag("compare", COMPARE.container.flag, f.container);
      if (against === "latest") {
        const prefix = f.prefix ?? "";
        if (prefix === "") throw new UsageError("compare: --against-backup latest needs --prefix");
        ref = { latestUnder: prefix, container, sourceDatabase: f.sourceDatabase ?? f.database };
      } else {
        if (against === "") throw new UsageError("compare: --against-backup needs a blob name or latest");
        ref = { blob: against!, container };
      }
    }
    const result = await compareWithBackup({
      log: io.err,
      connection,
      store: (container) => blobStoreFromEnv(env, container),
      backup: ref,
      jobs,
      binDir: env.PG_BINDIR,
    });
    // The verdict stays the last line (the drill's report and a Job's log tail show it).
    io.out(
      `backup: ${result.container}/${result.blobName}\n` +
        formatComparison(result, {
          all: f.all,
          leftLabel: `${connection.host}/${connection.database}`,
          rightLabel: "backup manifest",
        }),
    );
    return result.equal ? 0 : 1;
  }
  for (const field of ["container", "prefix", "database", "sourceDatabase"] as const) {
    if (f[field] !== undefined) {
      throw new UsageError(`compare: --${COMPARE[field].flag} goes with --run-id or --against-backup`);
    }
  }
  const left = connectionFromEnv(env, "LEFT_", f.leftDatabase);
  const right = connectionFromEnv(env, "RIGHT_", f.rightDatabase);
  const result = await compare({ left, right, jobs, log: io.err });
  io.out(
    formatComparison(result, {
      all: f.all,
      leftLabel: `${left.host}/${left.database}`,
      rightLabel: `${right.host}/${right.database}`,
    }),
  );
  return result.equal ? 0 : 1;
}

async function runList(args: string[], env: Env, io: Io): Promise<number> {
  const { container, prefix, database } = parseListArgs(args);
  const entries = await listBackups({
    store: blobStoreFromEnv(env, container),
    prefix,
    database,
  });
  io.out(
    entries.length === 0
      ? `no backups under ${container}/${prefix}`
      : formatBackupList(entries, DateTime.utc()),
  );
  return 0;
}

/** Runs one command; returns the exit status. Never throws. */
export async function main(argv: readonly string[], env: Env = process.env, io?: Io): Promise<number> {
  const out = io ?? {
    out: (t: string) => process.stdout.write(`${t}\n`),
    err: (t: string) => process.stderr.write(`${t}\n`),
  };
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      out.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      out.out(USAGE);
      return 0;
    }
    switch (command) {
      case "backup":
        return await runBackup(rest, env, out);
      case "restore":
        return await runRestore(rest, env, out);
      case "compare":
        return await runCompare(rest, env, out);
      case "list":
        return await runList(rest, env, out);
      case "status":
        return await runStatus(rest, env, out);
      case "inspect":
        return await incident.runInspect(rest, env, out);
      case "reconcile":
        return await incident.runReconcile(rest, env, out);
      case "pg-token":
        return await incident.runPgToken(rest, env, out);
      case "drill-report":
        return await reports.runDrillReport(rest, env, out);
      case "incident-report":
        return await reports.runIncidentReport(rest, env, out);
      default:
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}; allowed values are: ${COMMANDS.join(", ")}`,
        );
    }
  } catch (err) {
    if (err instanceof UsageError) {
      out.err(`dr-data: ${describeError(err)}\n\n${USAGE}`);
      return 2;
    }
    out.err(
      `dr-data: ${err instanceof VerificationError ? "verification failed: " : ""}${describeError(err)}`,
    );
    return 1;
  }
}

if (require.main === module) {
  // A recovery Job names a log blob in its environment: the whole output is also written there (job-log.ts).
  const argv = process.argv.slice(2);
  void runWithJobLog(argv, process.env, () => main(argv)).then((code) => {
    process.exitCode = code;
  });
}
