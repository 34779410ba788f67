/**
 * Where every stack of the fleet stands, from the committed stack files alone: each stack's config is loaded as
 * the offline plan loads it (Pulumi.yaml, the ESC environments it imports, the stack file), validated by the
 * program's own rules and turned into the program's plan at `now`. No program run, no cloud call.
 */
import { readdirSync } from "node:fs";
import type { DateTime } from "luxon";
import { UsageError } from "@service-dr/dr-data";
import { ConfigError, parseConfig, readRawConfig } from "../../config";
import { buildPlan, type NextStep, type Plan } from "../../plan";
import { declarationProblems, loadStackConfig, serializeConfig } from "../offline/stack-config";
import { environmentOf } from "./environment";

/** The stacks committed in `projectDir` (`Pulumi.<stack>.yaml`), sorted. */
export function listStacks(projectDir: string): string[] {
  return readdirSync(projectDir)
    .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/**
 * The plan's next step, as the plan gives it: data (plan/next-step.ts), its commands apart from its words. The
 * fleet shows the first command; the summary keeps `{n}` where each command stands.
 */
export function nextStepOf(plan: Pick<Plan, "nextStep">): NextStep {
  return plan.nextStep;
}

export interface LeverState {
  readonly on: boolean;
  /** True when a config switch forces it, whatever the mode. */
  readonly forced: boolean;
}

/** One stack's line. */
export interface StackStatus {
  readonly stack: string;
  /** The service: the GitHub repository the stack protects (the same for all of a service's stacks). */
  readonly service: string;
  /** The environment: the project's ESC environment the stack imports (dev/fleet/environment.ts). */
  readonly environment: string;
  readonly incident: {
    readonly mode: string;
    readonly phase: string | undefined;
    readonly id: string | undefined;
    /** `ptr`: the restore point as an operator reads it, in the stack's time zone. */
    readonly restoreTime: string | undefined;
    /** `rebuild`: where the data comes from (backup, revive, geo). */
    readonly rebuildFrom: string | undefined;
  };
  readonly levers: {
    readonly maintenance: LeverState;
    readonly freeze: LeverState;
    readonly stopped: LeverState;
  };
  readonly nextCommand: string | undefined;
}

/** A stack whose committed config does not load or validate: every problem, as the plan would print them. */
export interface StackProblem {
  readonly stack: string;
  readonly problems: readonly string[];
}

/** The status of `stack` at `now`, or the problems that keep its config from loading. */
export function stackStatus(projectDir: string, stack: string, now: DateTime): StackStatus | StackProblem {
  const loaded = loadStackConfig(projectDir, stack);
  const declared = declarationProblems(loaded, loaded.values);
  if (declared.length > 0) return { stack, problems: declared };
  const { raw, problems } = readRawConfig(serializeConfig(loaded.values));
  let plan: Plan;
  let environment: string;
  try {
    environment = environmentOf(loaded.project, loaded.environments, `Pulumi.${stack}.yaml`);
    plan = buildPlan(parseConfig(raw, now, problems), now);
  } catch (err) {
    if (err instanceof ConfigError) return { stack, problems: err.problems };
    if (err instanceof UsageError) return { stack, problems: [err.message] };
    throw err;
  }
  return {
    stack,
    service: plan.freeze.repository,
    environment,
    incident: {
      mode: plan.mode,
      phase: plan.phase,
      id: plan.incidentId,
      restoreTime: plan.restorePoint?.local,
      rebuildFrom: plan.rebuildFrom,
    },
    levers: {
      maintenance: leverState(plan.levers.maintenance),
      freeze: leverState(plan.levers.freeze),
      stopped: leverState(plan.levers.stopService),
    },
    nextCommand: nextStepOf(plan).commands[0],
  };
}

function leverState(lever: Plan["levers"]["freeze"]): LeverState {
  return { on: lever.on, forced: lever.source === "override" };
}

export function isProblem(status: StackStatus | StackProblem): status is StackProblem {
  return "problems" in status;
}
