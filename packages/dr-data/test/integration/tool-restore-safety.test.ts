/**
 * Restore safety beyond the data itself, on real servers: the restored database keeps the owner, privileges
 * and settings of the one it replaces (pg_dump does not carry them); a run id that restored one backup refuses
 * another; a login that could not complete the swap is refused before anything is downloaded or created; an
 * empty, unmarked staging database left by a kill between CREATE DATABASE and its COMMENT is taken over; a swap
 * that fails says what it left.
 */
import { strict as assert } from "node:assert";
import { createAppData } from "../../testkit/appdata";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { compare } from "../../src/compare";
import { Client } from "pg";
import { clientConfig, withClient } from "../../src/connection";
import { readDatabaseProperties, type DatabaseProperties } from "../../src/database-properties";
import { restore, type RestoreOptions } from "../../src/restore";

const CONTAINER = "backups";
const quiet = () => undefined;

describe("tool: restore safety on real servers", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let nightly: string;
  let later: string;

  const options = (
    o: Partial<RestoreOptions> & Pick<RestoreOptions, "from" | "runId" | "database">,
  ): RestoreOptions => ({
    connection: pg.connection("postgres"),
    store: az.store(CONTAINER),
    jobs: 2,
    log: quiet,
    ...o,
  });

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await createAppData(pg.connection("app"), 1);
    const take = async (iso: string) =>
      (
        await backup({
          connection: pg.connection("app"),
          store: az.store(CONTAINER),
          prefix: "nightly/srv",
          now: () => new Date(iso),
          log: quiet,
        })
      ).blobName;
    nightly = await take("2026-11-24T02:00:00Z");
    await pg.query("DELETE FROM app.events WHERE id % 2 = 0", [], "app");
    later = await take("2026-11-25T02:00:00Z");
  });

  it("the restored database keeps the owner, privileges and settings of the one it replaces", async () => {
    await pg.query("CREATE ROLE appuser LOGIN");
    await pg.query("CREATE ROLE reader");
    await pg.query("CREATE DATABASE props OWNER appuser");
    await pg.query("REVOKE ALL ON DATABASE props FROM PUBLIC");
    await pg.query("GRANT CONNECT ON DATABASE props TO reader");
    await pg.query("GRANT TEMPORARY ON DATABASE props TO reader WITH GRANT OPTION");
    await pg.query(`ALTER DATABASE props SET search_path = app, public, "my schema"`);
    await pg.query("ALTER DATABASE props SET statement_timeout = '30s'");
    await pg.query("ALTER ROLE reader IN DATABASE props SET work_mem = '8MB'");
    const props = (db: string) =>
      withClient(pg.connection("postgres"), (c) => readDatabaseProperties(c, db), "test");
    const norm = (p: DatabaseProperties) => ({
      owner: p.owner,
      grants: (p.grants ?? [])
        .map((g) => `${g.grantee ?? "PUBLIC"}:${g.privilege}${g.grantable ? "*" : ""}`)
        .sort(),
      settings: p.settings.map((x) => `${x.role ?? "(database)"}:${x.setting}`).sort(),
    });
    const before = await props("props");
    // What was set, read back as the catalog holds it (the fixture is what the test claims).
    assert.deepStrictEqual(norm(before), {
      owner: "appuser",
      grants: [
        "appuser:CONNECT",
        "appuser:CREATE",
        "appuser:TEMPORARY",
        "reader:CONNECT",
        "reader:TEMPORARY*",
      ],
      settings: [
        '(database):search_path=app, public, "my schema"',
        "(database):statement_timeout=30s",
        "reader:work_mem=8MB",
      ],
    });

    const r = await restore(options({ from: { blob: nightly }, database: "props", runId: "p-1" }));
    assert.equal(r.status, "restored");
    assert.deepStrictEqual(norm(await props("props")), norm(before));
    assert.deepStrictEqual(norm(await props("props_before_p_1")), norm(before));
    // And the data is the backup's.
    const same = await compare({ left: pg.connection("props"), right: pg.connection("app"), log: quiet });
    assert.equal(same.equal, false, "props holds the first backup, app has changed since");
  });

  it("a run id that restored one backup refuses another, and stays a no-op for the same one", async () => {
    const first = await restore(options({ from: { blob: nightly }, database: "rr", runId: "rr-1" }));
    assert.equal(first.status, "restored");
    await assert.rejects(
      restore(options({ from: { blob: later }, database: "rr", runId: "rr-1" })),
      new RegExp(
        `run rr-1 already restored ${CONTAINER}/${nightly} into rr \\(rr_before_rr_1 exists\\); ` +
          `${CONTAINER}/${later} was asked for: restoring a different backup needs a new run id`,
      ),
    );
    const again = await restore(options({ from: { blob: nightly }, database: "rr", runId: "rr-1" }));
    assert.equal(again.status, "already-completed");
  });

  it("a login that could not complete the swap is refused before anything is downloaded or created", async () => {
    await pg.query("CREATE DATABASE guarded");
    await pg.query(`CREATE ROLE restorer LOGIN CREATEDB PASSWORD 'restorer-password'`);
    const lines: string[] = [];
    await assert.rejects(
      restore({
        ...options({ from: { blob: nightly }, database: "guarded", runId: "g-1" }),
        connection: { ...pg.connection("postgres"), user: "restorer", password: "restorer-password" },
        log: (l) => lines.push(l),
      }),
      /restore into guarded on 127\.0\.0\.1 as restorer cannot complete, nothing was done: guarded is owned by postgres, and restorer is not a member of that role/,
    );
    assert.deepStrictEqual(lines, []);
    assert.equal(await pg.databaseExists("guarded_restore_g_1"), false);
    assert.equal(await pg.databaseExists("guarded_before_g_1"), false);
  });

  it("an empty, unmarked staging database of this login (a kill between CREATE and COMMENT) is taken over", async () => {
    await pg.query("CREATE DATABASE taken");
    await pg.query("CREATE DATABASE taken_restore_t_1");
    const lines: string[] = [];
    const r = await restore({
      ...options({ from: { blob: nightly }, database: "taken", runId: "t-1" }),
      log: (l) => lines.push(l),
    });
    assert.equal(r.status, "restored");
    assert.match(lines.join("\n"), /dropping taken_restore_t_1, left by an interrupted attempt of run t-1/);
  });

  it("a swap that fails drops the placeholder it made and says what is left, not that nothing changed", async () => {
    // The restoring login is no superuser, and a superuser's session on the staging database is one it may not
    // end: the swap's pg_terminate_backend fails, and so does the forced drop of the staging database after it.
    await pg.query(`CREATE ROLE swapper LOGIN CREATEDB PASSWORD 'swapper-password'`);
    await pg.query("CREATE DATABASE swapsrc OWNER swapper");
    await pg.query("CREATE TABLE t (id integer); INSERT INTO t VALUES (1)", [], "swapsrc");
    const blob = (
      await backup({
        connection: pg.connection("swapsrc"),
        store: az.store(CONTAINER),
        prefix: "swap/srv",
        log: quiet,
      })
    ).blobName;
    const staging = "swapped_restore_sf_1";
    let holder: Client | undefined;
    let stop = false;
    const holding = (async () => {
      while (!stop && holder === undefined) {
        const c = new Client(clientConfig(pg.connection(staging), "dr-data-test-holder"));
        await c.connect().then(
          () => (holder = c),
          () => new Promise((r) => setTimeout(r, 20)),
        );
      }
    })();
    try {
      await assert.rejects(
        restore({
          ...options({ from: { blob }, database: "swapped", runId: "sf-1" }),
          connection: { ...pg.connection("postgres"), user: "swapper", password: "swapper-password" },
        }),
        (err: Error) => {
          assert.match(
            err.message,
            new RegExp(
              "^swapping swapped_restore_sf_1 in as swapped failed; swapped did not exist before this run: its " +
                "empty placeholder swapped was dropped; the staging database swapped_restore_sf_1 is left " +
                '\\(dropping it failed: .*\\); drop it with DROP DATABASE "swapped_restore_sf_1"$',
            ),
          );
          assert.match(
            String((err.cause as Error).message),
            /must be a superuser to terminate superuser process/,
          );
          return true;
        },
      );
      assert.equal(await pg.databaseExists("swapped"), false);
      assert.equal(await pg.databaseExists("swapped_before_sf_1"), false);
      assert.equal(await pg.databaseExists(staging), true);
    } finally {
      stop = true;
      await holding;
      await holder?.end();
    }
    await pg.query(`DROP DATABASE ${staging}`);
  });
});
