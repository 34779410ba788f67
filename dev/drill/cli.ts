/**
 * `npm run drill -- --scenario ptr|rebuild|scheduled [--tables s.t,…] [--rows N] [--rpo-minutes N] [--rto-minutes N]
 *   [--nightly-age-minutes N] [--report FILE] [--time-zone ZONE] [--stack STACK]`
 *
 * Rehearses a runbook scenario end to end on this machine (dev/drill/drill.ts), prints the timeline and writes
 * the DR-test report. Exit status: 0 the recovered data matches (scheduled: every check passed and both
 * objectives met); 1 it does not, a step failed or an objective was missed; 2 a usage
 * error (the message names the flag and the allowed values). Servers and Azurite are stopped at the end
 * whatever happens, also on SIGINT/SIGTERM.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { parseFlags, UsageError } from "@service-dr/dr-data";
import { MAX_OBJECTIVE_MINUTES } from "../../config";
import { isValidZone } from "../../plan";
import { objectiveLine } from "../../packages/dr-data/src/reports/drill-report-shape";
import { Cleanup, runDrill, SCENARIOS, type DrillResult, type Scenario } from "./drill";
import { renderReport } from "./report";
import { TABLES as DRILL_TABLES } from "./workload";
import { seconds } from "./timeline";

/** The longest `--nightly-age-minutes`: the wait is real. */
export const MAX_NIGHTLY_AGE = 10;

export const USAGE = `usage: npm run drill -- --scenario ptr|rebuild|scheduled [--tables s.t,…] [--rows N] [--rpo-minutes N] [--rto-minutes N] [--nightly-age-minutes N] [--report FILE] [--time-zone ZONE] [--stack STACK]

Rehearses a runbook scenario end to end on 127.0.0.1 with real PostgreSQL and Azurite, through the same
Pulumi program (offline, mock runtime) and data tool that a real incident uses, and writes the DR-test report.

  --scenario ptr|rebuild|scheduled
                          ptr: loss of data (point-in-time restore); rebuild: loss of the database server;
                          scheduled: the drill setting as the drill workflow runs it (a copy of live, the
                          nightly restored into it, inspected against live, RPO and RTO against the objectives)
  --tables s.t[,s.t…]     ptr only: restore only these tables (ptr.tables) instead of the whole database;
                          the loss is a DELETE in app.placements while the app goes on writing the others
                          (e.g. --tables app.placements)
  --rows N                rows seeded into the live database (100 to 50000000; default ${10_000})
  --rpo-minutes N         scheduled only: objectives.rpoMinutes for the drill (1 to ${MAX_OBJECTIVE_MINUTES}; default the stack's)
  --rto-minutes N         scheduled only: objectives.rtoMinutes for the drill (1 to ${MAX_OBJECTIVE_MINUTES}; default the stack's)
  --nightly-age-minutes N scheduled only: the drill starts at least N whole minutes after the nightly backup
                          finished, waiting really (0 to ${MAX_NIGHTLY_AGE}; default 0)
  --report FILE           where the Markdown report goes (default: a file in the OS temp directory)
  --time-zone ZONE        the stack's timeZone for the drill (an IANA zone; default: the stack's own)
  --stack STACK           the committed stack file to use (default staging)
  -h, --help              this text

Exit status: 0 the recovered data matches (scheduled: all checks passed, both objectives met); 1 it does not,
a step failed or an objective was missed; 2 usage error.`;

export interface CliOptions {
  readonly scenario: Scenario;
  readonly rows: number;
  readonly report: string | undefined;
  readonly timeZone: string | undefined;
  readonly stack: string;
  readonly tables: readonly string[] | undefined;
  readonly rpoMinutes: number | undefined;
  readonly rtoMinutes: number | undefined;
  readonly nightlyAgeMinutes: number | undefined;
}

/** The flags of `npm run drill`, as `node:util` parseArgs reads them. */
const FLAGS = {
  scenario: { type: "string" },
  rows: { type: "string" },
  report: { type: "string" },
  tables: { type: "string" },
  "time-zone": { type: "string" },
  stack: { type: "string" },
  "rpo-minutes": { type: "string" },
  "rto-minutes": { type: "string" },
  "nightly-age-minutes": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parses argv (without node and script); throws UsageError naming the flag. Returns undefined for --help. */
export function parseArgs(argv: readonly string[]): CliOptions | undefined {
  const flags = parseFlags("", argv, FLAGS);
  if (flags.help === true) return undefined;
  const scenario = parseScenario(flags.scenario);
  const tables = flags.tables === undefined ? undefined : parseTables(flags.tables);
  if (tables !== undefined && scenario !== "ptr")
    throw new UsageError(
      `--tables is for --scenario ptr (a table-level restore from the PTR copy); got --scenario ${scenario}`,
    );
  const scheduled = parseScheduledFlags(flags, scenario);
  return {
    ...scheduled,
    scenario,
    rows: flags.rows === undefined ? 10_000 : parseRows(flags.rows),
    report: flags.report,
    timeZone: flags["time-zone"] === undefined ? undefined : parseZone(flags["time-zone"]),
    stack: flags.stack === undefined ? "staging" : parseStack(flags.stack),
    tables,
  };
}

/** The scheduled drill's flags: refused with another scenario, each a whole number in its range. */
function parseScheduledFlags(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  scenario: Scenario,
): Pick<CliOptions, "rpoMinutes" | "rtoMinutes" | "nightlyAgeMinutes"> {
  const ranges = {
    "rpo-minutes": [1, MAX_OBJECTIVE_MINUTES],
    "rto-minutes": [1, MAX_OBJECTIVE_MINUTES],
    "nightly-age-minutes": [0, MAX_NIGHTLY_AGE],
  } as const;
  const value = (flag: keyof typeof ranges): number | undefined => {
    const v = flags[flag];
    if (typeof v !== "string") return undefined;
    if (scenario !== "scheduled")
      throw new UsageError(`--${flag} is for --scenario scheduled; got --scenario ${scenario}`);
    return parseWhole(flag, v, ranges[flag][0], ranges[flag][1]);
  };
  return {
    rpoMinutes: value("rpo-minutes"),
    rtoMinutes: value("rto-minutes"),
    nightlyAgeMinutes: value("nightly-age-minutes"),
  };
}

/** A whole number from `min` to `max`, or a UsageError naming the flag, the range and what was received. */
function parseWhole(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}; got ${JSON.stringify(v)}`);
  return n;
}

function parseScenario(v: string | undefined): Scenario {
  if (v === undefined) throw new UsageError(`--scenario is required: one of ${SCENARIOS.join(", ")}`);
  if (!(SCENARIOS as readonly string[]).includes(v))
    throw new UsageError(`--scenario must be one of: ${SCENARIOS.join(", ")}; got ${JSON.stringify(v)}`);
  return v as Scenario;
}

function parseRows(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 100 || n > 50_000_000)
    throw new UsageError(`--rows must be an integer from 100 to 50000000; got ${JSON.stringify(v)}`);
  return n;
}

function parseTables(v: string): string[] {
  const list = v.split(",").map((t) => t.trim());
  const bad = list.filter((t) => !(DRILL_TABLES as readonly string[]).includes(t));
  if (v.trim() === "" || bad.length > 0 || new Set(list).size !== list.length)
    throw new UsageError(
      `--tables must be distinct tables of the drill's schema, comma-separated (${DRILL_TABLES.join(", ")}); got ${JSON.stringify(v)}`,
    );
  return list;
}

function parseZone(v: string): string {
  if (!isValidZone(v))
    throw new UsageError(
      `--time-zone must be an IANA time zone such as Europe/London; got ${JSON.stringify(v)}`,
    );
  return v;
}

function parseStack(v: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(v))
    throw new UsageError(`--stack must be a stack name; got ${JSON.stringify(v)}`);
  return v;
}

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export interface MainResult {
  readonly status: number;
  readonly result?: DrillResult;
  readonly reportPath?: string;
}

/** The whole command. `cleanup` is the caller's when it wants to stop everything on a signal. */
export async function main(argv: readonly string[], io: Io, cleanup = new Cleanup()): Promise<MainResult> {
  let options: CliOptions | undefined;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`drill: ${err.message}`);
      io.err(USAGE.split("\n")[0] ?? "");
      return { status: 2 };
    }
    throw err;
  }
  if (options === undefined) {
    io.out(USAGE);
    return { status: 0 };
  }
  let result: DrillResult;
  try {
    // The options as parsed (the report path is the CLI's own), and where progress goes.
    result = await runDrill({ ...options, print: io.out }, cleanup);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`drill: ${err.message}`);
      return { status: 2 };
    }
    throw err;
  } finally {
    await cleanup.run();
  }
  const reportPath = path.resolve(
    options.report ??
      path.join(
        os.tmpdir(),
        `service-dr-drill-${options.scenario}-${DateTime.utc().toFormat("yyyyLLdd'T'HHmmss'Z'")}.md`,
      ),
  );
  mkdirSync(path.dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, renderReport(result));
  io.out("");
  if (result.ok) {
    io.out(`drill ${result.scenario}: PASS — ${passSummary(result)}`);
  } else {
    io.err(`drill ${result.scenario}: FAIL — ${result.failure ?? "the data does not match"}`);
  }
  io.out(`report: ${reportPath}`);
  return { status: result.ok ? 0 : 1, result, reportPath };
}

/** The PASS line's figures: the rows recovered, or the scheduled drill's RPO and RTO against its objectives. */
function passSummary(r: DrillResult): string {
  if (r.drillReport !== undefined)
    return `${objectiveLine("RPO", r.drillReport.rpo)}; ${objectiveLine("RTO", r.drillReport.rto)}; live unchanged; drill time ${seconds(r.recoveryMs)}`;
  return (
    `${r.recoveredRows ?? "?"} rows recovered (expected ${r.expectedRows ?? "?"}), ` +
    `${r.lostRows ?? "?"} lost; recovery time ${seconds(r.recoveryMs)}`
  );
}

if (require.main === module) {
  // Pulumi's runtime logs through console.log when no engine is attached: keep stdout for the timeline.
  const toStderr = (...args: unknown[]): void => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  const cleanup = new Cleanup();
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // `on`, not `once`: a second signal (tsx relays Ctrl-C too) must not kill the process mid-cleanup.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`drill: ${signal}: stopping the servers\n`);
      void cleanup.run().finally(() => process.exit(130));
    });
  }
  main(
    process.argv.slice(2),
    { out: (l) => void process.stdout.write(`${l}\n`), err: (l) => void process.stderr.write(`${l}\n`) },
    cleanup,
  )
    .then((r) => {
      process.exitCode = r.status;
    })
    .catch(async (err: unknown) => {
      await cleanup.run();
      process.stderr.write(
        `drill: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    });
}
