/**
 * Which backup a restore reads, resolved one way for the whole-database restore, `restore --tables` and the
 * nightly verification: a blob name, or the newest usable backup under a prefix (list.ts `latestOrExplain` says
 * why none is), and its metadata; then its manifest, whose bytes must match the sha256 the metadata records.
 */
import type { ContainerClient } from "@azure/storage-blob";
import type { BlobStoreSettings } from "../blobstore";
import { blobReadError, UsageError, VerificationError } from "../errors";
import { latestOrExplain, listBackups } from "../list";
import { readManifest, type Manifest } from "../manifest";
import { parseBlobMetadata, type BackupMetadata } from "../metadata";
import { BLOB_PATH_RULE, blobPathProblem } from "../naming";

/** A blob by name, or the newest usable backup under a prefix. */
export type RestoreSource = { readonly blob: string } | { readonly latestUnder: string };

export interface ResolvedBackup {
  readonly blobName: string;
  readonly meta: BackupMetadata;
  readonly etag: string | undefined;
}

/**
 * Which blob, and what its metadata says; refuses a blob without complete metadata. `sourceDatabase` narrows
 * `latest` to that database's backups.
 */
export async function resolveBackup(
  container: ContainerClient,
  store: BlobStoreSettings,
  from: RestoreSource,
  sourceDatabase: string | undefined,
): Promise<ResolvedBackup> {
  checkSourcePath(from);
  const blobName =
    "blob" in from
      ? from.blob
      : latestOrExplain(
          await listBackups({ store, prefix: from.latestUnder }),
          container.containerName,
          from.latestUnder,
          sourceDatabase,
        ).name;
  try {
    const props = await container.getBlobClient(blobName).getProperties();
    const parsed = parseBlobMetadata(props.metadata);
    if (!parsed.ok) {
      throw new VerificationError(`${blobName} is not a usable backup: ${parsed.problems.join("; ")}`);
    }
    return { blobName, meta: parsed.value, etag: props.etag };
  } catch (cause) {
    if (cause instanceof VerificationError) throw cause;
    throw blobReadError(cause, container.containerName, blobName);
  }
}

/** The flags were checked by the contract's parser; a caller of the library is held to the same rule. */
function checkSourcePath(from: RestoreSource): void {
  const [flag, name] = "blob" in from ? ["--blob", from.blob] : ["--prefix", from.latestUnder];
  const problem = blobPathProblem(name);
  if (problem !== undefined) {
    throw new UsageError(
      `${flag} must be a blob name or prefix (${BLOB_PATH_RULE}); ${problem}: got ${JSON.stringify(name)}`,
    );
  }
}

/**
 * Without a manifest the restored contents cannot be checked against what the backup read, so nothing is done
 * unless the operator says so. `unverifiable` and `step` word the refusal for the kind of restore.
 */
export function requireManifestUnlessAllowed(
  container: ContainerClient,
  backup: ResolvedBackup,
  allowUnverified: boolean | undefined,
  words: { readonly unverifiable: string; readonly step: string; readonly restoreIt: string },
): void {
  if (backup.meta.manifestSha256 !== undefined || (allowUnverified ?? false)) return;
  throw new VerificationError(
    `${container.containerName}/${backup.blobName} has no manifest (taken with --no-manifest or by an older tool): ` +
      `${words.unverifiable} cannot be verified before the ${words.step}, so nothing was done; to restore ` +
      `${words.restoreIt} unverified, run again with --allow-unverified`,
  );
}

/** The manifest, if the backup has one: its bytes must match the sha256 the dump's metadata records. */
export async function manifestOf(
  container: ContainerClient,
  backup: ResolvedBackup,
): Promise<Manifest | undefined> {
  if (backup.meta.manifestSha256 === undefined) return undefined;
  return (await readManifest(container, backup.blobName, backup.meta.manifestSha256)).manifest;
}
