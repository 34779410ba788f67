/**
 * The two runbook scenarios, end to end on this machine. Each runbook step is a stack config change and an
 * offline `pulumi up` of the real program (declared.ts); the data steps are the Jobs that step declares, run
 * locally with their own args (jobs.ts) against real PostgreSQL servers and Azurite started here.
 *
 * The drill is split by concern: the simulated engine (engine.ts) and the app in the cluster it keeps
 * (cluster.ts), the local servers and storage (servers.ts), the scheduler and Job runner (scheduler.ts), the
 * evidence for the report (evidence.ts), all put together per drill in context.ts; the runbook's steps per
 * scenario (scenarios/ptr.ts, scenarios/rebuild.ts) and the assertions they make (checks/).
 */
import { DateTime } from "luxon";
import { errorChain } from "@service-dr/dr-data";
import type { Cleanup } from "./cleanup";
import { DrillContext, operatorStack, PLAN_CLOCK_SHIFT, planNow } from "./context";
import type { Declared } from "./declared";
import type { RowStage } from "./evidence";
import type { ScenarioOutcome } from "./scenarios/common";
import { ptrScenario } from "./scenarios/ptr";
import { rebuildScenario } from "./scenarios/rebuild";
import { scheduledScenario } from "./scenarios/scheduled";
import type { DrillReport } from "../../packages/dr-data/src/reports/drill-report-shape";
import type { StepRecord } from "./timeline";
import { countsOf, totalRows } from "./workload";

export { Cleanup } from "./cleanup";
export type { RowStage } from "./evidence";

export const SCENARIOS = ["ptr", "rebuild", "scheduled"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface DrillOptions {
  readonly scenario: Scenario;
  /** Rows of the seed. */
  readonly rows: number;
  readonly stack: string;
  /** Overrides the stack's `timeZone`. */
  readonly timeZone: string | undefined;
  /** ptr: `ptr.tables` (a table-level restore) instead of the whole database. */
  readonly tables?: readonly string[] | undefined;
  /** scheduled: `objectives.rpoMinutes` / `objectives.rtoMinutes` for the drill's `up` (the stack's otherwise). */
  readonly rpoMinutes?: number | undefined;
  readonly rtoMinutes?: number | undefined;
  /** scheduled: whole minutes the drill's start waits after the nightly backup finished (default 0). */
  readonly nightlyAgeMinutes?: number | undefined;
  /** Progress and timeline lines. */
  readonly print: (line: string) => void;
}

export interface RestorePointEvidence {
  /** What the operator noted and set: wall clock in the stack's zone, without an offset. */
  readonly requestedLocal: string;
  /** The instant the drill noted (its own clock), in UTC. */
  readonly notedUtc: string;
  /** What the program declared: the PTR copy's `pointInTimeUTC`, and its `restoreTimeLocal` output. */
  readonly declaredUtc: string;
  readonly declaredLocal: string;
}

export interface DrillResult {
  readonly scenario: Scenario;
  /** `--tables`: the tables restored (ptr.tables); undefined for a whole-database restore. */
  readonly tables: readonly string[] | undefined;
  readonly ok: boolean;
  readonly failure: string | undefined;
  readonly stack: string;
  readonly timeZone: string;
  /** `--time-zone`, when the drill overrode the stack's zone. */
  readonly timeZoneOverride: string | undefined;
  readonly incidentId: string;
  readonly rows: number;
  readonly restorePoint: RestorePointEvidence | undefined;
  readonly lossStatement: string | undefined;
  readonly stages: readonly RowStage[];
  /** Rows the recovery was expected to bring back (the reference state) and what the live database holds. */
  readonly expectedRows: number | undefined;
  readonly recoveredRows: number | undefined;
  /** Rows written before the incident that the recovery cannot bring back (after the restore point / backup). */
  readonly lostRows: number | undefined;
  readonly checks: readonly string[];
  readonly sequences: readonly string[];
  readonly steps: readonly StepRecord[];
  readonly recoveryMs: number;
  /** Until the data was restored and verified (the end of the validate step). */
  readonly dataRecoveredMs: number;
  readonly substitutions: readonly string[];
  readonly storedBackups: readonly string[];
  readonly planClockShift: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly startedAt: DateTime;
  /** scheduled: the drill's report as stored (RPO and RTO against the objectives, the verdict). */
  readonly drillReport: DrillReport | undefined;
}

function incidentId(now: DateTime): string {
  return `drill-${now.toUTC().toFormat("yyLLdd-HHmmss")}`;
}

/** A failure for the report: each link of the cause chain on its own line. */
function describe(err: unknown): string {
  return errorChain(err).join("\ncaused by: ");
}

/** The stack as committed, declared once before anything starts: a refused config is the drill's failure. */
async function declareBaseline(o: DrillOptions): Promise<{ baseline?: Declared; failure?: string }> {
  try {
    return { baseline: await operatorStack(o).declare(planNow(), []) };
  } catch (err) {
    return { failure: `the stack ${o.stack} as committed: ${describe(err)}` };
  }
}

/** The scenario's steps; a failed step ends the drill with what it had recorded so far. */
async function runScenario(
  ctx: DrillContext,
  id: string,
  baseline: Declared,
): Promise<{ outcome?: ScenarioOutcome; failure?: string }> {
  try {
    const run = { ptr: ptrScenario, rebuild: rebuildScenario, scheduled: scheduledScenario }[ctx.o.scenario];
    const outcome = await run(ctx, id, baseline);
    return { outcome, failure: outcome.failure };
  } catch (err) {
    return { failure: describe(err) };
  }
}

/**
 * Runs a scenario; never throws for a failed step or a refused config (the result says so), only for a usage
 * problem (dev/offline/stack-config's UsageError: e.g. no such stack file).
 */
export async function runDrill(o: DrillOptions, cleanup: Cleanup): Promise<DrillResult> {
  const startedAt = DateTime.utc();
  const id = incidentId(startedAt);
  const { baseline, failure: refused } = await declareBaseline(o);
  const zone = baseline?.timeZone ?? o.timeZone ?? "UTC";
  const ctx = new DrillContext(o, cleanup, zone);
  o.print(
    `drill ${o.scenario}: stack ${o.stack}, zone ${zone}, incident ${id}, ${o.rows} rows; ` +
      `plans run with the clock ${PLAN_CLOCK_SHIFT.toFormat("m 'min' s 's'")} ahead (Azure's restore window)`,
  );
  const run = baseline === undefined ? { failure: refused } : await runScenario(ctx, id, baseline);
  return drillResult(ctx, { id, zone, startedAt, outcome: run.outcome, failure: run.failure });
}

function drillResult(
  ctx: DrillContext,
  r: { id: string; zone: string; startedAt: DateTime; outcome?: ScenarioOutcome; failure?: string },
): DrillResult {
  const { o, evidence, timeline } = ctx;
  const out = r.outcome;
  return {
    scenario: o.scenario,
    tables: o.tables,
    ok: r.failure === undefined,
    failure: r.failure,
    stack: o.stack,
    timeZone: r.zone,
    timeZoneOverride: o.timeZone,
    incidentId: r.id,
    rows: o.rows,
    restorePoint: out?.restorePoint,
    lossStatement: out?.lossStatement,
    stages: evidence.stages,
    expectedRows: out === undefined ? undefined : totalRows(countsOf(out.expected)),
    recoveredRows: out === undefined ? undefined : totalRows(countsOf(out.recovered)),
    lostRows: out?.lostRows,
    checks: evidence.checks,
    sequences: out?.sequences ?? [],
    steps: timeline.steps,
    recoveryMs: timeline.recoveryMs(),
    dataRecoveredMs: timeline.recoveryMs((s: StepRecord) => /^(Validate|Jump to validate)/.test(s.title)),
    substitutions: [...evidence.substitutions],
    storedBackups: evidence.storedBackups,
    planClockShift: PLAN_CLOCK_SHIFT.toFormat("m 'min' s 's'"),
    environment: out?.env ?? {},
    startedAt: r.startedAt,
    drillReport: out?.drillReport,
  };
}
