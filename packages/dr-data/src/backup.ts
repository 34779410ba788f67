/**
 * `backup`: pg_dump into a block blob `<prefix>/<db>_<YYYYMMDDTHHMMSSZ>` (naming.ts), with metadata.
 *
 * Order of events, and why nothing half-done can be mistaken for a backup:
 * 1. connect to the source (credentials and server version checked before any byte moves);
 * 2. refuse if the blob name already exists (it is never overwritten);
 * 3. run pg_dump, staging its bytes as uncommitted blocks while hashing them;
 * 4. only when pg_dump exited 0 (and, for the directory format, tar and zstd too) commit the block list, with
 *    `If-None-Match: *` so a blob that appeared meanwhile is not replaced, and the metadata in the same request.
 * A failure or a kill anywhere before 4 leaves only uncommitted blocks, which no listing shows.
 *
 * The directory format (the default) runs `pg_dump -Fd -j N -Z 0` into the scratch directory and streams
 * `tar | zstd -1 -T0` into blocks while it runs, each table's file as soon as pg_dump finished it
 * (directory-upload.ts): zstd on the whole stream costs a fraction of pg_dump's gzip inside each worker and
 * compresses as well (docs/data-tool.md, measured), and PostgreSQL 15's pg_dump has no zstd of its own.
 *
 * The manifest (packages/dr-data/src/manifest.ts; default on, `manifest: false` / `--no-manifest` skips it): before pg_dump
 * starts, `jobs` sessions open a REPEATABLE READ transaction sharing one exported snapshot, which pg_dump is
 * given (`--snapshot`); sequences are read before and after pg_dump. A directory dump's tables are counted and
 * checksummed from the dump's own files while they are uploaded (copy-checksum.ts, `method: "copy"`): no second
 * scan of the source. A custom-format dump (one stream, not split by table) and any table the dump's table of
 * contents cannot be matched to are checksummed server-side in the snapshot. The manifest blob
 * `<name>.manifest.json` is committed (`If-None-Match: *`) before the dump's block list, and the dump's metadata
 * records its sha256.
 *
 * With `verify` (`--verify`, which the nightly CronJob passes), the committed dump is then read back from storage
 * and checked as a restore would check it, and a status record is written beside it (verify.ts); a backup that
 * does not verify fails the command (exit 1) after its record says why, so the nightly Job fails.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { backupBlobName, backupManifestBlobName } from "./naming";
import { findTableData, finishedDataEntry, parseTableData } from "./archive";
import { chooseBlockSize, stageBlocks, type StagedBlocks, type StageOptions } from "./blobio";
import { DirectoryUpload } from "./directory-upload";
import { latestBackup, listBackups, type BackupEntry } from "./list";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { withClient, withFreshPassword, type PgConnection } from "./connection";
import { checksumDumpFile, COPY_TEXT_SETTINGS, type CopySummary } from "./copy-checksum";
import { UsageError, VerificationError } from "./errors";
import { ManifestTaker, MANIFEST_VERSION, serializeManifest, sha256Hex, tocEntries } from "./manifest";
import { isStreamCompress, toBlobMetadata, type BackupMetadata, type StreamCompress } from "./metadata";
import { childEnv, COMPRESS_PATTERN, pgDumpArgv, pgRestoreListArgv, type DumpFormat } from "./pgargs";
import { binPath, describeExit, killed, run, start, type ClientProgramOptions, type Spawned } from "./proc";
import { CountProgress, formatBytes, Progress, stderrLog, type Log, type ProgressTotal } from "./progress";
import { queryOne } from "./sql";
import { parseCopyHeader } from "./table-restore";
import { STATUS_VERSION, verifyCommitted, writeStatus, type BackupStatus } from "./verify";

export interface BackupOptions extends ClientProgramOptions {
  /** The source server and database to dump. */
  readonly connection: PgConnection;
  readonly store: BlobStoreSettings;
  /** Blob prefix, e.g. `backupPrefix.nightly(server)` from naming.ts. */
  readonly prefix: string;
  /** Recorded in the metadata: the logical server name. Default: the connection's host. */
  readonly sourceServer?: string | undefined;
  /**
   * Default `directory` (`pg_dump -Fd -j N` on the scratch volume, then tar into blocks): chosen by measurement,
   * see docs/data-tool.md. `custom` streams `pg_dump -Fc` into blocks with no local disk.
   */
  readonly format?: DumpFormat | undefined;
  /**
   * `pg_dump --compress`. Default: `0` for the directory format (the tool compresses the stream, below), `1`
   * (gzip level 1) for the custom format. PostgreSQL 16 clients may use `lz4` or `zstd:1`.
   */
  readonly compress?: string | undefined;
  /**
   * Directory format: the tool's compression of the whole tar stream, `zstd:<1–19>` or `none`. Default
   * `zstd:1` when pg_dump does not compress (`compress` 0), else `none`.
   */
  readonly streamCompress?: string | undefined;
  /** Directory format only: `pg_dump --jobs`. Default 2. */
  readonly jobs?: number | undefined;
  /**
   * Bytes per staged block. Default: chosen from `expectedBytes` so the dump fits Azure's 50,000 blocks
   * (`chooseBlockSize`, at least 8 MiB); an explicit size is checked against it.
   */
  readonly blockSize?: number | undefined;
  /**
   * The dump's expected size, for the block size and the refusal of a backup that cannot fit. Default: the
   * larger of the source database's `pg_database_size` and the previous backup's size.
   */
  readonly expectedBytes?: number | undefined;
  /** Blocks uploaded in parallel. Default 4. */
  readonly uploadConcurrency?: number | undefined;
  /** Directory format only: where the dump is staged. Default the OS temp dir. */
  readonly workDir?: string | undefined;
  /**
   * Directory format only: dump into this directory (created; it must not exist) and leave it there for the
   * caller, who removes it: `restore --from-copy` restores from it (restore.ts `restoreFromCopy`). Default: a temporary
   * directory under `workDir`, removed once the dump is uploaded.
   */
  readonly keepDumpIn?: string | undefined;
  /** Clock for the blob name's timestamp. Default `() => new Date()`. */
  readonly now?: (() => Date) | undefined;
  /**
   * Take the manifest (row counts and checksums in pg_dump's snapshot, packages/dr-data/src/manifest.ts). Default true.
   */
  readonly manifest?: boolean | undefined;
  /** Called with each staged block's size (tests use it to act mid-backup). */
  readonly onBytes?: ((n: number) => void) | undefined;
  /**
   * Read the committed backup back from storage, check it as a restore would and write its status record
   * (verify.ts). Needs the manifest. Default false.
   */
  readonly verify?: boolean | undefined;
  /** With `verify`: called between the commit and the read-back (tests use it to change the blob). */
  readonly onCommitted?: ((blobName: string) => Promise<void>) | undefined;
}

export interface BackupResult {
  readonly blobName: string;
  readonly metadata: BackupMetadata;
  /** The manifest blob's name, when one was taken. */
  readonly manifestBlobName?: string | undefined;
  /** With `verify`: the status record written (always verified: a backup that is not throws). */
  readonly status?: BackupStatus | undefined;
}

/**
 * A committed backup whose read-back has not run yet (`commitBackup`): `verify` reads it back from storage,
 * checks it as a restore would and writes its status record, as `backup --verify` does after the commit;
 * `sameFilesAs`: the unpacked read-back must also equal that directory (the dump kept with `keepDumpIn`).
 */
export interface CommittedBackup {
  readonly blobName: string;
  readonly metadata: BackupMetadata;
  readonly manifestBlobName: string | undefined;
  /** Needs the manifest (`backupSettings` refuses `verify` without it; so does this). */
  readonly verify: (o?: { readonly sameFilesAs?: string | undefined }) => Promise<BackupStatus>;
}

/** Blocks in flight hold this much memory at most (the pod's limit is 4Gi); bounds concurrency × block size. */
const UPLOAD_MEMORY = 512 * 1024 * 1024;

/** The options, checked and with their defaults: what this backup will do. */
interface BackupSettings {
  readonly format: DumpFormat;
  readonly compress: string;
  readonly streamCompress: StreamCompress | undefined;
  readonly jobs: number;
  readonly manifest: boolean;
  readonly verify: boolean;
  readonly log: Log;
  readonly now: () => Date;
}

/** What the source said before anything moved. */
interface SourceFacts {
  readonly serverVersion: string;
  readonly databaseBytes: number;
  readonly pgDumpVersion: string;
  /** pg_dump's environment: the connection, and the settings that fix how COPY prints values. */
  readonly env: Record<string, string>;
}

/** A dump staged as uncommitted blocks, the tables it was able to summarize itself, and its table of contents. */
interface Dumped {
  readonly staged: StagedBlocks;
  readonly copied: ReadonlyMap<string, CopySummary>;
  /** `pg_restore --list` of the dump; taken only with a manifest. */
  readonly toc?: string | undefined;
  /** When pg_dump exited (`performance.now()`). */
  readonly dumpEnd: number;
}

/** One backup's dump: its options and settings, the source, the blob it goes to, and the manifest being taken. */
interface Dump {
  readonly o: BackupOptions;
  readonly s: BackupSettings;
  readonly source: SourceFacts;
  readonly target: Target;
  readonly upload: UploadPlan;
  readonly taker: ManifestTaker | undefined;
}

interface Target {
  readonly container: ContainerClient;
  readonly blobName: string;
  readonly blob: BlockBlobClient;
}

export async function backup(o: BackupOptions): Promise<BackupResult> {
  const committed = await commitBackup(o);
  const status = (o.verify ?? false) ? await committed.verify() : undefined;
  return {
    blobName: committed.blobName,
    metadata: committed.metadata,
    manifestBlobName: committed.manifestBlobName,
    status,
  };
}

/** The backup up to its commit; its read-back (`verify`) is the caller's to run, or not, when it chooses. */
export async function commitBackup(o: BackupOptions): Promise<CommittedBackup> {
  const settings = backupSettings(o);
  const container = containerClient(o.store);
  const source = await inspectSource(o, settings);
  const startedAt = settings.now();
  const target = await newBlob(container, o, startedAt);
  settings.log(
    `backup: ${o.connection.database} on ${o.connection.host} (PostgreSQL ${source.serverVersion}) → ` +
      `${container.containerName}/${target.blobName}`,
  );
  const upload = await planUpload(o, settings, source);
  const taker = settings.manifest ? await ManifestTaker.start(o.connection, settings.jobs) : undefined;
  let finished = false;
  try {
    const dumpStart = performance.now();
    const dumped = await dump({ o, s: settings, source, target, upload, taker });
    let manifest: CommittedManifest | undefined;
    if (taker !== undefined) {
      manifest = await commitManifest(target, o, taker, dumped, settings.log);
      finished = true;
    }
    const metadata = backupMetadata(o, settings, source, dumped.staged, startedAt, manifest);
    await commitDump(target, dumped.staged, metadata, manifest);
    settings.log(
      `backup: committed ${target.blobName}, ${dumped.staged.size} bytes, sha256 ${dumped.staged.sha256}`,
    );
    if (manifest === undefined) {
      settings.log(
        `backup: no manifest taken (--no-manifest): ${target.blobName} cannot be verified on restore, and ` +
          `restoring it will need --allow-unverified`,
      );
    }
    const durations = {
      dumpSeconds: seconds(dumped.dumpEnd - dumpStart),
      uploadSeconds: seconds(performance.now() - dumped.dumpEnd),
    };
    return {
      blobName: target.blobName,
      metadata,
      manifestBlobName: manifest?.name,
      verify: async (v) => {
        if (manifest === undefined) throw new UsageError("--verify needs the manifest: drop --no-manifest");
        return verifyAndRecord(o, settings, target, metadata, { durations, sameFilesAs: v?.sameFilesAs });
      },
    };
  } finally {
    if (taker !== undefined && !finished) await taker.abort();
  }
}

/** Milliseconds as seconds, to the millisecond. */
function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/**
 * `--verify`: the committed backup read back from storage and checked (verify.ts), its status record written
 * once whatever the result; a backup that does not verify is a VerificationError (exit 1).
 */
async function verifyAndRecord(
  o: BackupOptions,
  s: BackupSettings,
  target: Target,
  metadata: BackupMetadata,
  v: {
    readonly durations: { readonly dumpSeconds: number; readonly uploadSeconds: number };
    readonly sameFilesAs?: string | undefined;
  },
): Promise<BackupStatus> {
  await o.onCommitted?.(target.blobName);
  const t0 = performance.now();
  s.log(`verify: reading ${target.blobName} back from storage`);
  const outcome = await verifyCommitted({
    container: target.container,
    store: o.store,
    blobName: target.blobName,
    committed: metadata,
    binDir: o.binDir,
    workDir: o.workDir,
    sameFilesAs: v.sameFilesAs,
    log: s.log,
  });
  const status: BackupStatus = {
    tool: STATUS_VERSION,
    backup: target.blobName,
    database: metadata.database,
    sourceServer: metadata.sourceServer,
    checkedAt: s.now().toISOString(),
    size: metadata.size,
    sha256: metadata.sha256,
    manifestVersion: outcome.manifestVersion,
    archiveEntries: outcome.archiveEntries,
    durations: { ...v.durations, verifySeconds: seconds(performance.now() - t0) },
    verified: outcome.verified,
    reason: outcome.reason,
  };
  const record = await writeStatus(target.container, status).catch((cause: unknown) => {
    // The verification's own result must not be lost behind the failure to record it.
    const result = status.verified ? "verified" : `did not verify: ${status.reason}`;
    throw new Error(`${target.blobName} ${result}, but its status record could not be written`, { cause });
  });
  if (!status.verified) {
    // A check that found a fault says the backup is bad; one that could not run (storage, a program) says so:
    // exit 1 either way, but the words decide what an operator looks at.
    const said = `${target.blobName} was committed but`;
    if (outcome.faultFound) {
      throw new VerificationError(
        `${said} does not verify from storage (recorded in ${record}): ${status.reason}`,
      );
    }
    throw new Error(`${said} could not be verified from storage (recorded in ${record}): ${status.reason}`);
  }
  s.log(
    `verify: ${target.blobName} verified from storage (size, sha256, manifest, ${status.archiveEntries} archive ` +
      `entries) in ${status.durations.verifySeconds} s; recorded in ${record}`,
  );
  return status;
}

/** Checks the options and fills in the defaults; a bad value is a UsageError before anything is touched. */
export function backupSettings(o: BackupOptions): BackupSettings {
  const format = o.format ?? "directory";
  const compress = o.compress ?? (format === "directory" ? "0" : "1");
  if (!COMPRESS_PATTERN.test(compress)) {
    throw new UsageError(
      `--compress ${JSON.stringify(compress)}: allowed values are 0–9 or none|gzip|lz4|zstd[:level]`,
    );
  }
  const jobs = o.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be an integer ≥ 1, got ${jobs}`);
  const manifest = o.manifest ?? true;
  const verify = o.verify ?? false;
  if (o.keepDumpIn !== undefined && format !== "directory") {
    throw new UsageError(`keeping the dump's directory needs the directory format (got --format ${format})`);
  }
  if (verify && !manifest) {
    throw new UsageError(
      "--verify checks the backup as a restore would, which needs its manifest: drop --no-manifest or --verify",
    );
  }
  return {
    format,
    compress,
    streamCompress: streamCompressSetting(format, compress, o.streamCompress),
    jobs,
    manifest,
    verify,
    log: o.log ?? stderrLog,
    now: o.now ?? (() => new Date()),
  };
}

function streamCompressSetting(
  format: DumpFormat,
  compress: string,
  asked: string | undefined,
): StreamCompress | undefined {
  const uncompressed = compress === "0" || compress.startsWith("none");
  const value = asked ?? (format === "directory" && uncompressed ? "zstd:1" : "none");
  if (value === "none") return undefined;
  if (!isStreamCompress(value)) {
    throw new UsageError(
      `--stream-compress ${JSON.stringify(value)}: allowed values are zstd:1 … zstd:19 or none`,
    );
  }
  if (format !== "directory") {
    throw new UsageError(`--stream-compress ${value} needs the directory format (got --format ${format})`);
  }
  return value;
}

/** The source's version and size, pg_dump's version, and zstd's presence: all before any byte moves. */
async function inspectSource(o: BackupOptions, s: BackupSettings): Promise<SourceFacts> {
  const conn = o.connection;
  const { serverVersion, databaseBytes } = await withClient(
    conn,
    async (c) => ({
      serverVersion: (
        await queryOne<{ v: string }>(c, "SELECT pg_catalog.current_setting('server_version') AS v")
      ).v,
      databaseBytes: Number(
        (await queryOne<{ n: string }>(c, "SELECT pg_database_size(current_database())::text AS n")).n,
      ),
    }),
    "dr-data-backup",
  );
  const env = childEnv(process.env, await withFreshPassword(conn), {
    applicationName: "dr-data-backup",
    settings: COPY_TEXT_SETTINGS,
  });
  // The manifest's copy checksums are of the bytes in the database's encoding, as the restore reads them.
  delete env.PGCLIENTENCODING;
  const pgDumpVersion = (await run(binPath(o.binDir, "pg_dump"), ["--version"], { env })).trim();
  if (s.streamCompress !== undefined) await requireZstd(env);
  return { serverVersion, databaseBytes, pgDumpVersion, env };
}

async function requireZstd(env: Record<string, string>): Promise<void> {
  try {
    await run("zstd", ["--version"], { env });
  } catch (cause) {
    throw new UsageError(
      `--stream-compress zstd needs the zstd program on PATH (the image has it; apt-get install zstd), ` +
        `or --stream-compress none`,
      { cause },
    );
  }
}

/** The blob this backup will be; refused if it exists (a backup is never overwritten). */
async function newBlob(container: ContainerClient, o: BackupOptions, startedAt: Date): Promise<Target> {
  const blobName = backupBlobName(o.prefix, o.connection.database, startedAt);
  const blob = container.getBlockBlobClient(blobName);
  let exists: boolean;
  try {
    exists = await blob.exists();
  } catch (cause) {
    throw new Error(`checking ${container.containerName}/${blobName}`, { cause });
  }
  if (exists) throw new Error(`${blobName} already exists; a backup is never overwritten`);
  return { container, blobName, blob };
}

/** How the dump is uploaded: block size and concurrency from its expected size, and its progress. */
interface UploadPlan {
  readonly estimate: ProgressTotal | undefined;
  readonly stage: (progress: Progress) => StageOptions;
}

async function planUpload(o: BackupOptions, s: BackupSettings, source: SourceFacts): Promise<UploadPlan> {
  // The previous backup of this database under the prefix gives an estimate of this one's size (and so an
  // ETA) while nothing else can: pg_dump does not know its output size in advance.
  const previous = await previousBackup(o.store, o.prefix, o.connection.database).catch((cause: unknown) => {
    s.log(`backup: no size estimate (listing ${o.prefix} failed: ${String(cause)})`);
    return undefined;
  });
  const expectedBytes = o.expectedBytes ?? Math.max(source.databaseBytes, previous?.size ?? 0);
  // Before anything runs: a backup that cannot fit 50,000 blocks is refused here, naming the limit.
  const blocks = chooseBlockSize(expectedBytes, o.blockSize);
  const concurrency = Math.max(
    1,
    Math.min(o.uploadConcurrency ?? 4, Math.floor(UPLOAD_MEMORY / blocks.blockSize)),
  );
  s.log(
    `backup: expected ≈ ${formatBytes(expectedBytes)}: blocks of ${formatBytes(blocks.blockSize)}, ` +
      `${concurrency} in flight; a blob holds up to ${formatBytes(blocks.maxBytes)}`,
  );
  return {
    estimate:
      previous === undefined
        ? undefined
        : { bytes: previous.size, estimatedFrom: `the previous backup ${previous.name}` },
    stage: (progress) => ({
      blockSize: blocks.blockSize,
      concurrency,
      onBytes: (n: number) => {
        progress.add(n);
        o.onBytes?.(n);
      },
    }),
  };
}

async function dump(d: Dump): Promise<Dumped> {
  const { o, s } = d;
  const dumped = s.format === "custom" ? await dumpCustom(d) : await dumpDirectory(d);
  if (dumped.staged.size === 0) {
    throw new Error(`pg_dump produced no output for ${o.connection.database}; nothing committed`);
  }
  return dumped;
}

/** `pg_dump -Fc` streamed into blocks, the tables checksummed server-side in the snapshot meanwhile. */
async function dumpCustom(d: Dump): Promise<Dumped> {
  const { o, s, source, target, upload, taker } = d;
  const database = o.connection.database;
  const checksums = taker === undefined ? undefined : serverChecksums(taker, s.log);
  const progress = new Progress("backup: uploaded", s.log, upload.estimate);
  const argv = pgDumpArgv({ format: "custom", compress: s.compress, database, snapshot: taker?.snapshot });
  const child = start(binPath(o.binDir, "pg_dump"), argv, { env: source.env, stdout: "pipe" });
  const dumpOut = child.child.stdout as Readable;
  const listed = taker === undefined ? undefined : listFromStream(o, source, dumpOut);
  // Awaited after the upload; until then a failure must not surface as an unhandled rejection.
  listed?.listing.catch(() => undefined);
  let staged: StagedBlocks;
  try {
    staged = await stageBlocks(target.blob, listed?.stream ?? dumpOut, upload.stage(progress));
  } catch (cause) {
    throw new Error(`backup of ${database} failed, nothing committed${await killed(child, "pg_dump")}`, {
      cause,
    });
  }
  const exit = await child.exit;
  if (exit.code !== 0) {
    throw new Error(
      `backup of ${database} failed, nothing committed: ${describeExit("pg_dump", exit, child.stderr)}`,
    );
  }
  const dumpEnd = performance.now();
  progress.done();
  await checksums?.();
  return { staged, copied: new Map(), toc: await listed?.listing, dumpEnd };
}

/** The most of a custom-format dump's head `pg_restore --list` is given: its table of contents is far less. */
const TOC_HEAD_LIMIT = 256 * 1024 * 1024;

/**
 * `pg_restore --list` of a custom-format dump as it streams by: `stream` passes every chunk on for the upload
 * and copies it to pg_restore's stdin. A custom archive starts with its table of contents, so pg_restore
 * reads the head it needs and exits; later chunks are not copied.
 */
function listFromStream(
  o: BackupOptions,
  source: SourceFacts,
  dump: Readable,
): { stream: Readable; listing: Promise<string> } {
  const lister = start(binPath(o.binDir, "pg_restore"), ["--list"], {
    env: source.env,
    stdout: "pipe",
    stdin: "pipe",
  });
  const stdin = lister.child.stdin!;
  let sent = 0;
  let open = true;
  const stop = () => {
    if (!open) return;
    open = false;
    stdin.end();
  };
  // pg_restore exits once it has the table of contents: writing on is EPIPE, which ends the copying.
  stdin.on("error", stop);
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (open) {
        sent += chunk.length;
        stdin.write(chunk);
        if (sent > TOC_HEAD_LIMIT) stop();
      }
      done(null, chunk);
    },
    flush(done) {
      stop();
      done();
    },
  });
  dump.on("error", (err) => stream.destroy(err));
  dump.pipe(stream);
  const out: Buffer[] = [];
  lister.child.stdout!.on("data", (c: Buffer) => out.push(c));
  const listing = lister.exit.then((exit) => {
    stop();
    if (exit.code !== 0) {
      throw new Error(
        `reading the dump's table of contents: ${describeExit("pg_restore", exit, lister.stderr)}`,
      );
    }
    return Buffer.concat(out).toString("utf8");
  });
  return { stream, listing };
}

/**
 * Starts the server-side checksums of the tables in `only` (default all) in the taker's snapshot; the returned
 * function waits for them and throws their failure.
 */
function serverChecksums(taker: ManifestTaker, log: Log, only?: ReadonlySet<string>): () => Promise<void> {
  const t0 = Date.now();
  const progress = new CountProgress("backup: manifest", "tables checksummed", log).start();
  const running = taker
    .summarizeTables((done, total) => progress.update(done, total), only)
    .then(
      () => {
        log(`backup: manifest: tables checksummed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return undefined;
      },
      (err: unknown) => err,
    )
    .finally(() => progress.stop());
  return async () => {
    const failed = await running;
    if (failed !== undefined) {
      throw new Error(`backup failed, nothing committed: taking the manifest`, { cause: failed });
    }
  };
}

/**
 * `pg_dump -Fd -j N` into a temp directory, each table's file uploaded (tar through zstd into blocks:
 * directory-upload.ts) and checksummed for the manifest as soon as pg_dump has finished it, while the other
 * tables are still being dumped; the rest (the table of contents, large objects) once pg_dump exited.
 */
async function dumpDirectory(d: Dump): Promise<Dumped> {
  const { o, s, source, target, taker } = d;
  const { dir, owned } = await dumpDirectoryOf(o);
  try {
    // pg_dump accepts an empty existing directory; tar must find it when it starts. A kept directory must be
    // new: a file already in it would be uploaded (and restored) as part of this dump.
    await mkdir(dir);
    s.log(`backup: uploading the dump's files as pg_dump finishes them${streamHow(s)}`);
    const upload = DirectoryUpload.start({
      dir,
      database: o.connection.database,
      streamCompress: s.streamCompress,
      env: source.env,
      blob: target.blob,
      stage: d.upload.stage(new Progress("backup: staged", () => undefined)),
    });
    const progress = new Progress("backup: uploaded", s.log, d.upload.estimate);
    const stopCounting = countTarInput(upload.process, progress);
    const sums = new FileChecksums(taker !== undefined);
    try {
      await runPgDumpDirectory(d, dir, upload, (file) => {
        upload.add(file);
        sums.start(dir, file);
      });
    } catch (err) {
      stopCounting();
      await upload.abort();
      await sums.settle();
      throw err;
    }
    const dumpEnd = performance.now();
    const [staged, manifest] = await settledBoth(
      finishUpload(upload, dir, progress, stopCounting, s.log),
      manifestFromFiles(d, dir, sums),
    );
    return { staged, copied: manifest.copied, toc: manifest.toc, dumpEnd };
  } finally {
    if (owned !== undefined) await rm(owned, { recursive: true, force: true });
  }
}

/** Where a directory dump goes: the caller's `keepDumpIn`, or a temporary directory this backup owns. */
async function dumpDirectoryOf(o: BackupOptions): Promise<{ dir: string; owned: string | undefined }> {
  if (o.keepDumpIn !== undefined) return { dir: o.keepDumpIn, owned: undefined };
  const owned = await mkdtemp(path.join(o.workDir ?? os.tmpdir(), "dr-data-backup-"));
  return { dir: path.join(owned, "dump"), owned };
}

const streamHow = (s: BackupSettings) =>
  s.streamCompress === undefined ? " (tar)" : ` (tar, ${s.streamCompress.replace(":", " -")} on the stream)`;

/** Both results, or the first failure once both settled (neither is left running when the caller cleans up). */
async function settledBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === "rejected") throw x.reason;
  if (y.status === "rejected") throw y.reason;
  return [x.value, y.value];
}

/** The upload's end: the last files, tar's exit, and the progress completed to the stream's length. */
async function finishUpload(
  upload: DirectoryUpload,
  dir: string,
  progress: Progress,
  stopCounting: () => void,
  log: Log,
): Promise<StagedBlocks> {
  let staged: StagedBlocks;
  let size: number;
  try {
    size = await tarSize(dir);
    progress.knowTotal({ bytes: size });
    staged = await upload.finish();
  } catch (err) {
    // upload.finish stops tar on its own failures; a failure before it must not leave tar waiting for names.
    await upload.abort();
    throw err;
  } finally {
    stopCounting();
  }
  // tar exited 0: it read every file, whatever the last poll saw.
  progress.add(Math.max(0, size - progress.transferred));
  progress.done();
  if (upload.handedEarly > 0)
    log(`backup: ${upload.handedEarly} table files were uploading while pg_dump ran`);
  return staged;
}

/**
 * The manifest's part from the dump: its table of contents, and each table's checksum from its file (taken while
 * the dump ran, `FileChecksums`) where the file's COPY names the manifest's columns; the other tables
 * server-side in the snapshot. Nothing without a manifest.
 */
async function manifestFromFiles(
  d: Dump,
  dir: string,
  sums: FileChecksums,
): Promise<{ toc: string | undefined; copied: Map<string, CopySummary> }> {
  const { o, s, source, taker } = d;
  if (taker === undefined) return { toc: undefined, copied: new Map() };
  try {
    const toc = await run(binPath(o.binDir, "pg_restore"), pgRestoreListArgv(dir), { env: source.env });
    const files = await matchingCopyLists(o, source, dir, await dataFiles(dir, toc, taker), taker, s.log);
    return { toc, copied: await dumpChecksums(files, taker, s.log, sums) };
  } finally {
    await sums.settle();
  }
}

/**
 * Each data file's COPY checksum (copy-checksum.ts), started as soon as pg_dump finished the file: its bytes are
 * then still in the page cache, and the reading overlaps the dump of the other tables.
 */
class FileChecksums {
  private readonly running = new Map<string, Promise<CopySummary>>();

  constructor(private readonly wanted: boolean) {}

  start(dir: string, file: string): void {
    if (!this.wanted || this.running.has(file)) return;
    const sum = checksumDumpFile(path.join(dir, file));
    sum.catch(() => undefined); // awaited by `of`, or dropped with the directory after a failure
    this.running.set(file, sum);
  }

  /** The checksum of a data file: the one taken during the dump, else taken now. */
  of(file: string): Promise<CopySummary> {
    return this.running.get(path.basename(file)) ?? checksumDumpFile(file);
  }

  /** Waits for every checksum started (before the directory is removed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.running.values());
  }
}

/**
 * `pg_dump -Fd -j N --verbose` into `dir`: every finished table's file to `onFile` as pg_dump reports it. A
 * failed upload stops pg_dump and is the error thrown.
 */
async function runPgDumpDirectory(
  d: Dump,
  dir: string,
  upload: DirectoryUpload,
  onFile: (file: string) => void,
): Promise<void> {
  const { o, s, source, taker } = d;
  const t0 = Date.now();
  const stopHeartbeat = dumpHeartbeat(
    dir,
    new Progress("backup: pg_dump written", s.log, d.upload.estimate, 0),
  );
  const database = o.connection.database;
  const argv = pgDumpArgv({
    format: "directory",
    compress: s.compress,
    jobs: s.jobs,
    outputDir: dir,
    database,
    snapshot: taker?.snapshot,
    verbose: true,
  });
  const dataFile = (id: number) => [`${id}.dat`, `${id}.dat.gz`];
  const onStderrLine = (line: string): boolean => {
    const id = finishedDataEntry("pg_dump", line);
    if (id !== undefined) for (const f of dataFile(id)) if (existsSync(path.join(dir, f))) onFile(f);
    return isPgDumpVerboseLine(line);
  };
  const p = start(binPath(o.binDir, "pg_dump"), argv, { env: source.env, stdout: "ignore", onStderrLine });
  try {
    const exit = await Promise.race([
      p.exit.catch((cause: unknown) => {
        throw new Error(`backup of ${database} failed, nothing committed: starting pg_dump`, { cause });
      }),
      upload.failed,
    ]);
    if (exit.code !== 0) {
      throw new Error(`backup of ${database} failed, nothing committed`, {
        cause: new Error(describeExit("pg_dump", exit, p.stderr)),
      });
    }
  } catch (err) {
    p.child.kill("SIGTERM");
    await p.exit.catch(() => undefined);
    throw err;
  } finally {
    stopHeartbeat();
  }
  s.log(`backup: pg_dump -Fd -j ${s.jobs} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** pg_dump --verbose's progress lines (kept out of the error text); its errors, warnings and details are not. */
function isPgDumpVerboseLine(line: string): boolean {
  return line.startsWith("pg_dump: ") && !/^pg_dump: (error|warning|detail|hint|fatal):/.test(line);
}

/** pg_dump -Fd says nothing while it runs: every 5 s, what it has written so far. Returns the stop. */
function dumpHeartbeat(dir: string, dumping: Progress): () => void {
  let written = 0;
  const timer = setInterval(() => {
    directoryBytes(dir).then(
      (n) => {
        dumping.add(n - written);
        written = n;
      },
      () => undefined, // the directory is being removed after a failure
    );
  }, 5000);
  return () => clearInterval(timer);
}

/**
 * Progress in tar's input (the dump's bytes, whatever zstd makes of them; their total is the estimate until
 * pg_dump exits, then the stream's exact length): tar's `rchar` from /proc, every second. Where /proc cannot be read, the compressed bytes uploaded are counted
 * instead, so the progress lines still move (their ETA then errs on the long side).
 */
function countTarInput(tar: Spawned, progress: Progress): () => void {
  let seen = 0;
  const io = `/proc/${tar.child.pid ?? 0}/io`;
  const fromProc = readRchar(io) !== undefined;
  if (!fromProc) {
    const onData = (c: Buffer) => progress.add(c.length);
    tar.child.stdout!.on("data", onData);
    return () => tar.child.stdout!.off("data", onData);
  }
  const timer = setInterval(() => {
    const n = readRchar(io);
    if (n !== undefined && n > seen) {
      progress.add(n - seen);
      seen = n;
    }
  }, 1000);
  return () => clearInterval(timer);
}

/** A process's bytes read so far (`rchar` of /proc/<pid>/io), or undefined when that cannot be read. */
export function readRchar(ioFile: string): number | undefined {
  try {
    const m = /^rchar: (\d+)$/m.exec(readFileSync(ioFile, "utf8"));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * The manifest's table checksums from the dump's own files (copy-checksum.ts): `files` (`dataFiles`, then
 * `matchingCopyLists`). A table not among them — its entry not found, its file compressed another way, its
 * COPY list not the manifest's — is checksummed server-side in the snapshot instead.
 */
async function dumpChecksums(
  files: ReadonlyMap<string, DataFile>,
  taker: ManifestTaker,
  log: Log,
  sums: FileChecksums,
): Promise<Map<string, CopySummary>> {
  const t0 = Date.now();
  const rest = new Set([...taker.tableRelations.keys()].filter((name) => !files.has(name)));
  const server = serverChecksums(taker, log, rest);
  const progress = new CountProgress("backup: manifest", "tables checksummed from the dump", log).start();
  const out = new Map<string, CopySummary>();
  try {
    for (const [name, { file }] of files) {
      out.set(name, await sums.of(file));
      progress.update(out.size, files.size);
    }
  } finally {
    progress.stop();
  }
  await server();
  log(
    `backup: manifest: ${out.size} tables checksummed from the dump, ${rest.size} server-side, in ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return out;
}

/** `schema.name` → its data file, for the tables whose `TABLE DATA` entry and plain or gzip file are found. */
async function dataFiles(dir: string, toc: string, taker: ManifestTaker): Promise<Map<string, DataFile>> {
  const entries = parseTableData(toc);
  const present = new Set(await readdir(dir));
  const out = new Map<string, DataFile>();
  for (const [name, rel] of taker.tableRelations) {
    const entry = findTableData(entries, rel.schema, rel.name);
    const id = entry === undefined ? undefined : /^(\d+);/.exec(entry.line)?.[1];
    const file = [`${id}.dat`, `${id}.dat.gz`].find((f) => id !== undefined && present.has(f));
    if (file !== undefined && entry !== undefined)
      out.set(name, { file: path.join(dir, file), entry: entry.line });
  }
  return out;
}

/** A table's data file in a directory-format dump, and its `TABLE DATA` line of the table of contents. */
interface DataFile {
  readonly file: string;
  readonly entry: string;
}

/**
 * The tables whose dump COPY names exactly the manifest's columns that are not generated, in the manifest's
 * order: only their COPY text hashes as the restore will read it back (`COPY t (those columns) TO STDOUT`).
 * pg_dump builds that list from the same catalog in the same snapshot, so a table dropped here is a surprise,
 * logged, and checksummed server-side instead. The COPY lines are read with pg_restore from a copy of the
 * dump's table of contents beside empty data files: no data is read twice.
 */
async function matchingCopyLists(
  o: BackupOptions,
  source: SourceFacts,
  dir: string,
  files: ReadonlyMap<string, DataFile>,
  taker: ManifestTaker,
  log: Log,
): Promise<Map<string, DataFile>> {
  const names = [...files.keys()];
  const headers = await dumpCopyHeaders(
    o,
    source,
    dir,
    names.map((n) => files.get(n)!),
  );
  const out = new Map<string, DataFile>();
  for (const [i, name] of names.entries()) {
    const expected = (taker.tableRelations.get(name)!.columnList ?? [])
      .filter((c) => !c.generated)
      .map((c) => c.name);
    const dumped = headers[i];
    if (dumped !== undefined && dumped.join("\0") === expected.join("\0")) out.set(name, files.get(name)!);
    else
      log(
        `backup: manifest: ${name}: the dump's COPY names (${dumped?.join(", ") ?? "?"}), not the manifest's columns (${expected.join(", ")}): checksummed server-side`,
      );
  }
  return out;
}

/** The column list of each entry's `COPY … FROM stdin;` line, in the entries' order (undefined: none parsed). */
async function dumpCopyHeaders(
  o: BackupOptions,
  source: SourceFacts,
  dir: string,
  entries: readonly DataFile[],
): Promise<(string[] | undefined)[]> {
  if (entries.length === 0) return [];
  const shell = `${dir}-copy-lines`;
  await mkdir(shell);
  try {
    await symlink(path.join(dir, "toc.dat"), path.join(shell, "toc.dat"));
    const emptyGzip = gzipSync(Buffer.alloc(0));
    for (const e of entries) {
      const base = path.basename(e.file);
      await writeFile(path.join(shell, base), base.endsWith(".gz") ? emptyGzip : Buffer.alloc(0));
    }
    const list = path.join(shell, "list");
    await writeFile(list, `${entries.map((e) => e.entry).join("\n")}\n`);
    // pg_restore -L restores the listed entries in the list's order: one COPY line per entry, in that order.
    const script = await run(
      binPath(o.binDir, "pg_restore"),
      ["--data-only", "--file=-", `--use-list=${list}`, shell],
      {
        env: source.env,
      },
    );
    const lines = script.split("\n").filter((l) => l.startsWith("COPY "));
    return lines.length === entries.length
      ? lines.map((l) => copyHeaderColumns(l))
      : entries.map(() => undefined);
  } finally {
    await rm(shell, { recursive: true, force: true });
  }
}

/**
 * The column names of a `COPY <table> (<columns>) FROM stdin;` line; none for a table without columns, for
 * which pg_dump writes `COPY <table>  FROM stdin;` (an empty list between the two blanks).
 */
function copyHeaderColumns(line: string): string[] | undefined {
  return parseCopyHeader(line)?.columns ?? (line.endsWith("  FROM stdin;") ? [] : undefined);
}

interface CommittedManifest {
  readonly name: string;
  readonly sha256: string;
  readonly etag: string | undefined;
}

/** The manifest blob, committed before the dump (`If-None-Match: *`). */
async function commitManifest(
  target: Target,
  o: BackupOptions,
  taker: ManifestTaker,
  dumped: Dumped,
  log: Log,
): Promise<CommittedManifest> {
  if (dumped.toc === undefined) throw new Error("manifest: the dump's table of contents was not read");
  const relations = await taker.finish(dumped.copied);
  const bytes = serializeManifest({
    tool: MANIFEST_VERSION,
    backup: target.blobName,
    database: o.connection.database,
    sourceServer: o.sourceServer ?? o.connection.host,
    snapshot: taker.snapshot,
    takenAt: taker.takenAt.toISOString(),
    relations,
    databaseProperties: taker.database,
    tableOfContents: tocEntries(dumped.toc),
  });
  const sha256 = sha256Hex(bytes);
  const name = backupManifestBlobName(target.blobName);
  let etag: string | undefined;
  try {
    etag = (
      await target.container.getBlockBlobClient(name).upload(bytes, bytes.length, {
        conditions: { ifNoneMatch: "*" },
        blobHTTPHeaders: { blobContentType: "application/json" },
      })
    ).etag;
  } catch (cause) {
    throw new Error(`committing the manifest ${name} failed; the backup was not committed`, { cause });
  }
  log(`backup: manifest ${name} committed: ${relations.length} relations, sha256 ${sha256}`);
  return { name, sha256, etag };
}

function backupMetadata(
  o: BackupOptions,
  s: BackupSettings,
  source: SourceFacts,
  staged: StagedBlocks,
  startedAt: Date,
  manifest: CommittedManifest | undefined,
): BackupMetadata {
  return {
    sha256: staged.sha256,
    size: staged.size,
    sourceServer: o.sourceServer ?? o.connection.host,
    database: o.connection.database,
    serverVersion: source.serverVersion,
    pgDumpVersion: source.pgDumpVersion,
    format: s.format,
    compress: s.compress,
    ...(s.streamCompress === undefined ? {} : { streamCompress: s.streamCompress }),
    startedAt: startedAt.toISOString(),
    endedAt: s.now().toISOString(),
    ...(manifest === undefined ? {} : { manifestSha256: manifest.sha256 }),
  };
}

/** The block list and metadata in one request; on failure the manifest written for it is deleted again. */
async function commitDump(
  target: Target,
  staged: StagedBlocks,
  metadata: BackupMetadata,
  manifest: CommittedManifest | undefined,
): Promise<void> {
  try {
    await target.blob.commitBlockList(staged.blockIds, {
      metadata: toBlobMetadata(metadata),
      conditions: { ifNoneMatch: "*" },
      blobHTTPHeaders: { blobContentType: "application/octet-stream" },
    });
  } catch (cause) {
    const orphan = manifest === undefined ? "" : await deleteOrphanManifest(target, manifest);
    throw new Error(
      `committing ${target.blobName} (it may already exist; backups are never overwritten)${orphan}`,
      { cause },
    );
  }
  const props = await target.blob.getProperties();
  if (props.contentLength !== staged.size) {
    throw new Error(
      `${target.blobName} was committed with ${props.contentLength} bytes, expected ${staged.size}`,
    );
  }
}

/**
 * The manifest was committed first and would otherwise stay, naming a dump that does not exist (or another
 * writer's). Deleted only if it is still the one written here (ETag).
 */
async function deleteOrphanManifest(target: Target, manifest: CommittedManifest): Promise<string> {
  return target.container
    .getBlobClient(manifest.name)
    .delete({ conditions: { ifMatch: manifest.etag } })
    .then(
      () => `; its manifest ${manifest.name} was deleted`,
      (e: unknown) => `; its manifest ${manifest.name} could not be deleted (${String(e)})`,
    );
}

/** The newest complete backup of `database` under `prefix`, if any. */
async function previousBackup(
  store: BlobStoreSettings,
  prefix: string,
  database: string,
): Promise<BackupEntry | undefined> {
  return latestBackup(await listBackups({ store, prefix, database }), database);
}

/** Bytes of the regular files directly in `dir` (pg_dump -Fd writes a flat directory). */
export async function directoryBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile()) n += (await stat(path.join(dir, e.name))).size;
  }
  return n;
}

/**
 * The length of `tar -cf - -C dir .` for a flat directory with short names (pg_dump -Fd's): a 512-byte header
 * for `./` and for each file, each file's data padded to 512, two zero blocks, the whole padded to tar's
 * default record of 20 blocks (10240 bytes).
 */
export async function tarSize(dir: string): Promise<number> {
  let n = 512;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isFile()) throw new Error(`${dir}: ${e.name} is not a regular file`);
    const size = (await stat(path.join(dir, e.name))).size;
    n += 512 + Math.ceil(size / 512) * 512;
  }
  n += 1024;
  return Math.ceil(n / 10240) * 10240;
}
