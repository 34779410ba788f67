import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { DataPathPlan } from "../../plan";
import { buildToolArgs, NIGHTLY_BACKUP_STEP, PART_OF_LABEL } from "@service-dr/dr-data";
import { DATA_TOOL_POD_LABELS, dataToolPodSpec, stepLabels } from "./data-tool-pod";
import { dependsOnOf } from "../depends-on";

export interface NightlyBackupArgs {
  /** Schedule, zone, the tool's arguments, and whether the schedule is suspended (during an incident). */
  readonly plan: DataPathPlan;
}

/**
 * The nightly backup of the live database: a CronJob running the data tool's `backup` into the nightly prefix
 * (kept `backup.retentionDays` by the storage lifecycle rule). Scenario 1 restores from these.
 */
export class NightlyBackup extends pulumi.ComponentResource {
  public readonly cronJob: k8s.batch.v1.CronJob;
  public readonly suspended: boolean;

  constructor(name: string, args: NightlyBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:NightlyBackup", name, {}, opts);
    const p = args.plan;
    const n = p.nightly;
    this.suspended = n.suspended;
    this.cronJob = new k8s.batch.v1.CronJob(
      `${name}-cronjob`,
      {
        metadata: {
          name: n.name,
          namespace: p.namespace,
          labels: { ...PART_OF_LABEL },
        },
        spec: {
          schedule: n.schedule,
          // Without timeZone the controller-manager's zone applies; the stack's zone is what operators read.
          timeZone: n.timeZone,
          // Two dumps at once would only compete for the server: a late run is skipped, not stacked.
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: 3600,
          // During an incident a dump of a flawed or empty server must never become the newest nightly.
          suspend: n.suspended,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 5,
          jobTemplate: {
            spec: {
              backoffLimit: 1,
              activeDeadlineSeconds: p.timeoutMinutes * 60,
              template: {
                metadata: {
                  labels: { ...stepLabels(NIGHTLY_BACKUP_STEP), ...DATA_TOOL_POD_LABELS },
                },
                spec: dataToolPodSpec(p, n.serviceAccountName, buildToolArgs(n.args), { "": n.connection }),
              },
            },
          },
        },
      },
      // The component's dependsOn (the identity the pod runs as, its network limits) does not reach its
      // children by itself.
      { parent: this, dependsOn: dependsOnOf("nightly backup", opts) },
    );
    this.registerOutputs({ suspended: this.suspended });
  }
}
