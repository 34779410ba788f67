/**
 * `npm run plan` end to end: a spawned `npx tsx dev/offline/plan-cli.ts` against the real program and both
 * stacks. An integration test: each run is a process of its own loading the whole Pulumi SDK (seven of them
 * take about half a minute on two cores); the in-process cases are in test/offline-cli.test.ts.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { DateTime } from "luxon";
import { isConfigError, runProgram, type PlanResource } from "../../dev/offline/mocks";
import { applySet, loadStackConfig, serializeConfig } from "../../dev/offline/stack-config";

const ROOT = path.resolve(__dirname, "../..");
const NOW_TEXT = "2026-11-25T10:00:00Z";
const NOW = DateTime.fromISO(NOW_TEXT, { setZone: true });

interface Captured {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI the way `npm run plan` does; npm's own warnings are dropped from stderr. */
function spawnCli(args: readonly string[]): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["tsx", "dev/offline/plan-cli.ts", ...args], { cwd: ROOT, env: process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => {
      const ours = stderr
        .split("\n")
        .filter((line) => !line.startsWith("npm warn"))
        .join("\n");
      resolve({ status: status ?? -1, stdout, stderr: ours });
    });
  });
}

const PTR_SETS = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const setArgs = (sets: readonly string[]): string[] => sets.flatMap((s) => ["--set", s]);

/** The same stack and overrides, planned in this process (after every other test's runs). */
async function planHere(stack: string, sets: readonly string[] = []) {
  const loaded = loadStackConfig(ROOT, stack);
  const values = new Map(loaded.values);
  for (const s of sets) applySet(values, loaded.project, s);
  return runProgram(serializeConfig(values), [...loaded.secretKeys], NOW, { stack });
}

describe("offline: npm run plan end to end (spawned, the real program and stacks)", function () {
  this.timeout(180_000);
  const runs = new Map<string, Promise<Captured>>();
  const run = (name: string): Promise<Captured> => {
    const r = runs.get(name);
    assert.ok(r, name);
    return r;
  };
  before(() => {
    // All spawned at once: each is a separate process, so they do not share the runtime.
    const now = ["--now", NOW_TEXT];
    const commands: Record<string, string[]> = {
      staging: ["--stack", "staging", "--json", ...now],
      production: ["--stack", "production", "--json", ...now],
      bad: ["--stack", "staging", "--json", "--set", "drMode=bogus", "--set", "drPhase=later", ...now],
      diff: ["--stack", "staging", "--diff", ...setArgs(PTR_SETS), ...now],
      diffJson: ["--stack", "staging", "--diff", "--json", ...setArgs(PTR_SETS), ...now],
      unknownFlag: ["--stack", "staging", "--yes"],
      step: [
        "--stack",
        "staging",
        "--diff",
        ...PTR_SETS.flatMap((s) => ["--base-set", s]),
        "--set",
        "drPhase=restore",
        ...now,
      ],
    };
    for (const [name, args] of Object.entries(commands)) runs.set(name, spawnCli(args));
  });

  for (const stack of ["staging", "production"]) {
    it(`${stack} --json: one JSON object on stdout, equal to an in-process run of the same config`, async () => {
      const r = await run(stack);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(
        r.stdout.endsWith("\n") && r.stdout.indexOf("\n") === r.stdout.length - 1,
        "exactly one line",
      );
      const printed = JSON.parse(r.stdout) as {
        resources: Array<Record<string, unknown>>;
        outputs: Record<string, unknown>;
      };
      assert.deepStrictEqual(Object.keys(printed), ["resources", "outputs"]);
      for (const res of printed.resources)
        assert.deepStrictEqual(Object.keys(res), ["type", "name", "inputs", "options"]);
      const here = await planHere(stack);
      assert.deepStrictEqual(printed, {
        resources: here.resources.map((x) => ({
          type: x.type,
          name: x.name,
          inputs: x.inputs,
          options: x.options,
        })),
        outputs: here.outputs,
      });
      // Entra logins only: no password input, no secret in the stack, so nothing is planned with a placeholder.
      const server = printed.resources.find((x) => x.type === "azure-native:dbforpostgresql:Server");
      assert.equal("administratorLoginPassword" in (server?.inputs as Record<string, unknown>), false);
      assert.equal(r.stderr, "");
    });
  }

  it("invalid config: status 1, exactly the program's problems on stderr one a line, nothing on stdout", async () => {
    const r = await run("bad");
    const loaded = loadStackConfig(ROOT, "staging");
    const values = new Map(loaded.values);
    for (const s of ["drMode=bogus", "drPhase=later"]) applySet(values, loaded.project, s);
    let problems: readonly string[] = [];
    await runProgram(serializeConfig(values), [...loaded.secretKeys], NOW).catch((err: unknown) => {
      assert.ok(isConfigError(err));
      problems = err.problems;
    });
    assert.ok(problems.length >= 2, "the program reports both keys");
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, problems.map((p) => `${p}\n`).join(""));
  });

  it("--diff drMode=ptr: the PTR copy from the live server's id, replicas to 0, approvers 1 → 6", async () => {
    const r = await run("diff");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    const svc = "itt-mentor-services-staging";
    const live =
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg";
    for (const expected of [
      "Overrides: --set drMode=ptr --set incidentId=inc-1 --set ptr.restoreTime=2026-11-24T13:05:00",
      `+ create  azure-native:dbforpostgresql:Server  ${svc}-ptr-server`,
      `      id: ${live}-ptr`,
      '      createMode: "PointInTimeRestore"',
      '      pointInTimeUTC: "2026-11-24T13:05:00+00:00"',
      `      sourceServerResourceId: "${live}"`,
      // A new restore time replaces the copy, deleting the old one first (same name); never protected.
      "      [option] deleteBeforeReplace: true",
      '      [option] replaceOnChanges[0]: "pointInTimeUTC"',
      `~ update  kubernetes:apps/v1:DeploymentPatch  ${svc}-replicas-web`,
      "    ~ spec.replicas: 2 → 0",
      "    ~ requiredPullRequestReviews[0].requiredApprovingReviewCount: 1 → 6",
      '  ~ drMode: "none" → "ptr"',
    ]) {
      assert.ok(lines.includes(expected), `missing line ${JSON.stringify(expected)} in\n${r.stdout}`);
    }
    assert.ok(!lines.some((l) => l.startsWith("- delete")), "switching to ptr removes no resource");
    assert.ok(!lines.some((l) => l.startsWith("+- replace")), "and replaces none");
    assert.ok(
      !lines.some((l) => /^(~ update|\+ create|- delete|\+- replace|= no change) .*live-server$/.test(l)),
      "the live server does not change (it appears only as a dependency of the new Job)",
    );
  });

  it("--base-set: previews exactly one step from where the stack is (isolate → restore: two Jobs, nothing else)", async () => {
    const r = await run("step");
    assert.equal(r.status, 0, r.stderr);
    const heads = r.stdout
      .split("\n")
      .filter((l) => /^(~ update|\+ create|- delete|\+- replace|= no change) /.test(l));
    const svc = "itt-mentor-services-staging";
    // The export, then the whole restore in one Job (restore --from-copy: the copy's dump, the swap, the compare).
    assert.deepStrictEqual(heads, [
      ...["reconcile-20261124t130500z", "restore-20261124t130500z-flow"].map(
        (s) => `+ create  kubernetes:batch/v1:Job  ${svc}-recovery-dr-inc-1-${s}`,
      ),
    ]);
    assert.ok(
      r.stdout.includes(`Base: the committed config + ${PTR_SETS.map((s) => `--base-set ${s}`).join(" ")}`),
    );
    assert.ok(r.stdout.includes("Changes relative to the base (committed config + --base-set):"));
  });

  it("--diff --json: the same changes as data, equal to diffing two in-process runs", async () => {
    const r = await run("diffJson");
    assert.equal(r.status, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as {
      added: unknown[];
      removed: unknown[];
      changed: unknown[];
      outputs: unknown[];
    };
    const { diffPlans } = await import("../../dev/offline/diff");
    const d = diffPlans(await planHere("staging"), await planHere("staging", PTR_SETS));
    const strip = (x: PlanResource) => ({ type: x.type, name: x.name, inputs: x.inputs, options: x.options });
    assert.deepStrictEqual(printed, {
      added: d.added.map(strip),
      removed: d.removed.map(strip),
      changed: d.changed,
      outputs: d.outputs,
    });
  });

  it("an unknown flag: status 2, the flag named, nothing on stdout", async () => {
    const r = await run("unknownFlag");
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^plan: unknown flag --yes\n/);
  });
});
