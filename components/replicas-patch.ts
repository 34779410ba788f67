import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ReplicasPlan } from "../plan";

/** The annotation naming the Jobs a hold (or the app's return after it) is for; a new Job set re-applies both. */
export const RECOVERY_JOBS_ANNOTATION = "service-dr/recovery-jobs";

/**
 * One server-side-apply patch of `spec.replicas` per deployment of the plan, the shape both ReplicaCounts
 * (the app's count) and ReplicaHold (0 while recovery Jobs run) declare. Every patch forces
 * (`pulumi.com/patchForce`): the app's own deploy pipeline also applies `spec.replicas`, and of the hold and
 * the app's patch the last applied must own it. `jobs`, when given, goes into RECOVERY_JOBS_ANNOTATION so a
 * new Job set changes the patch and re-applies the order.
 */
export function replicasPatches(
  parent: pulumi.Resource,
  name: string,
  plan: ReplicasPlan,
  replicas: (desired: number) => number,
  jobs: readonly string[] | undefined,
  dependsOn: readonly pulumi.Resource[],
): Record<string, k8s.apps.v1.DeploymentPatch> {
  const patches: Record<string, k8s.apps.v1.DeploymentPatch> = {};
  for (const [id, d] of Object.entries(plan.deployments)) {
    patches[id] = new k8s.apps.v1.DeploymentPatch(
      `${name}-${id}`,
      {
        metadata: {
          name: d.name,
          namespace: plan.namespace,
          annotations: {
            "pulumi.com/patchForce": "true",
            ...(jobs === undefined ? {} : { [RECOVERY_JOBS_ANNOTATION]: jobs.join(",") }),
          },
        },
        spec: { replicas: replicas(d.desired) },
      },
      { parent, dependsOn: [...dependsOn] },
    );
  }
  return patches;
}
