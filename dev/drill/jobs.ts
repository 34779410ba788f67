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
 * `PGUSER` and `PGDATABASE` are kept as declared: the local servers are created with the declared admin login.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import type { DeclaredJob } from "./declared";
import { PROJECT_DIR } from "./declared";

export interface LocalTargets {
  /** The local server standing in for each Azure host name. */
  readonly servers: ReadonlyMap<string, PgCluster>;
  readonly storageConnectionString: string;
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

const CONNECTION_FIELDS = ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE", "PGPASSWORD"] as const;

/** The local command line and environment of a declared Job; throws on anything it cannot map. */
export function localJob(job: DeclaredJob, t: LocalTargets): LocalJob {
  const substitutions: string[] = [];
  const env: Record<string, string> = {};
  // First the hosts: they decide which local server each prefix means.
  const clusters = new Map<string, PgCluster>();
  for (const e of job.env) {
    if (!e.name.endsWith("PGHOST")) continue;
    const prefix = e.name.slice(0, -"PGHOST".length);
    const host = e.value ?? "";
    const cluster = t.servers.get(host);
    if (cluster === undefined) {
      throw new Error(`${job.name}: ${e.name}=${host} names no server the drill runs locally`);
    }
    clusters.set(prefix, cluster);
  }
  for (const e of job.env) {
    const field = CONNECTION_FIELDS.find((f) => e.name.endsWith(f));
    const prefix = field === undefined ? "" : e.name.slice(0, -field.length);
    const cluster = field === undefined ? undefined : clusters.get(prefix);
    if (field !== undefined && cluster === undefined) {
      throw new Error(`${job.name}: ${e.name} has no ${prefix}PGHOST`);
    }
    switch (cluster === undefined ? e.name : field) {
      case "PGHOST":
        env[e.name] = cluster!.host;
        substitutions.push(`${e.name} ${e.value ?? ""} → ${cluster!.host}`);
        break;
      case "PGPORT":
        env[e.name] = String(cluster!.port);
        substitutions.push(`${e.name} ${e.value ?? ""} → ${cluster!.port}`);
        break;
      case "PGSSLMODE":
        env[e.name] = "disable";
        substitutions.push(`${e.name} ${e.value ?? ""} → disable (no TLS locally)`);
        break;
      case "PGPASSWORD":
        if (e.secretRef === undefined) throw new Error(`${job.name}: ${e.name} is not from a Secret`);
        env[e.name] = cluster!.password;
        substitutions.push(`${e.name} from Secret ${e.secretRef.name} → the local server's password`);
        break;
      case "PGUSER":
        if (e.value !== cluster!.user) {
          throw new Error(
            `${job.name}: ${e.name}=${e.value ?? ""} but the local server's admin is ${cluster!.user}`,
          );
        }
        env[e.name] = e.value;
        break;
      case "DR_STORAGE_AUTH":
        env[e.name] = "connection-string";
        env.AZURE_STORAGE_CONNECTION_STRING = t.storageConnectionString;
        substitutions.push(`${e.name} ${e.value ?? ""} → connection-string to Azurite on 127.0.0.1`);
        break;
      case "AZURE_STORAGE_ACCOUNT":
        // The account is named by the connection string above.
        break;
      case "DR_PG_AUTH":
        env[e.name] = "password";
        for (const [prefix, cluster] of clusters) env[`${prefix}PGPASSWORD`] = cluster.password;
        substitutions.push(`${e.name} ${e.value ?? ""} → password (the local server's)`);
        break;
      default:
        if (e.value === undefined) {
          throw new Error(
            `${job.name}: ${e.name} comes from Secret ${e.secretRef?.name ?? "?"}, which the drill does not map`,
          );
        }
        env[e.name] = e.value;
    }
  }
  const args = [...job.args];
  const w = args.indexOf("--work-dir");
  if (w >= 0 && w + 1 < args.length) {
    substitutions.push(`--work-dir ${args[w + 1]} → ${t.workDir}`);
    args[w + 1] = t.workDir;
  }
  return { args, env, substitutions };
}

/** The environment of this process without anything that could point the tool elsewhere. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(LEFT_|RIGHT_|PTR_|LIVE_)?PG/.test(k) || k.startsWith("AZURE_STORAGE_")) continue;
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
