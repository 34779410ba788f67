/**
 * The backup manifest (packages/dr-data/src/manifest.ts) against a real PostgreSQL cluster and Azurite: taken in pg_dump's
 * snapshot, checked by restore before the swap, and by `compare --run-id` / `--against-backup`.
 */
import { strict as assert } from "node:assert";
import { Client } from "pg";
import { backupManifestBlobName } from "../../src/naming";
import { appDataCounts, createAppData } from "../../testkit/appdata";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { compare } from "../../src/compare";
import { clientConfig } from "../../src/connection";
import { VerificationError } from "../../src/errors";
import {
  MANIFEST_V3,
  MANIFEST_V4,
  MANIFEST_VERSION,
  parseManifest,
  serializeManifest,
  sha256Hex,
  sequenceWithin,
  type Manifest,
} from "../../src/manifest";
import { restore, type RestoreOptions } from "../../src/restore";

const CONTAINER = "backups";
const quiet = () => undefined;

/** A /5 manifest as an older tool wrote it: no column lists, no materialized views, no table of contents. */
function olderManifest({ tableOfContents: _toc, ...m }: Manifest, tool: string): Manifest {
  return {
    ...m,
    tool,
    relations: m.relations
      .filter((r) => r.kind !== "materialized view")
      .map(({ columnList: _columns, populated: _populated, ...r }) => r),
  };
}

describe("tool: backup manifest, checked by restore and compare", function () {
  this.timeout(180_000);
  let pg: PgCluster;
  let az: Azurite;
  const counts = appDataCounts(1);
  const clock = (iso: string) => () => new Date(iso);
  let nightly: string;

  const restoreOptions = (
    o: Partial<RestoreOptions> & Pick<RestoreOptions, "from" | "runId">,
  ): RestoreOptions => ({
    connection: pg.connection("postgres"),
    store: az.store(CONTAINER),
    jobs: 2,
    log: quiet,
    ...o,
  });

  async function cli(argv: string[], env: Record<string, string>): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    const code = await main(argv, env, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
    return { code, text: lines.join("\n") };
  }

  async function readManifestBlob(name: string): Promise<Manifest> {
    const bytes = await containerClient(az.store(CONTAINER))
      .getBlobClient(backupManifestBlobName(name))
      .downloadToBuffer();
    return parseManifest(bytes.toString("utf8"), name);
  }

  async function metadataOf(name: string): Promise<Record<string, string>> {
    return (await containerClient(az.store(CONTAINER)).getBlobClient(name).getProperties()).metadata ?? {};
  }

  async function equal(left: string, right: string): Promise<boolean> {
    return (await compare({ left: pg.connection(left), right: pg.connection(right), log: quiet })).equal;
  }

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await createAppData(pg.connection("app"), 1);
    await pg.query("CREATE DATABASE expected TEMPLATE app");
    nightly = (
      await backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "nightly/srv",
        sourceServer: "srv",
        now: clock("2026-11-24T02:00:00Z"),
        log: quiet,
      })
    ).blobName;
  });

  it("the sequence rule: a value between the readings before and after pg_dump, inclusive", () => {
    assert.equal(sequenceWithin("1000", "1000", "1000"), true);
    assert.equal(sequenceWithin("1001", "1000", "1000"), false);
    assert.equal(sequenceWithin("1005", "1000", "1010"), true);
    assert.equal(sequenceWithin("1011", "1000", "1010"), false);
    assert.equal(sequenceWithin("1000/not called", "1000/not called", "1003"), true);
    assert.equal(sequenceWithin("999", "1000/not called", "1003"), false);
    assert.equal(sequenceWithin("7", "10", "5"), true); // a descending sequence
  });

  it("known answer: the manifest holds the seeded counts; restore verifies it and says so (CLI)", async () => {
    const meta = await metadataOf(nightly);
    const bytes = await containerClient(az.store(CONTAINER))
      .getBlobClient(backupManifestBlobName(nightly))
      .downloadToBuffer();
    assert.equal(meta.manifestsha256, sha256Hex(bytes));
    const m = await readManifestBlob(nightly);
    assert.equal(m.backup, nightly);
    const rows = Object.fromEntries(m.relations.map((r) => [r.name, r.rows]));
    assert.deepStrictEqual(rows, {
      "app.accounts": counts.accounts,
      "app.audit_log": counts.audit_log,
      "app.events": counts.events,
      "app.placements": counts.placements,
      "public.documents": counts.documents,
      "public.documents_id_seq": 1,
      "public.invoice_number": 1,
    });
    // A directory backup's manifest is /4: every table summarized from the dump's own COPY text.
    assert.equal(m.tool, MANIFEST_VERSION);
    assert.deepStrictEqual(
      m.relations.map((r) => [r.name, r.method ?? "server"]),
      m.relations.map((r) => [r.name, r.kind === "table" ? "copy" : "server"]),
    );
    const seq = m.relations.find((r) => r.name === "public.invoice_number")!;
    assert.deepStrictEqual([seq.checksum, seq.checksumAfter], ["1000", "1000"]);

    const list = await cli(["list", "--container", CONTAINER, "--prefix", "nightly/srv"], az.env());
    assert.match(list.text, /manifest/);
    assert.match(list.text, new RegExp(`^${nightly}\\s+\\S+ MiB\\s+.+\\s+yes\\s+[0-9a-f]{64}$`, "m"));

    const env = { ...pg.env("postgres"), ...az.env() };
    const r = await cli(
      ["restore", "--container", CONTAINER, "--blob", nightly, "--database", "r1", "--run-id", "m-1"],
      env,
    );
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /contents verified against the backup's manifest/);
    assert.equal(await equal("expected", "r1"), true);
  });

  it("compare --run-id and --against-backup: equal → exit 0; a changed table → exit 1 naming it", async () => {
    const env = { ...pg.env("r1"), ...az.env() };
    const byRun = await cli(["compare", "--run-id", "m-1", "--container", CONTAINER], env);
    assert.equal(byRun.code, 0, byRun.text);
    assert.match(byRun.text, /compare: 7 relations, all equal/);
    assert.match(byRun.text, new RegExp(`backup: ${CONTAINER}/${nightly}`));
    const byName = await cli(["compare", "--against-backup", nightly, "--container", CONTAINER], env);
    assert.equal(byName.code, 0, byName.text);
    const byLatest = await cli(
      [
        "compare",
        "--against-backup",
        "latest",
        "--container",
        CONTAINER,
        "--prefix",
        "nightly/srv",
        "--source-database",
        "app",
      ],
      env,
    );
    assert.equal(byLatest.code, 0, byLatest.text);

    await pg.query("DELETE FROM app.placements WHERE id = 7", [], "r1");
    await pg.query("SELECT nextval('public.invoice_number')", [], "r1");
    for (const argv of [
      ["compare", "--run-id", "m-1"],
      ["compare", "--against-backup", nightly, "--container", CONTAINER, "--database", "r1"],
    ]) {
      const r = await cli(argv, env);
      assert.equal(r.code, 1, r.text);
      assert.match(r.text, /app\.placements\s+table\s+19999\s+20000\s+rows 19999 vs 20000; content differs/);
      assert.match(
        r.text,
        /public\.invoice_number\s+sequence\s+1001\s+1000\s+value 1001 not within the backup's 1000/,
      );
      assert.match(r.text, /compare: 2 of 7 relations differ/);
    }
    // A run id that did not complete into this database is an error, not "equal".
    const none = await cli(["compare", "--run-id", "m-9"], env);
    assert.equal(none.code, 1);
    assert.match(none.text, /restore run m-9 has not completed into r1/);
  });

  it("rows written by another session while the backup runs do not make the manifest disagree with the dump", async () => {
    await pg.query("CREATE DATABASE busy");
    await pg.query(
      `CREATE TABLE big (id bigserial PRIMARY KEY, pad text NOT NULL);
       INSERT INTO big (pad) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 300000) g;
       CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());`,
      [],
      "busy",
    );
    const writer = new Client(clientConfig(pg.connection("busy"), "test-writer"));
    await writer.connect();
    let stop = false;
    let written = 0;
    const loop = (async () => {
      while (!stop) {
        await writer.query(
          "INSERT INTO big (pad) VALUES (repeat('w', 200)); INSERT INTO ticks DEFAULT VALUES",
        );
        written++;
      }
    })();
    try {
      while (written < 20) await new Promise((r) => setTimeout(r, 10));
      const startRows = written;
      const b = await backup({
        connection: pg.connection("busy"),
        store: az.store(CONTAINER),
        prefix: "busy/srv",
        jobs: 2,
        log: quiet,
      });
      const endRows = written;
      stop = true;
      await loop;
      const m = await readManifestBlob(b.blobName);
      const big = m.relations.find((r) => r.name === "public.big")!;
      // The writes really overlapped the backup: some before its snapshot, more after it.
      assert.ok(big.rows >= 300000 + startRows, `${big.rows} rows in the manifest`);
      assert.ok(endRows - startRows > 50, `only ${endRows - startRows} inserts during the backup`);
      const final = Number(
        (await pg.query<{ n: string }>("SELECT count(*) AS n FROM big", [], "busy")).rows[0]!.n,
      );
      assert.ok(big.rows < final, `manifest ${big.rows}, final ${final}`);
      // The sequences advanced during the backup: the manifest holds two different readings.
      const seq = m.relations.find((r) => r.name === "public.big_id_seq")!;
      assert.notEqual(seq.checksum, seq.checksumAfter);

      const r = await restore(
        restoreOptions({ from: { blob: b.blobName }, database: "busy_copy", runId: "busy-1" }),
      );
      assert.equal(r.contents, "verified");
      const restored = await pg.query<{ n: string }>("SELECT count(*) AS n FROM big", [], "busy_copy");
      assert.equal(Number(restored.rows[0]!.n), big.rows);
    } finally {
      stop = true;
      await loop.catch(() => undefined);
      await writer.end();
    }
  });

  describe("a manifest that does not match is refused, the live database untouched", () => {
    let databasesBefore: string[];

    before(async () => {
      await pg.query("CREATE DATABASE live TEMPLATE expected");
      await pg.query("INSERT INTO app.audit_log VALUES (now(), 'marker', 'live', NULL)", [], "live");
      await pg.query("CREATE DATABASE live_copy TEMPLATE live");
    });

    beforeEach(async () => {
      databasesBefore = await pg.databases();
    });

    async function assertUntouched(): Promise<void> {
      assert.deepStrictEqual(await pg.databases(), databasesBefore);
      assert.equal(await equal("live", "live_copy"), true);
    }

    /** A fresh copy of the nightly backup (dump, metadata, manifest) under `tampered/<tag>`. */
    async function copyOfNightly(tag: string): Promise<string> {
      const c = containerClient(az.store(CONTAINER));
      const name = `tampered/${tag}/app_20261124T020000Z`;
      const bytes = await c.getBlobClient(nightly).downloadToBuffer();
      await c.getBlockBlobClient(name).upload(bytes, bytes.length, { metadata: await metadataOf(nightly) });
      const mbytes = await c.getBlobClient(backupManifestBlobName(nightly)).downloadToBuffer();
      const m = JSON.parse(mbytes.toString("utf8")) as Manifest;
      const again = serializeManifest({ ...m, backup: name });
      await c.getBlockBlobClient(backupManifestBlobName(name)).upload(again, again.length);
      await c
        .getBlobClient(name)
        .setMetadata({ ...(await metadataOf(name)), manifestsha256: sha256Hex(again) });
      return name;
    }

    /** Rewrites the manifest with one wrong row count; `resign`: also records the new sha256 in the metadata. */
    async function tamper(name: string, resign: boolean): Promise<void> {
      const c = containerClient(az.store(CONTAINER));
      const m = await readManifestBlob(name);
      const changed = serializeManifest({
        ...m,
        relations: m.relations.map((r) => (r.name === "app.events" ? { ...r, rows: r.rows + 1 } : r)),
      });
      await c.getBlockBlobClient(backupManifestBlobName(name)).upload(changed, changed.length);
      if (resign) {
        await c
          .getBlobClient(name)
          .setMetadata({ ...(await metadataOf(name)), manifestsha256: sha256Hex(changed) });
      }
    }

    /** Rewrites the manifest with `edit` and records its new sha256 in the metadata (a consistent forgery). */
    async function rewriteManifest(name: string, edit: (m: Manifest) => Manifest): Promise<void> {
      const c = containerClient(az.store(CONTAINER));
      const changed = serializeManifest(edit(await readManifestBlob(name)));
      await c.getBlockBlobClient(backupManifestBlobName(name)).upload(changed, changed.length);
      await c
        .getBlobClient(name)
        .setMetadata({ ...(await metadataOf(name)), manifestsha256: sha256Hex(changed) });
    }

    const restoreCli = (name: string, runId: string) =>
      cli(["restore", "--container", CONTAINER, "--blob", name, "--database", "live", "--run-id", runId], {
        ...pg.env("postgres"),
        ...az.env(),
      });

    it("one table's COPY checksum changed, its row count kept: the swap is refused, naming the table", async () => {
      const name = await copyOfNightly("checksum");
      const flip = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
      await rewriteManifest(name, (m) => ({
        ...m,
        relations: m.relations.map((r) =>
          r.name === "app.events" ? { ...r, checksum: flip(r.checksum) } : r,
        ),
      }));
      const r = await restoreCli(name, "t-4");
      assert.equal(r.code, 1, r.text);
      assert.match(r.text, /app\.events\s+table\s+30000\s+30000\s+content differs/);
      assert.doesNotMatch(r.text, /app\.accounts/);
      await assertUntouched();
    });

    it("a /3 manifest (an older tool's, checksums server-side) restores, each table checked server-side", async () => {
      const old = await backup({
        connection: pg.connection("expected"),
        store: az.store(CONTAINER),
        prefix: "v3/srv",
        format: "custom",
        log: quiet,
      });
      const taken = await readManifestBlob(old.blobName);
      assert.deepStrictEqual(
        taken.relations.filter((r) => r.method !== undefined),
        [],
        "a custom-format backup's manifest is server-side",
      );
      await rewriteManifest(old.blobName, (m) => olderManifest(m, MANIFEST_V3));
      const r = await restore(
        restoreOptions({ from: { blob: old.blobName }, database: "v3", runId: "v3-1" }),
      );
      assert.equal(r.contents, "verified");
      assert.equal(await equal("expected", "v3"), true);
      databasesBefore = await pg.databases();
    });

    it("a /4 manifest relabelled /3 (COPY checksums read as server-side ones): refused, live untouched", async () => {
      const name = await copyOfNightly("relabelled");
      await rewriteManifest(name, (m) => ({
        ...olderManifest(m, MANIFEST_V3),
        relations: olderManifest(m, MANIFEST_V3).relations.map(({ method: _method, ...r }) => r),
      }));
      const r = await restoreCli(name, "t-5");
      assert.equal(r.code, 1, r.text);
      assert.match(r.text, /swap refused, live was not touched/);
      assert.match(r.text, /app\.accounts\s+table\s+\d+\s+\d+\s+content differs/);
      await assertUntouched();
    });

    it("a /4 manifest (the tool's before /5: columns as one ordered text) restores as before, verified", async () => {
      const name = await copyOfNightly("v4");
      await rewriteManifest(name, (m) => olderManifest(m, MANIFEST_V4));
      const r = await restore(restoreOptions({ from: { blob: name }, database: "v4", runId: "v4-1" }));
      assert.equal(r.contents, "verified");
      assert.equal(await equal("expected", "v4"), true);
      databasesBefore = await pg.databases();
    });

    it("a /5 manifest relabelled /4 (what /5 added kept): refused before anything is touched", async () => {
      const name = await copyOfNightly("relabelled4");
      await rewriteManifest(name, (m) => ({ ...m, tool: MANIFEST_V4 }));
      const r = await restoreCli(name, "t-6");
      assert.equal(r.code, 1, r.text);
      assert.match(r.text, /is not a dr-data manifest: dr-data-manifest\/4 records no tableOfContents/);
      await assertUntouched();
    });

    it("a copy of the backup itself restores (the fixture is sound)", async () => {
      const name = await copyOfNightly("sound");
      const r = await restore(restoreOptions({ from: { blob: name }, database: "sound", runId: "sound-1" }));
      assert.equal(r.contents, "verified");
      databasesBefore = await pg.databases();
    });

    it("manifest edited, metadata not updated: sha256 mismatch, refused before any database is touched", async () => {
      const name = await copyOfNightly("unsigned");
      await tamper(name, false);
      const r = await cli(
        ["restore", "--container", CONTAINER, "--blob", name, "--database", "live", "--run-id", "t-1"],
        { ...pg.env("postgres"), ...az.env() },
      );
      assert.equal(r.code, 1);
      assert.match(
        r.text,
        /verification failed: the manifest .*\.manifest\.json has sha256 [0-9a-f]{64}, but .* records [0-9a-f]{64}: it was changed or replaced/,
      );
      await assertUntouched();
    });

    it("manifest edited and its sha256 recomputed in the metadata: the check after pg_restore refuses the swap", async () => {
      const name = await copyOfNightly("resigned");
      await tamper(name, true);
      const r = await cli(
        ["restore", "--container", CONTAINER, "--blob", name, "--database", "live", "--run-id", "t-2"],
        { ...pg.env("postgres"), ...az.env() },
      );
      assert.equal(r.code, 1, r.text);
      assert.match(
        r.text,
        /live_restore_t_2 does not hold what the manifest of .* records; swap refused, live was not touched, live_restore_t_2 dropped/,
      );
      assert.match(r.text, /app\.events\s+table\s+30000\s+30001\s+rows 30000 vs 30001/);
      assert.doesNotMatch(r.text, /app\.accounts/);
      await assertUntouched();
    });

    it("a dump whose data differs from its manifest: refused, staging dropped, live untouched", async () => {
      // Another database's dump (one row fewer in app.placements) under the nightly's name, its metadata
      // recomputed for its bytes, the nightly's genuine manifest kept.
      await pg.query("CREATE DATABASE other TEMPLATE expected");
      await pg.query("DELETE FROM app.placements WHERE id = 42", [], "other");
      const other = await backup({
        connection: pg.connection("other"),
        store: az.store(CONTAINER),
        prefix: "other/srv",
        manifest: false,
        log: quiet,
      });
      const name = await copyOfNightly("swapped-dump");
      const c = containerClient(az.store(CONTAINER));
      const bytes = await c.getBlobClient(other.blobName).downloadToBuffer();
      const meta = await metadataOf(name);
      await c.getBlockBlobClient(name).upload(bytes, bytes.length, {
        metadata: { ...meta, sha256: other.metadata.sha256, size: String(other.metadata.size) },
      });
      databasesBefore = await pg.databases();
      await assert.rejects(
        restore(restoreOptions({ from: { blob: name }, database: "live", runId: "t-3" })),
        (err: Error) =>
          err instanceof VerificationError &&
          /swap refused, live was not touched, live_restore_t_3 dropped/.test(err.message) &&
          /app\.placements\s+table\s+19999\s+20000\s+rows 19999 vs 20000; content differs/.test(err.message),
      );
      await assertUntouched();
    });
  });

  it("backup --no-manifest: says restore will need --allow-unverified; restore refuses without it, works with it", async () => {
    const env = { ...pg.env("expected"), ...az.env() };
    const b = await cli(["backup", "--container", CONTAINER, "--prefix", "plain/srv", "--no-manifest"], env);
    assert.equal(b.code, 0, b.text);
    assert.match(
      b.text,
      /backup: no manifest taken \(--no-manifest\): plain\/srv\/expected_\d{8}T\d{6}Z cannot be verified on restore, and restoring it will need --allow-unverified/,
    );
    const name = b.text.split("\n").find((l) => l.startsWith("plain/srv/"))!;
    assert.equal((await metadataOf(name)).manifestsha256, undefined);
    const exists = await containerClient(az.store(CONTAINER))
      .getBlobClient(backupManifestBlobName(name))
      .exists();
    assert.equal(exists, false);
    const list = await cli(["list", "--container", CONTAINER, "--prefix", "plain/srv"], az.env());
    assert.match(list.text, new RegExp(`^${name}\\s+\\S+ MiB\\s+.+\\s+no\\s+[0-9a-f]{64}$`, "m"));
    const restoreArgv = [
      "restore",
      "--container",
      CONTAINER,
      "--blob",
      name,
      "--database",
      "plain",
      "--run-id",
      "p-1",
    ];
    const databasesBefore = await pg.databases();
    const refused = await cli(restoreArgv, { ...pg.env("postgres"), ...az.env() });
    assert.equal(refused.code, 1);
    assert.equal(
      refused.text,
      `dr-data: verification failed: ${CONTAINER}/${name} has no manifest (taken with --no-manifest or by an older ` +
        "tool): its contents cannot be verified before the swap, so nothing was done; to restore it unverified, " +
        "run again with --allow-unverified",
    );
    assert.deepStrictEqual(await pg.databases(), databasesBefore);
    const r = await cli([...restoreArgv, "--allow-unverified"], { ...pg.env("postgres"), ...az.env() });
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /no manifest: contents NOT verified \(--allow-unverified\)/);
    assert.equal(await equal("expected", "plain"), true);
    const c = await cli(["compare", "--run-id", "p-1"], { ...pg.env("plain"), ...az.env() });
    assert.equal(c.code, 1);
    assert.match(c.text, /has no manifest .*: nothing to compare with/);
  });

  it("compare flags: --run-id and --against-backup exclude each other and the two-database flags (exit 2)", async () => {
    const env = { ...pg.env("r1"), ...az.env() };
    for (const argv of [
      ["compare", "--run-id", "m-1", "--against-backup", "latest"],
      ["compare", "--run-id", "m-1", "--left-database", "x"],
      ["compare", "--against-backup", "latest", "--container", CONTAINER],
      ["compare", "--against-backup", nightly],
      ["compare", "--container", CONTAINER],
    ]) {
      assert.equal((await cli(argv, env)).code, 2, argv.join(" "));
    }
  });
});
