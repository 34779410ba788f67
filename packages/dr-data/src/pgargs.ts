/**
 * Pure builders for the argv and environment of `pg_dump`, `pg_restore` and `psql`. Connection settings never
 * appear in an argv: host, port, user and password go in the child's environment (`childEnv`); the argv names
 * only the database, as a conninfo string so a name holding `=` cannot be read as one.
 */
import { effectiveSslmode, type PgConnection } from "./connection";
import { DUMP_FORMATS } from "./contract";

// Defined with `backup --format` (contract.ts), whose values they are.
export { DUMP_FORMATS };
export type DumpFormat = (typeof DUMP_FORMATS)[number];

/**
 * `pg_dump --compress` values: a gzip level 0–9 (every version), or `method[:level]` with `none`, `gzip`, and
 * from PostgreSQL 16 on `lz4` and `zstd`.
 */
export const COMPRESS_PATTERN = /^(?:[0-9]|(?:none|gzip|lz4|zstd)(?::(?:level=)?\d{1,2})?)$/;

/** `dbname='…'`: libpq conninfo quoting (backslash-escape `\` and `'`). */
export function conninfoDbname(database: string): string {
  return `dbname='${database.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

export interface PgDumpArgs {
  readonly format: DumpFormat;
  readonly database: string;
  /** `pg_dump --compress`; see `COMPRESS_PATTERN`. */
  readonly compress: string;
  /** Directory format only: the output directory (must not exist). Custom format writes to stdout. */
  readonly outputDir?: string | undefined;
  /** Directory format only: parallel dump jobs. */
  readonly jobs?: number | undefined;
  /** Give up instead of queueing behind an exclusive lock for longer than this. */
  readonly lockWaitTimeoutMs?: number | undefined;
  /** `pg_dump --snapshot`: dump in this exported snapshot (the backup manifest is taken in it too). */
  readonly snapshot?: string | undefined;
  /** `--verbose`: a line per archive entry finished (the directory upload follows them). Default false. */
  readonly verbose?: boolean | undefined;
}

export function pgDumpArgv(a: PgDumpArgs): string[] {
  if (!COMPRESS_PATTERN.test(a.compress)) {
    throw new Error(`pg_dump compress ${JSON.stringify(a.compress)} is not 0–9 or method[:level]`);
  }
  const argv = [`--format=${a.format}`, `--compress=${a.compress}`, "--no-password"];
  if (a.lockWaitTimeoutMs !== undefined) argv.push(`--lock-wait-timeout=${a.lockWaitTimeoutMs}`);
  if (a.snapshot !== undefined) {
    if (!/^[0-9A-Fa-f-]+$/.test(a.snapshot)) throw new Error(`snapshot id ${JSON.stringify(a.snapshot)}`);
    argv.push(`--snapshot=${a.snapshot}`);
  }
  if (a.format === "directory") {
    if (a.outputDir === undefined) throw new Error("pg_dump directory format needs an output directory");
    argv.push(`--jobs=${a.jobs ?? 1}`, `--file=${a.outputDir}`);
  } else if (a.jobs !== undefined && a.jobs !== 1) {
    throw new Error("pg_dump --jobs needs the directory format");
  }
  if (a.verbose ?? false) argv.push("--verbose");
  argv.push(`--dbname=${conninfoDbname(a.database)}`);
  return argv;
}

export interface PgRestoreArgs {
  readonly archive: string;
  readonly database: string;
  readonly jobs: number;
  /** Default true: objects belong to the restoring user (the live server's roles may differ). */
  readonly noOwner?: boolean | undefined;
  /** Default false: keep GRANTs; set when the dump's roles do not exist on the target server. */
  readonly noAcl?: boolean | undefined;
  /** `--verbose`: one line per archive entry, which the restore's progress counts. Default false. */
  readonly verbose?: boolean | undefined;
}

/** Always `--exit-on-error`: the seed's `gunzip | psql` carried on past errors. */
export function pgRestoreArgv(a: PgRestoreArgs): string[] {
  if (!Number.isInteger(a.jobs) || a.jobs < 1) throw new Error(`pg_restore jobs must be ≥ 1, got ${a.jobs}`);
  const argv = [
    `--dbname=${conninfoDbname(a.database)}`,
    `--jobs=${a.jobs}`,
    "--exit-on-error",
    "--no-password",
  ];
  if (a.noOwner ?? true) argv.push("--no-owner");
  if (a.noAcl ?? false) argv.push("--no-acl");
  if (a.verbose ?? false) argv.push("--verbose");
  argv.push(a.archive);
  return argv;
}

/** Reads the archive's table of contents without connecting anywhere. */
export function pgRestoreListArgv(archive: string): string[] {
  return ["--list", archive];
}

export interface PsqlArgs {
  readonly database: string;
  /** `-v ON_ERROR_STOP=1`; the seed's restore ran without it. */
  readonly onErrorStop: boolean;
  /** A script file; absent: read stdin. */
  readonly file?: string | undefined;
  /** One command instead of a file. */
  readonly command?: string | undefined;
}

export function psqlArgv(a: PsqlArgs): string[] {
  const argv = ["--no-psqlrc", "--quiet", "--no-password"];
  if (a.onErrorStop) argv.push("--set=ON_ERROR_STOP=1");
  if (a.command !== undefined) argv.push(`--command=${a.command}`);
  if (a.file !== undefined) argv.push(`--file=${a.file}`);
  argv.push(`--dbname=${conninfoDbname(a.database)}`);
  return argv;
}

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/**
 * `PGOPTIONS` for per-connection settings (`-c name=value` each); libpq splits on spaces, so spaces and
 * backslashes in values are backslash-escaped.
 */
export function pgOptions(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([name, value]) => {
      if (!SETTING_NAME.test(name)) throw new Error(`setting name ${JSON.stringify(name)} is not a GUC name`);
      return `-c ${name}=${value.replace(/[\\ ]/g, (c) => `\\${c}`)}`;
    })
    .join(" ");
}

/** Variables a child inherits that would change where or as whom it connects: dropped before ours are set. */
const CONNECTION_VARIABLES = [
  "PGHOST",
  "PGHOSTADDR",
  "PGPORT",
  "PGUSER",
  "PGPASSWORD",
  "PGDATABASE",
  "PGSSLMODE",
  "PGOPTIONS",
  "PGAPPNAME",
  "PGSERVICE",
  "PGSERVICEFILE",
];

export interface ChildEnvOptions {
  readonly applicationName?: string | undefined;
  /** Per-connection settings, sent as `PGOPTIONS`. */
  readonly settings?: Readonly<Record<string, string>> | undefined;
}

/** The libpq variables for one connection (password included): what a child needs and nothing on its argv. */
export function libpqEnv(conn: PgConnection, o: ChildEnvOptions = {}): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: conn.host,
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    PGDATABASE: conn.database,
  };
  if (conn.password !== undefined) env.PGPASSWORD = conn.password;
  const sslmode = effectiveSslmode(conn);
  if (sslmode !== undefined) env.PGSSLMODE = sslmode;
  if (o.applicationName !== undefined) env.PGAPPNAME = o.applicationName;
  if (o.settings !== undefined && Object.keys(o.settings).length > 0) env.PGOPTIONS = pgOptions(o.settings);
  return env;
}

/** `base` (usually `process.env`) without its connection variables, plus `libpqEnv(conn)`. */
export function childEnv(
  base: Readonly<Record<string, string | undefined>>,
  conn: PgConnection,
  o: ChildEnvOptions = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !CONNECTION_VARIABLES.includes(k)) env[k] = v;
  }
  return { ...env, ...libpqEnv(conn, o) };
}
