/**
 * The stack configuration's schema: every `service-dr:*` key with what it allows (each text is the "what is
 * allowed" half of a problem; messages.ts adds the key and what was received), its default, and the types the
 * rest of the program reads. Also what is read off the schema itself: the keys, their kinds, a key's fields.
 */
import { z } from "zod";
import { workloadIdentitySchema } from "./identity";
import { alertsSchema } from "./alerts";
import { drillSchema, objectivesSchema } from "./drill";
import { dataToolImageProblem } from "./data-tool-image";
import {
  AZURE_SERVER_NAME,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  INCIDENT_ID,
  MAX_RETRY,
  k8sNameProblem,
  serviceDerivedNames,
  ptrServerName,
} from "@service-dr/dr-data";
import type { JobStep } from "@service-dr/dr-data";
import { isValidZone } from "../plan/time";

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

export const SERVER_NAME_TEXT =
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
  report: retryNumber,
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
  /**
   * The data pods' namespace (data-namespace.ts): the CronJob, the recovery Jobs, the troubleshooting pod, their
   * ServiceAccounts and NetworkPolicy. Default `<namespace>-dr`. Created by the platform, not by this program.
   */
  dataNamespace: matching(DNS1123_LABEL, LABEL_TEXT).optional(),
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

export const schema = z.strictObject({
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
  /**
   * When the open incident was declared (wall clock in timeZone, or with an offset): the incident report's
   * RTO starts there instead of at the first recovery Job. Only while drMode is ptr or rebuild.
   */
  incidentDeclaredAt: text("an ISO-8601 date-time").optional(),
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
  /** Azure Monitor alerting on the nightly backup and the data tool's Jobs (alerts.ts); production requires it. */
  alerts: alertsSchema.optional(),
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
     * Default: `jobTimeoutMinutes(databaseSizeGiB × LONGEST_JOB_WORK, MEASURED_THROUGHPUT.restoreBytesPerSecond)`
     * (sizing.ts: sized for the whole PTR restore, the Job with the most work).
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

export type Parsed = z.output<typeof schema>;
export type DrMode = Parsed["drMode"];
export type DrPhase = Parsed["drPhase"];
export type RebuildFrom = NonNullable<Parsed["rebuild"]>["from"];
export type Network = z.output<typeof networkSchema>;

/** Keys this program reads; anything else under `service-dr:` is a typo and is reported. */
export const CONFIG_KEYS = Object.keys(schema.shape) as readonly string[];

/** The top-level kind of a key (`object`, `boolean`, `string`, …), read off the schema. */
export function topLevelKind(key: string): string {
  return unwrapped(schema.shape[key as keyof typeof schema.shape])._zod.def.type;
}

/**
 * The field names of the structured key at `path` (`["ptr"]` → restoreTime, requestedAt, requestedFor),
 * read off the schema; through a map (postgres.databases.<db>) its values' fields. Undefined if none.
 */
export function fieldsAt(path: readonly PropertyKey[]): string[] | undefined {
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

/** The type under `.optional()` and `.default()`. */
export function unwrapped(t: z.core.$ZodType): z.core.$ZodType {
  let u = t;
  while (u instanceof z.ZodOptional || u instanceof z.ZodDefault) u = u.unwrap();
  return u;
}
