/**
 * What the drill asserts about storage: the inspection report, the reconciliation export, every Job's log and
 * the flawed database's backup, each read from the blobs the Jobs wrote.
 */
import { incidentReport, parseBackupArgs, type JobStep } from "@service-dr/dr-data";
import { listBackups, type BackupEntry } from "@service-dr/dr-data/list";
// The report's reader: the package exports no reports (its index stays free of Azure), so from its source.
import {
  objectiveLine,
  parseDrillReport,
  type DrillReport,
} from "../../../packages/dr-data/src/reports/drill-report-shape";
import type { Declared, DeclaredJob } from "../declared";
import type { Evidence } from "../evidence";
import type { LocalServers } from "../servers";
import { TABLES, type RowCounts } from "../workload";

/** The recovery Job of a step, found by its step label (never by searching argv). */
function jobOfStep(d: Declared, step: JobStep): DeclaredJob | undefined {
  return d.jobs.find((j) => j.step === step);
}

async function readBlob(servers: LocalServers, container: string, name: string): Promise<string> {
  const blob = servers.container(container).getBlobClient(name);
  if (!(await blob.exists())) throw new Error(`${container}/${name} is not in storage`);
  return (await blob.downloadToBuffer()).toString("utf8");
}

/** The flawed backup's prefix as the tool reads it from the Job's argv (contract.ts), and what is under it. */
export async function flawedBackups(
  servers: LocalServers,
  d: Declared,
): Promise<{ prefix: string | undefined; backups: BackupEntry[] }> {
  const flawedJob = jobOfStep(d, "backup-flawed");
  const prefix = flawedJob === undefined ? undefined : parseBackupArgs(flawedJob.args.slice(1)).prefix;
  const backups =
    prefix === undefined ? [] : await listBackups({ store: servers.store(d.container), prefix });
  return { prefix, backups };
}

interface InspectReport {
  tables: Array<{ name: string; lost: number | null; added: number | null }>;
}

/** The inspection report names the loss: the deleted table's rows as lost, the later writes as new. */
export async function checkInspection(
  evidence: Evidence,
  servers: LocalServers,
  d: Declared,
  o: { id: string; loss: string },
): Promise<void> {
  if (jobOfStep(d, "inspect") === undefined) throw new Error("the program declared no inspect Job");
  const report = JSON.parse(
    await readBlob(servers, d.container, incidentReport.inspect(o.id, "json")),
  ) as InspectReport;
  await readBlob(servers, d.container, incidentReport.inspect(o.id, "md"));
  const lost = report.tables.filter((t) => (t.lost ?? 0) > 0);
  const deleted = Number(/\((\d+) rows\)$/.exec(o.loss)?.[1] ?? NaN);
  if (lost.length !== 1 || lost[0]!.name !== "app.placements" || lost[0]!.lost !== deleted)
    throw new Error(
      `the inspection should find the ${deleted} deleted rows of app.placements lost, and nothing else; it found: ${lost.map((t) => `${t.name} ${t.lost}`).join(", ") || "none"}`,
    );
  evidence.check(
    `the inspection report (${incidentReport.inspect(o.id, "md")}, before any restore) finds exactly the loss: ${deleted} rows of app.placements only in the copy; ` +
      `written since: ${report.tables
        .filter((t) => (t.added ?? 0) > 0)
        .map((t) => `${t.name} ${t.added}`)
        .join(", ")}`,
  );
}

interface ReconcileSummary {
  tables: Array<{ name: string; added: number; changed: number; file: string | null }>;
  notReconcilable: Array<{ name: string }>;
}

/** `12…40 (29)`, or `none`. */
function idRange(ids: readonly string[]): string {
  return ids.length > 0 ? `${ids[0]}…${ids[ids.length - 1]} (${ids.length})` : "none";
}

/** The ids one table's reconciliation CSV lists, and what is wrong with the file. */
async function exportedIds(
  servers: LocalServers,
  d: Declared,
  o: { id: string; table: string; summary: ReconcileSummary; problems: string[] },
): Promise<string[]> {
  const entry = o.summary.tables.find((x) => x.name === o.table);
  if (entry?.file === null || entry?.file === undefined) return [];
  const [schema, table] = o.table.split(".") as [string, string];
  const csv = await readBlob(servers, d.container, incidentReport.reconcileTable(o.id, schema, table));
  const lines = csv.split("\r\n").filter((l) => l !== "");
  if (!/^id,/.test(lines[0] ?? ""))
    o.problems.push(`${o.table}: the CSV's header does not start with the key: ${lines[0]}`);
  if (!lines.slice(1).every((l) => l.endsWith(",new")))
    o.problems.push(`${o.table}: rows other than new exported`);
  return lines.slice(1).map((l) => l.slice(0, l.indexOf(",")));
}

/** The reconciliation export lists exactly the rows written after the restore point (batch 2), by key. */
export async function checkReconciliation(
  evidence: Evidence,
  servers: LocalServers,
  d: Declared,
  o: { id: string; since: { from: RowCounts; to: RowCounts } },
): Promise<void> {
  const summary = JSON.parse(
    await readBlob(servers, d.container, incidentReport.reconcileSummary(o.id, "json")),
  ) as ReconcileSummary;
  const problems: string[] = [];
  const listed: string[] = [];
  for (const t of TABLES) {
    if (t === "app.audit_log") continue; // no primary key
    const want: string[] = [];
    for (let i = o.since.from[t]; i < o.since.to[t]; i++) want.push(String(i));
    const got = await exportedIds(servers, d, { id: o.id, table: t, summary, problems });
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(`${t}: exported ids ${idRange(got)}, expected ${idRange(want)}`);
    if (want.length > 0) listed.push(`${t} ids ${want[0]}–${want[want.length - 1]}`);
  }
  if (!summary.notReconcilable.some((x) => x.name === "app.audit_log"))
    problems.push("app.audit_log (no primary key) is not listed as not reconcilable");
  if (problems.length > 0) throw new Error(`reconciliation export: ${problems.join("; ")}`);
  evidence.check(
    `the reconciliation export (${incidentReport.reconcilePrefix(o.id)}/, taken before the restore) lists exactly the rows written after the restore point: ` +
      `${listed.join(", ")}; app.audit_log (no primary key) listed as not reconcilable`,
  );
}

/** Every recovery Job that ran wrote its whole output to `incident/<id>/logs/<job>.log` (packages/dr-data/src/job-log.ts). */
export async function checkJobLogs(
  evidence: Evidence,
  servers: LocalServers,
  d: Declared,
  id: string,
): Promise<void> {
  const prefix = `incident/${id}/logs/`;
  const found: string[] = [];
  for await (const b of servers.container(d.container).listBlobsFlat({ prefix })) found.push(b.name);
  const expected = d.jobs.map((j) => `${prefix}${j.name}.log`);
  const missing = expected.filter((name) => !found.includes(name));
  if (missing.length > 0) throw new Error(`Job logs missing from storage: ${missing.join(", ")}`);
  evidence.check(`every recovery Job's full output is in storage: ${expected.join(", ")}`);
}

/**
 * The drill's report as the report Job wrote it to storage (read back as `dr-data status` reads it): every
 * step before the report done with its timings, RPO and RTO measured against the objectives the program
 * declared. Returns the report; its verdict is the caller's (a missed objective is the drill's failure).
 */
export async function checkDrillReport(
  evidence: Evidence,
  servers: LocalServers,
  d: Declared,
): Promise<DrillReport> {
  if (d.drill === undefined) throw new Error("the program declared no drill");
  const name = d.drill.reportBlob;
  const report = parseDrillReport(await readBlob(servers, d.container, name), name);
  const want = d.drill.jobs.filter((j) => j.step !== "report").map((j) => `${j.step}=${j.name}`);
  const got = report.steps.map((s) => `${s.step}=${s.job}`);
  const problems: string[] = [];
  if (JSON.stringify(got) !== JSON.stringify(want))
    problems.push(`steps ${got.join(", ")}, declared ${want.join(", ")}`);
  const untimed = report.steps.filter((s) => s.status !== "done" || s.seconds === null);
  if (untimed.length > 0)
    problems.push(`steps not done or not timed: ${untimed.map((s) => s.step).join(", ")}`);
  const { rpoMinutes, rtoMinutes } = d.drill.objectives;
  if (report.rpo.objectiveMinutes !== rpoMinutes || report.rto.objectiveMinutes !== rtoMinutes)
    problems.push(
      `objectives RPO ${report.rpo.objectiveMinutes}, RTO ${report.rto.objectiveMinutes} min; declared ${rpoMinutes}, ${rtoMinutes}`,
    );
  if (Date.parse(report.startedAt) !== Date.parse(d.drill.startedAt))
    problems.push(`started ${report.startedAt}, declared ${d.drill.startedAt}`);
  if (problems.length > 0) throw new Error(`the drill report ${name}: ${problems.join("; ")}`);
  evidence.check(
    `the drill report is in storage (${d.container}/${name}): ${report.steps.map((s) => `${s.step} ${s.seconds} s`).join(", ")}; ` +
      `${objectiveLine("RPO", report.rpo)}; ${objectiveLine("RTO", report.rto)}; result ${report.result}`,
  );
  return report;
}
