/**
 * A backup is data, never code: `restore --tables --blob latest` on real PostgreSQL and Azurite, where the
 * latest blob was tampered with by someone who can write the container (size, sha256 and manifest made to
 * match, test/support/tampered-backup.ts). Each is refused and the live database is exactly as before: no
 * table made, the restored table's rows unchanged, no schema of the tool left.
 */
import { strict as assert } from "node:assert";
import { appendFileSync } from "node:fs";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { main } from "../../src/cli";
import { containerClient } from "../../src/blobstore";
import { dataFile, editToc, field, setField, uploadTampered } from "../support/tampered-backup";

const CONTAINER = "tampered";
const PREFIX = "incident/inc-t/ptr/srv-ptr/20261204T010000Z";
const PWN = "CREATE TABLE app.pwned (id int);";

describe("tool: restore --tables refuses a tampered backup, live unchanged", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let genuine: string;
  let stamp = 2;

  /** Everything of live a restore could change: the tables, the orders' rows, the tool's schemas. */
  const liveState = async () =>
    (
      await pg.query<{ what: string }>(
        `SELECT 'table ' || schemaname || '.' || tablename AS what FROM pg_tables
          WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
         UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname LIKE 'dr\\_%'
         UNION ALL SELECT 'orders ' || count(*) || ' ' || md5(string_agg(o::text, ',' ORDER BY id)) FROM app.orders o
         ORDER BY 1`,
        [],
        "tlive",
      )
    ).rows.map((r) => r.what);

  /** `restore --tables app.orders --blob latest` as the issue ran it; returns exit code and stderr. */
  const restoreLatest = async (runId: string) => {
    const err: string[] = [];
    const out: string[] = [];
    const code = await main(
      [
        "restore",
        "--tables",
        "app.orders",
        "--container",
        CONTAINER,
        "--blob",
        "latest",
        "--prefix",
        PREFIX,
        "--run-id",
        runId,
        "--database",
        "tlive",
      ],
      { ...pg.env("postgres"), ...az.env() },
      { out: (x) => out.push(x), err: (x) => err.push(x) },
    );
    return { code, err: err.filter((l) => !l.startsWith("download: ")).join("\n"), out: out.join("\n") };
  };

  /** A tampered copy of the genuine backup, newer, so `latest` picks it. */
  const tampered = (edit: (dir: string) => void) =>
    uploadTampered(
      containerClient(az.store(CONTAINER)),
      genuine,
      `${PREFIX}/tlive_20261204T01000${stamp++}Z`,
      edit,
    );

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE tlive");
    await pg.query(
      `CREATE SCHEMA app;
       CREATE TABLE app.accounts (id int PRIMARY KEY, email text);
       INSERT INTO app.accounts SELECT g, 'u' || g FROM generate_series(1, 5) g;
       CREATE TABLE app.orders (id int PRIMARY KEY, account_id int REFERENCES app.accounts, total numeric);
       INSERT INTO app.orders SELECT g, 1 + g % 5, g FROM generate_series(1, 20) g;`,
      [],
      "tlive",
    );
    genuine = (
      await backup({
        connection: pg.connection("tlive"),
        store: az.store(CONTAINER),
        prefix: PREFIX,
        sourceServer: "srv-ptr",
        format: "directory",
        compress: "0",
        streamCompress: "none",
        now: () => new Date("2026-12-04T01:00:00Z"),
        log: () => undefined,
      })
    ).blobName;
    // The loss the restore is meant to repair.
    await pg.query("DELETE FROM app.orders WHERE id > 15", [], "tlive");
  });

  const refusals: Array<[string, (dir: string) => void, RegExp]> = [
    [
      "SQL after a data block's \\. terminator",
      (dir) => appendFileSync(dataFile(dir, "app", "orders"), `${PWN}\n`),
      /text after the end of its data block \(\\\.\): "CREATE TABLE app\.pwned \(id int\);"/,
    ],
    [
      "an extra TOC entry for the table, first, whose COPY statement carries SQL",
      (dir) =>
        editToc(dir, (toc) => {
          const i = toc.entries.findIndex(
            (e) => field(e, "desc") === "TABLE DATA" && field(e, "tag") === "orders",
          );
          const copy = structuredClone(toc.entries[i]!);
          setField(copy, "dumpId", 9000);
          setField(copy, "copyStmt", `${PWN}\n${field(copy, "copyStmt") as string}`);
          toc.entries.splice(i, 0, copy);
        }),
      /has 2 TABLE DATA entries that may hold app\.orders .*a table restore loads exactly one: nothing restored/,
    ],
    [
      "a changed search_path entry (printed before every entry's data)",
      (dir) =>
        editToc(dir, (toc) => {
          const e = toc.entries.find((x) => field(x, "desc") === "SEARCHPATH")!;
          setField(e, "defn", `${field(e, "defn") as string}${PWN}\n`);
        }),
      /an unexpected statement before its data: "CREATE TABLE app\.pwned \(id int\);"/,
    ],
    [
      "a changed TABLE DATA entry whose COPY statement carries SQL",
      (dir) =>
        editToc(dir, (toc) => {
          const e = toc.entries.find(
            (x) => field(x, "desc") === "TABLE DATA" && field(x, "tag") === "orders",
          )!;
          setField(e, "copyStmt", `${PWN}\n${field(e, "copyStmt") as string}`);
        }),
      /an unexpected statement before its data: "CREATE TABLE app\.pwned \(id int\);"/,
    ],
  ];

  for (const [i, [name, edit, message]] of refusals.entries()) {
    it(`refuses ${name}; live unchanged`, async () => {
      const before = await liveState();
      assert.deepStrictEqual(before, [
        "orders 15 " + before[0]!.slice("orders 15 ".length),
        "table app.accounts",
        "table app.orders",
      ]);
      await tampered(edit);
      const r = await restoreLatest(`tamper-${i}`);
      assert.equal(r.code, 1, r.err + r.out);
      assert.match(r.err, message);
      assert.deepStrictEqual(await liveState(), before);
    });
  }

  it("the genuine backup restores the lost rows (the refusals above are the tampering's)", async () => {
    await uploadTampered(
      containerClient(az.store(CONTAINER)),
      genuine,
      `${PREFIX}/tlive_20261204T020000Z`,
      () => undefined,
    );
    const r = await restoreLatest("genuine");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /app\.orders: 20 rows \(5 inserted, 0 updated, 0 deleted\); contents verified/);
  });
});
