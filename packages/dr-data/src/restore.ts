/**
 * `restore`: a backup blob into a database, by a staging database and a swap of names.
 *
 * 1. Resolve the blob (a name, or `latest` under a prefix) and read its metadata. A backup without a manifest
 *    is refused unless `allowUnverified` (`--allow-unverified`). A missing container or blob is named with the
 *    storage's reason.
 * 2. Idempotency: if `<db>_before_<run id>` exists, this run id already completed: say so and stop. Then the
 *    preflight, before anything is downloaded: this login's permissions for the swap, and, from the manifest's
 *    database-level record, the extensions the backup uses (available on this server) and, for a new target
 *    database, the roles the record names (they must exist unless `skipMissingRoles`).
 * 3. Download to local disk (a directory-format archive is unpacked as it arrives); verify size and sha256
 *    against the metadata, and that `pg_restore --list` reads it. Nothing on the server has changed so far.
 * 4. Create `<db>_restore_<run id>` (marked by a comment naming the run) and `pg_restore -j N --exit-on-error
 *    --no-owner` into it. If that fails, drop it (this run created it) and stop: the live database was never
 *    touched. A staging database left by a killed run of the same run id carries the marker and is dropped and
 *    re-created; one without the marker is someone else's and the restore refuses.
 *    When the backup has a manifest (packages/dr-data/src/manifest.ts), its sha256 is checked against the dump's metadata in
 *    step 1, before any database is touched, and the staging database is checksummed and compared with it:
 *    each table as soon as pg_restore has loaded its data (while the rest loads and the indexes build:
 *    restore-steps/overlapped-check.ts), everything else after pg_restore; any difference drops the staging
 *    database and refuses the swap, which waits for the whole comparison.
 * 5. Swap in one transaction: end other sessions on the live database, rename live → `<db>_before_<run id>`,
 *    staging → live, and record on `<db>_before_<run id>` (its comment, JSON: `RestoreRecord`) which blob
 *    was restored. The transaction commits both renames and the record or nothing.
 *    The database-level properties (owner, privileges, settings) go to the staging database in the same
 *    transaction: the live database's when it exists (its own win; differences from the backup's record are
 *    logged), else the backup's record (packages/dr-data/src/database-properties.ts), with its comment.
 * When the target database does not exist (a rebuilt, empty server) an empty placeholder is created just
 * before the swap, so the swap and the "already completed" check are the same in both cases; the staging
 * database was created with the backup's recorded encoding and locale.
 * The tool drops no database except its own staging database of this run id; `<db>_before_<run id>` is kept.
 *
 * `restoreFromCopy` (`restore --from-copy`, scenario 2's restore phase in one flow) replaces steps 1 and 3: the
 * copy is dumped by the backup's own steps and stored under its prefix as the evidence, its directory restored
 * while the stored dump is read back and verified; steps 4 and 5 are the same, the swap also waits for that
 * verification, and the restored database is then compared with the copy.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Client } from "pg";
import {
  beforeDatabaseName,
  pgIdentifierBytes,
  PG_IDENTIFIER_MAX_BYTES,
  runIdProblem,
  stagingDatabaseName,
} from "./naming";
import { checkArchive, downloadAndCheckArchive } from "./archive";
import type { BlobClient, ContainerClient } from "@azure/storage-blob";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { formatComparison, type CompareResult, type RelationSummary } from "./compare";
import { connect, withClient, withDatabase, withFreshPassword, type PgConnection } from "./connection";
import { describeError, UsageError, VerificationError } from "./errors";
import { checkAgainstManifest, readManifest, type Manifest } from "./manifest";
import { summarizeForManifest } from "./manifest-check";
import { childEnv, pgRestoreArgv } from "./pgargs";
import { binPath, describeExit, start, type ClientProgramOptions } from "./proc";
import {
  ArchiveProgress,
  CountProgress,
  formatBytes,
  formatSeconds,
  Progress,
  stderrLog,
  type Log,
} from "./progress";
import { queryOne, quoteIdent, quoteLiteral } from "./sql";
import {
  propertyDifferences,
  propertyStatements,
  readDatabaseProperties,
  recordDifferences,
  recordRoles,
  withoutRoles,
  type DatabaseProperties,
  type DatabaseRecord,
} from "./database-properties";
import {
  earlyCheckable,
  holdRestoreLock,
  manifestOf,
  OverlappedCheck,
  requireManifestUnlessAllowed,
  resolveBackup,
  stagingMarker,
  type ResolvedBackup,
  type RestoreSource,
} from "./restore-steps";
import {
  compareWithCopy,
  copyRestoreProblems,
  dumpCopy,
  type CopySource,
  type DumpedCopy,
} from "./restore-steps/from-copy";

// Re-exported: the restores share one resolution of the backup (restore-steps/backup-source.ts).
export type { RestoreSource } from "./restore-steps";
export type { CopySource } from "./restore-steps/from-copy";

/** What every whole-database restore is given about its target and how it runs, wherever its dump comes from. */
export interface RestoreTargetOptions extends ClientProgramOptions {
  /**
   * The target server. Its `database` is the maintenance database the tool connects to for CREATE, DROP and
   * RENAME DATABASE (`postgres` on Azure); it must not be the target database.
   */
  readonly connection: PgConnection;
  readonly store: BlobStoreSettings;
  /** Target database. Default: the backup's source database. */
  readonly database?: string | undefined;
  /**
   * Where `database` came from, for the first line of the log: `PGDATABASE` makes the restore say which database
   * it restores when that is not the backup's source database (an operator reconciling by hand must not swap the
   * wrong one). Default `flag` (given explicitly: nothing to say).
   */
  readonly databaseFrom?: "flag" | "PGDATABASE" | undefined;
  /**
   * A restore onto a new database applies the backup's database-level properties (owner, privileges,
   * settings, comment); every role they name must exist on the target, else the restore is refused before
   * anything is touched. With this set, what goes to a missing role (its grants, its per-role settings; a
   * missing owner becomes the restoring login) is skipped instead, each item logged. Default false.
   */
  readonly skipMissingRoles?: boolean | undefined;
  /** Names the staging and before databases; running the same run id again is a no-op. */
  readonly runId: string;
  /** `pg_restore --jobs`. Default: the number of CPUs, at least 2. */
  readonly jobs?: number | undefined;
  /** `pg_restore --no-acl`: skip GRANTs (when the dump's roles do not exist on the target). Default false. */
  readonly noAcl?: boolean | undefined;
  /** Per-connection settings for pg_restore's sessions (PGOPTIONS). Default `DEFAULT_RESTORE_SETTINGS`. */
  readonly sessionSettings?: Readonly<Record<string, string>> | undefined;
  /** ANALYZE the staging database before the swap. Default false (autovacuum analyzes later). */
  readonly analyze?: boolean | undefined;
  /** Where the download goes (needs the dump's size, twice for the directory format). Default OS temp dir. */
  readonly workDir?: string | undefined;
  /** Tries of the swap when new sessions keep arriving on the live database. Default 5. */
  readonly swapAttempts?: number | undefined;
}

/** `restore`: a stored backup into a database. */
export interface RestoreOptions extends RestoreTargetOptions {
  readonly from: RestoreSource;
  /**
   * Restore a backup that has no manifest (taken with --no-manifest or by an older tool), whose contents
   * therefore cannot be checked before the swap. Default false: such a backup is refused before anything is
   * touched. The program's Jobs never set it.
   */
  readonly allowUnverified?: boolean | undefined;
  /** With `latestUnder`: the source database whose latest backup is wanted. Default `database` (or any). */
  readonly sourceDatabase?: string | undefined;
  /** Parallel range downloads. Default 4. */
  readonly downloadConcurrency?: number | undefined;
}

/** `restore --from-copy`: the copy's database into a database, in one flow (`restoreFromCopy`). */
export interface CopyRestoreOptions extends RestoreTargetOptions {
  /** Dumped, stored as the evidence and restored; `database` defaults to the copy's database's name. */
  readonly copy: CopySource;
  /** Called between the dump's commit and its read-back (tests use it to change the blob or the copy). */
  readonly onDumpCommitted?: ((blobName: string) => Promise<void>) | undefined;
}

/** A restore from the copy, and the comparison of the restored database with the copy (always equal). */
export interface CopyRestoreResult extends RestoreResult {
  readonly comparison: CompareResult;
}

export interface RestoreResult {
  readonly status: "restored" | "already-completed";
  readonly runId: string;
  readonly database: string;
  /** Holds the database as it was before this run (empty when the target did not exist). */
  readonly beforeDatabase: string;
  readonly blobName?: string | undefined;
  /** false: the target did not exist and `beforeDatabase` is an empty placeholder. */
  readonly targetExisted?: boolean | undefined;
  /**
   * `verified`: the restored database matched the backup's manifest before the swap; `no manifest`: the
   * backup has none (taken with --no-manifest or by an older tool), its contents were not verified.
   */
  readonly contents?: "verified" | "no manifest" | undefined;
  /**
   * How the database-level properties were settled: `from backup` (a new database: the backup's record
   * applied), `kept` (an existing database: the replaced database's kept), `not recorded` (a new database and a
   * backup without a record: the server's defaults).
   */
  readonly properties?: "from backup" | "kept" | "not recorded" | undefined;
  /** Over an existing database: how the kept properties differ from the backup's record (`what: kept vs backup`). */
  readonly propertiesDifferFromBackup?: readonly string[] | undefined;
  /** With `skipMissingRoles`: what was not applied, one item per role. */
  readonly skippedForMissingRoles?: readonly string[] | undefined;
  /**
   * What the restored database holds differently from the backup's source by design, one line each (a
   * materialized view refreshed by the restore: docs/data-tool.md, "What a restore gives back"); also logged.
   * Absent when there is none.
   */
  readonly contentNotes?: readonly string[] | undefined;
}

/** What a completed run records of itself, whole-database or table-level: which blob it restored, and when. */
export interface RunRecord {
  readonly runId: string;
  readonly database: string;
  readonly container: string;
  readonly blob: string;
  readonly sha256: string;
  readonly manifestSha256: string | null;
  readonly restoredAt: string;
}

/** What `<db>_before_<run id>`'s comment records (JSON): which blob the run restored. */
export interface RestoreRecord extends RunRecord {
  readonly tool: "dr-data-restore/1";
  /** The comment the database had before the swap (the placeholder marker when the target did not exist). */
  readonly previousComment: string | null;
}

/** The record of a completed run, from `<db>_before_<run id>`'s comment; undefined if none can be read. */
export async function readRestoreRecord(
  c: Client,
  database: string,
  runId: string,
): Promise<{ exists: boolean; record?: RestoreRecord | undefined }> {
  const r = await c.query<{ c: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1",
    [beforeDatabaseName(database, runId)],
  );
  if (r.rowCount !== 1) return { exists: false };
  try {
    const parsed = JSON.parse(r.rows[0]?.c ?? "") as Partial<RestoreRecord>;
    if (parsed.tool === "dr-data-restore/1" && typeof parsed.blob === "string") {
      return { exists: true, record: parsed as RestoreRecord };
    }
  } catch {
    // not a record: a run of an older version of the tool
  }
  return { exists: true };
}

/**
 * Index builds and foreign-key checks get more memory; commits of the load do not wait for the WAL flush (the
 * swap's own commit is synchronous and flushes everything before it). 256MB × jobs must fit the server.
 */
export const DEFAULT_RESTORE_SETTINGS: Readonly<Record<string, string>> = {
  maintenance_work_mem: "256MB",
  synchronous_commit: "off",
};

export function placeholderMarker(database: string, runId: string): string {
  return `dr-data placeholder: ${database} did not exist before run ${runId}`;
}

/** Problems with a run id and target database, before anything is done (names must fit in 63 bytes). */
export function restoreNameProblems(database: string, runId: string): string[] {
  const problems: string[] = [];
  const runIdWrong = runIdProblem(runId);
  if (runIdWrong !== undefined) problems.push(runIdWrong);
  for (const name of [stagingDatabaseName(database, runId), beforeDatabaseName(database, runId)]) {
    if (pgIdentifierBytes(name) > PG_IDENTIFIER_MAX_BYTES) {
      problems.push(`database name ${name} would exceed ${PG_IDENTIFIER_MAX_BYTES} bytes: shorten --run-id`);
    }
  }
  return problems;
}

export async function restore(o: RestoreOptions): Promise<RestoreResult> {
  const log = o.log ?? stderrLog;
  const jobs = checkedJobs(o.jobs);
  const runIdWrong = runIdProblem(o.runId);
  if (runIdWrong !== undefined) throw new UsageError(runIdWrong);
  const container = containerClient(o.store);
  const chosen = await resolveBackup(container, o.store, o.from, o.sourceDatabase ?? o.database);
  requireManifestUnlessAllowed(container, chosen, o.allowUnverified, {
    unverifiable: "its contents",
    step: "swap",
    restoreIt: "it",
  });
  const names = targetNames(o, chosen.meta.database, log);
  const manifest = await manifestOf(container, chosen);
  return withMaintenanceSession(o, names, async (maint, tmp) => {
    const run: Run = {
      o,
      log,
      jobs,
      maint,
      container: container.containerName,
      ...chosen,
      ...names,
      manifest,
    };
    const done = await alreadyRestored(run);
    if (done !== undefined) return done;
    const plan = await preflight(run);
    const archive = await downloadAndVerify(
      run,
      container.getBlobClient(chosen.blobName),
      tmp,
      o.downloadConcurrency,
    );
    return restoreArchive(run, plan, archive);
  });
}

/**
 * `restore --from-copy`, scenario 2's restore phase in one flow: the PTR copy is dumped into the scratch
 * directory and stored under `copy.prefix` as the restore's evidence (the backup's own steps, backup.ts: the
 * upload overlaps the dump, the manifest is taken in pg_dump's snapshot); pg_restore reads that directory while
 * the stored dump is read back from storage and verified as the nightly's is (verify.ts); the staging database
 * is checked against the stored manifest as any restore's is; the swap waits for both checks; then the restored
 * database is compared with the copy itself (compare.ts, as the compare Job did). Nothing is dumped for a run id
 * that already completed, and the comparison runs then too: a pod that died after the swap is checked on its
 * retry. Any difference is a VerificationError (exit 1) after the swap, naming what differs.
 */
export async function restoreFromCopy(o: CopyRestoreOptions): Promise<CopyRestoreResult> {
  const log = o.log ?? stderrLog;
  const jobs = checkedJobs(o.jobs);
  const problems = copyRestoreRequestProblems(o);
  if (problems.length > 0) throw new UsageError(`restore --from-copy: ${problems.join("; ")}`);
  const container = containerClient(o.store);
  const names = targetNames(o, o.copy.connection.database, log);
  const restored = await withMaintenanceSession(o, names, async (maint, tmp) => {
    const done = await alreadyRestoredFromCopy(maint, o, names, container.containerName, log);
    if (done !== undefined) return done;
    await refuseWithoutSwapPermission(maint, o, names.database);
    const dumped = await dumpCopy(o, jobs, tmp, log);
    // Started at once, so a dump committed is always verified and recorded, whatever fails after it.
    const evidence = dumped.verify({ sameFilesAs: dumped.dir });
    evidence.catch(() => undefined); // awaited before the swap, or settled below after a failure
    try {
      const run: Run = {
        o,
        log,
        jobs,
        maint,
        container: container.containerName,
        ...names,
        // What this run committed, not what storage says now: the read-back (`evidence`) holds storage to it.
        blobName: dumped.blobName,
        meta: dumped.metadata,
        etag: undefined,
        manifest: await committedManifest(container, dumped),
      };
      const plan = await preflight(run);
      return await restoreArchive(run, plan, await localArchive(run, dumped.dir), evidence);
    } catch (err) {
      await reportEvidenceBeside(err, evidence, dumped.blobName, log);
      throw err;
    }
  });
  const comparison = await compareWithCopy(o, names.database, jobs, log);
  return { ...restored, comparison };
}

/**
 * After a failure of the restore itself: the read-back is waited for (its scratch is under the directory about
 * to be removed) and, when it failed too and is not what the error already reports, logged.
 */
async function reportEvidenceBeside(
  err: unknown,
  evidence: Promise<unknown>,
  blobName: string,
  log: Log,
): Promise<void> {
  const failed = await evidence.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (failed !== undefined && (err as { cause?: unknown }).cause !== failed) {
    log(`restore: the read-back of ${blobName} failed too: ${describeError(failed)}`);
  }
}

/** Every problem with a copy restore's request at once, before anything is read or touched. */
export function copyRestoreRequestProblems(
  o: Pick<CopyRestoreOptions, "connection" | "copy" | "database" | "runId">,
): string[] {
  return [...targetProblems(o.database ?? o.copy.connection.database, o), ...copyRestoreProblems(o)];
}

/**
 * The lock session on the target server's maintenance database and a scratch directory, for `use`; both are
 * ended and removed however it ends.
 */
async function withMaintenanceSession<T>(
  o: RestoreTargetOptions,
  names: TargetNames,
  use: (maint: Client, tmp: string) => Promise<T>,
): Promise<T> {
  const maint = await connect(o.connection, "dr-data-restore");
  const tmp = await mkdtemp(path.join(o.workDir ?? os.tmpdir(), "dr-data-restore-"));
  try {
    await holdRestoreLock(maint, names.database);
    return await use(maint, tmp);
  } finally {
    await maint.end().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Steps 4 and 5 of any whole-database restore, once the archive is here and checked: staging, pg_restore with
 * the overlapped contents check, the rest of the check, then the swap. `evidence` (restore --from-copy): the
 * stored dump's verification, which the swap waits for too.
 */
async function restoreArchive(
  r: Run,
  plan: PropertiesPlan,
  archive: Archive,
  evidence?: Promise<unknown>,
): Promise<RestoreResult> {
  const live = await databaseInfo(r.maint, r.database);
  await createStaging(r, live);
  const early = await restoreIntoStaging(r, archive);
  const notes = await verifyStaging(r, early);
  if (evidence !== undefined) await evidenceBeforeSwap(r, evidence);
  return swapIn(r, live, plan, notes);
}

/** What every step of one restore needs: its options, the chosen backup, the names, the maintenance session. */
interface Run extends ResolvedBackup, TargetNames {
  readonly o: RestoreTargetOptions;
  readonly log: Log;
  readonly jobs: number;
  /** The maintenance session: holds the advisory lock, runs CREATE, DROP and RENAME DATABASE and the swap. */
  readonly maint: Client;
  readonly container: string;
  /** The backup's manifest (its bytes checked against the dump's metadata); undefined: none (allowUnverified). */
  readonly manifest: Manifest | undefined;
}

interface TargetNames {
  readonly database: string;
  readonly staging: string;
  readonly before: string;
}

function checkedJobs(asked: number | undefined): number {
  const jobs = asked ?? Math.max(2, os.availableParallelism());
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be an integer ≥ 1, got ${jobs}`);
  return jobs;
}

/** What is wrong with restoring into `database` with this run id over this connection, every problem at once. */
function targetProblems(database: string, o: Pick<RestoreTargetOptions, "connection" | "runId">): string[] {
  return [
    ...restoreNameProblems(database, o.runId),
    ...(database === o.connection.database
      ? [`the target database ${database} is the maintenance database; connect to another (e.g. postgres)`]
      : []),
  ];
}

/** The target, staging and before databases' names; every problem with them at once. */
function targetNames(o: RestoreTargetOptions, sourceDatabase: string, log: Log): TargetNames {
  const database = o.database ?? sourceDatabase;
  if (o.databaseFrom === "PGDATABASE" && database !== sourceDatabase) {
    log(
      `restore: restoring into ${database} (from PGDATABASE), not into the backup's source database ` +
        `${sourceDatabase}; give --database to choose explicitly`,
    );
  }
  const problems = targetProblems(database, o);
  if (problems.length > 0) throw new UsageError(problems.join("; "));
  return {
    database,
    staging: stagingDatabaseName(database, o.runId),
    before: beforeDatabaseName(database, o.runId),
  };
}

/**
 * Step 2, idempotency: `<db>_before_<run id>` exists, so this run id completed. Done means done *with this
 * backup*: a run id that restored another blob must not report success while the database holds something other
 * than what was asked for.
 */
async function alreadyRestored(r: Run): Promise<RestoreResult | undefined> {
  return completedRun(r.maint, r.o.runId, r, r.log, {
    what: `${r.container}/${r.blobName}`,
    it: "a different backup",
    matches: (record) => record.blob === r.blobName,
    then: "nothing to do",
  });
}

/**
 * `alreadyRestored` for `restore --from-copy`, before the copy is dumped: the run restored a dump of the copy,
 * i.e. a blob of this container under its prefix (each attempt dumps anew, so the blob's name is not known).
 */
async function alreadyRestoredFromCopy(
  maint: Client,
  o: CopyRestoreOptions,
  names: TargetNames,
  container: string,
  log: Log,
): Promise<RestoreResult | undefined> {
  const under = `${o.copy.prefix}/`;
  return completedRun(maint, o.runId, names, log, {
    what: `a dump of the copy under ${container}/${under}`,
    it: "the copy",
    matches: (record) => record.container === container && record.blob.startsWith(under),
    then: "comparing with the copy",
  });
}

/**
 * Whether `runId` completed (its `<db>_before_<run id>` exists) with what is asked for now: the result to return
 * if so (`then` says what follows, in the log), undefined if not, a VerificationError if it restored something
 * else. A record the tool cannot read is an older tool's run: taken as done, as before.
 */
async function completedRun(
  maint: Client,
  runId: string,
  names: TargetNames,
  log: Log,
  asked: {
    readonly what: string;
    readonly it: string;
    readonly matches: (record: RestoreRecord) => boolean;
    readonly then: string;
  },
): Promise<RestoreResult | undefined> {
  const done = await readRestoreRecord(maint, names.database, runId);
  if (!done.exists) return undefined;
  if (done.record !== undefined && !asked.matches(done.record)) {
    throw new VerificationError(
      `run ${runId} already restored ${done.record.container}/${done.record.blob} into ${names.database} ` +
        `(${names.before} exists); ${asked.what} was asked for: restoring ${asked.it} needs a new run id`,
    );
  }
  log(`restore: run ${runId} already completed (${names.before} exists); ${asked.then}`);
  return {
    status: "already-completed",
    runId,
    database: names.database,
    beforeDatabase: names.before,
    blobName: done.record?.blob,
  };
}

/**
 * The manifest this run committed with the copy's dump: its bytes must hash to the sha256 the dump's metadata
 * recorded at the commit (never to what storage's metadata says later).
 */
async function committedManifest(container: ContainerClient, dumped: DumpedCopy): Promise<Manifest> {
  const sha256 = dumped.metadata.manifestSha256;
  if (sha256 === undefined) {
    throw new VerificationError(`${dumped.blobName} was committed without a manifest; nothing was restored`);
  }
  return (await readManifest(container, dumped.blobName, sha256)).manifest;
}

type PropertiesPlan = Awaited<ReturnType<typeof propertiesPlan>>;

/**
 * The preflight, before anything is downloaded: can this login do the swap at all, and what will a new database
 * be given (refused now if it cannot be).
 */
async function preflight(r: Run): Promise<PropertiesPlan> {
  await refuseWithoutSwapPermission(r.maint, r.o, r.database);
  const recorded = r.manifest?.databaseProperties;
  const plan = await propertiesPlan(r.maint, r.database, recorded, r.o.skipMissingRoles ?? false);
  if (plan.problems.length > 0) throw cannotComplete(r.o, r.database, plan.problems);
  for (const skipped of plan.skipped) r.log(`restore: --skip-missing-roles: not applying ${skipped}`);
  r.log(
    `restore: ${r.container}/${r.blobName} (${formatBytes(r.meta.size)}, ${r.meta.database} from ` +
      `${r.meta.sourceServer}, ${r.meta.startedAt}) → ${r.database} on ${r.o.connection.host}, run ${r.o.runId}`,
  );
  return plan;
}

/** Can this login do the swap at all: asked before anything is downloaded, dumped or created. */
async function refuseWithoutSwapPermission(
  maint: Client,
  o: RestoreTargetOptions,
  database: string,
): Promise<void> {
  const denied = await swapPermissionProblems(maint, database);
  if (denied.length > 0) throw cannotComplete(o, database, denied);
}

function cannotComplete(o: RestoreTargetOptions, database: string, problems: readonly string[]): Error {
  return new Error(
    `restore into ${database} on ${o.connection.host} as ${o.connection.user} cannot complete, nothing ` +
      `was done: ${problems.join("; ")}`,
  );
}

/** pg_restore's environment: a fresh login to the staging database, with the restore's session settings. */
async function restoreEnv(r: Run): Promise<Record<string, string>> {
  return childEnv(process.env, await withFreshPassword(withDatabase(r.o.connection, r.staging)), {
    applicationName: "dr-data-restore",
    settings: r.o.sessionSettings ?? DEFAULT_RESTORE_SETTINGS,
  });
}

/** A downloaded, verified archive: its path, its table of contents, and the environment pg_restore runs in. */
interface Archive {
  readonly path: string;
  readonly toc: string;
  readonly env: Record<string, string>;
}

/**
 * Step 3, before any database is touched: the bytes are hashed as they arrive and go, in order, to a local file
 * (custom format) or straight into `tar -x` (directory format): one pass; then `pg_restore --list` must read it,
 * and its table of contents must be the manifest's (archive.ts `downloadAndCheckArchive`, which the nightly
 * verification runs too).
 */
async function downloadAndVerify(
  r: Run,
  blob: BlobClient,
  tmp: string,
  concurrency: number | undefined,
): Promise<Archive> {
  const t0 = Date.now();
  const env = await restoreEnv(r);
  const checked = await downloadAndCheckArchive(
    blob,
    { name: r.blobName, meta: r.meta, etag: r.etag, manifest: r.manifest },
    tmp,
    {
      progress: new Progress("restore: downloaded", r.log, r.meta.size),
      concurrency,
      env,
      binDir: r.o.binDir,
      log: r.log,
      label: "restore",
      refusal: "not restoring, no database was touched",
    },
  );
  r.log(
    `restore: verified sha256, size and ${checked.entries} archive entries in ${formatSeconds((Date.now() - t0) / 1000)}`,
  );
  return { path: checked.path, toc: checked.toc, env };
}

/**
 * Step 3 of `restore --from-copy`: the dump its backup step left in the scratch directory, checked as a
 * download is (archive.ts `checkArchive`: `pg_restore --list` reads it, its table of contents is the stored
 * manifest's).
 */
async function localArchive(r: Run, dir: string): Promise<Archive> {
  const env = await restoreEnv(r);
  const checked = await checkArchive(
    dir,
    { name: r.blobName, manifest: r.manifest },
    {
      env,
      binDir: r.o.binDir,
      log: r.log,
      label: "restore",
      refusal: "not restoring, no database was touched",
    },
  );
  r.log(`restore: restoring from the dump's directory (${checked.entries} archive entries)`);
  return { path: checked.path, toc: checked.toc, env };
}

/**
 * Before the swap of `restore --from-copy`: the stored dump verified from storage (its status record
 * written). Without that the restore has no evidence, so the staging database is dropped and live untouched.
 */
async function evidenceBeforeSwap(r: Run, evidence: Promise<unknown>): Promise<void> {
  try {
    await evidence;
  } catch (cause) {
    await dropStaging(r);
    const what = `${r.container}/${r.blobName}, the stored dump of what this restore read,`;
    const after = `swap refused, ${r.database} was not touched, ${r.staging} dropped`;
    // Only a verification that ran and failed says "does not verify"; storage that could not be read says so.
    throw cause instanceof VerificationError
      ? new VerificationError(`${what} does not verify from storage; ${after}`, { cause })
      : new Error(`${what} could not be verified from storage; ${after}`, { cause });
  }
}

/**
 * Step 4: `<db>_restore_<run id>`, marked by a comment naming the run, with the live database's encoding and
 * locale (a new target: the backup's recorded ones). A staging database left by a killed run of this run id is
 * dropped first; one that is not this run's is refused.
 */
async function createStaging(r: Run, live: DatabaseInfo | undefined): Promise<void> {
  await dropLeftoverStaging(r);
  const recorded = r.manifest?.databaseProperties;
  try {
    await r.maint.query(`CREATE DATABASE ${quoteIdent(r.staging)} ${createClauses(live ?? recorded)}`);
  } catch (cause) {
    const from =
      live !== undefined ? `${r.database}'s` : recorded !== undefined ? "the backup's" : "the default";
    throw new Error(
      `creating ${r.staging} with ${from} encoding and locale failed; ${r.database} was not touched`,
      { cause },
    );
  }
  await r.maint.query(
    `COMMENT ON DATABASE ${quoteIdent(r.staging)} IS ${quoteLiteral(stagingMarker("database", r.o.runId))}`,
  );
}

async function dropLeftoverStaging(r: Run): Promise<void> {
  const leftover = await databaseInfo(r.maint, r.staging);
  if (leftover === undefined) return;
  const ours =
    leftover.comment === stagingMarker("database", r.o.runId) ||
    // A kill between CREATE DATABASE and its COMMENT (two statements: CREATE DATABASE cannot run in a
    // transaction) leaves it unmarked; it is ours if it is still empty and owned by this login.
    (leftover.comment === null && (await isEmptyOwnDatabase(r.maint, r.o.connection, r.staging)));
  if (!ours) {
    throw new Error(
      `${r.staging} exists and was not created by run ${r.o.runId} of this tool; not touching it`,
    );
  }
  r.log(`restore: dropping ${r.staging}, left by an interrupted attempt of run ${r.o.runId}`);
  await r.maint.query(`DROP DATABASE ${quoteIdent(r.staging)} WITH (FORCE)`);
}

/** After a failure: this run's staging database goes (the live one was never touched); a failed drop is logged. */
async function dropStaging(r: Run): Promise<void> {
  await r.maint
    .query(`DROP DATABASE IF EXISTS ${quoteIdent(r.staging)} WITH (FORCE)`)
    .catch((dropErr: unknown) => {
      r.log(`restore: could not drop ${r.staging} after the failure: ${String(dropErr)}`);
    });
}

/**
 * Step 4, continued: `pg_restore -j N` into the staging database (and ANALYZE if asked); a failure drops it.
 * With a manifest, the tables' contents check starts as their data is loaded (restore-steps/overlapped-check.ts);
 * returns what it checked.
 */
async function restoreIntoStaging(r: Run, archive: Archive): Promise<ReadonlyMap<string, RelationSummary>> {
  const t1 = Date.now();
  const early =
    r.manifest === undefined || r.jobs < 2
      ? undefined
      : new OverlappedCheck(
          withDatabase(r.o.connection, r.staging),
          r.manifest,
          earlyCheckable(r.manifest, archive.toc),
          { applicationName: "dr-data-restore", binDir: r.o.binDir, log: r.log },
        );
  try {
    await pgRestoreWithHeartbeat(
      r.maint,
      r.staging,
      binPath(r.o.binDir, "pg_restore"),
      pgRestoreArgv({
        archive: archive.path,
        database: r.staging,
        jobs: r.jobs,
        noAcl: r.o.noAcl ?? false,
        verbose: true,
      }),
      archive.env,
      r.log,
      {
        toc: archive.toc,
        dataBytes: await entryDataBytes(archive.path, r.meta.format),
        onLine: early?.onLine.bind(early),
      },
    );
    if (r.o.analyze ?? false) {
      await withClient(withDatabase(r.o.connection, r.staging), (c) => c.query("ANALYZE"), "dr-data-restore");
    }
  } catch (cause) {
    await early?.finish();
    await dropStaging(r);
    throw new Error(`restoring ${r.blobName} into ${r.staging} failed; ${r.database} was not touched`, {
      cause,
    });
  }
  r.log(
    `restore: pg_restore -j ${r.jobs} into ${r.staging} done in ${formatSeconds((Date.now() - t1) / 1000)}`,
  );
  return (await early?.finish()) ?? new Map<string, RelationSummary>();
}

/**
 * Step 4b: the staging database against the backup's manifest; the swap happens only if they agree. Any
 * difference, or a check that cannot finish, drops the staging database. Returns the check's notes (what the
 * restore gives back differently by design), each logged.
 */
async function verifyStaging(r: Run, early: ReadonlyMap<string, RelationSummary>): Promise<string[]> {
  if (r.manifest === undefined) {
    r.log(
      `restore: ${r.blobName} has no manifest: contents not verified (only the archive and pg_restore's exit)`,
    );
    return [];
  }
  const checked = await stagingCheck(r, r.manifest, early);
  if (checked instanceof Error) {
    await dropStaging(r);
    throw checked;
  }
  for (const note of checked) r.log(`restore: note: ${note}`);
  return checked;
}

/** The staging database's check: the problem that refuses the swap, or the notes of a check that passed. */
async function stagingCheck(
  r: Run,
  manifest: Manifest,
  early: ReadonlyMap<string, RelationSummary>,
): Promise<Error | string[]> {
  const t2 = Date.now();
  const checking = new CountProgress("restore: contents check", "relations checksummed", r.log).start();
  try {
    const summary = await summarizeForManifest(withDatabase(r.o.connection, r.staging), manifest, {
      jobs: r.jobs,
      applicationName: "dr-data-restore",
      binDir: r.o.binDir,
      onDone: (done, total) => checking.update(done, total),
      except: new Set(early.keys()),
    });
    const relations = new Map(
      [...summary.relations, ...early].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    const check = checkAgainstManifest(relations, manifest);
    if (!check.equal) {
      return new VerificationError(
        `${r.staging} does not hold what the manifest of ${r.blobName} records; swap refused, ${r.database} ` +
          `was not touched, ${r.staging} dropped:\n` +
          formatComparison(check, { leftLabel: r.staging, rightLabel: "manifest" }),
      );
    }
    const overlapped = early.size > 0 ? `, ${early.size} of them while pg_restore ran` : "";
    r.log(
      `restore: contents verified against the manifest (${check.relations.length} relations${overlapped}, ` +
        `row counts and checksums) in ${formatSeconds((Date.now() - t2) / 1000)}`,
    );
    return [...(check.notes ?? [])];
  } catch (cause) {
    return new Error(`checking ${r.staging} against the manifest failed; ${r.database} was not touched`, {
      cause,
    });
  } finally {
    checking.stop();
  }
}

/**
 * Step 5: the swap, in one transaction, with the record of this run on `<db>_before_<run id>`. A target that did
 * not exist gets an empty placeholder first, so the swap and the "already completed" check are the same in both
 * cases. A new database gets the backup's comment and properties; an existing one keeps its own (differences
 * from the backup's record logged).
 */
async function swapIn(
  r: Run,
  live: DatabaseInfo | undefined,
  plan: PropertiesPlan,
  notes: readonly string[],
): Promise<RestoreResult> {
  if (live === undefined) await createPlaceholder(r);
  const recorded = r.manifest?.databaseProperties;
  const liveComment = live?.comment ?? null;
  const propertiesDifferFromBackup =
    live !== undefined && recorded !== undefined
      ? await keptPropertyDifferences(r, live, recorded)
      : undefined;
  const record: RestoreRecord = {
    tool: "dr-data-restore/1",
    runId: r.o.runId,
    database: r.database,
    container: r.container,
    blob: r.blobName,
    sha256: r.meta.sha256,
    manifestSha256: r.meta.manifestSha256 ?? null,
    restoredAt: new Date().toISOString(),
    previousComment: live === undefined ? placeholderMarker(r.database, r.o.runId) : liveComment,
  };
  try {
    await swap(
      r.maint,
      {
        database: r.database,
        staging: r.staging,
        before: r.before,
        comment: live === undefined ? (recorded?.comment ?? null) : liveComment,
        record: JSON.stringify(record),
        properties: live === undefined ? plan.apply : undefined,
      },
      r.o.swapAttempts ?? 5,
      r.log,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; ${await cleanUpAfterFailedSwap(r, live === undefined)}`, {
      cause: (err as Error).cause ?? err,
    });
  }
  r.log(`restore: ${r.database} now holds ${r.blobName}; the previous database is kept as ${r.before}`);
  return {
    status: "restored",
    runId: r.o.runId,
    database: r.database,
    beforeDatabase: r.before,
    blobName: r.blobName,
    targetExisted: live !== undefined,
    contents: r.manifest === undefined ? "no manifest" : "verified",
    properties: live !== undefined ? "kept" : plan.apply !== undefined ? "from backup" : "not recorded",
    propertiesDifferFromBackup,
    skippedForMissingRoles: plan.skipped,
    ...(notes.length === 0 ? {} : { contentNotes: notes }),
  };
}

/**
 * After a swap that rolled back: the staging database (this run's) is dropped, and so is the placeholder this
 * run created for a target that did not exist (still marked, so still empty and ours); a run of the same run id
 * starts again from the download. Returns what is left, truthfully, naming what could not be dropped.
 */
async function cleanUpAfterFailedSwap(r: Run, placeholder: boolean): Promise<string> {
  const said: string[] = [];
  if (!placeholder) said.push(`${r.database} is unchanged`);
  else if ((await databaseInfo(r.maint, r.database))?.comment !== placeholderMarker(r.database, r.o.runId)) {
    said.push(
      `${r.database} did not exist before this run and is not this run's placeholder now: not touched`,
    );
  } else {
    said.push(
      `${r.database} did not exist before this run: ${await dropped(r, r.database, "its empty placeholder")}`,
    );
  }
  said.push(await dropped(r, r.staging, "the staging database"));
  return said.join("; ");
}

/** Drops one of this run's databases; what became of it, in words. */
async function dropped(r: Run, name: string, what: string): Promise<string> {
  return r.maint.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).then(
    () => `${what} ${name} was dropped`,
    (e: unknown) =>
      `${what} ${name} is left (dropping it failed: ${String(e)}); drop it with DROP DATABASE ${quoteIdent(name)}`,
  );
}

async function createPlaceholder(r: Run): Promise<void> {
  r.log(`restore: ${r.database} does not exist; creating an empty placeholder so the swap keeps a record`);
  await r.maint.query(`CREATE DATABASE ${quoteIdent(r.database)} TEMPLATE template0`);
  await r.maint.query(
    `COMMENT ON DATABASE ${quoteIdent(r.database)} IS ${quoteLiteral(placeholderMarker(r.database, r.o.runId))}`,
  );
}

/** How the existing database's properties, which it keeps, differ from the backup's record (logged). */
async function keptPropertyDifferences(
  r: Run,
  live: DatabaseInfo,
  recorded: DatabaseRecord,
): Promise<string[]> {
  const differences = recordDifferences(
    { ...(await readDatabaseProperties(r.maint, r.database)), ...live, extensions: [] },
    recorded,
    { extensions: false },
  );
  if (differences.length > 0) {
    r.log(
      `restore: ${r.database} keeps the database-level properties of the database it replaces, which differ ` +
        `from the backup's record (kept vs backup): ${differences.join("; ")}`,
    );
  }
  return differences;
}

interface DatabaseInfo {
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
  readonly localeProvider?: string | undefined;
  readonly icuLocale?: string | undefined;
  readonly comment: string | null;
}

/** Reads columns through to_jsonb so that version-specific ones (datlocprovider, daticulocale) are optional. */
async function databaseInfo(c: Client, name: string): Promise<DatabaseInfo | undefined> {
  const r = await c.query<{ d: Record<string, unknown>; encoding: string; comment: string | null }>(
    `SELECT to_jsonb(d) AS d, pg_encoding_to_char(d.encoding) AS encoding,
            shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_database d WHERE d.datname = $1`,
    [name],
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  const str = (k: string): string | undefined => {
    const v = row.d[k];
    return typeof v === "string" ? v : undefined;
  };
  return {
    encoding: row.encoding,
    collate: str("datcollate") ?? "C",
    ctype: str("datctype") ?? "C",
    localeProvider: str("datlocprovider"),
    icuLocale: str("daticulocale") ?? str("datlocale"),
    comment: row.comment,
  };
}

/**
 * What a restore does with the database-level properties, decided before anything is touched. Over an existing
 * database: nothing to decide (its own are kept). Onto a new one with a recorded backup: the roles the record
 * names must exist (else a problem naming each, unless `skipMissingRoles`), this login must be able to give
 * the database its owner and per-role settings. Either way the extensions the backup uses must be available.
 */
async function propertiesPlan(
  maint: Client,
  database: string,
  recorded: DatabaseRecord | undefined,
  skipMissingRoles: boolean,
): Promise<{ apply: DatabaseProperties | undefined; problems: string[]; skipped: string[] }> {
  const problems: string[] = [];
  if (recorded === undefined) return { apply: undefined, problems, skipped: [] };
  problems.push(...(await lackingExtensions(maint, recorded)));
  const exists = await queryOne<{ n: number }>(
    maint,
    "SELECT count(*)::int AS n FROM pg_catalog.pg_database WHERE datname = $1",
    [database],
  );
  if (exists.n > 0) return { apply: undefined, problems, skipped: [] };

  const roles = recordRoles(recorded);
  const found = await maint.query<{ rolname: string }>(
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
    [[...roles.keys()]],
  );
  const present = new Set(found.rows.map((r) => r.rolname));
  const missing = [...roles.keys()].filter((r) => !present.has(r)).sort();
  const skipped: string[] = [];
  if (missing.length > 0 && !skipMissingRoles) {
    problems.push(
      `the backup's database-level properties name roles that do not exist on this server: ` +
        missing.map((r) => `${r} (${roles.get(r)!.join(", ")})`).join("; ") +
        `; create them first, or pass --skip-missing-roles to restore without what they are given`,
    );
  } else {
    for (const r of missing) skipped.push(`to the missing role ${r}: ${roles.get(r)!.join(", ")}`);
  }
  const login = await queryOne<{ me: string; superuser: boolean; createrole: boolean }>(
    maint,
    `SELECT current_user AS me, rolsuper AS superuser, rolcreaterole AS createrole
       FROM pg_catalog.pg_roles WHERE rolname = current_user`,
  );
  const apply = withoutRoles(recorded, new Set(missing), login.me);
  if (!login.superuser) problems.push(...(await loginCannotApply(maint, apply, login)));
  return { apply, problems, skipped };
}

/** The extensions the backup uses that this server does not have (one problem naming them all, or none). */
async function lackingExtensions(maint: Client, recorded: DatabaseRecord): Promise<string[]> {
  const names = recorded.extensions.map((e) => e.name);
  const available = await maint.query<{ name: string }>(
    "SELECT name FROM pg_catalog.pg_available_extensions WHERE name = ANY($1)",
    [names],
  );
  const have = new Set(available.rows.map((r) => r.name));
  const lacking = names.filter((n) => !have.has(n));
  return lacking.length > 0
    ? [`the backup uses extensions this server does not have: ${lacking.join(", ")}`]
    : [];
}

/** What a login without superuser cannot give a new database: its owner, per-role settings. */
async function loginCannotApply(
  maint: Client,
  apply: DatabaseProperties,
  login: { readonly me: string; readonly createrole: boolean },
): Promise<string[]> {
  const problems: string[] = [];
  if (apply.owner !== login.me) {
    const member = await maint.query<{ ok: boolean }>(
      "SELECT pg_catalog.pg_has_role(current_user, $1, 'MEMBER') AS ok",
      [apply.owner],
    );
    if (member.rows[0]?.ok !== true) {
      problems.push(
        `the backup's database is owned by ${apply.owner}, and ${login.me} is not a member of that role: it ` +
          `could not give the restored database that owner`,
      );
    }
  }
  if (apply.settings.some((x) => x.role !== undefined) && !login.createrole) {
    problems.push(
      `the backup records per-role settings (ALTER ROLE … IN DATABASE) that ${login.me} cannot apply without CREATEROLE`,
    );
  }
  return problems;
}

/**
 * The staging database gets the live one's encoding and locale; a new target the backup's recorded ones, or
 * the server's defaults when there is no record.
 */
function createClauses(live: DatabaseInfo | undefined): string {
  if (live === undefined) return "TEMPLATE template0";
  let sql =
    `TEMPLATE template0 ENCODING ${quoteLiteral(live.encoding)} ` +
    `LC_COLLATE ${quoteLiteral(live.collate)} LC_CTYPE ${quoteLiteral(live.ctype)}`;
  if (live.localeProvider === "i" && live.icuLocale !== undefined) {
    sql += ` LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(live.icuLocale)}`;
  }
  return sql;
}

/**
 * Runs pg_restore --verbose, logging every 5 s the archive entries done of the table of contents (and, for a
 * directory-format dump, the data bytes done: `ArchiveProgress`) and the staging database's size.
 */
async function pgRestoreWithHeartbeat(
  maint: Client,
  staging: string,
  program: string,
  argv: string[],
  env: Record<string, string>,
  log: Log,
  archive: {
    toc: string;
    dataBytes: ReadonlyMap<number, number>;
    /** Also given each stderr line (the overlapped contents check). */
    onLine?: ((line: string) => void) | undefined;
  },
): Promise<void> {
  const progress = new ArchiveProgress(archive.toc, archive.dataBytes, log, Number.POSITIVE_INFINITY);
  const onStderrLine = (l: string) => {
    archive.onLine?.(l);
    return progress.onLine(l);
  };
  const p = start(program, argv, { env, stdout: "ignore", onStderrLine });
  const timer = setInterval(() => {
    queryOne<{ size: string }>(maint, "SELECT pg_database_size($1)::text AS size", [staging])
      .then((r) => log(`${progress.line()}; ${staging} is ${formatBytes(Number(r.size))}`))
      .catch(() => log(progress.line()));
  }, 5000);
  try {
    const exit = await p.exit;
    if (exit.code !== 0) throw new Error(describeExit("pg_restore", exit, p.stderr));
    log(`${progress.line()} (done)`);
  } finally {
    clearInterval(timer);
  }
}

/** Data bytes per archive entry of a directory-format dump (`<dump id>.dat` or `.dat.gz`); empty otherwise. */
async function entryDataBytes(archive: string, format: string): Promise<Map<number, number>> {
  const sizes = new Map<number, number>();
  if (format !== "directory") return sizes;
  for (const e of await readdir(archive, { withFileTypes: true })) {
    const m = /^(\d+)\.dat(?:\.gz|\.lz4|\.zst)?$/.exec(e.name);
    if (e.isFile() && m !== null) sizes.set(Number(m[1]), (await stat(path.join(archive, e.name))).size);
  }
  return sizes;
}

/** SQLSTATE 55006 object_in_use: "database … is being accessed by other users". */
function isObjectInUse(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "55006";
}

async function swap(
  maint: Client,
  n: {
    database: string;
    staging: string;
    before: string;
    comment: string | null;
    record: string;
    /** What the restored database gets; undefined: the properties of the database it replaces. */
    properties: DatabaseProperties | undefined;
  },
  attempts: number,
  log: Log,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await maint.query("BEGIN");
      // Signals are sent at once; RENAME then waits (up to 5 s) for those sessions to be gone.
      await maint.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()",
        [[n.database, n.staging]],
      );
      // The owner, privileges and settings, which the dump does not carry, go to the staging database in the
      // same transaction (packages/dr-data/src/database-properties.ts): those of the live database it replaces, or, for a new
      // database (its placeholder has none worth keeping), those the backup recorded.
      const properties = n.properties ?? (await readDatabaseProperties(maint, n.database));
      const stagingOwner = (await readDatabaseProperties(maint, n.staging)).owner;
      for (const sql of propertyStatements(n.staging, properties, stagingOwner)) await maint.query(sql);
      await maint.query(`ALTER DATABASE ${quoteIdent(n.database)} RENAME TO ${quoteIdent(n.before)}`);
      await maint.query(`ALTER DATABASE ${quoteIdent(n.staging)} RENAME TO ${quoteIdent(n.database)}`);
      const differences = propertyDifferences(properties, await readDatabaseProperties(maint, n.database));
      if (differences.length > 0) {
        throw new VerificationError(
          `the restored database would not have the properties ${n.properties === undefined ? "of the one it replaces" : "the backup records"}: ${differences.join("; ")}`,
        );
      }
      await maint.query(
        `COMMENT ON DATABASE ${quoteIdent(n.database)} IS ${n.comment === null ? "NULL" : quoteLiteral(n.comment)}`,
      );
      await maint.query(`COMMENT ON DATABASE ${quoteIdent(n.before)} IS ${quoteLiteral(n.record)}`);
      await maint.query("COMMIT");
      return;
    } catch (err) {
      await maint.query("ROLLBACK").catch(() => undefined);
      if (!isObjectInUse(err) || attempt >= attempts) {
        // The transaction rolled back: what is left (the staging database, a placeholder) the caller says.
        throw new Error(`swapping ${n.staging} in as ${n.database} failed`, { cause: err });
      }
      log(`restore: ${n.database} still has sessions (attempt ${attempt}/${attempts}); retrying the swap`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/**
 * What stops this login from completing a restore into `database`: creating the staging database needs
 * CREATEDB; renaming the live database needs its ownership (membership of its owner role, with inherit); giving
 * the staging database the live one's owner needs membership of that role; copying per-role settings
 * (`ALTER ROLE … IN DATABASE`) needs CREATEROLE. A superuser may do all of it.
 */
export async function swapPermissionProblems(c: Client, database: string): Promise<string[]> {
  const r = await c.query<{
    me: string;
    superuser: boolean;
    createdb: boolean;
    createrole: boolean;
    owner: string | null;
    owns: boolean | null;
    member: boolean | null;
    role_settings: boolean | null;
  }>(
    `SELECT current_user AS me, r.rolsuper AS superuser, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole,
            pg_get_userbyid(d.datdba) AS owner,
            pg_has_role(current_user, d.datdba, 'USAGE') AS owns,
            pg_has_role(current_user, d.datdba, 'MEMBER') AS member,
            EXISTS (SELECT 1 FROM pg_db_role_setting s
                     WHERE s.setdatabase = d.oid AND s.setrole <> 0 AND s.setrole <> r.oid) AS role_settings
       FROM pg_roles r LEFT JOIN pg_database d ON d.datname = $1
      WHERE r.rolname = current_user`,
    [database],
  );
  const x = r.rows[0];
  if (x === undefined) return ["the current role is not in pg_roles"];
  if (x.superuser) return [];
  const problems: string[] = [];
  if (!x.createdb) problems.push(`${x.me} lacks CREATEDB (the staging database cannot be created)`);
  if (x.owner !== null) {
    if (x.owns !== true || x.member !== true) {
      problems.push(
        `${database} is owned by ${x.owner}, and ${x.me} is not a member of that role (with inherit): ` +
          `it could not rename ${database} nor give the restored database the same owner`,
      );
    }
    if (x.role_settings === true && !x.createrole) {
      problems.push(
        `${database} has per-role settings (ALTER ROLE … IN DATABASE) that ${x.me} cannot copy without CREATEROLE`,
      );
    }
  }
  return problems;
}

/** An unmarked database this login owns with no relations of its own in it: a staging database killed unmarked. */
async function isEmptyOwnDatabase(maint: Client, conn: PgConnection, name: string): Promise<boolean> {
  const owned = await maint.query<{ ok: boolean }>(
    "SELECT datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS ok FROM pg_database WHERE datname = $1",
    [name],
  );
  if (owned.rows[0]?.ok !== true) return false;
  return withClient(
    withDatabase(conn, name),
    async (c) =>
      (
        await queryOne<{ n: string }>(
          c,
          `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
            WHERE s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname NOT LIKE 'pg_toast%'`,
        )
      ).n === "0",
    "dr-data-restore",
  );
}
