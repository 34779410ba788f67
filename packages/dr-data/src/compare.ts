/**
 * `compare`: two databases, table by table — row counts and a content checksum — and sequence values.
 *
 * The checksum of a table is the sum, over its rows, of a 64-bit hash of the row's text (`hashtextextended`,
 * the hash PostgreSQL's hash partitioning relies on, so stable across versions; summed as numeric, so it
 * cannot overflow). It replaced an md5 split into two 64-bit halves, which measured 2.5–3× slower (the md5,
 * the bit-string conversions and two numeric sums per row) and made a backup's manifest cost more than the
 * dump itself. Random changes go undetected with probability about 2⁻⁶⁴ per table; it is a check against
 * accidents, not against an adversary. Independent of row order, so it needs no sort, no primary
 * key and no collation agreement between the servers, and it streams (an ordered `string_agg` would hit the
 * 1 GB text limit on a large table). Both sides format names and rows identically because each session pins
 * the settings that change text output (`SESSION_SETTINGS`). Each side is read in one snapshot shared by
 * all its connections (`pg_export_snapshot`), in read-only transactions.
 */
import { createHash } from "node:crypto";
import type { Client } from "pg";
import { connect, type PgConnection } from "./connection";
import { extensionVersionNotes, readDatabaseRecord, recordDifferences } from "./database-properties";
import { formatTable } from "./list";
import { stderrLog, type Log } from "./progress";
import { qualifiedName, quoteIdent } from "./sql";
import { onWorkers } from "./workers";

export interface CompareOptions {
  readonly left: PgConnection;
  readonly right: PgConnection;
  /** Connections per side, tables checked in parallel. Default 2. */
  readonly jobs?: number | undefined;
  readonly log?: Log | undefined;
}

/**
 * `materialized view`: only the backup's manifest (/5) and the checks against it read them
 * (`SnapshotSessions.relations(true)`); `compare`, `inspect` and `reconcile` look at tables and sequences.
 */
export type RelationKind = "table" | "sequence" | "materialized view";

/** One column of a table, by name: what the checks match (never its position). */
export interface Column {
  readonly name: string;
  /** `format_type()` with search_path pinned to pg_catalog (`SESSION_SETTINGS`). */
  readonly type: string;
  /** `GENERATED ALWAYS AS (…) STORED`: computed on load, so pg_dump's COPY leaves it out. */
  readonly generated: boolean;
}

export interface RelationSummary {
  readonly kind: RelationKind;
  /** `name type, …` in column order (tables). */
  readonly columns: string;
  /** The same columns one by one, when the summary was read from a catalog (not from an older manifest). */
  readonly columnList?: readonly Column[] | undefined;
  /** Rows (tables); 1 for a sequence. */
  readonly rows: number;
  /** Content checksum (tables) or `last_value[/not called]` (sequences). */
  readonly checksum: string;
}

export interface RelationComparison {
  /** `schema.name` */
  readonly name: string;
  readonly left?: RelationSummary | undefined;
  readonly right?: RelationSummary | undefined;
  /** Empty when the two sides are equal. */
  readonly differences: string[];
}

export interface CompareResult {
  /** Relations and database-level properties alike. */
  readonly equal: boolean;
  readonly relations: RelationComparison[];
  /** Database-level differences (packages/dr-data/src/database-properties.ts `recordDifferences`), `what: left vs right`. */
  readonly database?: readonly string[] | undefined;
  /** What was not compared, and why (e.g. an older manifest without database-level properties). */
  readonly notes?: readonly string[] | undefined;
}

/**
 * Every session that renders names or rows for a check (compare, the backup's manifest, restore's contents
 * check) pins the settings that change text output, so the answer never depends on who runs the check or where:
 * a database's or a role's `ALTER … SET`, or PGOPTIONS, would otherwise leak into both sides differently (the
 * backup session inherits the source database's settings, the staging database has none until the swap).
 * - search_path = pg_catalog: format_type() and reg* output qualify every type and relation outside pg_catalog
 *   (`s1.mood`, never `mood` on one side and `s1.mood` on the other); every function the checks call is
 *   schema-qualified too, so nothing in a user schema can shadow it.
 * - quote_all_identifiers = off: quote_ident() and format_type() quote only what needs quoting.
 * - TimeZone, DateStyle, IntervalStyle, extra_float_digits, bytea_output, lc_monetary: how timestamptz, dates,
 *   intervals, floats, bytea and money print in a row's text (the row checksum hashes that text).
 * - standard_conforming_strings = on: how the checks' own literals parse.
 * - row_security = off: a table whose row-level policies would hide rows from this login makes the query fail
 *   instead of checksumming a filtered subset (as pg_dump does).
 * - statement_timeout, lock_timeout, idle_in_transaction_session_timeout = 0: a database's timeouts must not end
 *   a long checksum or the backup's snapshot-holding session, idle while pg_dump runs.
 */
export const SESSION_SETTINGS = [
  "SET search_path = pg_catalog",
  "SET quote_all_identifiers = off",
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, MDY'",
  "SET IntervalStyle = 'postgres'",
  "SET extra_float_digits = 1",
  "SET bytea_output = 'hex'",
  "SET lc_monetary = 'C'",
  "SET standard_conforming_strings = on",
  "SET row_security = off",
  "SET statement_timeout = 0",
  "SET lock_timeout = 0",
  "SET idle_in_transaction_session_timeout = 0",
].join("; ");

export interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly kind: RelationKind;
  readonly columns: string;
  /** The columns one by one, in column order (`relations()` reads them; others may leave them out). */
  readonly columnList?: readonly Column[] | undefined;
  /** Materialized views: whether it holds data (`relispopulated`); an unpopulated one cannot be read. */
  readonly populated?: boolean | undefined;
}

const RELATIONS_SQL = `
  SELECT n.nspname AS schema, c.relname AS name,
         CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'm' THEN 'materialized view' ELSE 'table' END AS kind,
         coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' ' ||
                                       pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                     FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS columns,
         coalesce((SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
                            'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                            'generated', a.attgenerated <> '') ORDER BY a.attnum)
                     FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS "columnList",
         c.relispopulated AS populated
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = ANY ($1::pg_catalog.char[])
     AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
   ORDER BY 1, 2`;

/** `jobs` connections to one database in read-only repeatable-read transactions sharing one snapshot. */
export class SnapshotSessions {
  private constructor(
    readonly label: string,
    readonly clients: Client[],
    /** The exported snapshot id (`pg_export_snapshot()` of the first connection), valid until `close`. */
    readonly snapshot: string,
  ) {}

  static async open(
    label: string,
    conn: PgConnection,
    jobs: number,
    applicationName = "dr-data-compare",
  ): Promise<SnapshotSessions> {
    const clients: Client[] = [];
    let snapshot = "";
    try {
      for (let i = 0; i < jobs; i++) clients.push(await connect(conn, applicationName));
      for (const [i, c] of clients.entries()) {
        await c.query(SESSION_SETTINGS);
        await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        if (i === 0) {
          snapshot = (await c.query<{ s: string }>("SELECT pg_catalog.pg_export_snapshot() AS s")).rows[0]!.s;
        } else {
          await c.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
        }
      }
    } catch (cause) {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      throw new Error(`opening the ${label} side (${conn.host}:${conn.port}/${conn.database})`, { cause });
    }
    return new SnapshotSessions(label, clients, snapshot);
  }

  /** Tables and sequences; with `materializedViews`, those too. */
  async relations(materializedViews = false): Promise<Map<string, Relation>> {
    const kinds = materializedViews ? ["r", "S", "m"] : ["r", "S"];
    const r = await this.clients[0]!.query<Relation>(RELATIONS_SQL, [kinds]);
    return new Map(r.rows.map((row) => [`${row.schema}.${row.name}`, row]));
  }

  /**
   * Summaries of `relations`, spread over the connections (one relation at a time per connection);
   * `onDone(done, total)` after each (progress lines).
   */
  async summarize(
    relations: ReadonlyMap<string, Relation>,
    onDone?: (done: number, total: number) => void,
    /** Per relation, the columns to build each row from, in this order (`summarize`); default: its own. */
    orders?: ReadonlyMap<string, readonly string[]>,
  ): Promise<Map<string, RelationSummary>> {
    const names = [...relations.keys()].sort();
    const out = new Map<string, RelationSummary>();
    await onWorkers(names, this.clients.length, async (name, i) => {
      try {
        out.set(name, await summarize(this.clients[i]!, relations.get(name)!, orders?.get(name)));
      } catch (cause) {
        throw new Error(`checksumming ${name}`, { cause });
      }
      onDone?.(out.size, names.length);
    });
    return new Map(names.map((n) => [n, out.get(n)!]));
  }

  /** Closes the connections without waiting for queries in flight. */
  async end(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.end().catch(() => undefined)));
  }

  async close(): Promise<void> {
    await Promise.all(
      this.clients.map((c) =>
        c
          .query("COMMIT")
          .finally(() => c.end())
          .catch(() => undefined),
      ),
    );
  }
}

/**
 * A relation's summary. Tables and materialized views: the row count and the checksum of each row's text, the
 * row built from the columns named in `order` (default: all, in the relation's own column order). `ROW(r.a,
 * r.b)` prints exactly as `ROW(r.*)` does when the names are the columns in column order, so a checksum taken
 * in the manifest's order on a database whose columns stand in another order equals the source's.
 */
export async function summarize(
  c: Client,
  rel: Relation,
  order?: readonly string[],
): Promise<RelationSummary> {
  const q = qualifiedName(rel.schema, rel.name);
  const described = { kind: rel.kind, columns: rel.columns, columnList: rel.columnList };
  if (rel.kind === "sequence") {
    const r = await c.query<{ v: string; called: boolean }>(
      `SELECT last_value::pg_catalog.text AS v, is_called AS called FROM ${q}`,
    );
    const row = r.rows[0]!;
    return { ...described, rows: 1, checksum: row.called ? row.v : `${row.v}/not called` };
  }
  if (rel.kind === "materialized view" && rel.populated === false) {
    return { ...described, rows: 0, checksum: NOT_POPULATED };
  }
  const row = order === undefined ? "r.*" : order.map((n) => `r.${quoteIdent(n)}`).join(", ");
  const r = await c.query<{ n: string; h: string }>(
    `SELECT pg_catalog.count(*)::pg_catalog.text AS n,
            coalesce(pg_catalog.sum(pg_catalog.hashtextextended(ROW(${row})::pg_catalog.text, 0)), 0)::pg_catalog.text AS h
       FROM ONLY ${q} AS r`,
  );
  const counted = r.rows[0]!;
  const checksum = createHash("md5").update(`${counted.n}:${counted.h}`).digest("hex");
  return { ...described, rows: Number(counted.n), checksum };
}

/** The checksum of a materialized view that holds no data (`WITH NO DATA`, never refreshed). */
export const NOT_POPULATED = "not populated";

/**
 * How two column lists differ by name: a column missing on either side, or of another type, or generated on
 * one side only. The order of the columns is not compared: pg_dump recreates a table's columns in an order of
 * its own (inheritance children, attached partitions), and every check reads rows by column name.
 */
export function columnDifferences(
  left: readonly Column[],
  right: readonly Column[],
  labels: { left: string; right: string } = { left: "the left", right: "the right" },
): string[] {
  const l = new Map(left.map((c) => [c.name, c]));
  const r = new Map(right.map((c) => [c.name, c]));
  const out: string[] = [];
  const show = (c: Column) => `${quoteIdent(c.name)} ${c.type}${c.generated ? " (generated)" : ""}`;
  for (const c of right) {
    const a = l.get(c.name);
    if (a === undefined) out.push(`column ${show(c)} missing in ${labels.left}`);
    else if (a.type !== c.type || a.generated !== c.generated) {
      out.push(`column ${show(a)} in ${labels.left}, ${show(c)} in ${labels.right}`);
    }
  }
  for (const c of left) if (!r.has(c.name)) out.push(`column ${show(c)} not in ${labels.right}`);
  return out;
}

/** The names of `columns`, in their order. */
export function columnNames(columns: readonly Column[]): string[] {
  return columns.map((c) => c.name);
}

/** What differs between two summaries of the same relation (empty: equal). */
export function differencesOf(
  left: RelationSummary | undefined,
  right: RelationSummary | undefined,
): string[] {
  if (left === undefined && right === undefined) return [];
  if (left === undefined) return ["missing on the left"];
  if (right === undefined) return ["missing on the right"];
  if (left.kind !== right.kind) return [`a ${left.kind} on the left, a ${right.kind} on the right`];
  if (left.columnList !== undefined && right.columnList !== undefined) {
    const columns = columnDifferences(left.columnList, right.columnList);
    if (columns.length > 0) return columns;
  } else if (left.columns !== right.columns) {
    return [`columns differ: (${left.columns}) vs (${right.columns})`];
  }
  if (left.kind === "sequence") {
    return left.checksum === right.checksum ? [] : [`value ${left.checksum} vs ${right.checksum}`];
  }
  const out: string[] = [];
  if (left.rows !== right.rows) out.push(`rows ${left.rows} vs ${right.rows}`);
  if (left.checksum !== right.checksum) out.push("content differs");
  return out;
}

/**
 * Both sides of one relation summarized with the rows built in the left side's column order when both have
 * the same columns by name, so a column order that differs (a restore by pg_dump) checksums alike.
 */
async function summarizePair(
  lc: Client,
  rc: Client,
  lr: Relation | undefined,
  rr: Relation | undefined,
): Promise<[RelationSummary | undefined, RelationSummary | undefined]> {
  const sameByName =
    lr?.columnList !== undefined &&
    rr?.columnList !== undefined &&
    columnDifferences(lr.columnList, rr.columnList).length === 0;
  const order = sameByName ? columnNames(lr.columnList) : undefined;
  return Promise.all([
    lr === undefined ? undefined : summarize(lc, lr, order),
    rr === undefined ? undefined : summarize(rc, rr, order),
  ]);
}

export async function compare(o: CompareOptions): Promise<CompareResult> {
  const log = o.log ?? stderrLog;
  const jobs = o.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new Error(`compare jobs must be an integer ≥ 1, got ${jobs}`);
  const left = await SnapshotSessions.open("left", o.left, jobs);
  let right: SnapshotSessions | undefined;
  try {
    right = await SnapshotSessions.open("right", o.right, jobs);
    const rightSide = right;
    const [l, r] = await Promise.all([left.relations(), right.relations()]);
    const [lRecord, rRecord] = await Promise.all([
      readDatabaseRecord(left.clients[0]!, o.left.database),
      readDatabaseRecord(rightSide.clients[0]!, o.right.database),
    ]);
    const database = recordDifferences(lRecord, rRecord);
    const notes = extensionVersionNotes(lRecord, rRecord);
    const names = [...new Set([...l.keys(), ...r.keys()])].sort();
    log(`compare: ${names.length} tables and sequences, ${jobs} connection(s) per side`);
    const results = new Map<string, RelationComparison>();
    await onWorkers(names, jobs, async (name, i) => {
      const lr = l.get(name);
      const rr = r.get(name);
      try {
        const [ls, rs] = await summarizePair(left.clients[i]!, rightSide.clients[i]!, lr, rr);
        results.set(name, { name, left: ls, right: rs, differences: differencesOf(ls, rs) });
      } catch (cause) {
        throw new Error(`checksumming ${name}`, { cause });
      }
    });
    const relations = names.map((n) => results.get(n)!);
    return {
      equal: relations.every((x) => x.differences.length === 0) && database.length === 0,
      relations,
      database,
      notes,
    };
  } finally {
    await left.close();
    await right?.close();
  }
}

/** A readable table: the differing relations (all of them with `all`), then a summary line. */
export function formatComparison(
  r: CompareResult,
  o: { all?: boolean; leftLabel?: string; rightLabel?: string } = {},
): string {
  const shown = r.relations.filter((x) => (o.all ?? false) || x.differences.length > 0);
  const rows = shown.map((x) => [
    x.name,
    (x.left ?? x.right)?.kind ?? "",
    x.left === undefined ? "-" : x.left.kind === "sequence" ? x.left.checksum : String(x.left.rows),
    x.right === undefined ? "-" : x.right.kind === "sequence" ? x.right.checksum : String(x.right.rows),
    x.differences.length === 0 ? "same" : x.differences.join("; "),
  ]);
  const differing = r.relations.filter((x) => x.differences.length > 0).length;
  const database = r.database ?? [];
  const relationsPart =
    differing === 0
      ? `compare: ${r.relations.length} relations, all equal`
      : `compare: ${differing} of ${r.relations.length} relations differ`;
  const summary =
    database.length === 0
      ? relationsPart
      : `${relationsPart}; ${database.length} database-level propert${database.length === 1 ? "y differs" : "ies differ"}`;
  const lines = [
    ...database.map((d) => `database-level ${d} (${o.leftLabel ?? "left"} vs ${o.rightLabel ?? "right"})`),
    ...(r.notes ?? []).map((n) => `note: ${n}`),
  ];
  const tail = [...lines, summary].join("\n");
  if (rows.length === 0) return tail;
  const header = [
    "relation",
    "kind",
    `${o.leftLabel ?? "left"} rows/value`,
    `${o.rightLabel ?? "right"} rows/value`,
    "result",
  ];
  return `${formatTable(header, rows)}\n${tail}`;
}
