/**
 * `npm run bench`: the data path against the seed's method and the local-file limit, in one run, on one
 * generated application-shaped database (testkit/appdata.ts; BENCH_SCALE, default 120 ≈ 1.8 GB).
 *
 *   seed      pg_dump --compress=1 (plain SQL, gzip inside pg_dump) to a file; gunzip | psql (no stop on error)
 *   local     pg_dump -Fd -j N -Z 1 to a local directory; pg_restore -j N from it (no blob store at all)
 *   tool      this tool through Azurite: backup (custom streaming and directory+tar) and restore (-j N, with
 *             its per-connection settings, into a staging database and swapped in)
 *
 * Prints wall times, sizes and ratios (best of BENCH_ROUNDS, default 1). Not a test: it takes minutes.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createAppData } from "../testkit/appdata";
import { Azurite } from "../testkit/azurite";
import { PgCluster } from "../testkit/postgres";
import { backup } from "../tool/backup";
import { compare } from "../tool/compare";
import { childEnv, pgDumpArgv, pgRestoreArgv, psqlArgv, type DumpFormat } from "../tool/pgargs";
import { formatBytes } from "../tool/progress";
import { restore } from "../tool/restore";

const SCALE = Number(process.env.BENCH_SCALE ?? "120");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "1");
const JOBS = Number(process.env.BENCH_JOBS ?? Math.max(2, os.availableParallelism()));
/**
 * The tool's variants, `format:compress` each (BENCH_TOOL, comma-separated). Default: both formats at gzip
 * level 1 (the local limit's level) and the custom format uncompressed.
 */
const TOOL_VARIANTS = (process.env.BENCH_TOOL ?? "custom:1,directory:1,custom:0").split(",").map((v) => {
  const [format, compress] = v.split(":") as [DumpFormat, string | undefined];
  if (format !== "custom" && format !== "directory") throw new Error(`BENCH_TOOL: unknown format in ${v}`);
  return { format, compress: compress ?? "1" };
});
/**
 * BENCH_LOCAL: the local-file limit's compression levels (comma-separated). The first is the reference for the
 * "/ local" columns. Default `1,0`: the issue's `-Z 1`, and uncompressed.
 */
const LOCAL_LEVELS = (process.env.BENCH_LOCAL ?? "1,0").split(",");
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
/** The tool's own phase lines (dump done, verified, pg_restore done), indented under the bench's. */
const quiet = (line: string) => {
  if (/ done in | verified /.test(line)) process.stderr.write(`        ${line}\n`);
};
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/** Runs a program; stdin/stdout may be files (fds). Rejects unless it exits 0. */
function exec(
  program: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  stdio: { stdin?: number; stdout?: number } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, argv, {
      env,
      stdio: [stdio.stdin ?? "ignore", stdio.stdout ?? "ignore", "pipe"],
    });
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${program} exited ${code}: ${err}`)),
    );
  });
}

/** gunzip -c file | psql: two processes joined by a pipe, like the seed's workflow. */
function gunzipIntoPsql(file: string, env: NodeJS.ProcessEnv, database: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const gunzip = spawn("gunzip", ["-c", file], { stdio: ["ignore", "pipe", "inherit"] });
    const psql = spawn("psql", psqlArgv({ database, onErrorStop: false }), {
      env,
      stdio: ["pipe", "ignore", "pipe"],
    });
    gunzip.stdout.pipe(psql.stdin);
    let errors = 0;
    psql.stderr.on("data", (c: Buffer) => (errors += c.toString().split("ERROR").length - 1));
    let pending = 2;
    const done = (name: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${name} exited ${code}`));
      else if (--pending === 0) {
        if (errors > 0) say(`psql reported ${errors} errors (the seed's restore does not stop on them)`);
        resolve();
      }
    };
    gunzip.once("close", done("gunzip"));
    psql.once("close", done("psql"));
  });
}

function sizeOf(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((sum, f) => sum + sizeOf(path.join(p, f)), 0);
}

async function timed(label: string, fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  say(`${label}: ${secs.toFixed(1)} s`);
  return secs;
}

interface Row {
  method: string;
  backup: number[];
  restore: number[];
  size: number;
  /** CPU seconds Azurite used during the best backup and restore (tool rows only). */
  storeCpu?: { backup: number[]; restore: number[] };
}

/** utime + stime of a process in seconds, from /proc (Linux); NaN when unreadable. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/** The pid of the Azurite process listening on `port` (its argv holds `--blobPort <port>`). */
function azuritePid(port: number): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const i = argv.indexOf("--blobPort");
      if (i >= 0 && argv[i + 1] === String(port)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return -1;
}

async function benchMain(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "dr-bench-"));
  const pg = await PgCluster.start({
    fast: false,
    settings: { shared_buffers: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min" },
  });
  const az = await Azurite.start();
  try {
    await az.createContainer("bench");
    await pg.query("CREATE DATABASE app");
    await timed(`generating app data at scale ${SCALE}`, () => createAppData(pg.connection("app"), SCALE));
    const dbSize = Number(
      (await pg.query<{ s: string }>("SELECT pg_database_size('app')::text AS s")).rows[0]!.s,
    );
    say(`database size ${formatBytes(dbSize)}, ${JOBS} jobs, ${os.availableParallelism()} CPUs`);
    const env = (db: string) => childEnv(process.env, pg.connection(db));
    const fresh = async (db: string) => {
      await pg.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await pg.query("CHECKPOINT");
    };

    const rows: Row[] = [
      { method: "seed: pg_dump --compress=1 plain SQL; gunzip \\| psql", backup: [], restore: [], size: 0 },
      ...LOCAL_LEVELS.map((z) => ({
        method: `local limit: pg_dump -Fd -j ${JOBS} -Z ${z}; pg_restore -j ${JOBS}`,
        backup: [],
        restore: [],
        size: 0,
      })),
      ...TOOL_VARIANTS.map((v) => ({
        method:
          v.format === "custom"
            ? `tool, custom format streamed (-Fc -Z ${v.compress})`
            : `tool, directory format (-Fd -j ${JOBS} -Z ${v.compress} + tar)`,
        backup: [],
        restore: [],
        size: 0,
        storeCpu: { backup: [], restore: [] },
      })),
    ];
    const azPid = azuritePid(az.port);
    /** Times `fn` and records Azurite's CPU seconds meanwhile. */
    const timedStore = async (label: string, cpu: number[], fn: () => Promise<unknown>) => {
      const c0 = cpuSeconds(azPid);
      const secs = await timed(label, fn);
      cpu.push(cpuSeconds(azPid) - c0);
      say(`  Azurite used ${cpu[cpu.length - 1]!.toFixed(1)} CPU s of it`);
      return secs;
    };
    const loads: string[] = [];
    let verified = "";
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round} of ${ROUNDS}; load averages ${loadavg()}`);
      loads.push(loadavg());
      // Seed method.
      const sql = path.join(work, `seed-${round}.sql.gz`);
      await pg.query("CHECKPOINT");
      rows[0]!.backup.push(
        await timed("seed backup", async () => {
          const fd = openSync(sql, "w");
          try {
            await exec("pg_dump", ["--compress=1", "--no-password", `--dbname=dbname='app'`], env("app"), {
              stdout: fd,
            });
          } finally {
            closeSync(fd);
          }
        }),
      );
      rows[0]!.size = sizeOf(sql);
      await fresh("seed_r");
      await pg.query('CREATE DATABASE "seed_r"');
      rows[0]!.restore.push(await timed("seed restore", () => gunzipIntoPsql(sql, env("seed_r"), "seed_r")));
      rmSync(sql);
      await fresh("seed_r");

      // Local-file limit.
      for (const [k, z] of LOCAL_LEVELS.entries()) {
        const row = rows[1 + k]!;
        const dir = path.join(work, `local-${round}-${k}`);
        await pg.query("CHECKPOINT");
        row.backup.push(
          await timed(`local backup (-Z ${z})`, () =>
            exec(
              "pg_dump",
              pgDumpArgv({ format: "directory", compress: z, jobs: JOBS, outputDir: dir, database: "app" }),
              env("app"),
            ),
          ),
        );
        row.size = sizeOf(dir);
        await fresh("local_r");
        await pg.query('CREATE DATABASE "local_r"');
        row.restore.push(
          await timed(`local restore (-Z ${z})`, () =>
            exec(
              "pg_restore",
              pgRestoreArgv({ archive: dir, database: "local_r", jobs: JOBS }),
              env("local_r"),
            ),
          ),
        );
        rmSync(dir, { recursive: true });
        await fresh("local_r");
      }

      // This tool.
      for (const [k, v] of TOOL_VARIANTS.entries()) {
        const row = rows[1 + LOCAL_LEVELS.length + k]!;
        const target = `tool_${v.format}_${k}`;
        await pg.query("CHECKPOINT");
        let blobName = "";
        row.backup.push(
          await timedStore(`tool backup (${v.format}, -Z ${v.compress})`, row.storeCpu!.backup, async () => {
            const r = await backup({
              connection: pg.connection("app"),
              store: az.store("bench"),
              prefix: `bench/${v.format}-${k}`,
              format: v.format,
              compress: v.compress,
              jobs: JOBS,
              workDir: work,
              now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, round)),
              log: quiet,
            });
            blobName = r.blobName;
            row.size = r.metadata.size;
          }),
        );
        await fresh(target);
        await pg.query("CHECKPOINT");
        row.restore.push(
          await timedStore(`tool restore (${v.format}, -Z ${v.compress})`, row.storeCpu!.restore, () =>
            restore({
              connection: pg.connection("postgres"),
              store: az.store("bench"),
              from: { blob: blobName },
              database: target,
              runId: `bench-${round}`,
              jobs: JOBS,
              workDir: work,
              log: quiet,
            }),
          ),
        );
        if (round === ROUNDS && k === 0) {
          const c = await compare({ left: pg.connection("app"), right: pg.connection(target), jobs: JOBS });
          verified = c.equal
            ? `compare app vs ${target}: all ${c.relations.length} relations equal`
            : `compare app vs ${target}: DIFFERENT`;
        }
        await fresh(target);
        await fresh(`${target}_before_bench_${round}`);
        await containerClientDelete(az, blobName);
      }
    }
    loads.push(loadavg());

    const best = (xs: number[]) => Math.min(...xs);
    /** The CPU figure of the round whose time was best. */
    const atBest = (times: number[], cpu: number[]) => (cpu[times.indexOf(best(times))] ?? NaN).toFixed(1);
    const seedB = best(rows[0]!.backup);
    const seedR = best(rows[0]!.restore);
    const localB = best(rows[1]!.backup); // the first local row (the issue's -Z 1) is the reference
    const localR = best(rows[1]!.restore);
    const fmt = (xs: number[]) =>
      `${best(xs).toFixed(1)}${xs.length > 1 ? ` (${xs.map((x) => x.toFixed(1)).join(", ")})` : ""}`;
    const lines = [
      `database: ${formatBytes(dbSize)} (app-shaped, scale ${SCALE}); ${os.availableParallelism()} CPUs; jobs ${JOBS}; best of ${ROUNDS}`,
      `load averages (1, 5, 15 min) at the start of each round and at the end: ${loads.join(" → ")}`,
      "",
      "| method | backup s | size | restore s | backup vs seed | restore vs seed | backup / local | restore / local | Azurite CPU s (backup, restore) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows.map((r) => {
        const b = best(r.backup);
        const x = best(r.restore);
        return (
          `| ${r.method} | ${fmt(r.backup)} | ${formatBytes(r.size)} | ${fmt(r.restore)} | ` +
          `${(seedB / b).toFixed(2)}× | ${(seedR / x).toFixed(2)}× | ${(b / localB).toFixed(2)} | ${(x / localR).toFixed(2)} | ` +
          `${r.storeCpu === undefined ? "–" : `${atBest(r.backup, r.storeCpu.backup)}, ${atBest(r.restore, r.storeCpu.restore)}`} |`
        );
      }),
      "",
      "targets: backup ≥ 2× and restore ≥ 1.5× faster than the seed; each within 1.2 of the local limit",
      verified,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await az.stop();
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function containerClientDelete(az: Azurite, blobName: string): Promise<void> {
  const { containerClient } = await import("../tool/blobstore");
  await containerClient(az.store("bench")).getBlobClient(blobName).deleteIfExists();
}

benchMain().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
