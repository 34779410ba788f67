/**
 * `dr-data drill-report`: a drill's report from its Jobs' records, measured against the service's objectives.
 * Exits 1 when the drill failed (a step failed or is missing, an objective missed), so its Job fails and the
 * failed-Job alert fires.
 */
import { blobStoreFromEnv } from "../../blobstore";
import { UsageError } from "../../errors";
import { DRILL_REPORT, parseDrillReportArgs } from "../../contract";
import { AZURE_SERVER_NAME, JOB_NAME } from "../../naming";
import { drillReport, formatDrillReport } from "../../reports/drill-report";
import { instantFlag, type Env, type Io } from "../io";

/** `--step name=job`, in order: each Job name must be one Kubernetes accepts. */
function drillSteps(steps: Readonly<Record<string, string>> | undefined): { step: string; job: string }[] {
  const pairs = Object.entries(steps ?? {});
  if (pairs.length === 0) {
    throw new UsageError(
      `drill-report: --${DRILL_REPORT.steps.flag} NAME=JOB is required (one per drill step)`,
    );
  }
  for (const [step, job] of pairs) {
    if (!JOB_NAME.test(job)) {
      throw new UsageError(
        `drill-report: --${DRILL_REPORT.steps.flag} ${step}=${JSON.stringify(job)}: the Job name must be a ` +
          `DNS-1123 label (lowercase letters, digits, inner hyphens, ≤ 63 characters)`,
      );
    }
  }
  return pairs.map(([step, job]) => ({ step, job }));
}

/** A drill is always measured against its objectives: both are required. */
function requiredInt(flag: string, value: number | undefined): number {
  if (value === undefined)
    throw new UsageError(`drill-report: --${flag} is required (the service's objective)`);
  return value;
}

export async function runDrillReport(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseDrillReportArgs(args);
  if (!AZURE_SERVER_NAME.test(f.server)) {
    throw new UsageError(
      `drill-report: --server must be a flexible server name (3–63 lowercase letters, digits, inner hyphens); ` +
        `got ${JSON.stringify(f.server)}`,
    );
  }
  const { report, written } = await drillReport({
    store: blobStoreFromEnv(env, f.container),
    server: f.server,
    database: f.database,
    startedAt: instantFlag("drill-report", DRILL_REPORT.startedAt.flag, f.startedAt),
    steps: drillSteps(f.steps),
    objectives: {
      rpoMinutes: requiredInt(DRILL_REPORT.rpoMinutes.flag, f.rpoMinutes),
      rtoMinutes: requiredInt(DRILL_REPORT.rtoMinutes.flag, f.rtoMinutes),
    },
  });
  if (!written) io.err(`drill-report: ${report.report} was already written; it stands as it was`);
  io.out(f.json === true ? JSON.stringify(report, null, 2) : formatDrillReport(report));
  return report.result === "passed" ? 0 : 1;
}
