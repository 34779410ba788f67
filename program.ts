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

export async function program(now: DateTime): Promise<Record<string, unknown>> {
  // Throws ConfigError with every problem before anything is declared.
  const cfg = loadConfig(now);
  const plan = buildPlan(cfg, now);
  const secrets = readSecrets();
  const service = cfg.kubernetes.service;

  const live = new LiveServer(`${service}-live`, {
    plan: plan.liveServer,
    administratorPassword: secrets.postgresAdminPassword,
  });
  const ptr =
    plan.ptrCopy === undefined
      ? undefined
      : new PtrCopy(`${service}-ptr`, { plan: plan.ptrCopy, sourceServerId: live.serverId });
  const maintenance = new MaintenanceMode(`${service}-maintenance`, { plan: plan.maintenance });
  const replicas = new ReplicaCounts(`${service}-replicas`, { plan: plan.replicas });
  const freeze = new PipelineFreeze(`${service}-freeze`, { plan: plan.freeze });

  return Promise.resolve({
    drMode: plan.mode,
    drPhase: plan.phase ?? null,
    incidentId: plan.incidentId ?? null,
    liveServerName: live.serverName,
    liveServerFqdn: live.fqdn,
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
    nextStep: plan.nextStep,
  });
}
