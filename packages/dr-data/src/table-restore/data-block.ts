/**
 * A table's rows out of a backup archive, as data only. `pg_restore -L <that TABLE DATA entry> -f -` prints a
 * script: a header of session settings, the entry's `COPY <table> (<columns>) FROM stdin;`, the data block, its
 * `\.` terminator and a trailer. That script is never run: it is read here line by line against what
 * pg_restore itself emits for one TABLE DATA entry, and only the data block's lines go on, into the driver's
 * `COPY <staging table> (<columns>) FROM STDIN` (pg-copy-streams) — a statement this tool writes, naming the
 * live table's columns, with nothing of the archive's text in it but the encoding, checked against a pattern.
 *
 * Refused (a VerificationError, nothing loaded): any statement in the header other than pg_restore's fixed
 * `SET`s and search_path; a client_encoding no database can have (one whose characters may hold a backslash
 * byte, which the byte-wise reading here would take for an escape); a COPY line that is not the named table's, or whose columns are not the live
 * table's; a second entry's header; an end-of-data marker (`\.`) anywhere but alone on the block's last line
 * (the server would end the COPY there and drop the rest unseen); anything after the terminator but blank
 * lines, comments and the `\unrestrict` matching the header's `\restrict` (pg_dump 15.14 and later).
 */
import { writeFile } from "node:fs/promises";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Client } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { VerificationError } from "../errors";
import { binPath, describeExit, start } from "../proc";
import { quoteIdent, quoteLiteral } from "../sql";

/** A table as its schema and name (exact, unquoted). */
export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

/** `COPY <schema>.<table> (<columns>) FROM stdin;` read back: the table and its columns, unquoted. */
export interface CopyHeader {
  readonly schema: string;
  readonly table: string;
  readonly columns: string[];
}

/**
 * The COPY line pg_restore prints for a table's data, parsed: `COPY <schema>.<table> (<columns>) FROM stdin;`
 * with identifiers quoted where needed. Undefined if the line is not exactly that shape.
 */
export function parseCopyHeader(line: string): CopyHeader | undefined {
  if (!line.startsWith("COPY ")) return undefined;
  const r = new IdentReader(line, 5);
  const schema = r.ident();
  if (schema === undefined || !r.take(".")) return undefined;
  const table = r.ident();
  if (table === undefined || !r.take(" (")) return undefined;
  const columns: string[] = [];
  for (;;) {
    const c = r.ident();
    if (c === undefined) return undefined;
    columns.push(c);
    if (r.take(", ")) continue;
    if (r.take(")")) break;
    return undefined;
  }
  return r.rest() === " FROM stdin;" ? { schema, table, columns } : undefined;
}

/** Reads SQL identifiers as pg_dump writes them: bare (no `.`, `"`, blank, `,`, parentheses) or double-quoted. */
class IdentReader {
  constructor(
    private readonly s: string,
    private p: number,
  ) {}

  take(text: string): boolean {
    if (!this.s.startsWith(text, this.p)) return false;
    this.p += text.length;
    return true;
  }

  rest(): string {
    return this.s.slice(this.p);
  }

  ident(): string | undefined {
    if (this.s[this.p] !== '"') {
      const m = /^[^."\s,()]+/.exec(this.s.slice(this.p));
      if (m === null) return undefined;
      this.p += m[0].length;
      return m[0];
    }
    let out = "";
    for (this.p++; this.p < this.s.length;) {
      const ch = this.s[this.p++]!;
      if (ch !== '"') {
        out += ch;
      } else if (this.s[this.p] === '"') {
        out += '"';
        this.p++;
      } else {
        return out === "" ? undefined : out;
      }
    }
    return undefined;
  }
}

/**
 * The header lines pg_restore 15–17 prints before a TABLE DATA entry's COPY (pg_backup_archiver.c
 * `_doSetFixedOutputState`): these settings with plain values, the search_path, comments, `\restrict <key>`.
 */
const HEADER_SETTINGS = new Set([
  "statement_timeout",
  "lock_timeout",
  "idle_in_transaction_session_timeout",
  "transaction_timeout",
  "client_encoding",
  "standard_conforming_strings",
  "check_function_bodies",
  "xmloption",
  "client_min_messages",
  "row_security",
]);
const SET_LINE = /^SET ([a-z_]+) = ('[A-Za-z0-9_]*'|[A-Za-z0-9_]+);$/;
/**
 * The encodings a PostgreSQL database can have, as pg_dump names them (encnames.c `pg_enc2name_tbl`, server
 * encodings). In each, every byte of a multibyte character has its high bit set, so a backslash or a newline
 * byte is always that character: the byte-wise reading below sees the lines and escapes the server sees.
 * Not the client-only encodings (SJIS, BIG5, GBK, UHC, GB18030, JOHAB, SHIFT_JIS_2004), in which a
 * character's second byte may be a backslash: the server's COPY then reads `<char>\.` as a character and
 * an end-of-data marker, and drops the rest of the block unseen.
 */
const DATA_ENCODINGS = new Set([
  "SQL_ASCII",
  "UTF8",
  "EUC_JP",
  "EUC_CN",
  "EUC_KR",
  "EUC_TW",
  "EUC_JIS_2004",
  "MULE_INTERNAL",
  ...Array.from({ length: 10 }, (_, i) => `LATIN${i + 1}`),
  "ISO_8859_5",
  "ISO_8859_6",
  "ISO_8859_7",
  "ISO_8859_8",
  "KOI8R",
  "KOI8U",
  "WIN866",
  "WIN874",
  ...[1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258].map((n) => `WIN${n}`),
]);
const SEARCH_PATH_LINE = "SELECT pg_catalog.set_config('search_path', '', false);";
const RESTRICT_LINE = /^\\restrict ([A-Za-z0-9]+)$/;
/** Header and trailer are a few hundred bytes; more is not pg_restore's output. */
const MAX_TEXT_BYTES = 64 * 1024;

type Phase = "header" | "data" | "trailer";

/**
 * The stream between pg_restore and the COPY: reads the header, emits only the data block's lines (without
 * the terminator), checks the trailer. Errors are VerificationErrors naming the table and the line.
 */
export class DataBlockFilter extends Transform {
  private phase: Phase = "header";
  /**
   * The bytes after the last complete line, as received: joined only when a chunk brings a newline, so a row
   * of n bytes costs O(n), not a copy of everything so far per chunk (O(n²): minutes for a 64 MB value).
   */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private restrictKey: string | undefined;
  private entries = 0;
  private copy: CopyHeader | undefined;
  private encodingName: string | undefined;
  private dataLines = 0;

  constructor(
    private readonly table: TableRef,
    /** The live table's non-generated columns: the COPY must name exactly these. */
    private readonly expected: readonly string[],
  ) {
    super();
  }

  /** The COPY line's columns, in the archive's order (known once the header has been read). */
  get columns(): readonly string[] | undefined {
    return this.copy?.columns;
  }

  /** The archive's client_encoding (the data block's bytes are in it), if the header set one. */
  get encoding(): string | undefined {
    return this.encodingName;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.carry.push(chunk);
      this.carryBytes += chunk.length;
      // Without a newline the chunk completes no line: consume would only keep it (it stops at a partial line).
      if (chunk.includes(0x0a)) this.consume(Buffer.concat(this.carry, this.carryBytes));
      else this.checkCarry();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.carryBytes > 0) this.consume(Buffer.concat([...this.carry, Buffer.from("\n")]));
      if (this.phase !== "trailer") {
        throw this.refusal(
          this.phase === "header"
            ? "pg_restore printed no COPY for it"
            : "its data block has no end-of-data line (\\.)",
        );
      }
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  private consume(buf: Buffer): void {
    let at = 0;
    while (at < buf.length) {
      if (this.phase === "data") {
        at = this.dataLinesFrom(buf, at);
        if (this.phase === "data") break;
        continue;
      }
      const nl = buf.indexOf(0x0a, at);
      if (nl < 0) break;
      const line = buf.toString("utf8", at, nl);
      at = nl + 1;
      if (this.phase === "header") this.headerLine(line);
      else this.trailerLine(line);
    }
    this.carry = [buf.subarray(at)];
    this.carryBytes = buf.length - at;
    this.checkCarry();
  }

  private checkCarry(): void {
    if (this.phase !== "data" && this.carryBytes > MAX_TEXT_BYTES) {
      throw this.refusal(`a line of more than ${MAX_TEXT_BYTES} bytes outside its data block`);
    }
  }

  /** Emits the complete data lines from `at`; on the terminator, switches to the trailer. Returns where it stopped. */
  private dataLinesFrom(buf: Buffer, at: number): number {
    const last = buf.lastIndexOf(0x0a);
    if (last < at) return at;
    const end = buf.indexOf("\\.", at) < 0 ? last + 1 : this.scanForMarker(buf, at, last);
    const rowsEnd = this.phase === "trailer" ? end - 3 : end;
    if (rowsEnd > at) this.push(buf.subarray(at, rowsEnd));
    return end;
  }

  /**
   * Walks the lines holding a backslash-dot: a `\.` that the server would read as the end of data (an
   * unescaped backslash followed by a dot) must be the whole line, and ends the block. Returns the end of
   * what was checked (after the terminator line, or after the last complete line).
   */
  private scanForMarker(buf: Buffer, at: number, last: number): number {
    let lineStart = at;
    while (lineStart <= last) {
      const nl = buf.indexOf(0x0a, lineStart);
      const marker = endMarkerAt(buf, lineStart, nl);
      if (marker >= 0) {
        if (marker !== lineStart || nl !== lineStart + 2) {
          throw this.refusal(
            `row ${this.dataLines + 1} of its data block holds an end-of-data marker (\\.) inside the line`,
          );
        }
        this.phase = "trailer";
        return nl + 1;
      }
      this.dataLines++;
      lineStart = nl + 1;
    }
    return last + 1;
  }

  private headerLine(line: string): void {
    if (line === "" || line === SEARCH_PATH_LINE) return;
    if (line.startsWith("--")) return this.headerComment(line);
    const restrict = RESTRICT_LINE.exec(line);
    if (restrict !== null && this.restrictKey === undefined && this.entries === 0) {
      this.restrictKey = restrict[1]!;
      return;
    }
    const set = SET_LINE.exec(line);
    if (set !== null && HEADER_SETTINGS.has(set[1]!) && this.entries === 0) {
      if (set[1] === "client_encoding") this.encodingName = this.dataEncoding(set[2]!.replace(/'/g, ""));
      return;
    }
    if (line.startsWith("COPY ")) return this.copyLine(line);
    throw this.refusal(`an unexpected statement before its data: ${clip(line)}`);
  }

  /** The archive's client_encoding, if the data block can be read byte-wise in it (DATA_ENCODINGS). */
  private dataEncoding(name: string): string {
    if (DATA_ENCODINGS.has(name)) return name;
    throw this.refusal(
      `its data is in the encoding ${JSON.stringify(name)}, not one a database can have ` +
        `(${[...DATA_ENCODINGS].join(", ")}), in which a backslash may be part of a character`,
    );
  }

  /** pg_restore's `-- Data for Name: …; Type: TABLE DATA; …` header: exactly one, for this table. */
  private headerComment(line: string): void {
    if (!line.startsWith("-- Data for Name: ")) return;
    this.entries++;
    const own =
      `-- Data for Name: ${commentName(this.table.name)}; Type: TABLE DATA; ` +
      `Schema: ${commentName(this.table.schema)}; Owner: `;
    if (this.entries > 1 || !line.startsWith(own)) {
      throw this.refusal(`another entry of the archive in its script: ${clip(line)}`);
    }
  }

  private copyLine(line: string): void {
    const copy = parseCopyHeader(line);
    if (copy === undefined) throw this.refusal(`an unreadable COPY line: ${clip(line)}`);
    if (copy.schema !== this.table.schema || copy.table !== this.table.name) {
      throw this.refusal(`its COPY loads another table: ${clip(line)}`);
    }
    const a = [...copy.columns].sort().join(", ");
    const b = [...this.expected].sort().join(", ");
    if (a !== b || new Set(copy.columns).size !== copy.columns.length) {
      throw new VerificationError(
        `${tableLabel(this.table)}: the backup's columns (${copy.columns.join(", ")}) are not the live table's ` +
          `(${this.expected.join(", ")}); its definition changed since the backup: not restoring it by table`,
      );
    }
    this.copy = copy;
    this.phase = "data";
  }

  private trailerLine(line: string): void {
    if (line === "" || line.startsWith("--")) return;
    if (this.restrictKey !== undefined && line === `\\unrestrict ${this.restrictKey}`) {
      this.restrictKey = undefined;
      return;
    }
    throw this.refusal(`text after the end of its data block (\\.): ${clip(line)}`);
  }

  private refusal(what: string): VerificationError {
    return new VerificationError(
      `the backup's data of ${tableLabel(this.table)} is not only data (${what}); a table restore loads rows, ` +
        `never runs the archive's SQL: nothing restored`,
    );
  }
}

/**
 * Where, in the line `[start, nl)`, an unescaped backslash is followed by a dot (the server's end-of-data
 * marker in COPY text format), or -1.
 */
function endMarkerAt(buf: Buffer, start: number, nl: number): number {
  for (let i = buf.indexOf(0x5c, start); i >= 0 && i < nl; i = buf.indexOf(0x5c, i + 2)) {
    if (buf[i + 1] === 0x2e) return i;
  }
  return -1;
}

/** pg_dump writes names into comments with newlines replaced by blanks (`sanitize_line`). */
function commentName(name: string): string {
  return name.replace(/[\r\n]/g, " ");
}

function clip(line: string): string {
  return JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line);
}

/** `"schema"."table"`: quoted, so a name with a blank or a dot reads as one name. */
export function tableLabel(t: TableRef): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/** An encoding name as the COPY option takes it; the archive's text is used only when it is a plain name. */
function encodingOption(encoding: string | undefined): string {
  if (encoding === undefined) return "";
  if (!/^[A-Za-z0-9_]+$/.test(encoding)) throw new Error(`unexpected encoding ${encoding}`);
  return ` WITH (ENCODING ${quoteLiteral(encoding)})`;
}

/**
 * The filter's output into `COPY <target> (<the archive's columns>) FROM STDIN`. The COPY starts with the
 * first data (the header has then named the columns); a block without rows needs none.
 */
async function copyInto(
  c: Client,
  target: string,
  filter: DataBlockFilter,
  data: AsyncIterable<Buffer>,
): Promise<number> {
  const it = data[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) return 0;
  const copy = c.query(
    copyFrom(
      `COPY ${target} (${filter.columns!.map(quoteIdent).join(", ")}) FROM STDIN${encodingOption(filter.encoding)}`,
    ),
  );
  await pipeline(async function* () {
    yield first.value;
    for (let n = await it.next(); n.done !== true; n = await it.next()) yield n.value;
  }, copy);
  return copy.rowCount;
}

/**
 * Loads one TABLE DATA entry of `archive` into `target` (a staging table `LIKE` the live one) through the
 * driver's COPY FROM STDIN; `c` is a session of the live database. Returns the rows loaded.
 */
export async function loadDataBlock(
  c: Client,
  a: {
    readonly archive: string;
    /** Where to write the `-L` list (one line: the entry's). */
    readonly listFile: string;
    readonly entryLine: string;
    readonly target: string;
    readonly table: TableRef;
    readonly expectedColumns: readonly string[];
    readonly env: NodeJS.ProcessEnv;
    readonly binDir: string | undefined;
  },
): Promise<number> {
  await writeFile(a.listFile, `${a.entryLine}\n`);
  const dump = start(binPath(a.binDir, "pg_restore"), ["-L", a.listFile, "-f", "-", a.archive], {
    env: a.env,
    stdout: "pipe",
  });
  const filter = new DataBlockFilter(a.table, a.expectedColumns);
  let rows = 0;
  try {
    await pipeline(dump.child.stdout!, filter, async (data: AsyncIterable<Buffer>) => {
      rows = await copyInto(c, a.target, filter, data);
    });
  } catch (e) {
    dump.child.kill("SIGTERM");
    await dump.exit.catch(() => undefined);
    if (e instanceof VerificationError) throw e;
    throw new Error(`loading ${tableLabel(a.table)} from the archive into ${a.target} failed`, { cause: e });
  }
  const exit = await dump.exit;
  if (exit.code !== 0) {
    throw new Error(
      `loading ${tableLabel(a.table)} from the archive failed: ${describeExit("pg_restore", exit, dump.stderr)}`,
    );
  }
  return rows;
}
