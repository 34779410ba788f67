/**
 * `list`: the backups under a prefix, newest first, with size, age and sha256; and `latest`, the newest one
 * by the timestamp in its name (`<prefix>/<db>_<YYYYMMDDTHHMMSSZ>`) among the committed blobs whose metadata
 * is complete. Uncommitted blocks of a failed backup are never listed by Azure, so they cannot be picked.
 */
import { DateTime } from "luxon";
import { parseBackupBlobName } from "./naming";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { storageMissing, VerificationError } from "./errors";
import { parseBlobMetadata, type BackupMetadata } from "./metadata";
import { formatBytes } from "./progress";

export interface ListOptions {
  readonly store: BlobStoreSettings;
  /** e.g. `nightly/<server>`; a trailing slash is added. */
  readonly prefix: string;
  /** Only this source database. */
  readonly database?: string | undefined;
}

export interface BackupEntry {
  readonly name: string;
  readonly database: string;
  /** From the name. */
  readonly startedAt: DateTime;
  readonly size: number;
  readonly lastModified: Date;
  /** Present when the blob's metadata is complete (a backup this tool committed). */
  readonly metadata?: BackupMetadata | undefined;
  /** Why the metadata is not usable, when it is not. */
  readonly problems?: string[] | undefined;
}

export async function listBackups(o: ListOptions): Promise<BackupEntry[]> {
  const container = containerClient(o.store);
  const prefix = `${o.prefix.replace(/^\/+|\/+$/g, "")}/`;
  const out: BackupEntry[] = [];
  try {
    for await (const item of container.listBlobsFlat({ prefix, includeMetadata: true })) {
      const parsed = parseBackupBlobName(item.name);
      if (parsed === undefined || `${parsed.prefix}/` !== prefix) continue;
      if (o.database !== undefined && parsed.database !== o.database) continue;
      const meta = parseBlobMetadata(item.metadata);
      out.push({
        name: item.name,
        database: parsed.database,
        startedAt: parsed.startedAt,
        size: item.properties.contentLength ?? 0,
        lastModified: item.properties.lastModified,
        metadata: meta.ok ? meta.value : undefined,
        problems: meta.ok ? undefined : meta.problems,
      });
    }
  } catch (cause) {
    const missing = storageMissing(cause, container.containerName, prefix);
    throw new Error(
      `listing ${container.containerName}/${prefix}${missing === undefined ? "" : `: ${missing}`}`,
      {
        cause,
      },
    );
  }
  return sortNewestFirst(out);
}

export function sortNewestFirst<T extends { startedAt: DateTime; name: string }>(entries: readonly T[]): T[] {
  return [...entries].sort(
    (a, b) =>
      b.startedAt.toMillis() - a.startedAt.toMillis() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0),
  );
}

/** The newest usable backup (complete metadata whose size matches the blob), optionally of one database. */
export function latestBackup(entries: readonly BackupEntry[], database?: string): BackupEntry | undefined {
  return sortNewestFirst(entries).find(
    (e) =>
      e.metadata !== undefined &&
      e.metadata.size === e.size &&
      (database === undefined || e.database === database),
  );
}

/**
 * `latestBackup`, or a VerificationError saying why there is none: nothing under the prefix at all (a mistyped
 * or empty prefix: the storage lists no blob, it has no 404 for a prefix), only other databases' backups, or
 * backups that are not usable (each named with its problem).
 */
export function latestOrExplain(
  entries: readonly BackupEntry[],
  container: string,
  prefix: string,
  database: string | undefined,
): BackupEntry {
  const found = latestBackup(entries, database);
  if (found !== undefined) return found;
  const where = `${container}/${prefix.replace(/^\/+|\/+$/g, "")}/`;
  const forDb = database === undefined ? "" : ` for database ${database}`;
  const mine = entries.filter((e) => database === undefined || e.database === database);
  let why: string;
  if (entries.length === 0) {
    why = `the storage lists no backup blob under ${where} (no such prefix, or nothing backed up there yet)`;
  } else if (mine.length === 0) {
    const others = [...new Set(entries.map((e) => e.database))].sort().join(", ");
    why = `the backups under ${where} are of other databases: ${others}`;
  } else {
    why = mine
      .map((e) =>
        e.metadata === undefined
          ? `${e.name}: ${(e.problems ?? []).join("; ")}`
          : `${e.name}: ${e.size} bytes, metadata says ${e.metadata.size}`,
      )
      .join("; ");
    why = `none is usable: ${why}`;
  }
  return fail(`no usable backup under ${where}${forDb}: ${why}`);
}

function fail(message: string): never {
  throw new VerificationError(message);
}

/** A plain-text table, newest first. */
export function formatBackupList(entries: readonly BackupEntry[], now: DateTime): string {
  const rows = sortNewestFirst(entries).map((e) => [
    e.name,
    formatBytes(e.size),
    formatAge(now.diff(e.startedAt).as("seconds")),
    e.metadata === undefined ? "-" : e.metadata.manifestSha256 === undefined ? "no" : "yes",
    e.metadata?.sha256 ?? `not usable: ${(e.problems ?? []).join("; ")}`,
  ]);
  return formatTable(["backup", "size", "age", "manifest", "sha256"], rows);
}

export function formatAge(seconds: number): string {
  if (seconds < 0) return "in the future";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
