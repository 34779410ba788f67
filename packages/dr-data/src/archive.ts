/**
 * A backup's archive on local disk, for the commands that read parts of it (table-restore.ts): download it with
 * the size and sha256 checked (blobio.ts; a directory-format archive is unpacked by `tar` as it arrives), and read
 * its table of contents (`pg_restore --list`). Which backup is restore-steps/backup-source.ts `resolveBackup`. The restore and the nightly verification (verify.ts) share `downloadAndCheckArchive`.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import type { BlobClient, ContainerClient } from "@azure/storage-blob";
import { downloadVerified, downloadVerifiedTo, streamSink, type Expected } from "./blobio";
import { VerificationError } from "./errors";
import { tocDifferences, type Manifest } from "./manifest";
import type { BackupMetadata } from "./metadata";
import type { ResolvedBackup } from "./restore-steps";
import { pgRestoreListArgv } from "./pgargs";
import { binPath, describeExit, run, start, type Spawned } from "./proc";
import { Progress, type Log } from "./progress";

/** Download chunks: 8 MiB ranges, hashed as they arrive. */
export const DOWNLOAD_CHUNK = 8 * 1024 * 1024;

/**
 * Downloads a backup blob into `dir` in one pass, verified as it arrives (size, sha256, ETag): a custom-format
 * dump to a file, a directory-format dump straight into `tar -x` (no tar file, no re-read). Returns the path
 * pg_restore reads. A blob that does not match, or a tar that does not unpack, is a VerificationError.
 * The one download of the full restore and of the table-level restore.
 */
export async function downloadInto(
  blob: BlobClient,
  what: {
    readonly name: string;
    readonly format: BackupMetadata["format"];
    readonly streamCompress?: BackupMetadata["streamCompress"];
    readonly expected: Expected;
  },
  dir: string,
  o: {
    readonly progress: Progress;
    readonly concurrency?: number | undefined;
    readonly env: NodeJS.ProcessEnv;
  },
): Promise<string> {
  const options = {
    chunkSize: DOWNLOAD_CHUNK,
    concurrency: o.concurrency ?? 4,
    onBytes: (n: number) => o.progress.add(n),
  };
  if (what.format !== "directory") {
    const archive = path.join(dir, "backup");
    await downloadVerified(blob, archive, what.expected, options);
    o.progress.done();
    return archive;
  }
  const archive = path.join(dir, "dump");
  await mkdir(archive);
  const unpack = startUnpack(archive, what.streamCompress !== undefined, o.env);
  let result;
  try {
    result = await downloadVerifiedTo(blob, streamSink(unpack.stdin), what.expected, options);
  } catch (err) {
    unpack.stdin.destroy();
    await unpack.kill();
    throw err;
  }
  unpack.stdin.end();
  const failed = await unpack.failure();
  if (result.sinkError !== undefined || failed !== undefined) {
    throw new VerificationError(`${what.name} does not unpack: ${failed ?? "its stream was cut"}`, {
      cause: result.sinkError,
    });
  }
  o.progress.done();
  return archive;
}

interface Unpack {
  readonly stdin: Writable;
  /** After stdin ended: undefined when every program exited 0, else what went wrong. */
  failure(): Promise<string | undefined>;
  kill(): Promise<void>;
}

/** `tar -x` into `archive`, behind `zstd -d` when the tool compressed the stream (metadata `streamCompress`). */
function startUnpack(archive: string, zstd: boolean, env: NodeJS.ProcessEnv): Unpack {
  const tar = start("tar", ["-xf", "-", "-C", archive], { env, stdout: "ignore", stdin: "pipe" });
  const children: Array<[string, Spawned]> = [["tar", tar]];
  let stdin: Writable = tar.child.stdin!;
  if (zstd) {
    const z = start("zstd", ["-d", "-q", "-c", "-"], { env, stdout: "pipe", stdin: "pipe" });
    // tar dying on a damaged stream closes its stdin under zstd's output: the EPIPE would be an uncaught
    // error of the whole process; what went wrong is reported by tar's exit (failure() below) instead.
    tar.child.stdin!.on("error", () => undefined);
    z.child.stdout!.pipe(tar.child.stdin!);
    children.unshift(["zstd", z]);
    stdin = z.child.stdin!;
  }
  return {
    stdin,
    failure: async () => {
      for (const [name, child] of children) {
        const exit = await child.exit.catch((e: unknown) => ({ code: null, signal: null, error: e }));
        if ("error" in exit) return String(exit.error);
        if (exit.code !== 0) return describeExit(name, exit, child.stderr).trim();
      }
      return undefined;
    },
    kill: async () => {
      for (const [, child] of children) {
        child.child.kill("SIGTERM");
        await child.exit.catch(() => undefined);
      }
    },
  };
}

export async function downloadArchive(
  container: ContainerClient,
  b: ResolvedBackup,
  dir: string,
  o: { log: Log; concurrency?: number | undefined },
): Promise<string> {
  return downloadInto(
    container.getBlobClient(b.blobName),
    {
      name: b.blobName,
      format: b.meta.format,
      streamCompress: b.meta.streamCompress,
      expected: { size: b.meta.size, sha256: b.meta.sha256, etag: b.etag },
    },
    dir,
    { progress: new Progress("download", o.log, b.meta.size), concurrency: o.concurrency, env: process.env },
  );
}

/** A `TABLE DATA` entry of the table of contents: its exact line (for `pg_restore -L`) and its text after the ids. */
export interface TocDataEntry {
  readonly line: string;
  /** `schema table owner`, as pg_restore prints it. */
  readonly tag: string;
}

/** An archive downloaded and checked: where pg_restore reads it, its table of contents, and its entry count. */
export interface CheckedArchive {
  readonly path: string;
  /** `pg_restore --list` of the archive. */
  readonly toc: string;
  readonly entries: number;
}

/** How an archive is checked: pg_restore's environment and programs, and how a refusal is worded. */
export interface ArchiveCheckOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly binDir: string | undefined;
  readonly log: Log;
  /** The log's prefix: `restore`, `verify`. */
  readonly label: string;
  /** What the caller will therefore not do, ending every refusal. */
  readonly refusal: string;
}

/**
 * The check a restore makes of an archive before any database is touched, and the one the nightly verification
 * makes of a backup read back from storage (verify.ts): downloaded in one pass with its size, sha256 and ETag
 * checked (`downloadInto`), `pg_restore --list` must read it, and its table of contents must be exactly the
 * one its manifest records (a /5 manifest; an older one records none, which is logged). Any failure is a
 * VerificationError ending with `refusal` (what the caller will therefore not do).
 */
export async function downloadAndCheckArchive(
  blob: BlobClient,
  what: {
    readonly name: string;
    readonly meta: BackupMetadata;
    readonly etag: string | undefined;
    readonly manifest: Manifest | undefined;
  },
  dir: string,
  o: ArchiveCheckOptions & {
    readonly progress: Progress;
    readonly concurrency?: number | undefined;
  },
): Promise<CheckedArchive> {
  const archive = await downloadInto(
    blob,
    {
      name: what.name,
      format: what.meta.format,
      streamCompress: what.meta.streamCompress,
      expected: { size: what.meta.size, sha256: what.meta.sha256, etag: what.etag },
    },
    dir,
    o,
  );
  return checkArchive(archive, what, o);
}

/**
 * The archive checks of `downloadAndCheckArchive` on an archive already here (`restore --from-copy` restores
 * the dump its own backup step wrote, restore.ts `restoreFromCopy`): `pg_restore --list` must read it, and its table of
 * contents must be exactly the one its stored manifest records.
 */
export async function checkArchive(
  archive: string,
  what: { readonly name: string; readonly manifest: Manifest | undefined },
  o: ArchiveCheckOptions,
): Promise<CheckedArchive> {
  let toc: string;
  try {
    toc = await run(binPath(o.binDir, "pg_restore"), pgRestoreListArgv(archive), { env: o.env });
  } catch (cause) {
    throw new VerificationError(`pg_restore --list cannot read ${what.name}; ${o.refusal}`, { cause });
  }
  refuseUnlistedEntries(what.name, what.manifest, toc, o);
  return { path: archive, toc, entries: toc.split("\n").filter((l) => /^\d+;/.test(l)).length };
}

/** Entries of a refusal shown in full; the rest are counted. */
const TOC_ENTRIES_SHOWN = 20;

/**
 * The archive's table of contents must be exactly the one its manifest (/5) records, so that no entry the
 * backup did not take — SQL that pg_restore would run — reaches a server: an extra entry, or one changed
 * (another name, kind or owner), is refused. A manifest older than /5 records none; its entries are logged as
 * not checked.
 */
function refuseUnlistedEntries(
  name: string,
  manifest: Manifest | undefined,
  toc: string,
  o: { readonly log: Log; readonly label: string; readonly refusal: string },
): void {
  const recorded = manifest?.tableOfContents;
  if (recorded === undefined) {
    if (manifest !== undefined) {
      o.log(
        `${o.label}: the manifest (${manifest.tool}) records no table of contents: its entries were not checked`,
      );
    }
    return;
  }
  const { extra, missing } = tocDifferences(recorded, toc);
  if (extra.length === 0 && missing.length === 0) return;
  const show = (what: string, list: string[]) =>
    list.length === 0
      ? []
      : [
          `${list.length} ${what}: ${list.slice(0, TOC_ENTRIES_SHOWN).join("; ")}` +
            (list.length > TOC_ENTRIES_SHOWN ? `; … ${list.length - TOC_ENTRIES_SHOWN} more` : ""),
        ];
  throw new VerificationError(
    `the table of contents of ${name} is not the one its manifest records, so the archive was changed ` +
      `after the backup; ${o.refusal}: ` +
      [
        ...show("entries not in the manifest", extra),
        ...show("entries of the manifest missing", missing),
      ].join("; "),
  );
}

/** `pg_restore --list` of the archive: its `TABLE DATA` entries. */
export async function tableDataEntries(
  archive: string,
  binDir: string | undefined,
  blobName: string,
): Promise<TocDataEntry[]> {
  let toc: string;
  try {
    toc = await run(binPath(binDir, "pg_restore"), pgRestoreListArgv(archive), { env: process.env });
  } catch (cause) {
    throw new VerificationError(`pg_restore --list cannot read ${blobName}`, { cause });
  }
  return parseTableData(toc);
}

/**
 * The dump id of a `finished item <id> TABLE DATA <table>` line of pg_dump's or pg_restore's `--verbose` in
 * parallel mode (the entry's file is complete, or its load committed); undefined for any other line.
 */
export function finishedDataEntry(program: "pg_dump" | "pg_restore", line: string): number | undefined {
  const prefix = `${program}: finished item `;
  if (!line.startsWith(prefix)) return undefined;
  const id = /^(\d+) TABLE DATA /.exec(line.slice(prefix.length))?.[1];
  return id === undefined ? undefined : Number(id);
}

export function parseTableData(toc: string): TocDataEntry[] {
  const out: TocDataEntry[] = [];
  for (const line of toc.split("\n")) {
    const m = /^\d+; \d+ \d+ TABLE DATA (.*)$/.exec(line);
    if (m !== null) out.push({ line, tag: m[1]! });
  }
  return out;
}

/**
 * The entry of `schema.table`. pg_restore prints the tag unquoted (`schema table owner`), so the match is on
 * `schema table ` followed by the owner, who contains no blank (a role name with one would need quoting).
 */
export function findTableData(
  entries: readonly TocDataEntry[],
  schema: string,
  table: string,
): TocDataEntry | undefined {
  const prefix = `${schema} ${table} `;
  return entries.find((e) => e.tag.startsWith(prefix) && !e.tag.slice(prefix.length).includes(" "));
}
