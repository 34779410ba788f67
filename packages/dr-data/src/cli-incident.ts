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
import { parseFlags, requiredFlag } from "./flags";
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

/** The environment prefixes of the two sides. */
export const PTR_PREFIX = "PTR_";
export const LIVE_PREFIX = "LIVE_";

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

function incidentFlag(command: string, value: string | undefined): string {
  const id = requiredFlag(command, "incident", value);
  if (!INCIDENT_ID.test(id)) {
    throw new UsageError(
      `${command}: --incident ${JSON.stringify(id)} must be 1–20 lowercase letters, digits and inner hyphens`,
    );
  }
  return id;
}

function countFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

const SIDE_FLAGS = {
  container: { type: "string" },
  incident: { type: "string" },
  "ptr-database": { type: "string" },
  "live-database": { type: "string" },
  jobs: { type: "string" },
  "restore-time": { type: "string" },
} as const;

/** `--restore-time`: an ISO 8601 instant with an offset (the PTR copy's restore point), shown in the reports as UTC. */
function restoreTimeFlag(command: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = DateTime.fromISO(value, { setZone: true });
  if (!t.isValid || !/(Z|[+-]\d\d:?\d\d)$/.test(value)) {
    throw new UsageError(
      `${command}: --restore-time must be an ISO 8601 time with an offset (e.g. 2026-12-04T01:00:00Z), got ${JSON.stringify(value)}`,
    );
  }
  return t.toUTC().toISO({ suppressMilliseconds: true });
}

function sides(env: Env, f: { "ptr-database"?: string | undefined; "live-database"?: string | undefined }) {
  return {
    copy: connectionFromEnv(env, PTR_PREFIX, f["ptr-database"]),
    live: connectionFromEnv(env, LIVE_PREFIX, f["live-database"]),
  };
}

export async function runInspect(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseFlags("inspect", args, {
    ...SIDE_FLAGS,
    samples: { type: "string" },
    all: { type: "boolean" },
  });
  const container = requiredFlag("inspect", "container", f.container);
  const incidentId = incidentFlag("inspect", f.incident);
  const jobs = countFlag("jobs", f.jobs, 1, 64);
  const samples = countFlag("samples", f.samples, 0, 10_000);
  const result = await inspect({
    ...sides(env, f),
    store: { settings: blobStoreFromEnv(env, container), incidentId },
    jobs,
    samples,
    restoreTime: restoreTimeFlag("inspect", f["restore-time"]),
  });
  io.out(formatInspectSummary(result, { all: f.all }));
  return 0;
}

export async function runReconcile(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseFlags("reconcile", args, SIDE_FLAGS);
  const container = requiredFlag("reconcile", "container", f.container);
  const incidentId = incidentFlag("reconcile", f.incident);
  const jobs = countFlag("jobs", f.jobs, 1, 64);
  const result = await reconcile({
    ...sides(env, f),
    store: blobStoreFromEnv(env, container),
    incidentId,
    jobs,
    restoreTime: restoreTimeFlag("reconcile", f["restore-time"]),
  });
  io.out(formatReconcileSummary(result));
  return 0;
}

/** The flags `restore` parsed (cli.ts), when `--tables` is among them. */
export interface TableRestoreFlags {
  readonly tables?: string | undefined;
  readonly container?: string | undefined;
  readonly blob?: string | undefined;
  readonly prefix?: string | undefined;
  readonly database?: string | undefined;
  readonly "source-database"?: string | undefined;
  readonly "run-id"?: string | undefined;
  readonly jobs?: string | undefined;
  readonly "no-acl"?: boolean | undefined;
  readonly analyze?: boolean | undefined;
  readonly setting?: string[] | undefined;
  readonly "maintenance-database"?: string | undefined;
  readonly "work-dir"?: string | undefined;
  readonly "allow-unverified"?: boolean | undefined;
}

export async function runTableRestore(f: TableRestoreFlags, env: Env, io: Io): Promise<number> {
  const tables = parseTableList("restore --tables", f.tables ?? "");
  for (const flag of ["jobs", "no-acl", "analyze", "setting"] as const) {
    if (f[flag] !== undefined) {
      throw new UsageError(`restore: --${flag} is for a whole-database restore, not with --tables`);
    }
  }
  const container = requiredFlag("restore", "container", f.container);
  const blob = requiredFlag("restore", "blob", f.blob);
  const runId = requiredFlag("restore", "run-id", f["run-id"]);
  if (blob === "latest" && (f.prefix ?? "") === "") {
    throw new UsageError(
      "restore: --blob latest needs --prefix (the prefix to pick the newest backup under)",
    );
  }
  const r = await tableRestore({
    connection: connectionFromEnv(env, "", f["maintenance-database"] ?? "postgres"),
    store: blobStoreFromEnv(env, container),
    from: blob === "latest" ? { latestUnder: f.prefix! } : { blob },
    database: f.database,
    sourceDatabase: f["source-database"],
    runId,
    tables,
    allowUnverified: f["allow-unverified"],
    workDir: f["work-dir"],
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

/** The flags `compare` parsed (cli.ts), when `--tables` is among them. */
export interface CompareTablesFlags {
  readonly tables?: string | undefined;
  readonly "left-database"?: string | undefined;
  readonly "right-database"?: string | undefined;
  readonly "run-id"?: string | undefined;
  readonly jobs?: string | undefined;
  readonly all?: boolean | undefined;
  readonly "against-backup"?: string | undefined;
  readonly container?: string | undefined;
  readonly prefix?: string | undefined;
  readonly database?: string | undefined;
  readonly "source-database"?: string | undefined;
}

export async function runCompareTables(f: CompareTablesFlags, env: Env, io: Io): Promise<number> {
  const tables = parseTableList("compare --tables", f.tables ?? "");
  for (const flag of ["against-backup", "prefix", "source-database"] as const) {
    if (f[flag] !== undefined) throw new UsageError(`compare: --${flag} does not go with --tables`);
  }
  const runId = f["run-id"];
  if (runId !== undefined && !RUN_ID.test(runId)) {
    throw new UsageError(
      `compare: --run-id ${JSON.stringify(runId)} must be lowercase letters, digits and inner hyphens`,
    );
  }
  const jobs = countFlag("jobs", f.jobs, 1, 64);
  if (f.container !== undefined) {
    // Against the manifest of the backup the run restored from: PG* (or --database) is the live database.
    if (runId === undefined) throw new UsageError("compare: --tables with --container needs --run-id");
    for (const flag of ["left-database", "right-database"] as const) {
      if (f[flag] !== undefined) {
        throw new UsageError(`compare: --${flag} is for comparing two databases; use --database here`);
      }
    }
    const live = connectionFromEnv(env, "", f.database);
    const r = await compareTables({
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
  const left = connectionFromEnv(env, "LEFT_", f["left-database"]);
  const right = connectionFromEnv(env, "RIGHT_", f["right-database"]);
  const r = await compareTables({ left, right, tables, runId, jobs });
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
