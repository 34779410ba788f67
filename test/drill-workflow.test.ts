/**
 * The drill workflow's logic (.github/scripts/drill.ts) as table tests, and the workflow's schedule against
 * it: which stack a run drills, the drill's id, the refusal while an incident is open, and the names the
 * summary reads back (the program's own plan of the drill).
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DateTime } from "luxon";
import { parse as parseYaml } from "yaml";
import {
  deployedMode,
  DRILL_SCHEDULES,
  drillIdAt,
  drillTargets,
  main,
  refusal,
  stackOf,
} from "../.github/scripts/drill";
import { NOW, PROJECT_DIR } from "./support/stacks";

const WORKFLOW = parseYaml(
  readFileSync(path.join(PROJECT_DIR, ".github", "workflows", "drill.yml"), "utf8"),
) as {
  on: { schedule: Array<{ cron: string }>; workflow_dispatch: { inputs: { stack: { options: string[] } } } };
  jobs: { drill: { environment: string; concurrency: { group: string } } };
};

describe("drill workflow: schedule and stack", () => {
  it("the workflow's crons are the script's, one per stack, at odd minutes", () => {
    assert.deepStrictEqual(
      WORKFLOW.on.schedule.map((s) => s.cron),
      Object.values(DRILL_SCHEDULES),
    );
    assert.deepStrictEqual(Object.keys(DRILL_SCHEDULES), WORKFLOW.on.workflow_dispatch.inputs.stack.options);
    for (const cron of Object.values(DRILL_SCHEDULES)) assert.equal(Number(cron.split(" ")[0]) % 2, 1, cron);
  });
  it("the job's environment and concurrency pick staging by staging's cron, else production", () => {
    const pick = `\${{ inputs.stack || (github.event.schedule == '${DRILL_SCHEDULES.staging}' && 'staging' || 'production') }}`;
    assert.equal(WORKFLOW.jobs.drill.environment, pick);
    assert.equal(WORKFLOW.jobs.drill.concurrency.group, `pulumi-${pick}`);
  });
  const rows: Array<[string, string | undefined, string | undefined, string]> = [
    ["a dispatch", "production", undefined, "production"],
    ["staging's schedule", "", "17 3 * * 1", "staging"],
    ["production's schedule", undefined, "43 4 1 * *", "production"],
  ];
  for (const [what, input, schedule, expected] of rows)
    it(`${what} → ${expected}`, () => assert.equal(stackOf(input, schedule), expected));
  it("an unknown schedule is refused", () =>
    assert.throws(
      () => stackOf("", "0 0 * * *"),
      /^Error: no stack to drill: neither --stack nor a known schedule \(17 3 \* \* 1, 43 4 1 \* \*\); received "0 0 \* \* \*"$/,
    ));
  it("the id is the UTC minute", () =>
    assert.equal(drillIdAt(DateTime.fromISO("2026-12-07T03:17:42+01:00")), "drill-20261207-0217"));
});

describe("drill workflow: refused while an incident is open", () => {
  const rows: Array<[string, string, string | undefined, string | undefined]> = [
    ["none anywhere", "none", "none", undefined],
    ["never deployed", "none", undefined, undefined],
    [
      "declared in the stack file",
      "ptr",
      "none",
      "no drill on staging while an incident is open (the stack file's drMode is ptr): the incident takes precedence; drill again once it is closed (drMode none)",
    ],
    [
      "still deployed",
      "none",
      "rebuild",
      "no drill on staging while an incident is open (the deployed drMode is rebuild): the incident takes precedence; drill again once it is closed (drMode none)",
    ],
  ];
  for (const [what, file, deployed, expected] of rows)
    it(what, () => assert.equal(refusal("staging", file, deployed), expected));
  it("reads the deployed drMode from pulumi stack output --json", () => {
    assert.deepStrictEqual(
      [deployedMode('{"drMode":"ptr","nextStep":"x"}'), deployedMode("{}"), deployedMode("")],
      ["ptr", undefined, undefined],
    );
  });
  it("start prints the stack and the id, or refuses with the deployed incident", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "drill-"));
    const outputs = path.join(dir, "outputs.json");
    const run = (mode: string): string => {
      writeFileSync(outputs, JSON.stringify({ drMode: mode }));
      let out = "";
      main(["start", "--stack", "staging", "--outputs", outputs, "--now", NOW.toISO()!], PROJECT_DIR, (l) => {
        out += l;
      });
      return out;
    };
    assert.equal(run("none"), "stack=staging\nid=drill-20261125-1000\n");
    assert.throws(() => run("ptr"), /the deployed drMode is ptr/);
  });
});

describe("drill workflow: what the summary reads back", () => {
  it("the namespace, the report Job and blob the program declares for the drill", () =>
    assert.deepStrictEqual(drillTargets(PROJECT_DIR, "staging", "drill-20261125-0955", NOW), {
      namespace: "bat-staging",
      jobs: ["drill-20261125-0955-restore", "drill-20261125-0955-inspect", "drill-20261125-0955-report"],
      reportJob: "drill-20261125-0955-report",
      reportBlob: "drill/s189t01-ittms-stg-pg/20261125T095500Z/report.json",
      container: "database-backup",
      copyServerName: "s189t01-ittms-stg-pg-drill",
    }));
});
