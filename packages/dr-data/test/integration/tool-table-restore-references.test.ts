/**
 * Table restores that follow the references, on real PostgreSQL and Azurite. Rows that reference each other —
 * a self-referencing table (`app.nodes`, NOT NULL parent, the root its own parent) and two tables that
 * reference each other (`app.a` ↔ `app.b`, NOT NULL both ways), none of the keys deferrable — are restored
 * together after every combination of changes since the backup: rows deleted, keys changed, rows inserted,
 * rows re-parented. The copy is consistent, so each restore must succeed and leave the tables equal to the
 * backup. A copy inconsistent with live rows outside the restored set is refused, naming the constraint and
 * the rows.
 */
import { strict as assert } from "node:assert";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { VerificationError } from "../../src/errors";
import { parseTableList, tableRestore } from "../../src/table-restore";

const CONTAINER = "references";
const TABLES = ["app.nodes", "app.a", "app.b"];

const SCHEMA = `
  CREATE SCHEMA app;
  CREATE TABLE app.owners (id int PRIMARY KEY);
  INSERT INTO app.owners VALUES (1), (2);
  CREATE TABLE app.nodes (id int PRIMARY KEY, parent int NOT NULL REFERENCES app.nodes,
                          owner int REFERENCES app.owners, label text);
  INSERT INTO app.nodes VALUES (1, 1, 1, 'root'), (2, 1, 1, 'two'), (3, 1, 2, 'three'), (4, 2, NULL, 'four'),
                               (5, 4, NULL, 'five'), (6, 3, NULL, 'six');
  CREATE TABLE app.a (id int PRIMARY KEY, b_id int NOT NULL, v text);
  CREATE TABLE app.b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES app.a, v text);
  ALTER TABLE app.a ADD CONSTRAINT a_b_fkey FOREIGN KEY (b_id) REFERENCES app.b ON DELETE RESTRICT;
  WITH x AS (INSERT INTO app.a VALUES (1, 1, 'a1'), (2, 2, 'a2'), (3, 3, 'a3') RETURNING 1)
  INSERT INTO app.b VALUES (1, 1, 'b1'), (2, 2, 'b2'), (3, 3, 'b3');
  CREATE TABLE app.tags (node int NOT NULL REFERENCES app.nodes, tag text);
  INSERT INTO app.tags VALUES (2, 'kept');
  CREATE TABLE app.codes (id int PRIMARY KEY, code text UNIQUE);
  INSERT INTO app.codes VALUES (1, 'x'), (2, 'y');`;

/**
 * The changes since the backup, each consistent on its own (one statement where rows reference each other).
 * Applied in this order, any subset.
 */
const CHANGES: Readonly<Record<string, string>> = {
  deleted: `DELETE FROM app.nodes WHERE id IN (4, 5);
            WITH x AS (DELETE FROM app.a WHERE id = 2 RETURNING 1) DELETE FROM app.b WHERE id = 2;`,
  "key changed": `WITH x AS (UPDATE app.nodes SET id = 103 WHERE id = 3 RETURNING 1)
                    UPDATE app.nodes SET parent = 103 WHERE parent = 3;
                  WITH x AS (UPDATE app.a SET id = 103 WHERE id = 3 RETURNING 1)
                    UPDATE app.b SET a_id = 103 WHERE a_id = 3;`,
  inserted: `INSERT INTO app.nodes VALUES (7, 2, NULL, 'seven'), (8, 7, 2, 'eight'), (9, 9, NULL, 'nine');
             WITH x AS (INSERT INTO app.a VALUES (4, 4, 'a4') RETURNING 1) INSERT INTO app.b VALUES (4, 4, 'b4');
             UPDATE app.nodes SET label = 'changed' WHERE id = 1;`,
  "re-parented": `UPDATE app.nodes SET parent = (SELECT max(id) FROM app.nodes WHERE id IN (3, 103)) WHERE id IN (2, 1);
                  INSERT INTO app.nodes VALUES (10, 1, NULL, 'ten');
                  UPDATE app.nodes SET parent = 10 WHERE id = 6;
                  WITH x AS (INSERT INTO app.a VALUES (5, 3, 'a5') RETURNING 1) UPDATE app.b SET a_id = 5 WHERE id = 3;
                  UPDATE app.a SET b_id = 3 WHERE id = 1;
                  UPDATE app.b SET a_id = (SELECT max(id) FROM app.a WHERE id IN (3, 103)) WHERE id = 1;`,
};

describe("tool: restore --tables of rows that reference each other, whatever changed since", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let az: Azurite;
  let blob: string;
  let n = 0;

  const rows = async (database: string) => {
    const out: Record<string, string[]> = {};
    for (const t of TABLES) {
      const r = await pg.query<{ r: string }>(`SELECT x::text AS r FROM ${t} x ORDER BY 1`, [], database);
      out[t] = r.rows.map((x) => x.r);
    }
    return out;
  };
  const restoreInto = (database: string, tables = TABLES.join(",")) =>
    tableRestore({
      connection: pg.connection("postgres"),
      store: az.store(CONTAINER),
      from: { blob },
      database,
      runId: `r-${++n}`,
      tables: parseTableList("--tables", tables),
      log: () => undefined,
    });
  /** A live database: the backup's state, then `changes`. */
  const live = async (changes: readonly string[]) => {
    const db = `refs_${++n}`;
    await pg.query(`CREATE DATABASE ${db} TEMPLATE refs_copy`);
    for (const c of changes) await pg.query(CHANGES[c]!, [], db);
    return db;
  };

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE refs_copy");
    await pg.query(SCHEMA, [], "refs_copy");
    blob = (
      await backup({
        connection: pg.connection("refs_copy"),
        store: az.store(CONTAINER),
        prefix: "incident/inc-r/ptr/srv-ptr/20261204T010000Z",
        sourceServer: "srv-ptr",
        now: () => new Date("2026-12-04T01:00:00Z"),
        log: () => undefined,
      })
    ).blobName;
  });

  const kinds = Object.keys(CHANGES);
  for (let mask = 1; mask < 1 << kinds.length; mask++) {
    const changes = kinds.filter((_, i) => (mask & (1 << i)) !== 0);
    it(`restores the backup's rows after: ${changes.join(", ")}`, async () => {
      const db = await live(changes);
      assert.notDeepStrictEqual(await rows(db), await rows("refs_copy"));
      const r = await restoreInto(db);
      assert.equal(r.status, "restored");
      assert.deepStrictEqual(await rows(db), await rows("refs_copy"));
      // The table outside the restored set kept its row.
      assert.deepStrictEqual((await pg.query("SELECT node, tag FROM app.tags", [], db)).rows, [
        { node: 2, tag: "kept" },
      ]);
    });
  }

  for (let mask = 1; mask < 1 << kinds.length; mask++) {
    const changes = kinds.filter((_, i) => (mask & (1 << i)) !== 0);
    it(`restores the self-referencing table alone after: ${changes.join(", ")}`, async () => {
      const db = await live(changes);
      const r = await restoreInto(db, "app.nodes");
      assert.equal(r.status, "restored");
      assert.deepStrictEqual((await rows(db))["app.nodes"], (await rows("refs_copy"))["app.nodes"]);
    });
  }

  it("a constraint the server still finds broken is refused by name and row, not PostgreSQL's raw error", async () => {
    // Unique indexes are checked row by row: two rows that swapped a unique value cannot be swapped back in
    // one statement (a documented limit).
    const db = await live([]);
    await pg.query(
      "UPDATE app.codes SET code = 'tmp' WHERE id = 1; UPDATE app.codes SET code = 'x' WHERE id = 2; UPDATE app.codes SET code = 'y' WHERE id = 1",
      [],
      db,
    );
    await assert.rejects(restoreInto(db, "app.codes"), (e: unknown) => {
      assert.ok(e instanceof VerificationError);
      assert.match(
        e.message,
        /^restoring app\.codes breaks the constraint codes_code_key of app\.codes: Key \(code\)=\([xy]\) already exists\.; rolled back, nothing was changed$/,
      );
      return true;
    });
    assert.deepStrictEqual((await pg.query("SELECT id, code FROM app.codes ORDER BY id", [], db)).rows, [
      { id: 1, code: "y" },
      { id: 2, code: "x" },
    ]);
  });

  it("refuses a copy inconsistent with live rows outside the restored set, naming constraints and rows", async () => {
    const db = await live(["inserted"]);
    // Outside the restored set: a row references a node only live has; an owner the copy's rows need is gone.
    await pg.query(
      "INSERT INTO app.tags VALUES (8, 'new'); UPDATE app.nodes SET owner = NULL WHERE owner = 2; DELETE FROM app.owners WHERE id = 2",
      [],
      db,
    );
    const before = await rows(db);
    await assert.rejects(restoreInto(db, "app.nodes"), (e: unknown) => {
      assert.ok(e instanceof VerificationError);
      assert.equal(
        e.message,
        "restoring app.nodes would leave dangling references; nothing was changed: " +
          "nodes_owner_fkey (app.nodes (owner) → app.owners (id)): 1 dangling: (id)=(3) → (id)=(2) | " +
          "tags_node_fkey (app.tags (node) → app.nodes (id)): 1 dangling: (8,new) → (id)=(8)",
      );
      return true;
    });
    assert.deepStrictEqual(await rows(db), before);
  });
});
