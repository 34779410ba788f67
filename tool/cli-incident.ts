/**
 * The look-before-you-restore commands' argv and environment (`inspect`, `reconcile`, `restore --tables`,
 * `compare --tables`), kept out of cli.ts, which only dispatches to them. Same conventions: connection settings
 * from the environment only — the PTR copy from `PTR_PG*`, the live database from `LIVE_PG*`, each falling back
 * field by field to `PG*` — a usage error exits 2, differences or failures 1.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { INCIDENT_ID } from "../naming";
import { blobStoreFromEnv } from "./blobstore";
import { connectionFromEnv } from "./connection";
import { UsageError } from "./errors";
import { formatInspectSummary, inspect } from "./inspect";
import { formatReconcileSummary, reconcile } from "./reconcile";

type Env = Readonly<Record<string, string | undefined>>;
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The environment prefixes of the two sides. */
export const PTR_PREFIX = "PTR_";
export const LIVE_PREFIX = "LIVE_";

export const INCIDENT_USAGE = `  inspect  --container C --incident ID [--ptr-database D] [--live-database D] [--jobs N] [--samples N]
           [--all]
  reconcile --container C --incident ID [--ptr-database D] [--live-database D] [--jobs N]
  restore  --tables s.t[,s.t…] --container C --blob NAME|latest [--prefix P] --run-id ID [--database D]
           [--source-database D] [--maintenance-database postgres] [--work-dir DIR]
  compare  --tables s.t[,s.t…] [--left-database D] [--right-database D] [--jobs N] [--all]

inspect/reconcile: PTR_PG* is the PTR copy, LIVE_PG* the live database (each falls back to PG*).`;

export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new UsageError(`${command}: ${message}`, { cause });
  }
}

function requiredFlag(command: string, flag: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`${command}: --${flag} is required`);
  return value;
}

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
} as const;

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
  });
  io.out(formatReconcileSummary(result));
  return 0;
}
