/**
 * The merge's view of the chosen tables (their live, staging and partner names, their columns) and the lock it
 * takes.
 */
import type { Client } from "pg";
import type { TableShape } from "../row-diff";
import type { TableName } from "./table-list";
import { qualifiedName, quoteIdent } from "../sql";
import type { ForeignKey } from "./foreign-keys";
import { type ColumnDetail, type TableRestoreRecord, tableText } from "./types";

export interface Plan {
  readonly tables: readonly TableName[];
  readonly shapes: readonly TableShape[];
  readonly details: ReadonlyMap<string, ColumnDetail[]>;
  readonly staging: string;
  readonly stageNames: readonly string[];
  readonly before: string;
  readonly recordBase: Omit<TableRestoreRecord, "restoredAt" | "results" | "sequences">;
  readonly lockTimeoutSeconds: number;
}

/** The merge's view of the chosen tables: their index, live and staging names, and their partners' names. */
export class Merge {
  readonly index: ReadonlyMap<string, number>;

  constructor(
    readonly c: Client,
    readonly p: Plan,
    readonly fks: readonly ForeignKey[],
  ) {
    this.index = new Map(p.tables.map((t, i) => [tableText(t), i]));
  }

  live(i: number): string {
    return qualifiedName(this.p.tables[i]!.schema, this.p.tables[i]!.name);
  }

  stage(i: number): string {
    return qualifiedName(this.p.staging, this.p.stageNames[i]!);
  }

  /** Where a table's rows come from after the restore (a FROM item): its staging copy when restored, else itself. */
  source(schema: string, table: string, partitioned: boolean): string {
    const i = this.index.get(fkKey(schema, table));
    if (i !== undefined) return this.stage(i);
    return `${partitioned ? "" : "ONLY "}${qualifiedName(schema, table)}`;
  }

  columns(i: number): ColumnDetail[] {
    const name = tableText(this.p.tables[i]!);
    const columns = this.p.details.get(name);
    if (columns === undefined) throw new Error(`no column details for ${name}`);
    return columns;
  }
}

export const fkKey = (schema: string, table: string) => `${schema}.${table}`;

export type MergeCounts = { deleted: number; updated: number; inserted: number };

export const LOCK_TIMEOUT_SECONDS = 120;

export async function lockTables(c: Client, list: string, mode: string, seconds: number): Promise<void> {
  try {
    await c.query(`LOCK TABLE ${list} IN ${mode} MODE`);
  } catch (cause) {
    if ((cause as { code?: unknown }).code === "55P03") {
      throw new Error(
        `could not lock ${list} within ${seconds} s (another session holds a conflicting lock: ` +
          `stop the writers, e.g. maintenance mode, and run again); nothing was changed`,
        { cause },
      );
    }
    throw cause;
  }
}

export function pkMatch(pk: readonly string[]): string {
  return pk.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(" AND ");
}
