/**
 * The data path's identity, planned (issue 13): a user-assigned managed identity that the recovery Jobs and
 * the nightly CronJob run as through AKS workload identity. Pure, like plan.ts: names and ids from config.
 *
 * - The Kubernetes ServiceAccount `<service>-dr-data` is federated with the identity: the cluster's OIDC
 *   issuer signs the pod's service account token, Entra exchanges it for the identity's tokens.
 * - Blob data: "Storage Blob Data Contributor" on the backup container only (not the account, not the group),
 *   with a condition outside an incident: no delete, writes only under `nightly/`; the unconditioned role only
 *   while an incident is open.
 * - PostgreSQL: outside an incident the identity can only read (`pg_read_all_data`, granted once by SQL:
 *   docs/runbook.md); while an incident is open it is also a Microsoft Entra administrator of the live server,
 *   which the restore needs. The servers accept nothing but Entra logins (no password exists).
 */
import * as crypto from "node:crypto";
import type { StackConfig } from "./config";

/** Built-in role "Storage Blob Data Contributor" (read, write, delete blobs; no account keys, no management). */
export const STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
/** The audience AKS workload identity's federated credentials use. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
/** Entra token scope of Azure Database for PostgreSQL (the token is the password). */
export const POSTGRES_TOKEN_SCOPE = "https://ossrdbms-aad.database.windows.net/.default";
/** Pod label the workload identity webhook looks for; it then injects AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE. */
export const WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use";
/** ServiceAccount annotation naming the managed identity's client id. */
export const CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id";

export interface IdentityPlan {
  /** The managed identity's name; also the PostgreSQL role the Jobs log in as (the Entra principal name). */
  readonly name: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly federatedCredentialName: string;
  readonly issuer: string;
  /** `system:serviceaccount:<namespace>:<name>`: only this ServiceAccount's tokens are exchanged. */
  readonly subject: string;
  readonly audiences: readonly string[];
  /**
   * The standing role assignment on the backup container: Storage Blob Data Contributor with a condition — no
   * delete or move anywhere, writes only under `nightly/` (the nightly backup). Reading is not restricted.
   */
  readonly blobRole: BlobRole & { readonly condition: string };
  /**
   * While an incident is open: the same role on the container without the condition (incident dumps, logs,
   * completion records under `incident/<id>/`), declared with the incident and removed when it closes.
   */
  readonly incidentBlobRole: BlobRole | undefined;
  /** While an incident is open: the identity is an Entra administrator of the live (and geo) server. */
  readonly incidentAdmin: boolean;
}

export interface BlobRole {
  /** A GUID derived from scope, role and identity: the same on every run, so never a second assignment. */
  readonly name: string;
  readonly roleDefinitionId: string;
}

const BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";

/**
 * The standing assignment's condition (Azure ABAC, version 2.0): deleting or moving (renaming) any blob is
 * denied; writing (Put Blob, Put Block List) and adding (Put Block, Append Block) are allowed only for blob
 * paths under `prefix`. Overwriting a nightly blob cannot be denied by a condition, but leaves the previous
 * version, which the account's immutability keeps.
 */
export function nightlyWriteCondition(prefix: string): string {
  const not = (action: string): string => `!(ActionMatches{'${BLOBS}/${action}'})`;
  return [
    `((${not("delete")} AND ${not("move/action")}))`,
    "AND",
    `((${not("write")} AND ${not("add/action")}) OR (@Resource[${BLOBS}:path] StringLike '${prefix}*'))`,
  ].join(" ");
}

/** The prefix nightly dumps are written under (and the lifecycle rule deletes): the only one the standing role writes. */
export const NIGHTLY_PREFIX_ROOT = "nightly/";

export function identityName(service: string): string {
  return `${service}-dr-data`;
}

export function planIdentity(cfg: StackConfig): IdentityPlan {
  const service = cfg.kubernetes.service;
  const name = identityName(service);
  const namespace = cfg.kubernetes.namespace;
  const roleDefinitionId = `/subscriptions/${cfg.azure.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${STORAGE_BLOB_DATA_CONTRIBUTOR}`;
  const containerScope = [
    `/subscriptions/${cfg.azure.subscriptionId}/resourceGroups/${cfg.azure.resourceGroup}`,
    `providers/Microsoft.Storage/storageAccounts/${cfg.backup.storageAccountName}`,
    `blobServices/default/containers/${cfg.backup.container}`,
  ].join("/");
  const open = cfg.incident.mode !== "none";
  return {
    name,
    resourceGroup: cfg.azure.resourceGroup,
    location: cfg.azure.location,
    namespace,
    serviceAccountName: name,
    federatedCredentialName: `${name}-aks`,
    issuer: cfg.workloadIdentity.oidcIssuerUrl,
    subject: `system:serviceaccount:${namespace}:${name}`,
    audiences: [TOKEN_EXCHANGE_AUDIENCE],
    blobRole: {
      name: stableGuid(`${containerScope}|${roleDefinitionId}|${name}`),
      roleDefinitionId,
      condition: nightlyWriteCondition(NIGHTLY_PREFIX_ROOT),
    },
    incidentBlobRole: open
      ? { name: stableGuid(`${containerScope}|${roleDefinitionId}|${name}|incident`), roleDefinitionId }
      : undefined,
    incidentAdmin: open,
  };
}

/** A GUID-shaped digest (role assignment names must be GUIDs). */
export function stableGuid(seed: string): string {
  const h = crypto.createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
