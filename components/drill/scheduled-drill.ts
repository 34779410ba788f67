/**
 * The scheduled drill (plan/drill.ts): its identity, the throwaway point-in-time copy of the live server and
 * the drill's Jobs on it — restore the newest nightly into a scratch database on the copy, inspect the copy
 * against live, write the report. Declared while `drill` is set and no incident is open; removing the setting
 * deletes every resource here, and nothing of the live app is touched while it exists.
 *
 * The copy is NOT protected, on purpose: it is throwaway by design (billed as a full server for as long as it
 * exists), and its deletion by the next `pulumi up` without the setting is what ends the drill.
 */
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as k8s from "@pulumi/kubernetes";
import { buildToolArgs, JOB_LOG_ENV, PART_OF_LABEL, STEP_LABEL } from "@service-dr/dr-data";
import type { DataPathPlan, DrillJobPlan, DrillPlan, DrillStep } from "../../plan";
import { PtrCopy } from "../database/ptr-copy";
import { WorkloadIdentity } from "../identity/workload-identity";
import { DATA_TOOL_POD_LABELS, dataToolPodSpec } from "../data-tool/data-tool-pod";
import { dependsOnOf } from "../depends-on";

export const SCHEDULED_DRILL_TYPE = "service-dr:index:ScheduledDrill";

export interface ScheduledDrillArgs {
  readonly plan: DrillPlan;
  /** The data path (namespace, image, storage, scratch, Job timeout): the drill's Jobs run the same tool. */
  readonly dataPath: DataPathPlan;
  /** The live server's resource id: the copy's source (a real reference, so it waits for the server). */
  readonly liveServerId: pulumi.Input<string>;
  readonly backupContainerId: pulumi.Input<string>;
  readonly tenantId: pulumi.Input<string>;
  /** The nightly identity's principal: the inspection runs as it, and gets the drill's blob role for it. */
  readonly nightlyPrincipalId: pulumi.Input<string>;
}

/** The `service-dr/step` label of a drill Job: `drill-<step>`, never a recovery step's. */
export function drillStepLabels(step: DrillStep): Record<string, string> {
  return { ...PART_OF_LABEL, [STEP_LABEL]: `drill-${step}` };
}

export class ScheduledDrill extends pulumi.ComponentResource {
  public readonly identity: WorkloadIdentity;
  public readonly copy: PtrCopy;
  /** The nightly identity's blob role for the inspection's evidence, only while the drill exists. */
  public readonly inspectAccess: authorization.RoleAssignment;
  public readonly jobs: Readonly<Record<string, k8s.batch.v1.Job>>;
  public readonly reportBlob: string;

  constructor(name: string, args: ScheduledDrillArgs, opts?: pulumi.ComponentResourceOptions) {
    super(SCHEDULED_DRILL_TYPE, name, {}, opts);
    const p = args.plan;
    this.identity = new WorkloadIdentity(
      `${name}-identity`,
      { plan: p.identity, backupContainerId: args.backupContainerId },
      { parent: this },
    );
    // Its administrator is the drill's identity only: the restore needs it on the copy, and on nothing else.
    this.copy = new PtrCopy(
      `${name}-copy`,
      {
        plan: p.copy,
        sourceServerId: args.liveServerId,
        recoveryAdmin: {
          objectId: this.identity.principalId,
          principalName: p.identity.name,
          principalType: "ServicePrincipal",
        },
        tenantId: args.tenantId,
        role: "drill-copy",
      },
      { parent: this },
    );
    const access = p.inspectAccess;
    this.inspectAccess = new authorization.RoleAssignment(
      `${name}-inspect-blob-data`,
      {
        roleAssignmentName: access.name,
        roleDefinitionId: access.roleDefinitionId,
        principalId: args.nightlyPrincipalId,
        principalType: "ServicePrincipal",
        scope: args.backupContainerId,
        description: access.description,
        condition: access.condition,
        conditionVersion: "2.0",
      },
      { parent: this },
    );
    this.jobs = this.declareJobs(name, args, [
      ...dependsOnOf("scheduled drill", opts),
      this.identity,
      this.copy,
      this.inspectAccess,
    ]);
    this.reportBlob = p.reportBlob;
    this.registerOutputs({ jobs: Object.keys(this.jobs), reportBlob: this.reportBlob });
  }

  /** The Jobs strictly in order, each after the one before and after the copy and the identity exist. */
  private declareJobs(
    name: string,
    args: ScheduledDrillArgs,
    first: pulumi.Input<pulumi.Resource>[],
  ): Record<string, k8s.batch.v1.Job> {
    const jobs: Record<string, k8s.batch.v1.Job> = {};
    for (const j of args.plan.jobs) {
      const previous = j.after === undefined ? undefined : jobs[j.after];
      if (j.after !== undefined && previous === undefined)
        throw new Error(
          `scheduled drill: ${j.name} must run after ${j.after}, which is not planned before it`,
        );
      jobs[j.name] = new k8s.batch.v1.Job(`${name}-${j.name}`, drillJobArgs(args.dataPath, j), {
        parent: this,
        dependsOn: previous === undefined ? first : [...first, previous],
        // pulumi up waits for each Job: the workflow reads the report once the last one completed.
        customTimeouts: {
          create: `${args.dataPath.timeoutMinutes}m`,
          update: `${args.dataPath.timeoutMinutes}m`,
        },
        // A drill Job never runs twice under its name (as the recovery Jobs: components/data-tool/recovery-jobs.ts).
        ignoreChanges: ["spec"],
      });
    }
    return jobs;
  }
}

function drillJobArgs(p: DataPathPlan, j: DrillJobPlan): k8s.batch.v1.JobArgs {
  return {
    metadata: { name: j.name, namespace: p.namespace, labels: drillStepLabels(j.step) },
    spec: {
      // One attempt: a failed step is a failed drill, which the workflow reports.
      backoffLimit: 0,
      activeDeadlineSeconds: p.timeoutMinutes * 60,
      template: {
        metadata: { labels: { ...drillStepLabels(j.step), ...DATA_TOOL_POD_LABELS } },
        spec: dataToolPodSpec(p, j.serviceAccountName, buildToolArgs(j.args), j.connections, {
          [JOB_LOG_ENV.container]: p.storage.container,
          [JOB_LOG_ENV.blob]: j.logBlob,
          [JOB_LOG_ENV.done]: j.doneBlob,
        }),
      },
    },
  };
}
