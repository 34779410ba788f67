/**
 * The nightly verification (`backup --verify`): once the dump is committed, it is read back FROM STORAGE — not
 * from the bytes this process just sent — and checked exactly as a restore checks it before touching a
 * database: the blob's metadata (restore-steps `resolveBackup`), the manifest's sha256 and the backup it names
 * (manifest.ts `readManifest`), then the download with its size and sha256, `pg_restore --list`, and the table
 * of contents against the manifest (archive.ts `downloadAndCheckArchive`, the restore's own step). The stored
 * metadata must also be what this backup committed: a blob replaced with self-consistent bytes and metadata
 * would pass the restore's checks but is not the backup that was taken.
 *
 * The outcome is a status record, `<blob>.status.json` (naming.ts `backupStatusBlobName`), written once with
 * `If-None-Match: *`: the container's immutability policy forbids overwriting, and a record never needs it —
 * it is written after the verification, whatever its result. It sits beside the backup under the same prefix,
 * so the lifecycle rule that deletes the backup deletes it too. `dr-data status` (status.ts) reads it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import { downloadAndCheckArchive } from "./archive";
import { resolveBackup } from "./restore-steps";
import type { BlobStoreSettings } from "./blobstore";
import { describeError, storedJson, VerificationError } from "./errors";
import { readManifest } from "./manifest";
import type { BackupMetadata } from "./metadata";
import { backupStatusBlobName, backupVerifiedBlobName } from "./naming";
import { Progress, type Log } from "./progress";
import { describeFileDifferences, fileDifferences } from "./same-files";

/** The status record's format; a reader refuses any other. */
export const STATUS_VERSION = "dr-data-status/1";

/** How long each phase of the nightly took, in seconds (a monotonic clock, to the millisecond). */
export interface BackupDurations {
  /** From the start of pg_dump until it exited (the custom format's upload streams meanwhile). */
  readonly dumpSeconds: number;
  /**
   * From pg_dump's exit until the dump was committed: the directory format's tar upload and manifest
   * checksums, the custom format's manifest and commit.
   */
  readonly uploadSeconds: number;
  /** The read-back from storage and its checks. */
  readonly verifySeconds: number;
}

/** `<blob>.status.json`: one backup's verification, as written once after it. */
export interface BackupStatus {
  readonly tool: typeof STATUS_VERSION;
  /** The backup blob's name. */
  readonly backup: string;
  readonly database: string;
  readonly sourceServer: string;
  /** When the verification ended, UTC ISO 8601. */
  readonly checkedAt: string;
  /** Bytes and sha256 the backup committed. */
  readonly size: number;
  readonly sha256: string;
  /** The manifest's format (`dr-data-manifest/5`), null when it could not be read. */
  readonly manifestVersion: string | null;
  /** Entries `pg_restore --list` read, null when it did not get that far. */
  readonly archiveEntries: number | null;
  readonly durations: BackupDurations;
  readonly verified: boolean;
  /** Why not verified; null when verified. */
  readonly reason: string | null;
}

export interface VerifyCommittedOptions {
  readonly container: ContainerClient;
  readonly store: BlobStoreSettings;
  readonly blobName: string;
  /** The metadata this backup committed: storage must hold exactly this. */
  readonly committed: BackupMetadata;
  readonly binDir?: string | undefined;
  /** Where the archive is downloaded (a directory-format dump is unpacked there). Default the OS temp dir. */
  readonly workDir?: string | undefined;
  /**
   * A directory the unpacked dump must equal, file for file and byte for byte: the dump `restore --from-copy`
   * restores from, so the stored evidence is exactly what was restored (same-files.ts).
   */
  readonly sameFilesAs?: string | undefined;
  readonly log: Log;
}

/** What the read-back found: verified, or the first reason it is not. */
export interface VerifyOutcome {
  readonly verified: boolean;
  /**
   * Not verified because a check ran and found a fault (a VerificationError: the backup is bad), rather than
   * because storage or a program could not be reached (the backup's state is unknown). False when verified.
   */
  readonly faultFound: boolean;
  readonly reason: string | null;
  readonly manifestVersion: string | null;
  readonly archiveEntries: number | null;
}

/** Reads the committed backup back from storage and checks it as a restore would; never throws for a bad one. */
export async function verifyCommitted(o: VerifyCommittedOptions): Promise<VerifyOutcome> {
  let manifestVersion: string | null = null;
  try {
    const stored = await resolveBackup(o.container, o.store, { blob: o.blobName }, undefined);
    const differs = metadataDifferences(o.committed, stored.meta);
    if (differs.length > 0) {
      throw new VerificationError(
        `the metadata in storage is not what the backup committed (${differs.join("; ")}): replaced after the commit`,
      );
    }
    const manifestSha256 = stored.meta.manifestSha256;
    if (manifestSha256 === undefined) {
      throw new VerificationError(`${o.blobName} records no manifest: a restore would refuse it`);
    }
    const { manifest } = await readManifest(o.container, o.blobName, manifestSha256);
    manifestVersion = manifest.tool;
    const entries = await readBackAndCheck(o, stored, manifest);
    return { verified: true, faultFound: false, reason: null, manifestVersion, archiveEntries: entries };
  } catch (err) {
    return {
      verified: false,
      faultFound: err instanceof VerificationError,
      reason: describeError(err),
      manifestVersion,
      archiveEntries: null,
    };
  }
}

/** The restore's download and archive checks, in a scratch directory removed afterwards. */
async function readBackAndCheck(
  o: VerifyCommittedOptions,
  stored: Awaited<ReturnType<typeof resolveBackup>>,
  manifest: Awaited<ReturnType<typeof readManifest>>["manifest"],
): Promise<number> {
  const tmp = await mkdtemp(path.join(o.workDir ?? os.tmpdir(), "dr-data-verify-"));
  try {
    const checked = await downloadAndCheckArchive(
      o.container.getBlobClient(o.blobName),
      { name: o.blobName, meta: stored.meta, etag: stored.etag, manifest },
      tmp,
      {
        progress: new Progress("verify: read back", o.log, stored.meta.size),
        env: process.env,
        binDir: o.binDir,
        log: o.log,
        label: "verify",
        refusal: "a restore would refuse it",
      },
    );
    if (o.sameFilesAs !== undefined) await requireSameFiles(o.blobName, checked.path, o.sameFilesAs);
    return checked.entries;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The unpacked read-back against the directory it was made from; a VerificationError naming each difference. */
async function requireSameFiles(blobName: string, unpacked: string, local: string): Promise<void> {
  const differences = await fileDifferences(unpacked, local, ["storage", "the restored dump"]);
  if (differences.length === 0) return;
  throw new VerificationError(
    `${blobName} as stored is not the dump that was restored (${differences.length} ` +
      `${differences.length === 1 ? "difference" : "differences"}): ` +
      describeFileDifferences(differences),
  );
}

/** The fields that identify the bytes and their manifest, where storage and the commit disagree. */
function metadataDifferences(committed: BackupMetadata, stored: BackupMetadata): string[] {
  const fields = ["size", "sha256", "manifestSha256"] as const;
  return fields
    .filter((f) => committed[f] !== stored[f])
    .map((f) => `${f} ${String(stored[f])}, committed ${String(committed[f])}`);
}

/** The record, written once beside the backup (`If-None-Match: *`); returns its blob name. */
export async function writeStatus(container: ContainerClient, status: BackupStatus): Promise<string> {
  const name = backupStatusBlobName(status.backup);
  const bytes = Buffer.from(`${JSON.stringify(status, null, 2)}\n`, "utf8");
  try {
    await container.getBlockBlobClient(name).upload(bytes, bytes.length, {
      conditions: { ifNoneMatch: "*" },
      blobHTTPHeaders: { blobContentType: "application/json" },
    });
  } catch (cause) {
    throw new Error(`writing the status record ${container.containerName}/${name}`, { cause });
  }
  if (status.verified) await writeVerifiedMarker(container, status.backup);
  return name;
}

/** `<blob>.verified`, empty, once (naming.ts `backupVerifiedBlobName`): the missing-backup alert counts these. */
async function writeVerifiedMarker(container: ContainerClient, backup: string): Promise<void> {
  const name = backupVerifiedBlobName(backup);
  try {
    await container.getBlockBlobClient(name).upload(Buffer.alloc(0), 0, { conditions: { ifNoneMatch: "*" } });
  } catch (cause) {
    throw new Error(`writing the verified marker ${container.containerName}/${name}`, { cause });
  }
}

/** Parses a status record; a VerificationError naming the blob and the field for anything else. */
export function parseStatus(text: string, what: string): BackupStatus {
  const raw = storedJson(text, what);
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof raw !== "object" || raw === null) problems.push("it is not an object");
  else {
    if (r.tool !== STATUS_VERSION)
      problems.push(`tool must be ${STATUS_VERSION}, got ${JSON.stringify(r.tool)}`);
    for (const f of ["backup", "database", "sourceServer", "checkedAt", "sha256"] as const) {
      if (typeof r[f] !== "string") problems.push(`${f} must be a string, got ${JSON.stringify(r[f])}`);
    }
    if (typeof r.size !== "number") problems.push(`size must be a number, got ${JSON.stringify(r.size)}`);
    if (typeof r.verified !== "boolean")
      problems.push(`verified must be true or false, got ${JSON.stringify(r.verified)}`);
    if (r.verified === false && typeof r.reason !== "string")
      problems.push(`reason must say why a backup is not verified, got ${JSON.stringify(r.reason)}`);
  }
  if (problems.length > 0)
    throw new VerificationError(`${what} is not a status record: ${problems.join("; ")}`);
  return raw as BackupStatus;
}
