/**
 * The one way every command line here reads its flags — the tool's commands, `npm run plan` and
 * `npm run drill`: `node:util` parseArgs, strict, no positional arguments. A problem is a UsageError (exit 2)
 * in the same few words everywhere, naming the flag: `unknown flag --colour`, `--stack needs a value`,
 * `--json takes no value`, `unexpected argument "extra"`, prefixed by the command when there is one.
 *
 * parseArgs' own messages are long and differ by Node version; the argv is therefore checked first from its
 * tokens (a non-strict parse, which never throws), and only then parsed strictly for typed values.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The values of `args` (without node and script) for `options`; throws UsageError naming the flag. */
export function parseFlags<T extends Options>(command: string, args: readonly string[], options: T) {
  const prefix = command === "" ? "" : `${command}: `;
  const problem = flagProblem(args, options);
  if (problem !== undefined) throw new UsageError(prefix + problem);
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (cause) {
    // Not reached for any argv flagProblem knows; kept so that a new parseArgs rule still exits 2.
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new UsageError(prefix + message, { cause });
  }
}

/** The first thing wrong with `args` for `options`, in words, or undefined. */
export function flagProblem(args: readonly string[], options: Options): string | undefined {
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === "positional") return `unexpected argument ${JSON.stringify(token.value)}`;
    if (token.kind !== "option") continue;
    const option = options[token.name];
    if (option === undefined) return `unknown flag ${token.rawName}`;
    if (option.type === "boolean") {
      if (token.inlineValue === true) return `${token.rawName} takes no value`;
      continue;
    }
    // `--stack --json` takes "--json" as the value; a value that starts with "-" must be written `--stack=-x`.
    const missing = token.value === undefined || (token.inlineValue === false && token.value.startsWith("-"));
    if (missing) return `${token.rawName} needs a value`;
  }
  return undefined;
}

export function requiredFlag(command: string, flag: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`${command}: --${flag} is required`);
  return value;
}
