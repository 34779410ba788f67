/**
 * What a table restore reads from text: the `--tables` list (packages/dr-data/src/table-restore/table-list.ts)
 * and pg_restore's script of one TABLE DATA entry, of which only the data block may pass
 * (packages/dr-data/src/table-restore/data-block.ts). The script below is pg_restore 15.18's, verbatim.
 */
import { strict as assert } from "node:assert";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UsageError, VerificationError } from "../src/errors";
import { DataBlockFilter, parseCopyHeader } from "../src/table-restore/data-block";
import { parseTableList, tableDisplay } from "../src/table-restore/table-list";

const HEADER =
  "--\n-- PostgreSQL database dump\n--\n\n\\restrict HxPXevwz2ylk\n\n-- Dumped from database version 15.18\n" +
  "-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)\n\nSET statement_timeout = 0;\nSET lock_timeout = 0;\n" +
  "SET idle_in_transaction_session_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n" +
  "SELECT pg_catalog.set_config('search_path', '', false);\nSET check_function_bodies = false;\nSET xmloption = content;\n" +
  "SET client_min_messages = warning;\nSET row_security = off;\n\n--\n" +
  "-- Data for Name: t; Type: TABLE DATA; Schema: app; Owner: postgres\n--\n\n";
const COPY = "COPY app.t (id, p, v) FROM stdin;\n";
const DATA = "1\t\\N\ta\n2\t1\tb\\\\tc\n3\t1\tback\\\\.slash\n";
const TRAILER = "\\.\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict HxPXevwz2ylk\n\n";
const SCRIPT = HEADER + COPY + DATA + TRAILER;

/** The filter's output for `script` fed in chunks of `size` bytes. */
async function filtered(script: string, size = 7): Promise<{ out: string; filter: DataBlockFilter }> {
  return filteredBytes(Buffer.from(script), size);
}

async function filteredBytes(bytes: Buffer, size: number): Promise<{ out: string; filter: DataBlockFilter }> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const filter = new DataBlockFilter({ schema: "app", name: "t" }, ["id", "v", "p"]);
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), filter, async (s: AsyncIterable<Buffer>) => {
    for await (const c of s) out.push(c);
  });
  return { out: Buffer.concat(out).toString(), filter };
}

const refused = (what: RegExp) => (e: unknown) =>
  e instanceof VerificationError &&
  /^the backup's data of "app"\."t" is not only data \(.*\); a table restore loads rows, never runs the archive's SQL: nothing restored$/.test(
    e.message,
  ) &&
  what.test(e.message);

describe("table restore: only the data block of the named table passes", () => {
  for (const size of [1, 3, 7, 64, 100_000]) {
    it(`passes the rows of pg_restore's script, nothing else (chunks of ${size} bytes)`, async () => {
      const { out, filter } = await filtered(SCRIPT, size);
      assert.equal(out, DATA);
      assert.deepStrictEqual(filter.columns, ["id", "p", "v"]);
      assert.equal(filter.encoding, "UTF8");
    });
  }

  it("a 4 MB value in 64-byte chunks passes whole, in time linear in its size", async function () {
    // Re-joining the partial line with each chunk copied ~128 GB here (minutes); once per newline, 4 MB.
    this.timeout(10_000);
    const row = `1\t1\t${"x".repeat(4 * 1024 * 1024)}\n`;
    const { out } = await filtered(HEADER + COPY + row + "2\t\\N\tb\n" + TRAILER, 64);
    assert.equal(out.length, row.length + "2\t\\N\tb\n".length);
    assert.equal(out, row + "2\t\\N\tb\n");
  });

  it("an empty table: no rows, the script accepted", async () => {
    assert.equal((await filtered(HEADER + COPY + TRAILER)).out, "");
  });

  const tampered: Array<[string, string, RegExp]> = [
    [
      "SQL after the data block's terminator",
      HEADER + COPY + DATA + "\\.\nCREATE TABLE app.pwned ();\n",
      /text after the end of its data block \(\\\.\): "CREATE TABLE app\.pwned \(\);"/,
    ],
    [
      "SQL after the trailer",
      SCRIPT + "DROP TABLE app.t;\n",
      /text after the end of its data block \(\\\.\): "DROP TABLE app\.t;"/,
    ],
    [
      "an \\unrestrict that is not the header's",
      HEADER + COPY + DATA + "\\.\n\\unrestrict other\n",
      /text after the end of its data block .*"\\\\unrestrict other"/,
    ],
    [
      "a statement in the header (a changed search_path entry)",
      HEADER + "CREATE TABLE app.pwned ();\n" + COPY + DATA + TRAILER,
      /an unexpected statement before its data: "CREATE TABLE app\.pwned \(\);"/,
    ],
    [
      "a setting pg_restore does not print for data",
      HEADER + "SET session_authorization = 'evil';\n" + COPY + DATA + TRAILER,
      /an unexpected statement before its data: "SET session_authorization = 'evil';"/,
    ],
    [
      "a COPY of another table",
      HEADER + "COPY app.pwned (id, p, v) FROM stdin;\n" + DATA + TRAILER,
      /its COPY loads another table: "COPY app\.pwned \(id, p, v\) FROM stdin;"/,
    ],
    [
      "a COPY from a program",
      HEADER + "COPY app.t (id, p, v) FROM PROGRAM 'id';\n" + DATA + TRAILER,
      /an unreadable COPY line: "COPY app\.t \(id, p, v\) FROM PROGRAM 'id';"/,
    ],
    [
      "a second entry's header",
      HEADER +
        "-- Data for Name: x; Type: TABLE DATA; Schema: app; Owner: postgres\n" +
        COPY +
        DATA +
        TRAILER,
      /another entry of the archive in its script: "-- Data for Name: x; Type: TABLE DATA; Schema: app; Owner: postgres"/,
    ],
    [
      "an end-of-data marker inside a row (the server would stop there)",
      HEADER + COPY + "1\t\\N\ta\\.\nCREATE TABLE app.pwned ();\n" + TRAILER,
      /row 1 of its data block holds an end-of-data marker \(\\\.\) inside the line/,
    ],
    ["no terminator", HEADER + COPY + DATA, /its data block has no end-of-data line \(\\\.\)/],
    ["no COPY", HEADER, /pg_restore printed no COPY for it/],
  ];
  for (const [name, script, what] of tampered) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(filtered(script), refused(what));
      await assert.rejects(filtered(script, 1), refused(what));
    });
  }

  it("refuses a client-only encoding, in which a character can end in a backslash", async () => {
    // In SJIS, 0x83 0x5c is one character (ソ): the server's COPY reads the next `\.` as the end of data and
    // drops rows 2 and 3 unseen, while a byte-wise reading sees an escaped backslash and a dot.
    const sjis = Buffer.concat([
      Buffer.from(HEADER.replace("'UTF8'", "'SJIS'") + COPY + "1\t\\N\ta"),
      Buffer.from([0x83, 0x5c, 0x5c, 0x2e]),
      Buffer.from("\n2\t1\tb\n3\t1\tc\n" + TRAILER),
    ]);
    for (const size of [1, 7, 100_000]) {
      await assert.rejects(
        filteredBytes(sjis, size),
        refused(/its data is in the encoding "SJIS", not one a database can have \(SQL_ASCII, UTF8, .*\)/),
      );
    }
    for (const name of ["BIG5", "GBK", "UHC", "GB18030", "JOHAB", "SHIFT_JIS_2004", "sjis", "utf8"]) {
      await assert.rejects(
        filtered(SCRIPT.replace("'UTF8'", `'${name}'`)),
        refused(new RegExp(`its data is in the encoding "${name}"`)),
      );
    }
    const latin1 = await filtered(SCRIPT.replace("'UTF8'", "'LATIN1'"));
    assert.equal(latin1.out, DATA);
    assert.equal(latin1.filter.encoding, "LATIN1");
  });

  it("refuses columns that are not the live table's, naming both", async () => {
    await assert.rejects(
      filtered(HEADER + "COPY app.t (id, p, w) FROM stdin;\n" + DATA + TRAILER),
      /^VerificationError: "app"\."t": the backup's columns \(id, p, w\) are not the live table's \(id, v, p\); its definition changed since the backup: not restoring it by table$/,
    );
  });

  it("reads pg_restore's COPY line, quoted identifiers included", () => {
    assert.deepStrictEqual(parseCopyHeader('COPY "my schema"."a.b" (id, "Total ""x""", a) FROM stdin;'), {
      schema: "my schema",
      table: "a.b",
      columns: ["id", 'Total "x"', "a"],
    });
    for (const bad of [
      "COPY app.orders FROM stdin;",
      "COPY app.orders (id) FROM stdin; DROP TABLE x;",
      'COPY app."" (id) FROM stdin;',
      "COPY app.orders (id) TO stdout;",
    ]) {
      assert.equal(parseCopyHeader(bad), undefined, bad);
    }
  });
});

describe("table restore: --tables takes every table name", () => {
  const t = (s: string) => parseTableList("--tables", s);
  it("bare and quoted parts, blanks, dots, commas and quotes in names", () => {
    assert.deepStrictEqual(t("app.a, b.c"), [
      { schema: "app", name: "a" },
      { schema: "b", name: "c" },
    ]);
    assert.deepStrictEqual(t('my schema.order lines,"a.b"."c,d","x""y".Z'), [
      { schema: "my schema", name: "order lines" },
      { schema: "a.b", name: "c,d" },
      { schema: 'x"y', name: "Z" },
    ]);
  });

  it("writes names back the way it reads them", () => {
    const names = [
      { schema: "app", name: "orders" },
      { schema: "my schema", name: "order lines" },
      { schema: "a.b", name: "c,d" },
      { schema: 'x"y', name: " lead" },
    ];
    assert.deepStrictEqual(names.map(tableDisplay), [
      "app.orders",
      '"my schema"."order lines"',
      '"a.b"."c,d"',
      '"x""y"." lead"',
    ]);
    assert.deepStrictEqual(t(names.map(tableDisplay).join(",")), names);
  });

  const refusals: Array<[string, RegExp]> = [
    [
      "",
      /^--tables needs at least one table as schema\.table \(e\.g\. app\.accounts; .*\), got an empty list$/,
    ],
    ["accounts", /^--tables: "accounts" is not schema\.table \(e\.g\. app\.accounts; quote a part/],
    ["a.b.c", /^--tables: "a\.b\.c" is not schema\.table/],
    ['"app.a', /^--tables: "\\"app\.a" has an unclosed double quote$/],
    ['ap"p".a', /^--tables: "ap\\"p\\"\.a" is not schema\.table/],
    ['"".a', /^--tables: "\\"\\"\.a" is not schema\.table/],
    ["app.a,app.a", /^--tables: app\.a is listed twice$/],
    ['"my s".t,my s.t', /^--tables: "my s"\.t is listed twice$/],
  ];
  for (const [text, message] of refusals) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => t(text),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});
