/**
 * `restore --tables s.t,…`: only those tables' rows from a backup (the PTR copy's) into the live database,
 * instead of swapping the whole database. For an incident that lost rows in a few tables while the others kept
 * taking writes.
 *
 * 1. Validate: a non-empty list of distinct `schema.table` (table-restore/table-list.ts); the run id; the
 *    schema names it makes.
 * 2. Resolve the blob, its metadata and manifest (as `restore`), take the same advisory lock as a full restore
 *    of that database (one restore per database at a time, in the maintenance database).
 * 3. Idempotence: the schema `dr_before_<run id>` exists → that run completed; its comment (JSON
 *    `TableRestoreRecord`) must name the same blob and tables, or the run is refused.
 * 4. Download and verify the archive; every table must have one `TABLE DATA` entry in its table of contents
 *    (`pg_restore --list`) and exist in the live database, else a usage error, nothing touched.
 * 5. Staging: each table's rows are loaded into an unlogged table of the schema `dr_restore_<run id>` built
 *    `LIKE` the live table, as data only: the entry's script (`pg_restore -L <that entry> -f -`) is read, never
 *    run, and only its data block goes into the driver's COPY FROM STDIN (table-restore/data-block.ts); the
 *    COPY's columns must be the live table's (a changed definition is refused). With a manifest, each staging
 *    table's row count and checksum must equal the manifest's.
 * 6. One transaction on the live database: lock the tables (writes wait; reads go on) and the tables their
 *    foreign keys join; check every foreign key from and to the restored tables against the state the restore
 *    would leave — a dangling reference refuses the restore, naming the constraint and the rows, before any row
 *    is changed; copy the tables' current rows into `dr_before_<run id>."<schema>.<table>"`; merge by primary key
 *    in one statement (delete rows the backup does not have, update the rows that differ, insert the missing:
 *    mergeRows says why one), or — for a table without a primary key that nothing references — replace all rows; advance
 *    each restored table's sequences past the maximum of both sides; check each table now equals its staging
 *    copy (count and checksum) and that no other table was written in the transaction (a trigger would be
 *    caught: `pg_stat_xact_user_tables`); record the run as the comment of `dr_before_<run id>`; commit.
 * 7. Drop the staging schema.
 *
 * Triggers on the restored tables fire as for any DML (the login may not be allowed to disable them on Azure);
 * one that writes another table makes step 6 roll back. FKs are checked for MATCH SIMPLE (a NULL in the key
 * exempts the row, PostgreSQL's default).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Client } from "pg";
import {
  pgIdentifierBytes,
  PG_IDENTIFIER_MAX_BYTES,
  runIdProblem,
  tableRestoreBeforeSchema,
  tableRestoreStagingSchema,
} from "./naming";
import { containerClient } from "./blobstore";
import { SESSION_SETTINGS } from "./compare";
import { connect, withDatabase } from "./connection";
import { UsageError, VerificationError } from "./errors";
import { stderrLog } from "./progress";
import {
  holdRestoreLock,
  manifestOf,
  requireManifestUnlessAllowed,
  resolveBackup,
  timeoutsOff,
} from "./restore-steps";
import type { TableName } from "./table-restore/table-list";
import { quoteIdent } from "./sql";
import { locateTables } from "./table-restore/locate";
import { applyInTransaction } from "./table-restore/merge";
import { LOCK_TIMEOUT_SECONDS } from "./table-restore/merge-plan";
import { dropStaging, readRecord } from "./table-restore/record";
import { stageTables, verifyStagedTables } from "./table-restore/stage";
import {
  type TableRestoreOptions,
  type TableRestoreResult,
  type TableRun,
  beforeTableName,
  tableText,
} from "./table-restore/types";

export { parseCopyHeader } from "./table-restore/data-block";
export { parseTableList, tableDisplay, type TableName } from "./table-restore/table-list";
export { readTableRestoreRecord } from "./table-restore/record";
export {
  beforeTableName,
  tableText,
  type RestoredTable,
  type SequenceAdvance,
  type TableRestoreOptions,
  type TableRestoreRecord,
  type TableRestoreResult,
} from "./table-restore/types";

function nameProblems(runId: string, tables: readonly TableName[]): string[] {
  const problems: string[] = [];
  const runIdWrong = runIdProblem(runId);
  if (runIdWrong !== undefined) problems.push(runIdWrong);
  for (const n of [
    tableRestoreBeforeSchema(runId),
    tableRestoreStagingSchema(runId),
    ...tables.map(beforeTableName),
  ]) {
    if (pgIdentifierBytes(n) > PG_IDENTIFIER_MAX_BYTES) {
      problems.push(`the name ${n} would exceed ${PG_IDENTIFIER_MAX_BYTES} bytes`);
    }
  }
  return problems;
}

/**
 * `restore --tables`: the chosen tables' rows from a backup, merged into the live database in one transaction
 * (their previous rows kept in `dr_before_<run id>`), after the staged rows were verified against the manifest
 * and the foreign keys against the state the merge would leave.
 */
export async function tableRestore(o: TableRestoreOptions): Promise<TableRestoreResult> {
  checkTableRestoreInput(o);
  const container = containerClient(o.store);
  const backup = await resolveBackup(container, o.store, o.from, o.sourceDatabase ?? o.database);
  const database = o.database ?? backup.meta.database;
  if (database === o.connection.database) {
    throw new UsageError(
      `the target database ${database} is the maintenance database; connect to another (e.g. postgres)`,
    );
  }
  requireManifestUnlessAllowed(container, backup, o.allowUnverified, {
    unverifiable: "the restored tables' rows",
    step: "merge",
    restoreIt: "them",
  });
  const manifest = await manifestOf(container, backup);
  const maint = await connect(o.connection, "dr-data-table-restore");
  let target: Client | undefined;
  const tmp = await mkdtemp(path.join(o.workDir ?? os.tmpdir(), "dr-data-tables-"));
  const run: TableRun = {
    o,
    log: o.log ?? stderrLog,
    wanted: o.tables.map(tableText),
    container,
    backup,
    database,
    targetConn: withDatabase(o.connection, database),
    before: tableRestoreBeforeSchema(o.runId),
    staging: tableRestoreStagingSchema(o.runId),
    stageNames: o.tables.map((_, i) => `t${i + 1}`),
    manifest,
    tmp,
  };
  try {
    await holdRestoreLock(maint, database);
    target = await connect(run.targetConn, "dr-data-table-restore");
    // The one pinning list of every checking session (compare.ts; search_path = pg_catalog included), then every
    // timeout off: this session too waits idle while the archive downloads.
    await target.query(SESSION_SETTINGS);
    await timeoutsOff(target);
    return (await alreadyRestoredTables(run, target)) ?? (await restoreTables(run, target));
  } catch (err) {
    if (target !== undefined) {
      await target.query("ROLLBACK").catch(() => undefined);
      await dropStaging(target, run.staging, o.runId, run.log).catch(() => undefined);
    }
    throw err;
  } finally {
    await target?.end().catch(() => undefined);
    await maint.end().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  }
}

function checkTableRestoreInput(o: TableRestoreOptions): void {
  if (o.tables.length === 0) throw new UsageError("--tables needs at least one table, got an empty list");
  const problems = nameProblems(o.runId, o.tables);
  if (problems.length > 0) throw new UsageError(problems.join("; "));
}

/** Idempotence: the run's record says what it restored; the same tables from the same blob are done. */
async function alreadyRestoredTables(run: TableRun, target: Client): Promise<TableRestoreResult | undefined> {
  const { o, backup, wanted } = run;
  const done = await readRecord(target, run.before);
  if (!done.exists) return undefined;
  const record = done.record;
  const same =
    record !== undefined &&
    record.blob === backup.blobName &&
    [...record.tables].sort().join(",") === [...wanted].sort().join(",");
  if (!same) {
    throw new VerificationError(
      `run ${o.runId} already restored ` +
        (record === undefined
          ? `something (${run.before} exists without a readable record)`
          : `${record.tables.join(", ")} from ${record.container}/${record.blob}`) +
        ` into ${run.database}; ${wanted.join(", ")} from ${run.container.containerName}/${backup.blobName} was ` +
        `asked for: that needs a new run id`,
    );
  }
  await dropStaging(target, run.staging, o.runId, run.log);
  run.log(`restore --tables: run ${o.runId} already completed (${run.before} exists); nothing to do`);
  return {
    status: "already-completed",
    runId: o.runId,
    database: run.database,
    beforeSchema: run.before,
    blobName: backup.blobName,
    tables: record.results,
    sequences: record.sequences,
  };
}

async function restoreTables(run: TableRun, target: Client): Promise<TableRestoreResult> {
  const { o, backup, wanted } = run;
  const found = await locateTables(run, target);
  await stageTables(run, target, found);
  await verifyStagedTables(run, target, found);
  const applied = await applyInTransaction(target, {
    lockTimeoutSeconds: o.lockTimeoutSeconds ?? LOCK_TIMEOUT_SECONDS,
    tables: o.tables,
    shapes: found.shapes,
    details: found.details,
    staging: run.staging,
    stageNames: run.stageNames,
    before: run.before,
    recordBase: {
      tool: "dr-data-table-restore/1",
      runId: o.runId,
      database: run.database,
      container: run.container.containerName,
      blob: backup.blobName,
      sha256: backup.meta.sha256,
      manifestSha256: backup.meta.manifestSha256 ?? null,
      tables: wanted,
    },
  });
  // The restore has committed: a failure to drop the staging schema is reported, not an error (the next run of
  // this id drops it).
  await target.query(`DROP SCHEMA ${quoteIdent(run.staging)} CASCADE`).catch((e: unknown) => {
    run.log(`restore --tables: could not drop ${run.staging}: ${String(e)}`);
  });
  run.log(
    `restore --tables: ${wanted.join(", ")} restored from ${backup.blobName}; previous rows kept in ${run.before}`,
  );
  return {
    status: "restored",
    runId: o.runId,
    database: run.database,
    beforeSchema: run.before,
    blobName: backup.blobName,
    tables: applied.results,
    sequences: applied.sequences,
    contents: run.manifest === undefined ? "no manifest" : "verified",
  };
}
