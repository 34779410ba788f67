/**
 * The DR-test report (Markdown) with what the seed's DR-test documentation asks for: the scenario, the restore
 * point requested (local and UTC), data recovered and lost, the time of each step and in total (the recovery
 * time), the outcome — plus the environment and what was real and what was simulated.
 */
import { humanInZone } from "../../plan";
import { objectiveLine } from "../../packages/dr-data/src/reports/drill-report-shape";
import type { DrillResult } from "./drill";
import { durationMs, seconds, utcText, type StepRecord } from "./timeline";
import { TABLES, totalRows } from "./workload";

const TITLES: Readonly<Record<DrillResult["scenario"], string>> = {
  ptr: "Scenario 2 — loss of data (`drMode=ptr`, point-in-time restore)",
  rebuild: "Scenario 1 — loss of the database server (`drMode=rebuild`, restore from the nightly backup)",
  scheduled:
    "Scheduled drill — the `drill` setting (a throwaway copy of live, the nightly restored into it, inspected against live, RPO and RTO against the objectives)",
};

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, "<br>");
}

export function renderReport(r: DrillResult): string {
  return [
    ...titleAndProvenance(r),
    ...summaryTable(r),
    ...dataSection(r),
    ...timelineSection(r),
    ...stepDetails(r),
    ...realAndSimulated(r),
    ...environmentSection(r),
  ].join("\n");
}

/** The command that produced the report, with only the flags that differ from the defaults: it can be rerun. */
function drillCommand(r: DrillResult): string {
  return (
    `npm run drill -- --scenario ${r.scenario}` +
    (r.tables === undefined ? "" : ` --tables ${r.tables.join(",")}`) +
    ` --rows ${r.rows}` +
    (r.stack === "staging" ? "" : ` --stack ${r.stack}`) +
    (r.timeZoneOverride === undefined ? "" : ` --time-zone ${r.timeZoneOverride}`)
  );
}

function titleAndProvenance(r: DrillResult): string[] {
  return [
    `# DR drill report: ${TITLES[r.scenario]}`,
    "",
    `Produced by \`${drillCommand(r)}\` on this machine; nothing in this file is hand-written.`,
    "",
  ];
}

/** What the DR-test documentation asks for, in one table: outcome, restore point, rows, recovery time. */
function summaryTable(r: DrillResult): string[] {
  const out = [
    "| | |",
    "|---|---|",
    `| Outcome | **${r.ok ? "PASS" : "FAIL"}**${r.ok ? ` — ${passMeans(r)}` : ""} |`,
    `| Scenario | ${TITLES[r.scenario]} |`,
    `| Started | ${utcText(r.startedAt)} = ${humanInZone(r.startedAt, r.timeZone)} |`,
    `| Stack | \`${r.stack}\`, time zone \`${r.timeZone}\`, incident id \`${r.incidentId}\` |`,
    ...restorePointRows(r),
  ];
  if (r.lossStatement !== undefined) out.push(`| Data loss | \`${r.lossStatement}\` |`);
  if (r.tables !== undefined)
    out.push(
      `| Restored | only ${r.tables.map((t) => `\`${t}\``).join(", ")} (\`ptr.tables\`: a table-level restore); the other tables kept what was written since |`,
    );
  out.push(
    `| Rows expected after recovery | ${r.expectedRows ?? "—"} (${expectedState(r)}) |`,
    `| Rows recovered | ${r.recoveredRows ?? "—"} |`,
    `| Rows lost | ${r.lostRows ?? "—"} (written ${lostRowsWhen(r)}) |`,
    `| Recovery time | ${seconds(r.recoveryMs)} in total; ${seconds(r.dataRecoveredMs)} until the data was restored and verified |`,
    ...objectiveRows(r),
  );
  if (r.failure !== undefined) out.push(`| Failure | ${cell(r.failure)} |`);
  out.push("");
  return out;
}

function passMeans(r: DrillResult): string {
  return r.scenario === "scheduled"
    ? "every check passed, both objectives met"
    : "the recovered data matches";
}

/** scheduled: RPO and RTO as the drill's report Job measured them, against the objectives. */
function objectiveRows(r: DrillResult): string[] {
  const d = r.drillReport;
  if (d === undefined) return [];
  return [
    `| Drill report | \`${d.report}\`: **${d.result}** |`,
    `| RPO | ${cell(objectiveLine("RPO", d.rpo))} |`,
    `| RTO | ${cell(objectiveLine("RTO", d.rto))} |`,
  ];
}

/** The operator's wall clock next to the program's UTC instant, so a wrong zone conversion shows at a glance. */
function restorePointRows(r: DrillResult): string[] {
  if (r.restorePoint === undefined) return [];
  const p = r.restorePoint;
  return [
    `| Restore point requested (local) | \`ptr.restoreTime=${p.requestedLocal}\` — wall clock in ${r.timeZone}, as the operator noted it |`,
    `| Restore point (UTC, declared by the program) | \`pointInTimeUTC: ${p.declaredUtc}\` (\`restoreTimeLocal\`: ${p.declaredLocal}) |`,
    `| Conversion check | the drill noted ${p.notedUtc}; ${p.notedUtc === p.declaredUtc ? "the program's conversion agrees" : "**the program's conversion differs**"} |`,
  ];
}

/** The reference the recovered rows are counted against differs by scenario and by a table-level restore. */
function expectedState(r: DrillResult): string {
  if (r.scenario === "scheduled") return "live as it was before the drill: a drill writes nothing live";
  if (r.scenario !== "ptr") return "the state at the nightly backup";
  return r.tables === undefined
    ? "the state at the restore point"
    : "the restored tables at the restore point, the others as just before the loss";
}

/** Why those rows are lost (and where a ptr drill still keeps them), so the number is not read as a defect. */
function lostRowsWhen(r: DrillResult): string {
  if (r.scenario === "scheduled") return "by nobody: the drill reads live only";
  if (r.scenario !== "ptr") return "after the last nightly backup: the recovery point objective";
  return (
    `after the restore point${r.tables === undefined ? "" : " in the restored tables"}; ` +
    "the reconciliation export lists what was written since; the flawed database's backup, kept for reconciliation, was taken after them"
  );
}

function dataSection(r: DrillResult): string[] {
  const out = [
    "## Data",
    "",
    `| stage | ${TABLES.join(" | ")} | total |`,
    `|---|${TABLES.map(() => "---:").join("|")}|---:|`,
    ...r.stages.map(
      (s) =>
        `| ${s.label} | ${TABLES.map((t) => String(s.counts[t])).join(" | ")} | ${totalRows(s.counts)} |`,
    ),
    "",
    ...r.checks.map((c) => `- ${c}`),
  ];
  if (r.sequences.length > 0) {
    out.push(
      `- sequences (expected → recovered; may only move forward — PostgreSQL WAL-logs sequences 32 values ahead): ${r.sequences.join("; ")}`,
    );
  }
  out.push("");
  return out;
}

function timelineSection(r: DrillResult): string[] {
  return [
    "## Timeline",
    "",
    `Times: UTC and ${r.timeZone}. Steps marked ✱ are the recovery; the others set up the incident.`,
    "",
    "| # | step | start (UTC) | start (local) | duration | levers declared | Jobs run |",
    "|---|---|---|---|---:|---|---|",
    ...r.steps.map((s) => timelineRow(s, r.timeZone)),
    "",
    `Recovery time (steps ✱, first start to last end): **${seconds(r.recoveryMs)}**.`,
    "",
  ];
}

function timelineRow(s: StepRecord, zone: string): string {
  const jobs = s.jobs.map((j) => `\`${j.name}\` exit ${j.exitCode} (${seconds(j.ms)})`).join("<br>");
  return (
    `| ${s.index}${s.recovery ? " ✱" : ""} | ${cell((s.failed === undefined ? "" : "**FAILED** ") + s.title)} | ${utcText(s.startedAt)} | ` +
    `${humanInZone(s.startedAt, zone)} | ${seconds(durationMs(s))} | ${cell(s.levers ?? "")} | ${jobs} |`
  );
}

function stepDetails(r: DrillResult): string[] {
  return ["## Steps in detail", "", ...r.steps.flatMap(stepDetail)];
}

/** One step as the operator would type it (the commands as a shell block), then what ran and what was seen. */
function stepDetail(s: StepRecord): string[] {
  const out = [`### ${s.index}. ${s.title}`, ""];
  if (s.commands.length > 0) out.push("```sh", ...s.commands, "```", "");
  for (const j of s.jobs)
    out.push(
      `- Job \`${j.name}\`: \`dr-data ${j.args.join(" ")}\` → exit ${j.exitCode} in ${seconds(j.ms)}: ${cell(j.result)}`,
    );
  for (const n of s.notes) out.push(`- ${cell(n)}`);
  if (s.failed !== undefined) out.push(`- **error**: ${cell(s.failed)}`);
  out.push("");
  return out;
}

/** A drill is evidence only as far as it is real: the reader must see where it stands in for Azure. */
function realAndSimulated(r: DrillResult): string[] {
  return [
    "## What is real and what is simulated",
    "",
    "Real:",
    "",
    "- the Pulumi program (`stack/program.ts`, which constructs `ServiceRecovery`) run for every step with the stack's committed config plus the operator's `pulumi config` commands above; the drill takes the Jobs, their args and the PTR copy's `pointInTimeUTC` from what it declares;",
    "- the restore-time conversion (luxon, the stack's zone) and the restore-window check, done by the program;",
    "- PostgreSQL servers on 127.0.0.1 (the drill's own, started and stopped by it); for `ptr`, a real point-in-time recovery (base backup + archived WAL + `recovery_target_time`);",
    "- the data tool (`packages/dr-data/src/cli.ts`: backup, restore with its verification and swap, compare), run as a child process with each Job's exact container args.",
    "",
    "Simulated:",
    "",
    ...simulated(r),
    "",
    "Substitutions made to each Job's environment and args:",
    "",
    ...r.substitutions.map((s) => `- ${s}`),
    ...storedBackups(r),
    "",
  ];
}

function simulated(r: DrillResult): string[] {
  return [
    "- Pulumi resources are recorded by Pulumi's mock runtime, not created: no Azure, AKS or GitHub is touched, so the levers (replicas, maintenance page, approvers) are evidence of what `pulumi up` would apply, not applied;",
    `- Azure Blob Storage is Azurite; the flexible servers are local servers (${r.environment.PostgreSQL?.split(" on ")[0] ?? "PostgreSQL"}; Azure runs the version the stack declares);`,
    "- AKS Jobs run as local processes with the same args; only the connection is substituted (below);",
    "- the Deployments and the replica patches' Pulumi state are simulated (`dev/drill/engine.ts`): create, update with `ignoreChanges`, `pulumi refresh` (the stored inputs become the live values) and the deletes at the end of an `up`, as the Pulumi engine and pulumi-kubernetes do them (docs/provider-facts.md); the refresh steps refresh only these patches;",
    `- Azure restores only to points at least 5 minutes old: the drill's plans run with the clock ${r.planClockShift} ahead, so the program's window check accepts a restore point seconds old;`,
    ...scenarioSimulated(r),
  ];
}

/** What each scenario simulates beyond the common parts. */
function scenarioSimulated(r: DrillResult): string[] {
  if (r.scenario === "scheduled")
    return [
      "- the drill's two `up`s (with and without `drill`) run with the real clock: the drill is named by its real start minute and its report measures RPO and RTO from it; the drill waits for the first minute after the nightly backup finished;",
      "- the drill's copy is a real point-in-time recovery of the local live server, to a real instant after the nightly instead of the declared one (5 minutes before the start, older than the local server); its deletion is a stop of the local server and the deletion of its data.",
    ];
  return r.scenario === "rebuild"
    ? [
        "- the loss of the server is a stop of the local server and the deletion of its data directory; the `pulumi refresh` after the loss is not run (nothing to refresh offline);",
        "- the lost server leaves no second database: the program's compare Job checks the rebuilt database against the manifest (per-table row counts and checksums) the nightly backup took in pg_dump's snapshot; the drill also took its own counts and checksums at the backup, before the loss, and compares the rebuilt database with them.",
      ]
    : [
        "- the expected state is per-table row counts and checksums (the data tool's compare) that the drill took at the restore point, before the later writes.",
      ];
}

function storedBackups(r: DrillResult): string[] {
  if (r.storedBackups.length === 0) return [];
  return ["", "Backups written to storage:", "", ...r.storedBackups.map((b) => `- \`${b}\``)];
}

function environmentSection(r: DrillResult): string[] {
  return [
    "## Environment",
    "",
    ...Object.entries(r.environment).map(([k, v]) => `- ${k}: ${v}`),
    `- Rows seeded: ${r.rows}`,
    "- Timings are wall-clock on this machine: indicative; other work running at the same time makes them noisy.",
    "",
  ];
}
