/**
 * The program as a function of the clock: load config, plan, construct the components, return the stack
 * outputs. `index.ts` calls it with the real clock; the tests and the offline plan call it under Pulumi's mock
 * runtime with a pinned one.
 */
import type { DateTime } from "luxon";
import { loadConfig, warnIgnoredRetries } from "../config";
import { buildPlan, planAlerts, type AlertsPlan, type Plan } from "../plan";
import type * as pulumi from "@pulumi/pulumi";
import { LiveServer, type EntraPrincipal } from "../components/database/live-server";
import { PtrCopy } from "../components/database/ptr-copy";
import { MaintenanceMode } from "../components/app/maintenance-mode";
import { ReplicaCounts } from "../components/app/replica-counts";
import { ReplicaHold } from "../components/app/replica-hold";
import { PipelineFreeze } from "../components/pipeline/pipeline-freeze";
import { BackupStorage } from "../components/storage/backup-storage";
import { NightlyBackup } from "../components/data-tool/nightly-backup";
import { RecoveryJobs } from "../components/data-tool/recovery-jobs";
import { WorkloadIdentity } from "../components/identity/workload-identity";
import { TroubleshootPod } from "../components/data-tool/troubleshoot-pod";
import { DataNetworkPolicy } from "../components/data-tool/network-policy";
import { BackupAlerts } from "../components/monitoring/backup-alerts";
import type { ProgramOutputs } from "./outputs";

/** The stores of the data and the identities that reach them: declared first, the rest waits for them. */
interface Servers {
  readonly backups: BackupStorage;
  /** The nightly backup's: reads the database, writes only under nightly/. */
  readonly identity: WorkloadIdentity;
  /** The recovery Jobs' and the troubleshooting pod's, only while an incident is open. */
  readonly recovery: WorkloadIdentity | undefined;
  readonly live: LiveServer;
  readonly ptr: PtrCopy | undefined;
}

/** The switches the operator flips around an incident: the maintenance page and the pipeline freeze. */
interface Switches {
  readonly maintenance: MaintenanceMode;
  readonly freeze: PipelineFreeze;
}

/** The nightly backup that runs the data tool, and what its pods (and the recovery Jobs') may reach. */
interface DataTool {
  readonly network: DataNetworkPolicy;
  readonly nightly: NightlyBackup;
}

/** The recovery Jobs, the troubleshooting pod and the app's replicas around them. */
interface Recovery {
  readonly recovery: RecoveryJobs;
  readonly troubleshoot: TroubleshootPod | undefined;
  readonly replicas: ReplicaCounts;
}

export async function program(now: DateTime): Promise<ProgramOutputs> {
  // Throws ConfigError with every problem before anything is declared.
  const cfg = loadConfig(now);
  const plan = buildPlan(cfg, now);
  warnIgnoredRetries(cfg, plan);
  const service = cfg.kubernetes.service;

  const servers = declareServers(service, plan);
  const switches = declareSwitches(service, plan);
  const dataTool = declareDataTool(service, plan, servers);
  const recovery = declareRecovery(service, plan, servers, dataTool);
  declareAlerts(service, planAlerts(cfg), servers);
  return Promise.resolve(stackOutputs(plan, servers, switches, dataTool, recovery));
}

function declareServers(service: string, plan: Plan): Servers {
  // The backups and the identities first: during an incident the recovery identity is an Entra administrator.
  const backups = new BackupStorage(`${service}-backups`, { plan: plan.dataPath.storage });
  const ids = plan.dataPath.identities;
  // The component name of the one identity of earlier versions: the nightly identity keeps its resources.
  const identity = new WorkloadIdentity(`${service}-dr-identity`, {
    plan: ids.nightly,
    backupContainerId: backups.containerId,
  });
  const recovery =
    ids.recovery === undefined
      ? undefined
      : new WorkloadIdentity(`${service}-dr-recovery`, {
          plan: ids.recovery,
          backupContainerId: backups.containerId,
        });
  // Only the recovery identity is ever an administrator (the restore needs it); the nightly one can only read
  // (pg_read_all_data, granted once: docs/runbook.md).
  const admin: EntraPrincipal | undefined =
    recovery === undefined || ids.recovery === undefined
      ? undefined
      : {
          objectId: recovery.principalId,
          principalName: ids.recovery.name,
          principalType: "ServicePrincipal",
        };
  const live = new LiveServer(`${service}-live`, {
    plan: plan.liveServer,
    geo: plan.geoServer,
    tenantId: identity.tenantId,
    extraAdmins: admin === undefined ? {} : { recovery: admin },
  });
  const ptr = declarePtrCopy(service, plan, live, admin, identity.tenantId);
  return { backups, identity, recovery, live, ptr };
}

/** The PTR copy, with the recovery identity as its administrator (a PTR copy exists only during an incident). */
function declarePtrCopy(
  service: string,
  plan: Plan,
  live: LiveServer,
  admin: EntraPrincipal | undefined,
  tenantId: pulumi.Input<string>,
): PtrCopy | undefined {
  if (plan.ptrCopy === undefined) return undefined;
  if (admin === undefined) throw new Error("a PTR copy is planned outside an incident");
  return new PtrCopy(`${service}-ptr`, {
    plan: plan.ptrCopy,
    sourceServerId: live.serverId,
    recoveryAdmin: admin,
    tenantId,
  });
}

function declareSwitches(service: string, plan: Plan): Switches {
  const maintenance = new MaintenanceMode(`${service}-maintenance`, { plan: plan.maintenance });
  const freeze = new PipelineFreeze(`${service}-freeze`, { plan: plan.freeze });
  return { maintenance, freeze };
}

function declareDataTool(service: string, plan: Plan, servers: Servers): DataTool {
  // Before any data tool pod starts: no pod of the data path runs without its network limits.
  const network = new DataNetworkPolicy(`${service}-dr-network`, { plan: plan.dataPath.networkPolicy });
  const nightly = new NightlyBackup(
    `${service}-nightly`,
    { plan: plan.dataPath },
    // The nightly identity only: POD_IDENTITY never gives the CronJob the recovery one.
    { dependsOn: [servers.identity, network] },
  );
  return { network, nightly };
}

function declareRecovery(service: string, plan: Plan, servers: Servers, dataTool: DataTool): Recovery {
  const { backups, recovery: identity, live, ptr } = servers;
  if (plan.dataPath.jobs.length > 0 && identity === undefined)
    throw new Error("recovery Jobs are planned without the recovery identity");
  const runAs = identity === undefined ? [] : [identity];
  // The app and the recovery Jobs, in one of two orders (plan.replicas.holdUntilJobs says which). Either way
  // every Job — the flawed-database backup first — runs with web and worker stopped, and the app comes back
  // only after the last Job completed, whatever phase the operator jumped from:
  // - the app stopped in this state (isolate, restore): replica patches at 0 → Jobs;
  // - the app running in this state (validate): hold patches at 0 → Jobs → replica patches back to normal.
  const hold =
    plan.replicas.holdUntilJobs === undefined
      ? undefined
      : new ReplicaHold(`${service}-replicas-hold`, { plan: plan.replicas });
  const stoppedFirst =
    hold === undefined ? [new ReplicaCounts(`${service}-replicas`, { plan: plan.replicas })] : [];
  const recovery = new RecoveryJobs(`${service}-recovery`, {
    plan: plan.dataPath,
    // The Jobs connect to the servers as the recovery identity (its role on the container, its Entra
    // administrator on the servers): those exist first; and the app is stopped.
    dependsOn: [
      dataTool.network,
      ...runAs,
      backups,
      live,
      ...(ptr === undefined ? [] : [ptr]),
      ...(hold === undefined ? stoppedFirst : [hold]),
    ],
  });
  // While the PTR copy exists: psql-ptr / psql-live in the cluster, as the recovery identity (its
  // ServiceAccount and Entra administrator roles exist first).
  const troubleshoot =
    plan.dataPath.troubleshootPod === undefined || ptr === undefined
      ? undefined
      : new TroubleshootPod(`${service}-troubleshoot`, {
          plan: plan.dataPath,
          dependsOn: [dataTool.network, ...runAs, live, ptr],
        });
  const replicas =
    stoppedFirst[0] ?? new ReplicaCounts(`${service}-replicas`, { plan: plan.replicas, after: [recovery] });
  return { recovery, troubleshoot, replicas };
}

/** The backup and Job alerts (absent without `alerts`): the blob service's writes feed the missing-backup rule. */
function declareAlerts(service: string, alerts: AlertsPlan | undefined, servers: Servers): void {
  if (alerts === undefined) return;
  new BackupAlerts(`${service}-alerts`, {
    plan: alerts,
    blobServiceId: servers.backups.blobService.id,
  });
}

// Typed by StackOutputs (stack-outputs.ts), the shape the drill and the tests read back.
function stackOutputs(
  plan: Plan,
  { live, ptr }: Servers,
  { maintenance, freeze }: Switches,
  { nightly }: DataTool,
  { recovery, troubleshoot, replicas }: Recovery,
): ProgramOutputs {
  return {
    drMode: plan.mode,
    drPhase: plan.phase ?? null,
    incidentId: plan.incidentId ?? null,
    // The server holding the live data now: the geo server during a geo-restore.
    liveServerName: plan.activeServer.name,
    liveServerFqdn: live.geoFqdn ?? live.fqdn,
    geoServerName: plan.geoServer?.name ?? null,
    ptrServerName: ptr?.serverName ?? null,
    ptrServerFqdn: ptr?.fqdn ?? null,
    restoreTimeUtc: plan.restorePoint?.utc ?? null,
    restoreTimeLocal: plan.restorePoint?.local ?? null,
    timeZone: plan.zone,
    maintenance: maintenance.maintenanceOn,
    temporaryUrl: maintenance.temporaryUrl ?? null,
    requiredApprovers: freeze.requiredApprovers,
    replicas: replicas.replicas,
    levers: plan.levers,
    nightlyBackupSuspended: nightly.suspended,
    recoveryJobs: Object.keys(recovery.jobs),
    troubleshootPod: troubleshoot?.podName ?? null,
    psqlPtr: plan.dataPath.troubleshootPod?.psqlPtr ?? null,
    psqlLive: plan.dataPath.troubleshootPod?.psqlLive ?? null,
    inspectReport: plan.inspectReport ?? null,
    nextStep: plan.nextStep,
  };
}
