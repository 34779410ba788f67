/**
 * Error kinds that decide the exit status (see `cli.ts`): a usage error exits 2, a verification failure or any
 * other failure exits 1. Every error thrown by the tool wraps its cause (`{ cause }`).
 */

/** A flag, an environment variable or an option is missing or not allowed. Exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A backup did not verify (size, sha256, `pg_restore --list`), or two databases differ. Exit status 1. */
export class VerificationError extends Error {
  override readonly name = "VerificationError";
}

/** The message of an unknown thrown value, with its causes, for the one line the CLI prints. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof Error) {
      parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(typeof current === "string" ? current : JSON.stringify(current));
      break;
    }
  }
  return parts.join(": ");
}
