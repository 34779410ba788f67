/**
 * The data tool image's smoke test: what the release workflow runs INSIDE the built image before it pushes
 * (`docker run --entrypoint node <image> /opt/dr-data/image-smoke.js`), and what the test suite runs here
 * against the same esbuild bundle (test/integration/image-smoke.test.ts). Node built-ins only, so esbuild
 * bundles it into one file beside the tool's (`npm run -w @service-dr/dr-data bundle:smoke`).
 *
 * Steps, each printed as `ok - <step>` or the reason it failed (exit 1 on the first failure, 2 on bad input):
 *   1. `dr-data --help` exits 0 and prints the usage.
 *   2. pg_dump, pg_restore and psql are all of major SMOKE_CLIENT_MAJOR (the image's, image.json), and pg_dump's
 *      major is ≥ every major in SMOKE_SERVER_MAJORS (what the stacks declare) and ≥ the server's.
 *   3. A real backup: a database with a table and a sequence is dumped by the tool into the blob container.
 *   4. A real restore of that blob into a new database by the tool, checked row by row against the source
 *      (count and an md5 over every row in key order) and the sequence's value.
 *
 * Environment: PGHOST PGPORT PGUSER PGPASSWORD (the server), AZURE_STORAGE_CONNECTION_STRING (the blob store;
 * with an account key, as Azurite's, the container is created here), PG_BINDIR (where the client programs
 * are; default PATH, as the tool), DR_DATA_BUNDLE (default dr-data.js beside this file), SMOKE_CLIENT_MAJOR,
 * SMOKE_SERVER_MAJORS (blank- or comma-separated). The databases it makes are dropped at the end.
 */
import { spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import path from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

class SmokeFailure extends Error {}
class SmokeUsage extends Error {}

interface Settings {
  readonly bundle: string;
  readonly binDir: string | undefined;
  readonly clientMajor: number;
  readonly serverMajors: readonly number[];
  readonly connectionString: string;
  readonly id: string;
}

function settingsFrom(env: Env): Settings {
  const required = (name: string): string => {
    const v = env[name];
    if (v === undefined || v === "") throw new SmokeUsage(`${name}: is required; received nothing`);
    return v;
  };
  const major = (name: string, text: string): number => {
    if (!/^\d+$/.test(text))
      throw new SmokeUsage(`${name}: must be a PostgreSQL major such as 18; received ${text}`);
    return Number(text);
  };
  for (const name of ["PGHOST", "PGUSER", "PGPASSWORD"]) required(name);
  const majors = required("SMOKE_SERVER_MAJORS")
    .split(/[\s,]+/)
    .filter((m) => m !== "");
  return {
    bundle: env.DR_DATA_BUNDLE ?? path.join(__dirname, "dr-data.js"),
    binDir: env.PG_BINDIR === "" ? undefined : env.PG_BINDIR,
    clientMajor: major("SMOKE_CLIENT_MAJOR", required("SMOKE_CLIENT_MAJOR")),
    serverMajors: majors.map((m) => major("SMOKE_SERVER_MAJORS", m)),
    connectionString: required("AZURE_STORAGE_CONNECTION_STRING"),
    id: randomBytes(4).toString("hex"),
  };
}

/** Runs a program; its stdout, or a failure with its exit status and stderr. */
function run(program: string, args: readonly string[], env: Env): string {
  const r = spawnSync(program, args, { env: { ...process.env, ...env }, encoding: "utf8" });
  if (r.error !== undefined) throw new SmokeFailure(`${program}: ${r.error.message}`);
  if (r.status !== 0)
    throw new SmokeFailure(
      `${program} ${args.join(" ")} exited ${r.status ?? r.signal}:\n${r.stderr.trim()}\n${r.stdout.trim()}`,
    );
  return r.stdout;
}

const bin = (s: Settings, name: string): string =>
  s.binDir === undefined ? name : path.join(s.binDir, name);
const tool = (s: Settings, args: readonly string[]): string => run(process.execPath, [s.bundle, ...args], {});
const psql = (s: Settings, database: string, sql: string): string =>
  run(bin(s, "psql"), ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql], {}).trim();

/** `pg_dump (PostgreSQL) 18.6 (Debian 18.6-3)` → 18. */
export function majorOf(versionLine: string): number | undefined {
  const m = /\(PostgreSQL\) (\d+)/.exec(versionLine);
  return m === null ? undefined : Number(m[1]);
}

function checkHelp(s: Settings): string {
  const out = tool(s, ["--help"]);
  if (!out.includes("usage: dr-data")) throw new SmokeFailure(`--help printed no usage:\n${out}`);
  return "dr-data --help prints the usage";
}

function checkClients(s: Settings): string {
  const majors = ["pg_dump", "pg_restore", "psql"].map((p) => {
    const line = run(bin(s, p), ["--version"], {}).trim();
    const m = majorOf(line);
    if (m !== s.clientMajor)
      throw new SmokeFailure(`${p} --version: must be PostgreSQL ${s.clientMajor}; received ${line}`);
    return m;
  });
  const server = Math.floor(Number(psql(s, "postgres", "SHOW server_version_num")) / 10000);
  const needed = [...s.serverMajors, server];
  const newer = needed.filter((m) => m > majors[0]!);
  if (newer.length > 0)
    throw new SmokeFailure(
      `pg_dump ${majors[0]} cannot dump PostgreSQL ${newer.join(", ")} (pg_dump refuses a server newer than itself); needed ≥ ${Math.max(...needed)}`,
    );
  return `pg_dump, pg_restore, psql are PostgreSQL ${s.clientMajor}, ≥ the stacks' ${s.serverMajors.join(", ")} and the server's ${server}`;
}

/** The connection string's fields (`AccountName=…;AccountKey=…;BlobEndpoint=…`). */
function connectionFields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(";")
      .filter((p) => p.includes("="))
      .map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
  );
}

/** Creates the container with the account key (Create Container, Shared Key), as Azurite needs; 409 is fine. */
async function createContainer(s: Settings, container: string): Promise<void> {
  const f = connectionFields(s.connectionString);
  const account = f.AccountName;
  const key = f.AccountKey;
  if (account === undefined || key === undefined) return; // a real account: the container exists already
  const endpoint = f.BlobEndpoint ?? `https://${account}.blob.${f.EndpointSuffix ?? "core.windows.net"}`;
  const url = new URL(`${endpoint.replace(/\/$/, "")}/${container}?restype=container`);
  const date = new Date().toUTCString();
  const version = "2021-08-06";
  const canonical = `/${account}${url.pathname}\nrestype:container`;
  const toSign = ["PUT", "", "", "", "", "", "", "", "", "", "", ""].join("\n");
  const headers = `x-ms-date:${date}\nx-ms-version:${version}\n`;
  const signature = createHmac("sha256", Buffer.from(key, "base64"))
    .update(`${toSign}\n${headers}${canonical}`, "utf8")
    .digest("base64");
  const r = await fetch(url, {
    method: "PUT",
    headers: {
      "x-ms-date": date,
      "x-ms-version": version,
      authorization: `SharedKey ${account}:${signature}`,
    },
  });
  if (r.status !== 201 && r.status !== 409)
    throw new SmokeFailure(`creating container ${container}: HTTP ${r.status} ${await r.text()}`);
}

const FINGERPRINT =
  "SELECT count(*) || ':' || md5(string_agg(i::text, ',' ORDER BY id)) || ':' || (SELECT last_value FROM smoke.ticket) FROM smoke.items i";

async function checkBackupAndRestore(s: Settings): Promise<string[]> {
  const container = `smoke-${s.id}`;
  const source = `smoke_src_${s.id}`;
  const target = `smoke_dst_${s.id}`;
  try {
    psql(s, "postgres", `CREATE DATABASE ${source}`);
    psql(
      s,
      source,
      "CREATE SCHEMA smoke; CREATE SEQUENCE smoke.ticket; " +
        "CREATE TABLE smoke.items (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2)); " +
        "INSERT INTO smoke.items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 1000) g; " +
        "SELECT setval('smoke.ticket', 42)",
    );
    await createContainer(s, container);
    const blob = tool(s, ["backup", "--container", container, "--prefix", "smoke", "--database", source])
      .trim()
      .split("\n")
      .pop();
    if (blob === undefined || blob === "") throw new SmokeFailure("backup printed no blob name");
    const runId = `smoke-${s.id}`;
    tool(s, ["restore", "--container", container, "--blob", blob, "--run-id", runId, "--database", target]);
    const want = psql(s, source, FINGERPRINT);
    const got = psql(s, target, FINGERPRINT);
    if (got !== want) throw new SmokeFailure(`restored ${target}: ${got}; the source has ${want}`);
    return [
      `backup of ${source} as ${blob}`,
      `restore into ${target}: every row and the sequence match (${got})`,
    ];
  } finally {
    // The restore keeps what it replaced as `<target>_before_<run id>`: every database of this run goes.
    const made = psql(
      s,
      "postgres",
      `SELECT datname FROM pg_database WHERE datname LIKE 'smoke\\_%${s.id}%'`,
    );
    for (const db of made.split("\n").filter((d) => d !== ""))
      psql(s, "postgres", `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  }
}

async function main(): Promise<number> {
  let s: Settings;
  try {
    s = settingsFrom(process.env);
  } catch (err) {
    process.stderr.write(`image smoke: ${(err as Error).message}\n`);
    return 2;
  }
  const steps: Array<() => string | string[] | Promise<string[]>> = [
    () => checkHelp(s),
    () => checkClients(s),
    () => checkBackupAndRestore(s),
  ];
  let passed = 0;
  for (const step of steps) {
    try {
      for (const line of [await step()].flat()) {
        process.stdout.write(`ok - ${line}\n`);
        passed++;
      }
    } catch (err) {
      process.stdout.write(`not ok - ${(err as Error).message}\n`);
      return 1;
    }
  }
  process.stdout.write(`image smoke: ${passed} checks passed\n`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`image smoke: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
