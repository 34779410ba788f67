/**
 * Checks that do not depend on session settings (issue 9, item 1): the manifest, restore's contents check and
 * `compare` give the same answer whatever `ALTER DATABASE … SET`, `ALTER ROLE … [IN DATABASE …] SET` say about
 * search_path and the settings that change text output. Real PostgreSQL and Azurite.
 */
import { strict as assert } from "node:assert";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { main } from "../../src/cli";
import { compare } from "../../src/compare";
import {
  manifestDifferences,
  MANIFEST_V2,
  MANIFEST_VERSION,
  parseManifest,
  serializeManifest,
  sha256Hex,
  unqualifiedColumns,
} from "../../src/manifest";
import { containerClient } from "../../src/blobstore";
import { backupManifestBlobName } from "../../src/naming";
import { MINIMAL_DATABASE_PROPERTIES } from "../../testkit/manifest-fixtures";

const CONTAINER = "backups";
const quiet = () => undefined;

/** The issue's database: an enum in a schema that only the database's search_path names. */
const SEARCH_PATH_SCHEMA = `
  CREATE SCHEMA s1;
  CREATE TYPE s1.mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE s1.t (v s1.mood);
  INSERT INTO s1.t VALUES ('ok');`;

/** Every type whose text output a session setting changes, plus reg* types that search_path changes. */
const OUTPUT_TYPES_SCHEMA = `
  CREATE SCHEMA s2;
  CREATE TYPE s2.mood AS ENUM ('sad', 'ok');
  CREATE TABLE s2.typed (
    id int PRIMARY KEY, ts timestamptz, d date, i interval, f float8, r real, b bytea, m money,
    rc regclass, rt regtype, mood s2.mood[]);
  INSERT INTO s2.typed VALUES
    (1, '2026-03-29 00:30:00+00', '2026-12-31', '1 year 2 mons 3 days 04:05:06.789', 0.1, 1.1, '\\x00ff27',
     12.34, 's2.typed', 's2.mood', '{sad,ok}'),
    (2, '2026-10-25 01:30:00+00', '1999-01-08', '-1 day', 'NaN', '-Infinity', '', -0.01,
     'pg_catalog.pg_class', 'int4', '{}');`;

describe("tool: checks independent of database-, role- and session-level settings", function () {
  this.timeout(180_000);
  let pg: PgCluster;
  let az: Azurite;

  async function cli(argv: string[], env: Record<string, string>): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    const code = await main(argv, env, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
    return { code, text: lines.join("\n") };
  }

  async function exec(sql: string, database: string): Promise<void> {
    await pg.query(sql, [], database);
  }

  /** Backs `database` up under `prefix` and restores it over itself (exit 0 expected); returns the CLI text. */
  async function backupAndRestoreOverLive(database: string, prefix: string, runId: string): Promise<string> {
    const b = await cli(["backup", "--container", CONTAINER, "--prefix", prefix], {
      ...pg.env(database),
      ...az.env(),
    });
    assert.equal(b.code, 0, b.text);
    const blob = b.text.split("\n").find((l) => l.startsWith(`${prefix}/`))!;
    const r = await cli(
      ["restore", "--container", CONTAINER, "--blob", blob, "--database", database, "--run-id", runId],
      { ...pg.env("postgres"), ...az.env() },
    );
    assert.equal(r.code, 0, r.text);
    return r.text;
  }

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
  });

  it("the issue's case: ALTER DATABASE … SET search_path = s1, public restores over the live database, exit 0", async () => {
    await pg.query("CREATE DATABASE app");
    await exec(SEARCH_PATH_SCHEMA, "app");
    await pg.query("ALTER DATABASE app SET search_path = s1, public");
    const text = await backupAndRestoreOverLive("app", "sp/srv", "sp-1");
    assert.match(
      text,
      /restored sp\/srv\/app_\d{8}T\d{6}Z into app; .*contents verified against the backup's manifest/,
    );
    const rows = await pg.query<{ v: string; sp: string }>(
      "SELECT (SELECT v::text FROM s1.t) AS v, current_setting('search_path') AS sp",
      [],
      "app",
    );
    assert.deepStrictEqual(rows.rows, [{ v: "ok", sp: "s1, public" }]);
    const c = await cli(["compare", "--run-id", "sp-1"], { ...pg.env("app"), ...az.env() });
    assert.equal(c.code, 0, c.text);
  });

  it("ALTER ROLE … IN DATABASE … SET search_path (the backup's login) restores over the live database, exit 0", async () => {
    await pg.query("CREATE DATABASE roleapp");
    await exec(SEARCH_PATH_SCHEMA, "roleapp");
    await pg.query("ALTER ROLE postgres IN DATABASE roleapp SET search_path = s1, public");
    await backupAndRestoreOverLive("roleapp", "rsp/srv", "rsp-1");
    const c = await cli(["compare", "--run-id", "rsp-1"], { ...pg.env("roleapp"), ...az.env() });
    assert.equal(c.code, 0, c.text);
  });

  it("ALTER ROLE … SET search_path of the login on one side only: compare still sees equal databases", async () => {
    await pg.query("CREATE ROLE checker LOGIN SUPERUSER PASSWORD 'checker-password'");
    await pg.query("ALTER ROLE checker SET search_path = s1, public");
    await pg.query("ALTER ROLE checker SET DateStyle = 'Postgres, DMY'");
    await pg.query("CREATE DATABASE app_copy TEMPLATE app");
    const r = await compare({
      left: pg.connection("app_copy"),
      right: { ...pg.connection("app_copy"), user: "checker", password: "checker-password" },
      log: quiet,
    });
    assert.deepStrictEqual(
      r.relations
        .filter((x) => x.differences.length > 0)
        .map((x) => `${x.name}: ${x.differences.join("; ")}`),
      [],
    );
    assert.equal(r.equal, true);
  });

  it("a /2 manifest (columns rendered with the source's search_path) is read explicitly and verifies", async () => {
    // What the previous tool wrote for the issue's database: `v mood`, unqualified, under dr-data-manifest/2.
    // A custom-format backup: its manifest's checksums are server-side ones, as a /2 manifest's were.
    const b = await cli(["backup", "--container", CONTAINER, "--prefix", "v2/srv", "--format", "custom"], {
      ...pg.env("app"),
      ...az.env(),
    });
    assert.equal(b.code, 0, b.text);
    const blob = b.text.split("\n").find((l) => l.startsWith("v2/srv/"))!;
    const c = containerClient(az.store(CONTAINER));
    const m = c.getBlockBlobClient(backupManifestBlobName(blob));
    const v3 = parseManifest((await m.downloadToBuffer()).toString("utf8"), "m");
    const v2 = {
      ...v3,
      tool: MANIFEST_V2,
      relations: v3.relations.map(({ columnList: _columns, ...r }) => ({
        ...r,
        columns: r.columns.replace("s1.mood", "mood"),
      })),
    };
    // What /5 added and /2 never had.
    delete (v2 as { databaseProperties?: unknown }).databaseProperties;
    delete (v2 as { tableOfContents?: unknown }).tableOfContents;
    assert.deepStrictEqual(
      v2.relations.map((r) => r.columns),
      ["v mood"],
    );
    const bytes = serializeManifest(v2);
    await m.upload(bytes, bytes.length);
    const meta = (await c.getBlobClient(blob).getProperties()).metadata ?? {};
    await c.getBlobClient(blob).setMetadata({ ...meta, manifestsha256: sha256Hex(bytes) });
    const r = await cli(
      ["restore", "--container", CONTAINER, "--blob", blob, "--database", "app_v2", "--run-id", "v2-1"],
      { ...pg.env("postgres"), ...az.env() },
    );
    assert.equal(r.code, 0, r.text);
    assert.match(
      r.text,
      /contents verified against the backup's manifest; the backup records no database-level properties: the server's defaults apply$/,
    );
    const checked = await cli(["compare", "--run-id", "v2-1"], { ...pg.env("app_v2"), ...az.env() });
    assert.equal(checked.code, 0, checked.text);
    assert.match(
      checked.text,
      /^note: the manifest \(dr-data-manifest\/2\) records no database-level properties: they were not compared$/m,
    );
  });

  it("every output setting changed at database level: backup, restore and compare --run-id agree (exit 0)", async () => {
    await pg.query("CREATE DATABASE styled");
    await exec(OUTPUT_TYPES_SCHEMA, "styled");
    for (const s of [
      "search_path = s2, public",
      "DateStyle = 'SQL, DMY'",
      "TimeZone = 'Pacific/Chatham'",
      "IntervalStyle = 'iso_8601'",
      "extra_float_digits = 0",
      "bytea_output = 'escape'",
      "quote_all_identifiers = on",
      "statement_timeout = '2s'",
      "idle_in_transaction_session_timeout = '100ms'",
    ]) {
      await pg.query(`ALTER DATABASE styled SET ${s}`);
    }
    await backupAndRestoreOverLive("styled", "styled/srv", "st-1");
    const c = await cli(["compare", "--run-id", "st-1"], { ...pg.env("styled"), ...az.env() });
    assert.equal(c.code, 0, c.text);
  });

  it("the maintenance database's timeouts do not end the restore's session (it holds the advisory lock)", async () => {
    await pg.query("CREATE DATABASE timed");
    await exec(SEARCH_PATH_SCHEMA, "timed");
    await pg.query("ALTER DATABASE postgres SET idle_session_timeout = '50ms'");
    await pg.query("ALTER DATABASE postgres SET statement_timeout = '50ms'");
    try {
      await backupAndRestoreOverLive("timed", "timed/srv", "ti-1");
    } finally {
      await pg.query("ALTER DATABASE postgres RESET idle_session_timeout");
      await pg.query("ALTER DATABASE postgres RESET statement_timeout");
    }
  });

  it("compare: two databases with the same contents and different settings are equal; a changed row is not", async () => {
    await pg.query("CREATE DATABASE plain_l");
    await pg.query("CREATE DATABASE plain_r");
    for (const db of ["plain_l", "plain_r"]) await exec(OUTPUT_TYPES_SCHEMA, db);
    await pg.query("ALTER DATABASE plain_l SET search_path = s2, public");
    await pg.query("ALTER DATABASE plain_l SET DateStyle = 'German'");
    await pg.query("ALTER ROLE postgres IN DATABASE plain_r SET TimeZone = 'America/New_York'");
    await pg.query("ALTER ROLE postgres IN DATABASE plain_r SET bytea_output = 'escape'");
    const tables = async () =>
      (
        await compare({ left: pg.connection("plain_l"), right: pg.connection("plain_r"), log: quiet })
      ).relations
        .filter((r) => r.differences.length > 0)
        .map((r) => `${r.name}: ${r.differences.join("; ")}`);
    assert.deepStrictEqual(await tables(), []);
    await exec("UPDATE s2.typed SET ts = ts + interval '1 microsecond' WHERE id = 1", "plain_r");
    assert.deepStrictEqual(await tables(), ["s2.typed: content differs"]);
  });
});

describe("tool: manifest formats (pure)", () => {
  it("unqualifiedColumns removes schema qualifiers only, quoted identifiers kept whole", () => {
    const cases: [string, string][] = [
      ["v s1.mood", "v mood"],
      ['"my col" s1.mood[], id integer', '"my col" mood[], id integer'],
      ['"a.b" "My Schema"."T""x", n numeric(10,2)', '"a.b" "T""x", n numeric(10,2)'],
      ["ts timestamp(3) with time zone, é public.ñ", "ts timestamp(3) with time zone, é ñ"],
      ["", ""],
    ];
    assert.deepStrictEqual(
      cases.map(([c]) => unqualifiedColumns(c)),
      cases.map(([, u]) => u),
    );
  });

  it("a /2 manifest is compared with unqualified columns; a /3 one exactly", () => {
    const actual = { kind: "table" as const, columns: "v s1.mood", rows: 1, checksum: "x" };
    const recorded = { name: "s1.t", kind: "table" as const, columns: "v mood", rows: 1, checksum: "x" };
    assert.deepStrictEqual(manifestDifferences(actual, recorded, MANIFEST_V2), []);
    assert.deepStrictEqual(manifestDifferences(actual, recorded, MANIFEST_VERSION), [
      "columns differ: (v s1.mood) vs (v mood)",
    ]);
    assert.deepStrictEqual(manifestDifferences(actual, { ...recorded, columns: "v text" }, MANIFEST_V2), [
      "columns differ: (v s1.mood) vs (v text)",
    ]);
  });

  it("parseManifest reads /3 and /2 and refuses /1 naming the versions it reads", () => {
    const base = {
      backup: "b",
      database: "d",
      sourceServer: "s",
      snapshot: "x",
      takenAt: "t",
      relations: [],
    };
    assert.equal(parseManifest(JSON.stringify({ ...base, tool: MANIFEST_V2 }), "m").tool, MANIFEST_V2);
    const databaseProperties = MINIMAL_DATABASE_PROPERTIES;
    assert.equal(
      parseManifest(
        JSON.stringify({ ...base, tool: MANIFEST_VERSION, databaseProperties, tableOfContents: [] }),
        "m",
      ).tool,
      MANIFEST_VERSION,
    );
    assert.throws(
      () => parseManifest(JSON.stringify({ ...base, tool: MANIFEST_VERSION }), "m"),
      /^VerificationError: m is not a dr-data manifest: databaseProperties is not an object$/,
    );
    assert.throws(
      () => parseManifest(JSON.stringify({ ...base, tool: MANIFEST_V2, databaseProperties }), "m"),
      /^VerificationError: m is not a dr-data manifest: dr-data-manifest\/2 records no databaseProperties$/,
    );
    assert.throws(
      () => parseManifest(JSON.stringify({ ...base, tool: "dr-data-manifest/1" }), "m"),
      /^VerificationError: m is not a dr-data manifest: tool is "dr-data-manifest\/1", expected one of dr-data-manifest\/5, dr-data-manifest\/4, dr-data-manifest\/3, dr-data-manifest\/2$/,
    );
  });
});
