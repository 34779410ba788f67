/**
 * The data path's identities, planned: user-assigned managed identities that the data tool's pods run as
 * through AKS workload identity, one per role. Pure, like plan.ts: names and ids from config.
 *
 * - Each has a Kubernetes ServiceAccount of its name, federated with it: the cluster's OIDC issuer signs the
 *   pod's service account token, Entra exchanges it for the identity's tokens.
 * - The nightly identity `<service>-dr-data` (standing): a custom role of blob read, write and add only
 *   (NIGHTLY_DATA_ACTIONS: no delete, no container or account action, no user delegation key) on the backup
 *   container only, with a condition (writes only under `nightly/`, no access tier); in PostgreSQL it can
 *   only read (`pg_read_all_data`, granted once by SQL: docs/runbook.md).
 * - The recovery identity `<service>-dr-recovery`, only while an incident is open: the same role without the
 *   condition, and a Microsoft Entra administrator of the live (or geo) server and the PTR copy, which the
 *   restore needs. The servers accept nothing but Entra logins (no password exists).
 * - POD_IDENTITY says which pod runs as which.
 */
import * as crypto from "node:crypto";
import type { StackConfig } from "../config";

/**
 * Built-in role "Storage Blob Data Contributor" (read, write, delete blobs; also the container's delete and write
 * and user delegation keys): the recovery identity's, during an incident only.
 */
export const STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
/** The audience AKS workload identity's federated credentials use. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
/** Entra token scope of Azure Database for PostgreSQL (the token is the password). */
export const POSTGRES_TOKEN_SCOPE = "https://ossrdbms-aad.database.windows.net/.default";
/** Pod label the workload identity webhook looks for; it then injects AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE. */
export const WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use";
/** ServiceAccount annotation naming the managed identity's client id. */
export const CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id";

/** What a workload identity is, whichever its role: the managed identity, its ServiceAccount and the federation. */
export interface IdentityPlan {
  /** The managed identity's name; also the PostgreSQL role its pods log in as (the Entra principal name). */
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
  /** The `service-dr` tag of the managed identity: which of the two it is (the policy pack reads it). */
  readonly tag: IdentityTag;
  /** Its one role assignment, on the backup container. */
  readonly blobRole: BlobRole;
  /** The assignment's description in Azure. */
  readonly blobRoleDescription: string;
}

/**
 * The two identities of the data path:
 * - `nightly` (`<service>-dr-data`), standing: reads the database (`pg_read_all_data`, granted once by SQL) and
 *   the container, creates blobs only under `nightly/`, deletes nothing (a custom role of read, write and add,
 *   and a condition on its assignment);
 * - `recovery` (`<service>-dr-recovery`), only while an incident is open (declared with it, removed when it
 *   closes): an Entra administrator of the live (or geo) server and of the PTR copy, the container without a
 *   condition (the incident's dumps, logs, run and completion records).
 */
export interface IdentitiesPlan {
  readonly nightly: IdentityPlan & { readonly blobRole: ConditionedBlobRole };
  readonly recovery: IdentityPlan | undefined;
}

export type IdentityTag = "data-tool" | "data-recovery" | "data-drill";
export type IdentityRole = keyof IdentitiesPlan;

/** The pods of the data path. */
export type DataPod = "nightly-backup" | "recovery-job" | "troubleshoot";

/**
 * Which identity each pod runs as: the one place that says it. The nightly backup never runs as the recovery
 * identity; the recovery Jobs and the troubleshooting pod (declared only while an incident is open) always do.
 */
export const POD_IDENTITY: Readonly<Record<DataPod, IdentityRole>> = {
  "nightly-backup": "nightly",
  "recovery-job": "recovery",
  troubleshoot: "recovery",
};

/** The identity `pod` runs as; a recovery pod outside an incident is a planning error. */
export function podIdentity(ids: IdentitiesPlan, pod: DataPod): IdentityPlan {
  const role = POD_IDENTITY[pod];
  const id = ids[role];
  if (id === undefined) {
    throw new Error(`${pod} runs as the ${role} identity, which exists only while an incident is open`);
  }
  return id;
}

export interface BlobRole {
  /** A GUID derived from scope, role and identity: the same on every run, so never a second assignment. */
  readonly name: string;
  /** `/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>`: built-in, or `custom`'s. */
  readonly roleDefinitionId: string;
  /** An Azure ABAC condition (version 2.0) the assignment carries, if any. */
  readonly condition?: string;
  /** The custom role definition the program declares for this assignment, if the role is not a built-in. */
  readonly custom?: CustomRolePlan;
}

export type ConditionedBlobRole = BlobRole & { readonly condition: string; readonly custom: CustomRolePlan };

/**
 * A custom Azure role definition (`authorization.RoleDefinition`): data actions only, no management action.
 * Created in, and assignable only within, the stack's resource group (a custom role's assignable scopes are
 * management groups, subscriptions or resource groups, never a resource: docs/provider-facts.md); the
 * assignment itself is on the container.
 */
export interface CustomRolePlan {
  /** The definition's GUID (derived from the resource group and the service: stable, so never a second role). */
  readonly guid: string;
  /** Unique in the tenant: the service and the resource group. */
  readonly roleName: string;
  readonly description: string;
  /** Where the definition is created: the resource group's id. */
  readonly scope: string;
  readonly assignableScopes: readonly string[];
  readonly dataActions: readonly string[];
}

const BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";

/**
 * Every data action the nightly backup needs, nothing more: `read` (Get Blob, Get Blob Properties, List Blobs:
 * the verification's read-back and "latest"), `write` (Put Blob, Put Block List: the commit, the status record)
 * and `add/action` (Put Block). Not `delete`, `move`, `deleteBlobVersion`, `permanentDelete`,
 * `immutableStorage/runAsSuperUser`, `tags/write`, nor any action (container delete or write, user delegation
 * key): the role cannot erase, hide or unprotect a backup.
 */
export const NIGHTLY_DATA_ACTIONS = [`${BLOBS}/read`, `${BLOBS}/write`, `${BLOBS}/add/action`] as const;

/**
 * The standing assignment's condition (Azure ABAC, version 2.0): deleting or moving (renaming) any blob is
 * denied (the custom role has neither action: kept should the role ever grow); setting a blob's tier is denied;
 * writing (Put Blob, Put Block List) and adding (Put Block, Append Block) are allowed only for blob
 * paths under `prefix`. Overwriting a nightly blob cannot be denied by a condition, but leaves the previous
 * version, which the account's immutability keeps.
 */
export function nightlyWriteCondition(prefix: string, ...more: readonly string[]): string {
  // Also the drill's assignments, with their own prefixes (plan/drill.ts): one prefix gives the text it always did.
  const not = (action: string): string => `!(ActionMatches{'${BLOBS}/${action}'})`;
  const under = [prefix, ...more].map((p) => `@Resource[${BLOBS}:path] StringLike '${p}*'`).join(" OR ");
  return [
    `((${not("delete")} AND ${not("move/action")}))`,
    "AND",
    // Set Blob Tier is a suboperation of `write`: archiving a nightly blob would make it unreadable for hours.
    `((!(ActionMatches{'${BLOBS}/write'} AND SubOperationMatches{'Blob.Write.Tier'})))`,
    "AND",
    `((${not("write")} AND ${not("add/action")}) OR (${under}))`,
  ].join(" ");
}

/** The prefix nightly dumps are written under (and the lifecycle rule deletes): the only one the standing role writes. */
export const NIGHTLY_PREFIX_ROOT = "nightly/";

/** The nightly identity's name (the one identity of earlier versions: same name, same resources). */
export function identityName(service: string): string {
  return `${service}-dr-data`;
}

export function recoveryIdentityName(service: string): string {
  return `${service}-dr-recovery`;
}

export function planIdentities(cfg: StackConfig): IdentitiesPlan {
  const service = cfg.kubernetes.service;
  const { roleDefinitionId, roleName } = containerRole(cfg);
  const { custom, nightlyRoleId } = nightlyCustomRole(cfg);
  const nightly = identityName(service);
  const recovery = recoveryIdentityName(service);
  return {
    nightly: {
      ...identityBase(cfg, nightly, "data-tool"),
      // A new role, so a new assignment name: Azure creates the new assignment before the old one goes.
      blobRole: {
        name: roleName(nightly, nightlyRoleId),
        roleDefinitionId: nightlyRoleId,
        condition: nightlyWriteCondition(NIGHTLY_PREFIX_ROOT),
        custom,
      },
      blobRoleDescription:
        "service-dr data tool: reads; writes nightly dumps only; never deletes (this container only)",
    },
    recovery:
      cfg.incident.mode === "none"
        ? undefined
        : {
            ...identityBase(cfg, recovery, "data-recovery"),
            blobRole: { name: roleName(recovery, roleDefinitionId), roleDefinitionId },
            blobRoleDescription:
              "service-dr recovery during an incident: incident dumps, logs and restores (this container only)",
          },
  };
}

/** A role definition's id as role assignments name it (built-in or custom, the same form). */
export function roleDefinitionIdOf(subscriptionId: string, guid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

/** The nightly backup's custom role (NIGHTLY_DATA_ACTIONS, created in and assignable within the resource group). */
export function nightlyCustomRole(cfg: StackConfig): {
  readonly custom: CustomRolePlan;
  readonly nightlyRoleId: string;
} {
  const group = `/subscriptions/${cfg.azure.subscriptionId}/resourceGroups/${cfg.azure.resourceGroup}`;
  const service = cfg.kubernetes.service;
  const custom: CustomRolePlan = {
    guid: stableGuid(`${group}|${service}|nightly-backup-role`),
    roleName: `${service} DR nightly backup (${cfg.azure.resourceGroup})`,
    description: "service-dr nightly backup: read, create and add to blobs; no delete, tier, lock or key",
    scope: group,
    assignableScopes: [group],
    dataActions: [...NIGHTLY_DATA_ACTIONS],
  };
  return { custom, nightlyRoleId: roleDefinitionIdOf(cfg.azure.subscriptionId, custom.guid) };
}

/**
 * The blob role on the backup container: the built-in definition the recovery and drill identities hold, and
 * an assignment's name for an identity and a definition (a GUID of scope, role and identity: the same on every
 * run; named as the one assignment of earlier versions was, so it is an update, not a second).
 */
export function containerRole(cfg: StackConfig): {
  readonly roleDefinitionId: string;
  readonly roleName: (identity: string, definition?: string) => string;
} {
  const roleDefinitionId = roleDefinitionIdOf(cfg.azure.subscriptionId, STORAGE_BLOB_DATA_CONTRIBUTOR);
  const containerScope = [
    `/subscriptions/${cfg.azure.subscriptionId}/resourceGroups/${cfg.azure.resourceGroup}`,
    `providers/Microsoft.Storage/storageAccounts/${cfg.backup.storageAccountName}`,
    `blobServices/default/containers/${cfg.backup.container}`,
  ].join("/");
  const roleName = (identity: string, definition: string = roleDefinitionId): string =>
    stableGuid(`${containerScope}|${definition}|${identity}`);
  return { roleDefinitionId, roleName };
}

/** Names, federation and place of one identity: its ServiceAccount has its name, in the data pods' namespace. */
export function identityBase(
  cfg: StackConfig,
  name: string,
  tag: IdentityTag,
): Omit<IdentityPlan, "blobRole" | "blobRoleDescription"> {
  // The data pods' namespace (kubernetes.dataNamespace), never the app's: the app's pods cannot use it.
  const namespace = cfg.kubernetes.dataNamespace;
  return {
    name,
    resourceGroup: cfg.azure.resourceGroup,
    location: cfg.azure.location,
    namespace,
    serviceAccountName: name,
    federatedCredentialName: `${name}-aks`,
    issuer: cfg.workloadIdentity.oidcIssuerUrl,
    // Entra compares the token's sub claim with this exactly (docs/provider-facts.md).
    subject: `system:serviceaccount:${namespace}:${name}`,
    audiences: [TOKEN_EXCHANGE_AUDIENCE],
    tag,
  };
}

/** A GUID-shaped digest (role assignment names must be GUIDs). */
export function stableGuid(seed: string): string {
  const h = crypto.createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
