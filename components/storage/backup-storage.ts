import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as storage from "@pulumi/azure-native/storage";
import type * as azureInput from "@pulumi/azure-native/types/input";
import type { StoragePlan } from "../../plan";

export interface BackupStorageArgs {
  /** Account, container, redundancy and the nightly retention. */
  readonly plan: StoragePlan;
}

/** Azure's bounds for blob and container soft delete. */
const SOFT_DELETE_MIN_DAYS = 7;
const SOFT_DELETE_MAX_DAYS = 365;

/** Soft delete keeps a deleted blob (or container) this long: the retention, within Azure's 7…365 bounds. */
export function softDeleteDays(retentionDays: number): number {
  return Math.min(Math.max(retentionDays, SOFT_DELETE_MIN_DAYS), SOFT_DELETE_MAX_DAYS);
}

/**
 * Where the database dumps live (the seed: "stored in Azure storage accounts and kept for 7 days"), made so that
 * nobody can erase them — not a stolen key (there is none: shared-key access is off, the data tool uses its
 * managed identity), not a mistaken delete, not this program:
 *
 * - a private account (no public blob access, TLS 1.2, HTTPS only, shared keys disabled, OAuth by default);
 * - blob versioning and soft delete for blobs and containers;
 * - version-level immutability on the whole account, with an account-level time-based policy of
 *   `retentionDays` that every blob version inherits: no version can be overwritten or deleted before it is
 *   that old. `backup.immutability: locked` (production) locks it: then its retention can only grow, and it can
 *   never be unlocked, disabled or removed — by anyone. It is the one immutability policy whose state a PUT
 *   (so a Pulumi program) can set; a container's policy is locked only by a POST action. And no container-level
 *   policy is declared: it would take precedence over the account's (Azure: version > container > account);
 * - a lifecycle rule that deletes nightly dumps (and their earlier versions) after the retention — exactly when
 *   their immutability ends, never before. Dumps taken during an incident (the flawed database, the PTR copy)
 *   are outside that prefix and kept until someone deletes them (docs/runbook.md, "Deleting a backup on
 *   purpose");
 * - `protect` in Pulumi and a `CanNotDelete` management lock in Azure on the account.
 */
export class BackupStorage extends pulumi.ComponentResource {
  public readonly account: storage.StorageAccount;
  public readonly blobService: storage.BlobServiceProperties;
  public readonly container: storage.BlobContainer;
  public readonly lifecycle: storage.ManagementPolicy;
  public readonly lock: authorization.ManagementLockByScope;
  /** The container's resource id: the scope of the data tool's role assignment. */
  public readonly containerId: pulumi.Output<string>;

  constructor(name: string, args: BackupStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:BackupStorage", name, {}, opts);
    const p = args.plan;
    // Each step uses an earlier one: the blob service and the lock name the account (which carries the
    // immutability policy), the container waits for versioning, the lifecycle rule for the container.
    this.account = this.declareAccount(name, p);
    this.blobService = this.declareBlobService(name, p);
    this.container = this.declareContainer(name, p);
    this.lifecycle = this.declareLifecycle(name, p);
    this.lock = this.declareLock(name);
    this.containerId = this.container.id;
    this.registerOutputs({ accountName: this.account.name, container: this.container.name });
  }

  private declareAccount(name: string, p: StoragePlan): storage.StorageAccount {
    return new storage.StorageAccount(
      `${name}-account`,
      {
        accountName: p.accountName,
        resourceGroupName: p.resourceGroup,
        location: p.location,
        kind: "StorageV2",
        sku: { name: p.redundancy },
        allowBlobPublicAccess: false,
        minimumTlsVersion: "TLS1_2",
        enableHttpsTrafficOnly: true,
        // No account key works on this account: a leaked key (or a Kubernetes Secret holding one) cannot
        // delete a backup. The data tool authenticates with its managed identity (Entra ID).
        allowSharedKeyAccess: false,
        defaultToOAuthAuthentication: true,
        // Version-level immutability for every container, and the time-based policy each blob version
        // inherits. `enabled` is create-only (Azure sets it at the account's creation only): an account made
        // without it needs the migration in docs/runbook.md. Azure creates a policy only Disabled or Unlocked,
        // and Unlocked → Locked is one-way: `locked` on a new account fails its creation (create it unlocked,
        // lock it with the next up), and locked → unlocked is refused by Azure.
        immutableStorageWithVersioning: {
          enabled: true,
          immutabilityPolicy: {
            // The lifecycle rule deletes at "older than retentionDays", the first moment this allows it.
            immutabilityPeriodSinceCreationInDays: p.retentionDays,
            state: p.immutability,
            allowProtectedAppendWrites: false,
          },
        },
        tags: { "service-dr": "database-backups" },
      },
      // The backups are the recovery path of scenario 1: never deleted by this program.
      { parent: this, protect: true },
    );
  }

  private declareBlobService(name: string, p: StoragePlan): storage.BlobServiceProperties {
    const days = softDeleteDays(p.retentionDays);
    return new storage.BlobServiceProperties(
      `${name}-blob-service`,
      {
        accountName: this.account.name,
        resourceGroupName: p.resourceGroup,
        blobServicesName: "default",
        // Version-level immutability needs versioning; an overwritten blob keeps its previous version.
        isVersioningEnabled: true,
        deleteRetentionPolicy: { enabled: true, days },
        containerDeleteRetentionPolicy: { enabled: true, days },
      },
      { parent: this },
    );
  }

  private declareContainer(name: string, p: StoragePlan): storage.BlobContainer {
    return new storage.BlobContainer(
      `${name}-container`,
      {
        accountName: this.account.name,
        resourceGroupName: p.resourceGroup,
        containerName: p.container,
        publicAccess: "None",
        // Version-level WORM (needs versioning, above): on by default in an account with account-level
        // immutability, said here so that the policy pack (and a reader) sees it per container.
        immutableStorageWithVersioning: { enabled: true },
      },
      { parent: this, protect: true, dependsOn: [this.blobService] },
    );
  }

  private declareLifecycle(name: string, p: StoragePlan): storage.ManagementPolicy {
    return new storage.ManagementPolicy(
      `${name}-lifecycle`,
      {
        accountName: this.account.name,
        resourceGroupName: p.resourceGroup,
        managementPolicyName: "default",
        policy: lifecyclePolicy(p),
      },
      { parent: this, dependsOn: [this.container] },
    );
  }

  private declareLock(name: string): authorization.ManagementLockByScope {
    return new authorization.ManagementLockByScope(
      `${name}-lock`,
      {
        scope: this.account.id,
        lockName: "service-dr-backups-cannot-delete",
        level: "CanNotDelete",
        notes:
          "Database backups of service-dr: deleting the account deletes every backup. See docs/runbook.md before removing this lock.",
      },
      // Removing the lock is a deliberate, separate act (docs/runbook.md), never a side effect of an up.
      { parent: this, protect: true },
    );
  }
}

/**
 * Nightly dumps (and their earlier versions) are deleted after the retention — exactly when their immutability
 * ends, never before; incident dumps are outside the prefix and kept.
 */
function lifecyclePolicy(p: StoragePlan): azureInput.storage.ManagementPolicySchemaArgs {
  return {
    rules: [
      {
        name: "delete-nightly-backups",
        enabled: true,
        type: "Lifecycle",
        definition: {
          filters: { blobTypes: ["blockBlob"], prefixMatch: [`${p.container}/${p.nightlyPrefixRoot}`] },
          actions: {
            baseBlob: { delete: { daysAfterModificationGreaterThan: p.retentionDays } },
            // With versioning a deleted or overwritten dump leaves a version: gone after the same time.
            version: { delete: { daysAfterCreationGreaterThan: p.retentionDays } },
          },
        },
      },
    ],
  };
}
