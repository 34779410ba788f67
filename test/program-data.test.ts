/**
 * Mock-runtime tests of the data path: backup storage, the nightly backup, and the recovery Jobs, with the
 * exact tool arguments and connections each one is given.
 */
import { strict as assert } from "node:assert";
import type { PlanResource, PlanResult } from "../dev/offline/mocks";
import { committedImage, declareStack } from "./support/stacks";
import { ALL_STATES } from "./support/dr-states";
import { tableSetTag } from "@service-dr/dr-data";
import { readStackOutputs } from "../stack/outputs";

const SVC = "itt-mentor-services-staging";
const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const LIVE = "s189t01-ittms-stg-pg.postgres.database.azure.com";
const COPY = "s189t01-ittms-stg-pg-ptr.postgres.database.azure.com";

function declare(sets: readonly string[], stack: "staging" | "production" = "staging"): Promise<PlanResult> {
  return declareStack(stack, sets);
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
/**
 * An Entra connection: the managed identity's principal name is the role; the token is fetched by the tool.
 * The recovery identity's unless said (every Job and the troubleshooting pod); the nightly backup's is the
 * nightly identity.
 */
const conn = (prefix: string, host: string, user = `${SVC}-dr-recovery`): Record<string, string> => ({
  [`${prefix}PGHOST`]: host,
  [`${prefix}PGPORT`]: "5432",
  [`${prefix}PGUSER`]: user,
  [`${prefix}PGDATABASE`]: "itt_mentor_services_staging",
  // The server's certificate verified (chain and host name), never just "require".
  [`${prefix}PGSSLMODE`]: "verify-full",
});
/** How every pod authenticates: both selectors explicit, no key and no password anywhere. */
const STORAGE_ENV = {
  DR_STORAGE_AUTH: "entra",
  AZURE_STORAGE_ACCOUNT: "s189t01ittmsdbbkpsa",
  DR_PG_AUTH: "entra",
  // The image's system roots: libpq's sslrootcert=system, Node's extra CAs for the pg driver.
  PGSSLROOTCERT: "system",
  NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
};
/**
 * A recovery Job writes its whole output to incident/<id>/logs/<job>.log in the backup container, and its
 * completion record to incident/<id>/done/<job>.json (a Job created again under its name does nothing).
 */
const logEnv = (job: string): Record<string, string> => ({
  DR_DATA_LOG_CONTAINER: "database-backup",
  DR_DATA_LOG_BLOB: `incident/inc-1/logs/${job}.log`,
  DR_DATA_DONE_BLOB: `incident/inc-1/done/${job}.json`,
});
const TAIL = ["--jobs", "2", "--work-dir", "/scratch"];

describe("data path under the mock runtime", function () {
  this.timeout(60_000);

  it("namespaces: the data pods, their ServiceAccounts and NetworkPolicy in the data namespace; the app's objects in the app's", async () => {
    const DATA_KINDS = new Set(["CronJob", "Job", "Pod", "ServiceAccount", "NetworkPolicy"]);
    const rows: Array<[readonly string[], string]> = [
      [[...PTR, "drPhase=restore"], "bat-staging-dr"],
      [[...PTR, "drPhase=restore", "kubernetes.dataNamespace=bat-dr-data"], "bat-dr-data"],
    ];
    for (const [sets, dataNamespace] of rows) {
      const r = await declare(sets);
      const placed = r.resources
        .filter((x) => x.type.startsWith("kubernetes:"))
        .map((x) => {
          const kind = x.type.split(":")[2] ?? "";
          const ns = (x.inputs as { metadata?: { namespace?: string } }).metadata?.namespace;
          return [kind, ns] as const;
        });
      const kinds = (ns: string): string[] =>
        [...new Set(placed.filter((p) => p[1] === ns).map((p) => p[0]))].sort();
      assert.deepEqual(
        kinds(dataNamespace),
        ["CronJob", "Job", "NetworkPolicy", "Pod", "ServiceAccount"],
        sets.join(" "),
      );
      // Everything else stays where the app is: nothing of the data path there.
      assert.ok(kinds("bat-staging").length > 0);
      assert.deepEqual(
        kinds("bat-staging").filter((k) => DATA_KINDS.has(k)),
        [],
        sets.join(" "),
      );
      assert.deepEqual(
        placed.filter((p) => p[1] !== dataNamespace && p[1] !== "bat-staging"),
        [],
        "no third namespace",
      );
    }
  });

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
      // Account-level: the one policy whose state a PUT sets; staging's stays unlocked.
      immutableStorageWithVersioning: {
        enabled: true,
        immutabilityPolicy: {
          immutabilityPeriodSinceCreationInDays: 7,
          state: "Unlocked",
          allowProtectedAppendWrites: false,
        },
      },
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
    // No container-level policy: it would take precedence over the account's.
    assert.deepEqual(
      r.resources.filter((x) => x.type === "azure-native:storage:BlobContainerImmutabilityPolicy"),
      [],
    );
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

  it("production locks its immutability policy; backup.immutability takes locked or unlocked only", async () => {
    const state = (r: PlanResult, svc: string): unknown =>
      (
        one(r, "azure-native:storage:StorageAccount", `${svc}-backups-account`).inputs
          .immutableStorageWithVersioning as { immutabilityPolicy: { state: string } }
      ).immutabilityPolicy.state;
    assert.equal(state(await declare([], "production"), "itt-mentor-services-production"), "Locked");
    assert.equal(state(await declare(["backup.immutability=locked"]), SVC), "Locked");
    await assert.rejects(declare(["backup.immutability=Disabled"]), (e: Error) => {
      assert.match(e.message, /backup\.immutability: must be one of: locked, unlocked; received "Disabled"/);
      return true;
    });
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

  it("network: the data pods may reach only DNS, the servers, the storage and Entra (HTTPS to public addresses); nothing reaches them", async () => {
    const r = await declare([]);
    const np = one(r, "kubernetes:networking.k8s.io/v1:NetworkPolicy", `${SVC}-dr-network-policy`);
    assert.deepEqual(np.inputs, {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: {
        name: `${SVC}-dr-data-egress`,
        namespace: "bat-staging-dr",
        labels: { "app.kubernetes.io/part-of": "service-dr" },
      },
      spec: {
        podSelector: {
          matchLabels: { "app.kubernetes.io/part-of": "service-dr", "azure.workload.identity/use": "true" },
        },
        policyTypes: ["Ingress", "Egress"],
        ingress: [],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
          { to: [{ ipBlock: { cidr: "10.0.8.0/28" } }], ports: [{ protocol: "TCP", port: 5432 }] },
          { to: [{ ipBlock: { cidr: "10.0.9.4/32" } }], ports: [{ protocol: "TCP", port: 443 }] },
          {
            to: [
              { ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] } },
            ],
            ports: [{ protocol: "TCP", port: 443 }],
          },
        ],
      },
    });
    // Every data tool pod template carries the selected labels (the policy applies to each of them).
    for (const [, sets] of ALL_STATES) {
      const s = await declare(sets);
      for (const x of s.resources.filter((y) =>
        ["kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod"].includes(y.type),
      )) {
        const text = JSON.stringify(x.inputs);
        assert.ok(
          text.includes('"app.kubernetes.io/part-of":"service-dr"') &&
            text.includes('"azure.workload.identity/use":"true"'),
          x.name,
        );
      }
    }
  });

  it("network: dataEgress must list the servers' subnet as CIDRs, each problem named", async () => {
    await assert.rejects(
      declare([
        "kubernetes.dataEgress.postgresCidrs[0]=10.0.8.0",
        "kubernetes.dataEgress.storageCidrs[0]=any",
      ]),
      (e: Error & { problems?: readonly string[] }) => {
        assert.deepStrictEqual(e.problems, [
          'kubernetes.dataEgress.postgresCidrs[0]: must be IPv4 CIDRs such as 10.1.2.0/28; received "10.0.8.0"',
          'kubernetes.dataEgress.storageCidrs[0]: must be IPv4 CIDRs such as 10.1.2.0/28; received "any"',
        ]);
        return true;
      },
    );
  });

  it("no standing secret: no Kubernetes Secret at all, in any state", async () => {
    for (const [, sets] of ALL_STATES) {
      const r = await declare(sets);
      assert.deepEqual(
        r.resources.filter((x) => x.type === "kubernetes:core/v1:Secret").map((x) => x.name),
        [],
      );
    }
  });

  it("nightly backup: a CronJob in the stack's zone, no overlapping runs, the live database into nightly/<server>, verified", async () => {
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
    assert.equal(c.image, committedImage("staging"));
    assert.deepEqual(c.args, [
      "backup",
      "--container",
      "database-backup",
      "--prefix",
      "nightly/s189t01-ittms-stg-pg",
      "--source-server",
      "s189t01-ittms-stg-pg",
      ...TAIL,
      "--verify",
    ]);
    assert.deepEqual(envOf(c), { ...conn("", LIVE, `${SVC}-dr-data`), ...STORAGE_ENV });
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

  it("ptr restore: one Job dumps the PTR copy as evidence, restores it into live, compares live with the copy", async () => {
    const r = await declare([...PTR, "drPhase=restore"]);
    const prefix = "incident/inc-1/ptr/s189t01-ittms-stg-pg-ptr/20261124T130500Z";
    const restore = container(r, "dr-inc-1-restore-20261124t130500z-flow");
    assert.deepEqual(restore.args, [
      "restore",
      "--from-copy",
      "--container",
      "database-backup",
      "--prefix",
      prefix,
      "--source-server",
      "s189t01-ittms-stg-pg-ptr",
      "--run-id",
      "pitr-20261124t130500z",
      ...TAIL,
    ]);
    // The target as every restore reads it (PG*), the copy it dumps and compares with (PTR_PG*).
    assert.deepEqual(envOf(restore), {
      ...conn("", LIVE),
      ...conn("PTR_", COPY),
      ...logEnv("dr-inc-1-restore-20261124t130500z-flow"),
      ...STORAGE_ENV,
    });
    // No separate backup of the copy or compare: both are steps of the restore Job.
    for (const gone of ["backup-ptr", "compare"]) {
      assert.equal(
        r.resources.filter((x) => x.name === `${SVC}-recovery-dr-inc-1-${gone}-20261124t130500z`).length,
        0,
        gone,
      );
    }
    assert.deepEqual(r.outputs.recoveryJobs, [
      "dr-inc-1-backup-flawed",
      "dr-inc-1-inspect-20261124t130500z",
      "dr-inc-1-reconcile-20261124t130500z",
      "dr-inc-1-restore-20261124t130500z-flow",
    ]);
  });

  it("every recovery Job and its pods carry their runbook step as the service-dr/step label", async () => {
    const r = await declare([...PTR, "drPhase=restore"]);
    const T = "20261124t130500z";
    const steps = [
      ["dr-inc-1-backup-flawed", "backup-flawed"],
      [`dr-inc-1-inspect-${T}`, "inspect"],
      [`dr-inc-1-reconcile-${T}`, "reconcile"],
      [`dr-inc-1-restore-${T}-flow`, "restore"],
    ] as const;
    for (const [name, step] of steps) {
      const job = one(r, "kubernetes:batch/v1:Job", `${SVC}-recovery-${name}`).inputs as {
        metadata: unknown;
        spec: { template: { metadata: unknown } };
      };
      assert.deepStrictEqual(job.metadata, {
        name,
        namespace: "bat-staging-dr",
        labels: { "app.kubernetes.io/part-of": "service-dr", "service-dr/step": step },
      });
      assert.deepStrictEqual(job.spec.template.metadata, {
        labels: {
          "app.kubernetes.io/part-of": "service-dr",
          "service-dr/step": step,
          "azure.workload.identity/use": "true",
        },
      });
    }
    const cron = one(r, "kubernetes:batch/v1:CronJob", `${SVC}-nightly-cronjob`).inputs as {
      spec: { jobTemplate: { spec: { template: { metadata: unknown } } } };
    };
    assert.deepStrictEqual(cron.spec.jobTemplate.spec.template.metadata, {
      labels: {
        "app.kubernetes.io/part-of": "service-dr",
        "service-dr/step": "nightly-backup",
        "azure.workload.identity/use": "true",
      },
    });
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
      "dr-inc-1-inspect-20261124t120000z",
      "dr-inc-1-reconcile-20261124t120000z",
      "dr-inc-1-restore-20261124t120000z-flow",
    ]);
    assert.ok(container(r, "dr-inc-1-restore-20261124t120000z-flow").args.includes("pitr-20261124t120000z"));
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

describe("look before you restore: inspect, reconcile, table-level restore, troubleshooting pod", function () {
  this.timeout(60_000);
  const T = "20261124t130500z";
  const prefix = "incident/inc-1/ptr/s189t01-ittms-stg-pg-ptr/20261124T130500Z";
  const both = { ...conn("PTR_", COPY), ...conn("LIVE_", LIVE) };
  const TABLES = ["ptr.tables[0]=app.events", "ptr.tables[1]=app.accounts"];
  const TAG = tableSetTag(["app.events", "app.accounts"]);

  it("ptr isolate with the copy: the inspect Job reads both servers and writes the incident's report", async () => {
    const r = await declare(PTR);
    const c = container(r, `dr-inc-1-inspect-${T}`);
    assert.deepEqual(c.args, [
      "inspect",
      "--container",
      "database-backup",
      "--incident",
      "inc-1",
      "--restore-time",
      "2026-11-24T13:05:00+00:00",
      "--jobs",
      "2",
    ]);
    assert.deepEqual(envOf(c), { ...both, ...logEnv(`dr-inc-1-inspect-${T}`), ...STORAGE_ENV });
    assert.deepEqual(r.outputs.recoveryJobs, ["dr-inc-1-backup-flawed", `dr-inc-1-inspect-${T}`]);
    assert.equal(
      r.outputs.inspectReport,
      "az storage blob download --auth-mode login --account-name s189t01ittmsdbbkpsa --container-name database-backup " +
        "--name incident/inc-1/inspect/report.md --file inspect-report.md",
    );
  });

  it("ptr isolate without a restore time: no inspection, no pod, no report command", async () => {
    const r = await declare(["drMode=ptr", "incidentId=inc-1"]);
    assert.deepEqual(r.outputs.recoveryJobs, ["dr-inc-1-backup-flawed"]);
    assert.deepEqual(
      [r.outputs.inspectReport, r.outputs.troubleshootPod, r.outputs.psqlPtr, r.outputs.psqlLive],
      [null, null, null, null],
    );
    assert.equal(r.resources.filter((x) => x.type === "kubernetes:core/v1:Pod").length, 0);
  });

  it("ptr restore: reconcile exports what live holds since, before the full restore", async () => {
    const r = await declare([...PTR, "drPhase=restore"]);
    const c = container(r, `dr-inc-1-reconcile-${T}`);
    assert.deepEqual(c.args, [
      "reconcile",
      "--container",
      "database-backup",
      "--incident",
      "inc-1",
      "--restore-time",
      "2026-11-24T13:05:00+00:00",
      "--jobs",
      "2",
    ]);
    assert.deepEqual(envOf(c), { ...both, ...logEnv(`dr-inc-1-reconcile-${T}`), ...STORAGE_ENV });
  });

  it("ptr.tables: the table-level restore and compare --tables replace the full ones, named by the set", async () => {
    const r = await declare([...PTR, ...TABLES, "drPhase=restore"]);
    const id = `pitr-${T}-${TAG}`;
    const restore = container(r, `dr-inc-1-restore-${T}-${TAG}`);
    assert.deepEqual(restore.args, [
      "restore",
      "--tables",
      "app.events,app.accounts",
      "--container",
      "database-backup",
      "--prefix",
      prefix,
      "--blob",
      "latest",
      "--source-database",
      "itt_mentor_services_staging",
      "--database",
      "itt_mentor_services_staging",
      "--run-id",
      id,
      "--work-dir",
      "/scratch",
    ]);
    assert.deepEqual(envOf(restore), {
      ...conn("", LIVE),
      ...logEnv(`dr-inc-1-restore-${T}-${TAG}`),
      ...STORAGE_ENV,
    });
    const compare = container(r, `dr-inc-1-compare-${T}-${TAG}`);
    assert.deepEqual(compare.args, ["compare", "--tables", "app.events,app.accounts", "--run-id", id]);
    assert.deepEqual(envOf(compare), {
      ...conn("LEFT_", LIVE),
      ...conn("RIGHT_", COPY),
      ...logEnv(`dr-inc-1-compare-${T}-${TAG}`),
      ...STORAGE_ENV,
    });
    assert.deepEqual(r.outputs.recoveryJobs, [
      "dr-inc-1-backup-flawed",
      `dr-inc-1-inspect-${T}`,
      `dr-inc-1-backup-ptr-${T}`,
      `dr-inc-1-reconcile-${T}`,
      `dr-inc-1-restore-${T}-${TAG}`,
      `dr-inc-1-compare-${T}-${TAG}`,
    ]);
  });

  it("another table set is another restore Job and run id; inspect and reconcile stay the same Jobs", async () => {
    const a = await declare([...PTR, ...TABLES, "drPhase=restore"]);
    const reordered = await declare([
      ...PTR,
      "ptr.tables[0]=app.accounts",
      "ptr.tables[1]=app.events",
      "drPhase=restore",
    ]);
    const other = await declare([...PTR, "ptr.tables[0]=app.events", "drPhase=restore"]);
    const jobsOf = (r: PlanResult): readonly string[] => readStackOutputs(r.outputs).recoveryJobs;
    assert.deepEqual(jobsOf(reordered), jobsOf(a), "the same set in another order is the same run");
    const tag = tableSetTag(["app.events"]);
    assert.notEqual(tag, TAG);
    assert.deepEqual(jobsOf(other), [
      ...jobsOf(a).slice(0, 4),
      `dr-inc-1-restore-${T}-${tag}`,
      `dr-inc-1-compare-${T}-${tag}`,
    ]);
  });

  for (const [auth, sets, password] of [["Entra (no password anywhere)", [], {}]] as const) {
    it(`the troubleshooting pod, ${auth}: sleeps with both connections, hardened, no Service`, async () => {
      const r = await declare([...PTR, ...sets]);
      const p = one(r, "kubernetes:core/v1:Pod", `${SVC}-troubleshoot-pod`).inputs as {
        metadata: { name: string; namespace: string; labels: Record<string, string> };
        spec: Record<string, unknown> & { containers: Array<Container & Record<string, unknown>> };
      };
      assert.deepEqual(p.metadata, {
        name: "dr-inc-1-psql",
        namespace: "bat-staging-dr",
        labels: {
          "app.kubernetes.io/part-of": "service-dr",
          "service-dr/step": "troubleshoot",
          "azure.workload.identity/use": "true",
        },
      });
      const c = p.spec.containers[0]!;
      const user = `${SVC}-dr-recovery`;
      const side = (prefix: string, host: string) => ({ ...conn(prefix, host), [`${prefix}PGUSER`]: user });
      assert.deepEqual(envOf(c), {
        ...side("PTR_", COPY),
        ...side("LIVE_", LIVE),
        ...password,
        ...STORAGE_ENV,
        DR_PG_AUTH: "entra",
      });
      assert.deepEqual([c.command, c.args, c.image], [["sleep", "infinity"], [], committedImage("staging")]);
      assert.deepEqual(c.securityContext, {
        runAsNonRoot: true,
        runAsUser: 999,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      assert.deepEqual(c.resources, {
        requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "2Gi" },
        limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "2Gi" },
      });
      assert.deepEqual(
        [p.spec.restartPolicy, p.spec.serviceAccountName, p.spec.automountServiceAccountToken],
        ["Always", `${SVC}-dr-recovery`, false],
      );
      assert.equal(
        r.resources.filter((x) => x.type === "kubernetes:core/v1:Service" && x.name.includes("troubleshoot"))
          .length,
        0,
      );
      assert.deepEqual(
        [r.outputs.troubleshootPod, r.outputs.psqlPtr, r.outputs.psqlLive],
        [
          "dr-inc-1-psql",
          "kubectl -n bat-staging-dr exec -it dr-inc-1-psql -- psql-ptr",
          "kubectl -n bat-staging-dr exec -it dr-inc-1-psql -- psql-live",
        ],
      );
    });
  }

  it("the pod goes with the PTR copy: none in rebuild mode or after ptr is removed", async () => {
    for (const sets of [
      ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"],
      ["drMode=ptr", "incidentId=inc-1"],
    ]) {
      const r = await declare(sets);
      assert.deepEqual(
        r.resources
          .filter(
            (x) => x.type === "kubernetes:core/v1:Pod" || x.type === "azure-native:dbforpostgresql:Server",
          )
          .map((x) => x.name),
        [`${SVC}-live-server`],
      );
    }
  });

  it("rebuild restore: no inspect or reconcile (no PTR copy to diff against)", async () => {
    const r = await declare(["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"]);
    assert.deepEqual(r.outputs.recoveryJobs, ["dr-inc-1-restore", "dr-inc-1-compare"]);
  });
});

/**
 * The Jobs' scratch is a generic ephemeral volume (a claim from a storage class, not the
 * node's disk) and their timeouts follow the database's size at the measured restore rate (sizing.ts).
 */
describe("scratch volume and timeouts from the database size (mock runtime)", function () {
  this.timeout(60_000);

  interface PodSpec {
    containers: Array<{ resources: unknown; volumeMounts: unknown }>;
    volumes: unknown[];
  }
  const jobOf = (r: PlanResult, name: string) =>
    one(r, "kubernetes:batch/v1:Job", `${SVC}-recovery-${name}`).inputs as {
      spec: { activeDeadlineSeconds: number; template: { spec: PodSpec } };
    };
  const cronOf = (r: PlanResult) =>
    one(r, "kubernetes:batch/v1:CronJob", `${SVC}-nightly-cronjob`).inputs as {
      spec: { jobTemplate: { spec: { activeDeadlineSeconds: number; template: { spec: PodSpec } } } };
    };
  const claim = (storageClass: string, size: string) => ({
    name: "scratch",
    ephemeral: {
      volumeClaimTemplate: {
        metadata: { labels: { "app.kubernetes.io/part-of": "service-dr" } },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: storageClass,
          resources: { requests: { storage: size } },
        },
      },
    },
  });
  const TMP = { name: "tmp", emptyDir: { sizeLimit: "1Gi" } };
  const MOUNTS = [
    { name: "scratch", mountPath: "/scratch" },
    { name: "tmp", mountPath: "/tmp" },
  ];
  /** No ephemeral-storage: the claim is a disk of its own, and /tmp's 1Gi emptyDir has its own limit. */
  const RESOURCES = { requests: { cpu: "2", memory: "1Gi" }, limits: { cpu: "3", memory: "4Gi" } };
  const assertPod = (spec: PodSpec, volume: unknown) => {
    assert.deepStrictEqual(spec.volumes, [volume, TMP]);
    assert.deepStrictEqual(spec.containers[0]!.volumeMounts, MOUNTS);
    assert.deepStrictEqual(spec.containers[0]!.resources, RESOURCES);
  };

  for (const [what, sets, volume, minutes] of [
    [
      // postgres.storageSizeGb 32: 1.5 × 32 + 5 = 53Gi; 10 min + 3 × 1.8 × 32 GiB at 23 MiB/s = 138.2 → 140 min
      // (LONGEST_JOB_WORK 1.8: the whole PTR restore).
      "default: sized from the server's storage (32 GB on staging), Standard SSD",
      [],
      claim("managed-csi", "53Gi"),
      140,
    ],
    [
      // 1.5 × 500 + 5 = 755Gi; 10 min + 3 × 1.8 × 500 GiB at 23 MiB/s = 2013.5 → 2020 min.
      "dataTool.databaseSizeGiB=500: scratch and timeout derived from it",
      ["postgres.storageSizeGb=1024", "dataTool.databaseSizeGiB=500"],
      claim("managed-csi", "755Gi"),
      2020,
    ],
    [
      "explicit scratch class and size, and an explicit timeout, win over the derived ones",
      [
        "dataTool.databaseSizeGiB=500",
        "postgres.storageSizeGb=1024",
        "dataTool.scratch.storageClass=managed-csi-premium",
        "dataTool.scratch.size=200Gi",
        "dataTool.timeoutMinutes=600",
      ],
      claim("managed-csi-premium", "200Gi"),
      600,
    ],
  ] as const) {
    it(`${what}: every Job and the nightly CronJob`, async () => {
      const r = await declare([...PTR, "drPhase=restore", ...sets]);
      const jobs = [
        "dr-inc-1-backup-flawed",
        "dr-inc-1-inspect-20261124t130500z",
        "dr-inc-1-reconcile-20261124t130500z",
        "dr-inc-1-restore-20261124t130500z-flow",
      ];
      for (const name of jobs) {
        const j = jobOf(r, name);
        assert.equal(j.spec.activeDeadlineSeconds, minutes * 60, name);
        assertPod(j.spec.template.spec, volume);
        assert.deepStrictEqual(
          r.resources.find((x) => x.name === `${SVC}-recovery-${name}`)!.options.customTimeouts,
          { create: `${minutes}m`, update: `${minutes}m` },
        );
      }
      const cron = cronOf(r).spec.jobTemplate.spec;
      assert.equal(cron.activeDeadlineSeconds, minutes * 60);
      assertPod(cron.template.spec, volume);
    });
  }

  it("production's default: its 128 GB storage gives 197Gi of scratch and 530 minutes", async () => {
    // 1.5 × 128 + 5 = 197Gi; 10 min + 3 × 1.8 × 128 GiB at 23 MiB/s = 522.9 → 530 min.
    const r = await declare([], "production");
    const cron = (
      one(r, "kubernetes:batch/v1:CronJob", "itt-mentor-services-production-nightly-cronjob").inputs as {
        spec: { jobTemplate: { spec: { activeDeadlineSeconds: number; template: { spec: PodSpec } } } };
      }
    ).spec.jobTemplate.spec;
    assert.equal(cron.activeDeadlineSeconds, 530 * 60);
    assert.deepStrictEqual(cron.template.spec.volumes, [claim("managed-csi", "197Gi"), TMP]);
  });

  it("the troubleshooting pod keeps a small emptyDir scratch, counted as ephemeral storage", async () => {
    const r = await declare(PTR);
    const pod = one(r, "kubernetes:core/v1:Pod", `${SVC}-troubleshoot-pod`).inputs as { spec: PodSpec };
    assert.deepStrictEqual(pod.spec.volumes, [{ name: "scratch", emptyDir: { sizeLimit: "2Gi" } }, TMP]);
    assert.deepStrictEqual(pod.spec.containers[0]!.volumeMounts, MOUNTS);
  });
});
