/**
 * The loader: the running stack's config read (read.ts), parsed by the schema, checked by the rules, and turned
 * into what the plan gets — or one ConfigError listing *every* problem, each naming the key, what is allowed
 * and what was received, before the program declares anything. `parseConfig` is pure, so the tests drive it
 * with tables of raw objects.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DateTime } from "luxon";
import type { ResolvedTime } from "../plan/time";
import { schema } from "./schema";
import type { Parsed } from "./schema";
import { ConfigError, formatIssue } from "./messages";
import { readStackConfig } from "./read";
import { ruleContext } from "./context";
import type { RuleContext } from "./context";
import { crossFieldProblems } from "./rules";
import { incidentOf } from "./incident";
import type { Incident } from "./incident";
import { notApplying } from "./warnings";
import { dataNamespaceOf } from "./data-namespace";
import { drillWarnings } from "./drill";

/** What the plan gets: the schema's output plus the incident and the resolved times (all checks passed). */
export interface StackConfig extends Readonly<Omit<Parsed, "ptr" | "kubernetes">> {
  /** `kubernetes` with `dataNamespace` resolved (set, or `<namespace>-dr`). */
  readonly kubernetes: Parsed["kubernetes"] & { readonly dataNamespace: string };
  /** What drMode, drPhase, incidentId, ptr and rebuild add up to: what the plan decides from. */
  readonly incident: Incident;
  /**
   * Keys that are set but do not apply in this state (each naming the key and why it is ignored): the
   * program logs them with `pulumi.log.warn`, so `pulumi preview` and the offline plan show them. A
   * `retry.<step>` whose Job the plan does not declare is worded from the plan (warnings.ts `retryWarnings`).
   */
  readonly warnings: readonly string[];
  /**
   * `ptr` as set, in any mode (the plan reads the incident's restore point; the next step lists a `ptr` left
   * behind, and `ptr.tables` chooses the restore's kind).
   */
  readonly ptr:
    | {
        readonly restore?: ResolvedTime;
        readonly requestedAt?: DateTime;
        /** `ptr.tables`: restore only these (`schema.table`), in the order given. */
        readonly tables?: readonly string[];
      }
    | undefined;
}

/** Reads and validates the running stack's config; throws ConfigError with every problem. */
export function loadConfig(now: DateTime): StackConfig {
  const { raw, problems } = readStackConfig();
  const cfg = parseConfig(raw, now, problems);
  // `pulumi preview`/`up` show these as warnings; the offline plan collects and prints them.
  for (const warning of cfg.warnings) void pulumi.log.warn(warning);
  return cfg;
}

/**
 * Validates a raw config object. Pure: `now` is the clock for every time check. `earlier` are problems found
 * while reading, reported together with the schema's.
 */
export function parseConfig(
  raw: Record<string, unknown>,
  now: DateTime,
  earlier: readonly string[] = [],
): StackConfig {
  const problems = [...earlier];
  const result = schema.safeParse(raw);
  if (!result.success) for (const issue of result.error.issues) problems.push(...formatIssue(issue, raw));
  // The checks that relate keys to each other and to the clock run on every value that parses on its own,
  // whether or not the rest of the config did: the operator sees every problem in one go.
  const ctx = ruleContext(raw, now);
  problems.push(...crossFieldProblems(ctx));
  // A config the schema accepts yields its incident, unless a key it needs is missing: a rule reported that.
  const incident = result.success ? incidentOf(result.data, ctx) : undefined;
  if (!result.success || incident === undefined || problems.length > 0) throw new ConfigError(problems);
  return stackConfig(result.data, incident, ctx);
}

/** The valid config as the plan reads it. */
function stackConfig(data: Parsed, incident: Incident, ctx: RuleContext): StackConfig {
  return {
    ...data,
    kubernetes: { ...data.kubernetes, dataNamespace: dataNamespaceOf(data.kubernetes) },
    incident,
    warnings: [...notApplying(data, incident), ...drillWarnings(data.drill, incident.mode)],
    ptr:
      data.ptr === undefined
        ? undefined
        : {
            restore: ctx.restore.value,
            requestedAt: ctx.pin.value,
            ...(data.ptr.tables === undefined ? {} : { tables: data.ptr.tables }),
          },
  };
}
