/**
 * The cross-field rules one by one: each rule's table of configs it accepts and refuses, with the exact
 * problems. A rule reads only its own inputs, so each row changes the committed stack in the rule's keys alone;
 * test/config.test.ts checks the rules together (all problems at once, in order).
 */
import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import { CROSS_FIELD_RULES, ruleContext, serverWithinClient } from "../config";
import { DATA_TOOL_CLIENT_MAJOR } from "../config";
import { geoRebuildSets, NOW, stackRaw } from "./support/stacks";

interface Row {
  readonly what: string;
  readonly sets: readonly string[];
  readonly expected: readonly string[];
  readonly stack?: "staging" | "production";
  readonly now?: DateTime;
  /** A change `--set` cannot make (an empty map). */
  readonly edit?: (raw: { [key: string]: Record<string, unknown> }) => void;
}

function table(rule: keyof typeof CROSS_FIELD_RULES, rows: readonly Row[]): void {
  describe(`config rule ${rule}`, () => {
    for (const row of rows) {
      it(row.what, () => {
        const raw = structuredClone(stackRaw(row.stack ?? "staging", row.sets));
        row.edit?.(raw as { [key: string]: Record<string, unknown> });
        assert.deepStrictEqual(CROSS_FIELD_RULES[rule](ruleContext(raw, row.now ?? NOW)), row.expected);
      });
    }
  });
}

const LATER = DateTime.fromISO("2026-12-05T10:00:00Z", { zone: "utc" });
const PTR = ["drMode=ptr", "incidentId=i1"];
const REVIVE = ["drMode=rebuild", "incidentId=i1", "rebuild.from=revive"];

describe("config rules: the order they report in", () => {
  it("is the order of CROSS_FIELD_RULES", () => {
    assert.deepStrictEqual(Object.keys(CROSS_FIELD_RULES), [
      "databaseSizeFitsStorage",
      "serverWithinClient",
      "incidentIdRequired",
      "incidentDeclaredAtValid",
      "restoreTimeRequiredInPhase",
      "restoreTimeResolves",
      "restorePinValid",
      "restorePointInWindow",
      "reviveDeletedAt",
      "geoRules",
      "databasesDeclared",
      "highAvailabilityNeedsTier",
      "standbyZoneDiffers",
      "deploymentsListed",
      "hostsDiffer",
      "dataNamespaceApart",
      "freezeApproversAtLeastNormal",
      "incidentNamesFit",
      "alertsScheduleKnown",
      "drillProblems",
    ]);
  });
  it("every rule accepts the committed stacks", () => {
    for (const stack of ["staging", "production"] as const) {
      const ctx = ruleContext(stackRaw(stack), NOW);
      for (const [name, rule] of Object.entries(CROSS_FIELD_RULES))
        assert.deepStrictEqual(rule(ctx), [], `${stack} ${name}`);
    }
  });
});

table("serverWithinClient", [
  { what: "the committed stack's major (16), below the image's client", sets: [], expected: [] },
  {
    what: "the image's own major",
    sets: [],
    // As the stack file writes it: a string (--set would make a number).
    edit: (raw) => void (raw.postgres!.version = String(DATA_TOOL_CLIENT_MAJOR)),
    expected: [],
  },
  { what: "a major the schema refuses is left to the schema", sets: ["postgres.version=12"], expected: [] },
]);

describe("config rule serverWithinClient, with an image whose client is 17", () => {
  const rows: Array<[string, readonly string[]]> = [
    ["17", []],
    ["16", []],
    [
      "18",
      [
        'postgres.version: must be at most 17, the PostgreSQL client major of the data tool\'s image (packages/dr-data/image.json; pg_dump refuses a newer server): publish an image with a newer client first; received "18"',
      ],
    ],
  ];
  for (const [version, expected] of rows)
    it(`postgres.version ${version}`, () => {
      const raw = structuredClone(stackRaw("staging")) as { postgres: Record<string, unknown> };
      raw.postgres.version = version;
      const ctx = ruleContext(raw, NOW);
      assert.deepStrictEqual(serverWithinClient(17)(ctx), expected);
    });
  it("the image's client is the newest major the schema allows", () => {
    assert.equal(DATA_TOOL_CLIENT_MAJOR, 18);
  });
});

table("databaseSizeFitsStorage", [
  { what: "a size within the server's storage", sets: ["dataTool.databaseSizeGiB=32"], expected: [] },
  {
    what: "a size the schema refuses is left to the schema",
    sets: ["dataTool.databaseSizeGiB=0"],
    expected: [],
  },
  {
    what: "a size above the server's storage",
    sets: ["dataTool.databaseSizeGiB=64"],
    expected: [
      "dataTool.databaseSizeGiB: must be at most postgres.storageSizeGb (32), the server's storage that holds the database; received 64",
    ],
  },
]);

table("incidentIdRequired", [
  { what: "no incident needs no id", sets: [], expected: [] },
  { what: "ptr with an id", sets: PTR, expected: [] },
  {
    what: "rebuild without an id: the suggestion is now in the stack's zone",
    sets: ["drMode=rebuild"],
    expected: [
      "incidentId: is required when drMode is rebuild (it names this incident's Jobs and the databases the restore keeps); allowed: 1–20 lowercase letters, digits and hyphens; received nothing. Set it with: pulumi config set incidentId inc-20261125-1000",
    ],
  },
  {
    what: "ptr without an id, in another zone",
    sets: ["drMode=ptr", "timeZone=Asia/Kolkata"],
    expected: [
      "incidentId: is required when drMode is ptr (it names this incident's Jobs and the databases the restore keeps); allowed: 1–20 lowercase letters, digits and hyphens; received nothing. Set it with: pulumi config set incidentId inc-20261125-1530",
    ],
  },
]);

table("restoreTimeRequiredInPhase", [
  { what: "ptr isolate: the restore point is still to be chosen", sets: PTR, expected: [] },
  { what: "a rebuild has no restore point", sets: ["drMode=rebuild", "drPhase=restore"], expected: [] },
  {
    what: "ptr restore without it",
    sets: [...PTR, "drPhase=restore"],
    expected: [
      "ptr.restoreTime: is required when drMode is ptr and drPhase is restore (the PTR copy is made at that time); received nothing. Set it with: pulumi config set --path ptr.restoreTime 2026-11-24T13:05:00 (wall clock in Europe/London)",
    ],
  },
  {
    what: "ptr validate without it, and no valid zone to name",
    sets: [...PTR, "drPhase=validate", "timeZone=Mars/Olympus"],
    expected: [
      "ptr.restoreTime: is required when drMode is ptr and drPhase is validate (the PTR copy is made at that time); received nothing. Set it with: pulumi config set --path ptr.restoreTime 2026-11-24T13:05:00 (wall clock in the stack's timeZone)",
    ],
  },
]);

// NOW is 2026-11-25T10:00:00Z; the stack's zone is Europe/London (GMT in November).
table("incidentDeclaredAtValid", [
  { what: "not set", sets: PTR, expected: [] },
  {
    what: "a wall-clock time in the zone, before now",
    sets: [...PTR, "incidentDeclaredAt=2026-11-25T09:40:00"],
    expected: [],
  },
  {
    what: "now itself, in a rebuild",
    sets: ["drMode=rebuild", "incidentId=i1", "incidentDeclaredAt=2026-11-25T10:00:00Z"],
    expected: [],
  },
  {
    what: "a local time in the spring-forward gap",
    sets: [...PTR, "incidentDeclaredAt=2026-03-29T01:30:00"],
    expected: [
      'incidentDeclaredAt: is a local time that does not exist in Europe/London (the clocks skip it when summer time starts); give a time outside the gap or an explicit offset; received "2026-03-29T01:30:00"',
    ],
  },
  {
    what: "a local time in the fall-back overlap",
    sets: [...PTR, "incidentDeclaredAt=2026-10-25T01:30:00"],
    expected: [
      'incidentDeclaredAt: is ambiguous in Europe/London: that wall-clock time happens twice when summer time ends; it is either 2026-10-25T00:30:00+00:00 (+01:00) or 2026-10-25T01:30:00+00:00 (+00:00); give the time with its offset, e.g. "2026-10-25T01:30:00+01:00"; received "2026-10-25T01:30:00"',
    ],
  },
  {
    what: "the overlap's hour with its offset",
    sets: [...PTR, "incidentDeclaredAt=2026-10-25T01:30:00+01:00"],
    expected: [],
  },
  {
    what: "in the future",
    sets: [...PTR, "incidentDeclaredAt=2026-11-25T10:00:01"],
    expected: [
      'incidentDeclaredAt: must not be in the future (2026-11-25T10:00:01+00:00 UTC, now 2026-11-25T10:00:00+00:00 UTC): it is when the incident was declared; received "2026-11-25T10:00:01"',
    ],
  },
  {
    what: "without an open incident",
    sets: ["incidentDeclaredAt=2026-11-25T09:40:00"],
    expected: [
      'incidentDeclaredAt: is allowed only while an incident is open (drMode ptr or rebuild: it starts that incident\'s RTO in its report); received "2026-11-25T09:40:00" with drMode none; remove it: pulumi config rm incidentDeclaredAt',
    ],
  },
  {
    what: "not a date-time",
    sets: [...PTR, "incidentDeclaredAt=this morning"],
    expected: [
      'incidentDeclaredAt: is not an ISO-8601 date-time; expected e.g. "2026-11-24T13:05:00" (wall clock in Europe/London) or "2026-11-24T13:05:00Z"; received "this morning"',
    ],
  },
  {
    what: "a wall-clock time without a valid zone",
    sets: [...PTR, "incidentDeclaredAt=2026-11-25T09:40:00", "timeZone=Mars/Olympus"],
    expected: [
      'incidentDeclaredAt: is a wall-clock time, and timeZone is not a valid zone, so it cannot be converted to UTC; fix timeZone, or give the time with its offset (e.g. "2026-11-25T09:40:00Z" for UTC); received "2026-11-25T09:40:00"',
    ],
  },
  {
    what: "a value the schema refuses is left to the schema",
    sets: PTR,
    edit: (raw) => void ((raw as Record<string, unknown>).incidentDeclaredAt = 5),
    expected: [],
  },
]);

table("restoreTimeResolves", [
  {
    what: "a wall-clock time in the zone",
    sets: [...PTR, "ptr.restoreTime=2026-11-24T13:05:00"],
    expected: [],
  },
  {
    what: "a time with its offset needs no valid zone",
    sets: [...PTR, "ptr.restoreTime=2026-11-24T13:05:00Z", "timeZone=Mars/Olympus"],
    expected: [],
  },
  {
    what: "a local time in the spring-forward gap, in any mode",
    sets: ["ptr.restoreTime=2026-03-29T01:30:00"],
    expected: [
      'ptr.restoreTime: is a local time that does not exist in Europe/London (the clocks skip it when summer time starts); give a time outside the gap or an explicit offset; received "2026-03-29T01:30:00"',
    ],
  },
  {
    what: "a wall-clock time without a valid zone",
    sets: [...PTR, "ptr.restoreTime=2026-11-24T13:05:00", "timeZone=Mars/Olympus"],
    expected: [
      'ptr.restoreTime: is a wall-clock time, and timeZone is not a valid zone, so it cannot be converted to UTC; fix timeZone, or give the time with its offset (e.g. "2026-11-24T13:05:00Z" for UTC); received "2026-11-24T13:05:00"',
    ],
  },
]);

const RESTORE_TIME = [...PTR, "ptr.restoreTime=2026-11-24T13:05:00"];
table("restorePinValid", [
  { what: "no pin", sets: RESTORE_TIME, expected: [] },
  {
    what: "a pin for this restore time",
    sets: [...RESTORE_TIME, "ptr.requestedFor=2026-11-24T13:05:00", "ptr.requestedAt=2026-11-25T09:00:00Z"],
    expected: [],
  },
  {
    what: "requestedFor without requestedAt",
    sets: [...RESTORE_TIME, "ptr.requestedFor=2026-11-24T13:05:00"],
    expected: [
      "ptr.requestedAt: is required with ptr.requestedFor (when the copy for that restore time was requested, with an offset or Z); set it: pulumi config set --path ptr.requestedAt 2026-11-25T09:00:00Z, or remove the pin: pulumi config rm --path ptr.requestedFor; received nothing",
    ],
  },
  {
    what: "requestedAt without an offset",
    sets: [...RESTORE_TIME, "ptr.requestedFor=2026-11-24T13:05:00", "ptr.requestedAt=2026-11-25"],
    expected: ['ptr.requestedAt: must be an ISO-8601 date-time with an offset or Z; received "2026-11-25"'],
  },
  // A key set to a value its schema refuses is the schema's to report ("received \"\""), never "required".
  {
    what: "requestedAt empty: the schema reports it",
    sets: [...RESTORE_TIME, "ptr.requestedFor=2026-11-24T13:05:00", "ptr.requestedAt="],
    expected: [],
  },
  {
    what: "requestedFor empty: the schema reports it",
    sets: [...RESTORE_TIME, "ptr.requestedFor=", "ptr.requestedAt=2026-11-25T09:00:00Z"],
    expected: [],
  },
  {
    what: "a pin, but no restore time it could be bound to: nothing to check",
    sets: [...PTR, "ptr.requestedFor=2026-11-24T13:05:00"],
    expected: [],
  },
]);

table("restorePointInWindow", [
  { what: "inside the window", sets: RESTORE_TIME, expected: [] },
  {
    what: "outside ptr mode the copy is not made: not checked",
    sets: ["drMode=rebuild", "incidentId=i1", "ptr.restoreTime=2026-11-10T13:05:00"],
    expected: [],
  },
  {
    what: "older than the retention, checked now",
    sets: [...PTR, "ptr.restoreTime=2026-11-10T13:05:00"],
    expected: [
      'ptr.restoreTime: "2026-11-10T13:05:00" → 2026-11-10T13:05:00+00:00 UTC is older than the backup retention allows (2026-11-10T13:05:00+00:00 UTC); ' +
        "the restorable window is 2026-11-18T10:00:00+00:00 – 2026-11-25T09:55:00+00:00 UTC (2026-11-18 10:00:00 GMT (+00:00) – 2026-11-25 09:55:00 GMT (+00:00))",
    ],
  },
  {
    what: "older than the retention even at the pin's instant",
    sets: [
      ...PTR,
      "ptr.restoreTime=2026-11-13T12:00:00Z",
      "ptr.requestedFor=2026-11-13T12:00:00Z",
      "ptr.requestedAt=2026-11-25T09:00:00Z",
    ],
    now: LATER,
    expected: [
      'ptr.restoreTime: "2026-11-13T12:00:00Z" → 2026-11-13T12:00:00+00:00 UTC is older than the backup retention allows (2026-11-13T12:00:00+00:00 UTC); ' +
        "the restorable window is 2026-11-18T09:00:00+00:00 – 2026-11-25T08:55:00+00:00 UTC (2026-11-18 09:00:00 GMT (+00:00) – 2026-11-25 08:55:00 GMT (+00:00)) " +
        "(checked at ptr.requestedAt, 2026-11-25T09:00:00+00:00 UTC)",
    ],
  },
]);

table("reviveDeletedAt", [
  {
    what: "a rebuild from backup needs no deletion time",
    sets: ["drMode=rebuild", "incidentId=i1"],
    expected: [],
  },
  { what: "deleted yesterday", sets: [...REVIVE, "rebuild.deletedAt=2026-11-24T10:00:00"], expected: [] },
  {
    what: "without a deletion time",
    sets: REVIVE,
    expected: [
      "rebuild.deletedAt: is required when rebuild.from is revive (Azure revives a dropped server to its deletion time); received nothing. Find it in the activity log and set: pulumi config set --path rebuild.deletedAt 2026-11-24T13:05:00",
    ],
  },
  {
    what: "deleted in the future",
    sets: [...REVIVE, "rebuild.deletedAt=2026-11-26T10:00:00"],
    expected: [
      'rebuild.deletedAt: is in the future (2026-11-26T10:00:00+00:00 UTC, now 2026-11-25T10:00:00+00:00 UTC); received "2026-11-26T10:00:00"',
    ],
  },
  {
    what: "deleted more than 5 days ago",
    sets: [...REVIVE, "rebuild.deletedAt=2026-11-19T10:00:00"],
    expected: [
      "rebuild.deletedAt: is more than 5 days ago (2026-11-19T10:00:00+00:00 UTC); Azure can revive a dropped server only for 5 days after deletion " +
        '(since 2026-11-20T10:00:00+00:00 UTC, 2026-11-20 10:00:00 GMT (+00:00)); use rebuild.from backup; received "2026-11-19T10:00:00"',
    ],
  },
  {
    what: "a wall-clock deletion time without a valid zone",
    sets: [...REVIVE, "rebuild.deletedAt=2026-11-24T10:00:00", "timeZone=Mars/Olympus"],
    expected: [
      'rebuild.deletedAt: is a wall-clock time, and timeZone is not a valid zone, so it cannot be converted to UTC; fix timeZone, or give the time with its offset (e.g. "2026-11-24T10:00:00Z" for UTC); received "2026-11-24T10:00:00"',
    ],
  },
]);

const SAME_REGION =
  'rebuild.location: must be another region than the live server\'s (uksouth) for a geo-restore; received "uksouth"';
const SAME_NAME =
  'rebuild.serverName: must differ from postgres.serverName (the geo-restored server is a new server beside the lost one); received "s189t01-ittms-stg-pg" for both';
table("geoRules", [
  {
    what: "a complete geo-restore into the paired region",
    sets: geoRebuildSets("s189t01-ittms-stg-geo", ["postgres.geoRedundantBackup=true"]),
    expected: [],
  },
  {
    what: "geo with nothing it needs: the source's geo-redundant backup, the region, its network, a name",
    sets: ["drMode=rebuild", "incidentId=i1", "rebuild.from=geo"],
    expected: [
      "rebuild.from: geo needs postgres.geoRedundantBackup true (set when the lost server was created); received geo with postgres.geoRedundantBackup false; use rebuild.from backup or revive",
      "rebuild.location: is required when rebuild.from is geo (the paired region to restore into, e.g. ukwest); received nothing",
      "rebuild.network: is required when rebuild.from is geo (a delegated subnet and private DNS zone in rebuild.location); received nothing",
      "rebuild.serverName: is required when rebuild.from is geo (a geo-restore creates a new server: server names are global DNS names and the lost server's record still exists); " +
        "allowed: 3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen (Azure's rule), at most 59 and not postgres.serverName; received nothing. Set it with: pulumi config set --path rebuild.serverName <name>-geo",
    ],
  },
  {
    what: "into the live server's region (postgres.location) under the live server's name",
    sets: geoRebuildSets("s189t01-ittms-stg-pg", [
      "postgres.geoRedundantBackup=true",
      "postgres.location=ukwest",
    ]),
    expected: [
      'rebuild.location: must be another region than the live server\'s (ukwest) for a geo-restore; received "ukwest"',
      SAME_NAME,
    ],
  },
  {
    what: "the region and the name are checked in any mode (they become postgres.* at the switch-over)",
    sets: ["rebuild.from=geo", "rebuild.location=uksouth", "rebuild.serverName=s189t01-ittms-stg-pg"],
    expected: [SAME_REGION, SAME_NAME],
  },
  {
    what: "the name is checked whatever rebuild.from is",
    sets: ["rebuild.from=backup", "rebuild.location=uksouth", "rebuild.serverName=s189t01-ittms-stg-pg"],
    expected: [SAME_NAME],
  },
]);

table("databasesDeclared", [
  { what: "the app database is declared", sets: [], expected: [] },
  {
    what: "the app database is not among the declared ones",
    sets: ["postgres.appDatabase=other"],
    expected: [
      'postgres.appDatabase: must be one of the keys of postgres.databases (itt_mentor_services_staging); received "other"',
    ],
  },
  {
    what: "no database declared",
    sets: [],
    edit: (raw) => {
      raw.postgres!.databases = {};
    },
    expected: [
      'postgres.appDatabase: must be one of the keys of postgres.databases (none declared); received "itt_mentor_services_staging"',
      "postgres.databases: must declare at least the application's database; received {}",
    ],
  },
]);

table("highAvailabilityNeedsTier", [
  { what: "Burstable without high availability", sets: [], expected: [] },
  {
    what: "high availability on GeneralPurpose",
    sets: ["postgres.sku.tier=GeneralPurpose", "postgres.highAvailability=SameZone"],
    expected: [],
  },
  {
    what: "high availability on Burstable",
    sets: ["postgres.highAvailability=SameZone"],
    expected: [
      "postgres.highAvailability: SameZone is not available on the Burstable tier (allowed there: Disabled); received SameZone with postgres.sku.tier Burstable",
    ],
  },
]);

table("standbyZoneDiffers", [
  { what: "zone-redundant with two zones", sets: [], stack: "production", expected: [] },
  {
    what: "the same zone twice without zone redundancy",
    sets: ["postgres.highAvailability=SameZone"],
    stack: "production",
    edit: (raw) => {
      raw.postgres!.standbyAvailabilityZone = raw.postgres!.availabilityZone;
    },
    expected: [],
  },
  {
    what: "zone-redundant with the standby in the primary's zone",
    sets: [],
    stack: "production",
    edit: (raw) => {
      raw.postgres!.standbyAvailabilityZone = raw.postgres!.availabilityZone;
    },
    expected: [
      "postgres.standbyAvailabilityZone: must differ from postgres.availabilityZone for ZoneRedundant high availability; received 1 for both",
    ],
  },
]);

table("deploymentsListed", [
  { what: "web and worker", sets: [], expected: [] },
  {
    what: "an empty list would stop nothing",
    sets: [],
    edit: (raw) => {
      raw.kubernetes!.deployments = {};
    },
    expected: ["kubernetes.deployments: must list the deployments to stop (web, worker); received {}"],
  },
]);

table("hostsDiffer", [
  { what: "two hosts", sets: [], expected: [] },
  {
    what: "the temporary host is the public one",
    sets: ["kubernetes.temporaryHost=staging.manage-school-placements.service.gov.uk"],
    expected: [
      "kubernetes.temporaryHost: must differ from kubernetes.publicHost (the temporary ingress is how the app is validated while the public host shows the maintenance page); received staging.manage-school-placements.service.gov.uk for both",
    ],
  },
]);

table("dataNamespaceApart", [
  { what: "the default (<namespace>-dr)", sets: [], expected: [] },
  { what: "a namespace of its own", sets: ["kubernetes.dataNamespace=bat-dr-data"], expected: [] },
  {
    what: "the app's namespace",
    sets: ["kubernetes.dataNamespace=bat-staging"],
    expected: [
      `kubernetes.dataNamespace: must differ from kubernetes.namespace (the data pods' ServiceAccounts must not be usable by the app's pods); received "bat-staging" for both`,
    ],
  },
  {
    what: "the default from a namespace of 61 characters is too long",
    sets: [`kubernetes.namespace=${"n".repeat(61)}`],
    expected: [
      `kubernetes.dataNamespace: must be set when kubernetes.namespace is longer than 60 characters (the default "${"n".repeat(61)}-dr" has 64; a DNS-1123 label has ≤ 63); received nothing`,
    ],
  },
  {
    what: "the default from a namespace of 60 characters fits",
    sets: [`kubernetes.namespace=${"n".repeat(60)}`],
    expected: [],
  },
  {
    what: "a long namespace with its data namespace set",
    sets: [`kubernetes.namespace=${"n".repeat(63)}`, "kubernetes.dataNamespace=bat-dr"],
    expected: [],
  },
  {
    what: "an invalid data namespace is left to the schema",
    sets: ["kubernetes.dataNamespace=Bat_DR"],
    expected: [],
  },
]);

table("freezeApproversAtLeastNormal", [
  { what: "the freeze raises the approvers", sets: [], expected: [] },
  {
    what: "the freeze keeps them",
    sets: ["github.approvers.normal=3", "github.approvers.freeze=3"],
    expected: [],
  },
  {
    what: "the freeze would lower them",
    sets: ["github.approvers.normal=3", "github.approvers.freeze=2"],
    expected: [
      "github.approvers.freeze: must be ≥ github.approvers.normal (3), or the freeze would loosen the branch protection; received 2",
    ],
  },
]);

table("incidentNamesFit", [
  { what: "a short id", sets: ["incidentId=inc-1"], expected: [] },
  {
    what: "an id the schema refuses is left to the schema",
    sets: ["incidentId=inc-20261125-1000-abcdefg"],
    expected: [],
  },
  {
    what: "an id that makes the rebuild's database name too long for the production database",
    sets: ["incidentId=inc-20261125-1000"],
    stack: "production",
    expected: [
      'incidentId: with postgres.appDatabase "itt_mentor_services_production" it makes the database name "itt_mentor_services_production_restore_rebuild_inc_20261125_1000" longer than PostgreSQL\'s 63 bytes; use a shorter incidentId; received "inc-20261125-1000"',
    ],
  },
]);
