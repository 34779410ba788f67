/**
 * The run's record (the comment of `dr_before_<run id>`) and the staging schema's lifecycle: read the record, drop a
 * staging schema only when it carries this run's marker.
 */
import type { Client } from "pg";
import { tableRestoreBeforeSchema } from "../naming";
import type { Log } from "../progress";
import { stagingMarker } from "../restore-steps";
import { quoteIdent } from "../sql";
import type { TableRestoreRecord } from "./types";

export async function readRecord(
  c: Client,
  schema: string,
): Promise<{ exists: boolean; record?: TableRestoreRecord | undefined }> {
  const r = await c.query<{ c: string | null }>(
    "SELECT pg_catalog.obj_description(oid, 'pg_namespace') AS c FROM pg_catalog.pg_namespace WHERE nspname = $1",
    [schema],
  );
  if (r.rowCount !== 1) return { exists: false };
  try {
    const parsed = JSON.parse(r.rows[0]!.c ?? "") as Partial<TableRestoreRecord>;
    if (parsed.tool === "dr-data-table-restore/1" && Array.isArray(parsed.tables)) {
      return { exists: true, record: parsed as TableRestoreRecord };
    }
  } catch {
    // not a record
  }
  return { exists: true };
}

/** Reads the record of a completed table-level restore run from the live database (compare --tables). */
export async function readTableRestoreRecord(
  c: Client,
  runId: string,
): Promise<TableRestoreRecord | undefined> {
  return (await readRecord(c, tableRestoreBeforeSchema(runId))).record;
}

/** Drops the staging schema if this run made it (its marker); refuses one that is someone else's. */
export async function dropStaging(c: Client, schema: string, runId: string, log: Log): Promise<void> {
  const r = await c.query<{ c: string | null }>(
    "SELECT pg_catalog.obj_description(oid, 'pg_namespace') AS c FROM pg_catalog.pg_namespace WHERE nspname = $1",
    [schema],
  );
  if (r.rowCount !== 1) return;
  if (r.rows[0]!.c !== stagingMarker("schema", runId)) {
    throw new Error(
      `the schema ${schema} exists and was not created by run ${runId} of this tool; not touching it`,
    );
  }
  log(`restore --tables: dropping the staging schema ${schema}`);
  await c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
}
