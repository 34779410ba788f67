/**
 * Tampered backups, as someone who can write blobs would make them: a directory-format backup of the tool
 * (plain tar, `-Z 0`) downloaded, unpacked, changed — a data file, or the table of contents (`toc.dat`) —
 * packed again and uploaded under a newer name with metadata and manifest that match it (size, sha256, the
 * manifest's `backup`). The tool's own checks of size, sha256 and manifest then all pass: only reading the
 * archive as data can refuse it.
 *
 * `toc.dat` is read and written for archive version 1.14 (pg_dump 12–15), directory format
 * (pg_backup_archiver.c ReadHead/ReadToc, pg_backup_directory.c ReadExtraToc): a header, then per entry its
 * fields, its dependencies (strings up to a NULL) and its data file name.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ContainerClient } from "@azure/storage-blob";

/** One field of a TOC entry: an int or a string (null is PostgreSQL's NULL string). */
type Field = { readonly int: number } | { readonly str: string | null };

export interface TocEntry {
  /** dumpId, hadDumper, tableoid, oid, tag, desc, section, defn, dropStmt, copyStmt, namespace, tablespace, tableam, owner, withOids. */
  fields: Field[];
  deps: string[];
  file: string | null;
}

const FIELD_NAMES = [
  "dumpId",
  "hadDumper",
  "tableoid",
  "oid",
  "tag",
  "desc",
  "section",
  "defn",
  "dropStmt",
  "copyStmt",
  "namespace",
  "tablespace",
  "tableam",
  "owner",
  "withOids",
] as const;
const INT_FIELDS = new Set(["dumpId", "hadDumper", "section"]);
export type FieldName = (typeof FIELD_NAMES)[number];

export function field(e: TocEntry, name: FieldName): string | number | null {
  const f = e.fields[FIELD_NAMES.indexOf(name)]!;
  return "int" in f ? f.int : f.str;
}

export function setField(e: TocEntry, name: FieldName, value: string | number | null): void {
  e.fields[FIELD_NAMES.indexOf(name)] = typeof value === "number" ? { int: value } : { str: value };
}

export interface Toc {
  readonly head: Buffer;
  readonly intSize: number;
  entries: TocEntry[];
}

class Reader {
  p = 0;
  constructor(
    readonly b: Buffer,
    public intSize = 4,
  ) {}
  int(): number {
    const sign = this.b[this.p++]!;
    let v = 0;
    for (let i = 0; i < this.intSize; i++) v += this.b[this.p++]! * 2 ** (8 * i);
    return sign === 0 ? v : -v;
  }
  str(): string | null {
    const n = this.int();
    if (n < 0) return null;
    const s = this.b.toString("utf8", this.p, this.p + n);
    this.p += n;
    return s;
  }
}

function writeInt(out: Buffer[], v: number, intSize: number): void {
  const b = Buffer.alloc(1 + intSize);
  b[0] = v < 0 ? 1 : 0;
  let a = Math.abs(v);
  for (let i = 0; i < intSize; i++) {
    b[1 + i] = a % 256;
    a = Math.floor(a / 256);
  }
  out.push(b);
}

function writeStr(out: Buffer[], s: string | null, intSize: number): void {
  if (s === null) return writeInt(out, -1, intSize);
  const bytes = Buffer.from(s, "utf8");
  writeInt(out, bytes.length, intSize);
  out.push(bytes);
}

export function readToc(buf: Buffer): Toc {
  if (buf.toString("latin1", 0, 5) !== "PGDMP") throw new Error("not a pg_dump archive");
  const [vmaj, vmin, , intSize, , format] = [...buf.subarray(5, 11)];
  if (vmaj !== 1 || vmin !== 14 || format !== 3) {
    throw new Error(`toc.dat version ${vmaj}.${vmin} format ${format}: only 1.14, directory`);
  }
  const r = new Reader(buf, intSize);
  r.p = 11;
  r.int(); // compression
  for (let i = 0; i < 7; i++) r.int(); // the creation time
  for (let i = 0; i < 3; i++) r.str(); // database, server version, pg_dump version
  const head = buf.subarray(0, r.p);
  const count = r.int();
  const entries: TocEntry[] = [];
  for (let i = 0; i < count; i++) {
    const fields = FIELD_NAMES.map((n): Field => (INT_FIELDS.has(n) ? { int: r.int() } : { str: r.str() }));
    const deps: string[] = [];
    for (let d = r.str(); d !== null; d = r.str()) deps.push(d);
    entries.push({ fields, deps, file: r.str() });
  }
  if (r.p !== buf.length) throw new Error(`toc.dat has ${buf.length - r.p} bytes after its entries`);
  return { head, intSize: intSize!, entries };
}

export function writeToc(toc: Toc): Buffer {
  const out: Buffer[] = [toc.head];
  writeInt(out, toc.entries.length, toc.intSize);
  for (const e of toc.entries) {
    for (const f of e.fields) {
      if ("int" in f) writeInt(out, f.int, toc.intSize);
      else writeStr(out, f.str, toc.intSize);
    }
    for (const d of e.deps) writeStr(out, d, toc.intSize);
    writeStr(out, null, toc.intSize);
    writeStr(out, e.file, toc.intSize);
  }
  return Buffer.concat(out);
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * Downloads `source` (a plain-tar directory backup), lets `edit` change its unpacked directory, uploads the
 * result as `target` with matching metadata and manifest. Returns `target`.
 */
export async function uploadTampered(
  container: ContainerClient,
  source: string,
  target: string,
  edit: (dir: string) => void,
): Promise<string> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "dr-tamper-"));
  try {
    const blob = container.getBlobClient(source);
    const props = await blob.getProperties();
    writeFileSync(path.join(tmp, "in.tar"), await blob.downloadToBuffer());
    const dir = path.join(tmp, "dump");
    execFileSync("mkdir", [dir]);
    execFileSync("tar", ["-xf", path.join(tmp, "in.tar"), "-C", dir]);
    edit(dir);
    execFileSync("tar", ["-cf", path.join(tmp, "out.tar"), "-C", dir, "."]);
    const archive = readFileSync(path.join(tmp, "out.tar"));
    const manifest = JSON.parse(
      (await container.getBlobClient(`${source}.manifest.json`).downloadToBuffer()).toString("utf8"),
    ) as { backup: string };
    const manifestBytes = Buffer.from(JSON.stringify({ ...manifest, backup: target }));
    await container.getBlockBlobClient(`${target}.manifest.json`).uploadData(manifestBytes);
    await container.getBlockBlobClient(target).uploadData(archive, {
      metadata: {
        ...props.metadata,
        sha256: sha256(archive),
        size: String(archive.length),
        manifestsha256: sha256(manifestBytes),
      },
    });
    return target;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The data file of `schema.table`'s TABLE DATA entry in an unpacked directory archive. */
export function dataFile(dir: string, schema: string, table: string): string {
  const toc = readToc(readFileSync(path.join(dir, "toc.dat")));
  const e = toc.entries.find(
    (x) => field(x, "desc") === "TABLE DATA" && field(x, "namespace") === schema && field(x, "tag") === table,
  );
  if (e?.file === undefined || e.file === null) throw new Error(`no TABLE DATA entry of ${schema}.${table}`);
  return path.join(dir, e.file);
}

/** Reads, changes and writes back an unpacked archive's `toc.dat`. */
export function editToc(dir: string, change: (toc: Toc) => void): void {
  const file = path.join(dir, "toc.dat");
  const toc = readToc(readFileSync(file));
  change(toc);
  writeFileSync(file, writeToc(toc));
}
