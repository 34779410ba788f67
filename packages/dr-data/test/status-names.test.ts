/**
 * Where the nightly verification and `status` read and write (packages/dr-data/src/naming.ts), and the status
 * record's reader (verify.ts `parseStatus`), pure: the record sits beside its backup under the same prefix
 * (the lifecycle rule deletes both) and is never read as a backup; drill reports are found by their names.
 */
import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import {
  backupPrefix,
  backupStatusBlobName,
  backupVerifiedBlobName,
  drillReport,
  parseBackupBlobName,
  parseDrillReportBlobName,
} from "../src/naming";
import { parseStatus, STATUS_VERSION } from "../src/verify";

describe("status names and records", () => {
  const backup = "nightly/srv/app_20261123T020000Z";

  it("the status record is <blob>.status.json under the backup's own prefix, and is not a backup", () => {
    assert.equal(backupStatusBlobName(backup), "nightly/srv/app_20261123T020000Z.status.json");
    assert.ok(backupStatusBlobName(backup).startsWith(`${backupPrefix.nightly("srv")}/`));
    assert.equal(parseBackupBlobName(backupStatusBlobName(backup)), undefined);
    assert.equal(parseBackupBlobName(backup)?.database, "app");
    assert.equal(backupVerifiedBlobName(backup), "nightly/srv/app_20261123T020000Z.verified");
    assert.equal(parseBackupBlobName(backupVerifiedBlobName(backup)), undefined);
  });

  it("drill reports: drill/<server>/<stamp>/report.json, read back to the drill's start", () => {
    const at = DateTime.fromISO("2026-11-24T13:05:00Z", { zone: "utc" });
    const name = drillReport.blob("srv", at);
    assert.equal(name, "drill/srv/20261124T130500Z/report.json");
    assert.equal(drillReport.prefix("srv"), "drill/srv");
    assert.deepStrictEqual(
      { ...parseDrillReportBlobName(name)!, startedAt: parseDrillReportBlobName(name)!.startedAt.toISO() },
      { server: "srv", startedAt: "2026-11-24T13:05:00.000Z" },
    );
    for (const other of [
      "drill/srv/20261124T130500Z/steps.json",
      "drill/srv/20261124T1305Z/report.json",
      "drill/a/b/20261124T130500Z/report.json",
      "nightly/srv/20261124T130500Z/report.json",
    ]) {
      assert.equal(parseDrillReportBlobName(other), undefined, other);
    }
  });

  it("a status record is read only in its own format, every problem named", () => {
    const good = {
      tool: STATUS_VERSION,
      backup,
      database: "app",
      sourceServer: "srv",
      checkedAt: "2026-11-23T02:04:10.000Z",
      size: 10,
      sha256: "ab",
      manifestVersion: "dr-data-manifest/5",
      archiveEntries: 3,
      durations: { dumpSeconds: 1, uploadSeconds: 2, verifySeconds: 3 },
      verified: true,
      reason: null,
    };
    assert.deepStrictEqual(parseStatus(JSON.stringify(good), "r"), good);
    assert.throws(
      () => parseStatus(JSON.stringify({ ...good, tool: "dr-data-status/0", verified: false }), "r"),
      /^VerificationError: r is not a status record: tool must be dr-data-status\/1, got "dr-data-status\/0"; reason must say why a backup is not verified, got null$/,
    );
    assert.throws(() => parseStatus("{", "r"), /^VerificationError: r is not JSON$/);
  });
});
