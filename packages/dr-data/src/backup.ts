/**
 * `backup`: pg_dump into a block blob `<prefix>/<db>_<YYYYMMDDTHHMMSSZ>` (naming.ts), with metadata.
 *
 * Order of events, and why nothing half-done can be mistaken for a backup:
 * 1. connect to the source (credentials and server version checked before any byte moves);
 * 2. refuse if the blob name already exists (it is never overwritten);
 * 3. run pg_dump, staging its bytes as uncommitted blocks while hashing them;
 * 4. only when pg_dump exited 0 (and, for the directory format, tar too) commit the block list, with
 *    `If-None-Match: *` so a blob that appeared meanwhile is not replaced, and the metadata in the same request.
 * A failure or a kill anywhere before 4 leaves only uncommitted blocks, which no listing shows.
 *
 * The manifest (tool/manifest.ts; default on, `manifest: false` / `--no-manifest` skips it): before pg_dump
 * starts, `jobs` sessions open a REPEATABLE READ transaction sharing one exported snapshot, which pg_dump is
 * given (`--snapshot`); while pg_dump runs, those sessions checksum every table in that snapshot, and the
 * exporting transaction stays open until pg_dump exited. Sequences are read before and after pg_dump. The
 * manifest blob `<name>.manifest.json` is committed (`If-None-Match: *`) before the dump's block list, and the
 * dump's metadata records its sha256.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { backupBlobName, backupManifestBlobName } from "./naming";
import { chooseBlockSize, stageBlocks } from "./blobio";
import { latestBackup, listBackups, type BackupEntry } from "./list";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { withClient, withFreshPassword, type PgConnection } from "./connection";
import { UsageError } from "./errors";
import { ManifestTaker, MANIFEST_VERSION, serializeManifest, sha256Hex } from "./manifest";
import { toBlobMetadata, type BackupMetadata } from "./metadata";
import { childEnv, COMPRESS_PATTERN, pgDumpArgv, type DumpFormat } from "./pgargs";
import { binPath, describeExit, run, start } from "./proc";
import { CountProgress, formatBytes, Progress, stderrLog, type Log, type ProgressTotal } from "./progress";

export interface BackupOptions {
  /** The source server and database to dump. */
  readonly connection: PgConnection;
  readonly store: BlobStoreSettings;
  /** Blob prefix, e.g. `backupPrefix.nightly(server)` from naming.ts. */
  readonly prefix: string;
  /** Recorded in the metadata: the logical server name. Default: the connection's host. */
  readonly sourceServer?: string | undefined;
  /**
   * Default `directory` (`pg_dump -Fd -j N` on local disk, then tar into blocks): chosen by measurement, see
   * docs/data-tool.md. `custom` streams `pg_dump -Fc` into blocks with no local disk.
   */
  readonly format?: DumpFormat | undefined;
  /** `pg_dump --compress`. Default `1` (gzip level 1; PostgreSQL 16 clients may use `lz4` or `zstd:1`). */
  readonly compress?: string | undefined;
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
  /** Where pg_dump lives. Default: PATH. */
  readonly binDir?: string | undefined;
  /** Clock for the blob name's timestamp. Default `() => new Date()`. */
  readonly now?: (() => Date) | undefined;
  /** Default: lines on stderr. */
  readonly log?: Log | undefined;
  /**
   * Take the manifest (row counts and checksums in pg_dump's snapshot, tool/manifest.ts). Default true.
   */
  readonly manifest?: boolean | undefined;
  /** Called with each staged block's size (tests use it to act mid-backup). */
  readonly onBytes?: ((n: number) => void) | undefined;
}

export interface BackupResult {
  readonly blobName: string;
  readonly metadata: BackupMetadata;
  /** The manifest blob's name, when one was taken. */
  readonly manifestBlobName?: string | undefined;
}

/** Blocks in flight hold this much memory at most (the pod's limit is 4Gi); bounds concurrency × block size. */
const UPLOAD_MEMORY = 512 * 1024 * 1024;

export async function backup(o: BackupOptions): Promise<BackupResult> {
  const log = o.log ?? stderrLog;
  const now = o.now ?? (() => new Date());
  const format = o.format ?? "directory";
  const compress = o.compress ?? "1";
  if (!COMPRESS_PATTERN.test(compress)) {
    throw new UsageError(
      `--compress ${JSON.stringify(compress)}: allowed values are 0–9 or none|gzip|lz4|zstd[:level]`,
    );
  }
  const jobs = o.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be an integer ≥ 1, got ${jobs}`);
  const container = containerClient(o.store);
  const conn = o.connection;

  const { serverVersion, databaseBytes } = await withClient(
    conn,
    async (c) => ({
      serverVersion: (await c.query<{ server_version: string }>("SHOW server_version")).rows[0]!
        .server_version,
      databaseBytes: Number(
        (await c.query<{ n: string }>("SELECT pg_database_size(current_database())::text AS n")).rows[0]!.n,
      ),
    }),
    "dr-data-backup",
  );
  const env = childEnv(process.env, await withFreshPassword(conn), { applicationName: "dr-data-backup" });
  const pgDump = binPath(o.binDir, "pg_dump");
  const pgDumpVersion = (await run(pgDump, ["--version"], { env })).trim();

  const startedAt = now();
  const blobName = backupBlobName(o.prefix, conn.database, startedAt);
  const blob = container.getBlockBlobClient(blobName);
  let exists: boolean;
  try {
    exists = await blob.exists();
  } catch (cause) {
    throw new Error(`checking ${container.containerName}/${blobName}`, { cause });
  }
  if (exists) throw new Error(`${blobName} already exists; a backup is never overwritten`);
  log(
    `backup: ${conn.database} on ${conn.host} (PostgreSQL ${serverVersion}) → ${container.containerName}/${blobName}`,
  );

  // The previous backup of this database under the prefix gives an estimate of this one's size (and so an
  // ETA) while nothing else can: pg_dump does not know its output size in advance.
  const previous = await previousBackup(o.store, o.prefix, conn.database).catch((cause: unknown) => {
    log(`backup: no size estimate (listing ${o.prefix} failed: ${String(cause)})`);
    return undefined;
  });
  const estimate =
    previous === undefined
      ? undefined
      : { bytes: previous.size, estimatedFrom: `the previous backup ${previous.name}` };
  // Streamed (custom) format: the upload is the dump, estimated. Directory format: the upload starts once the
  // dump is complete, and its exact size is then set (dumpDirectoryAndStage).
  const expectedBytes = o.expectedBytes ?? Math.max(databaseBytes, previous?.size ?? 0);
  // Before anything runs: a backup that cannot fit 50,000 blocks is refused here, naming the limit.
  const blocks = chooseBlockSize(expectedBytes, o.blockSize);
  const concurrency = Math.max(
    1,
    Math.min(o.uploadConcurrency ?? 4, Math.floor(UPLOAD_MEMORY / blocks.blockSize)),
  );
  log(
    `backup: expected ≈ ${formatBytes(expectedBytes)}: blocks of ${formatBytes(blocks.blockSize)}, ` +
      `${concurrency} in flight; a blob holds up to ${formatBytes(blocks.maxBytes)}`,
  );
  const progress = new Progress("backup: uploaded", log, format === "custom" ? estimate : undefined);
  const stageOptions = {
    blockSize: blocks.blockSize,
    concurrency,
    onBytes: (n: number) => {
      progress.add(n);
      o.onBytes?.(n);
    },
  };

  // The manifest's sessions: the snapshot pg_dump will dump, and the table checksums taken in it meanwhile.
  const taker = (o.manifest ?? true) ? await ManifestTaker.start(conn, jobs) : undefined;
  let finished = false;
  try {
    const snapshot = taker?.snapshot;
    const t0 = Date.now();
    const checksums = new CountProgress("backup: manifest", "tables checksummed", log);
    const tables =
      taker === undefined
        ? Promise.resolve(undefined)
        : taker
            .summarizeTables((done, total) => checksums.update(done, total))
            .then(
              () => {
                log(`backup: manifest: tables checksummed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
                return undefined;
              },
              (err: unknown) => err,
            )
            .finally(() => checksums.stop());
    if (taker !== undefined) checksums.start();
    let staged;
    if (format === "custom") {
      const dump = start(pgDump, pgDumpArgv({ format, compress, database: conn.database, snapshot }), {
        env,
        stdout: "pipe",
      });
      try {
        staged = await stageBlocks(blob, dump.child.stdout as Readable, stageOptions);
      } catch (cause) {
        dump.child.kill("SIGTERM");
        const exit = await dump.exit.catch(() => undefined);
        const why =
          exit !== undefined && exit.code !== 0 ? `; ${describeExit("pg_dump", exit, dump.stderr)}` : "";
        throw new Error(`backup of ${conn.database} failed, nothing committed${why}`, { cause });
      }
      const exit = await dump.exit;
      if (exit.code !== 0) {
        throw new Error(
          `backup of ${conn.database} failed, nothing committed: ${describeExit("pg_dump", exit, dump.stderr)}`,
        );
      }
    } else {
      staged = await dumpDirectoryAndStage(o, {
        env,
        pgDump,
        compress,
        jobs,
        snapshot,
        log,
        blob,
        stageOptions,
        progress,
        estimate,
      });
    }
    progress.done();
    if (staged.size === 0)
      throw new Error(`pg_dump produced no output for ${conn.database}; nothing committed`);

    let manifestBlobName: string | undefined;
    let manifestSha256: string | undefined;
    let manifestEtag: string | undefined;
    if (taker !== undefined) {
      const failed = await tables;
      if (failed !== undefined) {
        throw new Error(`backup of ${conn.database} failed, nothing committed: taking the manifest`, {
          cause: failed,
        });
      }
      const relations = await taker.finish();
      finished = true;
      const bytes = serializeManifest({
        tool: MANIFEST_VERSION,
        backup: blobName,
        database: conn.database,
        sourceServer: o.sourceServer ?? conn.host,
        snapshot: snapshot!,
        takenAt: taker.takenAt.toISOString(),
        relations,
        databaseProperties: taker.database,
      });
      manifestSha256 = sha256Hex(bytes);
      manifestBlobName = backupManifestBlobName(blobName);
      try {
        manifestEtag = (
          await container.getBlockBlobClient(manifestBlobName).upload(bytes, bytes.length, {
            conditions: { ifNoneMatch: "*" },
            blobHTTPHeaders: { blobContentType: "application/json" },
          })
        ).etag;
      } catch (cause) {
        throw new Error(`committing the manifest ${manifestBlobName} failed; the backup was not committed`, {
          cause,
        });
      }
      log(
        `backup: manifest ${manifestBlobName} committed: ${relations.length} relations, sha256 ${manifestSha256}`,
      );
    }

    const metadata: BackupMetadata = {
      sha256: staged.sha256,
      size: staged.size,
      sourceServer: o.sourceServer ?? conn.host,
      database: conn.database,
      serverVersion,
      pgDumpVersion,
      format,
      compress,
      startedAt: startedAt.toISOString(),
      endedAt: now().toISOString(),
      ...(manifestSha256 === undefined ? {} : { manifestSha256 }),
    };
    try {
      await blob.commitBlockList(staged.blockIds, {
        metadata: toBlobMetadata(metadata),
        conditions: { ifNoneMatch: "*" },
        blobHTTPHeaders: { blobContentType: "application/octet-stream" },
      });
    } catch (cause) {
      // The manifest was committed first and would otherwise stay, naming a dump that does not exist (or
      // another writer's). Deleted only if it is still the one written here (ETag).
      let orphan = "";
      if (manifestBlobName !== undefined) {
        orphan = await container
          .getBlobClient(manifestBlobName)
          .delete({ conditions: { ifMatch: manifestEtag } })
          .then(
            () => `; its manifest ${manifestBlobName} was deleted`,
            (e: unknown) => `; its manifest ${manifestBlobName} could not be deleted (${String(e)})`,
          );
      }
      throw new Error(
        `committing ${blobName} (it may already exist; backups are never overwritten)${orphan}`,
        { cause },
      );
    }
    const props = await blob.getProperties();
    if (props.contentLength !== staged.size) {
      throw new Error(`${blobName} was committed with ${props.contentLength} bytes, expected ${staged.size}`);
    }
    log(`backup: committed ${blobName}, ${staged.size} bytes, sha256 ${staged.sha256}`);
    if (manifestBlobName === undefined) {
      log(
        `backup: no manifest taken (--no-manifest): ${blobName} cannot be verified on restore, and restoring it ` +
          `will need --allow-unverified`,
      );
    }
    return { blobName, metadata, manifestBlobName };
  } finally {
    if (taker !== undefined && !finished) await taker.abort();
  }
}

/** `pg_dump -Fd -j N` into a temp directory, then `tar` it (no compression: the files already are) into blocks. */
async function dumpDirectoryAndStage(
  o: BackupOptions,
  x: {
    env: Record<string, string>;
    pgDump: string;
    compress: string;
    jobs: number;
    snapshot: string | undefined;
    log: Log;
    blob: Parameters<typeof stageBlocks>[0];
    stageOptions: Parameters<typeof stageBlocks>[2];
    progress: Progress;
    estimate: ProgressTotal | undefined;
  },
) {
  const tmp = await mkdtemp(path.join(o.workDir ?? os.tmpdir(), "dr-data-backup-"));
  try {
    const dir = path.join(tmp, "dump");
    const t0 = Date.now();
    // pg_dump -Fd says nothing while it runs: every 5 s, what it has written so far.
    const dumping = new Progress("backup: pg_dump written", x.log, x.estimate, 0);
    let written = 0;
    const heartbeat = setInterval(() => {
      directoryBytes(dir).then(
        (n) => {
          dumping.add(n - written);
          written = n;
        },
        () => undefined, // the directory does not exist yet
      );
    }, 5000);
    try {
      await run(
        x.pgDump,
        pgDumpArgv({
          format: "directory",
          compress: x.compress,
          jobs: x.jobs,
          outputDir: dir,
          database: o.connection.database,
          snapshot: x.snapshot,
        }),
        { env: x.env },
      );
    } catch (cause) {
      throw new Error(`backup of ${o.connection.database} failed, nothing committed`, { cause });
    } finally {
      clearInterval(heartbeat);
    }
    const size = await tarSize(dir);
    x.log(
      `backup: pg_dump -Fd -j ${x.jobs} done in ${((Date.now() - t0) / 1000).toFixed(1)} s; uploading ${formatBytes(size)}`,
    );
    x.progress.setTotal({ bytes: size });
    const tar = start("tar", ["-cf", "-", "-C", dir, "."], { env: x.env, stdout: "pipe" });
    let staged;
    try {
      staged = await stageBlocks(x.blob, tar.child.stdout as Readable, x.stageOptions);
    } catch (cause) {
      tar.child.kill("SIGTERM");
      await tar.exit.catch(() => undefined);
      throw new Error(`backup of ${o.connection.database} failed, nothing committed`, { cause });
    }
    const exit = await tar.exit;
    if (exit.code !== 0)
      throw new Error(`backup failed, nothing committed: ${describeExit("tar", exit, tar.stderr)}`);
    return staged;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
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
