/**
 * Time conversion for restore points. The seed's warning — "convert the time to UTC before using it … especially
 * during BST" — lives here: an operator gives a wall-clock time in the stack's zone (or an explicit offset), and
 * this module turns it into the exact UTC string Azure's `pointInTimeUTC` gets, refusing the two wall-clock
 * times that do not name exactly one instant (the spring-forward gap and the autumn fall-back hour).
 *
 * Pure functions over luxon; `now` is always a parameter.
 */
import { DateTime, Duration, IANAZone } from "luxon";

/** Azure's flexible server keeps PITR backups for at least this long before "now" is restorable. */
export const PTR_MIN_AGE = Duration.fromObject({ minutes: 5 });

/** The format Azure documents for `pointInTimeUTC`: ISO 8601, whole seconds, explicit `+00:00`. */
export function azureUtc(instant: DateTime): string {
  return instant.toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss'+00:00'");
}

/** How an operator reads a time: `2026-11-24 13:05:00 GMT (+00:00)` in the given zone. */
export function humanInZone(instant: DateTime, zone: string): string {
  // en-GB names London's offsets GMT and BST (en-US would say "GMT+1").
  const local = instant.setZone(zone).setLocale("en-GB");
  return `${local.toFormat("yyyy-MM-dd HH:mm:ss")} ${local.offsetNameShort ?? local.zoneName ?? zone} (${local.toFormat("ZZ")})`;
}

/** A restore time as given, resolved to one instant. */
export interface ResolvedTime {
  readonly utc: DateTime;
  /** The same instant in the stack's zone. */
  readonly local: DateTime;
  /** True when the text carried its own offset or `Z` (then the zone was not consulted). */
  readonly hadOffset: boolean;
}

export type TimeResult =
  { readonly ok: true; readonly value: ResolvedTime } | { readonly ok: false; readonly problem: string };

/** An ISO-8601 date-time: date, `T`, hh:mm[:ss], optional offset. Fractions of a second are refused below. */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** True when `text` ends in an explicit offset or `Z` (then no zone is needed to read it). */
export function hasOffset(text: string): boolean {
  return ISO_DATE_TIME.exec(text.trim())?.[8] !== undefined;
}

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/**
 * Resolves `text` in `zone`. With an offset or `Z` the text is taken as given; without one it is a wall-clock
 * time in `zone` and must name exactly one instant there.
 */
export function resolveRestoreTime(text: string, zone: string): TimeResult {
  const m = ISO_DATE_TIME.exec(text.trim());
  if (!m) {
    return {
      ok: false,
      problem: `is not an ISO-8601 date-time; expected e.g. "2026-11-24T13:05:00" (wall clock in ${zone}) or "2026-11-24T13:05:00Z"`,
    };
  }
  if (m[7] !== undefined) {
    return {
      ok: false,
      problem:
        "has a fraction of a second; point-in-time restore has a resolution of one second, give whole seconds",
    };
  }
  // luxon reads hour 24 as the next day's midnight; a restore point must be written as it is meant.
  if (Number(m[4]) > 23) {
    return { ok: false, problem: `is not a valid date-time (hour ${m[4]}: hours are 00–23)` };
  }
  const offset = m[8];
  if (offset !== undefined) {
    const dt = DateTime.fromISO(text.trim(), { setZone: true });
    if (!dt.isValid)
      return {
        ok: false,
        problem: `is not a valid date-time (${dt.invalidExplanation ?? dt.invalidReason})`,
      };
    return { ok: true, value: { utc: dt.toUTC(), local: dt.setZone(zone), hadOffset: true } };
  }
  return resolveWallClock(m, text.trim(), zone);
}

/** A wall-clock time in `zone` (no offset given): it must name exactly one instant there. */
function resolveWallClock(m: RegExpExecArray, text: string, zone: string): TimeResult {
  const wall = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6] ?? "0"),
  };
  // Validate the calendar fields on their own (Feb 30, 25:00) before asking the zone anything.
  const asUtc = DateTime.fromObject(wall, { zone: "utc" });
  if (!asUtc.isValid)
    return {
      ok: false,
      problem: `is not a valid date-time (${asUtc.invalidExplanation ?? asUtc.invalidReason})`,
    };
  const candidates = wallClockCandidates(asUtc, zone);
  const first = candidates[0];
  if (first === undefined) {
    return {
      ok: false,
      problem:
        `is a local time that does not exist in ${zone} (the clocks skip it when summer time starts); ` +
        `give a time outside the gap or an explicit offset`,
    };
  }
  if (candidates.length > 1) {
    const shown = candidates.map((c) => `${azureUtc(c)} (${c.setZone(zone).toFormat("ZZ")})`).join(" or ");
    return {
      ok: false,
      problem:
        `is ambiguous in ${zone}: that wall-clock time happens twice when summer time ends; ` +
        `it is either ${shown}; give the time with its offset, e.g. "${text}${candidates[0]!.setZone(zone).toFormat("ZZ")}"`,
    };
  }
  return { ok: true, value: { utc: first, local: first.setZone(zone), hadOffset: false } };
}

/**
 * Every instant whose wall clock in `zone` reads `wallAsUtc` (a wall time encoded as if it were UTC): none in a
 * spring-forward gap, two in a fall-back overlap, one otherwise. Offsets in use around the time are tried, and
 * an offset counts only if the zone really has that offset at the resulting instant.
 */
function wallClockCandidates(wallAsUtc: DateTime, zone: string): DateTime[] {
  const z = IANAZone.create(zone);
  const ms = wallAsUtc.toMillis();
  const day = 24 * 3600 * 1000;
  const offsets = new Set([z.offset(ms - day), z.offset(ms), z.offset(ms + day)]);
  const found: DateTime[] = [];
  for (const minutes of offsets) {
    const instant = ms - minutes * 60_000;
    if (z.offset(instant) === minutes) found.push(DateTime.fromMillis(instant, { zone: "utc" }));
  }
  return found.sort((a, b) => a.toMillis() - b.toMillis());
}

export interface RestoreWindow {
  readonly earliest: DateTime;
  readonly latest: DateTime;
}

/** The range Azure can restore to now: (now − retention days, now − 5 minutes). */
export function restoreWindow(now: DateTime, retentionDays: number): RestoreWindow {
  return { earliest: now.toUTC().minus({ days: retentionDays }), latest: now.toUTC().minus(PTR_MIN_AGE) };
}

/** Undefined when `utc` is inside the window; otherwise why not, with the window in UTC and in `zone`. */
export function windowProblem(
  utc: DateTime,
  window: RestoreWindow,
  now: DateTime,
  zone: string,
): string | undefined {
  const shown =
    `the restorable window is ${azureUtc(window.earliest)} – ${azureUtc(window.latest)} UTC ` +
    `(${humanInZone(window.earliest, zone)} – ${humanInZone(window.latest, zone)})`;
  if (utc > now)
    return `is in the future (${azureUtc(utc)} UTC is after now, ${azureUtc(now)} UTC); ${shown}`;
  if (utc > window.latest)
    return `is less than ${PTR_MIN_AGE.toFormat("m")} minutes ago (${azureUtc(utc)} UTC); ${shown}`;
  if (utc < window.earliest)
    return `is older than the backup retention allows (${azureUtc(utc)} UTC); ${shown}`;
  return undefined;
}
