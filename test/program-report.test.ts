/**
 * The report Job at the incident's close under the mock runtime: the exact Job the program declares (the
 * tool's argv, its environment — the blob store and its evidence blobs, no server — its namespace, identity,
 * small pod, and what it waits for), and the next step that says where the report is.
 */
import { strict as assert } from "node:assert";
import type { PlanResource, PlanResult } from "../dev/offline/mocks";
import { declareStack } from "./support/stacks";

const SVC = "itt-mentor-services-staging";
const T = "20261124t130500z";
const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const CLOSING = ["drPhase=validate", "maintenance=false", "freeze=false"];

function reportJob(r: PlanResult): PlanResource {
  const found = r.resources.filter((x) => x.type === "kubernetes:batch/v1:Job" && x.name.endsWith("-report"));
  assert.equal(found.length, 1, `expected exactly one report Job, found ${found.length}`);
  return found[0]!;
}

interface JobInputs {
  metadata: unknown;
  spec: {
    backoffLimit: number;
    template: {
      spec: {
        serviceAccountName: string;
        containers: Array<{ args: string[]; env: unknown; resources: unknown }>;
        volumes: unknown;
      };
    };
  };
}

describe("the report Job at close (mock runtime)", function () {
  this.timeout(120_000);

  it("ptr closing: incident-report in the zone at the restore point, the recovery identity, blob store only, last", async () => {
    const r = await declareStack("staging", [...PTR, ...CLOSING]);
    const job = reportJob(r);
    assert.equal(job.name, `${SVC}-recovery-dr-inc-1-report`);
    const inputs = job.inputs as unknown as JobInputs;
    assert.deepStrictEqual(inputs.metadata, {
      name: "dr-inc-1-report",
      namespace: "bat-staging-dr",
      labels: { "app.kubernetes.io/part-of": "service-dr", "service-dr/step": "report" },
    });
    assert.equal(inputs.spec.backoffLimit, 0);
    const pod = inputs.spec.template.spec;
    assert.equal(pod.serviceAccountName, `${SVC}-dr-recovery`);
    const c = pod.containers[0]!;
    assert.deepStrictEqual(c.args, [
      "incident-report",
      "--container",
      "database-backup",
      "--incident",
      "inc-1",
      "--restore-time",
      "2026-11-24T13:05:00+00:00",
      "--time-zone",
      "Europe/London",
      "--rpo-minutes",
      "1560",
      "--rto-minutes",
      "240",
    ]);
    // No PG* connection: the report reads and writes only the blob store.
    assert.deepStrictEqual(c.env, [
      { name: "DR_STORAGE_AUTH", value: "entra" },
      { name: "AZURE_STORAGE_ACCOUNT", value: "s189t01ittmsdbbkpsa" },
      { name: "DR_PG_AUTH", value: "entra" },
      { name: "PGSSLROOTCERT", value: "system" },
      { name: "NODE_EXTRA_CA_CERTS", value: "/etc/ssl/certs/ca-certificates.crt" },
      { name: "DR_DATA_LOG_CONTAINER", value: "database-backup" },
      { name: "DR_DATA_LOG_BLOB", value: "incident/inc-1/logs/dr-inc-1-report.log" },
      { name: "DR_DATA_DONE_BLOB", value: "incident/inc-1/done/dr-inc-1-report.json" },
    ]);
    // A small pod: no scratch claim of the database's size (its emptyDir counted as ephemeral storage).
    assert.deepStrictEqual(c.resources, {
      requests: { cpu: "100m", memory: "256Mi", "ephemeral-storage": "1Gi" },
      limits: { cpu: "1", memory: "1Gi", "ephemeral-storage": "1Gi" },
    });
    assert.deepStrictEqual(pod.volumes, [
      { name: "scratch", emptyDir: { sizeLimit: "1Gi" } },
      { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
    ]);
    // After the last recovery Job (and, like every Job, the recovery identity, the storage and the servers).
    const deps = job.options.dependencies ?? [];
    assert.ok(deps.includes(`${SVC}-recovery-dr-inc-1-restore-${T}-flow`), deps.join(", "));
    assert.ok(deps.includes(`${SVC}-dr-recovery-service-account`), deps.join(", "));
    assert.ok(deps.includes(`${SVC}-backups-container`), deps.join(", "));
    assert.equal((r.outputs.recoveryJobs as string[]).at(-1), "dr-inc-1-report");
  });

  it("incidentDeclaredAt: --declared-at in UTC, where the report's RTO starts (absent above without it)", async () => {
    const r = await declareStack("staging", [...PTR, "incidentDeclaredAt=2026-11-24T12:40:00", ...CLOSING]);
    const inputs = reportJob(r).inputs as unknown as JobInputs;
    assert.deepStrictEqual(inputs.spec.template.spec.containers[0]!.args, [
      "incident-report",
      "--container",
      "database-backup",
      "--incident",
      "inc-1",
      "--declared-at",
      "2026-11-24T12:40:00+00:00",
      "--restore-time",
      "2026-11-24T13:05:00+00:00",
      "--time-zone",
      "Europe/London",
      "--rpo-minutes",
      "1560",
      "--rto-minutes",
      "240",
    ]);
  });

  it("the next step says the report is written, where, and how to download it", async () => {
    const r = await declareStack("staging", [...PTR, ...CLOSING]);
    assert.match(
      String(r.outputs.nextStep),
      /^The incident's report \(the timeline of its recovery Jobs, the restore point, rows lost and recovered\) is written to incident\/inc-1\/report\.md by the Job dr-inc-1-report .* az storage blob download --auth-mode login --account-name s189t01ittmsdbbkpsa --container-name database-backup --name incident\/inc-1\/report\.md --file incident-report\.md\. Tidy up /,
    );
  });

  it("one step before the close (still frozen): no report Job", async () => {
    const r = await declareStack("staging", [...PTR, "drPhase=validate", "maintenance=false"]);
    assert.deepStrictEqual(
      r.resources.filter((x) => x.name.endsWith("-report")),
      [],
    );
  });
});
