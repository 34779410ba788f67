/**
 * Runs the Pulumi program under Pulumi's mock runtime, without a CLI, a backend or cloud credentials.
 *
 * `RecordingMocks` records every resource the program declares and answers the way a real preview of an
 * existing stack would read: Azure resource ids built from the inputs (so the PTR copy's
 * `sourceServerResourceId` reads like the real one), `<namespace>/<name>` for Kubernetes objects, and the
 * computed outputs the program uses (server FQDN, storage endpoints). Any invoke it was not taught throws,
 * naming the token, so a new data-source call can never pass silently with an empty answer.
 *
 * `runProgram` runs the program once per call in this process. That works because `setMocks` resets the
 * runtime's per-deployment state (monitor, stack resource, feature flags, leak tracking) and installs a new
 * monitor with an empty resource table, `setAllConfig` replaces the whole config map, and the runtime reads
 * config from that map on every `Config.get` (it does not cache it); `runProgram` waits for every resource
 * registration of a run to finish (`disconnect()` drains the RPC queue) before the next run may reset
 * anything, and runs are serialised. The program must build everything inside `program(now)` (no resources
 * or config reads at import time); module-level caches in the program would be the one thing that leaks.
 */
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { DateTime } from "luxon";
import { flexibleServerId, serverFqdn } from "@service-dr/dr-data";
import { PROJECT } from "../../config";

/** How a secret value is shown in recorded inputs, outputs, the listing and `--json`. */
export const SECRET = "[secret]";
/** How a value the mock runtime left unknown is shown (should not happen: runs are not previews). */
export const UNKNOWN = "[unknown]";
/** The subscription used when the stack config names none. */
export const ZERO_GUID = "00000000-0000-0000-0000-000000000000";

/** The program's contract: declare resources from `new pulumi.Config()`, return the stack outputs. */
export type ProgramFn = (now: DateTime) => Promise<Record<string, unknown>>;

/**
 * The resource options the program declared, as the engine receives them in the registration request (only
 * what is set: an unprotected resource has no `protect` key). These are the safety properties the runbook
 * relies on (the live server `protect`ed, the PTR copy replaced on a new restore time, delete-before-replace),
 * so the plan shows them and the tests assert them.
 */
export interface DeclaredOptions {
  readonly protect?: true;
  readonly retainOnDelete?: true;
  readonly deleteBeforeReplace?: boolean;
  readonly ignoreChanges?: readonly string[];
  readonly replaceOnChanges?: readonly string[];
  /** `import` id: the resource is adopted, not created. */
  readonly import?: string;
  readonly customTimeouts?: { readonly create?: string; readonly update?: string; readonly delete?: string };
  /**
   * Names of the resources this one waits for: explicit `dependsOn` (a component expands to its children) and
   * resources its inputs come from, as the engine orders them.
   */
  readonly dependencies?: readonly string[];
}

/** One `newResource` call as the mocks saw it (inputs are the plain values the SDK sent, secrets wrapped). */
export interface RecordedCall {
  readonly type: string;
  readonly name: string;
  /** False for component resources. */
  readonly custom: boolean;
  readonly id: string | undefined;
  readonly inputs: Record<string, unknown>;
  readonly options: DeclaredOptions;
}

/** A declared resource, inputs with secrets shown as `[secret]`. */
export interface PlanResource {
  readonly type: string;
  readonly name: string;
  readonly id: string | undefined;
  readonly inputs: Record<string, unknown>;
  readonly options: DeclaredOptions;
}

/** What one run of the program declares and exports. */
export interface PlanResult {
  /** Sorted by name, then type, so that children follow their component and runs compare line by line. */
  readonly resources: PlanResource[];
  /** Stack outputs, every Output awaited, secrets shown as `[secret]`. */
  readonly outputs: Record<string, unknown>;
  /** What the program logged with `pulumi.log.warn` (the real CLI shows these in preview and up), in order. */
  readonly warnings: readonly string[];
}

export interface RecordingMocksOptions {
  /** Subscription of every Azure resource id. Default: the zero GUID. */
  readonly subscriptionId?: string;
  /** The clock of the run: computed outputs that depend on time (`backup.earliestRestoreDate`) use it. */
  readonly now?: DateTime;
}

type Inputs = Record<string, unknown>;
interface Computed {
  readonly id: string;
  readonly outputs: Inputs;
}

/** Kubernetes kinds that live outside namespaces: their id is just the name. */
const CLUSTER_SCOPED_KINDS = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "StorageClass",
  "CustomResourceDefinition",
  "PriorityClass",
  "IngressClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
]);

/**
 * The provider namespaces of the azure-native modules the program declares, for the generic id; another
 * module's is guessed as `Microsoft.<Module>`.
 */
const AZURE_PROVIDER_NAMESPACES: Readonly<Record<string, string>> = {
  dbforpostgresql: "Microsoft.DBforPostgreSQL",
  storage: "Microsoft.Storage",
  managedidentity: "Microsoft.ManagedIdentity",
  authorization: "Microsoft.Authorization",
  monitor: "Microsoft.Insights",
};

/**
 * Thrown by `RecordingMocks.call` for an invoke nobody mocked. The runtime rebuilds the error the program
 * sees from the gRPC-style `details` field only (a plain Error would arrive with an empty message).
 */
export class UnmockedInvokeError extends Error {
  readonly details: string;
  constructor(
    readonly token: string,
    inputs: unknown,
  ) {
    const message =
      `offline plan: no mock for invoke ${token} (inputs ${JSON.stringify(inputs)}); ` +
      "teach RecordingMocks.call in dev/offline/mocks.ts what a real preview would return";
    super(message);
    this.name = "UnmockedInvokeError";
    this.details = message;
  }
}

export class RecordingMocks implements pulumi.runtime.Mocks {
  /** Every `newResource` call, in the order the runtime made them. */
  readonly calls: RecordedCall[] = [];
  readonly subscriptionId: string;
  private readonly now: DateTime | undefined;

  constructor(options: RecordingMocksOptions = {}) {
    this.subscriptionId = options.subscriptionId ?? ZERO_GUID;
    this.now = options.now;
  }

  /** Options of registrations whose `newResource` call has not come yet, by `type::name`. */
  private readonly pendingOptions = new Map<string, DeclaredOptions[]>();

  /**
   * Called with each registration request before the mock monitor turns it into `newResource` (the mock API
   * passes no options on): keeps what the program declared about the resource's lifecycle.
   */
  noteRegistration(req: RegisterResourceRequest): void {
    const key = `${req.getType()}::${req.getName()}`;
    const queue = this.pendingOptions.get(key) ?? [];
    queue.push(declaredOptions(req));
    this.pendingOptions.set(key, queue);
  }

  newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const inputs = asRecord(args.inputs);
    const custom = args.custom ?? true;
    const options = this.pendingOptions.get(`${args.type}::${args.name}`)?.shift() ?? {};
    if (!custom) {
      // A component: it has no id and no provider-computed state.
      this.calls.push({ type: args.type, name: args.name, custom, id: undefined, inputs, options });
      return { id: undefined, state: {} };
    }
    const computed = this.compute(args.type, args.name, inputs);
    // An imported or read resource keeps the id it was asked for.
    const id = args.id !== undefined && args.id !== "" ? args.id : computed.id;
    this.calls.push({ type: args.type, name: args.name, custom, id, inputs, options });
    return { id, state: { ...inputs, ...computed.outputs } };
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    switch (args.token) {
      case "azure-native:authorization:getClientConfig":
        return {
          clientId: ZERO_GUID,
          objectId: ZERO_GUID,
          subscriptionId: this.subscriptionId,
          tenantId: ZERO_GUID,
        };
      case "azure-native:storage:listStorageAccountKeys":
        // A real preview reads the account's keys; offline there is no account. The placeholder is only ever
        // seen wrapped as a secret (the program marks the connection string secret).
        return {
          keys: [
            { keyName: "key1", permissions: "FULL", value: "offline-plan-placeholder-key", creationTime: "" },
            { keyName: "key2", permissions: "FULL", value: "offline-plan-placeholder-key", creationTime: "" },
          ],
        };
      default:
        throw new UnmockedInvokeError(args.token, args.inputs);
    }
  }

  private compute(type: string, name: string, inputs: Inputs): Computed {
    if (type.startsWith("pulumi:providers:")) return { id: fakeUuid(`${type}::${name}`), outputs: {} };
    if (type.startsWith("azure-native:")) return this.azure(type, name, inputs);
    if (type.startsWith("kubernetes:")) return kubernetes(type, name, inputs);
    if (type.startsWith("github:")) return github(type, name, inputs);
    return { id: `${name}-id`, outputs: {} };
  }

  private azure(type: string, name: string, inputs: Inputs): Computed {
    const [, module = "", resource = ""] = type.split(":");
    const resourceGroup = str(inputs, "resourceGroupName") ?? "unknown";
    const at: AzureScope = {
      subscriptionId: this.subscriptionId,
      resourceGroup,
      group: `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}`,
      now: this.now,
    };
    const rule = AZURE_TYPES[`${module}:${resource}`] ?? genericAzure(module, resource);
    return rule(at, name, inputs);
  }
}

/** Where an Azure resource's id starts, and the plan's clock (for what Azure computes from the time). */
interface AzureScope {
  readonly subscriptionId: string;
  /** The resource's `resourceGroupName`. */
  readonly resourceGroup: string;
  /** `/subscriptions/<sub>/resourceGroups/<rg>`. */
  readonly group: string;
  readonly now: DateTime | undefined;
}

type AzureRule = (at: AzureScope, name: string, inputs: Inputs) => Computed;

/** The id an ARM resource has and the `name`/`type` outputs every azure-native resource gets. */
function arm(armType: string, id: string, physical: string, extra: Inputs = {}): Computed {
  return { id, outputs: { name: physical, type: armType, ...extra } };
}

/**
 * The azure-native types the program declares whose ids or outputs the program, the policy pack or the plan's
 * reader use in a specific shape; every other type gets the generic ARM id (genericAzure).
 */
const AZURE_TYPES: Readonly<Record<string, AzureRule>> = {
  "dbforpostgresql:Server": flexibleServer,
  "dbforpostgresql:Database": serverChild("databases", "databaseName"),
  "dbforpostgresql:Configuration": serverChild("configurations", "configurationName"),
  // The administrator's name in its ARM path is the principal's object id.
  "dbforpostgresql:AdministratorsMicrosoftEntra": serverChild("administrators", "objectId"),
  "storage:StorageAccount": storageAccount,
  "storage:BlobContainer": (at, name, inputs) => {
    const account = str(inputs, "accountName") ?? "unknown";
    const container = str(inputs, "containerName") ?? name;
    return arm(
      "Microsoft.Storage/storageAccounts/blobServices/containers",
      `${at.group}/providers/Microsoft.Storage/storageAccounts/${account}/blobServices/default/containers/${container}`,
      container,
    );
  },
  // The blob service is the account's `default` child: the alerts' diagnostic setting is scoped to this id.
  "storage:BlobServiceProperties": (at, _name, inputs) => {
    const account = str(inputs, "accountName") ?? "unknown";
    return arm(
      "Microsoft.Storage/storageAccounts/blobServices",
      `${at.group}/providers/Microsoft.Storage/storageAccounts/${account}/blobServices/default`,
      "default",
    );
  },
  "storage:ManagementPolicy": (at, _name, inputs) => {
    const account = str(inputs, "accountName") ?? "unknown";
    const policy = str(inputs, "managementPolicyName") ?? "default";
    return arm(
      "Microsoft.Storage/storageAccounts/managementPolicies",
      `${at.group}/providers/Microsoft.Storage/storageAccounts/${account}/managementPolicies/${policy}`,
      policy,
    );
  },
  // A custom role's id is subscription-level whatever scope it is created at (docs/provider-facts.md); its
  // GUID is the `roleDefinitionId` path input.
  "authorization:RoleDefinition": (at, name, inputs) => {
    const guid = str(inputs, "roleDefinitionId") ?? name;
    return arm(
      "Microsoft.Authorization/roleDefinitions",
      `/subscriptions/${at.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
      guid,
    );
  },
  "managedidentity:UserAssignedIdentity": (at, name, inputs) => {
    // The ids Azure assigns when the identity is created; a real first preview shows them as unknown.
    const identity = str(inputs, "resourceName") ?? name;
    return arm(
      "Microsoft.ManagedIdentity/userAssignedIdentities",
      `${at.group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity}`,
      identity,
      {
        clientId: fakeUuid(`client::${identity}`),
        principalId: fakeUuid(`principal::${identity}`),
        tenantId: ZERO_GUID,
      },
    );
  },
};

/** A flexible server: its FQDN, Ready, and the earliest restore point its backup retention gives. */
function flexibleServer(at: AzureScope, name: string, inputs: Inputs): Computed {
  const server = str(inputs, "serverName") ?? name;
  const backup = asRecord(inputs.backup);
  const retentionDays = typeof backup.backupRetentionDays === "number" ? backup.backupRetentionDays : 7;
  const earliest = at.now?.minus({ days: retentionDays }).toUTC().toISO();
  return arm(
    "Microsoft.DBforPostgreSQL/flexibleServers",
    flexibleServerId(at.subscriptionId, at.resourceGroup, server),
    server,
    {
      fullyQualifiedDomainName: serverFqdn(server),
      state: "Ready",
      ...(earliest === undefined || earliest === null
        ? {}
        : { backup: { ...backup, earliestRestoreDate: earliest } }),
    },
  );
}

/** A flexible server's child (`…/flexibleServers/<server>/<collection>/<name>`). */
function serverChild(collection: string, nameInput: string): AzureRule {
  return (at, name, inputs) => {
    const server = str(inputs, "serverName") ?? "unknown";
    const child = str(inputs, nameInput) ?? name;
    return arm(
      `Microsoft.DBforPostgreSQL/flexibleServers/${collection}`,
      `${flexibleServerId(at.subscriptionId, at.resourceGroup, server)}/${collection}/${child}`,
      child,
    );
  };
}

/** A storage account with the endpoints the data tool's connection is built from. */
function storageAccount(at: AzureScope, name: string, inputs: Inputs): Computed {
  const account = str(inputs, "accountName") ?? name;
  const endpoint = (service: string): string => `https://${account}.${service}.core.windows.net/`;
  return arm(
    "Microsoft.Storage/storageAccounts",
    `${at.group}/providers/Microsoft.Storage/storageAccounts/${account}`,
    account,
    {
      primaryEndpoints: {
        blob: endpoint("blob"),
        dfs: endpoint("dfs"),
        file: endpoint("file"),
        queue: endpoint("queue"),
        table: endpoint("table"),
      },
      primaryLocation: inputs.location,
      provisioningState: "Succeeded",
    },
  );
}

/** Generic: /subscriptions/<sub>/resourceGroups/<rg>/providers/<Namespace>/<types>/<name>. */
function genericAzure(module: string, resource: string): AzureRule {
  return (at, name, inputs) => {
    // The fallback only capitalises the module (keyvault would come out Microsoft.Keyvault, not KeyVault):
    // good enough for a type the program does not declare; a declared one gets its namespace in the table.
    const namespace = AZURE_PROVIDER_NAMESPACES[module] ?? `Microsoft.${upperFirst(module)}`;
    const collection = plural(lowerFirst(resource));
    const physical = str(inputs, `${lowerFirst(resource)}Name`) ?? name;
    const scope =
      str(inputs, "resourceGroupName") === undefined ? `/subscriptions/${at.subscriptionId}` : at.group;
    return arm(
      `${namespace}/${collection}`,
      `${scope}/providers/${namespace}/${collection}/${physical}`,
      physical,
    );
  };
}

function kubernetes(type: string, name: string, inputs: Inputs): Computed {
  const kind = type.split(":")[2] ?? "";
  const metadata = asRecord(inputs.metadata);
  // Pulumi would auto-name an object without metadata.name (name + random suffix); the plan keeps the logical
  // name so that runs compare.
  const objectName = str(metadata, "name") ?? name;
  const baseKind = kind.replace(/(Patch|List)$/, "");
  if (CLUSTER_SCOPED_KINDS.has(baseKind)) {
    return { id: objectName, outputs: { metadata: { ...metadata, name: objectName } } };
  }
  const namespace = str(metadata, "namespace") ?? "default";
  return {
    id: `${namespace}/${objectName}`,
    outputs: { metadata: { ...metadata, name: objectName, namespace } },
  };
}

function github(type: string, name: string, inputs: Inputs): Computed {
  switch (type) {
    case "github:index/branchProtection:BranchProtection": {
      // The provider's id is a GraphQL node id; its import id is `<repository>:<pattern>`, shown here.
      const repository = str(inputs, "repositoryId") ?? "unknown";
      const pattern = str(inputs, "pattern") ?? "unknown";
      return { id: `${repository}:${pattern}`, outputs: {} };
    }
    default:
      return { id: str(inputs, "name") ?? name, outputs: {} };
  }
}

function str(record: Inputs, key: string): string | undefined {
  const value = record[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function asRecord(value: unknown): Inputs {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Inputs) : {};
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** ARM collection names: `vault` → `vaults`, `userAssignedIdentity` → `userAssignedIdentities`. */
function plural(s: string): string {
  if (/[^aeiou]y$/.test(s)) return `${s.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(s)) return `${s}es`;
  return `${s}s`;
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A stable UUID-shaped id (provider resources have UUID ids). */
function fakeUuid(seed: string): string {
  const h = crypto.createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The logical name at the end of a URN (`urn:pulumi:stack::project::type$type::name`). */
function urnName(urn: string): string {
  const at = urn.lastIndexOf("::");
  return at < 0 ? urn : urn.slice(at + 2);
}

/** The options a registration request carries, defaults left out. */
export function declaredOptions(req: RegisterResourceRequest): DeclaredOptions {
  const timeouts = req.getCustomtimeouts();
  const customTimeouts = {
    ...(timeouts?.getCreate() ? { create: timeouts.getCreate() } : {}),
    ...(timeouts?.getUpdate() ? { update: timeouts.getUpdate() } : {}),
    ...(timeouts?.getDelete() ? { delete: timeouts.getDelete() } : {}),
  };
  const dependencies = [...new Set(req.getDependenciesList().map(urnName))].sort();
  return {
    ...(req.getProtect() === true ? { protect: true as const } : {}),
    ...(req.getRetainondelete() === true ? { retainOnDelete: true as const } : {}),
    ...(req.getDeletebeforereplacedefined() ? { deleteBeforeReplace: req.getDeletebeforereplace() } : {}),
    ...(req.getIgnorechangesList().length > 0 ? { ignoreChanges: [...req.getIgnorechangesList()] } : {}),
    ...(req.getReplaceonchangesList().length > 0
      ? { replaceOnChanges: [...req.getReplaceonchangesList()] }
      : {}),
    ...(req.getImportid() !== "" ? { import: req.getImportid() } : {}),
    ...(Object.keys(customTimeouts).length > 0 ? { customTimeouts } : {}),
    ...(dependencies.length > 0 ? { dependencies } : {}),
  };
}

/** Awaits an Output's value (never `done` inside `.apply`). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise<T>((resolve) => {
    output.apply((value) => {
      resolve(value);
      return value;
    });
  });
}

/**
 * A value with every Output, Promise and resource reference inside it resolved: secret Outputs and
 * secret-wrapped RPC values become `[secret]`, resources their URN; `undefined` object fields are dropped.
 */
export async function resolveDeep(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    if (await pulumi.isSecret(value)) return SECRET;
    return resolveDeep(await promiseOf(value));
  }
  if (value instanceof Promise) return resolveDeep(await (value as Promise<unknown>));
  if (pulumi.Resource.isInstance(value)) return resolveDeep(value.urn);
  if (pulumi.runtime.isRpcSecret(value)) return SECRET;
  if (value === pulumi.runtime.unknownValue) return UNKNOWN;
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveDeep(v)));
  if (DateTime.isDateTime(value)) return value.toISO();
  if (value !== null && typeof value === "object") {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]): Promise<[string, unknown]> => [k, await resolveDeep(v)]),
    );
    return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  }
  return value;
}

/** The subscription a stack's resources live in: `service-dr:azure.subscriptionId`, else `azure-native:subscriptionId`. */
export function subscriptionIdFromConfig(
  config: Readonly<Record<string, string>>,
  project = PROJECT,
): string {
  const azure = config[`${project}:azure`];
  if (azure !== undefined) {
    try {
      const parsed: unknown = JSON.parse(azure);
      const id = asRecord(parsed).subscriptionId;
      if (typeof id === "string" && id !== "") return id;
    } catch {
      // Not JSON: the program's own validation reports it; fall through to the provider key.
    }
  }
  return config["azure-native:subscriptionId"] ?? ZERO_GUID;
}

/** `err` is the program's `ConfigError` (an Error listing every problem as strings). */
export function isConfigError(err: unknown): err is Error & { readonly problems: readonly string[] } {
  if (!(err instanceof Error)) return false;
  const problems: unknown = (err as { problems?: unknown }).problems;
  return Array.isArray(problems) && problems.every((p) => typeof p === "string");
}

/** Imports `program.ts` from the project root and checks that it exports `program(now)`. */
export async function loadProgram(
  modulePath = path.resolve(__dirname, "..", "..", "stack", "program"),
): Promise<ProgramFn> {
  const mod: unknown = await import(modulePath);
  const program = (mod as { program?: unknown } | undefined)?.program;
  if (typeof program !== "function") {
    throw new Error(`${modulePath} does not export function program(now: DateTime)`);
  }
  return program as ProgramFn;
}

export interface RunOptions {
  /** The program to run. Default: `program` exported by the module at `programPath`. */
  readonly program?: ProgramFn;
  /** Module exporting `program(now)`, imported after the mocks are set. Default: `<project root>/program`. */
  readonly programPath?: string;
  /** Default: the program's config namespace (config/ PROJECT). */
  readonly project?: string;
  /** What `pulumi.getStack()` returns. Default "offline". */
  readonly stack?: string;
  /** Mocks to record into (to inspect calls after a failed run). Default: new RecordingMocks for the config. */
  readonly mocks?: RecordingMocks;
  /** A run that has not finished after this long fails (an Output that never resolves). Default 60 s. */
  readonly timeoutMs?: number;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs the program once under fresh mocks with exactly `config` (keys `<namespace>:<key>`, values strings,
 * structured values JSON) and returns what it declared and exported. Runs are serialised: the Pulumi
 * runtime's state is per process. Rejects with the program's own error (e.g. its `ConfigError`).
 */
export function runProgram(
  config: Readonly<Record<string, string>>,
  secretKeys: readonly string[],
  now: DateTime,
  options: RunOptions = {},
): Promise<PlanResult> {
  const run = queue.then(() => runExclusive(config, secretKeys, now, options));
  queue = run.catch(() => undefined);
  return run;
}

async function runExclusive(
  config: Readonly<Record<string, string>>,
  secretKeys: readonly string[],
  now: DateTime,
  options: RunOptions,
): Promise<PlanResult> {
  const project = options.project ?? PROJECT;
  const mocks =
    options.mocks ?? new RecordingMocks({ subscriptionId: subscriptionIdFromConfig(config, project), now });
  // Mocks and config first, then the program: a program imported before setMocks could reach a real engine.
  await pulumi.runtime.setMocks(mocks, project, options.stack ?? "offline", false);
  recordOptionsOf(mocks);
  pulumi.runtime.setAllConfig({ ...config }, [...secretKeys]);
  const timeoutMs = options.timeoutMs ?? 60_000;
  // Like Pulumi's language host: a rejected promise nobody handled (an Output whose apply threw and that no
  // one consumed) fails the run instead of crashing the process or passing unnoticed.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  const warnings: string[] = [];
  const restoreWarn = captureWarnings(warnings);
  try {
    const result = await withTimeout(
      planWith(mocks, options, now, warnings),
      timeoutMs,
      `the program did not finish within ${timeoutMs} ms (an Output that never resolves?)`,
    );
    await nextMacrotask();
    if (unhandled.length > 0) {
      const [first] = unhandled;
      throw first instanceof Error ? first : new Error(`offline plan: unhandled rejection: ${String(first)}`);
    }
    return result;
  } finally {
    // A failed run may still have registrations in flight: let them land in this run's mocks, not the next.
    await withTimeout(
      pulumi.runtime.disconnect(),
      timeoutMs,
      "pending resource registrations did not finish",
    ).catch(() => undefined);
    // Rejections of the failed run surface on the next turn of the event loop; they belong to this run.
    await nextMacrotask();
    process.off("unhandledRejection", onUnhandled);
    restoreWarn();
  }
}

/** Runs the program against `mocks` (already set) and reads what it registered, sorted by name and type. */
async function planWith(
  mocks: RecordingMocks,
  options: RunOptions,
  now: DateTime,
  warnings: string[],
): Promise<PlanResult> {
  const program = options.program ?? (await loadProgram(options.programPath));
  const outputs = (await resolveDeep(await program(now))) as Record<string, unknown>;
  // Every registration of this run must have reached the mocks before the calls are read.
  await pulumi.runtime.disconnect();
  const resources = await Promise.all(
    mocks.calls.map(async (c): Promise<PlanResource> => ({
      type: c.type,
      name: c.name,
      id: c.id,
      inputs: (await resolveDeep(c.inputs)) as Record<string, unknown>,
      options: c.options,
    })),
  );
  resources.sort((a, b) => (a.name === b.name ? compare(a.type, b.type) : compare(a.name, b.name)));
  return { resources, outputs, warnings };
}

/** How `pulumi.log.warn` prints when no engine is attached (@pulumi/pulumi log/index.js). */
const RUNTIME_WARNING = /^warning: \[runtime\] ([\s\S]*)$/;

/**
 * Collects the program's `pulumi.log.warn` messages of one run into `into` (runs are serialised): without an
 * engine the SDK writes them with console.warn, which is wrapped for the run. Returns the undo.
 */
function captureWarnings(into: string[]): () => void {
  const original = console.warn;
  console.warn = (...args: unknown[]): void => {
    const m = RUNTIME_WARNING.exec(args.map(String).join(" "));
    if (m !== null) into.push(m[1]!);
    else original(...args);
  };
  return () => {
    console.warn = original;
  };
}

type RegisterCallback = (err: Error | null, response?: unknown) => void;
interface RegisteringMonitor {
  registerResource(req: RegisterResourceRequest, callback: RegisterCallback): unknown;
}

/**
 * Wraps the mock monitor `setMocks` just installed so that each registration's options reach the mocks
 * first. The monitor is replaced by every `setMocks`, so this is done once per run.
 */
function recordOptionsOf(mocks: RecordingMocks): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as RegisteringMonitor | undefined;
  if (monitor === undefined || typeof monitor.registerResource !== "function") {
    throw new Error("offline plan: the mock monitor has no registerResource (Pulumi SDK changed?)");
  }
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    mocks.noteRegistration(req);
    return register(req, callback);
  };
}

function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`offline plan: ${message}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
