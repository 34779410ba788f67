/**
 * What the drill asserts about the recovered data: the live database against the drill's own record of the
 * reference state (rows and content checksum, table by table), and what a table-level restore keeps aside.
 */
import type { Declared } from "../declared";
import type { Evidence } from "../evidence";
import type { LocalServers } from "../servers";
import { checkAgainst, type Snapshot } from "../workload";
import { flawedBackups } from "./storage";

/** Where a table-level restore keeps the chosen tables' previous rows: `dr_before_<run id>`. */
const KEPT_PREFIX = "dr_before_";

/** The relations of a recovered database without what a table-level restore kept aside. */
export function withoutKept(recovered: Snapshot): Snapshot {
  return new Map([...recovered].filter(([n]) => !n.startsWith(KEPT_PREFIX)));
}

/** `before` with the `chosen` tables taken from `restored`. */
export function mixed(before: Snapshot, restored: Snapshot, chosen: readonly string[]): Snapshot {
  return new Map(
    [...before].map(([name, rel]) => [name, chosen.includes(name) ? (restored.get(name) ?? rel) : rel]),
  );
}

export function restoredState(tables: readonly string[] | undefined): string {
  return tables === undefined
    ? "every table of the live database equals its state at the restore point"
    : `${tables.join(", ")} (restored: the deleted rows are back) equal${tables.length === 1 ? "s" : ""} its state at the restore point, ` +
        `and every other table still holds the rows written since (equals its state just before the loss)`;
}

/**
 * A table-level restore keeps the chosen tables' previous rows in dr_before_<run id> (the flawed state):
 * checked on their own, and left out of the comparison with the reference.
 */
export function checkKeptPreviousRows(
  evidence: Evidence,
  tables: readonly string[],
  flawedState: Snapshot,
  recovered: Snapshot,
): void {
  const kept = [...recovered.keys()].filter((n) => n.startsWith(KEPT_PREFIX));
  const flawedRows = tables.map((t) => `${t} ${flawedState.get(t)?.rows ?? "?"}`).join(", ");
  const keptRows = tables
    .map((t) => `${t} ${recovered.get(kept.find((k) => k.endsWith(`.${t}`)) ?? "")?.rows ?? "?"}`)
    .join(", ");
  if (keptRows !== flawedRows || kept.length !== tables.length)
    throw new Error(
      `the previous rows kept by the table-level restore (${kept.join(", ")}: ${keptRows}) are not the flawed tables' (${flawedRows})`,
    );
  evidence.check(
    `the restored tables' previous rows (as flawed: ${flawedRows} rows) are kept in ${kept.join(", ")}`,
  );
}

/**
 * The live database against the reference, and the flawed backup in storage: both are recorded as checks
 * before the step fails, so the report shows every problem, not only the first. Returns the sequences.
 */
export async function checkLiveAgainstReference(
  evidence: Evidence,
  servers: LocalServers,
  d: Declared,
  o: { reference: Snapshot; recovered: Snapshot; tables: readonly string[] | undefined },
): Promise<readonly string[]> {
  const check = checkAgainst(o.reference, withoutKept(o.recovered));
  const flawed = await flawedBackups(servers, d);
  const problems = [...check.problems];
  if (flawed.backups.length === 0)
    problems.push(`no flawed-database backup under ${flawed.prefix ?? "(no flawed backup Job declared)"}`);
  const what = restoredState(o.tables);
  evidence.check(
    check.tablesEqual ? `${what} (rows and content checksum)` : `NOT: ${what}: ${check.problems.join("; ")}`,
    flawed.backups.length > 0
      ? `the flawed database's backup is in storage: ${flawed.backups.map((b) => b.name).join(", ")}`
      : `the flawed database's backup is NOT in storage`,
  );
  if (problems.length > 0) throw new Error(`data check failed: ${problems.join("; ")}`);
  return check.sequences;
}

/** The rebuilt database against its state at the nightly backup; recorded either way, thrown when unequal. */
export function checkRebuilt(evidence: Evidence, expected: Snapshot, recovered: Snapshot): readonly string[] {
  const check = checkAgainst(expected, recovered);
  evidence.check(
    check.tablesEqual
      ? "every table of the rebuilt database equals its state at the nightly backup (rows and content checksum, taken by the drill before the server was lost)"
      : `the rebuilt database does NOT equal its state at the nightly backup: ${check.problems.join("; ")}`,
  );
  if (!check.tablesEqual) throw new Error(`data check failed: ${check.problems.join("; ")}`);
  return check.sequences;
}

/**
 * A scheduled drill reads live and never writes to it: the live database after the drill equals its state
 * before (rows and content checksum, table by table). Recorded either way, thrown when unequal.
 */
export function checkLiveUnchanged(evidence: Evidence, before: Snapshot, after: Snapshot): void {
  const check = checkAgainst(before, after);
  evidence.check(
    check.tablesEqual
      ? "every table of the live database after the drill equals its state before it (rows and content checksum): the drill wrote nothing live"
      : `the live database CHANGED during the drill: ${check.problems.join("; ")}`,
  );
  if (!check.tablesEqual) throw new Error(`the drill changed live data: ${check.problems.join("; ")}`);
}
