/**
 * The runbook's next step as data: what to do, in words, and the commands an operator runs, apart. The stack
 * output `nextStep` is its rendering (`renderNextStep`); tests and tools read the commands without parsing
 * prose. Pure, like the rest of the plan.
 */
import { unreachable } from "../config";
import type { PtrIncident, RebuildIncident, StackConfig } from "../config";
import {
  backupPrefix,
  beforeDatabaseName,
  incidentReport,
  serverFqdn,
  suggestedIncidentId,
  tableRestoreBeforeSchema,
} from "@service-dr/dr-data";
import type { Plan } from "./control";
import type { DataJobPlan } from "./data-path";

export interface NextStep {
  /** What to do, in words; `{n}` marks where `commands[n]` stands in the rendered text. */
  readonly summary: string;
  /** The commands to run, each as typed (a chain joined by `&&` is one command), in the order of the text. */
  readonly commands: readonly string[];
}

/** A command inside a step's text (`say`). */
interface Command {
  readonly command: string;
}

const cmd = (command: string): Command => ({ command });
const PLACEHOLDER = /\{(\d+)\}/g;

/**
 * A step from a template: plain strings are words, `cmd(…)` a command, a NextStep is spliced in (its
 * commands renumbered after the ones before it).
 */
function say(strings: TemplateStringsArray, ...values: ReadonlyArray<string | Command | NextStep>): NextStep {
  let summary = "";
  const commands: string[] = [];
  const words = (text: string): string => {
    if (new RegExp(PLACEHOLDER.source).test(text))
      throw new Error(`next step: words must not contain a placeholder: ${JSON.stringify(text)}`);
    return text;
  };
  strings.forEach((text, i) => {
    summary += words(text);
    if (i >= values.length) return;
    const v = values[i]!;
    if (typeof v === "string") summary += words(v);
    else if ("command" in v) summary += `{${commands.push(v.command) - 1}}`;
    else {
      const offset = commands.length;
      summary += v.summary.replace(PLACEHOLDER, (_, n: string) => `{${offset + Number(n)}}`);
      commands.push(...v.commands);
    }
  });
  return { summary, commands };
}

/** The text the stack outputs: the summary with each command in its place. */
export function renderNextStep(step: NextStep): string {
  return step.summary.replace(PLACEHOLDER, (_, n: string) => {
    const command = step.commands[Number(n)];
    if (command === undefined) throw new Error(`next step: no command {${n}} in ${JSON.stringify(step)}`);
    return command;
  });
}

/** An incident that is open: what every step after `drMode none` is about. */
type OpenIncident = PtrIncident | RebuildIncident;
/** The plan the next step is worded from: everything but the step itself. */
export type PlanSoFar = Omit<Plan, "nextStep">;

const UP = "pulumi up";

/** The runbook's next step as the command(s) an operator types. */
export function nextStep(cfg: StackConfig, p: PlanSoFar): NextStep {
  const incident = cfg.incident;
  if (incident.mode === "none") return noIncidentStep(cfg, p);
  const step = incidentStep(cfg, incident, p);
  // While the Jobs can still run (not at the closing step): how to retry one that failed.
  const closing = !p.levers.maintenance.on && !p.levers.freeze.on;
  if (closing) return step;
  const hint = retryHint(cfg, incident, p.dataPath.jobs);
  if (hint === undefined) return step;
  return say`${step}${renderNextStep(step).endsWith(".") ? "" : "."} ${hint}`;
}

/** `drMode none`: what a closed incident left behind, or how to open one. */
function noIncidentStep(cfg: StackConfig, p: PlanSoFar): NextStep {
  const leftovers = [
    cfg.ptr !== undefined ? "ptr" : undefined,
    cfg.rebuild !== undefined ? "rebuild" : undefined,
    cfg.retry !== undefined ? "retry" : undefined,
    cfg.incidentId !== undefined ? "incidentId" : undefined,
    cfg.adopt !== undefined ? "adopt" : undefined,
  ].filter((k): k is string => k !== undefined);
  const tidy = cmd(leftovers.map((k) => `pulumi config rm ${k}`).join(" && "));
  // incidentId is required to open an incident: without it none was opened, whatever else is set.
  if (cfg.incidentId !== undefined) {
    const left = incidentLeftovers(cfg, p.activeServer.name, cfg.incidentId, []);
    return say`Incident ${cfg.incidentId} closed. Tidy the stack config: ${tidy}. ${left}`;
  }
  const id = suggestedIncidentId(p.now, cfg.timeZone, cfg.postgres.appDatabase);
  const open = (mode: string): Command =>
    cmd(`pulumi config set incidentId ${id} && pulumi config set drMode ${mode} && ${UP}`);
  const noIncident = say`No incident. Loss of data: ${open("ptr")}. Loss of the database server: ${cmd("pulumi refresh")}, then ${open("rebuild")}.`;
  return leftovers.length > 0
    ? say`${noIncident} These keys do nothing while no incident is open (see the warnings): ${tidy}`
    : noIncident;
}

function incidentStep(cfg: StackConfig, incident: OpenIncident, p: PlanSoFar): NextStep {
  switch (incident.phase) {
    case "isolate":
      return isolateStep(cfg, incident, p);
    case "restore":
      return say`Validate the app on https://${cfg.kubernetes.temporaryHost} (web and worker back on, public host still on the maintenance page): ${cmd(`pulumi config set drPhase validate && ${UP}`)}`;
    case "validate":
      return closingSteps(cfg, incident, p);
    default:
      return unreachable(incident.phase);
  }
}

function isolateStep(cfg: StackConfig, incident: OpenIncident, p: PlanSoFar): NextStep {
  switch (incident.mode) {
    case "ptr":
      return ptrIsolateStep(cfg, incident, p);
    case "rebuild":
      return rebuildIsolateStep(incident, p);
    default:
      return unreachable(incident);
  }
}

/** Before the copy: choose the restore point; once it exists: read the inspection, then restore. */
function ptrIsolateStep(cfg: StackConfig, incident: PtrIncident, p: PlanSoFar): NextStep {
  const copy = p.ptrCopy;
  if (copy === undefined) {
    const example = p.now.setZone(cfg.timeZone).minus({ hours: 1 }).toFormat("yyyy-LL-dd'T'HH:mm:ss");
    return say`Choose the restore point (wall clock in ${cfg.timeZone}, or give an offset) and create the PTR copy: ${cmd(`pulumi config set --path ptr.restoreTime ${example} && ${UP}`)}`;
  }
  const pod = p.dataPath.troubleshootPod;
  const byHand =
    pod === undefined ? say`` : say`; to look by hand: ${cmd(pod.psqlPtr)} (or ${cmd(pod.psqlLive)})`;
  const look = say`Read the inspection of the PTR copy (${copy.name}) against the live data (what was lost, what was written since): ${cmd(inspectReportCommand(cfg, incident.id))}${byHand}`;
  const restore = `pulumi config set drPhase restore && ${UP}`;
  const tables = cfg.ptr?.tables;
  const then =
    tables === undefined
      ? say`Then restore the whole database from the copy: ${cmd(restore)}; or, if the loss is in a few tables, restore only those: ${cmd(`pulumi config set --path 'ptr.tables[0]' <schema.table> (one index per table) && ${restore}`)}`
      : say`Then restore only ${tables.join(", ")} from the copy (ptr.tables): ${cmd(restore)}; for the whole database instead: ${cmd("pulumi config rm --path ptr.tables")} first`;
  return say`${look}. ${then}. Either way the rows written since the restore point are exported first (incident/${incident.id}/reconcile/).`;
}

/** Once the server is back: switch the app to a geo server, or restore (or check) the rebuilt one. */
function rebuildIsolateStep(incident: RebuildIncident, p: PlanSoFar): NextStep {
  const next = cmd(`pulumi config set drPhase restore && ${UP}`);
  const source = incident.source;
  switch (source.from) {
    case "geo":
      return say`Once ${source.serverName} exists in ${source.location} (the latest geo-replicated backup, up to about an hour old), point the app's database host at ${serverFqdn(source.serverName)} (the app's own deploy config), then check it: ${next}`;
    case "backup":
      return say`Once ${p.activeServer.name} exists, restore the nightly backup into the rebuilt server: ${next}`;
    case "revive":
      return say`Once ${p.activeServer.name} exists, check the rebuilt server (its data came with it): ${next}`;
    default:
      return unreachable(source);
  }
}

function closingSteps(cfg: StackConfig, incident: OpenIncident, p: PlanSoFar): NextStep {
  if (p.levers.maintenance.on)
    return say`When the app is validated, disable maintenance mode: ${cmd(`pulumi config set maintenance false && ${UP}`)}`;
  if (p.levers.freeze.on)
    return say`Unfreeze the pipeline (required approvers back to normal): ${cmd(`pulumi config set freeze false && ${UP}`)}`;
  const present: Record<string, unknown> = {
    ptr: cfg.ptr,
    rebuild: cfg.rebuild,
    retry: cfg.retry,
    incidentId: cfg.incidentId,
    // Refused while drMode is none: closing without removing it would fail.
    incidentDeclaredAt: cfg.incidentDeclaredAt,
    maintenance: cfg.maintenance,
    freeze: cfg.freeze,
    stopService: cfg.stopService,
  };
  const rm = ["drPhase", ...Object.keys(present).filter((k) => present[k] !== undefined)]
    .map((k) => `pulumi config rm ${k}`)
    .join(" && ");
  const report = reportWritten(cfg, incident.id, p.dataPath.jobs);
  if (incident.mode === "rebuild" && incident.source.from === "geo")
    return say`${report}${geoSwitchOver(incident, rm)}`;
  const tidy =
    incident.mode === "ptr" ? "Tidy up (deletes the PTR copy) and close the incident" : "Close the incident";
  const left = incidentLeftovers(cfg, p.activeServer.name, incident.id, p.dataPath.jobs);
  return say`${report}${tidy}: ${cmd(`pulumi config set drMode none && ${rm} && ${UP}`)}. ${left}`;
}

/** At the close: where the report Job wrote the incident's report, and how to run it again if it failed. */
function reportWritten(cfg: StackConfig, incidentId: string, jobs: readonly DataJobPlan[]): NextStep {
  const job = jobs.find((j) => j.step === "report");
  if (job === undefined) return say``;
  const retry = `pulumi config set --path retry.report ${(cfg.retry?.report ?? 0) + 1} && ${UP}`;
  return say`The incident's report (the timeline of its recovery Jobs, the restore point, rows lost and recovered) is written to ${incidentReport.retro(incidentId, "md")} by the Job ${job.name} (once; its log: ${job.logBlob}; if it failed, fix the cause and ${cmd(retry)}); read it for the post-DR review: ${cmd(incidentReportCommand(cfg, incidentId))}. `;
}

/** Leaving geo mode without the switch-over would drop the geo server (protected: the up fails). */
function geoSwitchOver(incident: RebuildIncident, rm: string): NextStep {
  if (incident.source.from !== "geo") throw new Error("geo switch-over outside a geo-restore");
  const geo = incident.source;
  const set = (key: string, value: string): string => `pulumi config set --path ${key} ${value}`;
  const config = [
    set("postgres.serverName", geo.serverName),
    set("postgres.location", geo.location),
    set("postgres.network.delegatedSubnetId", geo.network.delegatedSubnetId),
    set("postgres.network.privateDnsZoneId", geo.network.privateDnsZoneId),
    set("postgres.highAvailability", "Disabled"),
    "pulumi config rm --path postgres.availabilityZone",
    "pulumi config rm --path postgres.standbyAvailabilityZone",
    "pulumi config set drMode none",
    rm,
    "pulumi preview --diff",
  ].join(" && ");
  return say`Make ${geo.serverName} the stack's live server before closing (docs/runbook.md, "Geo-restore: the switch-over"): first the pulumi state steps there, then ${cmd(config)} (no change on the live server), then ${cmd(UP)}`;
}

/**
 * What an incident leaves behind on purpose, and how to remove it once reconciliation is done: the databases
 * the restores kept (`<db>_before_<run id>`: the data as it was before each swap), the schemas a table-level
 * restore kept, and everything under the incident's blob prefix (the dumps, and the Jobs' logs). `jobs` are
 * this state's Jobs: the restores among them name what they kept; without them (the incident already closed)
 * the command lists them.
 */
function incidentLeftovers(
  cfg: StackConfig,
  server: string,
  incidentId: string,
  jobs: readonly DataJobPlan[],
): NextStep {
  const db = cfg.postgres.appDatabase;
  const restores = jobs.flatMap((j) =>
    j.step === "restore" && j.runId !== undefined && j.args.command === "restore"
      ? [{ runId: j.runId, tables: j.args.options.tables }]
      : [],
  );
  const kept = restores.filter((r) => r.tables === undefined).map((r) => beforeDatabaseName(db, r.runId));
  // A table-level restore keeps the chosen tables' previous rows in a schema of the live database instead.
  const schemas = restores
    .filter((r) => r.tables !== undefined)
    .map((r) => tableRestoreBeforeSchema(r.runId));
  return say`The incident leaves, for reconciliation, until you remove them: ${keptSchemas(cfg, server, schemas)}${keptDatabases(cfg, server, kept)}; ${incidentBlobs(cfg, incidentId)}.`;
}

/**
 * psql as a member of the administrators group: an Entra access token is the password, the group's name the
 * user, and the server's certificate is verified against the system's root CAs (libpq ≥ 16).
 */
function psql(cfg: StackConfig, server: string, database: string, sql: string): Command {
  return cmd(
    `PGPASSWORD="$(az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv)" ` +
      `psql "host=${serverFqdn(server)} port=5432 dbname=${database} user='${cfg.postgres.entraAdmin.displayName}' sslmode=verify-full sslrootcert=system" -c '${sql}'`,
  );
}

/** Joins steps with a separator between them. */
function joined(steps: readonly NextStep[], separator: string): NextStep {
  return steps.reduce((all, s, i) => (i === 0 ? s : say`${all}${separator}${s}`), say``);
}

function keptSchemas(cfg: StackConfig, server: string, schemas: readonly string[]): NextStep {
  if (schemas.length === 0) return say``;
  const db = cfg.postgres.appDatabase;
  const drops = joined(
    schemas.map((name) => say`${psql(cfg, server, db, `DROP SCHEMA "${name}" CASCADE`)}`),
    " && ",
  );
  return say`the schema${schemas.length === 1 ? "" : "s"} ${schemas.join(", ")} in ${db} (the restored tables' rows before the restore); drop with: ${drops}; `;
}

function keptDatabases(cfg: StackConfig, server: string, kept: readonly string[]): NextStep {
  const db = cfg.postgres.appDatabase;
  const list = psql(cfg, server, "postgres", `\\l ${db}_*`);
  if (kept.length === 0)
    return say`any ${db}_before_* database (the data before a swap) and ${db}_restore_* (a restore that did not finish) on ${server}: list them with ${list}, drop each with ${psql(cfg, server, "postgres", `DROP DATABASE "<name>"`)}`;
  const drops = joined(
    kept.map((name) => say`${psql(cfg, server, "postgres", `DROP DATABASE "${name}"`)}`),
    " && ",
  );
  return say`the database${kept.length === 1 ? "" : "s"} ${kept.join(", ")} on ${server} (the data before the swap), and any other ${db}_before_* or ${db}_restore_* (list: ${list}); drop each with: ${drops}`;
}

function incidentBlobs(cfg: StackConfig, incidentId: string): NextStep {
  const { storageAccountName: account, container, retentionDays } = cfg.backup;
  const prefix = `${backupPrefix.incident(incidentId)}/`;
  const remove = cmd(
    `az storage blob delete-batch --auth-mode login --account-name ${account} --source ${container} --pattern '${prefix}*'`,
  );
  return say`the incident's dumps and the Jobs' logs under ${prefix} in container ${container} of ${account} (the lifecycle rule keeps them: it deletes only nightly/); delete with: ${remove} once they are older than ${String(retentionDays)} days (immutability refuses earlier); each leaves a previous version (versioning): delete those too (docs/runbook.md, "Deleting a backup on purpose")`;
}

/** The command that downloads a blob of the backup container to `file`. */
function blobDownload(cfg: StackConfig, blob: string, file: string): string {
  return (
    `az storage blob download --auth-mode login --account-name ${cfg.backup.storageAccountName} ` +
    `--container-name ${cfg.backup.container} --name ${blob} --file ${file}`
  );
}

/** The command that downloads the incident's inspection report. */
export function inspectReportCommand(cfg: StackConfig, incidentId: string): string {
  return blobDownload(cfg, incidentReport.inspect(incidentId, "md"), "inspect-report.md");
}

/** The command that downloads the incident's report at close (the report Job's). */
export function incidentReportCommand(cfg: StackConfig, incidentId: string): string {
  return blobDownload(cfg, incidentReport.retro(incidentId, "md"), "incident-report.md");
}

/**
 * How to retry a recovery Job that failed: `retry.<step>` one higher than now gives that step a new Job
 * (docs/runbook.md, "A recovery Job failed"). Its log is kept under the incident's prefix.
 */
function retryHint(
  cfg: StackConfig,
  incident: OpenIncident,
  jobs: readonly DataJobPlan[],
): NextStep | undefined {
  if (jobs.length === 0) return undefined;
  const next = jobs.map((j) => `${j.step} ${(cfg.retry?.[j.step] ?? 0) + 1}`).join(", ");
  return say`If a recovery Job fails (the up stops and names it), read its log (${cmd(`kubectl -n ${cfg.kubernetes.dataNamespace} logs job/<name>`)}, or the blob ${backupPrefix.incident(incident.id)}/logs/<name>.log), fix the cause, then run that step again as a new Job: ${cmd(`pulumi config set --path retry.<step> <n> && ${UP}`)} (here: ${next}). A finished Job is never run again by a later up; retry only the step that failed (a retried backup that had succeeded would become its prefix's latest).`;
}
