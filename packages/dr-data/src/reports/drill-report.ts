/**
 * `drill-report`: the last Job of a scheduled drill. It reads the records the drill's Jobs left in the drill's
 * folder (`drill/<server>/<stamp>/done|logs/<job>`, naming.ts), measures the drill, and writes the DR-test
 * report once, as `drill/<server>/<stamp>/report.json` (naming.ts drillReport), where `dr-data status` finds it.
 *
 * What is measured (scenario 1, the live server lost):
 * - RPO achieved: the age, at the drill's start, of the newest verified nightly backup of the database — what
 *   a loss of the server at that moment would have lost (every write since that dump began). A backup that is
 *   not verified does not count: a restore refuses what it cannot check.
 * - RTO achieved: from the drill's start (given by the program, before it created the point-in-time copy, so
 *   the copy's creation counts) to the finish of its last step.
 * A missed objective, or a step that failed or never recorded a finish, fails the drill: the command exits 1,
 * so the Job fails (the failed-Job alert fires) and the workflow goes red.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { DateTime } from "luxon";
import { containerClient, type BlobStoreSettings } from "../blobstore";
import { listBackups, sortNewestFirst } from "../list";
import { backupPrefix, drillDoneBlobName, drillLogBlobName, drillReport as drillReportName } from "../naming";
import { summarize } from "../status";
import { readStep, readTextIfExists, type StepRecord } from "./timeline";
import {
  DRILL_REPORT_TOOL,
  achievedMinutes,
  objectiveLine,
  parseDrillReport,
  type DrillReport,
  type Measured,
  type Objectives,
  type RpoBackup,
} from "./drill-report-shape";
import { writeOnce } from "./write-once";

/** What the scheduled drill does (the report says it in words). */
export const DRILL_SCENARIO =
  "scheduled drill, scenario 1 (server lost): a point-in-time copy of the live server; the newest nightly " +
  "backup restored into a scratch database on it and checked against its manifest; the copy inspected " +
  "against live, read only";

/** What measureDrill needs: the drill's start, its steps as recorded, the backup and the objectives. */
export interface DrillFacts {
  readonly startedAt: DateTime;
  readonly steps: readonly StepRecord[];
  readonly backup: RpoBackup | null;
  readonly objectives: Objectives;
  /** Where the nightly backups were looked for (the problem names it). */
  readonly nightly: string;
}

/** An objective measured: met when achieved ≤ objective; an unmeasurable one is not met. */
export function measured(achievedSeconds: number | null, objectiveMinutes: number): Measured {
  return {
    achievedSeconds,
    achievedMinutes: achievedMinutes(achievedSeconds),
    objectiveMinutes,
    met: achievedSeconds !== null && achievedSeconds <= objectiveMinutes * 60,
  };
}

/** RPO, RTO, the verdict and every problem, from the facts. Pure. */
export function measureDrill(
  f: DrillFacts,
): Pick<DrillReport, "finishedAt" | "rpo" | "rto" | "result" | "problems"> {
  const start = f.startedAt.toMillis();
  const problems = f.steps.flatMap((s) => (s.problem === null ? [] : [s.problem]));
  const rpoSeconds =
    f.backup === null ? null : Math.round((start - DateTime.fromISO(f.backup.startedAt).toMillis()) / 1000);
  if (f.backup === null)
    problems.push(`no verified nightly backup under ${f.nightly} before the drill's start`);
  const allDone = f.steps.length > 0 && f.steps.every((s) => s.status === "done");
  const finishedAt = allDone
    ? f.steps.map((s) => s.finishedAt!).reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a))
    : null;
  const rtoSeconds = finishedAt === null ? null : Math.round((Date.parse(finishedAt) - start) / 1000);
  const rpo = measured(rpoSeconds, f.objectives.rpoMinutes);
  const rto = measured(rtoSeconds, f.objectives.rtoMinutes);
  if (rpoSeconds !== null && !rpo.met) {
    problems.push(
      `RPO objective missed: ${rpo.achievedMinutes} min achieved, objective ${rpo.objectiveMinutes} min`,
    );
  }
  if (rtoSeconds !== null && !rto.met) {
    problems.push(
      `RTO objective missed: ${rto.achievedMinutes} min achieved, objective ${rto.objectiveMinutes} min`,
    );
  } else if (rtoSeconds === null) {
    problems.push("RTO not measured: not every step finished");
  }
  return { finishedAt, rpo, rto, result: problems.length === 0 ? "passed" : "failed", problems };
}

export interface DrillReportOptions {
  readonly store: BlobStoreSettings;
  readonly server: string;
  readonly database: string;
  readonly startedAt: DateTime;
  /** The drill's steps in order: each step's name and its Job's name. */
  readonly steps: ReadonlyArray<{ readonly step: string; readonly job: string }>;
  readonly objectives: Objectives;
}

/** The newest verified nightly backup of `database` begun at or before `at`; null when there is none. */
export async function newestVerifiedBefore(
  store: BlobStoreSettings,
  container: ContainerClient,
  nightly: string,
  database: string,
  at: DateTime,
): Promise<RpoBackup | null> {
  const entries = sortNewestFirst(await listBackups({ store, prefix: nightly, database }));
  for (const entry of entries.filter((e) => e.startedAt <= at)) {
    const summary = await summarize(container, entry, at);
    if (summary.verification === "verified") return { blob: entry.name, startedAt: summary.startedAt };
  }
  return null;
}

/**
 * Measures the drill and writes its report once. When the report already exists (the Job ran again), the
 * first one stands and is returned: the evidence is never rewritten.
 */
export async function drillReport(o: DrillReportOptions): Promise<{ report: DrillReport; written: boolean }> {
  const container = containerClient(o.store);
  const name = drillReportName.blob(o.server, o.startedAt);
  const existing = await readTextIfExists(container, name);
  if (existing !== undefined) return { report: parseDrillReport(existing, name), written: false };
  const steps: StepRecord[] = [];
  for (const s of o.steps) {
    steps.push(
      await readStep(container, {
        ...s,
        doneBlob: drillDoneBlobName(o.server, o.startedAt, s.job),
        logBlob: drillLogBlobName(o.server, o.startedAt, s.job),
      }),
    );
  }
  const nightly = backupPrefix.nightly(o.server);
  const backup = await newestVerifiedBefore(o.store, container, nightly, o.database, o.startedAt);
  const startedAt = o.startedAt.toUTC();
  const report: DrillReport = {
    tool: DRILL_REPORT_TOOL,
    date: startedAt.toISODate() ?? "",
    scenario: DRILL_SCENARIO,
    server: o.server,
    database: o.database,
    startedAt: startedAt.toISO({ suppressMilliseconds: true }) ?? "",
    steps,
    backup,
    ...measureDrill({
      startedAt,
      steps,
      backup,
      objectives: o.objectives,
      nightly: `${container.containerName}/${nightly}/`,
    }),
    report: `${container.containerName}/${name}`,
  };
  if ((await writeOnce(container, name, `${JSON.stringify(report, null, 2)}\n`)) === "exists") {
    const first = await readTextIfExists(container, name);
    return { report: parseDrillReport(first ?? "", name), written: false };
  }
  return { report, written: true };
}

/** The human summary: the steps, RPO and RTO against the objectives, the problems; the verdict last. */
export function formatDrillReport(r: DrillReport): string {
  const steps = r.steps.map(
    (s) =>
      `  ${s.step.padEnd(10)} ${s.status.padEnd(8)} ${s.startedAt ?? "-"} → ${s.finishedAt ?? "-"} ` +
      `${s.seconds === null ? "" : `(${s.seconds} s)`}`.trimEnd(),
  );
  const backup =
    r.backup === null ? "none verified before the start" : `${r.backup.blob} (begun ${r.backup.startedAt})`;
  return [
    `drill of ${r.server} (${r.database}), started ${r.startedAt}: ${r.scenario}`,
    "steps:",
    ...steps,
    `${objectiveLine("RPO", r.rpo)}; measured from the newest verified nightly: ${backup}`,
    `${objectiveLine("RTO", r.rto)}; drill start → last step done${r.finishedAt === null ? "" : ` (${r.finishedAt})`}`,
    ...r.problems.map((p) => `  - ${p}`),
    `report: ${r.report}`,
    r.result === "passed" ? "drill PASSED: every step done, both objectives met" : "drill FAILED",
  ].join("\n");
}
