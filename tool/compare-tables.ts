/**
 * `compare --tables s.t,…`: after a table-level restore, the chosen tables of the live database (left) must
 * equal the copy they were restored from (right: the PTR copy) — row counts, checksums and columns, exactly as
 * `compare` checks them — while the other tables are listed for information only: they kept the rows written
 * since the restore point, so they are expected to differ from the copy. That the restore wrote no other table
 * is checked inside its own transaction (tool/table-restore.ts); with `--run-id`, the run's record in the live
 * database must exist and name exactly these tables.
 */
import { compare, type CompareResult, type RelationComparison } from "./compare";
import { withClient, type PgConnection } from "./connection";
import { VerificationError } from "./errors";
import { formatTable } from "./list";
import type { Log } from "./progress";
import { readTableRestoreRecord, tableText, type TableName, type TableRestoreRecord } from "./table-restore";

export interface CompareTablesOptions {
  readonly left: PgConnection;
  readonly right: PgConnection;
  readonly tables: readonly TableName[];
  readonly runId?: string | undefined;
  readonly jobs?: number | undefined;
  readonly log?: Log | undefined;
}

export interface CompareTablesResult {
  /** The chosen tables are all equal (and the record, when asked for, names them). */
  readonly equal: boolean;
  readonly chosen: RelationComparison[];
  readonly others: RelationComparison[];
  readonly record?: TableRestoreRecord | undefined;
}

export async function compareTables(o: CompareTablesOptions): Promise<CompareTablesResult> {
  const wanted = o.tables.map(tableText);
  let record: TableRestoreRecord | undefined;
  if (o.runId !== undefined) {
    const runId = o.runId;
    record = await withClient(o.left, (c) => readTableRestoreRecord(c, runId), "dr-data-compare");
    if (record === undefined) {
      throw new VerificationError(`no table-level restore run ${runId} has completed in ${o.left.database}`);
    }
    if ([...record.tables].sort().join(",") !== [...wanted].sort().join(",")) {
      throw new VerificationError(
        `run ${runId} restored ${record.tables.join(", ")}, not ${wanted.join(", ")}`,
      );
    }
  }
  const all: CompareResult = await compare({ left: o.left, right: o.right, jobs: o.jobs, log: o.log });
  const chosen = wanted.map(
    (n) => all.relations.find((r) => r.name === n) ?? { name: n, differences: ["missing on both sides"] },
  );
  // The restores' own schemas (previous rows, staging) are not part of the application's data.
  const others = all.relations.filter(
    (r) => !wanted.includes(r.name) && !/^dr_(before|restore)_/.test(r.name),
  );
  return { equal: chosen.every((r) => r.differences.length === 0), chosen, others, record };
}

export function formatCompareTables(
  r: CompareTablesResult,
  o: { all?: boolean; leftLabel: string; rightLabel: string },
): string {
  const cell = (x: RelationComparison, side: "left" | "right") => {
    const s = x[side];
    return s === undefined ? "-" : s.kind === "sequence" ? s.checksum : String(s.rows);
  };
  const rows = [
    ...r.chosen.map((x) => [
      x.name,
      "restored",
      cell(x, "left"),
      cell(x, "right"),
      x.differences.length === 0 ? "same" : x.differences.join("; "),
    ]),
    ...r.others
      .filter((x) => (o.all ?? false) || x.differences.length > 0)
      .map((x) => [
        x.name,
        "not restored",
        cell(x, "left"),
        cell(x, "right"),
        x.differences.length === 0 ? "same" : `${x.differences.join("; ")} (not checked)`,
      ]),
  ];
  const bad = r.chosen.filter((x) => x.differences.length > 0).length;
  const verdict = r.equal
    ? `compare --tables: ${r.chosen.length} restored tables equal the copy` +
      (r.record === undefined
        ? ""
        : `; run ${r.record.runId} wrote no other table (checked in its transaction)`) +
      `; ${r.others.filter((x) => x.differences.length > 0).length} other relations differ from the copy (not restored, not checked)`
    : `compare --tables: ${bad} of ${r.chosen.length} restored tables differ from the copy`;
  return `${formatTable(["relation", "", `${o.leftLabel} rows/value`, `${o.rightLabel} rows/value`, "result"], rows)}\n${verdict}`;
}
