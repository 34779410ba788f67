/**
 * Row-level comparison of one table in two databases, by primary key, streaming: each side is read through a
 * server-side cursor (`DECLARE … CURSOR`, `FETCH n`) ordered by the key, as (key, row hash[, columns]), and the
 * two ordered streams are merge-joined. Memory is one batch per side, whatever the table's size; the servers
 * sort (or walk the primary key's index) on their own disk.
 *
 * The order must be one that this process can reproduce, or the merge goes wrong:
 * - a single integer column (`smallint`, `integer`, `bigint`): `ORDER BY key`, the index order, compared here
 *   as BigInt;
 * - anything else: the key's text (`ROW(a, b)::text`, or `a::text` for one column) `COLLATE "C"`, i.e. byte
 *   order of its UTF-8 text, compared here with `Buffer.compare`. Independent of either server's collation.
 * The texts are produced under pinned session settings (compare.ts `SESSION_SETTINGS`, plus `search_path`
 * pinned to `pg_catalog` so that `regclass`-like values print the same on both sides).
 *
 * The row hash is compare.ts's: `hashtextextended(ROW(r.*)::text, 0)`; the table checksum computed here from
 * the streamed hashes (md5 of `rows:sum`) is therefore exactly `compare`'s and the manifest's.
 */
import { createHash } from "node:crypto";
import type { Client, QueryArrayConfig } from "pg";
import { qualifiedName, quoteIdent } from "./sql";

const INTEGER_TYPES = new Set(["smallint", "integer", "bigint"]);

export interface TableShape {
  readonly schema: string;
  readonly name: string;
  /** Every column, in attnum order. */
  readonly columns: readonly string[];
  /** `name type, …` (as compare.ts prints it): two sides with the same text hash rows alike. */
  readonly columnTypes: string;
  /** Primary key columns in key order; empty without a primary key. */
  readonly primaryKey: readonly string[];
  /** The primary key columns' types, in key order. */
  readonly primaryKeyTypes: readonly string[];
}

const SHAPE_SQL = `
  SELECT (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
         coalesce((SELECT string_agg(pg_catalog.quote_ident(a.attname) || ' ' ||
                                     pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                     FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS column_types,
         coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
                     FROM pg_catalog.pg_index i
                    CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                    WHERE i.indrelid = c.oid AND i.indisprimary), '{}') AS pk,
         coalesce((SELECT array_agg(pg_catalog.format_type(a.atttypid, a.atttypmod) ORDER BY k.ord)
                     FROM pg_catalog.pg_index i
                    CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                    WHERE i.indrelid = c.oid AND i.indisprimary), '{}') AS pk_types
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = $2`;

/** Columns and primary key of `schema.name`; undefined when there is no such table. */
export async function tableShape(c: Client, schema: string, name: string): Promise<TableShape | undefined> {
  const r = await c.query<{ columns: string[]; column_types: string; pk: string[]; pk_types: string[] }>(
    SHAPE_SQL,
    [schema, name],
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  return {
    schema,
    name,
    columns: row.columns ?? [],
    columnTypes: row.column_types,
    primaryKey: row.pk,
    primaryKeyTypes: row.pk_types,
  };
}

export type KeyOrder = "integer" | "text";

/** How keys of this primary key are ordered and compared (see the file comment). */
export function keyOrder(shape: TableShape): KeyOrder {
  return shape.primaryKey.length === 1 && INTEGER_TYPES.has(shape.primaryKeyTypes[0]!) ? "integer" : "text";
}

/** The columns in export order: the primary key's first, then the others in table order. */
export function keyFirstColumns(shape: TableShape): string[] {
  const pk = new Set(shape.primaryKey);
  return [...shape.primaryKey, ...shape.columns.filter((c) => !pk.has(c))];
}

/** `key, hash[, columns…]` of every row, in key order. With `withColumns`, each column's text in `keyFirstColumns` order. */
export function keyedRowsSql(shape: TableShape, withColumns: boolean): string {
  const cols = shape.primaryKey.map((c) => `r.${quoteIdent(c)}`);
  const keyText = cols.length === 1 ? `${cols[0]!}::text` : `ROW(${cols.join(", ")})::text`;
  const order = keyOrder(shape) === "integer" ? cols[0]! : `${keyText} COLLATE "C"`;
  // The row from the shape's columns in the shape's order (as `r.*` gives them in column order; inspect may
  // list a side's columns in the other side's order).
  const row = shape.columns.map((c) => `r.${quoteIdent(c)}`).join(", ");
  const extra = withColumns ? keyFirstColumns(shape).map((c) => `, r.${quoteIdent(c)}::text`) : [];
  return (
    `SELECT ${keyText} AS k, pg_catalog.hashtextextended(ROW(${row})::text, 0)::text AS h${extra.join("")} ` +
    `FROM ONLY ${qualifiedName(shape.schema, shape.name)} AS r ORDER BY ${order}`
  );
}

/** A row of `keyedRowsSql`: `[key, hash, ...columns]`, all as text (a column may be NULL). */
export type KeyedRow = readonly (string | null)[];

/** One side's rows through a cursor, one batch in memory. Needs an open transaction on `client`. */
export class KeyedRowCursor {
  private batch: KeyedRow[] = [];
  private at = 0;
  private finished = false;

  private constructor(
    private readonly client: Client,
    private readonly cursor: string,
    private readonly batchSize: number,
  ) {}

  static async open(client: Client, cursor: string, sql: string, batchSize: number): Promise<KeyedRowCursor> {
    await client.query(`DECLARE ${quoteIdent(cursor)} NO SCROLL CURSOR FOR ${sql}`);
    return new KeyedRowCursor(client, cursor, batchSize);
  }

  /** The current row, fetching the next batch when needed; undefined at the end. */
  async current(): Promise<KeyedRow | undefined> {
    if (this.at < this.batch.length) return this.batch[this.at];
    if (this.finished) return undefined;
    const config: QueryArrayConfig = {
      text: `FETCH FORWARD ${this.batchSize} FROM ${quoteIdent(this.cursor)}`,
      rowMode: "array",
    };
    const r = await this.client.query<(string | null)[]>(config);
    this.batch = r.rows;
    this.at = 0;
    if (r.rows.length < this.batchSize) this.finished = true;
    return this.batch[0];
  }

  /** The current row without waiting: null when the next batch must be fetched first (`current`). */
  peek(): KeyedRow | undefined | null {
    if (this.at < this.batch.length) return this.batch[this.at];
    return this.finished ? undefined : null;
  }

  advance(): void {
    this.at++;
  }

  async close(): Promise<void> {
    await this.client.query(`CLOSE ${quoteIdent(this.cursor)}`);
  }
}

/** Orders two key texts as the servers ordered them (see `keyOrder`). */
export function compareKeys(order: KeyOrder, a: string, b: string): number {
  if (order === "integer") {
    // PostgreSQL prints integers without leading zeros: a longer number is larger (smaller if negative).
    const an = a.startsWith("-");
    if (an !== b.startsWith("-")) return an ? -1 : 1;
    const sign = an ? -1 : 1;
    if (a.length !== b.length) return a.length < b.length ? -sign : sign;
    return a < b ? -sign : a > b ? sign : 0;
  }
  // UTF-16 code unit order is UTF-8 byte order except between surrogates and U+E000–U+FFFF.
  if (!NON_BMP_OR_HIGH.test(a) && !NON_BMP_OR_HIGH.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

const NON_BMP_OR_HIGH = /[\uD800-\uFFFF]/;

/** What the merge found; callbacks may return a promise (e.g. to wait for a stream's drain). */
export interface RowDiffSink {
  readonly onlyLeft?: ((row: KeyedRow) => void | Promise<void>) | undefined;
  readonly onlyRight?: ((row: KeyedRow) => void | Promise<void>) | undefined;
  readonly differ?: ((left: KeyedRow, right: KeyedRow) => void | Promise<void>) | undefined;
}

export interface SideTotals {
  readonly rows: number;
  /** compare.ts's checksum of the table, from the streamed row hashes. */
  readonly checksum: string;
}

export interface RowDiffCounts {
  readonly left: SideTotals;
  readonly right: SideTotals;
  readonly onlyLeft: number;
  readonly onlyRight: number;
  /** Same key, another row hash; 0 when `compareRows` is false. */
  readonly differ: number;
}

/** compare.ts's checksum: md5 of `rows:sum of row hashes`. */
export function checksumOf(rows: number, hashSum: bigint): string {
  return createHash("md5").update(`${rows}:${hashSum.toString()}`).digest("hex");
}

/**
 * Merge-joins two key-ordered cursors. `compareRows` false (the sides' columns differ, so their row hashes
 * cannot agree) compares keys only.
 */
export async function mergeRows(
  order: KeyOrder,
  left: KeyedRowCursor,
  right: KeyedRowCursor,
  sink: RowDiffSink,
  compareRows = true,
): Promise<RowDiffCounts> {
  let ln = 0;
  let rn = 0;
  let lsum = 0n;
  let rsum = 0n;
  let onlyLeft = 0;
  let onlyRight = 0;
  let differ = 0;
  // Waits only at batch boundaries and for sinks that return a promise: the loop is per row.
  let l = left.peek() ?? (await left.current());
  let r = right.peek() ?? (await right.current());
  while (l !== undefined || r !== undefined) {
    const cmp = l === undefined ? 1 : r === undefined ? -1 : compareKeys(order, l[0]!, r[0]!);
    if (cmp < 0) {
      ln++;
      lsum += BigInt(l![1]!);
      onlyLeft++;
      const p = sink.onlyLeft?.(l!);
      if (p !== undefined) await p;
      left.advance();
      l = left.peek() ?? (await left.current());
    } else if (cmp > 0) {
      rn++;
      rsum += BigInt(r![1]!);
      onlyRight++;
      const p = sink.onlyRight?.(r!);
      if (p !== undefined) await p;
      right.advance();
      r = right.peek() ?? (await right.current());
    } else {
      ln++;
      rn++;
      lsum += BigInt(l![1]!);
      rsum += BigInt(r![1]!);
      if (compareRows && l![1] !== r![1]) {
        differ++;
        const p = sink.differ?.(l!, r!);
        if (p !== undefined) await p;
      }
      left.advance();
      right.advance();
      l = left.peek() ?? (await left.current());
      r = right.peek() ?? (await right.current());
    }
  }
  return {
    left: { rows: ln, checksum: checksumOf(ln, lsum) },
    right: { rows: rn, checksum: checksumOf(rn, rsum) },
    onlyLeft,
    onlyRight,
    differ,
  };
}

/** Whether two shapes have the same primary key (columns and types): the condition for a keyed merge. */
export function sameKey(a: TableShape, b: TableShape): boolean {
  return (
    a.primaryKey.length > 0 &&
    a.primaryKey.join("\u0000") === b.primaryKey.join("\u0000") &&
    a.primaryKeyTypes.join("\u0000") === b.primaryKeyTypes.join("\u0000")
  );
}

/**
 * The merge of one table on two clients (each in its snapshot transaction): opens both cursors, merges,
 * closes them. `rightColumns` adds the right side's columns to its rows (reconcile exports them).
 */
export async function diffTable(
  leftClient: Client,
  rightClient: Client,
  left: TableShape,
  right: TableShape,
  sink: RowDiffSink,
  o: { cursor: string; batchSize?: number; rightColumns?: boolean },
): Promise<RowDiffCounts> {
  const batch = o.batchSize ?? 10_000;
  const lc = await KeyedRowCursor.open(leftClient, o.cursor, keyedRowsSql(left, false), batch);
  const rc = await KeyedRowCursor.open(
    rightClient,
    o.cursor,
    keyedRowsSql(right, o.rightColumns ?? false),
    batch,
  );
  const counts = await mergeRows(keyOrder(left), lc, rc, sink, left.columnTypes === right.columnTypes);
  await Promise.all([lc.close(), rc.close()]);
  return counts;
}
