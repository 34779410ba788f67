/**
 * The DR-test report (Markdown) with what the seed's DR-test documentation asks for: the scenario, the restore
 * point requested (local and UTC), data recovered and lost, the time of each step and in total (the recovery
 * time), the outcome — plus the environment and what was real and what was simulated.
 */
import { humanInZone } from "../../time";
import type { DrillResult } from "./drill";
import { durationMs, seconds, utcText } from "./timeline";
import { TABLES, totalRows } from "./workload";

const TITLES: Readonly<Record<DrillResult["scenario"], string>> = {
  ptr: "Scenario 2 — loss of data (`drMode=ptr`, point-in-time restore)",
  rebuild: "Scenario 1 — loss of the database server (`drMode=rebuild`, restore from the nightly backup)",
};

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, "<br>");
}

export function renderReport(r: DrillResult): string {
  const out: string[] = [];
  const line = (s = "") => out.push(s);
  line(`# DR drill report: ${TITLES[r.scenario]}`);
  line();
  line(
    `Produced by \`npm run drill -- --scenario ${r.scenario}${r.tables === undefined ? "" : ` --tables ${r.tables.join(",")}`} --rows ${r.rows}${r.stack === "staging" ? "" : ` --stack ${r.stack}`}${r.timeZoneOverride === undefined ? "" : ` --time-zone ${r.timeZoneOverride}`}\` on this machine; nothing in this file is hand-written.`,
  );
  line();
  line("| | |");
  line("|---|---|");
  line(`| Outcome | **${r.ok ? "PASS" : "FAIL"}**${r.ok ? " — the recovered data matches" : ""} |`);
  line(`| Scenario | ${TITLES[r.scenario]} |`);
  line(`| Started | ${utcText(r.startedAt)} = ${humanInZone(r.startedAt, r.timeZone)} |`);
  line(`| Stack | \`${r.stack}\`, time zone \`${r.timeZone}\`, incident id \`${r.incidentId}\` |`);
  if (r.restorePoint !== undefined) {
    const p = r.restorePoint;
    line(
      `| Restore point requested (local) | \`ptr.restoreTime=${p.requestedLocal}\` — wall clock in ${r.timeZone}, as the operator noted it |`,
    );
    line(
      `| Restore point (UTC, declared by the program) | \`pointInTimeUTC: ${p.declaredUtc}\` (\`restoreTimeLocal\`: ${p.declaredLocal}) |`,
    );
    line(
      `| Conversion check | the drill noted ${p.notedUtc}; ${p.notedUtc === p.declaredUtc ? "the program's conversion agrees" : "**the program's conversion differs**"} |`,
    );
  }
  if (r.lossStatement !== undefined) line(`| Data loss | \`${r.lossStatement}\` |`);
  if (r.tables !== undefined)
    line(
      `| Restored | only ${r.tables.map((t) => `\`${t}\``).join(", ")} (\`ptr.tables\`: a table-level restore); the other tables kept what was written since |`,
    );
  const expectedState =
    r.scenario !== "ptr"
      ? "the state at the nightly backup"
      : r.tables === undefined
        ? "the state at the restore point"
        : "the restored tables at the restore point, the others as just before the loss";
  line(`| Rows expected after recovery | ${r.expectedRows ?? "—"} (${expectedState}) |`);
  line(`| Rows recovered | ${r.recoveredRows ?? "—"} |`);
  line(
    `| Rows lost | ${r.lostRows ?? "—"} (written ${r.scenario === "ptr" ? `after the restore point${r.tables === undefined ? "" : " in the restored tables"}; the reconciliation export lists what was written since; the flawed database's backup, kept for reconciliation, was taken after them` : "after the last nightly backup: the recovery point objective"}) |`,
  );
  line(
    `| Recovery time | ${seconds(r.recoveryMs)} in total; ${seconds(r.dataRecoveredMs)} until the data was restored and verified |`,
  );
  if (r.failure !== undefined) line(`| Failure | ${cell(r.failure)} |`);
  line();

  line("## Data");
  line();
  line(`| stage | ${TABLES.join(" | ")} | total |`);
  line(`|---|${TABLES.map(() => "---:").join("|")}|---:|`);
  for (const s of r.stages)
    line(`| ${s.label} | ${TABLES.map((t) => String(s.counts[t])).join(" | ")} | ${totalRows(s.counts)} |`);
  line();
  for (const c of r.checks) line(`- ${c}`);
  if (r.sequences.length > 0) {
    line(
      `- sequences (expected → recovered; may only move forward — PostgreSQL WAL-logs sequences 32 values ahead): ${r.sequences.join("; ")}`,
    );
  }
  line();

  line("## Timeline");
  line();
  line(`Times: UTC and ${r.timeZone}. Steps marked ✱ are the recovery; the others set up the incident.`);
  line();
  line("| # | step | start (UTC) | start (local) | duration | levers declared | Jobs run |");
  line("|---|---|---|---|---:|---|---|");
  for (const s of r.steps) {
    const jobs = s.jobs.map((j) => `\`${j.name}\` exit ${j.exitCode} (${seconds(j.ms)})`).join("<br>");
    line(
      `| ${s.index}${s.recovery ? " ✱" : ""} | ${cell((s.failed === undefined ? "" : "**FAILED** ") + s.title)} | ${utcText(s.startedAt)} | ` +
        `${humanInZone(s.startedAt, r.timeZone)} | ${seconds(durationMs(s))} | ${cell(s.levers ?? "")} | ${jobs} |`,
    );
  }
  line();
  line(`Recovery time (steps ✱, first start to last end): **${seconds(r.recoveryMs)}**.`);
  line();

  line("## Steps in detail");
  line();
  for (const s of r.steps) {
    line(`### ${s.index}. ${s.title}`);
    line();
    if (s.commands.length > 0) {
      line("```sh");
      for (const c of s.commands) line(c);
      line("```");
      line();
    }
    for (const j of s.jobs)
      line(
        `- Job \`${j.name}\`: \`dr-data ${j.args.join(" ")}\` → exit ${j.exitCode} in ${seconds(j.ms)}: ${cell(j.result)}`,
      );
    for (const n of s.notes) line(`- ${cell(n)}`);
    if (s.failed !== undefined) line(`- **error**: ${cell(s.failed)}`);
    line();
  }

  line("## What is real and what is simulated");
  line();
  line("Real:");
  line();
  line(
    "- the Pulumi program (`program.ts`) run for every step with the stack's committed config plus the operator's `pulumi config` commands above; the drill takes the Jobs, their args and the PTR copy's `pointInTimeUTC` from what it declares;",
  );
  line(
    "- the restore-time conversion (luxon, the stack's zone) and the restore-window check, done by the program;",
  );
  line(
    "- PostgreSQL servers on 127.0.0.1 (the drill's own, started and stopped by it); for `ptr`, a real point-in-time recovery (base backup + archived WAL + `recovery_target_time`);",
  );
  line(
    "- the data tool (`packages/dr-data/src/cli.ts`: backup, restore with its verification and swap, compare), run as a child process with each Job's exact container args.",
  );
  line();
  line("Simulated:");
  line();
  line(
    "- Pulumi resources are recorded by Pulumi's mock runtime, not created: no Azure, AKS or GitHub is touched, so the levers (replicas, maintenance page, approvers) are evidence of what `pulumi up` would apply, not applied;",
  );
  line(
    `- Azure Blob Storage is Azurite; the flexible servers are local servers (${r.environment.PostgreSQL?.split(" on ")[0] ?? "PostgreSQL"}; Azure runs the version the stack declares);`,
  );
  line("- AKS Jobs run as local processes with the same args; only the connection is substituted (below);");
  line(
    `- Azure restores only to points at least 5 minutes old: the drill's plans run with the clock ${r.planClockShift} ahead, so the program's window check accepts a restore point seconds old;`,
  );
  if (r.scenario === "rebuild") {
    line(
      "- the loss of the server is a stop of the local server and the deletion of its data directory; `pulumi refresh` is not run (nothing to refresh offline);",
    );
    line(
      "- the lost server leaves no second database: the program's compare Job checks the rebuilt database against the manifest (per-table row counts and checksums) the nightly backup took in pg_dump's snapshot; the drill also took its own counts and checksums at the backup, before the loss, and compares the rebuilt database with them.",
    );
  } else {
    line(
      "- the expected state is per-table row counts and checksums (the data tool's compare) that the drill took at the restore point, before the later writes.",
    );
  }
  line();
  line("Substitutions made to each Job's environment and args:");
  line();
  for (const s of r.substitutions) line(`- ${s}`);
  if (r.storedBackups.length > 0) {
    line();
    line("Backups written to storage:");
    line();
    for (const b of r.storedBackups) line(`- \`${b}\``);
  }
  line();
  line("## Environment");
  line();
  for (const [k, v] of Object.entries(r.environment)) line(`- ${k}: ${v}`);
  line(`- Rows seeded: ${r.rows}`);
  line(
    "- Timings are wall-clock on this machine: indicative; other work running at the same time makes them noisy.",
  );
  line();
  return out.join("\n");
}
