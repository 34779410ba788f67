/**
 * The two runbook scenarios, end to end on this machine. Each runbook step is a stack config change and an
 * offline `pulumi up` of the real program (dev/drill/declared.ts); the data steps are the Jobs that step declares,
 * run locally with their own args (dev/drill/jobs.ts) against real PostgreSQL servers and Azurite started here.
 *
 * ptr (seed scenario 2, loss of data): a live server with WAL archiving and a base backup; a first batch of
 * writes; the operator notes the wall-clock time in the stack's zone; more writes; a destructive statement.
 * Then: isolate (flawed backup Job) → ptr.restoreTime (the PTR copy: a real point-in-time recovery to the
 * `pointInTimeUTC` the program declares) → a jump straight to validate, skipping drPhase restore (the program
 * holds web and worker at 0, runs backup-ptr, restore and compare, and only then brings the app back; the
 * drill applies the declared patches and Jobs in the engine's dependency order and fails if a Job would run
 * under a live app) → the drill's own check (the live database holds exactly the tables as they were at the
 * restore time; the flawed dump and every Job's log are in storage) → maintenance off → unfreeze → tidy up
 * (the PTR copy is no longer declared: it is stopped).
 *
 * rebuild (seed scenario 1, loss of the server): the nightly CronJob's backup; writes after it (lost by
 * design); the live server is stopped and its data directory deleted. Then: isolate (the program declares the
 * server again with createMode Create: a new empty server with the declared databases) → restore (the restore
 * Job: newest nightly dump; the compare Job: the rebuilt database against that backup's manifest) → validate
 * (the drill's own check against the state it recorded at the nightly backup) → maintenance off → unfreeze →
 * close. Every step in the runbook's order, through the same dependency-ordered executor.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { BlobServiceClient } from "@azure/storage-blob";
import { Azurite } from "@service-dr/dr-data/testkit/azurite";
import { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { PTR_MIN_AGE, azureUtc, resolveRestoreTime } from "../../plan";
import { listBackups, type BackupEntry } from "@service-dr/dr-data/list";
import { quoteIdent } from "@service-dr/dr-data/sql";
import {
  connectionEnvNames,
  errorChain,
  serverFqdn,
  incidentReport,
  NIGHTLY_BACKUP_STEP,
  parseBackupArgs,
  STEP_COMMAND,
  TROUBLESHOOT_STEP,
  type JobStep,
} from "@service-dr/dr-data";
import type { Declared, DeclaredJob, DeclaredPatch } from "./declared";
import { inDependencyOrder, SimulatedCluster, type UpNode } from "./engine";
import { formatLevers, OperatorStack } from "./declared";
import { localJob, runLocalJob, type LocalTargets } from "./jobs";
import { jobSummary, Timeline, type StepRecord } from "./timeline";
import {
  batchCounts,
  checkAgainst,
  countsOf,
  seedCounts,
  snapshot,
  totalRows,
  TABLES,
  Workload,
  type RowCounts,
  type Snapshot,
} from "./workload";

export const SCENARIOS = ["ptr", "rebuild"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface DrillOptions {
  readonly scenario: Scenario;
  /** Rows of the seed. */
  readonly rows: number;
  readonly stack: string;
  /** Overrides the stack's `timeZone`. */
  readonly timeZone: string | undefined;
  /** ptr: `ptr.tables` (a table-level restore) instead of the whole database. */
  readonly tables?: readonly string[] | undefined;
  /** Progress and timeline lines. */
  readonly print: (line: string) => void;
}

/** Row counts per table at the moments the report shows. */
export interface RowStage {
  readonly label: string;
  readonly counts: RowCounts;
}

export interface RestorePointEvidence {
  /** What the operator noted and set: wall clock in the stack's zone, without an offset. */
  readonly requestedLocal: string;
  /** The instant the drill noted (its own clock), in UTC. */
  readonly notedUtc: string;
  /** What the program declared: the PTR copy's `pointInTimeUTC`, and its `restoreTimeLocal` output. */
  readonly declaredUtc: string;
  readonly declaredLocal: string;
}

export interface DrillResult {
  readonly scenario: Scenario;
  /** `--tables`: the tables restored (ptr.tables); undefined for a whole-database restore. */
  readonly tables: readonly string[] | undefined;
  readonly ok: boolean;
  readonly failure: string | undefined;
  readonly stack: string;
  readonly timeZone: string;
  /** `--time-zone`, when the drill overrode the stack's zone. */
  readonly timeZoneOverride: string | undefined;
  readonly incidentId: string;
  readonly rows: number;
  readonly restorePoint: RestorePointEvidence | undefined;
  readonly lossStatement: string | undefined;
  readonly stages: readonly RowStage[];
  /** Rows the recovery was expected to bring back (the reference state) and what the live database holds. */
  readonly expectedRows: number | undefined;
  readonly recoveredRows: number | undefined;
  /** Rows written before the incident that the recovery cannot bring back (after the restore point / backup). */
  readonly lostRows: number | undefined;
  readonly checks: readonly string[];
  readonly sequences: readonly string[];
  readonly steps: readonly StepRecord[];
  readonly recoveryMs: number;
  /** Until the data was restored and verified (the end of the validate step). */
  readonly dataRecoveredMs: number;
  readonly substitutions: readonly string[];
  readonly storedBackups: readonly string[];
  readonly planClockShift: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly startedAt: DateTime;
}

/** Stops and removes what the drill started, in reverse order, whatever happens; runs once. */
export class Cleanup {
  private readonly tasks: Array<() => Promise<void> | void> = [];
  private done: Promise<void> | undefined;

  add(task: () => Promise<void> | void): void {
    this.tasks.push(task);
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      for (const task of this.tasks.reverse()) {
        try {
          await task();
        } catch {
          // keep cleaning up
        }
      }
    })();
    return this.done;
  }
}

/** The plan's clock: Azure restores only to points at least 5 minutes old, so the drill's plans run that much later. */
const PLAN_CLOCK_SHIFT = PTR_MIN_AGE.plus({ seconds: 1 });
const planNow = (): DateTime => DateTime.utc().plus(PLAN_CLOCK_SHIFT);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Shared state of one drill. */
class Context {
  readonly timeline: Timeline;
  readonly stack: OperatorStack;
  readonly stages: RowStage[] = [];
  readonly checks: string[] = [];
  readonly substitutions = new Set<string>();
  readonly storedBackups: string[] = [];
  /** Jobs that already ran (Kubernetes does not run a Job of the same name again). */
  private readonly ran = new Set<string>();
  readonly servers = new Map<string, PgCluster>();
  azurite: Azurite | undefined;
  readonly password = randomBytes(12).toString("hex");
  workDir: string;

  constructor(
    readonly o: DrillOptions,
    readonly cleanup: Cleanup,
    zone: string,
  ) {
    this.stack = new OperatorStack(o.stack, o.timeZone === undefined ? [] : [`timeZone=${o.timeZone}`]);
    this.timeline = new Timeline(zone, o.print);
    this.workDir = this.tempDir("dr-drill-scratch-");
  }

  tempDir(prefix: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    this.cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** What the last `up` declared (a refresh reads the app's Deployments by it). */
  declared: Declared | undefined;

  /** Config commands, then the offline `pulumi up`; the declared lever states go into the step. */
  async up(s: StepRecord, change: (stack: OperatorStack) => string[]): Promise<Declared> {
    const commands = change(this.stack);
    s.commands.push(...commands, "pulumi up");
    const d = await this.stack.declare(planNow(), commands);
    s.levers = formatLevers(d.levers);
    this.declared = d;
    return d;
  }

  /**
   * A server as Azure creates one: its administrator is the administrators group (a local superuser of that
   * name stands in), then the runbook's one-time setup gives the nightly identity its read-only login.
   */
  async startServer(d: Declared, s: StepRecord, o: { walArchiveDir?: string } = {}): Promise<PgCluster> {
    const pg = await PgCluster.start({ user: LOCAL_ADMINS, password: this.password, fast: false, ...o });
    this.cleanup.add(() => pg.stop());
    const nightly = nightlyLogin(d);
    await pg.query(`CREATE ROLE ${quoteIdent(nightly)} LOGIN PASSWORD '${this.password}'`);
    await pg.query(`GRANT pg_read_all_data TO ${quoteIdent(nightly)}`);
    s.notes.push(
      `one-time setup on the server at port ${pg.port}: login ${nightly} with pg_read_all_data only`,
    );
    return pg;
  }

  /**
   * Azure creates a managed identity's PostgreSQL role when it is made an Entra administrator of a server:
   * for each such administrator the program declares on a server the drill runs, a local role of its name
   * (SUPERUSER standing in for azure_pg_admin) — on the PTR copy too, which holds only the roles of its
   * restore time.
   */
  private async declaredAdmins(s: StepRecord, d: Declared): Promise<void> {
    for (const a of d.entraAdmins) {
      const pg = this.servers.get(serverFqdn(a.serverName));
      if (pg === undefined) continue;
      const found = await pg.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [a.principalName]);
      if (found.rows.length > 0) continue;
      await pg.query(
        `CREATE ROLE ${quoteIdent(a.principalName)} LOGIN SUPERUSER PASSWORD '${this.password}'`,
      );
      s.notes.push(
        `program declares ${a.principalName} an Entra administrator of ${a.serverName}: its role made there (SUPERUSER standing in for azure_pg_admin)`,
      );
    }
  }

  /** The local servers, Azurite, and the roles each server lets log in now. */
  async targets(): Promise<LocalTargets> {
    if (this.azurite === undefined) throw new Error("Azurite is not running");
    const logins = new Map<PgCluster, ReadonlySet<string>>();
    for (const pg of new Set(this.servers.values())) {
      const rows = (await pg.query("SELECT rolname FROM pg_roles WHERE rolcanlogin")).rows as Array<{
        rolname: string;
      }>;
      logins.set(pg, new Set(rows.map((r) => r.rolname)));
    }
    return {
      servers: this.servers,
      storageConnectionString: this.azurite.connectionString,
      logins,
      workDir: this.workDir,
    };
  }

  /** Runs one declared Job locally; a failed Job fails the step (as it fails `pulumi up`). */
  async runJob(s: StepRecord, job: DeclaredJob): Promise<void> {
    if (this.declared !== undefined) await this.declaredAdmins(s, this.declared);
    const local = localJob(job, await this.targets());
    for (const sub of local.substitutions)
      this.substitutions.add(sub.replace(/ → \d+$/, " → the local server's port"));
    const run = await runLocalJob(job.name, local);
    this.ran.add(job.name);
    s.jobs.push(jobSummary(run));
    if (run.exitCode !== 0) {
      throw new Error(
        `Job ${job.name} failed (exit ${run.exitCode}):\n${run.stderrTail.split("\n").slice(-15).join("\n")}`,
      );
    }
    if (isBackup(job)) this.storedBackups.push(run.stdout.split("\n").slice(-1)[0] ?? "");
  }

  /**
   * The replica patches' Pulumi state and the Deployments they set: the drill has no cluster, engine.ts does
   * what the engine, the provider and the API server would (create, update with ignoreChanges, refresh, delete).
   */
  readonly cluster = new SimulatedCluster();

  /** The app as it runs before the incident: the committed stack's patches applied. */
  startApp(d: Declared): void {
    for (const p of d.patches) this.cluster.register(p);
  }

  /** `web 0, worker 0`: the app in the (simulated) cluster, by the patches' deployment ids. */
  appState(d: Declared): string {
    return d.patches
      .filter((p) => !p.resource.includes("-replicas-hold-"))
      .map((p) => `${shortName(p.resource)} ${this.cluster.replicas(p.deployment) ?? "?"}`)
      .join(", ");
  }

  /** `pulumi refresh`: every patch's stored inputs become the live values (engine.ts). */
  refresh(s: StepRecord, d: Declared): void {
    s.commands.push("pulumi refresh");
    const before = this.appState(d);
    this.cluster.refresh();
    s.notes.push(`app before the refresh: ${before}; after: ${this.appState(d)}`);
    for (const p of d.patches) {
      const stored = this.cluster.storedInputs(p.resource);
      const replicas = (stored?.spec as { replicas?: unknown } | undefined)?.replicas;
      s.notes.push(
        `${shortName(p.resource)}: stored spec.replicas now ${String(replicas)} (declared ${p.replicas})`,
      );
    }
  }

  /**
   * The step's `pulumi up` for the app and the recovery Jobs, in the engine's order: the replica patches
   * (the app's and the hold's) and the Jobs, each after everything it depends on (the declared edges); then
   * the deletes of patches no longer declared. A patch is created, updated or left alone as engine.ts decides;
   * a Job runs once (Kubernetes never runs a finished Job of the same name again), and only with every
   * Deployment at 0 — a Job that would run under a live app fails the drill.
   */
  async apply(s: StepRecord, d: Declared): Promise<string[]> {
    const events: string[] = [];
    const kept: string[] = [];
    const nodes: UpNode[] = [
      ...d.patches.map((p) => ({
        resource: p.resource,
        dependsOn: p.dependsOn,
        run: () => this.patch(s, p, events),
      })),
      ...d.jobs.map((job) => ({
        resource: job.resource ?? job.name,
        dependsOn: job.dependsOn ?? [],
        run: () => this.job(s, d, job, events, kept),
      })),
    ];
    await inDependencyOrder(nodes);
    this.deleteUndeclared(s, d, events);
    if (kept.length > 0) s.notes.push(`declared again, already completed, not re-run: ${kept.join(", ")}`);
    s.notes.push(`app after the step: ${this.appState(d)}`);
    return events;
  }

  private patch(s: StepRecord, p: DeclaredPatch, events: string[]): Promise<void> {
    const before = this.cluster.replicas(p.deployment);
    const op = this.cluster.register(p);
    const after = this.cluster.replicas(p.deployment);
    if (op !== "same" && after !== before) {
      s.notes.push(`${p.resource} (${op}): ${p.deployment} scaled to ${after ?? "?"}`);
      events.push(`scale ${shortName(p.resource)} ${after ?? "?"}`);
    }
    return Promise.resolve();
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
    const deployments = [...new Set(d.patches.map((p) => p.deployment))];
    const running = deployments.filter((name) => (this.cluster.replicas(name) ?? 0) > 0);
    if (running.length > 0) {
      throw new Error(
        `Job ${job.name} would run while the app is up (${running.map((name) => `${name} ${this.cluster.replicas(name) ?? "?"}`).join(", ")})`,
      );
    }
    await this.runJob(s, job);
    events.push(`job ${job.name}`);
    s.notes.push(`${job.name} ran with the app stopped (${this.appState(d)})`);
  }

  /** The engine deletes what is no longer declared after everything else of the `up` (engine.ts). */
  private deleteUndeclared(s: StepRecord, d: Declared, events: string[]): void {
    const before = new Map(d.patches.map((p) => [p.deployment, this.cluster.replicas(p.deployment)]));
    const deleted = this.cluster.deleteUndeclared(new Set(d.patches.map((p) => p.resource)));
    if (deleted.length > 0)
      s.notes.push(`deleted at the end of the up: ${deleted.map(shortName).join(", ")}`);
    for (const [deployment, was] of before) {
      const now = this.cluster.replicas(deployment);
      if (now === was) continue;
      s.notes.push(`a delete changed ${deployment}: ${was ?? "?"} → ${now ?? "?"}`);
      events.push(`scale ${deployment} ${now ?? "?"} (delete)`);
    }
  }

  async stage(label: string, pg: PgCluster, database: string): Promise<Snapshot> {
    const snap = await snapshot(pg.connection(database));
    this.stages.push({ label, counts: countsOf(snap) });
    return snap;
  }
}

/** `web`, `hold-j01d84ac746-web`: a patch's name after the component's `-replicas-`. */
function shortName(resource: string): string {
  return resource.replace(/^.*-replicas-/, "");
}

function incidentId(now: DateTime): string {
  return `drill-${now.toUTC().toFormat("yyLLdd-HHmmss")}`;
}

/** The nightly backup's PGUSER: the nightly identity, which the one-time setup lets read and nothing else. */
function nightlyLogin(d: Declared): string {
  const user = d.nightly.env.find((e) => e.name === connectionEnvNames("").user)?.value;
  if (user === undefined) throw new Error("the nightly backup declares no PGUSER");
  return user;
}

/** The bootstrap superuser of the local servers: stands in for the administrators group. */
const LOCAL_ADMINS = "dr_drill_admins";

function appDatabase(d: Declared): string {
  const db = d.nightly.env.find((e) => e.name === connectionEnvNames("").database)?.value;
  if (db === undefined) throw new Error("the nightly backup declares no PGDATABASE");
  return db;
}

/** A Job (or the nightly CronJob's) that runs `backup`, by its step label: it prints the blob it wrote. */
function isBackup(job: DeclaredJob): boolean {
  return (
    job.step === NIGHTLY_BACKUP_STEP ||
    (job.step !== TROUBLESHOOT_STEP && STEP_COMMAND[job.step] === "backup")
  );
}

/** The recovery Job of a step, found by its step label (never by searching argv). */
function jobOfStep(d: Declared, step: JobStep): DeclaredJob | undefined {
  return d.jobs.find((j) => j.step === step);
}

function clientVersion(): string {
  try {
    return execFileSync("pg_dump", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "pg_dump not found on PATH";
  }
}

async function environment(pg: PgCluster, database: string): Promise<Record<string, string>> {
  const v = await pg.query<{ v: string }>("SELECT version() AS v");
  const size = await pg.query<{ s: string }>("SELECT pg_size_pretty(pg_database_size($1)) AS s", [database]);
  const cpus = os.cpus();
  return {
    PostgreSQL: v.rows[0]?.v ?? "?",
    "PostgreSQL server binaries": pg.binDir,
    "PostgreSQL client (data tool, from PATH)": clientVersion(),
    [`Size of ${database} after the recovery`]: size.rows[0]?.s ?? "?",
    Node: process.version,
    Machine: `${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model ?? "?"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
  };
}

/**
 * Runs a scenario; never throws for a failed step or a refused config (the result says so), only for a usage
 * problem (dev/offline/stack-config's UsageError: e.g. no such stack file).
 */
export async function runDrill(o: DrillOptions, cleanup: Cleanup): Promise<DrillResult> {
  const startedAt = DateTime.utc();
  const id = incidentId(startedAt);
  const probe = new OperatorStack(o.stack, o.timeZone === undefined ? [] : [`timeZone=${o.timeZone}`]);
  let baseline: Declared | undefined;
  let failure: string | undefined;
  try {
    baseline = await probe.declare(planNow(), []);
  } catch (err) {
    failure = `the stack ${o.stack} as committed: ${describe(err)}`;
  }
  const zone = baseline?.timeZone ?? o.timeZone ?? "UTC";
  const ctx = new Context(o, cleanup, zone);
  let restorePoint: RestorePointEvidence | undefined;
  let lossStatement: string | undefined;
  let expected: Snapshot | undefined;
  let recovered: Snapshot | undefined;
  let lostRows: number | undefined;
  let sequences: readonly string[] = [];
  let env: Record<string, string> = {};
  o.print(
    `drill ${o.scenario}: stack ${o.stack}, zone ${zone}, incident ${id}, ${o.rows} rows; ` +
      `plans run with the clock ${PLAN_CLOCK_SHIFT.toFormat("m 'min' s 's'")} ahead (Azure's restore window)`,
  );
  try {
    if (baseline === undefined) {
      // nothing to run: the failure says why
    } else if (o.scenario === "ptr") {
      const r = await ptrScenario(ctx, id, baseline);
      ({ restorePoint, lossStatement, expected, recovered, lostRows, sequences, env } = r);
    } else {
      const r = await rebuildScenario(ctx, id, baseline);
      ({ expected, recovered, lostRows, sequences, env } = r);
    }
  } catch (err) {
    failure = describe(err);
  }
  const steps = ctx.timeline.steps;
  const ok = failure === undefined;
  return {
    scenario: o.scenario,
    tables: o.tables,
    ok,
    failure,
    stack: o.stack,
    timeZone: zone,
    timeZoneOverride: o.timeZone,
    incidentId: id,
    rows: o.rows,
    restorePoint,
    lossStatement,
    stages: ctx.stages,
    expectedRows: expected === undefined ? undefined : totalRows(countsOf(expected)),
    recoveredRows: recovered === undefined ? undefined : totalRows(countsOf(recovered)),
    lostRows,
    checks: ctx.checks,
    sequences,
    steps,
    recoveryMs: ctx.timeline.recoveryMs(),
    dataRecoveredMs: ctx.timeline.recoveryMs((s) => /^(Validate|Jump to validate)/.test(s.title)),
    substitutions: [...ctx.substitutions],
    storedBackups: ctx.storedBackups,
    planClockShift: PLAN_CLOCK_SHIFT.toFormat("m 'min' s 's'"),
    environment: env,
    startedAt,
  };
}

/** A failure for the report: each link of the cause chain on its own line. */
function describe(err: unknown): string {
  return errorChain(err).join("\ncaused by: ");
}

interface ScenarioOutcome {
  restorePoint?: RestorePointEvidence;
  lossStatement?: string;
  expected: Snapshot;
  recovered: Snapshot;
  lostRows: number;
  sequences: readonly string[];
  env: Record<string, string>;
}

/** The servers and the storage as the normal stack declares them; returns the live server and its workload. */
async function setUp(
  ctx: Context,
  s: StepRecord,
  baseline: Declared,
  o: { walArchiveDir?: string },
): Promise<{ live: PgCluster; db: string; workload: Workload }> {
  const db = appDatabase(baseline);
  const [az, live] = await Promise.all([Azurite.start(), ctx.startServer(baseline, s, o)]);
  ctx.cleanup.add(() => az.stop());
  ctx.azurite = az;
  await az.createContainer(baseline.container);
  for (const name of baseline.liveDatabases) await live.query(`CREATE DATABASE ${quoteIdent(name)}`);
  ctx.servers.set(baseline.liveServerFqdn, live);
  ctx.startApp(baseline);
  s.notes.push(
    `live server ${baseline.liveServerName} = PostgreSQL on 127.0.0.1:${live.port}` +
      (o.walArchiveDir === undefined ? "" : " with WAL archiving") +
      `, admin ${LOCAL_ADMINS} (the administrators group), databases ${baseline.liveDatabases.join(", ")}; storage container ${baseline.container} on Azurite at 127.0.0.1:${az.port}`,
  );
  const workload = new Workload(live.connection(db));
  const seed = seedCounts(ctx.o.rows);
  await workload.seed(seed);
  s.notes.push(`seeded ${db} with ${totalRows(seed)} rows`);
  return { live, db, workload };
}

/** The live server and the service writing to it, from the first step on. */
interface LiveService {
  readonly live: PgCluster;
  readonly db: string;
  readonly workload: Workload;
}

/** The database as the drill recorded it before the ptr incident: what the data checks compare against. */
interface PtrHistory extends LiveService {
  /**
   * Base backups: with the archived WAL, what the PTR copies are recovered from. A recovery starts in its base
   * backup's directory, so each copy (the first restore time, the second in validate) takes its own.
   */
  readonly bases: readonly [string, string];
  readonly requestedLocal: string;
  readonly notedUtc: DateTime;
  /** At the restore point (after batch 1). */
  readonly expected: Snapshot;
  /** The ids batch 2 (after the restore point) wrote, per table: [from, to). */
  readonly writtenSince: { from: RowCounts; to: RowCounts };
  readonly beforeLoss: Snapshot;
}

interface PtrLoss {
  readonly lossStatement: string;
  readonly flawedState: Snapshot;
}

/** What the validate step leaves: the live database as recovered and how its sequences moved. */
interface Validated {
  readonly recovered: Snapshot;
  readonly sequences: readonly string[];
}

async function ptrScenario(ctx: Context, id: string, baseline: Declared): Promise<ScenarioOutcome> {
  const t = ctx.timeline;
  // Made before the live server starts: it archives its WAL here from the start, for the PTR copy to replay.
  const archive = ctx.tempDir("dr-drill-wal-");
  const history = await t.step(
    "Before the incident: the live server, its backups, the service writing",
    false,
    (s) => writeAroundRestorePoint(ctx, s, baseline, archive),
  );
  const loss = await t.step("Incident: data loss", false, (s) => deleteRowsAndArchiveWal(ctx, s, history));
  await t.step(
    "Stop the service, freeze the pipeline, maintenance mode, back up the flawed database",
    true,
    (s) => stopServiceAndBackUpFlawed(ctx, s, id),
  );
  const restore = await t.step(
    `Restore postgres database (PTR) to ${history.requestedLocal} ${t.zone}`,
    true,
    (s) => restorePtrCopy(ctx, s, id, history, archive, loss),
  );
  // The jump isolate → validate (the restore phase skipped): the program holds the app at 0, runs the
  // PTR copy's backup, the restore and the compare, and only then brings the app back.
  const validated = await t.step(
    "Jump to validate (drPhase restore skipped): restore, compare, then the app back",
    true,
    (s) => jumpToValidate(ctx, s, id, history, loss),
  );
  await refreshInValidate(ctx);
  // The operator picks another restore time in validate, with the app back and the hold's state refreshed:
  // the app stops for the new Jobs only, and comes back after them.
  const second = await t.step(
    `A new restore time in validate: ${restoreTimeLocal(history.notedUtc.plus({ seconds: 1 }), t.zone)} ${t.zone}`,
    true,
    (s) => newRestoreTimeInValidate(ctx, s, history, archive, restore.ptr),
  );
  await refreshInValidate(ctx);
  await maintenanceOffAndUnfreeze(ctx);
  await t.step("Tidy up: delete the PTR copy", true, (s) => deletePtrCopy(ctx, s, second));
  return ptrOutcome(ctx, history, loss, restore.declared, validated);
}

/** The stack as committed (drMode none): the servers, the storage and the seeded database, before anything. */
async function beforeIncident(
  ctx: Context,
  s: StepRecord,
  baseline: Declared,
  o: { walArchiveDir?: string },
): Promise<LiveService> {
  s.commands.push("(stack as committed: drMode none)");
  s.levers = formatLevers(baseline.levers);
  return setUp(ctx, s, baseline, o);
}

/**
 * Batch 1, the operator's noted time, batch 2: the restore point falls between two batches, so the check can
 * tell a recovery to the right instant from one a batch early or late.
 */
async function writeAroundRestorePoint(
  ctx: Context,
  s: StepRecord,
  baseline: Declared,
  archive: string,
): Promise<PtrHistory> {
  const zone = ctx.timeline.zone;
  const { live, db, workload } = await beforeIncident(ctx, s, baseline, { walArchiveDir: archive });
  const bases = [await live.baseBackup(), await live.baseBackup()] as const;
  s.notes.push("base backup taken (stands in for Azure's automated backup); WAL archived from here on");
  await ctx.stage("seed, at the base backup", live, db);
  const batch1 = batchCounts(ctx.o.rows, { placements: true });
  await workload.write(batch1);
  const { notedUtc, requestedLocal } = operatorNotesTime(zone);
  s.notes.push(`batch 1: ${totalRows(batch1)} rows written`);
  const expected = await ctx.stage("at the restore point (after batch 1)", live, db);
  s.notes.push(`operator notes the time: ${requestedLocal} (${zone}) = ${azureUtc(notedUtc)}`);
  const writtenSince = await writeAfterNotedTime(ctx, s, workload, notedUtc);
  const beforeLoss = await ctx.stage("after batch 2, before the loss", live, db);
  return { live, db, workload, bases, requestedLocal, notedUtc, expected, writtenSince, beforeLoss };
}

/** The operator notes the time: the next whole second, strictly after batch 1 committed. */
function operatorNotesTime(zone: string): { notedUtc: DateTime; requestedLocal: string } {
  const notedUtc = DateTime.utc().startOf("second").plus({ seconds: 1 });
  return { notedUtc, requestedLocal: restoreTimeLocal(notedUtc, zone) };
}

/** `ptr.restoreTime` for an instant: the wall clock in the stack's zone, with its offset where that is ambiguous. */
function restoreTimeLocal(utc: DateTime, zone: string): string {
  const local = utc.setZone(zone).toFormat("yyyy-LL-dd'T'HH:mm:ss");
  // The fall-back hour: the wall clock alone is ambiguous, so the operator adds the offset (docs/runbook.md).
  return resolveRestoreTime(local, zone).ok ? local : local + utc.setZone(zone).toFormat("ZZ");
}

/**
 * Batch 2 waits until the clock is past the noted time and the second after it: none of it may fall at or
 * before the restore point, nor the later one the operator tries in validate (one second later, the same state).
 */
async function writeAfterNotedTime(
  ctx: Context,
  s: StepRecord,
  workload: Workload,
  notedUtc: DateTime,
): Promise<{ from: RowCounts; to: RowCounts }> {
  while (Date.now() <= notedUtc.plus({ seconds: 1 }).toMillis() + 20) await sleep(20);
  const batch2 = batchCounts(ctx.o.rows, { placements: false });
  const from = workload.nextIds();
  await workload.write(batch2);
  const writtenSince = { from, to: workload.nextIds() };
  s.notes.push(`batch 2: ${totalRows(batch2)} rows written after the noted time`);
  return writtenSince;
}

/** The destructive statement; the WAL switch puts it in the archive, as Azure's continuous archiving would. */
async function deleteRowsAndArchiveWal(ctx: Context, s: StepRecord, h: LiveService): Promise<PtrLoss> {
  const loss = await h.workload.loseData();
  const lossStatement = `${loss.statement} (${loss.rows} rows)`;
  s.notes.push(lossStatement);
  const flawedState = await ctx.stage("flawed (after the loss)", h.live, h.db);
  await h.live.switchWal();
  s.notes.push("WAL switched and archived (Azure archives continuously)");
  return { lossStatement, flawedState };
}

async function stopServiceAndBackUpFlawed(ctx: Context, s: StepRecord, id: string): Promise<void> {
  const d = await ctx.up(s, (st) => [st.set("incidentId", id), st.set("drMode", "ptr")]);
  await ctx.apply(s, d);
}

/** The PTR copy is recovered to the instant the program declares, never to the one the drill noted. */
async function restorePtrCopy(
  ctx: Context,
  s: StepRecord,
  id: string,
  h: PtrHistory,
  archive: string,
  loss: PtrLoss,
): Promise<{ ptr: PgCluster; declared: Declared }> {
  const d = await ctx.up(s, (st) => [st.set("ptr.restoreTime", h.requestedLocal)]);
  const ptr = await startPtrCopy(ctx, s, d, h.bases[0], h, archive);
  // As soon as the copy exists: the inspection Job (and the troubleshooting pod, which the drill has no
  // cluster for: its command is an output).
  await ctx.apply(s, d);
  await checkInspection(ctx, d, id, loss.lossStatement);
  return { ptr, declared: d };
}

/** The server the program declares as the PTR copy: a real recovery to its `pointInTimeUTC`. */
async function startPtrCopy(
  ctx: Context,
  s: StepRecord,
  d: Declared,
  base: string,
  h: PtrHistory,
  archive: string,
): Promise<PgCluster> {
  const at = d.ptrPointInTimeUtc;
  if (at === undefined || d.ptrServerFqdn === undefined) throw new Error("the program declared no PTR copy");
  s.notes.push(
    `program declares ${d.ptrServerFqdn} with pointInTimeUTC ${at} (restoreTimeLocal ${d.restoreTimeLocal ?? "?"})`,
  );
  const ptr = await PgCluster.startRecovered({
    baseBackupDir: base,
    walArchiveDir: archive,
    targetTime: at,
    user: h.live.user,
    password: ctx.password,
    fast: false,
  });
  ctx.cleanup.add(() => ptr.stop());
  ctx.servers.set(d.ptrServerFqdn, ptr);
  s.notes.push(
    `PTR copy = PostgreSQL on 127.0.0.1:${ptr.port}, recovered from the base backup and WAL to ${at}`,
  );
  return ptr;
}

/** The Jobs of the skipped restore phase run here: the drill checks their order, their logs and the data. */
async function jumpToValidate(
  ctx: Context,
  s: StepRecord,
  id: string,
  h: PtrHistory,
  loss: PtrLoss,
): Promise<Validated> {
  const tables = ctx.o.tables;
  const d = await ctx.up(s, (st) => [
    ...(tables ?? []).map((t, i) => st.set(`ptr.tables[${i}]`, t)),
    st.set("drPhase", "validate"),
  ]);
  checkAppBackAfterJobs(ctx, "jump isolate → validate", await ctx.apply(s, d));
  await checkJobLogs(ctx, d, id);
  const recovered = await ctx.stage("live after the recovery", h.live, h.db);
  await checkReconciliation(ctx, d, id, h.writtenSince);
  if (tables !== undefined) checkKeptPreviousRows(ctx, tables, loss.flawedState, recovered);
  const sequences = await checkLiveAgainstReference(ctx, d, ptrReference(h, tables), recovered, tables);
  s.notes.push(
    `data check: live = state at ${h.requestedLocal} ${ctx.timeline.zone}, table by table; flawed backup in storage`,
  );
  return { recovered, sequences };
}

/** A Job under a live app would restore under its writes: the app may come back only after the last Job. */
function checkAppBackAfterJobs(ctx: Context, what: string, events: readonly string[]): void {
  const firstScaleUp = events.findIndex((e) => e.startsWith("scale ") && !e.endsWith(" 0"));
  const lastJob = events.map((e) => e.startsWith("job ")).lastIndexOf(true);
  const ranJobs = events.filter((e) => e.startsWith("job ")).map((e) => e.slice(4));
  if (ranJobs.length === 0 || firstScaleUp < 0 || firstScaleUp < lastJob)
    throw new Error(`${what}: the app did not come back after the Jobs: ${events.join(" → ")}`);
  ctx.checks.push(
    `${what}: ${ranJobs.join(", ")} ran with the app at 0 (held); the app came back after them: ${events.join(" → ")}`,
  );
}

/** The app's Deployments at the counts its own patches declare (`web 2, worker 1`), or what differs. */
function appAtNormal(ctx: Context, d: Declared): string | undefined {
  const app = d.patches.filter((p) => !p.resource.includes("-replicas-hold-"));
  const off = app.filter((p) => ctx.cluster.replicas(p.deployment) !== p.replicas);
  return off.length === 0
    ? undefined
    : off
        .map((p) => `${p.deployment} ${ctx.cluster.replicas(p.deployment) ?? "?"} (declared ${p.replicas})`)
        .join(", ");
}

/**
 * `pulumi refresh` in validate (by hand, `up --refresh`, drift detection): every patch's stored inputs become
 * the live values. The app must be up at its normal count before and after.
 */
async function refreshInValidate(ctx: Context): Promise<void> {
  await ctx.timeline.step("pulumi refresh in validate (the app is back)", true, (s) => {
    const d = ctx.declared;
    if (d === undefined || d.drPhase !== "validate") throw new Error("the refresh step runs in validate");
    const before = appAtNormal(ctx, d);
    const app = ctx.appState(d);
    ctx.refresh(s, d);
    const after = appAtNormal(ctx, d);
    if (before !== undefined || after !== undefined)
      throw new Error(`the app is not at its normal count around the refresh: ${before ?? after ?? ""}`);
    ctx.checks.push(`pulumi refresh in validate: the app up before (${app}) and after (${ctx.appState(d)})`);
    return Promise.resolve();
  });
}

/**
 * A second restore time in validate, after a refresh: the program declares a new PTR copy and a new Job set;
 * the new hold must stop the app before the first new Job and the app's patches bring it back after the last.
 * One second after the first restore time nothing was written, so the data must come out the same.
 */
async function newRestoreTimeInValidate(
  ctx: Context,
  s: StepRecord,
  h: PtrHistory,
  archive: string,
  first: PgCluster,
): Promise<PgCluster> {
  const local = restoreTimeLocal(h.notedUtc.plus({ seconds: 1 }), ctx.timeline.zone);
  const d = await ctx.up(s, (st) => [st.set("ptr.restoreTime", local)]);
  s.notes.push(`app before the up: ${ctx.appState(d)}`);
  // A new pointInTimeUTC replaces the copy: the old server goes first (deleteBeforeReplace).
  await first.stop();
  const ptr = await startPtrCopy(ctx, s, d, h.bases[1], h, archive);
  checkAppBackAfterJobs(ctx, "a new restore time in validate", await ctx.apply(s, d));
  const again = await ctx.stage("live after the second restore time", h.live, h.db);
  const check = checkAgainst(
    ptrReference(h, ctx.o.tables),
    new Map([...again].filter(([n]) => !n.startsWith("dr_before_"))),
  );
  if (!check.tablesEqual)
    throw new Error(`data check after the second restore failed: ${check.problems.join("; ")}`);
  ctx.checks.push(`a new restore time in validate (${local}), checked again: ${restoredState(ctx.o.tables)}`);
  return ptr;
}

/**
 * A table-level restore: the chosen tables as at the restore point, every other relation as it was just
 * before the loss (what users wrote since is still there); a full restore: all at the restore point.
 */
function ptrReference(h: PtrHistory, tables: readonly string[] | undefined): Snapshot {
  return tables === undefined ? h.expected : mixed(h.beforeLoss, h.expected, tables);
}

/**
 * A table-level restore keeps the chosen tables' previous rows in dr_before_<run id> (the flawed state):
 * checked on their own, and left out of the comparison with the reference.
 */
function checkKeptPreviousRows(
  ctx: Context,
  tables: readonly string[],
  flawedState: Snapshot,
  recovered: Snapshot,
): void {
  const kept = [...recovered.keys()].filter((n) => n.startsWith("dr_before_"));
  const flawedRows = tables.map((t) => `${t} ${flawedState.get(t)?.rows ?? "?"}`).join(", ");
  const keptRows = tables
    .map((t) => `${t} ${recovered.get(kept.find((k) => k.endsWith(`.${t}`)) ?? "")?.rows ?? "?"}`)
    .join(", ");
  if (keptRows !== flawedRows || kept.length !== tables.length)
    throw new Error(
      `the previous rows kept by the table-level restore (${kept.join(", ")}: ${keptRows}) are not the flawed tables' (${flawedRows})`,
    );
  ctx.checks.push(
    `the restored tables' previous rows (as flawed: ${flawedRows} rows) are kept in ${kept.join(", ")}`,
  );
}

/**
 * The live database against the reference, and the flawed backup in storage: both are recorded as checks
 * before the step fails, so the report shows every problem, not only the first. Returns the sequences.
 */
async function checkLiveAgainstReference(
  ctx: Context,
  d: Declared,
  reference: Snapshot,
  recovered: Snapshot,
  tables: readonly string[] | undefined,
): Promise<readonly string[]> {
  const check = checkAgainst(reference, new Map([...recovered].filter(([n]) => !n.startsWith("dr_before_"))));
  const flawed = await flawedBackups(ctx, d);
  const problems = [...check.problems];
  if (flawed.backups.length === 0)
    problems.push(`no flawed-database backup under ${flawed.prefix ?? "(no flawed backup Job declared)"}`);
  const what = restoredState(tables);
  ctx.checks.push(
    check.tablesEqual ? `${what} (rows and content checksum)` : `NOT: ${what}: ${check.problems.join("; ")}`,
    flawed.backups.length > 0
      ? `the flawed database's backup is in storage: ${flawed.backups.map((b) => b.name).join(", ")}`
      : `the flawed database's backup is NOT in storage`,
  );
  if (problems.length > 0) throw new Error(`data check failed: ${problems.join("; ")}`);
  return check.sequences;
}

/** The flawed backup's prefix as the tool reads it from the Job's argv (contract.ts), and what is under it. */
async function flawedBackups(
  ctx: Context,
  d: Declared,
): Promise<{ prefix: string | undefined; backups: BackupEntry[] }> {
  const flawedJob = jobOfStep(d, "backup-flawed");
  const prefix = flawedJob === undefined ? undefined : parseBackupArgs(flawedJob.args.slice(1)).prefix;
  const backups =
    prefix === undefined ? [] : await listBackups({ store: ctx.azurite!.store(d.container), prefix });
  return { prefix, backups };
}

function restoredState(tables: readonly string[] | undefined): string {
  return tables === undefined
    ? "every table of the live database equals its state at the restore point"
    : `${tables.join(", ")} (restored: the deleted rows are back) equal${tables.length === 1 ? "s" : ""} its state at the restore point, ` +
        `and every other table still holds the rows written since (equals its state just before the loss)`;
}

/** The copy is no longer declared once the incident is tidied up: like Azure, the drill then deletes it. */
async function deletePtrCopy(ctx: Context, s: StepRecord, ptr: PgCluster): Promise<void> {
  const d = await ctx.up(s, (st) => [
    st.set("drMode", "none"),
    st.rm("drPhase"),
    st.rm("ptr"),
    st.rm("incidentId"),
    st.rm("maintenance"),
    st.rm("freeze"),
  ]);
  await ctx.apply(s, d);
  if (d.ptrServerFqdn !== undefined) throw new Error("the PTR copy is still declared after the tidy-up");
  await ptr.stop();
  s.notes.push("the PTR copy is no longer declared: its server is stopped and deleted");
}

async function ptrOutcome(
  ctx: Context,
  h: PtrHistory,
  loss: PtrLoss,
  declared: Declared,
  v: Validated,
): Promise<ScenarioOutcome> {
  const rec = totalRows(countsOf(v.recovered));
  const env = await environment(h.live, h.db);
  return {
    restorePoint: {
      requestedLocal: h.requestedLocal,
      notedUtc: azureUtc(h.notedUtc),
      declaredUtc: declared.ptrPointInTimeUtc ?? "?",
      declaredLocal: declared.restoreTimeLocal ?? "?",
    },
    lossStatement: loss.lossStatement,
    // A table-level restore keeps what was written since: what the live database must hold is the state
    // before the loss with the restored tables as at the restore point.
    expected: ptrReference(h, ctx.o.tables),
    recovered: v.recovered,
    lostRows: Math.max(0, totalRows(countsOf(h.beforeLoss)) - rec),
    sequences: v.sequences,
    env,
  };
}

/** `before` with the `chosen` tables taken from `restored`. */
function mixed(before: Snapshot, restored: Snapshot, chosen: readonly string[]): Snapshot {
  return new Map(
    [...before].map(([name, rel]) => [name, chosen.includes(name) ? (restored.get(name) ?? rel) : rel]),
  );
}

async function readBlob(ctx: Context, container: string, name: string): Promise<string> {
  if (ctx.azurite === undefined) throw new Error("Azurite is not running");
  const blob = BlobServiceClient.fromConnectionString(ctx.azurite.connectionString)
    .getContainerClient(container)
    .getBlobClient(name);
  if (!(await blob.exists())) throw new Error(`${container}/${name} is not in storage`);
  return (await blob.downloadToBuffer()).toString("utf8");
}

/** The inspection report names the loss: the deleted table's rows as lost, the later writes as new. */
async function checkInspection(ctx: Context, d: Declared, id: string, loss: string): Promise<void> {
  if (jobOfStep(d, "inspect") === undefined) throw new Error("the program declared no inspect Job");
  const report = JSON.parse(await readBlob(ctx, d.container, incidentReport.inspect(id, "json"))) as {
    tables: Array<{ name: string; lost: number | null; added: number | null }>;
  };
  await readBlob(ctx, d.container, incidentReport.inspect(id, "md"));
  const lost = report.tables.filter((t) => (t.lost ?? 0) > 0);
  const deleted = Number(/\((\d+) rows\)$/.exec(loss)?.[1] ?? NaN);
  if (lost.length !== 1 || lost[0]!.name !== "app.placements" || lost[0]!.lost !== deleted)
    throw new Error(
      `the inspection should find the ${deleted} deleted rows of app.placements lost, and nothing else; it found: ${lost.map((t) => `${t.name} ${t.lost}`).join(", ") || "none"}`,
    );
  ctx.checks.push(
    `the inspection report (${incidentReport.inspect(id, "md")}, before any restore) finds exactly the loss: ${deleted} rows of app.placements only in the copy; ` +
      `written since: ${report.tables
        .filter((t) => (t.added ?? 0) > 0)
        .map((t) => `${t.name} ${t.added}`)
        .join(", ")}`,
  );
}

/** The reconciliation export lists exactly the rows written after the restore point (batch 2), by key. */
async function checkReconciliation(
  ctx: Context,
  d: Declared,
  id: string,
  since: { from: RowCounts; to: RowCounts },
): Promise<void> {
  const summary = JSON.parse(
    await readBlob(ctx, d.container, incidentReport.reconcileSummary(id, "json")),
  ) as {
    tables: Array<{ name: string; added: number; changed: number; file: string | null }>;
    notReconcilable: Array<{ name: string }>;
  };
  const problems: string[] = [];
  const listed: string[] = [];
  for (const t of TABLES) {
    if (t === "app.audit_log") continue; // no primary key
    const want: string[] = [];
    for (let i = since.from[t]; i < since.to[t]; i++) want.push(String(i));
    const entry = summary.tables.find((x) => x.name === t);
    let got: string[] = [];
    if (entry?.file !== null && entry?.file !== undefined) {
      const [schema, table] = t.split(".") as [string, string];
      const csv = await readBlob(ctx, d.container, incidentReport.reconcileTable(id, schema, table));
      const lines = csv.split("\r\n").filter((l) => l !== "");
      if (!/^id,/.test(lines[0] ?? ""))
        problems.push(`${t}: the CSV's header does not start with the key: ${lines[0]}`);
      got = lines.slice(1).map((l) => l.slice(0, l.indexOf(",")));
      if (!lines.slice(1).every((l) => l.endsWith(",new")))
        problems.push(`${t}: rows other than new exported`);
    }
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(
        `${t}: exported ids ${got.length > 0 ? `${got[0]}…${got[got.length - 1]} (${got.length})` : "none"}, expected ${want.length > 0 ? `${want[0]}…${want[want.length - 1]} (${want.length})` : "none"}`,
      );
    if (want.length > 0) listed.push(`${t} ids ${want[0]}–${want[want.length - 1]}`);
  }
  if (!summary.notReconcilable.some((x) => x.name === "app.audit_log"))
    problems.push("app.audit_log (no primary key) is not listed as not reconcilable");
  if (problems.length > 0) throw new Error(`reconciliation export: ${problems.join("; ")}`);
  ctx.checks.push(
    `the reconciliation export (${incidentReport.reconcilePrefix(id)}/, taken before the restore) lists exactly the rows written after the restore point: ` +
      `${listed.join(", ")}; app.audit_log (no primary key) listed as not reconcilable`,
  );
}

/** Every recovery Job that ran wrote its whole output to `incident/<id>/logs/<job>.log` (packages/dr-data/src/job-log.ts). */
async function checkJobLogs(ctx: Context, d: Declared, id: string): Promise<void> {
  if (ctx.azurite === undefined) throw new Error("Azurite is not running");
  const prefix = `incident/${id}/logs/`;
  const found: string[] = [];
  const container = BlobServiceClient.fromConnectionString(ctx.azurite.connectionString).getContainerClient(
    d.container,
  );
  for await (const b of container.listBlobsFlat({ prefix })) found.push(b.name);
  const expected = d.jobs.map((j) => `${prefix}${j.name}.log`);
  const missing = expected.filter((name) => !found.includes(name));
  if (missing.length > 0) throw new Error(`Job logs missing from storage: ${missing.join(", ")}`);
  ctx.checks.push(`every recovery Job's full output is in storage: ${expected.join(", ")}`);
}

/**
 * The runbook's two steps after validation, the same in both scenarios: each one config change and `up`. They
 * run in validate, after a refresh: no patch may change the app's count (the hold's 0 is never re-applied).
 */
async function maintenanceOffAndUnfreeze(ctx: Context): Promise<void> {
  const keepsAppUp = async (s: StepRecord, d: Declared): Promise<void> => {
    const before = ctx.appState(d);
    const scaled = (await ctx.apply(s, d)).filter((e) => e.startsWith("scale "));
    const off = appAtNormal(ctx, d);
    if (scaled.length > 0 || off !== undefined)
      throw new Error(
        `${s.title}: the app did not stay at its normal count: ${[...scaled, off ?? ""].join(" → ")}`,
      );
    ctx.checks.push(`${s.title} (validate, after a refresh): the app stayed at ${before}`);
  };
  await ctx.timeline.step("Disable maintenance mode", true, async (s) => {
    await keepsAppUp(s, await ctx.up(s, (st) => [st.set("maintenance", "false")]));
  });
  await ctx.timeline.step("Unfreeze pipeline", true, async (s) => {
    const d = await ctx.up(s, (st) => [st.set("freeze", "false")]);
    await keepsAppUp(s, d);
    s.notes.push(`next: ${d.nextStep}`);
  });
}

async function rebuildScenario(ctx: Context, id: string, baseline: Declared): Promise<ScenarioOutcome> {
  const t = ctx.timeline;
  const service = await t.step("Before the incident: the live server, the service writing", false, (s) =>
    beforeIncident(ctx, s, baseline, {}),
  );
  const history = await t.step(`Nightly backup (the CronJob ${baseline.nightly.name})`, false, (s) =>
    nightlyBackupThenLaterWrites(ctx, s, baseline, service),
  );
  await t.step("Incident: loss of the database server", false, (s) =>
    destroyLiveServer(ctx, s, baseline, service.live),
  );
  const rebuilt = await t.step("Freeze pipeline, maintenance mode, recreate the lost server", true, (s) =>
    recreateLostServer(ctx, s, id),
  );
  await t.step("Restore the data from the nightly backup in storage", true, (s) =>
    restoreFromNightlyBackup(ctx, s),
  );
  const validated = await t.step("Validate app (the drill checks the data)", true, (s) =>
    validateRebuilt(ctx, s, id, rebuilt, service.db, history.expected),
  );
  await refreshInValidate(ctx);
  await maintenanceOffAndUnfreeze(ctx);
  await t.step("Close the incident", true, (s) => closeRebuildIncident(ctx, s));
  return rebuildOutcome(rebuilt, service.db, history, validated);
}

/** The drill's own record of the database at the nightly backup, and after the writes the rebuild must lose. */
interface RebuildHistory {
  readonly expected: Snapshot;
  readonly beforeLoss: Snapshot;
}

/** The rows written after the backup are lost by design (the RPO): they make the lost-rows count non-zero. */
async function nightlyBackupThenLaterWrites(
  ctx: Context,
  s: StepRecord,
  baseline: Declared,
  service: LiveService,
): Promise<RebuildHistory> {
  s.levers = formatLevers(baseline.levers);
  const expected = await ctx.stage("at the nightly backup", service.live, service.db);
  await ctx.runJob(s, baseline.nightly);
  const after = batchCounts(ctx.o.rows, { placements: true });
  await service.workload.write(after);
  s.notes.push(`after the backup the service writes ${totalRows(after)} more rows (lost by design: the RPO)`);
  const beforeLoss = await ctx.stage("before the loss (after later writes)", service.live, service.db);
  return { expected, beforeLoss };
}

/** Stopping is not enough: the data directory goes too, so nothing of the old server can leak into the new. */
async function destroyLiveServer(
  ctx: Context,
  s: StepRecord,
  baseline: Declared,
  live: PgCluster,
): Promise<void> {
  const dataDir = live.dataDir;
  await live.stop();
  ctx.servers.delete(baseline.liveServerFqdn);
  if (existsSync(dataDir)) throw new Error(`${dataDir} still exists`);
  s.notes.push(`live server stopped and its data directory ${dataDir} deleted`);
}

/** What Azure would create from the declaration (createMode Create): an empty server with the declared databases. */
async function recreateLostServer(ctx: Context, s: StepRecord, id: string): Promise<PgCluster> {
  const d = await ctx.up(s, (st) => [st.set("incidentId", id), st.set("drMode", "rebuild")]);
  if (d.liveCreateMode !== "Create") {
    throw new Error(
      `the program declares the live server with createMode ${d.liveCreateMode ?? "(none)"}, not Create`,
    );
  }
  // The runbook's one-time setup again on the new server, before its first nightly backup.
  const rebuilt = await ctx.startServer(d, s);
  for (const name of d.liveDatabases) await rebuilt.query(`CREATE DATABASE ${quoteIdent(name)}`);
  ctx.servers.set(d.liveServerFqdn, rebuilt);
  s.notes.push(
    `program declares ${d.liveServerName} with createMode Create: a new empty PostgreSQL on 127.0.0.1:${rebuilt.port} ` +
      `with the declared databases (${d.liveDatabases.join(", ")})`,
  );
  await ctx.apply(s, d);
  return rebuilt;
}

async function restoreFromNightlyBackup(ctx: Context, s: StepRecord): Promise<void> {
  const d = await ctx.up(s, (st) => [st.set("drPhase", "restore")]);
  if (d.jobs.length === 0) throw new Error("the program declared no restore Job");
  await ctx.apply(s, d);
}

/** The program's compare Job checks against the backup's manifest; the drill checks against its own record. */
async function validateRebuilt(
  ctx: Context,
  s: StepRecord,
  id: string,
  rebuilt: PgCluster,
  db: string,
  expected: Snapshot,
): Promise<Validated> {
  const d = await ctx.up(s, (st) => [st.set("drPhase", "validate")]);
  await ctx.apply(s, d);
  await checkJobLogs(ctx, d, id);
  const recovered = await ctx.stage("live after the recovery", rebuilt, db);
  const check = checkAgainst(expected, recovered);
  ctx.checks.push(
    check.tablesEqual
      ? "every table of the rebuilt database equals its state at the nightly backup (rows and content checksum, taken by the drill before the server was lost)"
      : `the rebuilt database does NOT equal its state at the nightly backup: ${check.problems.join("; ")}`,
  );
  if (!check.tablesEqual) throw new Error(`data check failed: ${check.problems.join("; ")}`);
  s.notes.push("data check: rebuilt live = state at the nightly backup, table by table");
  return { recovered, sequences: check.sequences };
}

async function closeRebuildIncident(ctx: Context, s: StepRecord): Promise<void> {
  const d = await ctx.up(s, (st) => [
    st.set("drMode", "none"),
    st.rm("drPhase"),
    st.rm("incidentId"),
    st.rm("maintenance"),
    st.rm("freeze"),
  ]);
  await ctx.apply(s, d);
  s.notes.push(`next: ${d.nextStep}`);
}

async function rebuildOutcome(
  rebuilt: PgCluster,
  db: string,
  h: RebuildHistory,
  v: Validated,
): Promise<ScenarioOutcome> {
  const rec = totalRows(countsOf(v.recovered));
  const env = await environment(rebuilt, db);
  return {
    expected: h.expected,
    recovered: v.recovered,
    lostRows: Math.max(0, totalRows(countsOf(h.beforeLoss)) - rec),
    sequences: v.sequences,
    env,
  };
}
