/**
 * `dr-data <backup|restore|compare|list|status|inspect|reconcile|pg-token> [flags]` — the data-plane tool. See
 * docs/data-tool.md. This file only dispatches: each command is a folder under commands/ (its flags apart from
 * what it does), the help text is commands/usage.ts.
 *
 * Exit status: 0 ok (a restore whose run id already completed is ok), 1 a failure, a verification failure or
 * differences found by compare, 2 a usage error (the message names the flag and the allowed values).
 * Logs and progress go to stderr; the result (blob name, restore status, comparison, listing) to stdout.
 */
import { describeError, UsageError, VerificationError } from "./errors";
import { runBackup } from "./commands/backup/run";
import { runCompare } from "./commands/compare/run";
import { runInspect } from "./commands/inspect/run";
import type { CommandRunner, Env, Io } from "./commands/io";
import { runDrillReport } from "./commands/drill-report/run";
import { runIncidentReport } from "./commands/incident-report/run";
import { runList } from "./commands/list/run";
import { runPgToken } from "./commands/pg-token/run";
import { runReconcile } from "./commands/reconcile/run";
import { runRestore } from "./commands/restore/run";
import { runStatus } from "./commands/status/run";
import { USAGE } from "./commands/usage";
import { runWithJobLog } from "./job-log";

// Re-exported: the help text, and the argv rules that live with the flags they check (contract.ts,
// commands/restore/flags.ts).
export { USAGE } from "./commands/usage";
export { intFlag, settingsFlag } from "./contract";
export { restoreTarget } from "./commands/restore/flags";

const COMMANDS: Readonly<Record<string, CommandRunner>> = {
  backup: runBackup,
  restore: runRestore,
  compare: runCompare,
  list: runList,
  status: runStatus,
  inspect: runInspect,
  reconcile: runReconcile,
  "pg-token": runPgToken,
  "drill-report": runDrillReport,
  "incident-report": runIncidentReport,
};

/** Help asked for, or no command: the help text (exit 2 without a command, else 0); undefined otherwise. */
function helpExit(command: string | undefined, rest: readonly string[], io: Io): number | undefined {
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(USAGE);
    return 0;
  }
  return undefined;
}

/** Runs one command; returns the exit status. Never throws. */
export async function main(argv: readonly string[], env: Env = process.env, io?: Io): Promise<number> {
  const out = io ?? {
    out: (t: string) => process.stdout.write(`${t}\n`),
    err: (t: string) => process.stderr.write(`${t}\n`),
  };
  const [command, ...rest] = argv;
  try {
    const help = helpExit(command, rest, out);
    if (help !== undefined) return help;
    const runner = Object.hasOwn(COMMANDS, command!) ? COMMANDS[command!] : undefined;
    if (runner === undefined) {
      throw new UsageError(
        `unknown command ${JSON.stringify(command)}; allowed values are: ${Object.keys(COMMANDS).join(", ")}`,
      );
    }
    return await runner(rest, env, out);
  } catch (err) {
    if (err instanceof UsageError) {
      out.err(`dr-data: ${describeError(err)}\n\n${USAGE}`);
      return 2;
    }
    out.err(
      `dr-data: ${err instanceof VerificationError ? "verification failed: " : ""}${describeError(err)}`,
    );
    return 1;
  }
}

if (require.main === module) {
  // A recovery Job names a log blob in its environment: the whole output is also written there (job-log.ts).
  const argv = process.argv.slice(2);
  void runWithJobLog(argv, process.env, () => main(argv)).then((code) => {
    process.exitCode = code;
  });
}
