/**
 * `npm run new-service` on a copy of the project: the stack files it writes hold only the service's own
 * settings, pass the program's config rules, and plan; bad input is refused with every problem and writes
 * nothing; it prints what to set up once.
 */
import { strict as assert } from "node:assert";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { DateTime } from "luxon";
import { main, parseNewServiceArgs, stackFileText } from "../dev/fleet/new-service";
import { listStacks, stackStatus } from "../dev/fleet/status";
import { runProgram } from "../dev/offline/mocks";
import { loadStackConfig, serializeConfig } from "../dev/offline/stack-config";
import { NOW, PROJECT_DIR } from "./support/stacks";

const ARGS = [
  "--service",
  "find-a-tutor",
  "--code",
  "fatut",
  "--public-host",
  "find-a-tutor.example.education.gov.uk",
  "--on-call",
  "find-a-tutor-on-call@example.education.gov.uk",
];

function run(dir: string, argv: readonly string[]): { status: number; out: string; err: string } {
  let out = "";
  let err = "";
  const status = main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) }, dir, NOW);
  return { status, out, err };
}

/** Every file of a project directory, relative, sorted: to show that a refused run wrote nothing. */
function filesOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe("new-service", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "new-service-test-"));
    for (const f of ["Pulumi.yaml", ...listStacks(PROJECT_DIR).map((s) => `Pulumi.${s}.yaml`)]) {
      cpSync(path.join(PROJECT_DIR, f), path.join(dir, f));
    }
    cpSync(path.join(PROJECT_DIR, "environments"), path.join(dir, "environments"), { recursive: true });
    mkdirSync(path.join(dir, "policy"));
    cpSync(path.join(PROJECT_DIR, "policy", "config"), path.join(dir, "policy", "config"), {
      recursive: true,
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes two stack files and nothing else (the policy config is the environment's), prints what to set up once", () => {
    const r = run(dir, ARGS);
    assert.deepStrictEqual([r.status, r.err], [0, ""]);
    assert.match(
      r.out,
      /^Wrote Pulumi\.find-a-tutor-staging\.yaml, Pulumi\.find-a-tutor-production\.yaml\.\nSet up once/,
    );
    assert.match(
      r.out,
      /pulumi stack init <org>\/find-a-tutor-staging; pulumi stack init <org>\/find-a-tutor-production/,
    );
    assert.deepStrictEqual(
      listStacks(dir).filter((s) => s.startsWith("find-a-tutor")),
      ["find-a-tutor-production", "find-a-tutor-staging"],
    );
    assert.deepStrictEqual(readdirSync(path.join(dir, "policy", "config")).sort(), [
      "production.json",
      "staging.json",
    ]);
    // No workflow edit either: the DR step takes any committed stack.
    assert.doesNotMatch(r.out, /dr-step\.yml/);
    // What a new service writes: 41 lines per stack file (44 with a worker), everything else shared.
    const lines = (stack: string): number =>
      readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8").split("\n").length - 1;
    assert.deepStrictEqual([lines("find-a-tutor-staging"), lines("find-a-tutor-production")], [41, 41]);
  });

  it("the stacks it writes take the environment's shared settings, and plan", async () => {
    assert.equal(run(dir, [...ARGS, "--worker"]).status, 0);
    const loaded = loadStackConfig(dir, "find-a-tutor-production");
    assert.deepStrictEqual(loaded.environments, ["service-dr/production"]);
    const config = serializeConfig(loaded.values);
    const postgres = JSON.parse(config["service-dr:postgres"] ?? "{}") as Record<string, unknown>;
    assert.deepStrictEqual(
      [
        postgres.serverName,
        postgres.highAvailability,
        postgres.geoRedundantBackup,
        config["service-dr:timeZone"],
      ],
      ["s189p01-fatut-pd-pg", "ZoneRedundant", true, "Europe/London"],
    );
    const plan = await runProgram(config, [], NOW, { stack: "find-a-tutor-production" });
    const patched = plan.resources
      .filter((r) => r.type === "kubernetes:apps/v1:DeploymentPatch")
      .map((r) => (r.inputs.metadata as { name: string }).name);
    assert.deepStrictEqual(patched, ["find-a-tutor-production", "find-a-tutor-production-worker"]);
    const status = stackStatus(dir, "find-a-tutor-staging", DateTime.fromISO("2026-11-24T15:00:00Z"));
    assert.ok(!("problems" in status), JSON.stringify(status));
  });

  it("refuses what the config rules refuse, and names taken by another stack: every problem, nothing written", () => {
    const before = filesOf(dir);
    const r = run(dir, [
      "--service",
      "other",
      "--code",
      "schvis",
      "--public-host",
      "other.example.gov.uk",
      "--on-call",
      "other-on-call@example.gov.uk",
      "--staging-size",
      "Standard_B1ms/Burstable/16",
    ]);
    assert.equal(r.status, 1);
    assert.deepStrictEqual(r.err.split("\n"), [
      "new-service: nothing written; 3 problem(s):",
      "  - Pulumi.other-production.yaml: postgres.serverName s189p01-schvis-pd-pg is stack school-visits-production's",
      "  - Pulumi.other-production.yaml: backup.storageAccountName s189p01schvisdbbkpsa is stack school-visits-production's",
      "  - Pulumi.other-staging.yaml: postgres.storageSizeGb: must be a whole number from 32 to 32767; received 16",
      "",
    ]);
    assert.deepStrictEqual(filesOf(dir), before);
  });

  it("refuses a stack that exists already, and bad flags (exit 2), writing nothing", () => {
    assert.equal(run(dir, ARGS).status, 0);
    const before = filesOf(dir);
    const again = run(dir, ARGS);
    assert.equal(again.status, 1);
    assert.match(
      again.err,
      /^new-service: nothing written; 2 problem\(s\):\n {2}- Pulumi\.find-a-tutor-staging\.yaml exists already\n/,
    );
    const bad = run(dir, ["--service", "Find_A_Tutor", "--code", "x", "--public-host", "h.example"]);
    assert.equal(bad.status, 2);
    assert.match(
      bad.err,
      /^new-service: --service must be a lowercase slug; received "Find_A_Tutor"\nusage: /,
    );
    assert.equal(run(dir, ["--code", "fatut"]).err.split("\n")[0], "new-service: --service is required");
    assert.deepStrictEqual(filesOf(dir), before);
    assert.ok(!existsSync(path.join(dir, "Pulumi.Find_A_Tutor-staging.yaml")));
  });

  it("defaults and flags reach the stack file", () => {
    const s = parseNewServiceArgs([...ARGS, "--namespace", "tutors", "--database", "fat", "--port", "3000"]);
    const text = stackFileText(s, "staging");
    for (const line of [
      "    namespace: tutors-staging",
      "      fat_staging: {}",
      "      port: 3000",
      "    publicHost: staging.find-a-tutor.example.education.gov.uk",
      "    storageAccountName: s189t01fatutdbbkpsa",
    ]) {
      assert.ok(text.split("\n").includes(line), line);
    }
  });
});
