/**
 * The shapes one table-level restore run shares: its options, its result and record, and the run its steps pass
 * along.
 */
import type { ContainerClient } from "@azure/storage-blob";
import type { TocDataEntry } from "../archive";
import type { BlobStoreSettings } from "../blobstore";
import type { PgConnection } from "../connection";
import type { Manifest } from "../manifest";
import type { ClientProgramOptions } from "../proc";
import type { Log } from "../progress";
import type { RunRecord } from "../restore";
import { type ResolvedBackup, type RestoreSource } from "../restore-steps";
import type { TableShape } from "../row-diff";
import type { TableName } from "./table-list";

export function tableText(t: TableName): string {
  return `${t.schema}.${t.name}`;
}

export interface TableRestoreOptions extends ClientProgramOptions {
  /** The server; its `database` is the maintenance database (the advisory lock shared with `restore`). */
  readonly connection: PgConnection;
  readonly store: BlobStoreSettings;
  readonly from: RestoreSource;
  /** The live database. Default: the backup's source database. */
  readonly database?: string | undefined;
  readonly sourceDatabase?: string | undefined;
  readonly runId: string;
  readonly tables: readonly TableName[];
  /** Restore a backup without a manifest (its staged rows cannot be verified), as `restore --allow-unverified`. */
  readonly allowUnverified?: boolean | undefined;
  readonly workDir?: string | undefined;
  /** How long the transaction waits for its table locks before giving up (nothing changed). Default 120. */
  readonly lockTimeoutSeconds?: number | undefined;
}

export interface RestoredTable {
  readonly table: string;
  /** Rows in the backup (= in the table after the restore). */
  readonly rows: number;
  readonly deleted: number;
  readonly updated: number;
  readonly inserted: number;
  /** Where its previous rows are kept. */
  readonly before: string;
}

export interface SequenceAdvance {
  readonly sequence: string;
  readonly from: string;
  readonly to: string;
}

/** The comment of `dr_before_<run id>`: which blob and tables the run restored. */
export interface TableRestoreRecord extends RunRecord {
  readonly tool: "dr-data-table-restore/1";
  readonly tables: readonly string[];
  readonly results: readonly RestoredTable[];
  readonly sequences: readonly SequenceAdvance[];
}

export interface TableRestoreResult {
  readonly status: "restored" | "already-completed";
  readonly runId: string;
  readonly database: string;
  readonly beforeSchema: string;
  readonly blobName: string;
  readonly tables: readonly RestoredTable[];
  readonly sequences: readonly SequenceAdvance[];
  readonly contents?: "verified" | "no manifest" | undefined;
}

/** The name of a table's copy in `dr_before_<run id>`: `<schema>.<table>` (one quoted identifier). */
export function beforeTableName(t: TableName): string {
  return tableText(t);
}

/** One table-level restore run: what the steps below share. */
export interface TableRun {
  readonly o: TableRestoreOptions;
  readonly log: Log;
  /** The chosen tables as `schema.name`. */
  readonly wanted: readonly string[];
  readonly container: ContainerClient;
  readonly backup: ResolvedBackup;
  /** The live database the tables are merged into. */
  readonly database: string;
  readonly targetConn: PgConnection;
  readonly before: string;
  readonly staging: string;
  /** `t1`, `t2`, …: the staging copies of the chosen tables, in their order. */
  readonly stageNames: readonly string[];
  readonly manifest: Manifest | undefined;
  readonly tmp: string;
}

/** What the archive and the live database say about the chosen tables. */
export interface LocatedTables {
  readonly archive: string;
  readonly toc: readonly TocDataEntry[];
  readonly shapes: readonly TableShape[];
  readonly details: ReadonlyMap<string, ColumnDetail[]>;
}

export interface ColumnDetail {
  readonly name: string;
  readonly generated: boolean;
  readonly identityAlways: boolean;
  /** The sequence feeding it (serial or identity), schema-qualified and quoted, or null. */
  readonly sequence: string | null;
}
