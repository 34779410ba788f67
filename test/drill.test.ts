/**
 * The scheduled drill: its config (the id, the objectives, an incident's precedence), its plan (the copy, the
 * Jobs in order on the copy) and what the program declares with and without it — the drill's resources
 * exactly, nothing of the live app changed, everything gone when the setting is removed.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { DATA_TOOL_REPOSITORY, parseConfig } from "../config";
import type { PlanResource } from "../dev/offline/mocks";
import { runPolicies, type PackConfig } from "../policy/run";
import { buildPlan, planDrill, planIdentities } from "../plan";
import { diffPlans } from "../dev/offline/diff";
import { declareStack, NOW, PROJECT_DIR, stackRaw } from "./support/stacks";

const DRILL = "drill=drill-20261125-0955";

function problemsOf(sets: readonly string[], edit?: (raw: Record<string, unknown>) => void): string[] {
  const raw = stackRaw("staging", sets);
  edit?.(raw);
  try {
    parseConfig(raw, NOW);
    return [];
  } catch (err) {
    return [...((err as { problems?: readonly string[] }).problems ?? [String(err)])];
  }
}

describe("drill: config", () => {
  const rows: Array<
    [string, readonly string[], ((raw: Record<string, unknown>) => void) | undefined, string[]]
  > = [
    ["a drill id naming a past UTC minute", [DRILL], undefined, []],
    [
      "an id of another shape",
      ["drill=drill-2026-11-25"],
      undefined,
      [
        'drill: must be drill-YYYYMMDD-HHMM, the drill\'s start in UTC (e.g. drill-20261207-0317); received "drill-2026-11-25"',
      ],
    ],
    [
      "an id naming no minute",
      ["drill=drill-20261325-0955"],
      undefined,
      [
        'drill: must name a real UTC minute: drill-YYYYMMDD-HHMM, the drill\'s start in UTC (e.g. drill-20261207-0317); received "drill-20261325-0955"',
      ],
    ],
    [
      "a drill in the future",
      ["drill=drill-20261125-1001"],
      undefined,
      ['drill: must not start in the future (now is 20261125-1000 UTC); received "drill-20261125-1001"'],
    ],
    [
      "a drill without objectives",
      [DRILL],
      (raw) => delete raw.objectives,
      [
        "objectives: is required while drill is set (the drill is measured against objectives.rpoMinutes and objectives.rtoMinutes); received nothing",
      ],
    ],
    [
      "an objective of 0 minutes",
      ["objectives.rtoMinutes=0"],
      undefined,
      [
        "objectives.rtoMinutes: must be a whole number of minutes from 1 to 129600 (the longest a recovery may take); received 0",
      ],
    ],
    [
      "a database name leaving no room for the drill restore's",
      [DRILL],
      (raw) => {
        const db = "a".repeat(44);
        const pg = raw.postgres as Record<string, unknown>;
        raw.postgres = { ...pg, databases: { [db]: {} }, appDatabase: db };
      },
      [
        `postgres.appDatabase: must leave room for the drill restore's database "${"a".repeat(44)}_drill_restore_drill" (≤ 63 bytes) while drill is set; received "${"a".repeat(44)}"`,
      ],
    ],
  ];
  for (const [what, sets, edit, expected] of rows) {
    it(what, () => assert.deepStrictEqual(problemsOf(sets, edit), expected));
  }

  it("an open incident takes precedence: the drill is ignored, with the command that removes it", () => {
    const cfg = parseConfig(stackRaw("staging", [DRILL, "drMode=rebuild", "incidentId=inc-1"]), NOW);
    assert.deepStrictEqual(
      cfg.warnings.filter((w) => w.startsWith("drill:")),
      [
        "drill: drill-20261125-0955 is ignored while drMode is rebuild (an incident takes precedence: no drill resources are declared, and what the drill made is deleted); remove it: pulumi config rm drill",
      ],
    );
    assert.equal(planDrill(cfg, buildPlan(cfg, NOW).liveServer), undefined);
  });
});

describe("drill: plan", () => {
  const cfg = parseConfig(stackRaw("staging", [DRILL]), NOW);
  const drill = planDrill(cfg, buildPlan(cfg, NOW).liveServer);
  const copyHost = "s189t01-ittms-stg-pg-drill.postgres.database.azure.com";
  const liveHost = "s189t01-ittms-stg-pg.postgres.database.azure.com";

  it("copies live five minutes before the drill's start, under a name of its own", () => {
    assert.ok(drill !== undefined);
    assert.deepStrictEqual(
      [drill.copy.name, drill.copy.fqdn, drill.copy.pointInTimeUtc, drill.startedAt],
      ["s189t01-ittms-stg-pg-drill", copyHost, "2026-11-25T09:50:00+00:00", "2026-11-25T09:55:00+00:00"],
    );
    assert.equal(drill.copy.sourceServerId, buildPlan(cfg, NOW).liveServer.id);
  });

  it("restores into the copy's scratch database, inspects read-only, then reports against the objectives", () => {
    assert.ok(drill !== undefined);
    const db = "itt_mentor_services_staging";
    const prefix = "drill/s189t01-ittms-stg-pg/20261125T095500Z";
    assert.deepStrictEqual(
      drill.jobs.map((j) => [j.name, j.step, j.after, j.serviceAccountName, j.logBlob, j.doneBlob]),
      [
        [
          "drill-20261125-0955-restore",
          "restore",
          undefined,
          "itt-mentor-services-staging-dr-drill",
          `${prefix}/logs/drill-20261125-0955-restore.log`,
          `${prefix}/done/drill-20261125-0955-restore.json`,
        ],
        [
          "drill-20261125-0955-inspect",
          "inspect",
          "drill-20261125-0955-restore",
          "itt-mentor-services-staging-dr-data",
          `${prefix}/logs/drill-20261125-0955-inspect.log`,
          `${prefix}/done/drill-20261125-0955-inspect.json`,
        ],
        [
          "drill-20261125-0955-report",
          "report",
          "drill-20261125-0955-inspect",
          "itt-mentor-services-staging-dr-drill",
          `${prefix}/logs/drill-20261125-0955-report.log`,
          `${prefix}/done/drill-20261125-0955-report.json`,
        ],
      ],
    );
    const [restore, inspect, report] = drill.jobs;
    // The newest nightly of the app database, restored under the scratch name.
    assert.ok(restore?.args.command === "restore");
    assert.deepStrictEqual(
      [restore.args.options.sourceDatabase, restore.args.options.database],
      [db, `${db}_drill`],
    );
    assert.deepStrictEqual(restore?.connections, {
      "": {
        ref: "ptr",
        host: copyHost,
        user: "itt-mentor-services-staging-dr-drill",
        database: `${db}_drill`,
      },
    });
    assert.deepStrictEqual(
      Object.values(inspect?.connections ?? {}).map((c) => [c.host, c.user]),
      [
        [copyHost, "itt-mentor-services-staging-dr-data"],
        [liveHost, "itt-mentor-services-staging-dr-data"],
      ],
    );
    assert.deepStrictEqual(report?.args, {
      command: "drill-report",
      options: {
        container: "database-backup",
        server: "s189t01-ittms-stg-pg",
        database: db,
        startedAt: "2026-11-25T09:55:00+00:00",
        steps: { restore: "drill-20261125-0955-restore", inspect: "drill-20261125-0955-inspect" },
        rpoMinutes: 1560,
        rtoMinutes: 240,
      },
    });
    assert.equal(drill.reportBlob, `${prefix}/report.json`);
  });

  it("the inspection's evidence: the nightly identity may also write under drill/ and the drill's incident folder, never delete", () => {
    assert.ok(drill !== undefined);
    const B = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
    assert.equal(
      drill.inspectAccess.condition,
      `((!(ActionMatches{'${B}/delete'}) AND !(ActionMatches{'${B}/move/action'}))) AND ` +
        `((!(ActionMatches{'${B}/write'} AND SubOperationMatches{'Blob.Write.Tier'}))) AND ` +
        `((!(ActionMatches{'${B}/write'}) AND !(ActionMatches{'${B}/add/action'})) OR ` +
        `(@Resource[${B}:path] StringLike 'drill/*' OR @Resource[${B}:path] StringLike 'incident/drill-20261125-0955/*'))`,
    );
    const standing = planIdentities(cfg).nightly.blobRole;
    assert.notEqual(drill.inspectAccess.name, standing.name);
    assert.equal(drill.inspectAccess.roleDefinitionId, standing.roleDefinitionId);
  });

  it("no drill without the setting", () => {
    const plain = parseConfig(stackRaw("staging"), NOW);
    assert.equal(planDrill(plain, buildPlan(plain, NOW).liveServer), undefined);
  });
});

describe("drill: what the program declares", function () {
  this.timeout(120_000);
  const DRILL_RESOURCES = [
    "service-dr:index:ScheduledDrill itt-mentor-services-staging-drill",
    "service-dr:index:WorkloadIdentity itt-mentor-services-staging-drill-identity",
    "azure-native:managedidentity:UserAssignedIdentity itt-mentor-services-staging-drill-identity-identity",
    "azure-native:managedidentity:FederatedIdentityCredential itt-mentor-services-staging-drill-identity-federated",
    "kubernetes:core/v1:ServiceAccount itt-mentor-services-staging-drill-identity-service-account",
    "azure-native:authorization:RoleAssignment itt-mentor-services-staging-drill-identity-blob-data",
    "service-dr:index:PtrCopy itt-mentor-services-staging-drill-copy",
    "azure-native:dbforpostgresql:Server itt-mentor-services-staging-drill-copy-server",
    "azure-native:authorization:RoleAssignment itt-mentor-services-staging-drill-inspect-blob-data",
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra itt-mentor-services-staging-drill-copy-entra-admin-recovery",
    "kubernetes:batch/v1:Job itt-mentor-services-staging-drill-drill-20261125-0955-restore",
    "kubernetes:batch/v1:Job itt-mentor-services-staging-drill-drill-20261125-0955-inspect",
    "kubernetes:batch/v1:Job itt-mentor-services-staging-drill-drill-20261125-0955-report",
  ].sort();
  const named = (rs: readonly { type: string; name: string }[]): string[] =>
    rs.map((r) => `${r.type} ${r.name}`).sort();

  it("adds exactly the drill's resources, changes nothing else, and only adds the drill output", async () => {
    const diff = diffPlans(await declareStack("staging"), await declareStack("staging", [DRILL]));
    assert.deepStrictEqual(named(diff.added), DRILL_RESOURCES);
    assert.deepStrictEqual([named(diff.removed), diff.changed.filter((c) => c.action !== "none")], [[], []]);
    assert.deepStrictEqual([...new Set(diff.outputs.map((o) => o.path.split(/[.[]/)[0]))], ["drill"]);
  });

  it("removing the setting removes every resource the drill made", async () => {
    const diff = diffPlans(await declareStack("staging", [DRILL]), await declareStack("staging"));
    assert.deepStrictEqual(named(diff.removed), DRILL_RESOURCES);
    assert.deepStrictEqual([named(diff.added), diff.changed.filter((c) => c.action !== "none")], [[], []]);
  });

  it("the copy is a point-in-time restore of live, not protected, tagged as a drill's", async () => {
    const plan = await declareStack("staging", [DRILL]);
    const server = plan.resources.find((r) => r.name === "itt-mentor-services-staging-drill-copy-server");
    assert.deepStrictEqual(
      [
        server?.inputs.serverName,
        server?.inputs.createMode,
        server?.inputs.pointInTimeUTC,
        server?.inputs.tags,
        server?.options.protect ?? false,
      ],
      [
        "s189t01-ittms-stg-pg-drill",
        "PointInTimeRestore",
        "2026-11-25T09:50:00+00:00",
        { "service-dr": "drill-copy", "service-dr-restore-point": "2026-11-25T09:50:00+00:00" },
        false,
      ],
    );
  });

  it("an incident declared during a drill takes precedence: no drill resource is declared", async () => {
    const plan = await declareStack("staging", [DRILL, "drMode=rebuild", "incidentId=inc-1"]);
    assert.deepStrictEqual(
      plan.resources.filter((r) => r.name.includes("-drill")).map((r) => r.name),
      [],
    );
    assert.equal(plan.outputs.drill, undefined);
  });
});

describe("drill: the policy pack", function () {
  this.timeout(120_000);
  const PUBLISHED = `dataTool.image=${DATA_TOOL_REPOSITORY}@sha256:${"5e".repeat(32)}`;
  const pack = (stack: string): PackConfig =>
    JSON.parse(
      readFileSync(path.join(PROJECT_DIR, "policy", "config", `${stack}.json`), "utf8"),
    ) as PackConfig;
  const drillPlan = async (stack: "staging" | "production"): Promise<PlanResource[]> =>
    structuredClone((await declareStack(stack, [DRILL, PUBLISHED])).resources);
  const messages = async (resources: PlanResource[], stack: string): Promise<string[]> =>
    (await runPolicies(resources, pack(stack))).map((v) => `${v.policy}: ${v.message}`);
  const named = (resources: PlanResource[], suffix: string): PlanResource => {
    const r = resources.find((x) => x.name.endsWith(suffix));
    assert.ok(r !== undefined, suffix);
    return r;
  };
  const LIVE_HOST = "s189t01-ittms-stg-pg.postgres.database.azure.com";
  const RESTORE_JOB =
    "drill-never-restores-live: itt-mentor-services-staging-drill-drill-20261125-0955-restore";
  const INSPECT_JOB =
    "drill-never-restores-live: itt-mentor-services-staging-drill-drill-20261125-0955-inspect";
  type Env = Array<{ name: string; value?: string; valueFrom?: unknown }>;
  const container = (job: PlanResource): { env: Env; args: string[] } =>
    (job.inputs as { spec: { template: { spec: { containers: Array<{ env: Env; args: string[] }> } } } }).spec
      .template.spec.containers[0]!;
  const env = (job: PlanResource): Array<{ name: string; value?: string }> =>
    (job.inputs as { spec: { template: { spec: { containers: Array<{ env: [] }> } } } }).spec.template.spec
      .containers[0]!.env;

  for (const stack of ["staging", "production"] as const) {
    it(`${stack}: no violation while a drill is declared`, async () =>
      assert.deepStrictEqual(await messages(await drillPlan(stack), stack), []));
  }

  it("a drill copy named like live is refused", async () => {
    const resources = await drillPlan("staging");
    named(resources, "-drill-copy-server").inputs.serverName = "s189t01-ittms-stg-pg";
    assert.deepStrictEqual(await messages(resources, "staging"), [
      "drill-copy-never-live: itt-mentor-services-staging-drill-copy-server: the drill's copy is named \"s189t01-ittms-stg-pg\", a live server's name",
      // The restore's and the inspection's copy host are the renamed copy's, i.e. live's: refused too.
      `drill-never-restores-live: itt-mentor-services-staging-drill-drill-20261125-0955-inspect: container dr-data (dr-data inspect): its copy side (PTR_…HOST) must be the drill's copy (s189t01-ittms-stg-pg), got ["s189t01-ittms-stg-pg-drill.postgres.database.azure.com"]`,
      `drill-never-restores-live: itt-mentor-services-staging-drill-drill-20261125-0955-restore: container dr-data (dr-data restore) can write: it must connect only to the drill's copy (s189t01-ittms-stg-pg), got ["s189t01-ittms-stg-pg-drill.postgres.database.azure.com"]`,
    ]);
  });

  it("a drill restore pointed at live is refused", async () => {
    const resources = await drillPlan("staging");
    const host = env(named(resources, "-restore")).find((e) => e.name === "PGHOST");
    assert.ok(host !== undefined);
    host.value = "s189t01-ittms-stg-pg.postgres.database.azure.com";
    assert.deepStrictEqual(await messages(resources, "staging"), [
      `${RESTORE_JOB}: container dr-data (dr-data restore) can write: it must connect only to the drill's copy (s189t01-ittms-stg-pg-drill), got ["${LIVE_HOST}"]`,
      `${RESTORE_JOB}: container dr-data (dr-data restore) can write: it must never name the live server (s189t01-ittms-stg-pg): env PGHOST "${LIVE_HOST}"`,
    ]);
  });

  it("a restore that names live anywhere (a URL, an argument) is refused, though its host is the copy", async () => {
    const resources = await drillPlan("staging");
    const restore = container(named(resources, "-restore"));
    restore.env.push({ name: "DATABASE_URL", value: `postgres://u@${LIVE_HOST}:5432/app` });
    restore.args.push("--target", "s189t01-ittms-stg-pg");
    assert.deepStrictEqual(await messages(resources, "staging"), [
      `${RESTORE_JOB}: container dr-data (dr-data restore) can write: it must never name the live server (s189t01-ittms-stg-pg): ` +
        `env DATABASE_URL "postgres://u@${LIVE_HOST}:5432/app", args[18] "s189t01-ittms-stg-pg"`,
    ]);
  });

  it("a restore whose host the pack cannot read (valueFrom) is refused", async () => {
    const resources = await drillPlan("staging");
    const restore = container(named(resources, "-restore"));
    restore.env = restore.env.map((e) =>
      e.name === "PGHOST"
        ? { name: "PGHOST", valueFrom: { configMapKeyRef: { name: "db", key: "host" } } }
        : e,
    );
    assert.deepStrictEqual(await messages(resources, "staging"), [
      `${RESTORE_JOB}: container dr-data (dr-data restore) can write: PGHOST must be a literal value the pack can check, got a reference`,
      `${RESTORE_JOB}: container dr-data (dr-data restore) can write: it must connect only to the drill's copy (s189t01-ittms-stg-pg-drill), got []`,
    ]);
  });

  it("the inspection reads live, read only; its copy side pointed at live is refused", async () => {
    const resources = await drillPlan("staging");
    const inspect = container(named(resources, "-inspect"));
    inspect.env.find((e) => e.name === "PTR_PGHOST")!.value = LIVE_HOST;
    assert.deepStrictEqual(await messages(resources, "staging"), [
      `${INSPECT_JOB}: container dr-data (dr-data inspect): its copy side (PTR_…HOST) must be the drill's copy (s189t01-ittms-stg-pg-drill), got ["${LIVE_HOST}"]`,
    ]);
  });

  it("the inspection's Job made to run a command that writes is held to the writers' rule", async () => {
    const resources = await drillPlan("staging");
    container(named(resources, "-inspect")).args[0] = "restore";
    assert.deepStrictEqual(await messages(resources, "staging"), [
      `${INSPECT_JOB}: container dr-data (dr-data restore) can write: it must connect only to the drill's copy (s189t01-ittms-stg-pg-drill), got ["s189t01-ittms-stg-pg-drill.postgres.database.azure.com","${LIVE_HOST}"]`,
      `${INSPECT_JOB}: container dr-data (dr-data restore) can write: it must never name the live server (s189t01-ittms-stg-pg): env LIVE_PGHOST "${LIVE_HOST}"`,
    ]);
  });

  it("in production a drill report without objectives is refused", async () => {
    const resources = await drillPlan("production");
    const report = named(resources, "-report");
    const container = (
      report.inputs as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }
    ).spec.template.spec.containers[0]!;
    container.args = container.args.filter(
      (a, i, all) => a !== "--rto-minutes" && all[i - 1] !== "--rto-minutes",
    );
    assert.deepStrictEqual(await messages(resources, "production"), [
      `drill-objectives-in-production: itt-mentor-services-production-drill-drill-20261125-0955-report: production needs the drill measured against objectives (objectives.rpoMinutes, objectives.rtoMinutes); missing --rto-minutes`,
    ]);
  });
});
