/**
 * Foreign keys from and to the restored tables, checked against the state the merge would leave, before any row is
 * changed.
 */
import type { Client } from "pg";
import { VerificationError } from "../errors";
import { tableShape } from "../row-diff";
import type { TableName } from "./table-list";
import { quoteIdent, quoteLiteral } from "../sql";
import { Merge, fkKey } from "./merge-plan";
import { tableText } from "./types";

export interface ForeignKey {
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

export const FOREIGN_KEYS_SQL = `
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

export async function foreignKeys(c: Client, tables: readonly TableName[]): Promise<ForeignKey[]> {
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
export const SHOWN_VIOLATIONS = 10;

/** Foreign keys, against the state the restore would leave; nothing has been changed yet. */
export async function checkForeignKeys(m: Merge): Promise<void> {
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
export async function danglingReferences(m: Merge, f: ForeignKey): Promise<string | undefined> {
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
export function requireKeysWhereReferenced(m: Merge): void {
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
