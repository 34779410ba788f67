/**
 * What the Pulumi program declares for one runbook step, read the way an operator drives it: the committed
 * stack file plus `pulumi config set --path` / `pulumi config rm` operations, run through the REAL program
 * under Pulumi's mock runtime (dev/offline/mocks.ts). The drill takes the data steps from here — the recovery
 * Jobs' container args and env, the nightly CronJob's, the PTR copy's `pointInTimeUTC`, the databases of the
 * live server — and never re-derives them.
 */
import * as path from "node:path";
import type { DateTime } from "luxon";
import { isConfigError, RecordingMocks, runProgram, subscriptionIdFromConfig } from "../offline/mocks";
import type { PlanResource, PlanResult } from "../offline/mocks";
import {
  jobStepOf,
  NIGHTLY_BACKUP_STEP,
  serverFqdn,
  STEP_LABEL,
  type JobStep,
  type PodStep,
} from "@service-dr/dr-data";
import { DRILL_STEPS, type DrillStep } from "../../plan";
import { readStackOutputs, type DrillOutput, type StackOutputs } from "../../stack/outputs";
import { AFTER_HOLD_ANNOTATION, RECOVERY_JOBS_ANNOTATION } from "../../components/app/replica-hold";
import {
  applySet,
  declarationProblems,
  loadStackConfig,
  qualifyKey,
  serializeConfig,
  type LoadedConfig,
  type StackConfig,
} from "../offline/stack-config";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** One env entry of a container as the program declares it (a value, or a reference to a Secret key). */
export interface DeclaredEnvVar {
  readonly name: string;
  readonly value?: string;
  readonly secretRef?: { readonly name: string; readonly key: string };
}

/** A Kubernetes Job (or the nightly CronJob's job template): its name and the data tool's container. */
export interface DeclaredJob {
  readonly name: string;
  /** Its runbook step, from the contract's STEP_LABEL: how the drill finds a Job (never by its argv). */
  readonly step: PodStep;
  readonly args: readonly string[];
  readonly env: readonly DeclaredEnvVar[];
  /** The Pulumi resource's name, and the resources it waits for (the engine's dependency edges). */
  readonly resource?: string;
  readonly dependsOn?: readonly string[];
}

/**
 * A DeploymentPatch (the app's replica count, or the hold at 0 for recovery Jobs): which Deployment, the
 * count, the edges, its inputs and `ignoreChanges` — what the simulated engine (engine.ts) acts on.
 */
export interface DeclaredPatch {
  readonly resource: string;
  /** The app's count, or the hold's 0 while recovery Jobs run: from the patch's annotations (patchRole). */
  readonly role: PatchRole;
  readonly deployment: string;
  readonly replicas: number;
  readonly dependsOn: readonly string[];
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly ignoreChanges: readonly string[];
}

/** The lever states one step declares: evidence for the timeline. */
export interface DeclaredLevers {
  readonly replicas: Readonly<Record<string, number>>;
  readonly maintenance: boolean;
  readonly requiredApprovers: number;
  readonly nightlySuspended: boolean;
}

export interface Declared {
  /** The operator's config operations so far, as `pulumi config` commands. */
  readonly commands: readonly string[];
  readonly drMode: string;
  readonly drPhase: string | undefined;
  readonly liveServerName: string;
  readonly liveServerFqdn: string;
  readonly ptrServerFqdn: string | undefined;
  readonly restoreTimeUtc: string | undefined;
  readonly restoreTimeLocal: string | undefined;
  readonly timeZone: string;
  readonly levers: DeclaredLevers;
  /** The recovery Jobs in the order they run (each depends on the one before). */
  readonly jobs: readonly DeclaredJob[];
  /** The replica patches (app and hold), in declaration order. */
  readonly patches: readonly DeclaredPatch[];
  readonly nightly: DeclaredJob;
  /** `pointInTimeUTC` of the PTR copy server, when one is declared. */
  readonly ptrPointInTimeUtc: string | undefined;
  /** `createMode` of the live server (`Create` when rebuilding from a backup; absent for the existing one). */
  readonly liveCreateMode: string | undefined;
  /** Databases declared on the live server. */
  readonly liveDatabases: readonly string[];
  /** The backup storage container. */
  readonly container: string;
  /**
   * The Microsoft Entra administrators that are managed identities (not the group), by server name: Azure
   * creates each one's PostgreSQL role on that server (the drill, a local role standing in for it).
   */
  readonly entraAdmins: readonly DeclaredEntraAdmin[];
  readonly nextStep: string;
  readonly resourceCount: number;
  /** Every declared resource as `type::name`: what an `up` creates or deletes, compared between steps. */
  readonly resources: readonly string[];
  /** The scheduled drill, while `drill` is set and no incident is open. */
  readonly drill: DeclaredDrill | undefined;
}

/** A scheduled drill's Job: its step (from its `drill-<step>` label) and the data tool's container. */
export interface DeclaredDrillJob extends Omit<DeclaredJob, "step"> {
  readonly step: DrillStep;
  readonly resource: string;
  readonly dependsOn: readonly string[];
}

/**
 * What the program declares for a scheduled drill: its output's id, start, copy, report and objectives
 * (stack/outputs.ts `DrillOutput`), with what the drill reads from the resources themselves.
 */
export interface DeclaredDrill extends Pick<
  DrillOutput,
  "id" | "startedAt" | "copyServerName" | "reportBlob" | "objectives"
> {
  readonly copyServerFqdn: string;
  /** The copy's `pointInTimeUTC` as declared on the server resource. */
  readonly copyPointInTimeUtc: string;
  /** The Jobs in the order the drill output lists them. */
  readonly jobs: readonly DeclaredDrillJob[];
}

/** The program refused the config (its ConfigError), every problem listed. */
export class DeclareError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(`${message}:\n  ${problems.join("\n  ")}`);
    this.name = "DeclareError";
  }
}

type ConfigOp =
  { readonly kind: "set"; readonly assignment: string } | { readonly kind: "rm"; readonly key: string };

/** The stack as an operator changes it, one `pulumi config` command at a time. */
export class OperatorStack {
  private readonly ops: ConfigOp[] = [];
  private readonly loaded: LoadedConfig;

  constructor(
    readonly stack: string,
    /** Assignments applied to the committed file before the drill starts (e.g. `timeZone=…`). */
    private readonly base: readonly string[] = [],
    projectDir = PROJECT_DIR,
  ) {
    this.loaded = loadStackConfig(projectDir, stack);
    // Fails early (as a usage problem) on a malformed base assignment.
    this.values();
  }

  /** `pulumi config set --path <key> <value>` */
  set(key: string, value: string): string {
    this.ops.push({ kind: "set", assignment: `${key}=${value}` });
    return `pulumi config set ${/[.[]/.test(key) ? "--path " : ""}${key} ${value}`;
  }

  /** `pulumi config rm <key>` */
  rm(key: string): string {
    this.ops.push({ kind: "rm", key });
    return `pulumi config rm ${key}`;
  }

  private values(): StackConfig {
    const values = new Map(this.loaded.values);
    for (const assignment of this.base) applySet(values, this.loaded.project, assignment);
    for (const op of this.ops) {
      if (op.kind === "set") applySet(values, this.loaded.project, op.assignment);
      else {
        // `pulumi config rm` removes the stack's value: Pulumi.yaml's default (if any) applies again.
        const key = qualifyKey(this.loaded.project, op.key);
        values.delete(key);
        const fallback = this.loaded.declarations.find((d) => d.key === key)?.fallback;
        if (fallback !== undefined) values.set(key, fallback);
      }
    }
    return values;
  }

  /** `pulumi up` (offline): runs the program with the current config and the given clock. */
  async declare(now: DateTime, commands: readonly string[]): Promise<Declared> {
    const values = this.values();
    const problems = declarationProblems(this.loaded, values);
    if (problems.length > 0) throw new DeclareError("the stack config is refused", problems);
    const config = serializeConfig(values);
    const mocks = new RecordingMocks({
      subscriptionId: subscriptionIdFromConfig(config, this.loaded.project),
      now,
    });
    let result: PlanResult;
    try {
      result = await runProgram(config, [...this.loaded.secretKeys], now, {
        programPath: path.join(PROJECT_DIR, "stack", "program"),
        project: this.loaded.project,
        stack: this.stack,
        mocks,
      });
    } catch (err) {
      if (isConfigError(err)) throw new DeclareError("the program refused its config", err.problems);
      throw err;
    }
    return readDeclared(result, commands);
  }
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`drill: expected an object for ${what}, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string")
    throw new Error(`drill: expected a string for ${what}, got ${JSON.stringify(value)}`);
  return value;
}

function num(value: unknown, what: string): number {
  if (typeof value !== "number")
    throw new Error(`drill: expected a number for ${what}, got ${JSON.stringify(value)}`);
  return value;
}

function optionalText(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The data tool's container of a pod spec. */
function toolContainer(podSpec: unknown, name: string): Omit<DeclaredJob, "step"> {
  const containers = record(podSpec, `${name} pod spec`).containers;
  if (!Array.isArray(containers) || containers.length !== 1) {
    throw new Error(`drill: ${name} should have exactly one container`);
  }
  const c = record(containers[0], `${name} container`);
  const args = c.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new Error(`drill: ${name} has no string args`);
  }
  const env = (Array.isArray(c.env) ? c.env : []).map((e: unknown): DeclaredEnvVar => {
    const entry = record(e, `${name} env`);
    const envName = text(entry.name, `${name} env name`);
    if (entry.valueFrom !== undefined) {
      const ref = record(
        record(entry.valueFrom, `${envName}.valueFrom`).secretKeyRef,
        `${envName} secretKeyRef`,
      );
      return {
        name: envName,
        secretRef: { name: text(ref.name, "secret name"), key: text(ref.key, "secret key") },
      };
    }
    return { name: envName, value: text(entry.value, `${name} env ${envName}`) };
  });
  return { name, args, env };
}

function byType(result: PlanResult, type: string): PlanResource[] {
  return result.resources.filter((r) => r.type === type);
}

/** A recovery Job's step from its label: a Job without a known step is one the drill cannot place. */
function jobStep(metadata: Record<string, unknown>, name: string): JobStep {
  const value = record(metadata.labels, `${name} labels`)[STEP_LABEL];
  const step = jobStepOf(value);
  if (step === undefined)
    throw new Error(`drill: Job ${name} has no known ${STEP_LABEL} label: ${JSON.stringify(value)}`);
  return step;
}

export function readDeclared(result: PlanResult, commands: readonly string[]): Declared {
  // Checked once here (stack-outputs.ts): they came back through the mock runtime.
  const out = readStackOutputs(result.outputs);
  // Each part throws on the first thing it cannot read: reading them in this order keeps the message a broken
  // plan gives the same whatever else is wrong with it.
  const jobsByName = recoveryJobsByName(result);
  const patches = replicaPatches(result);
  const jobs = inRecoveryOrder(jobsByName, out.recoveryJobs);
  const nightly = nightlyBackupJob(result);
  const { ptr, live } = ptrAndLiveServers(result, out);
  const liveDatabases = liveServerDatabases(result, out.liveServerName);
  const container = backupContainer(result);
  return {
    commands,
    drMode: out.drMode,
    drPhase: out.drPhase ?? undefined,
    liveServerName: out.liveServerName,
    liveServerFqdn: out.liveServerFqdn,
    ptrServerFqdn: out.ptrServerFqdn ?? undefined,
    restoreTimeUtc: out.restoreTimeUtc ?? undefined,
    restoreTimeLocal: out.restoreTimeLocal ?? undefined,
    timeZone: out.timeZone,
    levers: leversOf(out),
    jobs,
    patches,
    nightly,
    ptrPointInTimeUtc: ptr === undefined ? undefined : text(ptr.inputs.pointInTimeUTC, "pointInTimeUTC"),
    liveCreateMode: optionalText(live.inputs.createMode),
    liveDatabases,
    container: text(container.inputs.containerName, "containerName"),
    entraAdmins: identityAdmins(result),
    nextStep: out.nextStep,
    resourceCount: result.resources.length,
    resources: result.resources.map((r) => `${r.type}::${r.name}`),
    drill: declaredDrill(result, out),
  };
}

/** A scheduled drill Job's step from its `drill-<step>` label; undefined for any other Job. */
function drillStepOf(metadata: Record<string, unknown>): DrillStep | undefined {
  const value = record(metadata.labels ?? {}, "Job labels")[STEP_LABEL];
  const step = typeof value === "string" ? value.replace(/^drill-/, "") : undefined;
  return typeof value === "string" && value.startsWith("drill-")
    ? DRILL_STEPS.find((d) => d === step)
    : undefined;
}

/** The drill's Jobs by name, with their containers and the engine's edges. */
function drillJobsByName(result: PlanResult): Map<string, DeclaredDrillJob> {
  const jobs = new Map<string, DeclaredDrillJob>();
  for (const r of byType(result, "kubernetes:batch/v1:Job")) {
    const metadata = record(r.inputs.metadata, "Job metadata");
    const step = drillStepOf(metadata);
    if (step === undefined) continue;
    const name = text(metadata.name, "Job name");
    const template = record(record(r.inputs.spec, "Job spec").template, "Job template");
    jobs.set(name, {
      ...toolContainer(template.spec, name),
      step,
      resource: r.name,
      dependsOn: r.options.dependencies ?? [],
    });
  }
  return jobs;
}

/** The drill from its output and its resources; an output naming Jobs that are not declared is an error. */
function declaredDrill(result: PlanResult, out: StackOutputs): DeclaredDrill | undefined {
  const byName = drillJobsByName(result);
  if (out.drill === undefined) {
    if (byName.size > 0)
      throw new Error(`drill: drill Jobs declared without a drill output: ${[...byName.keys()].join(", ")}`);
    return undefined;
  }
  const o = out.drill;
  if (o.jobs.length !== byName.size || !o.jobs.every((n) => byName.has(n)))
    throw new Error(
      `drill: output drill.jobs ${JSON.stringify(o.jobs)} does not match the declared drill Jobs ${JSON.stringify([...byName.keys()])}`,
    );
  const copy = byType(result, "azure-native:dbforpostgresql:Server").find(
    (r) => r.inputs.serverName === o.copyServerName,
  );
  if (copy === undefined) throw new Error(`drill: the drill copy ${o.copyServerName} is not declared`);
  return {
    id: o.id,
    startedAt: o.startedAt,
    copyServerName: o.copyServerName,
    copyServerFqdn: serverFqdn(o.copyServerName),
    copyPointInTimeUtc: text(copy.inputs.pointInTimeUTC, "drill copy pointInTimeUTC"),
    jobs: o.jobs.map((n) => byName.get(n)!),
    reportBlob: o.reportBlob,
    objectives: o.objectives,
  };
}

/** The recovery Jobs by name: the outputs list them by name only, so their containers come from here. */
function recoveryJobsByName(result: PlanResult): Map<string, DeclaredJob> {
  const jobsByName = new Map<string, DeclaredJob>();
  for (const r of byType(result, "kubernetes:batch/v1:Job")) {
    const metadata = record(r.inputs.metadata, "Job metadata");
    // The scheduled drill's Jobs are no recovery Jobs (declaredDrill reads them).
    if (drillStepOf(metadata) !== undefined) continue;
    const name = text(metadata.name, "Job name");
    const template = record(record(r.inputs.spec, "Job spec").template, "Job template");
    jobsByName.set(name, {
      ...toolContainer(template.spec, name),
      step: jobStep(metadata, name),
      resource: r.name,
      dependsOn: r.options.dependencies ?? [],
    });
  }
  return jobsByName;
}

export interface DeclaredEntraAdmin {
  readonly serverName: string;
  /** The principal's name: the PostgreSQL role it logs in as. */
  readonly principalName: string;
}

/** Every `AdministratorsMicrosoftEntra` of a managed identity (principalType ServicePrincipal). */
function identityAdmins(result: PlanResult): DeclaredEntraAdmin[] {
  return byType(result, "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra")
    .filter((r) => r.inputs.principalType === "ServicePrincipal")
    .map((r) => ({
      serverName: text(r.inputs.serverName, "administrator serverName"),
      principalName: text(r.inputs.principalName, "administrator principalName"),
    }));
}

export type PatchRole = "app" | "hold";

/**
 * A hold names the Jobs it is for (RECOVERY_JOBS_ANNOTATION) and follows no hold; the app's patches either
 * carry no recovery annotation or, when they come back after a hold, the hold's tag (AFTER_HOLD_ANNOTATION).
 * Read from what the program sets, never from the resource's name.
 */
export function patchRole(annotations: Readonly<Record<string, unknown>>): PatchRole {
  return annotations[RECOVERY_JOBS_ANNOTATION] !== undefined &&
    annotations[AFTER_HOLD_ANNOTATION] === undefined
    ? "hold"
    : "app";
}

/** The replica patches with their inputs and ignoreChanges: the simulated engine diffs and applies them. */
function replicaPatches(result: PlanResult): DeclaredPatch[] {
  return byType(result, "kubernetes:apps/v1:DeploymentPatch").map((r): DeclaredPatch => ({
    resource: r.name,
    role: patchRole(
      record(record(r.inputs.metadata, "patch metadata").annotations ?? {}, "patch annotations"),
    ),
    deployment: text(record(r.inputs.metadata, "patch metadata").name, "patch metadata.name"),
    replicas: num(record(r.inputs.spec, "patch spec").replicas, "patch spec.replicas"),
    dependsOn: r.options.dependencies ?? [],
    inputs: r.inputs,
    ignoreChanges: r.options.ignoreChanges ?? [],
  }));
}

/**
 * The Jobs in the order RecoveryJobs chained them with dependsOn (the `recoveryJobs` output); an output that
 * names other Jobs than those declared means the drill would run the wrong ones.
 */
function inRecoveryOrder(
  jobsByName: ReadonlyMap<string, DeclaredJob>,
  order: readonly string[],
): DeclaredJob[] {
  if (order.length !== jobsByName.size || !order.every((n) => jobsByName.has(n))) {
    throw new Error(
      `drill: output recoveryJobs ${JSON.stringify(order)} does not match the declared Jobs ` +
        JSON.stringify([...jobsByName.keys()]),
    );
  }
  return order.map((n) => jobsByName.get(n)!);
}

/** The nightly CronJob's job template: the backup the rebuild scenario restores from. */
function nightlyBackupJob(result: PlanResult): DeclaredJob {
  const crons = byType(result, "kubernetes:batch/v1:CronJob");
  if (crons.length !== 1)
    throw new Error(`drill: expected one CronJob (the nightly backup), found ${crons.length}`);
  const cron = crons[0]!;
  const cronSpec = record(cron.inputs.spec, "CronJob spec");
  const cronName = text(record(cron.inputs.metadata, "CronJob metadata").name, "CronJob name");
  const jobTemplate = record(record(cronSpec.jobTemplate, "jobTemplate").spec, "jobTemplate spec");
  return {
    ...toolContainer(record(jobTemplate.template, "jobTemplate template").spec, cronName),
    step: NIGHTLY_BACKUP_STEP,
  };
}

/**
 * The incident's PTR copy and the live server, each by the name the outputs give it (a scheduled drill's copy
 * is a point-in-time restore too, under its own name).
 */
function ptrAndLiveServers(
  result: PlanResult,
  out: StackOutputs,
): { ptr: PlanResource | undefined; live: PlanResource } {
  const servers = byType(result, "azure-native:dbforpostgresql:Server");
  const ptr = servers.find(
    (s) => s.inputs.createMode === "PointInTimeRestore" && s.inputs.serverName === out.ptrServerName,
  );
  const live = servers.find((s) => s.inputs.serverName === out.liveServerName);
  if (live === undefined) throw new Error(`drill: the live server ${out.liveServerName} is not declared`);
  return { ptr, live };
}

/** A rebuilt server starts empty: the drill creates these databases on it, as Azure would. */
function liveServerDatabases(result: PlanResult, liveServerName: string): string[] {
  return byType(result, "azure-native:dbforpostgresql:Database")
    .filter((d) => d.inputs.serverName === liveServerName)
    .map((d) => text(d.inputs.databaseName, "databaseName"));
}

/** The one container every backup, inspection and log goes to; a second one would leave the drill guessing. */
function backupContainer(result: PlanResult): PlanResource {
  const containers = byType(result, "azure-native:storage:BlobContainer");
  if (containers.length !== 1)
    throw new Error(`drill: expected one BlobContainer, found ${containers.length}`);
  return containers[0]!;
}

function leversOf(out: StackOutputs): DeclaredLevers {
  return {
    replicas: out.replicas,
    maintenance: out.maintenance,
    requiredApprovers: out.requiredApprovers,
    nightlySuspended: out.nightlyBackupSuspended,
  };
}

/** `web 0, worker 0 · maintenance on · approvers 6 · nightly suspended` */
export function formatLevers(l: DeclaredLevers): string {
  const replicas = Object.entries(l.replicas)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return (
    `replicas ${replicas} · maintenance ${l.maintenance ? "on" : "off"} · approvers ${l.requiredApprovers} · ` +
    `nightly ${l.nightlySuspended ? "suspended" : "scheduled"}`
  );
}
