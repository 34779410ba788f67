/**
 * The reports' argv (`drill-report`, `incident-report`), kept out of cli.ts, which only dispatches to them.
 * A usage error exits 2; `drill-report` exits 1 when the drill failed (a step failed or is missing, an
 * objective missed), so its Job fails; `incident-report` exits 0 once the report is written (or was already).
 */
import { DateTime } from "luxon";
import { blobStoreFromEnv } from "../blobstore";
import { UsageError } from "../errors";
import { instantFlag } from "../cli-incident";
import { DRILL_REPORT, INCIDENT_REPORT, parseDrillReportArgs, parseIncidentReportArgs } from "../contract";
import { AZURE_SERVER_NAME, INCIDENT_ID, JOB_NAME } from "../naming";
import { drillReport, formatDrillReport } from "./drill-report";
import { formatIncidentMarkdown, incidentReportAtClose } from "./incident-report";

type Env = Readonly<Record<string, string | undefined>>;
interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const REPORTS_USAGE = `  drill-report --container C --server S --database D --started-at ISO --step NAME=JOB [--step NAME=JOB]...
           --rpo-minutes N --rto-minutes N [--json]
  incident-report --container C --incident ID [--declared-at ISO] [--restore-time ISO] [--time-zone ZONE]
           [--rpo-minutes N] [--rto-minutes N] [--json]`;

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

/** `--time-zone`: an IANA zone luxon knows; default UTC. */
function zoneFlag(value: string | undefined): string {
  if (value === undefined) return "UTC";
  if (!DateTime.utc().setZone(value).isValid) {
    throw new UsageError(
      `incident-report: --${INCIDENT_REPORT.timeZone.flag} must be an IANA time zone (e.g. Europe/London); ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export async function runIncidentReport(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseIncidentReportArgs(args);
  if (!INCIDENT_ID.test(f.incident)) {
    throw new UsageError(
      `incident-report: --incident ${JSON.stringify(f.incident)} must be 1–20 lowercase letters, digits and inner hyphens`,
    );
  }
  const instant = (flag: string, v: string | undefined) =>
    v === undefined ? undefined : instantFlag("incident-report", flag, v);
  const { report, written } = await incidentReportAtClose({
    store: blobStoreFromEnv(env, f.container),
    incidentId: f.incident,
    declaredAt: instant(INCIDENT_REPORT.declaredAt.flag, f.declaredAt),
    restoreTime: instant(INCIDENT_REPORT.restoreTime.flag, f.restoreTime),
    timeZone: zoneFlag(f.timeZone),
    rpoMinutes: f.rpoMinutes,
    rtoMinutes: f.rtoMinutes,
  });
  io.err(
    written
      ? `incident-report: written to ${report.report.json} and ${report.report.markdown}`
      : `incident-report: ${report.report.json} was already written; it stands as it was`,
  );
  io.out(f.json === true ? JSON.stringify(report, null, 2) : formatIncidentMarkdown(report));
  return 0;
}
