/**
 * `restore --from-copy` (scenario 2's restore phase in one flow) against a real PostgreSQL cluster and Azurite:
 * the copy is a database of the same cluster (`copy`), the live database another (`live`). Known answers: the
 * copy is seeded, `live` starts as a byte-for-byte copy of it (CREATE DATABASE … TEMPLATE) and is then damaged.
 */
import { strict as assert } from "node:assert";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { appDataCounts, createAppData } from "../../testkit/appdata";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { compare } from "../../src/compare";
import { VerificationError } from "../../src/errors";
import { listBackups } from "../../src/list";
import { readManifest } from "../../src/manifest";
import { backupStatusBlobName } from "../../src/naming";
import { restoreFromCopy, type CopyRestoreOptions } from "../../src/restore";

const CONTAINER = "from-copy";
const PREFIX = "incident/inc-1/ptr-copy/srv-ptr/20261207T0900Z";
const quiet = () => undefined;

describe("tool: restore --from-copy on real servers", function () {
  this.timeout(180_000);
  let pg: PgCluster;
  let az: Azurite;
  const counts = appDataCounts(1);

  async function equal(left: string, right: string): Promise<boolean> {
    return (await compare({ left: pg.connection(left), right: pg.connection(right), log: quiet })).equal;
  }

  async function auditRows(db: string): Promise<number> {
    const r = await pg.query<{ n: string }>("SELECT count(*)::text AS n FROM app.audit_log", [], db);
    return Number(r.rows[0]!.n);
  }

  /** A fresh damaged `target`, a copy of `copy` with the kind of change a bad deploy makes. */
  async function damagedLive(target: string): Promise<void> {
    await pg.query(`CREATE DATABASE ${target} TEMPLATE copy`);
    await pg.query("DELETE FROM app.events WHERE id % 3 = 0", [], target);
    await pg.query("UPDATE app.accounts SET status = 'deleted' WHERE id <= 100", [], target);
    await pg.query("CREATE DATABASE damaged_" + target + " TEMPLATE " + target);
  }

  const options = (
    target: string,
    runId: string,
    more: Partial<CopyRestoreOptions> = {},
  ): CopyRestoreOptions => ({
    connection: pg.connection("postgres"),
    store: az.store(CONTAINER),
    copy: { connection: pg.connection("copy"), prefix: `${PREFIX}-${runId}`, sourceServer: "srv-ptr" },
    database: target,
    runId,
    jobs: 2,
    log: quiet,
    ...more,
  });

  const blobsUnder = async (prefix: string) =>
    (await listBackups({ store: az.store(CONTAINER), prefix })).map((b) => b.name);

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE copy");
    await createAppData(pg.connection("copy"), 1);
  });

  it("CLI: dumps the copy as evidence, restores it, verifies, swaps, then finds live equal to the copy", async () => {
    await damagedLive("live");
    assert.equal(await equal("live", "copy"), false);
    const lines: string[] = [];
    const log: string[] = [];
    const env = {
      ...pg.env("live"),
      ...az.env(),
      PTR_PGHOST: pg.host,
      PTR_PGPORT: String(pg.port),
      PTR_PGDATABASE: "copy",
    };
    const code = await main(
      ["restore", "--from-copy", "--container", CONTAINER, "--prefix", `${PREFIX}-fc-1`, "--run-id", "fc-1"],
      env,
      { out: (t) => lines.push(t), err: (t) => log.push(t) },
    );
    assert.equal(code, 0, log.join("\n"));
    const [blob] = await blobsUnder(`${PREFIX}-fc-1`);
    assert.match(blob ?? "", new RegExp(`^${PREFIX}-fc-1/copy_\\d{8}T\\d{6}Z$`));
    assert.match(
      lines.join("\n"),
      new RegExp(
        `^restored ${blob} into live; previous database kept as live_before_fc_1; contents verified against ` +
          `the backup's manifest; database-level properties kept from the replaced database\\ncompare: 7 ` +
          `relations, all equal$`,
      ),
    );
    // The stored dump is the evidence: its manifest, and its read-back's status record (verified).
    const container = containerClient(az.store(CONTAINER));
    const props = await container.getBlobClient(blob!).getProperties();
    const { manifest } = await readManifest(container, blob!, props.metadata!.manifestsha256!);
    assert.equal(manifest.relations.find((r) => r.name === "app.audit_log")?.rows, counts.audit_log);
    const status = JSON.parse(
      (await container.getBlobClient(backupStatusBlobName(blob!)).downloadToBuffer()).toString("utf8"),
    ) as { verified: boolean; backup: string };
    assert.deepStrictEqual([status.verified, status.backup], [true, blob]);
    // Live is the copy; what it was is kept; the staging database is gone.
    assert.equal(await equal("live", "copy"), true);
    assert.equal(await equal("live_before_fc_1", "damaged_live"), true);
    assert.ok(!(await pg.databases()).includes("live_restore_fc_1"));
    // The steps ran in the flow's order: the dump stored before pg_restore read it; the read-back from storage
    // and the contents check (concurrent, in either order) both before the swap; the compare after it.
    const at = (re: RegExp) => log.findIndex((l) => re.test(l));
    const [committed, fromDir, readBack, checked, swapped, compared] = [
      /^backup: committed /,
      /^restore: restoring from the dump's directory/,
      /^verify: .* verified from storage/,
      /^restore: contents verified against the manifest/,
      /^restore: live now holds /,
      /^restore: live equals the copy/,
    ].map(at) as [number, number, number, number, number, number];
    const steps = [committed, fromDir, readBack, checked, swapped, compared];
    assert.ok(
      steps.every((i) => i >= 0),
      `missing step: ${JSON.stringify(steps)}\n${log.join("\n")}`,
    );
    assert.ok(committed < fromDir && fromDir < checked && committed < readBack, log.join("\n"));
    assert.ok(readBack < swapped && checked < swapped && swapped < compared, log.join("\n"));
  });

  it("the same run id again dumps nothing and compares again (a pod that died after the swap)", async () => {
    const before = await blobsUnder(`${PREFIX}-fc-1`);
    const log: string[] = [];
    const r = await restoreFromCopy({ ...options("live", "fc-1"), log: (t) => log.push(t) });
    assert.equal(r.status, "already-completed");
    assert.equal(r.comparison.equal, true);
    assert.deepStrictEqual(await blobsUnder(`${PREFIX}-fc-1`), before);
    assert.ok(!log.some((l) => l.startsWith("backup:")), log.join("\n"));
    // …and a difference found then still fails the run.
    await pg.query("INSERT INTO app.audit_log VALUES (now(), 'after', 'restore', NULL)", [], "live");
    await assert.rejects(
      restoreFromCopy(options("live", "fc-1")),
      (e: unknown) =>
        e instanceof VerificationError &&
        /live was restored from the copy but does not equal it:/.test(e.message) &&
        new RegExp(
          `app\\.audit_log\\s+table\\s+${counts.audit_log + 1}\\s+${counts.audit_log}\\s+rows ` +
            `${counts.audit_log + 1} vs ${counts.audit_log}; content differs`,
        ).test(e.message),
    );
  });

  it("a run id that restored another blob is refused before anything is dumped", async () => {
    const other = `${PREFIX}-other`;
    await assert.rejects(
      restoreFromCopy(
        options("live", "fc-1", { copy: { connection: pg.connection("copy"), prefix: other } }),
      ),
      (e: unknown) =>
        e instanceof VerificationError &&
        e.message.includes(
          `; a dump of the copy under ${CONTAINER}/${other}/ was asked for: restoring the copy needs`,
        ) &&
        e.message.includes("needs a new run id"),
    );
    assert.deepStrictEqual(await blobsUnder(other), []);
  });

  it("a stored dump that does not verify refuses the swap: live untouched, staging dropped", async () => {
    await damagedLive("live2");
    const container = containerClient(az.store(CONTAINER));
    await assert.rejects(
      restoreFromCopy(
        options("live2", "fc-2", {
          // Replaced after the commit (no immutability in Azurite): the read-back must not accept it.
          onDumpCommitted: async (name) => {
            await container.getBlockBlobClient(name).upload("not the dump", 12);
          },
        }),
      ),
      (e: unknown) =>
        e instanceof VerificationError &&
        /the stored dump of what this restore read, does not verify from storage; swap refused, live2 was not touched, live2_restore_fc_2 dropped/.test(
          e.message,
        ),
    );
    assert.equal(await equal("live2", "damaged_live2"), true);
    const dbs = await pg.databases();
    assert.ok(!dbs.includes("live2_restore_fc_2") && !dbs.includes("live2_before_fc_2"), dbs.join(", "));
  });

  it("a stored dump that is not the directory restored refuses the swap (the evidence must be what was restored)", async () => {
    await damagedLive("live4");
    const work = await mkdtemp(path.join(os.tmpdir(), "fc-4-"));
    try {
      await assert.rejects(
        restoreFromCopy(
          options("live4", "fc-4", {
            workDir: work,
            // After the commit, the directory pg_restore reads gains a file the stored dump does not hold.
            onDumpCommitted: async () => {
              const [run] = await readdir(work);
              const [copy] = (await readdir(path.join(work, run!))).filter((d) => d.startsWith("copy-"));
              await writeFile(path.join(work, run!, copy!, "dump", "extra.dat"), "not stored");
            },
          }),
        ),
        (e: unknown) =>
          e instanceof VerificationError &&
          /does not verify from storage; swap refused, live4 was not touched/.test(e.message) &&
          /as stored is not the dump that was restored \(1 difference\): extra\.dat only in the restored dump/.test(
            String((e.cause as Error | undefined)?.message),
          ),
      );
      assert.equal(await equal("live4", "damaged_live4"), true);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("a stored dump storage cannot give back is not called a bad dump, and refuses the swap just the same", async () => {
    await damagedLive("live5");
    const container = containerClient(az.store(CONTAINER));
    await assert.rejects(
      restoreFromCopy(
        options("live5", "fc-5", {
          // Gone before the read-back: storage answers 404, no check of the dump could run.
          onDumpCommitted: async (name) => {
            await container.getBlobClient(name).delete();
          },
        }),
      ),
      (e: unknown) =>
        e instanceof Error &&
        !(e instanceof VerificationError) &&
        /the stored dump of what this restore read, could not be verified from storage; swap refused, live5 was not touched/.test(
          e.message,
        ) &&
        /could not be verified from storage \(recorded in .*\.status\.json\): reading from-copy\//.test(
          String((e.cause as Error | undefined)?.message),
        ),
    );
    assert.equal(await equal("live5", "damaged_live5"), true);
  });

  it("a copy written to after its dump: restored from the dump, then the comparison fails (exit 1)", async () => {
    await damagedLive("live3");
    await pg.query("CREATE DATABASE copy3 TEMPLATE copy");
    const env = {
      ...pg.env("live3"),
      ...az.env(),
      PTR_PGHOST: pg.host,
      PTR_PGPORT: String(pg.port),
      PTR_PGDATABASE: "copy3",
    };
    // Through the library, to act between the dump and the comparison; the CLI's exit status is checked after.
    await assert.rejects(
      restoreFromCopy({
        ...options("live3", "fc-3", {
          copy: { connection: pg.connection("copy3"), prefix: `${PREFIX}-fc-3` },
        }),
        onDumpCommitted: async () => {
          await pg.query("DELETE FROM app.audit_log", [], "copy3");
        },
      }),
      (e: unknown) =>
        e instanceof VerificationError &&
        new RegExp(
          `app\\.audit_log\\s+table\\s+${counts.audit_log}\\s+0\\s+rows ${counts.audit_log} vs 0`,
        ).test(e.message),
    );
    // The restore itself completed from the dump (the copy as it was when dumped).
    assert.equal(await auditRows("live3"), counts.audit_log);
    const out: string[] = [];
    const code = await main(
      ["restore", "--from-copy", "--container", CONTAINER, "--prefix", `${PREFIX}-fc-3`, "--run-id", "fc-3"],
      env,
      { out: (t) => out.push(t), err: (t) => out.push(t) },
    );
    assert.equal(code, 1);
    assert.match(out.join("\n"), /live3 was restored from the copy but does not equal it/);
  });

  it("usage errors name the flag or variable and touch nothing (exit 2)", async () => {
    const dbs = await pg.databases();
    const run = async (args: string[], env: Record<string, string>) => {
      const out: string[] = [];
      const code = await main(
        ["restore", "--from-copy", ...args],
        { ...az.env(), ...env },
        {
          out: (t) => out.push(t),
          err: (t) => out.push(t),
        },
      );
      return { code, text: out.join("\n") };
    };
    const base = ["--container", CONTAINER, "--run-id", "fc-9"];
    const both = {
      ...pg.env("live"),
      PTR_PGHOST: pg.host,
      PTR_PGPORT: String(pg.port),
      PTR_PGDATABASE: "copy",
    };
    const a = await run([...base, "--prefix", "p/x", "--blob", "latest", "--allow-unverified"], both);
    assert.equal(a.code, 2);
    assert.match(
      a.text,
      /restore --from-copy: --blob names a stored backup or tables, not with --from-copy; --allow-unverified names a stored backup or tables, not with --from-copy/,
    );
    // Without the copy's server the rules that need none still run: the prefix and the run id, all at once.
    const b = await run(["--container", CONTAINER, "--run-id", "Bad Id!"], pg.env("live"));
    assert.equal(b.code, 2);
    assert.match(
      b.text,
      /PTR_PGHOST is not set \(the copy's server\); --prefix is required \(where the copy's dump is stored as the restore's evidence\); --run-id "Bad Id!" must be /,
    );
    const c = await run([...base, "--prefix", "p/x"], { ...both, PTR_PGDATABASE: "live" });
    assert.equal(c.code, 2);
    assert.match(c.text, /the copy \(PTR_PGHOST 127\.0\.0\.1:\d+, database live\) is the target itself/);
    const d = await main(["restore", "--container", CONTAINER, "--run-id", "fc-9"], both, {
      out: quiet,
      err: quiet,
    });
    assert.equal(d, 2);
    // The request's own rules come with the flags' (a bad run id, the copy being the target), all at once.
    const e = await run(["--container", CONTAINER, "--run-id", "Bad Id!", "--prefix", "p/x"], {
      ...both,
      PTR_PGDATABASE: "live",
    });
    assert.equal(e.code, 2);
    assert.match(
      e.text,
      /restore --from-copy: --run-id "Bad Id!" must be .*; the copy \(PTR_PGHOST 127\.0\.0\.1:\d+, database live\) is the target itself/,
    );
    const f = await run(
      [...base, "--prefix", "p/x", "--tables", "app.events", "--source-database", "x"],
      both,
    );
    assert.equal(f.code, 2);
    assert.match(
      f.text,
      /--tables names a stored backup or tables, not with --from-copy; --source-database names a stored backup or tables, not with --from-copy/,
    );
    const g: string[] = [];
    const gCode = await main(
      [
        "restore",
        "--container",
        CONTAINER,
        "--blob",
        "latest",
        "--prefix",
        "p",
        "--run-id",
        "fc-9",
        "--source-server",
        "s",
      ],
      both,
      { out: (t) => g.push(t), err: (t) => g.push(t) },
    );
    assert.equal(gCode, 2);
    assert.match(g.join("\n"), /--source-server names the copy a --from-copy restore dumps/);
    assert.deepStrictEqual(await pg.databases(), dbs);
  });
});
