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

/** The differences between `a` and `b` (file names only in one, files whose bytes differ); empty when equal. */
export async function fileDifferences(
  a: string,
  b: string,
  labels: readonly [string, string],
): Promise<string[]> {
  const [inA, inB] = await Promise.all([regularFiles(a), regularFiles(b)]);
  const out: string[] = [
    ...[...inA].filter((f) => !inB.has(f)).map((f) => `${f} only in ${labels[0]}`),
    ...[...inB].filter((f) => !inA.has(f)).map((f) => `${f} only in ${labels[1]}`),
  ];
  for (const f of [...inA].filter((x) => inB.has(x)).sort()) {
    if (!(await sameBytes(path.join(a, f), path.join(b, f)))) out.push(`${f} differs`);
  }
  return out;
}

/** The differences as one line: the first SHOWN, then how many more. */
export function describeFileDifferences(differences: readonly string[]): string {
  const more = differences.length - SHOWN;
  return differences.slice(0, SHOWN).join("; ") + (more > 0 ? `; … ${more} more` : "");
}

async function regularFiles(dir: string): Promise<Set<string>> {
  return new Set((await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name));
}

/** Equal sizes and equal bytes, read in chunks from both files at once. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
    if (sa.size !== sb.size) return false;
    const [ba, bb] = [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)];
    for (let at = 0; at < sa.size; at += CHUNK) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, at), fb.read(bb, 0, CHUNK, at)]);
      if (
        ra.bytesRead !== rb.bytesRead ||
        !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))
      ) {
        return false;
      }
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
