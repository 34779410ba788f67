/**
 * The offline plan's mocks and runner: ids that read like a real preview's, invokes nobody mocked fail by
 * name, secrets become a marker, and many runs in one process do not see each other's config or resources.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import * as k8s from "@pulumi/kubernetes";
import { DateTime } from "luxon";
import {
  isConfigError,
  RecordingMocks,
  resolveDeep,
  runProgram,
  SECRET,
  subscriptionIdFromConfig,
  UnmockedInvokeError,
  ZERO_GUID,
  type ProgramFn,
} from "../dev/offline/mocks";

const SUB = "11111111-2222-3333-4444-555555555555";
const NOW = DateTime.fromISO("2026-11-24T15:00:00Z", { zone: "utc" });
const RG = `/subscriptions/${SUB}/resourceGroups/rg1`;

describe("offline: RecordingMocks ids and computed outputs", () => {
  const mocks = new RecordingMocks({ subscriptionId: SUB, now: NOW });
  const newResource = (type: string, inputs: Record<string, unknown>, name = "logical", id?: string) =>
    mocks.newResource({ type, name, inputs, custom: true, ...(id === undefined ? {} : { id }) });

  // [type, inputs, expected id]
  const ids: Array<[string, Record<string, unknown>, string]> = [
    [
      "azure-native:dbforpostgresql:Server",
      { resourceGroupName: "rg1", serverName: "s189t01-ittms-stg-pg" },
      `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg`,
    ],
    [
      "azure-native:dbforpostgresql:Database",
      { resourceGroupName: "rg1", serverName: "srv", databaseName: "app" },
      `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv/databases/app`,
    ],
    [
      "azure-native:dbforpostgresql:Configuration",
      { resourceGroupName: "rg1", serverName: "srv", configurationName: "azure.extensions" },
      `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv/configurations/azure.extensions`,
    ],
    [
      // The administrator's name in its ARM path is the principal's object id (REST 2025-08-01).
      "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra",
      { resourceGroupName: "rg1", serverName: "srv", objectId: "11111111-2222-3333-4444-555555555555" },
      `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv/administrators/11111111-2222-3333-4444-555555555555`,
    ],
    [
      "azure-native:storage:StorageAccount",
      { resourceGroupName: "rg1", accountName: "bkpsa" },
      `${RG}/providers/Microsoft.Storage/storageAccounts/bkpsa`,
    ],
    [
      "azure-native:storage:BlobContainer",
      { resourceGroupName: "rg1", accountName: "bkpsa", containerName: "database-backup" },
      `${RG}/providers/Microsoft.Storage/storageAccounts/bkpsa/blobServices/default/containers/database-backup`,
    ],
    [
      "azure-native:storage:ManagementPolicy",
      { resourceGroupName: "rg1", accountName: "bkpsa", managementPolicyName: "default" },
      `${RG}/providers/Microsoft.Storage/storageAccounts/bkpsa/managementPolicies/default`,
    ],
    // Generic fallback: the module's provider namespace, a plural collection, the `<type>Name` input; in the
    // resource group when there is one, else in the subscription.
    [
      "azure-native:dbforpostgresql:Administrator",
      { resourceGroupName: "rg1", administratorName: "oid-1" },
      `${RG}/providers/Microsoft.DBforPostgreSQL/administrators/oid-1`,
    ],
    [
      "azure-native:authorization:RoleAssignment",
      { roleAssignmentName: "ra-1" },
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/ra-1`,
    ],
    [
      "azure-native:network:VirtualNetwork",
      { resourceGroupName: "rg1", virtualNetworkName: "vnet1" },
      `${RG}/providers/Microsoft.Network/virtualNetworks/vnet1`,
    ],
    [
      "azure-native:managedidentity:UserAssignedIdentity",
      { resourceGroupName: "rg1" },
      `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/logical`,
    ],
    [
      "kubernetes:apps/v1:DeploymentPatch",
      { metadata: { name: "web", namespace: "bat-staging" } },
      "bat-staging/web",
    ],
    ["kubernetes:core/v1:ConfigMap", { metadata: {} }, "default/logical"],
    ["kubernetes:core/v1:Namespace", { metadata: { name: "bat-staging" } }, "bat-staging"],
    [
      "github:index/branchProtection:BranchProtection",
      { repositoryId: "itt-mentor-services", pattern: "main" },
      "itt-mentor-services:main",
    ],
    ["random:index/randomPassword:RandomPassword", {}, "logical-id"],
  ];
  for (const [type, inputs, id] of ids) {
    it(`${type} → ${id}`, () => assert.equal(newResource(type, inputs).id, id));
  }

  it("an imported or read resource keeps the id it asked for", () => {
    assert.equal(
      newResource("azure-native:dbforpostgresql:Server", { serverName: "x" }, "n", "/given/id").id,
      "/given/id",
    );
  });
  it("a provider resource gets a stable UUID", () => {
    const a = newResource("pulumi:providers:kubernetes", {}, "k8s").id;
    assert.match(a ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(newResource("pulumi:providers:kubernetes", {}, "k8s").id, a);
  });
  it("a component has no id and no state, and is recorded as not custom", () => {
    const m = new RecordingMocks();
    assert.deepStrictEqual(
      m.newResource({ type: "service-dr:index:X", name: "x", inputs: {}, custom: false }),
      {
        id: undefined,
        state: {},
      },
    );
    assert.deepStrictEqual(m.calls, [
      { type: "service-dr:index:X", name: "x", custom: false, id: undefined, inputs: {}, options: {} },
    ]);
  });
  it("a flexible server echoes its inputs and adds what Azure computes", () => {
    const r = newResource("azure-native:dbforpostgresql:Server", {
      resourceGroupName: "rg1",
      serverName: "s189t01-ittms-stg-pg",
      backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" },
    });
    assert.deepStrictEqual(r.state, {
      resourceGroupName: "rg1",
      serverName: "s189t01-ittms-stg-pg",
      name: "s189t01-ittms-stg-pg",
      type: "Microsoft.DBforPostgreSQL/flexibleServers",
      fullyQualifiedDomainName: "s189t01-ittms-stg-pg.postgres.database.azure.com",
      state: "Ready",
      backup: {
        backupRetentionDays: 7,
        geoRedundantBackup: "Disabled",
        earliestRestoreDate: "2026-11-17T15:00:00.000Z",
      },
    });
  });
  it("a storage account gets its primary endpoints", () => {
    const r = newResource("azure-native:storage:StorageAccount", {
      resourceGroupName: "rg1",
      accountName: "bkpsa",
      location: "uksouth",
    });
    assert.deepStrictEqual(r.state.primaryEndpoints, {
      blob: "https://bkpsa.blob.core.windows.net/",
      dfs: "https://bkpsa.dfs.core.windows.net/",
      file: "https://bkpsa.file.core.windows.net/",
      queue: "https://bkpsa.queue.core.windows.net/",
      table: "https://bkpsa.table.core.windows.net/",
    });
  });
  it("a Kubernetes object gets its metadata name and namespace filled in", () => {
    const r = newResource("kubernetes:core/v1:ConfigMap", { metadata: { labels: { a: "b" } } }, "page");
    assert.deepStrictEqual(r.state.metadata, { labels: { a: "b" }, name: "page", namespace: "default" });
  });

  it("invokes that nobody mocked throw, naming the token", () => {
    assert.throws(
      () => mocks.call({ token: "azure-native:dbforpostgresql:getServer", inputs: { serverName: "x" } }),
      (err: unknown) => {
        assert.ok(err instanceof UnmockedInvokeError);
        assert.match(
          err.message,
          /no mock for invoke azure-native:dbforpostgresql:getServer \(inputs \{"serverName":"x"\}\)/,
        );
        return true;
      },
    );
  });
  it("getClientConfig answers with the stack's subscription", () => {
    assert.deepStrictEqual(mocks.call({ token: "azure-native:authorization:getClientConfig", inputs: {} }), {
      clientId: ZERO_GUID,
      objectId: ZERO_GUID,
      subscriptionId: SUB,
      tenantId: ZERO_GUID,
    });
  });
});

describe("offline: the subscription comes from the stack config", () => {
  const rows: Array<[string, Record<string, string>, string]> = [
    ["service-dr:azure.subscriptionId", { "service-dr:azure": JSON.stringify({ subscriptionId: SUB }) }, SUB],
    [
      "it wins over azure-native:subscriptionId",
      { "service-dr:azure": JSON.stringify({ subscriptionId: SUB }), "azure-native:subscriptionId": "other" },
      SUB,
    ],
    [
      "azure-native:subscriptionId",
      { "service-dr:azure": "{}", "azure-native:subscriptionId": "other" },
      "other",
    ],
    [
      "malformed azure object",
      { "service-dr:azure": "{not json", "azure-native:subscriptionId": "other" },
      "other",
    ],
    ["neither: the zero GUID", {}, ZERO_GUID],
  ];
  for (const [what, config, expected] of rows) {
    it(what, () => assert.equal(subscriptionIdFromConfig(config), expected));
  }
});

describe("offline: resolveDeep", () => {
  it("awaits nested Outputs and promises, shows secrets as the marker, drops undefined fields", async () => {
    await pulumi.runtime.setMocks(new RecordingMocks(), "p", "s", false);
    const value = await resolveDeep({
      plain: 1,
      out: pulumi.output("a"),
      nested: { list: [pulumi.output(2), Promise.resolve(3)], gone: undefined },
      secret: pulumi.secret("hunter2"),
      secretInside: pulumi.output({ x: pulumi.secret("y") }),
      rpcSecret: { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: "z" },
      when: NOW,
    });
    assert.deepStrictEqual(value, {
      plain: 1,
      out: "a",
      nested: { list: [2, 3] },
      secret: SECRET,
      secretInside: SECRET,
      rpcSecret: SECRET,
      when: "2026-11-24T15:00:00.000Z",
    });
  });
});

/** A small program of the contract's shape: reads config, may refuse it, declares, returns outputs. */
class FixtureConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
  }
}
const fixture: ProgramFn = async (now) => {
  const config = new pulumi.Config();
  const mode = config.get("mode") ?? "none";
  if (!["none", "ptr"].includes(mode))
    throw new FixtureConfigError([`mode: allowed none, ptr; got "${mode}"`]);
  const live = new dbforpostgresql.Server(
    "live",
    {
      resourceGroupName: "rg1",
      serverName: "srv",
      administratorLoginPassword: config.requireSecret("password"),
    },
    { protect: true, ignoreChanges: ["createMode"] },
  );
  const ptr =
    mode === "ptr"
      ? new dbforpostgresql.Server(
          "ptr",
          {
            resourceGroupName: "rg1",
            serverName: "srv-ptr",
            createMode: "PointInTimeRestore",
            pointInTimeUTC: config.require("restoreTime"),
            sourceServerResourceId: live.id,
          },
          {
            deleteBeforeReplace: true,
            replaceOnChanges: ["pointInTimeUTC"],
            customTimeouts: { create: "2h" },
          },
        )
      : undefined;
  const replicas = config.getNumber("replicas") ?? 2;
  new k8s.apps.v1.DeploymentPatch("web", {
    metadata: { name: "web", namespace: "ns" },
    spec: { replicas: mode === "none" ? replicas : 0 },
  });
  return Promise.resolve({
    mode,
    stack: pulumi.getStack(),
    extra: config.get("extra") ?? null,
    now: now.toISO(),
    liveFqdn: live.fullyQualifiedDomainName,
    ptrSource: ptr?.sourceServerResourceId ?? null,
    password: config.requireSecret("password"),
  });
};

describe("offline: runProgram runs many configs in one process", function () {
  this.timeout(60_000);
  const base = {
    "service-dr:azure": JSON.stringify({ subscriptionId: SUB }),
    "service-dr:password": "p",
    "service-dr:extra": "from-run-1",
  };
  const LIVE = `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv`;

  it("returns the declared resources (sorted by name, secrets as the marker) and resolved outputs", async () => {
    const result = await runProgram(base, ["service-dr:password"], NOW, { program: fixture, stack: "dev" });
    assert.deepStrictEqual(result, {
      resources: [
        {
          type: "azure-native:dbforpostgresql:Server",
          name: "live",
          id: LIVE,
          inputs: {
            administratorLoginPassword: SECRET,
            availabilityZone: "",
            resourceGroupName: "rg1",
            serverName: "srv",
          },
          options: { protect: true, ignoreChanges: ["createMode"] },
        },
        {
          type: "kubernetes:apps/v1:DeploymentPatch",
          name: "web",
          id: "ns/web",
          inputs: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "web", namespace: "ns" },
            spec: { replicas: 2 },
          },
          options: {},
        },
      ],
      outputs: {
        mode: "none",
        stack: "dev",
        extra: "from-run-1",
        now: "2026-11-24T15:00:00.000Z",
        liveFqdn: "srv.postgres.database.azure.com",
        ptrSource: null,
        password: SECRET,
      },
      warnings: [],
    });
  });

  it("a later run sees only its own config, stack and resources", async () => {
    const first = await runProgram(base, [], NOW, { program: fixture });
    const second = await runProgram(
      {
        "service-dr:azure": JSON.stringify({ subscriptionId: SUB }),
        "service-dr:password": "p",
        "service-dr:mode": "ptr",
        "service-dr:restoreTime": "2026-11-24T13:05:00+00:00",
      },
      [],
      NOW,
      { program: fixture, stack: "other" },
    );
    assert.deepStrictEqual(
      second.resources.map((r) => r.name),
      ["live", "ptr", "web"],
    );
    assert.equal(second.outputs.extra, null, "a key of the previous run's config must be gone");
    assert.equal(second.outputs.stack, "other");
    assert.equal(second.outputs.ptrSource, LIVE, "the PTR copy names the live server by its Azure id");
    assert.deepStrictEqual(second.resources.find((r) => r.name === "web")?.inputs.spec, { replicas: 0 });
    // And the first config again gives exactly the first result.
    assert.deepStrictEqual(await runProgram(base, [], NOW, { program: fixture }), first);
  });

  it("concurrent calls are serialised and each gets its own result", async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        runProgram({ ...base, "service-dr:replicas": String(n) }, [], NOW, { program: fixture }),
      ),
    );
    assert.deepStrictEqual(
      results.map((r) => r.resources.find((x) => x.name === "web")?.inputs.spec),
      [{ replicas: 1 }, { replicas: 2 }, { replicas: 3 }, { replicas: 4 }],
    );
  });

  it("a refused config rejects with the program's error and declares nothing", async () => {
    const mocks = new RecordingMocks();
    await assert.rejects(
      runProgram({ ...base, "service-dr:mode": "bogus" }, [], NOW, { program: fixture, mocks }),
      (err) => {
        assert.ok(isConfigError(err));
        assert.deepStrictEqual(err.problems, ['mode: allowed none, ptr; got "bogus"']);
        return true;
      },
    );
    assert.deepStrictEqual(mocks.calls, []);
  });

  it("a run that fails after declaring keeps its registrations to itself", async () => {
    const failing: ProgramFn = () => {
      new k8s.core.v1.ConfigMap("from-failed-run", {
        metadata: { name: "late", namespace: "ns" },
        // Resolves after the program has already thrown: the registration is still in flight then.
        data: { x: pulumi.output(new Promise<string>((resolve) => setTimeout(() => resolve("v"), 50))) },
      });
      return Promise.reject(new Error("failed after declaring"));
    };
    const mocks = new RecordingMocks();
    await assert.rejects(runProgram(base, [], NOW, { program: failing, mocks }), /failed after declaring/);
    assert.deepStrictEqual(
      mocks.calls.map((c) => c.name),
      ["from-failed-run"],
      "the in-flight registration lands in the failed run's mocks",
    );
    const next = await runProgram(base, [], NOW, { program: fixture });
    assert.deepStrictEqual(
      next.resources.map((r) => r.name),
      ["live", "web"],
    );
  });

  it("an invoke nobody mocked fails the run with the token in the message", async () => {
    const invoking: ProgramFn = async () => {
      await pulumi.runtime.invoke("azure-native:dbforpostgresql:getServer", { serverName: "srv" });
      return {};
    };
    await assert.rejects(
      runProgram(base, [], NOW, { program: invoking }),
      /no mock for invoke azure-native:dbforpostgresql:getServer/,
    );
  });

  it("an unmocked invoke in Output form, feeding a resource input, fails the run at once (no hang)", async () => {
    // The shape the program uses for storage keys (listStorageAccountKeysOutput → a Secret's data).
    const viaOutput: ProgramFn = () => {
      const sas = pulumi.runtime.invokeOutput("azure-native:storage:listStorageAccountSAS", {
        accountName: "a",
      });
      new k8s.core.v1.ConfigMap("uses-invoke", {
        metadata: { name: "uses-invoke" },
        data: { k: sas.apply((v) => JSON.stringify(v)) },
      });
      return Promise.resolve({});
    };
    const started = Date.now();
    await assert.rejects(
      runProgram(base, [], NOW, { program: viaOutput, timeoutMs: 30_000 }),
      /error serializing property "data": offline plan: no mock for invoke azure-native:storage:listStorageAccountSAS/,
    );
    assert.ok(Date.now() - started < 5_000, `failed after ${Date.now() - started} ms, not at once`);
  });

  it("an Output whose apply throws fails the run instead of crashing the process", async () => {
    const throwing: ProgramFn = () =>
      Promise.resolve({
        bad: pulumi.output(1).apply((): number => {
          throw new Error("apply failed");
        }),
      });
    await assert.rejects(runProgram(base, [], NOW, { program: throwing }), /apply failed/);
    // And the runtime is usable afterwards.
    assert.equal((await runProgram(base, [], NOW, { program: fixture })).outputs.mode, "none");
  });

  it("a run that never finishes fails after the timeout", async () => {
    const hanging: ProgramFn = () =>
      Promise.resolve({ never: pulumi.output(new Promise<string>(() => undefined)) });
    await assert.rejects(
      runProgram(base, [], NOW, { program: hanging, timeoutMs: 200 }),
      /did not finish within 200 ms/,
    );
  });
});
