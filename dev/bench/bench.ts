/**
 * `npm run bench`: the data path against the seed's method and the local-file limit, in one run, on one
 * generated application-shaped database (testkit/appdata.ts; BENCH_SCALE, default 120 ≈ 1.8 GB).
 *
 *   seed      the seed's backup-postgres / restore-postgres-backup actions: pg_dump --compress=1 (plain SQL, gzip
 *             inside pg_dump) to a file, uploaded to the same blob store in one parallel block upload; downloaded
 *             back to a file, then gunzip | psql (no stop on error)
 *   local     pg_dump -Fd -j N -Z 1 to a local directory; pg_restore -j N from it (no blob store at all)
 *   tool      this tool through Azurite: backup (custom streaming and directory+tar) and restore (-j N, with
 *             its per-connection settings, into a staging database and swapped in)
 *
 * Prints wall times, sizes and ratios (best of BENCH_ROUNDS, default 1). Not a test: it takes minutes.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { errorChain, parseFlags, UsageError } from "@service-dr/dr-data";
import { createAppData } from "@service-dr/dr-data/testkit/appdata";
import { Azurite } from "@service-dr/dr-data/testkit/azurite";
import { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { backup } from "@service-dr/dr-data/backup";
import { compare } from "@service-dr/dr-data/compare";
import { childEnv, pgDumpArgv, pgRestoreArgv, psqlArgv, type DumpFormat } from "@service-dr/dr-data/pgargs";
import { formatBytes } from "@service-dr/dr-data/progress";
import { beforeDatabaseName } from "@service-dr/dr-data";
import { restore, restoreFromCopy } from "@service-dr/dr-data/restore";
import { containerClient } from "@service-dr/dr-data/blobstore";
import { azuritePid, cpuDelta, CpuMeter, fmtCpu, postmasterPid, type CpuSplit } from "./cpu";
import { exec, startBenchServer } from "./harness";

const SCALE = Number(process.env.BENCH_SCALE ?? "120");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "1");
const JOBS = Number(process.env.BENCH_JOBS ?? Math.max(2, os.availableParallelism()));
/**
 * The tool's variants (BENCH_TOOL, comma-separated): `directory` or `custom` alone is backup()'s default for that
 * format — what the program's Jobs run (they pass no --compress): directory = `-Fd -j N -Z 0` and the tar stream
 * through `zstd -1`, custom = `-Fc -Z 1`; `format:N` sets pg_dump's `--compress N` (directory: then no zstd).
 * Default: the Jobs' directory format, the custom format, and the directory format with gzip 1 inside pg_dump.
 */
const TOOL_VARIANTS: readonly ToolVariant[] = (process.env.BENCH_TOOL ?? "directory,custom,directory:1")
  .split(",")
  .map((v) => {
    const [format, compress] = v.split(":") as [DumpFormat, string | undefined];
    if (format !== "custom" && format !== "directory") throw new Error(`BENCH_TOOL: unknown format in ${v}`);
    return { format, compress };
  });
interface ToolVariant {
  readonly format: DumpFormat;
  /** pg_dump's --compress; undefined: backup()'s default, as the Jobs run it. */
  readonly compress: string | undefined;
}
/**
 * BENCH_LOCAL: the local-file limit's compression levels (comma-separated). The first is the reference for the
 * "/ local" columns. Default `1,0`: `-Z 1`, and uncompressed (the backup goal's reference).
 */
const LOCAL_LEVELS = (process.env.BENCH_LOCAL ?? "1,0").split(",");
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
/** The tool's own phase lines (dump done, verified, pg_restore done), indented under the bench's. */
const quiet = (line: string) => {
  if (/ done in | verified /.test(line)) process.stderr.write(`        ${line}\n`);
};

/**
 * The tool's steps, from its own log lines: `name` and the pattern whose first group is the step's seconds.
 * What a line does not time (the backup's upload after pg_dump, restore's swap) is the phase's wall time less
 * the steps, recorded as `rest`.
 */
const TOOL_STEPS: readonly (readonly [string, RegExp])[] = [
  ["dump", /^backup: pg_dump -F\w.* done in ([\d.]+) s/],
  ["manifest (beside the upload)", /^backup: manifest: .* in ([\d.]+) s$/],
  ["download and archive checks", /^restore: verified sha256, size and \d+ archive entries in ([\d.]+) s/],
  ["pg_restore (with the overlapped check)", /^restore: pg_restore -j \d+ into \S+ done in ([\d.]+) s/],
  ["contents check after pg_restore", /^restore: contents verified against the manifest .* in ([\d.]+) s/],
  // restore --from-copy: the stored dump read back while pg_restore runs, the comparison after the swap.
  ["read-back of the stored dump (beside pg_restore)", /^verify: .* verified from storage .* in ([\d.]+) s;/],
  ["compare with the copy", /^restore: \S+ equals the copy .* in ([\d.]+) s$/],
];

/** A log that prints as `quiet` does and records the tool's steps into `steps`. */
function stepLog(steps: Record<string, number>): (line: string) => void {
  return (line) => {
    quiet(line);
    for (const [name, re] of TOOL_STEPS) {
      const m = re.exec(line);
      if (m !== null) steps[name] = Number(m[1]);
    }
  };
}

/** `rest`: the phase's wall seconds not in its steps (the parallel manifest step does not count). */
function restStep(steps: Record<string, number>, wall: number): void {
  const inSeries = Object.entries(steps).filter(([k]) => !k.includes("beside"));
  steps.rest = Math.max(0, wall - inSeries.reduce((sum, [, v]) => sum + v, 0));
}
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

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

/** The JSON `--json FILE` writes: one row per method, best times of the rounds, with the load it ran under. */
export interface BenchJson {
  readonly scaleBytes: number;
  readonly cpus: number;
  /** How PostgreSQL's and Azurite's CPU seconds were counted (cpu.ts): `cgroup` exact, `proc` a lower bound. */
  readonly cpuSource: "cgroup" | "proc";
  /** Load averages (1, 5, 15 min) at the start of each round and at the end. */
  readonly load: readonly string[];
  readonly rows: readonly BenchJsonRow[];
  /** Each goal: the ratio of wall times measured, its bound, met or not. */
  readonly goals: readonly Goal[];
}

interface BenchJsonRow {
  readonly method: string;
  readonly backupS: number;
  readonly restoreS: number;
  readonly bytes: number;
  /** The last round's wall seconds per step, per phase. */
  readonly steps: Row["steps"];
  /** The last round's CPU seconds per process group, per phase. */
  readonly cpu: Row["cpu"];
}

interface Row {
  /**
   * The JSON's method: seed, local-z<N>, tool (the Jobs' default configuration), tool-<variant>, or ptr-phase
   * (restore: the whole scenario-2 restore phase, one restore --from-copy; backup: its pg_dump step alone).
   */
  id: string;
  method: string;
  backup: number[];
  restore: number[];
  size: number;
  /** CPU seconds per process group (bench client, its children, PostgreSQL, Azurite) in the last round. */
  cpu: { backup?: CpuSplit; restore?: CpuSplit };
  /** Wall seconds of each step of a phase in the last round, in the order they ran (`dump`, `upload`, …). */
  steps: { backup: Record<string, number>; restore: Record<string, number> };
}

/** What every bench step shares: the servers, the scratch directory, and the measuring harness. */
interface Bench {
  readonly pg: PgCluster;
  readonly az: Azurite;
  readonly work: string;
  readonly env: (db: string) => NodeJS.ProcessEnv;
  /** Drops a database and checkpoints, so the next step starts from the same state. */
  readonly fresh: (db: string) => Promise<void>;
  readonly measured: Measured;
}

/** The bench's container and its application-shaped database at `SCALE`; returns the database's size. */
async function generateApp(pg: PgCluster, az: Azurite): Promise<number> {
  await az.createContainer("bench");
  await pg.query("CREATE DATABASE app");
  await timed(`generating app data at scale ${SCALE}`, () => createAppData(pg.connection("app"), SCALE));
  const sized = await pg.query<{ s: string }>("SELECT pg_database_size('app')::text AS s");
  const dbSize = Number(sized.rows[0]?.s ?? Number.NaN);
  if (!Number.isFinite(dbSize)) throw new Error("pg_database_size('app') returned no number");
  say(`database size ${formatBytes(dbSize)}, ${JOBS} jobs, ${os.availableParallelism()} CPUs`);
  return dbSize;
}

/** `npm run bench [-- --json FILE]`: `--json` also writes the results as JSON (`BenchJson`). */
async function benchMain(argv: readonly string[]): Promise<void> {
  const jsonFile = parseFlags("bench", argv, { json: { type: "string" } }).json;
  const work = mkdtempSync(path.join(os.tmpdir(), "dr-bench-"));
  const pg = await startBenchServer();
  const az = await Azurite.start();
  const meter = CpuMeter.open(postmasterPid(pg.dataDir), azuritePid(az.port));
  say(
    `CPU of PostgreSQL and Azurite counted from ${meter.source === "cgroup" ? "cgroups of their own" : "/proc"}`,
  );
  try {
    const dbSize = await generateApp(pg, az);
    const b: Bench = {
      pg,
      az,
      work,
      env: (db) => childEnv(process.env, pg.connection(db)),
      fresh: async (db) => {
        await pg.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
        await pg.query("CHECKPOINT");
      },
      measured: measuring(meter),
    };
    const rows = benchRows();
    const loads: string[] = [];
    let verified = "";
    let ptrSteps = "";
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round} of ${ROUNDS}; load averages ${loadavg()}`);
      loads.push(loadavg());
      await seedRound(b, rows[0]!, round);
      for (const [k, z] of LOCAL_LEVELS.entries()) await localRound(b, rows[1 + k]!, round, k, z);
      for (const [k, v] of TOOL_VARIANTS.entries()) {
        const said = await toolRound(b, rows[1 + LOCAL_LEVELS.length + k]!, round, k, v);
        if (said !== undefined) verified = said;
      }
      ptrSteps = `ptr-phase steps (last round): ${await ptrPhase(pg, az, rows[rows.length - 1]!, round, b.measured)}`;
    }
    loads.push(loadavg());
    const head = [
      `database: ${formatBytes(dbSize)} (app-shaped, scale ${SCALE}); ${os.availableParallelism()} CPUs; jobs ${JOBS}; best of ${ROUNDS}`,
      `load averages (1, 5, 15 min) at the start of each round and at the end: ${loads.join(" → ")}`,
    ];
    process.stdout.write(
      `${[...head, "", ...reportTable(rows), "", ...goals(rows).map(goalLine), ptrSteps, verified].join("\n")}\n`,
    );
    if (jsonFile !== undefined) writeJson(jsonFile, { dbSize, rows, loads, cpuSource: meter.source });
  } finally {
    meter.close();
    await az.stop();
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** One goal of the bench: `ratio` (wall time over wall time, one run) must be at most `bound`. */
interface Goal {
  readonly goal: string;
  readonly ratio: number;
  readonly bound: number;
  readonly met: boolean;
}

/**
 * The goals, as ratios of wall times in this run: the tool (the Jobs' default row) against the fair seed and the
 * local limits (`-Z 0` for the backup; `pg_restore -j N` of the first local row for the restore), and the ptr
 * phase against one local restore.
 */
function goals(rows: readonly Row[]): Goal[] {
  const by = (id: string, phase: "backup" | "restore"): number => {
    const r = rows.find((x) => x.id === id);
    if (r === undefined) throw new Error(`bench: no row ${id} (BENCH_LOCAL / BENCH_TOOL leave it out)`);
    return best(r[phase]);
  };
  const localR = best(rows[1]!.restore);
  const g = (goal: string, ratio: number, bound: number): Goal => ({
    goal,
    ratio: round2(ratio),
    bound,
    met: ratio <= bound,
  });
  return [
    g("backup: tool / seed ≤ 1/1.5", by("tool", "backup") / by("seed", "backup"), round2(1 / 1.5)),
    g("backup: tool / local -Z 0 ≤ 1.3", by("tool", "backup") / by("local-z0", "backup"), 1.3),
    g("restore: tool / seed ≤ 1/1.5", by("tool", "restore") / by("seed", "restore"), round2(1 / 1.5)),
    g("restore: tool / local pg_restore ≤ 1.3", by("tool", "restore") / localR, 1.3),
    g("ptr phase / local restore ≤ 2.0", by("ptr-phase", "restore") / localR, 2.0),
  ];
}

const goalLine = (x: Goal) => `goal ${x.goal}: ${x.ratio.toFixed(2)} ${x.met ? "met" : "NOT met"}`;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** One row per method, in the order they run and print: seed, the local limits, the tool's variants, the ptr phase. */
function benchRows(): Row[] {
  const row = (id: string, method: string): Row => ({
    id,
    method,
    backup: [],
    restore: [],
    size: 0,
    cpu: {},
    steps: { backup: {}, restore: {} },
  });
  return [
    row("seed", "seed: pg_dump --compress=1 plain SQL, uploaded; downloaded, gunzip \\| psql"),
    ...LOCAL_LEVELS.map((z) =>
      row(`local-z${z}`, `local limit: pg_dump -Fd -j ${JOBS} -Z ${z}; pg_restore -j ${JOBS}`),
    ),
    ...TOOL_VARIANTS.map((v) => row(toolRowId(v), toolMethod(v))),
    row(
      "ptr-phase",
      "ptr-phase: restore --from-copy (scenario 2's restore Job: dump, restore, verify, compare)",
    ),
  ];
}

/** Times a step and records each process group's CPU seconds meanwhile (the row's last round). */
function measuring(meter: CpuMeter): Measured {
  return async (row, phase, label, fn) => {
    const c0 = meter.snapshot();
    const secs = await timed(label, fn);
    const c = cpuDelta(c0, meter.snapshot());
    row.cpu[phase] = c;
    say(
      `  CPU s: tool ${c.tool.toFixed(1)}, its children ${c.children.toFixed(1)}, PostgreSQL ${c.postgres.toFixed(1)}, Azurite ${c.azurite.toFixed(1)}; load ${loadavg()}`,
    );
    row[phase].push(secs);
  };
}

/**
 * The seed's method as its GitHub actions run it (DFE-Digital/github-actions backup-postgres and
 * restore-postgres-backup: docs/data-tool.md, "The bench"): pg_dump's gzipped plain SQL into a file, uploaded
 * to storage; downloaded to a file, then gunzip into psql. The upload and download go to the same Azurite as
 * the tool's, each one parallel block transfer of a whole file, as `az storage azcopy blob upload|download` does.
 */
async function seedRound(b: Bench, row: Row, round: number): Promise<void> {
  const sql = path.join(b.work, `seed-${round}.sql.gz`);
  const blob = b.az.store("bench");
  const blobName = `bench/seed-${round}.sql.gz`;
  await b.pg.query("CHECKPOINT");
  await b.measured(row, "backup", "seed backup", async () => {
    await stepOf(row, "backup", "dump", () => seedDump(b, sql));
    await stepOf(row, "backup", "upload", () => blockBlob(blob, blobName).then((c) => c.uploadFile(sql)));
  });
  row.size = sizeOf(sql);
  rmSync(sql);
  await b.fresh("seed_r");
  await b.pg.query('CREATE DATABASE "seed_r"');
  await b.measured(row, "restore", "seed restore", async () => {
    await stepOf(row, "restore", "download", () =>
      blockBlob(blob, blobName).then((c) => c.downloadToFile(sql)),
    );
    await stepOf(row, "restore", "psql", () => gunzipIntoPsql(sql, b.env("seed_r"), "seed_r"));
  });
  rmSync(sql);
  await containerClientDelete(b.az, blobName);
  await b.fresh("seed_r");
}

/** The seed's pg_dump line (backup-postgres: `-E utf8 --clean --compress=1 --if-exists --no-owner`). */
async function seedDump(b: Bench, file: string): Promise<void> {
  const fd = openSync(file, "w");
  try {
    const argv = ["-E", "utf8", "--clean", "--compress=1", "--if-exists", "--no-owner", "--no-password"];
    await exec("pg_dump", [...argv, `--dbname=dbname='app'`], b.env("app"), { stdout: fd });
  } finally {
    closeSync(fd);
  }
}

/** Times one step of a phase; the last round's value is kept in the row. */
async function stepOf<T>(
  row: Row,
  phase: "backup" | "restore",
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  row.steps[phase][name] = secs;
  say(`  ${name}: ${secs.toFixed(1)} s`);
  return r;
}

/** The local-file limit: pg_dump -Fd -j N into a directory and pg_restore -j N from it, nothing else. */
async function localRound(b: Bench, row: Row, round: number, k: number, z: string): Promise<void> {
  const dir = path.join(b.work, `local-${round}-${k}`);
  await b.pg.query("CHECKPOINT");
  await b.measured(row, "backup", `local backup (-Z ${z})`, () =>
    stepOf(row, "backup", "dump", () =>
      exec(
        "pg_dump",
        pgDumpArgv({ format: "directory", compress: z, jobs: JOBS, outputDir: dir, database: "app" }),
        b.env("app"),
      ),
    ),
  );
  row.size = sizeOf(dir);
  await b.fresh("local_r");
  await b.pg.query('CREATE DATABASE "local_r"');
  await b.measured(row, "restore", `local restore (-Z ${z})`, () =>
    stepOf(row, "restore", "pg_restore", () =>
      exec("pg_restore", pgRestoreArgv({ archive: dir, database: "local_r", jobs: JOBS }), b.env("local_r")),
    ),
  );
  rmSync(dir, { recursive: true });
  await b.fresh("local_r");
}

/** This tool's backup and verified restore through Azurite; the first variant's result is compared in the last round. */
async function toolRound(
  b: Bench,
  row: Row,
  round: number,
  k: number,
  v: ToolVariant,
): Promise<string | undefined> {
  const target = `tool_${v.format}_${k}`;
  await b.pg.query("CHECKPOINT");
  let blobName = "";
  row.steps = { backup: {}, restore: {} };
  await b.measured(row, "backup", `tool backup (${toolRowId(v)})`, async () => {
    const r = await backup({
      connection: b.pg.connection("app"),
      store: b.az.store("bench"),
      prefix: `bench/${v.format}-${k}`,
      format: v.format,
      ...(v.compress === undefined ? {} : { compress: v.compress }),
      jobs: JOBS,
      workDir: b.work,
      now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, round)),
      log: stepLog(row.steps.backup),
    });
    blobName = r.blobName;
    row.size = r.metadata.size;
  });
  restStep(row.steps.backup, row.backup.at(-1)!);
  await b.fresh(target);
  await b.pg.query("CHECKPOINT");
  await b.measured(row, "restore", `tool restore (${toolRowId(v)})`, () =>
    restore({
      connection: b.pg.connection("postgres"),
      store: b.az.store("bench"),
      from: { blob: blobName },
      database: target,
      runId: `bench-${round}`,
      jobs: JOBS,
      workDir: b.work,
      log: stepLog(row.steps.restore),
    }),
  );
  restStep(row.steps.restore, row.restore.at(-1)!);
  for (const phase of ["backup", "restore"] as const) {
    say(
      `  ${phase} steps: ${Object.entries(row.steps[phase])
        .map(([k, x]) => `${k} ${x.toFixed(1)} s`)
        .join(", ")}`,
    );
  }
  let verified: string | undefined;
  if (round === ROUNDS && k === 0) {
    const c = await compare({ left: b.pg.connection("app"), right: b.pg.connection(target), jobs: JOBS });
    verified = `compare app vs ${target}: ${c.equal ? `all ${c.relations.length} relations equal` : "DIFFERENT"}`;
  }
  await b.fresh(target);
  await b.fresh(`${target}_before_bench_${round}`);
  await containerClientDelete(b.az, blobName);
  return verified;
}

const best = (xs: number[]) => Math.min(...xs);

/** The markdown table: best times, and ratios against the seed and the first local row (the issue's -Z 1). */
function reportTable(rows: readonly Row[]): string[] {
  const seedB = best(rows[0]!.backup);
  const seedR = best(rows[0]!.restore);
  const localB = best(rows[1]!.backup);
  const localR = best(rows[1]!.restore);
  const fmt = (xs: number[]) =>
    `${best(xs).toFixed(1)}${xs.length > 1 ? ` (${xs.map((x) => x.toFixed(1)).join(", ")})` : ""}`;
  return [
    "| method | backup s | size | restore s | backup vs seed | restore vs seed | backup / local | restore / local | CPU s backup: tool / children / PostgreSQL / Azurite | CPU s restore |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => {
      const b = best(r.backup);
      const x = best(r.restore);
      if (r.id === "ptr-phase") {
        return (
          `| ${r.method} | ${fmt(r.backup)} (its dump) | ${formatBytes(r.size)} | ${fmt(r.restore)} (whole phase) | ` +
          `– | – | – | ${(x / localR).toFixed(2)} | – | ${fmtCpu(r.cpu.restore)} |`
        );
      }
      return (
        `| ${r.method} | ${fmt(r.backup)} | ${formatBytes(r.size)} | ${fmt(r.restore)} | ` +
        `${(seedB / b).toFixed(2)}× | ${(seedR / x).toFixed(2)}× | ${(b / localB).toFixed(2)} | ${(x / localR).toFixed(2)} | ` +
        `${fmtCpu(r.cpu.backup)} | ${fmtCpu(r.cpu.restore)} |`
      );
    }),
  ];
}

/** The JSON: `{scaleBytes, cpus, load, rows: [{method, backupS, restoreS, bytes, steps, cpu}], goals}`. */
function writeJson(
  file: string,
  r: { dbSize: number; rows: readonly Row[]; loads: readonly string[]; cpuSource: "cgroup" | "proc" },
): void {
  const { dbSize, rows } = r;
  const json: BenchJson = {
    scaleBytes: dbSize,
    cpus: os.availableParallelism(),
    cpuSource: r.cpuSource,
    load: r.loads,
    rows: rows.map((r) => ({
      method: r.id,
      backupS: round1(best(r.backup)),
      restoreS: round1(best(r.restore)),
      bytes: r.size,
      steps: r.steps,
      cpu: r.cpu,
    })),
    goals: goals(rows),
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  say(`wrote ${file}`);
}

const round1 = (x: number) => Math.round(x * 10) / 10;

type Measured = (
  row: Row,
  phase: "backup" | "restore",
  label: string,
  fn: () => Promise<unknown>,
) => Promise<void>;

/**
 * Scenario 2's restore phase as the program's restore Job runs it (plan/data-path.ts, `restore --from-copy`):
 * the PTR copy dumped into the work directory and stored as the evidence while pg_restore reads it into the live
 * database (an existing one, swapped), the stored dump read back and verified beside it, the contents check,
 * the swap, then the compare of live with the copy — one process, with the Job's defaults. The copy and live
 * are both made from `app` beforehand (not timed). The reconcile Job before it is not part of it: its cost is
 * the rows users wrote since, not the database's size. Returns the steps' seconds, in words.
 */
async function ptrPhase(
  pg: PgCluster,
  az: Azurite,
  row: Row,
  round: number,
  measured: Measured,
): Promise<string> {
  const runId = `bench-ptr-${round}`;
  for (const db of ["ptr_copy", "ptr_live", beforeDatabaseName("ptr_live", runId)]) {
    await pg.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  }
  await pg.query('CREATE DATABASE "ptr_copy" TEMPLATE app');
  await pg.query('CREATE DATABASE "ptr_live" TEMPLATE app');
  await pg.query("CHECKPOINT");
  row.steps.restore = {};
  let blobName = "";
  await measured(
    row,
    "restore",
    "ptr phase (restore --from-copy: dump, restore, verify, swap, compare)",
    async () => {
      const r = await restoreFromCopy({
        connection: pg.connection("postgres"),
        store: az.store("bench"),
        copy: { connection: pg.connection("ptr_copy"), prefix: `bench/ptr-${round}` },
        database: "ptr_live",
        runId,
        jobs: JOBS,
        workDir: os.tmpdir(),
        log: stepLog(row.steps.restore),
      });
      blobName = r.blobName ?? "";
      if (!r.comparison.equal) throw new Error("ptr phase: live and the copy differ after the restore");
    },
  );
  restStep(row.steps.restore, row.restore.at(-1)!);
  row.size =
    (await containerClient(az.store("bench")).getBlobClient(blobName).getProperties()).contentLength ?? 0;
  row.backup.push(row.steps.restore.dump ?? 0);
  for (const db of ["ptr_copy", "ptr_live", beforeDatabaseName("ptr_live", runId)]) {
    await pg.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  }
  await containerClientDelete(az, blobName);
  return Object.entries(row.steps.restore)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(", ");
}

/**
 * `tool` is the configuration the program's Jobs use (the directory format, backup()'s defaults); the others
 * `tool-<format>` (that format's defaults) or `tool-<format>-z<N>`.
 */
function toolRowId(v: ToolVariant): string {
  if (v.compress === undefined) return v.format === "directory" ? "tool" : `tool-${v.format}`;
  return `tool-${v.format}-z${v.compress}`;
}

/** The row's method, in words: what pg_dump and the stream do. */
function toolMethod(v: ToolVariant): string {
  if (v.format === "custom") return `tool, custom format streamed (-Fc -Z ${v.compress ?? "1"})`;
  if (v.compress === undefined)
    return `tool, directory format (-Fd -j ${JOBS} -Z 0 + tar \\| zstd -1), the Jobs' default`;
  return `tool, directory format (-Fd -j ${JOBS} -Z ${v.compress} + tar)`;
}

async function blockBlob(store: ReturnType<Azurite["store"]>, blobName: string) {
  const { containerClient } = await import("@service-dr/dr-data/blobstore");
  return containerClient(store).getBlockBlobClient(blobName);
}

async function containerClientDelete(az: Azurite, blobName: string): Promise<void> {
  await containerClient(az.store("bench")).getBlobClient(blobName).deleteIfExists();
}

benchMain(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\nusage: npm run bench [-- --json FILE]\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench failed: ${errorChain(err, { stack: true }).join("\ncaused by: ")}\n`);
  process.exitCode = 1;
});
