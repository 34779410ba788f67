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

/** A stored record's JSON, or a VerificationError naming `what` (a blob) when it is not JSON at all. */
export function storedJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new VerificationError(`${what} is not JSON`, { cause });
  }
}

/**
 * The storage's reason for a failed request, `404 BlobNotFound`, from an Azure SDK error (RestError): its HTTP
 * status and the service's error code (the body's, or the `x-ms-error-code` header's, which is all a HEAD
 * request such as getProperties gets: its message is empty). undefined for anything else.
 */
export function storageReason(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { statusCode?: unknown; code?: unknown; details?: { errorCode?: unknown } };
  if (typeof e.statusCode !== "number") return undefined;
  const code = typeof e.details?.errorCode === "string" ? e.details.errorCode : e.code;
  return typeof code === "string" && code !== "" ? `${e.statusCode} ${code}` : String(e.statusCode);
}

/** The storage's error code (`BlobNotFound`, `ContainerNotFound`, …) of an Azure SDK error, if any. */
export function storageErrorCode(err: unknown): string | undefined {
  return storageReason(err)?.split(" ")[1];
}

/** One line for an Azure SDK error: the first line of its message (the rest is request ids) and the reason. */
function describeStorageError(err: Error, reason: string): string {
  const first = err.message.split("\n")[0]!.trim();
  return first === "" ? `storage answered ${reason}` : `${first} (storage answered ${reason})`;
}

/**
 * The one reader of an error's cause chain (every CLI here prints errors through it): the message of each
 * link, outermost first — an Azure SDK error as its first line and the storage's reason; with `stack`, each
 * Error's stack instead (the development tools print it for a failure that is not the user's).
 */
export function errorChain(err: unknown, options: { readonly stack?: boolean } = {}): string[] {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (!(current instanceof Error)) {
      parts.push(typeof current === "string" ? current : JSON.stringify(current));
      break;
    }
    const reason = storageReason(current);
    const message = reason === undefined ? current.message : describeStorageError(current, reason);
    parts.push(options.stack === true ? (current.stack ?? message) : message);
    current = current.cause;
  }
  return parts;
}

/** The message of an unknown thrown value, with its causes, for the one line the CLI prints. */
export function describeError(err: unknown): string {
  return errorChain(err).join(": ");
}

/**
 * What a 404 from the storage means, in words (`the container nosuch does not exist`), or undefined when the
 * error is not one; the caller wraps the error, whose reason (`404 BlobNotFound`) `describeError` prints.
 */
export function storageMissing(err: unknown, container: string, blob: string): string | undefined {
  switch (storageErrorCode(err)) {
    case "ContainerNotFound":
      return `the container ${container} does not exist`;
    case "BlobNotFound":
      return `${container}/${blob} does not exist`;
    default:
      return undefined;
  }
}

/** The message for a blob that could not be read: `reading c/b: c/b does not exist; nothing was done`. */
export function blobReadError(err: unknown, container: string, blob: string): Error {
  const missing = storageMissing(err, container, blob);
  return new Error(
    `reading ${container}/${blob}${missing === undefined ? "" : `: ${missing}`}; nothing was done`,
    { cause: err },
  );
}
