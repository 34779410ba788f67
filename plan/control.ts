/**
 * The plan: a pure function from validated config and the clock to a typed, readonly description of the
 * desired state. Components are built from the plan, never from raw config, so every decision the runbook
 * makes (which levers are pulled in which mode and phase, which server is created how, which data steps run)
 * is here and is tested as data.
 */
import type { DateTime } from "luxon";
import { unreachable } from "../config";
import type {
  DrMode,
  DrPhase,
  Incident,
  PtrIncident,
  RebuildFrom,
  RebuildIncident,
  RebuildSource,
  StackConfig,
} from "../config";
import {
  backupPrefix,
  beforeDatabaseName,
  flexibleServerDatabaseId,
  incidentReport,
  flexibleServerId,
  k8sName,
  ptrServerName,
  serverFqdn,
  suggestedIncidentId,
  tableRestoreBeforeSchema,
} from "@service-dr/dr-data";
import { azureUtc, humanInZone } from "./time";
import type { ResolvedTime } from "./time";
import { planDataPath } from "./data-path";
import type { DataJobPlan, DataPathPlan } from "./data-path";

/** Why a lever is in its state: pulled by the DR mode/phase, or forced by an override key. */
export type LeverSource = "mode" | "override";
export interface Lever {
  readonly on: boolean;
  readonly source: LeverSource;
}

export interface Levers {
  /** Web and worker scaled to 0. */
  readonly stopService: Lever;
  /** Public host serves the maintenance page; the temporary ingress exposes the app for validation. */
  readonly maintenance: Lever;
  /** Required approvers raised to the freeze count. */
  readonly freeze: Lever;
}

export interface ServerNetwork {
  readonly delegatedSubnetId: string;
  readonly privateDnsZoneId: string;
}

/**
 * How a server is created if it does not exist. Azure reads these fields only at creation; the component
 * ignores later changes to them so that leaving `rebuild` mode never touches the server. `geo` is only ever
 * the geo-restored server (`Plan.geoServer`), a new server beside the live one.
 */
export type LiveServerCreation =
  | { readonly kind: "existing" }
  | { readonly kind: "empty"; readonly createMode: "Create" }
  | {
      readonly kind: "revive";
      readonly createMode: "ReviveDropped";
      readonly sourceServerId: string;
      readonly pointInTimeUtc: string;
    }
  | {
      readonly kind: "geo";
      readonly createMode: "GeoRestore";
      readonly sourceServerId: string;
      readonly pointInTimeUtc: string;
    };

/** A Microsoft Entra group: its object id, and its display name, which is the PostgreSQL role it logs in as. */
export interface EntraAdminGroup {
  readonly objectId: string;
  readonly displayName: string;
}

export interface DatabasePlan {
  readonly charset: string;
  readonly collation: string;
  /**
   * The database's Azure id when it already exists and must be adopted rather than created: on `adopt.liveServer`,
   * and whenever a rebuild brings the databases back with the server (ReviveDropped, GeoRestore) — azure-native
   * refuses to create a database that exists ("cannot create already existing resource").
   */
  readonly importId: string | undefined;
}

export interface LiveServerPlan {
  readonly name: string;
  readonly id: string;
  readonly fqdn: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly version: string;
  readonly sku: { readonly name: string; readonly tier: string };
  readonly storageSizeGb: number;
  readonly backupRetentionDays: number;
  readonly geoRedundantBackup: "Enabled" | "Disabled";
  readonly highAvailability: { readonly mode: string; readonly standbyAvailabilityZone?: string };
  readonly availabilityZone?: string;
  readonly network: ServerNetwork;
  /** The servers' only administrator: an Entra group (`postgres.entraAdmin`); its members log in as its name. */
  readonly entraAdmin: EntraAdminGroup;
  readonly databases: Readonly<Record<string, DatabasePlan>>;
  readonly appDatabase: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly creation: LiveServerCreation;
  /** Set when the stack adopts the existing server (and its databases) on this `pulumi up`. */
  readonly adopt: boolean;
}

export interface PtrCopyPlan {
  readonly name: string;
  readonly fqdn: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly network: ServerNetwork;
  readonly sourceServerId: string;
  /** Exactly what Azure gets: ISO 8601 UTC with `+00:00`. */
  readonly pointInTimeUtc: string;
  /** The same instant as the operator reads it in the stack's zone. */
  readonly pointInTimeLocal: string;
}

export interface MaintenancePlan {
  readonly namespace: string;
  readonly on: boolean;
  readonly pageName: string;
  readonly message: string;
  readonly image: string;
  readonly publicIngressName: string;
  readonly publicHost: string;
  readonly temporaryIngressName: string;
  /** Present while maintenance is on: the app on its own host, for validation. */
  readonly temporaryHost: string | undefined;
  readonly ingressClassName: string;
  readonly tlsSecretName: string | undefined;
  readonly app: { readonly serviceName: string; readonly port: number };
  /** `<namespace>/<name>` of the existing public Ingress to adopt on this `pulumi up`. */
  readonly publicIngressImportId: string | undefined;
}

export interface DeploymentReplicas {
  readonly name: string;
  readonly normal: number;
  readonly desired: number;
}

export interface ReplicasPlan {
  readonly namespace: string;
  /** Keyed by the stable id from config (web, worker). */
  readonly deployments: Readonly<Record<string, DeploymentReplicas>>;
  /**
   * The recovery Jobs the app's return waits for: set when this state declares recovery Jobs *and* runs the
   * app (drPhase validate, or stopService=false). Then the app is first held at 0 replicas (ReplicaHold), the
   * Jobs run, and only when every one of them completed do the replica patches bring the app back. The program
   * cannot see the phase the operator comes from, so this is what makes every jump safe: from isolate (app
   * already stopped) or straight from none (app running) to validate, or a new restore time set in validate,
   * a restore never runs under a live app. Undefined when the Jobs run with the app stopped by the replica
   * patches themselves (isolate, restore), or when there are no Jobs.
   */
  readonly holdUntilJobs: readonly string[] | undefined;
}

export interface FreezePlan {
  readonly repository: string;
  readonly branch: string;
  readonly requiredApprovers: number;
  readonly enforceAdmins: boolean;
  readonly requiredStatusChecks: readonly string[];
  /** `<repository>:<branch>` of the existing rule to adopt on this `pulumi up`. */
  readonly importId: string | undefined;
}

export interface RestorePoint {
  readonly utc: string;
  readonly local: string;
  readonly zone: string;
}

export interface Plan {
  readonly now: DateTime;
  readonly zone: string;
  readonly mode: DrMode;
  /** Undefined outside an incident. */
  readonly phase: DrPhase | undefined;
  readonly incidentId: string | undefined;
  readonly rebuildFrom: RebuildFrom | undefined;
  readonly levers: Levers;
  /** The stack's live server, declared the same way in every mode (also during a geo-restore). */
  readonly liveServer: LiveServerPlan;
  /**
   * `drMode=rebuild`, `rebuild.from=geo`: the new server GeoRestore creates from the live server's
   * geo-replicated backup, in `rebuild.location` with `rebuild.network` (docs/runbook.md for the switch-over).
   */
  readonly geoServer: LiveServerPlan | undefined;
  /** The server holding the live data now: the geo server during a geo-restore, else the live server. */
  readonly activeServer: { readonly name: string; readonly fqdn: string };
  readonly ptrCopy: PtrCopyPlan | undefined;
  readonly restorePoint: RestorePoint | undefined;
  readonly maintenance: MaintenancePlan;
  readonly replicas: ReplicasPlan;
  readonly freeze: FreezePlan;
  /** Backup storage, the nightly backup, and the backup/restore/compare Jobs of this state. */
  readonly dataPath: DataPathPlan;
  /**
   * While an inspection Job is declared: the command that downloads its report (`incident/<id>/inspect/
   * report.md`; its summary is also the Job's log).
   */
  readonly inspectReport: string | undefined;
  /** The config command(s) for the runbook's next step. */
  readonly nextStep: string;
}

export function buildPlan(cfg: StackConfig, now: DateTime): Plan {
  const incident = cfg.incident;
  const open = incident.mode === "none" ? undefined : incident;
  const phase = open?.phase;
  const levers: Levers = {
    stopService: lever(cfg.stopService, phase === "isolate" || phase === "restore"),
    maintenance: lever(cfg.maintenance, open !== undefined),
    freeze: lever(cfg.freeze, open !== undefined),
  };
  const liveServer = planLiveServer(cfg);
  const geoServer = planGeoServer(cfg, liveServer, now);
  // The server holding the live data: the geo server while a geo-restore is in progress.
  const active = geoServer ?? liveServer;
  const restore = incident.mode === "ptr" ? incident.restoreTime : undefined;
  const ptrCopy = restore === undefined ? undefined : planPtrCopy(cfg, liveServer, restore);
  const dataPath = planDataPath(cfg, restore?.utc);
  const partial = {
    now,
    zone: cfg.timeZone,
    mode: incident.mode,
    phase,
    incidentId: open?.id,
    rebuildFrom: incident.mode === "rebuild" ? incident.source.from : undefined,
    levers,
    liveServer,
    geoServer,
    activeServer: { name: active.name, fqdn: active.fqdn },
    ptrCopy,
    restorePoint:
      restore === undefined
        ? undefined
        : { utc: azureUtc(restore.utc), local: humanInZone(restore.utc, cfg.timeZone), zone: cfg.timeZone },
    maintenance: planMaintenance(cfg, levers.maintenance.on),
    replicas: planReplicas(cfg, levers.stopService.on, dataPath.jobs),
    freeze: planFreeze(cfg, levers.freeze.on),
    dataPath,
    inspectReport:
      open !== undefined && dataPath.jobs.some((j) => j.step === "inspect")
        ? inspectReportCommand(cfg, open.id)
        : undefined,
  };
  return { ...partial, nextStep: nextStep(cfg, partial) };
}

function lever(override: boolean | undefined, byMode: boolean): Lever {
  return override === undefined ? { on: byMode, source: "mode" } : { on: override, source: "override" };
}

function planLiveServer(cfg: StackConfig): LiveServerPlan {
  const pg = cfg.postgres;
  const id = flexibleServerId(cfg.azure.subscriptionId, cfg.azure.resourceGroup, pg.serverName);
  const creation = liveServerCreation(cfg.incident, id);
  const adopt = cfg.adopt?.liveServer ?? false;
  return {
    name: pg.serverName,
    id,
    fqdn: serverFqdn(pg.serverName),
    resourceGroup: cfg.azure.resourceGroup,
    location: pg.location ?? cfg.azure.location,
    version: pg.version,
    sku: pg.sku,
    storageSizeGb: pg.storageSizeGb,
    backupRetentionDays: pg.backupRetentionDays,
    geoRedundantBackup: pg.geoRedundantBackup ? "Enabled" : "Disabled",
    highAvailability:
      pg.highAvailability === "Disabled"
        ? { mode: "Disabled" }
        : { mode: pg.highAvailability, ...optional("standbyAvailabilityZone", pg.standbyAvailabilityZone) },
    ...optional("availabilityZone", pg.availabilityZone),
    network: pg.network,
    entraAdmin: pg.entraAdmin,
    // After `pulumi refresh` dropped the lost server's databases from the state, a revived server brings them
    // back: they are imported (ids from the naming module), never created. An import of a resource already in
    // the state with the same id is ignored by the engine, so the import stays for the whole rebuild.
    databases: planDatabases(cfg, id, adopt || creation.kind === "revive"),
    appDatabase: pg.appDatabase,
    parameters: pg.parameters,
    creation,
    adopt,
  };
}

/** How the live server `id` is created if it does not exist: only a rebuild creates it. */
function liveServerCreation(incident: Incident, id: string): LiveServerCreation {
  switch (incident.mode) {
    case "none":
    case "ptr":
      return { kind: "existing" };
    case "rebuild":
      return rebuiltServerCreation(incident.source, id);
    default:
      return unreachable(incident);
  }
}

function rebuiltServerCreation(source: RebuildSource, id: string): LiveServerCreation {
  switch (source.from) {
    case "backup":
      return { kind: "empty", createMode: "Create" };
    case "revive":
      return {
        kind: "revive",
        createMode: "ReviveDropped",
        sourceServerId: id,
        pointInTimeUtc: azureUtc(source.deletedAt.utc),
      };
    case "geo":
      // A geo-restore leaves the live server declared as it is ("existing"): it still exists in Azure (its
      // region is out), it is protected, and dropping it from the program would make pulumi try to delete it.
      return { kind: "existing" };
    default:
      return unreachable(source);
  }
}

/**
 * The geo-restored server: a new server named `rebuild.serverName` in `rebuild.location` with
 * `rebuild.network`, in the live server's resource group, with the live server's settings except high
 * availability and zones (the paired region may have no availability zones: ukwest has none; enable HA after
 * the switch-over). Its databases come with the restore, so they are imported.
 */
function planGeoServer(cfg: StackConfig, live: LiveServerPlan, now: DateTime): LiveServerPlan | undefined {
  const incident = cfg.incident;
  if (incident.mode !== "rebuild" || incident.source.from !== "geo") return undefined;
  const r = incident.source;
  const id = flexibleServerId(cfg.azure.subscriptionId, cfg.azure.resourceGroup, r.serverName);
  return {
    name: r.serverName,
    id,
    fqdn: serverFqdn(r.serverName),
    resourceGroup: live.resourceGroup,
    location: r.location,
    version: live.version,
    sku: live.sku,
    storageSizeGb: live.storageSizeGb,
    backupRetentionDays: live.backupRetentionDays,
    geoRedundantBackup: live.geoRedundantBackup,
    highAvailability: { mode: "Disabled" },
    network: r.network,
    entraAdmin: live.entraAdmin,
    databases: planDatabases(cfg, id, true),
    appDatabase: live.appDatabase,
    parameters: live.parameters,
    // Geo-restore always restores the latest geo-replicated backup; Azure still wants a pointInTimeUTC, and
    // "now" asks for the newest. It is read only at creation (the component ignores later changes).
    creation: {
      kind: "geo",
      createMode: "GeoRestore",
      sourceServerId: live.id,
      pointInTimeUtc: azureUtc(now),
    },
    adopt: false,
  };
}

function planDatabases(cfg: StackConfig, serverId: string, exist: boolean): Record<string, DatabasePlan> {
  const databases: Record<string, DatabasePlan> = {};
  for (const [db, d] of Object.entries(cfg.postgres.databases)) {
    databases[db] = { ...d, importId: exist ? flexibleServerDatabaseId(serverId, db) : undefined };
  }
  return databases;
}

/** The PTR copy of the live server at the ptr incident's restore time. */
function planPtrCopy(cfg: StackConfig, live: LiveServerPlan, restore: ResolvedTime): PtrCopyPlan {
  const name = ptrServerName(live.name);
  return {
    name,
    fqdn: serverFqdn(name),
    resourceGroup: live.resourceGroup,
    location: live.location,
    network: live.network,
    sourceServerId: live.id,
    pointInTimeUtc: azureUtc(restore.utc),
    pointInTimeLocal: humanInZone(restore.utc, cfg.timeZone),
  };
}

function planMaintenance(cfg: StackConfig, on: boolean): MaintenancePlan {
  const k = cfg.kubernetes;
  return {
    namespace: k.namespace,
    on,
    pageName: k8sName.maintenancePage(k.service),
    message: cfg.maintenanceMessage,
    image: k.maintenanceImage,
    publicIngressName: k8sName.publicIngress(k.service),
    publicHost: k.publicHost,
    temporaryIngressName: k8sName.temporaryIngress(k.service),
    temporaryHost: on ? k.temporaryHost : undefined,
    ingressClassName: k.ingressClassName,
    tlsSecretName: k.tlsSecretName,
    app: k.app,
    publicIngressImportId:
      (cfg.adopt?.publicIngress ?? false) ? `${k.namespace}/${k8sName.publicIngress(k.service)}` : undefined,
  };
}

function planReplicas(cfg: StackConfig, stop: boolean, jobs: readonly DataJobPlan[]): ReplicasPlan {
  const deployments: Record<string, DeploymentReplicas> = {};
  for (const [key, d] of Object.entries(cfg.kubernetes.deployments)) {
    deployments[key] = { name: d.name, normal: d.replicas, desired: stop ? 0 : d.replicas };
  }
  const appRuns = Object.values(deployments).some((d) => d.desired > 0);
  return {
    namespace: cfg.kubernetes.namespace,
    deployments,
    holdUntilJobs: appRuns && jobs.length > 0 ? jobs.map((j) => j.name) : undefined,
  };
}

function planFreeze(cfg: StackConfig, frozen: boolean): FreezePlan {
  const g = cfg.github;
  return {
    repository: g.repository,
    branch: g.branch,
    requiredApprovers: frozen ? g.approvers.freeze : g.approvers.normal,
    // During a freeze nobody merges, admins included; outside it the stack's own setting applies.
    enforceAdmins: frozen ? true : g.enforceAdmins,
    requiredStatusChecks: g.requiredStatusChecks,
    importId: (cfg.adopt?.branchProtection ?? false) ? `${g.repository}:${g.branch}` : undefined,
  };
}

/** An incident that is open: what every step after `drMode none` is about. */
type OpenIncident = PtrIncident | RebuildIncident;

/** The runbook's next step as the command(s) an operator types. */
function nextStep(cfg: StackConfig, p: Omit<Plan, "nextStep">): string {
  const incident = cfg.incident;
  if (incident.mode === "none") return noIncidentStep(cfg, p);
  const step = incidentStep(cfg, incident, p);
  // While the Jobs can still run (not at the closing step): how to retry one that failed.
  const closing = !p.levers.maintenance.on && !p.levers.freeze.on;
  if (closing) return step;
  const hint = retryHint(cfg, incident, p.dataPath.jobs);
  return hint === "" ? step : `${step}${step.endsWith(".") ? "" : "."} ${hint}`;
}

/** `drMode none`: what a closed incident left behind, or how to open one. */
function noIncidentStep(cfg: StackConfig, p: Omit<Plan, "nextStep">): string {
  const up = "pulumi up";
  const leftovers = [
    cfg.ptr !== undefined ? "ptr" : undefined,
    cfg.rebuild !== undefined ? "rebuild" : undefined,
    cfg.retry !== undefined ? "retry" : undefined,
    cfg.incidentId !== undefined ? "incidentId" : undefined,
    cfg.adopt !== undefined ? "adopt" : undefined,
  ].filter((k): k is string => k !== undefined);
  const tidy = leftovers.map((k) => `pulumi config rm ${k}`).join(" && ");
  // incidentId is required to open an incident: without it none was opened, whatever else is set.
  if (cfg.incidentId !== undefined) {
    return `Incident ${cfg.incidentId} closed. Tidy the stack config: ${tidy}. ${incidentLeftovers(cfg, p.activeServer.name, cfg.incidentId, [])}`;
  }
  const id = suggestedIncidentId(p.now, cfg.timeZone, cfg.postgres.appDatabase);
  const noIncident =
    `No incident. Loss of data: pulumi config set incidentId ${id} && pulumi config set drMode ptr && ${up}. ` +
    `Loss of the database server: pulumi refresh, then pulumi config set incidentId ${id} && pulumi config set drMode rebuild && ${up}.`;
  return leftovers.length > 0
    ? `${noIncident} These keys do nothing while no incident is open (see the warnings): ${tidy}`
    : noIncident;
}

function incidentStep(cfg: StackConfig, incident: OpenIncident, p: Omit<Plan, "nextStep">): string {
  switch (incident.phase) {
    case "isolate":
      return isolateStep(cfg, incident, p);
    case "restore":
      return (
        `Validate the app on https://${cfg.kubernetes.temporaryHost} (web and worker back on, public host still on the ` +
        `maintenance page): pulumi config set drPhase validate && pulumi up`
      );
    case "validate":
      return closingSteps(cfg, incident, p);
    default:
      return unreachable(incident.phase);
  }
}

function isolateStep(cfg: StackConfig, incident: OpenIncident, p: Omit<Plan, "nextStep">): string {
  switch (incident.mode) {
    case "ptr":
      return ptrIsolateStep(cfg, incident, p);
    case "rebuild":
      return rebuildIsolateStep(incident, p);
    default:
      return unreachable(incident);
  }
}

/** Before the copy: choose the restore point; once it exists: read the inspection, then restore. */
function ptrIsolateStep(cfg: StackConfig, incident: PtrIncident, p: Omit<Plan, "nextStep">): string {
  const up = "pulumi up";
  const copy = p.ptrCopy;
  if (copy === undefined) {
    const example = p.now.setZone(cfg.timeZone).minus({ hours: 1 }).toFormat("yyyy-LL-dd'T'HH:mm:ss");
    return (
      `Choose the restore point (wall clock in ${cfg.timeZone}, or give an offset) and create the PTR copy: ` +
      `pulumi config set --path ptr.restoreTime ${example} && ${up}`
    );
  }
  const pod = p.dataPath.troubleshootPod;
  const look =
    `Read the inspection of the PTR copy (${copy.name}) against the live data (what was lost, what was written since): ` +
    `${inspectReportCommand(cfg, incident.id)}` +
    (pod === undefined ? "" : `; to look by hand: ${pod.psqlPtr} (or ${pod.psqlLive})`);
  const tables = cfg.ptr?.tables;
  const restore =
    tables === undefined
      ? `Then restore the whole database from the copy: pulumi config set drPhase restore && ${up}; ` +
        `or, if the loss is in a few tables, restore only those: pulumi config set --path 'ptr.tables[0]' <schema.table> (one index per table) && pulumi config set drPhase restore && ${up}`
      : `Then restore only ${tables.join(", ")} from the copy (ptr.tables): pulumi config set drPhase restore && ${up}; ` +
        `for the whole database instead: pulumi config rm --path ptr.tables first`;
  return `${look}. ${restore}. Either way the rows written since the restore point are exported first (incident/${incident.id}/reconcile/).`;
}

/** Once the server is back: switch the app to a geo server, or restore (or check) the rebuilt one. */
function rebuildIsolateStep(incident: RebuildIncident, p: Omit<Plan, "nextStep">): string {
  const next = "pulumi config set drPhase restore && pulumi up";
  const source = incident.source;
  switch (source.from) {
    case "geo":
      return (
        `Once ${source.serverName} exists in ${source.location} (the latest geo-replicated backup, up to about an hour old), ` +
        `point the app's database host at ${serverFqdn(source.serverName)} (the app's own deploy config), then check it: ${next}`
      );
    case "backup":
      return `Once ${p.activeServer.name} exists, restore the nightly backup into the rebuilt server: ${next}`;
    case "revive":
      return `Once ${p.activeServer.name} exists, check the rebuilt server (its data came with it): ${next}`;
    default:
      return unreachable(source);
  }
}

function closingSteps(cfg: StackConfig, incident: OpenIncident, p: Omit<Plan, "nextStep">): string {
  const up = "pulumi up";
  if (p.levers.maintenance.on)
    return `When the app is validated, disable maintenance mode: pulumi config set maintenance false && ${up}`;
  if (p.levers.freeze.on)
    return `Unfreeze the pipeline (required approvers back to normal): pulumi config set freeze false && ${up}`;
  const present: Record<string, unknown> = {
    ptr: cfg.ptr,
    rebuild: cfg.rebuild,
    retry: cfg.retry,
    incidentId: cfg.incidentId,
    maintenance: cfg.maintenance,
    freeze: cfg.freeze,
    stopService: cfg.stopService,
  };
  const rm = ["drPhase", ...Object.keys(present).filter((k) => present[k] !== undefined)].map(
    (k) => `pulumi config rm ${k}`,
  );
  if (incident.mode === "rebuild" && incident.source.from === "geo") {
    const geo = incident.source;
    // Leaving geo mode without the switch-over would drop the geo server (protected: the up fails).
    const set = (key: string, value: string): string => `pulumi config set --path ${key} ${value}`;
    return (
      `Make ${geo.serverName} the stack's live server before closing (docs/runbook.md, "Geo-restore: the switch-over"): ` +
      `first the pulumi state steps there, then ${set("postgres.serverName", geo.serverName)} && ${set("postgres.location", geo.location)} && ` +
      `${set("postgres.network.delegatedSubnetId", geo.network.delegatedSubnetId)} && ${set("postgres.network.privateDnsZoneId", geo.network.privateDnsZoneId)} && ` +
      `${set("postgres.highAvailability", "Disabled")} && pulumi config rm --path postgres.availabilityZone && pulumi config rm --path postgres.standbyAvailabilityZone && ` +
      `pulumi config set drMode none && ${rm.join(" && ")} && pulumi preview --diff (no change on the live server), then ${up}`
    );
  }
  const tidy =
    incident.mode === "ptr" ? "Tidy up (deletes the PTR copy) and close the incident" : "Close the incident";
  const left = incidentLeftovers(cfg, p.activeServer.name, incident.id, p.dataPath.jobs);
  return `${tidy}: pulumi config set drMode none && ${rm.join(" && ")} && ${up}. ${left}`;
}

/**
 * What an incident leaves behind on purpose, and how to remove it once reconciliation is done: the databases
 * the restores kept (`<db>_before_<run id>`: the data as it was before each swap) and everything under the
 * incident's blob prefix (the dumps, and the Jobs' logs). `jobs` are this state's Jobs: the restores among
 * them name the kept databases; without them (the incident already closed) the command lists them.
 */
function incidentLeftovers(
  cfg: StackConfig,
  server: string,
  incidentId: string,
  jobs: readonly DataJobPlan[],
): string {
  const db = cfg.postgres.appDatabase;
  // As a member of the administrators group: an Entra access token is the password, the group's name the
  // user, and the server's certificate is verified against the system's root CAs (libpq ≥ 16).
  const psql = (sql: string): string =>
    `PGPASSWORD="$(az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv)" ` +
    `psql "host=${serverFqdn(server)} port=5432 dbname=postgres user='${cfg.postgres.entraAdmin.displayName}' sslmode=verify-full sslrootcert=system" -c '${sql}'`;
  const restores = jobs.filter((j) => j.step === "restore" && j.runId !== undefined);
  const kept = restores
    .filter((j) => !j.args.includes("--tables"))
    .map((j) => beforeDatabaseName(db, j.runId!));
  // A table-level restore keeps the chosen tables' previous rows in a schema of the live database instead.
  const schemas = restores
    .filter((j) => j.args.includes("--tables"))
    .map((j) => tableRestoreBeforeSchema(j.runId!));
  const tableRows =
    schemas.length === 0
      ? ""
      : `the schema${schemas.length === 1 ? "" : "s"} ${schemas.join(", ")} in ${db} (the restored tables' rows before the restore); drop with: ` +
        schemas
          .map((name) => psql(`DROP SCHEMA "${name}" CASCADE`).replace("dbname=postgres", `dbname=${db}`))
          .join(" && ") +
        "; ";
  const databases =
    kept.length > 0
      ? `the database${kept.length === 1 ? "" : "s"} ${kept.join(", ")} on ${server} (the data before the swap), and any other ${db}_before_* or ${db}_restore_* (list: ${psql(`\\l ${db}_*`)}); ` +
        `drop each with: ${kept.map((name) => psql(`DROP DATABASE "${name}"`)).join(" && ")}`
      : `any ${db}_before_* database (the data before a swap) and ${db}_restore_* (a restore that did not finish) on ${server}: list them with ${psql(`\\l ${db}_*`)}, drop each with ${psql(`DROP DATABASE "<name>"`)}`;
  const prefix = `${backupPrefix.incident(incidentId)}/`;
  const blobs =
    `the incident's dumps and the Jobs' logs under ${prefix} in container ${cfg.backup.container} of ${cfg.backup.storageAccountName} ` +
    `(the lifecycle rule keeps them: it deletes only nightly/); delete with: az storage blob delete-batch --auth-mode login ` +
    `--account-name ${cfg.backup.storageAccountName} --source ${cfg.backup.container} --pattern '${prefix}*' ` +
    `once they are older than ${cfg.backup.retentionDays} days (immutability refuses earlier); each leaves a previous ` +
    `version (versioning): delete those too (docs/runbook.md, "Deleting a backup on purpose")`;
  return `The incident leaves, for reconciliation, until you remove them: ${tableRows}${databases}; ${blobs}.`;
}

/** The command that downloads the incident's inspection report. */
function inspectReportCommand(cfg: StackConfig, incidentId: string): string {
  return (
    `az storage blob download --auth-mode login --account-name ${cfg.backup.storageAccountName} ` +
    `--container-name ${cfg.backup.container} --name ${incidentReport.inspect(incidentId, "md")} --file inspect-report.md`
  );
}

/**
 * How to retry a recovery Job that failed: `retry.<step>` one higher than now gives that step a new Job
 * (docs/runbook.md, "A recovery Job failed"). Its log is kept under the incident's prefix.
 */
function retryHint(cfg: StackConfig, incident: OpenIncident, jobs: readonly DataJobPlan[]): string {
  if (jobs.length === 0) return "";
  const next = jobs.map((j) => `${j.step} ${(cfg.retry?.[j.step] ?? 0) + 1}`).join(", ");
  return (
    `If a recovery Job fails (the up stops and names it), read its log (kubectl -n ${cfg.kubernetes.dataNamespace} logs job/<name>, or the blob ` +
    `${backupPrefix.incident(incident.id)}/logs/<name>.log), fix the cause, then run that step again as a new Job: ` +
    `pulumi config set --path retry.<step> <n> && pulumi up (here: ${next}). A finished Job is never run again by a later up; retry only the step that failed (a retried backup that had succeeded would become its prefix's latest).`
  );
}

/** `{ key: value }` when value is defined, `{}` otherwise: keeps undefined out of declared inputs. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
