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
import { DatabaseError, type Client } from "pg";
import {
  pgIdentifierBytes,
  PG_IDENTIFIER_MAX_BYTES,
  runIdProblem,
  tableRestoreBeforeSchema,
  tableRestoreStagingSchema,
} from "./naming";
import type { ContainerClient } from "@azure/storage-blob";
import { downloadArchive, tableDataEntries, type TocDataEntry } from "./archive";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { SESSION_SETTINGS, summarize, type Relation } from "./compare";
import { connect, withDatabase, type PgConnection } from "./connection";
import { UsageError, VerificationError } from "./errors";
import type { Manifest } from "./manifest";
import { copyReader, type CopyReader } from "./manifest-check";
import { childEnv } from "./pgargs";
import type { ClientProgramOptions } from "./proc";
import { formatSeconds, stderrLog, type Log } from "./progress";
import type { RunRecord } from "./restore";
import {
  holdRestoreLock,
  manifestOf,
  requireManifestUnlessAllowed,
  resolveBackup,
  stagingMarker,
  timeoutsOff,
  type ResolvedBackup,
  type RestoreSource,
} from "./restore-steps";
import { tableShape, type TableShape } from "./row-diff";
import { loadDataBlock } from "./table-restore/data-block";
import { tableDisplay, type TableName } from "./table-restore/table-list";

export { parseCopyHeader } from "./table-restore/data-block";
export { parseTableList, tableDisplay, type TableName } from "./table-restore/table-list";
import { qualifiedName, queryOne, quoteIdent, quoteLiteral } from "./sql";

export function tableText(t: TableName): string {
  return `${t.schema}.${t.name}`;
}

export interface TableRestoreOptions extends ClientProgramOptions {
  /** The server; its `database` is the maintenance database (the advisory lock shared with `restore`). */
  readonly connection: PgConnection;
  readonly store: BlobStoreSettings;
  readonly from: RestoreSource;
  /** The live database. Default: the backup's source database. */
  readonly database?: string | undefined;
  readonly sourceDatabase?: string | undefined;
  readonly runId: string;
  readonly tables: readonly TableName[];
  /** Restore a backup without a manifest (its staged rows cannot be verified), as `restore --allow-unverified`. */
  readonly allowUnverified?: boolean | undefined;
  readonly workDir?: string | undefined;
  /** How long the transaction waits for its table locks before giving up (nothing changed). Default 120. */
  readonly lockTimeoutSeconds?: number | undefined;
}

export interface RestoredTable {
  readonly table: string;
  /** Rows in the backup (= in the table after the restore). */
  readonly rows: number;
  readonly deleted: number;
  readonly updated: number;
  readonly inserted: number;
  /** Where its previous rows are kept. */
  readonly before: string;
}

export interface SequenceAdvance {
  readonly sequence: string;
  readonly from: string;
  readonly to: string;
}

/** The comment of `dr_before_<run id>`: which blob and tables the run restored. */
export interface TableRestoreRecord extends RunRecord {
  readonly tool: "dr-data-table-restore/1";
  readonly tables: readonly string[];
  readonly results: readonly RestoredTable[];
  readonly sequences: readonly SequenceAdvance[];
}

export interface TableRestoreResult {
  readonly status: "restored" | "already-completed";
  readonly runId: string;
  readonly database: string;
  readonly beforeSchema: string;
  readonly blobName: string;
  readonly tables: readonly RestoredTable[];
  readonly sequences: readonly SequenceAdvance[];
  readonly contents?: "verified" | "no manifest" | undefined;
}

/** The name of a table's copy in `dr_before_<run id>`: `<schema>.<table>` (one quoted identifier). */
export function beforeTableName(t: TableName): string {
  return tableText(t);
}

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

/** One table-level restore run: what the steps below share. */
interface TableRun {
  readonly o: TableRestoreOptions;
  readonly log: Log;
  /** The chosen tables as `schema.name`. */
  readonly wanted: readonly string[];
  readonly container: ContainerClient;
  readonly backup: ResolvedBackup;
  /** The live database the tables are merged into. */
  readonly database: string;
  readonly targetConn: PgConnection;
  readonly before: string;
  readonly staging: string;
  /** `t1`, `t2`, …: the staging copies of the chosen tables, in their order. */
  readonly stageNames: readonly string[];
  readonly manifest: Manifest | undefined;
  readonly tmp: string;
}

/** What the archive and the live database say about the chosen tables. */
interface LocatedTables {
  readonly archive: string;
  readonly toc: readonly TocDataEntry[];
  readonly shapes: readonly TableShape[];
  readonly details: ReadonlyMap<string, ColumnDetail[]>;
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

/** The archive (downloaded and verified), and the chosen tables in it and in the live database. */
async function locateTables(run: TableRun, target: Client): Promise<LocatedTables> {
  const { o, backup } = run;
  const t0 = Date.now();
  const archive = await downloadArchive(run.container, backup, run.tmp, { log: run.log });
  const toc = await tableDataEntries(archive, o.binDir, backup.blobName);
  const missing = o.tables.filter((t) => tableDataCandidates(toc, t).length === 0);
  if (missing.length > 0) {
    throw new UsageError(
      `--tables: ${missing.map(tableDisplay).join(", ")} ${missing.length === 1 ? "is" : "are"} not in the ` +
        `backup ${backup.blobName}; it holds the data of: ${(await heldTables(target, toc)).join(", ") || "no table"}`,
    );
  }
  for (const t of o.tables) {
    const entries = tableDataCandidates(toc, t);
    if (entries.length > 1) {
      throw new VerificationError(
        `the backup ${backup.blobName} has ${entries.length} TABLE DATA entries that may hold ${tableDisplay(t)} ` +
          `(${entries.map((e) => JSON.stringify(e.line)).join(", ")}); a table restore loads exactly one: nothing restored`,
      );
    }
  }
  const shapes: TableShape[] = [];
  for (const t of o.tables) {
    const s = await tableShape(target, t.schema, t.name);
    if (s === undefined) throw new UsageError(`--tables: ${tableText(t)} does not exist in ${run.database}`);
    shapes.push(s);
  }
  const details = await columnDetails(target, o.tables);
  run.log(
    `restore --tables: ${backup.blobName} verified in ${formatSeconds((Date.now() - t0) / 1000)}; staging ${run.wanted.join(", ")}`,
  );
  return { archive, toc, shapes, details };
}

/**
 * The TABLE DATA entries whose tag could be `t`'s. pg_restore lists a tag unquoted (`schema table owner`), so
 * names with blanks can make two tables' tags alike: more than one candidate is refused, and the one loaded
 * must name `t` in its COPY line (table-restore/data-block.ts).
 */
function tableDataCandidates(toc: readonly TocDataEntry[], t: TableName): TocDataEntry[] {
  const prefix = `${t.schema} ${t.name} `;
  return toc.filter((e) => e.tag.startsWith(prefix) && !e.tag.slice(prefix.length).includes(" "));
}

/**
 * The tables a backup holds data of, as `--tables` takes them. A tag is `schema table owner` unquoted: with
 * blanks in a name it is split as the one table of the live database it can be; else it is shown whole,
 * quoted, without its owner.
 */
async function heldTables(target: Client, toc: readonly TocDataEntry[]): Promise<string[]> {
  const live = await target.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')`,
  );
  return toc
    .map((e) => {
      const words = e.tag.split(" ");
      const known = live.rows.filter((t) => tableDataCandidates([e], t).length === 1);
      if (words.length === 3) return tableDisplay({ schema: words[0]!, name: words[1]! });
      return known.length === 1 ? tableDisplay(known[0]!) : JSON.stringify(words.slice(0, -1).join(" "));
    })
    .sort();
}

/** A fresh staging schema marked as this run's, with an unlogged copy of each chosen table loaded from the archive. */
async function stageTables(run: TableRun, target: Client, found: LocatedTables): Promise<void> {
  const { o, staging } = run;
  await dropStaging(target, staging, o.runId, run.log);
  await target.query(`CREATE SCHEMA ${quoteIdent(staging)}`);
  await target.query(
    `COMMENT ON SCHEMA ${quoteIdent(staging)} IS ${quoteLiteral(stagingMarker("schema", o.runId))}`,
  );
  for (const [i, t] of o.tables.entries()) {
    const stageName = qualifiedName(staging, run.stageNames[i]!);
    await target.query(
      // INCLUDING GENERATED: generated columns are computed on load, as in the dump's source, so a staging
      // table's checksum is comparable with the manifest's and with the live table's after the merge.
      `CREATE UNLOGGED TABLE ${stageName} (LIKE ${qualifiedName(t.schema, t.name)} INCLUDING GENERATED)`,
    );
    const entry = tableDataCandidates(found.toc, t)[0];
    const columns = found.details.get(tableText(t));
    if (entry === undefined || columns === undefined)
      throw new Error(`${tableText(t)} was located, then lost`);
    await loadDataBlock(target, {
      archive: found.archive,
      listFile: path.join(run.tmp, `list-${i + 1}`),
      entryLine: entry.line,
      target: stageName,
      table: t,
      expectedColumns: columns.filter((c) => !c.generated).map((c) => c.name),
      env: childEnv(process.env, run.targetConn, { applicationName: "dr-data-table-restore" }),
      binDir: o.binDir,
    });
  }
}

/** The staged rows against the manifest's counts and checksums (when the backup has one). */
async function verifyStagedTables(run: TableRun, target: Client, found: LocatedTables): Promise<void> {
  const { manifest } = run;
  if (manifest !== undefined) {
    const reader = await copyReader(run.targetConn, {
      applicationName: "dr-data-table-restore",
      binDir: run.o.binDir,
    });
    const summaries = await stagingSummaries(target, run.staging, run.stageNames, found.shapes, {
      manifest,
      reader,
    });
    checkStagingAgainstManifest(manifest, found.shapes, summaries);
  }
  run.log(
    `restore --tables: staged ${run.wanted.join(", ")}${manifest === undefined ? " (no manifest: contents not verified)" : ", verified against the manifest"}`,
  );
}

async function readRecord(
  c: Client,
  schema: string,
): Promise<{ exists: boolean; record?: TableRestoreRecord | undefined }> {
  const r = await c.query<{ c: string | null }>(
    "SELECT pg_catalog.obj_description(oid, 'pg_namespace') AS c FROM pg_catalog.pg_namespace WHERE nspname = $1",
    [schema],
  );
  if (r.rowCount !== 1) return { exists: false };
  try {
    const parsed = JSON.parse(r.rows[0]!.c ?? "") as Partial<TableRestoreRecord>;
    if (parsed.tool === "dr-data-table-restore/1" && Array.isArray(parsed.tables)) {
      return { exists: true, record: parsed as TableRestoreRecord };
    }
  } catch {
    // not a record
  }
  return { exists: true };
}

/** Reads the record of a completed table-level restore run from the live database (compare --tables). */
export async function readTableRestoreRecord(
  c: Client,
  runId: string,
): Promise<TableRestoreRecord | undefined> {
  return (await readRecord(c, tableRestoreBeforeSchema(runId))).record;
}

/** Drops the staging schema if this run made it (its marker); refuses one that is someone else's. */
async function dropStaging(c: Client, schema: string, runId: string, log: Log): Promise<void> {
  const r = await c.query<{ c: string | null }>(
    "SELECT pg_catalog.obj_description(oid, 'pg_namespace') AS c FROM pg_catalog.pg_namespace WHERE nspname = $1",
    [schema],
  );
  if (r.rowCount !== 1) return;
  if (r.rows[0]!.c !== stagingMarker("schema", runId)) {
    throw new Error(
      `the schema ${schema} exists and was not created by run ${runId} of this tool; not touching it`,
    );
  }
  log(`restore --tables: dropping the staging schema ${schema}`);
  await c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
}

interface ColumnDetail {
  readonly name: string;
  readonly generated: boolean;
  readonly identityAlways: boolean;
  /** The sequence feeding it (serial or identity), schema-qualified and quoted, or null. */
  readonly sequence: string | null;
}

async function columnDetails(c: Client, tables: readonly TableName[]): Promise<Map<string, ColumnDetail[]>> {
  const out = new Map<string, ColumnDetail[]>();
  for (const t of tables) {
    const r = await c.query<{ name: string; generated: boolean; always: boolean; seq: string | null }>(
      `SELECT a.attname AS name, a.attgenerated <> '' AS generated, a.attidentity = 'a' AS always,
              pg_catalog.pg_get_serial_sequence(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident($2), a.attname) AS seq
         FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = $2)
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
      [t.schema, t.name],
    );
    out.set(
      tableText(t),
      r.rows.map((x) => ({
        name: x.name,
        generated: x.generated,
        identityAlways: x.always,
        sequence: x.seq,
      })),
    );
  }
  return out;
}

function stagingRelation(staging: string, name: string, shape: TableShape): Relation {
  return { schema: staging, name, kind: "table", columns: shape.columnTypes };
}

/**
 * Each staging table summarized the way its manifest entry was taken: from COPY text when the entry says
 * `method: "copy"` (the staging table is `LIKE` the live one, so it names the same columns as pg_dump's COPY),
 * server-side otherwise.
 */
async function stagingSummaries(
  c: Client,
  staging: string,
  names: readonly string[],
  shapes: readonly TableShape[],
  by: { readonly manifest: Manifest; readonly reader: CopyReader },
) {
  const out = [];
  for (const [i, n] of names.entries()) {
    const shape = shapes[i]!;
    const rel = stagingRelation(staging, n, shape);
    const entry = by.manifest.relations.find((r) => r.name === `${shape.schema}.${shape.name}`);
    out.push(entry?.method === "copy" ? await by.reader.checksum(c, rel) : await summarize(c, rel));
  }
  return out;
}

function checkStagingAgainstManifest(
  manifest: Manifest,
  shapes: readonly TableShape[],
  summaries: readonly { rows: number; checksum: string }[],
): void {
  const problems: string[] = [];
  for (const [i, s] of shapes.entries()) {
    const name = `${s.schema}.${s.name}`;
    const m = manifest.relations.find((r) => r.name === name && r.kind === "table");
    if (m === undefined) {
      problems.push(`${name}: not in the backup's manifest`);
      continue;
    }
    if (m.columns !== s.columnTypes) {
      problems.push(`${name}: columns (${m.columns}) in the backup, (${s.columnTypes}) in live`);
      continue;
    }
    const got = summaries[i]!;
    if (got.rows !== m.rows)
      problems.push(`${name}: ${got.rows} rows loaded, the manifest records ${m.rows}`);
    else if (got.checksum !== m.checksum)
      problems.push(`${name}: the loaded rows' checksum differs from the manifest's`);
  }
  if (problems.length > 0) {
    throw new VerificationError(
      `the staged rows do not match the backup's manifest; nothing restored: ${problems.join("; ")}`,
    );
  }
}

interface ForeignKey {
  readonly name: string;
  readonly childSchema: string;
  readonly childTable: string;
  readonly childColumns: string[];
  readonly parentSchema: string;
  readonly parentTable: string;
  readonly parentColumns: string[];
  /** Partitioned tables are read with their partitions (not `ONLY`): their rows are in the partitions. */
  readonly childPartitioned: boolean;
  readonly parentPartitioned: boolean;
}

const FOREIGN_KEYS_SQL = `
  SELECT con.conname AS name, cn.nspname AS child_schema, cc.relname AS child_table,
         ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS child_columns,
         pn.nspname AS parent_schema, pc.relname AS parent_table,
         cc.relkind = 'p' AS child_partitioned, pc.relkind = 'p' AS parent_partitioned,
         ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS parent_columns
    FROM pg_catalog.pg_constraint con
    JOIN pg_catalog.pg_class cc ON cc.oid = con.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = cc.relnamespace
    JOIN pg_catalog.pg_class pc ON pc.oid = con.confrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
   WHERE con.contype = 'f' AND con.conparentid = 0
     AND ((cn.nspname, cc.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
       OR (pn.nspname, pc.relname) IN (SELECT * FROM unnest($1::text[], $2::text[])))
   ORDER BY 2, 3, 1`;

async function foreignKeys(c: Client, tables: readonly TableName[]): Promise<ForeignKey[]> {
  const r = await c.query<{
    name: string;
    child_schema: string;
    child_table: string;
    child_columns: string[];
    parent_schema: string;
    parent_table: string;
    parent_columns: string[];
    child_partitioned: boolean;
    parent_partitioned: boolean;
  }>(FOREIGN_KEYS_SQL, [tables.map((t) => t.schema), tables.map((t) => t.name)]);
  return r.rows.map((x) => ({
    name: x.name,
    childSchema: x.child_schema,
    childTable: x.child_table,
    childColumns: x.child_columns,
    parentSchema: x.parent_schema,
    parentTable: x.parent_table,
    parentColumns: x.parent_columns,
    childPartitioned: x.child_partitioned,
    parentPartitioned: x.parent_partitioned,
  }));
}

/** Rows shown per violated constraint. */
const SHOWN_VIOLATIONS = 10;

interface Plan {
  readonly tables: readonly TableName[];
  readonly shapes: readonly TableShape[];
  readonly details: ReadonlyMap<string, ColumnDetail[]>;
  readonly staging: string;
  readonly stageNames: readonly string[];
  readonly before: string;
  readonly recordBase: Omit<TableRestoreRecord, "restoredAt" | "results" | "sequences">;
  readonly lockTimeoutSeconds: number;
}

/** The merge's view of the chosen tables: their index, live and staging names, and their partners' names. */
class Merge {
  readonly index: ReadonlyMap<string, number>;

  constructor(
    readonly c: Client,
    readonly p: Plan,
    readonly fks: readonly ForeignKey[],
  ) {
    this.index = new Map(p.tables.map((t, i) => [tableText(t), i]));
  }

  live(i: number): string {
    return qualifiedName(this.p.tables[i]!.schema, this.p.tables[i]!.name);
  }

  stage(i: number): string {
    return qualifiedName(this.p.staging, this.p.stageNames[i]!);
  }

  /** Where a table's rows come from after the restore (a FROM item): its staging copy when restored, else itself. */
  source(schema: string, table: string, partitioned: boolean): string {
    const i = this.index.get(fkKey(schema, table));
    if (i !== undefined) return this.stage(i);
    return `${partitioned ? "" : "ONLY "}${qualifiedName(schema, table)}`;
  }

  columns(i: number): ColumnDetail[] {
    const name = tableText(this.p.tables[i]!);
    const columns = this.p.details.get(name);
    if (columns === undefined) throw new Error(`no column details for ${name}`);
    return columns;
  }
}

const fkKey = (schema: string, table: string) => `${schema}.${table}`;

/**
 * The merge, in one transaction: lock, check the foreign keys against the state it would leave, keep the rows as
 * they are, merge, advance the sequences, prove the result, record the run and commit. Any failure before the
 * COMMIT leaves the live tables as they were (the caller rolls back).
 */
async function applyInTransaction(
  c: Client,
  p: Plan,
): Promise<{ results: RestoredTable[]; sequences: SequenceAdvance[] }> {
  await c.query("BEGIN ISOLATION LEVEL READ COMMITTED");
  const m = new Merge(c, p, await foreignKeys(c, p.tables));
  await lockForMerge(m);
  await checkForeignKeys(m);
  requireKeysWhereReferenced(m);
  await keepRowsBefore(m);
  const counts = await mergeRows(m);
  const sequences = await advanceSequences(m);
  const results = await proveMerge(m, counts);
  const record: TableRestoreRecord = {
    ...p.recordBase,
    restoredAt: new Date().toISOString(),
    results,
    sequences,
  };
  await c.query(`COMMENT ON SCHEMA ${quoteIdent(p.before)} IS ${quoteLiteral(JSON.stringify(record))}`);
  await c.query("COMMIT");
  return { results, sequences };
}

/**
 * Writers wait until the commit; readers go on. The partner tables are locked against writes so the checks
 * stay true until the commit. A session holding a conflicting lock (a long transaction of the app) makes the
 * restore fail after two minutes, saying so, instead of hanging the Job; nothing has been changed then.
 */
async function lockForMerge(m: Merge): Promise<void> {
  const { c, p } = m;
  await c.query(`SET LOCAL lock_timeout = '${p.lockTimeoutSeconds}s'`);
  const chosen = p.tables.map((_, i) => `ONLY ${m.live(i)}`).join(", ");
  await lockTables(c, chosen, "SHARE ROW EXCLUSIVE", p.lockTimeoutSeconds);
  const partners = new Map<string, string>();
  for (const f of m.fks) {
    for (const [schema, table, partitioned] of [
      [f.childSchema, f.childTable, f.childPartitioned],
      [f.parentSchema, f.parentTable, f.parentPartitioned],
    ] as const) {
      const key = fkKey(schema, table);
      if (!m.index.has(key) && !partners.has(key)) partners.set(key, m.source(schema, table, partitioned));
    }
  }
  if (partners.size > 0) {
    await lockTables(c, [...partners.values()].join(", "), "SHARE", p.lockTimeoutSeconds);
  }
}

/** Foreign keys, against the state the restore would leave; nothing has been changed yet. */
async function checkForeignKeys(m: Merge): Promise<void> {
  const violations: string[] = [];
  for (const f of m.fks) {
    const v = await danglingReferences(m, f);
    if (v !== undefined) violations.push(v);
  }
  if (violations.length > 0) {
    throw new VerificationError(
      `restoring ${m.p.recordBase.tables.join(", ")} would leave dangling references; nothing was changed: ` +
        violations.join(" | "),
    );
  }
}

/** The rows of `f`'s child that would reference no parent row, as a problem text, or undefined. */
async function danglingReferences(m: Merge, f: ForeignKey): Promise<string | undefined> {
  const cols = f.childColumns.map((x) => `c.${quoteIdent(x)}`);
  const match = f.childColumns
    .map((x, i) => `p.${quoteIdent(f.parentColumns[i]!)} = c.${quoteIdent(x)}`)
    .join(" AND ");
  const childKey = (await tableShape(m.c, f.childSchema, f.childTable))?.primaryKey ?? [];
  const rowText =
    childKey.length > 0
      ? `'(' || ${quoteLiteral(childKey.join(", "))} || ')=' || ROW(${childKey.map((k) => `c.${quoteIdent(k)}`).join(", ")})::text`
      : "ROW(c.*)::text";
  const r = await m.c.query<{ row: string; ref: string }>(
    `SELECT ${rowText} AS row, ROW(${cols.join(", ")})::text AS ref
       FROM ${m.source(f.childSchema, f.childTable, f.childPartitioned)} AS c
      WHERE ${cols.map((x) => `${x} IS NOT NULL`).join(" AND ")}
        AND NOT EXISTS (SELECT 1 FROM ${m.source(f.parentSchema, f.parentTable, f.parentPartitioned)} AS p WHERE ${match})
      LIMIT ${SHOWN_VIOLATIONS + 1}`,
  );
  if (r.rows.length === 0) return undefined;
  const shown = r.rows
    .slice(0, SHOWN_VIOLATIONS)
    .map((x) => `${x.row} → (${f.parentColumns.join(", ")})=${x.ref}`);
  return (
    `${f.name} (${f.childSchema}.${f.childTable} (${f.childColumns.join(", ")}) → ` +
    `${f.parentSchema}.${f.parentTable} (${f.parentColumns.join(", ")})): ` +
    `${r.rows.length > SHOWN_VIOLATIONS ? `more than ${SHOWN_VIOLATIONS}` : r.rows.length} dangling: ${shown.join("; ")}`
  );
}

/** A referenced table's rows are matched by primary key; without one, replacing them would break references. */
function requireKeysWhereReferenced(m: Merge): void {
  for (const [i, s] of m.p.shapes.entries()) {
    const name = tableText(m.p.tables[i]!);
    const referenced = m.fks.some((f) => fkKey(f.parentSchema, f.parentTable) === name);
    if (s.primaryKey.length === 0 && referenced) {
      throw new VerificationError(
        `${name} has no primary key and is referenced by a foreign key: it cannot be ` +
          `restored by replacing its rows; nothing was changed`,
      );
    }
  }
}

/** The rows as they are now, in the `dr_before_<run id>` schema. */
async function keepRowsBefore(m: Merge): Promise<void> {
  const { c, p } = m;
  await c.query(`CREATE SCHEMA ${quoteIdent(p.before)}`);
  for (const [i, t] of p.tables.entries()) {
    await c.query(
      `CREATE TABLE ${qualifiedName(p.before, beforeTableName(t))} AS SELECT * FROM ONLY ${m.live(i)}`,
    );
  }
}

type MergeCounts = { deleted: number; updated: number; inserted: number };

/**
 * The merge is ONE statement: each table's DELETE, UPDATE and INSERT is a data-modifying WITH query of it.
 * PostgreSQL checks a foreign key that is not deferred (NO ACTION or RESTRICT) at the end of the statement
 * that changed a row, and the checks of a WITH query's parts are queued to the end of the whole statement;
 * so rows that reference each other — in one table, or across the restored tables, in a cycle too — are
 * checked once, against the merged state, whatever changed since the backup (deleted, key changed, inserted,
 * re-parented). Weighed and rejected: statements ordered by the foreign-key graph (a self-reference or a cycle
 * has no order, and a NOT NULL reference cannot be set aside and back); `SET CONSTRAINTS ALL DEFERRED` (only
 * DEFERRABLE constraints, which are rare); altering or dropping the constraints for the merge (ownership of
 * the tables, an ACCESS EXCLUSIVE lock that stops readers, a re-validation). Unique indexes are still checked
 * row by row: every DELETE runs before any UPDATE, every UPDATE before any INSERT (each part reads a count of
 * the previous ones first), so a value freed by a deleted row can be taken by an updated or inserted one.
 * checkForeignKeys has already refused a merge whose result would dangle; a constraint the server still
 * finds broken is reported by name with its row (constraintRefusal).
 */
async function mergeRows(m: Merge): Promise<MergeCounts[]> {
  const n = m.p.tables.length;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`d${i} AS (${deleteGone(m, i)} RETURNING 1)`);
  parts.push(`deleted AS (SELECT ${countsOf("d", n)} AS n)`);
  for (let i = 0; i < n; i++) parts.push(`u${i} AS (${updateChanged(m, i, "deleted")})`);
  parts.push(`updated AS (SELECT ${countsOf("u", n)} AS n)`);
  for (let i = 0; i < n; i++) parts.push(`i${i} AS (${insertMissing(m, i, "updated")} RETURNING 1)`);
  const counts = [...Array(n).keys()].flatMap((i) =>
    ["d", "u", "i"].map((k) => `(SELECT count(*) FROM ${k}${i})::int AS ${k}${i}`),
  );
  let row: Record<string, number>;
  try {
    row = await queryOne<Record<string, number>>(
      m.c,
      `WITH ${parts.join(",\n")} SELECT ${counts.join(", ")}`,
    );
  } catch (e) {
    throw constraintRefusal(m, e);
  }
  return [...Array(n).keys()].map((i) => ({
    deleted: row[`d${i}`]!,
    updated: row[`u${i}`]!,
    inserted: row[`i${i}`]!,
  }));
}

const countsOf = (k: string, n: number) =>
  [...Array(n).keys()].map((i) => `(SELECT count(*) FROM ${k}${i})`).join(" + ");

/** A constraint violation of the merge as a refusal naming the constraint, its table and the row. */
function constraintRefusal(m: Merge, e: unknown): unknown {
  if (!(e instanceof DatabaseError) || !(e.code ?? "").startsWith("23")) return e;
  return new VerificationError(
    `restoring ${m.p.recordBase.tables.join(", ")} breaks the constraint ${e.constraint ?? "?"} of ` +
      `${e.schema ?? "?"}.${e.table ?? "?"}: ${e.detail ?? e.message}; rolled back, nothing was changed`,
    { cause: e },
  );
}

function deleteGone(m: Merge, i: number): string {
  const pk = m.p.shapes[i]!.primaryKey;
  return pk.length === 0
    ? `DELETE FROM ONLY ${m.live(i)}`
    : `DELETE FROM ONLY ${m.live(i)} AS t WHERE NOT EXISTS (SELECT 1 FROM ${m.stage(i)} AS s WHERE ${pkMatch(pk)})`;
}

/** `after`: the WITH query whose count this part reads first (the order of the parts, above). */
function updateChanged(m: Merge, i: number, after: string): string {
  const pk = m.p.shapes[i]!.primaryKey;
  const rest = m
    .columns(i)
    .filter((x) => !x.generated && !pk.includes(x.name))
    .map((x) => quoteIdent(x.name));
  if (pk.length === 0 || rest.length === 0) return `SELECT 1 FROM ${after} WHERE false`;
  return `UPDATE ONLY ${m.live(i)} AS t SET (${rest.join(", ")}) = ROW(${rest.map((x) => `s.${x}`).join(", ")})
       FROM ${m.stage(i)} AS s
      WHERE (SELECT n FROM ${after}) >= 0 AND ${pkMatch(pk)}
        AND ROW(${rest.map((x) => `t.${x}`).join(", ")})::text IS DISTINCT FROM ROW(${rest.map((x) => `s.${x}`).join(", ")})::text
     RETURNING 1`;
}

function insertMissing(m: Merge, i: number, after: string): string {
  const pk = m.p.shapes[i]!.primaryKey;
  const cols = m.columns(i).filter((x) => !x.generated);
  const all = cols.map((x) => quoteIdent(x.name));
  const overriding = cols.some((x) => x.identityAlways) ? " OVERRIDING SYSTEM VALUE" : "";
  const missing =
    pk.length === 0 ? "" : ` AND NOT EXISTS (SELECT 1 FROM ONLY ${m.live(i)} AS t WHERE ${pkMatch(pk)})`;
  return (
    `INSERT INTO ${m.live(i)} (${all.join(", ")})${overriding} SELECT ${all.map((x) => `s.${x}`).join(", ")} ` +
    `FROM ${m.stage(i)} AS s WHERE (SELECT n FROM ${after}) >= 0${missing}`
  );
}

/** Sequences past both sides' maximum (never moved back). */
async function advanceSequences(m: Merge): Promise<SequenceAdvance[]> {
  const sequences: SequenceAdvance[] = [];
  for (const [i, t] of m.p.tables.entries()) {
    for (const col of m.columns(i)) {
      if (col.sequence === null) continue;
      const row = await queryOne<{ cur: string; called: boolean; top: string | null }>(
        m.c,
        `SELECT s.last_value::text AS cur, s.is_called AS called,
                greatest((SELECT max(${quoteIdent(col.name)}) FROM ONLY ${m.live(i)}),
                         (SELECT max(${quoteIdent(col.name)}) FROM ${qualifiedName(m.p.before, beforeTableName(t))}))::text AS top
           FROM ${col.sequence} AS s`,
      );
      const current = BigInt(row.cur) - (row.called ? 0n : 1n);
      if (row.top !== null && BigInt(row.top) > current) {
        await m.c.query("SELECT pg_catalog.setval($1::regclass, $2::bigint, true)", [col.sequence, row.top]);
        sequences.push({
          sequence: col.sequence,
          from: row.called ? row.cur : `${row.cur}/not called`,
          to: row.top,
        });
      }
    }
  }
  return sequences;
}

/** Proofs before the commit: each table equals its staging copy; no other table was written. */
async function proveMerge(m: Merge, counts: readonly MergeCounts[]): Promise<RestoredTable[]> {
  const { c, p } = m;
  const results: RestoredTable[] = [];
  for (const [i, t] of p.tables.entries()) {
    const rel = { schema: t.schema, name: t.name, kind: "table" as const, columns: p.shapes[i]!.columnTypes };
    const [now, staged] = await Promise.all([
      summarize(c, rel),
      summarize(c, stagingRelation(p.staging, p.stageNames[i]!, p.shapes[i]!)),
    ]);
    if (now.rows !== staged.rows || now.checksum !== staged.checksum) {
      throw new VerificationError(
        `${tableText(t)} does not equal the backup's rows after the merge (${now.rows} rows vs ${staged.rows}); rolled back`,
      );
    }
    results.push({
      table: tableText(t),
      rows: now.rows,
      ...counts[i]!,
      before: `${p.before}.${beforeTableName(t)}`,
    });
  }
  const written = await c.query<{ name: string }>(
    `SELECT schemaname || '.' || relname AS name FROM pg_catalog.pg_stat_xact_user_tables
      WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 AND schemaname <> ALL ($1::text[])
        AND (schemaname, relname) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))
      ORDER BY 1`,
    // The staging schema too: its tables were loaded in this session, and PostgreSQL 15 may still count an
    // earlier transaction's writes of the session here until it flushes them to the shared statistics.
    [[p.before, p.staging], p.tables.map((t) => t.schema), p.tables.map((t) => t.name)],
  );
  if (written.rows.length > 0) {
    throw new VerificationError(
      `restoring ${p.tables.map(tableText).join(", ")} also wrote ${written.rows.map((r) => r.name).join(", ")} (a trigger or ` +
        `rule on a restored table); rolled back, nothing was changed`,
    );
  }
  return results;
}

const LOCK_TIMEOUT_SECONDS = 120;

async function lockTables(c: Client, list: string, mode: string, seconds: number): Promise<void> {
  try {
    await c.query(`LOCK TABLE ${list} IN ${mode} MODE`);
  } catch (cause) {
    if ((cause as { code?: unknown }).code === "55P03") {
      throw new Error(
        `could not lock ${list} within ${seconds} s (another session holds a conflicting lock: ` +
          `stop the writers, e.g. maintenance mode, and run again); nothing was changed`,
        { cause },
      );
    }
    throw cause;
  }
}

function pkMatch(pk: readonly string[]): string {
  return pk.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(" AND ");
}
