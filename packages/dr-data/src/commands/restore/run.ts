/**
 * `dr-data restore`: the whole database (a checked swap, restore.ts) or, with `--tables`, those tables' rows
 * merged into the live database (table-restore.ts). Prints one line saying what was done.
 */
import { formatComparison } from "../../compare";
import { restore, restoreFromCopy, type CopyRestoreResult, type RestoreResult } from "../../restore";
import { tableRestore, type TableRestoreResult } from "../../table-restore";
import type { Env, Io } from "../io";
import { restoreRequest } from "./flags";

export async function runRestore(args: string[], env: Env, io: Io): Promise<number> {
  const request = restoreRequest(args, env, io);
  switch (request.kind) {
    case "tables":
      io.out(tablesRestoredLine(await tableRestore(request.options)));
      break;
    case "copy":
      io.out(copyRestoredLines(await restoreFromCopy(request.options)));
      break;
    case "database":
      io.out(databaseRestoredLine(await restore(request.options)));
      break;
    default: {
      const unknown: never = request;
      throw new Error(`unknown restore kind ${JSON.stringify(unknown)}`);
    }
  }
  return 0;
}

/** The restore's line, then the comparison with the copy (equal: a difference is an error, exit 1). */
export function copyRestoredLines(result: CopyRestoreResult): string {
  return `${databaseRestoredLine(result)}\n${formatComparison(result.comparison, { leftLabel: result.database, rightLabel: "copy" })}`;
}

function contentsWords(contents: "verified" | "no manifest" | undefined): string {
  return contents === "verified"
    ? "contents verified against the backup's manifest"
    : "no manifest: contents NOT verified (--allow-unverified)";
}

export function databaseRestoredLine(result: RestoreResult): string {
  return result.status === "already-completed"
    ? `run ${result.runId} already completed (${result.beforeDatabase} exists): nothing done`
    : `restored ${result.blobName} into ${result.database}; previous database kept as ${result.beforeDatabase}; ` +
        contentsWords(result.contents) +
        propertiesSummary(result);
}

function propertiesSummary(r: RestoreResult): string {
  switch (r.properties) {
    case "from backup":
      return (
        "; database-level properties applied from the backup" +
        ((r.skippedForMissingRoles ?? []).length > 0 ? " except those of missing roles (see the log)" : "")
      );
    case "kept": {
      const n = (r.propertiesDifferFromBackup ?? []).length;
      return `; database-level properties kept from the replaced database${n > 0 ? ` (${n} differ from the backup's record, see the log)` : ""}`;
    }
    case "not recorded":
      return "; the backup records no database-level properties: the server's defaults apply";
    default:
      return "";
  }
}

export function tablesRestoredLine(r: TableRestoreResult): string {
  if (r.status === "already-completed") {
    return `run ${r.runId} already completed (${r.beforeSchema} exists): nothing done`;
  }
  const counts = r.tables
    .map(
      (t) =>
        `${t.table}: ${t.rows} rows (${t.inserted} inserted, ${t.updated} updated, ${t.deleted} deleted)`,
    )
    .join("; ");
  return (
    `restored ${r.tables.map((t) => t.table).join(", ")} from ${r.blobName} into ${r.database}; previous ` +
    `rows kept in schema ${r.beforeSchema}; ${counts}; ` +
    contentsWords(r.contents)
  );
}
