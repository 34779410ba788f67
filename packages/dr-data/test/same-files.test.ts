/** same-files.ts: two flat directories compared file for file and byte for byte (real files, a temp dir). */
import { strict as assert } from "node:assert";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describeFileDifferences, fileDifferences } from "../src/same-files";

describe("tool: same files (the stored dump against the directory restored)", () => {
  let root: string;
  const dirs = async (files: Record<string, Record<string, string | Buffer>>) => {
    for (const [d, content] of Object.entries(files)) {
      await mkdir(path.join(root, d));
      for (const [f, bytes] of Object.entries(content)) await writeFile(path.join(root, d, f), bytes);
    }
    return (d: string) => path.join(root, d);
  };
  beforeEach(async () => (root = await mkdtemp(path.join(os.tmpdir(), "same-files-"))));
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it("equal directories: no difference", async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 7); // over two read chunks
    const at = await dirs({ a: { "toc.dat": "t", "1.dat": big }, b: { "toc.dat": "t", "1.dat": big } });
    assert.deepStrictEqual(await fileDifferences(at("a"), at("b"), ["A", "B"]), []);
  });

  it("a byte changed past the first chunk, a size, a file only on one side: each named", async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 7);
    const changed = Buffer.from(big);
    changed[8 * 1024 * 1024 + 3] = 8;
    const at = await dirs({
      a: { "1.dat": big, "2.dat": "abc", "3.dat": "x" },
      b: { "1.dat": changed, "2.dat": "abcd", "4.dat": "y" },
    });
    assert.deepStrictEqual(await fileDifferences(at("a"), at("b"), ["storage", "the restored dump"]), [
      "3.dat only in storage",
      "4.dat only in the restored dump",
      "1.dat differs",
      "2.dat differs",
    ]);
  });

  it("an entry that is not a regular file is a difference, never skipped", async () => {
    const at = await dirs({ a: { "toc.dat": "t" }, b: { "toc.dat": "t" } });
    await mkdir(path.join(at("a"), "sub"));
    await mkdir(path.join(at("b"), "sub"));
    await symlink(path.join(at("b"), "toc.dat"), path.join(at("b"), "link"));
    assert.deepStrictEqual(await fileDifferences(at("a"), at("b"), ["A", "B"]), [
      "link only in B",
      "sub is not a regular file on both sides",
    ]);
  });

  it("describes at most ten, then counts the rest", () => {
    const many = Array.from({ length: 12 }, (_, i) => `${i}.dat differs`);
    assert.equal(describeFileDifferences(many), `${many.slice(0, 10).join("; ")}; … 2 more`);
  });
});
