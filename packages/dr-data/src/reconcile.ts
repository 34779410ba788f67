/**
 * `reconcile`: what users wrote after the restore point, kept for later. For every table with a primary key,
 * the rows of the live (flawed) database that the PTR copy does not have, and the rows whose contents changed
 * since, are exported as CSV to `incident/<id>/reconcile/<schema>.<table>.csv` (naming.ts), streamed: both
 * sides are merge-joined by key through cursors (packages/dr-data/src/row-diff.ts) and each row found is written to the blob's
 * upload stream as it comes. Plus `summary.md` / `summary.json`; tables without a primary key (or whose key
 * differs between the sides) cannot be reconciled by row and are listed with their counts.
 *
 * CSV (RFC 4180, as PostgreSQL's `COPY … (FORMAT csv, HEADER)` writes and reads it): a header line; the primary
 * key's columns first, then the others in table order, then `dr_change` (`new`: not in the copy; `changed`:
 * in the copy with other contents — the live version is exported). Each value is PostgreSQL's text output under
 * pinned settings (timestamps in UTC ISO, bytea as hex). **NULL is an empty unquoted field; an empty string is
 * `""`**; a field holding a comma, a quote, a line break or leading/trailing blanks (or `\.`) is quoted, quotes
 * doubled.
 * A table that exists only in live is exported whole (every row `new`). A table with nothing to keep gets no
 * file (the summary says 0).
 */
import type { Client } from "pg";
import { incidentReport } from "./naming";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { SnapshotSessions, summarize, type Relation } from "./compare";
import type { PgConnection } from "./connection";
import { BlobWriter, copyAndTakenLines, putText, sideLabel, sidesRun, type SidesRun } from "./incident-store";
import { formatTable } from "./list";
import { stderrLog, type Log } from "./progress";
import {
  keyedRowsSql,
  keyFirstColumns,
  KeyedRowCursor,
  keyOrder,
  mergeRows,
  sameKey,
  tableShape,
  type KeyedRow,
  type TableShape,
} from "./row-diff";
import { onWorkers } from "./workers";

/** The last CSV column: why the row is exported. */
export const CHANGE_COLUMN = "dr_change";

export interface ReconcileOptions {
  readonly copy: PgConnection;
  readonly live: PgConnection;
  readonly store: BlobStoreSettings;
  readonly incidentId: string;
  readonly jobs?: number | undefined;
  readonly batchSize?: number | undefined;
  readonly log?: Log | undefined;
  readonly now?: (() => Date) | undefined;
  /** The restore point the copy was made for (UTC ISO), shown in the report; the tool cannot know it. */
  readonly restoreTime?: string | undefined;
}

export interface ReconciledTable {
  readonly name: string;
  readonly primaryKey: readonly string[];
  readonly liveRows: number;
  /** null: the table is not in the copy. */
  readonly copyRows: number | null;
  /** Exported as `new`. */
  readonly added: number;
  /** Exported as `changed`. */
  readonly changed: number;
  /** Rows only in the copy (not exported: the restore brings them back). */
  readonly lost: number;
  /** container/name of the CSV; null when there was nothing to export. */
  readonly file: string | null;
}

export interface UnreconcilableTable {
  readonly name: string;
  readonly reason: string;
  readonly liveRows: number | null;
  readonly copyRows: number | null;
}

export interface ReconcileResult extends SidesRun {
  readonly tool: "dr-data-reconcile/1";
  readonly tables: ReconciledTable[];
  readonly notReconcilable: UnreconcilableTable[];
  readonly summary: { readonly markdown: string; readonly json: string };
}

/** One CSV field: NULL unquoted empty, everything else quoted when it has to be (and the empty string always). */
export function csvField(value: string | null): string {
  if (value === null) return "";
  // `\.` alone would end COPY's input when the file is read back.
  if (value === "" || value === "\\." || /[",\r\n]/.test(value) || /^\s|\s$/.test(value))
    return `"${value.replace(/"/g, '""')}"`;
  return value;
}

export function csvLine(values: readonly (string | null)[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

const NO_ROWS = "SELECT NULL::text AS k, NULL::text AS h WHERE false";

/** A table without a primary key, or whose key differs between the sides: its row counts only. */
async function unreconcilable(
  name: string,
  ls: TableShape,
  live: { readonly client: Client; readonly rel: Relation },
  copy: { readonly client: Client; readonly rel: Relation | undefined },
): Promise<UnreconcilableTable> {
  const [l, c] = await Promise.all([
    summarize(live.client, live.rel),
    copy.rel === undefined ? undefined : summarize(copy.client, copy.rel),
  ]);
  return {
    name,
    reason: ls.primaryKey.length === 0 ? "no primary key" : "primary key differs between the copy and live",
    liveRows: l.rows,
    copyRows: c?.rows ?? null,
  };
}

/** A table's new and changed rows as CSV, its blob created (with the header) at the first row only. */
class ChangedRowsFile {
  writer: BlobWriter | undefined;

  constructor(
    private readonly container: ReturnType<typeof containerClient>,
    private readonly blobName: string,
    private readonly header: readonly string[],
  ) {}

  async write(row: KeyedRow, change: "new" | "changed"): Promise<void> {
    if (this.writer === undefined) {
      this.writer = new BlobWriter(this.container, this.blobName);
      await this.writer.write(csvLine([...this.header]));
    }
    await this.writer.write(csvLine([...row.slice(2), change]));
  }
}

async function reconcileTable(
  name: string,
  copyRel: Relation | undefined,
  liveRel: Relation,
  copyClient: Client,
  liveClient: Client,
  o: { container: ReturnType<typeof containerClient>; incidentId: string; batchSize: number; cursor: string },
): Promise<ReconciledTable | UnreconcilableTable> {
  const ls = (await tableShape(liveClient, liveRel.schema, liveRel.name))!;
  const cs =
    copyRel === undefined ? undefined : (await tableShape(copyClient, copyRel.schema, copyRel.name))!;
  if (ls.primaryKey.length === 0 || (cs !== undefined && !sameKey(cs, ls))) {
    return unreconcilable(
      name,
      ls,
      { client: liveClient, rel: liveRel },
      { client: copyClient, rel: copyRel },
    );
  }
  const blobName = incidentReport.reconcileTable(o.incidentId, ls.schema, ls.name);
  const rows = new ChangedRowsFile(o.container, blobName, [...keyFirstColumns(ls), CHANGE_COLUMN]);
  const write = (row: KeyedRow, change: "new" | "changed") => rows.write(row, change);
  const lc = await KeyedRowCursor.open(
    copyClient,
    o.cursor,
    cs === undefined ? NO_ROWS : keyedRowsSql(cs, false),
    o.batchSize,
  );
  const rc = await KeyedRowCursor.open(liveClient, o.cursor, keyedRowsSql(ls, true), o.batchSize);
  // Columns that differ between the sides make every row hash differ: all common keys count as changed, which
  // is what a reconciler needs to look at.
  let counts;
  try {
    counts = await mergeRows(keyOrder(ls), lc, rc, {
      onlyRight: (row) => write(row, "new"),
      differ: (_copy, row) => write(row, "changed"),
    });
    await Promise.all([lc.close(), rc.close()]);
  } catch (err) {
    rows.writer?.abort(err);
    throw err;
  }
  await rows.writer?.finish();
  return {
    name,
    primaryKey: ls.primaryKey,
    liveRows: counts.right.rows,
    copyRows: cs === undefined ? null : counts.left.rows,
    added: counts.onlyRight,
    changed: counts.differ,
    lost: counts.onlyLeft,
    file: rows.writer === undefined ? null : `${o.container.containerName}/${blobName}`,
  };
}

/** Every table, `jobs` at a time (one snapshot session of each side per worker), in any order. */
async function reconcileTables(
  names: readonly string[],
  r: {
    readonly copy: SnapshotSessions;
    readonly live: SnapshotSessions;
    readonly cr: ReadonlyMap<string, Relation>;
    readonly lr: ReadonlyMap<string, Relation>;
    readonly container: ReturnType<typeof containerClient>;
    readonly o: ReconcileOptions;
    readonly jobs: number;
    readonly log: Log;
  },
): Promise<Map<string, ReconciledTable | UnreconcilableTable>> {
  const results = new Map<string, ReconciledTable | UnreconcilableTable>();
  await onWorkers(names, r.jobs, async (name, i) => {
    const copyRel = r.cr.get(name);
    try {
      const t = await reconcileTable(
        name,
        copyRel?.kind === "table" ? copyRel : undefined,
        r.lr.get(name)!,
        r.copy.clients[i]!,
        r.live.clients[i]!,
        {
          container: r.container,
          incidentId: r.o.incidentId,
          batchSize: r.o.batchSize ?? 10_000,
          cursor: `dr_reconcile_${i}`,
        },
      );
      results.set(name, t);
      r.log(
        "reason" in t
          ? `reconcile: ${name}: not reconcilable (${t.reason})`
          : `reconcile: ${name}: ${t.added} new, ${t.changed} changed`,
      );
    } catch (cause) {
      throw new Error(`reconciling ${name}`, { cause });
    }
  });
  return results;
}

export async function reconcile(o: ReconcileOptions): Promise<ReconcileResult> {
  const log = o.log ?? stderrLog;
  const now = o.now ?? (() => new Date());
  const jobs = o.jobs ?? 2;
  const startedAt = now().toISOString();
  const container = containerClient(o.store);
  const open = async (side: string, conn: PgConnection) => {
    // Pinned by SnapshotSessions.open: compare's SESSION_SETTINGS (search_path = pg_catalog included).
    return SnapshotSessions.open(side, conn, jobs, "dr-data-reconcile");
  };
  const copy = await open("copy", o.copy);
  let live: SnapshotSessions | undefined;
  const tables: ReconciledTable[] = [];
  const notReconcilable: UnreconcilableTable[] = [];
  try {
    live = await open("live", o.live);
    const [cr, lr] = await Promise.all([copy.relations(), live.relations()]);
    const names = [...lr.keys()].filter((n) => lr.get(n)!.kind === "table").sort();
    log(`reconcile: ${names.length} tables of ${sideLabel(o.live)} against ${sideLabel(o.copy)}`);
    const results = await reconcileTables(names, { copy, live, cr, lr, container, o, jobs, log });
    for (const n of names) {
      const r = results.get(n)!;
      if ("reason" in r) notReconcilable.push(r);
      else tables.push(r);
    }
  } finally {
    await copy.close();
    await live?.close();
  }
  const md = incidentReport.reconcileSummary(o.incidentId, "md");
  const json = incidentReport.reconcileSummary(o.incidentId, "json");
  const result: ReconcileResult = {
    tool: "dr-data-reconcile/1",
    ...sidesRun(o, startedAt, now().toISOString()),
    tables,
    notReconcilable,
    summary: { markdown: `${container.containerName}/${md}`, json: `${container.containerName}/${json}` },
  };
  await putText(container, json, `${JSON.stringify(result, null, 1)}\n`);
  await putText(container, md, formatReconcileReport(result));
  return result;
}

function totalsLine(r: ReconcileResult): string {
  const added = r.tables.reduce((a, t) => a + t.added, 0);
  const changed = r.tables.reduce((a, t) => a + t.changed, 0);
  const files = r.tables.filter((t) => t.file !== null).length;
  return (
    `reconcile: ${added} new and ${changed} changed rows in live exported (${files} CSV files); ` +
    `${r.notReconcilable.length} tables not reconcilable; summary: ${r.summary.markdown}`
  );
}

/** The command's output: the tables with rows to keep, the ones that cannot be reconciled, the totals line. */
export function formatReconcileSummary(r: ReconcileResult): string {
  const rows = r.tables
    .filter((t) => t.added + t.changed > 0)
    .map((t) => [t.name, String(t.added), String(t.changed), t.file ?? "-"]);
  const parts: string[] = [];
  if (rows.length > 0) parts.push(formatTable(["table", "new", "changed", "file"], rows));
  if (r.notReconcilable.length > 0) {
    parts.push(
      formatTable(
        ["not reconcilable", "live rows", "copy rows", "why"],
        r.notReconcilable.map((t) => [
          t.name,
          String(t.liveRows ?? "-"),
          String(t.copyRows ?? "-"),
          t.reason,
        ]),
      ),
    );
  }
  parts.push(totalsLine(r));
  return parts.join("\n");
}

export function formatReconcileReport(r: ReconcileResult): string {
  const lines = [
    "# Reconciliation: rows written in live since the restore point",
    "",
    `- live (the flawed database): \`${r.live}\``,
    ...copyAndTakenLines(r),
    "",
    `Each CSV: a header, the primary key's columns first, the other columns, then \`${CHANGE_COLUMN}\` ` +
      "(`new`: not in the copy; `changed`: the live version of a row the copy has with other contents). " +
      'NULL is an empty unquoted field, an empty string is `""` (PostgreSQL\'s CSV convention: ' +
      "`\\copy … FROM … WITH (FORMAT csv, HEADER)` reads it back with NULLs intact).",
    "",
    "| table | primary key | live rows | copy rows | new | changed | lost (not exported) | file |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...r.tables.map(
      (t) =>
        `| ${t.name} | ${t.primaryKey.join(", ")} | ${t.liveRows} | ${t.copyRows ?? "not in the copy"} | ` +
        `${t.added} | ${t.changed} | ${t.lost} | ${t.file ?? "-"} |`,
    ),
  ];
  if (r.notReconcilable.length > 0) {
    lines.push(
      "",
      "## Not reconcilable by row",
      "",
      "| table | why | live rows | copy rows |",
      "| --- | --- | ---: | ---: |",
      ...r.notReconcilable.map(
        (t) => `| ${t.name} | ${t.reason} | ${t.liveRows ?? "-"} | ${t.copyRows ?? "not in the copy"} |`,
      ),
    );
  }
  lines.push("", totalsLine(r));
  return `${lines.join("\n")}\n`;
}
