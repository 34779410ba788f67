/**
 * scheduled (the `drill` setting, as the drill workflow runs it): the live server seeded with WAL archiving
 * and a base backup, the nightly CronJob's backup (its own args, verified in storage), the service writing.
 * Then, as the workflow does: `pulumi config set drill drill-YYYYMMDD-HHMM` (the drill's start minute, real
 * UTC; not committed) and `pulumi up` — the throwaway copy of live, then the Jobs it declares in their
 * dependency order: the newest nightly restored into a scratch database on the copy and checked against its
 * manifest, the copy inspected against live read only, the report with RPO and RTO against `objectives`.
 * The drill checks that live did not change, the app was never touched, the report is in storage. Then
 * `pulumi config rm drill` and `up`: everything the drill made is gone, the copy stopped and deleted.
 */
import { existsSync, rmSync } from "node:fs";
import { DateTime } from "luxon";
import { connectionEnvNames } from "@service-dr/dr-data";
import type { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { canConnect } from "@service-dr/dr-data/testkit/azurite";
import { DRILL_RESTORE_LAG_MINUTES } from "../../../config";
import { azureUtc } from "../../../plan";
import type { DrillReport } from "../../../packages/dr-data/src/reports/drill-report-shape";
import { checkAppAsSteadyState } from "../checks/app";
import { checkLiveUnchanged } from "../checks/data";
import { checkDrillReport } from "../checks/storage";
import type { DrillContext } from "../context";
import type { Declared, DeclaredDrill, OperatorStack } from "../declared";
import { inDependencyOrder } from "../engine";
import type { JobRun } from "../jobs";
import type { StepRecord } from "../timeline";
import { batchCounts, totalRows, type Snapshot } from "../workload";
import { beforeIncident, environment, type LiveService, type ScenarioOutcome } from "./common";
import { recoverCopy } from "./ptr";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live before the drill: its base backup and WAL (what the copy is recovered from), the nightly, the state. */
interface BeforeDrill extends LiveService {
  readonly base: string;
  readonly archive: string;
  /** A real instant after the nightly and a batch of writes: the local copy's restore point (see recoverCopy). */
  readonly copyTarget: DateTime;
  /** After the nightly Job finished: the drill may not start before this (plus `nightlyAgeMinutes`). */
  readonly nightlyDone: DateTime;
  readonly before: Snapshot;
}

/** What the drill's `up` left: the declaration, the copy, the report as stored. */
interface DrillRun {
  readonly declared: Declared & { readonly drill: DeclaredDrill };
  readonly copy: PgCluster;
  readonly report: DrillReport;
}

export async function scheduledScenario(
  ctx: DrillContext,
  _id: string,
  baseline: Declared,
): Promise<ScenarioOutcome> {
  const t = ctx.timeline;
  const archive = ctx.cleanup.tempDir("dr-drill-wal-");
  const live = await t.step(
    `Before the drill: the live server, the nightly backup (the CronJob ${baseline.nightly.name}), the service writing`,
    false,
    (s) => liveBeforeDrill(ctx, s, baseline, archive),
  );
  const start = await t.step("Wait for the drill's start minute", false, (s) =>
    drillStartMinute(ctx, s, live),
  );
  const run = await t.step(
    "pulumi up with drill set: the copy, restore into it, inspect, report",
    true,
    (s) => upWithDrill(ctx, s, { live, baseline, start }),
  );
  await t.step("pulumi up without drill: everything the drill made deleted", true, (s) =>
    removeDrill(ctx, s, { baseline, run }),
  );
  return {
    failure: scheduledFailure(run.report),
    expected: live.before,
    recovered: live.before,
    lostRows: 0,
    sequences: [],
    env: await environment(live.live, live.db),
    drillReport: run.report,
  };
}

/**
 * What fails the scheduled drill, from its stored report: a missed objective or a failed step (the report Job
 * then exits 1), after the tidy-up as in the workflow; undefined when the report says it passed.
 */
export function scheduledFailure(report: DrillReport): string | undefined {
  return report.result === "passed"
    ? undefined
    : `the drill FAILED (its report Job exited 1): ${report.problems.join("; ")}`;
}

/** The nightly backup by its CronJob's own args, then writes, the copy's restore point, more writes. */
async function liveBeforeDrill(
  ctx: DrillContext,
  s: StepRecord,
  baseline: Declared,
  archive: string,
): Promise<BeforeDrill> {
  const service = await beforeIncident(ctx, s, baseline, { walArchiveDir: archive });
  const base = await service.live.baseBackup();
  s.notes.push("base backup taken (stands in for Azure's automated backup); WAL archived from here on");
  await ctx.runJob(s, baseline.nightly);
  const nightlyDone = DateTime.utc();
  await ctx.evidence.stage("at the nightly backup", service.live, service.db);
  await writeBatch(ctx, s, service, "after the nightly");
  // The next whole second (recovery_target_time as the program writes one), strictly after the batch.
  const copyTarget = DateTime.utc().startOf("second").plus({ seconds: 1 });
  while (Date.now() <= copyTarget.toMillis() + 20) await sleep(20);
  // Writes after the copy's restore point: the recovery reaches it, and the inspection sees them as new.
  await writeBatch(ctx, s, service, "after the copy's restore point");
  await service.live.switchWal();
  const before = await ctx.evidence.stage("live before the drill", service.live, service.db);
  return { ...service, base, archive, copyTarget, nightlyDone, before };
}

async function writeBatch(ctx: DrillContext, s: StepRecord, h: LiveService, when: string): Promise<void> {
  const batch = batchCounts(ctx.o.rows, { placements: true });
  await h.workload.write(batch);
  s.notes.push(`${when}: the service writes ${totalRows(batch)} rows`);
}

/**
 * The drill is named by its start minute in UTC (`drill-YYYYMMDD-HHMM`, the workflow's clock) and measured
 * from it: the RPO from the newest verified nightly begun at or before it. So the minute may not begin before
 * the nightly finished (plus `--nightly-age-minutes`, the time a schedule leaves between them): the drill
 * waits, really, for the first such minute.
 */
async function drillStartMinute(ctx: DrillContext, s: StepRecord, h: BeforeDrill): Promise<DateTime> {
  const earliest = h.nightlyDone.plus({ minutes: ctx.o.nightlyAgeMinutes ?? 0 });
  const first = earliest.equals(earliest.startOf("minute"))
    ? earliest
    : earliest.startOf("minute").plus({ minutes: 1 });
  while (DateTime.utc() < first) await sleep(Math.min(1000, first.toMillis() - Date.now() + 5));
  const start = DateTime.utc().startOf("minute");
  s.notes.push(
    `nightly finished ${azureUtc(h.nightlyDone)}; the drill starts in the minute ${azureUtc(start)} (real UTC)`,
  );
  return start;
}

/** `pulumi config set drill …` as the workflow sets it, and the objectives `--rpo-minutes`/`--rto-minutes` set. */
function drillConfig(ctx: DrillContext, start: DateTime): (st: OperatorStack) => string[] {
  return (st) => [
    st.set("drill", `drill-${start.toFormat("yyyyLLdd-HHmm")}`),
    ...(ctx.o.rpoMinutes === undefined ? [] : [st.set("objectives.rpoMinutes", String(ctx.o.rpoMinutes))]),
    ...(ctx.o.rtoMinutes === undefined ? [] : [st.set("objectives.rtoMinutes", String(ctx.o.rtoMinutes))]),
  ];
}

/**
 * The workflow's first `up`: the drill set (and `--rpo-minutes`/`--rto-minutes` as objectives), run with
 * the real clock (the drill's start must not be in the future; its copy's restore point is 5 minutes before).
 */
async function upWithDrill(
  ctx: DrillContext,
  s: StepRecord,
  o: { live: BeforeDrill; baseline: Declared; start: DateTime },
): Promise<DrillRun> {
  const d = await ctx.up(s, drillConfig(ctx, o.start), DateTime.utc());
  const drill = declaredDrillAt(d, o.start);
  checkAppAsSteadyState(ctx.evidence, ctx.cluster, {
    steady: o.baseline,
    drill: d,
    events: await ctx.apply(s, d),
  });
  const copy = await startDrillCopy(ctx, s, drill, o.live);
  await runDrillJobs(ctx, s, { ...d, drill });
  const after = await ctx.evidence.stage("live after the drill", o.live.live, o.live.db);
  checkLiveUnchanged(ctx.evidence, o.live.before, after);
  await checkScratchOnCopyOnly(ctx, { copy, live: o.live, scratch: scratchDatabase(drill) });
  const report = await checkDrillReport(ctx.evidence, ctx.servers, d);
  return { declared: { ...d, drill }, copy, report };
}

/** The program's drill for this start: its id and its copy's restore point, as the workflow expects them. */
function declaredDrillAt(d: Declared, start: DateTime): DeclaredDrill {
  const drill = d.drill;
  if (drill === undefined) throw new Error("the program declared no drill with the setting set");
  const id = `drill-${start.toFormat("yyyyLLdd-HHmm")}`;
  const at = azureUtc(start.minus({ minutes: DRILL_RESTORE_LAG_MINUTES }));
  if (drill.id !== id || drill.copyPointInTimeUtc !== at)
    throw new Error(
      `the program declared drill ${drill.id} with its copy at ${drill.copyPointInTimeUtc}; expected ${id} at ${at}`,
    );
  return drill;
}

/**
 * The copy, recovered from live's base backup and WAL. Its declared restore point (the start minus 5
 * minutes) is before this local live server existed, so the local copy is recovered to a real instant after
 * the nightly instead: recorded as a substitution (what the drill checks does not depend on the instant).
 */
async function startDrillCopy(
  ctx: DrillContext,
  s: StepRecord,
  drill: DeclaredDrill,
  h: BeforeDrill,
): Promise<PgCluster> {
  const targetTime = azureUtc(h.copyTarget);
  const copy = await recoverCopy(ctx, {
    fqdn: drill.copyServerFqdn,
    targetTime,
    base: h.base,
    archive: h.archive,
    user: h.live.user,
  });
  ctx.evidence.substitutions.add(
    `drill copy pointInTimeUTC (the drill's start − ${DRILL_RESTORE_LAG_MINUTES} min) → a real instant after the nightly (the local live server is younger than that)`,
  );
  s.notes.push(
    `program declares ${drill.copyServerFqdn} with pointInTimeUTC ${drill.copyPointInTimeUtc}; local copy = PostgreSQL on 127.0.0.1:${copy.port}, recovered from the base backup and WAL to ${targetTime}`,
  );
  return copy;
}

/** The drill's Jobs in the engine's order (their dependsOn); the report Job's exit 1 is a missed objective. */
async function runDrillJobs(
  ctx: DrillContext,
  s: StepRecord,
  d: Declared & { readonly drill: DeclaredDrill },
): Promise<void> {
  const drill = d.drill;
  const order: string[] = [];
  await inDependencyOrder(
    drill.jobs.map((job) => ({
      resource: job.resource,
      dependsOn: job.dependsOn,
      run: async () => {
        const run: JobRun = await ctx.runTool(s, job);
        order.push(job.name);
        if (run.exitCode !== 0 && job.step !== "report")
          throw new Error(
            `Job ${job.name} failed (exit ${run.exitCode}):\n${run.stderrTail.split("\n").slice(-15).join("\n")}`,
          );
        const off = ctx.cluster.appOffNormal(d);
        if (off !== undefined)
          throw new Error(`the app is not at its normal count during ${job.name}: ${off}`);
      },
    })),
  );
  if (JSON.stringify(order) !== JSON.stringify(drill.jobs.map((j) => j.name)))
    throw new Error(`the drill's Jobs ran as ${order.join(" → ")}, not in the declared order`);
  ctx.evidence.check(
    `the drill's Jobs ran in their declared order beside the running app: ${order.join(" → ")}`,
  );
}

function scratchDatabase(drill: DeclaredDrill): string {
  const restore = drill.jobs.find((j) => j.step === "restore");
  const db = restore?.env.find((e) => e.name === connectionEnvNames("").database)?.value;
  if (db === undefined) throw new Error("the drill's restore Job declares no PGDATABASE");
  return db;
}

async function databases(pg: PgCluster): Promise<string[]> {
  const rows = (await pg.query<{ datname: string }>("SELECT datname FROM pg_database")).rows;
  return rows.map((r) => r.datname);
}

/** The nightly was restored into the scratch database on the copy, never on live. */
async function checkScratchOnCopyOnly(
  ctx: DrillContext,
  o: { copy: PgCluster; live: LiveService; scratch: string },
): Promise<void> {
  const onCopy = (await databases(o.copy)).includes(o.scratch);
  const onLive = (await databases(o.live.live)).includes(o.scratch);
  if (!onCopy || onLive)
    throw new Error(
      `the scratch database ${o.scratch} is ${onCopy ? "" : "not "}on the copy and ${onLive ? "" : "not "}on live`,
    );
  ctx.evidence.check(`the nightly was restored into ${o.scratch} on the copy; live has no such database`);
}

/**
 * The workflow's second `up`: `pulumi config rm drill`. Every resource the drill's `up` added is gone and the
 * declaration is the committed stack's again; like Azure deleting the copy, the drill stops it and deletes its
 * data (the scratch database with it).
 */
async function removeDrill(
  ctx: DrillContext,
  s: StepRecord,
  o: { baseline: Declared; run: DrillRun },
): Promise<void> {
  const d = await ctx.up(s, (st) => [st.rm("drill")], DateTime.utc());
  const made = o.run.declared.resources.filter((r) => !o.baseline.resources.includes(r));
  const left = made.filter((r) => d.resources.includes(r));
  const same = JSON.stringify([...d.resources].sort()) === JSON.stringify([...o.baseline.resources].sort());
  if (d.drill !== undefined || made.length === 0 || left.length > 0 || !same)
    throw new Error(
      `after removing drill: still declared ${left.join(", ") || "(none)"}; same as the committed stack: ${same}`,
    );
  await ctx.apply(s, d);
  const { copy } = o.run;
  await copy.stop();
  rmSync(copy.dataDir, { recursive: true, force: true });
  ctx.servers.byHost.delete(o.run.declared.drill.copyServerFqdn);
  if ((await canConnect(copy.port)) || existsSync(copy.dataDir))
    throw new Error(`the drill copy on port ${copy.port} is still there`);
  ctx.evidence.check(
    `pulumi up without drill: the ${made.length} resources the drill made are no longer declared (${made.map((r) => r.split("::")[1]).join(", ")}); ` +
      `the declaration is the committed stack's again (${d.resources.length} resources); the copy stopped and its data (the scratch database) deleted`,
  );
}
