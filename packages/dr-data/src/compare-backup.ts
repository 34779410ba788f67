/**
 * `compare --against-backup NAME|latest` / `compare --run-id R`: one database against a backup's manifest
 * (packages/dr-data/src/manifest.ts) — the check of a rebuild, where the lost server leaves no second database to compare with.
 *
 * With `--run-id`, the backup is the one that restore run actually restored: the run's record on
 * `<db>_before_<run id>` (packages/dr-data/src/restore.ts `RestoreRecord`) names the container, the blob and the manifest's
 * sha256, which must still match the blob's metadata. The manifest's bytes are checked against the sha256 in
 * the dump blob's metadata before they are used.
 */
import type { ClientProgramOptions } from "./proc";
import type { ContainerClient } from "@azure/storage-blob";
import { beforeDatabaseName } from "./naming";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import type { CompareResult } from "./compare";
import { withClient, type PgConnection } from "./connection";
import { blobReadError, VerificationError } from "./errors";
import { latestOrExplain, listBackups } from "./list";
import { checkAgainstManifest, readManifest } from "./manifest";
import { summarizeForManifest } from "./manifest-check";
import { parseBlobMetadata } from "./metadata";
import { stderrLog, type Log } from "./progress";
import { readRestoreRecord } from "./restore";

export type BackupRef =
  | { readonly blob: string; readonly container: string }
  | { readonly latestUnder: string; readonly container: string; readonly sourceDatabase?: string | undefined }
  | { readonly runId: string; readonly container?: string | undefined };

export interface CompareBackupOptions extends ClientProgramOptions {
  /** The database to check (e.g. the rebuilt server's restored database). */
  readonly connection: PgConnection;
  /** The blob store settings for a container (credentials come from the environment). */
  readonly store: (container: string) => BlobStoreSettings;
  readonly backup: BackupRef;
  /** Connections, tables checked in parallel. Default 2. */
  readonly jobs?: number | undefined;
}

export interface CompareBackupResult extends CompareResult {
  readonly container: string;
  readonly blobName: string;
  readonly manifestName: string;
}

/** The backup to compare with, and what the restore run recorded of its manifest (when named by a run). */
interface ChosenBackup {
  readonly containerName: string;
  readonly blobName: string;
  /** The manifest sha256 the restore recorded; undefined when the backup was not named by a run. */
  readonly recordedManifestSha: string | null | undefined;
}

export async function compareWithBackup(o: CompareBackupOptions): Promise<CompareBackupResult> {
  const log = o.log ?? stderrLog;
  const jobs = o.jobs ?? 2;
  const conn = o.connection;
  const { containerName, blobName, recordedManifestSha } = await chooseBackup(o, log);
  const container = containerClient(o.store(containerName));
  const metadata = await blobMetadata(container, containerName, blobName);
  const manifestSha = manifestShaOf(metadata, blobName, recordedManifestSha);
  const { manifest, name } = await readManifest(container, blobName, manifestSha);
  log(
    `compare: ${conn.host}/${conn.database} against ${containerName}/${name} (${manifest.relations.length} ` +
      `tables and sequences, snapshot of ${manifest.takenAt})`,
  );
  const summaries = await summarizeForManifest(conn, manifest, {
    jobs,
    applicationName: "dr-data-compare",
    binDir: o.binDir,
  });
  return {
    ...checkAgainstManifest(summaries.relations, manifest, summaries.database),
    container: containerName,
    blobName,
    manifestName: name,
  };
}

/** The blob the reference names: as given, the newest under a prefix, or the one a restore run restored. */
async function chooseBackup(o: CompareBackupOptions, log: Log): Promise<ChosenBackup> {
  const ref = o.backup;
  if ("runId" in ref) return backupOfRun(o.connection, ref, log);
  if ("blob" in ref) {
    return { containerName: ref.container, blobName: ref.blob, recordedManifestSha: undefined };
  }
  return {
    containerName: ref.container,
    blobName: latestOrExplain(
      await listBackups({ store: o.store(ref.container), prefix: ref.latestUnder }),
      ref.container,
      ref.latestUnder,
      ref.sourceDatabase,
    ).name,
    recordedManifestSha: undefined,
  };
}

/**
 * The backup a restore run restored, from the record on `<db>_before_<run id>`: refused when the run did not
 * complete here, left no record, or restored from another container than the one asked for.
 */
async function backupOfRun(
  conn: PgConnection,
  ref: Extract<BackupRef, { readonly runId: string }>,
  log: Log,
): Promise<ChosenBackup> {
  const runId = ref.runId;
  const found = await withClient(conn, (c) => readRestoreRecord(c, conn.database, runId), "dr-data-compare");
  const before = beforeDatabaseName(conn.database, runId);
  if (!found.exists) {
    throw new VerificationError(
      `restore run ${runId} has not completed into ${conn.database} on ${conn.host} (${before} does not exist)`,
    );
  }
  if (found.record === undefined) {
    throw new VerificationError(
      `${before} carries no dr-data restore record (a restore by an older tool?); use --against-backup NAME`,
    );
  }
  if (ref.container !== undefined && ref.container !== found.record.container) {
    throw new VerificationError(
      `run ${runId} restored from container ${found.record.container}, not ${ref.container}`,
    );
  }
  const chosen = {
    containerName: found.record.container,
    blobName: found.record.blob,
    recordedManifestSha: found.record.manifestSha256,
  };
  log(
    `compare: run ${runId} restored ${chosen.containerName}/${chosen.blobName} at ${found.record.restoredAt}`,
  );
  return chosen;
}

/** The blob's metadata; a failure to read it says which blob and why (blobReadError). */
async function blobMetadata(
  container: ContainerClient,
  containerName: string,
  blobName: string,
): Promise<Record<string, string> | undefined> {
  try {
    return (await container.getBlobClient(blobName).getProperties()).metadata;
  } catch (cause) {
    throw blobReadError(cause, containerName, blobName);
  }
}

/**
 * The manifest sha256 from the blob's metadata: there must be one to compare with, and for a restore run it
 * must still be the one the run recorded (else the blob's metadata changed since, and so may the manifest).
 */
function manifestShaOf(
  raw: Record<string, string> | undefined,
  blobName: string,
  recordedManifestSha: string | null | undefined,
): string {
  const meta = parseBlobMetadata(raw);
  if (!meta.ok) {
    throw new VerificationError(`${blobName} is not a usable backup: ${meta.problems.join("; ")}`);
  }
  const manifestSha = meta.value.manifestSha256;
  if (manifestSha === undefined) {
    throw new VerificationError(
      `${blobName} has no manifest (taken with --no-manifest or by an older tool): nothing to compare with`,
    );
  }
  if (recordedManifestSha !== undefined && recordedManifestSha !== manifestSha) {
    throw new VerificationError(
      `${blobName}'s metadata now records manifest sha256 ${manifestSha}, the restore recorded ` +
        `${String(recordedManifestSha)}: the blob's metadata changed since the restore`,
    );
  }
  return manifestSha;
}
