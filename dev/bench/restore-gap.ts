/**
 * `npm run bench:restore-gap`: where the tool's `pg_restore` step loses time against a plain local `pg_restore`.
 *
 * One application-shaped database (BENCH_SCALE, default 80) is dumped once as the program's Jobs dump it
 * (`-Fd -Z 0`, which the tool then tars and compresses for storage: restore unpacks it back to this directory).
 * Then `pg_restore -j N` of that one directory runs into a fresh database once per variant, each variant adding
 * one of the differences between the bench's local row and the tool's restore step, so each difference is
 * measured alone: the per-connection settings the tool sends (PGOPTIONS), each of them alone, the CREATE
 * DATABASE clauses of its staging database, `--verbose` with the 5-second size heartbeat, and the bytes of the
 * download still dirty in the page cache. Every variant runs BENCH_ROUNDS times (default 2), interleaved, so a
 * load change shows as a spread rather than as a difference.
 *
 * Per run: wall seconds, CPU seconds of PostgreSQL and of pg_restore, and the server's own statistics
 * (pg_stat_wal: WAL bytes and full-page images; pg_stat_bgwriter: checkpoints, buffers written by backends;
 * temp bytes). Not a test. `--json FILE` writes the runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseFlags } from "@service-dr/dr-data";
import { createAppData } from "@service-dr/dr-data/testkit/appdata";
import { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { childEnv, pgDumpArgv, pgRestoreArgv } from "@service-dr/dr-data/pgargs";
import { DEFAULT_RESTORE_SETTINGS } from "@service-dr/dr-data/restore";
import { formatBytes } from "@service-dr/dr-data/progress";
import { cpuDelta, CpuMeter, postmasterPid } from "./cpu";
import { exec, startBenchServer } from "./harness";

const SCALE = Number(process.env.BENCH_SCALE ?? "80");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "2");
const JOBS = Number(process.env.BENCH_JOBS ?? Math.max(2, os.availableParallelism()));
const say = (line: string) => process.stderr.write(`restore-gap: ${line}\n`);

/** One difference (or several) between the local row and the tool's pg_restore step. */
interface Variant {
  readonly id: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly createClauses: string;
  /** `--verbose` and a `pg_database_size` query every 5 s, as the tool's heartbeat does. */
  readonly heartbeat: boolean;
  /** Rewrite the archive's files just before (the download's bytes dirty in the page cache). */
  readonly dirtyCache: boolean;
}

const TOOL_CLAUSES = "TEMPLATE template0 ENCODING 'UTF8'";
const base: Variant = { id: "local", settings: {}, createClauses: "", heartbeat: false, dirtyCache: false };
const VARIANTS: readonly Variant[] = [
  base,
  { ...base, id: "+settings", settings: DEFAULT_RESTORE_SETTINGS },
  ...Object.entries(DEFAULT_RESTORE_SETTINGS).map(([k, v]) => ({
    ...base,
    id: `+${k}`,
    settings: { [k]: v },
  })),
  { ...base, id: "+template0", createClauses: TOOL_CLAUSES },
  { ...base, id: "+heartbeat", heartbeat: true },
  { ...base, id: "+dirty-cache", dirtyCache: true },
  {
    id: "tool-step",
    settings: DEFAULT_RESTORE_SETTINGS,
    createClauses: TOOL_CLAUSES,
    heartbeat: true,
    dirtyCache: true,
  },
];

interface ServerStats {
  walBytes: number;
  walFpi: number;
  checkpoints: number;
  buffersBackend: number;
  tempBytes: number;
}

interface Run {
  readonly variant: string;
  readonly round: number;
  readonly wallS: number;
  readonly postgresCpuS: number;
  readonly pgRestoreCpuS: number;
  readonly server: ServerStats;
  readonly load: string;
}

const STATS_SQL = `SELECT w.wal_bytes::text AS wal, w.wal_fpi::text AS fpi,
  (b.checkpoints_timed + b.checkpoints_req)::text AS ckpt, b.buffers_backend::text AS backend,
  (SELECT sum(temp_bytes) FROM pg_stat_database)::text AS temp
  FROM pg_stat_wal w, pg_stat_bgwriter b`;

async function serverStats(pg: PgCluster): Promise<ServerStats> {
  const r = await pg.query<{ wal: string; fpi: string; ckpt: string; backend: string; temp: string }>(
    STATS_SQL,
  );
  const x = r.rows[0]!;
  return {
    walBytes: Number(x.wal),
    walFpi: Number(x.fpi),
    checkpoints: Number(x.ckpt),
    buffersBackend: Number(x.backend),
    tempBytes: Number(x.temp),
  };
}

const statsDelta = (a: ServerStats, b: ServerStats): ServerStats => ({
  walBytes: b.walBytes - a.walBytes,
  walFpi: b.walFpi - a.walFpi,
  checkpoints: b.checkpoints - a.checkpoints,
  buffersBackend: b.buffersBackend - a.buffersBackend,
  tempBytes: b.tempBytes - a.tempBytes,
});

/** Rewrites every file of the archive (same bytes), leaving them dirty in the page cache as a download does. */
function rewriteArchive(dir: string): Promise<void> {
  return exec(
    "sh",
    ["-c", `for f in "${dir}"/*; do cp "$f" "$f.tmp" && mv "$f.tmp" "$f"; done`],
    process.env,
  );
}

async function runVariant(
  pg: PgCluster,
  meter: CpuMeter,
  dir: string,
  v: Variant,
  round: number,
): Promise<Run> {
  const db = `gap_${round}`;
  await pg.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  if (v.dirtyCache) await rewriteArchive(dir);
  else await exec("sync", [], process.env);
  await pg.query(`CREATE DATABASE ${db} ${v.createClauses}`);
  await pg.query("CHECKPOINT");
  const s0 = await serverStats(pg);
  const c0 = meter.snapshot();
  const heartbeat = v.heartbeat
    ? setInterval(() => void pg.query("SELECT pg_database_size($1)", [db]).catch(() => undefined), 5000)
    : undefined;
  const t0 = process.hrtime.bigint();
  try {
    await exec(
      "pg_restore",
      pgRestoreArgv({ archive: dir, database: db, jobs: JOBS, verbose: v.heartbeat }),
      childEnv(process.env, pg.connection(db), { settings: v.settings }),
    );
  } finally {
    clearInterval(heartbeat);
  }
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = cpuDelta(c0, meter.snapshot());
  const server = statsDelta(s0, await serverStats(pg));
  await pg.query(`DROP DATABASE ${db} WITH (FORCE)`);
  return {
    variant: v.id,
    round,
    wallS,
    postgresCpuS: c.postgres,
    pgRestoreCpuS: c.children,
    server,
    load: os.loadavg()[0]!.toFixed(2),
  };
}

const line = (r: Run) =>
  `${r.variant.padEnd(28)} round ${r.round}: ${r.wallS.toFixed(1)} s wall; CPU s PostgreSQL ` +
  `${r.postgresCpuS.toFixed(1)}, pg_restore ${r.pgRestoreCpuS.toFixed(1)}; WAL ${formatBytes(r.server.walBytes)} ` +
  `(${r.server.walFpi} FPI); checkpoints ${r.server.checkpoints}; backend writes ${r.server.buffersBackend}; ` +
  `temp ${formatBytes(r.server.tempBytes)}; load ${r.load}`;

async function main(argv: readonly string[]): Promise<void> {
  const jsonFile = parseFlags("restore-gap", argv, { json: { type: "string" } }).json;
  const work = mkdtempSync(path.join(os.tmpdir(), "dr-restore-gap-"));
  // The bench's server, so the figures are comparable with its rows.
  const pg = await startBenchServer();
  const meter = CpuMeter.open(postmasterPid(pg.dataDir), -1);
  try {
    await pg.query("CREATE DATABASE app");
    await createAppData(pg.connection("app"), SCALE);
    const dir = path.join(work, "dump");
    await exec(
      "pg_dump",
      pgDumpArgv({ format: "directory", compress: "0", jobs: JOBS, outputDir: dir, database: "app" }),
      childEnv(process.env, pg.connection("app")),
    );
    await pg.query("DROP DATABASE app WITH (FORCE)");
    say(
      `scale ${SCALE}, ${JOBS} jobs, ${os.availableParallelism()} CPUs, PostgreSQL's CPU from ${meter.source}, ` +
        `load ${os.loadavg().join(" ")}`,
    );
    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        const r = await runVariant(pg, meter, dir, v, round);
        say(line(r));
        runs.push(r);
      }
    }
    if (jsonFile !== undefined) {
      const json = {
        scale: SCALE,
        jobs: JOBS,
        cpus: os.availableParallelism(),
        cpuSource: meter.source,
        runs,
      };
      writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
    }
  } finally {
    meter.close();
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`restore-gap failed: ${String(err)}\n`);
  process.exitCode = 1;
});
