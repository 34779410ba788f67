/**
 * Progress lines (bytes, rate, ETA; `≈` when the total is an estimate) and the exact size of the tar stream a
 * directory-format backup uploads, which makes its upload ETA exact.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tarSize } from "../tool/backup";
import { Progress } from "../tool/progress";

describe("tool: progress", () => {
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
