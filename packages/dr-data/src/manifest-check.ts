/**
 * A database summarized the way a manifest's relations were taken, so the two can be compared
 * (manifest.ts `checkAgainstManifest`): each table whose manifest entry says `method: "copy"` is read back
 * with `COPY … TO STDOUT` (psql, in the same exported snapshot as the rest) and hashed as copy-checksum.ts
 * defines; every other table server-side (`hashtextextended`), every sequence by its value. Used by restore's
 * contents check and by `compare --run-id` (compare-backup.ts).
 */
import type { Client } from "pg";
import { SnapshotSessions, type Relation, type RelationSummary } from "./compare";
import { withFreshPassword, type PgConnection } from "./connection";
import { checksumStream, COPY_TEXT_SETTINGS } from "./copy-checksum";
import { readDatabaseRecord, type DatabaseRecord } from "./database-properties";
import { MANIFEST_VERSION, type Manifest, type ManifestColumn } from "./manifest";
import { childEnv, psqlArgv } from "./pgargs";
import { binPath, describeExit, start } from "./proc";
import { qualifiedName, quoteIdent } from "./sql";
import { onWorkers } from "./workers";

export interface ManifestCheckOptions {
  /** Connections (and psql processes) at a time. */
  readonly jobs: number;
  readonly applicationName: string;
  /** Where psql lives. Default: PATH. */
  readonly binDir?: string | undefined;
  readonly onDone?: ((done: number, total: number) => void) | undefined;
  /** Only these relations (qualified names); default: all. */
  readonly only?: ReadonlySet<string> | undefined;
  /** All relations but these (qualified names): those already summarized (restore's overlapped check). */
  readonly except?: ReadonlySet<string> | undefined;
}

export interface DatabaseSummary {
  readonly relations: Map<string, RelationSummary>;
  readonly database: DatabaseRecord;
}

/**
 * Summaries of every table and sequence (and, for a /5 manifest, materialized view) of `conn`'s database, each
 * by its manifest entry's method. A /5 manifest's relations are read in its column order, by name (COPY with
 * an explicit column list, rows built from the named columns), whatever order the database's columns stand
 * in; older manifests' in the database's own order, as they were taken.
 */
export async function summarizeForManifest(
  conn: PgConnection,
  manifest: Manifest,
  o: ManifestCheckOptions,
): Promise<DatabaseSummary> {
  const s = await SnapshotSessions.open("checked", conn, o.jobs, o.applicationName);
  try {
    const database = await readDatabaseRecord(s.clients[0]!, conn.database);
    const all = await s.relations(manifest.tool === MANIFEST_VERSION);
    const relations = new Map(
      [...all].filter(([n]) => (o.only?.has(n) ?? true) && !(o.except?.has(n) ?? false)),
    );
    const orders = manifestOrders(manifest, relations);
    const byCopy = copiedTables(manifest, relations);
    const rest = new Map([...relations].filter(([name]) => !byCopy.has(name)));
    let done = 0;
    const tick = () => o.onDone?.(++done, relations.size);
    // Read before the workers start: they share the first session, and a pg Client runs one query at a time
    // (pg queues a second one and deprecates doing so; pg@9 refuses it).
    const columns = await copyColumnLists(s.clients[0]!, byCopy, orders);
    const [copied, server] = await Promise.all([
      copySummaries(s, conn, byCopy, columns, o, tick),
      s.summarize(rest, () => tick(), new Map([...orders].map(([n, l]) => [n, l.map((c) => c.name)]))),
    ]);
    const summaries = new Map([...copied, ...server]);
    return {
      relations: new Map([...relations.keys()].sort().map((n) => [n, summaries.get(n)!])),
      database,
    };
  } finally {
    await s.close();
  }
}

/**
 * For a /5 manifest, each relation's columns in the manifest's order, when the database's relation has every
 * one of them (else its columns differ, which the comparison reports, and it is read in its own order).
 */
function manifestOrders(
  manifest: Manifest,
  relations: ReadonlyMap<string, Relation>,
): Map<string, ManifestColumn[]> {
  const out = new Map<string, ManifestColumn[]>();
  if (manifest.tool !== MANIFEST_VERSION) return out;
  for (const m of manifest.relations) {
    const rel = relations.get(m.name);
    const have = new Set((rel?.columnList ?? []).map((c) => c.name));
    const list = m.columnList ?? [];
    if (rel !== undefined && list.every((c) => have.has(c.name))) out.set(m.name, [...list]);
  }
  return out;
}

/** The database's tables that the manifest summarized from the dump's COPY text. */
function copiedTables(manifest: Manifest, relations: ReadonlyMap<string, Relation>): Map<string, Relation> {
  const copy = new Set(manifest.relations.filter((r) => r.method === "copy").map((r) => r.name));
  return new Map([...relations].filter(([name, r]) => r.kind === "table" && copy.has(name)));
}

/**
 * Each table's COPY column list: a /5 manifest's columns that are not generated, in its order (pg_dump's COPY
 * named those); otherwise the table's own (`copyColumns`), one query after the other on one session.
 */
async function copyColumnLists(
  c: Client,
  tables: ReadonlyMap<string, Relation>,
  orders: ReadonlyMap<string, readonly ManifestColumn[]>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, rel] of tables) {
    const order = orders.get(name);
    out.set(
      name,
      order === undefined
        ? await copyColumns(c, rel)
        : order
            .filter((col) => col.generated !== true)
            .map((col) => quoteIdent(col.name))
            .join(", "),
    );
  }
  return out;
}

async function copySummaries(
  s: SnapshotSessions,
  conn: PgConnection,
  tables: ReadonlyMap<string, Relation>,
  columns: ReadonlyMap<string, string>,
  o: ManifestCheckOptions,
  tick: () => void,
): Promise<Map<string, RelationSummary>> {
  const out = new Map<string, RelationSummary>();
  if (tables.size === 0) return out;
  const reader = await copyReader(conn, o);
  const names = [...tables.keys()].sort();
  await onWorkers(names, Math.min(o.jobs, names.length), async (name) => {
    const rel = tables.get(name)!;
    const summary = await reader.checksumColumns(columns.get(name)!, rel, s.snapshot);
    out.set(name, {
      kind: "table",
      columns: rel.columns,
      columnList: rel.columnList,
      rows: summary.rows,
      checksum: summary.checksum,
    });
    tick();
  });
  return out;
}

/** Reads tables back as pg_dump's COPY text and hashes them (copy-checksum.ts), one psql per table. */
export interface CopyReader {
  /** `rel`'s rows and checksum; in `snapshot` when given, else in a transaction of its own. */
  checksum(c: Client, rel: Relation, snapshot?: string): Promise<{ rows: number; checksum: string }>;
  /** The same with the column list already read (`copyColumns`): no query on any session of the caller's. */
  checksumColumns(
    columns: string,
    rel: Relation,
    snapshot?: string,
  ): Promise<{ rows: number; checksum: string }>;
}

export async function copyReader(
  conn: PgConnection,
  o: { readonly applicationName: string; readonly binDir?: string | undefined },
): Promise<CopyReader> {
  const env = childEnv(process.env, await withFreshPassword(conn), {
    applicationName: o.applicationName,
    settings: COPY_TEXT_SETTINGS,
  });
  // The dump's bytes were in the database's encoding (pg_dump's default); so must these be.
  delete env.PGCLIENTENCODING;
  const psql = binPath(o.binDir, "psql");
  const checksumColumns: CopyReader["checksumColumns"] = (columns, rel, snapshot) =>
    copyTable(psql, env, conn.database, snapshot, rel, columns);
  return {
    checksum: async (c, rel, snapshot) => checksumColumns(await copyColumns(c, rel), rel, snapshot),
    checksumColumns,
  };
}

/**
 * The column list pg_dump's COPY names (pg_dump.c `fmtCopyColumnList`): every column that is neither dropped
 * nor generated, in column order; empty for a table with none (then pg_dump names no list).
 */
async function copyColumns(c: Client, rel: Relation): Promise<string> {
  const r = await c.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = $1::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
    [qualifiedName(rel.schema, rel.name)],
  );
  return r.rows.map((row) => quoteIdent(row.name)).join(", ");
}

/** `COPY table (columns) TO STDOUT` in the snapshot, through psql, hashed as it streams. */
async function copyTable(
  psql: string,
  env: Record<string, string>,
  database: string,
  snapshot: string | undefined,
  rel: Relation,
  columns: string,
): Promise<{ rows: number; checksum: string }> {
  const table = qualifiedName(rel.schema, rel.name);
  const statements = [
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    ...(snapshot === undefined ? [] : [`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`]),
    `COPY ${table}${columns === "" ? "" : ` (${columns})`} TO STDOUT`,
    "COMMIT",
  ];
  const argv = [...psqlArgv({ database, onErrorStop: true }), ...statements.map((sql) => `--command=${sql}`)];
  const p = start(psql, argv, { env, stdout: "pipe" });
  const [summary, exit] = await Promise.all([checksumStream(p.child.stdout!), p.exit]);
  if (exit.code !== 0) throw new Error(`reading ${table} back: ${describeExit("psql", exit, p.stderr)}`);
  return summary;
}
