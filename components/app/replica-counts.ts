import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ReplicasPlan } from "../../plan";
import { recoveryAnnotations, replicasPatches } from "./replicas-patch";
import { dependsOnOf } from "../depends-on";

export interface ReplicaCountsArgs {
  /** Namespace and, per deployment id (web, worker), the name and desired replica count. */
  readonly plan: ReplicasPlan;
}

/**
 * "Stop the service": the web and worker Deployments' replica counts, set by server-side-apply patches.
 *
 * The patches live for the life of the stack and switch between the normal count and 0. Deleting a
 * DeploymentPatch would hand `spec.replicas` back and Kubernetes would reset it to 1 — not to the old count —
 * so a patch is never removed just because the incident ended. (An HorizontalPodAutoscaler on a deployment
 * would undo a scale to 0: docs/runbook.md.)
 *
 * When the plan holds the app for recovery Jobs (`holdUntilJobs`), the program makes these patches depend on
 * the Jobs (the app comes back only after every Job completed) and they carry the Jobs' names and the hold's
 * tag, so whenever a ReplicaHold is created (a new Job set) they change too and re-apply the normal count
 * after the Jobs. No ignoreChanges here: after a refresh a count changed by hand shows as a diff and is set back.
 * `opts.dependsOn`: what the patches wait for (the recovery Jobs when the plan holds the app for them), given to
 * each patch itself.
 */
export class ReplicaCounts extends pulumi.ComponentResource {
  public readonly patches: Readonly<Record<string, k8s.apps.v1.DeploymentPatch>>;
  public readonly replicas: Readonly<Record<string, number>>;

  constructor(name: string, args: ReplicaCountsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:ReplicaCounts", name, {}, opts);
    // The app's own deploy pipeline also applies spec.replicas; force takes the field over from it (and from
    // the ReplicaHold patch, applied before the recovery Jobs this return waits for).
    const patches = replicasPatches(this, name, args.plan, {
      replicas: (desired) => desired,
      annotations: recoveryAnnotations(args.plan.holdUntilJobs, true),
      dependsOn: dependsOnOf("replica counts", opts),
    });
    const replicas = Object.fromEntries(
      Object.entries(args.plan.deployments).map(([id, d]) => [id, d.desired]),
    );
    this.patches = patches;
    this.replicas = replicas;
    this.registerOutputs({ replicas: this.replicas });
  }
}
