/**
 * The scheduled drill on small data (`npm run drill -- --scenario scheduled`): the drill setting's `up` run
 * offline, its copy a real point-in-time recovery, its Jobs run locally against real PostgreSQL and Azurite,
 * live unchanged, the app untouched, the report in storage, everything gone without the setting. A missed
 * objective failing the drill needs a drill over a minute after its nightly (the smallest objective is a
 * minute): its verdict is tested without that wait in test/drill-outcome.test.ts and tool-reports.test.ts, and
 * `npm run drill -- --scenario scheduled --rpo-minutes 1 --nightly-age-minutes 1` shows it whole.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { canConnect } from "@service-dr/dr-data/testkit/azurite";
import { main } from "../../dev/drill/cli";
import type { DrillResult } from "../../dev/drill/drill";

function io(): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => void out.push(l), err: (l) => void err.push(l) } };
}

function counts(r: DrillResult, label: string): Readonly<Record<string, number>> {
  const s = r.stages.find((x) => x.label === label);
  assert.ok(s, `no stage ${label}`);
  return s.counts;
}

/** Every server the drill started (live, Azurite, the copy), from its notes. */
function serverPorts(r: DrillResult): number[] {
  const ports = r.steps.flatMap((s) => s.notes.flatMap((n) => [...n.matchAll(/127\.0\.0\.1:(\d+)/g)]));
  return [...new Set(ports.map((m) => Number(m[1])))];
}

describe("drill: the scheduled drill on small data", function () {
  // The drill waits for the first minute after the nightly (up to 60 s).
  this.timeout(240_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), "drill-scheduled-test-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs the drill setting end to end: live unchanged, the app untouched, the report stored, all gone after", async () => {
    const c = io();
    const reportFile = path.join(dir, "scheduled.md");
    // The objectives given as flags (the stack's own values, so the verdict is the stack's): they reach the
    // drill's config as the workflow's inputs would.
    const argv = [
      "--scenario",
      "scheduled",
      "--rows",
      "100",
      "--rpo-minutes",
      "1560",
      "--rto-minutes",
      "240",
    ];
    const r = await main([...argv, "--report", reportFile], c.io);
    assert.equal(r.status, 0, [...c.out, ...c.err].join("\n"));
    const result = r.result!;
    const report = result.drillReport!;
    const id = `drill-${report.startedAt.slice(0, 16).replace(/[-:]/g, "").replace("T", "-")}`;
    assert.deepEqual(
      result.steps.map((s) => [s.title, s.commands]),
      [
        [
          "Before the drill: the live server, the nightly backup (the CronJob itt-mentor-services-staging-db-backup), the service writing",
          ["(stack as committed: drMode none)"],
        ],
        ["Wait for the drill's start minute", []],
        [
          "pulumi up with drill set: the copy, restore into it, inspect, report",
          [
            `pulumi config set drill ${id}`,
            "pulumi config set --path objectives.rpoMinutes 1560",
            "pulumi config set --path objectives.rtoMinutes 240",
            "pulumi up",
          ],
        ],
        [
          "pulumi up without drill: everything the drill made deleted",
          ["pulumi config rm drill", "pulumi up"],
        ],
      ],
    );
    assert.deepEqual(
      result.steps.flatMap((s) => s.jobs.map((j) => [j.name, j.args[0], j.exitCode])),
      [
        ["itt-mentor-services-staging-db-backup", "backup", 0],
        [`${id}-restore`, "restore", 0],
        [`${id}-inspect`, "inspect", 0],
        [`${id}-report`, "drill-report", 0],
      ],
    );
    // 100 seeded, then two batches of 20; the drill changed nothing.
    assert.deepEqual(counts(result, "live after the drill"), counts(result, "live before the drill"));
    assert.equal(result.recoveredRows, 140);
    assert.deepEqual(
      [report.result, report.steps.map((s) => [s.step, s.job, s.status]), report.problems],
      [
        "passed",
        [
          ["restore", `${id}-restore`, "done"],
          ["inspect", `${id}-inspect`, "done"],
        ],
        [],
      ],
    );
    assert.ok(report.steps.every((s) => s.seconds !== null && s.seconds >= 0));
    assert.deepEqual(
      [report.rpo.objectiveMinutes, report.rpo.met, report.rto.objectiveMinutes, report.rto.met],
      [1560, true, 240, true],
    );
    // The newest nightly began before the start minute, within it: 0 < RPO ≤ 60 s.
    assert.ok(
      report.rpo.achievedSeconds! > 0 && report.rpo.achievedSeconds! <= 60,
      String(report.rpo.achievedSeconds),
    );
    const checks = result.checks.join("\n");
    for (const check of [
      "the drill's up declares the app as the steady state (replicas web 2, worker 1 · maintenance off · approvers 1 · nightly scheduled; the same replica patches) and moved no Deployment: the app stayed at web 2, worker 1",
      `the drill's Jobs ran in their declared order beside the running app: ${id}-restore → ${id}-inspect → ${id}-report`,
      "every table of the live database after the drill equals its state before it (rows and content checksum): the drill wrote nothing live",
      "the nightly was restored into itt_mentor_services_staging_drill on the copy; live has no such database",
    ])
      assert.ok(result.checks.includes(check), `${check}\nnot in:\n${checks}`);
    assert.match(
      checks,
      /pulumi up without drill: the 13 resources the drill made are no longer declared \(.*itt-mentor-services-staging-drill-copy-server.*\); the declaration is the committed stack's again \(40 resources\)/,
    );
    assert.match(
      c.out.join("\n"),
      /drill scheduled: PASS — RPO [\d.]+ min \(objective 1560 min\): met; RTO [\d.]+ min \(objective 240 min\): met/,
    );
    assert.match(
      readFileSync(reportFile, "utf8"),
      /\| Outcome \| \*\*PASS\*\* — every check passed, both objectives met \|/,
    );
    // Live, Azurite and the copy: all stopped.
    assert.equal(serverPorts(result).length, 3);
    for (const port of serverPorts(result)) assert.equal(await canConnect(port), false);
  });
});
