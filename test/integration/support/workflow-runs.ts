/**
 * The runs of the deploy and DR-step workflows, reproduced on a local bare repository: each run's `run:` steps
 * are the workflow files' own (their `${{ }}` expanded from a table, as GitHub does), executed by bash in a
 * clone made when the run was triggered, with a fake `pulumi` first on PATH. The fake is a recorder: `config
 * set|rm` edit the stack file (one line per key, a fake's format), `preview` and `up` record the commit and
 * the stack file they ran on. The `pulumi up` step (pulumi/actions in the workflow) is the fake's `up` in the
 * same working tree. The subject under test is the git logic of .github/scripts/main-tip.sh.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";

const exec = promisify(execFile);
export const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");

/** What the fake pulumi records for each preview and up. */
export interface Recorded {
  readonly cmd: "preview" | "up";
  readonly run: string;
  readonly head: string;
  readonly file: string;
}

/**
 * The fake `pulumi`. Strict about the argv shape main-tip.sh and dr-step.ts must produce (key and value after
 * `--`), so a regression there fails here too. FAKE_PULUMI_ON_PREVIEW names a shell script run at a preview —
 * once, then deleted, unless FAKE_PULUMI_ON_PREVIEW_ALWAYS is set: it lands a merge on main mid-step.
 * FAKE_PULUMI_FAIL_PREVIEW=1 makes a preview fail.
 */
const FAKE_PULUMI = `#!/usr/bin/env node
const fs = require("node:fs");
const { execFileSync } = require("node:child_process");
const argv = process.argv.slice(2);
const fail = (m) => { process.stderr.write("fake pulumi: " + m + "\\n"); process.exit(2); };
const stackOf = () => { const i = argv.indexOf("--stack"); if (i < 0) fail("no --stack"); return argv[i + 1].split("/").pop(); };
const file = () => "Pulumi." + stackOf() + ".yaml";
const line = (key) => "  service-dr:" + key + ":";
if (argv[0] === "config" && (argv[1] === "set" || argv[1] === "rm")) {
  const dash = argv.indexOf("--");
  const args = dash < 0 ? fail("config without --: " + argv.join(" ")) : argv.slice(dash + 1);
  if (args.length !== (argv[1] === "set" ? 2 : 1)) fail("config " + argv[1] + " args: " + args.join(" "));
  const lines = fs.readFileSync(file(), "utf8").split("\\n").filter((l) => l !== "" && !l.startsWith(line(args[0])));
  if (argv[1] === "set") lines.push(line(args[0]) + " " + JSON.stringify(args[1]));
  fs.writeFileSync(file(), lines.join("\\n") + "\\n");
} else if (argv[0] === "preview" || argv[0] === "up") {
  const head = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  const record = { cmd: argv[0], run: process.env.FAKE_RUN, head, file: fs.readFileSync(file(), "utf8") };
  fs.appendFileSync(process.env.FAKE_PULUMI_LOG, JSON.stringify(record) + "\\n");
  const hook = process.env.FAKE_PULUMI_ON_PREVIEW;
  if (argv[0] === "preview" && hook && fs.existsSync(hook)) {
    execFileSync("bash", [hook], { stdio: "inherit" });
    if (!process.env.FAKE_PULUMI_ON_PREVIEW_ALWAYS) fs.unlinkSync(hook);
  }
  if (argv[0] === "preview" && process.env.FAKE_PULUMI_FAIL_PREVIEW === "1") fail("preview failed (as the test asked)");
} else fail("unexpected command: " + argv.join(" "));
`;

/** The initial stack file: a PR's change (replicas) and the DR steps' (drMode in place, the rest appended) never touch adjacent lines. */
export const INITIAL_STACK = [
  "environment:",
  "  - service-dr/staging",
  "config:",
  '  service-dr:timeZone: "Europe/London"',
  '  service-dr:replicas: "2"',
  '  service-dr:a: "1"',
  '  service-dr:b: "2"',
  '  service-dr:drMode: "none"',
  "",
].join("\n");

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly run?: string;
  readonly env?: Record<string, string>;
}
function workflowStep(workflow: string, job: string, pick: (s: Step) => boolean): Step {
  const wf = parseYaml(readFileSync(path.join(PROJECT_DIR, ".github", "workflows", workflow), "utf8")) as {
    jobs: Record<string, { steps: Step[] }>;
  };
  const step = wf.jobs[job]!.steps.find(pick);
  if (step?.run === undefined) throw new Error(`${workflow}: no such run step in ${job}`);
  return step;
}
/** The steps the tests run, from the workflow files. */
export const STEPS = {
  drTip: () => workflowStep("dr-step.yml", "step", (s) => s.run?.includes("main-tip.sh checkout") === true),
  drConfig: () => workflowStep("dr-step.yml", "step", (s) => s.id === "config"),
  previewMerge: () =>
    workflowStep("preview.yml", "preview", (s) => s.run?.includes("main-tip.sh merge") === true),
  upTip: () =>
    workflowStep("pulumi-stack.yml", "pulumi", (s) => s.run?.includes("main-tip.sh checkout") === true),
};

/** `${{ expr }}` from a table; an expression the table lacks is a test error. */
function expand(text: string, context: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expr: string) => {
    const v = context[expr];
    if (v === undefined) throw new Error(`no value for \${{ ${expr} }} in the test's context`);
    return v;
  });
}

export class World {
  readonly origin: string;
  readonly bin: string;
  readonly log: string;
  private clones = 0;

  constructor(readonly dir: string) {
    this.origin = path.join(dir, "origin.git");
    this.bin = path.join(dir, "bin");
    this.log = path.join(dir, "pulumi.log");
  }

  /** A bare repository whose main holds the two scripts, the stack file and a stand-in for the program. */
  async init(): Promise<void> {
    mkdirSync(this.bin, { recursive: true });
    writeFileSync(path.join(this.bin, "pulumi"), FAKE_PULUMI);
    chmodSync(path.join(this.bin, "pulumi"), 0o755);
    writeFileSync(this.log, "");
    await this.git(this.dir, "init", "--quiet", "--bare", "-b", "main", this.origin);
    const seed = path.join(this.dir, "seed");
    await this.git(this.dir, "clone", "--quiet", this.origin, seed);
    // The two scripts and what dr-step.ts imports to resolve a stack's environment and policy config.
    for (const f of [
      ".github/scripts/main-tip.sh",
      ".github/scripts/dr-step.ts",
      ".github/scripts/resolve-stack.ts",
      ".github/scripts/affected-stacks.ts",
      "dev/fleet/environment.ts",
      "dev/offline/esc.ts",
      "dev/offline/stack-config.ts",
      "policy/config-file.ts",
    ]) {
      const to = path.join(seed, f);
      mkdirSync(path.dirname(to), { recursive: true });
      writeFileSync(to, readFileSync(path.join(PROJECT_DIR, f)));
      chmodSync(to, 0o755);
    }
    writeFileSync(path.join(seed, "Pulumi.yaml"), "name: service-dr\nruntime: nodejs\n");
    writeFileSync(path.join(seed, "Pulumi.staging.yaml"), INITIAL_STACK);
    writeFileSync(path.join(seed, "package-lock.json"), "{}\n");
    writeFileSync(path.join(seed, ".gitignore"), "node_modules\n");
    await this.commitAll(seed, "initial");
    await this.git(seed, "push", "--quiet", "origin", "HEAD:main");
  }

  async git(cwd: string, ...args: string[]): Promise<string> {
    const { stdout } = await exec("git", args, { cwd, env: { ...process.env, ...GIT_ENV } });
    return stdout.trim();
  }

  async commitAll(cwd: string, message: string): Promise<void> {
    await this.git(cwd, "add", "-A");
    await this.git(cwd, "commit", "--quiet", "-m", message);
  }

  /** A clone as actions/checkout leaves it at the commit that triggered a run (main now), node_modules linked. */
  async clone(name: string): Promise<string> {
    const dir = path.join(this.dir, `${name}-${this.clones++}`);
    await this.git(this.dir, "clone", "--quiet", this.origin, dir);
    symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"));
    return dir;
  }

  /** Runs one workflow step's script in `cwd` as GitHub does (bash -e -o pipefail), its env expanded. */
  async runStep(
    cwd: string,
    step: Step,
    context: Readonly<Record<string, string>>,
    extraEnv: Readonly<Record<string, string>> = {},
  ): Promise<{ code: number; stderr: string }> {
    const env = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
    );
    try {
      const r = await exec(
        "bash",
        ["--noprofile", "--norc", "-eo", "pipefail", "-c", expand(step.run!, context)],
        {
          cwd,
          env: {
            ...process.env,
            ...GIT_ISOLATION,
            ...env,
            ...extraEnv,
            PATH: `${this.bin}:${process.env.PATH ?? ""}`,
            FAKE_PULUMI_LOG: this.log,
          },
        },
      );
      return { code: 0, stderr: r.stderr };
    } catch (e) {
      const err = e as { code?: number; stderr?: string };
      return { code: err.code ?? -1, stderr: err.stderr ?? String(e) };
    }
  }

  /** The workflow's `pulumi up` step (pulumi/actions runs `pulumi up` in the working tree). */
  async up(cwd: string, run: string): Promise<void> {
    await exec(path.join(this.bin, "pulumi"), ["up", "--stack", "my-org/staging"], {
      cwd,
      env: { ...process.env, FAKE_PULUMI_LOG: this.log, FAKE_RUN: run },
    });
  }

  async bash(script: string): Promise<void> {
    await exec("bash", [script], { env: { ...process.env, ...GIT_ENV } });
  }

  records(): Recorded[] {
    return readFileSync(this.log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Recorded);
  }

  async mainFile(): Promise<string> {
    return this.git(this.origin, "show", "main:Pulumi.staging.yaml").then((s) => `${s}\n`);
  }

  /** Writes a script that, when run, merges `head` (a pull request) into main's tip as the merge button does. */
  landScript(prClone: string, head: string): string {
    const file = path.join(this.dir, `land-${path.basename(prClone)}.sh`);
    writeFileSync(
      file,
      [
        "set -euo pipefail",
        `cd '${prClone}'`,
        "git fetch --quiet origin main",
        "git checkout --quiet -B land origin/main",
        `git -c user.name=test -c user.email=test@localhost merge --quiet --no-ff --no-edit ${head} >/dev/null`,
        "git push --quiet origin HEAD:main",
        "",
      ].join("\n"),
    );
    return file;
  }
}

/** No system or user git config reaches the runs (the scripts' own `-c` settings are all there is). */
const GIT_ISOLATION = { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
/** A fixed identity for the test's own commits; the script sets its own for the DR step's. */
const GIT_ENV = {
  ...GIT_ISOLATION,
  GIT_AUTHOR_NAME: "test",
  GIT_AUTHOR_EMAIL: "test@localhost",
  GIT_COMMITTER_NAME: "test",
  GIT_COMMITTER_EMAIL: "test@localhost",
};
