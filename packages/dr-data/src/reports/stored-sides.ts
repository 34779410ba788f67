/**
 * The inspection's report (`inspect/report.json`, inspect.ts InspectResult) and the reconciliation's summary
 * (`reconcile/summary.json`, reconcile.ts ReconcileResult) as the incident report reads them back from storage.
 * The blobs sit in a store others can write to, and the incident report is written once and never again: a file
 * that is truncated, hand-edited or from another tool must stop the report with every wrong field named, rather
 * than turn into zeros in the evidence of the post-DR review. Only the fields the report reads are checked.
 * A small explicit validator rather than zod: this package runs in the Jobs' image and does not depend on zod.
 */
import type { InspectResult } from "../inspect";
import type { ReconcileResult } from "../reconcile";

/** What the incident report reads of an inspection. */
export interface StoredInspection {
  readonly restoreTime: string | null;
  /** The inspection's totals but `withoutKey`, which the report does not use. */
  readonly totals: Omit<InspectResult["totals"], "withoutKey">;
}

/** What the incident report reads of a reconciliation. */
export interface StoredReconciliation {
  readonly restoreTime: string | null;
  readonly tables: ReadonlyArray<{
    readonly added: number;
    readonly changed: number;
    readonly lost: number;
    readonly file: string | null;
  }>;
  readonly notReconcilable: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

// Typed by the results the commands write, so a new version of either fails to compile here.
const INSPECT_TOOL: InspectResult["tool"] = "dr-data-inspect/1";
const RECONCILE_TOOL: ReconcileResult["tool"] = "dr-data-reconcile/1";

/** A received value as an error shows it: JSON, cut short. */
function received(v: unknown): string {
  if (v === undefined) return "nothing";
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Reads fields and collects every problem, so that one error names them all at once. */
class Fields {
  readonly problems: string[] = [];

  private wrong(path: string, expected: string, v: unknown): void {
    this.problems.push(`${path}: expected ${expected}, received ${received(v)}`);
  }

  object(v: unknown, path: string): Readonly<Record<string, unknown>> {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    this.wrong(path, "an object", v);
    return {};
  }

  list(v: unknown, path: string): readonly unknown[] {
    if (Array.isArray(v)) return v;
    this.wrong(path, "an array", v);
    return [];
  }

  exactly(v: unknown, path: string, expected: string): void {
    if (v !== expected) this.wrong(path, JSON.stringify(expected), v);
  }

  /** Row and table counts: a negative or fractional count would make the sums lie. */
  count(v: unknown, path: string): number {
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
    this.wrong(path, "a whole number >= 0", v);
    return 0;
  }

  text(v: unknown, path: string): string {
    if (typeof v === "string") return v;
    this.wrong(path, "a string", v);
    return "";
  }

  textOrNull(v: unknown, path: string): string | null {
    if (v === null || typeof v === "string") return v;
    this.wrong(path, "a string or null", v);
    return null;
  }

  /** The restore point becomes the report's RPO start: it must be an instant, not any string. */
  instantOrNull(v: unknown, path: string): string | null {
    if (v === null) return null;
    if (typeof v === "string" && !Number.isNaN(Date.parse(v))) return v;
    this.wrong(path, "an ISO 8601 instant or null", v);
    return null;
  }
}

/** Throws, naming the blob, the tool that should have written it and every wrong field. */
function refuse(f: Fields, what: string, where: string, tool: string): void {
  if (f.problems.length === 0) return;
  throw new Error(
    `the ${what} ${where} is not one ${tool} wrote: ${f.problems.join("; ")}; ` +
      "the incident report was not written",
  );
}

/** An inspection's report read from `where`, checked field by field. */
export function parseStoredInspection(raw: unknown, where: string): StoredInspection {
  const f = new Fields();
  const r = f.object(raw, "(the document)");
  f.exactly(r.tool, "tool", INSPECT_TOOL);
  const restoreTime = f.instantOrNull(r.restoreTime, "restoreTime");
  const t = f.object(r.totals, "totals");
  const totals = {
    tables: f.count(t.tables, "totals.tables"),
    differing: f.count(t.differing, "totals.differing"),
    lost: f.count(t.lost, "totals.lost"),
    added: f.count(t.added, "totals.added"),
    changed: f.count(t.changed, "totals.changed"),
  };
  refuse(f, "inspection", where, INSPECT_TOOL);
  return { restoreTime, totals };
}

/** A reconciliation's summary read from `where`, checked field by field. */
export function parseStoredReconciliation(raw: unknown, where: string): StoredReconciliation {
  const f = new Fields();
  const r = f.object(raw, "(the document)");
  f.exactly(r.tool, "tool", RECONCILE_TOOL);
  const restoreTime = f.instantOrNull(r.restoreTime, "restoreTime");
  const tables = f.list(r.tables, "tables").map((v, i) => {
    const t = f.object(v, `tables[${i}]`);
    return {
      added: f.count(t.added, `tables[${i}].added`),
      changed: f.count(t.changed, `tables[${i}].changed`),
      lost: f.count(t.lost, `tables[${i}].lost`),
      file: f.textOrNull(t.file, `tables[${i}].file`),
    };
  });
  const notReconcilable = f.list(r.notReconcilable, "notReconcilable").map((v, i) => {
    const t = f.object(v, `notReconcilable[${i}]`);
    return {
      name: f.text(t.name, `notReconcilable[${i}].name`),
      reason: f.text(t.reason, `notReconcilable[${i}].reason`),
    };
  });
  refuse(f, "reconciliation summary", where, RECONCILE_TOOL);
  return { restoreTime, tables, notReconcilable };
}
