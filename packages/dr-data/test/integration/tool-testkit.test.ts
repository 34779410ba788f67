/**
 * The testkit's point-in-time recovery, which the drill relies on: WAL archiving, a base backup and a
 * recovered copy at a time between two commits hold exactly the rows committed before that time.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PgCluster } from "../../testkit/postgres";

describe("testkit: PostgreSQL point-in-time recovery", function () {
  this.timeout(120_000);
  let source: PgCluster | undefined;
  let copy: PgCluster | undefined;
  let archive: string;

  after(async () => {
    await copy?.stop();
    await source?.stop();
    rmSync(archive, { recursive: true, force: true });
  });

  it("recovers exactly the rows committed before the target time", async () => {
    archive = mkdtempSync(path.join(os.tmpdir(), "dr-wal-"));
    source = await PgCluster.start({ walArchiveDir: archive });
    await source.query("CREATE TABLE t (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())");
    const base = await source.baseBackup();
    await source.query("INSERT INTO t (id) SELECT generate_series(1, 100)");
    await new Promise((r) => setTimeout(r, 50));
    const mark = await source.query<{ t: string }>(
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') AS t`,
    );
    await new Promise((r) => setTimeout(r, 50));
    await source.query("INSERT INTO t (id) SELECT generate_series(101, 150)");
    await source.query("DELETE FROM t WHERE id <= 10");
    await source.switchWal();

    copy = await PgCluster.startRecovered({
      baseBackupDir: base,
      walArchiveDir: archive,
      targetTime: mark.rows[0]!.t,
    });
    const recovered = await copy.query<{ n: string; lo: number; hi: number }>(
      "SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM t",
    );
    assert.deepStrictEqual(recovered.rows, [{ n: "100", lo: 1, hi: 100 }]);
    const live = await source.query<{ n: string }>("SELECT count(*) AS n FROM t");
    assert.deepStrictEqual(live.rows, [{ n: "140" }]);
    assert.deepStrictEqual((await copy.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r")).rows, [
      { r: false },
    ]);
  });
});
