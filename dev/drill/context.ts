/**
 * One drill's parts, put together for the scenarios: the operator's stack and each step's `pulumi up`
 * (declared.ts), the simulated cluster (cluster.ts), the local servers (servers.ts), the scheduler and Job
 * runner (scheduler.ts), the evidence for the report (evidence.ts) and the timeline.
 */
import { DateTime } from "luxon";
import { PTR_MIN_AGE } from "../../plan";
import type { Cleanup } from "./cleanup";
import { AppCluster } from "./cluster";
import { formatLevers, OperatorStack, type Declared, type DeclaredJob } from "./declared";
import { Evidence } from "./evidence";
import type { JobRun } from "./jobs";
import { Scheduler } from "./scheduler";
import { LocalServers } from "./servers";
import { Timeline, type StepRecord } from "./timeline";
import type { DrillOptions } from "./drill";

/** The plan's clock: Azure restores only to points at least 5 minutes old, so the drill's plans run that much later. */
export const PLAN_CLOCK_SHIFT = PTR_MIN_AGE.plus({ seconds: 1 });
export const planNow = (): DateTime => DateTime.utc().plus(PLAN_CLOCK_SHIFT);

/** The stack as the drill starts it: the committed file, with `--time-zone` applied. */
export function operatorStack(o: DrillOptions): OperatorStack {
  return new OperatorStack(o.stack, o.timeZone === undefined ? [] : [`timeZone=${o.timeZone}`]);
}

export class DrillContext {
  readonly timeline: Timeline;
  readonly stack: OperatorStack;
  readonly evidence = new Evidence();
  readonly cluster = new AppCluster();
  readonly servers: LocalServers;
  private readonly scheduler: Scheduler;
  /** What the last `up` declared (a refresh reads the app's Deployments by it). */
  declared: Declared | undefined;

  constructor(
    readonly o: DrillOptions,
    readonly cleanup: Cleanup,
    zone: string,
  ) {
    this.stack = operatorStack(o);
    this.timeline = new Timeline(zone, o.print);
    this.servers = new LocalServers(cleanup, cleanup.tempDir("dr-drill-scratch-"));
    this.scheduler = new Scheduler(this.cluster, this.servers, this.evidence);
  }

  /**
   * Config commands, then the offline `pulumi up`; the declared lever states go into the step. `now` is the
   * plan's clock: ahead by PLAN_CLOCK_SHIFT unless a step needs the real one (the scheduled drill's start).
   */
  async up(
    s: StepRecord,
    change: (stack: OperatorStack) => string[],
    now: DateTime = planNow(),
  ): Promise<Declared> {
    const commands = change(this.stack);
    s.commands.push(...commands, "pulumi up");
    const d = await this.stack.declare(now, commands);
    s.levers = formatLevers(d.levers);
    this.declared = d;
    return d;
  }

  /** The `up`'s patches and Jobs in the engine's order (scheduler.ts); returns the scales and Jobs, in order. */
  apply(s: StepRecord, d: Declared): Promise<string[]> {
    return this.scheduler.apply(s, d);
  }

  /** A declared Job run locally, its exit status the caller's to judge (the scheduled drill's Jobs). */
  runTool(s: StepRecord, job: Pick<DeclaredJob, "name" | "args" | "env">): Promise<JobRun> {
    return this.scheduler.runTool(s, job, this.declared);
  }

  /** A Job outside an `up` (the nightly CronJob's run). */
  runJob(s: StepRecord, job: DeclaredJob): Promise<void> {
    return this.scheduler.runJob(s, job, this.declared);
  }
}
