/**
 * The blob store: a container in an Azure storage account (Azurite in tests). How the tool authenticates is
 * chosen explicitly with `DR_STORAGE_AUTH`, never by falling back from one credential to another:
 *
 * - `entra`: a Microsoft Entra token (in the cluster: AKS workload identity, `AZURE_CLIENT_ID`,
 *   `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE` injected by the webhook) for `AZURE_STORAGE_ACCOUNT`, at
 *   `AZURE_STORAGE_BLOB_ENDPOINT` (default `https://<account>.blob.core.windows.net`). The backup account
 *   refuses shared keys, so this is the only way in on Azure.
 * - `connection-string`: `AZURE_STORAGE_CONNECTION_STRING` (Azurite, local runs).
 * - `shared-key`: `AZURE_STORAGE_ACCOUNT` + `AZURE_STORAGE_KEY` (the names the az CLI uses).
 *
 * Without `DR_STORAGE_AUTH` the one kind of credential present is used; credentials of two kinds, or a
 * credential of another kind beside the chosen one, are refused rather than one of them silently ignored.
 */
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from "@azure/storage-blob";
import { WorkloadIdentityCredential, type TokenCredential } from "@azure/identity";
import { UsageError } from "./errors";

export const STORAGE_AUTHS = ["entra", "connection-string", "shared-key"] as const;
export type StorageAuth = (typeof STORAGE_AUTHS)[number];

export interface BlobStoreSettings {
  readonly container: string;
  /** Default: `connection-string` when a connection string is given, else `shared-key`. */
  readonly auth?: StorageAuth | undefined;
  /** `connection-string`. */
  readonly connectionString?: string | undefined;
  /** `shared-key` and `entra`. */
  readonly accountName?: string | undefined;
  /** `shared-key`. */
  readonly accountKey?: string | undefined;
  /** Default `https://<account>.blob.core.windows.net`. */
  readonly blobEndpoint?: string | undefined;
  /** `entra`: the token source. Default: AKS workload identity (`WorkloadIdentityCredential`). */
  readonly credential?: TokenCredential | undefined;
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
  credential?: TokenCredential,
): BlobStoreSettings {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const connectionString = get("AZURE_STORAGE_CONNECTION_STRING");
  const accountName = get("AZURE_STORAGE_ACCOUNT");
  const accountKey = get("AZURE_STORAGE_KEY");
  const blobEndpoint = get("AZURE_STORAGE_BLOB_ENDPOINT");
  const chosen = get("DR_STORAGE_AUTH");
  if (chosen !== undefined && !(STORAGE_AUTHS as readonly string[]).includes(chosen)) {
    throw new UsageError(
      `DR_STORAGE_AUTH must be one of: ${STORAGE_AUTHS.join(", ")}; got ${JSON.stringify(chosen)}`,
    );
  }
  const auth: StorageAuth | undefined =
    (chosen as StorageAuth | undefined) ??
    (connectionString !== undefined && accountKey === undefined
      ? "connection-string"
      : connectionString === undefined && accountKey !== undefined
        ? "shared-key"
        : undefined);
  if (auth === undefined) {
    throw new UsageError(
      connectionString !== undefined
        ? "both AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_KEY are set: choose one with DR_STORAGE_AUTH=connection-string or shared-key"
        : "no blob store credentials: set DR_STORAGE_AUTH=entra and AZURE_STORAGE_ACCOUNT (managed identity), or AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY",
    );
  }
  const problems: string[] = [];
  const unused = (name: string, value: string | undefined): void => {
    if (value !== undefined) problems.push(`${name} is set but DR_STORAGE_AUTH is ${auth}: unset it`);
  };
  switch (auth) {
    case "entra":
      if (accountName === undefined && blobEndpoint === undefined)
        problems.push("DR_STORAGE_AUTH=entra needs AZURE_STORAGE_ACCOUNT (or AZURE_STORAGE_BLOB_ENDPOINT)");
      unused("AZURE_STORAGE_CONNECTION_STRING", connectionString);
      unused("AZURE_STORAGE_KEY", accountKey);
      break;
    case "connection-string":
      if (connectionString === undefined)
        problems.push("DR_STORAGE_AUTH=connection-string needs AZURE_STORAGE_CONNECTION_STRING");
      unused("AZURE_STORAGE_KEY", accountKey);
      break;
    case "shared-key":
      if (accountName === undefined || accountKey === undefined)
        problems.push("DR_STORAGE_AUTH=shared-key needs AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY");
      unused("AZURE_STORAGE_CONNECTION_STRING", connectionString);
      break;
  }
  if (problems.length > 0) throw new UsageError(problems.join("; "));
  return { container, auth, connectionString, accountName, accountKey, blobEndpoint, credential };
}

export function containerClient(s: BlobStoreSettings): ContainerClient {
  if (!CONTAINER_NAME.test(s.container)) {
    throw new UsageError(
      `--container ${JSON.stringify(s.container)} is not a container name (3–63 lowercase letters, digits, single hyphens)`,
    );
  }
  const options = { retryOptions: s.retry };
  const auth = s.auth ?? (s.connectionString !== undefined ? "connection-string" : "shared-key");
  const endpoint = (): string => {
    if (s.blobEndpoint !== undefined) return s.blobEndpoint;
    if (s.accountName === undefined) throw new UsageError(`blob store auth ${auth} needs an account name`);
    return `https://${s.accountName}.blob.core.windows.net`;
  };
  let service: BlobServiceClient;
  switch (auth) {
    case "entra":
      // The SDK asks for https://storage.azure.com/.default and refreshes the token before it expires.
      service = new BlobServiceClient(endpoint(), s.credential ?? new WorkloadIdentityCredential(), options);
      break;
    case "connection-string":
      if (s.connectionString === undefined)
        throw new UsageError("blob store settings need a connection string");
      service = BlobServiceClient.fromConnectionString(s.connectionString, options);
      break;
    case "shared-key":
      if (s.accountName === undefined || s.accountKey === undefined)
        throw new UsageError("blob store settings need an account name and key");
      service = new BlobServiceClient(
        endpoint(),
        new StorageSharedKeyCredential(s.accountName, s.accountKey),
        options,
      );
      break;
  }
  return service.getContainerClient(s.container);
}
