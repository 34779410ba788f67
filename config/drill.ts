/**
 * The config fragments of the scheduled drill and of the service's recovery objectives, added to config.ts's
 * schema as `drill` and `objectives`, with their cross-field rule and warning.
 *
 * - `drill`: `drill-YYYYMMDD-HHMM`, the drill's id and its start in UTC. The drill workflow sets it for one
 *   `pulumi up` (`pulumi config set drill …` in its own checkout, never committed) and removes it for the
 *   next one, which deletes everything the drill made.
 * - `objectives.rpoMinutes`, `objectives.rtoMinutes`: the most data (minutes of writes) and the longest time a
 *   recovery of this service may lose and take. Required while a drill is set (it is measured against them);
 *   the policy pack requires them in production.
 */
import { DateTime } from "luxon";
import { z } from "zod";
import {
  DRILL_RUN_ID,
  drillScratchDatabase,
  drillServerName,
  pgIdentifierBytes,
  stagingDatabaseName,
} from "@service-dr/dr-data";

/** `drill-YYYYMMDD-HHMM`: the drill's start in UTC, to the minute (a Kubernetes label and Job name prefix). */
export const DRILL_ID = /^drill-(\d{8})-(\d{4})$/;
const DRILL_ID_TEXT = "drill-YYYYMMDD-HHMM, the drill's start in UTC (e.g. drill-20261207-0317)";

/** How long before the drill's start the copy's restore point is: inside the server's log backups by then. */
export const DRILL_RESTORE_LAG_MINUTES = 5;
/** The largest objective, in minutes: 90 days (the data tool's own limit for --rpo-minutes/--rto-minutes). */
export const MAX_OBJECTIVE_MINUTES = 60 * 24 * 90;

/** The instant `drill-YYYYMMDD-HHMM` names, in UTC; undefined if it names none (month 13, 25:00). */
export function drillStart(id: string): DateTime | undefined {
  const m = DRILL_ID.exec(id);
  if (m === null) return undefined;
  const t = DateTime.fromFormat(`${m[1]}${m[2]}`, "yyyyLLddHHmm", { zone: "utc" });
  return t.isValid ? t : undefined;
}

export const drillSchema = z
  .string({ error: `must be ${DRILL_ID_TEXT}` })
  .regex(DRILL_ID, { error: `must be ${DRILL_ID_TEXT}` })
  // Only an id of the right shape is read (zod runs this after a failed regex too).
  .refine((id) => !DRILL_ID.test(id) || drillStart(id) !== undefined, {
    error: `must name a real UTC minute: ${DRILL_ID_TEXT}`,
  });

const objective = (what: string) => {
  const text = `must be a whole number of minutes from 1 to ${MAX_OBJECTIVE_MINUTES} (${what})`;
  return z
    .number({ error: text })
    .int({ error: text })
    .min(1, { error: text })
    .max(MAX_OBJECTIVE_MINUTES, { error: text });
};

export const objectivesSchema = z.strictObject({
  /** The most data, in minutes of writes before the failure, a recovery may lose. */
  rpoMinutes: objective("the most data a recovery may lose"),
  /** The longest a recovery may take, in minutes from its start to the data back. */
  rtoMinutes: objective("the longest a recovery may take"),
});

export type Objectives = z.output<typeof objectivesSchema>;

/** What the drill rule reads: each value as its own schema parsed it (undefined where absent or invalid). */
export interface DrillRuleInput {
  readonly drill: string | undefined;
  /** Whether the stack sets `objectives` at all (an invalid one is the schema's to report). */
  readonly objectivesSet: boolean;
  readonly serverName: string | undefined;
  readonly appDatabase: string | undefined;
  readonly now: DateTime;
}

/**
 * A set drill's problems: its objectives are required (it is measured against them), its start is not in the
 * future (Azure would move a future restore point to the request's time, silently), and the copy's server
 * name and the scratch database's name fit their limits. Silent on values their own schema reports.
 */
export function drillProblems({
  drill,
  objectivesSet,
  serverName,
  appDatabase,
  now,
}: DrillRuleInput): string[] {
  if (drill === undefined) return [];
  const problems: string[] = [];
  if (!objectivesSet)
    problems.push(
      `objectives: is required while drill is set (the drill is measured against objectives.rpoMinutes and objectives.rtoMinutes); received nothing`,
    );
  const start = drillStart(drill);
  if (start !== undefined && start > now)
    problems.push(
      `drill: must not start in the future (now is ${now.toUTC().toFormat("yyyyLLdd-HHmm")} UTC); received ${JSON.stringify(drill)}`,
    );
  if (serverName !== undefined && drillServerName(serverName).length > 63)
    problems.push(
      `postgres.serverName: must leave room for the drill copy's name "${drillServerName(serverName)}" (≤ 63 characters, so ≤ 57 for this name) while drill is set; received ${JSON.stringify(serverName)}`,
    );
  if (appDatabase !== undefined) {
    const staging = stagingDatabaseName(drillScratchDatabase(appDatabase), DRILL_RUN_ID);
    if (pgIdentifierBytes(staging) > 63)
      problems.push(
        `postgres.appDatabase: must leave room for the drill restore's database "${staging}" (≤ 63 bytes) while drill is set; received ${JSON.stringify(appDatabase)}`,
      );
  }
  return problems;
}

/**
 * An incident takes precedence over a drill: while drMode is not none, a set drill declares nothing (the
 * plan leaves it out) and this warning says how to remove it.
 */
export function drillWarnings(drill: string | undefined, drMode: string): string[] {
  if (drill === undefined || drMode === "none") return [];
  return [
    `drill: ${drill} is ignored while drMode is ${drMode} (an incident takes precedence: no drill resources are declared, and what the drill made is deleted); remove it: pulumi config rm drill`,
  ];
}
