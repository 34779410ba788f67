/** `backup`'s flags (contract.ts BACKUP) and environment as the options of backup.ts `backup`. */
import { blobStoreFromEnv } from "../../blobstore";
import { connectionFromEnv } from "../../connection";
import { parseBackupArgs } from "../../contract";
import type { BackupOptions } from "../../backup";
import type { Env, Io } from "../io";

export function backupOptions(args: string[], env: Env, io: Io): BackupOptions {
  const f = parseBackupArgs(args);
  return {
    log: io.err,
    connection: connectionFromEnv(env, "", f.database),
    store: blobStoreFromEnv(env, f.container),
    prefix: f.prefix,
    sourceServer: f.sourceServer,
    format: f.format,
    compress: f.compress,
    streamCompress: f.streamCompress,
    jobs: f.jobs,
    blockSize: f.blockSizeMib === undefined ? undefined : f.blockSizeMib * 1024 * 1024,
    uploadConcurrency: f.uploadConcurrency,
    workDir: f.workDir,
    binDir: env.PG_BINDIR,
    manifest: !(f.noManifest ?? false),
    verify: f.verify,
  };
}
