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

interface Step {
  readonly id?: string;
  readonly if?: string;
  readonly run?: string;
  readonly "timeout-minutes"?: number;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly if?: string;
  readonly needs?: string;
  readonly environment?: string;
  readonly concurrency?: unknown;
  readonly "timeout-minutes": number;
  readonly steps: Step[];
}
const WORKFLOW = parseYaml(
  readFileSync(path.join(PROJECT_DIR, ".github", "workflows", "drill.yml"), "utf8"),
) as {
  on: {
    schedule: Array<{ cron: string }>;
    workflow_dispatch: { inputs: { stack: { type: string; options?: string[] } } };
  };
  jobs: { resolve: Job; drill: Job };
};
const DRILL_STEPS = WORKFLOW.jobs.drill.steps;
const step = (id: string): Step => DRILL_STEPS.find((s) => s.id === id)!;

/** drill.ts main's printed lines, or its error. */
function drillTs(...argv: string[]): string {
  let out = "";
  main(argv, PROJECT_DIR, (l) => {
    out += l;
  });
  return out;
}

describe("drill workflow: schedule and stack", () => {
  it("the workflow's crons are the script's, one per stack, at odd minutes", () => {
    assert.deepStrictEqual(
      WORKFLOW.on.schedule.map((s) => s.cron),
      Object.values(DRILL_SCHEDULES),
    );
    for (const cron of Object.values(DRILL_SCHEDULES)) assert.equal(Number(cron.split(" ")[0]) % 2, 1, cron);
  });
  it("a dispatch takes any stack as free text; the resolve job checks it against the stack files", () => {
    assert.deepStrictEqual(
      [WORKFLOW.on.workflow_dispatch.inputs.stack.type, WORKFLOW.on.workflow_dispatch.inputs.stack.options],
      ["string", undefined],
    );
    assert.equal(
      WORKFLOW.jobs.resolve.steps.at(-1)!.run,
      'npx tsx .github/scripts/drill.ts stack --stack="$INPUT_STACK" --schedule="$SCHEDULE" >> "$GITHUB_OUTPUT"',
    );
    assert.equal(WORKFLOW.jobs.drill.needs, "resolve");
    assert.equal(WORKFLOW.jobs.drill.environment, "${{ needs.resolve.outputs.environment }}");
    assert.doesNotMatch(JSON.stringify(WORKFLOW.jobs.drill), /inputs\.stack|github\.event\.schedule/);
  });
  it("stack: a committed stack of any service, with its environment; a schedule's stack", () => {
    assert.equal(
      drillTs("stack", "--stack", "school-visits-production", "--schedule", ""),
      "stack=school-visits-production\nenvironment=production\n",
    );
    assert.equal(
      drillTs("stack", "--stack", "", "--schedule", "17 3 * * 1"),
      "stack=staging\nenvironment=staging\n",
    );
  });
  it("stack: anything but a committed stack's name is refused, naming the input, the stacks and what came", () => {
    assert.throws(() => drillTs("stack", "--stack", "Staging"), {
      message:
        'stack "Staging" is not a committed stack (no Pulumi.Staging.yaml at the repository\'s root); one of: ' +
        "production, school-visits-production, school-visits-staging, staging",
    });
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

describe("drill workflow: the tidy-up has its own time budget, and no queue can drop a drill", () => {
  it("the up and the summary have budgets that leave the tidy-up its own, inside the job's limit", () => {
    const minutes = ["up", "summary", "tidy"].map((id) =>
      id === "summary"
        ? DRILL_STEPS.find((s) => s.run?.startsWith(".github/scripts/drill.sh summary") === true)![
            "timeout-minutes"
          ]
        : step(id)["timeout-minutes"],
    );
    assert.deepStrictEqual([WORKFLOW.jobs.drill["timeout-minutes"], ...minutes], [355, 285, 5, 50]);
    // What is left for checkout, main's tip, the setup and the start: at least 10 minutes.
    assert.ok(355 - minutes.reduce((a, m) => a! + m!, 0)! >= 10);
  });
  it("a cancelled run stops the up, and the tidy-up still runs (the job is not cancelled with the run)", () => {
    assert.equal(WORKFLOW.jobs.drill.if, "${{ always() && needs.resolve.result == 'success' }}");
    assert.equal(step("up").if, "${{ success() && !cancelled() }}");
    assert.equal(step("tidy").if, "${{ always() && steps.start.outcome == 'success' }}");
    assert.equal(DRILL_STEPS.at(-1), step("tidy"));
  });
  it("the tidy-up cancels only this run's interrupted update, then ups without the drill", () => {
    const up = step("up").run!;
    const tidy = step("tidy").run!;
    assert.match(up, /touch "\$RUNNER_TEMP\/drill-up-started"\nstatus=0\npulumi up /);
    assert.match(up, /\necho "\$status" > "\$RUNNER_TEMP\/drill-up-ended"\nexit "\$status"\n$/);
    const commands = tidy
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^(if|pulumi) /.test(l));
    assert.deepStrictEqual(commands, [
      'if [ -e "$RUNNER_TEMP/drill-up-started" ] && [ ! -e "$RUNNER_TEMP/drill-up-ended" ]; then',
      'pulumi cancel --yes --stack "$STACK" ||',
      'pulumi config rm drill --stack "$STACK"',
      'pulumi up --stack "$STACK" --yes --skip-preview --non-interactive --policy-pack policy \\',
    ]);
  });
  it("no concurrency group: neither a merge nor a DR step can replace a waiting drill", () => {
    assert.equal(WORKFLOW.jobs.drill.concurrency, undefined);
    assert.equal((WORKFLOW as { concurrency?: unknown }).concurrency, undefined);
  });
  it("the policy config is the stack's environment's, as for every other up", () => {
    for (const id of ["up", "tidy"]) {
      assert.match(step(id).run!, /--policy-pack-config "policy\/config\/\$ENVIRONMENT\.json"/);
      assert.equal(step(id).env!.ENVIRONMENT, "${{ needs.resolve.outputs.environment }}");
    }
  });
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
      [deployedMode('{"drMode":"ptr","nextStep":"x"}'), deployedMode("{}"), deployedMode('{"nextStep":"x"}')],
      ["ptr", undefined, undefined],
    );
  });
  const refusedOutputs: Array<[string, string]> = [
    ["empty (pulumi printed nothing)", '""'],
    ["not JSON", '"error: [401] Unauthorized"'],
    ["an array", '"[]"'],
    ["JSON null", '"null"'],
    ["a drMode that is not a string", '"{\\"drMode\\":null}"'],
  ];
  for (const [what, received] of refusedOutputs)
    it(`fails closed on outputs that are ${what}`, () =>
      assert.throws(() => deployedMode(JSON.parse(received) as string), {
        message:
          "the deployed outputs are not those of pulumi stack output --json (an object whose drMode is a string); " +
          `received ${received}: no drill while it cannot tell whether an incident is open`,
      }));
  it("start fails closed without the deployed outputs, or when their file cannot be read", () => {
    const start =
      (...more: string[]) =>
      () =>
        drillTs("start", "--stack", "staging", ...more);
    assert.throws(start(), {
      message:
        "start needs --outputs (the file of pulumi stack output --json): no drill while it cannot tell whether an incident is open",
    });
    const missing = path.join(mkdtempSync(path.join(tmpdir(), "drill-")), "outputs.json");
    assert.throws(start("--outputs", missing), {
      message: `cannot read the deployed outputs ${missing}: no drill while it cannot tell whether an incident is open`,
    });
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
