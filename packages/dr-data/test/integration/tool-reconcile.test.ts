/**
 * `reconcile` on a real PostgreSQL and Azurite: the rows written in "live" after the copy was taken must come
 * out exactly, as CSV that PostgreSQL reads back with NULL and the empty string kept apart.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { csvField, csvLine, reconcile, type ReconcileResult } from "../../src/reconcile";

const CONTAINER = "reports";
const quiet = () => undefined;

const SCHEMA = `
  CREATE SCHEMA app;
  CREATE TABLE app.accounts (name text, id int PRIMARY KEY, note text, born date);
  INSERT INTO app.accounts SELECT 'user ' || g, g, NULL, date '2000-01-01' + g FROM generate_series(1, 200) g;
  CREATE TABLE app.unchanged (id int PRIMARY KEY);
  INSERT INTO app.unchanged SELECT generate_series(1, 10);
  CREATE TABLE app.log (line text);
  INSERT INTO app.log SELECT 'line ' || g FROM generate_series(1, 5) g;`;

const SINCE = `
  DELETE FROM app.accounts WHERE id <= 3;
  INSERT INTO app.accounts VALUES
    ('comma, "quoted"', 201, '', '2026-12-01'),
    (E'two\\nlines', 202, NULL, NULL),
    (' padded ', 203, '\\.', '2026-12-02');
  UPDATE app.accounts SET note = 'edited' WHERE id = 50;
  INSERT INTO app.log VALUES ('line 6');
  CREATE TABLE app.signups (email text PRIMARY KEY, at timestamptz);
  INSERT INTO app.signups VALUES ('a@example.org', '2026-12-03T10:00:00Z');`;

describe("tool: reconcile (rows written since the restore point) on real servers", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let result: ReconcileResult;
  const blob = async (name: string) =>
    (await containerClient(az.store(CONTAINER)).getBlobClient(name).downloadToBuffer()).toString("utf8");

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE copy");
    await pg.query(SCHEMA, [], "copy");
    await pg.query("CREATE DATABASE live TEMPLATE copy");
    await pg.query(SINCE, [], "live");
    result = await reconcile({
      copy: pg.connection("copy"),
      live: pg.connection("live"),
      store: az.store(CONTAINER),
      incidentId: "inc-1",
      batchSize: 16,
      log: quiet,
      now: () => new Date("2026-12-04T03:00:00Z"),
    });
  });

  it("CSV fields: NULL is empty, the empty string is quoted, specials are quoted", () => {
    assert.deepStrictEqual([null, "", "plain", "a,b", 'say "hi"', "x\ny", " lead", "\\."].map(csvField), [
      "",
      '""',
      "plain",
      '"a,b"',
      '"say ""hi"""',
      '"x\ny"',
      '" lead"',
      '"\\."',
    ]);
    assert.equal(csvLine(["1", null, ""]), '1,,""\r\n');
  });

  it("exports exactly the new and changed rows, primary key first, with their kind", async () => {
    assert.equal(
      await blob("incident/inc-1/reconcile/app.accounts.csv"),
      "id,name,note,born,dr_change\r\n" +
        "50,user 50,edited,2000-02-20,changed\r\n" +
        '201,"comma, ""quoted""","",2026-12-01,new\r\n' +
        '202,"two\nlines",,,new\r\n' +
        '203," padded ","\\.",2026-12-02,new\r\n',
    );
    const t = result.tables.find((x) => x.name === "app.accounts")!;
    assert.deepStrictEqual(t, {
      name: "app.accounts",
      primaryKey: ["id"],
      liveRows: 200,
      copyRows: 200,
      added: 3,
      changed: 1,
      lost: 3,
      file: "reports/incident/inc-1/reconcile/app.accounts.csv",
    });
  });

  it("PostgreSQL reads the CSV back with NULL and the empty string kept apart", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "dr-reconcile-"));
    try {
      const file = path.join(dir, "accounts.csv");
      writeFileSync(file, await blob("incident/inc-1/reconcile/app.accounts.csv"));
      await pg.query(
        "CREATE TABLE public.back (id int, name text, note text, born date, dr_change text)",
        [],
        "live",
      );
      execFileSync(
        "psql",
        ["-X", "-v", "ON_ERROR_STOP=1", "-c", `\\copy public.back FROM '${file}' WITH (FORMAT csv, HEADER)`],
        {
          env: { ...process.env, ...pg.env("live") },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      const back = await pg.query(
        `SELECT count(*)::int AS n FROM public.back b JOIN app.accounts a USING (id)
          WHERE (a.name, a.note, a.born) IS NOT DISTINCT FROM (b.name, b.note, b.born)`,
        [],
        "live",
      );
      assert.deepStrictEqual(back.rows, [{ n: 4 }]);
    } finally {
      await pg.query("DROP TABLE IF EXISTS public.back", [], "live");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exports a table only in live whole; writes no file for a table with nothing new", async () => {
    assert.equal(
      await blob("incident/inc-1/reconcile/app.signups.csv"),
      "email,at,dr_change\r\na@example.org,2026-12-03 10:00:00+00,new\r\n",
    );
    assert.deepStrictEqual(
      result.tables.map((t) => [t.name, t.added, t.changed, t.copyRows, t.file !== null]),
      [
        ["app.accounts", 3, 1, 200, true],
        ["app.signups", 1, 0, null, true],
        ["app.unchanged", 0, 0, 10, false],
      ],
    );
    assert.equal(
      await containerClient(az.store(CONTAINER))
        .getBlobClient("incident/inc-1/reconcile/app.unchanged.csv")
        .exists(),
      false,
    );
  });

  it("lists tables without a primary key as not reconcilable, with their counts", () => {
    assert.deepStrictEqual(result.notReconcilable, [
      { name: "app.log", reason: "no primary key", liveRows: 6, copyRows: 5 },
    ]);
  });

  it("writes summary.md and summary.json; the CLI prints the summary (exit 0)", async () => {
    const json = JSON.parse(await blob("incident/inc-1/reconcile/summary.json")) as ReconcileResult;
    assert.deepStrictEqual(json.tables, result.tables);
    assert.match(
      await blob("incident/inc-1/reconcile/summary.md"),
      /\| app\.log \| no primary key \| 6 \| 5 \|/,
    );
    const out: string[] = [];
    const err: string[] = [];
    const prefixed = (prefix: string, db: string) =>
      Object.fromEntries(Object.entries(pg.env(db)).map(([k, v]) => [`${prefix}${k}`, v]));
    const code = await main(
      ["reconcile", "--container", CONTAINER, "--incident", "inc-2"],
      { ...prefixed("PTR_", "copy"), ...prefixed("LIVE_", "live"), ...az.env() },
      { out: (t) => out.push(t), err: (t) => err.push(t) },
    );
    assert.equal(code, 0, err.join("\n"));
    assert.equal(
      out.join("\n").split("\n").at(-1),
      "reconcile: 4 new and 1 changed rows in live exported (2 CSV files); 1 tables not reconcilable; " +
        "summary: reports/incident/inc-2/reconcile/summary.md",
    );
  });
});
