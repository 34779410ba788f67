/**
 * SQL text helpers. Names are never concatenated into SQL unquoted: every identifier goes through `quoteIdent`
 * and every literal that cannot be a bind parameter (DDL such as `COMMENT ON DATABASE`) through `quoteLiteral`.
 */
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
