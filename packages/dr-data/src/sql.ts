/**
 * SQL text helpers. Names are never concatenated into SQL unquoted: every identifier goes through `quoteIdent`
 * and every literal that cannot be a bind parameter (DDL such as `COMMENT ON DATABASE`) through `quoteLiteral`.
 */
import type { Client, QueryResultRow } from "pg";
import { escapeIdentifier, escapeLiteral } from "pg";

/** `"name"`, doubling embedded quotes (pg's `escapeIdentifier`). */
export function quoteIdent(name: string): string {
  return escapeIdentifier(name);
}

/** `'text'`, or `E'…'` when the text holds a backslash (pg's `escapeLiteral`). */
export function quoteLiteral(text: string): string {
  return escapeLiteral(text);
}

/** `"schema"."table"`. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * The one row a query returns (an aggregate, a `SHOW`, a lookup that must exist); throws naming the query when
 * it returned none, instead of `rows[0]!` reading undefined later.
 */
export async function queryOne<R extends QueryResultRow>(
  c: Pick<Client, "query">,
  sql: string,
  params: readonly unknown[] = [],
): Promise<R> {
  const r = await c.query<R>(sql, [...params]);
  const row = r.rows[0];
  if (row === undefined)
    throw new Error(`expected a row from: ${sql.replace(/\s+/g, " ").trim().slice(0, 120)}`);
  return row;
}
