/**
 * The one way the tool's commands read their flags (`node:util` parseArgs, strict): an unknown or malformed
 * flag is a UsageError naming the command (exit 2), as is a required flag left out.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors";

export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new UsageError(`${command}: ${message}`, { cause });
  }
}

export function requiredFlag(command: string, flag: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`${command}: --${flag} is required`);
  return value;
}
