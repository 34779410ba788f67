/**
 * Stack configuration: the only module that reads `pulumi.Config`.
 *
 * `readRawConfig()` collects the `service-dr:*` keys as plain values; `parseConfig(raw, now)` validates them
 * with a schema plus the cross-field and time checks, and throws one `ConfigError` listing *every* problem —
 * each naming the key, what is allowed and what was received — before the program declares anything.
 * `parseConfig` is pure, so the tests drive it with tables of raw objects.
 */
import * as pulumi from "@pulumi/pulumi";
import { DateTime, Duration } from "luxon";
import { z } from "zod";
import { workloadIdentitySchema } from "./identity";
import { drillProblems, drillSchema, drillWarnings, objectivesSchema } from "./drill";
import { DATA_TOOL_CLIENT_MAJOR, dataToolImageProblem } from "./data-tool-image";
import {
  AZURE_SERVER_NAME,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  INCIDENT_ID,
  MAX_RETRY,
  incidentIdProblems,
  k8sNameProblem,
  serviceDerivedNames,
  ptrServerName,
  suggestedIncidentId,
} from "@service-dr/dr-data";
import type { JobStep } from "@service-dr/dr-data";
import {
  azureUtc,
  hasOffset,
  humanInZone,
  isValidZone,
  resolveRestoreTime,
  restoreWindow,
  windowProblem,
} from "../plan/time";
import type { ResolvedTime } from "../plan/time";

export const PROJECT = "service-dr";

/**
 * Thrown with every problem found; nothing has been declared when it is thrown. A `pulumi.RunError`: the
 * Node language host prints a RunError as its message alone ("Running program … failed with an unhandled
 * exception" plus a stack trace is for every other error, @pulumi/pulumi cmd/run/run.js), so `pulumi preview`
 * and `pulumi up` show the problem list and nothing else.
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Building blocks. Each carries its own "what is allowed" text; formatIssue() adds the key and what was received.

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of: ${values.join(", ")}` });
const wholeNumber = (min: number, max?: number) => {
  const text =
    max === undefined ? `must be a whole number ≥ ${min}` : `must be a whole number from ${min} to ${max}`;
  const n = z.number({ error: text }).int({ error: text }).min(min, { error: text });
  return max === undefined ? n : n.max(max, { error: text });
};
const bool = () => z.boolean({ error: "must be true or false" });
const text = (what = "a non-empty string") =>
  z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });
const matching = (re: RegExp, what: string) =>
  z.string({ error: `must be ${what}` }).regex(re, { error: `must be ${what}` });

const SERVER_NAME_TEXT =
  "3–63 lowercase letters, digits and hyphens, not starting or ending with a hyphen (Azure's rule)";
const LABEL_TEXT =
  "a DNS-1123 label: ≤ 63 lowercase letters, digits and hyphens, starting and ending alphanumeric";
const SUBDOMAIN_TEXT =
  "a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric";
const HOST = /^(?=.{1,253}$)(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const HOST_TEXT = "a lowercase DNS host name such as app.example.gov.uk";
const AZURE_ID = /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/[^/]+\/.+[^/]$/i;
const AZURE_ID_TEXT = "an Azure resource id (/subscriptions/<guid>/resourceGroups/<rg>/providers/…)";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STORAGE_ACCOUNT = /^[a-z0-9]{3,24}$/;
const CONTAINER = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;
const CRON = /^(\S+\s+){4}\S+$/;
const CIDR = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\/(?:3[0-2]|[12]?\d)$/;
const CIDR_TEXT = "IPv4 CIDRs such as 10.1.2.0/28";
const QUANTITY = /^\d+(Mi|Gi|Ti)$/;
const PG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/**
 * `schema.table` as `dr-data restore --tables` takes it (packages/dr-data/src/table-restore.ts parseTableList: two names, no
 * dot, comma or blank inside), each ≤ 63 bytes (PostgreSQL's identifier limit).
 */
const SCHEMA_TABLE = /^[^.,\s"]{1,63}\.[^.,\s"]{1,63}$/u;
const SCHEMA_TABLE_TEXT =
  "schema.table (two names without dots, commas, quotes or blanks, e.g. app.accounts)";

/**
 * A server name that leaves room for its PTR copy's name (`<name>-ptr`, Azure's 63): ≤ 59. The geo server's
 * name has the same limit, since it becomes postgres.serverName after the switch-over.
 */
const serverName = (why: string) =>
  matching(AZURE_SERVER_NAME, SERVER_NAME_TEXT).superRefine((name, ctx) => {
    if (ptrServerName(name).length > 63)
      ctx.addIssue({
        code: "custom",
        message: `must leave room for the PTR copy's name "${ptrServerName(name)}" (≤ 63 characters, so ≤ 59 for this name${why}); it has ${name.length}`,
      });
  });

const networkSchema = z.strictObject({
  /** Subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers. */
  delegatedSubnetId: matching(AZURE_ID, AZURE_ID_TEXT),
  /** Private DNS zone the server registers in (…privatelink.postgres.database.azure.com or a custom zone). */
  privateDnsZoneId: matching(AZURE_ID, AZURE_ID_TEXT),
});

const ptrSchema = z.strictObject({
  restoreTime: text("an ISO-8601 date-time").optional(),
  /**
   * The pin for an incident that outlives the restore window (docs/runbook.md): the copy for the restore
   * time `requestedFor` was requested at `requestedAt`, so the window is checked then instead of now. Both
   * or neither; the pin applies only while `requestedFor` and `restoreTime` are the same instant.
   */
  requestedAt: text("an ISO-8601 date-time with offset").optional(),
  requestedFor: text("the ptr.restoreTime the pinned copy was made for").optional(),
  /**
   * Restore only these tables' rows from the PTR copy's backup (`dr-data restore --tables`) instead of
   * swapping the whole database. The names are checked against the backup's table of contents by the tool,
   * before anything is changed (the program cannot see the database).
   */
  tables: z
    .array(matching(SCHEMA_TABLE, SCHEMA_TABLE_TEXT), { error: `must be a list of ${SCHEMA_TABLE_TEXT}` })
    .min(1, {
      error: `must list at least one table (${SCHEMA_TABLE_TEXT}); to restore the whole database remove it: pulumi config rm --path ptr.tables`,
    })
    .superRefine((tables, ctx) => {
      const seen = new Set<string>();
      const twice = tables.filter((t) => (seen.has(t) ? true : (seen.add(t), false)));
      if (twice.length > 0)
        ctx.addIssue({
          code: "custom",
          message: `must not list a table twice; listed again: ${[...new Set(twice)].join(", ")}`,
        });
    })
    .optional(),
});

const rebuildSchema = z.strictObject({
  from: oneOf(["backup", "revive", "geo"]).default("backup"),
  /** `backup`: which nightly dump to restore: `latest` or a blob name under the nightly prefix. */
  backupBlob: text("latest or a blob name").default("latest"),
  /** `revive`: when the server was deleted (Azure keeps a dropped server revivable for 5 days). */
  deletedAt: text("an ISO-8601 date-time").optional(),
  /**
   * `geo`: the new server's name (GeoRestore creates a *new* server: names are global DNS names and the
   * lost server's record still exists), the paired region to restore into, and that region's network.
   */
  serverName: serverName(", which becomes postgres.serverName after the switch-over").optional(),
  location: text("an Azure region such as ukwest").optional(),
  network: networkSchema.optional(),
});

const retryNumber = wholeNumber(1, MAX_RETRY).optional();
const retrySchema = z.strictObject({
  "backup-flawed": retryNumber,
  inspect: retryNumber,
  "backup-ptr": retryNumber,
  reconcile: retryNumber,
  restore: retryNumber,
  compare: retryNumber,
} satisfies Record<JobStep, unknown>);

const azureSchema = z.strictObject({
  subscriptionId: matching(GUID, "a subscription GUID"),
  resourceGroup: text(),
  location: text("an Azure region such as uksouth"),
});

const postgresSchema = z.strictObject({
  serverName: serverName(""),
  /** The live server's region; default azure.location (differs after a geo-restore's switch-over). */
  location: text("an Azure region such as uksouth").optional(),
  version: oneOf(["13", "14", "15", "16", "17", "18"]),
  sku: z.strictObject({
    name: text("an Azure SKU name such as Standard_B1ms"),
    tier: oneOf(["Burstable", "GeneralPurpose", "MemoryOptimized"]),
  }),
  storageSizeGb: wholeNumber(32, 32767),
  backupRetentionDays: wholeNumber(7, 35).default(7),
  geoRedundantBackup: bool().default(false),
  highAvailability: oneOf(["Disabled", "SameZone", "ZoneRedundant"]).default("Disabled"),
  availabilityZone: oneOf(["1", "2", "3"]).optional(),
  standbyAvailabilityZone: oneOf(["1", "2", "3"]).optional(),
  network: networkSchema,
  /**
   * The servers' only administrator: a Microsoft Entra group (the servers accept Entra logins only). Its
   * members log in as the group's display name with an access token; break-glass is membership of it.
   */
  entraAdmin: z.strictObject({
    objectId: matching(GUID, "the group's object id (a GUID: az ad group show --group <name> --query id)"),
    displayName: text("the group's display name (the PostgreSQL role its members log in as)"),
  }),
  databases: z.record(
    matching(PG_NAME, "a PostgreSQL database name (lowercase letters, digits, _)"),
    z.strictObject({ charset: text().default("UTF8"), collation: text().default("en_US.utf8") }),
  ),
  /** The application's database: the one the backup, restore and compare steps act on. */
  appDatabase: matching(PG_NAME, "a key of postgres.databases"),
  parameters: z
    .record(z.string(), z.string({ error: "must be a string (Azure server parameter values are strings)" }))
    .default({}),
});

const kubernetesSchema = z.strictObject({
  namespace: matching(DNS1123_LABEL, LABEL_TEXT),
  /** Base name of the objects this program creates (`<service>-maintenance`, …): each derived name is checked. */
  service: matching(DNS1123_LABEL, LABEL_TEXT).superRefine((service, ctx) => {
    for (const derived of serviceDerivedNames(service)) {
      const problem = k8sNameProblem(derived);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }
  }),
  deployments: z.record(
    matching(/^[a-z][a-z0-9-]*$/, "a short lowercase id such as web or worker"),
    z.strictObject({ name: matching(DNS1123_SUBDOMAIN, SUBDOMAIN_TEXT), replicas: wholeNumber(0) }),
  ),
  app: z.strictObject({ serviceName: matching(DNS1123_LABEL, LABEL_TEXT), port: wholeNumber(1, 65535) }),
  publicHost: matching(HOST, HOST_TEXT),
  temporaryHost: matching(HOST, HOST_TEXT),
  ingressClassName: text().default("nginx"),
  tlsSecretName: matching(DNS1123_SUBDOMAIN, SUBDOMAIN_TEXT).optional(),
  /** Unprivileged nginx (uid 101, listens on 8080, pid and temp files in /tmp): the page runs as non-root. */
  maintenanceImage: text("a container image reference").default("nginxinc/nginx-unprivileged:1.27-alpine"),
  /**
   * Where the data tool's pods may connect (their NetworkPolicy; vanilla NetworkPolicy has no host names):
   * the servers' delegated subnet (5432) and the backup storage's private endpoints (443), as CIDRs.
   */
  dataEgress: z.strictObject({
    postgresCidrs: z
      .array(matching(CIDR, CIDR_TEXT), { error: `must be a list of ${CIDR_TEXT}` })
      .min(1, { error: `must list the servers' delegated subnet (${CIDR_TEXT})` }),
    storageCidrs: z.array(matching(CIDR, CIDR_TEXT), { error: `must be a list of ${CIDR_TEXT}` }).default([]),
  }),
});

const approversSchema = z.strictObject({
  normal: wholeNumber(0, 6).default(1),
  freeze: wholeNumber(0, 6).default(6),
});

const githubSchema = z.strictObject({
  repository: matching(
    /^[A-Za-z0-9_.-]+$/,
    "a repository name (without the owner; the owner is github:owner)",
  ),
  branch: text().default("main"),
  approvers: approversSchema.default({ normal: 1, freeze: 6 }),
  enforceAdmins: bool().default(false),
  requiredStatusChecks: z.array(text(), { error: "must be a list of status check names" }).default([]),
});

const schema = z.strictObject({
  /** IANA zone the operators think in; wall-clock restore times are read in it. */
  timeZone: text("an IANA time zone such as Europe/London").refine(isValidZone, {
    error: "must be an IANA time zone such as Europe/London or UTC",
  }),
  drMode: oneOf(["none", "ptr", "rebuild"]).default("none"),
  drPhase: oneOf(["isolate", "restore", "validate"]).default("isolate"),
  /** Names this incident's Jobs and kept databases; required in ptr and rebuild modes. */
  incidentId: matching(
    INCIDENT_ID,
    "1–20 lowercase letters, digits and hyphens, e.g. inc-20261124-1305",
  ).optional(),
  ptr: ptrSchema.optional(),
  rebuild: rebuildSchema.optional(),
  /**
   * The one deliberate way to run a recovery step again (a failed Job): `retry.<step>` (1–99) becomes part of
   * that Job's name (`-r<N>`), so `pulumi up` declares a new Job for it and leaves every other Job as it is.
   * Raise the number for each further retry.
   */
  retry: retrySchema.optional(),
  /** The scheduled drill (config/drill.ts): set by the drill workflow for one up, never committed. */
  drill: drillSchema.optional(),
  /** The service's recovery objectives (config/drill.ts): required while a drill is set. */
  objectives: objectivesSchema.optional(),
  /** Overrides outside an incident (planned maintenance): force one lever whatever the mode. */
  maintenance: bool().optional(),
  freeze: bool().optional(),
  stopService: bool().optional(),
  /** The maintenance page text; change it during an incident with one config set. */
  maintenanceMessage: text().default(
    "This service is unavailable while we carry out maintenance. Please try again later.",
  ),
  /**
   * Adopt existing resources on the next `pulumi up` (Pulumi's `import` option with ids computed from the
   * names): the stack takes them over instead of creating duplicates. Remove the key once adopted.
   */
  adopt: z
    .strictObject({
      liveServer: bool().default(false),
      publicIngress: bool().default(false),
      branchProtection: bool().default(false),
    })
    .optional(),
  azure: azureSchema,
  workloadIdentity: workloadIdentitySchema,
  postgres: postgresSchema,
  kubernetes: kubernetesSchema,
  github: githubSchema,
  backup: z.strictObject({
    storageAccountName: matching(STORAGE_ACCOUNT, "3–24 lowercase letters and digits (Azure's rule)"),
    /** Backups must survive what they protect against: production keeps them geo-redundant. */
    redundancy: oneOf([
      "Standard_LRS",
      "Standard_ZRS",
      "Standard_GRS",
      "Standard_RAGRS",
      "Standard_GZRS",
    ]).default("Standard_LRS"),
    container: matching(CONTAINER, "3–63 lowercase letters, digits and single hyphens").default(
      "database-backups",
    ),
    /** Nightly dumps are deleted this many days after they were written (the seed keeps 7). */
    retentionDays: wholeNumber(1, 3650).default(7),
    /**
     * The account's time-based immutability policy: `locked` (production) can never be shortened, disabled or
     * unlocked again — only lengthened; `unlocked` (staging) can. A new account is created unlocked and
     * locked by the next up (Azure creates policies only Disabled or Unlocked; docs/runbook.md).
     */
    immutability: oneOf(["locked", "unlocked"]).default("unlocked"),
    schedule: matching(CRON, "a five-field cron expression such as '0 2 * * *'").default("0 2 * * *"),
  }),
  dataTool: z.strictObject({
    /** The project's image by digest (data-tool-image.ts): a tag could be moved to other content after review. */
    image: text("a container image reference").superRefine((ref, ctx) => {
      const problem = dataToolImageProblem(ref);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
    /** `pg_dump`/`pg_restore -j`: parallel connections (the Job requests as many CPUs). */
    parallelJobs: wholeNumber(1, 16).default(2),
    /**
     * The expected size of the app database in GiB (`pg_database_size`): the Jobs' scratch volume and timeouts
     * follow from it (sizing.ts). Default: `postgres.storageSizeGb`, the server's storage, which the database
     * cannot outgrow. (The tool chooses its block size itself, from the size it measures when a backup starts.)
     */
    databaseSizeGiB: wholeNumber(1, 32767).optional(),
    /**
     * How long `pulumi up` waits for one backup/restore Job before failing it (and the Job's deadline).
     * Default: `jobTimeoutMinutes(databaseSizeGiB, MEASURED_THROUGHPUT.restoreBytesPerSecond)` (sizing.ts).
     */
    timeoutMinutes: wholeNumber(10, 7 * 24 * 60).optional(),
    /**
     * The Jobs' scratch for a restore's download and a directory dump: a generic ephemeral volume (a PVC made
     * and deleted with the pod) of `size` from `storageClass`. Default size: `scratchSizeFor(databaseSizeGiB)`.
     */
    scratch: z
      .strictObject({
        /** AKS's built-in classes: managed-csi (Standard SSD, the default), managed-csi-premium (Premium SSD). */
        storageClass: matching(DNS1123_SUBDOMAIN, `a storage class name (${SUBDOMAIN_TEXT})`).default(
          "managed-csi",
        ),
        size: matching(QUANTITY, "a Kubernetes quantity such as 50Gi").optional(),
      })
      .default({ storageClass: "managed-csi" }),
  }),
});

type Parsed = z.output<typeof schema>;
export type DrMode = Parsed["drMode"];
export type DrPhase = Parsed["drPhase"];
export type RebuildFrom = NonNullable<Parsed["rebuild"]>["from"];
type Network = z.output<typeof networkSchema>;

/**
 * Where a rebuild's server comes from (`rebuild.from`), with exactly what that source needs: validation has
 * proved the fields of the chosen one, so the plan reads them without checking again.
 */
export type RebuildSource =
  /** An empty server; the nightly dump `backupBlob` (`latest` or a blob name) is restored into it. */
  | { readonly from: "backup"; readonly backupBlob: string }
  /** The dropped server revived (ReviveDropped) to its deletion time, checked to be within Azure's 5 days. */
  | { readonly from: "revive"; readonly deletedAt: ResolvedTime }
  /** A new server `serverName` GeoRestored into the paired region `location`, on that region's network. */
  | {
      readonly from: "geo";
      readonly serverName: string;
      readonly location: string;
      readonly network: Network;
    };

/** `drMode=ptr`: the data is lost, the server is not; the PTR copy is made at `restoreTime`. */
export interface PtrIncident {
  readonly mode: "ptr";
  readonly id: string;
  readonly phase: DrPhase;
  /** Unset only in the isolate phase, before the operator chose the restore point (required after it). */
  readonly restoreTime: ResolvedTime | undefined;
  /** The pin (`ptr.requestedAt`, valid for this restore time): the instant the window was checked at. */
  readonly requestedAt: DateTime | undefined;
}

/** `drMode=rebuild`: the server is lost and comes back from `source`. */
export interface RebuildIncident {
  readonly mode: "rebuild";
  readonly id: string;
  readonly phase: DrPhase;
  readonly source: RebuildSource;
}

/**
 * The incident as validation proved it: `drMode` with what that mode requires (the id, the restore point, the
 * rebuild's source), built once by parseConfig. The plan switches on `mode` (and a rebuild on `source.from`)
 * and never re-checks a key; a new variant fails to compile where a switch ends in `unreachable`.
 */
export type Incident = { readonly mode: "none" } | PtrIncident | RebuildIncident;

/** What the plan gets: the schema's output plus the incident and the resolved times (all checks passed). */
export interface StackConfig extends Readonly<Omit<Parsed, "ptr">> {
  /** What drMode, drPhase, incidentId, ptr and rebuild add up to: what the plan decides from. */
  readonly incident: Incident;
  /**
   * Keys that are set but do not apply in this state (each naming the key and why it is ignored): the
   * program logs them with `pulumi.log.warn`, so `pulumi preview` and the offline plan show them.
   */
  readonly warnings: readonly string[];
  /**
   * `ptr` as set, in any mode (the plan reads the incident's restore point; the next step lists a `ptr` left
   * behind, and `ptr.tables` chooses the restore's kind).
   */
  readonly ptr:
    | {
        readonly restore?: ResolvedTime;
        readonly requestedAt?: DateTime;
        /** `ptr.tables`: restore only these (`schema.table`), in the order given. */
        readonly tables?: readonly string[];
      }
    | undefined;
}

/** The end of an exhaustive switch: a variant nobody handles is a compile error here, and a throw at run time. */
export function unreachable(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}

/** Keys this program reads; anything else under `service-dr:` is a typo and is reported. */
export const CONFIG_KEYS = Object.keys(schema.shape) as readonly string[];
/** The top-level kind of each key, read off the schema, so a new structured key cannot be forgotten here. */
const OBJECT_KEYS = new Set(CONFIG_KEYS.filter((k) => topLevelKind(k) === "object"));
const BOOLEAN_KEYS = new Set(CONFIG_KEYS.filter((k) => topLevelKind(k) === "boolean"));

function topLevelKind(key: string): string {
  let t: z.core.$ZodType = schema.shape[key as keyof typeof schema.shape];
  // Unwrap .optional() and .default() to the type underneath.
  while (t instanceof z.ZodOptional || t instanceof z.ZodDefault) t = t.unwrap();
  return t._zod.def.type;
}

/** A dropped flexible server can be revived for this long after deletion. */
export const REVIVE_WINDOW = Duration.fromObject({ days: 5 });

/**
 * Decodes every `service-dr:*` key of the config the engine passes (`pulumi.runtime.allConfig()`: every value a
 * string) into a plain object. Top-level values arrive as strings (that is how `pulumi config set` stores
 * them); structured keys are JSON, and the three override switches become booleans. Returns the raw object and
 * the problems found while reading (bad JSON, unknown keys, missing secrets).
 */
export function readRawConfig(all: Readonly<Record<string, string>>): {
  raw: Record<string, unknown>;
  problems: string[];
} {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue;
    const key = fullKey.slice(PROJECT.length + 1);
    const replacement = REPLACED_KEYS[key];
    if (replacement !== undefined) {
      problems.push(`${key}: is no longer a setting; ${replacement}`);
      continue;
    }
    if (!CONFIG_KEYS.includes(key)) {
      const known = CONFIG_KEYS;
      const near = nearest(key, known);
      problems.push(
        `${key}: is not a setting of this program${near === undefined ? "" : ` (did you mean ${near}?)`}; known settings are: ${known.join(", ")}`,
      );
      continue;
    }
    raw[key] = decodeTopLevel(key, value, problems);
  }
  return { raw, problems };
}

function decodeTopLevel(key: string, value: string, problems: string[]): unknown {
  if (OBJECT_KEYS.has(key)) {
    try {
      return JSON.parse(value) as unknown;
    } catch (cause) {
      problems.push(
        `${key}: must be a structured value (a YAML map in the stack file); received ${JSON.stringify(value)} (${String(cause)})`,
      );
      return undefined;
    }
  }
  if (BOOLEAN_KEYS.has(key)) {
    if (value === "true") return true;
    if (value === "false") return false;
  }
  return value;
}

/** Reads and validates the running stack's config; throws ConfigError with every problem. */
export function loadConfig(now: DateTime): StackConfig {
  const { raw, problems } = readRawConfig(pulumi.runtime.allConfig());
  const cfg = parseConfig(raw, now, problems);
  // `pulumi preview`/`up` show these as warnings; the offline plan collects and prints them.
  for (const warning of cfg.warnings) void pulumi.log.warn(warning);
  return cfg;
}

/**
 * Validates a raw config object. Pure: `now` is the clock for every time check. `earlier` are problems found
 * while reading, reported together with the schema's.
 */
export function parseConfig(
  raw: Record<string, unknown>,
  now: DateTime,
  earlier: readonly string[] = [],
): StackConfig {
  const problems = [...earlier];
  const result = schema.safeParse(raw);
  if (!result.success) for (const issue of result.error.issues) problems.push(...formatIssue(issue, raw));
  // The checks that relate keys to each other and to the clock run on every value that parses on its own,
  // whether or not the rest of the config did: the operator sees every problem in one go.
  const ctx = ruleContext(raw, now);
  problems.push(...crossFieldProblems(ctx));
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const data = result.data;
  const incident = incidentOf(data, ctx);
  return {
    ...data,
    incident,
    warnings: [...notApplying(data, incident), ...drillWarnings(data.drill, incident.mode)],
    ptr:
      data.ptr === undefined
        ? undefined
        : {
            restore: ctx.restore.value,
            requestedAt: ctx.pin.value,
            ...(data.ptr.tables === undefined ? {} : { tables: data.ptr.tables }),
          },
  };
}

/**
 * The incident of a config that passed every check. Each field read here was proved by a rule (named in the
 * `proven` text), so a missing one is a bug in the rules, not a config problem: it throws rather than guess.
 */
function incidentOf(data: Parsed, ctx: RuleContext): Incident {
  const mode = data.drMode;
  const phase = data.drPhase;
  switch (mode) {
    case "none":
      return { mode };
    case "ptr": {
      const id = proven(data.incidentId, "incidentId (incidentIdRequired)");
      return { mode, id, phase, restoreTime: ctx.restore.value, requestedAt: ctx.pin.value };
    }
    case "rebuild": {
      const id = proven(data.incidentId, "incidentId (incidentIdRequired)");
      return { mode, id, phase, source: rebuildSource(data.rebuild, ctx) };
    }
    default:
      return unreachable(mode);
  }
}

/** The one place `rebuild.from` (default backup) becomes a source; without a `rebuild` key, the defaults. */
function rebuildSource(rebuild: Parsed["rebuild"], ctx: RuleContext): RebuildSource {
  const from = rebuild?.from ?? "backup";
  switch (from) {
    case "backup":
      return { from, backupBlob: rebuild?.backupBlob ?? "latest" };
    case "revive":
      return { from, deletedAt: proven(ctx.deleted.value, "rebuild.deletedAt (reviveDeletedAt)") };
    case "geo":
      return {
        from,
        serverName: proven(rebuild?.serverName, "rebuild.serverName (geoRules)"),
        location: proven(rebuild?.location, "rebuild.location (geoRules)"),
        network: proven(rebuild?.network, "rebuild.network (geoRules)"),
      };
    default:
      return unreachable(from);
  }
}

function proven<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`config: ${what} passed validation but is missing`);
  return value;
}

/** The value of `value` under schema `s` (defaults applied), or undefined if it does not parse. */
function parsed<S extends z.ZodType>(s: S, value: unknown): z.output<S> | undefined {
  const r = s.safeParse(value);
  return r.success ? r.data : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Cross-field rules: the checks that relate keys to each other and to the clock, one concern each.

/** One problem as the operator reads it: the key, what is allowed, what was received. */
export type Problem = string;

/** A value read from the config (a time, the pin), or why it could not be (empty when it was). */
interface Resolution<T> {
  readonly problems: readonly Problem[];
  readonly value?: T;
}

/**
 * What the rules read. Every value goes through its own schema (`parsed()`), so a rule runs whenever its own
 * inputs are valid — whatever else in the config is not — and is silent when an input is invalid (the schema
 * reports that one). The times are resolved here, once: rules report their problems, the incident takes their
 * values.
 */
export interface RuleContext {
  readonly now: DateTime;
  readonly zone: string | undefined;
  readonly mode: DrMode | undefined;
  readonly phase: DrPhase | undefined;
  /** The raw top-level object and its structured keys (undefined when a key is not an object). */
  readonly raw: Record<string, unknown>;
  readonly ptr: Record<string, unknown> | undefined;
  readonly rebuild: Record<string, unknown> | undefined;
  readonly pg: Record<string, unknown> | undefined;
  readonly k8s: Record<string, unknown> | undefined;
  readonly gh: Record<string, unknown> | undefined;
  readonly appDatabase: string | undefined;
  readonly from: RebuildFrom | undefined;
  /** `ptr.restoreTime` as written, and in UTC (in any mode: a bad time is reported even if unused). */
  readonly restoreText: string | undefined;
  readonly restore: Resolution<ResolvedTime>;
  /** The pin's instant, checked only once the restore time resolved (it is bound to that time). */
  readonly pin: Resolution<DateTime>;
  /** `rebuild.deletedAt` in UTC. */
  readonly deleted: Resolution<ResolvedTime>;
}

export function ruleContext(raw: Record<string, unknown>, now: DateTime): RuleContext {
  const zone = parsed(schema.shape.timeZone, raw.timeZone);
  const ptr = isRecord(raw.ptr) ? raw.ptr : undefined;
  const rebuild = isRecord(raw.rebuild) ? raw.rebuild : undefined;
  const pg = isRecord(raw.postgres) ? raw.postgres : undefined;
  const restoreText = parsed(ptrSchema.shape.restoreTime, ptr?.restoreTime);
  const restore: Resolution<ResolvedTime> =
    restoreText === undefined ? { problems: [] } : resolveIn("ptr.restoreTime", restoreText, zone);
  const deletedText = parsed(rebuildSchema.shape.deletedAt, rebuild?.deletedAt);
  return {
    now,
    zone,
    mode: parsed(schema.shape.drMode, raw.drMode),
    phase: parsed(schema.shape.drPhase, raw.drPhase),
    raw,
    ptr,
    rebuild,
    pg,
    k8s: isRecord(raw.kubernetes) ? raw.kubernetes : undefined,
    gh: isRecord(raw.github) ? raw.github : undefined,
    appDatabase: parsed(postgresSchema.shape.appDatabase, pg?.appDatabase),
    from: parsed(rebuildSchema.shape.from, rebuild?.from),
    restoreText,
    restore,
    pin:
      restoreText === undefined || restore.value === undefined
        ? { problems: [] }
        : restorePin(ptr, restoreText, restore.value, zone, now),
    deleted: deletedText === undefined ? { problems: [] } : resolveIn("rebuild.deletedAt", deletedText, zone),
  };
}

export type Rule = (ctx: RuleContext) => Problem[];

/** The database lives on the server's storage: an expected size above it is a typo (GB for MB, an extra 0). */
const databaseSizeFitsStorage: Rule = ({ raw, pg }) => {
  const size = parsed(
    schema.shape.dataTool.shape.databaseSizeGiB,
    isRecord(raw.dataTool) ? raw.dataTool.databaseSizeGiB : undefined,
  );
  const storage = parsed(postgresSchema.shape.storageSizeGb, pg?.storageSizeGb);
  if (size === undefined || storage === undefined || size <= storage) return [];
  return [
    `dataTool.databaseSizeGiB: must be at most postgres.storageSizeGb (${storage}), the server's storage that holds the database; received ${size}`,
  ];
};

/**
 * pg_dump refuses a server newer than itself: the servers' major must not pass the client the data tool's image
 * carries (`clientMajor`, image.json), or every backup of them fails.
 */
export const serverWithinClient =
  (clientMajor: number): Rule =>
  ({ pg }) => {
    const version = parsed(postgresSchema.shape.version, pg?.version);
    if (version === undefined || Number(version) <= clientMajor) return [];
    return [
      `postgres.version: must be at most ${clientMajor}, the PostgreSQL client major of the data tool's image ` +
        `(packages/dr-data/image.json; pg_dump refuses a newer server): publish an image with a newer client first; received ${JSON.stringify(version)}`,
    ];
  };

/** An incident's Jobs and kept databases are named from its id: no incident without one. */
const incidentIdRequired: Rule = ({ mode, raw, now, zone, appDatabase }) =>
  (mode === "ptr" || mode === "rebuild") && raw.incidentId === undefined
    ? [
        `incidentId: is required when drMode is ${mode} (it names this incident's Jobs and the databases the restore keeps); ` +
          `allowed: 1–20 lowercase letters, digits and hyphens; received nothing. Set it with: pulumi config set incidentId ${suggestedIncidentId(now, zone ?? "UTC", appDatabase)}`,
      ]
    : [];

/** The PTR copy, and so everything after isolate, is made at the restore time. */
const restoreTimeRequiredInPhase: Rule = ({ mode, phase, restoreText, zone }) =>
  mode === "ptr" && (phase === "restore" || phase === "validate") && restoreText === undefined
    ? [
        `ptr.restoreTime: is required when drMode is ptr and drPhase is ${phase} (the PTR copy is made at that time); received nothing. ` +
          `Set it with: pulumi config set --path ptr.restoreTime 2026-11-24T13:05:00 (wall clock in ${zone ?? "the stack's timeZone"})`,
      ]
    : [];

/** `ptr.restoreTime` converts to one UTC instant (a valid time, no DST gap or overlap). */
const restoreTimeResolves: Rule = ({ restore }) => [...restore.problems];

/** `ptr.requestedAt` + `ptr.requestedFor`: both or neither, and bound to the current restore time. */
const restorePinValid: Rule = ({ pin }) => [...pin.problems];

/**
 * Azure restores only inside the retention window: checked at the pin's instant if there is one, else now.
 * Only in ptr mode, where the copy can still be (re)created.
 */
const restorePointInWindow: Rule = ({ mode, pg, restore, restoreText, pin, zone, now }) => {
  const retention = parsed(postgresSchema.shape.backupRetentionDays, pg?.backupRetentionDays);
  if (mode !== "ptr" || restore.value === undefined || retention === undefined) return [];
  const checkedAt = pin.value ?? now.toUTC();
  const utc = restore.value.utc;
  const problem = windowProblem(utc, restoreWindow(checkedAt, retention), checkedAt, zone ?? "UTC");
  if (problem === undefined) return [];
  const at = pin.value === undefined ? "" : ` (checked at ptr.requestedAt, ${azureUtc(checkedAt)} UTC)`;
  return [`ptr.restoreTime: ${JSON.stringify(restoreText)} → ${azureUtc(utc)} UTC ${problem}${at}`];
};

/** A revive needs the deletion time, and Azure revives a dropped server only for 5 days after it. */
const reviveDeletedAt: Rule = ({ mode, from, rebuild, deleted, zone, now }) => {
  if (mode !== "rebuild" || from !== "revive") return [];
  if (rebuild?.deletedAt === undefined)
    return [
      `rebuild.deletedAt: is required when rebuild.from is revive (Azure revives a dropped server to its deletion time); ` +
        `received nothing. Find it in the activity log and set: pulumi config set --path rebuild.deletedAt 2026-11-24T13:05:00`,
    ];
  const deletedAt = deleted.value;
  if (deletedAt === undefined) return [...deleted.problems];
  const text = JSON.stringify(rebuild.deletedAt);
  if (deletedAt.utc > now)
    return [
      `rebuild.deletedAt: is in the future (${azureUtc(deletedAt.utc)} UTC, now ${azureUtc(now)} UTC); received ${text}`,
    ];
  const since = now.minus(REVIVE_WINDOW);
  if (deletedAt.utc < since)
    return [
      `rebuild.deletedAt: is more than 5 days ago (${azureUtc(deletedAt.utc)} UTC); Azure can revive a dropped server only for 5 days ` +
        `after deletion (since ${azureUtc(since)} UTC, ${humanInZone(since, zone ?? "UTC")}); ` +
        `use rebuild.from backup; received ${text}`,
    ];
  return [];
};

/**
 * A geo-restore: the source's geo-redundant backup, the paired region and its network, and a new server —
 * another region and another name than the live server's. The name is checked whatever the mode (it becomes
 * postgres.serverName after the switch-over).
 */
const geoRules: Rule = ({ mode, from, rebuild, pg, raw }) => {
  const p: Problem[] = [];
  if (mode === "rebuild" && from === "geo") {
    if (parsed(postgresSchema.shape.geoRedundantBackup, pg?.geoRedundantBackup) === false)
      p.push(
        `rebuild.from: geo needs postgres.geoRedundantBackup true (set when the lost server was created); received geo with postgres.geoRedundantBackup false; use rebuild.from backup or revive`,
      );
    if (rebuild?.location === undefined)
      p.push(
        `rebuild.location: is required when rebuild.from is geo (the paired region to restore into, e.g. ukwest); received nothing`,
      );
    if (rebuild?.network === undefined)
      p.push(
        `rebuild.network: is required when rebuild.from is geo (a delegated subnet and private DNS zone in rebuild.location); received nothing`,
      );
    if (rebuild?.serverName === undefined)
      p.push(
        `rebuild.serverName: is required when rebuild.from is geo (a geo-restore creates a new server: server names are global DNS names and the lost server's record still exists); ` +
          `allowed: ${SERVER_NAME_TEXT}, at most 59 and not postgres.serverName; received nothing. Set it with: pulumi config set --path rebuild.serverName <name>-geo`,
      );
  }
  const geoLocation = parsed(rebuildSchema.shape.location, rebuild?.location);
  const liveLocation =
    parsed(postgresSchema.shape.location, pg?.location) ??
    parsed(azureSchema.shape.location, isRecord(raw.azure) ? raw.azure.location : undefined);
  if (from === "geo" && geoLocation !== undefined && geoLocation === liveLocation)
    p.push(
      `rebuild.location: must be another region than the live server's (${liveLocation}) for a geo-restore; received ${JSON.stringify(geoLocation)}`,
    );
  const geoName = parsed(rebuildSchema.shape.serverName, rebuild?.serverName);
  if (geoName !== undefined && geoName === parsed(postgresSchema.shape.serverName, pg?.serverName))
    p.push(
      `rebuild.serverName: must differ from postgres.serverName (the geo-restored server is a new server beside the lost one); received ${JSON.stringify(geoName)} for both`,
    );
  return p;
};

/** The backup, restore and compare steps act on postgres.appDatabase: it must be declared. */
const databasesDeclared: Rule = ({ pg, appDatabase }) => {
  const databases = isRecord(pg?.databases) ? Object.keys(pg.databases) : undefined;
  const p: Problem[] = [];
  if (appDatabase !== undefined && databases !== undefined && !databases.includes(appDatabase))
    p.push(
      `postgres.appDatabase: must be one of the keys of postgres.databases (${databases.join(", ") || "none declared"}); received ${JSON.stringify(appDatabase)}`,
    );
  if (databases?.length === 0)
    p.push(`postgres.databases: must declare at least the application's database; received {}`);
  return p;
};

/** Azure offers high availability only above the Burstable tier. */
const highAvailabilityNeedsTier: Rule = ({ pg }) => {
  const ha = parsed(postgresSchema.shape.highAvailability, pg?.highAvailability);
  const tier = parsed(postgresSchema.shape.sku.shape.tier, isRecord(pg?.sku) ? pg.sku.tier : undefined);
  return ha !== undefined && ha !== "Disabled" && tier === "Burstable"
    ? [
        `postgres.highAvailability: ${ha} is not available on the Burstable tier (allowed there: Disabled); received ${ha} with postgres.sku.tier Burstable`,
      ]
    : [];
};

/** Zone-redundant high availability keeps the standby in another zone than the primary. */
const standbyZoneDiffers: Rule = ({ pg }) => {
  const pgShape = postgresSchema.shape;
  const ha = parsed(pgShape.highAvailability, pg?.highAvailability);
  const zoneA = parsed(pgShape.availabilityZone, pg?.availabilityZone);
  const zoneB = parsed(pgShape.standbyAvailabilityZone, pg?.standbyAvailabilityZone);
  return ha === "ZoneRedundant" && zoneA !== undefined && zoneA === zoneB
    ? [
        `postgres.standbyAvailabilityZone: must differ from postgres.availabilityZone for ZoneRedundant high availability; received ${zoneB} for both`,
      ]
    : [];
};

/** Stopping the service means stopping its deployments: an empty list would stop nothing. */
const deploymentsListed: Rule = ({ k8s }) =>
  isRecord(k8s?.deployments) && Object.keys(k8s.deployments).length === 0
    ? [`kubernetes.deployments: must list the deployments to stop (web, worker); received {}`]
    : [];

/** The temporary host is how the app is validated while the public one shows the maintenance page. */
const hostsDiffer: Rule = ({ k8s }) => {
  const publicHost = parsed(kubernetesSchema.shape.publicHost, k8s?.publicHost);
  const temporaryHost = parsed(kubernetesSchema.shape.temporaryHost, k8s?.temporaryHost);
  return publicHost !== undefined && publicHost === temporaryHost
    ? [
        `kubernetes.temporaryHost: must differ from kubernetes.publicHost (the temporary ingress is how the app is validated while the public host shows the maintenance page); received ${temporaryHost} for both`,
      ]
    : [];
};

/** A freeze that needs fewer approvers than normal would loosen the branch protection. */
const freezeApproversAtLeastNormal: Rule = ({ gh }) => {
  const approvers = isRecord(gh?.approvers) ? gh.approvers : {};
  const normal = parsed(approversSchema.shape.normal, approvers.normal);
  const freeze = parsed(approversSchema.shape.freeze, approvers.freeze);
  return normal !== undefined && freeze !== undefined && freeze < normal
    ? [
        `github.approvers.freeze: must be ≥ github.approvers.normal (${normal}), or the freeze would loosen the branch protection; received ${freeze}`,
      ]
    : [];
};

/**
 * The recovery Jobs are named from the incident, their step and the restore time; the restore's databases
 * from the incident (rebuild) or the restore time (ptr): every such name must fit its limit.
 */
const incidentNamesFit: Rule = ({ raw, appDatabase }) => {
  const incidentId = parsed(schema.shape.incidentId, raw.incidentId);
  if (incidentId === undefined) return [];
  return incidentIdProblems(incidentId, appDatabase).map(
    (problem) => `incidentId: ${problem}; received ${JSON.stringify(incidentId)}`,
  );
};

/**
 * The cross-field rules, in the order their problems are reported. A new rule is a function here and a row of
 * its own table test (test/config-rules.test.ts).
 */
export const CROSS_FIELD_RULES = {
  databaseSizeFitsStorage,
  serverWithinClient: serverWithinClient(DATA_TOOL_CLIENT_MAJOR),
  incidentIdRequired,
  restoreTimeRequiredInPhase,
  restoreTimeResolves,
  restorePinValid,
  restorePointInWindow,
  reviveDeletedAt,
  geoRules,
  databasesDeclared,
  highAvailabilityNeedsTier,
  standbyZoneDiffers,
  deploymentsListed,
  hostsDiffer,
  freezeApproversAtLeastNormal,
  incidentNamesFit,
  drillProblems,
} as const satisfies Readonly<Record<string, Rule>>;

/** Every rule's problems, in the rules' order: all of them, not the first one. */
function crossFieldProblems(ctx: RuleContext): Problem[] {
  return Object.values(CROSS_FIELD_RULES).flatMap((rule) => rule(ctx));
}

/**
 * Resolves a restore or deletion time. A time with its own offset or `Z` needs no zone, so it is checked even
 * when timeZone is invalid; a wall-clock time then cannot be read.
 */
function resolveIn(key: string, text: string, zone: string | undefined): Resolution<ResolvedTime> {
  if (zone === undefined && !hasOffset(text)) {
    return {
      problems: [
        `${key}: is a wall-clock time, and timeZone is not a valid zone, so it cannot be converted to UTC; ` +
          `fix timeZone, or give the time with its offset (e.g. "${text.trim()}Z" for UTC); received ${JSON.stringify(text)}`,
      ],
    };
  }
  const r = resolveRestoreTime(text, zone ?? "UTC");
  return r.ok
    ? { problems: [], value: r.value }
    : { problems: [`${key}: ${r.problem}; received ${JSON.stringify(text)}`] };
}

/**
 * `ptr.requestedAt` + `ptr.requestedFor`: the instant the window is checked at, when the pin is valid. The pin
 * is bound to one restore time: a different `ptr.restoreTime` is a new copy (the old one is deleted first, the
 * name is fixed), which Azure restores only inside the window of *now* — so then the pin is refused and the
 * window is checked against now, and no expired time can get past the check and cost the existing copy.
 */
function restorePin(
  ptr: Record<string, unknown> | undefined,
  restoreText: string,
  restore: ResolvedTime,
  zone: string | undefined,
  now: DateTime,
): Resolution<DateTime> {
  const problems: Problem[] = [];
  const atText = typeof ptr?.requestedAt === "string" ? ptr.requestedAt : undefined;
  const forText = typeof ptr?.requestedFor === "string" ? ptr.requestedFor : undefined;
  if (atText === undefined && forText === undefined) return { problems };
  const unpin = "pulumi config rm --path ptr.requestedAt && pulumi config rm --path ptr.requestedFor";
  if (forText === undefined) {
    problems.push(
      `ptr.requestedFor: is required with ptr.requestedAt (it binds the pin to the restore time whose copy was requested then); ` +
        `if the existing copy was made for the current restore time, set: pulumi config set --path ptr.requestedFor ${JSON.stringify(restoreText)}; ` +
        `otherwise remove the pin: pulumi config rm --path ptr.requestedAt; received nothing`,
    );
    return { problems };
  }
  if (atText === undefined) {
    problems.push(
      `ptr.requestedAt: is required with ptr.requestedFor (when the copy for that restore time was requested, with an offset or Z); ` +
        `set it: pulumi config set --path ptr.requestedAt 2026-11-25T09:00:00Z, or remove the pin: pulumi config rm --path ptr.requestedFor; received nothing`,
    );
    return { problems };
  }
  let at: DateTime | undefined;
  const req = DateTime.fromISO(atText, { setZone: true });
  if (!req.isValid || !/([+-]\d{2}:?\d{2}|Z)$/.test(atText)) {
    problems.push(
      `ptr.requestedAt: must be an ISO-8601 date-time with an offset or Z; received ${JSON.stringify(atText)}`,
    );
  } else if (req > now) {
    problems.push(
      `ptr.requestedAt: must not be in the future (now is ${azureUtc(now)} UTC); received ${JSON.stringify(atText)}`,
    );
  } else at = req.toUTC();
  const resolved = resolveIn("ptr.requestedFor", forText, zone);
  problems.push(...resolved.problems);
  const pinned = resolved.value;
  if (pinned === undefined) return { problems };
  if (!pinned.utc.equals(restore.utc)) {
    problems.push(
      `ptr.requestedFor: the pin (ptr.requestedAt) is for the copy of ${azureUtc(pinned.utc)} UTC, but ptr.restoreTime ${JSON.stringify(restoreText)} is ${azureUtc(restore.utc)} UTC: ` +
        `a new restore time makes a new copy (the existing one is deleted first), which Azure restores only inside the window as of now, so ptr.restoreTime is checked against now. ` +
        `Remove the pin: ${unpin}; once the new copy exists, pin it again: pulumi config set --path ptr.requestedFor ${JSON.stringify(restoreText)} && pulumi config set --path ptr.requestedAt <the UTC time of that pulumi up>; ` +
        `received ${JSON.stringify(forText)}`,
    );
    return { problems };
  }
  return at === undefined ? { problems } : { problems, value: at };
}

/** Keys an earlier version read, refused with what replaces them (the stack files carry none of them). */
const REPLACED_KEYS: Readonly<Record<string, string>> = {
  postgresAdminPassword:
    'the servers accept Microsoft Entra logins only (postgres.entraAdmin), there is no password to keep: remove it with pulumi config rm postgresAdminPassword (docs/runbook.md, "From a password server to Entra only")',
  "postgres.administratorLogin":
    "the servers accept Microsoft Entra logins only: set postgres.entraAdmin.objectId and postgres.entraAdmin.displayName (the administrators group) and remove it with pulumi config rm --path postgres.administratorLogin",
  "workloadIdentity.postgresAuth":
    "the data tool always logs in with its managed identity (the servers accept Entra logins only): remove it with pulumi config rm --path workloadIdentity.postgresAuth",
  "dataTool.scratchSize":
    "the scratch is a volume claim now: set dataTool.scratch.size (a Kubernetes quantity such as 50Gi), or dataTool.databaseSizeGiB to derive it",
};

/** `key.path: <what is allowed>; received <value>` for one schema issue (one line per unknown key). */
function formatIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string[] {
  // As `pulumi config set --path` spells it: `ptr.tables[0]`, not `ptr.tables.0`.
  const key = issue.path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
  if (issue.code === "unrecognized_keys") {
    const where = key === "" ? "" : `${key}.`;
    const fields = fieldsAt(issue.path);
    return issue.keys.map((k) => {
      const replacement = REPLACED_KEYS[`${where}${k}`];
      if (replacement !== undefined) {
        return `${where}${k}: is no longer a setting; ${replacement}; received ${JSON.stringify(valueAt(raw, [...issue.path, k]))}`;
      }
      const near = fields === undefined ? undefined : nearest(k, fields);
      const hint = near === undefined ? "" : ` (did you mean ${where}${near}?)`;
      const list =
        fields === undefined
          ? "check the spelling (the settings are declared in Pulumi.yaml)"
          : `the fields of ${key} are: ${fields.join(", ")}`;
      return `${where}${k}: is not a known setting${hint}; ${list}`;
    });
  }
  const received = valueAt(raw, issue.path);
  if (received === undefined && issue.code === "invalid_type")
    return [`${key}: is required and ${issue.message}; received nothing`];
  return [`${key}: ${issue.message}; received ${JSON.stringify(received)}`];
}

/**
 * The field names of the structured key at `path` (`["ptr"]` → restoreTime, requestedAt, requestedFor),
 * read off the schema; through a map (postgres.databases.<db>) its values' fields. Undefined if none.
 */
function fieldsAt(path: readonly PropertyKey[]): string[] | undefined {
  let t: z.core.$ZodType = schema;
  for (const segment of path) {
    t = unwrapped(t);
    if (t instanceof z.ZodObject) {
      const next = (t.shape as Record<string, z.core.$ZodType | undefined>)[String(segment)];
      if (next === undefined) return undefined;
      t = next;
    } else if (t instanceof z.ZodRecord) t = t.valueType;
    else return undefined;
  }
  t = unwrapped(t);
  return t instanceof z.ZodObject ? Object.keys(t.shape) : undefined;
}

function unwrapped(t: z.core.$ZodType): z.core.$ZodType {
  let u = t;
  while (u instanceof z.ZodOptional || u instanceof z.ZodDefault) u = u.unwrap();
  return u;
}

/**
 * The known name nearest to a mistyped one, if it is near enough to be the likely intent: the same letters in
 * another case (`drmode` → drMode), or at most a third of its length (at least 1, at most 3) edits away.
 */
export function nearest(typed: string, known: readonly string[]): string | undefined {
  const lower = typed.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  return best !== undefined && best.distance <= limit ? best.name : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Keys that are set but do nothing in this state, each with why and how to remove it. Only for a config that
 * is otherwise valid. `drPhase` is compared with its Pulumi.yaml default (isolate), which the engine passes
 * whether or not the stack sets it, so only restore/validate without an incident can be told apart.
 */
function notApplying(c: Parsed, incident: Incident): string[] {
  const w: string[] = [];
  if (incident.mode === "none") {
    if (c.drPhase !== "isolate")
      w.push(
        `drPhase: ${c.drPhase} is ignored while drMode is none (no incident is open); remove it: ${rm("drPhase")}`,
      );
    for (const key of ["ptr", "rebuild", "retry", "incidentId"] as const) {
      if (c[key] !== undefined)
        w.push(
          `${key}: is ignored while drMode is none (${c.incidentId === undefined ? "no incident is open" : `incident ${c.incidentId} is closed`}); remove it: ${rm(key)}`,
        );
    }
    return w;
  }
  if (incident.mode === "ptr" && c.rebuild !== undefined)
    w.push(
      `rebuild: is ignored in drMode ptr (it describes a rebuild of a lost server); remove it: ${rm("rebuild")}`,
    );
  if (incident.mode === "rebuild" && c.ptr !== undefined)
    w.push(
      `ptr: is ignored in drMode rebuild (it describes a point-in-time restore); remove it: ${rm("ptr")}`,
    );
  if (incident.mode === "rebuild" && c.rebuild !== undefined) {
    const from = incident.source.from;
    const applies: Record<string, readonly string[]> = {
      backup: ["from", "backupBlob"],
      revive: ["from", "deletedAt"],
      geo: ["from", "serverName", "location", "network"],
    };
    for (const field of setFields(c.rebuild)) {
      // backupBlob has a default ("latest"): only a value other than it was set by someone.
      if (field === "backupBlob" && c.rebuild.backupBlob === "latest") continue;
      if (!applies[from]!.includes(field))
        w.push(
          `rebuild.${field}: is ignored with rebuild.from ${from} (it applies to rebuild.from ${Object.keys(
            applies,
          )
            .filter((f) => applies[f]!.includes(field))
            .join(", ")}); remove it: ${rm(`rebuild.${field}`)}`,
        );
    }
  }
  for (const step of setFields(c.retry) as JobStep[]) {
    if (!jobDeclared(incident, step))
      w.push(
        `retry.${step}: is ignored: no ${step} Job is declared in drMode ${incident.mode}, drPhase ${incident.phase}; remove it: ${rm(`retry.${step}`)}`,
      );
  }
  return w;
}

/** Whether this incident declares a `step` Job (as plan-data.ts plans them): else `retry.<step>` does nothing. */
function jobDeclared(incident: PtrIncident | RebuildIncident, step: JobStep): boolean {
  switch (incident.mode) {
    case "ptr": {
      // The flawed database's backup from the start; the rest once the copy exists, the restore's after isolate.
      const copy = incident.restoreTime !== undefined;
      return step === "backup-flawed" || (copy && (step === "inspect" || incident.phase !== "isolate"));
    }
    case "rebuild":
      // Only a server rebuilt empty gets the nightly dump restored into it (and compared).
      return (
        incident.source.from === "backup" &&
        incident.phase !== "isolate" &&
        (step === "restore" || step === "compare")
      );
    default:
      return unreachable(incident);
  }
}

/** The command that removes `key` from the stack config. */
function rm(key: string): string {
  return key.includes(".") ? `pulumi config rm --path ${key}` : `pulumi config rm ${key}`;
}

/** The fields of `o` that are set. */
function setFields(o: object | undefined): string[] {
  return o === undefined
    ? []
    : Object.entries(o)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const segment of path) {
    if (!isRecord(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[segment];
  }
  return cur;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
