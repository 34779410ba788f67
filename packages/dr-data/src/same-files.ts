/**
 * Whether two flat directories hold the same files, byte for byte: `restore --from-copy` restores the dump's
 * own directory, and its stored copy — read back from storage and unpacked — must be exactly those files, or
 * the evidence would not be what was restored (verify.ts `sameFilesAs`).
 */
import { open, readdir } from "node:fs/promises";
import path from "node:path";

const CHUNK = 4 * 1024 * 1024;
/** Differences shown in full; the rest are counted. */
const SHOWN = 10;

/**
 * The differences between `a` and `b`: entries only in one (sorted), entries that are not regular files (a dump
 * directory holds none, so one is a difference, never skipped), files whose bytes differ; empty when equal.
 */
export async function fileDifferences(
  a: string,
  b: string,
  labels: readonly [string, string],
): Promise<string[]> {
  const [inA, inB] = await Promise.all([entries(a), entries(b)]);
  const only = (x: Map<string, boolean>, y: Map<string, boolean>, label: string) =>
    [...x.keys()]
      .filter((f) => !y.has(f))
      .sort()
      .map((f) => `${f} only in ${label}`);
  const out: string[] = [...only(inA, inB, labels[0]), ...only(inB, inA, labels[1])];
  for (const f of [...inA.keys()].filter((x) => inB.has(x)).sort()) {
    if (inA.get(f) !== true || inB.get(f) !== true) out.push(`${f} is not a regular file on both sides`);
    else if (!(await sameBytes(path.join(a, f), path.join(b, f)))) out.push(`${f} differs`);
  }
  return out;
}

/** The differences as one line: the first SHOWN, then how many more. */
export function describeFileDifferences(differences: readonly string[]): string {
  const more = differences.length - SHOWN;
  return differences.slice(0, SHOWN).join("; ") + (more > 0 ? `; … ${more} more` : "");
}

/** Every entry of `dir` by name: whether it is a regular file. */
async function entries(dir: string): Promise<Map<string, boolean>> {
  return new Map((await readdir(dir, { withFileTypes: true })).map((e) => [e.name, e.isFile()]));
}

/** Equal sizes and equal bytes, read in chunks from both files; a file that ends early differs. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const fa = await open(a, "r");
  try {
    const fb = await open(b, "r");
    try {
      const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
      if (sa.size !== sb.size) return false;
      const [ba, bb] = [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)];
      for (let at = 0; at < sa.size;) {
        const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, at), fb.read(bb, 0, CHUNK, at)]);
        const n = ra.bytesRead;
        if (n === 0 || n !== rb.bytesRead || !ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
        at += n;
      }
      return true;
    } finally {
      await fb.close();
    }
  } finally {
    await fa.close();
  }
}
