/**
 * The steps of a recovery (an incident's Jobs) or of a drill, as their Jobs left them in the blob store: each
 * Job's completion record (`…/done/<job>.json`, written after a success, job-log.ts) and its log
 * (`…/logs/<job>.log`, written at the end whatever the outcome). A step with a record is done; one with a log
 * and no record failed (its log's footer says how); one with neither never ran, or is still running, or died
 * before it could write anything.
 *
 * The record gives the step's start (`startedAt`; a record written before it was kept falls back to the log's
 * header) and its finish. Only the log's first and last few KiB are read: the times are in its header and footer.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { storageErrorCode } from "../errors";
import { parseDoneRecord, type DoneRecord } from "../job-log";

export type StepStatus = "done" | "failed" | "missing";

/** One step as a report shows it. Times are UTC ISO 8601. */
export interface StepRecord {
  /** The step's name in its recovery or drill (`restore`, `inspect`; the Job's name in an incident's timeline). */
  readonly step: string;
  readonly job: string;
  /** The tool's command the Job ran (its argv's first word), when a record or log says. */
  readonly command: string | null;
  readonly status: StepStatus;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** finishedAt − startedAt, whole seconds; null when either is unknown. */
  readonly seconds: number | null;
  /** The Job's log blob, when there is one. */
  readonly log: string | null;
  /** Why the step is not done; null when done. */
  readonly problem: string | null;
}

/** What a Job's log says about its run: its header and footer (job-log.ts runWithJobLog). */
export interface LogTimes {
  readonly command: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** The exit status of the footer; 143 for a SIGTERM (the Job's deadline); null without a footer. */
  readonly exitStatus: number | null;
}

/** The header (`dr-data <argv>: started <ISO>; log → …`) and footer (`exit status N, finished <ISO>`). */
export function parseLogTimes(head: string, tail: string): LogTimes {
  const header = /^dr-data (\S+)[^\n]*?: started (\S+); log → /m.exec(head);
  const footers = [
    ...tail.matchAll(/^dr-data: (?:exit status (\d+), finished|terminated \(SIGTERM\)) (\S+)$/gm),
  ];
  const footer = footers[footers.length - 1];
  return {
    command: header?.[1] ?? null,
    startedAt: header?.[2] ?? null,
    finishedAt: footer?.[2] ?? null,
    exitStatus: footer === undefined ? null : footer[1] === undefined ? 143 : Number(footer[1]),
  };
}

/** Whole seconds between two ISO instants; null when either is missing or unreadable. */
export function secondsBetween(from: string | null, to: string | null): number | null {
  if (from === null || to === null) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.round(ms / 1000) : null;
}

/** One step from what its Job left: a record, a log, both or neither. Pure. */
export function stepFrom(
  step: string,
  job: string,
  done: DoneRecord | undefined,
  log: { readonly blob: string; readonly times: LogTimes } | undefined,
): StepRecord {
  const base = { step, job, log: log?.blob ?? null };
  if (done !== undefined) {
    const startedAt = done.startedAt ?? log?.times.startedAt ?? null;
    const finishedAt = done.finishedAt;
    const command = done.argv[0] ?? log?.times.command ?? null;
    const seconds = secondsBetween(startedAt, finishedAt);
    return { ...base, command, status: "done", startedAt, finishedAt, seconds, problem: null };
  }
  if (log === undefined) {
    const problem =
      `${step} (Job ${job}): no completion record and no log: the Job never ran, is still running, ` +
      `or died before it could write its log`;
    return {
      ...base,
      command: null,
      status: "missing",
      startedAt: null,
      finishedAt: null,
      seconds: null,
      problem,
    };
  }
  const t = log.times;
  const why =
    t.exitStatus === null
      ? "its log has no exit status"
      : t.exitStatus === 143
        ? "terminated (SIGTERM: the Job's deadline)"
        : `exit status ${t.exitStatus}`;
  const problem = `${step} (Job ${job}) failed: ${why}, no completion record (log: ${log.blob})`;
  return {
    ...base,
    command: t.command,
    status: "failed",
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    seconds: secondsBetween(t.startedAt, t.finishedAt),
    problem,
  };
}

/** A blob's text, or undefined when it does not exist; any other failure throws, naming the blob. */
export async function readTextIfExists(
  container: ContainerClient,
  name: string,
): Promise<string | undefined> {
  try {
    return (await container.getBlobClient(name).downloadToBuffer()).toString("utf8");
  } catch (cause) {
    if (storageErrorCode(cause) === "BlobNotFound") return undefined;
    throw new Error(`reading ${container.containerName}/${name}`, { cause });
  }
}

/** The first and last KiB of a log: its header and footer, without reading a 64 MiB log whole. */
const LOG_END_BYTES = 8 * 1024;

async function readLogTimes(container: ContainerClient, name: string): Promise<LogTimes | undefined> {
  const client = container.getBlobClient(name);
  try {
    const size = (await client.getProperties()).contentLength ?? 0;
    const head = (await client.downloadToBuffer(0, Math.min(size, LOG_END_BYTES))).toString("utf8");
    const from = Math.max(0, size - LOG_END_BYTES);
    const tail = size === 0 ? "" : (await client.downloadToBuffer(from, size - from)).toString("utf8");
    return parseLogTimes(head, tail);
  } catch (cause) {
    if (storageErrorCode(cause) === "BlobNotFound") return undefined;
    throw new Error(`reading ${container.containerName}/${name}`, { cause });
  }
}

/** One step's record and log, read from the store and made a StepRecord. */
export async function readStep(
  container: ContainerClient,
  s: { readonly step: string; readonly job: string; readonly doneBlob: string; readonly logBlob: string },
): Promise<StepRecord> {
  const text = await readTextIfExists(container, s.doneBlob);
  const done =
    text === undefined ? undefined : parseDoneRecord(text, `${container.containerName}/${s.doneBlob}`);
  const times = await readLogTimes(container, s.logBlob);
  return stepFrom(s.step, s.job, done, times === undefined ? undefined : { blob: s.logBlob, times });
}

/** The Job names with a record under `<prefix>/done/` or a log under `<prefix>/logs/`, sorted. */
export async function jobsUnder(container: ContainerClient, prefix: string): Promise<string[]> {
  const jobs = new Set<string>();
  for (const [folder, ext] of [
    ["done", ".json"],
    ["logs", ".log"],
  ] as const) {
    const under = `${prefix}/${folder}/`;
    try {
      for await (const item of container.listBlobsFlat({ prefix: under })) {
        const rest = item.name.slice(under.length);
        if (rest.endsWith(ext) && !rest.includes("/")) jobs.add(rest.slice(0, -ext.length));
      }
    } catch (cause) {
      throw new Error(`listing ${container.containerName}/${under}`, { cause });
    }
  }
  return [...jobs].sort();
}

/** Steps in the order they ran: by start, the unknown last, then by Job name. */
export function inTimeOrder(steps: readonly StepRecord[]): StepRecord[] {
  const key = (s: StepRecord): number => {
    const t = Date.parse(s.startedAt ?? s.finishedAt ?? "");
    return Number.isNaN(t) ? Infinity : t;
  };
  return [...steps].sort((a, b) => key(a) - key(b) || (a.job < b.job ? -1 : a.job > b.job ? 1 : 0));
}
