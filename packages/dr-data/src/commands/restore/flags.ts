/**
 * `restore`'s flags (contract.ts RESTORE) and environment as the options of one of the three restores: the
 * whole database from a stored backup (restore.ts `restore`), with `--tables` those tables' rows
 * (table-restore.ts), or with `--from-copy` the PTR copy's database in one flow (restore.ts `restoreFromCopy`).
 * Which flags go with which is checked here, before anything is read or touched.
 */
import { blobStoreFromEnv } from "../../blobstore";
import { connectionFromEnv } from "../../connection";
import { connectionEnvNames, parseRestoreArgs, RESTORE, type RestoreArgs } from "../../contract";
import { UsageError } from "../../errors";
import { copyRestoreRequestProblems, type CopyRestoreOptions, type RestoreOptions } from "../../restore";
import type { RestoreSource } from "../../restore-steps";
import { parseTableList, type TableRestoreOptions } from "../../table-restore";
import { runIdProblem } from "../../naming";
import { copyPrefixProblems } from "../../restore-steps/from-copy";
import { PTR_PREFIX } from "../inspect/sides";
import type { Env, Io } from "../io";

/** What `restore` was asked for: the whole database, only some tables' rows, or the copy in one flow. */
export type RestoreRequest =
  | { readonly kind: "database"; readonly options: RestoreOptions }
  | { readonly kind: "tables"; readonly options: TableRestoreOptions }
  | { readonly kind: "copy"; readonly options: CopyRestoreOptions };

export function restoreRequest(args: string[], env: Env, io: Io): RestoreRequest {
  const f = parseRestoreArgs(args);
  if (f.fromCopy === true) return { kind: "copy", options: copyRestoreOptions(f, env, io) };
  if (f.sourceServer !== undefined) {
    throw new UsageError(
      `restore: --${RESTORE.sourceServer.flag} names the copy a --from-copy restore dumps; without ` +
        `--from-copy the backup's metadata names its server`,
    );
  }
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
  if (f.blob === undefined || f.blob === "") {
    throw new UsageError(
      "restore: --blob is required (a backup's blob name, or latest with --prefix), unless --from-copy",
    );
  }
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
    sourceDatabase: f.sourceDatabase,
    runId: f.runId,
    ...howToRestore(f, env),
  };
}

/** How a whole-database restore runs, from a stored backup or from the copy: the flags both read alike. */
function howToRestore(
  f: RestoreArgs,
  env: Env,
): Pick<
  RestoreOptions,
  "skipMissingRoles" | "jobs" | "noAcl" | "analyze" | "sessionSettings" | "workDir" | "binDir"
> {
  return {
    skipMissingRoles: f.skipMissingRoles,
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

/**
 * `restore --from-copy`: the copy from `PTR_PG*` (its host explicitly: the fallback to `PGHOST` would be the
 * target), the target from `PG*` as for any restore, the dump stored under `--prefix`. Every problem at once:
 * the flags that name a stored backup or a table list (refused beside it), the variables, the store, and the
 * request's own rules (restore.ts `copyRestoreRequestProblems`).
 */
function copyRestoreOptions(f: RestoreArgs, env: Env, io: Io): CopyRestoreOptions {
  const problems = refusedBesideCopy(f);
  const maintenance = f.maintenanceDatabase ?? "postgres";
  const copyHost = connectionEnvNames(PTR_PREFIX).host;
  const hasCopyHost = (env[copyHost] ?? "") !== "";
  if (!hasCopyHost) problems.push(`${copyHost} is not set (the copy's server)`);
  const connection = collected(problems, () => connectionFromEnv(env, "", maintenance));
  const copy = hasCopyHost ? collected(problems, () => connectionFromEnv(env, PTR_PREFIX)) : undefined;
  const store = collected(problems, () => blobStoreFromEnv(env, f.container));
  const target = restoreTarget(f.database, env.PGDATABASE, maintenance);
  const prefix = f.prefix ?? "";
  const request =
    connection === undefined || copy === undefined
      ? undefined
      : {
          connection,
          copy: { connection: copy, prefix, sourceServer: f.sourceServer },
          database: target.database,
          runId: f.runId,
        };
  // Without both servers the request's own rules that need no server still run: the prefix and the run id.
  const runIdWrong = runIdProblem(f.runId);
  problems.push(
    ...(request === undefined
      ? [...copyPrefixProblems(prefix), ...(runIdWrong === undefined ? [] : [runIdWrong])]
      : copyRestoreRequestProblems(request)),
  );
  if (problems.length > 0 || request === undefined || store === undefined) {
    throw new UsageError(`restore --from-copy: ${problems.join("; ")}`);
  }
  return { log: io.err, ...request, store, databaseFrom: target.from, ...howToRestore(f, env) };
}

/** The flags that name a stored backup or a table list: refused beside `--from-copy`. */
function refusedBesideCopy(f: RestoreArgs): string[] {
  return (["tables", "blob", "sourceDatabase", "allowUnverified"] as const)
    .filter((field) => f[field] !== undefined)
    .map((field) => `--${RESTORE[field].flag} names a stored backup or tables, not with --from-copy`);
}

/** `read()`, or undefined with its usage error's text added to `problems` (every problem reported at once). */
function collected<T>(problems: string[], read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    problems.push(err.message);
    return undefined;
  }
}
