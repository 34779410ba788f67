/**
 * The "DR step" workflow's config change: a named runbook step, or the `pulumi config …` commands the
 * stack's `nextStep` output printed (copied as they are), turned into `pulumi config set/rm` runs on the
 * stack. Anything that is not a config change (`pulumi refresh`, "point the app at …") is refused: those are
 * separate actions (docs/runbook.md). The program validates the result on the preview that follows.
 *
 *   npx tsx .github/scripts/dr-step.ts --stack <org>/<stack> (--step <name> [--incident-id <id>] [--restore-time <t>]
 *       | --change "<pulumi config … && pulumi config …>") [--dry-run]
 */
import { execFileSync } from "node:child_process";

export type ConfigOp =
  | { readonly op: "set"; readonly path: boolean; readonly key: string; readonly value: string }
  | { readonly op: "rm"; readonly path: boolean; readonly key: string };

export interface StepInput {
  readonly step?: string | undefined;
  readonly incidentId?: string | undefined;
  readonly restoreTime?: string | undefined;
  readonly change?: string | undefined;
}

const set = (key: string, value: string, path = false): ConfigOp => ({ op: "set", path, key, value });

/** The runbook's steps by name (docs/runbook.md, "From GitHub"); each is exactly what nextStep asks for. */
export const NAMED_STEPS: Readonly<Record<string, (i: StepInput) => ConfigOp[]>> = {
  "ptr-declare": (i) => [
    set("incidentId", need(i.incidentId, "incident-id")),
    set("drMode", "ptr"),
    set("drPhase", "isolate"),
  ],
  "ptr-restore-time": (i) => [set("ptr.restoreTime", need(i.restoreTime, "restore-time"), true)],
  "rebuild-declare": (i) => [
    set("incidentId", need(i.incidentId, "incident-id")),
    set("drMode", "rebuild"),
    set("drPhase", "isolate"),
  ],
  restore: () => [set("drPhase", "restore")],
  validate: () => [set("drPhase", "validate")],
  "maintenance-off": () => [set("maintenance", "false")],
  unfreeze: () => [set("freeze", "false")],
};

function need(value: string | undefined, input: string): string {
  if (value === undefined || value.trim() === "") throw new Error(`this step needs the ${input} input`);
  return value.trim();
}

/** One `pulumi config set|rm [--path] key [value]`; quotes as a shell would read them ('…' or "…"). */
function parseCommand(text: string): ConfigOp {
  const words = [...text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
  const refuse = (): never => {
    throw new Error(
      `not a config change: ${JSON.stringify(text)} (only "pulumi config set [--path] <key> <value>" and "pulumi config rm [--path] <key>"; run anything else as its own step, docs/runbook.md)`,
    );
  };
  if (words[0] !== "pulumi" || words[1] !== "config") refuse();
  const verb = words[2];
  const rest = words.slice(3);
  const path = rest[0] === "--path";
  const args = path ? rest.slice(1) : rest;
  if (args.some((a) => a.startsWith("-"))) refuse();
  if (verb === "set" && args.length === 2) return set(args[0]!, args[1]!, path);
  if (verb === "rm" && args.length === 1) return { op: "rm", path, key: args[0]! };
  return refuse();
}

export function stepOps(i: StepInput): ConfigOp[] {
  const step = i.step ?? "";
  const hasStep = step !== "" && step !== "custom";
  const hasChange = i.change !== undefined && i.change.trim() !== "";
  if (hasStep === hasChange)
    throw new Error("give either a named step or a config change (the nextStep commands), not both");
  if (hasStep) {
    const named = NAMED_STEPS[step];
    if (named === undefined)
      throw new Error(
        `unknown step ${JSON.stringify(i.step)}; one of: ${Object.keys(NAMED_STEPS).join(", ")}`,
      );
    return named(i);
  }
  // nextStep joins commands with "&&" and ends with "pulumi up": the workflow runs the up itself.
  return i
    .change!.split(/&&|\n/)
    .map((c) => c.trim().replace(/\.$/, ""))
    .filter((c) => c !== "" && !/^pulumi up\b/.test(c))
    .map(parseCommand);
}

/** The `pulumi` argv of one op on a stack. */
export function pulumiArgv(stack: string, op: ConfigOp): string[] {
  const base = ["config", op.op, "--stack", stack, ...(op.path ? ["--path"] : [])];
  return op.op === "set" ? [...base, op.key, op.value] : [...base, op.key];
}

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

/** A stack as the Pulumi CLI names it: `stack`, `org/stack` or `org/project/stack` (the workflow passes `org/stack`). */
export const STACK_NAME = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+){0,2}$/;

export function main(argv: readonly string[]): void {
  const stack = flag(argv, "--stack");
  if (stack === undefined || !STACK_NAME.test(stack))
    throw new Error(
      `--stack must be <stack>, <org>/<stack> or <org>/<project>/<stack> (letters, digits, _ . -), got ${JSON.stringify(stack ?? null)}`,
    );
  const ops = stepOps({
    step: flag(argv, "--step"),
    incidentId: flag(argv, "--incident-id"),
    restoreTime: flag(argv, "--restore-time"),
    change: flag(argv, "--change"),
  });
  for (const op of ops) {
    const cmd = pulumiArgv(stack, op);
    process.stdout.write(`pulumi ${cmd.join(" ")}\n`);
    if (!argv.includes("--dry-run")) execFileSync("pulumi", cmd, { stdio: "inherit" });
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`dr-step: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
