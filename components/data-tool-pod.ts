/**
 * The pod the data-plane tool runs in, shared by the nightly CronJob and the recovery Jobs: the image, the
 * tool's arguments, one connection per environment prefix (password from the credentials Secret, never in the
 * spec), the storage connection string from its Secret, and a scratch volume for downloads and dumps.
 */
import type * as k8s from "@pulumi/kubernetes";
import { SCRATCH_DIR } from "../plan-data";
import type { ConnectionPrefix, DataPathPlan, ServerConnection } from "../plan-data";

/** Key of the database password in the credentials Secret. */
export const PASSWORD_KEY = "PGPASSWORD";
/** Key of the storage connection string in the storage Secret. */
export const STORAGE_KEY = "AZURE_STORAGE_CONNECTION_STRING";

export function dataToolPodSpec(
  plan: DataPathPlan,
  args: readonly string[],
  connections: Readonly<Partial<Record<ConnectionPrefix, ServerConnection>>>,
  /** Plain values added after the connections (a recovery Job's log blob, tool/job-log.ts). */
  extraEnv: Readonly<Record<string, string>> = {},
): k8s.types.input.core.v1.PodSpec {
  const env: k8s.types.input.core.v1.EnvVar[] = [];
  for (const [prefix, c] of Object.entries(connections) as Array<[ConnectionPrefix, ServerConnection]>) {
    env.push(
      { name: `${prefix}PGHOST`, value: c.host },
      { name: `${prefix}PGPORT`, value: "5432" },
      { name: `${prefix}PGUSER`, value: c.user },
      { name: `${prefix}PGDATABASE`, value: c.database },
      // Azure's flexible server requires TLS.
      { name: `${prefix}PGSSLMODE`, value: "require" },
      {
        name: `${prefix}PGPASSWORD`,
        valueFrom: { secretKeyRef: { name: plan.credentialsSecretName, key: PASSWORD_KEY } },
      },
    );
  }
  for (const [name, value] of Object.entries(extraEnv)) env.push({ name, value });
  env.push({
    name: STORAGE_KEY,
    valueFrom: { secretKeyRef: { name: plan.storageSecretName, key: STORAGE_KEY } },
  });
  return {
    // A failed step must surface as a failed `pulumi up`, not be retried behind the operator's back.
    restartPolicy: "Never",
    // The image (Dockerfile) runs as the postgres image's `postgres` user, uid/gid 999. Numeric here because
    // the kubelet cannot verify runAsNonRoot against a user given by name.
    securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999 },
    containers: [
      {
        name: "dr-data",
        image: plan.image,
        args: [...args],
        env,
        resources: {
          requests: { cpu: String(plan.parallelJobs), memory: "1Gi", "ephemeral-storage": plan.scratchSize },
          limits: { memory: "4Gi", "ephemeral-storage": plan.scratchSize },
        },
        // The root filesystem is read-only; /tmp is where Node and the PostgreSQL clients write temporaries.
        volumeMounts: [
          { name: "scratch", mountPath: SCRATCH_DIR },
          { name: "tmp", mountPath: "/tmp" },
        ],
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
      },
    ],
    volumes: [
      { name: "scratch", emptyDir: { sizeLimit: plan.scratchSize } },
      { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
    ],
  };
}
