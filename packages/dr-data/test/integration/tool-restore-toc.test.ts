/**
 * A full restore runs only the archive the backup took: its table of contents must be exactly the one the
 * manifest records (manifest /5, src/manifest.ts `tocDifferences`), else the restore is refused before any
 * database is touched. The tampered archives are real dumps — of a copy of the database with a table added, or
 * a function renamed — uploaded with the genuine backup's manifest (whose sha256 their metadata records), in
 * both formats. Real PostgreSQL and Azurite.
 */
import { strict as assert } from "node:assert";
import { createAppData } from "../../testkit/appdata";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { compare } from "../../src/compare";
import { VerificationError } from "../../src/errors";
import { serializeManifest, sha256Hex, type Manifest } from "../../src/manifest";
import { backupManifestBlobName } from "../../src/naming";
import { restore, type RestoreOptions } from "../../src/restore";

const CONTAINER = "backups";
const quiet = () => undefined;

describe("tool: a full restore refuses an archive whose table of contents its manifest does not list", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let az: Azurite;

  const options = (o: Pick<RestoreOptions, "from" | "runId">): RestoreOptions => ({
    connection: pg.connection("postgres"),
    store: az.store(CONTAINER),
    database: "app",
    jobs: 2,
    log: quiet,
    ...o,
  });

  async function take(database: string, prefix: string, format: "directory" | "custom"): Promise<string> {
    const b = await backup({
      connection: pg.connection(database),
      store: az.store(CONTAINER),
      prefix,
      format,
      log: quiet,
    });
    return b.blobName;
  }

  /** `dump`'s bytes and metadata under a new name, with `genuine`'s manifest (retargeted, its sha256 recorded). */
  async function forge(dump: string, genuine: string, name: string): Promise<string> {
    const c = containerClient(az.store(CONTAINER));
    const m = JSON.parse(
      (await c.getBlobClient(backupManifestBlobName(genuine)).downloadToBuffer()).toString("utf8"),
    ) as Manifest;
    const manifest = serializeManifest({ ...m, backup: name });
    await c.getBlockBlobClient(backupManifestBlobName(name)).upload(manifest, manifest.length);
    const source = c.getBlobClient(dump);
    const bytes = await source.downloadToBuffer();
    const metadata = { ...(await source.getProperties()).metadata, manifestsha256: sha256Hex(manifest) };
    await c.getBlockBlobClient(name).upload(bytes, bytes.length, { metadata });
    return name;
  }

  /** A copy of `app` changed by `sql`, backed up; its dump paired with `genuine`'s manifest. */
  async function tampered(
    tag: string,
    sql: string,
    genuine: string,
    format: "directory" | "custom",
  ): Promise<string> {
    const db = `t_${tag}_${format}`;
    await pg.query(`CREATE DATABASE ${db} TEMPLATE app`);
    await pg.query(sql, [], db);
    const dump = await take(db, `source-${tag}-${format}/srv`, format);
    return forge(dump, genuine, `tampered/${tag}-${format}/app_20261124T020000Z`);
  }

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await createAppData(pg.connection("app"), 1);
    await pg.query(
      "CREATE FUNCTION app.tally() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM app.accounts'",
      [],
      "app",
    );
    await pg.query("CREATE DATABASE app_copy TEMPLATE app");
  });

  for (const format of ["directory", "custom"] as const) {
    it(`${format}: the genuine backup restores; an extra entry and a changed entry are refused, app unchanged`, async () => {
      const genuine = await take("app", `nightly-${format}/srv`, format);
      const extra = await tampered(
        "extra",
        "CREATE TABLE app.pwned (x integer); INSERT INTO app.pwned VALUES (1)",
        genuine,
        format,
      );
      const changed = await tampered(
        "changed",
        "ALTER FUNCTION app.tally() RENAME TO tally_all",
        genuine,
        format,
      );
      const cases: [string, string, string][] = [
        [
          extra,
          "x",
          "2 entries not in the manifest: TABLE DATA app pwned postgres; TABLE app pwned postgres",
        ],
        [
          changed,
          "c",
          "1 entries not in the manifest: FUNCTION app tally_all() postgres; " +
            "1 entries of the manifest missing: FUNCTION app tally() postgres",
        ],
      ];
      for (const [blob, tag, entries] of cases) {
        const databases = await pg.databases();
        await assert.rejects(
          restore(options({ from: { blob }, runId: `${tag}-${format[0]!}` })),
          (err: Error) => {
            assert.ok(err instanceof VerificationError, String(err));
            assert.equal(
              err.message,
              `the table of contents of ${blob} is not the one its manifest records, so the archive was changed ` +
                `after the backup; not restoring, no database was touched: ${entries}`,
            );
            return true;
          },
        );
        assert.deepStrictEqual(await pg.databases(), databases, `${tag}: no database created or dropped`);
        const same = await compare({
          left: pg.connection("app"),
          right: pg.connection("app_copy"),
          log: quiet,
        });
        assert.equal(same.equal, true, `${tag}: app unchanged`);
      }
      const r = await restore(options({ from: { blob: genuine }, runId: `ok-${format[0]!}` }));
      assert.deepStrictEqual([r.status, r.contents], ["restored", "verified"]);
    });
  }
});
