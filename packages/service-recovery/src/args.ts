/**
 * The component's public arguments: the stack file's keys (Pulumi.<stack>.yaml, `service-dr:*`) as plain types
 * Pulumi's schema inference turns into every language's SDK — strings for times and choices, numbers, nested
 * interfaces, `T[]` and `{ [key: string]: T }` maps. The rules are not repeated here: the constructor hands the
 * object to config/ `parseConfig`, which checks it as it checks a stack's config (docs/runbook.md lists every
 * key; each default is the stack's). Interfaces only, no readonly arrays, no unions, no literal types: what
 * @pulumi/pulumi's analyzer (`provider/experimental/analyzer`) supports.
 */

/** An Azure virtual network subnet delegated to flexible servers and the private DNS zone they register in. */
export interface NetworkSettings {
  /** Resource id of a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers. */
  delegatedSubnetId: string;
  /** Resource id of the private DNS zone the server registers in. */
  privateDnsZoneId: string;
}

/** `ptr`: the point-in-time restore of an incident in `ptr` mode. */
export interface PtrSettings {
  /** ISO-8601 date-time; without an offset a wall-clock time in `timeZone`. */
  restoreTime?: string;
  /** With `requestedFor`: the copy for that restore time was requested at this instant (offset or Z). */
  requestedAt?: string;
  /** The `restoreTime` the pinned copy was made for. */
  requestedFor?: string;
  /** Restore only these tables (`schema.table`) instead of the whole database. */
  tables?: string[];
}

/** `rebuild`: recreating a lost server in `rebuild` mode. */
export interface RebuildSettings {
  /** backup (default) | revive | geo. */
  from?: string;
  /** backup: `latest` (default) or a nightly blob name. */
  backupBlob?: string;
  /** revive: when the server was deleted (ISO-8601, at most 5 days ago). */
  deletedAt?: string;
  /** geo: the name of the new server GeoRestore creates. */
  serverName?: string;
  /** geo: the paired region to restore into. */
  location?: string;
  /** geo: that region's network. */
  network?: NetworkSettings;
}

/** `adopt`: take over existing resources on the next deployment instead of creating duplicates. */
export interface AdoptSettings {
  liveServer?: boolean;
  publicIngress?: boolean;
  branchProtection?: boolean;
}

export interface AzureSettings {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
}

export interface WorkloadIdentitySettings {
  /** The AKS cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl). */
  oidcIssuerUrl: string;
}

export interface SkuSettings {
  /** An Azure SKU name such as Standard_B2s. */
  name: string;
  /** Burstable | GeneralPurpose | MemoryOptimized. */
  tier: string;
}

/** The servers' only administrator: a Microsoft Entra group. */
export interface EntraAdminSettings {
  objectId: string;
  displayName: string;
}

export interface DatabaseSettings {
  /** Default UTF8. */
  charset?: string;
  /** Default en_US.utf8. */
  collation?: string;
}

export interface PostgresSettings {
  serverName: string;
  /** The live server's region; default `azure.location`. */
  location?: string;
  /** The PostgreSQL major version, 13 to 18, as a string ("16"). */
  version: string;
  sku: SkuSettings;
  storageSizeGb: number;
  backupRetentionDays?: number;
  geoRedundantBackup?: boolean;
  /** Disabled (default) | SameZone | ZoneRedundant. */
  highAvailability?: string;
  availabilityZone?: string;
  standbyAvailabilityZone?: string;
  network: NetworkSettings;
  entraAdmin: EntraAdminSettings;
  /** The server's databases by name. */
  databases: { [name: string]: DatabaseSettings };
  /** The application's database: a key of `databases`. */
  appDatabase: string;
  /** Azure server parameters (values are strings). */
  parameters?: { [name: string]: string };
}

export interface DeploymentSettings {
  /** The Deployment's name. */
  name: string;
  /** Its replicas outside an incident. */
  replicas: number;
}

export interface AppSettings {
  serviceName: string;
  port: number;
}

/** Where the data tool's pods may connect, as CIDRs (their NetworkPolicy has no host names). */
export interface DataEgressSettings {
  postgresCidrs: string[];
  storageCidrs?: string[];
}

export interface KubernetesSettings {
  namespace: string;
  /** The data pods' namespace; default `<namespace>-dr`. */
  dataNamespace?: string;
  /** Base of every derived object name. */
  service: string;
  /** The app's Deployments by a short id (web, worker). */
  deployments: { [id: string]: DeploymentSettings };
  app: AppSettings;
  publicHost: string;
  temporaryHost: string;
  ingressClassName?: string;
  tlsSecretName?: string;
  maintenanceImage?: string;
  dataEgress: DataEgressSettings;
}

export interface ApproverSettings {
  /** Default 1. */
  normal?: number;
  /** Default 6. */
  freeze?: number;
}

export interface GithubSettings {
  /** The repository's name, without the owner (the owner is the github provider's). */
  repository: string;
  branch?: string;
  approvers?: ApproverSettings;
  enforceAdmins?: boolean;
  requiredStatusChecks?: string[];
}

export interface BackupSettings {
  storageAccountName: string;
  /** Standard_LRS (default) | Standard_ZRS | Standard_GRS | Standard_RAGRS | Standard_GZRS. */
  redundancy?: string;
  container?: string;
  retentionDays?: number;
  /** unlocked (default) | locked. */
  immutability?: string;
  /** A five-field cron expression; default '0 2 * * *'. */
  schedule?: string;
}

/** The Entra application a secure webhook's receiver validates tokens for. */
export interface EntraAuthSettings {
  tenantId: string;
  objectId: string;
  identifierUri: string;
}

export interface WebhookSettings {
  /** https, with no credential in it. */
  uri: string;
  entraAuth: EntraAuthSettings;
}

export interface AlertsSettings {
  /** The Log Analytics workspace the cluster's Container Insights writes to. */
  workspaceId: string;
  /** Email receivers by id. */
  emails?: { [id: string]: string };
  /** Webhook receivers by id. */
  webhooks?: { [id: string]: WebhookSettings };
  /** 15 to 1440, default 120. */
  graceMinutes?: number;
}

export interface ScratchSettings {
  /** Default managed-csi. */
  storageClass?: string;
  /** A Kubernetes quantity such as 200Gi. */
  size?: string;
}

export interface DataToolSettings {
  /** ghcr.io/dfe-digital/service-dr-data@sha256:<64 hex>. */
  image: string;
  parallelJobs?: number;
  databaseSizeGiB?: number;
  timeoutMinutes?: number;
  scratch?: ScratchSettings;
}

/** What a stack file of this repository holds under `service-dr:`, key for key. */
export interface ServiceRecoveryArgs {
  /** IANA time zone the operators think in (Europe/London). */
  timeZone: string;
  /** none (default) | ptr | rebuild. */
  drMode?: string;
  /** isolate (default) | restore | validate. */
  drPhase?: string;
  /** Names the incident's Jobs and kept databases; required in ptr and rebuild modes. */
  incidentId?: string;
  /** When the open incident was declared (wall clock in timeZone, or with an offset): the report's RTO starts there. */
  incidentDeclaredAt?: string;
  ptr?: PtrSettings;
  rebuild?: RebuildSettings;
  /** Run a failed recovery step again: its step (backup-flawed, inspect, …) → 1 to 99. */
  retry?: { [step: string]: number };
  /** A scheduled drill, `drill-YYYYMMDD-HHMM` (its start in UTC): set for one up by the drill workflow. */
  drill?: string;
  /** The service's recovery objectives, in minutes; required while a drill is set. */
  objectives?: ObjectivesSettings;
  /** Force the maintenance page on or off whatever the mode. */
  maintenance?: boolean;
  /** Force the pipeline freeze on or off whatever the mode. */
  freeze?: boolean;
  /** Force the app's Deployments to 0 replicas (true) or normal (false) whatever the mode. */
  stopService?: boolean;
  maintenanceMessage?: string;
  adopt?: AdoptSettings;
  azure: AzureSettings;
  workloadIdentity: WorkloadIdentitySettings;
  postgres: PostgresSettings;
  kubernetes: KubernetesSettings;
  github: GithubSettings;
  backup: BackupSettings;
  alerts?: AlertsSettings;
  dataTool: DataToolSettings;
}

/** `objectives`: what every drill and incident is measured against. */
export interface ObjectivesSettings {
  /** The most data (in minutes before the loss) a recovery may lose. */
  rpoMinutes: number;
  /** The longest (in minutes) a recovery may take. */
  rtoMinutes: number;
}
