/**
 * Backup, restore, compare and list against a real PostgreSQL cluster and Azurite, both started here on
 * 127.0.0.1. Known answers: the seeded database has exact row counts; `expected` is a byte-for-byte copy
 * (CREATE DATABASE … TEMPLATE) taken before the live data is changed.
 */
import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import { appDataCounts, createAppData, type AppDataCounts } from "../../testkit/appdata";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { compare } from "../../src/compare";
import { VerificationError } from "../../src/errors";
import { latestBackup, listBackups } from "../../src/list";
import { restore, type RestoreOptions } from "../../src/restore";
import { stagingMarker } from "../../src/restore-steps";

const CONTAINER = "backups";

function withoutManifest(meta: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(meta).filter(([k]) => k !== "manifestsha256"));
}
const quiet = () => undefined;

describe("tool: backup, restore, compare, list on real servers", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  const counts: AppDataCounts = appDataCounts(1);

  /** Row counts of the seeded tables in a database. */
  async function rowCounts(db: string): Promise<AppDataCounts> {
    const r = await pg.query<{ [K in keyof AppDataCounts]: string }>(
      `SELECT (SELECT count(*) FROM app.accounts) AS accounts, (SELECT count(*) FROM app.events) AS events,
              (SELECT count(*) FROM app.placements) AS placements, (SELECT count(*) FROM app.audit_log) AS audit_log,
              (SELECT count(*) FROM public.documents) AS documents`,
      [],
      db,
    );
    const row = r.rows[0]!;
    return {
      accounts: Number(row.accounts),
      events: Number(row.events),
      placements: Number(row.placements),
      audit_log: Number(row.audit_log),
      documents: Number(row.documents),
    };
  }

  /** Changes live data in every way a bad deploy might. */
  async function damage(db: string): Promise<void> {
    await pg.query("DELETE FROM app.events WHERE id % 3 = 0", [], db);
    await pg.query("UPDATE app.accounts SET status = 'deleted' WHERE id <= 100", [], db);
    await pg.query("INSERT INTO public.documents (title, body) VALUES ('new', '\\x00')", [], db);
    await pg.query("SELECT nextval('public.invoice_number')", [], db);
  }

  const restoreOptions = (
    o: Partial<RestoreOptions> & Pick<RestoreOptions, "from" | "runId">,
  ): RestoreOptions => ({
    connection: pg.connection("postgres"),
    store: az.store(CONTAINER),
    jobs: 2,
    log: quiet,
    ...o,
  });

  async function equal(left: string, right: string): Promise<boolean> {
    return (await compare({ left: pg.connection(left), right: pg.connection(right), log: quiet })).equal;
  }

  let nightly: string;
  const clock = (iso: string) => () => new Date(iso);

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

  it("backs up under the naming module's name with complete metadata", async () => {
    assert.equal(nightly, "nightly/srv/app_20261124T020000Z");
    const [entry] = await listBackups({ store: az.store(CONTAINER), prefix: "nightly/srv" });
    assert.equal(entry?.name, nightly);
    assert.equal(entry?.metadata?.database, "app");
    assert.equal(entry?.metadata?.sourceServer, "srv");
    assert.equal(entry?.metadata?.format, "directory");
    assert.equal(entry?.metadata?.size, entry?.size);
    assert.match(entry?.metadata?.serverVersion ?? "", /^15\./);
    assert.equal(entry?.metadata?.startedAt, "2026-11-24T02:00:00.000Z");
  });

  it("never overwrites: a second backup with the same timestamp fails and the first is intact", async () => {
    const before = (await listBackups({ store: az.store(CONTAINER), prefix: "nightly/srv" }))[0]!;
    await assert.rejects(
      backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "nightly/srv",
        now: clock("2026-11-24T02:00:00Z"),
        log: quiet,
      }),
      /already exists; a backup is never overwritten/,
    );
    const afterList = await listBackups({ store: az.store(CONTAINER), prefix: "nightly/srv" });
    assert.equal(afterList.length, 1);
    assert.equal(afterList[0]!.metadata?.sha256, before.metadata?.sha256);
  });

  it("never overwrites a blob that appears while the dump runs (conditional commit)", async () => {
    const store = az.store(CONTAINER);
    const name = "nightly/race/app_20261124T020000Z";
    const other = containerClient(store).getBlockBlobClient(name);
    let raced: Promise<unknown> | undefined;
    await assert.rejects(
      backup({
        connection: pg.connection("app"),
        store,
        prefix: "nightly/race",
        now: clock("2026-11-24T02:00:00Z"),
        blockSize: 64 * 1024,
        log: quiet,
        onBytes: () => {
          raced ??= other.upload("someone else's", 14);
        },
      }),
      /committing nightly\/race\/app_20261124T020000Z \(it may already exist; backups are never overwritten\); its manifest nightly\/race\/app_20261124T020000Z\.manifest\.json was deleted/,
    );
    await raced;
    assert.equal((await other.downloadToBuffer()).toString(), "someone else's");
    // The manifest, committed before the dump, does not stay behind naming a dump that is not this backup's.
    const left: string[] = [];
    for await (const b of containerClient(store).listBlobsFlat({ prefix: "nightly/race/" }))
      left.push(b.name);
    assert.deepStrictEqual(left, [name]);
  });

  it("known answer: seed, back up, damage, restore → exactly the seeded rows, equal to the copy", async () => {
    await damage("app");
    assert.notDeepStrictEqual(await rowCounts("app"), counts);
    const r = await restore(restoreOptions({ from: { blob: nightly }, runId: "ka-1" }));
    assert.deepStrictEqual(r, {
      status: "restored",
      runId: "ka-1",
      database: "app",
      beforeDatabase: "app_before_ka_1",
      blobName: nightly,
      targetExisted: true,
      contents: "verified",
      properties: "kept",
      propertiesDifferFromBackup: [],
      skippedForMissingRoles: [],
    });
    assert.deepStrictEqual(await rowCounts("app"), counts);
    assert.equal(await equal("expected", "app"), true);
    // The damaged database is kept, and compare sees exactly what the damage changed.
    const diff = await compare({
      left: pg.connection("app_before_ka_1"),
      right: pg.connection("app"),
      log: quiet,
    });
    assert.deepStrictEqual(
      diff.relations.filter((x) => x.differences.length > 0).map((x) => [x.name, x.differences]),
      [
        ["app.accounts", ["content differs"]],
        ["app.events", [`rows ${counts.events - counts.events / 3} vs ${counts.events}`, "content differs"]],
        ["public.documents", [`rows ${counts.documents + 1} vs ${counts.documents}`, "content differs"]],
        ["public.documents_id_seq", [`value ${counts.documents + 1} vs ${counts.documents}`]],
        ["public.invoice_number", ["value 1001 vs 1000"]],
      ],
    );
    assert.deepStrictEqual(await pg.databases(), ["app", "app_before_ka_1", "expected"]);
  });

  it("the same run id again is a no-op and says so (CLI, exit 0)", async () => {
    await pg.query("INSERT INTO app.audit_log VALUES (now(), 'after', 'restore', NULL)", [], "app");
    const lines: string[] = [];
    const env = { ...pg.env("postgres"), ...az.env() };
    const code = await main(
      ["restore", "--container", CONTAINER, "--blob", nightly, "--run-id", "ka-1"],
      env,
      {
        out: (t) => lines.push(t),
        err: (t) => lines.push(t),
      },
    );
    assert.equal(code, 0);
    assert.match(lines.join("\n"), /run ka-1 already completed \(app_before_ka_1 exists\): nothing done/);
    assert.equal((await rowCounts("app")).audit_log, counts.audit_log + 1);
    assert.deepStrictEqual(await pg.databases(), ["app", "app_before_ka_1", "expected"]);
  });

  it("compare via the CLI: exit 1 and a table naming the differing table; exit 0 when equal", async () => {
    const env = { ...pg.env("postgres"), LEFT_PGDATABASE: "expected", RIGHT_PGDATABASE: "app" };
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => undefined };
    assert.equal(await main(["compare"], env, io), 1);
    assert.match(
      out.join("\n"),
      /app\.audit_log\s+table\s+20000\s+20001\s+rows 20000 vs 20001; content differs/,
    );
    assert.match(out.join("\n"), /compare: 1 of 7 relations differ/);
    out.length = 0;
    assert.equal(
      await main(["compare", "--left-database", "expected", "--right-database", "expected"], env, io),
      0,
    );
    assert.deepStrictEqual(out, ["compare: 7 relations, all equal"]);
  });

  it("latest picks the newest committed backup of the database, whatever the upload order", async () => {
    const prefix = "nightly/lat";
    const store = az.store(CONTAINER);
    const made: string[] = [];
    for (const [db, iso] of [
      ["expected", "2026-11-20T02:00:00Z"],
      ["expected", "2026-11-22T02:00:00Z"],
      ["expected", "2026-11-21T02:00:00Z"],
      ["app", "2026-11-23T02:00:00Z"],
    ] as const) {
      made.push(
        (await backup({ connection: pg.connection(db), store, prefix, now: clock(iso), log: quiet }))
          .blobName,
      );
    }
    const container = containerClient(store);
    // Newer, but never committed (a failed backup): invisible.
    await container.getBlockBlobClient(`${prefix}/expected_20261125T020000Z`).stageBlock("YmxvY2s=", "x", 1);
    // Newer, committed, but not this tool's backup (no metadata): skipped.
    await container.getBlockBlobClient(`${prefix}/expected_20261126T020000Z`).upload("junk", 4);
    const entries = await listBackups({ store, prefix });
    assert.deepStrictEqual(
      entries.map((e) => [e.name, e.metadata !== undefined]),
      [
        [`${prefix}/expected_20261126T020000Z`, false],
        [made[3], true],
        [made[1], true],
        [made[2], true],
        [made[0], true],
      ],
    );
    assert.equal(latestBackup(entries, "expected")?.name, `${prefix}/expected_20261122T020000Z`);
    assert.equal(latestBackup(entries)?.name, `${prefix}/app_20261123T020000Z`);

    const r = await restore(
      restoreOptions({ from: { latestUnder: prefix }, database: "expected", runId: "lat-1" }),
    );
    assert.equal(r.blobName, `${prefix}/expected_20261122T020000Z`);

    const out: string[] = [];
    assert.equal(
      await main(["list", "--container", CONTAINER, "--prefix", prefix], az.env(), {
        out: (t) => out.push(t),
        err: () => undefined,
      }),
      0,
    );
    const lines = out.join("\n").split("\n");
    assert.equal(lines.length, 2 + 5);
    assert.match(
      lines[2]!,
      /^nightly\/lat\/expected_20261126T020000Z\s+4 B\s+\S.*not usable: metadata tool is missing/,
    );
    assert.match(lines[3]!, new RegExp(`^${made[3]}\\s+\\d+\\.\\d MiB\\s+.+\\s+[0-9a-f]{64}$`));
  });

  describe("a damaged backup is refused before any database is touched", () => {
    let good: Buffer;
    let goodMeta: Record<string, string>;
    let goodCustom: Buffer;
    let goodCustomMeta: Record<string, string>;
    let liveBefore: boolean;
    let databasesBefore: string[];

    before(async () => {
      const blob = containerClient(az.store(CONTAINER)).getBlobClient(nightly);
      good = await blob.downloadToBuffer();
      // These cases damage the dump itself; its manifest (tool-manifest.test.ts) is not copied along.
      goodMeta = withoutManifest((await blob.getProperties()).metadata ?? {});
      const custom = await backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "damaged/source",
        format: "custom",
        log: quiet,
      });
      const cblob = containerClient(az.store(CONTAINER)).getBlobClient(custom.blobName);
      goodCustom = await cblob.downloadToBuffer();
      goodCustomMeta = withoutManifest((await cblob.getProperties()).metadata ?? {});
      await pg.query("CREATE DATABASE live_snapshot TEMPLATE app");
      liveBefore = await equal("live_snapshot", "app");
      databasesBefore = await pg.databases();
    });

    async function upload(name: string, bytes: Buffer, meta: Record<string, string>): Promise<string> {
      const full = `damaged/srv/${name}`;
      await containerClient(az.store(CONTAINER))
        .getBlockBlobClient(full)
        .upload(bytes, bytes.length, { metadata: meta });
      return full;
    }

    async function assertUntouched(): Promise<void> {
      assert.deepStrictEqual(await pg.databases(), databasesBefore);
      assert.equal(await equal("live_snapshot", "app"), true);
    }

    it("a flipped byte: sha256 mismatch", async () => {
      assert.equal(liveBefore, true);
      const bad = Buffer.from(good);
      bad[Math.floor(bad.length / 2)]! ^= 0xff;
      const name = await upload("app_20261124T030000Z", bad, goodMeta);
      await assert.rejects(
        restore(restoreOptions({ from: { blob: name }, runId: "bad-1", allowUnverified: true })),
        (err: unknown) =>
          err instanceof VerificationError && /sha256 [0-9a-f]{64} does not match/.test(err.message),
      );
      await assertUntouched();
    });

    it("truncated: size mismatch", async () => {
      const name = await upload("app_20261124T040000Z", good.subarray(0, good.length >> 1), goodMeta);
      await assert.rejects(
        restore(restoreOptions({ from: { blob: name }, runId: "bad-2", allowUnverified: true })),
        (err: unknown) =>
          err instanceof VerificationError &&
          /is \d+ bytes but its metadata says \d+: truncated/.test(err.message),
      );
      await assertUntouched();
    });

    it("not a dump, with self-consistent metadata: pg_restore --list refuses it (CLI exit 1)", async () => {
      const junk = Buffer.from("PGDMP? no, just text\n".repeat(100));
      const { createHash } = await import("node:crypto");
      const meta = {
        ...goodCustomMeta,
        size: String(junk.length),
        sha256: createHash("sha256").update(junk).digest("hex"),
      };
      const name = await upload("app_20261124T050000Z", junk, meta);
      const err: string[] = [];
      const code = await main(
        ["restore", "--container", CONTAINER, "--blob", name, "--run-id", "bad-3", "--allow-unverified"],
        { ...pg.env("postgres"), ...az.env() },
        { out: () => undefined, err: (t) => err.push(t) },
      );
      assert.equal(code, 1);
      assert.match(
        err.join("\n"),
        /verification failed: pg_restore --list cannot read damaged\/srv\/app_20261124T050000Z/,
      );
      await assertUntouched();
    });

    it("a directory-format archive truncated, metadata recomputed: it does not unpack", async () => {
      const cut = good.subarray(0, Math.floor(good.length * 0.6));
      const { createHash } = await import("node:crypto");
      const meta = {
        ...goodMeta,
        size: String(cut.length),
        sha256: createHash("sha256").update(cut).digest("hex"),
      };
      const name = await upload("app_20261124T053000Z", cut, meta);
      await assert.rejects(
        restore(restoreOptions({ from: { blob: name }, runId: "bad-6", allowUnverified: true })),
        (err: unknown) =>
          err instanceof VerificationError && /app_20261124T053000Z does not unpack/.test(err.message),
      );
      await assertUntouched();
    });

    it("a custom-format dump truncated after its table of contents, metadata recomputed: pg_restore fails, staging dropped, live untouched", async () => {
      const cut = goodCustom.subarray(0, Math.floor(goodCustom.length * 0.6));
      const { createHash } = await import("node:crypto");
      const meta = {
        ...goodCustomMeta,
        size: String(cut.length),
        sha256: createHash("sha256").update(cut).digest("hex"),
      };
      const name = await upload("app_20261124T060000Z", cut, meta);
      await assert.rejects(
        restore(restoreOptions({ from: { blob: name }, runId: "bad-4", allowUnverified: true })),
        /restoring damaged\/srv\/app_20261124T060000Z into app_restore_bad_4 failed; app was not touched/,
      );
      await assertUntouched();
    });

    it("a staging database the tool did not create is refused, not dropped", async () => {
      // Unmarked and holding a table: not an empty database a killed run left unmarked.
      await pg.query("CREATE DATABASE app_restore_bad_5");
      await pg.query("CREATE TABLE keep (x int)", [], "app_restore_bad_5");
      await assert.rejects(
        restore(restoreOptions({ from: { blob: nightly }, runId: "bad-5" })),
        /app_restore_bad_5 exists and was not created by run bad-5 of this tool; not touching it/,
      );
      assert.equal(await pg.databaseExists("app_restore_bad_5"), true);
      await pg.query("DROP DATABASE app_restore_bad_5");
      await assertUntouched();
    });
  });

  it("restores onto a server without the target database (rebuild), with a record that makes re-runs no-ops", async () => {
    const r = await restore(restoreOptions({ from: { blob: nightly }, database: "rebuilt", runId: "rb-1" }));
    assert.equal(r.targetExisted, false);
    assert.deepStrictEqual(await rowCounts("rebuilt"), counts);
    assert.equal(await equal("expected", "rebuilt"), true);
    const placeholder = await pg.query<{ c: string }>(
      "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'rebuilt_before_rb_1'",
    );
    // The run's record: which blob it restored, and that the target did not exist before.
    const record = JSON.parse(placeholder.rows[0]!.c) as Record<string, unknown>;
    assert.deepStrictEqual(
      { ...record, restoredAt: typeof record.restoredAt, sha256: typeof record.sha256 },
      {
        tool: "dr-data-restore/1",
        runId: "rb-1",
        database: "rebuilt",
        container: CONTAINER,
        blob: nightly,
        sha256: "string",
        manifestSha256: (await listBackups({ store: az.store(CONTAINER), prefix: "nightly/srv" }))[0]!
          .metadata!.manifestSha256,
        restoredAt: "string",
        previousComment: "dr-data placeholder: rebuilt did not exist before run rb-1",
      },
    );
    const live = await pg.query<{ c: string | null }>(
      "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'rebuilt'",
    );
    assert.deepStrictEqual(live.rows, [{ c: null }]);
    const again = await restore(
      restoreOptions({ from: { blob: nightly }, database: "rebuilt", runId: "rb-1" }),
    );
    assert.equal(again.status, "already-completed");
  });

  it("custom format (pg_dump -Fc streamed into blocks) round-trips", async () => {
    const b = await backup({
      connection: pg.connection("expected"),
      store: az.store(CONTAINER),
      prefix: "nightly/custom",
      format: "custom",
      now: clock("2026-11-24T02:00:00Z"),
      log: quiet,
    });
    assert.equal(b.metadata.format, "custom");
    const r = await restore(
      restoreOptions({ from: { blob: b.blobName }, database: "fromcustom", runId: "custom-1" }),
    );
    assert.equal(r.status, "restored");
    assert.equal(await equal("expected", "fromcustom"), true);
  });

  it("leaves no staging database behind and marks none as its own after success", async () => {
    const r = await pg.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1",
      [`${stagingMarker("database", "")}%`],
    );
    assert.deepStrictEqual(r.rows, []);
    assert.deepStrictEqual(
      (await pg.databases()).filter((d) => d.includes("_restore_")),
      [],
    );
  });

  it("list ages are computed from the name", async () => {
    const entries = await listBackups({ store: az.store(CONTAINER), prefix: "nightly/srv" });
    assert.equal(
      entries[0]?.startedAt.toISO(),
      DateTime.fromISO("2026-11-24T02:00:00Z", { zone: "utc" }).toISO(),
    );
  });

  it("pg_restore's progress: every archive entry of the table of contents counted, and the dump's data bytes", async () => {
    const lines: string[] = [];
    await restore(
      restoreOptions({
        from: { blob: nightly },
        database: "progress",
        runId: "pr-1",
        log: (l) => lines.push(l),
      }),
    );
    await pg.query('DROP DATABASE "progress"');
    const entries = Number(/and (\d+) archive entries/.exec(lines.join("\n"))?.[1]);
    assert.ok(entries > 10, lines.join("\n"));
    const last = lines.find((l) => l.startsWith("restore: pg_restore ") && l.endsWith("(done)"));
    assert.match(
      last ?? lines.join("\n"),
      new RegExp(
        `^restore: pg_restore ${entries} of ${entries} archive entries \\(100%\\), data (\\d+\\.\\d [KM]iB|\\d+ B) of \\1 \\(100%\\), .*/s, ETA of the data 0\\.0 s \\(then indexes and constraints\\), .* elapsed \\(done\\)$`,
      ),
    );
    // pg_restore --verbose's lines feed the progress; none reaches the log as such.
    assert.deepStrictEqual(
      lines.filter((l) => /^pg_restore: /.test(l)),
      [],
    );
  });

  it("the tables' contents are checked while pg_restore runs (jobs 2), all after it with jobs 1: same verdict", async () => {
    const run = async (jobs: number, db: string, runId: string) => {
      const lines: string[] = [];
      const r = await restore(
        restoreOptions({ from: { blob: nightly }, database: db, runId, jobs, log: (l) => lines.push(l) }),
      );
      await pg.query(`DROP DATABASE "${db}"`);
      return { r, log: lines.find((l) => l.startsWith("restore: contents verified")) ?? lines.join("\n") };
    };
    const parallel = await run(2, "overlap2", "ov-2");
    const serial = await run(1, "overlap1", "ov-1");
    assert.equal(parallel.r.contents, "verified");
    assert.equal(serial.r.contents, "verified");
    // At least the first finished table is read while pg_restore runs (its read is awaited); those queued when
    // pg_restore exits go to the check after it. The five tables of the app data are COPY-summarized.
    const early = Number(
      /\(7 relations, ([1-5]) of them while pg_restore ran, row counts and checksums\)/.exec(
        parallel.log,
      )?.[1],
    );
    assert.ok(early >= 1 && early <= 5, parallel.log);
    assert.match(
      serial.log,
      /^restore: contents verified against the manifest \(7 relations, row counts and checksums\)/,
    );
  });

  it("a parallel directory backup uploads each table's file while pg_dump dumps the others; a serial one after", async () => {
    const run = async (jobs: number, prefix: string) => {
      const lines: string[] = [];
      const r = await backup({
        connection: pg.connection("expected"),
        store: az.store(CONTAINER),
        prefix,
        jobs,
        log: (l) => lines.push(l),
      });
      return { r, early: lines.filter((l) => / table files were uploading while pg_dump ran$/.test(l)) };
    };
    const parallel = await run(2, "overlap/jobs2");
    const serial = await run(1, "overlap/jobs1");
    // The five tables of the app data: every one's file is finished before pg_dump exits.
    assert.deepStrictEqual(parallel.early, ["backup: 5 table files were uploading while pg_dump ran"]);
    assert.deepStrictEqual(serial.early, []);
    for (const { r } of [parallel, serial]) {
      await restore(restoreOptions({ from: { blob: r.blobName }, database: "overlapped", runId: "ovb-1" }));
      assert.equal(await equal("expected", "overlapped"), true);
      await pg.query('DROP DATABASE "overlapped"');
      await pg.query('DROP DATABASE "overlapped_before_ovb_1"');
    }
  });
});
