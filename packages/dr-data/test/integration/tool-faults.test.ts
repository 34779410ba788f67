/**
 * Faults, each asserting that nothing is lost and nothing half-done is visible: the blob store stopped in the
 * middle of a backup, pg_dump dying mid-stream, the backup and the restore processes SIGKILLed (as a pod kill
 * would: the whole process group), and a re-run of the killed restore.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { appDataCounts, createAppData } from "../../testkit/appdata";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedPg } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { compare } from "../../src/compare";
import { DirectoryUpload } from "../../src/directory-upload";
import { listBackups } from "../../src/list";
import { restore } from "../../src/restore";
import { stagingMarker } from "../../src/restore-steps";

const CONTAINER = "backups";
const ROOT = path.resolve(__dirname, "../..");
const quiet = () => undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("tool: faults on real servers", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let azDir: string;

  before(async () => {
    azDir = mkdtempSync(path.join(os.tmpdir(), "dr-azurite-"));
    // Its own Azurite: these cases stop it mid-backup.
    [pg, az] = await Promise.all([sharedPg(), Azurite.start({ location: azDir })]);
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE big");
    // ≈ 40 MB of hex text: a dump that takes long enough to be interrupted.
    await pg.query(
      "CREATE TABLE blobs AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) AS v " +
        "FROM generate_series(1, 400000) g",
      [],
      "big",
    );
    await pg.query("CREATE DATABASE app");
    await createAppData(pg.connection("app"), 6);
  });

  after(async () => {
    await az?.stop();
    if (azDir !== undefined) rmSync(azDir, { recursive: true, force: true });
  });

  async function visible(prefix: string): Promise<string[]> {
    return (await listBackups({ store: az.store(CONTAINER), prefix })).map((e) => e.name);
  }

  /** Polls a query until it returns a row; fails if `alive()` turns false first. */
  async function waitFor(sql: string, params: unknown[], alive: () => boolean): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if ((await pg.query(sql, params)).rows.length > 0) return;
      if (!alive()) throw new Error(`the process ended before: ${sql}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${sql}`);
      await sleep(20);
    }
  }

  /** The CLI as a child in its own process group, as a Job's container runs it. */
  function spawnCli(args: string[]) {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...pg.env("postgres"), ...az.env() },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    let alive = true;
    void exit.then(() => (alive = false));
    return { child, exit, output: () => output, alive: () => alive };
  }

  it("the blob store stopped mid-backup: the backup fails, and after the store is back no blob is visible", async () => {
    // A committed backup from before the outage must survive it: this is what makes "no blob" meaningful.
    const kept = await backup({
      connection: pg.connection("app"),
      store: az.store(CONTAINER),
      prefix: "outage/kept",
      log: quiet,
    });
    let staged = 0;
    let stopping: Promise<void> | undefined;
    await assert.rejects(
      backup({
        connection: pg.connection("big"),
        store: az.store(CONTAINER),
        prefix: "outage/srv",
        compress: "0",
        blockSize: 256 * 1024,
        uploadConcurrency: 2,
        log: quiet,
        onBytes: (n) => {
          staged += n;
          if (staged >= 1024 * 1024) stopping ??= az.stop();
        },
      }),
      /backup of big failed, nothing committed/,
    );
    await stopping;
    assert.ok(staged >= 1024 * 1024 && staged < 40 * 1024 * 1024, `stopped after ${staged} bytes`);
    await az.restart();
    assert.deepStrictEqual(await visible("outage/kept"), [kept.blobName]);
    assert.deepStrictEqual(await visible("outage/srv"), []);
  });

  it("a backup too large for 50,000 blocks (simulated size) fails before it starts, naming the limit", async () => {
    let staged = 0;
    await assert.rejects(
      backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "toolarge/srv",
        expectedBytes: 60 * 1024 ** 4,
        log: quiet,
        onBytes: (n) => (staged += n),
      }),
      /^UsageError: this backup is expected to be 60\.0 TiB: a block blob holds at most 50,000 blocks of 4000 MiB \(190\.7 TiB\), which is less than 4× that; nothing was started$/,
    );
    assert.equal(staged, 0);
    assert.deepStrictEqual(await visible("toolarge/srv"), []);
  });

  it("an explicit block size too small for the database's size is refused before the dump", async () => {
    await assert.rejects(
      backup({
        connection: pg.connection("app"),
        store: az.store(CONTAINER),
        prefix: "toolarge/explicit",
        blockSize: 1024 * 1024,
        expectedBytes: 20 * 1024 ** 3,
        log: quiet,
      }),
      /--block-size-mib 1: 50,000 blocks \(Azure's limit per blob\) of it hold 48\.8 GiB, less than 4× this backup's expected 20\.0 GiB; allowed: at least 2 MiB/,
    );
    assert.deepStrictEqual(await visible("toolarge/explicit"), []);
  });

  it("zstd fails under tar (directory format): the backup fails naming both, and commits nothing", async () => {
    // A zstd that answers --version (the preflight) and fails on data, first on PATH for this backup only.
    const bin = mkdtempSync(path.join(os.tmpdir(), "dr-fake-zstd-"));
    writeFileSync(
      path.join(bin, "zstd"),
      '#!/bin/sh\n[ "$1" = "--version" ] && { echo "fake zstd"; exit 0; }\necho "zstd: simulated failure" >&2\nexit 3\n',
      { mode: 0o755 },
    );
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath ?? ""}`;
    try {
      await assert.rejects(
        backup({
          connection: pg.connection("app"),
          store: az.store(CONTAINER),
          prefix: "zstdfails/srv",
          log: quiet,
        }),
        /^Error: backup of app failed, nothing committed: tar exited with status 2: .*zstd: simulated failure.*Child returned status 3/s,
      );
    } finally {
      process.env.PATH = oldPath;
      rmSync(bin, { recursive: true, force: true });
    }
    assert.deepStrictEqual(await visible("zstdfails/srv"), []);
  });

  it("the directory upload's progress counts the dump's bytes to the total, whatever zstd makes of them", async () => {
    const lines: string[] = [];
    const r = await backup({
      connection: pg.connection("app"),
      store: az.store(CONTAINER),
      prefix: "progress/srv",
      log: (l) => lines.push(l),
    });
    const done = lines.filter((l) => l.startsWith("backup: uploaded: ") && l.endsWith("(done)"));
    assert.equal(done.length, 1, lines.join("\n"));
    const m = /^backup: uploaded: (\S+ \S+) of (\S+ \S+) \(100%\)/.exec(done[0]!);
    assert.ok(m !== null, done[0]);
    assert.equal(m[1], m[2]);
    // The stream is compressed: the blob is smaller than the dump the progress counted.
    const [amount, unit] = m[2]!.split(" ");
    const counted = Number(amount) * 1024 ** ["B", "KiB", "MiB", "GiB"].indexOf(unit!);
    assert.equal(r.metadata.streamCompress, "zstd:1");
    assert.ok(r.metadata.size < counted, `${r.metadata.size} stored vs ${counted} counted`);
  });

  it("pg_dump dies mid-stream (its session terminated): the backup fails and commits nothing", async () => {
    let terminated: Promise<unknown> | undefined;
    await assert.rejects(
      backup({
        connection: pg.connection("big"),
        store: az.store(CONTAINER),
        prefix: "dumpdies/srv",
        format: "custom",
        compress: "0",
        blockSize: 256 * 1024,
        log: quiet,
        onBytes: () => {
          terminated ??= pg.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dr-data-backup' AND datname = 'big'",
          );
        },
      }),
      /backup of big failed, nothing committed.*pg_dump exited with status 1/s,
    );
    await terminated;
    assert.deepStrictEqual(await visible("dumpdies/srv"), []);
  });

  it("pg_dump dies while the directory format's finished files upload: nothing committed, tar stopped", async () => {
    // A small table's file (≈ 13 MB of hex: enough for zstd's multi-threaded jobs to emit blocks) is finished
    // and uploading while the other worker still dumps a large one (≈ 110 MB, about twice as long here); the
    // first staged block ends pg_dump's sessions.
    await pg.query("CREATE DATABASE twosizes");
    await pg.query(
      "CREATE TABLE large AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) AS v " +
        "FROM generate_series(1, 1100000) g; " +
        "CREATE TABLE small AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) AS v FROM generate_series(1, 200000) g",
      [],
      "twosizes",
    );
    let terminated: Promise<unknown> | undefined;
    const lines: string[] = [];
    try {
      await assert.rejects(
        backup({
          connection: pg.connection("twosizes"),
          store: az.store(CONTAINER),
          prefix: "dirdies/srv",
          blockSize: 256 * 1024,
          log: (l) => lines.push(l),
          onBytes: () => {
            terminated ??= pg.query(
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dr-data-backup' AND datname = 'twosizes'",
            );
          },
        }),
        (err: unknown) => {
          // The tool's message, then pg_dump's exit in the cause.
          const messages: string[] = [];
          for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
          assert.equal(messages[0], "backup of twosizes failed, nothing committed");
          assert.match(messages.join("\n"), /^pg_dump exited with status 1/m);
          return true;
        },
      );
    } finally {
      await terminated;
      await pg.query("DROP DATABASE twosizes WITH (FORCE)");
    }
    assert.deepStrictEqual(await visible("dirdies/srv"), []);
    assert.deepStrictEqual(
      lines.filter((l) => l.startsWith("backup: committed")),
      [],
    );
    // This process's own tar children: none left running.
    const children = execFileSync("ps", ["-o", "args=", "--ppid", String(process.pid)]).toString();
    assert.deepStrictEqual(
      children.split("\n").filter((l) => /^tar .*-T -$/.test(l)),
      [],
    );
  });

  it("a file handed to the upload that grows afterwards refuses the backup: tar stopped, nothing staged is kept", async () => {
    // What a forged `finished item` line (a table name holding a newline) would cause: a file handed over while
    // pg_dump still writes it. The upload notes its size and refuses it at the end.
    const dir = mkdtempSync(path.join(os.tmpdir(), "dr-upload-grows-"));
    try {
      writeFileSync(path.join(dir, "3288.dat"), "1\tfirst\n");
      const upload = DirectoryUpload.start({
        dir,
        database: "app",
        streamCompress: "zstd:1",
        env: process.env,
        blob: containerClient(az.store(CONTAINER)).getBlockBlobClient("grows/srv/app_x"),
        stage: { blockSize: 256 * 1024, concurrency: 1 },
      });
      upload.add("3288.dat");
      appendFileSync(path.join(dir, "3288.dat"), "2\tsecond\n");
      await assert.rejects(
        upload.finish(),
        /^Error: backup of app failed, nothing committed: 3288\.dat was handed to the upload at 8 bytes, and pg_dump went on writing it \(17 bytes\)$/,
      );
      assert.notEqual((await upload.process.exit).code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the backup process SIGKILLed while pg_dump streams into staged blocks: no blob", async () => {
    // The streamed format, so that blocks are already staged when the kill comes (the directory format
    // uploads a table's file only once pg_dump finished it): the kill lands between staging and the commit.
    const p = spawnCli([
      "backup",
      "--container",
      CONTAINER,
      "--prefix",
      "killed/srv",
      "--database",
      "big",
      "--format",
      "custom",
      "--compress",
      "0",
    ]);
    const blobs = containerClient(az.store(CONTAINER));
    const deadline = Date.now() + 60_000;
    let uncommitted: string | undefined;
    while (uncommitted === undefined) {
      for await (const b of blobs.listBlobsFlat({ prefix: "killed/srv/", includeUncommitedBlobs: true })) {
        uncommitted = b.name;
      }
      if (!p.alive()) throw new Error(`the backup ended before any block was staged:\n${p.output()}`);
      if (Date.now() > deadline) throw new Error("no block was staged within 60 s");
      await sleep(20);
    }
    const staged = await blobs.getBlockBlobClient(uncommitted).getBlockList("uncommitted");
    assert.ok((staged.uncommittedBlocks ?? []).length > 0, "blocks were staged before the kill");
    process.kill(-p.child.pid!, "SIGKILL");
    assert.deepStrictEqual(await p.exit, { code: null, signal: "SIGKILL" });
    assert.deepStrictEqual(await visible("killed/srv"), []);
    assert.equal(await blobs.getBlobClient(uncommitted).exists(), false, "nothing was committed");
  });

  it("the restore process SIGKILLed during pg_restore: live untouched; a re-run of the run id completes", async () => {
    const counts = appDataCounts(6);
    const b = await backup({
      connection: pg.connection("app"),
      store: az.store(CONTAINER),
      prefix: "nightly/srv",
      log: quiet,
    });
    await pg.query("CREATE DATABASE expected TEMPLATE app");
    await pg.query("DELETE FROM app.placements WHERE id % 2 = 0", [], "app");
    await pg.query("CREATE DATABASE live_snapshot TEMPLATE app");

    const p = spawnCli([
      "restore",
      "--container",
      CONTAINER,
      "--blob",
      b.blobName,
      "--run-id",
      "k-1",
      "--jobs",
      "2",
    ]);
    await waitFor(
      "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'COPY%' AND state = 'active'",
      ["app_restore_k_1"],
      p.alive,
    );
    process.kill(-p.child.pid!, "SIGKILL");
    assert.deepStrictEqual(await p.exit, { code: null, signal: "SIGKILL" });

    const same = await compare({
      left: pg.connection("live_snapshot"),
      right: pg.connection("app"),
      log: quiet,
    });
    assert.equal(same.equal, true, "the live database changed");
    const leftover = await pg.query<{ c: string | null }>(
      "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'app_restore_k_1'",
    );
    assert.deepStrictEqual(leftover.rows, [{ c: stagingMarker("database", "k-1") }]);
    assert.equal(await pg.databaseExists("app_before_k_1"), false);

    const lines: string[] = [];
    const r = await restore({
      connection: pg.connection("postgres"),
      store: az.store(CONTAINER),
      from: { blob: b.blobName },
      runId: "k-1",
      jobs: 2,
      log: (l) => lines.push(l),
    });
    assert.equal(r.status, "restored");
    assert.match(lines.join("\n"), /dropping app_restore_k_1, left by an interrupted attempt of run k-1/);
    assert.equal(
      (await compare({ left: pg.connection("expected"), right: pg.connection("app"), log: quiet })).equal,
      true,
    );
    assert.equal(
      (
        await compare({
          left: pg.connection("live_snapshot"),
          right: pg.connection("app_before_k_1"),
          log: quiet,
        })
      ).equal,
      true,
    );
    const placements = await pg.query<{ n: string }>("SELECT count(*) AS n FROM app.placements", [], "app");
    assert.equal(Number(placements.rows[0]!.n), counts.placements);
    assert.equal(await pg.databaseExists("app_restore_k_1"), false);
  });
});
