/**
 * Step 6, the merge in one transaction: lock, check the foreign keys, keep the rows as they were, merge by primary
 * key (or replace), advance the sequences, prove, record, commit.
 */
import { DatabaseError, type Client } from "pg";
import { VerificationError } from "../errors";
import { qualifiedName, queryOne, quoteIdent, quoteLiteral } from "../sql";
import { checkForeignKeys, foreignKeys, requireKeysWhereReferenced } from "./foreign-keys";
import { Merge, type MergeCounts, type Plan, fkKey, lockTables, pkMatch } from "./merge-plan";
import { proveMerge } from "./proof";
import { type RestoredTable, type SequenceAdvance, type TableRestoreRecord, beforeTableName } from "./types";

/**
 * The merge, in one transaction: lock, check the foreign keys against the state it would leave, keep the rows as
 * they are, merge, advance the sequences, prove the result, record the run and commit. Any failure before the
 * COMMIT leaves the live tables as they were (the caller rolls back).
 */
export async function applyInTransaction(
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
export async function lockForMerge(m: Merge): Promise<void> {
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

/** The rows as they are now, in the `dr_before_<run id>` schema. */
export async function keepRowsBefore(m: Merge): Promise<void> {
  const { c, p } = m;
  await c.query(`CREATE SCHEMA ${quoteIdent(p.before)}`);
  for (const [i, t] of p.tables.entries()) {
    await c.query(
      `CREATE TABLE ${qualifiedName(p.before, beforeTableName(t))} AS SELECT * FROM ONLY ${m.live(i)}`,
    );
  }
}

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
export async function mergeRows(m: Merge): Promise<MergeCounts[]> {
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

export const countsOf = (k: string, n: number) =>
  [...Array(n).keys()].map((i) => `(SELECT count(*) FROM ${k}${i})`).join(" + ");

/** A constraint violation of the merge as a refusal naming the constraint, its table and the row. */
export function constraintRefusal(m: Merge, e: unknown): unknown {
  if (!(e instanceof DatabaseError) || !(e.code ?? "").startsWith("23")) return e;
  return new VerificationError(
    `restoring ${m.p.recordBase.tables.join(", ")} breaks the constraint ${e.constraint ?? "?"} of ` +
      `${e.schema ?? "?"}.${e.table ?? "?"}: ${e.detail ?? e.message}; rolled back, nothing was changed`,
    { cause: e },
  );
}

export function deleteGone(m: Merge, i: number): string {
  const pk = m.p.shapes[i]!.primaryKey;
  return pk.length === 0
    ? `DELETE FROM ONLY ${m.live(i)}`
    : `DELETE FROM ONLY ${m.live(i)} AS t WHERE NOT EXISTS (SELECT 1 FROM ${m.stage(i)} AS s WHERE ${pkMatch(pk)})`;
}

/** `after`: the WITH query whose count this part reads first (the order of the parts, above). */
export function updateChanged(m: Merge, i: number, after: string): string {
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

export function insertMissing(m: Merge, i: number, after: string): string {
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
export async function advanceSequences(m: Merge): Promise<SequenceAdvance[]> {
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
