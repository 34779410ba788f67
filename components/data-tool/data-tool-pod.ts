/**
 * The pod the data-plane tool runs in, shared by the nightly CronJob and the recovery Jobs: the image, the
 * tool's arguments, one connection per environment prefix, and a scratch volume for downloads and dumps
 * (the plan's generic ephemeral volume, sized from the database).
 *
 * No standing secret: the pod runs as a ServiceAccount federated with a managed identity (the nightly or the
 * recovery one, as its plan says: plan-identity.ts POD_IDENTITY) (AKS
 * workload identity: the webhook injects AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE into
 * pods labelled `azure.workload.identity/use`). Blob storage is reached with the identity's token
 * (`DR_STORAGE_AUTH=entra`), PostgreSQL with an Entra access token as password (`DR_PG_AUTH=entra`): the servers
 * accept nothing else.
 */
import type * as k8s from "@pulumi/kubernetes";
import { AUTH_ENV, connectionEnvNames, PART_OF_LABEL, type PodStep, STEP_LABEL } from "@service-dr/dr-data";
import { SCRATCH_DIR, SCRATCH_VOLUME } from "../../plan";
import type { ConnectionPrefix, DataPathPlan, ServerConnection } from "../../plan";
import { WORKLOAD_IDENTITY_LABEL } from "../../plan";
import type { EphemeralVolume } from "../../plan";

/**
 * Where the image's trust store is (Debian's ca-certificates): libpq ≥ 16 reads it for `sslrootcert=system`,
 * Node adds it to its own roots for the pg driver. With `sslmode=verify-full` both check the server's
 * certificate chain up to these roots and its host name.
 */
export const TLS_ENV: Readonly<Record<string, string>> = {
  PGSSLROOTCERT: "system",
  NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
};

/** Labels every data tool pod carries: the workload identity webhook mutates only labelled pods. */
export const DATA_TOOL_POD_LABELS: Readonly<Record<string, string>> = { [WORKLOAD_IDENTITY_LABEL]: "true" };

/**
 * The labels of a data-tool resource (a Job, its pods, the CronJob's pods, the troubleshooting pod): part of
 * service-dr, and its runbook step under the contract's STEP_LABEL, by which the drill (and an operator's
 * `kubectl get jobs -l service-dr/step=restore`) finds it.
 */
export function stepLabels(step: PodStep): Record<string, string> {
  return { ...PART_OF_LABEL, [STEP_LABEL]: step };
}

export interface PodShape {
  /** Replaces the image's entrypoint (the tool). */
  readonly command?: readonly string[];
  readonly restartPolicy?: "Never" | "Always";
  readonly requests?: { readonly cpu: string; readonly memory: string };
  readonly limits?: { readonly cpu: string; readonly memory: string };
  /**
   * A small emptyDir of this size at SCRATCH_DIR instead of the plan's scratch volume (the troubleshooting pod:
   * no dump, and no claim made and deleted with every restart).
   */
  readonly emptyDirScratch?: string;
}

/** The image (Dockerfile) runs as the postgres image's `postgres` user, uid/gid 999. */
const TOOL_UID = 999;

export function dataToolPodSpec(
  plan: DataPathPlan,
  /** The pod plan's ServiceAccount: whose identity it runs as (plan-identity.ts POD_IDENTITY decided). */
  serviceAccountName: string,
  args: readonly string[],
  connections: Readonly<Partial<Record<ConnectionPrefix, ServerConnection>>>,
  /** Plain values added after the connections (a recovery Job's log blob, packages/dr-data/src/job-log.ts). */
  extraEnv: Readonly<Record<string, string>> = {},
  /** A pod that is not a tool run (the troubleshooting pod): its own command, size and restart policy. */
  shape: Readonly<PodShape> = {},
): k8s.types.input.core.v1.PodSpec {
  const env = toolEnv(plan, connections, extraEnv);
  return {
    // A failed step must surface as a failed `pulumi up`, not be retried behind the operator's back.
    restartPolicy: shape.restartPolicy ?? "Never",
    serviceAccountName,
    // The tool never talks to the Kubernetes API: no API token in the pod (the workload identity webhook
    // projects its own token, for Entra only).
    automountServiceAccountToken: false,
    // Numeric ids because the kubelet cannot verify runAsNonRoot against a user given by name.
    securityContext: {
      runAsNonRoot: true,
      runAsUser: TOOL_UID,
      runAsGroup: TOOL_UID,
      fsGroup: TOOL_UID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [toolContainer(plan, args, env, shape)],
    volumes: toolVolumes(plan, shape.emptyDirScratch),
  };
}

/** The tool's environment: how it authenticates, then the connections, then `extraEnv`. */
function toolEnv(
  plan: DataPathPlan,
  connections: Readonly<Partial<Record<ConnectionPrefix, ServerConnection>>>,
  extraEnv: Readonly<Record<string, string>>,
): k8s.types.input.core.v1.EnvVar[] {
  const env: k8s.types.input.core.v1.EnvVar[] = [
    // Chosen explicitly: the tool refuses to fall back to another credential.
    { name: AUTH_ENV.storage, value: "entra" },
    { name: AUTH_ENV.storageAccount, value: plan.storage.accountName },
    { name: AUTH_ENV.postgres, value: "entra" },
    ...Object.entries(TLS_ENV).map(([name, value]) => ({ name, value })),
  ];
  for (const [prefix, c] of Object.entries(connections) as Array<[ConnectionPrefix, ServerConnection]>) {
    env.push(...connectionEnv(prefix, c));
  }
  for (const [name, value] of Object.entries(extraEnv)) env.push({ name, value });
  return env;
}

/** The one container: the tool's image and arguments, its resources, read-only root, scratch and /tmp. */
function toolContainer(
  plan: DataPathPlan,
  args: readonly string[],
  env: k8s.types.input.core.v1.EnvVar[],
  shape: Readonly<PodShape>,
): k8s.types.input.core.v1.Container {
  const emptyDir = shape.emptyDirScratch;
  // An emptyDir counts against the node's ephemeral storage (requested so the pod lands where it fits); the
  // claim is a disk of its own and is no ephemeral storage.
  const ephemeral: Record<string, string> = emptyDir === undefined ? {} : { "ephemeral-storage": emptyDir };
  return {
    name: "dr-data",
    image: plan.image,
    ...(shape.command === undefined ? {} : { command: [...shape.command] }),
    args: [...args],
    env,
    resources: {
      requests: {
        ...(shape.requests ?? { cpu: String(plan.parallelJobs), memory: "1Gi" }),
        ...ephemeral,
      },
      // pg_dump/pg_restore -j N use N CPUs; one more for the tool's own upload/download and checksums.
      limits: {
        ...(shape.limits ?? { cpu: String(plan.parallelJobs + 1), memory: "4Gi" }),
        ...ephemeral,
      },
    },
    // The root filesystem is read-only; /tmp is where Node and the PostgreSQL clients write temporaries.
    volumeMounts: [
      { name: SCRATCH_VOLUME, mountPath: SCRATCH_DIR },
      { name: "tmp", mountPath: "/tmp" },
    ],
    securityContext: {
      runAsNonRoot: true,
      runAsUser: TOOL_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
}

/** The scratch volume (the plan's claim, or the shape's small emptyDir) and /tmp. */
function toolVolumes(plan: DataPathPlan, emptyDir: string | undefined): k8s.types.input.core.v1.Volume[] {
  return [
    // A generic ephemeral volume: a claim made with the pod and deleted with it, so a dump of any size is
    // staged on a disk of its own, not the node's (fsGroup makes it writable by the tool's uid).
    emptyDir === undefined
      ? claimVolume(plan.scratch)
      : { name: SCRATCH_VOLUME, emptyDir: { sizeLimit: emptyDir } },
    { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
  ];
}

/** One connection under `prefix`, by the names the tool reads (contract.ts `connectionEnvNames`). */
function connectionEnv(prefix: ConnectionPrefix, c: ServerConnection): k8s.types.input.core.v1.EnvVar[] {
  const names = connectionEnvNames(prefix);
  return [
    { name: names.host, value: c.host },
    { name: names.port, value: "5432" },
    { name: names.user, value: c.user },
    { name: names.database, value: c.database },
    // TLS with the server's certificate verified (chain and host name): `require` would accept any server.
    { name: names.sslmode, value: "verify-full" },
  ];
}

/** The plan's readonly volume as the provider's input type (its one array copied). */
function claimVolume(v: EphemeralVolume): k8s.types.input.core.v1.Volume {
  const t = v.ephemeral.volumeClaimTemplate;
  return {
    name: v.name,
    ephemeral: {
      volumeClaimTemplate: {
        metadata: { labels: { ...t.metadata.labels } },
        spec: {
          accessModes: [...t.spec.accessModes],
          storageClassName: t.spec.storageClassName,
          resources: { requests: { ...t.spec.resources.requests } },
        },
      },
    },
  };
}
