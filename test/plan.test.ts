import { strict as assert } from "node:assert";
import { tableSetTag } from "@service-dr/dr-data";
import { parseConfig } from "../config";
import { buildPlan, renderNextStep } from "../plan";
import type { Plan } from "../plan";
import { DR_NETWORK, geoRebuildSets, NOW, stackRaw } from "./support/stacks";

function planFor(sets: readonly string[], stack: "staging" | "production" = "staging"): Plan {
  return buildPlan(parseConfig(stackRaw(stack, sets), NOW), NOW);
}
/** The next step as the stack outputs it. */
function nextStepText(sets: readonly string[], stack: "staging" | "production" = "staging"): string {
  return renderNextStep(planFor(sets, stack).nextStep);
}

const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const NET = DR_NETWORK;
const GEO = geoRebuildSets("s189p01-ittms-pd-pg-geo");
/** The closing step's first sentence: where the report Job wrote the incident's report, and how to read it. */
const reportWritten = (account: string): string =>
  "The incident's report (the timeline of its recovery Jobs, the restore point, rows lost and recovered) is " +
  "written to incident/inc-1/report.md by the Job dr-inc-1-report (once; its log: incident/inc-1/logs/dr-inc-1-report.log; " +
  "if it failed, fix the cause and pulumi config set --path retry.report 1 && pulumi up); read it for the post-DR review: " +
  `az storage blob download --auth-mode login --account-name ${account} --container-name database-backup ` +
  "--name incident/inc-1/report.md --file incident-report.md. ";

/** A literal as a RegExp source. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("plan: the levers in every mode and phase (the issue's table)", () => {
  // [config, stopService, maintenance, freeze, ptr copy present]
  const rows: Array<[string, readonly string[], boolean, boolean, boolean, boolean]> = [
    ["drMode none", [], false, false, false, false],
    ["ptr isolate without a restore time", ["drMode=ptr", "incidentId=inc-1"], true, true, true, false],
    ["ptr isolate with a restore time", [...PTR], true, true, true, true],
    ["ptr restore", [...PTR, "drPhase=restore"], true, true, true, true],
    ["ptr validate", [...PTR, "drPhase=validate"], false, true, true, true],
    ["rebuild isolate", ["drMode=rebuild", "incidentId=inc-1"], true, true, true, false],
    ["rebuild restore", ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"], true, true, true, false],
    [
      "rebuild validate",
      ["drMode=rebuild", "incidentId=inc-1", "drPhase=validate"],
      false,
      true,
      true,
      false,
    ],
    ["none with planned maintenance", ["maintenance=true"], false, true, false, false],
    ["none with a freeze override", ["freeze=true"], false, false, true, false],
    ["none with stopService", ["stopService=true"], true, false, false, false],
    [
      "ptr validate, maintenance turned off",
      [...PTR, "drPhase=validate", "maintenance=false"],
      false,
      false,
      true,
      true,
    ],
    [
      "ptr restore with stopService forced off",
      [...PTR, "drPhase=restore", "stopService=false"],
      false,
      true,
      true,
      true,
    ],
    [
      "ptr config left behind with drMode none: no copy",
      ["incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"],
      false,
      false,
      false,
      false,
    ],
  ];
  for (const [what, sets, stop, maintenance, freeze, copy] of rows) {
    it(what, () => {
      const plan = planFor(sets);
      assert.deepEqual(
        {
          stop: plan.levers.stopService.on,
          maintenance: plan.levers.maintenance.on,
          freeze: plan.levers.freeze.on,
          copy: plan.ptrCopy !== undefined,
        },
        { stop, maintenance, freeze, copy },
      );
      // What each lever means downstream.
      assert.deepEqual(
        Object.values(plan.replicas.deployments).map((d) => d.desired),
        stop ? [0, 0] : [2, 1],
      );
      assert.equal(plan.freeze.requiredApprovers, freeze ? 6 : 1);
      assert.equal(plan.freeze.enforceAdmins, freeze);
      assert.equal(plan.maintenance.on, maintenance);
      assert.equal(
        plan.maintenance.temporaryHost,
        maintenance ? "itt-mentor-services-staging-temp.test.teacherservices.cloud" : undefined,
      );
    });
  }
  it("records whether a lever comes from the mode or an override", () => {
    const plan = planFor([...PTR, "drPhase=validate", "maintenance=false"]);
    assert.deepEqual(plan.levers, {
      stopService: { on: false, source: "mode" },
      maintenance: { on: false, source: "override" },
      freeze: { on: true, source: "mode" },
    });
  });
});

describe("plan: servers", () => {
  it("the PTR copy: <live>-ptr, the live server's id, the converted UTC time, same location and network", () => {
    const plan = planFor(PTR);
    assert.deepEqual(plan.ptrCopy, {
      name: "s189t01-ittms-stg-pg-ptr",
      fqdn: "s189t01-ittms-stg-pg-ptr.postgres.database.azure.com",
      resourceGroup: "s189t01-ittms-stg-rg",
      location: "uksouth",
      network: plan.liveServer.network,
      sourceServerId:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg",
      pointInTimeUtc: "2026-11-24T13:05:00+00:00",
      pointInTimeLocal: "2026-11-24 13:05:00 GMT (+00:00)",
    });
    assert.deepEqual(plan.restorePoint, {
      utc: "2026-11-24T13:05:00+00:00",
      local: "2026-11-24 13:05:00 GMT (+00:00)",
      zone: "Europe/London",
    });
  });
  const creations: Array<[string, readonly string[], "staging" | "production", unknown]> = [
    ["normal: the existing server, no create mode", [], "staging", { kind: "existing" }],
    ["ptr mode leaves the live server alone", PTR, "staging", { kind: "existing" }],
    [
      "rebuild from backup: a new empty server",
      ["drMode=rebuild", "incidentId=inc-1"],
      "staging",
      { kind: "empty", createMode: "Create" },
    ],
    [
      "rebuild revive: ReviveDropped at the deletion time in UTC",
      ["drMode=rebuild", "incidentId=inc-1", "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
      "staging",
      {
        kind: "revive",
        createMode: "ReviveDropped",
        sourceServerId:
          "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg",
        pointInTimeUtc: "2026-11-24T18:30:00+00:00",
      },
    ],
  ];
  for (const [what, sets, stack, creation] of creations) {
    it(what, () => assert.deepEqual(planFor(sets, stack).liveServer.creation, creation));
  }
  it("rebuild geo: a new server (rebuild.serverName) GeoRestored into the other region; the live server unchanged", () => {
    const plan = planFor(GEO, "production");
    const live = planFor([], "production").liveServer;
    // The live server is declared exactly as in normal operation (protected; it still exists in Azure).
    assert.deepStrictEqual(plan.liveServer, live);
    const geoId =
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/s189p01-ittms-pd-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189p01-ittms-pd-pg-geo";
    assert.deepStrictEqual(plan.geoServer, {
      name: "s189p01-ittms-pd-pg-geo",
      id: geoId,
      fqdn: "s189p01-ittms-pd-pg-geo.postgres.database.azure.com",
      resourceGroup: "s189p01-ittms-pd-rg",
      location: "ukwest",
      version: "16",
      sku: { name: "Standard_D2ds_v5", tier: "GeneralPurpose" },
      storageSizeGb: 128,
      backupRetentionDays: 7,
      geoRedundantBackup: "Enabled",
      highAvailability: { mode: "Disabled" },
      network: {
        delegatedSubnetId: `${NET}/virtualNetworks/dr-vnet/subnets/pg`,
        privateDnsZoneId: `${NET}/privateDnsZones/dr.postgres.database.azure.com`,
      },
      entraAdmin: {
        objectId: "00000000-0000-0000-0000-000000000000",
        displayName: "s189p01-ittms-pd-pg-admins",
      },
      databases: {
        itt_mentor_services_production: {
          charset: "UTF8",
          collation: "en_US.utf8",
          importId: `${geoId}/databases/itt_mentor_services_production`,
        },
      },
      appDatabase: "itt_mentor_services_production",
      parameters: { "azure.extensions": "PGCRYPTO,PLPGSQL", log_min_duration_statement: "2000" },
      creation: {
        kind: "geo",
        createMode: "GeoRestore",
        sourceServerId: live.id,
        pointInTimeUtc: "2026-11-25T10:00:00+00:00",
      },
      adopt: false,
    });
    assert.deepStrictEqual(plan.activeServer, {
      name: "s189p01-ittms-pd-pg-geo",
      fqdn: "s189p01-ittms-pd-pg-geo.postgres.database.azure.com",
    });
    assert.deepStrictEqual(planFor([], "production").activeServer, {
      name: "s189p01-ittms-pd-pg",
      fqdn: "s189p01-ittms-pd-pg.postgres.database.azure.com",
    });
    assert.equal(planFor([], "production").geoServer, undefined);
  });
  it("rebuild geo: nextStep points the app at the geo server, then the switch-over before closing", () => {
    assert.equal(
      nextStepText(GEO, "production"),
      "Once s189p01-ittms-pd-pg-geo exists in ukwest (the latest geo-replicated backup, up to about an hour old), " +
        "point the app's database host at s189p01-ittms-pd-pg-geo.postgres.database.azure.com (the app's own deploy config), " +
        "then check it: pulumi config set drPhase restore && pulumi up",
    );
    assert.equal(
      nextStepText([...GEO, "drPhase=validate", "maintenance=false", "freeze=false"], "production"),
      reportWritten("s189p01ittmsdbbkpsa") +
        'Make s189p01-ittms-pd-pg-geo the stack\'s live server before closing (docs/runbook.md, "Geo-restore: the switch-over"): ' +
        "first the pulumi state steps there, then pulumi config set --path postgres.serverName s189p01-ittms-pd-pg-geo && " +
        "pulumi config set --path postgres.location ukwest && " +
        `pulumi config set --path postgres.network.delegatedSubnetId ${NET}/virtualNetworks/dr-vnet/subnets/pg && ` +
        `pulumi config set --path postgres.network.privateDnsZoneId ${NET}/privateDnsZones/dr.postgres.database.azure.com && ` +
        "pulumi config set --path postgres.highAvailability Disabled && pulumi config rm --path postgres.availabilityZone && " +
        "pulumi config rm --path postgres.standbyAvailabilityZone && pulumi config set drMode none && pulumi config rm drPhase && " +
        "pulumi config rm rebuild && pulumi config rm incidentId && pulumi config rm maintenance && pulumi config rm freeze && " +
        "pulumi preview --diff (no change on the live server), then pulumi up",
    );
  });
  it("production declares HA with its standby zone and geo-redundant backup", () => {
    const live = planFor([], "production").liveServer;
    assert.deepEqual(live.highAvailability, { mode: "ZoneRedundant", standbyAvailabilityZone: "2" });
    assert.equal(live.availabilityZone, "1");
    assert.equal(live.geoRedundantBackup, "Enabled");
  });
});

describe("plan: nextStep walks the runbook", () => {
  const steps: Array<[string, readonly string[], RegExp]> = [
    [
      "no incident",
      [],
      /^No incident\. Loss of data: pulumi config set incidentId inc-20261125-1000 && pulumi config set drMode ptr && pulumi up\. Loss of the database server: pulumi refresh, then pulumi config set incidentId inc-20261125-1000 && pulumi config set drMode rebuild && pulumi up\.$/,
    ],
    [
      "ptr isolate: choose the restore point",
      ["drMode=ptr", "incidentId=inc-1"],
      /^Choose the restore point \(wall clock in Europe\/London, or give an offset\) and create the PTR copy: pulumi config set --path ptr\.restoreTime 2026-11-25T09:00:00 && pulumi up\. If a recovery Job fails/,
    ],
    [
      "ptr isolate with a copy: restore",
      PTR,
      new RegExp(
        "^" +
          escape(
            "Read the inspection of the PTR copy (s189t01-ittms-stg-pg-ptr) against the live data (what was lost, what was written since): " +
              "az storage blob download --auth-mode login --account-name s189t01ittmsdbbkpsa --container-name database-backup " +
              "--name incident/inc-1/inspect/report.md --file inspect-report.md; to look by hand: kubectl -n bat-staging-dr exec -it dr-inc-1-psql -- psql-ptr " +
              "(or kubectl -n bat-staging-dr exec -it dr-inc-1-psql -- psql-live). Then restore the whole database from the copy: pulumi config set drPhase restore && pulumi up; " +
              "or, if the loss is in a few tables, restore only those: pulumi config set --path 'ptr.tables[0]' <schema.table> (one index per table) && pulumi config set drPhase restore && pulumi up. " +
              "Either way the rows written since the restore point are exported first (incident/inc-1/reconcile/). If a recovery Job fails",
          ),
      ),
    ],
    [
      "ptr isolate with a copy and ptr.tables: restore those tables",
      [...PTR, "ptr.tables[0]=app.events"],
      /\. Then restore only app\.events from the copy \(ptr\.tables\): pulumi config set drPhase restore && pulumi up; for the whole database instead: pulumi config rm --path ptr\.tables first\. /,
    ],
    [
      "ptr restore: validate",
      [...PTR, "drPhase=restore"],
      /^Validate the app on https:\/\/itt-mentor-services-staging-temp\.test\.teacherservices\.cloud .*pulumi config set drPhase validate && pulumi up\. If a recovery Job fails/,
    ],
    [
      "ptr validate: maintenance off",
      [...PTR, "drPhase=validate"],
      /^When the app is validated, disable maintenance mode: pulumi config set maintenance false && pulumi up\. If a recovery Job fails/,
    ],
    [
      "then unfreeze",
      [...PTR, "drPhase=validate", "maintenance=false"],
      /^Unfreeze the pipeline .*: pulumi config set freeze false && pulumi up\. If a recovery Job fails/,
    ],
    [
      "then tidy up, deleting the PTR copy",
      [...PTR, "drPhase=validate", "maintenance=false", "freeze=false"],
      /^The incident's report .* is written to incident\/inc-1\/report\.md by the Job dr-inc-1-report .*\. Tidy up \(deletes the PTR copy\) and close the incident: pulumi config set drMode none && pulumi config rm drPhase && pulumi config rm ptr && pulumi config rm incidentId && pulumi config rm maintenance && pulumi config rm freeze && pulumi up\. The incident leaves, for reconciliation/,
    ],
    [
      "then tidy up, with the declaration time among the keys to remove (refused without an incident)",
      [
        ...PTR,
        "incidentDeclaredAt=2026-11-24T12:40:00",
        "drPhase=validate",
        "maintenance=false",
        "freeze=false",
      ],
      /\. Tidy up \(deletes the PTR copy\) and close the incident: pulumi config set drMode none && pulumi config rm drPhase && pulumi config rm ptr && pulumi config rm incidentId && pulumi config rm incidentDeclaredAt && pulumi config rm maintenance && pulumi config rm freeze && pulumi up\. The incident leaves, for reconciliation/,
    ],
    [
      "rebuild isolate from backup: restore the nightly backup",
      ["drMode=rebuild", "incidentId=inc-1"],
      /restore the nightly backup into the rebuilt server: pulumi config set drPhase restore && pulumi up$/,
    ],
    [
      "after closing: remove leftovers",
      ["incidentId=inc-1"],
      /^Incident inc-1 closed\. Tidy the stack config: pulumi config rm incidentId\. The incident leaves/,
    ],
  ];
  for (const [what, sets, expected] of steps) {
    it(what, () => assert.match(nextStepText(sets), expected));
  }
});

describe("plan: what the operator is told around the Jobs and at close", () => {
  // As a member of the administrators group, with an access token, verifying the server's certificate.
  const PSQL =
    'PGPASSWORD="$(az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv)" ' +
    "psql \"host=s189t01-ittms-stg-pg.postgres.database.azure.com port=5432 dbname=postgres user='s189t01-ittms-stg-pg-admins' sslmode=verify-full sslrootcert=system\"";
  const BLOBS =
    "the incident's dumps and the Jobs' logs under incident/inc-1/ in container database-backup of s189t01ittmsdbbkpsa " +
    "(the lifecycle rule keeps them: it deletes only nightly/); delete with: az storage blob delete-batch --auth-mode login " +
    "--account-name s189t01ittmsdbbkpsa --source database-backup --pattern 'incident/inc-1/*' " +
    "once they are older than 7 days (immutability refuses earlier); each leaves a previous version (versioning): " +
    'delete those too (docs/runbook.md, "Deleting a backup on purpose").';
  const DB = "itt_mentor_services_staging";
  it("every stack accepts the incident id its own nextStep suggests, in either mode", () => {
    const seen: Record<string, string> = {};
    for (const stack of ["staging", "production"] as const) {
      // The first command opens a PTR incident under the suggested id: read from the step's data.
      const [open] = planFor([], stack).nextStep.commands;
      const id = open?.split(" && ")[0]?.split(" ")[4];
      assert.equal(
        open,
        `pulumi config set incidentId ${id} && pulumi config set drMode ptr && pulumi up`,
        stack,
      );
      assert.ok(id !== undefined, stack);
      seen[stack] = id;
      for (const mode of ["drMode=ptr", "drMode=rebuild"]) {
        assert.doesNotThrow(() => planFor([mode, `incidentId=${id}`], stack), `${stack} ${mode} ${id}`);
      }
    }
    // Production's database name (30 bytes) leaves no room for the 17-character form in a rebuild's
    // `<db>_restore_rebuild_<id>`: it gets the 15-character one; staging the full one.
    assert.deepStrictEqual(seen, { staging: "inc-20261125-1000", production: "inc-261125-1000" });
    assert.throws(
      () => planFor(["drMode=rebuild", "incidentId=inc-20261125-1000"], "production"),
      /incidentId: with postgres\.appDatabase "itt_mentor_services_production" it makes the database name "itt_mentor_services_production_restore_rebuild_inc_20261125_1000" longer than PostgreSQL's 63 bytes; use a shorter incidentId; received "inc-20261125-1000"/,
    );
  });

  it("suggested incident ids carry the time in the stack's zone (a second incident that day gets another)", () => {
    assert.match(nextStepText(["timeZone=Asia/Kolkata"]), /incidentId inc-20261125-1530 && /);
    assert.match(nextStepText([]), /incidentId inc-20261125-1000 && /);
  });
  it("the close step names the kept database and the incident's prefix, with the commands to remove them", () => {
    assert.equal(
      nextStepText([...PTR, "drPhase=validate", "maintenance=false", "freeze=false"]),
      reportWritten("s189t01ittmsdbbkpsa") +
        "Tidy up (deletes the PTR copy) and close the incident: pulumi config set drMode none && pulumi config rm drPhase && " +
        "pulumi config rm ptr && pulumi config rm incidentId && pulumi config rm maintenance && pulumi config rm freeze && pulumi up. " +
        `The incident leaves, for reconciliation, until you remove them: the database ${DB}_before_pitr_20261124t130500z on s189t01-ittms-stg-pg ` +
        `(the data before the swap), and any other ${DB}_before_* or ${DB}_restore_* (list: ${PSQL} -c '\\l ${DB}_*'); ` +
        `drop each with: ${PSQL} -c 'DROP DATABASE "${DB}_before_pitr_20261124t130500z"'; ${BLOBS}`,
    );
  });
  it("after a table-level restore the close names the kept schema, not a database", () => {
    const next = nextStepText([
      ...PTR,
      "ptr.tables[0]=app.placements",
      "drPhase=validate",
      "maintenance=false",
      "freeze=false",
    ]);
    const schema = `dr_before_pitr_20261124t130500z_${tableSetTag(["app.placements"])}`;
    assert.ok(
      next.includes(
        `The incident leaves, for reconciliation, until you remove them: the schema ${schema} in ${DB} (the restored tables' rows before the restore); ` +
          `drop with: ${PSQL.replace("dbname=postgres", `dbname=${DB}`)} -c 'DROP SCHEMA "${schema}" CASCADE'; any ${DB}_before_* database`,
      ),
      next,
    );
  });
  it("a rebuild's close names its kept database; retry keys are tidied too", () => {
    const next = nextStepText([
      "drMode=rebuild",
      "incidentId=inc-1",
      "drPhase=validate",
      "retry.restore=1",
      "maintenance=false",
      "freeze=false",
    ]);
    assert.match(next, /pulumi config rm retry && pulumi config rm incidentId/);
    assert.match(next, new RegExp(`DROP DATABASE "${DB}_before_rebuild_inc_1"'; the incident's dumps`));
  });
  it("after drMode none with incidentId still set: closed, and what it left (names unknown now: how to list them)", () => {
    assert.equal(
      nextStepText(["incidentId=inc-1"]),
      "Incident inc-1 closed. Tidy the stack config: pulumi config rm incidentId. The incident leaves, for reconciliation, until you remove them: " +
        `any ${DB}_before_* database (the data before a swap) and ${DB}_restore_* (a restore that did not finish) on s189t01-ittms-stg-pg: ` +
        `list them with ${PSQL} -c '\\l ${DB}_*', drop each with ${PSQL} -c 'DROP DATABASE "<name>"'; ${BLOBS}`,
    );
  });
  it("keys set without an incident: never 'incident closed'", () => {
    const next = nextStepText(["ptr.restoreTime=2026-11-24T13:05:00"]);
    assert.doesNotMatch(next, /closed/);
    assert.match(
      next,
      /^No incident\. .* These keys do nothing while no incident is open \(see the warnings\): pulumi config rm ptr$/,
    );
  });
  it("a failed Job: the retry key one higher than now, for each step declared", () => {
    const next = nextStepText([...PTR, "drPhase=restore", "retry.restore=1"]);
    assert.ok(
      next.endsWith(
        "If a recovery Job fails (the up stops and names it), read its log (kubectl -n bat-staging-dr logs job/<name>, or the blob incident/inc-1/logs/<name>.log), " +
          "fix the cause, then run that step again as a new Job: pulumi config set --path retry.<step> <n> && pulumi up " +
          "(here: backup-flawed 1, inspect 1, reconcile 1, restore 2). A finished Job is never run again by a later up; retry only the step that failed (a retried backup that had succeeded would become its prefix's latest).",
      ),
      next,
    );
  });
});

describe("plan: adopting existing resources", () => {
  it("computes the import ids from the same names it declares", () => {
    const plan = planFor([
      "adopt.liveServer=true",
      "adopt.publicIngress=true",
      "adopt.branchProtection=true",
    ]);
    assert.equal(plan.liveServer.adopt, true);
    assert.equal(plan.maintenance.publicIngressImportId, "bat-staging/itt-mentor-services-staging-public");
    assert.equal(plan.freeze.importId, "itt-mentor-services:main");
  });
  it("adopts nothing by default", () => {
    const plan = planFor([]);
    assert.deepEqual(
      [plan.liveServer.adopt, plan.maintenance.publicIngressImportId, plan.freeze.importId],
      [false, undefined, undefined],
    );
  });
});

describe("plan: the next step is data, its text rendered from it", () => {
  it("no incident: the words, and the commands apart", () => {
    const step = planFor([]).nextStep;
    assert.deepStrictEqual(step, {
      summary: "No incident. Loss of data: {0}. Loss of the database server: {1}, then {2}.",
      commands: [
        "pulumi config set incidentId inc-20261125-1000 && pulumi config set drMode ptr && pulumi up",
        "pulumi refresh",
        "pulumi config set incidentId inc-20261125-1000 && pulumi config set drMode rebuild && pulumi up",
      ],
    });
  });
  it("a retry hint spliced after a step numbers its commands after the step's", () => {
    const step = planFor([...PTR, "drPhase=restore"]).nextStep;
    assert.deepStrictEqual(step.commands, [
      "pulumi config set drPhase validate && pulumi up",
      "kubectl -n bat-staging-dr logs job/<name>",
      "pulumi config set --path retry.<step> <n> && pulumi up",
    ]);
    assert.match(
      step.summary,
      /^Validate the app on .*: \{0\}\. If a recovery Job fails .*\(\{1\}, .*: \{2\} \(here: /,
    );
  });
  it("every placeholder has its command and every command its placeholder, in order, in every state", () => {
    for (const sets of [[], PTR, [...PTR, "drPhase=validate", "maintenance=false", "freeze=false"], GEO]) {
      const step = planFor(sets, "production").nextStep;
      const marks = [...step.summary.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1]));
      assert.deepStrictEqual(
        marks,
        step.commands.map((_, i) => i),
        sets.join(" "),
      );
    }
  });
});
