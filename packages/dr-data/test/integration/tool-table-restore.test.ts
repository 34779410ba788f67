/**
 * `restore --tables` on a real PostgreSQL and Azurite. The incident: rows deleted from one table while the app
 * kept writing to others. Known answers: `copy` is a byte-for-byte copy (CREATE DATABASE … TEMPLATE) of the
 * database at the moment of the backup.
 */
import { strict as assert } from "node:assert";
import { Client } from "pg";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { main } from "../../src/cli";
import { clientConfig } from "../../src/connection";
import { VerificationError } from "../../src/errors";
import { parseTableList, tableRestore, type TableRestoreOptions } from "../../src/table-restore";

const CONTAINER = "backups";
const quiet = () => undefined;

const SCHEMA = `
  CREATE SCHEMA app;
  CREATE TABLE app.accounts (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text);
  INSERT INTO app.accounts (email, name) SELECT 'u' || g || '@example.org', 'user ' || g FROM generate_series(1, 50) g;
  CREATE TABLE app.orders (id bigserial PRIMARY KEY, account_id int NOT NULL REFERENCES app.accounts, total numeric,
                           doubled numeric GENERATED ALWAYS AS (total * 2) STORED);
  INSERT INTO app.orders (account_id, total) SELECT 1 + g % 50, g FROM generate_series(1, 300) g;
  CREATE TABLE app.order_lines (order_id bigint REFERENCES app.orders, line int, sku text, PRIMARY KEY (order_id, line));
  INSERT INTO app.order_lines SELECT g, 1, 'sku-' || g FROM generate_series(1, 300) g;
  CREATE TABLE app.events (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id int REFERENCES app.accounts, kind text);
  INSERT INTO app.events (account_id, kind) SELECT 1 + g % 50, 'login' FROM generate_series(1, 100) g;
  CREATE TABLE app.notes (body text);
  INSERT INTO app.notes SELECT 'note ' || g FROM generate_series(1, 5) g;
  CREATE SCHEMA "my schema";
  CREATE TABLE "my schema"."order lines" (id int PRIMARY KEY, "a b" text);
  INSERT INTO "my schema"."order lines" SELECT g, 'line ' || g FROM generate_series(1, 3) g;`;

/** After the restore point: a DELETE in orders (the loss), the app goes on writing accounts and events. */
const INCIDENT = `
  DELETE FROM app.order_lines WHERE order_id BETWEEN 101 AND 200;
  DELETE FROM app.orders WHERE id BETWEEN 101 AND 200;
  UPDATE app.orders SET total = -1 WHERE id = 5;
  INSERT INTO app.orders (account_id, total) VALUES (2, 999);
  INSERT INTO app.accounts (email, name) VALUES ('new1@example.org', 'new 1'), ('new2@example.org', 'new 2');
  INSERT INTO app.events (account_id, kind) SELECT 51, 'signup' UNION ALL SELECT 52, 'signup';
  DELETE FROM app.notes WHERE body = 'note 1';
  CREATE TABLE app.visits (account_id int REFERENCES app.accounts, at date) PARTITION BY RANGE (at);
  CREATE TABLE app.visits_2026 PARTITION OF app.visits FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
  INSERT INTO app.visits VALUES (1, '2026-12-04'), (51, '2026-12-04');`;

describe("tool: restore --tables (table-level restore) on real servers", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let blob: string;
  const q = async <T extends object>(sql: string, db = "app") => (await pg.query<T>(sql, [], db)).rows;
  const options = (
    o: Partial<TableRestoreOptions> & Pick<TableRestoreOptions, "tables" | "runId">,
  ): TableRestoreOptions => ({
    connection: pg.connection("postgres"),
    store: az.store(CONTAINER),
    from: { blob },
    database: "app",
    log: quiet,
    ...o,
  });
  const t = (s: string) => parseTableList("--tables", s);
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (x: string) => out.push(x), err: (x: string) => err.push(x) } };
  };
  const env = () => ({ ...pg.env("postgres"), ...az.env() });
  const schemas = async () =>
    (
      await q<{ n: string }>("SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 'dr\\_%' ORDER BY 1")
    ).map((r) => r.n);

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await pg.query(SCHEMA, [], "app");
    await pg.query("CREATE DATABASE copy TEMPLATE app");
    blob = (
      await backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "incident/inc-1/ptr/srv-ptr/20261204T010000Z",
        sourceServer: "srv-ptr",
        now: () => new Date("2026-12-04T01:00:00Z"),
        log: quiet,
      })
    ).blobName;
    await backup({
      connection: pg.connection("app"),
      store: az.store(CONTAINER),
      prefix: "custom/srv-ptr",
      sourceServer: "srv-ptr",
      format: "custom",
      now: () => new Date("2026-12-04T01:00:00Z"),
      log: quiet,
    });
    await pg.query(INCIDENT, [], "app");
  });

  it("refuses a backup without a manifest unless --allow-unverified, as the full restore does", async () => {
    const unverified = (
      await backup({
        connection: pg.connection("copy"),
        store: az.store(CONTAINER),
        prefix: "nomanifest/srv-ptr",
        sourceServer: "srv-ptr",
        manifest: false,
        now: () => new Date("2026-12-04T01:00:00Z"),
        log: quiet,
      })
    ).blobName;
    await pg.query("CREATE DATABASE unverified TEMPLATE copy");
    const before = await schemas();
    await assert.rejects(
      tableRestore(
        options({
          tables: t("app.orders"),
          runId: "nm-1",
          from: { blob: unverified },
          database: "unverified",
        }),
      ),
      (err: Error) =>
        err instanceof VerificationError &&
        err.message ===
          `${CONTAINER}/${unverified} has no manifest (taken with --no-manifest or by an older tool): the restored tables' rows ` +
            "cannot be verified before the merge, so nothing was done; to restore them unverified, run again with --allow-unverified",
    );
    const nothing = await pg.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_namespace WHERE nspname LIKE 'dr\\_%'",
      [],
      "unverified",
    );
    assert.equal(nothing.rows[0]!.n, "0");
    assert.deepStrictEqual(await schemas(), before);
    // The CLI: exit 1, the same words; with the flag it restores and says the contents were not verified.
    const refused = io();
    const args = [
      "restore",
      "--tables",
      "app.orders",
      "--container",
      CONTAINER,
      "--blob",
      unverified,
      "--database",
      "unverified",
    ];
    assert.equal(await main([...args, "--run-id", "nm-2"], env(), refused.io), 1);
    assert.match(refused.err.join("\n"), /has no manifest .* run again with --allow-unverified/);
    const allowed = io();
    assert.equal(
      await main([...args, "--run-id", "nm-3", "--allow-unverified"], env(), allowed.io),
      0,
      allowed.err.join("\n"),
    );
    assert.match(
      allowed.out.join("\n"),
      /^restored app\.orders from .* no manifest: contents NOT verified \(--allow-unverified\)$/,
    );
  });

  it("CLI: an unknown table (checked against the backup's table of contents) is a usage error; nothing changes", async () => {
    const r = io();
    const code = await main(
      [
        "restore",
        "--tables",
        "app.orders,app.nope",
        "--container",
        CONTAINER,
        "--blob",
        blob,
        "--run-id",
        "t-1",
        "--database",
        "app",
      ],
      env(),
      r.io,
    );
    assert.equal(code, 2, r.err.join("\n"));
    // One error line; before it, only the download's progress.
    const errors = r.err.filter((l) => !l.startsWith("download: "));
    assert.equal(errors.length, 1, r.err.join("\n"));
    assert.match(
      errors[0]!,
      /--tables: app\.nope is not in the backup .*; it holds the data of: "my schema"\."order lines", app\.accounts, app\.events, app\.notes, app\.order_lines, app\.orders/,
    );
    assert.deepStrictEqual(await schemas(), []);
    const empty = io();
    assert.equal(
      await main(
        ["restore", "--tables", "", "--container", CONTAINER, "--blob", blob, "--run-id", "t-1"],
        env(),
        empty.io,
      ),
      2,
    );
    assert.match(empty.err[0]!, /restore --tables needs at least one table/);
  });

  it("refuses, before changing anything, a restore that would leave dangling references, naming them", async () => {
    const before = await q("SELECT count(*)::int AS n, max(id) AS m FROM app.accounts");
    await assert.rejects(
      tableRestore(options({ tables: t("app.accounts"), runId: "t-fk" })),
      (e: unknown) => {
        assert.ok(e instanceof VerificationError);
        assert.equal(
          e.message,
          "restoring app.accounts would leave dangling references; nothing was changed: events_account_id_fkey " +
            "(app.events (account_id) → app.accounts (id)): 2 dangling: (id)=(101) → (id)=(51); (id)=(102) → (id)=(52) | " +
            // A partitioned table's rows are in its partitions: read without ONLY.
            "visits_account_id_fkey (app.visits (account_id) → app.accounts (id)): 1 dangling: (51,2026-12-04) → (id)=(51)",
        );
        return true;
      },
    );
    assert.deepStrictEqual(await q("SELECT count(*)::int AS n, max(id) AS m FROM app.accounts"), before);
    assert.deepStrictEqual(await schemas(), []);
  });

  it("restores only the chosen tables: lost rows back, the others' new rows kept, previous rows saved, sequence advanced", async () => {
    // A sequence that fell behind (set back by hand during the incident) must come out past both sides' rows.
    await pg.query("SELECT setval('app.orders_id_seq', 250)", [], "app");
    const r = await tableRestore(options({ tables: t("app.orders,app.order_lines"), runId: "t-1" }));
    assert.equal(r.status, "restored");
    assert.deepStrictEqual(r.sequences, [{ sequence: "app.orders_id_seq", from: "250", to: "301" }]);
    assert.equal(r.contents, "verified");
    assert.deepStrictEqual(
      r.tables.map((x) => [x.table, x.rows, x.inserted, x.updated, x.deleted, x.before]),
      [
        ["app.orders", 300, 100, 1, 1, "dr_before_t_1.app.orders"],
        ["app.order_lines", 300, 100, 0, 0, "dr_before_t_1.app.order_lines"],
      ],
    );
    // The restored tables equal the copy, row for row (the generated column recomputed).
    for (const table of ["app.orders", "app.order_lines"]) {
      const sql = `SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) AS h, count(*)::int AS n FROM ${table} x`;
      assert.deepStrictEqual(await q(sql, "app"), await q(sql, "copy"), table);
    }
    // The other tables kept what was written since.
    assert.deepStrictEqual(await q("SELECT count(*)::int AS n FROM app.accounts"), [{ n: 52 }]);
    assert.deepStrictEqual(await q("SELECT count(*)::int AS n FROM app.events"), [{ n: 102 }]);
    // What the tables held before, kept.
    assert.deepStrictEqual(
      await q('SELECT count(*)::int AS n, max(id)::int AS m FROM dr_before_t_1."app.orders"'),
      [{ n: 201, m: 301 }],
    );
    // The sequence past both sides' maximum: live's rows went to 301, the backup's to 300.
    assert.deepStrictEqual(await q("SELECT last_value::int AS v, is_called AS c FROM app.orders_id_seq"), [
      { v: 301, c: true },
    ]);
    assert.deepStrictEqual(
      await q("INSERT INTO app.orders (account_id, total) VALUES (1, 1) RETURNING id::int"),
      [{ id: 302 }],
    );
    await pg.query("DELETE FROM app.orders WHERE id = 302", [], "app");
    assert.deepStrictEqual(await schemas(), ["dr_before_t_1"]);
  });

  it("the same run id again is a no-op (CLI exit 0); other tables under it are refused", async () => {
    const r = io();
    const args = [
      "restore",
      "--container",
      CONTAINER,
      "--blob",
      blob,
      "--run-id",
      "t-1",
      "--database",
      "app",
    ];
    assert.equal(
      await main([...args, "--tables", "app.order_lines,app.orders"], env(), r.io),
      0,
      r.err.join("\n"),
    );
    assert.deepStrictEqual(r.out, ["run t-1 already completed (dr_before_t_1 exists): nothing done"]);
    const other = io();
    assert.equal(await main([...args, "--tables", "app.notes"], env(), other.io), 1);
    assert.match(
      other.err[0]!,
      /run t-1 already restored app\.orders, app\.order_lines from backups\/.* into app; app\.notes .* that needs a new run id/,
    );
  });

  it("compare --tables: the restored tables equal the copy (exit 0), the others listed, not checked", async () => {
    const r = io();
    const lr = {
      ...Object.fromEntries(Object.entries(pg.env("app")).map(([k, v]) => [`LEFT_${k}`, v])),
      ...Object.fromEntries(Object.entries(pg.env("copy")).map(([k, v]) => [`RIGHT_${k}`, v])),
    };
    const args = ["compare", "--tables", "app.orders,app.order_lines", "--run-id", "t-1"];
    assert.equal(await main(args, lr, r.io), 0, r.err.join("\n") + r.out.join("\n"));
    const lines = r.out.join("\n").split("\n");
    assert.equal(
      lines.at(-1),
      "compare --tables: 2 restored tables equal the copy; run t-1 wrote no other table (checked in its transaction); " +
        "7 other relations differ from the copy (not restored, not checked)",
    );
    await pg.query("UPDATE app.orders SET total = 0 WHERE id = 1", [], "app");
    const changed = io();
    assert.equal(await main(args, lr, changed.io), 1);
    assert.equal(
      changed.out.join("\n").split("\n").at(-1),
      "compare --tables: 1 of 2 restored tables differ from the copy",
    );
    await pg.query("UPDATE app.orders SET total = 1 WHERE id = 1", [], "app");
  });

  it("compare --tables --container: the restored tables against the backup's manifest (no copy needed)", async () => {
    const args = [
      "compare",
      "--tables",
      "app.orders,app.order_lines",
      "--run-id",
      "t-1",
      "--container",
      CONTAINER,
    ];
    const ok = io();
    assert.equal(await main(args, { ...pg.env("app"), ...az.env() }, ok.io), 0, ok.err.join("\n"));
    assert.equal(
      ok.out.join("\n").split("\n").at(-1),
      "compare --tables: 2 restored tables equal the backup's manifest; run t-1 wrote no other table (checked in its transaction)",
    );
    await pg.query("DELETE FROM app.order_lines WHERE order_id = 7", [], "app");
    const changed = io();
    assert.equal(await main(args, { ...pg.env("app"), ...az.env() }, changed.io), 1);
    assert.match(
      changed.out.join("\n"),
      /app\.order_lines +restored +299 +300 +rows 299 vs 300; content differs/,
    );
    await pg.query("INSERT INTO app.order_lines VALUES (7, 1, 'sku-7')", [], "app");
    const noRun = io();
    assert.equal(
      await main(["compare", "--tables", "app.orders", "--container", CONTAINER], env(), noRun.io),
      2,
    );
    assert.match(noRun.err[0]!, /compare: --tables with --container needs --run-id/);
  });

  it("a table without a primary key that nothing references is restored by replacing its rows", async () => {
    const r = await tableRestore(options({ tables: t("app.notes"), runId: "t-2" }));
    assert.deepStrictEqual(
      r.tables.map((x) => [x.rows, x.deleted, x.inserted]),
      [[5, 4, 5]],
    );
    assert.deepStrictEqual(await q("SELECT count(*)::int AS n FROM app.notes WHERE body = 'note 1'"), [
      { n: 1 },
    ]);
  });

  it("a trigger that writes another table makes the restore roll back, naming that table", async () => {
    await pg.query(
      `CREATE TABLE app.audit (at timestamptz DEFAULT now(), what text);
       CREATE FUNCTION app.audit_it() RETURNS trigger LANGUAGE plpgsql AS
         $$BEGIN INSERT INTO app.audit (what) VALUES (TG_OP); RETURN NULL; END$$;
       CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON app.events FOR EACH STATEMENT EXECUTE FUNCTION app.audit_it();
       DELETE FROM app.events WHERE id = 1;
       DELETE FROM app.audit;`,
      [],
      "app",
    );
    await assert.rejects(
      tableRestore(options({ tables: t("app.events"), runId: "t-3" })),
      /restoring app\.events also wrote app\.audit \(a trigger or rule on a restored table\); rolled back, nothing was changed/,
    );
    assert.deepStrictEqual(await q("SELECT count(*)::int AS n FROM app.events"), [{ n: 101 }]);
    assert.deepStrictEqual(await schemas(), ["dr_before_t_1", "dr_before_t_2"]);
  });

  it("CLI: a custom-format backup picked by --blob latest; tables already equal are left as they are", async () => {
    const r = io();
    const code = await main(
      [
        "restore",
        "--tables",
        "app.order_lines",
        "--container",
        CONTAINER,
        "--blob",
        "latest",
        "--prefix",
        "custom/srv-ptr",
        "--run-id",
        "t-4",
        "--database",
        "app",
      ],
      env(),
      r.io,
    );
    assert.equal(code, 0, r.err.join("\n"));
    assert.match(
      r.out[0]!,
      /^restored app\.order_lines from custom\/srv-ptr\/app_20261204T010000Z into app; previous rows kept in schema dr_before_t_4; app\.order_lines: 300 rows \(0 inserted, 0 updated, 0 deleted\); contents verified against the backup's manifest$/,
    );
  });

  it("a writer holding the table makes the restore give up after the lock timeout, nothing changed", async () => {
    const writer = new Client(clientConfig(pg.connection("app")));
    await writer.connect();
    try {
      await writer.query("BEGIN");
      await writer.query("UPDATE app.notes SET body = body WHERE false");
      await writer.query("LOCK TABLE app.notes IN ROW EXCLUSIVE MODE");
      await assert.rejects(
        tableRestore(options({ tables: t("app.notes"), runId: "t-5", lockTimeoutSeconds: 1 })),
        /could not lock ONLY "app"\."notes" within 1 s \(another session holds a conflicting lock: stop the writers, e\.g\. maintenance mode, and run again\); nothing was changed/,
      );
    } finally {
      await writer.query("ROLLBACK");
      await writer.end();
    }
    assert.equal((await schemas()).includes("dr_before_t_5"), false);
    assert.equal((await schemas()).includes("dr_restore_t_5"), false);
  });

  it("--tables takes a name with blanks, as inspect reports it", async () => {
    await pg.query(`DELETE FROM "my schema"."order lines" WHERE id = 2`, [], "app");
    const r = io();
    const args = ["--container", CONTAINER, "--blob", blob, "--run-id", "t-6", "--database", "app"];
    assert.equal(
      await main(["restore", "--tables", "my schema.order lines", ...args], env(), r.io),
      0,
      r.err.join("\n"),
    );
    assert.match(
      r.out[0]!,
      /my schema\.order lines: 3 rows \(1 inserted, 0 updated, 0 deleted\); contents verified/,
    );
    assert.deepStrictEqual(await q('SELECT id, "a b" AS v FROM "my schema"."order lines" ORDER BY id'), [
      { id: 1, v: "line 1" },
      { id: 2, v: "line 2" },
      { id: 3, v: "line 3" },
    ]);
  });
});
