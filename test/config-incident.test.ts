/**
 * The incident parseConfig builds once validation passed: each mode and rebuild source with exactly the
 * fields the plan reads (the plan never re-checks them).
 */
import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import { parseConfig } from "../config";
import type { Incident } from "../config";
import { DR_NETWORK, geoRebuildSets, NOW, stackRaw } from "./support/stacks";

/** The incident with its times as ISO strings (UTC and local), comparable with deepStrictEqual. */
function shown(incident: Incident): unknown {
  return JSON.parse(
    JSON.stringify(incident, (_key, value: unknown) => (value instanceof DateTime ? value.toISO() : value)),
  );
}

function incidentOf(sets: readonly string[]): unknown {
  return shown(parseConfig(stackRaw("staging", sets), NOW).incident);
}

describe("config: the incident, as validation proved it", () => {
  const rows: Array<[string, readonly string[], unknown]> = [
    [
      "drMode none, whatever incident keys are left",
      ["incidentId=inc-1", "rebuild.from=revive"],
      { mode: "none" },
    ],
    [
      "ptr before the restore point is chosen",
      ["drMode=ptr", "incidentId=inc-1"],
      { mode: "ptr", id: "inc-1", phase: "isolate" },
    ],
    [
      "ptr with the restore point, a wall-clock time in the stack's zone",
      ["drMode=ptr", "incidentId=inc-1", "drPhase=restore", "ptr.restoreTime=2026-11-24T13:05:00"],
      {
        mode: "ptr",
        id: "inc-1",
        phase: "restore",
        restoreTime: {
          utc: "2026-11-24T13:05:00.000Z",
          local: "2026-11-24T13:05:00.000+00:00",
          hadOffset: false,
        },
      },
    ],
    [
      "ptr with a valid pin: the instant the window was checked at",
      [
        "drMode=ptr",
        "incidentId=inc-1",
        "ptr.restoreTime=2026-11-24T13:05:00Z",
        "ptr.requestedFor=2026-11-24T13:05:00Z",
        "ptr.requestedAt=2026-11-25T09:00:00+01:00",
      ],
      {
        mode: "ptr",
        id: "inc-1",
        phase: "isolate",
        restoreTime: {
          utc: "2026-11-24T13:05:00.000Z",
          local: "2026-11-24T13:05:00.000+00:00",
          hadOffset: true,
        },
        requestedAt: "2026-11-25T08:00:00.000Z",
      },
    ],
    [
      "ptr with its declaration time, a wall-clock time in the stack's zone",
      ["drMode=ptr", "incidentId=inc-1", "incidentDeclaredAt=2026-11-25T09:40:00"],
      {
        mode: "ptr",
        id: "inc-1",
        phase: "isolate",
        declaredAt: {
          utc: "2026-11-25T09:40:00.000Z",
          local: "2026-11-25T09:40:00.000+00:00",
          hadOffset: false,
        },
      },
    ],
    [
      "rebuild with its declaration time given with an offset",
      ["drMode=rebuild", "incidentId=inc-1", "incidentDeclaredAt=2026-11-25T10:40:00+01:00"],
      {
        mode: "rebuild",
        id: "inc-1",
        phase: "isolate",
        source: { from: "backup", backupBlob: "latest" },
        declaredAt: {
          utc: "2026-11-25T09:40:00.000Z",
          local: "2026-11-25T09:40:00.000+00:00",
          hadOffset: true,
        },
      },
    ],
    [
      "rebuild without a rebuild key: from the latest nightly backup",
      ["drMode=rebuild", "incidentId=inc-1"],
      { mode: "rebuild", id: "inc-1", phase: "isolate", source: { from: "backup", backupBlob: "latest" } },
    ],
    [
      "rebuild from a named backup (keys of the other sources are ignored, with a warning)",
      [
        "drMode=rebuild",
        "incidentId=inc-1",
        "drPhase=validate",
        "rebuild.backupBlob=b.dump",
        "rebuild.location=x",
      ],
      { mode: "rebuild", id: "inc-1", phase: "validate", source: { from: "backup", backupBlob: "b.dump" } },
    ],
    [
      "revive: the deletion time in UTC",
      ["drMode=rebuild", "incidentId=inc-1", "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
      {
        mode: "rebuild",
        id: "inc-1",
        phase: "isolate",
        source: {
          from: "revive",
          deletedAt: {
            utc: "2026-11-24T18:30:00.000Z",
            local: "2026-11-24T18:30:00.000+00:00",
            hadOffset: false,
          },
        },
      },
    ],
    [
      "geo: the new server's name, region and network",
      geoRebuildSets("s189t01-ittms-stg-geo", ["postgres.geoRedundantBackup=true", "drPhase=restore"]),
      {
        mode: "rebuild",
        id: "inc-1",
        phase: "restore",
        source: {
          from: "geo",
          serverName: "s189t01-ittms-stg-geo",
          location: "ukwest",
          network: {
            delegatedSubnetId: `${DR_NETWORK}/virtualNetworks/dr-vnet/subnets/pg`,
            privateDnsZoneId: `${DR_NETWORK}/privateDnsZones/dr.postgres.database.azure.com`,
          },
        },
      },
    ],
  ];
  for (const [what, sets, expected] of rows) {
    it(what, () => assert.deepStrictEqual(incidentOf(sets), expected));
  }
});
