import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import type { StoragePlan } from "../plan-data";

export interface BackupStorageArgs {
  /** Account, container, redundancy and the nightly retention. */
  readonly plan: StoragePlan;
}

/**
 * Where the database dumps live (the seed: "stored in Azure storage accounts and kept for 7 days"): a private
 * storage account, one container, and a lifecycle rule that deletes nightly dumps after the retention. Dumps
 * taken during an incident (the flawed database, the PTR copy) are outside that prefix and kept until someone
 * deletes them: they are the evidence and the reconciliation copy.
 */
export class BackupStorage extends pulumi.ComponentResource {
  public readonly account: storage.StorageAccount;
  public readonly container: storage.BlobContainer;
  public readonly lifecycle: storage.ManagementPolicy;
  /** A connection string with the account key, for the data tool (a secret). */
  public readonly connectionString: pulumi.Output<string>;

  constructor(name: string, args: BackupStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:BackupStorage", name, {}, opts);
    const p = args.plan;
    this.account = new storage.StorageAccount(
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
        tags: { "service-dr": "database-backups" },
      },
      // The backups are the recovery path of scenario 1: never deleted by this program.
      { parent: this, protect: true },
    );
    this.container = new storage.BlobContainer(
      `${name}-container`,
      {
        accountName: this.account.name,
        resourceGroupName: p.resourceGroup,
        containerName: p.container,
        publicAccess: "None",
      },
      { parent: this, protect: true },
    );
    this.lifecycle = new storage.ManagementPolicy(
      `${name}-lifecycle`,
      {
        accountName: this.account.name,
        resourceGroupName: p.resourceGroup,
        managementPolicyName: "default",
        policy: {
          rules: [
            {
              name: "delete-nightly-backups",
              enabled: true,
              type: "Lifecycle",
              definition: {
                filters: { blobTypes: ["blockBlob"], prefixMatch: [`${p.container}/${p.nightlyPrefixRoot}`] },
                actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: p.retentionDays } } },
              },
            },
          ],
        },
      },
      { parent: this },
    );
    const keys = storage.listStorageAccountKeysOutput(
      { accountName: this.account.name, resourceGroupName: p.resourceGroup },
      { parent: this },
    );
    this.connectionString = pulumi.secret(
      pulumi.all([this.account.name, keys]).apply(([account, k]) => {
        const key = k.keys[0]?.value;
        if (key === undefined)
          throw new Error(`storage account ${account}: listStorageAccountKeys returned no key`);
        return `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${key};EndpointSuffix=core.windows.net`;
      }),
    );
    this.registerOutputs({ accountName: this.account.name, container: this.container.name });
  }
}
