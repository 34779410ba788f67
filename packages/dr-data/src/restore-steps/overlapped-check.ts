/**
 * The contents check, started while pg_restore still runs: each table the manifest summarized from the dump's
 * COPY text (`method: "copy"`) is read back and hashed as soon as pg_restore reports its `TABLE DATA` entry
 * finished, while the other tables load and the indexes build. Whatever is not checked by the time pg_restore
 * exits (sequences, materialized views, server-checksummed tables, the database-level record, and tables whose
 * early read failed) is checked after it, and the swap still waits for the whole comparison.
 *
 * Why a table's data is final once its entry finishes: in a parallel restore each entry runs in its own
 * transaction, committed before pg_restore reports it finished (pg_backup_archiver.c `mark_restore_job_done`),
 * and the later entries of an ordinary archive write no table rows: indexes, constraints, rules, policies, and
 * triggers, each created after its own table's data. Three kinds of entry can write rows later, and an archive
 * holding any of them is checked after pg_restore only (`earlyCheckable` returns nothing): an `EVENT TRIGGER`
 * (it fires on the DDL of the later entries, e.g. a DDL audit table), `MATERIALIZED VIEW DATA` (its refresh can
 * call a function that writes, and fires event triggers), and a `TRIGGER` on a table without a `TABLE DATA`
 * entry (a partitioned table: its trigger is created during the data phase and fires for partitions loaded
 * after it). A serial restore (`--jobs 1`) reports no finished entries: everything is checked after it.
 *
 * Why it cannot stall the restore: every table is read by its own psql session in a transaction holding one
 * ACCESS SHARE lock and waiting for nothing else, so it can delay pg_restore's `ALTER TABLE … ADD PRIMARY KEY`
 * of that table by the read's length but forms no lock cycle. One table is read at a time, so the restore keeps
 * the CPUs it asked for but one psql, and when pg_restore exits only that one read is waited for.
 *
 * Row-level security: the check reads with `row_security = off`, which fails on a table whose policies apply
 * to the restoring role (FORCE ROW LEVEL SECURITY on a table it owns). Such a table fails the check after
 * pg_restore, where its policies exist; read early, before its `POLICY` and `ROW SECURITY` entries ran, it may
 * pass. It is compared all the same: only whether the restore refuses it can depend on the timing.
 */
import type { Manifest } from "../manifest";
import type { RelationSummary } from "../compare";
import type { PgConnection } from "../connection";
import { findTableData, finishedDataEntry, parseTableData, type TocDataEntry } from "../archive";
import { summarizeForManifest } from "../manifest-check";
import type { Log } from "../progress";

export interface OverlappedCheckOptions {
  readonly applicationName: string;
  readonly binDir?: string | undefined;
  readonly log: Log;
}

export class OverlappedCheck {
  private readonly queue: string[] = [];
  private readonly checked = new Map<string, RelationSummary>();
  private running: Promise<void> | undefined;
  private stopped = false;

  /**
   * @param byDumpId the archive's `TABLE DATA` dump ids of the manifest's COPY-summarized tables, each with its
   *   qualified name (`earlyCheckable`).
   */
  constructor(
    private readonly conn: PgConnection,
    private readonly manifest: Manifest,
    private readonly byDumpId: ReadonlyMap<number, string>,
    private readonly o: OverlappedCheckOptions,
  ) {}

  /** Feeds one line of pg_restore's stderr: a finished `TABLE DATA` entry queues its table. */
  onLine(line: string): void {
    const id = finishedDataEntry("pg_restore", line);
    const name = id === undefined ? undefined : this.byDumpId.get(id);
    if (name === undefined || this.stopped) return;
    this.queue.push(name);
    this.running ??= this.drain();
  }

  /**
   * Stops taking tables and waits for the read in progress; returns the summaries taken. The caller checks
   * every other relation and compares the whole against the manifest.
   */
  async finish(): Promise<ReadonlyMap<string, RelationSummary>> {
    this.stopped = true;
    await this.running;
    return this.checked;
  }

  /** Reads the queued tables one at a time, until none is queued or `finish` is called. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = new Set(this.queue.splice(0, 1));
      try {
        const summary = await summarizeForManifest(this.conn, this.manifest, {
          jobs: 1,
          applicationName: this.o.applicationName,
          binDir: this.o.binDir,
          only: batch,
        });
        for (const name of batch) {
          const s = summary.relations.get(name);
          if (s !== undefined) this.checked.set(name, s);
        }
      } catch (err) {
        // Not a verdict: these tables are checked again after pg_restore, where a failure does refuse the swap.
        this.o.log(
          `restore: early check of ${[...batch].join(", ")} left for after pg_restore: ${String(err)}`,
        );
      }
    }
    this.running = undefined;
  }
}

/**
 * The dump ids of the `TABLE DATA` entries of the manifest's COPY-summarized tables. A qualified name is split
 * at each dot in turn (schema and table names may hold dots); a name whose entry is not found exactly once is
 * left out, and so checked after pg_restore.
 */
export function earlyCheckable(manifest: Manifest, toc: string): Map<number, string> {
  const entries = parseTableData(toc);
  const out = new Map<number, string>();
  if (writesRowsLate(toc, entries)) return out;
  for (const rel of manifest.relations) {
    if (rel.kind !== "table" || rel.method !== "copy") continue;
    const found = new Set<string>();
    for (let i = rel.name.indexOf("."); i > 0; i = rel.name.indexOf(".", i + 1)) {
      const entry = findTableData(entries, rel.name.slice(0, i), rel.name.slice(i + 1));
      if (entry !== undefined) found.add(entry.line);
    }
    const id = found.size === 1 ? /^(\d+);/.exec([...found][0]!)?.[1] : undefined;
    if (id !== undefined) out.set(Number(id), rel.name);
  }
  return out;
}

/**
 * Whether the archive has an entry that can write table rows after the data entries (see the file's comment):
 * an event trigger, a materialized view's data, or a trigger on a table that has no `TABLE DATA` entry. A
 * `TRIGGER` line reads `<id>; <catalog> <oid> TRIGGER <schema> <table> <trigger> <owner>`.
 */
export function writesRowsLate(toc: string, data: readonly TocDataEntry[]): boolean {
  const withData = new Set(data.map((e) => e.tag.slice(0, e.tag.lastIndexOf(" "))));
  for (const line of toc.split("\n")) {
    const m = /^\d+; \d+ \d+ (EVENT TRIGGER|MATERIALIZED VIEW DATA|TRIGGER) (.*)$/.exec(line);
    if (m === null) continue;
    if (m[1] !== "TRIGGER") return true;
    // `schema table trigger owner`: the table is what stands before the trigger's name.
    const words = m[2]!.split(" ");
    if (!withData.has(words.slice(0, -2).join(" "))) return true;
  }
  return false;
}
