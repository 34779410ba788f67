/**
 * `compare`'s flags (contract.ts COMPARE) and environment as one of four comparisons, with the rule of which
 * flags go together checked here, before any connection:
 * - two databases (`LEFT_PG*`, `RIGHT_PG*`);
 * - a database against a backup's manifest (`--run-id`: the backup that run restored; `--against-backup`);
 * - with `--tables`: those tables between two databases, or (`--container` + `--run-id`) against the manifest
 *   of the backup the table restore read.
 */
import { blobStoreFromEnv, type BlobStoreSettings } from "../../blobstore";
import type { BackupRef } from "../../compare-backup";
import { connectionFromEnv, type PgConnection } from "../../connection";
import { COMPARE, parseCompareArgs, type CompareArgs } from "../../contract";
import { UsageError } from "../../errors";
import { requiredFlag } from "../../flags";
import { parseTableList, type TableName } from "../../table-restore";
import { runIdFlag, type Env } from "../io";

interface Shown {
  readonly jobs: number | undefined;
  readonly all: boolean | undefined;
}

export type CompareRequest =
  | (Shown & { readonly kind: "databases"; readonly left: PgConnection; readonly right: PgConnection })
  | (Shown & { readonly kind: "backup"; readonly connection: PgConnection; readonly backup: BackupRef })
  | (Shown & {
      readonly kind: "tables";
      readonly left: PgConnection;
      readonly right: PgConnection | { readonly manifest: BlobStoreSettings };
      readonly tables: readonly TableName[];
      readonly runId: string | undefined;
    });

export function compareRequest(args: string[], env: Env): CompareRequest {
  const f = parseCompareArgs(args);
  const shown: Shown = { jobs: f.jobs, all: f.all };
  if (f.tables !== undefined) return { ...shown, ...tablesRequest({ ...f, tables: f.tables }, env) };
  if (f.runId !== undefined || f.againstBackup !== undefined) {
    return { ...shown, kind: "backup", ...backupRequest(f, env) };
  }
  for (const field of ["container", "prefix", "database", "sourceDatabase"] as const) {
    if (f[field] !== undefined) {
      throw new UsageError(`compare: --${COMPARE[field].flag} goes with --run-id or --against-backup`);
    }
  }
  return { ...shown, kind: "databases", ...twoDatabases(f, env) };
}

function twoDatabases(f: CompareArgs, env: Env): { left: PgConnection; right: PgConnection } {
  return {
    left: connectionFromEnv(env, "LEFT_", f.leftDatabase),
    right: connectionFromEnv(env, "RIGHT_", f.rightDatabase),
  };
}

/** Against a backup's manifest, one database (PG*, `--database`): two-database flags are refused. */
function refuseTwoDatabaseFlags(f: CompareArgs): void {
  for (const field of ["leftDatabase", "rightDatabase"] as const) {
    if (f[field] !== undefined) {
      throw new UsageError(
        `compare: --${COMPARE[field].flag} is for comparing two databases; use --database here`,
      );
    }
  }
}

function backupRequest(f: CompareArgs, env: Env): { connection: PgConnection; backup: BackupRef } {
  if (f.runId !== undefined && f.againstBackup !== undefined) {
    throw new UsageError("compare: give --run-id or --against-backup, not both");
  }
  refuseTwoDatabaseFlags(f);
  const connection = connectionFromEnv(env, "", f.database);
  return { connection, backup: backupRef(f) };
}

function backupRef(f: CompareArgs): BackupRef {
  if (f.runId !== undefined) {
    const runId = runIdFlag("compare", f.runId);
    if (f.prefix !== undefined || f.sourceDatabase !== undefined) {
      throw new UsageError("compare: --prefix and --source-database go with --against-backup latest");
    }
    return { runId, container: f.container };
  }
  const container = requiredFlag("compare", COMPARE.container.flag, f.container);
  const against = f.againstBackup ?? "";
  if (against === "latest") {
    const prefix = f.prefix ?? "";
    if (prefix === "") throw new UsageError("compare: --against-backup latest needs --prefix");
    return { latestUnder: prefix, container, sourceDatabase: f.sourceDatabase ?? f.database };
  }
  if (against === "") throw new UsageError("compare: --against-backup needs a blob name or latest");
  return { blob: against, container };
}

/** `compare --tables`: between two databases, or (`--container`) against the manifest the run's backup has. */
function tablesRequest(
  f: CompareArgs & { readonly tables: readonly string[] },
  env: Env,
): Omit<Extract<CompareRequest, { kind: "tables" }>, keyof Shown> {
  const tables = parseTableList("compare --tables", f.tables.join(","));
  for (const field of ["againstBackup", "prefix", "sourceDatabase"] as const) {
    if (f[field] !== undefined) {
      throw new UsageError(`compare: --${COMPARE[field].flag} does not go with --tables`);
    }
  }
  const runId = f.runId === undefined ? undefined : runIdFlag("compare", f.runId);
  if (f.container !== undefined) {
    // Against the manifest of the backup the run restored from: PG* (or --database) is the live database.
    if (runId === undefined) throw new UsageError("compare: --tables with --container needs --run-id");
    refuseTwoDatabaseFlags(f);
    const left = connectionFromEnv(env, "", f.database);
    return { kind: "tables", left, right: { manifest: blobStoreFromEnv(env, f.container) }, tables, runId };
  }
  if (f.database !== undefined) {
    throw new UsageError(
      "compare: --database goes with --container (the backup's manifest); here use --left-database",
    );
  }
  return { kind: "tables", ...twoDatabases(f, env), tables, runId };
}
