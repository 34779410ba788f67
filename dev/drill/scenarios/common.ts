/** What both scenarios share: the service before the incident, the steps after validation, the outcome. */
import { execFileSync } from "node:child_process";
import os from "node:os";
import { quoteIdent } from "@service-dr/dr-data/sql";
import { connectionEnvNames } from "@service-dr/dr-data";
import type { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { checkAppStayedUp, checkAppUpAroundRefresh } from "../checks/app";
import type { DrillContext } from "../context";
import { formatLevers, type Declared } from "../declared";
import type { DrillReport } from "../../../packages/dr-data/src/reports/drill-report-shape";
import type { RestorePointEvidence } from "../drill";
import { LOCAL_ADMINS } from "../servers";
import type { StepRecord } from "../timeline";
import { countsOf, seedCounts, totalRows, Workload, type Snapshot } from "../workload";

/** What a scenario hands back for the report. */
export interface ScenarioOutcome {
  restorePoint?: RestorePointEvidence;
  lossStatement?: string;
  expected: Snapshot;
  recovered: Snapshot;
  lostRows: number;
  sequences: readonly string[];
  env: Record<string, string>;
  /** scheduled: the drill's report as its report Job stored it. */
  drillReport?: DrillReport;
  /** Set when the scenario ran to its end but failed (scheduled: an objective missed). */
  failure?: string | undefined;
}

/** The live server and the service writing to it, from the first step on. */
export interface LiveService {
  readonly live: PgCluster;
  readonly db: string;
  readonly workload: Workload;
}

/** What the validate step leaves: the live database as recovered and how its sequences moved. */
export interface Validated {
  readonly recovered: Snapshot;
  readonly sequences: readonly string[];
}

function appDatabase(d: Declared): string {
  const db = d.nightly.env.find((e) => e.name === connectionEnvNames("").database)?.value;
  if (db === undefined) throw new Error("the nightly backup declares no PGDATABASE");
  return db;
}

/** The servers and the storage as the normal stack declares them; returns the live server and its workload. */
async function setUp(
  ctx: DrillContext,
  s: StepRecord,
  baseline: Declared,
  o: { walArchiveDir?: string },
): Promise<LiveService> {
  const db = appDatabase(baseline);
  const [azuritePort, live] = await Promise.all([
    ctx.servers.startStorage(baseline.container),
    ctx.servers.startServer(baseline, s, o),
  ]);
  for (const name of baseline.liveDatabases) await live.query(`CREATE DATABASE ${quoteIdent(name)}`);
  ctx.servers.byHost.set(baseline.liveServerFqdn, live);
  ctx.cluster.start(baseline);
  s.notes.push(
    `live server ${baseline.liveServerName} = PostgreSQL on 127.0.0.1:${live.port}` +
      (o.walArchiveDir === undefined ? "" : " with WAL archiving") +
      `, admin ${LOCAL_ADMINS} (the administrators group), databases ${baseline.liveDatabases.join(", ")}; storage container ${baseline.container} on Azurite at 127.0.0.1:${azuritePort}`,
  );
  const workload = new Workload(live.connection(db));
  const seed = seedCounts(ctx.o.rows);
  await workload.seed(seed);
  s.notes.push(`seeded ${db} with ${totalRows(seed)} rows`);
  return { live, db, workload };
}

/** The stack as committed (drMode none): the servers, the storage and the seeded database, before anything. */
export async function beforeIncident(
  ctx: DrillContext,
  s: StepRecord,
  baseline: Declared,
  o: { walArchiveDir?: string },
): Promise<LiveService> {
  s.commands.push("(stack as committed: drMode none)");
  s.levers = formatLevers(baseline.levers);
  return setUp(ctx, s, baseline, o);
}

/**
 * `pulumi refresh` in validate (by hand, `up --refresh`, drift detection): every patch's stored inputs become
 * the live values. The app must be up at its normal count before and after.
 */
export async function refreshInValidate(ctx: DrillContext): Promise<void> {
  await ctx.timeline.step("pulumi refresh in validate (the app is back)", true, (s) => {
    const d = ctx.declared;
    if (d === undefined || d.drPhase !== "validate") throw new Error("the refresh step runs in validate");
    checkAppUpAroundRefresh(ctx.evidence, ctx.cluster, s, d);
    return Promise.resolve();
  });
}

/**
 * The runbook's two steps after validation, the same in both scenarios: each one config change and `up`. They
 * run in validate, after a refresh: no patch may change the app's count (the hold's 0 is never re-applied).
 */
export async function maintenanceOffAndUnfreeze(ctx: DrillContext): Promise<void> {
  const keepsAppUp = async (s: StepRecord, d: Declared): Promise<void> => {
    const before = ctx.cluster.appState(d);
    const events = await ctx.apply(s, d);
    checkAppStayedUp(ctx.evidence, ctx.cluster, s, d, { before, events });
  };
  await ctx.timeline.step("Disable maintenance mode", true, async (s) => {
    await keepsAppUp(s, await ctx.up(s, (st) => [st.set("maintenance", "false")]));
  });
  await ctx.timeline.step("Unfreeze pipeline", true, async (s) => {
    const d = await ctx.up(s, (st) => [st.set("freeze", "false")]);
    await keepsAppUp(s, d);
    s.notes.push(`next: ${d.nextStep}`);
  });
}

/**
 * The runbook's close: drMode back to none and the incident's keys removed, with `alsoRemove` (the incident's
 * own blocks, such as `ptr`) removed after drPhase, then `up` applied. Returns what that `up` declared.
 */
export async function closeIncident(
  ctx: DrillContext,
  s: StepRecord,
  alsoRemove: readonly string[] = [],
): Promise<Declared> {
  const d = await ctx.up(s, (st) => [
    st.set("drMode", "none"),
    st.rm("drPhase"),
    ...alsoRemove.map((key) => st.rm(key)),
    st.rm("incidentId"),
    st.rm("maintenance"),
    st.rm("freeze"),
  ]);
  await ctx.apply(s, d);
  return d;
}

function clientVersion(): string {
  try {
    return execFileSync("pg_dump", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "pg_dump not found on PATH";
  }
}

/** The machine and the servers the figures come from, for the report. */
export async function environment(pg: PgCluster, database: string): Promise<Record<string, string>> {
  const v = await pg.query<{ v: string }>("SELECT version() AS v");
  const size = await pg.query<{ s: string }>("SELECT pg_size_pretty(pg_database_size($1)) AS s", [database]);
  const cpus = os.cpus();
  return {
    PostgreSQL: v.rows[0]?.v ?? "?",
    "PostgreSQL server binaries": pg.binDir,
    "PostgreSQL client (data tool, from PATH)": clientVersion(),
    [`Size of ${database} after the recovery`]: size.rows[0]?.s ?? "?",
    Node: process.version,
    Machine: `${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
  };
}

/** Rows written before the incident that the recovery did not bring back. */
export function lostRows(beforeLoss: Snapshot, recovered: Snapshot): number {
  return Math.max(0, totalRows(countsOf(beforeLoss)) - totalRows(countsOf(recovered)));
}
