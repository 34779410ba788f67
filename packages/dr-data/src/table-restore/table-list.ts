/**
 * `--tables` as text: a comma-separated list of `schema.table`. Every table `inspect` and `reconcile` report
 * can be named: a part is written bare (taken as it is, blanks inside included, case kept) or double-quoted
 * as in SQL (`"my schema"."order.lines"`, `""` for a quote) when it holds a dot, a comma, a quote or blanks at
 * its ends. `tableDisplay` writes a name back the same way, so a name the tool prints can be pasted.
 */
import { UsageError } from "../errors";

export interface TableName {
  readonly schema: string;
  readonly name: string;
}

const EXAMPLE = `schema.table (e.g. app.accounts; quote a part that holds a dot, comma or quote: "my schema"."a.b")`;

/** `a.b,c.d` → tables; a usage error naming `flag` for an empty list, a malformed element, a duplicate. */
export function parseTableList(flag: string, text: string): TableName[] {
  if (text.trim() === "")
    throw new UsageError(`${flag} needs at least one table as ${EXAMPLE}, got an empty list`);
  const out: TableName[] = [];
  const seen = new Set<string>();
  for (const element of splitOutsideQuotes(flag, text)) {
    const parts = splitOutsideQuotes(flag, element, ".");
    const names = parts.length === 2 ? parts.map(unquote) : [];
    if (names.length !== 2 || names.some((n) => n === undefined || n === "")) {
      throw new UsageError(`${flag}: ${JSON.stringify(element.trim())} is not ${EXAMPLE}`);
    }
    const t = { schema: names[0]!, name: names[1]! };
    const key = JSON.stringify([t.schema, t.name]);
    if (seen.has(key)) throw new UsageError(`${flag}: ${tableDisplay(t)} is listed twice`);
    seen.add(key);
    out.push(t);
  }
  return out;
}

/** `text` split on `sep` where it is not inside double quotes; an unclosed quote is a usage error. */
function splitOutsideQuotes(flag: string, text: string, sep = ","): string[] {
  const out: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (!quoted && text[i] === sep) {
      out.push(text.slice(from, i));
      from = i + 1;
    }
  }
  if (quoted) throw new UsageError(`${flag}: ${JSON.stringify(text.trim())} has an unclosed double quote`);
  out.push(text.slice(from));
  return out;
}

/** One part: trimmed; `"…"` unquoted (`""` → `"`); a bare part with a quote in it is not a name. */
function unquote(part: string): string | undefined {
  const p = part.trim();
  if (!p.startsWith('"')) return p.includes('"') ? undefined : p;
  if (p.length < 2 || !p.endsWith('"')) return undefined;
  const inner = p.slice(1, -1);
  return inner.replace(/""/g, "").includes('"') ? undefined : inner.replace(/""/g, '"');
}

/** A part as `parseTableList` reads it back: bare when it holds no blank, dot, comma or quote, else quoted. */
function displayPart(s: string): string {
  return /^[^\s."',]+$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
}

/** `schema.table`, each part quoted where `parseTableList` needs it. */
export function tableDisplay(t: TableName): string {
  return `${displayPart(t.schema)}.${displayPart(t.name)}`;
}
