/**
 * What every command's runner shares: the environment it reads, where its result and its log go, and the flag
 * checks more than one command makes (an instant, an incident id, a run id). Each command's folder holds its
 * flags (argv and the environment to typed options: flags.ts) apart from what it does (run.ts).
 */
import { DateTime } from "luxon";
import { UsageError } from "../errors";
import { INCIDENT_ID, runIdProblem } from "../naming";

export type Env = Readonly<Record<string, string | undefined>>;

/** stdout takes the result (blob name, status, comparison, listing); stderr the log and progress. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** A command's runner: its exit status (0 ok, 1 failure or differences); a UsageError for bad flags. */
export type CommandRunner = (args: string[], env: Env, io: Io) => Promise<number>;

/** An instant flag (`--restore-time`, `--now`): ISO 8601 with an offset, else a UsageError naming the flag. */
export function instantFlag(command: string, flag: string, value: string): DateTime<true> {
  const t = DateTime.fromISO(value, { setZone: true });
  if (!t.isValid || !/(Z|[+-]\d\d:?\d\d)$/.test(value)) {
    throw new UsageError(
      `${command}: --${flag} must be an ISO 8601 time with an offset (e.g. 2026-12-04T01:00:00Z), got ${JSON.stringify(value)}`,
    );
  }
  return t;
}

/** `--restore-time`: an ISO 8601 instant with an offset (the PTR copy's restore point), shown in the reports as UTC. */
export function restoreTimeFlag(command: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return instantFlag(command, "restore-time", value).toUTC().toISO({ suppressMilliseconds: true });
}

/** `--incident` (required by the contract's parser): an id that names Jobs and databases. */
export function incidentFlag(command: string, id: string): string {
  if (!INCIDENT_ID.test(id)) {
    throw new UsageError(
      `${command}: --incident ${JSON.stringify(id)} must be 1–20 lowercase letters, digits and inner hyphens`,
    );
  }
  return id;
}

/** `--run-id` of a command that reads a run's record (naming.ts `runIdProblem`, the one check). */
export function runIdFlag(command: string, runId: string): string {
  const problem = runIdProblem(runId);
  if (problem !== undefined) throw new UsageError(`${command}: ${problem}`);
  return runId;
}
