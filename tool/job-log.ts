/**
 * A recovery Job's evidence outlives the Job: while the tool runs, everything it writes to stdout and stderr
 * (results, logs, progress, what it forwards from pg_dump/pg_restore, the verification and compare tables)
 * is also kept in memory, and at the end — on success, on failure, and on SIGTERM (the Job's deadline) — it
 * is uploaded as one text blob, `incident/<id>/logs/<job>.log` in the backup container. The Job names the
 * blob in its environment (naming.ts JOB_LOG_ENV); without those variables nothing is captured or written.
 * The log's own header and footer (command, start, exit status) go to stderr with the other logs: stdout
 * stays the result alone.
 *
 * The upload never changes the command's exit status: a restore that succeeded stays a success if the log
 * cannot be written (the failure is printed on stderr, so `kubectl logs` shows it).
 */
import { JOB_LOG_ENV } from "../naming";
import { blobStoreFromEnv, containerClient } from "./blobstore";
import { describeError } from "./errors";

type Env = Readonly<Record<string, string | undefined>>;

/** Output kept in memory at most; beyond it the rest is counted and the log says how much was dropped. */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** Where the log goes, from the Job's environment; undefined when the Job asks for none. */
export function jobLogTarget(env: Env): { container: string; blob: string } | undefined {
  const container = env[JOB_LOG_ENV.container] ?? "";
  const blob = env[JOB_LOG_ENV.blob] ?? "";
  if (container === "" && blob === "") return undefined;
  if (container === "" || blob === "") {
    throw new Error(
      `${JOB_LOG_ENV.container} and ${JOB_LOG_ENV.blob} must be set together (the log's container and blob)`,
    );
  }
  return { container, blob };
}

/** Stores a log's text; the default writes a block blob with the tool's blob store credentials. */
export type LogUpload = (
  target: { container: string; blob: string },
  text: Buffer,
  env: Env,
) => Promise<void>;

export const uploadToBlobStore: LogUpload = async (target, text, env) => {
  const blob = containerClient(blobStoreFromEnv(env, target.container)).getBlockBlobClient(target.blob);
  await blob.upload(text, text.length, { blobHTTPHeaders: { blobContentType: "text/plain; charset=utf-8" } });
};

/** Tees `process.stdout` and `process.stderr` into one buffer, in the order things were written. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  private readonly restores: Array<() => void> = [];

  constructor() {
    for (const stream of [process.stdout, process.stderr]) {
      // Bound: the original method, called on its stream (and put back as such).
      const original = stream.write.bind(stream);
      const tee = (chunk: unknown, ...rest: unknown[]): boolean => {
        this.keep(chunk, typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : undefined);
        return Reflect.apply(original, stream, [chunk, ...rest]) === true;
      };
      stream.write = tee;
      this.restores.push(() => {
        stream.write = original;
      });
    }
  }

  keep(chunk: unknown, encoding: BufferEncoding | undefined): void {
    const b = Buffer.isBuffer(chunk)
      ? chunk
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk)
        : Buffer.from(String(chunk), encoding ?? "utf8");
    if (this.kept + b.length > MAX_LOG_BYTES) {
      this.dropped += b.length;
      return;
    }
    this.chunks.push(b);
    this.kept += b.length;
  }

  stop(): Buffer {
    for (const restore of this.restores) restore();
    this.restores.length = 0;
    const tail =
      this.dropped > 0 ? [Buffer.from(`\n[dr-data: ${this.dropped} more bytes of output not kept]\n`)] : [];
    return Buffer.concat([...this.chunks, ...tail]);
  }
}

export interface JobLogOptions {
  readonly upload?: LogUpload;
  /** The clock of the log's header and footer (tests pin it). */
  readonly now?: () => Date;
  /** Listen for SIGTERM (the Job's deadline) to upload before exiting. Default true. */
  readonly onSigterm?: boolean;
}

/**
 * Runs the tool's command (`run`, with `argv` for the header) and, if the Job asked for a log, uploads the
 * whole output afterwards. Resolves with the command's exit status.
 */
export async function runWithJobLog(
  argv: readonly string[],
  env: Env,
  run: () => Promise<number>,
  options: JobLogOptions = {},
): Promise<number> {
  let target: { container: string; blob: string } | undefined;
  try {
    target = jobLogTarget(env);
  } catch (err) {
    process.stderr.write(`dr-data: no job log: ${describeError(err)}\n`);
  }
  if (target === undefined) return run();
  const now = options.now ?? (() => new Date());
  const upload = options.upload ?? uploadToBlobStore;
  const capture = new Capture();
  let uploaded: Promise<void> | undefined;
  const finish = (footer: string): Promise<void> => {
    uploaded ??= (async () => {
      process.stderr.write(footer);
      const text = capture.stop();
      try {
        await upload(target, text, env);
      } catch (err) {
        process.stderr.write(
          `dr-data: the log could not be written to ${target.container}/${target.blob}: ${describeError(err)}\n`,
        );
      }
    })();
    return uploaded;
  };
  const onTerm = (): void => {
    void finish(`dr-data: terminated (SIGTERM) ${now().toISOString()}\n`).then(() => process.exit(143));
  };
  // Listening before the header is written: once "started" is in the log, a SIGTERM still writes it.
  if (options.onSigterm ?? true) process.once("SIGTERM", onTerm);
  process.stderr.write(
    `dr-data ${argv.join(" ")}: started ${now().toISOString()}; log → ${target.container}/${target.blob}\n`,
  );
  let status = 1;
  try {
    status = await run();
  } finally {
    process.off("SIGTERM", onTerm);
    await finish(`dr-data: exit status ${status}, finished ${now().toISOString()}\n`);
  }
  return status;
}
