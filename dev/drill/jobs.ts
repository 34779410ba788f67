/**
 * Runs a Job the program declared as a local process: the data tool (`packages/dr-data/src/cli.ts`) with exactly the Job's
 * container args, in a child process, the way the pod's entrypoint runs it. Only what points at Azure and the
 * Kubernetes Secrets is substituted, and every substitution is recorded for the report:
 *
 * - `<prefix>PGHOST` (an Azure host name) → the local server standing in for that host, with its port;
 * - `<prefix>PGSSLMODE=require` → `disable` (the local servers have no TLS);
 * - `<prefix>PGPASSWORD` from the credentials Secret → the local server's password;
 * - `DR_STORAGE_AUTH=entra` with `AZURE_STORAGE_ACCOUNT` (the pod's managed identity) → `connection-string`
 *   to the local Azurite (no Entra here);
 * - `DR_PG_AUTH=entra` (an access token as password) → `password`, each connection the local server's
 *   password (the break-glass `PGPASSWORD` from the credentials Secret likewise);
 * - `--work-dir /scratch` (the pod's emptyDir) → a local temporary directory.
 *
 * The tool finds pg_dump and pg_restore on PATH, as in the image (PG_BINDIR is not passed on: the testkit's
 * server directory may hold only the server programs).
 *
 * `PGUSER` and `PGDATABASE` are kept as declared: each must be a login of the local server the Job reaches
 * (LocalTargets.logins) — the nightly identity's read-only login, made by the runbook's one-time setup, or the
 * recovery identity's, made where the program declares it an Entra administrator (servers.ts).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import {
  AUTH_ENV,
  CONNECTION_PREFIXES,
  connectionEnvField,
  connectionEnvNames,
  WORK_DIR_FLAG,
  type ConnectionField,
  type ConnectionPrefix,
} from "@service-dr/dr-data";
import type { DeclaredEnvVar, DeclaredJob } from "./declared";
import { PROJECT_DIR } from "./declared";

export interface LocalTargets {
  /** The local server standing in for each Azure host name. */
  readonly servers: ReadonlyMap<string, PgCluster>;
  readonly storageConnectionString: string;
  /** The roles each local server lets log in (the same names as the managed identities: Entra's rule). */
  readonly logins: ReadonlyMap<PgCluster, ReadonlySet<string>>;
  /** Stands in for the pod's scratch volume. */
  readonly workDir: string;
}

export interface LocalJob {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** `PGHOST s189t01-ittms-stg-pg.postgres.database.azure.com → 127.0.0.1:5433`, … */
  readonly substitutions: readonly string[];
}

export interface JobRun extends LocalJob {
  readonly name: string;
  readonly exitCode: number;
  /** The tool's result line(s). */
  readonly stdout: string;
  /** The last part of the tool's log. */
  readonly stderrTail: string;
  readonly ms: number;
}

/** The local command line and environment of a declared Job; throws on anything it cannot map. */
export function localJob(job: Pick<DeclaredJob, "name" | "args" | "env">, t: LocalTargets): LocalJob {
  const substitutions: string[] = [];
  const env: Record<string, string> = {};
  // First the hosts: they decide which local server each prefix means.
  const clusters = new Map<ConnectionPrefix, PgCluster>();
  for (const e of job.env) {
    const c = connectionEnvField(e.name);
    if (c?.field !== "host") continue;
    const host = e.value ?? "";
    const cluster = t.servers.get(host);
    if (cluster === undefined) {
      throw new Error(`${job.name}: ${e.name}=${host} names no server the drill runs locally`);
    }
    clusters.set(c.prefix, cluster);
  }
  for (const e of job.env) {
    const c = connectionEnvField(e.name);
    if (c === undefined) {
      otherEnv(job.name, e, clusters, t, env, substitutions);
      continue;
    }
    const cluster = clusters.get(c.prefix);
    if (cluster === undefined) {
      throw new Error(`${job.name}: ${e.name} has no ${connectionEnvNames(c.prefix).host}`);
    }
    connectionEnv(job.name, e, c.field, cluster, t.logins.get(cluster) ?? new Set(), env, substitutions);
  }
  const args = [...job.args];
  const w = args.indexOf(WORK_DIR_FLAG);
  if (w >= 0 && w + 1 < args.length) {
    substitutions.push(`${WORK_DIR_FLAG} ${args[w + 1]} → ${t.workDir}`);
    args[w + 1] = t.workDir;
  }
  return { args, env, substitutions };
}

/** One connection variable (contract.ts connectionEnvNames), pointed at the local server of its prefix. */
function connectionEnv(
  job: string,
  e: DeclaredEnvVar,
  field: ConnectionField,
  cluster: PgCluster,
  logins: ReadonlySet<string>,
  env: Record<string, string>,
  substitutions: string[],
): void {
  switch (field) {
    case "host":
      env[e.name] = cluster.host;
      substitutions.push(`${e.name} ${e.value ?? ""} → ${cluster.host}`);
      break;
    case "port":
      env[e.name] = String(cluster.port);
      substitutions.push(`${e.name} ${e.value ?? ""} → ${cluster.port}`);
      break;
    case "sslmode":
      env[e.name] = "disable";
      substitutions.push(`${e.name} ${e.value ?? ""} → disable (no TLS locally)`);
      break;
    case "password":
      if (e.secretRef === undefined) throw new Error(`${job}: ${e.name} is not from a Secret`);
      env[e.name] = cluster.password;
      substitutions.push(`${e.name} from Secret ${e.secretRef.name} → the local server's password`);
      break;
    case "user":
      if (e.value === undefined || !logins.has(e.value)) {
        throw new Error(
          `${job}: ${e.name}=${e.value ?? ""} is no login of the local server at ${cluster.host}:${cluster.port} (its logins: ${[...logins].sort().join(", ")})`,
        );
      }
      env[e.name] = e.value;
      break;
    case "database":
      keep(job, e, env);
  }
}

/** A declared value as it is; a Secret's value the drill cannot know. */
function keep(job: string, e: DeclaredEnvVar, env: Record<string, string>): void {
  if (e.value === undefined) {
    throw new Error(
      `${job}: ${e.name} comes from Secret ${e.secretRef?.name ?? "?"}, which the drill does not map`,
    );
  }
  env[e.name] = e.value;
}

/** A variable that is no connection's: the auth selectors are mapped to local credentials, the rest kept. */
function otherEnv(
  job: string,
  e: DeclaredEnvVar,
  clusters: ReadonlyMap<ConnectionPrefix, PgCluster>,
  t: LocalTargets,
  env: Record<string, string>,
  substitutions: string[],
): void {
  switch (e.name) {
    case AUTH_ENV.storage:
      env[e.name] = "connection-string";
      env.AZURE_STORAGE_CONNECTION_STRING = t.storageConnectionString;
      substitutions.push(`${e.name} ${e.value ?? ""} → connection-string to Azurite on 127.0.0.1`);
      break;
    case AUTH_ENV.storageAccount:
      // The account is named by the connection string above.
      break;
    case AUTH_ENV.postgres:
      env[e.name] = "password";
      for (const [prefix, cluster] of clusters) env[connectionEnvNames(prefix).password] = cluster.password;
      substitutions.push(`${e.name} ${e.value ?? ""} → password (the local server's)`);
      break;
    default:
      keep(job, e, env);
  }
}

/** The environment of this process without anything that could point the tool elsewhere. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (CONNECTION_PREFIXES.some((p) => k.startsWith(`${p}PG`)) || k.startsWith("AZURE_STORAGE_")) continue;
    env[k] = v;
  }
  return env;
}

/** Runs the tool with the local args and env; resolves with its exit status (never rejects on a failure). */
export function runLocalJob(name: string, local: LocalJob): Promise<JobRun> {
  const started = Date.now();
  const cli = path.join(PROJECT_DIR, "packages", "dr-data", "src", "cli.ts");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, ...local.args], {
      cwd: PROJECT_DIR,
      env: { ...baseEnv(), ...local.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
    child.once("error", (err) => reject(new Error(`starting the data tool for ${name}`, { cause: err })));
    child.once("close", (code, signal) =>
      resolve({
        ...local,
        name,
        exitCode: code ?? (signal === null ? 1 : 128),
        stdout: stdout.trim(),
        stderrTail: stderr.trim(),
        ms: Date.now() - started,
      }),
    );
  });
}
