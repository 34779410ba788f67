/**
 * `npm run fleet` on a copy of the committed project in which one stack is mid-incident (the fixture
 * test/fixtures/fleet/Pulumi.school-visits-production.yaml: a PTR restore with the app forced back on), read
 * through the real config loading and plan; and the adapter that reads the plan's next step.
 */
import { strict as assert } from "node:assert";
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { main } from "../dev/fleet/cli";
import { listStacks } from "../dev/fleet/status";
import { PROJECT_DIR } from "./support/stacks";

const NOW = "2026-11-24T15:00:00Z";
const FIXTURE = path.join(PROJECT_DIR, "test", "fixtures", "fleet", "Pulumi.school-visits-production.yaml");

function run(dir: string, ...argv: string[]): { status: number; out: string; err: string } {
  let out = "";
  let err = "";
  const status = main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) }, dir);
  return { status, out, err };
}

describe("fleet status", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "fleet-"));
    for (const f of ["Pulumi.yaml", ...listStacks(PROJECT_DIR).map((s) => `Pulumi.${s}.yaml`)]) {
      copyFileSync(path.join(PROJECT_DIR, f), path.join(dir, f));
    }
    cpSync(path.join(PROJECT_DIR, "environments"), path.join(dir, "environments"), { recursive: true });
    copyFileSync(FIXTURE, path.join(dir, "Pulumi.school-visits-production.yaml"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("one line per stack: the incident, the levers (* forced by a switch) and the first next command", () => {
    const r = run(dir, "--now", NOW);
    assert.deepStrictEqual([r.status, r.err], [0, ""]);
    const I = "ptr restore inc-20261124-1310 to 2026-11-24 13:05:00 GMT (+00:00)";
    const pad = (s: string): string => s.padEnd(I.length);
    assert.deepStrictEqual(r.out.split("\n"), [
      `STACK                     SERVICE                ENV         ${pad("INCIDENT")}  MAINT  FREEZE  STOPPED  NEXT`,
      `production                itt-mentor-services    production  ${pad("none")}  off    off     off      pulumi config set incidentId inc-261124-1500 && pulumi config set drMode ptr && pulumi up`,
      `school-visits-production  example-school-visits  production  ${I}  on     on      off*     pulumi config set drPhase validate && pulumi up`,
      `school-visits-staging     example-school-visits  staging     ${pad("none")}  off    off     off      pulumi config set incidentId inc-20261124-1500 && pulumi config set drMode ptr && pulumi up`,
      `staging                   itt-mentor-services    staging     ${pad("none")}  off    off     off      pulumi config set incidentId inc-20261124-1500 && pulumi config set drMode ptr && pulumi up`,
      "",
    ]);
  });

  it("--json: every field present, null where it does not apply", () => {
    const r = run(dir, "--json", "--now", NOW);
    assert.equal(r.status, 0);
    const doc = JSON.parse(r.out) as { now: string; stacks: Array<Record<string, unknown>> };
    assert.equal(doc.now, "2026-11-24T15:00:00.000Z");
    assert.deepStrictEqual(
      doc.stacks.map((s) => s.stack),
      ["production", "school-visits-production", "school-visits-staging", "staging"],
    );
    assert.deepStrictEqual(doc.stacks[1], {
      stack: "school-visits-production",
      service: "example-school-visits",
      environment: "production",
      incident: {
        mode: "ptr",
        phase: "restore",
        id: "inc-20261124-1310",
        restoreTime: "2026-11-24 13:05:00 GMT (+00:00)",
        rebuildFrom: null,
      },
      levers: {
        maintenance: { on: true, forced: false },
        freeze: { on: true, forced: false },
        stopped: { on: false, forced: true },
      },
      nextCommand: "pulumi config set drPhase validate && pulumi up",
    });
    assert.deepStrictEqual((doc.stacks[3] as { incident: unknown }).incident, {
      mode: "none",
      phase: null,
      id: null,
      restoreTime: null,
      rebuildFrom: null,
    });
  });

  it("a stack whose config does not validate: its problems on stderr, exit 1, the others still listed", () => {
    const bad = mkdtempSync(path.join(os.tmpdir(), "fleet-bad-"));
    try {
      cpSync(dir, bad, { recursive: true });
      writeFileSync(
        path.join(bad, "Pulumi.staging.yaml"),
        "environment:\n  - service-dr/staging\nconfig:\n  service-dr:drMode: sideways\n",
      );
      const r = run(bad, "--now", NOW);
      assert.equal(r.status, 1);
      assert.match(r.err, /^fleet: stack staging: the committed config is invalid:\n {2}- /);
      assert.match(r.err, /drMode: must be one of: none, ptr, rebuild/);
      assert.deepStrictEqual(
        r.out
          .split("\n")
          .slice(1, -1)
          .map((l) => l.split(" ")[0]),
        ["production", "school-visits-production", "school-visits-staging"],
      );
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it("usage errors exit 2", () => {
    assert.deepStrictEqual(run(dir, "--now", "2026-11-24T15:00:00"), {
      status: 2,
      out: "",
      err:
        'fleet: --now expects an ISO-8601 instant with an offset or Z; received "2026-11-24T15:00:00"\n' +
        "usage: npm run fleet [-- --json] [--now <ISO-8601 instant>]\n",
    });
    assert.equal(run(dir, "--wide").status, 2);
  });
});
