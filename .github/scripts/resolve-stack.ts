/**
 * The DR step's stack input, checked before any job with credentials starts: it must name a committed stack
 * (`Pulumi.<stack>.yaml` at the repository's root), exactly as written. Prints the stack and its environment
 * (dev/fleet/environment.ts): the GitHub environment the step runs in and the policy config it passes.
 *
 *   npx tsx .github/scripts/resolve-stack.ts --stack=<stack>   → writes stack=<stack> and environment=<env> to
 *   $GITHUB_OUTPUT (and prints them)
 */
import { appendFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { parseFlags, UsageError } from "@service-dr/dr-data";
import { stackEnvironment } from "../../dev/fleet/environment";
import { stacksIn } from "./affected-stacks";

const ROOT = path.resolve(__dirname, "..", "..");

/** `stack` when it is a committed stack's name, else a UsageError listing the committed ones. */
export function committedStack(projectDir: string, stack: string): string {
  const stacks = stacksIn(readdirSync(projectDir));
  if (!stacks.includes(stack))
    throw new UsageError(
      `stack ${JSON.stringify(stack)} is not a committed stack (no Pulumi.${stack}.yaml at the repository's root); one of: ${stacks.join(", ")}`,
    );
  return stack;
}

export function main(argv: readonly string[], projectDir: string = ROOT): string[] {
  const flags = parseFlags("resolve-stack", argv, { stack: { type: "string" } } as const);
  const stack = committedStack(projectDir, flags.stack ?? "");
  return [`stack=${stack}`, `environment=${stackEnvironment(projectDir, stack)}`];
}

if (require.main === module) {
  try {
    const lines = main(process.argv.slice(2));
    process.stdout.write(lines.map((l) => `${l}\n`).join(""));
    if (process.env.GITHUB_OUTPUT !== undefined)
      appendFileSync(process.env.GITHUB_OUTPUT, lines.map((l) => `${l}\n`).join(""));
  } catch (e) {
    process.stderr.write(`resolve-stack: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
}
