/**
 * The drill report, the incident report and the last drill in `status`, on real PostgreSQL and Azurite: the
 * steps are the tool's real commands (a verified nightly backup, a restore into a scratch database, an
 * inspection, a reconciliation) run as a Job runs them (job-log.ts runWithJobLog, with its clock pinned so
 * the timings are exact), leaving their completion records and logs where the program's Jobs would.
 */
import { strict as assert } from "node:assert";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { containerClient } from "../../src/blobstore";
import { main } from "../../src/cli";
import { runWithJobLog } from "../../src/job-log";
import {
  drillDoneBlobName,
  drillLogBlobName,
  drillReport,
  incidentDoneBlobName,
  incidentLogBlobName,
  incidentReport,
  JOB_LOG_ENV,
} from "../../src/naming";
import type { DrillReport } from "../../src/reports/drill-report-shape";
import type { IncidentReport } from "../../src/reports/incident-report";

const CONTAINER = "backups";
const SERVER = "srv";
const quiet = { out: () => undefined, err: (t: string) => process.stderr.write(`${t}\n`) };

/** A clock that gives these instants in turn, then the last one again (start, record, footer). */
function clock(...instants: string[]): () => Date {
  let i = 0;
  return () => new Date(instants[Math.min(i++, instants.length - 1)]!);
}

describe("tool: drill and incident reports from the Jobs' records (real PostgreSQL and Azurite)", function () {
  this.timeout(300_000);
  let pg: PgCluster;
  let az: Azurite;
  const container = () => containerClient(az.store(CONTAINER));
  const read = async (blob: string): Promise<string> =>
    (await container().getBlobClient(blob).downloadToBuffer()).toString("utf8");

  /** Runs the tool's command as a Job with these log and record blobs; its clock says when it ran. */
  async function job(
    argv: string[],
    blobs: { log: string; done: string },
    times: string[],
    extra: Record<string, string> = {},
  ): Promise<number> {
    const env = {
      ...pg.env("app"),
      ...az.env(),
      ...extra,
      [JOB_LOG_ENV.container]: CONTAINER,
      [JOB_LOG_ENV.blob]: blobs.log,
      [JOB_LOG_ENV.done]: blobs.done,
    };
    return runWithJobLog(argv, env, () => main(argv, env, quiet), { now: clock(...times), onSigterm: false });
  }

  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, az.env(), { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  /** The drill's two steps: the newest nightly restored into a scratch database, then inspected against live. */
  async function drillSteps(start: string, times: { restore: string[]; inspect?: string[] }): Promise<void> {
    const at = new Date(start);
    const tag = start.slice(0, 10).replace(/-/g, "");
    const blobs = (j: string) => ({
      log: drillLogBlobName(SERVER, at, j),
      done: drillDoneBlobName(SERVER, at, j),
    });
    const restore = [
      ...["restore", "--container", CONTAINER, "--prefix", `nightly/${SERVER}`, "--blob", "latest"],
      ...["--run-id", `drill-${tag}`, "--database", `app_drill_${tag}`, "--source-database", "app"],
    ];
    assert.equal(await job(restore, blobs("drill-restore"), times.restore), 0);
    if (times.inspect === undefined) return;
    const inspect = ["inspect", "--container", CONTAINER, "--incident", `drill-${tag}`];
    const sides = { PTR_PGDATABASE: `app_drill_${tag}`, LIVE_PGDATABASE: "app" };
    assert.equal(await job(inspect, blobs("drill-inspect"), times.inspect, sides), 0);
  }

  const reportArgs = (start: string, rpo: number, rto: number) => [
    ...["drill-report", "--container", CONTAINER, "--server", SERVER, "--database", "app"],
    ...["--started-at", start, "--step", "restore=drill-restore", "--step", "inspect=drill-inspect"],
    ...["--rpo-minutes", String(rpo), "--rto-minutes", String(rto), "--json"],
  ];

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await pg.query(
      "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200) g",
      [],
      "app",
    );
    // The nightly the drills restore: verified from storage, begun 2026-12-05 01:00 UTC.
    await backup({
      connection: pg.connection("app"),
      store: az.store(CONTAINER),
      prefix: `nightly/${SERVER}`,
      sourceServer: SERVER,
      now: () => new Date("2026-12-05T01:00:00Z"),
      verify: true,
      log: () => undefined,
    });
  });

  it("a drill whose objectives are met: exit 0, the report written once with exact timings, status shows it", async () => {
    const start = "2026-12-06T02:00:00Z";
    await drillSteps(start, {
      restore: ["2026-12-06T02:12:00.000Z", "2026-12-06T02:20:00.000Z"],
      inspect: ["2026-12-06T02:20:05.000Z", "2026-12-06T02:31:00.000Z"],
    });
    const r = await cli(...reportArgs(start, 1560, 31));
    assert.equal(r.code, 0, r.out);
    const report = JSON.parse(r.out) as DrillReport;
    const name = drillReport.blob(SERVER, new Date(start));
    assert.deepStrictEqual(JSON.parse(await read(name)), report);
    const { scenario, ...rest } = report;
    assert.match(scenario, /^scheduled drill, scenario 1/);
    assert.deepStrictEqual(rest, {
      tool: "dr-data-drill-report/1",
      date: "2026-12-06",
      server: SERVER,
      database: "app",
      startedAt: "2026-12-06T02:00:00Z",
      steps: [
        {
          step: "restore",
          job: "drill-restore",
          log: drillLogBlobName(SERVER, new Date(start), "drill-restore"),
          command: "restore",
          status: "done",
          startedAt: "2026-12-06T02:12:00.000Z",
          finishedAt: "2026-12-06T02:20:00.000Z",
          seconds: 480,
          problem: null,
        },
        {
          step: "inspect",
          job: "drill-inspect",
          log: drillLogBlobName(SERVER, new Date(start), "drill-inspect"),
          command: "inspect",
          status: "done",
          startedAt: "2026-12-06T02:20:05.000Z",
          finishedAt: "2026-12-06T02:31:00.000Z",
          seconds: 655,
          problem: null,
        },
      ],
      backup: { blob: "nightly/srv/app_20261205T010000Z", startedAt: "2026-12-05T01:00:00Z" },
      finishedAt: "2026-12-06T02:31:00.000Z",
      rpo: { achievedSeconds: 90_000, achievedMinutes: 1500, objectiveMinutes: 1560, met: true },
      rto: { achievedSeconds: 1860, achievedMinutes: 31, objectiveMinutes: 31, met: true },
      result: "passed",
      problems: [],
      report: `${CONTAINER}/${name}`,
    });

    // Once: a second run (the Job again) leaves the first report as it was and says so.
    const again = await cli(...reportArgs(start, 1, 1));
    assert.equal(again.code, 0);
    assert.match(again.err, /was already written; it stands as it was/);
    assert.deepStrictEqual(JSON.parse(again.out), report);

    const status = await cli(
      "status",
      "--container",
      CONTAINER,
      "--server",
      SERVER,
      "--now",
      "2026-12-06T03:00:00Z",
    );
    assert.match(
      status.out,
      new RegExp(
        "last drill: PASSED, started 2026-12-06T02:00:00Z \\(drill/srv/20261206T020000Z/report\\.json\\)\\n" +
          "  steps: restore done 480 s, inspect done 655 s\\n" +
          "  RPO 1500 min \\(objective 1560 min\\): met; RTO 31 min \\(objective 31 min\\): met\\n",
      ),
    );
    const json = await cli(...["status", "--container", CONTAINER, "--server", SERVER, "--json"]);
    assert.deepStrictEqual((JSON.parse(json.out) as { lastDrill: unknown }).lastDrill, {
      report: name,
      startedAt: "2026-12-06T02:00:00Z",
      result: "passed",
      finishedAt: "2026-12-06T02:31:00.000Z",
      steps: [
        { step: "restore", status: "done", seconds: 480 },
        { step: "inspect", status: "done", seconds: 655 },
      ],
      rpo: report.rpo,
      rto: report.rto,
      objectivesMet: true,
      problems: [],
    });
  });

  it("a drill that misses its objectives: exit 1, the report says which", async () => {
    const start = "2026-12-13T02:00:00Z";
    await drillSteps(start, {
      restore: ["2026-12-13T02:10:00.000Z", "2026-12-13T02:40:00.000Z"],
      inspect: ["2026-12-13T02:40:00.000Z", "2026-12-13T03:30:00.000Z"],
    });
    const r = await cli(...reportArgs(start, 1560, 60));
    assert.equal(r.code, 1, r.out);
    const report = JSON.parse(r.out) as DrillReport;
    assert.deepStrictEqual(
      [report.result, report.rpo.achievedSeconds, report.rto.achievedSeconds, report.problems],
      [
        "failed",
        (8 * 24 + 1) * 3600,
        90 * 60,
        [
          "RPO objective missed: 11580 min achieved, objective 1560 min",
          "RTO objective missed: 90 min achieved, objective 60 min",
        ],
      ],
    );
  });

  it("a drill whose step failed and whose next step never ran: exit 1, nothing measured as met", async () => {
    const start = "2026-12-20T02:00:00Z";
    const at = new Date(start);
    const failing = [
      "restore",
      "--container",
      CONTAINER,
      "--prefix",
      "nightly/none",
      "--blob",
      "latest",
      "--run-id",
      "drill-x",
    ];
    const blobs = {
      log: drillLogBlobName(SERVER, at, "drill-restore"),
      done: drillDoneBlobName(SERVER, at, "drill-restore"),
    };
    assert.equal(await job(failing, blobs, ["2026-12-20T02:10:00.000Z", "2026-12-20T02:11:00.000Z"]), 1);
    const r = await cli(...reportArgs(start, 100_000, 60));
    assert.equal(r.code, 1, r.out);
    const report = JSON.parse(r.out) as DrillReport;
    assert.deepStrictEqual(
      report.steps.map((s) => [s.step, s.status, s.seconds]),
      [
        ["restore", "failed", 60],
        ["inspect", "missing", null],
      ],
    );
    assert.deepStrictEqual(report.problems, [
      `restore (Job drill-restore) failed: exit status 1, no completion record (log: ${blobs.log})`,
      "inspect (Job drill-inspect): no completion record and no log: the Job never ran, is still running, or died before it could write its log",
      "RTO not measured: not every step finished",
    ]);
    assert.deepStrictEqual([report.rto.met, report.finishedAt], [false, null]);
    const status = await cli(
      "status",
      "--container",
      CONTAINER,
      "--server",
      SERVER,
      "--now",
      "2026-12-20T03:00:00Z",
    );
    assert.match(
      status.out,
      /last drill: FAILED, started 2026-12-20T02:00:00Z[^\n]*\n  steps: restore failed 60 s, inspect missing\n/,
    );
    const json = await cli(...["status", "--container", CONTAINER, "--server", SERVER, "--json"]);
    const last = (JSON.parse(json.out) as { lastDrill: { result: string; objectivesMet: boolean } })
      .lastDrill;
    assert.deepStrictEqual([last.result, last.objectivesMet], ["failed", false]);
  });

  it("an incident's report at close: its Jobs' timeline, the restore point in both zones, rows lost and recovered", async () => {
    const id = "inc-7";
    const blobs = (j: string) => ({ log: incidentLogBlobName(id, j), done: incidentDoneBlobName(id, j) });
    // The copy at the restore point, then live loses 5 rows, gains 3 and changes 2.
    await pg.query("CREATE DATABASE app_ptr TEMPLATE app");
    await pg.query(
      "DELETE FROM t WHERE id <= 5; INSERT INTO t VALUES (1001, 'a'), (1002, 'b'), (1003, 'c'); UPDATE t SET v = 'x' WHERE id IN (10, 11)",
      [],
      "app",
    );
    const sides = { PTR_PGDATABASE: "app_ptr", LIVE_PGDATABASE: "app" };
    const flawed = [
      "backup",
      "--container",
      CONTAINER,
      "--prefix",
      `incident/${id}/flawed/${SERVER}`,
      "--jobs",
      "1",
    ];
    assert.equal(
      await job(flawed, blobs(`dr-${id}-backup-flawed`), [
        "2026-12-06T10:05:00.000Z",
        "2026-12-06T10:07:00.000Z",
      ]),
      0,
    );
    const look = ["--container", CONTAINER, "--incident", id, "--restore-time", "2026-12-06T09:30:00Z"];
    assert.equal(
      await job(
        ["inspect", ...look],
        blobs(`dr-${id}-inspect`),
        ["2026-12-06T10:10:00.000Z", "2026-12-06T10:12:30.000Z"],
        sides,
      ),
      0,
    );
    assert.equal(
      await job(
        ["reconcile", ...look],
        blobs(`dr-${id}-reconcile`),
        ["2026-12-06T10:13:00.000Z", "2026-12-06T10:14:00.000Z"],
        sides,
      ),
      0,
    );
    const failing = [
      "restore",
      "--container",
      CONTAINER,
      "--prefix",
      "nightly/none",
      "--blob",
      "latest",
      "--run-id",
      "r1",
    ];
    assert.equal(
      await job(failing, blobs(`dr-${id}-restore`), ["2026-12-06T10:20:00.000Z", "2026-12-06T10:20:10.000Z"]),
      1,
    );

    const args = [
      ...[
        "incident-report",
        "--container",
        CONTAINER,
        "--incident",
        id,
        "--declared-at",
        "2026-12-06T10:00:00Z",
      ],
      ...["--time-zone", "Europe/London", "--rpo-minutes", "60", "--rto-minutes", "10", "--json"],
    ];
    const r = await cli(...args);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as IncidentReport;
    assert.deepStrictEqual(JSON.parse(await read(incidentReport.retro(id, "json"))), report);
    assert.deepStrictEqual(
      report.timeline.map((s) => [s.job, s.command, s.status, s.startedAt, s.seconds]),
      [
        [`dr-${id}-backup-flawed`, "backup", "done", "2026-12-06T10:05:00.000Z", 120],
        [`dr-${id}-inspect`, "inspect", "done", "2026-12-06T10:10:00.000Z", 150],
        [`dr-${id}-reconcile`, "reconcile", "done", "2026-12-06T10:13:00.000Z", 60],
        [`dr-${id}-restore`, "restore", "failed", "2026-12-06T10:20:00.000Z", 10],
      ],
    );
    assert.deepStrictEqual(report.start, {
      utc: "2026-12-06T10:00:00Z",
      local: "2026-12-06 10:00:00 +00:00 Europe/London",
      from: "declared",
    });
    assert.deepStrictEqual(report.restorePoint, {
      utc: "2026-12-06T09:30:00Z",
      local: "2026-12-06 09:30:00 +00:00 Europe/London",
      from: "inspection",
    });
    assert.deepStrictEqual(report.rows.inspection, {
      report: `${CONTAINER}/incident/${id}/inspect/report.json`,
      tables: 1,
      differing: 1,
      lost: 5,
      written: 3,
      changed: 2,
    });
    assert.deepStrictEqual(report.rows.reconciliation, {
      summary: `${CONTAINER}/incident/${id}/reconcile/summary.json`,
      exportedNew: 3,
      exportedChanged: 2,
      lost: 5,
      files: 1,
      notReconcilable: [],
    });
    assert.deepStrictEqual(report.rpo, {
      achievedSeconds: 1800,
      achievedMinutes: 30,
      objectiveMinutes: 60,
      met: true,
    });
    assert.deepStrictEqual(report.rto, {
      achievedSeconds: 840,
      achievedMinutes: 14,
      objectiveMinutes: 10,
      met: false,
    });
    assert.deepStrictEqual(report.problems.slice(-1), ["RTO objective missed: 14 min, objective 10 min"]);
    const md = await read(incidentReport.retro(id, "md"));
    assert.match(md, /^# Incident inc-7: recovery report\n/);
    assert.match(
      md,
      /\| dr-inc-7-inspect \| inspect \| done \| 2026-12-06T10:10:00\.000Z \| 2026-12-06 10:10:00 \+00:00 Europe\/London \| 2026-12-06T10:12:30\.000Z \| 150 \|/,
    );

    // Once: run again (the operator, later), the first report stands.
    const again = await cli(...args.slice(0, 5));
    assert.match(again.err, /was already written; it stands as it was/);
    assert.deepStrictEqual(JSON.parse(await read(incidentReport.retro(id, "json"))), report);
  });

  it("a tampered inspection stops the incident report: exit 1, its blob and field named, nothing written", async () => {
    const id = "inc-9";
    const tampered = JSON.stringify({
      tool: "dr-data-inspect/1",
      restoreTime: null,
      totals: { tables: 1, differing: 1, lost: "5", added: 0, changed: 0 },
    });
    await container()
      .getBlockBlobClient(incidentReport.inspect(id, "json"))
      .upload(tampered, tampered.length);
    const r = await cli("incident-report", "--container", CONTAINER, "--incident", id);
    assert.deepStrictEqual(
      [r.code, r.err],
      [
        1,
        `dr-data: the inspection ${CONTAINER}/incident/${id}/inspect/report.json is not one dr-data-inspect/1 wrote: ` +
          'totals.lost: expected a whole number >= 0, received "5"; the incident report was not written',
      ],
    );
    const written = [];
    for await (const b of container().listBlobsFlat({ prefix: `incident/${id}/report` }))
      written.push(b.name);
    assert.deepStrictEqual(written, []);
  });
});
