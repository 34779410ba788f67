/**
 * The nightly verification and `status` on real PostgreSQL and Azurite: `backup --verify` reads the committed
 * dump back from storage and writes `<blob>.status.json` once; a blob changed between the commit and the
 * read-back (the `onCommitted` hook writes a new version through the SDK, which Azurite, without an
 * immutability policy, accepts) is recorded as not verified and fails the backup; `status` exits 0 only for a
 * verified backup younger than the maximum age, and says why otherwise — a failed, an unverified, a too old
 * and a missing nightly.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup, type BackupOptions } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { VerificationError } from "../../src/errors";
import { backupManifestBlobName, backupStatusBlobName, backupVerifiedBlobName } from "../../src/naming";
import { parseStatus, STATUS_VERSION, type BackupStatus } from "../../src/verify";

const CONTAINER = "backups";
const SERVER = "srv";
const PREFIX = `nightly/${SERVER}`;
const quiet = () => undefined;

describe("tool: the nightly backup verified from storage, and status", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let az: Azurite;

  const nightly = (at: string, o: Partial<BackupOptions> = {}) =>
    backup({
      connection: pg.connection("app"),
      store: az.store(CONTAINER),
      prefix: PREFIX,
      sourceServer: SERVER,
      now: () => new Date(at),
      verify: true,
      log: quiet,
      ...o,
    });

  const container = () => containerClient(az.store(CONTAINER));

  const statusOf = async (blob: string): Promise<BackupStatus> =>
    parseStatus(
      (await container().getBlobClient(backupStatusBlobName(blob)).downloadToBuffer()).toString("utf8"),
      blob,
    );

  /** A new version of `blob` with one byte changed; `metadata` decides what its metadata says. */
  const corrupt =
    (metadata: "kept" | "matching") =>
    async (blob: string): Promise<void> => {
      const client = container().getBlockBlobClient(blob);
      const bytes = await client.downloadToBuffer();
      const i = Math.floor(bytes.length / 2);
      bytes.writeUInt8(bytes.readUInt8(i) ^ 0xff, i);
      const props = await client.getProperties();
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      await client.upload(bytes, bytes.length, {
        metadata: metadata === "kept" ? props.metadata : { ...props.metadata, sha256 },
      });
    };

  /** `dr-data status` through the CLI: its exit status and output. */
  async function status(...flags: string[]): Promise<{ code: number; out: string }> {
    return statusOfServer(SERVER, ...flags);
  }

  async function statusOfServer(server: string, ...flags: string[]): Promise<{ code: number; out: string }> {
    const out: string[] = [];
    const code = await main(["status", "--container", CONTAINER, "--server", server, ...flags], az.env(), {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
    });
    return { code, out: out.join("\n") };
  }

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await pg.query(
      "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, v text); " +
        "INSERT INTO app.t SELECT g, md5(g::text) FROM generate_series(1, 5000) g",
      [],
      "app",
    );
  });

  it("no backup at all: status exits 1 and says so", async () => {
    const r = await status("--now", "2026-11-24T09:00:00Z");
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /no backup at all under backups\/nightly\/srv\/: the nightly never committed one there/,
    );
    assert.match(r.out, /last drill: no drill recorded \(none under backups\/drill\/srv\/\)/);
  });

  for (const format of ["directory", "custom"] as const) {
    it(`${format}: a good nightly is verified from storage; its status record, written once, has every field`, async () => {
      const at = format === "directory" ? "2026-11-23T02:00:00Z" : "2026-11-23T02:10:00Z";
      const b = await nightly(at, { format });
      const record = await statusOf(b.blobName);
      const manifest = JSON.parse(
        (await container().getBlobClient(backupManifestBlobName(b.blobName)).downloadToBuffer()).toString(),
      ) as { tableOfContents: string[] };
      const { durations, ...fixed } = record;
      assert.deepStrictEqual(fixed, {
        tool: STATUS_VERSION,
        backup: `nightly/srv/app_${at.replace(/[-:]/g, "").replace(".000", "")}`,
        database: "app",
        sourceServer: SERVER,
        checkedAt: new Date(at).toISOString(),
        size: b.metadata.size,
        sha256: b.metadata.sha256,
        manifestVersion: "dr-data-manifest/5",
        archiveEntries: manifest.tableOfContents.length,
        verified: true,
        reason: null,
      });
      assert.deepStrictEqual(Object.keys(durations), ["dumpSeconds", "uploadSeconds", "verifySeconds"]);
      for (const v of Object.values(durations)) assert.ok(typeof v === "number" && v >= 0, String(v));
      assert.deepStrictEqual(b.status, record);
      // Written once: the record cannot be replaced by a second write.
      await assert.rejects(
        container()
          .getBlockBlobClient(backupStatusBlobName(b.blobName))
          .upload("x", 1, { conditions: { ifNoneMatch: "*" } }),
        (e: Error & { statusCode?: number }) => e.statusCode === 409,
      );
      // The marker the missing-backup alert counts: empty, beside the record.
      const marker = await container().getBlobClient(backupVerifiedBlobName(b.blobName)).getProperties();
      assert.equal(marker.contentLength, 0);
    });
  }

  it("the CLI's backup --verify exits 0 and prints the blob; status then exits 0 with the exact --json", async () => {
    // Another server's prefix: this backup is named by the clock, and would be the newest of srv's.
    const out: string[] = [];
    const code = await main(
      [
        "backup",
        "--container",
        CONTAINER,
        "--prefix",
        "nightly/srv-cli",
        "--source-server",
        "srv-cli",
        "--verify",
      ],
      { ...pg.env("app"), ...az.env() },
      { out: (t) => out.push(t), err: quiet },
    );
    assert.equal(code, 0);
    const blob = out[0]!;
    assert.match(blob, /^nightly\/srv-cli\/app_\d{8}T\d{6}Z$/);
    assert.equal((await statusOf(blob)).verified, true);
    const startedAt = blob.replace(/^.*_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z");
    const now = new Date(Date.parse(startedAt) + 90 * 60_000).toISOString().replace(".000", "");
    const size = (await container().getBlobClient(blob).getProperties()).contentLength!;
    const r = await statusOfServer("srv-cli", "--now", now, "--json");
    assert.equal(r.code, 0, r.out);
    const summary = { backup: blob, startedAt, ageHours: 1.5, size, verification: "verified", reason: null };
    assert.deepStrictEqual(JSON.parse(r.out), {
      container: CONTAINER,
      prefix: "nightly/srv-cli",
      now,
      maxAgeHours: 26,
      databases: [{ database: "app", newest: summary, lastVerified: summary, ok: true, problem: null }],
      lastDrill: null,
      drillPrefix: "drill/srv-cli",
      ok: true,
      problems: [],
    });
    const human = await statusOfServer("srv-cli", "--now", now);
    assert.equal(human.code, 0);
    assert.match(
      human.out,
      new RegExp(`^OK: every newest backup verified and younger than 26 h \\(as of ${now}\\)$`, "m"),
    );
  });

  it("a nightly changed in storage after its commit is recorded as not verified, and the backup fails", async () => {
    const at = "2026-12-01T02:00:00Z";
    const err = await nightly(at, { onCommitted: corrupt("kept") }).then(
      () => assert.fail("the backup of a changed blob succeeded"),
      (e: unknown) => e,
    );
    // A VerificationError: the CLI exits 1 (cli.ts main), so the nightly Job fails.
    assert.ok(err instanceof VerificationError, String(err));
    const blob = "nightly/srv/app_20261201T020000Z";
    assert.match(
      err.message,
      /^nightly\/srv\/app_20261201T020000Z was committed but does not verify from storage \(recorded in nightly\/srv\/app_20261201T020000Z\.status\.json\): /,
    );
    const record = await statusOf(blob);
    assert.equal(record.verified, false);
    assert.match(
      record.reason!,
      /^nightly\/srv\/app_20261201T020000Z: sha256 [0-9a-f]{64} does not match the metadata's [0-9a-f]{64}: corrupted/,
    );
    assert.equal(record.archiveEntries, null);
    assert.equal(record.manifestVersion, "dr-data-manifest/5");
    // No verified marker: the missing-backup alert does not count a backup that failed its verification.
    assert.equal(await container().getBlobClient(backupVerifiedBlobName(blob)).exists(), false);

    const r = await status("--now", "2026-12-01T09:00:00Z");
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /app: the newest backup, nightly\/srv\/app_20261201T020000Z, did not verify: .*sha256/,
    );
  });

  it("a blob replaced with bytes and metadata that agree is still not the backup committed", async () => {
    const err = await nightly("2026-12-02T02:00:00Z", { onCommitted: corrupt("matching") }).then(
      () => assert.fail("the backup of a replaced blob succeeded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof VerificationError, String(err));
    const record = await statusOf("nightly/srv/app_20261202T020000Z");
    assert.equal(record.verified, false);
    assert.match(
      record.reason!,
      /^the metadata in storage is not what the backup committed \(sha256 [0-9a-f]{64}, committed [0-9a-f]{64}\): replaced after the commit$/,
    );
  });

  it("a newest backup without a status record is unverified; one older than the maximum age is missing", async () => {
    await nightly("2026-12-03T02:00:00Z", { verify: false });
    const r = await status("--now", "2026-12-03T09:00:00Z", "--json");
    assert.equal(r.code, 1);
    const report = JSON.parse(r.out) as {
      problems: string[];
      databases: { lastVerified: { backup: string } }[];
    };
    assert.deepStrictEqual(report.problems, [
      "app: the newest backup, nightly/srv/app_20261203T020000Z, is unverified: no status record " +
        "nightly/srv/app_20261203T020000Z.status.json (taken without --verify, or its verification did not finish)",
    ]);
    // The newest one that did verify is further back.
    assert.equal(report.databases[0]!.lastVerified.backup, "nightly/srv/app_20261123T021000Z");

    const good = await nightly("2026-12-04T02:00:00Z");
    assert.equal(good.status?.verified, true);
    assert.equal((await status("--now", "2026-12-05T03:59:59Z")).code, 0);
    const late = await status("--now", "2026-12-05T04:00:00Z");
    assert.equal(late.code, 1);
    assert.match(
      late.out,
      /app: no backup in the last 26 h: the newest, nightly\/srv\/app_20261204T020000Z, is 26\.0 h old \(the nightly did not run, or failed before its commit\)/,
    );
    assert.equal((await status("--now", "2026-12-05T04:00:00Z", "--max-age-hours", "27")).code, 0);
  });

  it("refuses a bad --now or --server naming the flag, the rule and the value (exit 2)", async () => {
    const r = await status("--now", "yesterday");
    assert.equal(r.code, 2);
    assert.match(
      r.out,
      /status: --now must be an ISO 8601 time with an offset \(e\.g\. 2026-12-04T01:00:00Z\), got "yesterday"/,
    );
    const out: string[] = [];
    const code = await main(["status", "--container", CONTAINER, "--server", "Srv_1"], az.env(), {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
    });
    assert.equal(code, 2);
    assert.match(out.join("\n"), /status: --server must be a flexible server name .*; got "Srv_1"/);
  });
});
