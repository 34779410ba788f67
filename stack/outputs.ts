/**
 * The stack outputs: one type for what program.ts returns and what its readers (the drill, the tests, an
 * operator's `pulumi stack output --json`) get back, with every Output resolved and `null` for "none".
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DrMode, DrPhase } from "../config";
import type { LeverSource, Levers } from "../plan";

export interface StackOutputs {
  readonly drMode: DrMode;
  readonly drPhase: DrPhase | null;
  readonly incidentId: string | null;
  /** The server holding the live data now: the geo server during a geo-restore. */
  readonly liveServerName: string;
  readonly liveServerFqdn: string;
  readonly geoServerName: string | null;
  readonly ptrServerName: string | null;
  readonly ptrServerFqdn: string | null;
  /** The PTR copy's restore point as Azure's UTC string, and as the stack's wall clock. */
  readonly restoreTimeUtc: string | null;
  readonly restoreTimeLocal: string | null;
  readonly timeZone: string;
  readonly maintenance: boolean;
  readonly temporaryUrl: string | null;
  readonly requiredApprovers: number;
  /** Replicas of each Deployment after this state's patches. */
  readonly replicas: Readonly<Record<string, number>>;
  readonly levers: Levers;
  readonly nightlyBackupSuspended: boolean;
  /** The recovery Jobs' names, in the order they run (each depends on the one before). */
  readonly recoveryJobs: readonly string[];
  readonly troubleshootPod: string | null;
  readonly psqlPtr: string | null;
  readonly psqlLive: string | null;
  readonly inspectReport: string | null;
  readonly nextStep: string;
  /** Only while a scheduled drill is declared (absent otherwise, so no other state's outputs change). */
  readonly drill?: DrillOutput;
}

/** The scheduled drill's output: its id and start, its copy, its Jobs in order, its report and objectives. */
export interface DrillOutput {
  readonly id: string;
  readonly startedAt: string;
  readonly copyServerName: string;
  readonly restoreTimeUtc: string;
  readonly jobs: readonly string[];
  /** In the backup container: `drill/<live>/<YYYYMMDDTHHMMSSZ>/report.json`, written by the last Job. */
  readonly reportBlob: string;
  readonly objectives: { readonly rpoMinutes: number; readonly rtoMinutes: number };
}

/** What program.ts returns: each output, or an Output or promise of it, which the engine resolves. */
export type ProgramOutputs = { readonly [K in keyof StackOutputs]: pulumi.Input<StackOutputs[K]> };

type Check = (value: unknown) => boolean;

const text: Check = (v) => typeof v === "string";
const count: Check = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const flag: Check = (v) => typeof v === "boolean";
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
/** One of a union's values; a Record over the union so that a new value fails to compile until listed. */
const member =
  <T extends string>(values: Readonly<Record<T, true>>): Check =>
  (v) =>
    typeof v === "string" && Object.hasOwn(values, v);
const isObject = (v: unknown): v is Readonly<Record<string, unknown>> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const MODES: Readonly<Record<DrMode, true>> = { none: true, ptr: true, rebuild: true };
const PHASES: Readonly<Record<DrPhase, true>> = { isolate: true, restore: true, validate: true };
const SOURCES: Readonly<Record<LeverSource, true>> = { mode: true, override: true };
const LEVERS: Readonly<Record<keyof Levers, true>> = { stopService: true, maintenance: true, freeze: true };

const lever: Check = (v) => isObject(v) && flag(v.on) && member(SOURCES)(v.source);

/** How each output is checked; a mapped type, so an output added to StackOutputs must be added here. */
const CHECKS: { readonly [K in keyof StackOutputs]-?: Check } = {
  drMode: member(MODES),
  drPhase: orNull(member(PHASES)),
  incidentId: orNull(text),
  liveServerName: text,
  liveServerFqdn: text,
  geoServerName: orNull(text),
  ptrServerName: orNull(text),
  ptrServerFqdn: orNull(text),
  restoreTimeUtc: orNull(text),
  restoreTimeLocal: orNull(text),
  timeZone: text,
  maintenance: flag,
  temporaryUrl: orNull(text),
  requiredApprovers: count,
  replicas: (v) => isObject(v) && Object.values(v).every(count),
  levers: (v) => isObject(v) && Object.keys(LEVERS).every((k) => lever(v[k])),
  nightlyBackupSuspended: flag,
  recoveryJobs: (v) => Array.isArray(v) && v.every(text),
  troubleshootPod: orNull(text),
  psqlPtr: orNull(text),
  psqlLive: orNull(text),
  inspectReport: orNull(text),
  nextStep: text,
  drill: (v) =>
    v === undefined ||
    (isObject(v) &&
      ["id", "startedAt", "copyServerName", "restoreTimeUtc", "reportBlob"].every((k) => text(v[k])) &&
      Array.isArray(v.jobs) &&
      v.jobs.every(text) &&
      isObject(v.objectives) &&
      count(v.objectives.rpoMinutes) &&
      count(v.objectives.rtoMinutes)),
};

/**
 * The outputs of a run, checked against StackOutputs. A runtime check on purpose: the values come back
 * through the engine (the mock runtime serializes and resolves them, as `pulumi stack output --json` does),
 * where the compiler no longer sees them. Throws naming every output that is missing or of the wrong shape.
 */
export function readStackOutputs(raw: Readonly<Record<string, unknown>>): StackOutputs {
  const problems = (Object.keys(CHECKS) as Array<keyof StackOutputs>)
    .filter((k) => !CHECKS[k](raw[k]))
    .map((k) => `${k}: ${JSON.stringify(raw[k]) ?? "missing"}`);
  if (problems.length > 0) {
    throw new Error(`stack outputs not of the program's shape: ${problems.join("; ")}`);
  }
  return raw as unknown as StackOutputs;
}
