/**
 * The /4 manifest's table checksum (src/copy-checksum.ts), pure: what it hashes, that row order and chunking
 * do not change it, where a dump file's data ends; the manifest and metadata rules that go with it; and the
 * backup settings that choose it.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { backupSettings, readRchar, type BackupOptions } from "../src/backup";
import { finishedDataEntry } from "../src/archive";
import { tarStreamArgv } from "../src/directory-upload";
import { checksumDumpFile, checksumStream, CopyChecksum } from "../src/copy-checksum";
import { MANIFEST_V2, MANIFEST_V3, MANIFEST_V4, MANIFEST_VERSION, parseManifest } from "../src/manifest";
import { parseBlobMetadata, toBlobMetadata, type BackupMetadata } from "../src/metadata";
import { MINIMAL_DATABASE_PROPERTIES } from "../testkit/manifest-fixtures";

const sum = (...chunks: string[]) => {
  const c = new CopyChecksum();
  for (const chunk of chunks) c.add(Buffer.from(chunk));
  return c.result();
};

describe("tool: copy checksum (pure)", () => {
  it("each line is hashed with MurmurHash3 x86_32: the published vectors for seed 0x9747b28c", () => {
    // The first lane's seed is 0x9747b28c, so a one-line input's first 8 hex digits are the reference value
    // (vectors from the MurmurHash3 reference implementation's test suite, as widely published).
    const cases: [string, string][] = [
      ["aaaa", "5a97808a"],
      ["Hello, world!", "24884cba"],
      ["The quick brown fox jumps over the lazy dog", "2fa826cd"],
    ];
    for (const [line, want] of cases) {
      const got = sum(`${line}\n`);
      assert.equal(got.rows, 1, line);
      assert.equal(got.checksum.slice(0, 8), want, line);
    }
  });

  it("rows are lines; the sum does not depend on their order", () => {
    const lines = ["1\talice\t\\N", "2\tbob\t2026-03-29 00:30:00+00", "3\t\\\\.\tx"];
    const forward = sum(lines.join("\n") + "\n");
    const backward = sum([...lines].reverse().join("\n") + "\n");
    assert.equal(forward.rows, 3);
    assert.deepStrictEqual(backward, forward);
    assert.match(forward.checksum, /^[0-9a-f]{16}$/);
  });

  it("any change to a line, or a line more or less, changes the result", () => {
    const base = sum("1\ta\n2\tb\n");
    for (const other of ["1\ta\n2\tc\n", "1\ta\n2\tb \n", "1\ta\n", "1\ta\n2\tb\n2\tb\n", "1\ta\n\n2\tb\n"]) {
      assert.notDeepStrictEqual(sum(other), base, JSON.stringify(other));
    }
  });

  it("chunk boundaries anywhere, even inside a multi-byte character, give the same result", () => {
    const text = "1\tzoë ✓\n22\t\\x00ff27\n333\t{sad,ok}\n\\.\n\n\n";
    const bytes = Buffer.from(text);
    const whole = sum(text);
    assert.equal(whole.rows, 3);
    for (let cut = 1; cut < bytes.length; cut++) {
      const c = new CopyChecksum();
      c.add(bytes.subarray(0, cut));
      c.add(bytes.subarray(cut));
      assert.deepStrictEqual(c.result(), whole, `cut at ${cut}`);
    }
    const byByte = new CopyChecksum();
    for (const b of bytes) byByte.add(Buffer.from([b]));
    assert.deepStrictEqual(byByte.result(), whole);
  });

  it("data ends at the terminator line \\.; what follows it is not data; an escaped \\\\. is data", () => {
    assert.deepStrictEqual(sum("1\n2\n\\.\n\n\n"), sum("1\n2\n"));
    assert.deepStrictEqual(sum("1\n2\n\\.\n3\n"), sum("1\n2\n"));
    assert.equal(sum("\\\\.\n").rows, 1);
    assert.deepStrictEqual(sum("\\.\n"), { rows: 0, checksum: "0000000000000000" });
    assert.deepStrictEqual(sum(""), { rows: 0, checksum: "0000000000000000" });
  });

  it("a last line without its newline is a row (COPY TO STDOUT always ends lines; a cut file would not)", () => {
    assert.deepStrictEqual(sum("1\n2"), sum("1\n2\n"));
  });

  it("a dump file and its gzip (.dat.gz) give the stream's result", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "copy-checksum-"));
    try {
      const text = Array.from({ length: 5000 }, (_, i) => `${i}\trow ${i}`).join("\n") + "\n\\.\n\n\n";
      await writeFile(path.join(dir, "3001.dat"), text);
      await writeFile(path.join(dir, "3002.dat.gz"), gzipSync(Buffer.from(text)));
      const fromStream = await checksumStream(Readable.from([Buffer.from(text)]));
      assert.equal(fromStream.rows, 5000);
      assert.deepStrictEqual(await checksumDumpFile(path.join(dir, "3001.dat")), fromStream);
      assert.deepStrictEqual(await checksumDumpFile(path.join(dir, "3002.dat.gz")), fromStream);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("tool: manifest /4 and stream compression rules (pure)", () => {
  // backupSettings only reads the dump options; nothing is connected to.
  const options = (o: Partial<BackupOptions>): BackupOptions => ({
    connection: { host: "h", port: 5432, user: "u", database: "d" },
    store: { container: "c", connectionString: "UseDevelopmentStorage=true" },
    prefix: "p",
    ...o,
  });
  const databaseProperties = MINIMAL_DATABASE_PROPERTIES;
  const manifest = (tool: string, method: unknown, kind: "table" | "sequence" = "table"): string =>
    JSON.stringify({
      tool,
      backup: "b",
      database: "d",
      sourceServer: "s",
      snapshot: "x",
      takenAt: "t",
      ...(tool === MANIFEST_V2 ? {} : { databaseProperties }),
      ...(tool === MANIFEST_VERSION ? { tableOfContents: [] } : {}),
      relations: [
        {
          name: "app.t",
          kind,
          columns: "id integer",
          ...(tool === MANIFEST_VERSION ? { columnList: [{ name: "id", type: "integer" }] } : {}),
          rows: 1,
          checksum: "1",
          ...(kind === "sequence" ? { checksumAfter: "1" } : {}),
          ...(method === undefined ? {} : { method }),
        },
      ],
    });

  it("method copy is read on /5 and /4 tables; without a method, server-side checksums", () => {
    assert.equal(parseManifest(manifest(MANIFEST_VERSION, "copy"), "m").relations[0]!.method, "copy");
    assert.equal(parseManifest(manifest(MANIFEST_V4, "copy"), "m").relations[0]!.method, "copy");
    for (const v of [MANIFEST_VERSION, MANIFEST_V4, MANIFEST_V3, MANIFEST_V2]) {
      assert.equal(parseManifest(manifest(v, undefined), "m").relations[0]!.method, undefined, v);
    }
  });

  it("a method on a /3 or /2 manifest, on a sequence, or other than copy is refused, naming it", () => {
    const cases: [string, unknown, "table" | "sequence"][] = [
      [MANIFEST_V3, "copy", "table"],
      [MANIFEST_V2, "copy", "table"],
      [MANIFEST_VERSION, "copy", "sequence"],
      [MANIFEST_V4, "copy", "sequence"],
      [MANIFEST_VERSION, "server", "table"],
      [MANIFEST_V4, 1, "table"],
    ];
    for (const [tool, method, kind] of cases) {
      assert.throws(
        () => parseManifest(manifest(tool, method, kind), "m"),
        /^VerificationError: m is not a dr-data manifest: app\.t: method .* \(only "copy", on a \/4 or \/5 table\)$/,
        `${tool} ${String(method)} ${kind}`,
      );
    }
  });

  it("backup settings: directory defaults to -Z 0 plus zstd:1 on the stream; custom to -Z 1 and none", () => {
    const pick = (o: Partial<BackupOptions>) => {
      const s = backupSettings(options(o));
      return [s.format, s.compress, s.streamCompress ?? "none"];
    };
    assert.deepStrictEqual(pick({}), ["directory", "0", "zstd:1"]);
    assert.deepStrictEqual(pick({ compress: "1" }), ["directory", "1", "none"]);
    assert.deepStrictEqual(pick({ streamCompress: "zstd:6" }), ["directory", "0", "zstd:6"]);
    assert.deepStrictEqual(pick({ streamCompress: "none" }), ["directory", "0", "none"]);
    assert.deepStrictEqual(pick({ format: "custom" }), ["custom", "1", "none"]);
  });

  it("a bad --stream-compress is a UsageError naming the flag, the allowed values and the value", () => {
    const settings = (o: Partial<BackupOptions>) => backupSettings(options(o));
    for (const bad of ["zstd", "zstd:0", "zstd:20", "gzip:1", "lz4", ""]) {
      assert.throws(
        () => settings({ streamCompress: bad }),
        new RegExp(
          `^UsageError: --stream-compress ${JSON.stringify(bad)}: allowed values are zstd:1 … zstd:19 or none$`,
        ),
        bad,
      );
    }
    assert.throws(
      () => settings({ format: "custom", streamCompress: "zstd:1" }),
      /^UsageError: --stream-compress zstd:1 needs the directory format \(got --format custom\)$/,
    );
  });

  it("metadata streamcompress round-trips, and is refused when malformed or beside the custom format", () => {
    const plain: BackupMetadata = {
      sha256: "a".repeat(64),
      size: 10,
      sourceServer: "srv",
      database: "app",
      serverVersion: "15.18",
      pgDumpVersion: "15.18",
      format: "directory",
      compress: "0",
      startedAt: "2026-12-04T01:00:00.000Z",
      endedAt: "2026-12-04T01:00:01.000Z",
    };
    const meta: BackupMetadata = { ...plain, streamCompress: "zstd:1" };
    const raw = toBlobMetadata(meta);
    assert.equal(raw.streamcompress, "zstd:1");
    assert.deepStrictEqual(parseBlobMetadata(raw), { ok: true, value: meta });
    assert.deepStrictEqual(parseBlobMetadata(toBlobMetadata(plain)), { ok: true, value: plain });
    assert.deepStrictEqual(parseBlobMetadata({ ...raw, streamcompress: "zstd:99" }), {
      ok: false,
      problems: ['metadata streamcompress must be zstd:1 … zstd:19, got "zstd:99"'],
    });
    assert.deepStrictEqual(parseBlobMetadata({ ...raw, format: "custom" }), {
      ok: false,
      problems: ["metadata streamcompress is only used with the directory format, got format custom"],
    });
  });
});

describe("tool: the directory upload's tar", () => {
  it("tar reads the names from stdin (NUL-separated, no recursion) and runs zstd itself when compressed", () => {
    const names = ["-C", "/scratch/d", "--no-recursion", "--null", "--verbatim-files-from", "-T", "-"];
    assert.deepStrictEqual(tarStreamArgv("/scratch/d", "zstd:1"), [
      "-I",
      "zstd -q -1 -T0",
      "-cf",
      "-",
      ...names,
    ]);
    assert.deepStrictEqual(tarStreamArgv("/scratch/d", "zstd:19").slice(0, 2), ["-I", "zstd -q -19 -T0"]);
    assert.deepStrictEqual(tarStreamArgv("/scratch/d", undefined), ["-cf", "-", ...names]);
  });

  it("a table's file is handed over on pg_dump's `finished item … TABLE DATA` line, and on no other", () => {
    const cases: [string, number | undefined][] = [
      ["pg_dump: finished item 3289 TABLE DATA events", 3289],
      ["pg_dump: finished item 7 TABLE DATA my table", 7],
      ["pg_dump: finished item 3296 BLOBS BLOBS", undefined],
      ['pg_dump: dumping contents of table "app.events"', undefined],
      ["pg_restore: finished item 3289 TABLE DATA events", undefined],
      ["pg_dump: error: finished item 1 TABLE DATA x", undefined],
    ];
    for (const [line, id] of cases) assert.equal(finishedDataEntry("pg_dump", line), id, line);
    // The same line of pg_restore's, which the restore's overlapped check reads.
    assert.equal(finishedDataEntry("pg_restore", "pg_restore: finished item 3289 TABLE DATA events"), 3289);
    assert.equal(finishedDataEntry("pg_restore", "pg_dump: finished item 3289 TABLE DATA events"), undefined);
  });

  it("progress reads a process's rchar from /proc; an unreadable file gives undefined", () => {
    const before = readRchar("/proc/self/io");
    assert.equal(typeof before, "number");
    readFileSync("/proc/self/status");
    assert.ok(readRchar("/proc/self/io")! > before!);
    assert.equal(readRchar("/proc/0/io"), undefined);
  });
});
