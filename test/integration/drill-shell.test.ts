/**
 * The drill workflow's shell as GitHub runs it (bash -e -o pipefail), with a stub `pulumi` on PATH that records
 * its argv: the tidy-up cancels an update only when this run's own up was cut off mid-way.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT_DIR } from "../support/stacks";

interface Step {
  readonly id?: string;
  readonly run?: string;
}
const STEPS = (
  parseYaml(readFileSync(path.join(PROJECT_DIR, ".github", "workflows", "drill.yml"), "utf8")) as {
    jobs: { drill: { steps: Step[] } };
  }
).jobs.drill.steps;

/** A directory with a `pulumi` that logs its argv to calls.log; its `up` exits with PULUMI_UP_EXIT (0). */
function stubPulumi(): { bin: string; calls: () => string[] } {
  const bin = mkdtempSync(path.join(tmpdir(), "drill-shell-"));
  const log = path.join(bin, "calls.log");
  writeFileSync(
    path.join(bin, "pulumi"),
    `#!/usr/bin/env bash\necho "$*" >> "${log}"\n[ "$1" != up ] || exit "\${PULUMI_UP_EXIT:-0}"\n`,
  );
  chmodSync(path.join(bin, "pulumi"), 0o755);
  return { bin, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
}

/** Runs a step's `run:` block as GitHub does, in RUNNER_TEMP `temp` with these marker files. */
function runStep(id: string, markers: readonly string[], env: Record<string, string> = {}) {
  const { bin, calls } = stubPulumi();
  const temp = mkdtempSync(path.join(tmpdir(), "drill-runner-"));
  for (const m of markers) writeFileSync(path.join(temp, m), "");
  const r = spawnSync("bash", ["-e", "-o", "pipefail", "-c", STEPS.find((s) => s.id === id)!.run!], {
    cwd: PROJECT_DIR,
    encoding: "utf8",
    env: {
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      RUNNER_TEMP: temp,
      HOME: temp,
      STACK: "org/staging",
      ENVIRONMENT: "staging",
      DRILL_ID: "drill-20261207-0317",
      ...env,
    },
  });
  return {
    status: r.status,
    stderr: r.stderr,
    calls: calls(),
    marked: (m: string) => existsSync(path.join(temp, m)),
  };
}

const TIDY = [
  "config rm drill --stack org/staging",
  "up --stack org/staging --yes --skip-preview --non-interactive --policy-pack policy " +
    "--policy-pack-config policy/config/staging.json --message Drill drill-20261207-0317: tidy up",
];

describe("drill workflow's shell: the tidy-up after the up", () => {
  it("an up cut off mid-way (started, never ended): its update is cancelled first", () => {
    const r = runStep("tidy", ["drill-up-started"]);
    assert.deepStrictEqual([r.status, r.calls], [0, ["cancel --yes --stack org/staging", ...TIDY]]);
    assert.equal(
      r.stderr,
      "drill: the up was interrupted; cancelling its update so that the stack can be tidied\n",
    );
  });
  it("an up that ended by itself, passed or failed: nothing to cancel", () => {
    const r = runStep("tidy", ["drill-up-started", "drill-up-ended"]);
    assert.deepStrictEqual([r.status, r.calls, r.stderr], [0, TIDY, ""]);
  });
  it("an up that never started: nothing to cancel", () => {
    const r = runStep("tidy", []);
    assert.deepStrictEqual([r.status, r.calls, r.stderr], [0, TIDY, ""]);
  });
  it("the up step leaves both markers when pulumi ends, and exits with its status", () => {
    const r = runStep("up", [], { PULUMI_UP_EXIT: "3" });
    assert.deepStrictEqual(
      [
        r.status,
        r.calls.map((c) => c.split(" ").slice(0, 2).join(" ")),
        r.marked("drill-up-started"),
        r.marked("drill-up-ended"),
      ],
      [3, ["config set", "up --stack"], true, true],
    );
  });
});

describe("drill workflow's shell: drill.sh start fails closed", function () {
  this.timeout(120_000);
  /** drill.sh start with a `pulumi` whose `stack output` prints `out` and exits with `status`. */
  function start(out: string, status: number) {
    const bin = mkdtempSync(path.join(tmpdir(), "drill-start-"));
    writeFileSync(path.join(bin, "pulumi"), `#!/usr/bin/env bash\nprintf '%s' '${out}'\nexit ${status}\n`);
    chmodSync(path.join(bin, "pulumi"), 0o755);
    const output = path.join(bin, "github-output");
    writeFileSync(output, "");
    const r = spawnSync(".github/scripts/drill.sh", ["start"], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ""}`,
        STACK_NAME: "staging",
        PULUMI_ORG: "org",
        GITHUB_OUTPUT: output,
      },
    });
    return { status: r.status, stderr: r.stderr, output: readFileSync(output, "utf8") };
  }

  it("the deployed outputs cannot be read (pulumi fails): exit 1, why, no drill id", () => {
    assert.deepStrictEqual(start("", 255), {
      status: 1,
      stderr:
        "drill: cannot read staging's deployed outputs, so cannot tell whether an incident is open; no drill\n",
      output: "",
    });
  });
  it("pulumi exits 0 but prints what is not its outputs: exit 1, why, no drill id", () => {
    assert.deepStrictEqual(start("", 0), {
      status: 1,
      stderr:
        'drill: the deployed outputs are not those of pulumi stack output --json (an object whose drMode is a string); received "": no drill while it cannot tell whether an incident is open\n',
      output: "",
    });
  });
  it("outputs without an incident: the stack and the drill's id", () => {
    const r = start('{"drMode":"none"}', 0);
    assert.deepStrictEqual([r.status, r.stderr], [0, ""]);
    assert.match(r.output, /^stack=staging\nid=drill-\d{8}-\d{4}\n$/);
  });
});
