/**
 * `dr-data incident-report`: the retro's evidence at an incident's close, under `incident/<id>/report.*`.
 * Exits 0 once the report is written (or was already).
 */
import { DateTime } from "luxon";
import { blobStoreFromEnv } from "../../blobstore";
import { UsageError } from "../../errors";
import { INCIDENT_REPORT, parseIncidentReportArgs } from "../../contract";
import { formatIncidentMarkdown, incidentReportAtClose } from "../../reports/incident-report";
import { incidentFlag, instantFlag, type Env, type Io } from "../io";

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
  const incidentId = incidentFlag("incident-report", f.incident);
  const instant = (flag: string, v: string | undefined) =>
    v === undefined ? undefined : instantFlag("incident-report", flag, v);
  const { report, written } = await incidentReportAtClose({
    store: blobStoreFromEnv(env, f.container),
    incidentId,
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
