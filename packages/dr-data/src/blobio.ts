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
  let size = 0;
  const tally = (chunk: Buffer): void => {
    hash.update(chunk);
    size += chunk.length;
  };
  const stager = blockStager(blob, o);
  try {
    for await (const block of blocksOf(source, o.blockSize, tally)) await stager.stage(block);
    await stager.drain();
  } catch (err) {
    await stager.settle();
    throw err;
  }
  return { blockIds: stager.blockIds, size, sha256: hash.digest("hex") };
}

/**
 * Cuts `source` into blocks of exactly `blockSize` bytes (the last one shorter), handing every chunk to `tally`
 * as it arrives. A full block is yielded only once a fresh one is allocated: the staged buffer is never reused.
 */
async function* blocksOf(
  source: AsyncIterable<Buffer>,
  blockSize: number,
  tally: (chunk: Buffer) => void,
): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafe(blockSize);
  let filled = 0;
  for await (const chunk of source) {
    tally(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, blockSize - filled);
      chunk.copy(block, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === blockSize) {
        const full = block;
        block = Buffer.allocUnsafe(blockSize);
        filled = 0;
        yield full;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}

/** Stages blocks with at most `concurrency` in flight; the first failure is kept and thrown by the next call. */
interface BlockStager {
  /** The ids staged so far, in order: the block list to commit. */
  readonly blockIds: string[];
  /** Starts staging `data`; waits while the window is full; throws once a block failed. */
  stage(data: Buffer): Promise<void>;
  /** Waits for every block in flight; throws if any failed. */
  drain(): Promise<void>;
  /** Waits for every block in flight, failed or not (before an error is rethrown). */
  settle(): Promise<void>;
}

function blockStager(blob: BlockBlobClient, o: StageOptions): BlockStager {
  const blockIds: string[] = [];
  const nonce = o.nonce ?? newUploadNonce();
  const maxBlocks = o.maxBlocks ?? MAX_BLOCKS;
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const stage = async (data: Buffer): Promise<void> => {
    if (blockIds.length >= maxBlocks) throw tooManyBlocks(maxBlocks, o.blockSize);
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
  const drain = async (): Promise<void> => {
    await Promise.all(inflight);
    if (failure !== undefined) throw new Error("staging blocks", { cause: failure.error });
  };
  const settle = async (): Promise<void> => {
    await Promise.allSettled(inflight);
  };
  return { blockIds, stage, drain, settle };
}

function tooManyBlocks(maxBlocks: number, blockSize: number): Error {
  return new Error(
    `the dump outgrew ${maxBlocks.toLocaleString("en-US")} blocks of ${formatBytes(blockSize)} (Azure's limit per blob is ` +
      `${MAX_BLOCKS_TEXT} blocks); nothing committed: rerun with a larger --block-size-mib`,
  );
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
  const { size: actualSize, etag } = await checkedProperties(blob, expected);
  const hash = createHash("sha256");
  let size = 0;
  let sinkError: { error: unknown } | undefined;
  try {
    for await (const buf of rangesInOrder(blob, actualSize, etag, o)) {
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
    throw new Error(`downloading ${blob.name}`, { cause });
  }
  verifyDownloaded(blob.name, size, hash.digest("hex"), expected);
  return sinkError === undefined ? {} : { sinkError: sinkError.error };
}

/** The blob's size, checked against the metadata's before any byte is read, and the etag ranges are pinned to. */
async function checkedProperties(
  blob: BlobClient,
  expected: Expected,
): Promise<{ size: number; etag: string | undefined }> {
  const props = await blob.getProperties();
  const size = props.contentLength ?? 0;
  if (size !== expected.size) {
    throw new VerificationError(
      `${blob.name} is ${size} bytes but its metadata says ${expected.size}: truncated or replaced, not restoring`,
    );
  }
  return { size, etag: expected.etag ?? props.etag };
}

/**
 * The blob's bytes as range requests of `chunkSize`, at most `concurrency` in flight, yielded in order. When the
 * reader stops or a range fails, the ranges still in flight settle before the error goes on.
 */
async function* rangesInOrder(
  blob: BlobClient,
  size: number,
  etag: string | undefined,
  o: DownloadOptions,
): AsyncGenerator<Buffer> {
  const chunks = Math.ceil(size / o.chunkSize);
  const window = Math.max(1, o.concurrency);
  const pending = new Map<number, Promise<Buffer>>();
  const launch = (i: number) => {
    if (i >= chunks) return;
    const p = fetchRange(blob, i * o.chunkSize, Math.min(o.chunkSize, size - i * o.chunkSize), etag);
    p.catch(() => undefined); // awaited in order below; this only keeps an early rejection from going unhandled
    pending.set(i, p);
  };
  try {
    for (let i = 0; i < window; i++) launch(i);
    for (let i = 0; i < chunks; i++) {
      const buf = await pending.get(i)!;
      pending.delete(i);
      launch(i + window);
      yield buf;
    }
  } finally {
    await Promise.allSettled(pending.values());
  }
}

/** One range, pinned to `etag` (a blob replaced mid-download fails the request instead of mixing two blobs). */
async function fetchRange(
  blob: BlobClient,
  offset: number,
  count: number,
  etag: string | undefined,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(count);
  await blob.downloadToBuffer(buf, offset, count, {
    blockSize: count,
    concurrency: 1,
    conditions: etag === undefined ? undefined : { ifMatch: etag },
  });
  return buf;
}

/** Size and sha256 of what was read, against the metadata's. */
function verifyDownloaded(name: string, size: number, sha256: string, expected: Expected): void {
  if (size !== expected.size) {
    throw new VerificationError(`${name}: downloaded ${size} bytes, metadata says ${expected.size}`);
  }
  if (sha256 !== expected.sha256) {
    throw new VerificationError(
      `${name}: sha256 ${sha256} does not match the metadata's ${expected.sha256}: corrupted, not restoring`,
    );
  }
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
