/**
 * The stack outputs' one type (stack-outputs.ts): what the program returns in every state reads back as
 * StackOutputs unchanged, and a value of another shape is refused, every wrong output named.
 */
import { strict as assert } from "node:assert";
import { readStackOutputs } from "../stack/outputs";
import { declareStack, geoRebuildSets } from "./support/stacks";

const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const STATES: readonly (readonly [string, readonly string[]])[] = [
  ["normal", []],
  ["ptr restore", [...PTR, "drPhase=restore"]],
  ["rebuild restore", ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"]],
  ["geo rebuild", geoRebuildSets("s189t01-ittms-stg-pg-geo", ["postgres.geoRedundantBackup=true"])],
  ["freeze override", ["freeze=true"]],
];

describe("stack outputs: one type for the program and its readers", function () {
  this.timeout(60_000);

  for (const [state, sets] of STATES) {
    it(`${state}: the program's outputs are StackOutputs`, async () => {
      const r = await declareStack("staging", sets);
      assert.deepStrictEqual(readStackOutputs(r.outputs), r.outputs);
    });
  }

  it("refuses outputs of another shape, naming each", async () => {
    const r = await declareStack("staging", PTR);
    const bad: Record<string, unknown> = {
      ...r.outputs,
      drMode: "panic",
      replicas: { web: -1 },
      recoveryJobs: "dr-inc-1-backup-flawed",
      levers: { stopService: { on: true, source: "mode" } },
    };
    delete bad.nextStep;
    assert.throws(
      () => readStackOutputs(bad),
      new Error(
        'stack outputs not of the program\'s shape: drMode: "panic"; replicas: {"web":-1}; ' +
          'levers: {"stopService":{"on":true,"source":"mode"}}; recoveryJobs: "dr-inc-1-backup-flawed"; ' +
          "nextStep: missing",
      ),
    );
  });
});
