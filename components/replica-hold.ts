import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ReplicasPlan } from "../plan";
import { replicasPatches } from "./replicas-patch";

export interface ReplicaHoldArgs {
  /** The deployments to hold at 0 and `holdUntilJobs`, the recovery Jobs the hold is for (must be set). */
  readonly plan: ReplicasPlan;
}

export { RECOVERY_JOBS_ANNOTATION } from "./replicas-patch";

/**
 * "The app stays stopped until the restore finished", for the states that declare recovery Jobs *and* run the
 * app (drPhase validate): a second server-side-apply patch per deployment that sets `spec.replicas` to 0. The
 * Jobs wait for it, and the app's own replica patches (ReplicaCounts) wait for the Jobs, so within one
 * `pulumi up` the order is always hold (0) → Jobs → app back (normal count), whether the app was stopped
 * before (isolate/restore → validate) or running (none → validate, a new restore time set in validate).
 *
 * Each Patch resource gets its own field manager (@pulumi/kubernetes: "a random FieldManager name will be
 * used for each Patch resource"), and both patches force (`pulumi.com/patchForce`), so the last one applied
 * owns `spec.replicas`: the app's patch, applied after the Jobs. The Job names are in an annotation on both
 * patches, so a new Job set (new restore time, a retry) changes both and re-applies the order; an unchanged
 * set changes neither and nothing is re-applied. Deleting the hold when the incident closes releases only
 * its annotation: `spec.replicas` belongs to the app's patch by then.
 */
export class ReplicaHold extends pulumi.ComponentResource {
  public readonly patches: Readonly<Record<string, k8s.apps.v1.DeploymentPatch>>;

  constructor(name: string, args: ReplicaHoldArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:ReplicaHold", name, {}, opts);
    const jobs = args.plan.holdUntilJobs;
    if (jobs === undefined) throw new Error("replica hold: the plan holds for no recovery Jobs");
    // 0 until the Jobs completed; no dependsOn: the Jobs wait for the hold, not the other way round.
    const patches = replicasPatches(this, name, args.plan, () => 0, jobs, []);
    this.patches = patches;
    this.registerOutputs({ holds: Object.keys(patches) });
  }
}
