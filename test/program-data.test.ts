/**
 * Mock-runtime tests of the data path: backup storage, the nightly backup, and the recovery Jobs, with the
 * exact tool arguments and connections each one is given.
 */
import { strict as assert } from "node:assert";
import { runProgram } from "../offline/mocks";
import type { PlanResource, PlanResult } from "../offline/mocks";
import { NOW, stackStrings } from "./support/stacks";

const SECRET_KEYS = ["service-dr:postgresAdminPassword"];
const SVC = "itt-mentor-services-staging";
const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const LIVE = "s189t01-ittms-stg-pg.postgres.database.azure.com";
const COPY = "s189t01-ittms-stg-pg-ptr.postgres.database.azure.com";

function declare(sets: readonly string[], stack: "staging" | "production" = "staging"): Promise<PlanResult> {
  return runProgram(stackStrings(stack, sets), SECRET_KEYS, NOW);
}
function one(r: PlanResult, type: string, name: string): PlanResource {
  const found = r.resources.filter((x) => x.type === type && x.name === name);
  assert.equal(found.length, 1, `expected exactly one ${type} ${name}, found ${found.length}`);
  return found[0]!;
}
interface Container {
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
  image: string;
}
function container(r: PlanResult, jobName: string): Container {
  const j = one(r, "kubernetes:batch/v1:Job", `${SVC}-recovery-${jobName}`).inputs as {
    metadata: { name: string };
    spec: { backoffLimit: number; template: { spec: { containers: Container[] } } };
  };
  assert.equal(j.metadata.name, jobName);
  assert.equal(j.spec.backoffLimit, 0);
  return j.spec.template.spec.containers[0]!;
}
/** The connection env of a container as `{PGHOST: …}`; secret references shown as `secret:<name>/<key>`. */
function envOf(c: Container): Record<string, string> {
  return Object.fromEntries(
    c.env.map((e) => [
      e.name,
      e.value ?? `secret:${e.valueFrom?.secretKeyRef.name ?? "?"}/${e.valueFrom?.secretKeyRef.key ?? "?"}`,
    ]),
  );
}
/** An Entra connection: the managed identity's principal name is the role; the token is fetched by the tool. */
const conn = (prefix: string, host: string): Record<string, string> => ({
  [`${prefix}PGHOST`]: host,
  [`${prefix}PGPORT`]: "5432",
  [`${prefix}PGUSER`]: `${SVC}-dr-data`,
  [`${prefix}PGDATABASE`]: "itt_mentor_services_staging",
  [`${prefix}PGSSLMODE`]: "require",
});
/** How every pod authenticates: both selectors explicit, no key and no password anywhere. */
const STORAGE_ENV = {
  DR_STORAGE_AUTH: "entra",
  AZURE_STORAGE_ACCOUNT: "s189t01ittmsdbbkpsa",
  DR_PG_AUTH: "entra",
};
/** A recovery Job writes its whole output to incident/<id>/logs/<job>.log in the backup container. */
const logEnv = (job: string): Record<string, string> => ({
  DR_DATA_LOG_CONTAINER: "database-backup",
  DR_DATA_LOG_BLOB: `incident/inc-1/logs/${job}.log`,
});
const TAIL = ["--jobs", "2", "--work-dir", "/scratch"];

describe("data path under the mock runtime", function () {
  this.timeout(60_000);

  it("backup storage: private, TLS 1.2, HTTPS only, no public blobs; nightly dumps deleted after the retention", async () => {
    const r = await declare([]);
    assert.deepEqual(one(r, "azure-native:storage:StorageAccount", `${SVC}-backups-account`).inputs, {
      accountName: "s189t01ittmsdbbkpsa",
      resourceGroupName: "s189t01-ittms-stg-rg",
      location: "uksouth",
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
      allowBlobPublicAccess: false,
      minimumTlsVersion: "TLS1_2",
      enableHttpsTrafficOnly: true,
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
      tags: { "service-dr": "database-backups" },
    });
    assert.deepEqual(one(r, "azure-native:storage:BlobContainer", `${SVC}-backups-container`).inputs, {
      accountName: "s189t01ittmsdbbkpsa",
      resourceGroupName: "s189t01-ittms-stg-rg",
      containerName: "database-backup",
      publicAccess: "None",
      immutableStorageWithVersioning: { enabled: true },
    });
    assert.deepEqual(
      one(r, "azure-native:storage:BlobServiceProperties", `${SVC}-backups-blob-service`).inputs,
      {
        accountName: "s189t01ittmsdbbkpsa",
        resourceGroupName: "s189t01-ittms-stg-rg",
        blobServicesName: "default",
        isVersioningEnabled: true,
        deleteRetentionPolicy: { enabled: true, days: 7 },
        containerDeleteRetentionPolicy: { enabled: true, days: 7 },
      },
    );
    const immutability = one(
      r,
      "azure-native:storage:BlobContainerImmutabilityPolicy",
      `${SVC}-backups-immutability`,
    );
    assert.deepEqual(immutability.inputs, {
      accountName: "s189t01ittmsdbbkpsa",
      resourceGroupName: "s189t01-ittms-stg-rg",
      containerName: "database-backup",
      immutabilityPolicyName: "default",
      immutabilityPeriodSinceCreationInDays: 7,
      allowProtectedAppendWrites: false,
    });
    assert.equal(immutability.options.protect, true);
    const lock = one(r, "azure-native:authorization:ManagementLockByScope", `${SVC}-backups-lock`);
    assert.deepEqual(lock.inputs, {
      scope:
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.Storage/storageAccounts/s189t01ittmsdbbkpsa",
      lockName: "service-dr-backups-cannot-delete",
      level: "CanNotDelete",
      notes:
        "Database backups of service-dr: deleting the account deletes every backup. See docs/runbook.md before removing this lock.",
    });
    assert.equal(lock.options.protect, true);
    assert.deepEqual(
      one(r, "azure-native:storage:ManagementPolicy", `${SVC}-backups-lifecycle`).inputs.policy,
      {
        rules: [
          {
            name: "delete-nightly-backups",
            enabled: true,
            type: "Lifecycle",
            definition: {
              filters: { blobTypes: ["blockBlob"], prefixMatch: ["database-backup/nightly/"] },
              // Exactly when the 7-day immutability ends: the lifecycle never tries an immutable delete.
              actions: {
                baseBlob: { delete: { daysAfterModificationGreaterThan: 7 } },
                version: { delete: { daysAfterCreationGreaterThan: 7 } },
              },
            },
          },
        ],
      },
    );
  });

  it("production keeps its backups geo-redundant", async () => {
    const r = await declare([], "production");
    const account = one(
      r,
      "azure-native:storage:StorageAccount",
      "itt-mentor-services-production-backups-account",
    );
    assert.deepEqual(account.inputs.sku, { name: "Standard_GRS" });
  });

  it("no standing secret: no Kubernetes Secret at all; break-glass postgresAuth=password declares only the password Secret", async () => {
    const r = await declare([]);
    assert.deepEqual(
      r.resources.filter((x) => x.type === "kubernetes:core/v1:Secret").map((x) => x.name),
      [],
    );
    const breakGlass = await declare(["workloadIdentity.postgresAuth=password"]);
    assert.deepEqual(
      breakGlass.resources.filter((x) => x.type === "kubernetes:core/v1:Secret").map((x) => x.name),
      [`${SVC}-dr-access-database`],
    );
    assert.deepEqual(one(breakGlass, "kubernetes:core/v1:Secret", `${SVC}-dr-access-database`).inputs, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `${SVC}-dr-db-credentials`, namespace: "bat-staging" },
      type: "Opaque",
      stringData: "[secret]",
    });
  });

  it("nightly backup: a CronJob in the stack's zone, no overlapping runs, the live database into nightly/<server>", async () => {
    const r = await declare([]);
    const cron = one(r, "kubernetes:batch/v1:CronJob", `${SVC}-nightly-cronjob`).inputs as {
      spec: Record<string, unknown> & {
        jobTemplate: { spec: { template: { spec: { containers: Container[] } } } };
      };
    };
    const { jobTemplate, ...schedule } = cron.spec;
    assert.deepEqual(schedule, {
      schedule: "0 2 * * *",
      timeZone: "Europe/London",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 3600,
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
    });
    const c = jobTemplate.spec.template.spec.containers[0]!;
    assert.equal(c.image, "ghcr.io/dfe-digital/service-dr-data:1.0.0");
    assert.deepEqual(c.args, [
      "backup",
      "--container",
      "database-backup",
      "--prefix",
      "nightly/s189t01-ittms-stg-pg",
      "--source-server",
      "s189t01-ittms-stg-pg",
      ...TAIL,
    ]);
    assert.deepEqual(envOf(c), { ...conn("", LIVE), ...STORAGE_ENV });
  });

  for (const [state, sets] of [
    ["ptr", PTR],
    ["rebuild", ["drMode=rebuild", "incidentId=inc-1"]],
  ] as const) {
    it(`the nightly schedule is suspended in ${state} mode (a flawed or empty dump must never become latest)`, async () => {
      const r = await declare(sets);
      const spec = one(r, "kubernetes:batch/v1:CronJob", `${SVC}-nightly-cronjob`).inputs.spec as {
        suspend: boolean;
      };
      assert.equal(spec.suspend, true);
      assert.equal(r.outputs.nightlyBackupSuspended, true);
    });
  }

  it("ptr isolate: the flawed live database is dumped to the incident's prefix", async () => {
    const r = await declare(["drMode=ptr", "incidentId=inc-1"]);
    const c = container(r, "dr-inc-1-backup-flawed");
    assert.deepEqual(c.args, [
      "backup",
      "--container",
      "database-backup",
      "--prefix",
      "incident/inc-1/flawed/s189t01-ittms-stg-pg",
      "--source-server",
      "s189t01-ittms-stg-pg",
      ...TAIL,
    ]);
    assert.deepEqual(envOf(c), { ...conn("", LIVE), ...logEnv("dr-inc-1-backup-flawed"), ...STORAGE_ENV });
    assert.deepEqual(r.outputs.recoveryJobs, ["dr-inc-1-backup-flawed"]);
  });

  it("ptr restore: back up the PTR copy, restore it into the live server, compare live with the copy", async () => {
    const r = await declare([...PTR, "drPhase=restore"]);
    const prefix = "incident/inc-1/ptr/s189t01-ittms-stg-pg-ptr/20261124T130500Z";
    const backup = container(r, "dr-inc-1-backup-ptr-20261124t130500z");
    assert.deepEqual(backup.args, [
      "backup",
      "--container",
      "database-backup",
      "--prefix",
      prefix,
      "--source-server",
      "s189t01-ittms-stg-pg-ptr",
      ...TAIL,
    ]);
    assert.deepEqual(envOf(backup), {
      ...conn("", COPY),
      ...logEnv("dr-inc-1-backup-ptr-20261124t130500z"),
      ...STORAGE_ENV,
    });
    const restore = container(r, "dr-inc-1-restore-20261124t130500z");
    assert.deepEqual(restore.args, [
      "restore",
      "--container",
      "database-backup",
      "--prefix",
      prefix,
      "--blob",
      "latest",
      "--run-id",
      "pitr-20261124t130500z",
      ...TAIL,
    ]);
    assert.deepEqual(envOf(restore), {
      ...conn("", LIVE),
      ...logEnv("dr-inc-1-restore-20261124t130500z"),
      ...STORAGE_ENV,
    });
    const compare = container(r, "dr-inc-1-compare-20261124t130500z");
    assert.deepEqual(compare.args, ["compare"]);
    assert.deepEqual(envOf(compare), {
      ...conn("LEFT_", LIVE),
      ...conn("RIGHT_", COPY),
      ...logEnv("dr-inc-1-compare-20261124t130500z"),
      ...STORAGE_ENV,
    });
    assert.deepEqual(r.outputs.recoveryJobs, [
      "dr-inc-1-backup-flawed",
      "dr-inc-1-backup-ptr-20261124t130500z",
      "dr-inc-1-restore-20261124t130500z",
      "dr-inc-1-compare-20261124t130500z",
    ]);
  });

  it("a new restore time is a new set of Jobs (and a new run id); the flawed backup is not repeated", async () => {
    const r = await declare([
      "drMode=ptr",
      "incidentId=inc-1",
      "ptr.restoreTime=2026-11-24T12:00:00",
      "drPhase=restore",
    ]);
    assert.deepEqual(r.outputs.recoveryJobs, [
      "dr-inc-1-backup-flawed",
      "dr-inc-1-backup-ptr-20261124t120000z",
      "dr-inc-1-restore-20261124t120000z",
      "dr-inc-1-compare-20261124t120000z",
    ]);
    assert.ok(container(r, "dr-inc-1-restore-20261124t120000z").args.includes("pitr-20261124t120000z"));
  });

  it("rebuild restore: the newest nightly dump (or a named one) into the rebuilt server", async () => {
    const base = ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"];
    const latest = container(await declare(base), "dr-inc-1-restore");
    assert.deepEqual(latest.args, [
      "restore",
      "--container",
      "database-backup",
      "--prefix",
      "nightly/s189t01-ittms-stg-pg",
      "--blob",
      "latest",
      "--run-id",
      "rebuild-inc-1",
      ...TAIL,
    ]);
    assert.deepEqual(envOf(latest), { ...conn("", LIVE), ...logEnv("dr-inc-1-restore"), ...STORAGE_ENV });
    // The lost server leaves nothing to compare with: the rebuilt database is checked against the manifest of
    // the backup that restore run restored (its record names the blob).
    const compare = container(await declare(base), "dr-inc-1-compare");
    assert.deepEqual(compare.args, [
      "compare",
      "--run-id",
      "rebuild-inc-1",
      "--container",
      "database-backup",
      "--jobs",
      "2",
    ]);
    assert.deepEqual(envOf(compare), { ...conn("", LIVE), ...logEnv("dr-inc-1-compare"), ...STORAGE_ENV });
    assert.deepEqual((await declare(base)).outputs.recoveryJobs, ["dr-inc-1-restore", "dr-inc-1-compare"]);
    const named = container(
      await declare([
        ...base,
        "rebuild.backupBlob=nightly/s189t01-ittms-stg-pg/itt_mentor_services_staging_20261124T020000Z",
      ]),
      "dr-inc-1-restore",
    );
    assert.equal(
      named.args[named.args.indexOf("--blob") + 1],
      "nightly/s189t01-ittms-stg-pg/itt_mentor_services_staging_20261124T020000Z",
    );
  });
});
