/**
 * The data path's identity, planned (issue 13): a user-assigned managed identity that the recovery Jobs and
 * the nightly CronJob run as through AKS workload identity. Pure, like plan.ts: names and ids from config.
 *
 * - The Kubernetes ServiceAccount `<service>-dr-data` is federated with the identity: the cluster's OIDC
 *   issuer signs the pod's service account token, Entra exchanges it for the identity's tokens.
 * - Blob data: "Storage Blob Data Contributor" on the backup container only (not the account, not the group).
 * - PostgreSQL: the identity is a Microsoft Entra administrator of the live server; the Jobs log in as it with
 *   an access token as password. The servers accept nothing else (no password exists).
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
  /** The role assignment on the backup container. */
  readonly blobRole: {
    /** A GUID derived from scope, role and identity: the same on every run, so never a second assignment. */
    readonly name: string;
    readonly roleDefinitionId: string;
  };
}

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
    blobRole: { name: stableGuid(`${containerScope}|${roleDefinitionId}|${name}`), roleDefinitionId },
  };
}

/** A GUID-shaped digest (role assignment names must be GUIDs). */
export function stableGuid(seed: string): string {
  const h = crypto.createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
