/**
 * `npm run plan`: flags, exit statuses, what goes to stdout and stderr — in process against a fixture project.
 * End to end (spawned, the real program and both stacks): test/integration/plan-cli.test.ts.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { main, parseArgs } from "../dev/offline/plan-cli";
import { SECRET, type ProgramFn } from "../dev/offline/mocks";
import { UsageError } from "@service-dr/dr-data";

const NOW_TEXT = "2026-11-25T10:00:00Z";

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
