/**
 * Where a PostgreSQL server is and how to log in. The programmatic API takes a `PgConnection`; the CLI builds
 * one from libpq's environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`,
 * `PGSSLMODE`), optionally prefixed (`LEFT_PGHOST`, `RIGHT_PGHOST` for `compare`), falling back field by field
 * to the unprefixed variable. The password only ever travels in a child's environment or to the pg driver.
 *
 * How the tool logs in is chosen explicitly with `DR_PG_AUTH`:
 * - `password` (the default): libpq's own means, `PGPASSWORD` or `~/.pgpass` (local runs, break-glass);
 * - `entra`: a Microsoft Entra access token for Azure Database for PostgreSQL as the password (in the cluster:
 *   AKS workload identity), fetched fresh for every connection and every child program — tokens live about an
 *   hour and the server checks them only at login. `PGPASSWORD` beside it is refused, never silently used.
 *
 * TLS: a server that is not local is reached with `sslmode=verify-full` only — the default when
 * `PGSSLMODE` is unset, and any weaker mode is refused — so its certificate and host name are verified
 * (libpq children against `PGSSLROOTCERT`, `system` in the Jobs; the pg driver against Node's trust store plus
 * `NODE_EXTRA_CA_CERTS`). Only a local server (localhost, 127.0.0.0/8, ::1, a socket directory), as the tests
 * and the drill start, may be reached without TLS: no production host can select it.
 */
import { WorkloadIdentityCredential, type TokenCredential } from "@azure/identity";
import { Client, type ClientConfig } from "pg";
import { AUTH_ENV, connectionEnvNames, type ConnectionField, type ConnectionPrefix } from "./contract";
import { UsageError } from "./errors";

/** Entra token scope of Azure Database for PostgreSQL (flexible server). */
export const POSTGRES_TOKEN_SCOPE = "https://ossrdbms-aad.database.windows.net/.default";
export const PG_AUTHS = ["password", "entra"] as const;
export type PgAuth = (typeof PG_AUTHS)[number];

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
  /** `DR_PG_AUTH=entra`: the password of each login, fetched when it is needed (an Entra access token). */
  readonly passwordSource?: (() => Promise<string>) | undefined;
}

/** The mode every server that is not local must use. */
export const REMOTE_SSLMODE: SslMode = "verify-full";

/** A server on this machine: the loopback names and addresses, or a Unix socket directory. */
export function isLocalHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host) || host.startsWith("/");
}

/**
 * The sslmode a connection to `host` uses: as given for a local server (unset: libpq's default), else
 * verify-full; a weaker mode for another host is a problem (its text), never a silent downgrade.
 */
export function sslmodeFor(
  host: string,
  given: SslMode | undefined,
  variable: string,
): { readonly mode: SslMode | undefined; readonly problem?: string } {
  if (isLocalHost(host)) return { mode: given };
  if (given === undefined || given === REMOTE_SSLMODE) return { mode: REMOTE_SSLMODE };
  return {
    mode: given,
    problem: `${variable} must be ${REMOTE_SSLMODE} for ${host} (its certificate is verified; weaker modes only for a local server: localhost, 127.0.0.1, ::1, a socket directory); got ${JSON.stringify(given)}`,
  };
}

/** A password source that asks `credential` for a PostgreSQL access token each time (the SDK caches it). */
export function entraPassword(credential: TokenCredential): () => Promise<string> {
  return async () => {
    const token = await credential.getToken(POSTGRES_TOKEN_SCOPE);
    if (token === null || token.token === "") {
      throw new Error(`no Microsoft Entra token for ${POSTGRES_TOKEN_SCOPE}`);
    }
    return token.token;
  };
}

/** The connection with its password filled in for a child program (libpq reads PGPASSWORD once, at login). */
export async function withFreshPassword(conn: PgConnection): Promise<PgConnection> {
  if (conn.passwordSource === undefined) return conn;
  return { ...conn, password: await conn.passwordSource() };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads a connection from the environment. `prefix` (e.g. `"LEFT_"`) is tried first for every field, then the
 * plain libpq name. `database` overrides `PGDATABASE` (a flag wins over the environment). The names are the
 * contract's (contract.ts `connectionEnvNames`), which the program's pods are given.
 */
export function connectionFromEnv(
  env: Env,
  prefix: ConnectionPrefix = "",
  database?: string,
  credential?: TokenCredential,
): PgConnection {
  const names = connectionEnvNames(prefix);
  const plain = connectionEnvNames("");
  const get = (field: ConnectionField): string | undefined => {
    const v = env[names[field]] ?? env[plain[field]];
    return v === undefined || v === "" ? undefined : v;
  };
  const either = (field: ConnectionField): string => `${names[field]} (or ${plain[field]})`;
  const problems: string[] = [];
  const host = get("host");
  if (host === undefined) problems.push(`${either("host")} is not set`);
  const user = get("user");
  if (user === undefined) problems.push(`${either("user")} is not set`);
  const db = database ?? get("database");
  if (db === undefined)
    problems.push(`${names.database} (or ${plain.database}, or the database flag) is not set`);
  const portText = get("port") ?? "5432";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`${names.port} must be a port number 1–65535, got ${JSON.stringify(portText)}`);
  }
  const sslmodeText = get("sslmode");
  let sslmode: SslMode | undefined;
  if (sslmodeText !== undefined && !(SSL_MODES as readonly string[]).includes(sslmodeText)) {
    problems.push(
      `${names.sslmode} must be one of: ${SSL_MODES.join(", ")}; got ${JSON.stringify(sslmodeText)}`,
    );
  } else if (host !== undefined) {
    const tls = sslmodeFor(host, sslmodeText as SslMode | undefined, names.sslmode);
    if (tls.problem !== undefined) problems.push(tls.problem);
    sslmode = tls.mode;
  }
  const authVar = AUTH_ENV.postgres;
  const auth = env[authVar] === undefined || env[authVar] === "" ? "password" : env[authVar];
  const password = get("password");
  if (!(PG_AUTHS as readonly string[]).includes(auth)) {
    problems.push(`${authVar} must be one of: ${PG_AUTHS.join(", ")}; got ${JSON.stringify(auth)}`);
  } else if (auth === "entra" && password !== undefined) {
    problems.push(`${either("password")} is set but ${authVar} is entra: unset it`);
  }
  if (problems.length > 0) throw new UsageError(problems.join("; "));
  return {
    host: host!,
    port,
    user: user!,
    password,
    database: db!,
    sslmode,
    ...(auth === "entra"
      ? { passwordSource: entraPassword(credential ?? new WorkloadIdentityCredential()) }
      : {}),
  };
}

/** The same server, another database. */
export function withDatabase(conn: PgConnection, database: string): PgConnection {
  return { ...conn, database };
}

/**
 * pg driver settings. `prefer`/`allow` cannot be expressed in the driver: they mean no TLS there.
 * `verify-full`: the chain against Node's trust store (plus `NODE_EXTRA_CA_CERTS`) and the host name (Node's
 * default check); `verify-ca`: the chain only. A connection whose mode was not chosen (built in code, not read
 * from the environment) to a host that is not local is verify-full too.
 */
export function clientConfig(conn: PgConnection, applicationName = "dr-data"): ClientConfig {
  const mode = conn.sslmode ?? (isLocalHost(conn.host) ? "prefer" : REMOTE_SSLMODE);
  const ssl =
    mode === "require"
      ? { rejectUnauthorized: false }
      : mode === "verify-full"
        ? { rejectUnauthorized: true }
        : mode === "verify-ca"
          ? { rejectUnauthorized: true, checkServerIdentity: (): undefined => undefined }
          : false;
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    // pg calls a function password at every connect: a fresh token for each login.
    password: conn.passwordSource ?? conn.password,
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
