/**
 * The restore target (`--database`, else PGDATABASE, else the backup's source; issue 8 item 6) and errors that
 * name what is missing with the storage's reason (issue 9 item 4), through the CLI against real PostgreSQL and
 * Azurite.
 */
import { strict as assert } from "node:assert";
import { backupManifestBlobName } from "../../src/naming";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";

const CONTAINER = "backups";
const quiet = () => undefined;

describe("tool: restore target and missing-storage errors (CLI, real servers)", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let nightly: string;

  /** Runs the CLI; `out` is stdout's lines, `err` all it wrote to stderr (logs and errors), `log` that as lines. */
  async function cli(
    argv: string[],
    env: Record<string, string>,
  ): Promise<{ code: number; out: string[]; err: string; log: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, env, { out: (t) => out.push(t), err: (t) => err.push(t) });
    const log = err.flatMap((t) => t.split("\n")).filter((l) => l !== "");
    return { code, out, err: err.join("\n"), log };
  }

  const restoreArgv = (blob: string, runId: string, ...extra: string[]) => [
    "restore",
    "--container",
    CONTAINER,
    "--blob",
    blob,
    "--run-id",
    runId,
    "--jobs",
    "2",
    ...extra,
  ];

  async function tableCount(db: string): Promise<number> {
    const r = await pg.query<{ n: string }>("SELECT count(*) AS n FROM t", [], db);
    return Number(r.rows[0]!.n);
  }

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await pg.query("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g", [], "app");
    nightly = (
      await backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "nightly/srv",
        now: () => new Date("2026-11-24T02:00:00Z"),
        log: quiet,
      })
    ).blobName;
    await pg.query("INSERT INTO t VALUES (11)", [], "app");
  });

  describe("the target database", () => {
    it("PGDATABASE names it when --database is absent, and the first line says so", async () => {
      const r = await cli(restoreArgv(nightly, "tg-1"), { ...pg.env("elsewhere"), ...az.env() });
      assert.equal(r.code, 0, r.err);
      assert.equal(
        r.log[0],
        "restore: restoring into elsewhere (from PGDATABASE), not into the backup's source database app; " +
          "give --database to choose explicitly",
      );
      assert.match(r.out.join("\n"), /^restored nightly\/srv\/app_20261124T020000Z into elsewhere; /);
      assert.equal(await tableCount("elsewhere"), 10);
      assert.equal(await tableCount("app"), 11);
      assert.equal(await pg.databaseExists("app_before_tg_1"), false);
    });

    it("--database wins over PGDATABASE, with no notice", async () => {
      const r = await cli(restoreArgv(nightly, "tg-2", "--database", "flagged"), {
        ...pg.env("elsewhere2"),
        ...az.env(),
      });
      assert.equal(r.code, 0, r.err);
      assert.equal(
        r.log.some((l) => /from PGDATABASE/.test(l)),
        false,
      );
      assert.match(r.out.join("\n"), /into flagged; /);
      assert.equal(await pg.databaseExists("elsewhere2"), false);
      assert.equal(await tableCount("flagged"), 10);
    });

    it("PGDATABASE naming the maintenance database is not a target: the backup's source database is", async () => {
      const r = await cli(restoreArgv(nightly, "tg-3"), { ...pg.env("postgres"), ...az.env() });
      assert.equal(r.code, 0, r.err);
      assert.equal(
        r.log.some((l) => /from PGDATABASE/.test(l)),
        false,
      );
      assert.match(r.out.join("\n"), /into app; previous database kept as app_before_tg_3/);
      assert.equal(await tableCount("app"), 10);
    });

    it("PGDATABASE equal to the backup's source restores into it with no notice", async () => {
      await pg.query("INSERT INTO t VALUES (12)", [], "app");
      const r = await cli(restoreArgv(nightly, "tg-4"), { ...pg.env("app"), ...az.env() });
      assert.equal(r.code, 0, r.err);
      assert.equal(
        r.log.some((l) => /from PGDATABASE/.test(l)),
        false,
      );
      assert.match(r.out.join("\n"), /into app; previous database kept as app_before_tg_4/);
      assert.equal(await tableCount("app"), 10);
    });
  });

  describe("what is missing is named with the storage's reason; exit 1; nothing changed", () => {
    let databases: string[];
    beforeEach(async () => {
      databases = await pg.databases();
    });
    afterEach(async () => {
      assert.deepStrictEqual(await pg.databases(), databases);
    });
    const env = () => ({ ...pg.env("postgres"), ...az.env() });

    it("a missing blob: BlobNotFound", async () => {
      const r = await cli(restoreArgv("nightly/srv/app_20200101T000000Z", "e-1"), env());
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `dr-data: reading ${CONTAINER}/nightly/srv/app_20200101T000000Z: ${CONTAINER}/nightly/srv/app_20200101T000000Z ` +
          "does not exist; nothing was done: storage answered 404 BlobNotFound",
      );
    });

    it("a missing container: ContainerNotFound (restore --blob NAME, restore latest, list, compare)", async () => {
      const blob = restoreArgv(nightly, "e-2").map((a) => (a === CONTAINER ? "nosuch" : a));
      const r = await cli(blob, env());
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `dr-data: reading nosuch/${nightly}: the container nosuch does not exist; nothing was done: ` +
          "storage answered 404 ContainerNotFound",
      );
      const listingMissing =
        "listing nosuch/nightly/srv/: the container nosuch does not exist: The specified container does not " +
        "exist. (storage answered 404 ContainerNotFound)";
      const latest = await cli(
        [
          "restore",
          "--container",
          "nosuch",
          "--blob",
          "latest",
          "--prefix",
          "nightly/srv",
          "--run-id",
          "e-3",
        ],
        env(),
      );
      assert.equal(latest.code, 1);
      assert.equal(latest.err, `dr-data: ${listingMissing}`);
      const list = await cli(["list", "--container", "nosuch", "--prefix", "nightly/srv"], az.env());
      assert.equal(list.code, 1);
      assert.equal(list.err, `dr-data: ${listingMissing}`);
      const c = await cli(["compare", "--against-backup", nightly, "--container", "nosuch"], {
        ...pg.env("app"),
        ...az.env(),
      });
      assert.equal(c.code, 1);
      assert.equal(
        c.err,
        `dr-data: reading nosuch/${nightly}: the container nosuch does not exist; nothing was done: ` +
          "storage answered 404 ContainerNotFound",
      );
    });

    it("a prefix with nothing under it: says the storage lists no backup blob there", async () => {
      const r = await cli(
        [
          "restore",
          "--container",
          CONTAINER,
          "--blob",
          "latest",
          "--prefix",
          "nightly/nosuch",
          "--run-id",
          "e-4",
        ],
        env(),
      );
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `dr-data: verification failed: no usable backup under ${CONTAINER}/nightly/nosuch/: the storage lists no ` +
          `backup blob under ${CONTAINER}/nightly/nosuch/ (no such prefix, or nothing backed up there yet)`,
      );
      const other = await cli(
        [
          "restore",
          "--container",
          CONTAINER,
          "--blob",
          "latest",
          "--prefix",
          "nightly/srv",
          "--source-database",
          "crm",
          "--run-id",
          "e-5",
        ],
        env(),
      );
      assert.equal(other.code, 1);
      assert.equal(
        other.err,
        `dr-data: verification failed: no usable backup under ${CONTAINER}/nightly/srv/ for database crm: the ` +
          `backups under ${CONTAINER}/nightly/srv/ are of other databases: app`,
      );
    });

    it("a missing manifest: BlobNotFound, named", async () => {
      const c = containerClient(az.store(CONTAINER));
      const copy = "copied/srv/app_20261124T020000Z";
      const bytes = await c.getBlobClient(nightly).downloadToBuffer();
      const meta = (await c.getBlobClient(nightly).getProperties()).metadata ?? {};
      await c.getBlockBlobClient(copy).upload(bytes, bytes.length, { metadata: meta });
      const manifest = backupManifestBlobName(copy);
      const r = await cli(restoreArgv(copy, "e-6"), env());
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `dr-data: verification failed: ${copy} records a manifest but ${CONTAINER}/${manifest} cannot be read ` +
          `(${CONTAINER}/${manifest} does not exist); nothing was done: storage answered 404 BlobNotFound`,
      );
      const cmp = await cli(["compare", "--against-backup", copy, "--container", CONTAINER], {
        ...pg.env("app"),
        ...az.env(),
      });
      assert.equal(cmp.code, 1);
      assert.equal(cmp.err, r.err);
    });
  });
});
