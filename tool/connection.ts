/**
 * Where a PostgreSQL server is and how to log in. The programmatic API takes a `PgConnection`; the CLI builds
 * one from libpq's environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`,
 * `PGSSLMODE`), optionally prefixed (`LEFT_PGHOST`, `RIGHT_PGHOST` for `compare`), falling back field by field
 * to the unprefixed variable. The password only ever travels in a child's environment or to the pg driver.
 */
import { Client, type ClientConfig } from "pg";
import { UsageError } from "./errors";

export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface PgConnection {
  readonly host: string;
  /** Default 5432. */
  readonly port: number;
  readonly user: string;
  /** Absent: libpq's other means (`~/.pgpass`, trust). */
  readonly password?: string | undefined;
  readonly database: string;
  /** libpq semantics for the child processes; the pg driver uses TLS for `require` and the `verify-*` modes. Default `prefer`. */
  readonly sslmode?: SslMode | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads a connection from the environment. `prefix` (e.g. `"LEFT_"`) is tried first for every field, then the
 * plain libpq name. `database` overrides `PGDATABASE` (a flag wins over the environment).
 */
export function connectionFromEnv(env: Env, prefix = "", database?: string): PgConnection {
  const get = (name: string): string | undefined => {
    const v = env[`${prefix}${name}`] ?? env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const problems: string[] = [];
  const host = get("PGHOST");
  if (host === undefined) problems.push(`${prefix}PGHOST (or PGHOST) is not set`);
  const user = get("PGUSER");
  if (user === undefined) problems.push(`${prefix}PGUSER (or PGUSER) is not set`);
  const db = database ?? get("PGDATABASE");
  if (db === undefined) problems.push(`${prefix}PGDATABASE (or PGDATABASE, or the database flag) is not set`);
  const portText = get("PGPORT") ?? "5432";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`${prefix}PGPORT must be a port number 1–65535, got ${JSON.stringify(portText)}`);
  }
  const sslmode = get("PGSSLMODE");
  if (sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    problems.push(
      `${prefix}PGSSLMODE must be one of: ${SSL_MODES.join(", ")}; got ${JSON.stringify(sslmode)}`,
    );
  }
  if (problems.length > 0) throw new UsageError(problems.join("; "));
  return {
    host: host!,
    port,
    user: user!,
    password: get("PGPASSWORD"),
    database: db!,
    sslmode: sslmode as SslMode | undefined,
  };
}

/** The same server, another database. */
export function withDatabase(conn: PgConnection, database: string): PgConnection {
  return { ...conn, database };
}

/** pg driver settings. `prefer`/`allow` cannot be expressed in the driver: they mean no TLS there. */
export function clientConfig(conn: PgConnection, applicationName = "dr-data"): ClientConfig {
  const mode = conn.sslmode ?? "prefer";
  const ssl =
    mode === "require"
      ? { rejectUnauthorized: false }
      : mode === "verify-ca" || mode === "verify-full"
        ? { rejectUnauthorized: true }
        : false;
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl,
    application_name: applicationName,
  };
}

/** An open client; the caller ends it. */
export async function connect(conn: PgConnection, applicationName?: string): Promise<Client> {
  const client = new Client(clientConfig(conn, applicationName));
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new Error(`connecting to ${conn.host}:${conn.port} database ${conn.database} as ${conn.user}`, {
      cause,
    });
  }
  return client;
}

/** Runs `fn` with a client and always ends it. */
export async function withClient<T>(
  conn: PgConnection,
  fn: (client: Client) => Promise<T>,
  applicationName?: string,
): Promise<T> {
  const client = await connect(conn, applicationName);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
