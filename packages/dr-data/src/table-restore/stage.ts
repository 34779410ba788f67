/**
 * Step 5: each table's rows into an unlogged staging table (the data block only, data-block.ts), then their row
 * counts and checksums against the manifest.
 */
import path from "node:path";
import type { Client } from "pg";
import { summarize, type Relation } from "../compare";
import { VerificationError } from "../errors";
import type { Manifest } from "../manifest";
import { copyReader, type CopyReader } from "../manifest-check";
import { childEnv } from "../pgargs";
import { stagingMarker } from "../restore-steps";
import type { TableShape } from "../row-diff";
import { loadDataBlock } from "./data-block";
import { qualifiedName, quoteIdent, quoteLiteral } from "../sql";
import { tableDataCandidates } from "./locate";
import { dropStaging } from "./record";
import { type LocatedTables, type TableRun, tableText } from "./types";

/** A fresh staging schema marked as this run's, with an unlogged copy of each chosen table loaded from the archive. */
export async function stageTables(run: TableRun, target: Client, found: LocatedTables): Promise<void> {
  const { o, staging } = run;
  await dropStaging(target, staging, o.runId, run.log);
  await target.query(`CREATE SCHEMA ${quoteIdent(staging)}`);
  await target.query(
    `COMMENT ON SCHEMA ${quoteIdent(staging)} IS ${quoteLiteral(stagingMarker("schema", o.runId))}`,
  );
  for (const [i, t] of o.tables.entries()) {
    const stageName = qualifiedName(staging, run.stageNames[i]!);
    await target.query(
      // INCLUDING GENERATED: generated columns are computed on load, as in the dump's source, so a staging
      // table's checksum is comparable with the manifest's and with the live table's after the merge.
      `CREATE UNLOGGED TABLE ${stageName} (LIKE ${qualifiedName(t.schema, t.name)} INCLUDING GENERATED)`,
    );
    const entry = tableDataCandidates(found.toc, t)[0];
    const columns = found.details.get(tableText(t));
    if (entry === undefined || columns === undefined)
      throw new Error(`${tableText(t)} was located, then lost`);
    await loadDataBlock(target, {
      archive: found.archive,
      listFile: path.join(run.tmp, `list-${i + 1}`),
      entryLine: entry.line,
      target: stageName,
      table: t,
      expectedColumns: columns.filter((c) => !c.generated).map((c) => c.name),
      env: childEnv(process.env, run.targetConn, { applicationName: "dr-data-table-restore" }),
      binDir: o.binDir,
    });
  }
}

/** The staged rows against the manifest's counts and checksums (when the backup has one). */
export async function verifyStagedTables(run: TableRun, target: Client, found: LocatedTables): Promise<void> {
  const { manifest } = run;
  if (manifest !== undefined) {
    const reader = await copyReader(run.targetConn, {
      applicationName: "dr-data-table-restore",
      binDir: run.o.binDir,
    });
    const summaries = await stagingSummaries(target, run.staging, run.stageNames, found.shapes, {
      manifest,
      reader,
    });
    checkStagingAgainstManifest(manifest, found.shapes, summaries);
  }
  run.log(
    `restore --tables: staged ${run.wanted.join(", ")}${manifest === undefined ? " (no manifest: contents not verified)" : ", verified against the manifest"}`,
  );
}

export function stagingRelation(staging: string, name: string, shape: TableShape): Relation {
  return { schema: staging, name, kind: "table", columns: shape.columnTypes };
}

/**
 * Each staging table summarized the way its manifest entry was taken: from COPY text when the entry says
 * `method: "copy"` (the staging table is `LIKE` the live one, so it names the same columns as pg_dump's COPY),
 * server-side otherwise.
 */
export async function stagingSummaries(
  c: Client,
  staging: string,
  names: readonly string[],
  shapes: readonly TableShape[],
  by: { readonly manifest: Manifest; readonly reader: CopyReader },
) {
  const out = [];
  for (const [i, n] of names.entries()) {
    const shape = shapes[i]!;
    const rel = stagingRelation(staging, n, shape);
    const entry = by.manifest.relations.find((r) => r.name === `${shape.schema}.${shape.name}`);
    out.push(entry?.method === "copy" ? await by.reader.checksum(c, rel) : await summarize(c, rel));
  }
  return out;
}

export function checkStagingAgainstManifest(
  manifest: Manifest,
  shapes: readonly TableShape[],
  summaries: readonly { rows: number; checksum: string }[],
): void {
  const problems: string[] = [];
  for (const [i, s] of shapes.entries()) {
    const name = `${s.schema}.${s.name}`;
    const m = manifest.relations.find((r) => r.name === name && r.kind === "table");
    if (m === undefined) {
      problems.push(`${name}: not in the backup's manifest`);
      continue;
    }
    if (m.columns !== s.columnTypes) {
      problems.push(`${name}: columns (${m.columns}) in the backup, (${s.columnTypes}) in live`);
      continue;
    }
    const got = summaries[i]!;
    if (got.rows !== m.rows)
      problems.push(`${name}: ${got.rows} rows loaded, the manifest records ${m.rows}`);
    else if (got.checksum !== m.checksum)
      problems.push(`${name}: the loaded rows' checksum differs from the manifest's`);
  }
  if (problems.length > 0) {
    throw new VerificationError(
      `the staged rows do not match the backup's manifest; nothing restored: ${problems.join("; ")}`,
    );
  }
}
