/**
 * One service's disaster recovery as one component: from its validated config and the clock, the plan
 * (plan/), then every component the plan calls for as children — the servers and the identities that reach
 * them, the operator's switches, the data tool's nightly backup, and the recovery Jobs with the app's replicas
 * around them. It never reads `pulumi.Config`: a stack's program (stack/program.ts) loads and validates the
 * config and constructs it, and any Pulumi program can construct one per service.
 *
 * Moved resources keep their URNs: the children were once declared at the top of the stack, so each carries
 * an alias to the root stack as its former parent, and their own children inherit it (docs/provider-facts.md,
 * "Moving the components into ServiceRecovery").
 */
import * as pulumi from "@pulumi/pulumi";
import type { DateTime } from "luxon";
import type * as k8s from "@pulumi/kubernetes";
import { buildToolArgs } from "@service-dr/dr-data";
import type { StackConfig } from "../config";
import {
  buildPlan,
  planAlerts,
  planDrill,
  renderNextStep,
  type AlertsPlan,
  type DrillPlan,
  type Plan,
} from "../plan";
import type { DrillOutput, ProgramOutputs } from "../stack/outputs";
import { LiveServer, type EntraPrincipal } from "./database/live-server";
import { PtrCopy } from "./database/ptr-copy";
import { MaintenanceMode } from "./app/maintenance-mode";
import { ReplicaCounts } from "./app/replica-counts";
import { ReplicaHold } from "./app/replica-hold";
import { PipelineFreeze } from "./pipeline/pipeline-freeze";
import { BackupStorage } from "./storage/backup-storage";
import { NightlyBackup } from "./data-tool/nightly-backup";
import { RecoveryJobs } from "./data-tool/recovery-jobs";
import { WorkloadIdentity } from "./identity/workload-identity";
import { TroubleshootPod } from "./data-tool/troubleshoot-pod";
import { DataNetworkPolicy } from "./data-tool/network-policy";
import { BackupAlerts } from "./monitoring/backup-alerts";
import { ScheduledDrill } from "./drill/scheduled-drill";

export const SERVICE_RECOVERY_TYPE = "service-dr:index:ServiceRecovery";

export interface ServiceRecoveryArgs {
  /**
   * The service's configuration, already validated (config/ `loadConfig` in a stack, `parseConfig` anywhere):
   * the component trusts it and checks nothing again. Physical names (servers, Jobs, Kubernetes objects) come
   * from it; the children's logical names from the component's name.
   */
  readonly config: StackConfig;
  /** The clock the plan is built at (restore windows, suggested incident ids, the geo-restore's point in time). */
  readonly now: DateTime;
}

/** The stores of the data and the identities that reach them: declared first, the rest waits for them. */
export interface Servers {
  readonly backups: BackupStorage;
  /** The nightly backup's: reads the database, writes only under nightly/. */
  readonly identity: WorkloadIdentity;
  /** The recovery Jobs' and the troubleshooting pod's, only while an incident is open. */
  readonly recovery: WorkloadIdentity | undefined;
  readonly live: LiveServer;
  readonly ptr: PtrCopy | undefined;
}

/** The switches the operator flips around an incident: the maintenance page and the pipeline freeze. */
export interface Switches {
  readonly maintenance: MaintenanceMode;
  readonly freeze: PipelineFreeze;
}

/** The nightly backup that runs the data tool, and what its pods (and the recovery Jobs') may reach. */
export interface DataTool {
  readonly network: DataNetworkPolicy;
  readonly nightly: NightlyBackup;
}

/** The recovery Jobs, the troubleshooting pod and the app's replicas around them. */
export interface Recovery {
  readonly recovery: RecoveryJobs;
  readonly troubleshoot: TroubleshootPod | undefined;
  readonly replicas: ReplicaCounts;
}

/** How each child is declared: under the component, and found again where the stack's root once held it. */
interface ChildContext {
  readonly name: string;
  readonly plan: Plan;
  readonly opts: pulumi.ComponentResourceOptions;
}

/**
 * The disaster recovery of one service (a web app on AKS, its Azure PostgreSQL flexible server, its GitHub
 * repository): every runbook step is a config change of the stack that declares it, then `pulumi up`.
 */
export class ServiceRecovery extends pulumi.ComponentResource {
  /** What this state of the runbook calls for, as data (plan/). */
  public readonly plan: Plan;
  public readonly servers: Servers;
  public readonly switches: Switches;
  public readonly dataTool: DataTool;
  public readonly recovery: Recovery;
  /** The missing-backup and failed-Job alerts; undefined without `alerts`. */
  public readonly alerts: BackupAlerts | undefined;
  /** The scheduled drill, while `drill` is set and no incident is open (plan/drill.ts). */
  public readonly drill: ScheduledDrill | undefined;
  /** The stack outputs' shape (stack/outputs.ts): what a stack exports and the drill reads back. */
  public readonly outputs: ProgramOutputs;

  constructor(name: string, args: ServiceRecoveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(SERVICE_RECOVERY_TYPE, name, {}, opts);
    this.plan = buildPlan(args.config, args.now);
    const drill = planDrill(args.config, this.plan.liveServer);
    commandsRender(this.plan, drill);
    // Every child was a top-level resource of the stack before this component existed: the alias finds it
    // there, so no resource is replaced or deleted by the move (and each child's own children inherit it).
    const ctx: ChildContext = {
      name,
      plan: this.plan,
      opts: { parent: this, aliases: [{ parent: pulumi.rootStackResource }] },
    };
    this.servers = declareServers(ctx);
    this.switches = declareSwitches(ctx);
    this.dataTool = declareDataTool(ctx, this.servers);
    this.recovery = declareRecovery(ctx, this.servers, this.dataTool);
    this.alerts = declareAlerts(ctx, planAlerts(args.config), this.servers);
    this.drill = declareDrill(ctx, drill, this.servers, this.dataTool);
    this.outputs = {
      ...recoveryOutputs(this.plan, this.servers, this.switches, this.dataTool, this.recovery),
      // Only while a drill is declared: the outputs of every other state stay as they were.
      ...(drill === undefined ? {} : { drill: drillOutput(drill) }),
    };
    this.registerOutputs(this.outputs);
  }
}

/** The backup and Job alerts (absent without `alerts`): the blob service's writes feed the missing-backup rule. */
function declareAlerts(
  { name, opts }: ChildContext,
  alerts: AlertsPlan | undefined,
  servers: Servers,
): BackupAlerts | undefined {
  if (alerts === undefined) return undefined;
  return new BackupAlerts(
    `${name}-alerts`,
    { plan: alerts, blobServiceId: servers.backups.blobService.id },
    opts,
  );
}

/**
 * Every command of the data tool renders to argv before the first child is declared: a value the contract
 * refuses (a blob name outside the rules) stops the program here, with nothing declared.
 */
function commandsRender(plan: Plan, drill: DrillPlan | undefined): void {
  for (const command of [
    plan.dataPath.nightly.args,
    ...plan.dataPath.jobs.map((j) => j.args),
    ...(drill?.jobs ?? []).map((j) => j.args),
  ]) {
    buildToolArgs(command);
  }
}

/**
 * The scheduled drill, beside everything else and touching none of it: its Jobs wait for the data tool's
 * network limits and the nightly identity (the inspection runs as it), nothing of the app waits for them.
 * Not aliased: it never existed at the stack's root.
 */
function declareDrill(
  { name, plan, opts }: ChildContext,
  drill: DrillPlan | undefined,
  servers: Servers,
  dataTool: DataTool,
): ScheduledDrill | undefined {
  if (drill === undefined) return undefined;
  return new ScheduledDrill(
    `${name}-drill`,
    {
      plan: drill,
      dataPath: plan.dataPath,
      liveServerId: servers.live.serverId,
      backupContainerId: servers.backups.containerId,
      tenantId: servers.identity.tenantId,
      nightlyPrincipalId: servers.identity.principalId,
    },
    { parent: opts.parent, dependsOn: [dataTool.network, servers.identity, servers.backups] },
  );
}

/** The `drill` output: what the workflow reads back to find the report and judge the objectives. */
function drillOutput(drill: DrillPlan): DrillOutput {
  return {
    id: drill.id,
    startedAt: drill.startedAt,
    copyServerName: drill.copy.name,
    restoreTimeUtc: drill.copy.pointInTimeUtc,
    jobs: drill.jobs.map((j) => j.name),
    reportBlob: drill.reportBlob,
    objectives: drill.objectives,
  };
}

function declareServers({ name, plan, opts }: ChildContext): Servers {
  // The backups and the identities first: during an incident the recovery identity is an Entra administrator.
  const backups = new BackupStorage(`${name}-backups`, { plan: plan.dataPath.storage }, opts);
  const ids = plan.dataPath.identities;
  // The component name of the one identity of earlier versions: the nightly identity keeps its resources.
  const identity = new WorkloadIdentity(
    `${name}-dr-identity`,
    { plan: ids.nightly, backupContainerId: backups.containerId },
    opts,
  );
  const recovery =
    ids.recovery === undefined
      ? undefined
      : new WorkloadIdentity(
          `${name}-dr-recovery`,
          { plan: ids.recovery, backupContainerId: backups.containerId },
          opts,
        );
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
  const live = new LiveServer(
    `${name}-live`,
    {
      plan: plan.liveServer,
      geo: plan.geoServer,
      tenantId: identity.tenantId,
      extraAdmins: admin === undefined ? {} : { recovery: admin },
    },
    opts,
  );
  const ptr = declarePtrCopy({ name, plan, opts }, live, admin, identity.tenantId);
  return { backups, identity, recovery, live, ptr };
}

/** The PTR copy, with the recovery identity as its administrator (a PTR copy exists only during an incident). */
function declarePtrCopy(
  { name, plan, opts }: ChildContext,
  live: LiveServer,
  admin: EntraPrincipal | undefined,
  tenantId: pulumi.Input<string>,
): PtrCopy | undefined {
  if (plan.ptrCopy === undefined) return undefined;
  if (admin === undefined) throw new Error("a PTR copy is planned outside an incident");
  return new PtrCopy(
    `${name}-ptr`,
    { plan: plan.ptrCopy, sourceServerId: live.serverId, recoveryAdmin: admin, tenantId },
    opts,
  );
}

function declareSwitches({ name, plan, opts }: ChildContext): Switches {
  const maintenance = new MaintenanceMode(`${name}-maintenance`, { plan: plan.maintenance }, opts);
  const freeze = new PipelineFreeze(`${name}-freeze`, { plan: plan.freeze }, opts);
  return { maintenance, freeze };
}

function declareDataTool({ name, plan, opts }: ChildContext, servers: Servers): DataTool {
  // Before any data tool pod starts: no pod of the data path runs without its network limits.
  const network = new DataNetworkPolicy(`${name}-dr-network`, { plan: plan.dataPath.networkPolicy }, opts);
  const nightly = new NightlyBackup(
    `${name}-nightly`,
    { plan: plan.dataPath },
    // The nightly identity only: POD_IDENTITY never gives the CronJob the recovery one.
    { ...opts, dependsOn: [servers.identity, network] },
  );
  return { network, nightly };
}

function declareRecovery(ctx: ChildContext, servers: Servers, dataTool: DataTool): Recovery {
  const { name, plan, opts } = ctx;
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
      : new ReplicaHold(`${name}-replicas-hold`, { plan: plan.replicas }, opts);
  const stoppedFirst =
    hold === undefined ? [new ReplicaCounts(`${name}-replicas`, { plan: plan.replicas }, opts)] : [];
  // The Jobs connect to the servers as the recovery identity (its role on the container, its Entra
  // administrator on the servers): those exist first; and the app is stopped.
  const recovery = new RecoveryJobs(
    `${name}-recovery`,
    { plan: plan.dataPath },
    {
      ...opts,
      dependsOn: [
        dataTool.network,
        ...runAs,
        backups,
        live,
        ...(ptr === undefined ? [] : [ptr]),
        ...(hold === undefined ? stoppedFirst : [hold]),
      ],
    },
  );
  const troubleshoot = declareTroubleshootPod(ctx, servers, dataTool, runAs);
  // The app comes back after the Jobs it was held for: the restores and their checks, not the report at close
  // (it touches no server, and a report that failed must not keep the validated app at 0).
  const heldFor = (plan.replicas.holdUntilJobs ?? []).map((job) => recoveryJob(recovery, job));
  const replicas =
    stoppedFirst[0] ??
    new ReplicaCounts(`${name}-replicas`, { plan: plan.replicas }, { ...opts, dependsOn: heldFor });
  return { recovery, troubleshoot, replicas };
}

/** The declared Job named `job`: the plan holds the app only for Jobs it declares. */
function recoveryJob(recovery: RecoveryJobs, job: string): k8s.batch.v1.Job {
  const declared = recovery.jobs[job];
  if (declared === undefined)
    throw new Error(`service recovery: the app is held for ${job}, which is not declared`);
  return declared;
}

/**
 * While the PTR copy exists: psql-ptr / psql-live in the cluster, as the recovery identity (its
 * ServiceAccount and Entra administrator roles exist first).
 */
function declareTroubleshootPod(
  { name, plan, opts }: ChildContext,
  { live, ptr }: Servers,
  dataTool: DataTool,
  runAs: readonly WorkloadIdentity[],
): TroubleshootPod | undefined {
  if (plan.dataPath.troubleshootPod === undefined || ptr === undefined) return undefined;
  return new TroubleshootPod(
    `${name}-troubleshoot`,
    { plan: plan.dataPath },
    { ...opts, dependsOn: [dataTool.network, ...runAs, live, ptr] },
  );
}

/** The stack outputs (stack/outputs.ts StackOutputs), the shape the drill and the tests read back. */
function recoveryOutputs(
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
    nextStep: renderNextStep(plan.nextStep),
  };
}
