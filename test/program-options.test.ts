/**
 * Mock-runtime tests of the resource options the program declares — the engine-level safety properties of the
 * runbook. The mock monitor hands each registration request to RecordingMocks (dev/offline/mocks.ts), so these
 * are the options `pulumi up` would send: the live server and its databases `protect`ed in every mode, the PTR
 * copy never protected and replaced (old one deleted first) on a new restore time, backups protected, the
 * recovery Jobs chained in runbook order and waiting for the app to be stopped.
 */
import { strict as assert } from "node:assert";
import { type DeclaredOptions, type PlanResult } from "../dev/offline/mocks";
import { declareStack, geoRebuildSets } from "./support/stacks";

const SVC = "itt-mentor-services-staging";
const LIVE = `${SVC}-live-server`;
const PTR_SERVER = `${SVC}-ptr-server`;
const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];

function declare(sets: readonly string[], stack: "staging" | "production" = "staging"): Promise<PlanResult> {
  return declareStack(stack, sets);
}
function optionsOf(r: PlanResult, name: string): DeclaredOptions {
  const found = r.resources.filter((x) => x.name === name && !x.type.startsWith("service-dr:"));
  assert.equal(found.length, 1, `expected exactly one resource named ${name}`);
  return found[0]!.options;
}
const protectedNames = (r: PlanResult): string[] =>
  r.resources.filter((x) => x.options.protect === true).map((x) => x.name);

/** What must be protected in every state, and nothing else. */
const PROTECTED = [
  `${SVC}-backups-account`,
  `${SVC}-backups-container`,
  // The Azure CanNotDelete locks: removing one is a deliberate act (docs/runbook.md), never an up's side effect.
  `${SVC}-backups-lock`,
  `${SVC}-live-db-itt_mentor_services_staging`,
  `${SVC}-live-lock`,
  LIVE,
];
const LIVE_OPTIONS: DeclaredOptions = {
  protect: true,
  // Create-time inputs of a rebuild (ReviveDropped/GeoRestore and their source): ignored afterwards so that
  // returning to drMode=none does not read as a replacement of the rebuilt server.
  ignoreChanges: ["createMode", "sourceServerResourceId", "pointInTimeUTC", "administratorLogin"],
};

describe("program: resource options (mock runtime)", function () {
  this.timeout(120_000);

  const modes: Array<[string, string[]]> = [
    ["normal operation", []],
    ["ptr isolate", PTR],
    ["ptr restore", [...PTR, "drPhase=restore"]],
    ["ptr validate", [...PTR, "drPhase=validate"]],
    ["rebuild from backup, restore", ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"]],
    [
      "rebuild by revive",
      ["drMode=rebuild", "incidentId=inc-1", "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
    ],
    ["planned maintenance", ["maintenance=true", "freeze=true", "stopService=true"]],
  ];
  for (const [what, sets] of modes) {
    it(`${what}: the live server and its database are protected, and only they and the backups`, async () => {
      const r = await declare(sets);
      assert.deepStrictEqual(optionsOf(r, LIVE), LIVE_OPTIONS);
      assert.deepStrictEqual(protectedNames(r).sort(), PROTECTED);
    });
  }

  it("rebuild by geo-restore: the geo server and its database are protected as well", async () => {
    const r = await declare(geoRebuildSets("s189t01-ittms-stg-pg-geo", ["postgres.geoRedundantBackup=true"]));
    assert.deepStrictEqual(optionsOf(r, LIVE), LIVE_OPTIONS);
    assert.deepStrictEqual(
      protectedNames(r).sort(),
      [
        ...PROTECTED,
        `${SVC}-live-geo-db-itt_mentor_services_staging`,
        `${SVC}-live-geo-lock`,
        `${SVC}-live-geo-server`,
      ].sort(),
    );
  });

  it("the PTR copy: not protected, replaced on a new restore time with the old copy deleted first", async () => {
    const r = await declare(PTR);
    const options = optionsOf(r, PTR_SERVER);
    assert.equal(options.protect, undefined, "removing ptr from the config must be able to delete it");
    assert.deepStrictEqual(options.replaceOnChanges, ["pointInTimeUTC"]);
    // Fixed name: a create-before-delete replacement would collide with the old copy's name.
    assert.equal(options.deleteBeforeReplace, true);
    // The live server's id as Azure reports it may differ in case from the one built here: not a replacement.
    assert.deepStrictEqual(options.ignoreChanges, ["sourceServerResourceId"]);
    assert.ok(options.dependencies?.includes(LIVE), "created from the live server's id");
  });

  const job = (step: string): string => `${SVC}-recovery-dr-inc-1-${step}`;
  for (const [title, sets, chain] of [
    [
      "ptr restore: backup-flawed → inspect → reconcile → restore (dump, swap and compare in one Job)",
      [...PTR, "drPhase=restore"],
      [
        job("backup-flawed"),
        job("inspect-20261124t130500z"),
        job("reconcile-20261124t130500z"),
        job("restore-20261124t130500z-flow"),
      ],
    ],
    [
      "rebuild restore: restore → compare",
      ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"],
      [job("restore"), job("compare")],
    ],
  ] as const) {
    it(`${title}, each waiting for the one before and for replicas at 0`, async () => {
      const r = await declare(sets);
      chain.forEach((name, i) => {
        const options = optionsOf(r, name);
        const deps = options.dependencies ?? [];
        if (i > 0) assert.ok(deps.includes(chain[i - 1]!), `${name} waits for ${chain[i - 1]}`);
        for (const later of chain.slice(i + 1)) assert.ok(!deps.includes(later), `${name} before ${later}`);
        for (const app of [`${SVC}-replicas-web`, `${SVC}-replicas-worker`])
          assert.ok(deps.includes(app), `${name} waits until ${app} is patched (web and worker stopped)`);
        // Run as the recovery identity: its ServiceAccount, federated credential, blob role and Entra
        // administrator first.
        for (const d of [
          `${SVC}-dr-recovery-service-account`,
          `${SVC}-dr-recovery-federated`,
          `${SVC}-dr-recovery-blob-data`,
          `${SVC}-live-entra-admin-recovery`,
        ])
          assert.ok(deps.includes(d), `${name} waits for ${d}`);
        // pulumi up waits for a Job (see api-facts): by default the timeout follows the database size, here
        // staging's 32 GB of server storage: 10 min + 3 × 32 GiB at 23 MiB/s = 81 → 90 min (sizing.ts).
        assert.deepStrictEqual(options.customTimeouts, { create: "140m", update: "140m" });
      });
    });
  }

  it("the timeout of the Jobs follows dataTool.timeoutMinutes", async () => {
    const r = await declare([...PTR, "dataTool.timeoutMinutes=45"]);
    assert.deepStrictEqual(optionsOf(r, `${SVC}-recovery-dr-inc-1-backup-flawed`).customTimeouts, {
      create: "45m",
      update: "45m",
    });
  });

  it("adopt: existing resources are imported under the naming module's ids, not created", async () => {
    const r = await declare([
      "adopt.liveServer=true",
      "adopt.publicIngress=true",
      "adopt.branchProtection=true",
    ]);
    const sub = "/subscriptions/00000000-0000-0000-0000-000000000000";
    const server = `${sub}/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg`;
    assert.deepStrictEqual(optionsOf(r, LIVE), { ...LIVE_OPTIONS, import: server });
    assert.equal(
      optionsOf(r, `${SVC}-live-db-itt_mentor_services_staging`).import,
      `${server}/databases/itt_mentor_services_staging`,
    );
    assert.ok(optionsOf(r, `${SVC}-maintenance-public`).import !== undefined);
    assert.ok(optionsOf(r, `${SVC}-freeze-branch`).import !== undefined);
    const without = await declare([]);
    assert.equal(optionsOf(without, LIVE).import, undefined);
  });

  it("production: the same protection", async () => {
    const r = await declare([], "production");
    const live = r.resources.find((x) => x.type === "azure-native:dbforpostgresql:Server");
    assert.deepStrictEqual(live?.options, LIVE_OPTIONS);
  });
});
