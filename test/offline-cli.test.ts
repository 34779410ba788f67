/**
 * `npm run plan`: flags, exit statuses, what goes to stdout and stderr — in process against a fixture project,
 * and end to end (a spawned `npx tsx dev/offline/plan-cli.ts`) against the real program and both stacks.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { DateTime } from "luxon";
import { main, parseArgs } from "../dev/offline/plan-cli";
import { isConfigError, runProgram, SECRET, type PlanResource, type ProgramFn } from "../dev/offline/mocks";
import { UsageError } from "@service-dr/dr-data";
import { applySet, loadStackConfig, serializeConfig } from "../dev/offline/stack-config";

const ROOT = path.resolve(__dirname, "..");
const NOW_TEXT = "2026-11-25T10:00:00Z";
const NOW = DateTime.fromISO(NOW_TEXT, { setZone: true });

describe("offline: plan-cli argument parsing", () => {
  it("reads every flag, in both --flag value and --flag=value forms", () => {
    const o = parseArgs([
      "--stack",
      "staging",
      "--set",
      "drMode=ptr",
      "--set=ptr.restoreTime=2026-11-24T13:05:00",
      "--now",
      NOW_TEXT,
      "--json",
      "--diff",
    ]);
    assert.deepStrictEqual(
      { ...o, now: o.now?.toISO() },
      {
        stack: "staging",
        sets: ["drMode=ptr", "ptr.restoreTime=2026-11-24T13:05:00"],
        baseSets: [],
        now: "2026-11-25T10:00:00.000Z",
        json: true,
        diff: true,
        help: false,
      },
    );
  });
  it("--base-set is repeatable and only with --diff", () => {
    const o = parseArgs([
      "--stack",
      "s",
      "--diff",
      "--base-set",
      "drMode=ptr",
      "--base-set=incidentId=inc-1",
      "--set",
      "drPhase=restore",
    ]);
    assert.deepStrictEqual([o.baseSets, o.sets], [["drMode=ptr", "incidentId=inc-1"], ["drPhase=restore"]]);
    assert.throws(
      () => parseArgs(["--stack", "s", "--base-set", "drMode=ptr"]),
      /^UsageError: --base-set needs --diff \(it sets the config the diff is taken against\)$/,
    );
  });
  it("keeps the offset --now was given", () => {
    assert.equal(
      parseArgs(["--stack", "s", "--now", "2026-07-01T14:05:00+01:00"]).now?.toISO(),
      "2026-07-01T14:05:00.000+01:00",
    );
  });
  const bad: Array<[string[], RegExp]> = [
    [["--stack", "s", "--bogus"], /^unknown flag --bogus$/],
    [["--stack", "s", "-x"], /^unknown flag -x$/],
    [["--stack", "s", "extra"], /^unexpected argument "extra"$/],
    [[], /^--stack is required$/],
    [["--stack"], /^--stack needs a value$/],
    [["--stack", "--json"], /^--stack needs a value$/],
    [["--stack", "../etc"], /is not a stack name/],
    [["--stack", "s", "--json=yes"], /^--json takes no value$/],
    [["--stack", "s", "--now", "2026-11-25T10:00:00"], /needs an offset or Z/],
    [["--stack", "s", "--now", "2026-13-45T10:00:00Z"], /is not an ISO-8601 time/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(" ") || "(no arguments)"}`, () => {
      assert.throws(
        () => parseArgs(argv),
        (err: unknown) => {
          assert.ok(err instanceof UsageError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
  it("--help needs nothing else", () => assert.equal(parseArgs(["--help"]).help, true));
});

/** A project of the contract's shape in a temporary directory, and a program for it. */
class FixtureConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
  }
}
const fixture: ProgramFn = (now) => {
  const config = new pulumi.Config();
  const mode = config.get("mode") ?? "none";
  const problems: string[] = [];
  if (!["none", "ptr"].includes(mode)) problems.push(`mode: allowed none, ptr; received "${mode}"`);
  const replicas = config.requireObject<Record<string, unknown>>("replicas");
  for (const [k, v] of Object.entries(replicas)) {
    if (typeof v !== "number") problems.push(`replicas.${k}: a whole number; received ${JSON.stringify(v)}`);
  }
  if (problems.length > 0) throw new FixtureConfigError(problems);
  for (const [k, v] of Object.entries(replicas)) {
    new k8s.apps.v1.DeploymentPatch(k, {
      metadata: { name: k, namespace: "ns" },
      spec: { replicas: mode === "none" ? (v as number) : 0 },
    });
  }
  return Promise.resolve({ mode, now: now.toISO(), password: config.requireSecret("password") });
};

interface Captured {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function inProcess(dir: string, argv: string[]): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const status = await main(argv, { out: (t) => (stdout += t), err: (t) => (stderr += t) }, dir, fixture);
  return { status, stdout, stderr };
}

describe("offline: plan-cli against a fixture project (in process)", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "offline-cli-"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      "name: service-dr\nruntime: nodejs\nconfig:\n  password:\n    type: string\n    secret: true\n" +
        "  verbose:\n    type: boolean\n    default: false\n",
    );
    fs.writeFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      "config:\n  service-dr:replicas:\n    web: 2\n    worker: 1\n",
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("--json prints exactly one object with type, name, inputs and options of each resource, and the outputs", async () => {
    const r = await inProcess(dir, ["--stack", "dev", "--json", "--now", NOW_TEXT]);
    assert.equal(r.status, 0);
    assert.deepStrictEqual(JSON.parse(r.stdout), {
      resources: [
        {
          type: "kubernetes:apps/v1:DeploymentPatch",
          name: "web",
          inputs: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "web", namespace: "ns" },
            spec: { replicas: 2 },
          },
          options: {},
        },
        {
          type: "kubernetes:apps/v1:DeploymentPatch",
          name: "worker",
          inputs: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "worker", namespace: "ns" },
            spec: { replicas: 1 },
          },
          options: {},
        },
      ],
      outputs: { mode: "none", now: "2026-11-25T10:00:00.000Z", password: SECRET },
    });
    assert.ok(r.stdout.endsWith("}\n") && r.stdout.indexOf("\n") === r.stdout.length - 1, "one line of JSON");
    assert.equal(
      r.stderr,
      "plan: secrets planned with a placeholder (shown as [secret]): service-dr:password\n",
    );
  });

  it("the listing shows ids and inputs by path, secrets as [secret]", async () => {
    const r = await inProcess(dir, ["--stack", "dev", "--set", "replicas.web=5", "--now", NOW_TEXT]);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, "");
    assert.deepStrictEqual(r.stdout.split("\n"), [
      "Stack dev, now 2026-11-25T10:00:00.000Z (offline plan: Pulumi mock runtime, no cloud calls)",
      "Overrides: --set replicas.web=5",
      "Secrets not in the committed files (an operator sets them with `pulumi config set --secret`), planned with a placeholder shown as [secret]: service-dr:password",
      "",
      "Resources (2):",
      "  kubernetes:apps/v1:DeploymentPatch  web",
      "      id: ns/web",
      '      apiVersion: "apps/v1"',
      '      kind: "Deployment"',
      '      metadata.name: "web"',
      '      metadata.namespace: "ns"',
      "      spec.replicas: 5",
      "  kubernetes:apps/v1:DeploymentPatch  worker",
      "      id: ns/worker",
      '      apiVersion: "apps/v1"',
      '      kind: "Deployment"',
      '      metadata.name: "worker"',
      '      metadata.namespace: "ns"',
      "      spec.replicas: 1",
      "",
      "Outputs:",
      '  mode: "none"',
      '  now: "2026-11-25T10:00:00.000Z"',
      "  password: [secret]",
      "",
    ]);
  });

  it("--diff prints only what the overrides change", async () => {
    const r = await inProcess(dir, [
      "--stack",
      "dev",
      "--diff",
      "--set",
      "mode=ptr",
      "--set",
      "replicas.extra=1",
      "--now",
      NOW_TEXT,
    ]);
    assert.equal(r.status, 0);
    assert.deepStrictEqual(r.stdout.split("\n").slice(3), [
      "",
      "Changes relative to the committed config:",
      "+ create  kubernetes:apps/v1:DeploymentPatch  extra",
      "      id: ns/extra",
      '      apiVersion: "apps/v1"',
      '      kind: "Deployment"',
      '      metadata.name: "extra"',
      '      metadata.namespace: "ns"',
      "      spec.replicas: 0",
      "~ update  kubernetes:apps/v1:DeploymentPatch  web",
      "    ~ spec.replicas: 2 → 0",
      "~ update  kubernetes:apps/v1:DeploymentPatch  worker",
      "    ~ spec.replicas: 1 → 0",
      "",
      "Outputs:",
      '  ~ mode: "none" → "ptr"',
      "",
    ]);
  });

  it("invalid config: status 1, every problem on stderr one a line, nothing on stdout", async () => {
    const r = await inProcess(dir, [
      "--stack",
      "dev",
      "--json",
      "--set",
      "mode=bogus",
      "--set",
      "replicas.web=two",
    ]);
    assert.deepStrictEqual(r, {
      status: 1,
      stdout: "",
      stderr:
        "plan: secrets planned with a placeholder (shown as [secret]): service-dr:password\n" +
        'mode: allowed none, ptr; received "bogus"\n' +
        'replicas.web: a whole number; received "two"\n',
    });
  });

  it("--diff with an invalid override: status 1, the problems, nothing on stdout", async () => {
    const r = await inProcess(dir, ["--stack", "dev", "--diff", "--set", "mode=bogus"]);
    assert.deepStrictEqual(r, {
      status: 1,
      stdout: "",
      stderr: 'mode: allowed none, ptr; received "bogus"\n',
    });
  });

  it("a value the real CLI would refuse (declared type): status 1, nothing run, nothing on stdout", async () => {
    const r = await inProcess(dir, ["--stack", "dev", "--set", "verbose=maybe"]);
    assert.deepStrictEqual(r, {
      status: 1,
      stdout: "",
      stderr: "Stack 'dev' with configuration key 'verbose' must be of type 'boolean' (received \"maybe\")\n",
    });
  });

  const usage: Array<[string[], RegExp]> = [
    [["--stack", "dev", "--bogus"], /^plan: unknown flag --bogus\nUsage: /],
    [["--stack", "missing"], /^plan: no stack file .*Pulumi\.missing\.yaml/],
    [
      ["--stack", "dev", "--set", "replicas[0]=1"],
      /^plan: --set replicas\[0\]=1: an array was expected for index 0\n$/,
    ],
    [["--stack", "dev", "--set", "novalue"], /^plan: --set expects <path>=<value>, got "novalue"\n$/],
  ];
  for (const [argv, message] of usage) {
    it(`usage error, status 2: ${argv.join(" ")}`, async () => {
      const r = await inProcess(dir, argv);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
    });
  }

  it("--help prints the usage on stdout", async () => {
    const r = await inProcess(dir, ["--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: npm run plan -- --stack <stack>/);
  });
});

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
      const server = printed.resources.find((x) => x.type === "azure-native:dbforpostgresql:Server");
      assert.equal((server?.inputs as Record<string, unknown>).administratorLoginPassword, SECRET);
      assert.equal(
        r.stderr,
        "plan: secrets planned with a placeholder (shown as [secret]): service-dr:postgresAdminPassword\n",
      );
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
    assert.equal(
      r.stderr,
      "plan: secrets planned with a placeholder (shown as [secret]): service-dr:postgresAdminPassword\n" +
        problems.map((p) => `${p}\n`).join(""),
    );
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

  it("--base-set: previews exactly one step from where the stack is (isolate → restore: four Jobs, nothing else)", async () => {
    const r = await run("step");
    assert.equal(r.status, 0, r.stderr);
    const heads = r.stdout
      .split("\n")
      .filter((l) => /^(~ update|\+ create|- delete|\+- replace|= no change) /.test(l));
    const svc = "itt-mentor-services-staging";
    assert.deepStrictEqual(heads, [
      ...["backup-ptr", "compare", "reconcile", "restore"].map(
        (s) => `+ create  kubernetes:batch/v1:Job  ${svc}-recovery-dr-inc-1-${s}-20261124t130500z`,
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
    const { diffPlans } = await import("../dev/offline/diff");
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
