/**
 * Progress lines (bytes, rate, ETA; `≈` when the total is an estimate) and the exact size of the tar stream a
 * directory-format backup uploads, which makes its upload ETA exact.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tarSize } from "../src/backup";
import { ArchiveProgress, CountProgress, formatBytes, Progress } from "../src/progress";

describe("tool: progress", () => {
  for (const [bytes, text] of [
    [0, "0 B"],
    [65.04065040650407, "65 B"],
    [1023.6, "1024 B"],
    [1024, "1.0 KiB"],
    [1.5 * 1024 * 1024, "1.5 MiB"],
    [390.625 * 1024 ** 3, "390.6 GiB"],
  ] as const) {
    it(`formatBytes(${bytes}) is ${text} (a slow rate below 1 KiB/s prints whole bytes)`, () => {
      assert.equal(formatBytes(bytes), text);
    });
  }

  /** A Progress whose clock is pinned by faking Date.now for the duration of `f`. */
  function lines(total: ConstructorParameters<typeof Progress>[2], steps: Array<[number, number]>): string[] {
    const out: string[] = [];
    const realNow = Date.now;
    let t = 1_000_000;
    Date.now = () => t;
    try {
      const p = new Progress("up", (l) => out.push(l), total, 0);
      for (const [ms, bytes] of steps) {
        t += ms;
        p.add(bytes);
      }
    } finally {
      Date.now = realNow;
    }
    return out;
  }

  it("an exact total: percentage, rate and ETA", () => {
    assert.deepStrictEqual(lines(100 * 1024 * 1024, [[2000, 20 * 1024 * 1024]]), [
      "up: 20.0 MiB of 100.0 MiB (20%), 10.0 MiB/s, ETA 8.0 s",
    ]);
  });

  it("an estimated total is marked ≈ and says where it comes from; past it the ETA is unknown", () => {
    const est = { bytes: 100 * 1024 * 1024, estimatedFrom: "the previous backup b" };
    assert.deepStrictEqual(
      lines(est, [
        [2000, 50 * 1024 * 1024],
        [2000, 70 * 1024 * 1024],
      ]),
      [
        "up: 50.0 MiB of ≈100.0 MiB (≈50%), 25.0 MiB/s, ETA ≈2.0 s (estimated from the previous backup b)",
        "up: 120.0 MiB of ≈100.0 MiB (≈100%), 30.0 MiB/s, ETA ≈? (estimated from the previous backup b)",
      ],
    );
  });

  it("no total: bytes, rate and elapsed time", () => {
    assert.deepStrictEqual(lines(undefined, [[4000, 8 * 1024 * 1024]]), [
      "up: 8.0 MiB, 2.0 MiB/s, 4.0 s elapsed",
    ]);
  });

  it("tarSize is the length of the stream `tar -cf - -C dir .` writes", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "dr-tarsize-"));
    try {
      for (const [name, size] of [
        ["toc.dat", 1234],
        ["3001.dat.gz", 0],
        ["3002.dat.gz", 512],
        ["3003.dat.gz", 200_000],
      ] as const) {
        writeFileSync(path.join(dir, name), Buffer.alloc(size, 7));
      }
      const stream = execFileSync("tar", ["-cf", "-", "-C", dir, "."], { maxBuffer: 16 * 1024 * 1024 });
      assert.equal(await tarSize(dir), stream.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("tool: pg_restore's progress from the table of contents", () => {
  const toc = [
    ";",
    "; Archive created at 2026-12-04 03:59:00 UTC",
    "215; 1259 16390 TABLE app accounts dr",
    "3293; 0 16390 TABLE DATA app accounts dr",
    "3294; 0 16398 TABLE DATA app events dr",
    "3136; 1259 16420 INDEX app accounts_email_idx dr",
  ].join("\n");
  const verbose = [
    "pg_restore: connecting to database for restore",
    "pg_restore: processing item 3303 ENCODING ENCODING",
    "pg_restore: processing item 215 TABLE accounts",
    'pg_restore: creating TABLE "app.accounts"',
    "pg_restore: entering main parallel loop",
    "pg_restore: launching item 3294 TABLE DATA events",
    'pg_restore: processing data for table "app.events"',
    "pg_restore: finished item 3294 TABLE DATA events",
  ];

  function at(ms: number, f: () => void): void {
    const realNow = Date.now;
    Date.now = () => ms;
    try {
      f();
    } finally {
      Date.now = realNow;
    }
  }

  it("entries done of the listed ones, data bytes, rate and ETA; its lines are consumed, others are not", () => {
    let p: ArchiveProgress | undefined;
    at(1_000_000, () => {
      p = new ArchiveProgress(
        toc,
        new Map([
          [3293, 3 * 1024 * 1024],
          [3294, 1024 * 1024],
          [9999, 5],
        ]),
        () => {},
      );
    });
    assert.deepStrictEqual(
      verbose.map((l) => p!.onLine(l)),
      [true, true, true, true, true, true, true, true],
    );
    assert.equal(p!.onLine("pg_restore: error: could not execute query: ERROR:  boom"), false);
    assert.equal(p!.onLine("ERROR:  boom"), false);
    assert.equal(
      p!.line(1_004_000),
      "restore: pg_restore 2 of 4 archive entries (50%), data 1.0 MiB of 4.0 MiB (25%), 256.0 KiB/s, " +
        "ETA of the data 12 s (then indexes and constraints), 4.0 s elapsed",
    );
  });

  it("without data sizes (custom format): entries per second", () => {
    let p: ArchiveProgress | undefined;
    at(1_000_000, () => {
      p = new ArchiveProgress(toc, new Map(), () => {});
    });
    for (const l of verbose) p!.onLine(l);
    // An entry counted once, however often it is named.
    p!.onLine("pg_restore: finished item 3294 TABLE DATA events");
    assert.equal(
      p!.line(1_002_000),
      "restore: pg_restore 2 of 4 archive entries (50%), 1.0 entries/s, ETA ≈2.0 s (entries differ in size), 2.0 s elapsed",
    );
  });
});

describe("tool: progress of the checks, counted in tables, at a steady interval", () => {
  it("done of total, rate and ETA; before the first table, that it started", () => {
    const realNow = Date.now;
    let p: CountProgress | undefined;
    Date.now = () => 1_000_000;
    try {
      p = new CountProgress("restore: contents check", "relations checksummed", () => {});
    } finally {
      Date.now = realNow;
    }
    assert.equal(p.line(1_002_000), "restore: contents check: started, 2.0 s elapsed");
    p.update(3, 12);
    assert.equal(
      p.line(1_006_000),
      "restore: contents check: 3 of 12 relations checksummed (25%), 0.50 relations checksummed/s, " +
        "ETA ≈18 s (relations checksummed differ in size), 6.0 s elapsed",
    );
  });

  it("logs every interval while nothing finishes, and stops", async () => {
    const out: string[] = [];
    const p = new CountProgress("backup: manifest", "tables checksummed", (l) => out.push(l), 20).start();
    await new Promise((r) => setTimeout(r, 110));
    p.stop();
    const n = out.length;
    assert.ok(n >= 3, `${n} lines`);
    assert.ok(out.every((l) => /^backup: manifest: started, /.test(l)));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(out.length, n);
  });
});
