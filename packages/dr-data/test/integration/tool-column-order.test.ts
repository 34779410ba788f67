/**
 * Columns matched by name in `compare` and `inspect` (real PostgreSQL): two databases whose tables hold the same
 * rows with their columns in another order (as a restore by pg_dump leaves an inheritance child) are equal; a
 * changed value, a renamed or a retyped column still differs.
 */
import { strict as assert } from "node:assert";
import type { PgCluster } from "../../testkit/postgres";
import { sharedPg } from "../../testkit/shared";
import { compare } from "../../src/compare";
import { inspect } from "../../src/inspect";

const quiet = () => undefined;

/** A keyed table and one without a key, in `order` of columns, with the same three rows. */
function tablesSql(order: "abc" | "cba"): string {
  const cols =
    order === "abc" ? "id integer PRIMARY KEY, b text, c date" : "c date, b text, id integer PRIMARY KEY";
  const plain = order === "abc" ? "x integer, y text" : "y text, x integer";
  return (
    `CREATE TABLE keyed (${cols}); INSERT INTO keyed (id, b, c) VALUES (1, 'one', '2026-01-01'), (2, NULL, NULL), ` +
    `(3, 'three', '2026-03-03'); CREATE TABLE plain (${plain}); INSERT INTO plain (x, y) VALUES (1, 'a'), (1, 'a'), (NULL, 'b')`
  );
}

describe("tool: compare and inspect match columns by name", function () {
  this.timeout(120_000);
  let pg: PgCluster;

  const differences = async () =>
    (
      await compare({ left: pg.connection("ordered"), right: pg.connection("reordered"), log: quiet })
    ).relations
      .filter((r) => r.differences.length > 0)
      .map((r) => `${r.name}: ${r.differences.join("; ")}`);
  const statuses = async () =>
    (
      await inspect({ copy: pg.connection("ordered"), live: pg.connection("reordered"), log: quiet })
    ).tables.map((t) => `${t.name}: ${t.status}${t.changed === null ? "" : `, ${t.changed} changed`}`);

  before(async () => {
    pg = await sharedPg();
    await pg.query("CREATE DATABASE ordered");
    await pg.query("CREATE DATABASE reordered");
    await pg.query(tablesSql("abc"), [], "ordered");
    await pg.query(tablesSql("cba"), [], "reordered");
  });

  it("the same rows, columns in another order: equal", async () => {
    assert.deepStrictEqual(await differences(), []);
    assert.deepStrictEqual(await statuses(), ["public.keyed: same, 0 changed", "public.plain: same"]);
  });

  it("a changed value still differs", async () => {
    await pg.query(
      "UPDATE keyed SET b = 'two' WHERE id = 2; UPDATE plain SET y = 'c' WHERE y = 'b'",
      [],
      "reordered",
    );
    assert.deepStrictEqual(await differences(), [
      "public.keyed: content differs",
      "public.plain: content differs",
    ]);
    assert.deepStrictEqual(await statuses(), ["public.keyed: differs, 1 changed", "public.plain: differs"]);
    await pg.query(
      "UPDATE keyed SET b = NULL WHERE id = 2; UPDATE plain SET y = 'b' WHERE y = 'c'",
      [],
      "reordered",
    );
  });

  it("a renamed or a retyped column differs, named", async () => {
    await pg.query(
      "ALTER TABLE keyed RENAME COLUMN b TO bee; ALTER TABLE plain ALTER COLUMN x TYPE bigint",
      [],
      "reordered",
    );
    assert.deepStrictEqual(await differences(), [
      'public.keyed: column "bee" text missing in the left; column "b" text not in the right',
      'public.plain: column "x" integer in the left, "x" bigint in the right',
    ]);
    assert.deepStrictEqual(await statuses(), ["public.keyed: differs", "public.plain: differs"]);
  });
});
