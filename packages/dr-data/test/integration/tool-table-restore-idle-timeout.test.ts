/**
 * `restore --tables` under a role whose sessions end after a short idle time (idle_session_timeout, as a server
 * or a role may be configured): the restore's lock session sits idle in the maintenance database while the
 * archive downloads and the rows are staged and merged on another connection, and the live database's session
 * waits idle during the download. Both turn their timeouts off (restore-steps/lock-session.ts), so the run
 * completes holding its lock. Real PostgreSQL and Azurite.
 */
import { strict as assert } from "node:assert";
import { Client } from "pg";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { clientConfig } from "../../src/connection";
import { parseTableList, tableRestore, type TableRestoreOptions } from "../../src/table-restore";

const CONTAINER = "backups";
const quiet = () => undefined;
const ROLE = "idle_restorer";
const PASSWORD = "idle-restorer-password";
/** Far shorter than the run: without the timeouts off, the lock session is ended long before the merge. */
const IDLE_TIMEOUT = "150ms";

describe("tool: restore --tables under a role with a short idle_session_timeout", function () {
  this.timeout(180_000);
  let pg: PgCluster;
  let az: Azurite;
  let blob: string;
  /** The run, logged in as the role whose idle sessions end. */
  const asIdleRole = (): TableRestoreOptions => ({
    connection: { ...pg.connection("postgres"), user: ROLE, password: PASSWORD },
    store: az.store(CONTAINER),
    from: { blob },
    database: "idleapp",
    runId: "idle-1",
    tables: parseTableList("--tables", "public.items"),
    log: quiet,
  });
  const count = async (sql: string) => (await pg.query<{ n: string }>(sql, [], "idleapp")).rows[0]!.n;

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE idleapp");
    await pg.query(
      `CREATE TABLE public.items (id int PRIMARY KEY, body text NOT NULL);
       INSERT INTO public.items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 200000) g;`,
      [],
      "idleapp",
    );
    blob = (
      await backup({
        connection: pg.connection("idleapp"),
        store: az.store(CONTAINER),
        prefix: "idle/srv",
        sourceServer: "srv",
        log: quiet,
      })
    ).blobName;
    await pg.query("DELETE FROM public.items WHERE id % 2 = 0", [], "idleapp");
    await pg.query(`CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    await pg.query(`ALTER ROLE ${ROLE} SET idle_session_timeout = '${IDLE_TIMEOUT}'`);
  });

  after(async () => {
    // The role owns what the run created (the schema of previous rows): the database goes first.
    await pg.query("DROP DATABASE IF EXISTS idleapp WITH (FORCE)");
    await pg.query(`DROP ROLE IF EXISTS ${ROLE}`);
  });

  it("the role's sessions do end when idle (the condition is real)", async () => {
    const c = new Client(clientConfig({ ...pg.connection("postgres"), user: ROLE, password: PASSWORD }));
    const ended = new Promise<string>((resolve) => c.on("error", (e) => resolve(e.message)));
    await c.connect();
    assert.deepStrictEqual((await c.query("SHOW idle_session_timeout")).rows, [
      { idle_session_timeout: IDLE_TIMEOUT },
    ]);
    assert.match(await ended, /terminat/i);
    await c.end().catch(() => undefined);
  });

  it("completes, its lock held to the end, and restores every row", async () => {
    const r = await tableRestore(asIdleRole());
    assert.equal(r.status, "restored");
    assert.deepStrictEqual(
      r.tables.map((t) => [t.table, t.rows, t.inserted, t.updated, t.deleted]),
      [["public.items", 200000, 100000, 0, 0]],
    );
    assert.equal(await count("SELECT count(*)::text AS n FROM public.items"), "200000");
    // No session of the run is left, and no lock: a second run of the same id finds it completed.
    const again = await tableRestore(asIdleRole());
    assert.equal(again.status, "already-completed");
  });
});
