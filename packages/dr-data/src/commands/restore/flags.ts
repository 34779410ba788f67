/**
 * `restore`'s flags (contract.ts RESTORE) and environment as the options of one of the two restores: the whole
 * database (restore.ts) or, with `--tables`, those tables' rows (table-restore.ts). Which flags go with which is
 * checked here, before anything is read or touched.
 */
import { blobStoreFromEnv } from "../../blobstore";
import { connectionFromEnv } from "../../connection";
import { parseRestoreArgs, RESTORE, type RestoreArgs } from "../../contract";
import { UsageError } from "../../errors";
import type { RestoreOptions } from "../../restore";
import type { RestoreSource } from "../../restore-steps";
import { parseTableList, type TableRestoreOptions } from "../../table-restore";
import type { Env, Io } from "../io";

/** What `restore` was asked for: the whole database, or only some tables' rows. */
export type RestoreRequest =
  | { readonly kind: "database"; readonly options: RestoreOptions }
  | { readonly kind: "tables"; readonly options: TableRestoreOptions };

export function restoreRequest(args: string[], env: Env, io: Io): RestoreRequest {
  const f = parseRestoreArgs(args);
  if (f.tables !== undefined) {
    return { kind: "tables", options: tableRestoreOptions({ ...f, tables: f.tables }, env, io) };
  }
  return { kind: "database", options: databaseRestoreOptions(f, env, io) };
}

/**
 * The restore target, as the help says: `--database`, else `PGDATABASE`, else (undefined) the backup's source
 * database. A `PGDATABASE` naming the maintenance database is where to connect, not a target (the tool never
 * restores into the database it connects to).
 */
export function restoreTarget(
  flag: string | undefined,
  pgDatabase: string | undefined,
  maintenance: string,
): { database: string | undefined; from: "flag" | "PGDATABASE" | undefined } {
  if (flag !== undefined) return { database: flag, from: "flag" };
  if (pgDatabase !== undefined && pgDatabase !== "" && pgDatabase !== maintenance) {
    return { database: pgDatabase, from: "PGDATABASE" };
  }
  return { database: undefined, from: undefined };
}

/** `--blob NAME`, or `--blob latest` with the `--prefix` to pick the newest backup under. */
function sourceOf(f: Pick<RestoreArgs, "blob" | "prefix">): RestoreSource {
  if (f.blob !== "latest") return { blob: f.blob };
  const prefix = f.prefix ?? "";
  if (prefix === "") {
    throw new UsageError(
      "restore: --blob latest needs --prefix (the prefix to pick the newest backup under)",
    );
  }
  return { latestUnder: prefix };
}

function databaseRestoreOptions(f: RestoreArgs, env: Env, io: Io): RestoreOptions {
  const from = sourceOf(f);
  const maintenance = f.maintenanceDatabase ?? "postgres";
  const target = restoreTarget(f.database, env.PGDATABASE, maintenance);
  return {
    log: io.err,
    connection: connectionFromEnv(env, "", maintenance),
    store: blobStoreFromEnv(env, f.container),
    from,
    database: target.database,
    databaseFrom: target.from,
    allowUnverified: f.allowUnverified,
    skipMissingRoles: f.skipMissingRoles,
    sourceDatabase: f.sourceDatabase,
    runId: f.runId,
    jobs: f.jobs,
    noAcl: f.noAcl,
    analyze: f.analyze,
    sessionSettings: f.settings,
    workDir: f.workDir,
    binDir: env.PG_BINDIR,
  };
}

/** `restore --tables`: the whole-database flags are refused beside it. */
function tableRestoreOptions(
  f: RestoreArgs & { readonly tables: readonly string[] },
  env: Env,
  io: Io,
): TableRestoreOptions {
  const tables = parseTableList("restore --tables", f.tables.join(","));
  for (const field of ["jobs", "noAcl", "analyze", "settings"] as const) {
    if (f[field] !== undefined) {
      throw new UsageError(
        `restore: --${RESTORE[field].flag} is for a whole-database restore, not with --tables`,
      );
    }
  }
  const from = sourceOf(f);
  return {
    log: io.err,
    connection: connectionFromEnv(env, "", f.maintenanceDatabase ?? "postgres"),
    store: blobStoreFromEnv(env, f.container),
    from,
    database: f.database,
    sourceDatabase: f.sourceDatabase,
    runId: f.runId,
    tables,
    allowUnverified: f.allowUnverified,
    workDir: f.workDir,
    binDir: env.PG_BINDIR,
  };
}
