import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ReplicasPlan } from "../../plan";

/** The annotation naming the Jobs a hold (or the app's return after it) is for. */
export const RECOVERY_JOBS_ANNOTATION = "service-dr/recovery-jobs";
/**
 * On the app's patches: the tag of the hold they follow (`jobSetTag`). A hold is created exactly when its tag
 * is new, and the app's patches change with it, so every hold's 0 is followed in the same `pulumi up` by the
 * app's count — also when the tag is new only because the stack upgraded from an untagged hold.
 */
export const AFTER_HOLD_ANNOTATION = "service-dr/after-hold";

/**
 * The tag of a set of recovery Jobs: `j` + the first 10 hex digits of the SHA-256 of the names, sorted and
 * joined with commas. The same names (in any order) give the same tag; any added, removed or renamed Job (a
 * new restore time, `ptr.tables`, a retry) gives another.
 */
export function jobSetTag(jobs: readonly string[]): string {
  const digest = createHash("sha256")
    .update([...jobs].sort().join(","))
    .digest("hex");
  return `j${digest.slice(0, 10)}`;
}

export interface ReplicasPatchOptions {
  /** The count to declare for a deployment, from its desired count. */
  readonly replicas: (desired: number) => number;
  /** Annotations besides `pulumi.com/patchForce` (the Jobs' names, the hold's tag). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly dependsOn: readonly pulumi.Input<pulumi.Resource>[];
  /** Given to each patch as is; the caller's comment says why. */
  readonly ignoreChanges?: readonly string[];
}

/**
 * One server-side-apply patch of `spec.replicas` per deployment of the plan, named `${name}-${id}`: the shape
 * both ReplicaCounts (the app's count) and ReplicaHold (0 while recovery Jobs run) declare. Every patch forces
 * (`pulumi.com/patchForce`): the app's own deploy pipeline also applies `spec.replicas`, and of the hold and
 * the app's patch the last applied must own it.
 */
export function replicasPatches(
  parent: pulumi.Resource,
  name: string,
  plan: ReplicasPlan,
  o: ReplicasPatchOptions,
): Record<string, k8s.apps.v1.DeploymentPatch> {
  const patches: Record<string, k8s.apps.v1.DeploymentPatch> = {};
  for (const [id, d] of Object.entries(plan.deployments)) {
    patches[id] = new k8s.apps.v1.DeploymentPatch(
      `${name}-${id}`,
      {
        metadata: {
          name: d.name,
          namespace: plan.namespace,
          annotations: { "pulumi.com/patchForce": "true", ...o.annotations },
        },
        spec: { replicas: o.replicas(d.desired) },
      },
      {
        parent,
        dependsOn: [...o.dependsOn],
        ...(o.ignoreChanges === undefined ? {} : { ignoreChanges: [...o.ignoreChanges] }),
      },
    );
  }
  return patches;
}

/** The annotations of a patch that belongs to a hold for `jobs` (the hold's own, and the app's return). */
export function recoveryAnnotations(
  jobs: readonly string[] | undefined,
  withHoldTag: boolean,
): Record<string, string> {
  if (jobs === undefined) return {};
  return {
    [RECOVERY_JOBS_ANNOTATION]: jobs.join(","),
    ...(withHoldTag ? { [AFTER_HOLD_ANNOTATION]: jobSetTag(jobs) } : {}),
  };
}
