import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import { ConfigError, editDistance, nearest, parseConfig, readRawConfig, retryWarnings } from "../config";
import { buildPlan } from "../plan";
import { k8sNameProblem, longestJobName } from "@service-dr/dr-data";
import { committedImage, NOW, stackRaw, stackStrings } from "./support/stacks";

/** The problems parseConfig reports for `raw`, or [] if it accepts it. */
function problemsOf(raw: Record<string, unknown>, now: DateTime = NOW): readonly string[] {
  try {
    parseConfig(raw, now);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("config: the committed stacks parse", () => {
  for (const stack of ["staging", "production"] as const) {
    it(`${stack} is valid with its defaults`, () => {
      const cfg = parseConfig(stackRaw(stack), NOW);
      assert.equal(cfg.drMode, "none");
      assert.equal(cfg.drPhase, "isolate");
      assert.equal(cfg.timeZone, "Europe/London");
      assert.deepEqual(cfg.github.approvers, { normal: 1, freeze: 6 });
      assert.equal(cfg.ptr, undefined);
    });
  }
  it("production has HA and geo-redundant backup, staging neither", () => {
    const prod = parseConfig(stackRaw("production"), NOW);
    const stg = parseConfig(stackRaw("staging"), NOW);
    assert.deepEqual(
      [prod.postgres.highAvailability, prod.postgres.geoRedundantBackup],
      ["ZoneRedundant", true],
    );
    assert.deepEqual([stg.postgres.highAvailability, stg.postgres.geoRedundantBackup], ["Disabled", false]);
  });
  it("a wall-clock restore time is converted with the stack's zone (BST in summer)", () => {
    const summerNow = DateTime.fromISO("2026-07-02T10:00:00Z", { zone: "utc" });
    const cfg = parseConfig(
      stackRaw("staging", ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-07-01T13:05:00"]),
      summerNow,
    );
    assert.equal(cfg.ptr?.restore?.utc.toISO(), "2026-07-01T12:05:00.000Z");
  });
  it("kubernetes.dataNamespace: <namespace>-dr unless set", () => {
    const rows: Array<[readonly string[], string, string]> = [
      [[], "bat-staging", "bat-staging-dr"],
      [["kubernetes.dataNamespace=bat-data"], "bat-staging", "bat-data"],
      [["kubernetes.namespace=bat-prod"], "bat-prod", "bat-prod-dr"],
    ];
    for (const [sets, namespace, dataNamespace] of rows) {
      const k = parseConfig(stackRaw("staging", sets), NOW).kubernetes;
      assert.deepEqual([k.namespace, k.dataNamespace], [namespace, dataNamespace], sets.join(" "));
    }
  });
  it("the override switches arrive as strings and become booleans", () => {
    const cfg = parseConfig(stackRaw("staging", ["maintenance=true", "freeze=false"]), NOW);
    assert.deepEqual([cfg.maintenance, cfg.freeze, cfg.stopService], [true, false, undefined]);
  });
});

describe("config: every bad input is named with its key, what is allowed and what was received", () => {
  const cases: Array<[string, readonly string[], RegExp]> = [
    [
      "unknown drMode",
      ["drMode=restore"],
      /^drMode: must be one of: none, ptr, rebuild; received "restore"$/,
    ],
    [
      "unknown drPhase",
      ["drMode=ptr", "incidentId=i1", "drPhase=verify"],
      /^drPhase: must be one of: isolate, restore, validate; received "verify"$/,
    ],
    [
      "unknown rebuild.from",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=snapshot"],
      /^rebuild\.from: must be one of: backup, revive, geo; received "snapshot"$/,
    ],
    [
      "ptr restore phase without a restore time",
      ["drMode=ptr", "incidentId=i1", "drPhase=restore"],
      /^ptr\.restoreTime: is required when drMode is ptr and drPhase is restore .*received nothing/,
    ],
    [
      "ptr validate phase without a restore time",
      ["drMode=ptr", "incidentId=i1", "drPhase=validate"],
      /^ptr\.restoreTime: is required when drMode is ptr and drPhase is validate/,
    ],
    [
      "restore time that does not parse",
      ["drMode=ptr", "incidentId=i1", "ptr.restoreTime=yesterday 1pm"],
      /^ptr\.restoreTime: is not an ISO-8601 date-time.*received "yesterday 1pm"$/,
    ],
    [
      "restore time in the spring-forward gap",
      ["drMode=ptr", "incidentId=i1", "ptr.restoreTime=2026-03-29T01:30:00"],
      /^ptr\.restoreTime: is a local time that does not exist in Europe\/London/,
    ],
    [
      "restore time in the fall-back hour",
      ["drMode=ptr", "incidentId=i1", "ptr.restoreTime=2026-10-25T01:30:00"],
      /^ptr\.restoreTime: is ambiguous in Europe\/London.*2026-10-25T00:30:00\+00:00 \(\+01:00\) or 2026-10-25T01:30:00\+00:00 \(\+00:00\)/,
    ],
    [
      "restore time in the future",
      ["drMode=ptr", "incidentId=i1", "ptr.restoreTime=2026-11-25T10:30:00"],
      /^ptr\.restoreTime: "2026-11-25T10:30:00" → 2026-11-25T10:30:00\+00:00 UTC is in the future.*window is 2026-11-18T10:00:00\+00:00 – 2026-11-25T09:55:00\+00:00 UTC \(2026-11-18 10:00:00 GMT/,
    ],
    [
      "restore time less than 5 minutes ago",
      ["drMode=ptr", "incidentId=i1", "ptr.restoreTime=2026-11-25T09:58:00"],
      /^ptr\.restoreTime: .*is less than 5 minutes ago/,
    ],
    [
      "restore time older than the retention",
      ["drMode=ptr", "incidentId=i1", "ptr.restoreTime=2026-11-17T09:00:00"],
      /^ptr\.restoreTime: .*is older than the backup retention allows/,
    ],
    [
      "drMode ptr without incidentId",
      ["drMode=ptr"],
      /^incidentId: is required when drMode is ptr .*received nothing/,
    ],
    [
      "incidentId with capitals",
      ["drMode=ptr", "incidentId=INC-1"],
      /^incidentId: must be 1–20 lowercase letters, digits and hyphens.*received "INC-1"$/,
    ],
    [
      "an empty incidentDeclaredAt",
      ["drMode=ptr", "incidentId=i1", "incidentDeclaredAt="],
      /^incidentDeclaredAt: must be an ISO-8601 date-time; received ""$/,
    ],
    [
      "incidentDeclaredAt in the fall-back overlap",
      ["drMode=ptr", "incidentId=i1", "incidentDeclaredAt=2026-10-25T01:30:00"],
      /^incidentDeclaredAt: is ambiguous in Europe\/London.*give the time with its offset, e\.g\. "2026-10-25T01:30:00\+01:00"; received "2026-10-25T01:30:00"$/,
    ],
    [
      "negative replicas",
      ["kubernetes.deployments.web.replicas=-1"],
      /^kubernetes\.deployments\.web\.replicas: must be a whole number ≥ 0; received -1$/,
    ],
    [
      "fractional replicas",
      ["kubernetes.deployments.worker.replicas=1.5"],
      /^kubernetes\.deployments\.worker\.replicas: must be a whole number ≥ 0; received "1\.5"$/,
    ],
    [
      "approvers above GitHub's maximum",
      ["github.approvers.freeze=7"],
      /^github\.approvers\.freeze: must be a whole number from 0 to 6; received 7$/,
    ],
    [
      "approvers below 0",
      ["github.approvers.normal=-1"],
      /^github\.approvers\.normal: must be a whole number from 0 to 6; received -1$/,
    ],
    [
      "freeze looser than normal",
      ["github.approvers.normal=3", "github.approvers.freeze=2"],
      /^github\.approvers\.freeze: must be ≥ github\.approvers\.normal \(3\)/,
    ],
    [
      "server name with capitals",
      ["postgres.serverName=S189-PG"],
      /^postgres\.serverName: must be 3–63 lowercase letters, digits and hyphens.*received "S189-PG"$/,
    ],
    [
      "server name too short",
      ["postgres.serverName=ab"],
      /^postgres\.serverName: must be 3–63 .*received "ab"$/,
    ],
    [
      "server name that leaves no room for -ptr",
      [`postgres.serverName=${"a".repeat(61)}`],
      /^postgres\.serverName: must leave room for the PTR copy's name/,
    ],
    [
      "namespace that is not DNS-1123",
      ["kubernetes.namespace=Bat_Staging"],
      /^kubernetes\.namespace: must be a DNS-1123 label.*received "Bat_Staging"$/,
    ],
    [
      "data namespace that is not DNS-1123",
      ["kubernetes.dataNamespace=Bat_DR"],
      /^kubernetes\.dataNamespace: must be a DNS-1123 label: ≤ 63 lowercase letters, digits and hyphens, starting and ending alphanumeric; received "Bat_DR"$/,
    ],
    [
      "data namespace that is the app's",
      ["kubernetes.dataNamespace=bat-staging"],
      /^kubernetes\.dataNamespace: must differ from kubernetes\.namespace .*received "bat-staging" for both$/,
    ],
    [
      "deployment name that is not DNS-1123",
      ["kubernetes.deployments.web.name=Web App"],
      /^kubernetes\.deployments\.web\.name: must be a DNS-1123 subdomain/,
    ],
    [
      "unknown time zone",
      ["timeZone=Europe/Londres"],
      /^timeZone: must be an IANA time zone such as Europe\/London or UTC; received "Europe\/Londres"$/,
    ],
    [
      "misspelt nested key",
      ["ptr.restorTime=2026-11-24T13:05:00"],
      /^ptr\.restorTime: is not a known setting/,
    ],
    [
      "boolean override that is not a boolean",
      ["maintenance=yes"],
      /^maintenance: must be true or false; received "yes"$/,
    ],
    [
      "revive without deletedAt",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=revive"],
      /^rebuild\.deletedAt: is required when rebuild\.from is revive/,
    ],
    [
      "revive more than 5 days after deletion",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=revive", "rebuild.deletedAt=2026-11-19T10:00:00"],
      /^rebuild\.deletedAt: is more than 5 days ago/,
    ],
    [
      "geo without geo-redundant backup",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=geo", "rebuild.location=ukwest"],
      /^rebuild\.from: geo needs postgres\.geoRedundantBackup true/,
    ],
    [
      "geo without a location",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=geo", "postgres.geoRedundantBackup=true"],
      /^rebuild\.location: is required when rebuild\.from is geo/,
    ],
    [
      "geo without a name for the new server",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=geo", "postgres.geoRedundantBackup=true"],
      /^rebuild\.serverName: is required when rebuild\.from is geo \(a geo-restore creates a new server: .*received nothing\. Set it with: pulumi config set --path rebuild\.serverName <name>-geo$/,
    ],
    [
      "geo server named like the live server",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=geo", "rebuild.serverName=s189t01-ittms-stg-pg"],
      /^rebuild\.serverName: must differ from postgres\.serverName .*received "s189t01-ittms-stg-pg" for both$/,
    ],
    [
      "geo into the live server's own region",
      ["drMode=rebuild", "incidentId=i1", "rebuild.from=geo", "rebuild.location=uksouth"],
      /^rebuild\.location: must be another region than the live server's \(uksouth\) for a geo-restore; received "uksouth"$/,
    ],
    [
      "HA on the Burstable tier",
      ["postgres.highAvailability=ZoneRedundant"],
      /^postgres\.highAvailability: ZoneRedundant is not available on the Burstable tier/,
    ],
    [
      "temporary host equal to the public host",
      ["kubernetes.temporaryHost=staging.manage-school-placements.service.gov.uk"],
      /^kubernetes\.temporaryHost: must differ from kubernetes\.publicHost/,
    ],
    [
      "appDatabase not among the databases",
      ["postgres.appDatabase=other"],
      /^postgres\.appDatabase: must be one of the keys of postgres\.databases \(itt_mentor_services_staging\); received "other"$/,
    ],
  ];
  for (const [what, sets, expected] of cases) {
    it(what, () => {
      const problems = problemsOf(stackRaw("staging", sets));
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${String(expected)}, got:\n${problems.join("\n")}`,
      );
    });
  }

  it("reports every problem at once, not the first one", () => {
    const problems = problemsOf(
      stackRaw("staging", [
        "drMode=ptr",
        "drPhase=restore",
        "kubernetes.deployments.web.replicas=-2",
        "github.approvers.freeze=9",
        "timeZone=Mars/Olympus",
      ]),
    );
    const keys = problems.map((p) => p.slice(0, p.indexOf(":"))).sort();
    assert.deepEqual(keys, [
      "github.approvers.freeze",
      "incidentId",
      "kubernetes.deployments.web.replicas",
      "ptr.restoreTime",
      "timeZone",
    ]);
  });

  it("reports a bad incidentDeclaredAt beside the other problems", () => {
    const problems = problemsOf(
      stackRaw("staging", [
        "drMode=ptr",
        "incidentDeclaredAt=2026-11-26T09:00:00",
        "kubernetes.deployments.web.replicas=-2",
      ]),
    );
    const keys = problems.map((p) => p.slice(0, p.indexOf(":"))).sort();
    assert.deepEqual(keys, ["incidentDeclaredAt", "incidentId", "kubernetes.deployments.web.replicas"]);
  });

  it("the ConfigError message says nothing was changed and lists each problem on its own line", () => {
    assert.throws(
      () => parseConfig(stackRaw("staging", ["drMode=oops", "github.approvers.normal=8"]), NOW),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^Invalid stack configuration \(2 problems\); nothing was changed:\n  - drMode: .*\n  - github\.approvers\.normal: .*$/.test(
          err.message,
        ),
    );
  });

  it("an unknown top-level key and a left-over admin password are reported by the reader; nothing needs a secret", () => {
    const strings = stackStrings("staging", ["drmode=ptr"]);
    assert.deepEqual(readRawConfig(stackStrings("staging")).problems, []);
    strings["service-dr:postgresAdminPassword"] = "[secret]";
    const { problems } = readRawConfig(strings);
    assert.deepEqual(
      problems.map((p) => p.slice(0, p.indexOf(":"))),
      ["drmode", "postgresAdminPassword"],
    );
    assert.match(
      problems[1]!,
      /^postgresAdminPassword: is no longer a setting; the servers accept Microsoft Entra logins only \(postgres\.entraAdmin\), there is no password to keep: remove it with pulumi config rm postgresAdminPassword/,
    );
  });

  it("postgres.entraAdmin: the group's object id must be a GUID, its name non-empty; administratorLogin is refused", () => {
    const raw = readRawConfig(
      stackStrings("staging", [
        "postgres.entraAdmin.objectId=admins",
        "postgres.entraAdmin.displayName=",
        "postgres.administratorLogin=ittms_admin",
      ]),
    ).raw;
    assert.throws(
      () => parseConfig(raw, NOW),
      (e: Error & { problems?: readonly string[] }) => {
        assert.deepStrictEqual(e.problems, [
          `postgres.entraAdmin.objectId: must be the group's object id (a GUID: az ad group show --group <name> --query id); received "admins"`,
          `postgres.entraAdmin.displayName: must be the group's display name (the PostgreSQL role its members log in as); received ""`,
          `postgres.administratorLogin: is no longer a setting; the servers accept Microsoft Entra logins only: set postgres.entraAdmin.objectId and postgres.entraAdmin.displayName (the administrators group) and remove it with pulumi config rm --path postgres.administratorLogin; received "ittms_admin"`,
        ]);
        return true;
      },
    );
  });
});

describe("config: all problems at once — one invalid value never hides another check", () => {
  const temp = "kubernetes.temporaryHost=staging.manage-school-placements.service.gov.uk";
  const sameHosts =
    "kubernetes.temporaryHost: must differ from kubernetes.publicHost (the temporary ingress is how the app is validated while the public host shows the maintenance page); received staging.manage-school-placements.service.gov.uk for both";
  const long = "a".repeat(61);
  const rows: Array<[string, readonly string[], readonly string[]]> = [
    [
      "a bad drMode, a server name whose -ptr copy is too long, the temporary host equal to the public one",
      ["drMode=bad", `postgres.serverName=${long}`, temp],
      [
        'drMode: must be one of: none, ptr, rebuild; received "bad"',
        `postgres.serverName: must leave room for the PTR copy's name "${long}-ptr" (≤ 63 characters, so ≤ 59 for this name); it has 61; received "${long}"`,
        sameHosts,
      ],
    ],
    [
      "an invalid timeZone does not hide the window check of a time with an explicit offset",
      ["timeZone=Mars/Olympus", "drMode=ptr", "incidentId=i1", "ptr.restoreTime=2026-11-10T12:00:00Z"],
      [
        'timeZone: must be an IANA time zone such as Europe/London or UTC; received "Mars/Olympus"',
        'ptr.restoreTime: "2026-11-10T12:00:00Z" → 2026-11-10T12:00:00+00:00 UTC is older than the backup retention allows (2026-11-10T12:00:00+00:00 UTC); ' +
          "the restorable window is 2026-11-18T10:00:00+00:00 – 2026-11-25T09:55:00+00:00 UTC (2026-11-18 10:00:00 UTC (+00:00) – 2026-11-25 09:55:00 UTC (+00:00))",
      ],
    ],
    [
      "an invalid timeZone and a wall-clock time: the time is said to be unreadable, not skipped",
      ["timeZone=Mars/Olympus", "drMode=ptr", "incidentId=i1", "ptr.restoreTime=2026-11-24T12:00:00"],
      [
        'timeZone: must be an IANA time zone such as Europe/London or UTC; received "Mars/Olympus"',
        "ptr.restoreTime: is a wall-clock time, and timeZone is not a valid zone, so it cannot be converted to UTC; " +
          'fix timeZone, or give the time with its offset (e.g. "2026-11-24T12:00:00Z" for UTC); received "2026-11-24T12:00:00"',
      ],
    ],
    [
      "an invalid postgres.version and kubernetes.namespace do not hide the checks across postgres, kubernetes and github",
      [
        "postgres.version=12",
        "postgres.appDatabase=other",
        "postgres.highAvailability=SameZone",
        "github.approvers.normal=3",
        "github.approvers.freeze=2",
        "kubernetes.namespace=Bad_NS",
        temp,
      ],
      [
        "postgres.version: must be one of: 13, 14, 15, 16, 17, 18; received 12",
        'kubernetes.namespace: must be a DNS-1123 label: ≤ 63 lowercase letters, digits and hyphens, starting and ending alphanumeric; received "Bad_NS"',
        'postgres.appDatabase: must be one of the keys of postgres.databases (itt_mentor_services_staging); received "other"',
        "postgres.highAvailability: SameZone is not available on the Burstable tier (allowed there: Disabled); received SameZone with postgres.sku.tier Burstable",
        sameHosts,
        "github.approvers.freeze: must be ≥ github.approvers.normal (3), or the freeze would loosen the branch protection; received 2",
      ],
    ],
  ];
  for (const [what, sets, expected] of rows) {
    it(what, () => assert.deepStrictEqual(problemsOf(stackRaw("staging", sets)), expected));
  }
});

describe("config: every Kubernetes name derived from kubernetes.service and incidentId fits its rule", () => {
  it("a 58-character service: the Service and the label value (70 > 63) and the CronJob (68 > 52), each named", () => {
    const svc = "s".repeat(58);
    assert.deepStrictEqual(problemsOf(stackRaw("staging", [`kubernetes.service=${svc}`])), [
      `kubernetes.service: makes the maintenance page Service name "${svc}-maintenance" 70 characters; a Service name (a DNS-1035 label: starts with a letter; lowercase letters, digits, '-') is at most 63; received "${svc}"`,
      `kubernetes.service: makes the maintenance page's app label value "${svc}-maintenance" 70 characters; a label value is at most 63; received "${svc}"`,
      `kubernetes.service: makes the nightly backup CronJob name "${svc}-db-backup" 68 characters; a CronJob name is at most 52; received "${svc}"`,
    ]);
  });
  it("the longest service that fits: 42 characters (its CronJob name is exactly 52)", () => {
    assert.deepStrictEqual(problemsOf(stackRaw("staging", [`kubernetes.service=${"s".repeat(42)}`])), []);
    assert.equal(problemsOf(stackRaw("staging", [`kubernetes.service=${"s".repeat(43)}`])).length, 1);
  });
  it("a service starting with a digit makes a Service name that is not DNS-1035", () => {
    assert.deepStrictEqual(problemsOf(stackRaw("staging", ["kubernetes.service=1abc"])), [
      `kubernetes.service: makes the maintenance page Service name "1abc-maintenance", which is not a Service name (a DNS-1035 label: starts with a letter; lowercase letters, digits, '-'); received "1abc"`,
    ]);
  });
  it("the longest recovery Job name an incident id can make is its table-level restore with a restore time, the table set's tag and retry 99", () => {
    const id = "a".repeat(20);
    assert.equal(longestJobName(id), `dr-${id}-restore-19700101t000000z-te3b0c4-r99`);
    assert.equal(longestJobName(id).length, 60);
  });
  it("a Job name over 63 is refused, naming the name and the limit (an id longer than incidentId allows)", () => {
    const id = "a".repeat(40);
    assert.equal(
      k8sNameProblem({ object: "longest recovery Job name", name: longestJobName(id), rule: "job" }),
      `makes the longest recovery Job name "dr-${id}-restore-19700101t000000z-te3b0c4-r99" 80 characters; a Job name (its pods' job-name label) is at most 63`,
    );
  });
});

describe("config: the window check for a copy that outlives the retention window", () => {
  const later = DateTime.fromISO("2026-12-05T10:00:00Z", { zone: "utc" });
  const sets = ["drMode=ptr", "incidentId=i1", "drPhase=validate", "ptr.restoreTime=2026-11-24T13:05:00"];
  const pin = ["ptr.requestedAt=2026-11-25T09:00:00Z", "ptr.requestedFor=2026-11-24T13:05:00"];
  it("refuses the time ten days later when nothing pins the check", () => {
    assert.deepStrictEqual(problemsOf(stackRaw("staging", sets), later), [
      'ptr.restoreTime: "2026-11-24T13:05:00" → 2026-11-24T13:05:00+00:00 UTC is older than the backup retention allows (2026-11-24T13:05:00+00:00 UTC); ' +
        "the restorable window is 2026-11-28T10:00:00+00:00 – 2026-12-05T09:55:00+00:00 UTC (2026-11-28 10:00:00 GMT (+00:00) – 2026-12-05 09:55:00 GMT (+00:00))",
    ]);
  });
  it("accepts it when the pin records when the copy for this restore time was requested (the window is checked then)", () => {
    const cfg = parseConfig(stackRaw("staging", [...sets, ...pin]), later);
    assert.equal(cfg.ptr?.requestedAt?.toISO(), "2026-11-25T09:00:00.000Z");
  });
  it("accepts requestedFor written differently when it names the same instant (offset instead of wall clock)", () => {
    const cfg = parseConfig(
      stackRaw("staging", [...sets, pin[0]!, "ptr.requestedFor=2026-11-24T13:05:00Z"]),
      later,
    );
    assert.equal(cfg.ptr?.requestedAt?.toISO(), "2026-11-25T09:00:00.000Z");
  });
  it("still refuses a requestedAt in the future", () => {
    assert.deepStrictEqual(
      problemsOf(stackRaw("staging", [...sets, "ptr.requestedAt=2026-12-06T09:00:00Z", pin[1]!]), later),
      [
        'ptr.requestedAt: must not be in the future (now is 2026-12-05T10:00:00+00:00 UTC); received "2026-12-06T09:00:00Z"',
        'ptr.restoreTime: "2026-11-24T13:05:00" → 2026-11-24T13:05:00+00:00 UTC is older than the backup retention allows (2026-11-24T13:05:00+00:00 UTC); ' +
          "the restorable window is 2026-11-28T10:00:00+00:00 – 2026-12-05T09:55:00+00:00 UTC (2026-11-28 10:00:00 GMT (+00:00) – 2026-12-05 09:55:00 GMT (+00:00))",
      ],
    );
  });
  it("the reviewer's bypass: a pin cannot carry a new, expired restore time past the check", () => {
    // 12 days back with 7 days' retention: the pin was for another copy, so the new time is checked against now.
    const now = DateTime.fromISO("2026-11-25T12:00:00Z", { zone: "utc" });
    const problems = problemsOf(
      stackRaw("staging", [
        "drMode=ptr",
        "incidentId=i1",
        "ptr.requestedAt=2026-11-19T12:00:00Z",
        "ptr.requestedFor=2026-11-18T12:00:00Z",
        "ptr.restoreTime=2026-11-13T12:00:00Z",
      ]),
      now,
    );
    assert.deepStrictEqual(problems, [
      'ptr.requestedFor: the pin (ptr.requestedAt) is for the copy of 2026-11-18T12:00:00+00:00 UTC, but ptr.restoreTime "2026-11-13T12:00:00Z" is 2026-11-13T12:00:00+00:00 UTC: ' +
        "a new restore time makes a new copy (the existing one is deleted first), which Azure restores only inside the window as of now, so ptr.restoreTime is checked against now. " +
        "Remove the pin: pulumi config rm --path ptr.requestedAt && pulumi config rm --path ptr.requestedFor; once the new copy exists, pin it again: " +
        'pulumi config set --path ptr.requestedFor "2026-11-13T12:00:00Z" && pulumi config set --path ptr.requestedAt <the UTC time of that pulumi up>; received "2026-11-18T12:00:00Z"',
      'ptr.restoreTime: "2026-11-13T12:00:00Z" → 2026-11-13T12:00:00+00:00 UTC is older than the backup retention allows (2026-11-13T12:00:00+00:00 UTC); ' +
        "the restorable window is 2026-11-18T12:00:00+00:00 – 2026-11-25T11:55:00+00:00 UTC (2026-11-18 12:00:00 GMT (+00:00) – 2026-11-25 11:55:00 GMT (+00:00))",
    ]);
  });
  it("a requestedAt without requestedFor is refused (the pin must name its restore time), and the window is checked now", () => {
    const problems = problemsOf(stackRaw("staging", [...sets, pin[0]!]), later);
    assert.equal(problems.length, 2);
    assert.equal(
      problems[0],
      "ptr.requestedFor: is required with ptr.requestedAt (it binds the pin to the restore time whose copy was requested then); " +
        'if the existing copy was made for the current restore time, set: pulumi config set --path ptr.requestedFor "2026-11-24T13:05:00"; ' +
        "otherwise remove the pin: pulumi config rm --path ptr.requestedAt; received nothing",
    );
    assert.match(problems[1]!, /^ptr\.restoreTime: .* is older than the backup retention allows/);
  });
  it("a requestedFor without requestedAt is refused", () => {
    const problems = problemsOf(stackRaw("staging", [...sets, pin[1]!]), later);
    assert.match(problems[0]!, /^ptr\.requestedAt: is required with ptr\.requestedFor .*received nothing$/);
    assert.equal(problems.length, 2);
  });
});

describe("config: mistyped keys get the nearest known one", () => {
  it("a top-level key in the wrong case or one letter off: did you mean", () => {
    const read = (key: string): string[] =>
      readRawConfig({ ...stackStrings("staging"), [`service-dr:${key}`]: "x" }).problems;
    assert.match(
      read("drmode")[0]!,
      /^drmode: is not a setting of this program \(did you mean drMode\?\); known settings are: timeZone, drMode, /,
    );
    assert.match(read("incidentid")[0]!, /\(did you mean incidentId\?\)/);
    assert.match(read("maintenanceMesage")[0]!, /\(did you mean maintenanceMessage\?\)/);
    // Nothing near: no guess.
    assert.doesNotMatch(read("colour")[0]!, /did you mean/);
  });
  it("an unknown field of a structured key: the nearest field and the key's fields", () => {
    assert.deepStrictEqual(
      problemsOf({ ...stackRaw("staging"), ptr: { restoretime: "2026-11-24T13:05:00" } }),
      [
        "ptr.restoretime: is not a known setting (did you mean ptr.restoreTime?); the fields of ptr are: restoreTime, requestedAt, requestedFor, tables",
      ],
    );
    const raw = stackRaw("staging");
    const dataTool = raw.dataTool as Record<string, unknown>;
    assert.deepStrictEqual(problemsOf({ ...raw, dataTool: { ...dataTool, timeout: 30 } }), [
      "dataTool.timeout: is not a known setting; the fields of dataTool are: image, parallelJobs, databaseSizeGiB, timeoutMinutes, scratch",
    ]);
    assert.deepStrictEqual(problemsOf({ ...raw, retry: { restor: 1 } }), [
      "retry.restor: is not a known setting (did you mean retry.restore?); the fields of retry are: backup-flawed, inspect, backup-ptr, reconcile, restore, compare, report",
    ]);
  });
  it("edit distance and the nearest name", () => {
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(nearest("drmode", ["drMode", "drPhase"]), "drMode");
    assert.equal(nearest("xyz", ["drMode", "drPhase"]), undefined);
  });
});

describe("config: keys that do not apply are warned about, naming the key and why", () => {
  // As the program logs them: the config's, then the retries the plan declares no Job for.
  const warnings = (sets: readonly string[]): readonly string[] => {
    const cfg = parseConfig(stackRaw("staging", sets), NOW);
    return [...cfg.warnings, ...retryWarnings(cfg, buildPlan(cfg, NOW))];
  };
  const rows: Array<[string, readonly string[], readonly string[]]> = [
    ["the committed stack: none", [], []],
    [
      "drPhase without an incident",
      ["drPhase=validate"],
      [
        "drPhase: validate is ignored while drMode is none (no incident is open); remove it: pulumi config rm drPhase",
      ],
    ],
    [
      "ptr.restoreTime without an incident",
      ["ptr.restoreTime=2026-11-24T13:05:00"],
      ["ptr: is ignored while drMode is none (no incident is open); remove it: pulumi config rm ptr"],
    ],
    [
      "after closing, incidentId still set",
      ["incidentId=inc-1"],
      [
        "incidentId: is ignored while drMode is none (incident inc-1 is closed); remove it: pulumi config rm incidentId",
      ],
    ],
    [
      "rebuild.* in ptr mode",
      ["drMode=ptr", "incidentId=inc-1", "rebuild.from=revive"],
      [
        "rebuild: is ignored in drMode ptr (it describes a rebuild of a lost server); remove it: pulumi config rm rebuild",
      ],
    ],
    [
      "ptr.* in rebuild mode",
      ["drMode=rebuild", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"],
      [
        "ptr: is ignored in drMode rebuild (it describes a point-in-time restore); remove it: pulumi config rm ptr",
      ],
    ],
    [
      "a rebuild field of another rebuild.from",
      [
        "drMode=rebuild",
        "incidentId=inc-1",
        "rebuild.backupBlob=nightly/x/db_20261124T020000Z",
        "rebuild.from=revive",
        "rebuild.deletedAt=2026-11-24T18:30:00",
      ],
      [
        "rebuild.backupBlob: is ignored with rebuild.from revive (it applies to rebuild.from backup); remove it: pulumi config rm --path rebuild.backupBlob",
      ],
    ],
    [
      "a retry of a step this state does not declare",
      ["drMode=ptr", "incidentId=inc-1", "retry.restore=1"],
      [
        "retry.restore: is ignored: no restore Job is declared in drMode ptr, drPhase isolate; remove it: pulumi config rm --path retry.restore",
      ],
    ],
    [
      "a retry of a declared step: no warning",
      ["drMode=ptr", "incidentId=inc-1", "retry.backup-flawed=1"],
      [],
    ],
  ];
  for (const [what, sets, expected] of rows) it(what, () => assert.deepStrictEqual(warnings(sets), expected));
});

describe("config: ptr.tables (restore only these tables)", () => {
  const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00", "drPhase=restore"];
  const withTables = (tables: unknown): Record<string, unknown> => {
    const raw = stackRaw("staging", PTR);
    return { ...raw, ptr: { ...(raw.ptr as Record<string, unknown>), tables } };
  };
  const ALLOWED = "schema.table (two names without dots, commas, quotes or blanks, e.g. app.accounts)";
  const cases: Array<[string, unknown, readonly string[]]> = [
    ["one table", ["app.events"], []],
    ["several, any PostgreSQL names", ["app.events", "public.Users", "s_1.t$2", "é.ü"], []],
    [
      "an empty list",
      [],
      [
        `ptr.tables: must list at least one table (${ALLOWED}); to restore the whole database remove it: pulumi config rm --path ptr.tables; received []`,
      ],
    ],
    ["not a list", "app.events", [`ptr.tables: must be a list of ${ALLOWED}; received "app.events"`]],
    ["no schema", ["events"], [`ptr.tables[0]: must be ${ALLOWED}; received "events"`]],
    [
      "three parts, a comma, a blank",
      ["db.app.events", "app.a,app.b", "app. events"],
      [
        `ptr.tables[0]: must be ${ALLOWED}; received "db.app.events"`,
        `ptr.tables[1]: must be ${ALLOWED}; received "app.a,app.b"`,
        `ptr.tables[2]: must be ${ALLOWED}; received "app. events"`,
      ],
    ],
    [
      "a name over 63 bytes",
      [`app.${"t".repeat(64)}`],
      [`ptr.tables[0]: must be ${ALLOWED}; received "app.${"t".repeat(64)}"`],
    ],
    [
      "a duplicate",
      ["app.events", "app.accounts", "app.events"],
      [
        `ptr.tables: must not list a table twice; listed again: app.events; received ["app.events","app.accounts","app.events"]`,
      ],
    ],
  ];
  for (const [what, tables, expected] of cases) {
    it(what, () => assert.deepStrictEqual(problemsOf(withTables(tables)), expected));
  }
  it("the parsed list reaches the plan's config in order", () => {
    const cfg = parseConfig(withTables(["app.events", "app.accounts"]), NOW);
    assert.deepStrictEqual(cfg.ptr?.tables, ["app.events", "app.accounts"]);
  });
});

describe("config: dataTool sizing (the scratch volume and the timeouts)", () => {
  const dataToolOf = (sets: readonly string[]) => parseConfig(stackRaw("staging", sets), NOW).dataTool;

  it("defaults: a managed-csi claim, size and timeout derived later from the database size (plan-data.ts)", () => {
    assert.deepStrictEqual(dataToolOf([]), {
      image: committedImage("staging"),
      parallelJobs: 2,
      scratch: { storageClass: "managed-csi" },
    });
  });
  it("every key set", () => {
    assert.deepStrictEqual(
      dataToolOf([
        "dataTool.databaseSizeGiB=20",
        "dataTool.timeoutMinutes=2880",
        "dataTool.scratch.storageClass=managed-csi-premium",
        "dataTool.scratch.size=1Ti",
      ]),
      {
        image: committedImage("staging"),
        parallelJobs: 2,
        databaseSizeGiB: 20,
        timeoutMinutes: 2880,
        scratch: { storageClass: "managed-csi-premium", size: "1Ti" },
      },
    );
  });

  const cases: Array<[string, readonly string[], string]> = [
    [
      "the old scratchSize key, with the key that replaces it",
      ["dataTool.scratchSize=50Gi"],
      'dataTool.scratchSize: is no longer a setting; the scratch is a volume claim now: set dataTool.scratch.size (a Kubernetes quantity such as 50Gi), or dataTool.databaseSizeGiB to derive it; received "50Gi"',
    ],
    [
      "a size that is not a Kubernetes quantity",
      ["dataTool.scratch.size=50GB"],
      'dataTool.scratch.size: must be a Kubernetes quantity such as 50Gi; received "50GB"',
    ],
    [
      "a storage class that is not a Kubernetes name",
      ["dataTool.scratch.storageClass=Managed_CSI"],
      "dataTool.scratch.storageClass: must be a storage class name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric); received \"Managed_CSI\"",
    ],
    [
      "a database size that is not a whole number of GiB",
      ["dataTool.databaseSizeGiB=1.5"],
      // `pulumi config set --path` keeps anything but an integer or a boolean as a string.
      'dataTool.databaseSizeGiB: must be a whole number from 1 to 32767; received "1.5"',
    ],
    [
      "a database size of 0",
      ["dataTool.databaseSizeGiB=0"],
      "dataTool.databaseSizeGiB: must be a whole number from 1 to 32767; received 0",
    ],
    [
      "a database size above the server's storage",
      ["dataTool.databaseSizeGiB=500"],
      "dataTool.databaseSizeGiB: must be at most postgres.storageSizeGb (32), the server's storage that holds the database; received 500",
    ],
    [
      "a timeout under 10 minutes",
      ["dataTool.timeoutMinutes=5"],
      "dataTool.timeoutMinutes: must be a whole number from 10 to 10080; received 5",
    ],
    [
      "an unknown field of scratch",
      ["dataTool.scratch.class=managed-csi"],
      "dataTool.scratch.class: is not a known setting; the fields of dataTool.scratch are: storageClass, size",
    ],
  ];
  for (const [what, sets, expected] of cases) {
    it(what, () => assert.deepStrictEqual(problemsOf(stackRaw("staging", sets)), [expected]));
  }
});

describe("config: dataTool.image is the project's image by digest", () => {
  const REPO = "ghcr.io/dfe-digital/service-dr-data";
  const DIGEST = `sha256:${"ab12".repeat(16)}`;
  const BY_DIGEST = `${REPO}@sha256:<64 hex digits>`;
  const OUTSIDE = `dataTool.image: must be the data tool's image from the project's registry path, by digest: ${BY_DIGEST} (the release-image workflow publishes it there)`;
  const TAG = `dataTool.image: must name ${REPO} by digest, ${BY_DIGEST} (from the release-image workflow's pull request), not by tag: a tag can be moved to other content`;
  const rows: Array<[string, string, readonly string[]]> = [
    ["by digest", `${REPO}@${DIGEST}`, []],
    [
      "the unpublished placeholder (refused by the policy pack, not here)",
      `${REPO}@sha256:${"0".repeat(64)}`,
      [],
    ],
    ["by tag", `${REPO}:1.0.0`, [`${TAG}; received "${REPO}:1.0.0"`]],
    ["no tag, no digest", REPO, [`${TAG}; received "${REPO}"`]],
    ["tag and digest", `${REPO}:1.0.0@${DIGEST}`, [`${TAG}; received "${REPO}:1.0.0@${DIGEST}"`]],
    ["a short digest", `${REPO}@sha256:abc`, [`${TAG}; received "${REPO}@sha256:abc"`]],
    [
      "another hash",
      `${REPO}@sha512:${"ab".repeat(64)}`,
      [`${TAG}; received "${REPO}@sha512:${"ab".repeat(64)}"`],
    ],
    [
      "another owner's image",
      `ghcr.io/someone/service-dr-data@${DIGEST}`,
      [`${OUTSIDE}; received "ghcr.io/someone/service-dr-data@${DIGEST}"`],
    ],
    ["a look-alike path", `${REPO}-evil@${DIGEST}`, [`${OUTSIDE}; received "${REPO}-evil@${DIGEST}"`]],
    [
      "another registry",
      `docker.io/library/postgres@${DIGEST}`,
      [`${OUTSIDE}; received "docker.io/library/postgres@${DIGEST}"`],
    ],
  ];
  for (const [what, image, expected] of rows)
    it(what, () =>
      assert.deepStrictEqual(problemsOf(stackRaw("staging", [`dataTool.image=${image}`])), expected),
    );

  it("the committed stacks name the project's repository by digest", () => {
    for (const stack of ["staging", "production"] as const)
      assert.match(committedImage(stack), /^ghcr\.io\/dfe-digital\/service-dr-data@sha256:[0-9a-f]{64}$/);
  });
});
