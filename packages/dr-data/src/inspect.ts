/**
 * `inspect`: the PTR copy against the live database, before deciding how to restore. Per table: row counts and
 * checksums (compare.ts's), and — for a table with the same primary key on both sides — by key, the rows only
 * in the copy (lost since the restore point), only in live (written since) and with the same key but other
 * contents (changed since). Tables without a primary key are compared by count and checksum only.
 *
 * Each side is read in one snapshot (compare.ts `SnapshotSessions`, read-only repeatable read, shared by its
 * `jobs` connections); the keyed comparison streams (packages/dr-data/src/row-diff.ts), so a table of any size costs one batch
 * of memory per side. The report goes to the blob store as `incident/<id>/inspect/report.md` and `.json`
 * (naming.ts), replacing an earlier one; its summary is the command's output.
 */
import type { ContainerClient } from "@azure/storage-blob";
import type { Client } from "pg";
import { incidentReport } from "./naming";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import {
  columnDifferences,
  SnapshotSessions,
  summarize,
  type Relation,
  type RelationSummary,
} from "./compare";
import type { PgConnection } from "./connection";
import { copyAndTakenLines, putText, sideLabel, sidesRun, type SidesRun } from "./incident-store";
import { formatTable } from "./list";
import { stderrLog, type Log } from "./progress";
import {
  diffTable,
  sameKey,
  tableShape,
  type RowDiffSink,
  type SideTotals,
  type TableShape,
} from "./row-diff";
import { onWorkers } from "./workers";

export interface InspectOptions {
  /** The PTR copy (what the data was at the restore point). */
  readonly copy: PgConnection;
  /** The live database (what it is now). */
  readonly live: PgConnection;
  /** Where the report goes; absent: not written (the result is returned only). */
  readonly store?: { readonly settings: BlobStoreSettings; readonly incidentId: string } | undefined;
  /** Connections per side. Default 2. */
  readonly jobs?: number | undefined;
  /** Keys listed per table and kind of difference. Default 20. */
  readonly samples?: number | undefined;
  /** Rows per FETCH. Default 10,000. */
  readonly batchSize?: number | undefined;
  readonly log?: Log | undefined;
  readonly now?: (() => Date) | undefined;
  /** The restore point the copy was made for (UTC ISO), shown in the report; the tool cannot know it. */
  readonly restoreTime?: string | undefined;
}

export type TableStatus = "same" | "differs" | "only in the copy" | "only in live";

export interface TableInspection {
  /** `schema.table` */
  readonly name: string;
  readonly status: TableStatus;
  /** Key columns when compared by key; null when compared by count and checksum only. */
  readonly primaryKey: readonly string[] | null;
  readonly copy: SideTotals | null;
  readonly live: SideTotals | null;
  /** Rows only in the copy: lost since the restore point. null without a keyed comparison. */
  readonly lost: number | null;
  /** Rows only in live: written since the restore point. */
  readonly added: number | null;
  /** Same key, other contents. */
  readonly changed: number | null;
  /** The first keys (key order) of each kind, as text. */
  readonly samples: { readonly lost: string[]; readonly added: string[]; readonly changed: string[] };
  readonly notes: string[];
}

export interface SequenceInspection {
  readonly name: string;
  readonly copy: string | null;
  readonly live: string | null;
}

export interface InspectResult extends SidesRun {
  readonly tool: "dr-data-inspect/1";
  readonly tables: TableInspection[];
  readonly sequences: SequenceInspection[];
  readonly totals: {
    readonly tables: number;
    readonly differing: number;
    readonly lost: number;
    readonly added: number;
    readonly changed: number;
    readonly withoutKey: number;
  };
  /** Where the report was written (container/name), when it was. */
  readonly report?: { readonly markdown: string; readonly json: string } | undefined;
}

async function openSide(name: string, conn: PgConnection, jobs: number): Promise<SnapshotSessions> {
  // SnapshotSessions.open pins compare's SESSION_SETTINGS on every connection (search_path = pg_catalog
  // included): the one list every checking session uses.
  const s = await SnapshotSessions.open(name, conn, jobs, "dr-data-inspect");
  return s;
}

/** Totals from compare.ts's summary (count and checksum in SQL). */
function totals(s: RelationSummary | undefined): SideTotals | null {
  return s === undefined ? null : { rows: s.rows, checksum: s.checksum };
}

/** The same thing on each side: copy and live. */
interface Sides<T> {
  readonly copy: T;
  readonly live: T;
}

/** How a keyed comparison runs: keys kept per kind, rows per FETCH, and the worker's own cursor name. */
interface KeyedOptions {
  readonly samples: number;
  readonly batchSize: number;
  readonly cursor: string;
}

/** Fresh lists per table: keySamples pushes into them. */
function noSamples(): TableInspection["samples"] {
  return { lost: [], added: [], changed: [] };
}

/** One table, compared as far as its sides allow: by key, else by count and checksum, else only one side. */
async function inspectTable(
  name: string,
  copyRel: Relation | undefined,
  liveRel: Relation | undefined,
  copyClient: Client,
  liveClient: Client,
  o: KeyedOptions,
): Promise<TableInspection> {
  const clients = { copy: copyClient, live: liveClient };
  if (copyRel === undefined || liveRel === undefined) return inspectOneSided(name, copyRel, liveRel, clients);
  const rels = { copy: copyRel, live: liveRel };
  const shapes = alignedByName(await tableShapes(rels, clients), rels);
  const notes = columnNotes(shapes);
  if (!sameKey(shapes.copy, shapes.live)) {
    // Rows can only be matched by a key both sides share; without one the totals are all there is to compare.
    notes.push(keyMismatchNote(shapes));
    return inspectByTotals(name, rels, clients, shapes, notes);
  }
  return inspectByKey(name, clients, shapes, notes, o);
}

/** A table on one side only: its totals there, nothing to compare them with. */
async function inspectOneSided(
  name: string,
  copyRel: Relation | undefined,
  liveRel: Relation | undefined,
  clients: Sides<Client>,
): Promise<TableInspection> {
  const present = (copyRel ?? liveRel)!;
  const s = await summarize(copyRel === undefined ? clients.live : clients.copy, present);
  return {
    name,
    status: copyRel === undefined ? "only in live" : "only in the copy",
    primaryKey: null,
    copy: copyRel === undefined ? null : totals(s),
    live: copyRel === undefined ? totals(s) : null,
    lost: null,
    added: null,
    changed: null,
    samples: noSamples(),
    notes: [copyRel === undefined ? "table does not exist in the copy" : "table does not exist in live"],
  };
}

/**
 * Both sides' columns and primary keys, read in parallel. `!`: each table came from its side's catalog in the
 * same snapshot, so it is there.
 */
async function tableShapes(rels: Sides<Relation>, clients: Sides<Client>): Promise<Sides<TableShape>> {
  const [cs, ls] = await Promise.all([
    tableShape(clients.copy, rels.copy.schema, rels.copy.name),
    tableShape(clients.live, rels.live.schema, rels.live.name),
  ]);
  return { copy: cs!, live: ls! };
}

/**
 * With the same columns by name and type on both sides, live's shape lists them in the copy's order, so each
 * side's rows are built in one order and hash alike whatever order a restore gave live's columns.
 */
function alignedByName(shapes: Sides<TableShape>, rels: Sides<Relation>): Sides<TableShape> {
  const [c, l] = [rels.copy.columnList, rels.live.columnList];
  if (c === undefined || l === undefined || columnDifferences(c, l).length > 0) return shapes;
  return {
    copy: shapes.copy,
    live: { ...shapes.live, columns: shapes.copy.columns, columnTypes: shapes.copy.columnTypes },
  };
}

function sameColumns(shapes: Sides<TableShape>): boolean {
  return shapes.copy.columnTypes === shapes.live.columnTypes;
}

/** Rows with other columns do not hash alike: keys can still be matched, their contents not. */
function columnNotes(shapes: Sides<TableShape>): string[] {
  return sameColumns(shapes)
    ? []
    : [
        `columns differ: copy (${shapes.copy.columnTypes}), live (${shapes.live.columnTypes}); keys compared only`,
      ];
}

function keyMismatchNote(shapes: Sides<TableShape>): string {
  return shapes.copy.primaryKey.length === 0 && shapes.live.primaryKey.length === 0
    ? "no primary key: compared by row count and checksum only"
    : `primary key differs (copy: ${keyText(shapes.copy)}, live: ${keyText(shapes.live)}): compared by row count and checksum only`;
}

/** No shared key: row count and checksum per side (in SQL); the same only with the same columns too. */
async function inspectByTotals(
  name: string,
  rels: Sides<Relation>,
  clients: Sides<Client>,
  shapes: Sides<TableShape>,
  notes: string[],
): Promise<TableInspection> {
  const [c, l] = await Promise.all([
    summarize(clients.copy, rels.copy, shapes.copy.columns),
    summarize(clients.live, rels.live, shapes.live.columns),
  ]);
  const same = c.rows === l.rows && c.checksum === l.checksum && sameColumns(shapes);
  return {
    name,
    status: same ? "same" : "differs",
    primaryKey: null,
    copy: totals(c),
    live: totals(l),
    lost: null,
    added: null,
    changed: null,
    samples: noSamples(),
    notes,
  };
}

/**
 * The same key on both sides: the rows streamed side by side in key order (row-diff.ts). With other columns the
 * contents cannot be compared, so `changed` is null and such a table never counts as the same.
 */
async function inspectByKey(
  name: string,
  clients: Sides<Client>,
  shapes: Sides<TableShape>,
  notes: string[],
  o: KeyedOptions,
): Promise<TableInspection> {
  const { samples, sink } = keySamples(o.samples);
  const counts = await diffTable(clients.copy, clients.live, shapes.copy, shapes.live, sink, {
    cursor: o.cursor,
    batchSize: o.batchSize,
  });
  const equal =
    counts.onlyLeft === 0 &&
    counts.onlyRight === 0 &&
    counts.differ === 0 &&
    counts.left.checksum === counts.right.checksum &&
    sameColumns(shapes);
  return {
    name,
    status: equal ? "same" : "differs",
    primaryKey: shapes.copy.primaryKey,
    copy: counts.left,
    live: counts.right,
    lost: counts.onlyLeft,
    added: counts.onlyRight,
    changed: sameColumns(shapes) ? counts.differ : null,
    samples,
    notes,
  };
}

/**
 * A sink keeping the first `limit` keys of each kind: diffTable reports in key order, so these are the lowest
 * keys; the key's text is the row's first field. Only `limit` per kind, whatever the table's size.
 */
function keySamples(limit: number): { samples: TableInspection["samples"]; sink: RowDiffSink } {
  const samples = noSamples();
  const keep = (list: string[], key: string | null) => {
    if (list.length < limit) list.push(key ?? "");
  };
  return {
    samples,
    sink: {
      onlyLeft: (row) => keep(samples.lost, row[0]!),
      onlyRight: (row) => keep(samples.added, row[0]!),
      differ: (row) => keep(samples.changed, row[0]!),
    },
  };
}

function keyText(s: TableShape): string {
  return s.primaryKey.length === 0
    ? "none"
    : s.primaryKey.map((c, i) => `${c} ${s.primaryKeyTypes[i]!}`).join(", ");
}

export async function inspect(o: InspectOptions): Promise<InspectResult> {
  const log = o.log ?? stderrLog;
  const now = o.now ?? (() => new Date());
  const jobs = o.jobs ?? 2;
  const startedAt = now().toISOString();
  // The container name is checked before any connection is opened.
  const container = o.store === undefined ? undefined : containerClient(o.store.settings);
  const { tables, sequences } = await readSides(o, jobs, log);
  const result: InspectResult = {
    tool: "dr-data-inspect/1",
    ...sidesRun(o, startedAt, now().toISOString()),
    tables,
    sequences,
    totals: inspectTotals(tables),
  };
  if (container === undefined || o.store === undefined) return result;
  return writeReport(container, o.store.incidentId, result, log);
}

/**
 * Everything read from the two snapshots, which are closed whatever happens: the copy's is opened first and
 * closed even when live's cannot be opened.
 */
async function readSides(
  o: InspectOptions,
  jobs: number,
  log: Log,
): Promise<{ tables: TableInspection[]; sequences: SequenceInspection[] }> {
  const copy = await openSide("copy", o.copy, jobs);
  let live: SnapshotSessions | undefined;
  try {
    live = await openSide("live", o.live, jobs);
    const [cr, lr] = await Promise.all([copy.relations(), live.relations()]);
    const rels = { copy: cr, live: lr };
    const sessions = { copy, live };
    const tableNames = relationNames(rels, "table");
    log(`inspect: ${tableNames.length} tables, ${sideLabel(o.copy)} (copy) vs ${sideLabel(o.live)} (live)`);
    const tables = await inspectTables(tableNames, rels, sessions, {
      jobs,
      samples: o.samples ?? 20,
      batchSize: o.batchSize ?? 10_000,
      log,
    });
    const sequences = await inspectSequences(relationNames(rels, "sequence"), rels, sessions);
    return { tables, sequences };
  } finally {
    await copy.close();
    await live?.close();
  }
}

/** The names of one kind on either side, sorted: the order of the report. */
function relationNames(rels: Sides<Map<string, Relation>>, kind: Relation["kind"]): string[] {
  return [...new Set([...rels.copy.keys(), ...rels.live.keys()])]
    .filter((n) => (rels.copy.get(n) ?? rels.live.get(n))!.kind === kind)
    .sort();
}

/**
 * `jobs` workers, worker i on connection i of each side with its own cursor, each taking the next table in
 * name order; the results are returned in that order whichever finishes first. A failure names its table.
 */
async function inspectTables(
  tableNames: string[],
  rels: Sides<Map<string, Relation>>,
  sessions: Sides<SnapshotSessions>,
  o: { jobs: number; samples: number; batchSize: number; log: Log },
): Promise<TableInspection[]> {
  const results = new Map<string, TableInspection>();
  await onWorkers(tableNames, o.jobs, async (name, i) => {
    try {
      const r = await inspectTable(
        name,
        rels.copy.get(name),
        rels.live.get(name),
        sessions.copy.clients[i]!,
        sessions.live.clients[i]!,
        { samples: o.samples, batchSize: o.batchSize, cursor: `dr_inspect_${i}` },
      );
      results.set(name, r);
      o.log(`inspect: ${name}: ${r.status}`);
    } catch (cause) {
      throw new Error(`inspecting ${name}`, { cause });
    }
  });
  return tableNames.map((n) => results.get(n)!);
}

/** Each sequence's value per side (null where it does not exist), one at a time on the first connection. */
async function inspectSequences(
  names: string[],
  rels: Sides<Map<string, Relation>>,
  sessions: Sides<SnapshotSessions>,
): Promise<SequenceInspection[]> {
  const sequences: SequenceInspection[] = [];
  for (const n of names) {
    const c = rels.copy.get(n);
    const l = rels.live.get(n);
    sequences.push({
      name: n,
      copy: c === undefined ? null : (await summarize(sessions.copy.clients[0]!, c)).checksum,
      live: l === undefined ? null : (await summarize(sessions.live.clients[0]!, l)).checksum,
    });
  }
  return sequences;
}

/** `withoutKey`: tables on both sides compared by count and checksum only. */
function inspectTotals(tables: TableInspection[]): InspectResult["totals"] {
  const sum = (f: (t: TableInspection) => number | null) => tables.reduce((a, t) => a + (f(t) ?? 0), 0);
  return {
    tables: tables.length,
    differing: tables.filter((t) => t.status !== "same").length,
    lost: sum((t) => t.lost),
    added: sum((t) => t.added),
    changed: sum((t) => t.changed),
    withoutKey: tables.filter((t) => t.primaryKey === null && t.copy !== null && t.live !== null).length,
  };
}

/**
 * The report as `incident/<id>/inspect/report.json` and `.md`, replacing an earlier one; both name where they
 * were written, so the result carries `report`.
 */
async function writeReport(
  container: ContainerClient,
  incidentId: string,
  result: InspectResult,
  log: Log,
): Promise<InspectResult> {
  const md = incidentReport.inspect(incidentId, "md");
  const json = incidentReport.inspect(incidentId, "json");
  const written = {
    ...result,
    report: { markdown: `${container.containerName}/${md}`, json: `${container.containerName}/${json}` },
  };
  await putText(container, json, `${JSON.stringify(written, null, 1)}\n`);
  await putText(container, md, formatInspectReport(written));
  log(`inspect: report written to ${written.report.markdown} and ${written.report.json}`);
  return written;
}

/** A key as a markdown code span: a longer fence when the key holds backticks, `|` escaped for tables. */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") || text === "" ? " " : "";
  return `${fence}${pad}${text.replace(/\|/g, "\\|")}${pad}${fence}`;
}

function count(n: number | null): string {
  return n === null ? "-" : String(n);
}

/** The summary: one line per table that differs (all with `all`), then the totals line (last). */
export function formatInspectSummary(r: InspectResult, o: { all?: boolean } = {}): string {
  const shown = r.tables.filter((t) => (o.all ?? false) || t.status !== "same");
  const rows = shown.map((t) => [
    t.name,
    t.copy === null ? "-" : String(t.copy.rows),
    t.live === null ? "-" : String(t.live.rows),
    count(t.lost),
    count(t.added),
    count(t.changed),
    t.status + (t.primaryKey === null && t.copy !== null && t.live !== null ? " (no key comparison)" : ""),
  ]);
  const header = ["table", "copy rows", "live rows", "lost", "new", "changed", "result"];
  const report = r.report === undefined ? "" : `; report: ${r.report.markdown}`;
  const verdict =
    r.totals.differing === 0
      ? `inspect: ${r.totals.tables} tables, all the same in the copy and live${report}`
      : `inspect: ${r.totals.differing} of ${r.totals.tables} tables differ: ${r.totals.lost} rows only in the ` +
        `copy (lost), ${r.totals.added} only in live (written since), ${r.totals.changed} changed` +
        (r.totals.withoutKey > 0
          ? `; compared by count and checksum only (no key): ${r.totals.withoutKey}`
          : "") +
        report;
  return rows.length === 0 ? verdict : `${formatTable(header, rows)}\n${verdict}`;
}

/** The readable report (markdown). */
export function formatInspectReport(r: InspectResult): string {
  const lines = [
    "# Inspection: the PTR copy against the live database",
    "",
    copyAndTakenLines(r)[0],
    `- live (the data now): \`${r.live}\``,
    copyAndTakenLines(r)[1],
    "",
    "**lost** = rows only in the copy (deleted or lost since the restore point, what a restore brings back); " +
      "**new** = rows only in live (written since the restore point: a full restore removes them, keep them " +
      "with `dr-data reconcile`); **changed** = same primary key, other contents. Tables without a primary key " +
      "are compared by row count and checksum only (`-`).",
    "",
    "| table | copy rows | live rows | lost | new | changed | result |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...r.tables.map(
      (t) =>
        `| ${t.name} | ${t.copy === null ? "-" : t.copy.rows} | ${t.live === null ? "-" : t.live.rows} | ` +
        `${count(t.lost)} | ${count(t.added)} | ${count(t.changed)} | ${t.status} |`,
    ),
    "",
    formatInspectSummary({ ...r, report: undefined }, { all: false })
      .split("\n")
      .pop()!,
  ];
  for (const t of r.tables.filter((x) => x.status !== "same" || x.notes.length > 0)) {
    lines.push("", `## ${t.name}`, "");
    if (t.primaryKey !== null) lines.push(`primary key: ${t.primaryKey.join(", ")}`, "");
    for (const n of t.notes) lines.push(`- ${n}`);
    const list = (what: string, n: number | null, keys: string[]) => {
      if (n === null || n === 0) return;
      lines.push(
        `- ${what}: ${n} rows; ${keys.length < n ? `first ${keys.length} keys` : "keys"}: ` +
          keys.map(codeSpan).join(", "),
      );
    };
    list("lost (only in the copy)", t.lost, t.samples.lost);
    list("new (only in live)", t.added, t.samples.added);
    list("changed", t.changed, t.samples.changed);
    if (t.copy !== null && t.live !== null && t.copy.checksum !== t.live.checksum) {
      lines.push(`- checksum: copy ${t.copy.checksum}, live ${t.live.checksum}`);
    }
  }
  const seqs = r.sequences.filter((s) => s.copy !== s.live);
  if (seqs.length > 0) {
    lines.push("", "## Sequences that differ", "", "| sequence | copy | live |", "| --- | ---: | ---: |");
    for (const s of seqs) lines.push(`| ${s.name} | ${s.copy ?? "-"} | ${s.live ?? "-"} |`);
  }
  return `${lines.join("\n")}\n`;
}
