/**
 * The merge's proof, inside its transaction: each table now equals its staging copy and no other table was written.
 */
import { summarize } from "../compare";
import { VerificationError } from "../errors";
import { Merge, type MergeCounts } from "./merge-plan";
import { stagingRelation } from "./stage";
import { type RestoredTable, beforeTableName, tableText } from "./types";

/** Proofs before the commit: each table equals its staging copy; no other table was written. */
export async function proveMerge(m: Merge, counts: readonly MergeCounts[]): Promise<RestoredTable[]> {
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
