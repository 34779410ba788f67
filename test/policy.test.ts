/**
 * Unit tests of every policy of the pack (policy/policies.ts): a compliant resource passes, each planted
 * violation is reported with its message. Resources are written as a first preview hands them to the pack:
 * declared inputs, no ids, dependencies by name (per input, as the engine's propertyDependencies). The runner
 * (policy/run.ts) shows resource policies the inputs and stack policies the outputs, as the engine does.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { StackValidationPolicy } from "@pulumi/policy";
import {
  ALLOWED_DATA_ACTIONS,
  backupRetention,
  backupsImmutable,
  IDENTITY_TAGS,
  NIGHTLY_CONDITION,
  DATA_TOOL_POD_LABELS,
  dataToolImageByDigest,
  backupsLockedInProduction,
  dataPodsNetworkLimited,
  geoRedundantInProduction,
  liveServerProtected,
  noRoleCanEraseBackups,
  noStorageKeySecret,
  podsHardened,
  POLICIES,
  serversEntraOnly,
  storagePrivate,
  TYPES,
} from "../policy/policies";
import { STEP_LABEL } from "@service-dr/dr-data";
import {
  NIGHTLY_DATA_ACTIONS,
  NIGHTLY_PREFIX_ROOT,
  nightlyWriteCondition,
  WORKLOAD_IDENTITY_LABEL,
} from "../plan";
import { INPUT_ONLY, outputsOf, runPolicies, type DeclaredResource, type PackConfig } from "../policy/run";

const STAGING: PackConfig = {
  "geo-redundant-backup-in-production": { production: false },
  "backups-locked-in-production": { production: false },
  "alerts-in-production": { production: false },
};
const PRODUCTION: PackConfig = {
  "geo-redundant-backup-in-production": { production: true },
  "backups-locked-in-production": { production: true },
  "alerts-in-production": { production: true },
};

function res(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  options: DeclaredResource["options"] = {},
): DeclaredResource {
  return { type, name, inputs, options };
}
const server = (over: Record<string, unknown> = {}, protect = true): DeclaredResource =>
  res(
    TYPES.server,
    "live-server",
    {
      tags: { "service-dr": "live" },
      network: { publicNetworkAccess: "Disabled" },
      backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" },
      authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" },
      ...over,
    },
    protect ? { protect: true } : {},
  );
const account = (over: Record<string, unknown> = {}): DeclaredResource =>
  res(TYPES.account, "backups-account", {
    accountName: "acct",
    tags: { "service-dr": "database-backups" },
    sku: { name: "Standard_LRS" },
    allowBlobPublicAccess: false,
    enableHttpsTrafficOnly: true,
    minimumTlsVersion: "TLS1_2",
    allowSharedKeyAccess: false,
    ...over,
  });
const from = (
  deps: Record<string, readonly string[]>,
  extra: readonly string[] = [],
): DeclaredResource["options"] => ({
  dependencies: [...new Set([...Object.values(deps).flat(), ...extra])],
  propertyDependencies: deps,
});
/** A complete, compliant backup setup (and the live server with its lock), on account `acct` (`prefix`). */
function backupSet(
  days = 7,
  lifecycleDays = days,
  prefix = "backups",
  state = "Unlocked",
): DeclaredResource[] {
  const acct = `${prefix}-account`;
  return [
    res(TYPES.account, acct, {
      ...account().inputs,
      accountName: `${prefix}acct`,
      immutableStorageWithVersioning: {
        enabled: true,
        immutabilityPolicy: { immutabilityPeriodSinceCreationInDays: days, state },
      },
    }),
    res(
      TYPES.blobService,
      `${prefix}-blob-service`,
      {
        accountName: `${prefix}acct`,
        blobServicesName: "default",
        isVersioningEnabled: true,
        deleteRetentionPolicy: { enabled: true, days: 7 },
        containerDeleteRetentionPolicy: { enabled: true, days: 7 },
      },
      from({ accountName: [acct] }),
    ),
    res(
      TYPES.container,
      `${prefix}-container`,
      {
        accountName: `${prefix}acct`,
        containerName: "backups",
        publicAccess: "None",
        immutableStorageWithVersioning: { enabled: true },
      },
      from({ accountName: [acct] }, [`${prefix}-blob-service`]),
    ),
    res(
      TYPES.lifecycle,
      `${prefix}-lifecycle`,
      {
        accountName: `${prefix}acct`,
        managementPolicyName: "default",
        policy: {
          rules: [
            {
              definition: {
                actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: lifecycleDays } } },
              },
            },
          ],
        },
      },
      from({ accountName: [acct] }),
    ),
    // A first preview: the scope (the account's id) is unknown; the engine records where it comes from.
    res(TYPES.lock, `${prefix}-lock`, { level: "CanNotDelete", lockName: "l" }, from({ scope: [acct] })),
    ...(prefix === "backups"
      ? [
          server(),
          res(
            TYPES.lock,
            "live-lock",
            { level: "CanNotDelete", lockName: "l2" },
            from({ scope: ["live-server"] }),
          ),
        ]
      : []),
  ];
}
async function violations(
  resources: DeclaredResource[],
  policy: (typeof POLICIES)[number],
  config: PackConfig = STAGING,
): Promise<string[]> {
  return (await runPolicies(resources, config, [policy])).map((v) => v.message);
}

describe("policy pack: every policy mandatory", () => {
  it("eight policies, all mandatory", () => {
    assert.deepStrictEqual(
      POLICIES.map((p) => [p.name, p.enforcementLevel]),
      [
        ["live-server-protected-and-private", "mandatory"],
        ["servers-entra-only", "mandatory"],
        ["backup-retention-at-least-7-days", "mandatory"],
        ["geo-redundant-backup-in-production", "mandatory"],
        ["backups-locked-in-production", "mandatory"],
        ["backup-storage-private", "mandatory"],
        ["backups-cannot-be-erased", "mandatory"],
        ["no-role-can-erase-backups", "mandatory"],
        ["no-secret-with-a-storage-key", "mandatory"],
        ["pods-non-root-read-only", "mandatory"],
        ["data-tool-image-by-digest", "mandatory"],
        ["data-pods-network-limited", "mandatory"],
        ["nightly-backup-never-runs-as-recovery", "mandatory"],
        ["nightly-identity-never-administrator", "mandatory"],
        ["alerts-in-production", "mandatory"],
        ["drill-copy-never-live", "mandatory"],
        ["drill-never-restores-live", "mandatory"],
        ["drill-objectives-in-production", "mandatory"],
      ],
    );
  });
});

describe("policy: live server protected and private", () => {
  it("passes a protected, private live server; ignores the PTR copy", async () => {
    assert.deepStrictEqual(await violations([server()], liveServerProtected), []);
    const ptr = res(TYPES.server, "ptr-server", { tags: { "service-dr": "ptr-copy" }, network: {} });
    assert.deepStrictEqual(await violations([ptr], liveServerProtected), []);
  });
  it("reports an unprotected or public live server", async () => {
    assert.deepStrictEqual(await violations([server({}, false)], liveServerProtected), [
      "live-server: the live server must be protect-ed (protect: true)",
    ]);
    assert.deepStrictEqual(
      await violations([server({ network: { publicNetworkAccess: "Enabled" } })], liveServerProtected),
      ['live-server: network.publicNetworkAccess must be Disabled, got "Enabled"'],
    );
  });
});

describe("policy: every server Entra-only", () => {
  it("passes an Entra-only server", async () => {
    assert.deepStrictEqual(await violations([server()], serversEntraOnly), []);
  });
  it("reports password authentication, a missing authConfig and an administrator login, on any server", async () => {
    const ptr = res(TYPES.server, "ptr-server", {
      tags: { "service-dr": "ptr-copy" },
      administratorLogin: "ittms_admin",
      administratorLoginPassword: "[secret]",
    });
    assert.deepStrictEqual(
      await violations(
        [server({ authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Enabled" } }), ptr],
        serversEntraOnly,
      ),
      [
        'live-server: authConfig must be { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" }, got {"activeDirectoryAuth":"Enabled","passwordAuth":"Enabled"}',
        'ptr-server: authConfig must be { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" }, got {}',
        "ptr-server: administratorLogin must not be set (Entra logins only)",
        "ptr-server: administratorLoginPassword must not be set (Entra logins only)",
      ],
    );
  });
});

describe("policy: backup retention ≥ 7 days", () => {
  it("passes 7 and 35 days, reports 6", async () => {
    assert.deepStrictEqual(await violations([server()], backupRetention), []);
    assert.deepStrictEqual(
      await violations([server({ backup: { backupRetentionDays: 35 } })], backupRetention),
      [],
    );
    assert.deepStrictEqual(
      await violations([server({ backup: { backupRetentionDays: 6 } })], backupRetention),
      ["live-server: backup.backupRetentionDays must be at least 7, got 6"],
    );
  });
});

describe("policy: geo-redundant backup in production", () => {
  it("staging: locally redundant is fine", async () => {
    assert.deepStrictEqual(await violations([server(), account()], geoRedundantInProduction, STAGING), []);
  });
  it("production: the server and the account must be geo-redundant", async () => {
    assert.deepStrictEqual(await violations([server(), account()], geoRedundantInProduction, PRODUCTION), [
      "live-server: production needs backup.geoRedundantBackup Enabled (postgres.geoRedundantBackup=true)",
      'backups-account: production needs a geo-redundant sku (Standard_GRS, Standard_RAGRS, Standard_GZRS, Standard_RAGZRS), got "Standard_LRS"',
    ]);
    const geo = [
      server({ backup: { backupRetentionDays: 7, geoRedundantBackup: "Enabled" } }),
      account({ sku: { name: "Standard_GRS" } }),
    ];
    assert.deepStrictEqual(await violations(geo, geoRedundantInProduction, PRODUCTION), []);
  });
  it("a stack without its config fails instead of skipping the check", async () => {
    await assert.rejects(
      runPolicies([server()], {}, [geoRedundantInProduction]),
      /config production is required/,
    );
  });
});

describe("policy: backup storage private", () => {
  it("passes the hardened account and a private container", async () => {
    assert.deepStrictEqual(await violations(backupSet(), storagePrivate), []);
  });
  it("reports shared keys, public blobs, old TLS, HTTP and a public container", async () => {
    const bad = [
      account({
        allowSharedKeyAccess: true,
        allowBlobPublicAccess: true,
        minimumTlsVersion: "TLS1_0",
        enableHttpsTrafficOnly: false,
      }),
      res(TYPES.container, "container", { accountName: "acct", publicAccess: "Blob" }),
    ];
    assert.deepStrictEqual(await violations(bad, storagePrivate), [
      "backups-account: allowBlobPublicAccess must be false, got true",
      "backups-account: enableHttpsTrafficOnly must be true, got false",
      'backups-account: minimumTlsVersion must be "TLS1_2", got "TLS1_0"',
      "backups-account: allowSharedKeyAccess must be false, got true",
      'container: publicAccess must be "None", got "Blob"',
    ]);
  });
});

describe("policy: backups cannot be erased", () => {
  it("passes versioning, soft delete, immutability = lifecycle retention, and both locks (scopes unknown)", async () => {
    assert.deepStrictEqual(await violations(backupSet(), backupsImmutable), []);
    assert.deepStrictEqual(await violations(backupSet(7, 7, "backups", "Locked"), backupsImmutable), []);
  });
  it("a lock whose scope comes from another resource does not protect the account", async () => {
    const set = backupSet().map((r) =>
      r.name === "backups-lock" ? { ...r, options: from({ scope: ["live-server"] }) } : r,
    );
    assert.deepStrictEqual(await violations(set, backupsImmutable), [
      "backups-account: no CanNotDelete management lock on the backup account",
    ]);
  });
  it("another account's settings, container and lock do not count for the backup account", async () => {
    // A second, compliant account (not tagged as the backups one); the backup account keeps only itself.
    const other = backupSet(7, 7, "other").map((r) =>
      r.type === TYPES.account ? { ...r, inputs: { ...r.inputs, tags: {} } } : r,
    );
    const mine = backupSet().filter((r) => r.name === "backups-account" || r.name.startsWith("live"));
    assert.deepStrictEqual(await violations([...mine, ...other], backupsImmutable), [
      "backups-account: no BlobServiceProperties (versioning, soft delete) for this account",
      "backups-account: no CanNotDelete management lock on the backup account",
    ]);
  });
  it("a container-level policy (which overrides the account's) is refused; one on another account's container is not", async () => {
    const containerPolicy = (on: string): DeclaredResource =>
      res(
        TYPES.immutability,
        `${on}-immutability`,
        { accountName: "x", containerName: "backups", immutabilityPolicyName: "default" },
        from({ accountName: ["backups-account"], containerName: [on] }),
      );
    const set = [...backupSet(), containerPolicy("backups-container"), containerPolicy("elsewhere")];
    assert.deepStrictEqual(await violations(set, backupsImmutable), [
      "backups-container-immutability: a container-level immutability policy overrides the account's; declare the retention on the account only",
    ]);
  });
  it("reports each missing protection", async () => {
    const set = backupSet()
      .filter((r) => r.type !== TYPES.lock && r.type !== TYPES.blobService)
      .map((r) =>
        r.type === TYPES.account
          ? {
              ...r,
              inputs: {
                ...r.inputs,
                immutableStorageWithVersioning: { enabled: true, immutabilityPolicy: { state: "Disabled" } },
              },
            }
          : r,
      );
    assert.deepStrictEqual(await violations(set, backupsImmutable), [
      "backups-account: no BlobServiceProperties (versioning, soft delete) for this account",
      "backups-account: no account-level time-based immutability policy (immutableStorageWithVersioning: enabled, immutabilityPolicy Unlocked or Locked with a period)",
      "backups-account: no CanNotDelete management lock on the backup account",
      "live-server: no CanNotDelete management lock on the live server",
    ]);
  });
  it("reports immutability shorter than the lifecycle retention, versioning off, a ReadOnly-less lock level", async () => {
    const set = backupSet(7, 14).map((r) => {
      if (r.type === TYPES.blobService) return { ...r, inputs: { ...r.inputs, isVersioningEnabled: false } };
      if (r.name === "live-lock") return { ...r, inputs: { ...r.inputs, level: "NotSpecified" } };
      return r;
    });
    assert.deepStrictEqual(await violations(set, backupsImmutable), [
      "backups-blob-service: isVersioningEnabled must be true",
      "backups-account: immutability 7 days differs from the lifecycle retention 14 days (must be equal: at least the retention, and the rule must not delete immutable blobs)",
      "live-server: no CanNotDelete management lock on the live server",
    ]);
  });
});

describe("policy: backups locked in production", () => {
  const withState = (state: string | undefined): DeclaredResource =>
    account({
      immutableStorageWithVersioning: {
        enabled: true,
        immutabilityPolicy: {
          immutabilityPeriodSinceCreationInDays: 7,
          ...(state === undefined ? {} : { state }),
        },
      },
    });
  it("staging may stay unlocked; production passes Locked", async () => {
    assert.deepStrictEqual(await violations([withState("Unlocked")], backupsLockedInProduction), []);
    assert.deepStrictEqual(
      await violations([withState("Locked")], backupsLockedInProduction, PRODUCTION),
      [],
    );
  });
  it("production reports Unlocked and a missing state", async () => {
    assert.deepStrictEqual(
      await violations([withState("Unlocked"), withState(undefined)], backupsLockedInProduction, PRODUCTION),
      [
        'backups-account: production needs immutableStorageWithVersioning.immutabilityPolicy.state Locked (backup.immutability=locked), got "Unlocked"',
        "backups-account: production needs immutableStorageWithVersioning.immutabilityPolicy.state Locked (backup.immutability=locked), got undefined",
      ],
    );
  });
});

describe("policy: no declared role can erase backups", () => {
  const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000";
  const roleId = (guid: string): string => `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
  const CUSTOM = "11111111-2222-3333-4444-555555555555";
  const B = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
  const assignment = (
    roleDefinitionId: unknown,
    extra: Record<string, unknown> = {},
    deps: Record<string, readonly string[]> = {},
  ): DeclaredResource =>
    res(
      TYPES.roleAssignment,
      "ra",
      { roleAssignmentName: "g", roleDefinitionId, principalId: "p", scope: "s", ...extra },
      { dependencies: [...new Set(Object.values(deps).flat())], propertyDependencies: deps },
    );
  const definition = (dataActions: readonly string[], actions: readonly string[] = []): DeclaredResource =>
    res(TYPES.roleDefinition, "role", {
      roleDefinitionId: CUSTOM,
      scope: `${SUB}/resourceGroups/rg`,
      roleName: "r",
      roleType: "CustomRole",
      assignableScopes: [`${SUB}/resourceGroups/rg`],
      permissions: [
        { actions: [...actions], notActions: [], dataActions: [...dataActions], notDataActions: [] },
      ],
    });
  const nightlyIdentity = res("azure-native:managedidentity:UserAssignedIdentity", "nightly-identity", {
    resourceName: "svc-dr-data",
    tags: { "service-dr": IDENTITY_TAGS.nightly },
  });
  /** The standing assignment: the nightly identity's principal, the custom role's id. */
  const nightly = (roleDefinitionId: string, extra: Record<string, unknown>): DeclaredResource =>
    assignment(roleDefinitionId, extra, {
      principalId: ["nightly-identity"],
      ...(roleDefinitionId === roleId(CUSTOM) ? { roleDefinitionId: ["role"] } : {}),
    });
  const CONDITIONED = { condition: NIGHTLY_CONDITION, conditionVersion: "2.0" };

  it("the pack's data actions and condition are the program's", () => {
    assert.deepStrictEqual(ALLOWED_DATA_ACTIONS, [...NIGHTLY_DATA_ACTIONS]);
    assert.equal(NIGHTLY_CONDITION, nightlyWriteCondition(NIGHTLY_PREFIX_ROOT));
  });
  it("passes the blob data roles, and the nightly identity's custom role with its condition", async () => {
    assert.deepStrictEqual(
      await violations(
        [
          assignment(roleId("ba92f5b4-2d11-453d-a403-e96b0029c9fe")),
          assignment(roleId("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")),
          definition([`${B}/read`, `${B}/write`, `${B}/add/action`]),
          nightlyIdentity,
          nightly(roleId(CUSTOM), CONDITIONED),
        ],
        noRoleCanEraseBackups,
      ),
      [],
    );
  });
  it("reports Owner, Contributor, Storage Blob Data Owner and an unknown role", async () => {
    const allowed =
      "Storage Blob Data Contributor (ba92f5b4-2d11-453d-a403-e96b0029c9fe), Storage Blob Data Reader (2a2b9908-6ea1-4ae2-8e65-a410df84e7d1) or a role definition this program declares";
    const owner = roleId("8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    const blobOwner = roleId("b7e6dc6d-f1e8-4753-8033-0f276bb0955b");
    assert.deepStrictEqual(
      await violations(
        [assignment(owner), assignment(blobOwner), assignment(undefined)],
        noRoleCanEraseBackups,
      ),
      [
        `ra: roleDefinitionId must be one of ${allowed}, got ${JSON.stringify(owner)}`,
        `ra: roleDefinitionId must be one of ${allowed}, got ${JSON.stringify(blobOwner)}`,
        `ra: roleDefinitionId must be one of ${allowed}, got undefined`,
      ],
    );
  });
  it("refuses a role definition that can delete, unprotect, lock, re-tier or sign: each action named", async () => {
    const found = await violations(
      [
        definition(
          [`${B}/read`, `${B}/delete`, `${B}/immutableStorage/runAsSuperUser/action`, `${B}/*`],
          [
            "Microsoft.Authorization/locks/delete",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
          ],
        ),
      ],
      noRoleCanEraseBackups,
    );
    assert.deepStrictEqual(found, [
      "role: grants the management action Microsoft.Authorization/locks/delete",
      "role: grants the management action Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
      "role: grants the management action Microsoft.Storage/storageAccounts/blobServices/containers/delete",
      `role: grants the data action ${B}/delete`,
      `role: grants the data action ${B}/immutableStorage/runAsSuperUser/action`,
      `role: grants the data action ${B}/*`,
    ]);
    assert.deepStrictEqual(
      await violations(
        [res(TYPES.roleDefinition, "role", { roleDefinitionId: CUSTOM })],
        noRoleCanEraseBackups,
      ),
      ["role: no permissions listed"],
    );
  });
  it("the nightly identity: a built-in role, or the custom role without its condition or with another, is refused", async () => {
    const contributor = roleId("ba92f5b4-2d11-453d-a403-e96b0029c9fe");
    const role = definition([`${B}/read`, `${B}/write`, `${B}/add/action`]);
    const widened = NIGHTLY_CONDITION.replace("'nightly/*'", "'*'");
    assert.deepStrictEqual(
      await violations([role, nightlyIdentity, nightly(contributor, CONDITIONED)], noRoleCanEraseBackups),
      [
        `ra: the nightly identity's role must be the custom role the program declares (blob read, write, add), got ${JSON.stringify(contributor)}`,
      ],
    );
    assert.deepStrictEqual(
      await violations(
        [
          role,
          nightlyIdentity,
          nightly(roleId(CUSTOM), {}),
          nightly(roleId(CUSTOM), { ...CONDITIONED, condition: widened }),
        ],
        noRoleCanEraseBackups,
      ),
      [
        `ra: the nightly identity's assignment must carry the condition ${NIGHTLY_CONDITION} (version 2.0), got undefined (version undefined)`,
        `ra: the nightly identity's assignment must carry the condition ${NIGHTLY_CONDITION} (version 2.0), got ${JSON.stringify(widened)} (version "2.0")`,
      ],
    );
  });
});

describe("policy: data pods limited by a NetworkPolicy", () => {
  const labels = { "app.kubernetes.io/part-of": "service-dr", "azure.workload.identity/use": "true" };
  const job = (namespace = "ns"): DeclaredResource =>
    res("kubernetes:batch/v1:Job", "job", {
      metadata: { name: "j", namespace },
      spec: { template: { metadata: { labels: { ...labels, "service-dr/step": "restore" } }, spec: {} } },
    });
  const policy = (spec: Record<string, unknown>, namespace = "ns"): DeclaredResource =>
    res(TYPES.networkPolicy, "np", {
      metadata: { name: "np", namespace },
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ["Ingress", "Egress"],
        ingress: [],
        ...spec,
      },
    });
  const to = [{ ipBlock: { cidr: "10.0.0.0/28" } }];
  it("passes DNS, HTTPS and PostgreSQL egress with no ingress; the app's pods are not its business", async () => {
    const ok = policy({ egress: [{ to, ports: [{ protocol: "TCP", port: 5432 }] }] });
    const app = res("kubernetes:apps/v1:Deployment", "web", {
      metadata: { namespace: "ns" },
      spec: { template: { metadata: { labels: { app: "web" } }, spec: {} } },
    });
    assert.deepStrictEqual(await violations([job(), ok, app], dataPodsNetworkLimited), []);
  });
  it("reports a data pod without a policy (another namespace's does not count), ingress, any port, any destination", async () => {
    assert.deepStrictEqual(
      await violations([job(), policy({ egress: [] }, "other")], dataPodsNetworkLimited),
      ["job: a data tool pod that no NetworkPolicy of its namespace selects"],
    );
    const wide = policy({
      policyTypes: ["Egress"],
      ingress: [{}],
      egress: [
        { to, ports: [{ protocol: "TCP", port: 22 }] },
        { to },
        { ports: [{ protocol: "TCP", port: 443 }] },
      ],
    });
    assert.deepStrictEqual(await violations([job(), job(), wide], dataPodsNetworkLimited), [
      'np: policyTypes must include Ingress and Egress, got ["Egress"]',
      "np: ingress must be empty",
      "np: egress port [22] is not one of 53, 443, 5432",
      "np: an egress rule allows every port",
      "np: an egress rule allows every destination",
    ]);
  });
  it("a pod that gets the workload identity or runs a step is a data pod, whatever its other labels", async () => {
    // The identity's tokens are what the NetworkPolicy fences in: a pod that receives them is checked even
    // without the part-of label (as data-tool-image-by-digest does), and so is a step's pod without the identity.
    const pod = (name: string, podLabels: Record<string, string>): DeclaredResource =>
      res("kubernetes:core/v1:Pod", name, {
        metadata: { name, namespace: "ns", labels: podLabels },
        spec: {},
      });
    assert.deepStrictEqual(
      await violations(
        [
          pod("identity-only", { "azure.workload.identity/use": "true" }),
          pod("step-only", { "service-dr/step": "inspect" }),
          pod("app", { app: "web", "azure.workload.identity/use": "false" }),
        ],
        dataPodsNetworkLimited,
      ),
      [
        "identity-only: a data tool pod that no NetworkPolicy of its namespace selects",
        "step-only: a data tool pod that no NetworkPolicy of its namespace selects",
      ],
    );
  });
});

describe("policy: no Secret with a storage key", () => {
  const secret = (stringData: Record<string, string>, data?: Record<string, string>): DeclaredResource =>
    res(TYPES.secret, "s", { metadata: { name: "s" }, stringData, ...(data === undefined ? {} : { data }) });
  it("passes a password Secret", async () => {
    assert.deepStrictEqual(await violations([secret({ PGPASSWORD: "p" })], noStorageKeySecret), []);
  });
  it("reports a connection string, a key by name, and an AccountKey hidden in base64 data", async () => {
    const planted = secret(
      { AZURE_STORAGE_CONNECTION_STRING: "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k==" },
      { config: Buffer.from("BlobEndpoint=x;AccountKey=abc").toString("base64") },
    );
    assert.deepStrictEqual(await violations([planted], noStorageKeySecret), [
      "s: stringData.AZURE_STORAGE_CONNECTION_STRING is a storage credential; the data tool uses its managed identity",
      "s: data.config is a storage credential; the data tool uses its managed identity",
    ]);
  });
});

describe("policy: pods non-root, read-only root, limits", () => {
  const ok = { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true };
  const job = (container: Record<string, unknown>, pod: Record<string, unknown> = {}): DeclaredResource =>
    res("kubernetes:batch/v1:Job", "job", {
      spec: {
        template: {
          spec: {
            ...pod,
            containers: [{ name: "c", resources: { limits: { cpu: "1", memory: "1Gi" } }, ...container }],
          },
        },
      },
    });
  it("passes a hardened Job; runAsNonRoot may come from the pod", async () => {
    assert.deepStrictEqual(await violations([job({ securityContext: ok })], podsHardened), []);
    assert.deepStrictEqual(
      await violations(
        [
          job(
            { securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true } },
            { securityContext: { runAsNonRoot: true } },
          ),
        ],
        podsHardened,
      ),
      [],
    );
  });
  it("reports the root maintenance page of old (nginx, no security context, no cpu limit)", async () => {
    const page = res("kubernetes:apps/v1:Deployment", "page", {
      spec: {
        template: {
          spec: {
            containers: [
              { name: "page", image: "nginx:1.27-alpine", resources: { limits: { memory: "64Mi" } } },
            ],
          },
        },
      },
    });
    assert.deepStrictEqual(await violations([page], podsHardened), [
      "page: container page must set runAsNonRoot: true",
      "page: container page must set readOnlyRootFilesystem: true",
      "page: container page must set allowPrivilegeEscalation: false",
      "page: container page has no cpu limit",
    ]);
  });
  it("checks a CronJob's template and reports uid 0", async () => {
    const cron = res("kubernetes:batch/v1:CronJob", "cron", {
      spec: {
        jobTemplate: {
          spec: {
            template: { spec: { containers: [{ name: "c", securityContext: { ...ok, runAsUser: 0 } }] } },
          },
        },
      },
    });
    assert.deepStrictEqual(await violations([cron], podsHardened), [
      "cron: container c runs as uid 0",
      "cron: container c has no cpu limit",
      "cron: container c has no memory limit",
    ]);
  });
});

describe("policy runner: stack policies see what the engine gives them", () => {
  it("outputs: no input-only key (accountName, containerName, a lock's scope), the physical name as name", async () => {
    const seen: Record<string, Record<string, unknown>> = {};
    const spy: StackValidationPolicy = {
      name: "spy",
      description: "records what a stack policy sees",
      enforcementLevel: "mandatory",
      validateStack: (args) => {
        for (const r of args.resources) seen[r.name] = r.props as Record<string, unknown>;
      },
    };
    const set = backupSet().map((r) =>
      r.type === TYPES.lock ? { ...r, inputs: { ...r.inputs, scope: "/subscriptions/x" } } : r,
    );
    await runPolicies(set, STAGING, [spy]);
    assert.equal(seen["backups-account"]!.accountName, undefined);
    assert.equal(seen["backups-account"]!.name, "backupsacct");
    assert.equal(seen["backups-container"]!.containerName, undefined);
    assert.equal(seen["backups-container"]!.name, "backups");
    assert.equal(seen["backups-lock"]!.scope, undefined);
    assert.deepStrictEqual(seen["backups-lock"], { level: "CanNotDelete", name: "l" });
  });
  it("resource policies still see the inputs", async () => {
    const seen: string[] = [];
    await runPolicies(backupSet(), STAGING, [
      {
        name: "spy",
        description: "records inputs",
        enforcementLevel: "mandatory",
        validateResource: (args) => {
          if (args.type === TYPES.container) seen.push(String(args.props.containerName));
        },
      },
    ]);
    assert.deepStrictEqual(seen, ["backups"]);
  });
  it("INPUT_ONLY is exactly the SDK's inputs that are not outputs, for each type a stack policy reads", () => {
    const sdk = path.join(__dirname, "..", "node_modules", "@pulumi", "azure-native");
    const files: Record<string, string> = {
      [TYPES.server]: "dbforpostgresql/server.d.ts",
      [TYPES.account]: "storage/storageAccount.d.ts",
      [TYPES.blobService]: "storage/blobServiceProperties.d.ts",
      [TYPES.container]: "storage/blobContainer.d.ts",
      [TYPES.immutability]: "storage/blobContainerImmutabilityPolicy.d.ts",
      [TYPES.lifecycle]: "storage/managementPolicy.d.ts",
      [TYPES.lock]: "authorization/managementLockByScope.d.ts",
      [TYPES.roleDefinition]: "authorization/roleDefinition.d.ts",
      [TYPES.roleAssignment]: "authorization/roleAssignment.d.ts",
    };
    assert.deepStrictEqual(Object.keys(INPUT_ONLY).sort(), Object.keys(files).sort());
    for (const [type, file] of Object.entries(files)) {
      const text = readFileSync(path.join(sdk, file), "utf8");
      const outputs = new Set([...text.matchAll(/readonly (\w+)!?: pulumi\.Output/g)].map((m) => m[1]!));
      const inputs = [...text.matchAll(/^ {4}(\w+)\??: pulumi\.Input/gm)].map((m) => m[1]!);
      assert.ok(outputs.has("name"), `${type}: a name output`);
      assert.deepStrictEqual(
        [...INPUT_ONLY[type]!.keys].sort(),
        [...new Set(inputs.filter((k) => !outputs.has(k)))].sort(),
        type,
      );
      assert.ok(
        INPUT_ONLY[type]!.keys.includes(INPUT_ONLY[type]!.name),
        `${type}: the name input is input-only`,
      );
    }
  });
  it("the offline plan's per-input dependencies: matched by the value that flowed (name or id)", () => {
    assert.deepStrictEqual(
      outputsOf(res(TYPES.lock, "l", { level: "CanNotDelete", scope: "/x", lockName: "n" })),
      {
        level: "CanNotDelete",
        name: "n",
      },
    );
  });
});

describe("policy: the data tool's image by digest", () => {
  const REPO = "ghcr.io/dfe-digital/service-dr-data";
  const DIGEST = `sha256:${"c0ffee00".repeat(8)}`;
  const BY_DIGEST = `${REPO}@sha256:<64 hex digits>`;
  const labels = { "app.kubernetes.io/part-of": "service-dr", "service-dr/step": "restore" };
  const pod = (image: unknown, podLabels: Record<string, string> = labels) => ({
    metadata: { labels: podLabels },
    spec: { containers: [{ name: "dr-data", image }] },
  });
  const job = (image: unknown, podLabels?: Record<string, string>) =>
    res("kubernetes:batch/v1:Job", "restore-job", { spec: { template: pod(image, podLabels) } });

  it("passes the project's image by digest; ignores pods that are not the data tool's (the maintenance page)", async () => {
    assert.deepStrictEqual(await violations([job(`${REPO}@${DIGEST}`)], dataToolImageByDigest), []);
    const page = res("kubernetes:apps/v1:Deployment", "page", {
      spec: { template: pod("nginxinc/nginx-unprivileged:1.27-alpine", { app: "page" }) },
    });
    assert.deepStrictEqual(await violations([page], dataToolImageByDigest), []);
  });

  const refused: Array<[string, unknown, string]> = [
    [
      "a tag",
      `${REPO}:1.0.0`,
      `must name ${REPO} by digest, ${BY_DIGEST} (from the release-image workflow's pull request), not by tag: a tag can be moved to other content; received "${REPO}:1.0.0"`,
    ],
    [
      "another registry path",
      `ghcr.io/someone/dr-data@${DIGEST}`,
      `must be the data tool's image from the project's registry path, by digest: ${BY_DIGEST} (the release-image workflow publishes it there); received "ghcr.io/someone/dr-data@${DIGEST}"`,
    ],
    [
      "no image",
      undefined,
      `must be the data tool's image from the project's registry path, by digest: ${BY_DIGEST} (the release-image workflow publishes it there); received undefined`,
    ],
  ];
  for (const [what, image, message] of refused)
    it(`refuses ${what} in a Job's pod`, async () => {
      assert.deepStrictEqual(await violations([job(image)], dataToolImageByDigest), [
        `restore-job: container dr-data: image ${message}`,
      ]);
    });

  it("refuses the unpublished placeholder, in a CronJob's pod and in a bare Pod with the workload identity", async () => {
    const placeholder = `${REPO}@sha256:${"0".repeat(64)}`;
    const cron = res("kubernetes:batch/v1:CronJob", "nightly", {
      spec: { jobTemplate: { spec: { template: pod(placeholder) } } },
    });
    const bare = res(
      "kubernetes:core/v1:Pod",
      "shell",
      pod(placeholder, { "azure.workload.identity/use": "true" }),
    );
    const note = `image ${placeholder} is the placeholder of an image not published yet; run the release-image workflow and merge the pull request it opens (it sets the published digest as dataTool.image)`;
    assert.deepStrictEqual(await violations([cron, bare], dataToolImageByDigest), [
      `nightly: container dr-data: ${note}`,
      `shell: container dr-data: ${note}`,
    ]);
  });

  it("any image of one's choice in a pod that gets the workload identity is refused", async () => {
    const bare = res(
      "kubernetes:core/v1:Pod",
      "shell",
      pod("alpine:3", { "azure.workload.identity/use": "true" }),
    );
    assert.deepStrictEqual(await violations([bare], dataToolImageByDigest), [
      `shell: container dr-data: image must be the data tool's image from the project's registry path, by digest: ${BY_DIGEST} (the release-image workflow publishes it there); received "alpine:3"`,
    ]);
  });

  it("the labels it looks for are the program's", () => {
    assert.deepStrictEqual(DATA_TOOL_POD_LABELS, {
      step: STEP_LABEL,
      workloadIdentity: WORKLOAD_IDENTITY_LABEL,
    });
  });
});
