/**
 * ServiceRecovery is a component any Pulumi program can construct, once per service: two made-up services
 * with their own deployments, time zones, databases, servers, storage and repositories, declared in one
 * program under the mock runtime, share no URN and no physical name.
 */
import { strict as assert } from "node:assert";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { parseConfig, PROJECT, type StackConfig } from "../config";
import { ServiceRecovery } from "../components";
import { RecordingMocks, runProgram, type PlanResult } from "../dev/offline/mocks";
import { NOW, stackRaw } from "./support/stacks";
import { engineResources, registrationOf, type Registration } from "./support/urns";

const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups";

/** A service of its own, from the staging stack's settings with every name of its own. */
function serviceConfig(
  id: string,
  zone: string,
  deployments: Record<string, { name: string; replicas: number }>,
  sets: readonly string[],
): StackConfig {
  const raw = structuredClone(stackRaw("staging", sets)) as Record<string, Record<string, unknown>>;
  const db = `${id.replace(/-/g, "_")}_db`;
  raw.timeZone = zone as never;
  raw.azure = { ...raw.azure, resourceGroup: `${id}-rg` };
  raw.postgres = {
    ...raw.postgres,
    serverName: `${id}-pg`,
    entraAdmin: { objectId: "00000000-0000-0000-0000-000000000000", displayName: `${id}-pg-admins` },
    databases: { [db]: { charset: "UTF8", collation: "en_US.utf8" } },
    appDatabase: db,
  };
  raw.kubernetes = {
    ...raw.kubernetes,
    namespace: `${id}-ns`,
    service: id,
    deployments,
    app: { serviceName: id, port: 8080 },
    publicHost: `${id}.example.org`,
    temporaryHost: `${id}-temp.example.org`,
  };
  raw.github = { ...raw.github, repository: id };
  raw.backup = { ...raw.backup, storageAccountName: `${id.replace(/-/g, "")}bkp` };
  return parseConfig(raw, NOW);
}

const ALPHA = serviceConfig(
  "alpha-shop",
  "Europe/London",
  { web: { name: "alpha-shop-web", replicas: 3 }, worker: { name: "alpha-shop-jobs", replicas: 1 } },
  [],
);
// An incident open in the other service: its PTR copy, recovery identity and Jobs beside the first's.
const BETA = serviceConfig(
  "beta-api",
  "America/New_York",
  { api: { name: "beta-api", replicas: 2 }, queue: { name: "beta-api-queue", replicas: 4 } },
  ["drMode=ptr", "incidentId=inc-7", "ptr.restoreTime=2026-11-24T08:05:00", "drPhase=restore"],
);

async function declareBoth(): Promise<{ plan: PlanResult; registrations: Registration[] }> {
  const mocks = new RecordingMocks({ now: NOW });
  const registrations: Registration[] = [];
  const note = mocks.noteRegistration.bind(mocks);
  mocks.noteRegistration = (req: RegisterResourceRequest): void => {
    registrations.push(registrationOf(req));
    note(req);
  };
  const plan = await runProgram({}, [], NOW, {
    mocks,
    stack: "fleet",
    program: (now) => {
      const alpha = new ServiceRecovery("alpha-shop", { config: ALPHA, now });
      const beta = new ServiceRecovery("beta-api", { config: BETA, now });
      return Promise.resolve({ alpha: alpha.outputs, beta: beta.outputs });
    },
  });
  return { plan, registrations };
}

describe("ServiceRecovery: two services in one program", function () {
  this.timeout(60_000);
  let result: { plan: PlanResult; registrations: Registration[] };
  before(async () => {
    result = await declareBoth();
  });

  it("no two resources share a URN, and each service's resources sit under its own component", () => {
    const resources = engineResources("fleet", PROJECT, result.registrations);
    const urns = resources.map((r) => r.urn);
    assert.equal(new Set(urns).size, urns.length);
    const under = (svc: string): number =>
      urns.filter((u) => u.includes(`::service-dr:index:ServiceRecovery$`) && u.endsWith(`::${svc}`)).length;
    assert.equal(under("alpha-shop-live-server"), 1);
    assert.equal(under("beta-api-live-server"), 1);
    for (const r of resources.filter((x) => x.parent === "")) {
      assert.equal(r.type, "service-dr:index:ServiceRecovery", r.urn);
    }
    for (const r of resources.filter((x) => x.parent !== "")) {
      const service = r.name.startsWith("alpha-shop") ? "alpha-shop" : "beta-api";
      assert.ok(r.name.startsWith(`${service}-`), r.urn);
      assert.ok(r.urn.includes(`ServiceRecovery$`), r.urn);
    }
  });

  it("no two resources share a physical id: servers, storage, namespaces, Jobs, branch protection", () => {
    const custom = result.plan.resources.filter((r) => r.id !== undefined);
    const ids = custom.map((r) => `${r.type} ${r.id!}`);
    assert.deepStrictEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
    );
    // Names Azure holds unique across all subscriptions, whatever the resource group: storage accounts and
    // servers (their names are host names).
    const global = result.plan.resources.flatMap((r) =>
      r.type === "azure-native:storage:StorageAccount"
        ? [`account ${String(r.inputs.accountName)}`]
        : r.type === "azure-native:dbforpostgresql:Server"
          ? [`server ${String(r.inputs.serverName)}`]
          : [],
    );
    assert.deepStrictEqual(global.sort(), [
      "account alphashopbkp",
      "account betaapibkp",
      "server alpha-shop-pg",
      "server beta-api-pg",
      "server beta-api-pg-ptr",
    ]);
    const idOf = (name: string): string | undefined => custom.find((r) => r.name === name)?.id;
    assert.deepStrictEqual(
      [idOf("alpha-shop-live-server"), idOf("beta-api-live-server"), idOf("beta-api-ptr-server")],
      [
        `${SUB}/alpha-shop-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/alpha-shop-pg`,
        `${SUB}/beta-api-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/beta-api-pg`,
        `${SUB}/beta-api-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/beta-api-pg-ptr`,
      ],
    );
    assert.deepStrictEqual(
      [idOf("alpha-shop-replicas-web"), idOf("alpha-shop-replicas-worker"), idOf("beta-api-replicas-api")],
      ["alpha-shop-ns/alpha-shop-web", "alpha-shop-ns/alpha-shop-jobs", "beta-api-ns/beta-api"],
    );
    assert.deepStrictEqual(
      [idOf("alpha-shop-freeze-branch"), idOf("beta-api-freeze-branch")],
      ["alpha-shop:main", "beta-api:main"],
    );
  });

  it("each service's outputs are its own: zone, replicas, Jobs", () => {
    const out = result.plan.outputs as Record<string, Record<string, unknown>>;
    assert.deepStrictEqual(
      [out.alpha?.timeZone, out.alpha?.replicas, out.alpha?.recoveryJobs, out.alpha?.drMode],
      ["Europe/London", { web: 3, worker: 1 }, [], "none"],
    );
    assert.deepStrictEqual(
      [out.beta?.timeZone, out.beta?.replicas, out.beta?.drMode, out.beta?.liveServerName],
      ["America/New_York", { api: 0, queue: 0 }, "ptr", "beta-api-pg"],
    );
    // backup-flawed, inspect, reconcile and the whole restore in one Job (restore --from-copy).
    assert.equal((out.beta?.recoveryJobs as string[]).length, 4);
  });
});
