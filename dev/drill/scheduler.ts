/**
 * The drill's scheduler: a step's `pulumi up` for the app and the recovery Jobs in the engine's order, and the
 * Job runner that runs each declared Job once, locally, against the local servers (jobs.ts).
 */
import { NIGHTLY_BACKUP_STEP, STEP_COMMAND, TROUBLESHOOT_STEP } from "@service-dr/dr-data";
import type { AppCluster } from "./cluster";
import type { Declared, DeclaredJob } from "./declared";
import { inDependencyOrder, type UpNode } from "./engine";
import type { Evidence } from "./evidence";
import { localJob, runLocalJob, type JobRun } from "./jobs";
import type { LocalServers } from "./servers";
import { jobSummary, type StepRecord } from "./timeline";

/** A Job (or the nightly CronJob's) that runs `backup`, by its step label: it prints the blob it wrote. */
function isBackup(job: DeclaredJob): boolean {
  return (
    job.step === NIGHTLY_BACKUP_STEP ||
    (job.step !== TROUBLESHOOT_STEP && STEP_COMMAND[job.step] === "backup")
  );
}

/**
 * Steps whose Job touches no server: the report at an incident's close reads and writes only the blob store,
 * so it runs beside the validated app (the program never holds the app for it).
 */
const APP_INDEPENDENT_STEPS: ReadonlySet<string> = new Set(["report"]);

export class Scheduler {
  /** Jobs that already ran (Kubernetes does not run a Job of the same name again). */
  private readonly ran = new Set<string>();

  constructor(
    private readonly cluster: AppCluster,
    private readonly servers: LocalServers,
    private readonly evidence: Evidence,
  ) {}

  /**
   * Runs one declared Job locally and records it in the step; resolves with its run whatever its exit status
   * (the caller decides what a failure means).
   */
  async runTool(
    s: StepRecord,
    job: Pick<DeclaredJob, "name" | "args" | "env">,
    declared: Declared | undefined,
  ): Promise<JobRun> {
    if (declared !== undefined) await this.servers.declaredAdmins(s, declared);
    const local = localJob(job, await this.servers.targets());
    for (const sub of local.substitutions)
      this.evidence.substitutions.add(sub.replace(/ → \d+$/, " → the local server's port"));
    const run = await runLocalJob(job.name, local);
    this.ran.add(job.name);
    s.jobs.push(jobSummary(run));
    return run;
  }

  /** Runs one declared Job locally; a failed Job fails the step (as it fails `pulumi up`). */
  async runJob(s: StepRecord, job: DeclaredJob, declared: Declared | undefined): Promise<void> {
    const run = await this.runTool(s, job, declared);
    if (run.exitCode !== 0) {
      throw new Error(
        `Job ${job.name} failed (exit ${run.exitCode}):\n${run.stderrTail.split("\n").slice(-15).join("\n")}`,
      );
    }
    if (isBackup(job)) this.evidence.storedBackups.push(run.stdout.split("\n").slice(-1)[0] ?? "");
  }

  /**
   * The step's `pulumi up` for the app and the recovery Jobs, in the engine's order: the replica patches
   * (the app's and the hold's) and the Jobs, each after everything it depends on (the declared edges); then
   * the deletes of patches no longer declared. A patch is created, updated or left alone as engine.ts decides;
   * a Job runs once (Kubernetes never runs a finished Job of the same name again), and only with every
   * Deployment at 0 — a Job that would run under a live app fails the drill. Returns what happened, in order.
   */
  async apply(s: StepRecord, d: Declared): Promise<string[]> {
    const events: string[] = [];
    const kept: string[] = [];
    const nodes: UpNode[] = [
      ...d.patches.map((p) => ({
        resource: p.resource,
        dependsOn: p.dependsOn,
        run: () => Promise.resolve(this.cluster.patch(s, p, events)),
      })),
      ...d.jobs.map((job) => ({
        resource: job.resource ?? job.name,
        dependsOn: job.dependsOn ?? [],
        run: () => this.job(s, d, job, events, kept),
      })),
    ];
    await inDependencyOrder(nodes);
    this.cluster.deleteUndeclared(s, d, events);
    if (kept.length > 0) s.notes.push(`declared again, already completed, not re-run: ${kept.join(", ")}`);
    s.notes.push(`app after the step: ${this.cluster.appState(d)}`);
    return events;
  }

  private async job(
    s: StepRecord,
    d: Declared,
    job: DeclaredJob,
    events: string[],
    kept: string[],
  ): Promise<void> {
    if (this.ran.has(job.name)) {
      kept.push(job.name);
      return;
    }
    const running = this.cluster.running(d);
    if (running.length > 0 && !APP_INDEPENDENT_STEPS.has(job.step))
      throw new Error(`Job ${job.name} would run while the app is up (${running.join(", ")})`);
    await this.runJob(s, job, d);
    events.push(`job ${job.name}`);
    s.notes.push(
      running.length > 0
        ? `${job.name} ran beside the app (it reads and writes only the blob store)`
        : `${job.name} ran with the app stopped (${this.cluster.appState(d)})`,
    );
  }
}
