import { strict as assert } from "node:assert";
import { parseConfig } from "../config";
import { buildPlan } from "../plan";
import type { Plan } from "../plan";
import { DR_NETWORK, geoRebuildSets, NOW, stackRaw } from "./support/stacks";

function planFor(sets: readonly string[], stack: "staging" | "production" = "staging"): Plan {
  return buildPlan(parseConfig(stackRaw(stack, sets), NOW), NOW);
}

const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const NET = DR_NETWORK;
const GEO = geoRebuildSets("s189p01-ittms-pd-pg-geo");

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
      administratorLogin: "ittms_admin",
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
      planFor(GEO, "production").nextStep,
      "Once s189p01-ittms-pd-pg-geo exists in ukwest (the latest geo-replicated backup, up to about an hour old), " +
        "point the app's database host at s189p01-ittms-pd-pg-geo.postgres.database.azure.com (the app's own deploy config), " +
        "then check it: pulumi config set drPhase restore && pulumi up",
    );
    assert.equal(
      planFor([...GEO, "drPhase=validate", "maintenance=false", "freeze=false"], "production").nextStep,
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
      /^No incident\. Loss of data: pulumi config set incidentId inc-20261125 && pulumi config set drMode ptr && pulumi up\. Loss of the database server: pulumi refresh, then/,
    ],
    [
      "ptr isolate: choose the restore point",
      ["drMode=ptr", "incidentId=inc-1"],
      /^Choose the restore point \(wall clock in Europe\/London, or give an offset\) and create the PTR copy: pulumi config set --path ptr\.restoreTime 2026-11-25T09:00:00 && pulumi up$/,
    ],
    ["ptr isolate with a copy: restore", PTR, /pulumi config set drPhase restore && pulumi up$/],
    [
      "ptr restore: validate",
      [...PTR, "drPhase=restore"],
      /^Validate the app on https:\/\/itt-mentor-services-staging-temp\.test\.teacherservices\.cloud .*pulumi config set drPhase validate && pulumi up$/,
    ],
    [
      "ptr validate: maintenance off",
      [...PTR, "drPhase=validate"],
      /^When the app is validated, disable maintenance mode: pulumi config set maintenance false && pulumi up$/,
    ],
    [
      "then unfreeze",
      [...PTR, "drPhase=validate", "maintenance=false"],
      /^Unfreeze the pipeline .*: pulumi config set freeze false && pulumi up$/,
    ],
    [
      "then tidy up, deleting the PTR copy",
      [...PTR, "drPhase=validate", "maintenance=false", "freeze=false"],
      /^Tidy up \(deletes the PTR copy\) and close the incident: pulumi config set drMode none && pulumi config rm drPhase && pulumi config rm ptr && pulumi config rm incidentId && pulumi config rm maintenance && pulumi config rm freeze && pulumi up$/,
    ],
    [
      "rebuild isolate from backup: restore the nightly backup",
      ["drMode=rebuild", "incidentId=inc-1"],
      /restore the nightly backup into the rebuilt server: pulumi config set drPhase restore && pulumi up$/,
    ],
    [
      "after closing: remove leftovers",
      ["incidentId=inc-1"],
      /^Incident closed\. Tidy the stack config: pulumi config rm incidentId$/,
    ],
  ];
  for (const [what, sets, expected] of steps) {
    it(what, () => assert.match(planFor(sets).nextStep, expected));
  }
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
