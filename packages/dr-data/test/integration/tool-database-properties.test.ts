/**
 * Database-level properties travel with the backup (issue 9, item 2): recorded in the manifest in the dump's
 * snapshot, applied by a restore onto a new database (a rebuilt server, a new name), kept and reported over an
 * existing one, compared by `compare`. Real PostgreSQL (two servers) and Azurite.
 */
import { strict as assert } from "node:assert";
import { backupManifestBlobName } from "../../src/naming";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedFreshPg, sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { compare, formatComparison } from "../../src/compare";
import {
  extensionVersionNotes,
  ownComment,
  recordDifferences,
  withoutRoles,
  type DatabaseRecord,
} from "../../src/database-properties";
import { parseManifest } from "../../src/manifest";
import { restore, type RestoreOptions } from "../../src/restore";

const CONTAINER = "backups";
const quiet = () => undefined;

/** What a database's properties are, read independently of the tool (its own query, its own text). */
const PROPERTIES_SQL = `
  SELECT pg_get_userbyid(d.datdba) AS owner, d.datacl::text AS acl,
         shobj_description(d.oid, 'pg_database') AS comment, pg_encoding_to_char(d.encoding) AS encoding,
         d.datcollate AS collate, d.datctype AS ctype, d.datlocprovider::text AS provider,
         (SELECT string_agg(coalesce(pg_get_userbyid(NULLIF(s.setrole, 0)), '-') || ':' || array_to_string(s.setconfig, '|'),
                            ' ' ORDER BY 1)
            FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) AS settings
    FROM pg_database d WHERE d.datname = $1`;

describe("tool: database-level properties travel with the backup", function () {
  this.timeout(180_000);
  let pg: PgCluster;
  let fresh: PgCluster;
  let az: Azurite;
  let nightly: string;

  const options = (
    cluster: PgCluster,
    o: Partial<RestoreOptions> & Pick<RestoreOptions, "runId">,
  ): RestoreOptions => ({
    connection: cluster.connection("postgres"),
    store: az.store(CONTAINER),
    from: { blob: nightly },
    jobs: 2,
    log: quiet,
    ...o,
  });

  async function properties(cluster: PgCluster, db: string): Promise<Record<string, unknown>> {
    const r = await cluster.query(PROPERTIES_SQL, [db]);
    assert.equal(r.rows.length, 1, `${db} exists`);
    return r.rows[0]!;
  }

  async function createRoles(cluster: PgCluster): Promise<void> {
    await cluster.query("CREATE ROLE app_owner NOLOGIN");
    await cluster.query("CREATE ROLE reader NOLOGIN");
  }

  before(async () => {
    [{ pg, az }, fresh] = await Promise.all([sharedServers(), sharedFreshPg()]);
    await az.createContainer(CONTAINER);
    await createRoles(pg);
    await pg.query("CREATE DATABASE app OWNER app_owner");
    await pg.query("CREATE SCHEMA s1; CREATE TABLE s1.t AS SELECT 1 AS x", [], "app");
    for (const sql of [
      "REVOKE ALL ON DATABASE app FROM PUBLIC",
      "GRANT CONNECT ON DATABASE app TO reader",
      "GRANT TEMPORARY ON DATABASE app TO reader WITH GRANT OPTION",
      "ALTER DATABASE app SET search_path = s1, public",
      `ALTER DATABASE app SET work_mem = '8MB'`,
      `ALTER ROLE reader IN DATABASE app SET statement_timeout = '5s'`,
      `COMMENT ON DATABASE app IS 'the app''s database'`,
    ]) {
      await pg.query(sql);
    }
    nightly = (
      await backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "nightly/srv",
        now: () => new Date("2026-11-24T02:00:00Z"),
        log: quiet,
      })
    ).blobName;
  });

  it("the manifest records them, read in the dump's snapshot", async () => {
    const bytes = await containerClient(az.store(CONTAINER))
      .getBlobClient(backupManifestBlobName(nightly))
      .downloadToBuffer();
    const m = parseManifest(bytes.toString("utf8"), "m");
    const p = m.databaseProperties!;
    assert.equal(p.owner, "app_owner");
    assert.equal(p.comment, "the app's database");
    assert.deepStrictEqual([...p.settings].map((s) => `${s.role ?? "-"}:${s.setting}`).sort(), [
      "-:search_path=s1, public",
      "-:work_mem=8MB",
      "reader:statement_timeout=5s",
    ]);
    assert.deepStrictEqual(
      (p.grants ?? []).map((g) => `${g.grantee ?? "PUBLIC"}:${g.privilege}${g.grantable ? "*" : ""}`).sort(),
      ["app_owner:CONNECT", "app_owner:CREATE", "app_owner:TEMPORARY", "reader:CONNECT", "reader:TEMPORARY*"],
    );
    assert.equal(p.encoding, "UTF8");
    assert.deepStrictEqual(p.extensions, [{ name: "plpgsql", version: "1.0", schema: "pg_catalog" }]);
  });

  it("a rebuild (fresh server) without the roles is refused before anything is touched, naming each role", async () => {
    const before = await fresh.databases();
    await assert.rejects(
      restore(options(fresh, { runId: "rb-0" })),
      (err: Error) =>
        err.message ===
        `restore into app on 127.0.0.1 as postgres cannot complete, nothing was done: the backup's database-level ` +
          `properties name roles that do not exist on this server: app_owner (owner, CONNECT on the database, ` +
          `CREATE on the database, TEMPORARY on the database); reader (CONNECT on the database, TEMPORARY on the ` +
          `database, setting statement_timeout=5s); create them first, or pass --skip-missing-roles to restore ` +
          `without what they are given`,
    );
    assert.deepStrictEqual(await fresh.databases(), before);
  });

  it("--skip-missing-roles restores without what goes to the missing roles, and says what it skipped", async () => {
    const env = { ...fresh.env("postgres"), ...az.env() };
    const out: string[] = [];
    const code = await main(
      ["restore", "--container", CONTAINER, "--blob", nightly, "--database", "skipped", "--run-id", "sk-1"],
      env,
      { out: (t) => out.push(t), err: (t) => out.push(t) },
    );
    assert.equal(code, 1);
    const r = await restore(options(fresh, { runId: "sk-1", database: "skipped", skipMissingRoles: true }));
    assert.deepStrictEqual(r.skippedForMissingRoles, [
      "to the missing role app_owner: owner, CONNECT on the database, CREATE on the database, TEMPORARY on the database",
      "to the missing role reader: CONNECT on the database, TEMPORARY on the database, setting statement_timeout=5s",
    ]);
    assert.deepStrictEqual(await properties(fresh, "skipped"), {
      owner: "postgres",
      acl: "{postgres=CTc/postgres}",
      comment: "the app's database",
      encoding: "UTF8",
      collate: (await properties(pg, "app")).collate,
      ctype: (await properties(pg, "app")).ctype,
      provider: "c",
      settings: "-:search_path=s1, public|work_mem=8MB",
    });
  });

  it("a rebuild onto a fresh server with the roles gives the database back its privileges, settings and comment", async () => {
    await createRoles(fresh);
    const r = await restore(options(fresh, { runId: "rb-1" }));
    assert.equal(r.targetExisted, false);
    assert.equal(r.properties, "from backup");
    assert.deepStrictEqual(await properties(fresh, "app"), await properties(pg, "app"));
    const sp = await fresh.query<{ sp: string }>("SELECT current_setting('search_path') AS sp", [], "app");
    assert.deepStrictEqual(sp.rows, [{ sp: "s1, public" }]);
    // compare --run-id: the rebuilt database against the backup's manifest, database level included.
    const lines: string[] = [];
    const code = await main(
      ["compare", "--run-id", "rb-1"],
      { ...fresh.env("app"), ...az.env() },
      {
        out: (t) => lines.push(t),
        err: (t) => lines.push(t),
      },
    );
    assert.equal(code, 0, lines.join("\n"));
  });

  it("under a new name on the same server: the same properties", async () => {
    const r = await restore(options(pg, { runId: "nn-1", database: "app_copy" }));
    assert.equal(r.properties, "from backup");
    const copy = await properties(pg, "app_copy");
    const app = await properties(pg, "app");
    assert.deepStrictEqual(
      { ...copy, acl: String(copy.acl).replace(/app_copy/g, "") },
      { ...app, acl: String(app.acl) },
    );
  });

  it("over an existing database: its own properties are kept and the differences from the backup reported; compare reports them", async () => {
    await pg.query("CREATE DATABASE live OWNER app_owner");
    await pg.query(`ALTER DATABASE live SET work_mem = '16MB'`);
    const kept = await properties(pg, "live");
    const logged: string[] = [];
    const r = await restore(options(pg, { runId: "ov-1", database: "live", log: (l) => logged.push(l) }));
    assert.equal(r.properties, "kept");
    assert.deepStrictEqual(await properties(pg, "live"), kept);
    assert.deepStrictEqual(r.propertiesDifferFromBackup, [
      "privileges: default vs app_owner:CONNECT,app_owner:CREATE,app_owner:TEMPORARY,reader:CONNECT,reader:TEMPORARY*",
      "settings: [(database):work_mem=16MB] vs [(database):search_path=s1, public; (database):work_mem=8MB; " +
        "reader:statement_timeout=5s]",
      `comment: null vs "the app's database"`,
    ]);
    assert.match(
      logged.join("\n"),
      /restore: live keeps the database-level properties of the database it replaces, which differ from the backup's record \(kept vs backup\): privileges: default vs /,
    );
    const lines: string[] = [];
    const code = await main(
      ["compare", "--run-id", "ov-1"],
      { ...pg.env("live"), ...az.env() },
      {
        out: (t) => lines.push(t),
        err: (t) => lines.push(t),
      },
    );
    assert.equal(code, 1);
    const text = lines.join("\n");
    assert.match(
      text,
      /^database-level comment: null vs "the app's database" \(127\.0\.0\.1\/live vs backup manifest\)$/m,
    );
    assert.match(text, /^compare: 1 relations, all equal; 3 database-level properties differ$/m);
  });

  it("compare of two databases reports database-level differences (and a restore record's comment is not one)", async () => {
    const c = await compare({ left: pg.connection("app"), right: fresh.connection("app"), log: quiet });
    assert.deepStrictEqual(c.database, []);
    assert.equal(c.equal, true);
    await fresh.query("COMMENT ON DATABASE app IS 'changed'");
    await fresh.query("ALTER ROLE reader IN DATABASE app RESET statement_timeout");
    const d = await compare({ left: pg.connection("app"), right: fresh.connection("app"), log: quiet });
    assert.equal(d.equal, false);
    assert.deepStrictEqual(d.database, [
      "settings: [(database):search_path=s1, public; (database):work_mem=8MB; reader:statement_timeout=5s] vs " +
        "[(database):search_path=s1, public; (database):work_mem=8MB]",
      `comment: "the app's database" vs "changed"`,
    ]);
    assert.match(
      formatComparison(d),
      /^compare: 1 relations, all equal; 2 database-level properties differ$/m,
    );
    // live_before_ov_1 carries the restore's record as its comment; its own comment (none) is what counts.
    await pg.query("CREATE DATABASE bare OWNER app_owner");
    const b = await compare({
      left: pg.connection("bare"),
      right: pg.connection("live_before_ov_1"),
      log: quiet,
    });
    assert.deepStrictEqual(b.database, ["settings: [] vs [(database):work_mem=16MB]"]);
  });
});

describe("tool: database-level record differences (pure)", () => {
  const record: DatabaseRecord = {
    owner: "app_owner",
    grants: [{ grantee: "reader", privilege: "CONNECT", grantable: false }],
    settings: [{ role: undefined, setting: "search_path=s1, public" }],
    comment: "c",
    encoding: "UTF8",
    collate: "C",
    ctype: "C",
    localeProvider: "c",
    extensions: [{ name: "pgcrypto", version: "1.3", schema: "public" }],
  };

  it("names each differing property; extension versions are notes, not differences", () => {
    const other: DatabaseRecord = {
      ...record,
      owner: "postgres",
      grants: undefined,
      comment: null,
      extensions: [{ name: "pgcrypto", version: "1.2", schema: "public" }],
    };
    assert.deepStrictEqual(recordDifferences(record, other), [
      "owner: app_owner vs postgres",
      "privileges: reader:CONNECT vs default",
      'comment: "c" vs null',
    ]);
    assert.deepStrictEqual(extensionVersionNotes(record, other), [
      "extension pgcrypto is at version 1.3 vs 1.2",
    ]);
    assert.deepStrictEqual(recordDifferences(record, { ...record, extensions: [] }), [
      "extensions: pgcrypto in public vs none",
    ]);
    assert.deepStrictEqual(
      recordDifferences(record, { ...record, extensions: [] }, { extensions: false }),
      [],
    );
  });

  it("a before database's restore record counts as the comment it kept", () => {
    const kept = JSON.stringify({ tool: "dr-data-restore/1", previousComment: "c" });
    assert.deepStrictEqual(recordDifferences(record, { ...record, comment: kept }), []);
    assert.equal(ownComment("{not json"), "{not json");
    assert.equal(ownComment(null), null);
  });

  it("withoutRoles drops what goes to missing roles; a missing owner's privileges go to the fallback owner", () => {
    const p = {
      owner: "gone",
      grants: [
        { grantee: "gone", privilege: "CONNECT" as const, grantable: false },
        { grantee: "reader", privilege: "CONNECT" as const, grantable: false },
        { grantee: undefined, privilege: "TEMPORARY" as const, grantable: false },
      ],
      settings: [
        { role: "reader", setting: "work_mem=8MB" },
        { role: undefined, setting: "work_mem=4MB" },
      ],
    };
    assert.deepStrictEqual(withoutRoles(p, new Set(["gone", "reader"]), "postgres"), {
      owner: "postgres",
      grants: [
        { grantee: "postgres", privilege: "CONNECT", grantable: false },
        { grantee: undefined, privilege: "TEMPORARY", grantable: false },
      ],
      settings: [{ role: undefined, setting: "work_mem=4MB" }],
    });
  });
});
