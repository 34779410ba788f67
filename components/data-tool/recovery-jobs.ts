import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { DataJobPlan, DataPathPlan } from "../../plan";
import { buildToolArgs, JOB_LOG_ENV } from "@service-dr/dr-data";
import { DATA_TOOL_POD_LABELS, dataToolPodSpec, stepLabels, type PodShape } from "./data-tool-pod";
import { dependsOnOf } from "../depends-on";

export interface RecoveryJobsArgs {
  /** The Jobs this DR state calls for, in order (each names its predecessor). */
  readonly plan: DataPathPlan;
}

/**
 * The runbook's data steps as Kubernetes Jobs: back up the flawed database, back up the PTR copy, restore into
 * the live server, compare. `pulumi up` waits for each Job to complete and fails if it fails. Each Job's name
 * carries the incident (and the restore time), so a later `pulumi up` finds it unchanged and never runs a
 * finished step again. `opts.dependsOn`: what every Job needs to exist first (the credentials, the servers it
 * connects to, the app stopped); each Job also waits for the one before it.
 */
export class RecoveryJobs extends pulumi.ComponentResource {
  public readonly jobs: Readonly<Record<string, k8s.batch.v1.Job>>;

  constructor(name: string, args: RecoveryJobsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:RecoveryJobs", name, {}, opts);
    const p = args.plan;
    const first = dependsOnOf("recovery jobs", opts);
    const jobs: Record<string, k8s.batch.v1.Job> = {};
    for (const j of p.jobs) {
      const previous = j.after === undefined ? undefined : jobs[j.after];
      if (j.after !== undefined && previous === undefined) {
        throw new Error(`recovery jobs: ${j.name} must run after ${j.after}, which is not planned before it`);
      }
      jobs[j.name] = new k8s.batch.v1.Job(`${name}-${j.name}`, jobArgs(p, j), {
        parent: this,
        // Strictly in order: a restore never starts before the dump it restores (and the flawed database's
        // dump) exists.
        dependsOn: previous === undefined ? first : [...first, previous],
        // pulumi up waits for completion; a restore of a large database takes longer than the default 10 min.
        // (An option, not an input: a new timeout never changes an existing Job, it applies to new ones.)
        customTimeouts: { create: `${p.timeoutMinutes}m`, update: `${p.timeoutMinutes}m` },
        // A declared Job never changes after it was created: its spec (image, args with --jobs, resources,
        // scratch size, activeDeadlineSeconds, env) is fed by the dataTool.* settings, and a Job's pod
        // template is immutable in Kubernetes, so any change would make the provider *replace* the Job — i.e.
        // run a finished backup or restore again (a new backup-ptr blob, then a table restore refused because
        // its run id names another blob, mid-incident). The engine keeps the old spec on every later up; a new
        // setting applies to Jobs created after it (a new restore time, or retry.<step>: a new Job name).
        ignoreChanges: ["spec"],
      });
    }
    this.jobs = jobs;
    this.registerOutputs({ jobs: Object.keys(jobs) });
  }
}

/**
 * The report at close reads the Jobs' records, the heads and tails of their logs and two small reports, and
 * writes two small blobs: no dump, so no claim of the database's size for scratch, and little CPU or memory.
 */
const REPORT_POD: PodShape = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { cpu: "1", memory: "1Gi" },
  emptyDirScratch: "1Gi",
};

/** A recovery Job: its step as a label, one attempt, the tool's rendered command and its evidence blobs. */
function jobArgs(p: DataPathPlan, j: DataJobPlan): k8s.batch.v1.JobArgs {
  return {
    metadata: {
      name: j.name,
      namespace: p.namespace,
      // The step as a label: the drill finds a Job by it, never by its argv.
      labels: stepLabels(j.step),
      // No ttlSecondsAfterFinished: a Job deleted by the cluster would be drift that a refresh recreates,
      // i.e. a finished restore run again.
    },
    spec: {
      // One attempt: the operator sees the failure in `pulumi up` and decides (docs/runbook.md).
      backoffLimit: 0,
      activeDeadlineSeconds: p.timeoutMinutes * 60,
      template: {
        metadata: {
          labels: { ...stepLabels(j.step), ...DATA_TOOL_POD_LABELS },
        },
        // The tool also writes its whole output to the backup storage (packages/dr-data/src/job-log.ts): the evidence
        // (verification, compare tables) outlives the Job and its pod. And its completion record: a Job
        // deleted by going back a phase and created again under this name finds it and does nothing.
        spec: dataToolPodSpec(
          p,
          j.serviceAccountName,
          buildToolArgs(j.args),
          j.connections,
          {
            [JOB_LOG_ENV.container]: p.storage.container,
            [JOB_LOG_ENV.blob]: j.logBlob,
            [JOB_LOG_ENV.done]: j.doneBlob,
          },
          j.step === "report" ? REPORT_POD : {},
        ),
      },
    },
  };
}
