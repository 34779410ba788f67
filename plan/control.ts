/**
 * The plan: a pure function from validated config and the clock to a typed, readonly description of the
 * desired state. Components are built from the plan, never from raw config, so every decision the runbook
 * makes (which levers are pulled in which mode and phase, which server is created how, which data steps run)
 * is here and is tested as data.
 */
import type { DateTime } from "luxon";
import { unreachable } from "../config";
import type { DrMode, DrPhase, Incident, RebuildFrom, RebuildSource, StackConfig } from "../config";
import {
  flexibleServerDatabaseId,
  flexibleServerId,
  k8sName,
  ptrServerName,
  serverFqdn,
} from "@service-dr/dr-data";
import { azureUtc, humanInZone } from "./time";
import type { ResolvedTime } from "./time";
import { planDataPath } from "./data-path";
import type { DataJobPlan, DataPathPlan } from "./data-path";
import { inspectReportCommand, nextStep, type NextStep } from "./next-step";

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
   * patches themselves (isolate, restore), or when there are no Jobs. The report Job is never among them: it
   * reads and writes only the blob store.
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
  /** The runbook's next step: what to do and the commands, apart (next-step.ts; the output renders it). */
  readonly nextStep: NextStep;
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
  const dataPath = planDataPath(cfg, restore?.utc, incidentClosing(phase, levers));
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

/**
 * The runbook's closing state: the app validated (drPhase validate), the maintenance page off and the pipeline
 * unfrozen. All that is left is `drMode none`, which tidies up; here the incident's report is written.
 */
export function incidentClosing(phase: DrPhase | undefined, levers: Levers): boolean {
  return phase === "validate" && !levers.maintenance.on && !levers.freeze.on;
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
  return pointInTimeCopy(ptrServerName(live.name), live, restore.utc, cfg.timeZone);
}

/**
 * A point-in-time copy of the live server named `name` (an incident's PTR copy, a drill's copy): beside live,
 * in live's delegated subnet and private DNS zone, so the cluster reaches it as it reaches live.
 */
export function pointInTimeCopy(
  name: string,
  live: LiveServerPlan,
  utc: DateTime,
  zone: string,
): PtrCopyPlan {
  return {
    name,
    fqdn: serverFqdn(name),
    resourceGroup: live.resourceGroup,
    location: live.location,
    network: live.network,
    sourceServerId: live.id,
    pointInTimeUtc: azureUtc(utc),
    pointInTimeLocal: humanInZone(utc, zone),
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
  // The report touches no server: the app is never held for it (a new Job set would stop the validated app).
  const held = jobs.filter((j) => j.step !== "report");
  return {
    namespace: cfg.kubernetes.namespace,
    deployments,
    holdUntilJobs: appRuns && held.length > 0 ? held.map((j) => j.name) : undefined,
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

/** `{ key: value }` when value is defined, `{}` otherwise: keeps undefined out of declared inputs. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
