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
import { closeSync, mkdtempSync, openSync, rmSync, statSync, readdirSync } from "node:fs";
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
const JOBS = Math.max(2, os.availableParallelism());
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

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
      {
        method: `local limit: pg_dump -Fd -j ${JOBS} -Z 1; pg_restore -j ${JOBS}`,
        backup: [],
        restore: [],
        size: 0,
      },
      { method: "tool, custom format streamed (-Fc)", backup: [], restore: [], size: 0 },
      { method: `tool, directory format (default: -Fd -j ${JOBS} + tar)`, backup: [], restore: [], size: 0 },
    ];
    let verified = "";
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round} of ${ROUNDS}`);
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
      const dir = path.join(work, `local-${round}`);
      await pg.query("CHECKPOINT");
      rows[1]!.backup.push(
        await timed("local backup", () =>
          exec(
            "pg_dump",
            pgDumpArgv({ format: "directory", compress: "1", jobs: JOBS, outputDir: dir, database: "app" }),
            env("app"),
          ),
        ),
      );
      rows[1]!.size = sizeOf(dir);
      await fresh("local_r");
      await pg.query('CREATE DATABASE "local_r"');
      rows[1]!.restore.push(
        await timed("local restore", () =>
          exec(
            "pg_restore",
            pgRestoreArgv({ archive: dir, database: "local_r", jobs: JOBS }),
            env("local_r"),
          ),
        ),
      );
      rmSync(dir, { recursive: true });
      await fresh("local_r");

      // This tool, both formats.
      for (const [i, format] of [
        [2, "custom"],
        [3, "directory"],
      ] as [number, DumpFormat][]) {
        const target = `tool_${format}`;
        await pg.query("CHECKPOINT");
        let blobName = "";
        rows[i]!.backup.push(
          await timed(`tool backup (${format})`, async () => {
            const r = await backup({
              connection: pg.connection("app"),
              store: az.store("bench"),
              prefix: `bench/${format}`,
              format,
              jobs: JOBS,
              workDir: work,
              now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, round)),
            });
            blobName = r.blobName;
            rows[i]!.size = r.metadata.size;
          }),
        );
        await fresh(target);
        await pg.query("CHECKPOINT");
        rows[i]!.restore.push(
          await timed(`tool restore (${format})`, () =>
            restore({
              connection: pg.connection("postgres"),
              store: az.store("bench"),
              from: { blob: blobName },
              database: target,
              runId: `bench-${round}`,
              jobs: JOBS,
              workDir: work,
            }),
          ),
        );
        if (round === ROUNDS && format === "custom") {
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

    const best = (xs: number[]) => Math.min(...xs);
    const seedB = best(rows[0]!.backup);
    const seedR = best(rows[0]!.restore);
    const localB = best(rows[1]!.backup);
    const localR = best(rows[1]!.restore);
    const fmt = (xs: number[]) =>
      `${best(xs).toFixed(1)}${xs.length > 1 ? ` (${xs.map((x) => x.toFixed(1)).join(", ")})` : ""}`;
    const lines = [
      `database: ${formatBytes(dbSize)} (app-shaped, scale ${SCALE}); ${os.availableParallelism()} CPUs; jobs ${JOBS}; best of ${ROUNDS}`,
      "",
      "| method | backup s | size | restore s | backup vs seed | restore vs seed | backup / local | restore / local |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows.map((r) => {
        const b = best(r.backup);
        const x = best(r.restore);
        return (
          `| ${r.method} | ${fmt(r.backup)} | ${formatBytes(r.size)} | ${fmt(r.restore)} | ` +
          `${(seedB / b).toFixed(2)}× | ${(seedR / x).toFixed(2)}× | ${(b / localB).toFixed(2)} | ${(x / localR).toFixed(2)} |`
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
