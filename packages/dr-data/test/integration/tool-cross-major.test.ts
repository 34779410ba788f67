/**
 * One client for every server: the image carries one PostgreSQL client major, the newest Azure offers
 * (image.json), and the stacks' servers may be any older one. As a version upgrade through a rebuild does it:
 * the tool, with that client, backs up a PostgreSQL 15 server and restores the backup into a new server of the
 * image's major (npm's embedded server under an alias), checked against the backup's manifest by the restore
 * and row by row by compare. And the reason for the rule: the older client refuses the newer server.
 */
import { strict as assert } from "node:assert";
import { appDataCounts, createAppData } from "../../testkit/appdata";
import type { Azurite } from "../../testkit/azurite";
import { clientBinDirOfMajor, npmServerBinDir, PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { compare } from "../../src/compare";
import { listBackups } from "../../src/list";
import { restore } from "../../src/restore";
import image from "../../image.json";

const CONTAINER = "upgrade";
const quiet = () => undefined;
const NEWEST = image.postgresClientMajor;

describe(`tool: a PostgreSQL 15 backup restored into PostgreSQL ${NEWEST} with the image's one client`, function () {
  this.timeout(240_000);
  let older: PgCluster;
  let newer: PgCluster;
  let az: Azurite;
  let client: string;

  before(async () => {
    client = clientBinDirOfMajor(NEWEST);
    let pg: PgCluster;
    [{ pg, az }, newer] = await Promise.all([
      sharedServers(),
      PgCluster.start({ binDir: npmServerBinDir(NEWEST) }),
    ]);
    older = pg;
    await az.createContainer(CONTAINER);
    await older.query("CREATE DATABASE app");
    await createAppData(older.connection("app"), 1);
  });
  after(async () => {
    await newer?.stop();
  });

  const major = async (pg: PgCluster): Promise<number> =>
    Math.floor(
      Number(
        (await pg.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v,
      ) / 10000,
    );

  it(`backs up 15 and restores into ${NEWEST}: the manifest check and compare find every row`, async () => {
    assert.deepStrictEqual([await major(older), await major(newer)], [15, NEWEST]);
    const { blobName } = await backup({
      connection: older.connection("app"),
      store: az.store(CONTAINER),
      prefix: "nightly/old",
      binDir: client,
      log: quiet,
    });
    const [entry] = await listBackups({ store: az.store(CONTAINER), prefix: "nightly/old" });
    assert.match(entry?.metadata?.serverVersion ?? "", /^15\./);
    assert.match(entry?.metadata?.pgDumpVersion ?? "", new RegExp(`^pg_dump \\(PostgreSQL\\) ${NEWEST}\\.`));
    const result = await restore({
      connection: newer.connection("postgres"),
      store: az.store(CONTAINER),
      from: { blob: blobName },
      database: "app",
      runId: "upgrade-1",
      binDir: client,
      jobs: 2,
      log: quiet,
    });
    assert.equal(result.status, "restored");
    const diff = await compare({ left: older.connection("app"), right: newer.connection("app"), log: quiet });
    assert.equal(diff.equal, true, JSON.stringify(diff));
    const counts = await newer.query<{ accounts: string; events: string }>(
      "SELECT (SELECT count(*) FROM app.accounts) AS accounts, (SELECT count(*) FROM app.events) AS events",
      [],
      "app",
    );
    assert.deepStrictEqual(counts.rows[0], {
      accounts: String(appDataCounts(1).accounts),
      events: String(appDataCounts(1).events),
    });
  });

  it(`the PostgreSQL 15 client refuses the ${NEWEST} server: why the image carries the newest major`, async () => {
    await newer.query("CREATE DATABASE fresh");
    await assert.rejects(
      backup({
        connection: newer.connection("fresh"),
        store: az.store(CONTAINER),
        prefix: "nightly/new",
        binDir: "/usr/lib/postgresql/15/bin",
        log: quiet,
      }),
      (err: unknown) => {
        // The tool's message, then pg_dump's own in the cause.
        const messages: string[] = [];
        for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
        assert.equal(messages[0], "backup of fresh failed, nothing committed");
        assert.match(messages.join("\n"), /server version mismatch/);
        return true;
      },
    );
  });
});
