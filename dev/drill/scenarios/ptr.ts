/**
 * ptr (seed scenario 2, loss of data): a live server with WAL archiving and a base backup; a first batch of
 * writes; the operator notes the wall-clock time in the stack's zone; more writes; a destructive statement.
 * Then: isolate (flawed backup Job) → ptr.restoreTime (the PTR copy: a real point-in-time recovery to the
 * `pointInTimeUTC` the program declares) → a jump straight to validate, skipping drPhase restore (the program
 * holds web and worker at 0, runs reconcile and the restore — one Job: the copy's dump, the swap, the compare
 * with the copy — and only then brings the app back; the drill applies the declared patches and Jobs in the
 * engine's dependency order and fails if a Job would run under a live app) → the drill's own check (the live database holds exactly the tables as they were at the
 * restore time; the flawed dump and every Job's log are in storage) → maintenance off → unfreeze → tidy up
 * (the PTR copy is no longer declared: it is stopped).
 */
import { DateTime } from "luxon";
import { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { azureUtc, resolveRestoreTime } from "../../../plan";
import { checkAppBackAfterJobs } from "../checks/app";
import {
  checkKeptPreviousRows,
  checkLiveAgainstReference,
  mixed,
  restoredState,
  withoutKept,
} from "../checks/data";
import { checkInspection, checkJobLogs, checkReconciliation } from "../checks/storage";
import type { DrillContext } from "../context";
import type { Declared } from "../declared";
import type { StepRecord } from "../timeline";
import {
  batchCounts,
  checkAgainst,
  totalRows,
  type RowCounts,
  type Snapshot,
  type Workload,
} from "../workload";
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The database as the drill recorded it before the ptr incident: what the data checks compare against. */
interface PtrHistory extends LiveService {
  /**
   * Base backups: with the archived WAL, what the PTR copies are recovered from. A recovery starts in its base
   * backup's directory, so each copy (the first restore time, the second in validate) takes its own.
   */
  readonly bases: readonly [string, string];
  readonly requestedLocal: string;
  readonly notedUtc: DateTime;
  /** At the restore point (after batch 1). */
  readonly expected: Snapshot;
  /** The ids batch 2 (after the restore point) wrote, per table: [from, to). */
  readonly writtenSince: { from: RowCounts; to: RowCounts };
  readonly beforeLoss: Snapshot;
}

interface PtrLoss {
  readonly lossStatement: string;
  readonly flawedState: Snapshot;
}

export async function ptrScenario(
  ctx: DrillContext,
  id: string,
  baseline: Declared,
): Promise<ScenarioOutcome> {
  const t = ctx.timeline;
  // Made before the live server starts: it archives its WAL here from the start, for the PTR copy to replay.
  const archive = ctx.cleanup.tempDir("dr-drill-wal-");
  const history = await t.step(
    "Before the incident: the live server, its backups, the service writing",
    false,
    (s) => writeAroundRestorePoint(ctx, s, baseline, archive),
  );
  const loss = await t.step("Incident: data loss", false, (s) => deleteRowsAndArchiveWal(ctx, s, history));
  await t.step(
    "Stop the service, freeze the pipeline, maintenance mode, back up the flawed database",
    true,
    (s) => stopServiceAndBackUpFlawed(ctx, s, id),
  );
  const restore = await t.step(
    `Restore postgres database (PTR) to ${history.requestedLocal} ${t.zone}`,
    true,
    (s) => restorePtrCopy(ctx, s, id, { h: history, archive, loss }),
  );
  // The jump isolate → validate (the restore phase skipped): the program holds the app at 0, runs the
  // export and the restore (the copy's dump, the swap and the compare with the copy, in one Job), and only
  // then brings the app back.
  const validated = await t.step(
    "Jump to validate (drPhase restore skipped): restore, compare, then the app back",
    true,
    (s) => jumpToValidate(ctx, s, id, history, loss),
  );
  await refreshInValidate(ctx);
  // The operator picks another restore time in validate, with the app back and the hold's state refreshed:
  // the app stops for the new Jobs only, and comes back after them.
  const second = await t.step(
    `A new restore time in validate: ${restoreTimeLocal(history.notedUtc.plus({ seconds: 1 }), t.zone)} ${t.zone}`,
    true,
    (s) => newRestoreTimeInValidate(ctx, s, { h: history, archive, first: restore.ptr }),
  );
  await refreshInValidate(ctx);
  await maintenanceOffAndUnfreeze(ctx);
  await t.step("Tidy up: delete the PTR copy", true, (s) => deletePtrCopy(ctx, s, second));
  return ptrOutcome(ctx, history, loss, restore.declared, validated);
}

/**
 * Batch 1, the operator's noted time, batch 2: the restore point falls between two batches, so the check can
 * tell a recovery to the right instant from one a batch early or late.
 */
async function writeAroundRestorePoint(
  ctx: DrillContext,
  s: StepRecord,
  baseline: Declared,
  archive: string,
): Promise<PtrHistory> {
  const zone = ctx.timeline.zone;
  const { live, db, workload } = await beforeIncident(ctx, s, baseline, { walArchiveDir: archive });
  const bases = [await live.baseBackup(), await live.baseBackup()] as const;
  s.notes.push("base backup taken (stands in for Azure's automated backup); WAL archived from here on");
  await ctx.evidence.stage("seed, at the base backup", live, db);
  const batch1 = batchCounts(ctx.o.rows, { placements: true });
  await workload.write(batch1);
  const { notedUtc, requestedLocal } = operatorNotesTime(zone);
  s.notes.push(`batch 1: ${totalRows(batch1)} rows written`);
  const expected = await ctx.evidence.stage("at the restore point (after batch 1)", live, db);
  s.notes.push(`operator notes the time: ${requestedLocal} (${zone}) = ${azureUtc(notedUtc)}`);
  const writtenSince = await writeAfterNotedTime(ctx, s, workload, notedUtc);
  const beforeLoss = await ctx.evidence.stage("after batch 2, before the loss", live, db);
  return { live, db, workload, bases, requestedLocal, notedUtc, expected, writtenSince, beforeLoss };
}

/** The operator notes the time: the next whole second, strictly after batch 1 committed. */
function operatorNotesTime(zone: string): { notedUtc: DateTime; requestedLocal: string } {
  const notedUtc = DateTime.utc().startOf("second").plus({ seconds: 1 });
  return { notedUtc, requestedLocal: restoreTimeLocal(notedUtc, zone) };
}

/** `ptr.restoreTime` for an instant: the wall clock in the stack's zone, with its offset where that is ambiguous. */
function restoreTimeLocal(utc: DateTime, zone: string): string {
  const local = utc.setZone(zone).toFormat("yyyy-LL-dd'T'HH:mm:ss");
  // The fall-back hour: the wall clock alone is ambiguous, so the operator adds the offset (docs/runbook.md).
  return resolveRestoreTime(local, zone).ok ? local : local + utc.setZone(zone).toFormat("ZZ");
}

/**
 * Batch 2 waits until the clock is past the noted time and the second after it: none of it may fall at or
 * before the restore point, nor the later one the operator tries in validate (one second later, the same state).
 */
async function writeAfterNotedTime(
  ctx: DrillContext,
  s: StepRecord,
  workload: Workload,
  notedUtc: DateTime,
): Promise<{ from: RowCounts; to: RowCounts }> {
  while (Date.now() <= notedUtc.plus({ seconds: 1 }).toMillis() + 20) await sleep(20);
  const batch2 = batchCounts(ctx.o.rows, { placements: false });
  const from = workload.nextIds();
  await workload.write(batch2);
  const writtenSince = { from, to: workload.nextIds() };
  s.notes.push(`batch 2: ${totalRows(batch2)} rows written after the noted time`);
  return writtenSince;
}

/** The destructive statement; the WAL switch puts it in the archive, as Azure's continuous archiving would. */
async function deleteRowsAndArchiveWal(ctx: DrillContext, s: StepRecord, h: LiveService): Promise<PtrLoss> {
  const loss = await h.workload.loseData();
  const lossStatement = `${loss.statement} (${loss.rows} rows)`;
  s.notes.push(lossStatement);
  const flawedState = await ctx.evidence.stage("flawed (after the loss)", h.live, h.db);
  await h.live.switchWal();
  s.notes.push("WAL switched and archived (Azure archives continuously)");
  return { lossStatement, flawedState };
}

async function stopServiceAndBackUpFlawed(ctx: DrillContext, s: StepRecord, id: string): Promise<void> {
  const d = await ctx.up(s, (st) => [st.set("incidentId", id), st.set("drMode", "ptr")]);
  await ctx.apply(s, d);
}

/** The PTR copy is recovered to the instant the program declares, never to the one the drill noted. */
async function restorePtrCopy(
  ctx: DrillContext,
  s: StepRecord,
  id: string,
  o: { h: PtrHistory; archive: string; loss: PtrLoss },
): Promise<{ ptr: PgCluster; declared: Declared }> {
  const d = await ctx.up(s, (st) => [st.set("ptr.restoreTime", o.h.requestedLocal)]);
  const ptr = await startPtrCopy(ctx, s, d, { base: o.h.bases[0], h: o.h, archive: o.archive });
  // As soon as the copy exists: the inspection Job (and the troubleshooting pod, which the drill has no
  // cluster for: its command is an output).
  await ctx.apply(s, d);
  await checkInspection(ctx.evidence, ctx.servers, d, { id, loss: o.loss.lossStatement });
  return { ptr, declared: d };
}

/** The server the program declares as the PTR copy: a real recovery to its `pointInTimeUTC`. */
async function startPtrCopy(
  ctx: DrillContext,
  s: StepRecord,
  d: Declared,
  o: { base: string; h: PtrHistory; archive: string },
): Promise<PgCluster> {
  const at = d.ptrPointInTimeUtc;
  if (at === undefined || d.ptrServerFqdn === undefined) throw new Error("the program declared no PTR copy");
  s.notes.push(
    `program declares ${d.ptrServerFqdn} with pointInTimeUTC ${at} (restoreTimeLocal ${d.restoreTimeLocal ?? "?"})`,
  );
  const ptr = await recoverCopy(ctx, {
    fqdn: d.ptrServerFqdn,
    targetTime: at,
    base: o.base,
    archive: o.archive,
    user: o.h.live.user,
  });
  s.notes.push(
    `PTR copy = PostgreSQL on 127.0.0.1:${ptr.port}, recovered from the base backup and WAL to ${at}`,
  );
  return ptr;
}

/**
 * A point-in-time copy as Azure makes one: a real recovery from a base backup and the archived WAL to
 * `targetTime`, promoted, standing in for the server `fqdn` (stopped with the drill).
 */
export async function recoverCopy(
  ctx: DrillContext,
  o: { fqdn: string; targetTime: string; base: string; archive: string; user: string },
): Promise<PgCluster> {
  const copy = await PgCluster.startRecovered({
    baseBackupDir: o.base,
    walArchiveDir: o.archive,
    targetTime: o.targetTime,
    user: o.user,
    password: ctx.servers.password,
    fast: false,
  });
  ctx.cleanup.add(() => copy.stop());
  ctx.servers.byHost.set(o.fqdn, copy);
  return copy;
}

/** The Jobs of the skipped restore phase run here: the drill checks their order, their logs and the data. */
async function jumpToValidate(
  ctx: DrillContext,
  s: StepRecord,
  id: string,
  h: PtrHistory,
  loss: PtrLoss,
): Promise<Validated> {
  const tables = ctx.o.tables;
  const d = await ctx.up(s, (st) => [
    ...(tables ?? []).map((t, i) => st.set(`ptr.tables[${i}]`, t)),
    st.set("drPhase", "validate"),
  ]);
  checkAppBackAfterJobs(ctx.evidence, "jump isolate → validate", await ctx.apply(s, d));
  await checkJobLogs(ctx.evidence, ctx.servers, d, id);
  const recovered = await ctx.evidence.stage("live after the recovery", h.live, h.db);
  await checkReconciliation(ctx.evidence, ctx.servers, d, { id, since: h.writtenSince });
  if (tables !== undefined) checkKeptPreviousRows(ctx.evidence, tables, loss.flawedState, recovered);
  const reference = ptrReference(h, tables);
  const sequences = await checkLiveAgainstReference(ctx.evidence, ctx.servers, d, {
    reference,
    recovered,
    tables,
  });
  s.notes.push(
    `data check: live = state at ${h.requestedLocal} ${ctx.timeline.zone}, table by table; flawed backup in storage`,
  );
  return { recovered, sequences };
}

/**
 * A second restore time in validate, after a refresh: the program declares a new PTR copy and a new Job set;
 * the new hold must stop the app before the first new Job and the app's patches bring it back after the last.
 * One second after the first restore time nothing was written, so the data must come out the same.
 */
async function newRestoreTimeInValidate(
  ctx: DrillContext,
  s: StepRecord,
  o: { h: PtrHistory; archive: string; first: PgCluster },
): Promise<PgCluster> {
  const local = restoreTimeLocal(o.h.notedUtc.plus({ seconds: 1 }), ctx.timeline.zone);
  const d = await ctx.up(s, (st) => [st.set("ptr.restoreTime", local)]);
  s.notes.push(`app before the up: ${ctx.cluster.appState(d)}`);
  // A new pointInTimeUTC replaces the copy: the old server goes first (deleteBeforeReplace).
  await o.first.stop();
  const ptr = await startPtrCopy(ctx, s, d, { base: o.h.bases[1], h: o.h, archive: o.archive });
  checkAppBackAfterJobs(ctx.evidence, "a new restore time in validate", await ctx.apply(s, d));
  const again = await ctx.evidence.stage("live after the second restore time", o.h.live, o.h.db);
  const check = checkAgainst(ptrReference(o.h, ctx.o.tables), withoutKept(again));
  if (!check.tablesEqual)
    throw new Error(`data check after the second restore failed: ${check.problems.join("; ")}`);
  ctx.evidence.check(
    `a new restore time in validate (${local}), checked again: ${restoredState(ctx.o.tables)}`,
  );
  return ptr;
}

/**
 * A table-level restore: the chosen tables as at the restore point, every other relation as it was just
 * before the loss (what users wrote since is still there); a full restore: all at the restore point.
 */
function ptrReference(h: PtrHistory, tables: readonly string[] | undefined): Snapshot {
  return tables === undefined ? h.expected : mixed(h.beforeLoss, h.expected, tables);
}

/** The copy is no longer declared once the incident is tidied up: like Azure, the drill then deletes it. */
async function deletePtrCopy(ctx: DrillContext, s: StepRecord, ptr: PgCluster): Promise<void> {
  const d = await closeIncident(ctx, s, ["ptr"]);
  if (d.ptrServerFqdn !== undefined) throw new Error("the PTR copy is still declared after the tidy-up");
  await ptr.stop();
  s.notes.push("the PTR copy is no longer declared: its server is stopped and deleted");
}

async function ptrOutcome(
  ctx: DrillContext,
  h: PtrHistory,
  loss: PtrLoss,
  declared: Declared,
  v: Validated,
): Promise<ScenarioOutcome> {
  const env = await environment(h.live, h.db);
  return {
    restorePoint: {
      requestedLocal: h.requestedLocal,
      notedUtc: azureUtc(h.notedUtc),
      declaredUtc: declared.ptrPointInTimeUtc ?? "?",
      declaredLocal: declared.restoreTimeLocal ?? "?",
    },
    lossStatement: loss.lossStatement,
    // A table-level restore keeps what was written since: what the live database must hold is the state
    // before the loss with the restored tables as at the restore point.
    expected: ptrReference(h, ctx.o.tables),
    recovered: v.recovered,
    lostRows: lostRows(h.beforeLoss, v.recovered),
    sequences: v.sequences,
    env,
  };
}
