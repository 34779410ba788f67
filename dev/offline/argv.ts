/**
 * The command-line conventions shared by `npm run plan` and `npm run drill`: `--flag value` or `--flag=value`,
 * every problem a `UsageError` naming the flag (exit status 2).
 */

/** A problem with the command line or the files it names (the CLIs exit with status 2). */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UsageError";
  }
}

export interface Flag {
  /** `--stack` for both `--stack x` and `--stack=x`; a bare word as it is. */
  readonly flag: string;
  /** The flag's value: after `=`, else the next argument (consumed); throws if there is none. */
  readonly value: () => string;
  /** Throws if the flag was given a value with `=`. */
  readonly noValue: () => void;
  /** The error for a flag the command does not know, or a stray argument. */
  readonly unknown: () => UsageError;
}

/** The flags of `argv` (without node and script), in order. */
export function* flags(argv: readonly string[]): Generator<Flag> {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    yield {
      flag,
      value: (): string => {
        if (eq > 0) return arg.slice(eq + 1);
        const next = argv[i + 1];
        if (next === undefined || next.startsWith("--")) throw new UsageError(`${flag} needs a value`);
        i += 1;
        return next;
      },
      noValue: (): void => {
        if (eq > 0) throw new UsageError(`${flag} takes no value`);
      },
      unknown: (): UsageError =>
        new UsageError(
          flag.startsWith("-") ? `unknown flag ${flag}` : `unexpected argument ${JSON.stringify(arg)}`,
        ),
    };
  }
}
