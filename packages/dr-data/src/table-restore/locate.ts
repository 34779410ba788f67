/**
 * Step 4: download and verify the archive, find each chosen table's one `TABLE DATA` entry in its table of contents,
 * and read the live tables' shapes and columns.
 */
import type { Client } from "pg";
import { downloadArchive, tableDataEntries, type TocDataEntry } from "../archive";
import { UsageError, VerificationError } from "../errors";
import { formatSeconds } from "../progress";
import { tableShape, type TableShape } from "../row-diff";
import { tableDisplay, type TableName } from "./table-list";
import { type ColumnDetail, type LocatedTables, type TableRun, tableText } from "./types";

/** The archive (downloaded and verified), and the chosen tables in it and in the live database. */
export async function locateTables(run: TableRun, target: Client): Promise<LocatedTables> {
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
export function tableDataCandidates(toc: readonly TocDataEntry[], t: TableName): TocDataEntry[] {
  const prefix = `${t.schema} ${t.name} `;
  return toc.filter((e) => e.tag.startsWith(prefix) && !e.tag.slice(prefix.length).includes(" "));
}

/**
 * The tables a backup holds data of, as `--tables` takes them. A tag is `schema table owner` unquoted: with
 * blanks in a name it is split as the one table of the live database it can be; else it is shown whole,
 * quoted, without its owner.
 */
export async function heldTables(target: Client, toc: readonly TocDataEntry[]): Promise<string[]> {
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

export async function columnDetails(
  c: Client,
  tables: readonly TableName[],
): Promise<Map<string, ColumnDetail[]>> {
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
