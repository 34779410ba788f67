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
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import type { BlobClient, BlockBlobClient } from "@azure/storage-blob";
import { UsageError, VerificationError } from "./errors";
import { formatBytes } from "./progress";

export interface StagedBlocks {
  readonly blockIds: string[];
  readonly size: number;
  readonly sha256: string;
}

const MiB = 1024 * 1024;
/** Azure's limit of committed blocks per block blob. */
export const MAX_BLOCKS = 50_000;
const MAX_BLOCKS_TEXT = MAX_BLOCKS.toLocaleString("en-US");
/** Azure's largest block (service version 2019-12-12 and later). */
export const MAX_BLOCK_SIZE = 4000 * MiB;
/** The smallest block chosen: below it the per-request overhead shows in the upload rate. */
export const MIN_BLOCK_SIZE = 8 * MiB;
/**
 * How much larger than its estimate a dump may grow and still fit. The estimate (the database's on-disk size or
 * the previous backup's) is usually above a dump's size (no indexes, no free space, compressed), but text can
 * be larger than its storage (bytea in hex, TOAST-compressed values): 4× covers that; beyond it the upload
 * itself refuses at block 50,000 (`stageBlocks`), nothing committed.
 */
export const SIZE_HEADROOM = 4;

/** The block size for a dump of about `expectedBytes`, and the largest dump it can hold. */
export interface BlockPlan {
  readonly blockSize: number;
  /** `blockSize × MAX_BLOCKS`: the upload stops with an error past this. */
  readonly maxBytes: number;
}

/**
 * The block size for a backup expected to be about `expectedBytes`: the smallest whole number of MiB, at least
 * `MIN_BLOCK_SIZE`, with which `SIZE_HEADROOM × expectedBytes` fits `MAX_BLOCKS` blocks. An explicit block size
 * (`--block-size-mib`) is checked instead of chosen. Throws `UsageError` naming the limit, before anything
 * runs, when the backup cannot fit.
 */
export function chooseBlockSize(expectedBytes: number, explicit?: number): BlockPlan {
  if (!Number.isFinite(expectedBytes) || expectedBytes < 0) {
    throw new Error(`expected size must be a number of bytes ≥ 0, got ${expectedBytes}`);
  }
  const need = expectedBytes * SIZE_HEADROOM;
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < 1 || explicit > MAX_BLOCK_SIZE) {
      throw new UsageError(`block size must be 1 byte to 4000 MiB (Azure's largest block), got ${explicit}`);
    }
    if (explicit * MAX_BLOCKS < need) {
      throw new UsageError(
        `--block-size-mib ${explicit / MiB}: ${MAX_BLOCKS_TEXT} blocks (Azure's limit per blob) of it hold ` +
          `${formatBytes(explicit * MAX_BLOCKS)}, less than ${SIZE_HEADROOM}× this backup's expected ` +
          `${formatBytes(expectedBytes)}; allowed: at least ${Math.ceil(need / MAX_BLOCKS / MiB)} MiB, or leave it out`,
      );
    }
    return { blockSize: explicit, maxBytes: explicit * MAX_BLOCKS };
  }
  const blockSize = Math.max(MIN_BLOCK_SIZE, Math.ceil(need / MAX_BLOCKS / MiB) * MiB);
  if (blockSize > MAX_BLOCK_SIZE) {
    throw new UsageError(
      `this backup is expected to be ${formatBytes(expectedBytes)}: a block blob holds at most ${MAX_BLOCKS_TEXT} ` +
        `blocks of 4000 MiB (${formatBytes(MAX_BLOCKS * MAX_BLOCK_SIZE)}), which is less than ` +
        `${SIZE_HEADROOM}× that; nothing was started`,
    );
  }
  return { blockSize, maxBytes: blockSize * MAX_BLOCKS };
}

export interface StageOptions {
  /** Bytes per block (Azure allows up to 4000 MiB and 50,000 blocks per blob; `chooseBlockSize`). */
  readonly blockSize: number;
  /** The most blocks this upload may stage. Default `MAX_BLOCKS`. */
  readonly maxBlocks?: number | undefined;
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

  const maxBlocks = o.maxBlocks ?? MAX_BLOCKS;
  const stage = async (data: Buffer): Promise<void> => {
    if (blockIds.length >= maxBlocks) {
      throw new Error(
        `the dump outgrew ${maxBlocks.toLocaleString("en-US")} blocks of ${formatBytes(o.blockSize)} (Azure's limit per blob is ` +
          `${MAX_BLOCKS_TEXT} blocks); nothing committed: rerun with a larger --block-size-mib`,
      );
    }
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
