/**
 * `npm run fleet [-- --json] [--now <ISO-8601>]`: one line per committed stack — service, environment, incident
 * (mode, phase, id, restore time), levers (maintenance, freeze, stopped; `*` when a config switch forces one)
 * and the first command of its next step — from the committed stack files, offline. Exit 1 when a stack's
 * config does not validate (its problems on stderr, the other stacks still listed).
 */
import * as path from "node:path";
import { DateTime } from "luxon";
import { UsageError } from "@service-dr/dr-data";
import {
  isProblem,
  listStacks,
  stackStatus,
  type LeverState,
  type StackProblem,
  type StackStatus,
} from "./status";

const USAGE = "usage: npm run fleet [-- --json] [--now <ISO-8601 instant>]";

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

interface Options {
  readonly json: boolean;
  readonly now: DateTime;
}

export function parseArgs(argv: readonly string[], clock: () => DateTime = () => DateTime.utc()): Options {
  let json = false;
  let now: DateTime | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--now") {
      const text = argv[++i];
      const parsed = text === undefined ? undefined : DateTime.fromISO(text, { setZone: true });
      if (parsed === undefined || !parsed.isValid || !/(Z|[+-]\d\d:?\d\d)$/.test(text ?? "")) {
        throw new UsageError(
          `--now expects an ISO-8601 instant with an offset or Z; received ${JSON.stringify(text)}`,
        );
      }
      now = parsed;
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  return { json, now: now ?? clock() };
}

export function main(argv: readonly string[], io: Io, projectDir: string): number {
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`fleet: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const statuses = listStacks(projectDir).map((stack) => stackStatus(projectDir, stack, options.now));
  const good = statuses.filter((s): s is StackStatus => !isProblem(s));
  const bad = statuses.filter(isProblem);
  // In JSON every field is present: what does not apply (no incident, no restore time) is null.
  const json = (): string =>
    `${JSON.stringify({ now: options.now.toISO(), stacks: good }, (_k, v: unknown) => v ?? null, 2)}\n`;
  io.out(options.json ? json() : table(good));
  for (const problem of bad) io.err(problemText(problem));
  return bad.length > 0 ? 1 : 0;
}

const HEADER = ["STACK", "SERVICE", "ENV", "INCIDENT", "MAINT", "FREEZE", "STOPPED", "NEXT"];

/** The text table: columns padded to their widest cell, the next command last and unpadded. */
export function table(statuses: readonly StackStatus[]): string {
  const rows = [HEADER, ...statuses.map(cells)];
  const widths = HEADER.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

function cells(s: StackStatus): string[] {
  return [
    s.stack,
    s.service,
    s.environment,
    incidentText(s.incident),
    lever(s.levers.maintenance),
    lever(s.levers.freeze),
    lever(s.levers.stopped),
    s.nextCommand ?? "-",
  ];
}

function incidentText(i: StackStatus["incident"]): string {
  if (i.mode === "none") return "none";
  const where = i.restoreTime !== undefined ? ` to ${i.restoreTime}` : "";
  const from = i.rebuildFrom !== undefined ? ` from ${i.rebuildFrom}` : "";
  return `${i.mode} ${i.phase ?? "?"} ${i.id ?? "?"}${where}${from}`;
}

function lever(l: LeverState): string {
  return `${l.on ? "on" : "off"}${l.forced ? "*" : ""}`;
}

function problemText(p: StackProblem): string {
  return `fleet: stack ${p.stack}: the committed config is invalid:\n${p.problems.map((x) => `  - ${x}\n`).join("")}`;
}

if (require.main === module) {
  // Pulumi's config module logs through console.log without an engine: keep stdout for the table alone.
  console.log = (...args: unknown[]): void => console.error(...args);
  try {
    process.exitCode = main(
      process.argv.slice(2),
      {
        out: (t) => void process.stdout.write(t),
        err: (t) => void process.stderr.write(t),
      },
      path.resolve(__dirname, "..", ".."),
    );
  } catch (err) {
    process.stderr.write(`fleet: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
