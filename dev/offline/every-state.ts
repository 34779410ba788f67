/**
 * The offline plan of every committed stack in every runbook state, text and JSON, one file each, at a pinned
 * clock: the record a refactoring compares before and after (it must be byte-identical).
 *
 *   npx tsx dev/offline/every-state.ts <out-dir> [<project-dir>]
 *
 * `<project-dir>` (default: this checkout) is the tree whose `npm run plan` is run, e.g. a worktree of the
 * commit before the change: `diff -r <before> <after>` then shows every difference.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { ALL_STATES } from "../../test/support/dr-states";

const NOW = "2026-11-24T15:00:00Z";

function stacksOf(projectDir: string): string[] {
  return readdirSync(projectDir)
    .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

function plan(projectDir: string, stack: string, sets: readonly string[], json: boolean): string {
  const args = ["tsx", "dev/offline/plan-cli.ts", "--stack", stack, "--now", NOW];
  for (const s of sets) args.push("--set", s);
  if (json) args.push("--json");
  try {
    return execFileSync("npx", args, {
      cwd: projectDir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    // A refused state is part of the record too: its exit status and what it printed.
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return `exit ${err.status ?? "?"}\n${err.stdout ?? ""}${err.stderr ?? ""}`;
  }
}

function main(argv: readonly string[]): void {
  const [outDir, projectArg] = argv;
  if (outDir === undefined) throw new Error("usage: every-state.ts <out-dir> [<project-dir>]");
  const projectDir = path.resolve(projectArg ?? path.join(__dirname, "..", ".."));
  mkdirSync(outDir, { recursive: true });
  for (const stack of stacksOf(projectDir)) {
    for (const [state, sets] of ALL_STATES) {
      const base = path.join(outDir, `${stack}--${state.replace(/ /g, "-")}`);
      writeFileSync(`${base}.txt`, plan(projectDir, stack, sets, false));
      writeFileSync(`${base}.json`, plan(projectDir, stack, sets, true));
    }
  }
}

main(process.argv.slice(2));
