/**
 * `incident-report`: the evidence of the post-DR review, gathered when an incident closes from what its Jobs
 * and look-before-you-restore commands left under `incident/<id>/` (naming.ts):
 * - the timeline: every recovery Job's completion record and log (`done/`, `logs/`), in the order they ran;
 * - the restore point, in UTC and in the stack's zone;
 * - rows lost and recovered: the inspection's totals (`inspect/report.json`) and the reconciliation's export
 *   (`reconcile/summary.json`);
 * - the objectives: RTO from the declaration (or the first Job's start) to the last Job done, RPO from the
 *   restore point to the declaration (the writes the restore rolls back; those the reconciliation exported
 *   can be entered again).
 * Written once, as `incident/<id>/report.json` and `report.md` (naming.ts incidentReport.retro).
 */
import type { ContainerClient } from "@azure/storage-blob";
import { DateTime } from "luxon";
import { containerClient, type BlobStoreSettings } from "../blobstore";
import { backupPrefix, incidentDoneBlobName, incidentLogBlobName, incidentReport } from "../naming";
import { inTimeOrder, jobsUnder, readStep, readTextIfExists, type StepRecord } from "./timeline";
import { achievedMinutes, objectiveLine } from "./drill-report-shape";
import {
  parseStoredInspection,
  parseStoredReconciliation,
  type StoredInspection,
  type StoredReconciliation,
} from "./stored-sides";
import { writeOnce } from "./write-once";

export const INCIDENT_REPORT_TOOL = "dr-data-incident-report/1";

/** An objective of an incident: the objective may not be given (then `met` is null). */
export interface IncidentMeasured {
  readonly achievedSeconds: number | null;
  readonly achievedMinutes: number | null;
  readonly objectiveMinutes: number | null;
  readonly met: boolean | null;
}

/** An instant in UTC and in the stack's zone. */
export interface Instant {
  readonly utc: string;
  readonly local: string;
}

export interface InspectionRows {
  readonly report: string;
  readonly tables: number;
  readonly differing: number;
  /** Rows in the copy and not in live: what the incident destroyed, which the restore brings back. */
  readonly lost: number;
  /** Rows written in live since the restore point (a restore rolls them back). */
  readonly written: number;
  /** Rows changed in live since the restore point. */
  readonly changed: number;
}

export interface ReconciliationRows {
  readonly summary: string;
  /** Live rows exported as `new` and `changed`: to enter again after the restore. */
  readonly exportedNew: number;
  readonly exportedChanged: number;
  readonly lost: number;
  readonly files: number;
  readonly notReconcilable: string[];
}

export interface IncidentReport {
  readonly tool: typeof INCIDENT_REPORT_TOOL;
  readonly incident: string;
  readonly timeZone: string;
  /** The RTO's start, and where it comes from. */
  readonly start: (Instant & { readonly from: "declared" | "first Job" }) | null;
  readonly restorePoint: (Instant & { readonly from: "flag" | "inspection" | "reconciliation" }) | null;
  /** The last Job done. */
  readonly finishedAt: Instant | null;
  readonly timeline: StepRecord[];
  readonly rows: {
    readonly inspection: InspectionRows | null;
    readonly reconciliation: ReconciliationRows | null;
  };
  readonly rpo: IncidentMeasured;
  readonly rto: IncidentMeasured;
  readonly problems: string[];
  readonly report: { readonly json: string; readonly markdown: string };
}

export interface IncidentReportOptions {
  readonly store: BlobStoreSettings;
  readonly incidentId: string;
  readonly declaredAt?: DateTime | undefined;
  readonly restoreTime?: DateTime | undefined;
  /** IANA zone; the caller checks it. */
  readonly timeZone: string;
  readonly rpoMinutes?: number | undefined;
  readonly rtoMinutes?: number | undefined;
}

export function instant(iso: string, zone: string): Instant {
  const t = DateTime.fromISO(iso, { zone: "utc" });
  return {
    utc: t.toISO({ suppressMilliseconds: true }) ?? iso,
    // The offset and the zone's IANA name: the same text whatever the machine's locale and ICU data.
    local: `${t.setZone(zone).toFormat("yyyy-LL-dd HH:mm:ss ZZ")} ${zone}`,
  };
}

/**
 * An objective measured. Not judged (`met` null) without an objective, or when the figure could not be measured
 * (the problems then say which end is unknown): an unknown figure is not a missed objective. Pure.
 */
export function incidentMeasured(
  seconds: number | null,
  objectiveMinutes: number | undefined,
): IncidentMeasured {
  return {
    achievedSeconds: seconds,
    achievedMinutes: achievedMinutes(seconds),
    objectiveMinutes: objectiveMinutes ?? null,
    met: objectiveMinutes === undefined || seconds === null ? null : seconds <= objectiveMinutes * 60,
  };
}

/** A missed objective, or one that could not be judged because its figure is unknown. */
function objectiveProblems(what: "RPO" | "RTO", m: IncidentMeasured): string[] {
  if (m.met === false)
    return [`${what} objective missed: ${m.achievedMinutes} min, objective ${m.objectiveMinutes} min`];
  if (m.objectiveMinutes !== null && m.achievedSeconds === null) {
    return [`${what} objective of ${m.objectiveMinutes} min not judged: the ${what} was not measured`];
  }
  return [];
}

/** What the stored reports say, for `measureIncident`. */
export interface IncidentFacts {
  readonly timeline: readonly StepRecord[];
  readonly declaredAt: string | null;
  readonly restorePoint: {
    readonly at: string;
    readonly from: "flag" | "inspection" | "reconciliation";
  } | null;
  readonly zone: string;
  readonly rpoMinutes?: number | undefined;
  readonly rtoMinutes?: number | undefined;
}

/** Start, finish, RPO, RTO and the problems, from the facts. Pure. */
export function measureIncident(
  f: IncidentFacts,
): Pick<IncidentReport, "start" | "restorePoint" | "finishedAt" | "rpo" | "rto" | "problems"> {
  const firstStart = f.timeline.find((s) => s.startedAt !== null)?.startedAt ?? null;
  const startIso = f.declaredAt ?? firstStart;
  const done = f.timeline
    .filter((s) => s.status === "done" && s.finishedAt !== null)
    .map((s) => s.finishedAt!);
  const last = done.length === 0 ? null : done.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
  const diff = (from: string | null, to: string | null): number | null =>
    from === null || to === null ? null : Math.round((Date.parse(to) - Date.parse(from)) / 1000);
  const problems = f.timeline.flatMap((s) => (s.problem === null ? [] : [s.problem]));
  if (f.timeline.length === 0) problems.push("no recovery Job left a record or a log");
  if (f.restorePoint === null)
    problems.push("restore point unknown: no --restore-time, inspection or reconciliation");
  if (startIso === null) problems.push("start unknown: no --declared-at and no Job's start recorded");
  const rpo = incidentMeasured(diff(f.restorePoint?.at ?? null, startIso), f.rpoMinutes);
  const rto = incidentMeasured(diff(startIso, last), f.rtoMinutes);
  problems.push(...objectiveProblems("RPO", rpo), ...objectiveProblems("RTO", rto));
  return {
    start:
      startIso === null
        ? null
        : { ...instant(startIso, f.zone), from: f.declaredAt === null ? "first Job" : "declared" },
    restorePoint:
      f.restorePoint === null ? null : { ...instant(f.restorePoint.at, f.zone), from: f.restorePoint.from },
    finishedAt: last === null ? null : instant(last, f.zone),
    rpo,
    rto,
    problems,
  };
}

type Json = Readonly<Record<string, unknown>>;

/** A stored blob's JSON, or undefined when it does not exist; text that is not JSON throws, naming the blob. */
async function readJson(container: ContainerClient, name: string): Promise<unknown> {
  const text = await readTextIfExists(container, name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new Error(`${container.containerName}/${name} is not JSON`, { cause });
  }
}

/** The inspection's totals (inspect.ts InspectResult), or null without a report. */
export function inspectionRows(r: StoredInspection | undefined, name: string): InspectionRows | null {
  if (r === undefined) return null;
  const t = r.totals;
  return {
    report: name,
    tables: t.tables,
    differing: t.differing,
    lost: t.lost,
    written: t.added,
    changed: t.changed,
  };
}

/** The reconciliation's sums (reconcile.ts ReconcileResult), or null without a summary. */
export function reconciliationRows(
  r: StoredReconciliation | undefined,
  name: string,
): ReconciliationRows | null {
  if (r === undefined) return null;
  const sum = (f: (t: StoredReconciliation["tables"][number]) => number): number =>
    r.tables.reduce((a, t) => a + f(t), 0);
  return {
    summary: name,
    exportedNew: sum((t) => t.added),
    exportedChanged: sum((t) => t.changed),
    lost: sum((t) => t.lost),
    files: r.tables.filter((t) => t.file !== null).length,
    notReconcilable: r.notReconcilable.map((t) => `${t.name}: ${t.reason}`),
  };
}

/** The restore point: the flag, else the inspection's, else the reconciliation's. */
function restorePointOf(
  flag: DateTime | undefined,
  inspection: StoredInspection | undefined,
  reconciliation: StoredReconciliation | undefined,
): IncidentFacts["restorePoint"] {
  if (flag !== undefined) return { at: flag.toUTC().toISO() ?? "", from: "flag" };
  const inspected = inspection?.restoreTime ?? null;
  if (inspected !== null) return { at: inspected, from: "inspection" };
  const reconciled = reconciliation?.restoreTime ?? null;
  return reconciled === null ? null : { at: reconciled, from: "reconciliation" };
}

/**
 * The inspection and the reconciliation, each checked against what its command writes before anything of the
 * report is written: a malformed one stops the report, naming the blob and its fields.
 */
async function readSides(
  container: ContainerClient,
  names: { readonly inspect: string; readonly reconcile: string },
): Promise<{ inspection?: StoredInspection; reconciliation?: StoredReconciliation }> {
  const where = (n: string): string => `${container.containerName}/${n}`;
  const inspection = await readJson(container, names.inspect);
  const reconciliation = await readJson(container, names.reconcile);
  return {
    ...(inspection === undefined
      ? {}
      : { inspection: parseStoredInspection(inspection, where(names.inspect)) }),
    ...(reconciliation === undefined
      ? {}
      : { reconciliation: parseStoredReconciliation(reconciliation, where(names.reconcile)) }),
  };
}

/** Every Job of the incident, as its records and logs say, in the order they ran. */
async function incidentTimeline(container: ContainerClient, incidentId: string): Promise<StepRecord[]> {
  const steps: StepRecord[] = [];
  for (const job of await jobsUnder(container, backupPrefix.incident(incidentId))) {
    steps.push(
      await readStep(container, {
        step: job,
        job,
        doneBlob: incidentDoneBlobName(incidentId, job),
        logBlob: incidentLogBlobName(incidentId, job),
      }),
    );
  }
  return inTimeOrder(steps);
}

/** Gathers, measures and writes the report once; a report already written stands (and its markdown is completed). */
export async function incidentReportAtClose(
  o: IncidentReportOptions,
): Promise<{ report: IncidentReport; written: boolean }> {
  const container = containerClient(o.store);
  const json = incidentReport.retro(o.incidentId, "json");
  const md = incidentReport.retro(o.incidentId, "md");
  const stored = await readJson(container, json);
  if (stored !== undefined) return standing(container, stored, { json, md });
  const report = await gatherIncident(container, o, { json, md });
  if ((await writeOnce(container, json, `${JSON.stringify(report, null, 2)}\n`)) === "exists") {
    // Another run wrote it between our read and our write: read theirs once, never loop.
    const theirs = await readJson(container, json);
    if (theirs === undefined)
      throw new Error(`${json}: the store says it exists, yet it cannot be read; nothing was written`);
    return standing(container, theirs, { json, md });
  }
  await writeOnce(container, md, formatIncidentMarkdown(report));
  return { report, written: true };
}

/** A report already written stands as it was; its markdown is written if it is missing. */
async function standing(
  container: ContainerClient,
  stored: unknown,
  blobs: { readonly json: string; readonly md: string },
): Promise<{ report: IncidentReport; written: boolean }> {
  const report = parseIncidentReport(stored, blobs.json);
  await writeOnce(container, blobs.md, formatIncidentMarkdown(report));
  return { report, written: false };
}

async function gatherIncident(
  container: ContainerClient,
  o: IncidentReportOptions,
  names: { readonly json: string; readonly md: string },
): Promise<IncidentReport> {
  const inspectName = incidentReport.inspect(o.incidentId, "json");
  const reconcileName = incidentReport.reconcileSummary(o.incidentId, "json");
  const { inspection, reconciliation } = await readSides(container, {
    inspect: inspectName,
    reconcile: reconcileName,
  });
  const timeline = await incidentTimeline(container, o.incidentId);
  const measuredFacts = measureIncident({
    timeline,
    declaredAt: o.declaredAt === undefined ? null : (o.declaredAt.toUTC().toISO() ?? null),
    restorePoint: restorePointOf(o.restoreTime, inspection, reconciliation),
    zone: o.timeZone,
    rpoMinutes: o.rpoMinutes,
    rtoMinutes: o.rtoMinutes,
  });
  const where = (n: string): string => `${container.containerName}/${n}`;
  return {
    tool: INCIDENT_REPORT_TOOL,
    incident: o.incidentId,
    timeZone: o.timeZone,
    ...measuredFacts,
    timeline,
    rows: {
      inspection: inspectionRows(inspection, where(inspectName)),
      reconciliation: reconciliationRows(reconciliation, where(reconcileName)),
    },
    report: { json: where(names.json), markdown: where(names.md) },
  };
}

/** A stored report, checked for its tool; an error naming the blob otherwise. */
export function parseIncidentReport(raw: unknown, where: string): IncidentReport {
  const r = (typeof raw === "object" && raw !== null ? raw : {}) as Json;
  if (r.tool !== INCIDENT_REPORT_TOOL || !Array.isArray(r.timeline) || !Array.isArray(r.problems)) {
    throw new Error(`the incident report ${where} is not one this tool wrote (${INCIDENT_REPORT_TOOL})`);
  }
  return r as unknown as IncidentReport;
}

function rowsLines(r: IncidentReport["rows"]): string[] {
  const i = r.inspection;
  const c = r.reconciliation;
  return [
    i === null
      ? "- inspection: none recorded"
      : `- inspection (${i.report}): ${i.lost} rows lost since the restore point (the restore brings them back); ` +
        `${i.written} written and ${i.changed} changed in live since; ${i.differing} of ${i.tables} tables differ`,
    c === null
      ? "- reconciliation: none recorded"
      : `- reconciliation (${c.summary}): ${c.exportedNew} new and ${c.exportedChanged} changed live rows exported ` +
        `for entering again (${c.files} files); ${c.notReconcilable.length} tables not reconcilable` +
        c.notReconcilable.map((t) => `\n  - ${t}`).join(""),
  ];
}

/** The report as markdown, ready for the post-DR review. */
export function formatIncidentMarkdown(r: IncidentReport): string {
  const local = (iso: string | null): string => (iso === null ? "-" : instant(iso, r.timeZone).local);
  const rows = r.timeline.map(
    (s) =>
      `| ${s.job} | ${s.command ?? "-"} | ${s.status} | ${s.startedAt ?? "-"} | ${local(s.startedAt)} | ` +
      `${s.finishedAt ?? "-"} | ${s.seconds ?? "-"} |`,
  );
  const at = (i: Instant | null): string => (i === null ? "unknown" : `${i.utc} (${i.local})`);
  return [
    `# Incident ${r.incident}: recovery report`,
    "",
    `- start: ${at(r.start)}${r.start === null ? "" : `, from the ${r.start.from === "declared" ? "declaration" : "first Job's start"}`}`,
    `- restore point: ${at(r.restorePoint)}${r.restorePoint === null ? "" : `, from the ${r.restorePoint.from}`}`,
    `- last Job done: ${at(r.finishedAt)}`,
    `- ${objectiveLine("RPO", r.rpo)} — restore point to start`,
    `- ${objectiveLine("RTO", r.rto)} — start to last Job done`,
    "",
    "## Timeline",
    "",
    `| Job | command | status | started (UTC) | started (${r.timeZone}) | finished (UTC) | seconds |`,
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "## Rows lost and recovered",
    "",
    ...rowsLines(r.rows),
    "",
    "## Problems",
    "",
    ...(r.problems.length === 0 ? ["none"] : r.problems.map((p) => `- ${p}`)),
    "",
  ].join("\n");
}
