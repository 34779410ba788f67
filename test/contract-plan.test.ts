/**
 * The plan's Jobs against the tool's contract (packages/dr-data/src/contract.ts), pure: in every mode and
 * phase that declares data Jobs, each Job's argv is the command of its step, parses with the tool's own
 * parser and rebuilds to the same argv, and the tool's CLI accepts it up to reading the environment.
 */
import { strict as assert } from "node:assert";
import { buildToolArgs, parseToolArgs, STEP_COMMAND, type ParsedArgs } from "@service-dr/dr-data";
import { main } from "@service-dr/dr-data/cli";
import { parseConfig } from "../config";
import { buildPlan } from "../plan";
import { NOW, stackRaw } from "./support/stacks";

const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const STATES: readonly (readonly [string, readonly string[]])[] = [
  ["normal", []],
  ["ptr isolate", ["drMode=ptr", "incidentId=inc-1"]],
  ["ptr isolate with the copy", PTR],
  ["ptr restore", [...PTR, "drPhase=restore"]],
  [
    "ptr restore --tables",
    [...PTR, "ptr.tables[0]=app.events", "ptr.tables[1]=app.accounts", "drPhase=restore"],
  ],
  ["ptr validate", [...PTR, "drPhase=validate"]],
  // The closing state: the report Job after the recovery Jobs.
  ["ptr closing", [...PTR, "drPhase=validate", "maintenance=false", "freeze=false"]],
  [
    "rebuild closing",
    ["drMode=rebuild", "incidentId=inc-1", "drPhase=validate", "maintenance=false", "freeze=false"],
  ],
  ["rebuild restore", ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"]],
  [
    "rebuild restore of a named backup",
    [
      "drMode=rebuild",
      "incidentId=inc-1",
      "drPhase=restore",
      "rebuild.backupBlob=nightly/s189t01-ittms-stg-pg/itt_mentor_services_staging_20261124T020000Z",
    ],
  ],
];

/**
 * The first thing the CLI refuses once every argv check passed: the (absent) connection the command reads
 * first (contract.ts CONNECTION_PREFIXES), or, for the report, which reads no server, the blob store's.
 */
function firstRefusal(p: ParsedArgs): RegExp {
  if (p.command === "incident-report")
    return /^dr-data: no blob store credentials: set DR_STORAGE_AUTH=entra /;
  // The one flow reads two servers: it names the copy's host first, then the target's fields, all at once.
  if (p.command === "restore" && p.options.fromCopy === true)
    return /^dr-data: restore --from-copy: PTR_PGHOST is not set \(the copy's server\); PGHOST \(or PGHOST\) is not set; PGUSER /;
  const side = sidePrefix(p);
  return new RegExp(`^dr-data: ${side}PGHOST \\(or PGHOST\\) is not set; ${side}PGUSER `);
}

/** The prefix of the connection the command reads first (contract.ts CONNECTION_PREFIXES). */
function sidePrefix(p: ParsedArgs): string {
  if (p.command === "inspect" || p.command === "reconcile") return "PTR_";
  // compare with a container checks the live database against a manifest; without, the left side first.
  if (p.command === "compare" && p.options.container === undefined) return "LEFT_";
  return "";
}

/** The first line the tool's CLI prints for `argv` with no environment at all. */
async function firstError(argv: readonly string[]): Promise<{ code: number; line: string }> {
  const lines: string[] = [];
  const code = await main(argv, {}, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
  return { code, line: lines.join("\n").split("\n")[0] ?? "" };
}

describe("contract: the plan's Jobs speak the tool's argv", () => {
  for (const [state, sets] of STATES) {
    const dataPath = buildPlan(parseConfig(stackRaw("staging", sets), NOW), NOW).dataPath;
    const runs = [
      // Rendered as the components render them (recovery-jobs.ts, nightly-backup.ts).
      ...dataPath.jobs.map((j) => ({
        name: j.name,
        command: STEP_COMMAND[j.step],
        args: buildToolArgs(j.args),
      })),
      { name: dataPath.nightly.name, command: "backup", args: buildToolArgs(dataPath.nightly.args) },
    ];
    it(`${state}: ${runs.map((r) => r.name).join(", ")}`, async () => {
      for (const r of runs) {
        const parsed = parseToolArgs(r.args);
        assert.equal(parsed.command, r.command, r.name);
        assert.deepStrictEqual(buildToolArgs(parsed), [...r.args], r.name);
        // Every argv check passed: the first thing the CLI refuses is the (absent) environment.
        const { code, line } = await firstError(r.args);
        assert.equal(code, 2, r.name);
        assert.match(line, firstRefusal(parsed), r.name);
      }
    });
  }
});
