import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ReplicasPlan } from "../../plan";
import { jobSetTag, recoveryAnnotations, replicasPatches } from "./replicas-patch";

export interface ReplicaHoldArgs {
  /** The deployments to hold at 0 and `holdUntilJobs`, the recovery Jobs the hold is for (must be set). */
  readonly plan: ReplicasPlan;
}

export { AFTER_HOLD_ANNOTATION, RECOVERY_JOBS_ANNOTATION, jobSetTag } from "./replicas-patch";

/**
 * What the engine may never re-send on an existing hold: its 0. See the class comment. Not `["spec"]`: on an
 * update the provider copies each ignored path from the live object into the forced apply, so the hold would
 * take the whole live spec (template, image) from the app's pipeline.
 */
export const HOLD_IGNORE_CHANGES: readonly string[] = ["spec.replicas"];

/** The hold's patches for `jobs` are `${name}-${jobSetTag(jobs)}-<deployment id>`: a new Job set, a new name. */
export function holdPatchPrefix(name: string, jobs: readonly string[]): string {
  return `${name}-${jobSetTag(jobs)}`;
}

/**
 * "The app stays stopped until the restore finished", for the states that declare recovery Jobs *and* run the
 * app (drPhase validate): a second server-side-apply patch per deployment that sets `spec.replicas` to 0. The
 * Jobs wait for it, and the app's own replica patches (ReplicaCounts) wait for the Jobs, so within one
 * `pulumi up` the order is hold (0) → Jobs → app back (normal count), whether the app was stopped before
 * (isolate/restore → validate) or running (none → validate, a new restore time set in validate).
 *
 * The hold applies 0 exactly once per Job set, when that set is about to run (docs/provider-facts.md,
 * "Patch resources"):
 * - its name carries the Job set's tag, so a new set is a new resource: a **create**, which applies the full
 *   inputs with force, 0 included (the engine applies ignoreChanges only to a resource already in the state);
 * - `ignoreChanges: ["spec.replicas"]`: once it exists, no update, refresh or replace sends its 0 again. A
 *   `pulumi refresh` stores the live count (say 4) as its inputs; without the option the next `up` would diff
 *   0 against 4 and force 0 — the running app stopped, in the phase the public is back on it. With it the engine
 *   keeps the stored value and the provider drops the path from the diff and, on an update, sends the live
 *   value (or nothing, when the app's patch owns the field).
 * - the app's patches carry the tag too (AFTER_HOLD_ANNOTATION), so they change in the same `up`, wait for the
 *   Jobs, and force the normal count after them: each 0 is followed by the app's count.
 *
 * Each Patch resource has its own field manager, and the app's patch applies last: it owns `spec.replicas` when
 * a hold goes away. The engine deletes a hold no longer declared (the incident closed, or replaced by the next
 * Job set's) after every create and update of that `up`, i.e. after the app's patch; the provider's delete of a
 * Patch only gives up what its manager still owns — the annotations it shares with the app's patch — so the
 * count stays. An `up` that fails first (a Job failed) deletes nothing: the old hold stays in the state until
 * an `up` succeeds, owning nothing that matters.
 *
 * A stack that has the untagged hold (`…-replicas-hold-web`) of an earlier version declared mid-incident: its
 * first `up` with this one creates the tagged hold (0, once), runs no Job again (the same names), re-applies the
 * app's count (its patches' new annotation), then deletes the old hold as above. So the app stops once, briefly,
 * within that `up`, and no Job runs under it; upgrade outside validate to avoid even that. No alias to the old
 * name: it would make the tagged hold an update, which never applies 0 — unsafe if that `up` also brings new
 * Jobs. (A deployment renamed while a hold is declared is a replace, which sends the stored count, not a fresh
 * 0: change deployment names outside an incident.)
 */
export class ReplicaHold extends pulumi.ComponentResource {
  public readonly patches: Readonly<Record<string, k8s.apps.v1.DeploymentPatch>>;

  constructor(name: string, args: ReplicaHoldArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:ReplicaHold", name, {}, opts);
    const jobs = args.plan.holdUntilJobs;
    if (jobs === undefined) throw new Error("replica hold: the plan holds for no recovery Jobs");
    // 0 until the Jobs completed; no dependsOn: the Jobs wait for the hold, not the other way round.
    const patches = replicasPatches(this, holdPatchPrefix(name, jobs), args.plan, {
      replicas: () => 0,
      annotations: recoveryAnnotations(jobs, false),
      dependsOn: [],
      ignoreChanges: HOLD_IGNORE_CHANGES,
    });
    this.patches = patches;
    this.registerOutputs({ holds: Object.keys(patches) });
  }
}
