/**
 * What fails `npm run drill -- --scenario scheduled`, pure: its stored report's verdict. The report Job's
 * verdict itself (a missed objective exits 1, with the objective named) is tested against real storage in
 * packages/dr-data/test/integration/tool-reports.test.ts; the whole scenario in
 * test/integration/drill-scheduled.test.ts.
 */
import { strict as assert } from "node:assert";
import { scheduledFailure } from "../dev/drill/scenarios/scheduled";
import type { DrillReport } from "../packages/dr-data/src/reports/drill-report-shape";

const report = (result: DrillReport["result"], problems: string[]): DrillReport =>
  ({ result, problems }) as unknown as DrillReport;

describe("drill: the scheduled drill's outcome", () => {
  it("a report that passed fails nothing; one that failed fails the drill naming every problem", () => {
    const cases: [DrillReport, string | undefined][] = [
      [report("passed", []), undefined],
      [
        report("failed", ["RPO objective missed: 1.3 min achieved, objective 1 min"]),
        "the drill FAILED (its report Job exited 1): RPO objective missed: 1.3 min achieved, objective 1 min",
      ],
      [
        report("failed", ["restore failed", "RTO not measured: not every step finished"]),
        "the drill FAILED (its report Job exited 1): restore failed; RTO not measured: not every step finished",
      ],
    ];
    for (const [r, expected] of cases) assert.equal(scheduledFailure(r), expected);
  });
});
