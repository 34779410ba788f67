/**
 * The config's times resolved to UTC, once, for the rules (which report their problems) and the incident
 * (which takes their values): the restore time, the pin that lets an incident outlive the restore window, the
 * deletion time of a server to revive.
 */
import { DateTime } from "luxon";
import { azureUtc, hasOffset, resolveRestoreTime } from "../plan/time";
import type { ResolvedTime } from "../plan/time";
import type { Problem } from "./messages";

/** A value read from the config (a time, the pin), or why it could not be (empty when it was). */
export interface Resolution<T> {
  readonly problems: readonly Problem[];
  readonly value?: T;
}

/**
 * The pin's two keys as their schemas parsed them: undefined when absent, or when the schema refuses the value
 * (it reports that one), and then the pin is taken as not given. `set` tells the two apart: only an absent key
 * is missing — one set to a value the schema refuses is not reported again here.
 */
export interface PinKeys {
  readonly requestedAt: string | undefined;
  readonly requestedFor: string | undefined;
  readonly set: (key: "ptr.requestedAt" | "ptr.requestedFor") => boolean;
}

/**
 * Resolves a restore or deletion time. A time with its own offset or `Z` needs no zone, so it is checked even
 * when timeZone is invalid; a wall-clock time then cannot be read.
 */
export function resolveIn(key: string, text: string, zone: string | undefined): Resolution<ResolvedTime> {
  if (zone === undefined && !hasOffset(text)) {
    return {
      problems: [
        `${key}: is a wall-clock time, and timeZone is not a valid zone, so it cannot be converted to UTC; ` +
          `fix timeZone, or give the time with its offset (e.g. "${text.trim()}Z" for UTC); received ${JSON.stringify(text)}`,
      ],
    };
  }
  const r = resolveRestoreTime(text, zone ?? "UTC");
  return r.ok
    ? { problems: [], value: r.value }
    : { problems: [`${key}: ${r.problem}; received ${JSON.stringify(text)}`] };
}

/**
 * `ptr.requestedAt` + `ptr.requestedFor`: the instant the window is checked at, when the pin is valid. The pin
 * is bound to one restore time: a different `ptr.restoreTime` is a new copy (the old one is deleted first, the
 * name is fixed), which Azure restores only inside the window of *now* — so then the pin is refused and the
 * window is checked against now, and no expired time can get past the check and cost the existing copy. A key
 * the schema refuses is left to the schema.
 */
export function restorePin(
  pin: PinKeys,
  restoreText: string,
  restore: ResolvedTime,
  zone: string | undefined,
  now: DateTime,
): Resolution<DateTime> {
  const { requestedAt, requestedFor, set } = pin;
  const atSet = set("ptr.requestedAt");
  const forSet = set("ptr.requestedFor");
  if (atSet && !forSet) return { problems: [forMissing(restoreText)] };
  if (forSet && !atSet) return { problems: [AT_MISSING] };
  // Neither given, or one refused by the schema (which reports it): no pin, the window is checked against now.
  if (requestedAt === undefined || requestedFor === undefined) return { problems: [] };
  const at = requestedAtInstant(requestedAt, now);
  const resolved = resolveIn("ptr.requestedFor", requestedFor, zone);
  const problems = [...at.problems, ...resolved.problems];
  const pinned = resolved.value;
  if (pinned === undefined) return { problems };
  if (!pinned.utc.equals(restore.utc)) {
    problems.push(pinOfAnotherTime(pinned, requestedFor, restoreText, restore));
    return { problems };
  }
  return at.value === undefined ? { problems } : { problems, value: at.value };
}

/** Both halves of the pin or neither: `requestedAt` without the restore time it binds the pin to. */
function forMissing(restoreText: string): Problem {
  return (
    `ptr.requestedFor: is required with ptr.requestedAt (it binds the pin to the restore time whose copy was requested then); ` +
    `if the existing copy was made for the current restore time, set: pulumi config set --path ptr.requestedFor ${JSON.stringify(restoreText)}; ` +
    `otherwise remove the pin: pulumi config rm --path ptr.requestedAt; received nothing`
  );
}

/** Both halves of the pin or neither: `requestedFor` without when its copy was requested. */
const AT_MISSING: Problem =
  `ptr.requestedAt: is required with ptr.requestedFor (when the copy for that restore time was requested, with an offset or Z); ` +
  `set it: pulumi config set --path ptr.requestedAt 2026-11-25T09:00:00Z, or remove the pin: pulumi config rm --path ptr.requestedFor; received nothing`;

/** When the pinned copy was requested: an instant with its offset, not in the future. */
function requestedAtInstant(atText: string, now: DateTime): Resolution<DateTime> {
  const req = DateTime.fromISO(atText, { setZone: true });
  if (!req.isValid || !/([+-]\d{2}:?\d{2}|Z)$/.test(atText))
    return {
      problems: [
        `ptr.requestedAt: must be an ISO-8601 date-time with an offset or Z; received ${JSON.stringify(atText)}`,
      ],
    };
  if (req > now)
    return {
      problems: [
        `ptr.requestedAt: must not be in the future (now is ${azureUtc(now)} UTC); received ${JSON.stringify(atText)}`,
      ],
    };
  return { problems: [], value: req.toUTC() };
}

/** A pin for another restore time than the current one: refused, with how to re-pin once the new copy exists. */
function pinOfAnotherTime(
  pinned: ResolvedTime,
  forText: string,
  restoreText: string,
  restore: ResolvedTime,
): Problem {
  const unpin = "pulumi config rm --path ptr.requestedAt && pulumi config rm --path ptr.requestedFor";
  return (
    `ptr.requestedFor: the pin (ptr.requestedAt) is for the copy of ${azureUtc(pinned.utc)} UTC, but ptr.restoreTime ${JSON.stringify(restoreText)} is ${azureUtc(restore.utc)} UTC: ` +
    `a new restore time makes a new copy (the existing one is deleted first), which Azure restores only inside the window as of now, so ptr.restoreTime is checked against now. ` +
    `Remove the pin: ${unpin}; once the new copy exists, pin it again: pulumi config set --path ptr.requestedFor ${JSON.stringify(restoreText)} && pulumi config set --path ptr.requestedAt <the UTC time of that pulumi up>; ` +
    `received ${JSON.stringify(forText)}`
  );
}
