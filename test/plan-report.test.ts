/**
 * The incident's report at close, as the plan declares it: which states declare the report Job (only the
 * closing state: drPhase validate, maintenance off, the freeze off), after which Job, with which command, and
 * that the app is never held for it.
 */
import { strict as assert } from "node:assert";
import { tableSetTag } from "@service-dr/dr-data";
import { parseConfig } from "../config";
import { buildPlan } from "../plan";
import type { DataJobPlan, Plan } from "../plan";
import { geoRebuildSets, NOW, stackRaw } from "./support/stacks";

const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const REBUILD = ["drMode=rebuild", "incidentId=inc-1"];
const CLOSING = ["drPhase=validate", "maintenance=false", "freeze=false"];
const T = "20261124t130500z";

function planFor(sets: readonly string[]): Plan {
  return buildPlan(parseConfig(stackRaw("staging", sets), NOW), NOW);
}
const reportOf = (p: Plan): DataJobPlan | undefined => p.dataPath.jobs.find((j) => j.step === "report");

describe("plan: the incident's report Job at close", () => {
  // [state, sets, the Job the report runs after (null: no report Job declared; undefined: the report is first)]
  const rows: Array<[string, readonly string[], string | null | undefined]> = [
    ["none", [], null],
    ["none with both overrides off", ["maintenance=false", "freeze=false"], null],
    ["ptr isolate with the overrides off", [...PTR, "maintenance=false", "freeze=false"], null],
    [
      "ptr restore with the overrides off",
      [...PTR, "drPhase=restore", "maintenance=false", "freeze=false"],
      null,
    ],
    ["ptr validate (maintenance on, frozen)", [...PTR, "drPhase=validate"], null],
    ["ptr validate, maintenance off, still frozen", [...PTR, "drPhase=validate", "maintenance=false"], null],
    ["ptr validate, unfrozen, maintenance on", [...PTR, "drPhase=validate", "freeze=false"], null],
    ["ptr closing", [...PTR, ...CLOSING], `dr-inc-1-restore-${T}-flow`],
    [
      "ptr closing with ptr.tables",
      [...PTR, "ptr.tables[0]=app.events", ...CLOSING],
      `dr-inc-1-compare-${T}-${tableSetTag(["app.events"])}`,
    ],
    ["rebuild validate", [...REBUILD, "drPhase=validate"], null],
    ["rebuild closing from backup", [...REBUILD, ...CLOSING], "dr-inc-1-compare"],
    [
      "rebuild closing, revived (no recovery Job)",
      [...REBUILD, ...CLOSING, "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
      undefined,
    ],
    [
      "rebuild closing, geo-restored (no recovery Job)",
      geoRebuildSets("s189t01-ittms-stg-pg-geo", [...CLOSING, "postgres.geoRedundantBackup=true"]),
      undefined,
    ],
  ];
  for (const [state, sets, after] of rows) {
    it(`${state}: ${after === null ? "no report Job" : `the report after ${after ?? "nothing"}`}`, () => {
      const jobs = planFor(sets).dataPath.jobs;
      const report = jobs.filter((j) => j.step === "report");
      if (after === null) return assert.deepStrictEqual(report, []);
      assert.equal(report.length, 1);
      // Last, after every recovery Job (their chain ends in `after`).
      assert.equal(jobs.at(-1), report[0]);
      assert.equal(report[0]!.after, after);
      assert.equal(jobs.at(-2)?.name, after);
    });
  }

  it("ptr closing: the exact Job — the stack's zone, the PTR restore point, no connection, the recovery identity", () => {
    assert.deepStrictEqual(reportOf(planFor([...PTR, ...CLOSING])), {
      name: "dr-inc-1-report",
      step: "report",
      args: {
        command: "incident-report",
        options: {
          container: "database-backup",
          incident: "inc-1",
          timeZone: "Europe/London",
          restoreTime: "2026-11-24T13:05:00+00:00",
          // The stack's objectives (objectives.*): the incident is measured against them.
          rpoMinutes: 1560,
          rtoMinutes: 240,
        },
      },
      connections: {},
      after: `dr-inc-1-restore-${T}-flow`,
      runId: undefined,
      serviceAccountName: "itt-mentor-services-staging-dr-recovery",
      logBlob: "incident/inc-1/logs/dr-inc-1-report.log",
      doneBlob: "incident/inc-1/done/dr-inc-1-report.json",
    });
  });

  it("rebuild closing: no restore time to name (the tool takes the reports')", () => {
    assert.deepStrictEqual(reportOf(planFor([...REBUILD, ...CLOSING]))?.args, {
      command: "incident-report",
      options: {
        container: "database-backup",
        incident: "inc-1",
        timeZone: "Europe/London",
        rpoMinutes: 1560,
        rtoMinutes: 240,
      },
    });
  });

  it("incidentDeclaredAt: the report's RTO starts at it, passed in UTC; without it, no --declared-at", () => {
    // Wall clock in the stack's zone or with an offset: the tool gets the one UTC instant, as restoreTime is given.
    const declared = (sets: readonly string[]) => reportOf(planFor(sets))?.args.options;
    const rows: Array<[string, readonly string[], string | undefined]> = [
      [
        "ptr, wall clock in the zone",
        [...PTR, "incidentDeclaredAt=2026-11-24T12:40:00", ...CLOSING],
        "2026-11-24T12:40:00+00:00",
      ],
      [
        "rebuild, with an offset",
        [...REBUILD, "incidentDeclaredAt=2026-11-24T13:40:00+01:00", ...CLOSING],
        "2026-11-24T12:40:00+00:00",
      ],
      ["ptr without it", [...PTR, ...CLOSING], undefined],
      ["rebuild without it", [...REBUILD, ...CLOSING], undefined],
    ];
    for (const [what, sets, expected] of rows) {
      const options = declared(sets);
      assert.ok(options !== undefined, what);
      assert.equal("declaredAt" in options, expected !== undefined, what);
      assert.equal((options as { declaredAt?: string }).declaredAt, expected, what);
    }
  });

  it("retry.report names a new Job; it is one per incident, whatever the restore time", () => {
    assert.equal(reportOf(planFor([...PTR, ...CLOSING, "retry.report=2"]))?.name, "dr-inc-1-report-r2");
    const other = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T12:00:00", ...CLOSING];
    assert.equal(reportOf(planFor(other))?.name, "dr-inc-1-report");
  });

  it("the app is held for the recovery Jobs only, never for the report", () => {
    const recovery = [
      "dr-inc-1-backup-flawed",
      `dr-inc-1-inspect-${T}`,
      `dr-inc-1-reconcile-${T}`,
      // The whole restore phase in one Job (restore --from-copy): the copy's dump, the swap, the compare.
      `dr-inc-1-restore-${T}-flow`,
    ];
    // The same Job set as before the close: the hold is not created again (it would stop the validated app).
    assert.deepStrictEqual(planFor([...PTR, "drPhase=validate"]).replicas.holdUntilJobs, recovery);
    assert.deepStrictEqual(planFor([...PTR, ...CLOSING]).replicas.holdUntilJobs, recovery);
    const revived = [...REBUILD, ...CLOSING, "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"];
    assert.equal(planFor(revived).replicas.holdUntilJobs, undefined);
  });
});
