/**
 * The fidelity corpus: test/fixtures/fidelity.sql, backed up by the tool in both formats (directory and custom)
 * and restored in every mode — under a new name on the same server, onto a fresh server (a rebuild), and over
 * the live database — then compared with the source by a check independent of the tool's own: a schema-only
 * `pg_dump --create` of both sides (database-level properties included) normalised; per relation its columns
 * by name (type, generated, privileges) from the catalog, its row count and an order-independent hash of its
 * rows (md5 of the sorted md5s of each row as jsonb, keyed by column name, so a column order that pg_dump
 * changes does not count while any value does); sequence positions and large objects' contents. What a
 * restore gives back differently by design (docs/data-tool.md, "What a restore gives back") is expected as
 * such: a stale materialized view comes back refreshed, its expected rows computed from its query on the
 * source. Real PostgreSQL (two servers) and Azurite.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedFreshPg, sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { serializeManifest, sha256Hex, type Manifest, type ManifestRelation } from "../../src/manifest";
import { backupManifestBlobName } from "../../src/naming";
import { compare } from "../../src/compare";
import { clientConfig } from "../../src/connection";
import { inspect } from "../../src/inspect";
import { restore, type RestoreOptions } from "../../src/restore";

const CONTAINER = "backups";
const SOURCE = "corpus";
const quiet = () => undefined;
const FIXTURE = readFileSync(path.join(__dirname, "..", "fixtures", "fidelity.sql"), "utf8");
const ROLES_SQL = "CREATE ROLE fid_reader NOLOGIN; CREATE ROLE fid_writer NOLOGIN";
/** What the tool reports of the corpus's stale materialized view (one row inserted after its refresh). */
const REFRESHED_NOTE =
  "app.vehicle_names: materialized view refreshed by the restore: 5 rows, the source held 4 (it was stale when backed up)";

/** The settings the test's own reading pins (the corpus's database sets DateStyle, TimeZone, search_path). */
const PINNED =
  "SET search_path = pg_catalog; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; " +
  "SET extra_float_digits = 3; SET bytea_output = 'hex'; SET lc_monetary = 'C'";

interface Picture {
  /** `pg_dump --schema-only --create`, comments and the random `\restrict` keys removed, the name replaced. */
  readonly schema: string;
  /** relation → `rows:hash`, `not populated`, or a sequence's `last_value/is_called`. */
  readonly relations: Record<string, string>;
  /** relation → its columns sorted by name: `name type [generated] acl`. */
  readonly columns: Record<string, string>;
  /** large object oid → `owner:acl:comment:md5` (schema-only dumps leave large objects out). */
  readonly largeObjects: Record<string, string>;
}

async function picture(cluster: PgCluster, database: string): Promise<Picture> {
  const { stdout } = await promisify(execFile)(
    "pg_dump",
    ["--schema-only", "--create", "--no-password", `--dbname=${database}`],
    { env: { ...process.env, ...cluster.env(database) }, maxBuffer: 64 << 20 },
  );
  // The database's own name appears only after DATABASE and \connect (names here need no quoting).
  const name = new RegExp(`(DATABASE |\\\\connect )${database}\\b`, "g");
  const schema = stdout
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("--") && !/^\\(un)?restrict /.test(l))
    .map((l) => l.replace(name, "$1<db>"))
    .join("\n");
  const c = new Client(clientConfig(cluster.connection(database), "fidelity-test"));
  await c.connect();
  try {
    await c.query(PINNED);
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const rels = await c.query<{ q: string; kind: string; populated: boolean }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS q, c.relkind::text AS kind, c.relispopulated AS populated
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY 1`,
    );
    const relations: Record<string, string> = {};
    for (const r of rels.rows) {
      if (r.kind === "S") {
        const s = await c.query<{ v: string; called: boolean }>(
          `SELECT last_value::text AS v, is_called AS called FROM ${r.q}`,
        );
        relations[r.q] = `${s.rows[0]!.v}/${String(s.rows[0]!.called)}`;
      } else if (!r.populated) {
        relations[r.q] = "not populated";
      } else {
        relations[r.q] = await rowsByName(c, `SELECT * FROM ONLY ${r.q}`);
      }
    }
    const cols = await c.query<{ q: string; v: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS q,
              string_agg(concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
                                   nullif(a.attgenerated, ''), a.attacl::text), ', ' ORDER BY a.attname) AS v
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p', 'm', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        GROUP BY 1 ORDER BY 1`,
    );
    const columns = Object.fromEntries(cols.rows.map((r) => [r.q, r.v]));
    const los = await c.query<{ oid: string; v: string }>(
      `SELECT oid::text AS oid,
              concat_ws(':', pg_get_userbyid(lomowner), lomacl::text, obj_description(oid, 'pg_largeobject'),
                        md5(lo_get(oid))) AS v
         FROM pg_largeobject_metadata ORDER BY oid`,
    );
    return {
      schema,
      relations,
      columns,
      largeObjects: Object.fromEntries(los.rows.map((r) => [r.oid, r.v])),
    };
  } finally {
    await c.end();
  }
}

/** `rows:hash` of a query's rows: md5 of the sorted md5s of each row as jsonb (by column name, not position). */
async function rowsByName(c: Client, query: string): Promise<string> {
  const h = await c.query<{ n: string; h: string | null }>(
    `SELECT count(*)::text AS n, md5(string_agg(x.h, ',' ORDER BY x.h)) AS h
       FROM (SELECT md5(to_jsonb(t)::text) AS h FROM (${query}) AS t) x`,
  );
  return `${h.rows[0]!.n}:${h.rows[0]!.h ?? "-"}`;
}

/**
 * What a restore gives back: the source's picture, with each populated materialized view holding what its
 * query gives on the source's tables now (a restore refreshes it), computed here from its definition.
 */
async function restoredPicture(cluster: PgCluster, database: string, source: Picture): Promise<Picture> {
  const c = new Client(clientConfig(cluster.connection(database), "fidelity-test"));
  await c.connect();
  try {
    await c.query(PINNED);
    const views = await c.query<{ q: string; def: string }>(
      `SELECT format('%I.%I', schemaname, matviewname) AS q, rtrim(definition, ';') AS def
         FROM pg_matviews WHERE ispopulated ORDER BY 1`,
    );
    const refreshed: Record<string, string> = {};
    for (const v of views.rows) refreshed[v.q] = await rowsByName(c, v.def);
    return { ...source, relations: { ...source.relations, ...refreshed } };
  } finally {
    await c.end();
  }
}

/** Equal pictures; on a difference, the differing schema lines and relations (not two 20 kB strings). */
function assertSamePicture(actual: Picture, expected: Picture): void {
  const a = new Set(actual.schema.split("\n"));
  const e = new Set(expected.schema.split("\n"));
  assert.deepStrictEqual(
    {
      onlyRestored: [...a].filter((l) => !e.has(l)),
      onlySource: [...e].filter((l) => !a.has(l)),
      relations: actual.relations,
      columns: actual.columns,
      largeObjects: actual.largeObjects,
    },
    {
      onlyRestored: [],
      onlySource: [],
      relations: expected.relations,
      columns: expected.columns,
      largeObjects: expected.largeObjects,
    },
  );
  assert.equal(actual.schema, expected.schema);
}

describe("tool: the fidelity corpus comes back equal in every restore mode and format", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let fresh: PgCluster;
  let az: Azurite;
  let source: Picture;
  /** The source as a restore gives it back (its stale materialized view refreshed). */
  let expected: Picture;
  const blobs: Record<"directory" | "custom", string> = { directory: "", custom: "" };

  const options = (
    cluster: PgCluster,
    o: Partial<RestoreOptions> & Pick<RestoreOptions, "runId" | "from">,
  ): RestoreOptions => ({
    connection: cluster.connection("postgres"),
    store: az.store(CONTAINER),
    jobs: 2,
    log: quiet,
    ...o,
  });

  before(async () => {
    [{ pg, az }, fresh] = await Promise.all([sharedServers(), sharedFreshPg()]);
    await az.createContainer(CONTAINER);
    await pg.query(ROLES_SQL);
    await fresh.query(ROLES_SQL);
    await pg.query(`CREATE DATABASE ${SOURCE}`);
    await pg.query(FIXTURE, [], SOURCE);
    source = await picture(pg, SOURCE);
    expected = await restoredPicture(pg, SOURCE, source);
    for (const format of ["directory", "custom"] as const) {
      blobs[format] = (
        await backup({
          connection: pg.connection(SOURCE),
          store: az.store(CONTAINER),
          prefix: `corpus-${format}/srv`,
          format,
          log: quiet,
        })
      ).blobName;
    }
  });

  it("the corpus holds every kind the issue lists (a check of the fixture itself)", () => {
    const r = source.relations;
    for (const rel of [
      "app.people",
      "app.events_2026_03",
      "app.events_2026_10_login",
      "app.mood_counts",
      "app.wide",
      "app.no_pk",
      "app.empty_table",
      '"Mixed Case"."Table With Spaces"',
      '"schéma ""quoted"""."ÜberTabelle"',
      "app.countdown",
      "app.fresh",
    ]) {
      assert.ok(r[rel] !== undefined, `${rel} in the corpus`);
    }
    assert.equal(r["app.no_pk"]!.split(":")[0], "6");
    assert.equal(r["app.empty_table"], "0:-");
    assert.equal(r["app.not_yet"], "not populated");
    assert.equal(r["app.countdown"], "-500/true");
    assert.equal(r["app.vehicle_names"]!.split(":")[0], "4", "stale: 4 rows, its query gives 5");
    assert.equal(expected.relations["app.vehicle_names"]!.split(":")[0], "5");
    // Columns pg_dump recreates in another order: a child's own first, then what its parent gained later.
    assert.equal(
      source.columns["app.cars"],
      '"Colour" text {fid_writer=w/postgres}, doors integer {fid_writer=r/postgres}, id integer ' +
        "{fid_writer=r/postgres}, label text s, name text {fid_writer=r/postgres}, registered date",
    );
    assert.equal(r["app.fresh"], "42/false");
    assert.deepStrictEqual(Object.keys(source.largeObjects), ["424242", "424243"]);
    assert.match(
      source.largeObjects["424242"]!,
      /^postgres:\{postgres=rw\/postgres,fid_reader=r\/postgres\}:a large object:[0-9a-f]{32}$/,
    );
    for (const text of [
      "CREATE EXTENSION IF NOT EXISTS citext",
      "CREATE EXTENSION IF NOT EXISTS pgcrypto",
      "CREATE POLICY own_documents",
      "ALTER TABLE ONLY app.documents FORCE ROW LEVEL SECURITY",
      "ALTER TABLE app.documents ENABLE ROW LEVEL SECURITY",
      "CREATE TRIGGER people_touch",
      "GENERATED ALWAYS AS (app.norm(name)) STORED",
      "GENERATED ALWAYS AS IDENTITY",
      "CREATE DOMAIN app.positive",
      "CREATE TYPE app.pair AS",
      "PARTITION BY LIST (kind)",
      "ALTER DATABASE <db> SET search_path TO 'app', 'Mixed Case', 'public'",
      `ALTER ROLE fid_reader IN DATABASE <db> SET search_path TO 'schéma "quoted"', 'app'`,
      "GRANT CONNECT,TEMPORARY ON DATABASE <db> TO fid_reader",
      "COMMENT ON DATABASE <db> IS",
      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA app GRANT SELECT ON TABLES",
      "INHERITS (app.vehicles)",
      "ALTER TABLE ONLY app.readings ATTACH PARTITION app.readings_2025",
      "GENERATED ALWAYS AS (upper(name)) STORED",
      "CREATE MATERIALIZED VIEW app.vehicle_names",
      'GRANT UPDATE("Colour") ON TABLE app.cars TO fid_writer',
      "CREATE POLICY sensor_one ON app.readings FOR INSERT TO fid_writer WITH CHECK ((sensor = 1))",
      "CREATE PUBLICATION fid_pub_filtered",
      "ALTER PUBLICATION fid_pub_filtered ADD TABLE ONLY app.documents (id, owner) WHERE ((id > 1))",
      'ALTER PUBLICATION fid_pub_schema ADD TABLES IN SCHEMA "Mixed Case"',
      "CREATE RULE log_ticket AS",
    ]) {
      assert.ok(source.schema.includes(text), `the corpus's schema dump has ${JSON.stringify(text)}`);
    }
  });

  it("directory: every table's checksum came from the dump, whose COPY lists name the manifest's columns", async () => {
    const c = containerClient(az.store(CONTAINER));
    const m = JSON.parse(
      (await c.getBlobClient(backupManifestBlobName(blobs.directory)).downloadToBuffer()).toString("utf8"),
    ) as Manifest;
    const tables = m.relations.filter((r) => r.kind === "table");
    assert.deepStrictEqual(
      tables.filter((r) => r.method !== "copy").map((r) => r.name),
      [],
    );
    const cars = tables.find((r) => r.name === "app.cars")!;
    assert.deepStrictEqual(
      cars.columnList!.map((x) => x.name),
      ["id", "name", "doors", "Colour", "registered", "label"],
    );
    assert.equal(tables.find((r) => r.name === "app.no_columns")?.rows, 2);
    assert.deepStrictEqual(
      m.relations.filter((r) => r.kind === "materialized view").map((r) => [r.name, r.rows, r.populated]),
      [
        ["app.mood_counts", 3, true],
        ["app.not_yet", 0, false],
        ["app.vehicle_names", 4, true],
      ],
    );
  });

  it("the independent check sees a loss: restored with --no-acl, the grants are missing from the picture", async () => {
    await restore(
      options(pg, { from: { blob: blobs.directory }, database: "no_acl", runId: "na-1", noAcl: true }),
    );
    const lost = await picture(pg, "no_acl");
    const lines = new Set(lost.schema.split("\n"));
    const missing = source.schema.split("\n").filter((l) => !lines.has(l));
    assert.ok(missing.includes("GRANT USAGE ON SCHEMA app TO fid_reader;"), missing.join("\n"));
    assert.ok(missing.includes("GRANT SELECT ON TABLE app.people TO fid_reader;"), missing.join("\n"));
    assert.deepStrictEqual(lost.relations, expected.relations);
  });

  for (const format of ["directory", "custom"] as const) {
    const tag = format === "directory" ? "d" : "c";

    it(`${format}: under a new name on the same server`, async () => {
      const r = await restore(
        options(pg, { from: { blob: blobs[format] }, database: `new_${tag}`, runId: `nn-${tag}` }),
      );
      assert.equal(r.contents, "verified");
      assert.deepStrictEqual(r.contentNotes, [REFRESHED_NOTE]);
      assertSamePicture(await picture(pg, `new_${tag}`), expected);
      // The tool's own two-database checks agree: columns by name, so the reordered children are equal.
      const [source, restored] = [pg.connection(SOURCE), pg.connection(`new_${tag}`)];
      const compared = await compare({ left: source, right: restored, log: quiet });
      assert.deepStrictEqual(
        compared.relations.filter((x) => x.differences.length > 0).map((x) => x.name),
        [],
      );
      const inspected = await inspect({ copy: source, live: restored, log: quiet });
      assert.deepStrictEqual(
        inspected.tables.filter((t) => t.status !== "same").map((t) => t.name),
        [],
      );
    });

    it(`${format}: onto a fresh server (rebuild)`, async () => {
      const database = format === "directory" ? SOURCE : `rebuilt_${tag}`;
      const r = await restore(
        options(fresh, { from: { blob: blobs[format] }, database, runId: `rb-${tag}` }),
      );
      assert.equal(r.properties, "from backup");
      assert.deepStrictEqual([r.contents, r.contentNotes], ["verified", [REFRESHED_NOTE]]);
      assertSamePicture(await picture(fresh, database), expected);
    });

    it(`${format}: over the live database`, async () => {
      const r = await restore(options(pg, { from: { blob: blobs[format] }, runId: `ol-${tag}` }));
      assert.equal(r.targetExisted, true);
      assert.deepStrictEqual(r.propertiesDifferFromBackup, []);
      assert.deepStrictEqual([r.contents, r.contentNotes], ["verified", [REFRESHED_NOTE]]);
      assertSamePicture(await picture(pg, SOURCE), expected);
    });
  }

  /**
   * A copy of the directory backup whose manifest records `edit`ed columns (its sha256 recorded in the copy's
   * metadata, as a backup of a database with those columns would have): what a restore finds when the restored
   * database's columns are not the manifest's.
   */
  async function withColumnsEdited(
    tag: string,
    edit: (r: ManifestRelation) => ManifestRelation,
  ): Promise<string> {
    const c = containerClient(az.store(CONTAINER));
    const name = `edited/${tag}/${SOURCE}_20261124T020000Z`;
    const original = c.getBlobClient(blobs.directory);
    const bytes = await original.downloadToBuffer();
    const m = JSON.parse(
      (await c.getBlobClient(backupManifestBlobName(blobs.directory)).downloadToBuffer()).toString("utf8"),
    ) as Manifest;
    const manifest = serializeManifest({ ...m, backup: name, relations: m.relations.map(edit) });
    await c.getBlockBlobClient(backupManifestBlobName(name)).upload(manifest, manifest.length);
    const metadata = { ...(await original.getProperties()).metadata, manifestsha256: sha256Hex(manifest) };
    await c.getBlockBlobClient(name).upload(bytes, bytes.length, { metadata });
    return name;
  }

  it("a renamed or a retyped column is still refused: the swap is refused, nothing created", async () => {
    const rename = (r: ManifestRelation): ManifestRelation =>
      r.name !== "app.cars"
        ? r
        : {
            ...r,
            columnList: r.columnList!.map((c) => (c.name === "doors" ? { ...c, name: "door_count" } : c)),
          };
    const retype = (r: ManifestRelation): ManifestRelation =>
      r.name !== "app.trucks"
        ? r
        : {
            ...r,
            columnList: r.columnList!.map((c) => (c.name === "payload" ? { ...c, type: "numeric" } : c)),
          };
    const cases: [string, (r: ManifestRelation) => ManifestRelation, RegExp][] = [
      [
        "renamed",
        rename,
        /app\.cars\s+table\s+2\s+2\s+column "door_count" integer missing in the database; column "doors" integer not in the backup/,
      ],
      [
        "retyped",
        retype,
        /app\.trucks\s+table\s+2\s+2\s+column "payload" numeric\(10,2\) in the database, "payload" numeric in the backup/,
      ],
    ];
    for (const [tag, edit, refusal] of cases) {
      const blob = await withColumnsEdited(tag, edit);
      const before = await pg.databases();
      await assert.rejects(
        restore(options(pg, { from: { blob }, database: `edited_${tag}`, runId: `ed-${tag}` })),
        (err: Error) => {
          assert.match(err.message, /swap refused, edited_\w+ was not touched/);
          assert.match(err.message, refusal);
          return true;
        },
      );
      assert.deepStrictEqual(await pg.databases(), before, tag);
    }
  });
});
