/**
 * `compare --tables s.t,…`: after a table-level restore, the chosen tables of the live database (left) must
 * equal the copy they were restored from (right: the PTR copy) — row counts, checksums and columns, exactly as
 * `compare` checks them — while the other tables are listed for information only: they kept the rows written
 * since the restore point, so they are expected to differ from the copy. That the restore wrote no other table
 * is checked inside its own transaction (packages/dr-data/src/table-restore.ts); with `--run-id`, the run's record in the live
 * database must exist and name exactly these tables.
 */
import type { ClientProgramOptions } from "./proc";
import { containerClient, type BlobStoreSettings } from "./blobstore";
import { compare, type CompareResult, type RelationComparison, type RelationSummary } from "./compare";
import { manifestDifferences, readManifest } from "./manifest";
import { summarizeForManifest } from "./manifest-check";
import { withClient, type PgConnection } from "./connection";
import { VerificationError } from "./errors";
import { formatTable } from "./list";
import { readTableRestoreRecord, tableText, type TableName, type TableRestoreRecord } from "./table-restore";

export interface CompareTablesOptions extends ClientProgramOptions {
  readonly left: PgConnection;
  /** The copy; or, with `runId`, `manifest`: the manifest of the backup the run restored from. */
  readonly right: PgConnection | { readonly manifest: BlobStoreSettings };
  readonly tables: readonly TableName[];
  readonly runId?: string | undefined;
  readonly jobs?: number | undefined;
}

export interface CompareTablesResult {
  /** The chosen tables are all equal (and the record, when asked for, names them). */
  readonly equal: boolean;
  readonly chosen: RelationComparison[];
  readonly others: RelationComparison[];
  readonly record?: TableRestoreRecord | undefined;
  /** What the chosen tables were compared with. */
  readonly against: "the copy" | "the backup's manifest";
}

export async function compareTables(o: CompareTablesOptions): Promise<CompareTablesResult> {
  const wanted = o.tables.map(tableText);
  let record: TableRestoreRecord | undefined;
  if (o.runId !== undefined) {
    const runId = o.runId;
    record = await withClient(o.left, (c) => readTableRestoreRecord(c, runId), "dr-data-compare");
    if (record === undefined) {
      throw new VerificationError(`no table-level restore run ${runId} has completed in ${o.left.database}`);
    }
    if ([...record.tables].sort().join(",") !== [...wanted].sort().join(",")) {
      throw new VerificationError(
        `run ${runId} restored ${record.tables.join(", ")}, not ${wanted.join(", ")}`,
      );
    }
  }
  if ("manifest" in o.right) {
    if (record === undefined)
      throw new VerificationError("comparing with the backup's manifest needs --run-id");
    return againstManifest(o.left, o.right.manifest, record, wanted, o.jobs ?? 2, o.binDir);
  }
  const all: CompareResult = await compare({ left: o.left, right: o.right, jobs: o.jobs, log: o.log });
  const chosen = wanted.map(
    (n) => all.relations.find((r) => r.name === n) ?? { name: n, differences: ["missing on both sides"] },
  );
  // The restores' own schemas (previous rows, staging) are not part of the application's data.
  const others = all.relations.filter(
    (r) => !wanted.includes(r.name) && !/^dr_(before|restore)_/.test(r.name),
  );
  return {
    equal: chosen.every((r) => r.differences.length === 0),
    chosen,
    others,
    record,
    against: "the copy",
  };
}

/**
 * The chosen tables against the manifest of the backup the run restored from (the record names it; the
 * manifest's bytes must have the sha256 the run recorded): for when the PTR copy is gone. Other tables are not
 * looked at.
 */
async function againstManifest(
  live: PgConnection,
  store: BlobStoreSettings,
  record: TableRestoreRecord,
  wanted: readonly string[],
  jobs: number,
  binDir: string | undefined,
): Promise<CompareTablesResult> {
  if (record.manifestSha256 === null) {
    throw new VerificationError(`run ${record.runId} restored from ${record.blob}, which has no manifest`);
  }
  const { manifest } = await readManifest(containerClient(store), record.blob, record.manifestSha256);
  // Each table summarized the way the manifest took it (COPY text or server-side).
  const summaries = (
    await summarizeForManifest(live, manifest, {
      jobs,
      applicationName: "dr-data-compare",
      binDir,
      only: new Set(wanted),
    })
  ).relations;
  const chosen = wanted.map((name): RelationComparison => {
    const m = manifest.relations.find((r) => r.name === name);
    const right: RelationSummary | undefined =
      m === undefined ? undefined : { kind: m.kind, columns: m.columns, rows: m.rows, checksum: m.checksum };
    const left = summaries.get(name);
    // The manifest's rule: columns by name for a /5 manifest, as one ordered text for older ones.
    return { name, left, right, differences: manifestDifferences(left, m, manifest.tool) };
  });
  return {
    equal: chosen.every((r) => r.differences.length === 0),
    chosen,
    others: [],
    record,
    against: "the backup's manifest",
  };
}

export function formatCompareTables(
  r: CompareTablesResult,
  o: { all?: boolean; leftLabel: string; rightLabel: string },
): string {
  const cell = (x: RelationComparison, side: "left" | "right") => {
    const s = x[side];
    return s === undefined ? "-" : s.kind === "sequence" ? s.checksum : String(s.rows);
  };
  const rows = [
    ...r.chosen.map((x) => [
      x.name,
      "restored",
      cell(x, "left"),
      cell(x, "right"),
      x.differences.length === 0 ? "same" : x.differences.join("; "),
    ]),
    ...r.others
      .filter((x) => (o.all ?? false) || x.differences.length > 0)
      .map((x) => [
        x.name,
        "not restored",
        cell(x, "left"),
        cell(x, "right"),
        x.differences.length === 0 ? "same" : `${x.differences.join("; ")} (not checked)`,
      ]),
  ];
  const bad = r.chosen.filter((x) => x.differences.length > 0).length;
  const others = r.others.filter((x) => x.differences.length > 0).length;
  const verdict = r.equal
    ? `compare --tables: ${r.chosen.length} restored tables equal ${r.against}` +
      (r.record === undefined
        ? ""
        : `; run ${r.record.runId} wrote no other table (checked in its transaction)`) +
      (r.against === "the copy"
        ? `; ${others} other relations differ from the copy (not restored, not checked)`
        : "")
    : `compare --tables: ${bad} of ${r.chosen.length} restored tables differ from ${r.against}`;
  return `${formatTable(["relation", "", `${o.leftLabel} rows/value`, `${o.rightLabel} rows/value`, "result"], rows)}\n${verdict}`;
}
