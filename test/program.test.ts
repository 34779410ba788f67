/**
 * Mock-runtime tests: the program runs under Pulumi's own mock runtime (dev/offline/mocks.ts) and these assert
 * exactly what it declares — resource types, names and inputs — in every DR mode and phase.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { RecordingMocks, isConfigError, runProgram } from "../dev/offline/mocks";
import type { PlanResource, PlanResult } from "../dev/offline/mocks";
import { declareStack, DR_NETWORK, geoRebuildSets, NOW, SECRET_KEYS, stackStrings } from "./support/stacks";

const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const SVC = "itt-mentor-services-staging";
const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000";
const LIVE_ID = `${SUB}/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg`;

function declare(sets: readonly string[], stack: "staging" | "production" = "staging"): Promise<PlanResult> {
  return declareStack(stack, sets);
}
function one(r: PlanResult, type: string, name: string): PlanResource {
  const found = r.resources.filter((x) => x.type === type && x.name === name);
  assert.equal(found.length, 1, `expected exactly one ${type} ${name}, found ${found.length}`);
  return found[0]!;
}
const names = (r: PlanResult): string[] => r.resources.map((x) => `${x.type} ${x.name}`);

/** What every state declares. */
const ALWAYS = [
  // The one component the stack declares; every other component is its child.
  `service-dr:index:ServiceRecovery ${SVC}`,
  `github:index/branchProtection:BranchProtection ${SVC}-freeze-branch`,
  `service-dr:index:PipelineFreeze ${SVC}-freeze`,
  `azure-native:dbforpostgresql:Configuration ${SVC}-live-param-azure.extensions`,
  `azure-native:dbforpostgresql:Configuration ${SVC}-live-param-log_min_duration_statement`,
  `azure-native:dbforpostgresql:Database ${SVC}-live-db-itt_mentor_services_staging`,
  `azure-native:dbforpostgresql:Server ${SVC}-live-server`,
  `azure-native:dbforpostgresql:AdministratorsMicrosoftEntra ${SVC}-live-entra-admin`,
  `azure-native:authorization:ManagementLockByScope ${SVC}-live-lock`,
  `service-dr:index:LiveServer ${SVC}-live`,
  `kubernetes:core/v1:ConfigMap ${SVC}-maintenance-content`,
  `kubernetes:apps/v1:Deployment ${SVC}-maintenance-page`,
  `kubernetes:core/v1:Service ${SVC}-maintenance-page`,
  `kubernetes:networking.k8s.io/v1:Ingress ${SVC}-maintenance-public`,
  `service-dr:index:MaintenanceMode ${SVC}-maintenance`,
  `kubernetes:apps/v1:DeploymentPatch ${SVC}-replicas-web`,
  `kubernetes:apps/v1:DeploymentPatch ${SVC}-replicas-worker`,
  `service-dr:index:ReplicaCounts ${SVC}-replicas`,
  `azure-native:storage:StorageAccount ${SVC}-backups-account`,
  `azure-native:storage:BlobServiceProperties ${SVC}-backups-blob-service`,
  `azure-native:storage:BlobContainer ${SVC}-backups-container`,
  `azure-native:storage:ManagementPolicy ${SVC}-backups-lifecycle`,
  `azure-native:authorization:ManagementLockByScope ${SVC}-backups-lock`,
  `service-dr:index:BackupStorage ${SVC}-backups`,
  // No Secret at all: storage and PostgreSQL are reached with the managed identity.
  `azure-native:managedidentity:UserAssignedIdentity ${SVC}-dr-identity-identity`,
  `azure-native:managedidentity:FederatedIdentityCredential ${SVC}-dr-identity-federated`,
  // The nightly identity's own role (blob read, write, add only) and its assignment on the container.
  `azure-native:authorization:RoleDefinition ${SVC}-dr-identity-role`,
  `azure-native:authorization:RoleAssignment ${SVC}-dr-identity-blob-data`,
  `kubernetes:core/v1:ServiceAccount ${SVC}-dr-identity-service-account`,
  `service-dr:index:WorkloadIdentity ${SVC}-dr-identity`,
  `kubernetes:networking.k8s.io/v1:NetworkPolicy ${SVC}-dr-network-policy`,
  `service-dr:index:DataNetworkPolicy ${SVC}-dr-network`,
  `kubernetes:batch/v1:CronJob ${SVC}-nightly-cronjob`,
  `service-dr:index:NightlyBackup ${SVC}-nightly`,
  `service-dr:index:RecoveryJobs ${SVC}-recovery`,
  // The alerts stay in every state: an incident needs them most (the missing-backup rule is only disabled).
  `azure-native:monitor:ActionGroup ${SVC}-alerts-action-group`,
  `azure-native:monitor:DiagnosticSetting ${SVC}-alerts-blob-write-logs`,
  `azure-native:monitor:ScheduledQueryRule ${SVC}-alerts-job-failed`,
  `azure-native:monitor:ScheduledQueryRule ${SVC}-alerts-missing-backup`,
  `service-dr:index:BackupAlerts ${SVC}-alerts`,
];
/**
 * What an open incident adds, and closing removes: the recovery identity (its own managed identity, federated
 * credential, ServiceAccount and unconditioned blob role), an Entra administrator of the live server.
 */
const INCIDENT_ACCESS = [
  `azure-native:managedidentity:UserAssignedIdentity ${SVC}-dr-recovery-identity`,
  `azure-native:managedidentity:FederatedIdentityCredential ${SVC}-dr-recovery-federated`,
  `azure-native:authorization:RoleAssignment ${SVC}-dr-recovery-blob-data`,
  `kubernetes:core/v1:ServiceAccount ${SVC}-dr-recovery-service-account`,
  `service-dr:index:WorkloadIdentity ${SVC}-dr-recovery`,
  `azure-native:dbforpostgresql:AdministratorsMicrosoftEntra ${SVC}-live-entra-admin-recovery`,
];
const incidentOpen = (sets: readonly string[]): boolean =>
  sets.some((x) => x === "drMode=ptr" || x === "drMode=rebuild");
const job = (name: string): string => `kubernetes:batch/v1:Job ${SVC}-recovery-${name}`;
const FLAWED = job("dr-inc-1-backup-flawed");
/** The inspection of the PTR copy: declared as soon as the copy is. */
const INSPECT = job("dr-inc-1-inspect-20261124t130500z");
/** The restore phase: the export, then the whole restore in one Job (restore --from-copy). */
const PTR_JOBS = [job("dr-inc-1-reconcile-20261124t130500z"), job("dr-inc-1-restore-20261124t130500z-flow")];
const REBUILD_JOBS = ["restore", "compare"].map((s) => job(`dr-inc-1-${s}`));
const TEMP_INGRESS = `kubernetes:networking.k8s.io/v1:Ingress ${SVC}-maintenance-temporary`;
/**
 * The hold that keeps web and worker at 0 until the recovery Jobs completed (states that run the app): its
 * patches' names carry the Job set's tag (`j` + sha256 of the sorted names, 10 hex digits; computed apart with
 * `printf '%s' "<names,joined>" | sha256sum`).
 */
const holdOf = (tag: string): string[] => [
  `kubernetes:apps/v1:DeploymentPatch ${SVC}-replicas-hold-${tag}-web`,
  `kubernetes:apps/v1:DeploymentPatch ${SVC}-replicas-hold-${tag}-worker`,
  `service-dr:index:ReplicaHold ${SVC}-replicas-hold`,
];
/** The PTR Job set's tag, and the rebuild's (dr-inc-1-compare,dr-inc-1-restore). */
const PTR_TAG = "jc35f7c3233";
const REBUILD_TAG = "jd749071e54";
const HOLD = holdOf(PTR_TAG);
const PTR_JOB_NAMES = [
  "dr-inc-1-backup-flawed",
  ...["inspect-20261124t130500z", "reconcile-20261124t130500z", "restore-20261124t130500z-flow"].map(
    (s) => `dr-inc-1-${s}`,
  ),
];
/** The PTR copy, and the troubleshooting pod that lives as long as it does. */
const PTR_COPY = [
  `azure-native:dbforpostgresql:Server ${SVC}-ptr-server`,
  // The copy holds live's roles of the restore time, which predates the recovery identity.
  `azure-native:dbforpostgresql:AdministratorsMicrosoftEntra ${SVC}-ptr-entra-admin-recovery`,
  `service-dr:index:PtrCopy ${SVC}-ptr`,
  `kubernetes:core/v1:Pod ${SVC}-troubleshoot-pod`,
  `service-dr:index:TroubleshootPod ${SVC}-troubleshoot`,
];

describe("program under the mock runtime: exact resources per mode and phase", function () {
  this.timeout(120_000);
  // [state, config, extra resources beyond ALWAYS, web replicas, worker replicas, public backend, approvers]
  const rows: Array<[string, readonly string[], readonly string[], number, number, string, number]> = [
    ["drMode none", [], [], 2, 1, SVC, 1],
    [
      "ptr isolate, no restore time yet",
      ["drMode=ptr", "incidentId=inc-1"],
      [TEMP_INGRESS, FLAWED],
      0,
      0,
      `${SVC}-maintenance`,
      6,
    ],
    ["ptr isolate", PTR, [TEMP_INGRESS, FLAWED, ...PTR_COPY, INSPECT], 0, 0, `${SVC}-maintenance`, 6],
    [
      "ptr restore",
      [...PTR, "drPhase=restore"],
      [TEMP_INGRESS, FLAWED, ...PTR_COPY, INSPECT, ...PTR_JOBS],
      0,
      0,
      `${SVC}-maintenance`,
      6,
    ],
    [
      "ptr validate",
      [...PTR, "drPhase=validate"],
      [TEMP_INGRESS, FLAWED, ...PTR_COPY, INSPECT, ...PTR_JOBS, ...HOLD],
      2,
      1,
      `${SVC}-maintenance`,
      6,
    ],
    [
      "rebuild isolate",
      ["drMode=rebuild", "incidentId=inc-1"],
      [TEMP_INGRESS],
      0,
      0,
      `${SVC}-maintenance`,
      6,
    ],
    [
      "rebuild restore",
      ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"],
      [TEMP_INGRESS, ...REBUILD_JOBS],
      0,
      0,
      `${SVC}-maintenance`,
      6,
    ],
    [
      "rebuild validate",
      ["drMode=rebuild", "incidentId=inc-1", "drPhase=validate"],
      [TEMP_INGRESS, ...REBUILD_JOBS, ...holdOf(REBUILD_TAG)],
      2,
      1,
      `${SVC}-maintenance`,
      6,
    ],
    [
      "rebuild revive restore: the data comes with the server, no restore Job",
      [
        "drMode=rebuild",
        "incidentId=inc-1",
        "drPhase=restore",
        "rebuild.from=revive",
        "rebuild.deletedAt=2026-11-24T18:30:00",
      ],
      [TEMP_INGRESS],
      0,
      0,
      `${SVC}-maintenance`,
      6,
    ],
    ["planned maintenance (override)", ["maintenance=true"], [TEMP_INGRESS], 2, 1, `${SVC}-maintenance`, 1],
    [
      "reopened, still frozen",
      [...PTR, "drPhase=validate", "maintenance=false"],
      [FLAWED, ...PTR_COPY, INSPECT, ...PTR_JOBS, ...HOLD],
      2,
      1,
      SVC,
      6,
    ],
  ];
  for (const [state, sets, extra, web, worker, backend, approvers] of rows) {
    it(state, async () => {
      const r = await declare(sets);
      const access = incidentOpen(sets) ? INCIDENT_ACCESS : [];
      assert.deepEqual(names(r).sort(), [...ALWAYS, ...access, ...extra].sort());
      // With the hold, the app's patches name the Jobs they wait for and the hold's tag (a new hold, a new
      // Job set, re-applies them).
      const held = extra.some((n) => n.includes(`${SVC}-replicas-hold-j`));
      const jobs = extra.includes(FLAWED) ? PTR_JOB_NAMES : ["dr-inc-1-restore", "dr-inc-1-compare"];
      const tag = extra.includes(FLAWED) ? PTR_TAG : REBUILD_TAG;
      assert.deepEqual(one(r, "kubernetes:apps/v1:DeploymentPatch", `${SVC}-replicas-web`).inputs, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
          name: SVC,
          namespace: "bat-staging",
          annotations: {
            "pulumi.com/patchForce": "true",
            ...(held ? { "service-dr/recovery-jobs": jobs.join(","), "service-dr/after-hold": tag } : {}),
          },
        },
        spec: { replicas: web },
      });
      if (held) {
        const hold = one(r, "kubernetes:apps/v1:DeploymentPatch", `${SVC}-replicas-hold-${tag}-web`);
        assert.deepEqual(hold.inputs, {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: {
            name: SVC,
            namespace: "bat-staging",
            annotations: { "pulumi.com/patchForce": "true", "service-dr/recovery-jobs": jobs.join(",") },
          },
          spec: { replicas: 0 },
        });
        // Once created, nothing re-sends its 0 (a refresh, a later update); the app's patch has no such option.
        assert.deepEqual(hold.options.ignoreChanges, ["spec.replicas"]);
        assert.deepEqual(hold.options.dependencies ?? [], []);
        const app = one(r, "kubernetes:apps/v1:DeploymentPatch", `${SVC}-replicas-web`);
        assert.equal(app.options.ignoreChanges, undefined);
      }
      assert.deepEqual(
        (
          one(r, "kubernetes:apps/v1:DeploymentPatch", `${SVC}-replicas-worker`).inputs.spec as {
            replicas: number;
          }
        ).replicas,
        worker,
      );
      const ingress = one(r, "kubernetes:networking.k8s.io/v1:Ingress", `${SVC}-maintenance-public`).inputs;
      assert.deepEqual((ingress.spec as { rules: unknown[] }).rules, [
        {
          host: "staging.manage-school-placements.service.gov.uk",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: backend, port: { number: 80 } } },
              },
            ],
          },
        },
      ]);
      const branch = one(r, "github:index/branchProtection:BranchProtection", `${SVC}-freeze-branch`).inputs;
      assert.deepEqual(branch, {
        repositoryId: "itt-mentor-services",
        pattern: "main",
        enforceAdmins: approvers === 6,
        allowsDeletions: false,
        allowsForcePushes: false,
        requiredPullRequestReviews: [{ requiredApprovingReviewCount: approvers, dismissStaleReviews: true }],
      });
      assert.equal(r.outputs.requiredApprovers, approvers);
      assert.deepEqual(r.outputs.replicas, { web, worker });
    });
  }
});

describe("program under the mock runtime: servers", function () {
  this.timeout(120_000);
  it("the live server: every setting explicit, private network, Entra logins only (no login, no password)", async () => {
    const r = await declare([]);
    const live = one(r, "azure-native:dbforpostgresql:Server", `${SVC}-live-server`);
    assert.equal(live.id, LIVE_ID);
    assert.deepEqual(live.inputs, {
      serverName: "s189t01-ittms-stg-pg",
      resourceGroupName: "s189t01-ittms-stg-rg",
      location: "uksouth",
      version: "16",
      sku: { name: "Standard_B2s", tier: "Burstable" },
      storage: { storageSizeGB: 32, autoGrow: "Enabled" },
      backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" },
      // The SDK fills defaults for fields it knows (api-facts.md): the engine sees these.
      highAvailability: { mode: "Disabled", standbyAvailabilityZone: "" },
      availabilityZone: "",
      network: {
        delegatedSubnetResourceId: `${SUB}/resourceGroups/s189t01-tsc-ts-rg/providers/Microsoft.Network/virtualNetworks/s189t01-tsc-test-vnet/subnets/postgres-snet`,
        privateDnsZoneArmResourceId: `${SUB}/resourceGroups/s189t01-tsc-ts-rg/providers/Microsoft.Network/privateDnsZones/test.internal.postgres.database.azure.com`,
        publicNetworkAccess: "Disabled",
      },
      // Entra ID for the data tool's managed identity; the password stays the break-glass login.
      // tenantId "": the SDK's default (Azure uses the subscription's tenant).
      authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: "" },
      tags: { "service-dr": "live" },
    });
    assert.deepEqual(
      one(r, "azure-native:dbforpostgresql:Database", `${SVC}-live-db-itt_mentor_services_staging`).inputs,
      {
        databaseName: "itt_mentor_services_staging",
        serverName: "s189t01-ittms-stg-pg",
        resourceGroupName: "s189t01-ittms-stg-rg",
        charset: "UTF8",
        collation: "en_US.utf8",
      },
    );
    assert.deepEqual(
      one(r, "azure-native:dbforpostgresql:Configuration", `${SVC}-live-param-azure.extensions`).inputs,
      {
        configurationName: "azure.extensions",
        serverName: "s189t01-ittms-stg-pg",
        resourceGroupName: "s189t01-ittms-stg-rg",
        value: "PGCRYPTO,PLPGSQL",
        source: "user-override",
      },
    );
  });

  it("production: HA zone-redundant with its standby zone, geo-redundant backup", async () => {
    const r = await declare([], "production");
    const live = one(
      r,
      "azure-native:dbforpostgresql:Server",
      "itt-mentor-services-production-live-server",
    ).inputs;
    assert.deepEqual(
      [live.highAvailability, live.availabilityZone, live.backup, live.sku],
      [
        { mode: "ZoneRedundant", standbyAvailabilityZone: "2" },
        "1",
        { backupRetentionDays: 7, geoRedundantBackup: "Enabled" },
        { name: "Standard_D2ds_v5", tier: "GeneralPurpose" },
      ],
    );
  });

  it("the PTR copy: a separate <live>-ptr server, PointInTimeRestore from the live server's id at the UTC time", async () => {
    const r = await declare(PTR);
    const copy = one(r, "azure-native:dbforpostgresql:Server", `${SVC}-ptr-server`);
    assert.deepEqual(copy.inputs, {
      serverName: "s189t01-ittms-stg-pg-ptr",
      resourceGroupName: "s189t01-ittms-stg-rg",
      location: "uksouth",
      createMode: "PointInTimeRestore",
      sourceServerResourceId: LIVE_ID,
      pointInTimeUTC: "2026-11-24T13:05:00+00:00",
      availabilityZone: "",
      network: one(r, "azure-native:dbforpostgresql:Server", `${SVC}-live-server`).inputs.network,
      authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: "" },
      tags: { "service-dr": "ptr-copy", "service-dr-restore-point": "2026-11-24T13:05:00+00:00" },
    });
    assert.deepEqual(
      [
        r.outputs.ptrServerName,
        r.outputs.ptrServerFqdn,
        r.outputs.restoreTimeUtc,
        r.outputs.restoreTimeLocal,
      ],
      [
        "s189t01-ittms-stg-pg-ptr",
        "s189t01-ittms-stg-pg-ptr.postgres.database.azure.com",
        "2026-11-24T13:05:00+00:00",
        "2026-11-24 13:05:00 GMT (+00:00)",
      ],
    );
    // The live server is declared exactly as in normal operation: ptr mode never touches it.
    const normal = await declare([]);
    assert.deepEqual(
      one(r, "azure-native:dbforpostgresql:Server", `${SVC}-live-server`).inputs,
      one(normal, "azure-native:dbforpostgresql:Server", `${SVC}-live-server`).inputs,
    );
  });

  it("removing ptr from the config removes the PTR copy and changes nothing else", async () => {
    const withCopy = await declare([...PTR, "drPhase=validate"]);
    const without = await declare(["drMode=ptr", "incidentId=inc-1"]);
    const removed = names(withCopy).filter((n) => !names(without).includes(n));
    // The copy, and the Jobs that read it (and the hold of the app for them); the flawed-database backup stays.
    assert.deepEqual(removed.sort(), [...PTR_COPY, INSPECT, ...PTR_JOBS, ...HOLD].sort());
    assert.deepEqual(
      names(without).filter((n) => !names(withCopy).includes(n)),
      [],
    );
    // Setting drMode back to none removes it too.
    assert.ok(!names(await declare([...PTR.slice(1), "drPhase=validate"])).some((n) => PTR_COPY.includes(n)));
  });

  const rebuilds: Array<[string, readonly string[], Record<string, unknown>]> = [
    [
      "rebuild from backup: a new empty server (createMode Create)",
      ["drMode=rebuild", "incidentId=inc-1"],
      { createMode: "Create" },
    ],
    [
      "rebuild revive: ReviveDropped at the deletion time",
      ["drMode=rebuild", "incidentId=inc-1", "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
      {
        createMode: "ReviveDropped",
        sourceServerResourceId: LIVE_ID,
        pointInTimeUTC: "2026-11-24T18:30:00+00:00",
      },
    ],
  ];
  for (const [what, sets, expected] of rebuilds) {
    it(what, async () => {
      const live = one(
        await declare(sets),
        "azure-native:dbforpostgresql:Server",
        `${SVC}-live-server`,
      ).inputs;
      const normal = one(
        await declare([]),
        "azure-native:dbforpostgresql:Server",
        `${SVC}-live-server`,
      ).inputs;
      assert.deepEqual(live, { ...normal, ...expected });
    });
  }
});

describe("program under the mock runtime: rebuild by revive, every phase", function () {
  this.timeout(120_000);
  const REVIVE = [
    "drMode=rebuild",
    "incidentId=inc-1",
    "rebuild.from=revive",
    "rebuild.deletedAt=2026-11-24T18:30:00",
  ];
  const DB = `${SVC}-live-db-itt_mentor_services_staging`;
  for (const phase of ["isolate", "restore", "validate"] as const) {
    it(`${phase}: the server revived in place, its database imported (it comes back with the server), no Jobs`, async () => {
      const r = await declare([...REVIVE, `drPhase=${phase}`]);
      // No restore or compare Job: the data comes with the server.
      assert.deepEqual(names(r).sort(), [...ALWAYS, ...INCIDENT_ACCESS, TEMP_INGRESS].sort());
      const server = one(r, "azure-native:dbforpostgresql:Server", `${SVC}-live-server`);
      assert.deepEqual(
        [
          server.inputs.serverName,
          server.inputs.location,
          server.inputs.createMode,
          server.inputs.sourceServerResourceId,
          server.inputs.pointInTimeUTC,
        ],
        ["s189t01-ittms-stg-pg", "uksouth", "ReviveDropped", LIVE_ID, "2026-11-24T18:30:00+00:00"],
      );
      assert.equal(server.options.import, undefined, "the server itself is created (revived), not imported");
      const db = one(r, "azure-native:dbforpostgresql:Database", DB);
      assert.equal(db.options.import, `${LIVE_ID}/databases/itt_mentor_services_staging`);
      assert.equal(db.options.protect, true);
      // Parameters are singletons in azure-native (a PUT of the value): declared as always, never imported.
      for (const param of ["azure.extensions", "log_min_duration_statement"])
        assert.equal(
          one(r, "azure-native:dbforpostgresql:Configuration", `${SVC}-live-param-${param}`).options.import,
          undefined,
        );
      assert.deepEqual([r.outputs.liveServerName, r.outputs.recoveryJobs], ["s189t01-ittms-stg-pg", []]);
    });
  }
  it("rebuild from backup creates the databases (the new server is empty): no import", async () => {
    const r = await declare(["drMode=rebuild", "incidentId=inc-1"]);
    assert.equal(one(r, "azure-native:dbforpostgresql:Database", DB).options.import, undefined);
  });
});

describe("program under the mock runtime: rebuild by geo-restore, every phase", function () {
  this.timeout(120_000);
  const NET = DR_NETWORK;
  const GEO = geoRebuildSets("s189t01-ittms-stg-pg-geo", ["postgres.geoRedundantBackup=true"]);
  const GEO_ID = `${SUB}/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg-geo`;
  const GEO_RESOURCES = [
    `azure-native:dbforpostgresql:Server ${SVC}-live-geo-server`,
    `azure-native:dbforpostgresql:AdministratorsMicrosoftEntra ${SVC}-live-geo-entra-admin`,
    `azure-native:dbforpostgresql:AdministratorsMicrosoftEntra ${SVC}-live-geo-entra-admin-recovery`,
    `azure-native:authorization:ManagementLockByScope ${SVC}-live-geo-lock`,
    `azure-native:dbforpostgresql:Database ${SVC}-live-geo-db-itt_mentor_services_staging`,
    `azure-native:dbforpostgresql:Configuration ${SVC}-live-geo-param-azure.extensions`,
    `azure-native:dbforpostgresql:Configuration ${SVC}-live-geo-param-log_min_duration_statement`,
  ];
  for (const phase of ["isolate", "restore", "validate"] as const) {
    it(`${phase}: a new server in ukwest from the live server's geo backup, its database imported; the live server as before`, async () => {
      const r = await declare([...GEO, `drPhase=${phase}`]);
      assert.deepEqual(
        names(r).sort(),
        [...ALWAYS, ...INCIDENT_ACCESS, TEMP_INGRESS, ...GEO_RESOURCES].sort(),
      );
      // The live server is declared exactly as without the geo-restore (it still exists; it is protected).
      const normal = await declare(["postgres.geoRedundantBackup=true"]);
      const live = one(r, "azure-native:dbforpostgresql:Server", `${SVC}-live-server`);
      assert.deepEqual(
        live.inputs,
        one(normal, "azure-native:dbforpostgresql:Server", `${SVC}-live-server`).inputs,
      );
      assert.equal(
        one(r, "azure-native:dbforpostgresql:Database", `${SVC}-live-db-itt_mentor_services_staging`).options
          .import,
        undefined,
      );

      const geo = one(r, "azure-native:dbforpostgresql:Server", `${SVC}-live-geo-server`);
      assert.equal(geo.id, GEO_ID);
      assert.deepEqual(geo.inputs, {
        serverName: "s189t01-ittms-stg-pg-geo",
        resourceGroupName: "s189t01-ittms-stg-rg",
        location: "ukwest",
        version: "16",
        sku: { name: "Standard_B2s", tier: "Burstable" },
        storage: { storageSizeGB: 32, autoGrow: "Enabled" },
        backup: { backupRetentionDays: 7, geoRedundantBackup: "Enabled" },
        highAvailability: { mode: "Disabled", standbyAvailabilityZone: "" },
        availabilityZone: "",
        network: {
          delegatedSubnetResourceId: `${NET}/virtualNetworks/dr-vnet/subnets/pg`,
          privateDnsZoneArmResourceId: `${NET}/privateDnsZones/dr.postgres.database.azure.com`,
          publicNetworkAccess: "Disabled",
        },
        // tenantId "": the SDK's default (Azure uses the subscription's tenant).
        authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: "" },
        createMode: "GeoRestore",
        sourceServerResourceId: LIVE_ID,
        pointInTimeUTC: "2026-11-25T10:00:00+00:00",
        tags: { "service-dr": "live" },
      });
      // Protected like the live server; no dependency on the lost server (its id is computed, not read from it).
      assert.deepStrictEqual(geo.options, {
        protect: true,
        ignoreChanges: ["createMode", "sourceServerResourceId", "pointInTimeUTC", "administratorLogin"],
      });
      const geoDb = one(
        r,
        "azure-native:dbforpostgresql:Database",
        `${SVC}-live-geo-db-itt_mentor_services_staging`,
      );
      assert.deepEqual(geoDb.inputs, {
        databaseName: "itt_mentor_services_staging",
        serverName: "s189t01-ittms-stg-pg-geo",
        resourceGroupName: "s189t01-ittms-stg-rg",
        charset: "UTF8",
        collation: "en_US.utf8",
      });
      assert.equal(geoDb.options.import, `${GEO_ID}/databases/itt_mentor_services_staging`);
      assert.equal(geoDb.options.protect, true);
      assert.equal(
        one(r, "azure-native:dbforpostgresql:Configuration", `${SVC}-live-geo-param-azure.extensions`).inputs
          .serverName,
        "s189t01-ittms-stg-pg-geo",
      );
      // The outputs name the server that holds the data now; no data Job runs (the data came with the server).
      assert.deepEqual(
        [r.outputs.liveServerName, r.outputs.liveServerFqdn, r.outputs.geoServerName, r.outputs.recoveryJobs],
        [
          "s189t01-ittms-stg-pg-geo",
          "s189t01-ittms-stg-pg-geo.postgres.database.azure.com",
          "s189t01-ittms-stg-pg-geo",
          [],
        ],
      );
    });
  }
});

describe("program under the mock runtime: maintenance mode", function () {
  this.timeout(60_000);
  it("the temporary ingress exposes the app on its own host while maintenance is on", async () => {
    const r = await declare(PTR);
    assert.deepEqual(
      one(r, "kubernetes:networking.k8s.io/v1:Ingress", `${SVC}-maintenance-temporary`).inputs,
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: `${SVC}-temp`, namespace: "bat-staging" },
        spec: {
          ingressClassName: "nginx",
          rules: [
            {
              host: "itt-mentor-services-staging-temp.test.teacherservices.cloud",
              http: {
                paths: [
                  {
                    path: "/",
                    pathType: "Prefix",
                    backend: { service: { name: SVC, port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
          tls: [
            {
              hosts: ["itt-mentor-services-staging-temp.test.teacherservices.cloud"],
              secretName: "cert-secret",
            },
          ],
        },
      },
    );
    assert.equal(
      r.outputs.temporaryUrl,
      "https://itt-mentor-services-staging-temp.test.teacherservices.cloud",
    );
  });
  it("the page's message comes from config, HTML-escaped", async () => {
    const r = await declare(["maintenanceMessage=Back at 14:00 <GMT> & thanks"]);
    const data = one(r, "kubernetes:core/v1:ConfigMap", `${SVC}-maintenance-content`).inputs.data as Record<
      string,
      string
    >;
    assert.match(data["maintenance.html"]!, /<p>Back at 14:00 &lt;GMT&gt; &amp; thanks<\/p>/);
    assert.match(data["default.conf"]!, /location \/ \{ return 503; \}/);
  });
});

describe("program under the mock runtime: invalid config declares nothing", function () {
  this.timeout(60_000);
  it("rejects with every problem and no resource reaches the engine", async () => {
    const strings = stackStrings("staging", ["drMode=ptr", "drPhase=restore", "github.approvers.freeze=9"]);
    const mocks = new RecordingMocks();
    await assert.rejects(runProgram(strings, SECRET_KEYS, NOW, { mocks }), (err: unknown) => {
      assert.ok(isConfigError(err));
      assert.deepEqual(err.problems.map((p) => p.slice(0, p.indexOf(":"))).sort(), [
        "github.approvers.freeze",
        "incidentId",
        "ptr.restoreTime",
      ]);
      return true;
    });
    assert.deepEqual(mocks.calls, []);
  });

  it("the refusal is a pulumi.RunError whose message is the whole problem list (the CLI prints no stack trace)", async () => {
    const strings = stackStrings("staging", ["drMode=ptr", "incidentId=inc-1", "github.approvers.freeze=9"]);
    await assert.rejects(runProgram(strings, SECRET_KEYS, NOW), (err: unknown) => {
      // What the Node language host checks (cmd/run/run.js) to print the message alone.
      assert.equal(pulumi.RunError.isInstance(err), true);
      assert.ok(err instanceof pulumi.RunError);
      assert.equal(
        err.message,
        "Invalid stack configuration (1 problem); nothing was changed:\n" +
          "  - github.approvers.freeze: must be a whole number from 0 to 6; received 9",
      );
      return true;
    });
  });
});
