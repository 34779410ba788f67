/**
 * `npm run plan -- --stack <stack> [--set <path>=<value>]... [--now <ISO time>] [--json] [--diff [--base-set <path>=<value>]...]`
 *
 * Runs the Pulumi program under the mock runtime with the stack's committed config (plus `--set` overrides,
 * `pulumi config set --path` semantics) and prints what it would declare. Exit status: 0 planned; 1 the
 * program refused its config (every problem on stderr, one a line, nothing on stdout) or failed; 2 a usage
 * error (unknown flag, missing stack file, malformed --set or --now).
 *
 * stdout carries only the plan: Pulumi's own logging goes through console.log when no engine is attached, so
 * console.log/info/debug are sent to stderr for the whole process.
 */
import * as path from "path";
import { DateTime } from "luxon";
import { diffPlans } from "./diff";
import { errorChain, parseFlags, UsageError } from "@service-dr/dr-data";
import {
  isConfigError,
  RecordingMocks,
  runProgram,
  subscriptionIdFromConfig,
  type PlanResult,
  type ProgramFn,
} from "./mocks";
import { diffJson, planJson, renderDiff, renderPlan } from "./render";
import {
  applySet,
  declarationProblems,
  loadStackConfig,
  serializeConfig,
  type LoadedConfig,
  type StackConfig,
} from "./stack-config";

export const USAGE = `Usage: npm run plan -- --stack <stack> [--set <path>=<value>]... [--now <ISO time>] [--json] [--diff [--base-set <path>=<value>]...]

Runs the service-dr Pulumi program offline (Pulumi mock runtime: no CLI, no credentials, no cloud calls)
with Pulumi.<stack>.yaml's config and prints each resource it declares (type, name, id, inputs) and the
stack outputs. Secrets show as [secret].

  --stack <stack>        the stack file Pulumi.<stack>.yaml (required)
  --set <path>=<value>   override one config value, like \`pulumi config set --path <path> <value>\`:
                         drMode=ptr, ptr.restoreTime=2026-11-24T13:05:00, replicas.web=0; a key without a
                         namespace is service-dr's; inside a path true/false become booleans and integers
                         numbers, a top-level value is always a string. Repeatable.
  --now <ISO time>       the clock of the plan, with an offset or Z (default: the current time)
  --json                 print one JSON object {"resources":[{"type","name","inputs"}],"outputs":{...}}
  --diff                 print only what the --set overrides change, as pulumi preview --diff marks it:
                         + create, - delete, ~ update, +- replace (with the provider's or the program's
                         rule that forces it), inputs the program ignores; long text line by line
  --base-set <path>=<value>
                         with --diff: the config the diff is taken against is the committed config plus
                         these (where the stack is now), so --set previews exactly one step:
                         --base-set drMode=ptr --base-set incidentId=inc-20261124-1305 --set drPhase=restore.
                         Repeatable.
  -h, --help             this text

Exit status: 0 planned; 1 invalid config (every problem on stderr) or the program failed; 2 usage error.`;

export interface CliOptions {
  readonly stack: string;
  readonly sets: readonly string[];
  /** `--base-set`: applied to the committed config to make the diff's base (with --diff only). */
  readonly baseSets: readonly string[];
  readonly now: DateTime | undefined;
  readonly json: boolean;
  readonly diff: boolean;
  readonly help: boolean;
}

/** The flags of `npm run plan`, as `node:util` parseArgs reads them. */
const FLAGS = {
  stack: { type: "string" },
  set: { type: "string", multiple: true },
  "base-set": { type: "string", multiple: true },
  now: { type: "string" },
  json: { type: "boolean" },
  diff: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parses argv (without node and script). Throws UsageError naming the offending flag. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const flags = parseFlags("", argv, FLAGS);
  const sets = flags.set ?? [];
  const baseSets = flags["base-set"] ?? [];
  const json = flags.json ?? false;
  const diff = flags.diff ?? false;
  if (flags.help === true)
    return { stack: flags.stack ?? "", sets, baseSets, now: undefined, json, diff, help: true };
  const stack = flags.stack;
  if (stack === undefined) throw new UsageError("--stack is required");
  if (baseSets.length > 0 && !diff)
    throw new UsageError("--base-set needs --diff (it sets the config the diff is taken against)");
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || stack.startsWith(".")) {
    throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name`);
  }
  const now = flags.now === undefined ? undefined : parseNow(flags.now);
  return { stack, sets, baseSets, now, json, diff, help: false };
}

function parseNow(text: string): DateTime {
  // An offset is required: a bare local time would depend on this machine's zone.
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) {
    throw new UsageError(`--now ${JSON.stringify(text)} needs an offset or Z (e.g. 2026-11-24T15:00:00Z)`);
  }
  const now = DateTime.fromISO(text, { setZone: true });
  if (!now.isValid)
    throw new UsageError(
      `--now ${JSON.stringify(text)} is not an ISO-8601 time: ${now.invalidExplanation ?? ""}`,
    );
  return now;
}

interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * The whole command; returns the exit status. `projectDir` holds Pulumi.yaml, the stack files and
 * `program.ts`; tests may pass their own `program` instead of the project's.
 */
export async function main(
  argv: readonly string[],
  io: Io,
  projectDir: string,
  program?: ProgramFn,
): Promise<number> {
  const read = readCommandLine(argv, io, projectDir);
  if (typeof read === "number") return read;
  const { options, committed } = read;
  const configs = overriddenConfigs(options, committed, io);
  if (typeof configs === "number") return configs;
  if (!configDeclared(options, committed, configs, io)) return 1;

  const now = options.now ?? DateTime.utc();
  const header = {
    stack: options.stack,
    now: now.toISO() ?? "",
    baseSets: options.baseSets,
    overrides: options.sets,
    placeholders: [...committed.placeholderKeys].sort(),
  };
  if (options.json && header.placeholders.length > 0) {
    // Not on stdout (one JSON object only); the text listing says it in its header.
    io.err(
      `plan: secrets planned with a placeholder (shown as [secret]): ${header.placeholders.join(", ")}\n`,
    );
  }
  const plan = planner({ committed, options, now, projectDir, program, io });
  if (options.diff) {
    const before = await plan(configs.base, baseLabel(options));
    if (typeof before === "number") return before;
    const after = await plan(configs.overridden, "");
    if (typeof after === "number") return after;
    const diff = diffPlans(before, after);
    io.out(options.json ? diffJson(diff) : renderDiff(diff, header));
    return 0;
  }
  const result = await plan(configs.overridden, "");
  if (typeof result === "number") return result;
  io.out(options.json ? planJson(result) : renderPlan(result, header));
  return 0;
}

/** The options and the committed stack config; or exit status 0 (help printed) or 2 (usage error printed). */
function readCommandLine(
  argv: readonly string[],
  io: Io,
  projectDir: string,
): { options: CliOptions; committed: LoadedConfig } | number {
  try {
    const options = parseArgs(argv);
    if (options.help) {
      io.out(`${USAGE}\n`);
      return 0;
    }
    return { options, committed: loadStackConfig(projectDir, options.stack) };
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`plan: ${err.message}\n${USAGE.split("\n")[0] ?? ""}\n`);
      return 2;
    }
    throw err;
  }
}

/** The diff's base (where the stack is now: committed config + --base-set) and the plan's (the base + --set). */
function overriddenConfigs(
  options: CliOptions,
  committed: LoadedConfig,
  io: Io,
): { base: StackConfig; overridden: StackConfig } | number {
  const base = new Map(committed.values);
  const overridden = new Map(committed.values);
  try {
    for (const assignment of options.baseSets) applySet(base, committed.project, assignment);
    for (const assignment of [...options.baseSets, ...options.sets])
      applySet(overridden, committed.project, assignment);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`plan: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return { base, overridden };
}

/** What the real CLI refuses before the program runs (declared keys missing, mistyped, secrets in plain text). */
function configDeclared(
  options: CliOptions,
  committed: LoadedConfig,
  configs: { base: StackConfig; overridden: StackConfig },
  io: Io,
): boolean {
  const declared = [
    ...new Set([
      ...(options.diff ? declarationProblems(committed, configs.base) : []),
      ...declarationProblems(committed, configs.overridden),
    ]),
  ];
  for (const problem of declared) io.err(`${problem}\n`);
  return declared.length === 0;
}

function baseLabel(options: CliOptions): string {
  return options.baseSets.length > 0
    ? `the base config (committed config of stack ${options.stack} + --base-set) is invalid:`
    : `the committed config of stack ${options.stack} is invalid:`;
}

interface PlannerContext {
  readonly committed: LoadedConfig;
  readonly options: CliOptions;
  readonly now: DateTime;
  readonly projectDir: string;
  readonly program: ProgramFn | undefined;
  readonly io: Io;
}

/**
 * Runs the program on one config under fresh mocks: the recorded plan, or exit status 1 when the program
 * refused its config (each problem printed, after `label` when there is one).
 */
function planner(ctx: PlannerContext): (values: StackConfig, label: string) => Promise<PlanResult | number> {
  const { committed, io } = ctx;
  return async (values, label) => {
    const config = serializeConfig(values);
    const mocks = new RecordingMocks({
      subscriptionId: subscriptionIdFromConfig(config, committed.project),
      now: ctx.now,
    });
    try {
      return await runProgram(config, [...committed.secretKeys], ctx.now, {
        ...(ctx.program === undefined
          ? { programPath: path.join(ctx.projectDir, "stack", "program") }
          : { program: ctx.program }),
        project: committed.project,
        stack: ctx.options.stack,
        mocks,
      });
    } catch (err) {
      if (!isConfigError(err)) throw err;
      if (label !== "") io.err(`${label}\n`);
      for (const problem of err.problems) io.err(`${problem}\n`);
      if (mocks.calls.length > 0) {
        io.err(`plan: the program declared ${mocks.calls.length} resource(s) before refusing its config\n`);
      }
      return 1;
    }
  };
}

if (require.main === module) {
  // Pulumi logs through console.log when no engine is attached: keep stdout for the plan alone.
  const toStderr = (...args: unknown[]): void => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  const io: Io = {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  };
  main(process.argv.slice(2), io, path.resolve(__dirname, "..", ".."))
    .then((status) => {
      process.exitCode = status;
    })
    .catch((err: unknown) => {
      process.stderr.write(`plan: failed: ${errorChain(err, { stack: true }).join("\ncaused by: ")}\n`);
      process.exitCode = 1;
    });
}
