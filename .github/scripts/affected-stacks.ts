/**
 * Which stacks a change touches (the PR preview and the push-to-main up run only those):
 * `Pulumi.<stack>.yaml` touches that stack; a shared ESC environment definition (`environments/<project>/<env>.yaml`)
 * touches every stack that imports it, directly (the stack file's `environment:`) or through another
 * environment's `imports:`; anything the program or the policy pack is made of touches every stack (with the
 * names it imports from the data tool's package); documentation, the rest of the data tool, tests and the dev
 * tooling touch none. Also: the changed environment definitions to push to Pulumi Cloud before the ups, each
 * with the GitHub environment it is pushed from.
 *
 *   npx tsx .github/scripts/affected-stacks.ts --base=<sha> --head=<sha>   → writes to $GITHUB_OUTPUT (and prints)
 *     stacks=["staging",…]
 *     matrix={"include":[{"stack":"staging","environment":"staging"},…]}
 *     definitions={"include":[{"name":"service-dr/staging","file":"environments/service-dr/staging.yaml","environment":"staging"}]}
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { parseFlags, UsageError } from "@service-dr/dr-data";
import { environmentNameOf, importClosure, stackEnvironment } from "../../dev/fleet/environment";

const ROOT = path.resolve(__dirname, "..", "..");

/** Files outside `Pulumi.<stack>.yaml` and `environments/` that change what `pulumi preview` shows for every stack. */
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

/** A committed stack: its environment (GitHub environment, policy config) and every ESC environment it imports. */
export interface StackInfo {
  readonly stack: string;
  readonly environment: string;
  /** Direct and transitive imports (dev/fleet/environment.ts, importClosure). */
  readonly imports: readonly string[];
}

export function stacksIn(files: readonly string[]): string[] {
  return files
    .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The committed stacks of `projectDir`, each with its environment and imports. */
export function fleet(projectDir: string): StackInfo[] {
  return stacksIn(readdirSync(projectDir)).map((stack) => ({
    stack,
    environment: stackEnvironment(projectDir, stack),
    imports: importClosure(projectDir, stack),
  }));
}

export function affectedStacks(changed: readonly string[], stacks: readonly StackInfo[]): string[] {
  if (changed.some((f) => PROGRAM_PATHS.some((re) => re.test(f)))) return stacks.map((s) => s.stack).sort();
  const touched = new Set(stacksIn(changed));
  const definitions = changed.map(environmentNameOf).filter((n): n is string => n !== undefined);
  return stacks
    .filter((s) => touched.has(s.stack) || definitions.some((d) => s.imports.includes(d)))
    .map((s) => s.stack)
    .sort();
}

/** A changed environment definition to push (`pulumi env edit <org>/<name> --file <file>`), from `environment`. */
export interface Push {
  readonly name: string;
  readonly file: string;
  readonly environment: string;
}

/**
 * The changed definitions to push, and why any other is left to a person: a deleted one (removing an environment
 * in Pulumi Cloud is not undone by a revert), or one no stack imports or stacks of several GitHub environments
 * import (no single environment's credentials and approvals to push it with).
 */
export function definitionsToPush(
  changed: readonly string[],
  stacks: readonly StackInfo[],
  exists: (file: string) => boolean,
): { push: Push[]; manual: string[] } {
  const push: Push[] = [];
  const manual: string[] = [];
  for (const file of [...new Set(changed)].sort()) {
    const name = environmentNameOf(file);
    if (name === undefined) continue;
    const envs = [
      ...new Set(stacks.filter((s) => s.imports.includes(name)).map((s) => s.environment)),
    ].sort();
    if (!exists(file))
      manual.push(`${name}: ${file} was deleted; remove the environment in Pulumi Cloud by hand`);
    else if (envs.length !== 1)
      manual.push(
        `${name}: imported by stacks of ${envs.length === 0 ? "no" : envs.join(" and ")} GitHub environment${envs.length === 1 ? "" : "s"}; push it by hand (pulumi env edit <org>/${name} --file ${file})`,
      );
    else push.push({ name, file, environment: envs[0]! });
  }
  return { push, manual };
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

export function main(
  argv: readonly string[],
  changedFiles: ChangedFiles = gitDiff,
  projectDir: string = ROOT,
): string[] {
  const { base, head } = parseRange(argv);
  const changed = changedFiles(base, head);
  const stacks = fleet(projectDir);
  const affected = affectedStacks(changed, stacks);
  const include = stacks
    .filter((s) => affected.includes(s.stack))
    .map((s) => ({ stack: s.stack, environment: s.environment }));
  const { push, manual } = definitionsToPush(changed, stacks, (f) => existsSync(path.join(projectDir, f)));
  return [
    `stacks=${JSON.stringify(affected)}`,
    `matrix=${JSON.stringify({ include })}`,
    `definitions=${JSON.stringify({ include: push })}`,
    ...manual.map((m) => `::warning::${m}`),
  ];
}

if (require.main === module) {
  try {
    const lines = main(process.argv.slice(2));
    process.stdout.write(lines.map((l) => `${l}\n`).join(""));
    // Workflow commands (::warning::) go to stdout only; outputs to $GITHUB_OUTPUT.
    const outputs = lines.filter((l) => !l.startsWith("::"));
    if (process.env.GITHUB_OUTPUT !== undefined)
      appendFileSync(process.env.GITHUB_OUTPUT, outputs.map((l) => `${l}\n`).join(""));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
}
