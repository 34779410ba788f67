/**
 * The look-before-you-restore commands' argv and environment (`inspect`, `reconcile`, `restore --tables`,
 * `compare --tables`), kept out of cli.ts, which only dispatches to them. Same conventions: connection settings
 * from the environment only — the PTR copy from `PTR_PG*`, the live database from `LIVE_PG*`, each falling back
 * field by field to `PG*` — a usage error exits 2, differences or failures 1.
 */
import { DateTime } from "luxon";
import { INCIDENT_ID } from "./naming";
import { blobStoreFromEnv } from "./blobstore";
import { connectionFromEnv, entraPassword } from "./connection";
import { WorkloadIdentityCredential, type TokenCredential } from "@azure/identity";
import { UsageError } from "./errors";
import {
  COMPARE,
  parseInspectArgs,
  parseReconcileArgs,
  RESTORE,
  type CompareArgs,
  type ConnectionPrefix,
  type ReconcileArgs,
  type RestoreArgs,
} from "./contract";
import { formatInspectSummary, inspect } from "./inspect";
import { compareTables, formatCompareTables } from "./compare-tables";
import { formatReconcileSummary, reconcile } from "./reconcile";
import { parseTableList, tableRestore } from "./table-restore";
import { RUN_ID } from "./naming";

type Env = Readonly<Record<string, string | undefined>>;
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The environment prefixes of the two sides (contract.ts CONNECTION_PREFIXES). */
export const PTR_PREFIX = "PTR_" satisfies ConnectionPrefix;
export const LIVE_PREFIX = "LIVE_" satisfies ConnectionPrefix;

export const INCIDENT_USAGE = `  inspect  --container C --incident ID [--ptr-database D] [--live-database D] [--jobs N] [--samples N]
           [--restore-time ISO] [--all]
  reconcile --container C --incident ID [--ptr-database D] [--live-database D] [--jobs N] [--restore-time ISO]
  restore  --tables s.t[,s.t…] --container C --blob NAME|latest [--prefix P] --run-id ID [--database D]
           [--source-database D] [--maintenance-database postgres] [--work-dir DIR] [--allow-unverified]
  compare  --tables s.t[,s.t…] [--run-id ID] [--left-database D] [--right-database D] [--jobs N] [--all]
  compare  --tables s.t[,s.t…] --run-id ID --container C [--database D] [--jobs N]

  pg-token   prints a Microsoft Entra access token for Azure Database for PostgreSQL from the workload
             identity (DR_PG_AUTH=entra): the password psql-ptr / psql-live log in with

inspect/reconcile: PTR_PG* is the PTR copy, LIVE_PG* the live database (each falls back to PG*).`;

/** `--incident` (required by the contract's parser): an id that names Jobs and databases. */
function incidentFlag(command: string, id: string): string {
  if (!INCIDENT_ID.test(id)) {
    throw new UsageError(
      `${command}: --incident ${JSON.stringify(id)} must be 1–20 lowercase letters, digits and inner hyphens`,
    );
  }
  return id;
}

/** `--restore-time`: an ISO 8601 instant with an offset (the PTR copy's restore point), shown in the reports as UTC. */
function restoreTimeFlag(command: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return instantFlag(command, "restore-time", value).toUTC().toISO({ suppressMilliseconds: true });
}

/** An instant flag (`--restore-time`, `--now`): ISO 8601 with an offset, else a UsageError naming the flag. */
export function instantFlag(command: string, flag: string, value: string): DateTime<true> {
  const t = DateTime.fromISO(value, { setZone: true });
  if (!t.isValid || !/(Z|[+-]\d\d:?\d\d)$/.test(value)) {
    throw new UsageError(
      `${command}: --${flag} must be an ISO 8601 time with an offset (e.g. 2026-12-04T01:00:00Z), got ${JSON.stringify(value)}`,
    );
  }
  return t;
}

function sides(env: Env, f: Pick<ReconcileArgs, "ptrDatabase" | "liveDatabase">) {
  return {
    copy: connectionFromEnv(env, PTR_PREFIX, f.ptrDatabase),
    live: connectionFromEnv(env, LIVE_PREFIX, f.liveDatabase),
  };
}

export async function runInspect(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseInspectArgs(args);
  const incidentId = incidentFlag("inspect", f.incident);
  const result = await inspect({
    log: io.err,
    ...sides(env, f),
    store: { settings: blobStoreFromEnv(env, f.container), incidentId },
    jobs: f.jobs,
    samples: f.samples,
    restoreTime: restoreTimeFlag("inspect", f.restoreTime),
  });
  io.out(formatInspectSummary(result, { all: f.all }));
  return 0;
}

export async function runReconcile(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseReconcileArgs(args);
  const incidentId = incidentFlag("reconcile", f.incident);
  const result = await reconcile({
    log: io.err,
    ...sides(env, f),
    store: blobStoreFromEnv(env, f.container),
    incidentId,
    jobs: f.jobs,
    restoreTime: restoreTimeFlag("reconcile", f.restoreTime),
  });
  io.out(formatReconcileSummary(result));
  return 0;
}

/** `restore --tables`: the flags `restore` parsed (cli.ts, contract.ts RESTORE) with `--tables` among them. */
export async function runTableRestore(
  f: RestoreArgs & { readonly tables: readonly string[] },
  env: Env,
  io: Io,
): Promise<number> {
  const tables = parseTableList("restore --tables", f.tables.join(","));
  for (const field of ["jobs", "noAcl", "analyze", "settings"] as const) {
    if (f[field] !== undefined) {
      throw new UsageError(
        `restore: --${RESTORE[field].flag} is for a whole-database restore, not with --tables`,
      );
    }
  }
  if (f.blob === "latest" && (f.prefix ?? "") === "") {
    throw new UsageError(
      "restore: --blob latest needs --prefix (the prefix to pick the newest backup under)",
    );
  }
  const r = await tableRestore({
    log: io.err,
    connection: connectionFromEnv(env, "", f.maintenanceDatabase ?? "postgres"),
    store: blobStoreFromEnv(env, f.container),
    from: f.blob === "latest" ? { latestUnder: f.prefix! } : { blob: f.blob },
    database: f.database,
    sourceDatabase: f.sourceDatabase,
    runId: f.runId,
    tables,
    allowUnverified: f.allowUnverified,
    workDir: f.workDir,
    binDir: env.PG_BINDIR,
  });
  const counts = r.tables
    .map(
      (t) =>
        `${t.table}: ${t.rows} rows (${t.inserted} inserted, ${t.updated} updated, ${t.deleted} deleted)`,
    )
    .join("; ");
  io.out(
    r.status === "already-completed"
      ? `run ${r.runId} already completed (${r.beforeSchema} exists): nothing done`
      : `restored ${r.tables.map((t) => t.table).join(", ")} from ${r.blobName} into ${r.database}; previous ` +
          `rows kept in schema ${r.beforeSchema}; ${counts}; ` +
          (r.contents === "verified"
            ? "contents verified against the backup's manifest"
            : "no manifest: contents NOT verified (--allow-unverified)"),
  );
  return 0;
}

/** `compare --tables`: the flags `compare` parsed (cli.ts, contract.ts COMPARE) with `--tables` among them. */
export async function runCompareTables(
  f: CompareArgs & { readonly tables: readonly string[] },
  env: Env,
  io: Io,
): Promise<number> {
  const tables = parseTableList("compare --tables", f.tables.join(","));
  for (const field of ["againstBackup", "prefix", "sourceDatabase"] as const) {
    if (f[field] !== undefined) {
      throw new UsageError(`compare: --${COMPARE[field].flag} does not go with --tables`);
    }
  }
  const runId = f.runId;
  if (runId !== undefined && !RUN_ID.test(runId)) {
    throw new UsageError(
      `compare: --run-id ${JSON.stringify(runId)} must be lowercase letters, digits and inner hyphens`,
    );
  }
  const jobs = f.jobs;
  if (f.container !== undefined) {
    // Against the manifest of the backup the run restored from: PG* (or --database) is the live database.
    if (runId === undefined) throw new UsageError("compare: --tables with --container needs --run-id");
    for (const field of ["leftDatabase", "rightDatabase"] as const) {
      if (f[field] !== undefined) {
        throw new UsageError(
          `compare: --${COMPARE[field].flag} is for comparing two databases; use --database here`,
        );
      }
    }
    const live = connectionFromEnv(env, "", f.database);
    const r = await compareTables({
      log: io.err,
      left: live,
      right: { manifest: blobStoreFromEnv(env, f.container) },
      tables,
      runId,
      jobs,
      binDir: env.PG_BINDIR,
    });
    io.out(
      formatCompareTables(r, {
        all: f.all,
        leftLabel: `${live.host}/${live.database}`,
        rightLabel: "backup manifest",
      }),
    );
    return r.equal ? 0 : 1;
  }
  if (f.database !== undefined) {
    throw new UsageError(
      "compare: --database goes with --container (the backup's manifest); here use --left-database",
    );
  }
  const left = connectionFromEnv(env, "LEFT_", f.leftDatabase);
  const right = connectionFromEnv(env, "RIGHT_", f.rightDatabase);
  const r = await compareTables({ left, right, tables, runId, jobs, log: io.err });
  io.out(
    formatCompareTables(r, {
      all: f.all,
      leftLabel: `${left.host}/${left.database}`,
      rightLabel: `${right.host}/${right.database}`,
    }),
  );
  return r.equal ? 0 : 1;
}

/**
 * `dr-data pg-token`: the access token the tool itself logs in with under `DR_PG_AUTH=entra`, on stdout, for
 * the troubleshooting pod's psql-ptr / psql-live (packages/dr-data/src/bin/psql-side) — so that no password exists in the pod
 * and none is typed. Refused under any other DR_PG_AUTH: a token is never printed by surprise.
 */
export async function runPgToken(
  args: string[],
  env: Env,
  io: Io,
  credential: TokenCredential = new WorkloadIdentityCredential(),
): Promise<number> {
  if (args.length > 0) throw new UsageError(`pg-token takes no arguments; got ${args.join(" ")}`);
  if (env.DR_PG_AUTH !== "entra") {
    throw new UsageError(
      `pg-token needs DR_PG_AUTH=entra (the pod's workload identity); DR_PG_AUTH is ${JSON.stringify(env.DR_PG_AUTH ?? "")}`,
    );
  }
  io.out(await entraPassword(credential)());
  return 0;
}
