/**
 * The drill's timeline: one record per runbook step, with its start in UTC and in the stack's zone, its
 * duration, the config commands it took, the lever states the program declared, the Jobs it ran and what was
 * checked. Each step is printed as soon as it ends.
 */
import { DateTime } from "luxon";
import { humanInZone } from "../../plan";
import type { JobRun } from "./jobs";

export interface JobSummary {
  readonly name: string;
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly ms: number;
  readonly result: string;
}

export interface StepRecord {
  readonly index: number;
  readonly title: string;
  /** Part of the recovery (counts toward the recovery time), or setup/incident before it. */
  readonly recovery: boolean;
  readonly startedAt: DateTime;
  endedAt: DateTime;
  commands: string[];
  levers: string | undefined;
  readonly jobs: JobSummary[];
  readonly notes: string[];
  failed: string | undefined;
}

export function jobSummary(run: JobRun): JobSummary {
  return {
    name: run.name,
    args: run.args,
    exitCode: run.exitCode,
    ms: run.ms,
    result: run.exitCode === 0 ? (run.stdout.split("\n").slice(-1)[0] ?? "") : lastLines(run.stderrTail, 6),
  };
}

function lastLines(text: string, n: number): string {
  return text.split("\n").slice(-n).join(" | ");
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function utcText(t: DateTime): string {
  return t.toUTC().toFormat("yyyy-LL-dd HH:mm:ss.SSS'Z'");
}

export class Timeline {
  readonly steps: StepRecord[] = [];

  constructor(
    readonly zone: string,
    private readonly print: (line: string) => void,
  ) {}

  /** Runs one step; the record is printed when it ends, also when it fails (then the error is rethrown). */
  async step<T>(title: string, recovery: boolean, fn: (s: StepRecord) => Promise<T>): Promise<T> {
    const s: StepRecord = {
      index: this.steps.length + 1,
      title,
      recovery,
      startedAt: DateTime.utc(),
      endedAt: DateTime.utc(),
      commands: [],
      levers: undefined,
      jobs: [],
      notes: [],
      failed: undefined,
    };
    this.steps.push(s);
    try {
      return await fn(s);
    } catch (err) {
      s.failed = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      s.endedAt = DateTime.utc();
      for (const line of formatStep(s, this.zone)) this.print(line);
    }
  }

  /** From the start of the first recovery step to the end of the last one. */
  recoveryMs(until?: (s: StepRecord) => boolean): number {
    const rec = this.steps.filter((s) => s.recovery);
    const first = rec[0];
    if (first === undefined) return 0;
    const lastIndex = until === undefined ? rec.length - 1 : rec.findIndex(until);
    const last = rec[lastIndex < 0 ? rec.length - 1 : lastIndex]!;
    return last.endedAt.toMillis() - first.startedAt.toMillis();
  }
}

export function durationMs(s: StepRecord): number {
  return s.endedAt.toMillis() - s.startedAt.toMillis();
}

/** `[3] title  2026-… UTC | 2026-… IST (+05:30) | 4.2 s` then indented detail lines. */
export function formatStep(s: StepRecord, zone: string): string[] {
  const lines = [
    `[${s.index}] ${s.failed === undefined ? "" : "FAILED "}${s.title}`,
    `    ${utcText(s.startedAt)} | ${humanInZone(s.startedAt, zone)} | ${seconds(durationMs(s))}`,
  ];
  for (const c of s.commands) lines.push(`    $ ${c}`);
  if (s.levers !== undefined) lines.push(`    declared: ${s.levers}`);
  for (const j of s.jobs) {
    lines.push(`    job ${j.name}: exit ${j.exitCode}, ${seconds(j.ms)}: ${j.result}`);
  }
  for (const n of s.notes) lines.push(`    ${n}`);
  if (s.failed !== undefined) lines.push(`    error: ${s.failed.split("\n").join("\n    ")}`);
  return lines;
}
