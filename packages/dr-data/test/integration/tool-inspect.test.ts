/**
 * `inspect` on a real PostgreSQL and Azurite: a "copy" database (the data at the restore point) and a "live"
 * one changed afterwards in known ways; the report must count and name exactly those changes.
 */
import { strict as assert } from "node:assert";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { compare } from "../../src/compare";
import { codeSpan, inspect, type InspectResult, type TableInspection } from "../../src/inspect";
import { compareKeys } from "../../src/row-diff";

const CONTAINER = "reports";
const quiet = () => undefined;

const SCHEMA = `
  CREATE SCHEMA app;
  CREATE TABLE app.items (id bigint PRIMARY KEY, name text, price numeric, at timestamptz);
  INSERT INTO app.items SELECT g, 'item ' || g, g * 1.5, '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 hour'
    FROM generate_series(1, 1000) g;
  -- Text keys whose byte order differs from a linguistic one, and one that needs quoting in a row's text.
  CREATE TABLE app.tags (tag text PRIMARY KEY, n int);
  INSERT INTO app.tags VALUES ('a', 1), ('B', 2), ('é', 3), ('😀', 4), ('Z', 5), ('x,y', 6), ('', 7);
  CREATE TABLE app.pairs (account int, day date, v text, PRIMARY KEY (day, account));
  INSERT INTO app.pairs SELECT g % 10, date '2026-01-01' + g / 10, 'v' || g FROM generate_series(0, 99) g;
  CREATE TABLE app.log (line text);
  INSERT INTO app.log SELECT 'line ' || g FROM generate_series(1, 50) g;
  CREATE TABLE app.same (id int PRIMARY KEY, v text);
  INSERT INTO app.same SELECT g, NULL FROM generate_series(1, 30) g;
  CREATE SEQUENCE app.counter;
  SELECT nextval('app.counter');`;

/** What happened after the restore point. */
const CHANGES = `
  DELETE FROM app.items WHERE id BETWEEN 101 AND 150;             -- 50 lost
  UPDATE app.items SET price = price + 1 WHERE id IN (5, 6, 7);   -- 3 changed
  INSERT INTO app.items SELECT g, 'new ' || g, 0, now() FROM generate_series(1001, 1004) g;  -- 4 new
  DELETE FROM app.tags WHERE tag IN ('é', '');                    -- 2 lost
  INSERT INTO app.tags VALUES ('b', 9);                           -- 1 new
  UPDATE app.tags SET n = NULL WHERE tag = '😀';                   -- 1 changed
  UPDATE app.pairs SET v = 'changed' WHERE account = 3 AND day = date '2026-01-02';
  DELETE FROM app.log WHERE line = 'line 7';
  CREATE TABLE app.fresh (id int PRIMARY KEY);
  INSERT INTO app.fresh VALUES (1), (2);
  SELECT nextval('app.counter');`;

describe("tool: inspect (PTR copy vs live) on real servers", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let result: InspectResult;
  const table = (name: string): TableInspection => result.tables.find((t) => t.name === name)!;

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE copy");
    await pg.query(SCHEMA, [], "copy");
    await pg.query("CREATE DATABASE live TEMPLATE copy");
    await pg.query(CHANGES, [], "live");
    result = await inspect({
      copy: pg.connection("copy"),
      live: pg.connection("live"),
      store: { settings: az.store(CONTAINER), incidentId: "inc-1" },
      jobs: 2,
      // Small batches: every table crosses several FETCH boundaries.
      batchSize: 7,
      samples: 5,
      log: quiet,
      now: () => new Date("2026-12-04T03:00:00Z"),
    });
  });

  it("counts lost, new and changed rows by integer primary key, with the first keys", () => {
    assert.deepStrictEqual(
      { ...table("app.items"), copy: table("app.items").copy?.rows, live: table("app.items").live?.rows },
      {
        name: "app.items",
        status: "differs",
        primaryKey: ["id"],
        copy: 1000,
        live: 954,
        lost: 50,
        added: 4,
        changed: 3,
        samples: {
          lost: ["101", "102", "103", "104", "105"],
          added: ["1001", "1002", "1003", "1004"],
          changed: ["5", "6", "7"],
        },
        notes: [],
      },
    );
  });

  it("merges text keys in byte order (mixed case, accents, emoji, the empty string)", () => {
    const t = table("app.tags");
    assert.deepStrictEqual([t.lost, t.added, t.changed], [2, 1, 1]);
    assert.deepStrictEqual(t.samples, { lost: ["", "é"], added: ["b"], changed: ["😀"] });
  });

  it("merges a composite key by its row text", () => {
    const t = table("app.pairs");
    assert.deepStrictEqual(
      [t.primaryKey, t.lost, t.added, t.changed, t.samples.changed],
      [["day", "account"], 0, 0, 1, ["(2026-01-02,3)"]],
    );
  });

  it("compares a table without a primary key by count and checksum only", () => {
    const t = table("app.log");
    assert.deepStrictEqual(
      [t.status, t.primaryKey, t.copy?.rows, t.live?.rows, t.lost, t.added, t.changed, t.notes],
      [
        "differs",
        null,
        50,
        49,
        null,
        null,
        null,
        ["no primary key: compared by row count and checksum only"],
      ],
    );
  });

  it("reports equal tables as same, a table only in live, and sequences", () => {
    assert.equal(table("app.same").status, "same");
    assert.deepStrictEqual([table("app.fresh").status, table("app.fresh").live?.rows], ["only in live", 2]);
    assert.deepStrictEqual(result.sequences, [{ name: "app.counter", copy: "1", live: "2" }]);
    assert.deepStrictEqual(result.totals, {
      tables: 6,
      differing: 5,
      lost: 52,
      added: 5,
      changed: 5,
      withoutKey: 1,
    });
  });

  it("computes exactly compare's checksums from the streamed row hashes", async () => {
    const c = await compare({ left: pg.connection("copy"), right: pg.connection("live"), log: quiet });
    for (const rel of c.relations.filter((r) => r.left?.kind === "table" && r.right !== undefined)) {
      assert.equal(table(rel.name).copy?.checksum, rel.left!.checksum, rel.name);
      assert.equal(table(rel.name).live?.checksum, rel.right!.checksum, rel.name);
    }
  });

  it("writes report.md and report.json under incident/<id>/inspect/", async () => {
    const container = containerClient(az.store(CONTAINER));
    const json = JSON.parse(
      (await container.getBlobClient("incident/inc-1/inspect/report.json").downloadToBuffer()).toString(),
    ) as InspectResult;
    assert.deepStrictEqual(json.totals, result.totals);
    assert.equal(json.report?.markdown, "reports/incident/inc-1/inspect/report.md");
    const md = (
      await container.getBlobClient("incident/inc-1/inspect/report.md").downloadToBuffer()
    ).toString();
    assert.match(md, /\| app\.items \| 1000 \| 954 \| 50 \| 4 \| 3 \| differs \|/);
    assert.match(md, /- lost \(only in the copy\): 50 rows; first 5 keys: `101`, `102`, `103`, `104`, `105`/);
    assert.match(md, /\| app\.counter \| 1 \| 2 \|/);
  });

  it("CLI: PTR_PG* and LIVE_PG* name the sides; prints the summary, exit 0", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const prefixed = (prefix: string, db: string) =>
      Object.fromEntries(Object.entries(pg.env(db)).map(([k, v]) => [`${prefix}${k}`, v]));
    const code = await main(
      [
        "inspect",
        "--container",
        CONTAINER,
        "--incident",
        "inc-2",
        "--restore-time",
        "2026-12-04T01:00:00+01:00",
      ],
      { ...prefixed("PTR_", "copy"), ...prefixed("LIVE_", "live"), ...az.env() },
      { out: (t) => out.push(t), err: (t) => err.push(t) },
    );
    assert.equal(code, 0, err.join("\n"));
    const lines = out.join("\n").split("\n");
    assert.equal(
      lines.at(-1),
      "inspect: 5 of 6 tables differ: 52 rows only in the copy (lost), 5 only in live (written since), 5 changed; " +
        "compared by count and checksum only (no key): 1; report: reports/incident/inc-2/inspect/report.md",
    );
    assert.match(lines[0]!, /^table +copy rows +live rows +lost +new +changed +result$/);
    const md = (
      await containerClient(az.store(CONTAINER))
        .getBlobClient("incident/inc-2/inspect/report.md")
        .downloadToBuffer()
    ).toString();
    assert.match(
      md,
      /^- copy \(the data at the restore point, 2026-12-04T00:00:00Z\): `127\.0\.0\.1:\d+\/copy`$/m,
    );
  });

  it("CLI: a bad incident id is a usage error before any connection", async () => {
    const err: string[] = [];
    const code = await main(
      ["inspect", "--container", CONTAINER, "--incident", "Bad_Id"],
      {},
      {
        out: () => undefined,
        err: (t) => err.push(t),
      },
    );
    assert.equal(code, 2);
    assert.match(err[0]!, /inspect: --incident "Bad_Id" must be 1–20 lowercase letters/);
    const bad: string[] = [];
    const env = { PGHOST: "127.0.0.1", PGUSER: "u", PGDATABASE: "d", AZURE_STORAGE_CONNECTION_STRING: "x" };
    const args = [
      "inspect",
      "--container",
      CONTAINER,
      "--incident",
      "inc-3",
      "--restore-time",
      "2026-12-04 01:00",
    ];
    assert.equal(await main(args, env, { out: () => undefined, err: (t) => bad.push(t) }), 2);
    assert.match(
      bad[0]!,
      /inspect: --restore-time must be an ISO 8601 time with an offset .*got "2026-12-04 01:00"/,
    );
  });

  it("compareKeys orders integers as numbers and text as UTF-8 bytes (the servers' order)", () => {
    const ints = [
      "-9223372036854775808",
      "-100",
      "-99",
      "-1",
      "0",
      "1",
      "9",
      "10",
      "99",
      "100",
      "9223372036854775807",
    ];
    for (const a of ints) {
      for (const b of ints) {
        const expected = BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
        assert.equal(compareKeys("integer", a, b), expected, `${a} vs ${b}`);
      }
    }
    const texts = ["", "A", "Z", "a", "b", "é", "\uFF21", "😀", "(1,a)", "(1,b)", "(10,a)"];
    for (const a of texts) {
      for (const b of texts) {
        const expected = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.equal(Math.sign(compareKeys("text", a, b)), expected, `${a} vs ${b}`);
      }
    }
  });

  it("codeSpan: keys with backticks or pipes stay one code span in the markdown table", () => {
    assert.deepStrictEqual(["42", "a`b", "`x", "a|b"].map(codeSpan), [
      "`42`",
      "``a`b``",
      "`` `x ``",
      "`a\\|b`",
    ]);
  });
});
