/**
 * rebuild (seed scenario 1, loss of the server): the nightly CronJob's backup; writes after it (lost by
 * design); the live server is stopped and its data directory deleted. Then: isolate (the program declares the
 * server again with createMode Create: a new empty server with the declared databases) → restore (the restore
 * Job: newest nightly dump; the compare Job: the rebuilt database against that backup's manifest) → validate
 * (the drill's own check against the state it recorded at the nightly backup) → maintenance off → unfreeze →
 * close. Every step in the runbook's order, through the same dependency-ordered executor.
 */
import { existsSync } from "node:fs";
import { quoteIdent } from "@service-dr/dr-data/sql";
import type { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { checkRebuilt } from "../checks/data";
import { checkJobLogs } from "../checks/storage";
import type { DrillContext } from "../context";
import { formatLevers, type Declared } from "../declared";
import type { StepRecord } from "../timeline";
import { batchCounts, totalRows, type Snapshot } from "../workload";
import {
  beforeIncident,
  closeIncident,
  environment,
  lostRows,
  maintenanceOffAndUnfreeze,
  refreshInValidate,
  type LiveService,
  type ScenarioOutcome,
  type Validated,
} from "./common";

export async function rebuildScenario(
  ctx: DrillContext,
  id: string,
  baseline: Declared,
): Promise<ScenarioOutcome> {
  const t = ctx.timeline;
  const service = await t.step("Before the incident: the live server, the service writing", false, (s) =>
    beforeIncident(ctx, s, baseline, {}),
  );
  const history = await t.step(`Nightly backup (the CronJob ${baseline.nightly.name})`, false, (s) =>
    nightlyBackupThenLaterWrites(ctx, s, baseline, service),
  );
  await t.step("Incident: loss of the database server", false, (s) =>
    destroyLiveServer(ctx, s, baseline, service.live),
  );
  const rebuilt = await t.step("Freeze pipeline, maintenance mode, recreate the lost server", true, (s) =>
    recreateLostServer(ctx, s, id),
  );
  await t.step("Restore the data from the nightly backup in storage", true, (s) =>
    restoreFromNightlyBackup(ctx, s),
  );
  const validated = await t.step("Validate app (the drill checks the data)", true, (s) =>
    validateRebuilt(ctx, s, id, { rebuilt, db: service.db, expected: history.expected }),
  );
  await refreshInValidate(ctx);
  await maintenanceOffAndUnfreeze(ctx);
  await t.step("Close the incident", true, (s) => closeRebuildIncident(ctx, s));
  return {
    expected: history.expected,
    recovered: validated.recovered,
    lostRows: lostRows(history.beforeLoss, validated.recovered),
    sequences: validated.sequences,
    env: await environment(rebuilt, service.db),
  };
}

/** The drill's own record of the database at the nightly backup, and after the writes the rebuild must lose. */
interface RebuildHistory {
  readonly expected: Snapshot;
  readonly beforeLoss: Snapshot;
}

/** The rows written after the backup are lost by design (the RPO): they make the lost-rows count non-zero. */
async function nightlyBackupThenLaterWrites(
  ctx: DrillContext,
  s: StepRecord,
  baseline: Declared,
  service: LiveService,
): Promise<RebuildHistory> {
  s.levers = formatLevers(baseline.levers);
  const expected = await ctx.evidence.stage("at the nightly backup", service.live, service.db);
  await ctx.runJob(s, baseline.nightly);
  const after = batchCounts(ctx.o.rows, { placements: true });
  await service.workload.write(after);
  s.notes.push(`after the backup the service writes ${totalRows(after)} more rows (lost by design: the RPO)`);
  const beforeLoss = await ctx.evidence.stage(
    "before the loss (after later writes)",
    service.live,
    service.db,
  );
  return { expected, beforeLoss };
}

/** Stopping is not enough: the data directory goes too, so nothing of the old server can leak into the new. */
async function destroyLiveServer(
  ctx: DrillContext,
  s: StepRecord,
  baseline: Declared,
  live: PgCluster,
): Promise<void> {
  const dataDir = live.dataDir;
  await live.stop();
  ctx.servers.byHost.delete(baseline.liveServerFqdn);
  if (existsSync(dataDir)) throw new Error(`${dataDir} still exists`);
  s.notes.push(`live server stopped and its data directory ${dataDir} deleted`);
}

/** What Azure would create from the declaration (createMode Create): an empty server with the declared databases. */
async function recreateLostServer(ctx: DrillContext, s: StepRecord, id: string): Promise<PgCluster> {
  const d = await ctx.up(s, (st) => [st.set("incidentId", id), st.set("drMode", "rebuild")]);
  if (d.liveCreateMode !== "Create") {
    throw new Error(
      `the program declares the live server with createMode ${d.liveCreateMode ?? "(none)"}, not Create`,
    );
  }
  // The runbook's one-time setup again on the new server, before its first nightly backup.
  const rebuilt = await ctx.servers.startServer(d, s);
  for (const name of d.liveDatabases) await rebuilt.query(`CREATE DATABASE ${quoteIdent(name)}`);
  ctx.servers.byHost.set(d.liveServerFqdn, rebuilt);
  s.notes.push(
    `program declares ${d.liveServerName} with createMode Create: a new empty PostgreSQL on 127.0.0.1:${rebuilt.port} ` +
      `with the declared databases (${d.liveDatabases.join(", ")})`,
  );
  await ctx.apply(s, d);
  return rebuilt;
}

async function restoreFromNightlyBackup(ctx: DrillContext, s: StepRecord): Promise<void> {
  const d = await ctx.up(s, (st) => [st.set("drPhase", "restore")]);
  if (d.jobs.length === 0) throw new Error("the program declared no restore Job");
  await ctx.apply(s, d);
}

/** The program's compare Job checks against the backup's manifest; the drill checks against its own record. */
async function validateRebuilt(
  ctx: DrillContext,
  s: StepRecord,
  id: string,
  o: { rebuilt: PgCluster; db: string; expected: Snapshot },
): Promise<Validated> {
  const d = await ctx.up(s, (st) => [st.set("drPhase", "validate")]);
  await ctx.apply(s, d);
  await checkJobLogs(ctx.evidence, ctx.servers, d, id);
  const recovered = await ctx.evidence.stage("live after the recovery", o.rebuilt, o.db);
  const sequences = checkRebuilt(ctx.evidence, o.expected, recovered);
  s.notes.push("data check: rebuilt live = state at the nightly backup, table by table");
  return { recovered, sequences };
}

async function closeRebuildIncident(ctx: DrillContext, s: StepRecord): Promise<void> {
  const d = await closeIncident(ctx, s);
  s.notes.push(`next: ${d.nextStep}`);
}
