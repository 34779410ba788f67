/**
 * Which stacks a change touches (the PR preview and the push-to-main up run only those):
 * `Pulumi.<stack>.yaml` touches that stack; anything the program or the policy pack is made of touches every
 * stack (with the names it imports from the data tool's package); documentation, the rest of the data tool,
 * tests and the dev tooling touch none.
 *
 *   npx tsx .github/scripts/affected-stacks.ts --base=<sha> --head=<sha>   → writes stacks=["staging",…] to
 *   $GITHUB_OUTPUT (and prints it)
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { parseFlags, UsageError } from "@service-dr/dr-data";

const ROOT = path.resolve(__dirname, "..", "..");

/** Files outside `Pulumi.<stack>.yaml` that change what `pulumi preview` shows for every stack. */
const PROGRAM_PATHS: readonly RegExp[] = [
  /^Pulumi\.yaml$/,
  /^[^/]+\.ts$/, // index.ts
  /^(config|plan|stack)\//,
  /^components\//,
  /^policy\//,
  /^package(-lock)?\.json$/,
  /^tsconfig\.json$/,
  // The program imports the data tool's names and its argv/env contract from its package, and what those import
  // (test/workflows.test.ts walks the imports).
  /^packages\/dr-data\/package\.json$/,
  /^packages\/dr-data\/src\/(index|naming|contract|errors|flags)\.ts$/,
];

export function stacksIn(files: readonly string[]): string[] {
  return files
    .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export function affectedStacks(changed: readonly string[], allStacks: readonly string[]): string[] {
  if (changed.some((f) => PROGRAM_PATHS.some((re) => re.test(f)))) return [...allStacks].sort();
  const touched = new Set(stacksIn(changed));
  return allStacks.filter((s) => touched.has(s)).sort();
}

const FLAGS = { base: { type: "string" }, head: { type: "string" } } as const;

/** The two commits to compare; a usage problem is a UsageError naming the flag. */
export function parseRange(argv: readonly string[]): { base: string; head: string } {
  const flags = parseFlags("affected-stacks", argv, FLAGS);
  const missing = (["base", "head"] as const).filter((f) => (flags[f] ?? "") === "");
  if (missing.length > 0)
    throw new UsageError(
      `affected-stacks: ${missing.map((f) => `--${f}`).join(" and ")} ${missing.length === 1 ? "is" : "are"} required (the commits to compare: --base=<sha> --head=<sha>)`,
    );
  return { base: flags.base!, head: flags.head! };
}

/** The files changed between the commits (`git diff base...head`). */
export type ChangedFiles = (base: string, head: string) => string[];
const gitDiff: ChangedFiles = (base, head) =>
  execFileSync("git", ["diff", "--name-only", `${base}...${head}`], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((l) => l !== "");

export function main(argv: readonly string[], changedFiles: ChangedFiles = gitDiff): string {
  const { base, head } = parseRange(argv);
  const stacks = affectedStacks(changedFiles(base, head), stacksIn(readdirSync(ROOT)));
  return `stacks=${JSON.stringify(stacks)}`;
}

if (require.main === module) {
  try {
    const line = main(process.argv.slice(2));
    process.stdout.write(`${line}\n`);
    if (process.env.GITHUB_OUTPUT !== undefined) appendFileSync(process.env.GITHUB_OUTPUT, `${line}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
}
