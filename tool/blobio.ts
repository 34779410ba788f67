/**
 * Moving dump bytes to and from block blobs.
 *
 * Upload stages blocks in parallel and returns their ids; nothing is visible until the caller commits the block
 * list (`commitBlockList`), which it does only after the dump program exited 0 and the checksum is known. The
 * SDK's `uploadStream` is not used: it commits whatever it was given when its source ends, including the first
 * half of a dump whose producer died. Staged blocks that are never committed stay invisible and Azure discards
 * them after a week.
 *
 * Download fetches ranges in parallel and hands them on in order (to a file, or straight into `tar -x`), hashing
 * as they pass: the bytes are read once.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import type { BlobClient, BlockBlobClient } from "@azure/storage-blob";
import { VerificationError } from "./errors";

export interface StagedBlocks {
  readonly blockIds: string[];
  readonly size: number;
  readonly sha256: string;
}

export interface StageOptions {
  /** Bytes per block (Azure allows up to 4000 MiB and 50,000 blocks per blob). */
  readonly blockSize: number;
  /** Blocks in flight at once. */
  readonly concurrency: number;
  readonly onBytes?: ((n: number) => void) | undefined;
  /** This upload's block id nonce (`newUploadNonce()`, the default): tests pin it. */
  readonly nonce?: string | undefined;
}

/**
 * Block ids must all have the same length: the upload's nonce and a zero-padded counter, base64-encoded. The
 * nonce keeps two uploads to the same blob name (two backups started in the same second) from staging over
 * each other's uncommitted blocks: each commits only its own ids, and the second commit fails `If-None-Match`.
 */
export function blockId(nonce: string, index: number): string {
  if (!/^[0-9a-f]{16}$/.test(nonce))
    throw new Error(`block id nonce ${JSON.stringify(nonce)}: 16 hex digits`);
  return Buffer.from(`dr-data-${nonce}-${String(index).padStart(6, "0")}`).toString("base64");
}

export function newUploadNonce(): string {
  return randomBytes(8).toString("hex");
}

/** Stages `source` as blocks of `blockSize` bytes; throws on the first failed block (after the others settle). */
export async function stageBlocks(
  blob: BlockBlobClient,
  source: AsyncIterable<Buffer>,
  o: StageOptions,
): Promise<StagedBlocks> {
  if (!(o.blockSize >= 1) || !(o.concurrency >= 1)) throw new Error("block size and concurrency must be ≥ 1");
  const hash = createHash("sha256");
  const blockIds: string[] = [];
  const nonce = o.nonce ?? newUploadNonce();
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let size = 0;
  let block = Buffer.allocUnsafe(o.blockSize);
  let filled = 0;

  const stage = async (data: Buffer): Promise<void> => {
    const id = blockId(nonce, blockIds.length);
    blockIds.push(id);
    const p: Promise<void> = blob.stageBlock(id, data, data.length).then(
      () => {
        inflight.delete(p);
        o.onBytes?.(data.length);
      },
      (error: unknown) => {
        inflight.delete(p);
        failure ??= { error };
      },
    );
    inflight.add(p);
    while (inflight.size >= o.concurrency && failure === undefined) await Promise.race(inflight);
    if (failure !== undefined)
      throw new Error(`staging block ${blockIds.length - 1}`, { cause: failure.error });
  };

  try {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(chunk.length - offset, o.blockSize - filled);
        chunk.copy(block, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === o.blockSize) {
          const full = block;
          block = Buffer.allocUnsafe(o.blockSize);
          filled = 0;
          await stage(full);
        }
      }
    }
    if (filled > 0) await stage(block.subarray(0, filled));
    await Promise.all(inflight);
    if (failure !== undefined) throw new Error("staging blocks", { cause: failure.error });
  } catch (err) {
    await Promise.allSettled(inflight);
    throw err;
  }
  return { blockIds, size, sha256: hash.digest("hex") };
}

export interface DownloadOptions {
  readonly chunkSize: number;
  /** Range requests in flight at once (each holds one chunk in memory until its turn to be written). */
  readonly concurrency: number;
  readonly onBytes?: ((n: number) => void) | undefined;
}

/** Where downloaded bytes go, in order. A sink that throws is not written to again (the download goes on). */
export type DownloadSink = (chunk: Buffer) => Promise<void>;

export interface Expected {
  readonly size: number;
  readonly sha256: string;
  readonly etag?: string | undefined;
}

/**
 * Downloads the whole blob with parallel range requests pinned to `etag`, handing the bytes to `sink` in order
 * while hashing them: one pass, no re-read. Checks size and sha256 against `expected` and throws
 * `VerificationError` on a mismatch, which takes precedence over a failure of the sink (a corrupted archive
 * often makes its unpacker fail first; the checksum is the better reason). Returns the sink's failure, if any,
 * for the caller to report.
 */
export async function downloadVerifiedTo(
  blob: BlobClient,
  sink: DownloadSink,
  expected: Expected,
  o: DownloadOptions,
): Promise<{ sinkError?: unknown }> {
  const props = await blob.getProperties();
  const actualSize = props.contentLength ?? 0;
  if (actualSize !== expected.size) {
    throw new VerificationError(
      `${blob.name} is ${actualSize} bytes but its metadata says ${expected.size}: truncated or replaced, not restoring`,
    );
  }
  const etag = expected.etag ?? props.etag;
  const chunks = Math.ceil(actualSize / o.chunkSize);
  const fetchChunk = async (i: number): Promise<Buffer> => {
    const offset = i * o.chunkSize;
    const count = Math.min(o.chunkSize, actualSize - offset);
    const buf = Buffer.allocUnsafe(count);
    await blob.downloadToBuffer(buf, offset, count, {
      blockSize: count,
      concurrency: 1,
      conditions: etag === undefined ? undefined : { ifMatch: etag },
    });
    return buf;
  };
  const window = Math.max(1, o.concurrency);
  const pending = new Map<number, Promise<Buffer>>();
  const launch = (i: number) => {
    if (i >= chunks) return;
    const p = fetchChunk(i);
    p.catch(() => undefined); // awaited in order below; this only keeps an early rejection from going unhandled
    pending.set(i, p);
  };
  const hash = createHash("sha256");
  let size = 0;
  let sinkError: { error: unknown } | undefined;
  try {
    for (let i = 0; i < window; i++) launch(i);
    for (let i = 0; i < chunks; i++) {
      const buf = await pending.get(i)!;
      pending.delete(i);
      launch(i + window);
      hash.update(buf);
      size += buf.length;
      if (sinkError === undefined) {
        try {
          await sink(buf);
        } catch (error) {
          sinkError = { error };
        }
      }
      o.onBytes?.(buf.length);
    }
  } catch (cause) {
    await Promise.allSettled(pending.values());
    throw new Error(`downloading ${blob.name}`, { cause });
  }
  if (size !== expected.size) {
    throw new VerificationError(`${blob.name}: downloaded ${size} bytes, metadata says ${expected.size}`);
  }
  const sha256 = hash.digest("hex");
  if (sha256 !== expected.sha256) {
    throw new VerificationError(
      `${blob.name}: sha256 ${sha256} does not match the metadata's ${expected.sha256}: corrupted, not restoring`,
    );
  }
  return sinkError === undefined ? {} : { sinkError: sinkError.error };
}

/** `downloadVerifiedTo` into `file` (which must not exist). */
export async function downloadVerified(
  blob: BlobClient,
  file: string,
  expected: Expected,
  o: DownloadOptions,
): Promise<void> {
  const fh = await open(file, "wx");
  let result;
  try {
    result = await downloadVerifiedTo(
      blob,
      async (chunk) => {
        await fh.write(chunk, 0, chunk.length);
      },
      expected,
      o,
    );
  } finally {
    await fh.close();
  }
  if (result.sinkError !== undefined) throw new Error(`writing ${file}`, { cause: result.sinkError });
}

/** A sink writing into a stream (a child's stdin), waiting on back-pressure. */
export function streamSink(stream: Writable): DownloadSink {
  let failed: Error | undefined;
  stream.on("error", (err: Error) => (failed ??= err));
  return async (chunk) => {
    if (failed !== undefined) throw failed;
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          stream.off("error", onError);
          resolve();
        };
        const onError = (err: Error) => {
          stream.off("drain", onDrain);
          reject(err);
        };
        stream.once("drain", onDrain);
        stream.once("error", onError);
      });
    }
  };
}

export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}
