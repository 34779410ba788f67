/**
 * The reports' arithmetic and shape, pure: a step from its record and log, RPO and RTO against the objectives
 * (the boundary is met, a second more is not, an unmeasurable one is not met), the verdict and its problems,
 * and the names of a drill's records.
 */
import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import { measured, measureDrill } from "../src/reports/drill-report";
import { objectiveLine } from "../src/reports/drill-report-shape";
import { incidentMeasured, instant, measureIncident } from "../src/reports/incident-report";
import { inTimeOrder, parseLogTimes, stepFrom, type StepRecord } from "../src/reports/timeline";
import { main } from "../src/cli";
import { drillDoneBlobName, drillLogBlobName, drillReport, incidentReport } from "../src/naming";

const START = DateTime.fromISO("2026-12-06T02:00:00Z", { zone: "utc" });

function done(step: string, startedAt: string, finishedAt: string): StepRecord {
  return stepFrom(
    step,
    `drill-${step}`,
    { argv: [step], startedAt, finishedAt, logBlob: `l/${step}` },
    undefined,
  );
}

describe("reports: a step from its Job's record and log", () => {
  const log = (times: Partial<ReturnType<typeof parseLogTimes>>) => ({
    blob: "drill/srv/x/logs/j.log",
    times: { command: "restore", startedAt: null, finishedAt: null, exitStatus: null, ...times },
  });

  it("reads the log's header and footer as job-log.ts writes them", () => {
    const head =
      "dr-data restore --container c --blob latest: started 2026-12-06T02:05:00.000Z; log → c/x.log\nrestore: …\n";
    assert.deepStrictEqual(
      parseLogTimes(head, "…\ndr-data: exit status 1, finished 2026-12-06T02:09:30.500Z\n"),
      {
        command: "restore",
        startedAt: "2026-12-06T02:05:00.000Z",
        finishedAt: "2026-12-06T02:09:30.500Z",
        exitStatus: 1,
      },
    );
    assert.deepStrictEqual(parseLogTimes(head, "dr-data: terminated (SIGTERM) 2026-12-06T03:05:00.000Z\n"), {
      command: "restore",
      startedAt: "2026-12-06T02:05:00.000Z",
      finishedAt: "2026-12-06T03:05:00.000Z",
      exitStatus: 143,
    });
  });

  it("a record is done: its own start, else the log's (records written before startedAt was kept)", () => {
    assert.deepStrictEqual(done("restore", "2026-12-06T02:05:00.000Z", "2026-12-06T02:09:30.400Z"), {
      step: "restore",
      job: "drill-restore",
      log: null,
      command: "restore",
      status: "done",
      startedAt: "2026-12-06T02:05:00.000Z",
      finishedAt: "2026-12-06T02:09:30.400Z",
      seconds: 270,
      problem: null,
    });
    const old = stepFrom(
      "inspect",
      "j",
      { argv: ["inspect"], finishedAt: "2026-12-06T02:10:00.000Z", logBlob: "l" },
      log({ startedAt: "2026-12-06T02:09:00.000Z" }),
    );
    assert.deepStrictEqual(
      [old.status, old.startedAt, old.seconds],
      ["done", "2026-12-06T02:09:00.000Z", 60],
    );
  });

  it("a log without a record failed, and says how; neither is missing", () => {
    const failed = stepFrom(
      "restore",
      "j",
      undefined,
      log({ startedAt: "2026-12-06T02:05:00.000Z", finishedAt: "2026-12-06T02:06:00.000Z", exitStatus: 1 }),
    );
    assert.deepStrictEqual(
      [failed.status, failed.seconds, failed.problem],
      [
        "failed",
        60,
        "restore (Job j) failed: exit status 1, no completion record (log: drill/srv/x/logs/j.log)",
      ],
    );
    const killed = stepFrom("restore", "j", undefined, log({ exitStatus: 143 }));
    assert.match(killed.problem ?? "", /failed: terminated \(SIGTERM: the Job's deadline\)/);
    const missing = stepFrom("inspect", "j2", undefined, undefined);
    assert.deepStrictEqual(
      [missing.status, missing.startedAt, missing.problem],
      [
        "missing",
        null,
        "inspect (Job j2): no completion record and no log: the Job never ran, is still running, or died before it could write its log",
      ],
    );
  });

  it("orders a timeline by start, the unknown last", () => {
    const a = done("a", "2026-12-06T02:05:00.000Z", "2026-12-06T02:06:00.000Z");
    const b = done("b", "2026-12-06T02:01:00.000Z", "2026-12-06T02:02:00.000Z");
    const m = stepFrom("m", "drill-m", undefined, undefined);
    assert.deepStrictEqual(
      inTimeOrder([m, a, b]).map((s) => s.step),
      ["b", "a", "m"],
    );
  });
});

describe("reports: RPO and RTO against the objectives", () => {
  it("an objective is met up to and including its minute count, and an unmeasured one is not met", () => {
    assert.deepStrictEqual(measured(3600, 60), {
      achievedSeconds: 3600,
      achievedMinutes: 60,
      objectiveMinutes: 60,
      met: true,
    });
    assert.deepStrictEqual(measured(3601, 60), {
      achievedSeconds: 3601,
      achievedMinutes: 60,
      objectiveMinutes: 60,
      met: false,
    });
    assert.deepStrictEqual(measured(95, 60).achievedMinutes, 1.6);
    assert.deepStrictEqual(measured(null, 60), {
      achievedSeconds: null,
      achievedMinutes: null,
      objectiveMinutes: 60,
      met: false,
    });
  });

  const steps = [
    done("restore", "2026-12-06T02:12:00.000Z", "2026-12-06T02:20:00.000Z"),
    done("inspect", "2026-12-06T02:20:05.000Z", "2026-12-06T02:31:00.000Z"),
  ];
  const backup = { blob: "nightly/srv/app_20261205T010000Z", startedAt: "2026-12-05T01:00:00Z" };
  const nightly = "c/nightly/srv/";

  it("RPO is the verified nightly's age at the start, RTO the start to the last step done", () => {
    assert.deepStrictEqual(
      measureDrill({
        startedAt: START,
        steps,
        backup,
        objectives: { rpoMinutes: 1560, rtoMinutes: 31 },
        nightly,
      }),
      {
        finishedAt: "2026-12-06T02:31:00.000Z",
        rpo: { achievedSeconds: 25 * 3600, achievedMinutes: 1500, objectiveMinutes: 1560, met: true },
        rto: { achievedSeconds: 31 * 60, achievedMinutes: 31, objectiveMinutes: 31, met: true },
        result: "passed",
        problems: [],
      },
    );
  });

  it("a missed objective fails the drill and says which", () => {
    const r = measureDrill({
      startedAt: START,
      steps,
      backup,
      objectives: { rpoMinutes: 1440, rtoMinutes: 30 },
      nightly,
    });
    assert.equal(r.result, "failed");
    assert.deepStrictEqual(r.problems, [
      "RPO objective missed: 1500 min achieved, objective 1440 min",
      "RTO objective missed: 31 min achieved, objective 30 min",
    ]);
  });

  it("a missing step and no verified backup: nothing measurable, the drill fails", () => {
    const r = measureDrill({
      startedAt: START,
      steps: [steps[0]!, stepFrom("inspect", "drill-inspect", undefined, undefined)],
      backup: null,
      objectives: { rpoMinutes: 1560, rtoMinutes: 120 },
      nightly,
    });
    assert.deepStrictEqual(
      [r.result, r.finishedAt, r.rpo.achievedSeconds, r.rpo.met, r.rto.achievedSeconds, r.rto.met],
      ["failed", null, null, false, null, false],
    );
    assert.deepStrictEqual(r.problems.slice(1), [
      "no verified nightly backup under c/nightly/srv/ before the drill's start",
      "RTO not measured: not every step finished",
    ]);
  });

  it("an incident: RTO from the declaration, RPO from the restore point to it; no objective, no verdict", () => {
    const r = measureIncident({
      timeline: steps,
      declaredAt: "2026-12-06T02:00:00.000Z",
      restorePoint: { at: "2026-12-06T01:30:00.000Z", from: "inspection" },
      zone: "Europe/Paris",
      rtoMinutes: 30,
    });
    assert.deepStrictEqual(r.start, {
      utc: "2026-12-06T02:00:00Z",
      local: "2026-12-06 03:00:00 +01:00 Europe/Paris",
      from: "declared",
    });
    assert.deepStrictEqual(r.rpo, incidentMeasured(1800, undefined));
    assert.deepStrictEqual(r.rpo.met, null);
    assert.deepStrictEqual(r.rto, {
      achievedSeconds: 1860,
      achievedMinutes: 31,
      objectiveMinutes: 30,
      met: false,
    });
    assert.deepStrictEqual(r.problems, ["RTO objective missed: 31 min, objective 30 min"]);
    const fromJobs = measureIncident({ timeline: steps, declaredAt: null, restorePoint: null, zone: "UTC" });
    assert.deepStrictEqual(fromJobs.start?.from, "first Job");
    assert.deepStrictEqual(fromJobs.rto.achievedSeconds, 19 * 60);
    assert.deepStrictEqual(fromJobs.problems, [
      "restore point unknown: no --restore-time, inspection or reconciliation",
    ]);
    // With objectives but no restore point (a rebuild names none): the RPO is not judged, never "missed".
    const rebuild = measureIncident({
      timeline: steps,
      declaredAt: null,
      restorePoint: null,
      zone: "UTC",
      rpoMinutes: 1560,
      rtoMinutes: 240,
    });
    assert.deepStrictEqual([rebuild.rpo.met, rebuild.rto.met], [null, true]);
    assert.deepStrictEqual(rebuild.problems, [
      "restore point unknown: no --restore-time, inspection or reconciliation",
      "RPO objective of 1560 min not judged: the RPO was not measured",
    ]);
  });

  it("one objective line for drills and incidents: met, MISSED, not judged, no objective given", () => {
    const cases: [ReturnType<typeof incidentMeasured>, string][] = [
      [measured(1800, 60), "RPO 30 min (objective 60 min): met"],
      [measured(3700, 60), "RPO 61.7 min (objective 60 min): MISSED"],
      [measured(null, 60), "RPO not measured (objective 60 min): MISSED"],
      [incidentMeasured(null, 60), "RPO not measured (objective 60 min): not judged"],
      [incidentMeasured(1800, undefined), "RPO 30 min (objective -): no objective given"],
    ];
    for (const [m, line] of cases) assert.equal(objectiveLine("RPO", m), line);
  });

  it("shows an instant in UTC and in the stack's zone", () => {
    assert.deepStrictEqual(instant("2026-07-01T11:00:00.000Z", "Europe/London"), {
      utc: "2026-07-01T11:00:00Z",
      local: "2026-07-01 12:00:00 +01:00 Europe/London",
    });
  });
});

describe("reports: where a drill's and an incident's records go", () => {
  it("one folder per drill, named by its start", () => {
    const at = new Date("2026-12-06T02:00:00Z");
    assert.deepStrictEqual(
      [
        drillLogBlobName("srv", at, "drill-restore"),
        drillDoneBlobName("srv", at, "drill-restore"),
        drillReport.blob("srv", at),
        incidentReport.retro("inc-1", "json"),
        incidentReport.retro("inc-1", "md"),
      ],
      [
        "drill/srv/20261206T020000Z/logs/drill-restore.log",
        "drill/srv/20261206T020000Z/done/drill-restore.json",
        "drill/srv/20261206T020000Z/report.json",
        "incident/inc-1/report.json",
        "incident/inc-1/report.md",
      ],
    );
  });
});

describe("reports: what the commands refuse before reading anything (exit 2)", () => {
  const env = { AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" };
  async function run(...argv: string[]): Promise<{ code: number; err: string }> {
    const err: string[] = [];
    const code = await main(argv, env, { out: () => undefined, err: (t) => err.push(t) });
    return { code, err: err.join("\n").split("\n")[0]! };
  }
  const drill = ["drill-report", "--container", "c", "--server", "srv", "--database", "app"];

  it("drill-report: every step and both objectives are required, Job names are checked", async () => {
    const at = ["--started-at", "2026-12-06T02:00:00Z"];
    const objectives = ["--rpo-minutes", "1560", "--rto-minutes", "120"];
    assert.deepStrictEqual(await run(...drill, ...at, ...objectives), {
      code: 2,
      err: "dr-data: drill-report: --step NAME=JOB is required (one per drill step)",
    });
    assert.deepStrictEqual(await run(...drill, ...at, "--step", "restore=j", "--rpo-minutes", "1560"), {
      code: 2,
      err: "dr-data: drill-report: --rto-minutes is required (the service's objective)",
    });
    assert.deepStrictEqual(await run(...drill, ...at, "--step", "restore=J_1", ...objectives), {
      code: 2,
      err:
        'dr-data: drill-report: --step restore="J_1": the Job name must be a DNS-1123 label ' +
        "(lowercase letters, digits, inner hyphens, ≤ 63 characters)",
    });
    assert.deepStrictEqual(
      await run(...drill, "--started-at", "2026-12-06 02:00", "--step", "r=j", ...objectives),
      {
        code: 2,
        err: 'dr-data: drill-report: --started-at must be an ISO 8601 time with an offset (e.g. 2026-12-04T01:00:00Z), got "2026-12-06 02:00"',
      },
    );
  });

  it("incident-report: the zone must be one the clock knows", async () => {
    assert.deepStrictEqual(
      await run("incident-report", "--container", "c", "--incident", "inc-1", "--time-zone", "Mars/Olympus"),
      {
        code: 2,
        err: 'dr-data: incident-report: --time-zone must be an IANA time zone (e.g. Europe/London); got "Mars/Olympus"',
      },
    );
  });
});
