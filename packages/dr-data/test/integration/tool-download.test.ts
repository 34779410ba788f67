/**
 * The restore's download (packages/dr-data/src/blobio.ts `downloadVerifiedTo`) against Azurite: parallel range requests handed
 * on in order, hashed as they pass, and a checksum mismatch reported before a failing sink; and the upload's
 * staged blocks (`stageBlocks`), which two uploads to one blob name must not share.
 */
import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { Azurite } from "../../testkit/azurite";
import { sharedAzurite } from "../../testkit/shared";
import { downloadInto } from "../../src/archive";
import { downloadVerifiedTo, stageBlocks } from "../../src/blobio";
import { containerClient } from "../../src/blobstore";
import { VerificationError } from "../../src/errors";
import { Progress } from "../../src/progress";

const CONTAINER = "download";

describe("tool: ordered, hashed download", function () {
  this.timeout(60_000);
  let az: Azurite;
  // 1000 bytes more than 7 chunks of 4096: a short last chunk.
  const bytes = randomBytes(7 * 4096 + 1000);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const options = { chunkSize: 4096, concurrency: 3 };

  before(async () => {
    az = await sharedAzurite();
    await az.createContainer(CONTAINER);
    await containerClient(az.store(CONTAINER)).getBlockBlobClient("blob").upload(bytes, bytes.length);
  });

  const blob = () => containerClient(az.store(CONTAINER)).getBlobClient("blob");

  it("hands every byte to the sink in order, chunk by chunk, with several ranges in flight", async () => {
    const got: Buffer[] = [];
    let counted = 0;
    const r = await downloadVerifiedTo(
      blob(),
      async (c) => {
        got.push(Buffer.from(c));
        // A slow sink: later ranges complete meanwhile and must still come out in order.
        await new Promise((res) => setTimeout(res, 5));
      },
      { size: bytes.length, sha256 },
      { ...options, onBytes: (n) => (counted += n) },
    );
    assert.deepEqual(r, {});
    assert.equal(got.length, 8);
    assert.equal(Buffer.compare(Buffer.concat(got), bytes), 0);
    assert.equal(counted, bytes.length);
  });

  it("a wrong checksum is a VerificationError, even when the sink failed first", async () => {
    await assert.rejects(
      downloadVerifiedTo(
        blob(),
        () => Promise.reject(new Error("unpacker died")),
        { size: bytes.length, sha256: "0".repeat(64) },
        options,
      ),
      (err: unknown) =>
        err instanceof VerificationError && /sha256 [0-9a-f]{64} does not match/.test(err.message),
    );
  });

  it("a sink failure with a good checksum is returned for the caller to report", async () => {
    let calls = 0;
    const r = await downloadVerifiedTo(
      blob(),
      () => {
        calls++;
        return Promise.reject(new Error("unpacker died"));
      },
      { size: bytes.length, sha256 },
      options,
    );
    assert.equal(calls, 1, "a failed sink is not written to again");
    assert.match(String(r.sinkError), /unpacker died/);
  });

  it("a size other than the metadata's is refused before any byte is fetched", async () => {
    let calls = 0;
    await assert.rejects(
      downloadVerifiedTo(
        blob(),
        () => {
          calls++;
          return Promise.resolve();
        },
        { size: bytes.length + 1, sha256 },
        options,
      ),
      (err: unknown) => err instanceof VerificationError && /truncated or replaced/.test(err.message),
    );
    assert.equal(calls, 0);
  });

  it("two uploads staging under one blob name: each commits its own bytes, never the other's", async () => {
    // Two backups started in the same second have the same blob name. Both stage all their blocks before
    // either commits; had they the same block ids, the second staging would replace the first's blocks and
    // the first's commit would publish the second's bytes under the first's checksum.
    const client = containerClient(az.store(CONTAINER)).getBlockBlobClient("same-second");
    const first = randomBytes(3 * 4096);
    const second = randomBytes(3 * 4096);
    const stage = (data: Buffer) =>
      stageBlocks(client, Readable.from([data]), { blockSize: 4096, concurrency: 2 });
    const a = await stage(first);
    const b = await stage(second);
    assert.notDeepStrictEqual(a.blockIds, b.blockIds);
    await client.commitBlockList(a.blockIds, { conditions: { ifNoneMatch: "*" } });
    const committed = await client.downloadToBuffer();
    assert.equal(createHash("sha256").update(committed).digest("hex"), a.sha256);
    assert.deepStrictEqual(committed, first);
    await assert.rejects(client.commitBlockList(b.blockIds, { conditions: { ifNoneMatch: "*" } }));
    assert.deepStrictEqual(await client.downloadToBuffer(), first);
  });

  it("an upload past its block limit fails at that block, before staging it", async () => {
    const client = containerClient(az.store(CONTAINER)).getBlockBlobClient("too-many-blocks");
    let staged = 0;
    await assert.rejects(
      stageBlocks(client, Readable.from([randomBytes(3 * 4096 + 1)]), {
        blockSize: 4096,
        concurrency: 1,
        maxBlocks: 3,
        onBytes: (n) => (staged += n),
      }),
      /^Error: the dump outgrew 3 blocks of 4\.0 KiB \(Azure's limit per blob is 50,000 blocks\); nothing committed: rerun with a larger --block-size-mib$/,
    );
    assert.equal(staged, 3 * 4096);
    assert.equal(await client.exists(), false);
  });

  it("a zstd stream that is no tar is refused as not unpacking, with tar's own complaint", async () => {
    // The sha256 matches (the bytes are what was uploaded), so only the unpacking can tell.
    const plain = Buffer.alloc(32 * 1024 * 1024, "x");
    const z = spawnSync("zstd", ["-1", "-q", "-c", "-"], { input: plain, maxBuffer: 1 << 26 });
    assert.equal(z.status, 0, String(z.stderr));
    const packed = z.stdout;
    const client = containerClient(az.store(CONTAINER)).getBlockBlobClient("not-a-tar");
    await client.upload(packed, packed.length);
    const props = await client.getProperties();
    const dir = await mkdtemp(path.join(os.tmpdir(), "dr-data-download-test-"));
    try {
      await assert.rejects(
        downloadInto(
          client,
          {
            name: "not-a-tar",
            format: "directory",
            streamCompress: "zstd:1",
            expected: {
              size: packed.length,
              sha256: createHash("sha256").update(packed).digest("hex"),
              etag: props.etag,
            },
          },
          dir,
          { progress: new Progress("download", () => undefined), env: process.env },
        ),
        (err: unknown) =>
          err instanceof VerificationError &&
          /^not-a-tar does not unpack: tar exited with status 2: tar: This does not look like a tar archive/.test(
            err.message,
          ),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
