/**
 * The program as a function of the clock: load config, plan, construct the components, return the stack
 * outputs. `index.ts` calls it with the real clock; the tests and the offline plan call it under Pulumi's mock
 * runtime with a pinned one.
 */
import type { DateTime } from "luxon";
import { loadConfig, readSecrets } from "./config";
import { buildPlan } from "./plan";
import { LiveServer } from "./components/live-server";
import { PtrCopy } from "./components/ptr-copy";
import { MaintenanceMode } from "./components/maintenance-mode";
import { ReplicaCounts } from "./components/replica-counts";
import { PipelineFreeze } from "./components/pipeline-freeze";
import { BackupStorage } from "./components/backup-storage";
import { DataToolAccess } from "./components/data-tool-access";
import { NightlyBackup } from "./components/nightly-backup";
import { RecoveryJobs } from "./components/recovery-jobs";
import { WorkloadIdentity } from "./components/workload-identity";

export async function program(now: DateTime): Promise<Record<string, unknown>> {
  // Throws ConfigError with every problem before anything is declared.
  const cfg = loadConfig(now);
  const plan = buildPlan(cfg, now);
  const secrets = readSecrets();
  const service = cfg.kubernetes.service;

  // The backups and the data tool's identity first: the identity is the live server's Entra administrator.
  const backups = new BackupStorage(`${service}-backups`, { plan: plan.dataPath.storage });
  const identity = new WorkloadIdentity(`${service}-dr-identity`, {
    plan: plan.dataPath.identity,
    backupContainerId: backups.containerId,
  });
  const live = new LiveServer(`${service}-live`, {
    plan: plan.liveServer,
    geo: plan.geoServer,
    administratorPassword: secrets.postgresAdminPassword,
    entraAdministrator: {
      objectId: identity.principalId,
      principalName: plan.dataPath.identity.name,
      principalType: "ServicePrincipal",
      tenantId: identity.tenantId,
    },
  });
  const ptr =
    plan.ptrCopy === undefined
      ? undefined
      : new PtrCopy(`${service}-ptr`, { plan: plan.ptrCopy, sourceServerId: live.serverId });
  const maintenance = new MaintenanceMode(`${service}-maintenance`, { plan: plan.maintenance });
  const replicas = new ReplicaCounts(`${service}-replicas`, { plan: plan.replicas });
  const freeze = new PipelineFreeze(`${service}-freeze`, { plan: plan.freeze });

  const access = new DataToolAccess(`${service}-dr-access`, {
    plan: plan.dataPath,
    databasePassword: secrets.postgresAdminPassword,
  });
  const nightly = new NightlyBackup(
    `${service}-nightly`,
    { plan: plan.dataPath },
    { dependsOn: [access, identity] },
  );
  const recovery = new RecoveryJobs(`${service}-recovery`, {
    plan: plan.dataPath,
    // The Jobs connect to the servers as the identity (its role on the container, its Entra administrator
    // on the server): those exist first. The flawed-database backup
    // also waits for the service to be stopped (replicas) so nothing writes while it dumps.
    dependsOn: [access, identity, backups, live, replicas, ...(ptr === undefined ? [] : [ptr])],
  });

  return Promise.resolve({
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
    nextStep: plan.nextStep,
  });
}
