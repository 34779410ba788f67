/**
 * The content checksum of a table computed from its COPY text (manifest /4, `method: "copy"`): what pg_dump
 * writes into a directory-format dump's `<dumpId>.dat` file while it dumps, and what `COPY … TO STDOUT` of the
 * restored table prints. The backup reads it off the dump files it has to upload anyway, so the manifest costs
 * the source server nothing beyond pg_dump's own scan (the /3 manifest ran a second, server-side scan that
 * measured as expensive as the dump: docs/data-tool.md).
 *
 * Definition: `rows` is the number of data lines (COPY text format escapes newlines inside values, so a row is
 * exactly one line; a dump file ends with the terminator line `\.`, which is not a row). The checksum is, per
 * line (its bytes without the newline), two 32-bit MurmurHash3 values with different seeds, summed over the
 * lines modulo 2³² lane by lane, printed as 16 hex digits. The sum does not depend on row order, so a restored
 * table read back in any physical order gives the same value; a random change to a row goes undetected with
 * probability about 2⁻⁶⁴, like the /3 checksum: a check against accidents, not against an adversary.
 *
 * Both sides must print rows identically: `COPY_TEXT_SETTINGS` are sent to pg_dump and to the checking psql
 * sessions alike (pg_dump sets DateStyle, IntervalStyle and extra_float_digits itself, to the same values).
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

/**
 * Settings that change how COPY prints a value and that pg_dump does not set itself (it sets DateStyle = ISO,
 * IntervalStyle = postgres, extra_float_digits = 3, search_path = '' and synchronize_seqscans = off), sent as
 * PGOPTIONS to pg_dump and to the verifying sessions; a database's or a role's `ALTER … SET` of them would
 * otherwise differ between the source and a fresh staging database.
 */
export const COPY_TEXT_SETTINGS: Readonly<Record<string, string>> = {
  TimeZone: "UTC",
  DateStyle: "ISO, MDY",
  IntervalStyle: "postgres",
  extra_float_digits: "3",
  bytea_output: "hex",
  lc_monetary: "C",
  // regclass, regtype, … values print quoted under it; pg_dump only sets it with --quote-all-identifiers.
  quote_all_identifiers: "off",
  search_path: "pg_catalog",
  row_security: "off",
  statement_timeout: "0",
  lock_timeout: "0",
  idle_in_transaction_session_timeout: "0",
};

export interface CopySummary {
  readonly rows: number;
  readonly checksum: string;
}

const SEED_A = 0x9747b28c;
const SEED_B = 0x1b873593;
const NEWLINE = 0x0a;
/** `\.`: the end-of-data line pg_dump writes after a table's rows. */
const TERMINATOR = Buffer.from("\\.");

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixTail(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return h ^ Math.imul(k, 0x1b873593);
}

/** Streams COPY text in chunks of any size; `result()` once all of it was added. */
export class CopyChecksum {
  private sumA = 0;
  private sumB = 0;
  private rows = 0;
  private carry: Buffer | undefined;
  private ended = false;

  /** Adds a chunk; lines may span chunks. Anything after the terminator line is ignored. */
  add(chunk: Buffer): void {
    if (this.ended) return;
    let buf = chunk;
    if (this.carry !== undefined) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl < 0) break;
      if (this.line(buf, start, nl)) return;
      start = nl + 1;
    }
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start));
  }

  /** The summary; a last line without a newline counts as a row. */
  result(): CopySummary {
    if (this.carry !== undefined && !this.ended) {
      const rest = this.carry;
      this.carry = undefined;
      this.line(rest, 0, rest.length);
    }
    const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
    return { rows: this.rows, checksum: hex(this.sumA) + hex(this.sumB) };
  }

  /** Hashes one line; true at the terminator. */
  private line(buf: Buffer, start: number, end: number): boolean {
    if (end - start === 2 && buf[start] === TERMINATOR[0] && buf[start + 1] === TERMINATOR[1]) {
      this.ended = true;
      return true;
    }
    let a = SEED_A;
    let b = SEED_B;
    let i = start;
    const blocks = end - ((end - start) & 3);
    for (; i < blocks; i += 4) {
      const k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
      a = mixBlock(a, k);
      b = mixBlock(b, k);
    }
    const left = end - i;
    if (left > 0) {
      let k = buf[i]!;
      if (left > 1) k |= buf[i + 1]! << 8;
      if (left > 2) k |= buf[i + 2]! << 16;
      a = mixTail(a, k);
      b = mixTail(b, k);
    }
    const len = end - start;
    this.sumA = (this.sumA + fmix(a ^ len)) >>> 0;
    this.sumB = (this.sumB + fmix(b ^ len)) >>> 0;
    this.rows++;
    return false;
  }
}

/** The summary of a readable stream of COPY text. */
export async function checksumStream(stream: Readable): Promise<CopySummary> {
  const sum = new CopyChecksum();
  for await (const chunk of stream) sum.add(chunk as Buffer);
  return sum.result();
}

/** The summary of a dump file: `<dumpId>.dat`, or `.dat.gz` (pg_dump -Z 1–9), inflated as it is read. */
export async function checksumDumpFile(file: string): Promise<CopySummary> {
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (!file.endsWith(".gz")) return checksumStream(raw);
  // pipe() does not pass a read error on: the gunzip stream would wait for more bytes forever.
  const gunzip = createGunzip();
  raw.once("error", (err) => gunzip.destroy(err));
  return checksumStream(raw.pipe(gunzip));
}
