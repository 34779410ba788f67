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
 *
 * A finished step never runs twice. With `DR_DATA_DONE_BLOB` the tool first reads that completion record
 * (`incident/<id>/done/<job>.json`): when it exists the step already succeeded under this Job name — the Job
 * was deleted by going back a phase and created again by going forward — so it prints so and exits 0 without
 * running the command or touching the earlier log. After a success it writes the record (create-only). A
 * record it cannot read (other than "not found") fails the run before anything is done: not knowing whether a
 * backup or restore already ran is no reason to run it again.
 */
import { JOB_LOG_ENV } from "./naming";
import { blobStoreFromEnv, containerClient } from "./blobstore";
import { describeError } from "./errors";

type Env = Readonly<Record<string, string | undefined>>;

/** Output kept in memory at most; beyond it the rest is counted and the log says how much was dropped. */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

export interface JobLogTarget {
  readonly container: string;
  readonly blob: string;
  /** The completion record's blob; undefined: no record (the step is not guarded against a second run). */
  readonly done: string | undefined;
}

/** Where the log (and the completion record) go, from the Job's environment; undefined when it asks for none. */
export function jobLogTarget(env: Env): JobLogTarget | undefined {
  const container = env[JOB_LOG_ENV.container] ?? "";
  const blob = env[JOB_LOG_ENV.blob] ?? "";
  const done = env[JOB_LOG_ENV.done] ?? "";
  if (container === "" && blob === "" && done === "") return undefined;
  if (container === "" || blob === "") {
    throw new Error(
      `${JOB_LOG_ENV.container} and ${JOB_LOG_ENV.blob} must be set together (the log's container and blob)` +
        (done === "" ? "" : `, and with ${JOB_LOG_ENV.done}`),
    );
  }
  return { container, blob, done: done === "" ? undefined : done };
}

/** What a completion record holds: enough to say, on a second run, what finished when. */
export interface DoneRecord {
  readonly argv: readonly string[];
  /** When the command started (UTC ISO); absent in records written before it was kept. */
  readonly startedAt?: string | undefined;
  readonly finishedAt: string;
  readonly logBlob: string;
}

/** A completion record's text as `DoneRecord`, or an error naming `where`; `startedAt` may be absent (older records). */
export function parseDoneRecord(text: string, where: string): DoneRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const r = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Partial<DoneRecord>;
  if (!Array.isArray(r.argv) || typeof r.finishedAt !== "string" || typeof r.logBlob !== "string") {
    throw new Error(`the completion record ${where} is not one this tool wrote: ${text.slice(0, 200)}`);
  }
  const startedAt = typeof r.startedAt === "string" ? { startedAt: r.startedAt } : {};
  return { argv: r.argv.map(String), ...startedAt, finishedAt: r.finishedAt, logBlob: r.logBlob };
}

/** Reads and creates completion records; the default uses the tool's blob store credentials. */
export interface DoneStore {
  /** The record, or undefined when the blob does not exist; any other failure throws. */
  read(container: string, blob: string, env: Env): Promise<DoneRecord | undefined>;
  /** Creates the record; fails if it exists. */
  write(container: string, blob: string, record: DoneRecord, env: Env): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { statusCode?: unknown }).statusCode === 404;
}

export const blobDoneStore: DoneStore = {
  async read(container, blob, env) {
    const client = containerClient(blobStoreFromEnv(env, container)).getBlockBlobClient(blob);
    let text: string;
    try {
      text = (await client.downloadToBuffer()).toString("utf8");
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new Error(`reading the completion record ${container}/${blob}`, { cause: err });
    }
    return parseDoneRecord(text, `${container}/${blob}`);
  },
  async write(container, blob, record, env) {
    const client = containerClient(blobStoreFromEnv(env, container)).getBlockBlobClient(blob);
    const text = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
    await client.upload(text, text.length, {
      blobHTTPHeaders: { blobContentType: "application/json" },
      conditions: { ifNoneMatch: "*" },
    });
  },
};

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
  readonly doneStore?: DoneStore;
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
  let target: JobLogTarget | undefined;
  try {
    target = jobLogTarget(env);
  } catch (err) {
    process.stderr.write(`dr-data: no job log: ${describeError(err)}\n`);
  }
  if (target === undefined) return run();
  const now = options.now ?? (() => new Date());
  const doneStore = options.doneStore ?? blobDoneStore;
  if (target.done !== undefined) {
    let earlier: DoneRecord | undefined;
    try {
      earlier = await doneStore.read(target.container, target.done, env);
    } catch (err) {
      process.stderr.write(
        `dr-data: cannot tell whether this step already ran, so it does not run: ${describeError(err)}\n`,
      );
      return 1;
    }
    if (earlier !== undefined) {
      // The earlier run's log stays as it was: this run writes none.
      process.stderr.write(
        `dr-data: this step already completed at ${earlier.finishedAt} (record ${target.container}/${target.done}; ` +
          `its log: ${earlier.logBlob}); nothing to do. A finished step never runs again under the same Job name: ` +
          `to run it anew on purpose, raise retry.<step>.\n`,
      );
      return 0;
    }
  }
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
  const startedAt = now();
  process.stderr.write(
    `dr-data ${argv.join(" ")}: started ${startedAt.toISOString()}; log → ${target.container}/${target.blob}\n`,
  );
  let status = 1;
  try {
    status = await run();
    if (status === 0 && target.done !== undefined)
      await recordDone(target, target.done, argv, { startedAt, finishedAt: now() }, doneStore, env);
  } finally {
    process.off("SIGTERM", onTerm);
    await finish(`dr-data: exit status ${status}, finished ${now().toISOString()}\n`);
  }
  return status;
}

/**
 * Writes the completion record after a success. A record that cannot be written is reported and does not
 * change the exit status: the step's work is done; what is lost is only the guard against a second run, and
 * the message says so.
 */
async function recordDone(
  target: JobLogTarget,
  done: string,
  argv: readonly string[],
  at: { readonly startedAt: Date; readonly finishedAt: Date },
  store: DoneStore,
  env: Env,
): Promise<void> {
  try {
    await store.write(
      target.container,
      done,
      {
        argv: [...argv],
        startedAt: at.startedAt.toISOString(),
        finishedAt: at.finishedAt.toISOString(),
        logBlob: target.blob,
      },
      env,
    );
    process.stderr.write(`dr-data: completion recorded in ${target.container}/${done}\n`);
  } catch (err) {
    process.stderr.write(
      `dr-data: WARNING the step succeeded but its completion record ${target.container}/${done} could not be ` +
        `written (${describeError(err)}): if this Job is created again it will run again\n`,
    );
  }
}
