/**
 * The drill report's shape (what `drill-report` writes, drill-report.ts) and how `dr-data status` reads and shows
 * the last one. Apart from the command so that status.ts can read a report without importing the command.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { readTextIfExists, type StepRecord } from "./timeline";

export const DRILL_REPORT_TOOL = "dr-data-drill-report/1";

export interface Objectives {
  readonly rpoMinutes: number;
  readonly rtoMinutes: number;
}

/** One objective: achieved (null: not measurable, which is not met), the objective, and whether it was met. */
export interface Measured {
  readonly achievedSeconds: number | null;
  /** achievedSeconds in minutes, one decimal (for reading; `met` compares the seconds). */
  readonly achievedMinutes: number | null;
  readonly objectiveMinutes: number;
  readonly met: boolean;
}

/** The nightly backup the RPO is measured from. */
export interface RpoBackup {
  readonly blob: string;
  /** When its dump began (from its name), UTC ISO. */
  readonly startedAt: string;
}

export interface DrillReport {
  readonly tool: typeof DRILL_REPORT_TOOL;
  /** The drill's day (UTC), `YYYY-MM-DD`. */
  readonly date: string;
  readonly scenario: string;
  readonly server: string;
  readonly database: string;
  readonly startedAt: string;
  /** The last step's finish; null when a step did not finish. */
  readonly finishedAt: string | null;
  readonly steps: StepRecord[];
  readonly backup: RpoBackup | null;
  readonly rpo: Measured;
  readonly rto: Measured;
  readonly result: "passed" | "failed";
  readonly problems: string[];
  /** container/name of the report. */
  readonly report: string;
}

/** A stored report, checked for what status and a second run read; an error naming the blob otherwise. */
export function parseDrillReport(text: string, where: string): DrillReport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new Error(`the drill report ${where} is not JSON`, { cause });
  }
  const r = (typeof raw === "object" && raw !== null ? raw : {}) as Partial<DrillReport>;
  const ok =
    r.tool === DRILL_REPORT_TOOL &&
    (r.result === "passed" || r.result === "failed") &&
    typeof r.startedAt === "string" &&
    Array.isArray(r.steps) &&
    Array.isArray(r.problems) &&
    typeof r.rpo?.met === "boolean" &&
    typeof r.rto?.met === "boolean";
  if (!ok) throw new Error(`the drill report ${where} is not one this tool wrote (${DRILL_REPORT_TOOL})`);
  return r as DrillReport;
}

/** Seconds as minutes to one decimal, for reading (verdicts compare the seconds); null stays null. */
export function achievedMinutes(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds / 6) / 10;
}

/**
 * One objective's line, a drill's or an incident's: achieved, objective, verdict. An incident's may have no
 * objective ("no objective given") or an unmeasured figure ("not judged"); a drill's is always judged.
 */
export function objectiveLine(
  label: "RPO" | "RTO",
  m: Pick<Measured, "achievedMinutes"> & { objectiveMinutes: number | null; met: boolean | null },
): string {
  const achieved = m.achievedMinutes === null ? "not measured" : `${m.achievedMinutes} min`;
  const objective = m.objectiveMinutes === null ? "-" : `${m.objectiveMinutes} min`;
  const verdict =
    m.met === null
      ? m.objectiveMinutes === null
        ? "no objective given"
        : "not judged"
      : m.met
        ? "met"
        : "MISSED";
  return `${label} ${achieved} (objective ${objective}): ${verdict}`;
}

/** The last drill as `dr-data status` shows it: when, result, timings, objectives met. */
export interface LastDrill {
  /** The report's blob name. */
  readonly report: string;
  readonly startedAt: string;
  /** `unreadable`: the report is there but not one this tool wrote (`problems` says why). */
  readonly result: "passed" | "failed" | "unreadable";
  readonly finishedAt: string | null;
  readonly steps: ReadonlyArray<Pick<StepRecord, "step" | "status" | "seconds">>;
  readonly rpo: Measured | null;
  readonly rto: Measured | null;
  /** Both objectives met; null when unreadable. */
  readonly objectivesMet: boolean | null;
  readonly problems: string[];
}

/** Reads a drill's report for the status; a report it cannot read is shown as such, not thrown. */
export async function lastDrillOf(
  container: ContainerClient,
  name: string,
  startedAt: string,
): Promise<LastDrill> {
  const text = await readTextIfExists(container, name);
  let r: DrillReport;
  try {
    r = parseDrillReport(text ?? "", `${container.containerName}/${name}`);
  } catch (err) {
    const problem = err instanceof Error ? err.message : String(err);
    const none = { finishedAt: null, steps: [], rpo: null, rto: null, objectivesMet: null };
    return { report: name, startedAt, result: "unreadable", ...none, problems: [problem] };
  }
  return {
    report: name,
    startedAt,
    result: r.result,
    finishedAt: r.finishedAt,
    steps: r.steps.map((s) => ({ step: s.step, status: s.status, seconds: s.seconds })),
    rpo: r.rpo,
    rto: r.rto,
    objectivesMet: r.rpo.met && r.rto.met,
    problems: r.problems,
  };
}

/** The status's lines for the last drill. */
export function formatLastDrill(d: LastDrill): string {
  const head = `last drill: ${d.result.toUpperCase()}, started ${d.startedAt} (${d.report})`;
  if (d.rpo === null || d.rto === null) return [head, ...d.problems.map((p) => `  - ${p}`)].join("\n");
  const steps = d.steps.map((s) => `${s.step} ${s.status}${s.seconds === null ? "" : ` ${s.seconds} s`}`);
  return [
    head,
    `  steps: ${steps.join(", ")}`,
    `  ${objectiveLine("RPO", d.rpo)}; ${objectiveLine("RTO", d.rto)}`,
    ...d.problems.map((p) => `  - ${p}`),
  ].join("\n");
}
