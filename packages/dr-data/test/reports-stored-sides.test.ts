/**
 * The inspection and reconciliation the incident report reads back from storage: each is checked field by field,
 * and a malformed or tampered one is refused with an error naming the blob and every wrong field.
 */
import { strict as assert } from "node:assert";
import { parseStoredInspection, parseStoredReconciliation } from "../src/reports/stored-sides";
import { inspectionRows, reconciliationRows } from "../src/reports/incident-report";

const INSPECT = "dr/incident/inc-7/inspect/report.json";
const RECONCILE = "dr/incident/inc-7/reconcile/summary.json";

const inspection = {
  tool: "dr-data-inspect/1",
  restoreTime: "2026-12-06T09:30:00.000Z",
  totals: { tables: 4, differing: 2, lost: 3, added: 5, changed: 1, withoutKey: 0 },
};

const reconciliation = {
  tool: "dr-data-reconcile/1",
  restoreTime: null,
  tables: [
    { name: "public.orders", added: 5, changed: 1, lost: 3, file: "dr/incident/inc-7/reconcile/orders.csv" },
    { name: "public.users", added: 0, changed: 0, lost: 0, file: null },
  ],
  notReconcilable: [{ name: "public.log", reason: "no primary key", liveRows: 9, copyRows: 8 }],
};

describe("incident report: the stored inspection and reconciliation are checked before use", () => {
  it("reads what inspect and reconcile write, and sums it", () => {
    assert.deepStrictEqual(inspectionRows(parseStoredInspection(inspection, INSPECT), INSPECT), {
      report: INSPECT,
      tables: 4,
      differing: 2,
      lost: 3,
      written: 5,
      changed: 1,
    });
    assert.deepStrictEqual(
      reconciliationRows(parseStoredReconciliation(reconciliation, RECONCILE), RECONCILE),
      {
        summary: RECONCILE,
        exportedNew: 5,
        exportedChanged: 1,
        lost: 3,
        files: 1,
        notReconcilable: ["public.log: no primary key"],
      },
    );
  });

  const refusedInspections: [string, unknown, string][] = [
    [
      "a tampered count and a restore point that is no instant",
      { ...inspection, restoreTime: "yesterday", totals: { ...inspection.totals, lost: "12", added: -1 } },
      `the inspection ${INSPECT} is not one dr-data-inspect/1 wrote: ` +
        'restoreTime: expected an ISO 8601 instant or null, received "yesterday"; ' +
        'totals.lost: expected a whole number >= 0, received "12"; ' +
        "totals.added: expected a whole number >= 0, received -1; the incident report was not written",
    ],
    [
      "another tool's file without totals",
      { tool: "dr-data-reconcile/1", restoreTime: null },
      `the inspection ${INSPECT} is not one dr-data-inspect/1 wrote: ` +
        'tool: expected "dr-data-inspect/1", received "dr-data-reconcile/1"; ' +
        "totals: expected an object, received nothing; " +
        "totals.tables: expected a whole number >= 0, received nothing; " +
        "totals.differing: expected a whole number >= 0, received nothing; " +
        "totals.lost: expected a whole number >= 0, received nothing; " +
        "totals.added: expected a whole number >= 0, received nothing; " +
        "totals.changed: expected a whole number >= 0, received nothing; the incident report was not written",
    ],
    [
      "an array, not a report",
      [1, 2],
      `the inspection ${INSPECT} is not one dr-data-inspect/1 wrote: ` +
        "(the document): expected an object, received [1,2]; " +
        'tool: expected "dr-data-inspect/1", received nothing; ' +
        "restoreTime: expected an ISO 8601 instant or null, received nothing; " +
        "totals: expected an object, received nothing; " +
        "totals.tables: expected a whole number >= 0, received nothing; " +
        "totals.differing: expected a whole number >= 0, received nothing; " +
        "totals.lost: expected a whole number >= 0, received nothing; " +
        "totals.added: expected a whole number >= 0, received nothing; " +
        "totals.changed: expected a whole number >= 0, received nothing; the incident report was not written",
    ],
  ];
  for (const [name, raw, message] of refusedInspections) {
    it(`refuses an inspection: ${name}`, () => {
      assert.throws(() => parseStoredInspection(raw, INSPECT), { message });
    });
  }

  const refusedReconciliations: [string, unknown, string][] = [
    [
      "a fractional count, a file that is no name and a table without its reason",
      {
        ...reconciliation,
        tables: [{ ...reconciliation.tables[0], changed: 1.5, file: 7 }, "public.users"],
        notReconcilable: [{ name: "public.log" }],
      },
      `the reconciliation summary ${RECONCILE} is not one dr-data-reconcile/1 wrote: ` +
        "tables[0].changed: expected a whole number >= 0, received 1.5; " +
        "tables[0].file: expected a string or null, received 7; " +
        'tables[1]: expected an object, received "public.users"; ' +
        "tables[1].added: expected a whole number >= 0, received nothing; " +
        "tables[1].changed: expected a whole number >= 0, received nothing; " +
        "tables[1].lost: expected a whole number >= 0, received nothing; " +
        "tables[1].file: expected a string or null, received nothing; " +
        "notReconcilable[0].reason: expected a string, received nothing; the incident report was not written",
    ],
    [
      "tables that are not a list, a long value cut short",
      { ...reconciliation, tables: { orders: 1 }, notReconcilable: "x".repeat(100) },
      `the reconciliation summary ${RECONCILE} is not one dr-data-reconcile/1 wrote: ` +
        'tables: expected an array, received {"orders":1}; ' +
        `notReconcilable: expected an array, received "${"x".repeat(56)}...; the incident report was not written`,
    ],
  ];
  for (const [name, raw, message] of refusedReconciliations) {
    it(`refuses a reconciliation: ${name}`, () => {
      assert.throws(() => parseStoredReconciliation(raw, RECONCILE), { message });
    });
  }
});
