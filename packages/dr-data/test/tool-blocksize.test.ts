/**
 * Block sizes chosen from the expected size (packages/dr-data/src/blobio.ts `chooseBlockSize`): every backup fits Azure's
 * 50,000 blocks with 4× headroom, and one that cannot fit is refused before anything runs, naming the limit.
 */
import { strict as assert } from "node:assert";
import { chooseBlockSize, MAX_BLOCKS, MAX_BLOCK_SIZE } from "../src/blobio";
import { UsageError } from "../src/errors";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

describe("tool: block size from the expected size", () => {
  const cases: [string, number, number][] = [
    ["an empty database: the 8 MiB minimum", 0, 8],
    ["10 GiB: the minimum", 10 * GiB, 8],
    ["100 GiB: 400 GiB / 50,000 rounded up to a MiB", 100 * GiB, 9],
    ["500 GB", 500e9, 39],
    ["47 TiB: just under 4000 MiB", 47 * TiB, 3943],
  ];
  for (const [name, expected, mib] of cases) {
    it(name, () => {
      const plan = chooseBlockSize(expected);
      assert.deepStrictEqual(plan, { blockSize: mib * MiB, maxBytes: mib * MiB * MAX_BLOCKS });
      assert.ok(plan.maxBytes >= 4 * expected);
      assert.ok(plan.blockSize <= MAX_BLOCK_SIZE);
    });
  }

  it("a backup that cannot fit 50,000 blocks of 4000 MiB is refused, naming the limit", () => {
    assert.throws(
      () => chooseBlockSize(48 * TiB),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message ===
          "this backup is expected to be 48.0 TiB: a block blob holds at most 50,000 blocks of 4000 MiB " +
            "(190.7 TiB), which is less than 4× that; nothing was started",
    );
  });

  it("an explicit block size is kept when it fits, and refused with the smallest that would", () => {
    assert.deepStrictEqual(chooseBlockSize(1 * GiB, 1 * MiB), { blockSize: MiB, maxBytes: MiB * MAX_BLOCKS });
    assert.throws(
      () => chooseBlockSize(20 * GiB, 1 * MiB),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message ===
          "--block-size-mib 1: 50,000 blocks (Azure's limit per blob) of it hold 48.8 GiB, less than 4× this " +
            "backup's expected 20.0 GiB; allowed: at least 2 MiB, or leave it out",
    );
    assert.throws(() => chooseBlockSize(0, MAX_BLOCK_SIZE + 1), /block size must be 1 byte to 4000 MiB/);
  });

  it("a size that is not a number of bytes is an error", () => {
    assert.throws(() => chooseBlockSize(Number.NaN), /expected size must be a number of bytes ≥ 0, got NaN/);
    assert.throws(() => chooseBlockSize(-1), /got -1/);
  });
});
