/**
 * The blob store: a container in an Azure storage account (Azurite in tests). From the environment, either
 * `AZURE_STORAGE_CONNECTION_STRING`, or `AZURE_STORAGE_ACCOUNT` + `AZURE_STORAGE_KEY` (the names the az CLI
 * uses) with an optional `AZURE_STORAGE_BLOB_ENDPOINT`; the container comes from a flag.
 */
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from "@azure/storage-blob";
import { UsageError } from "./errors";

export interface BlobStoreSettings {
  readonly container: string;
  /** Wins over account name and key. */
  readonly connectionString?: string | undefined;
  readonly accountName?: string | undefined;
  readonly accountKey?: string | undefined;
  /** Default `https://<account>.blob.core.windows.net`. */
  readonly blobEndpoint?: string | undefined;
  /** The SDK's retry policy; its default (4 tries, exponential from 4 s) suits Azure, tests shorten it. */
  readonly retry?:
    | {
        readonly maxTries?: number;
        readonly retryDelayInMs?: number;
        readonly maxRetryDelayInMs?: number;
        readonly tryTimeoutInMs?: number;
      }
    | undefined;
}

/** Azure's container name rule: 3–63 chars, lowercase letters, digits, single hyphens. */
export const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/;

export function blobStoreFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  container: string,
): BlobStoreSettings {
  const connectionString = env.AZURE_STORAGE_CONNECTION_STRING;
  const accountName = env.AZURE_STORAGE_ACCOUNT;
  const accountKey = env.AZURE_STORAGE_KEY;
  if ((connectionString ?? "") === "" && ((accountName ?? "") === "" || (accountKey ?? "") === "")) {
    throw new UsageError(
      "no blob store credentials: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY",
    );
  }
  return {
    container,
    connectionString: connectionString === "" ? undefined : connectionString,
    accountName,
    accountKey,
    blobEndpoint: env.AZURE_STORAGE_BLOB_ENDPOINT,
  };
}

export function containerClient(s: BlobStoreSettings): ContainerClient {
  if (!CONTAINER_NAME.test(s.container)) {
    throw new UsageError(
      `--container ${JSON.stringify(s.container)} is not a container name (3–63 lowercase letters, digits, single hyphens)`,
    );
  }
  const options = { retryOptions: s.retry };
  let service: BlobServiceClient;
  if (s.connectionString !== undefined) {
    service = BlobServiceClient.fromConnectionString(s.connectionString, options);
  } else if (s.accountName !== undefined && s.accountKey !== undefined) {
    const endpoint = s.blobEndpoint ?? `https://${s.accountName}.blob.core.windows.net`;
    service = new BlobServiceClient(
      endpoint,
      new StorageSharedKeyCredential(s.accountName, s.accountKey),
      options,
    );
  } else {
    throw new UsageError("blob store settings need a connection string, or an account name and key");
  }
  return service.getContainerClient(s.container);
}
