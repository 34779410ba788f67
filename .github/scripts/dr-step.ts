/**
 * The "DR step" workflow's config change: a named runbook step, or the `pulumi config …` commands the
 * stack's `nextStep` output printed (copied as they are), turned into `pulumi config set/rm` runs on the
 * stack, then (with --preview) `pulumi preview --diff` with the policy pack. Anything that is not a config
 * change (`pulumi refresh`, "point the app at …") is refused: those are separate actions (docs/runbook.md).
 *
 * A DR step changes only the runbook's keys (DR_KEYS, DR_OBJECTS): anything else — the cluster, the
 * subscription, the data tool's image — is a pull request, reviewed and previewed like any code change,
 * because the DR step's commit lands on the default branch without one. Every operation is checked before
 * the first one runs, so a refused change touches nothing; values go to the CLI after `--`, never as flags.
 *
 *   npx tsx .github/scripts/dr-step.ts --stack=<org>/<stack> (--step=<name> [--incident-id=<id>]
 *       [--declared-at=<t>] [--restore-time=<t>] | --change="<pulumi config … && pulumi config …>") [--preview] [--dry-run]
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { parseFlags, UsageError } from "@service-dr/dr-data";
import { stackEnvironment } from "../../dev/fleet/environment";
import { policyConfigFile } from "../../policy/config-file";
import { committedStack } from "./resolve-stack";

const ROOT = path.resolve(__dirname, "..", "..");

export type ConfigOp =
  | { readonly op: "set"; readonly path: boolean; readonly key: string; readonly value: string }
  | { readonly op: "rm"; readonly path: boolean; readonly key: string };

export interface StepInput {
  readonly step?: string | undefined;
  readonly incidentId?: string | undefined;
  readonly restoreTime?: string | undefined;
  /** Optional with a declare step: when the incident was declared (`incidentDeclaredAt`, the report's RTO start). */
  readonly declaredAt?: string | undefined;
  readonly change?: string | undefined;
}

/** Scalar keys a DR step may set or remove (docs/runbook.md): the incident and the levers it pulls. */
export const DR_KEYS = [
  "drMode",
  "drPhase",
  "incidentId",
  "incidentDeclaredAt",
  "maintenance",
  "freeze",
  "stopService",
  "maintenanceMessage",
] as const;
/** Structured keys a DR step may change as a whole or by path (`ptr.restoreTime`, `ptr.tables[0]`, `retry.restore`). */
export const DR_OBJECTS = ["ptr", "rebuild", "retry"] as const;

const set = (key: string, value: string, path = false): ConfigOp => ({ op: "set", path, key, value });

/** The runbook's steps by name (docs/runbook.md, "From GitHub"); each is exactly what nextStep asks for. */
export const NAMED_STEPS: Readonly<Record<string, (i: StepInput) => ConfigOp[]>> = {
  "ptr-declare": (i) => [
    set("incidentId", need(i.incidentId, "incident-id")),
    ...declaredAt(i),
    set("drMode", "ptr"),
    set("drPhase", "isolate"),
  ],
  "ptr-restore-time": (i) => [set("ptr.restoreTime", need(i.restoreTime, "restore-time"), true)],
  "rebuild-declare": (i) => [
    set("incidentId", need(i.incidentId, "incident-id")),
    ...declaredAt(i),
    set("drMode", "rebuild"),
    set("drPhase", "isolate"),
  ],
  restore: () => [set("drPhase", "restore")],
  validate: () => [set("drPhase", "validate")],
  "maintenance-off": () => [set("maintenance", "false")],
  unfreeze: () => [set("freeze", "false")],
};

/** The declaration time, when the declare step was given one (the config checks it: zone, DST, not future). */
function declaredAt(i: StepInput): ConfigOp[] {
  const at = i.declaredAt?.trim() ?? "";
  return at === "" ? [] : [set("incidentDeclaredAt", at)];
}

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
  // Another flag (--secret, --config-file, …) makes a word too many, or is taken for the key or the value,
  // which opProblem then refuses as flag-like.
  if (verb === "set" && args.length === 2) return set(args[0]!, args[1]!, path);
  if (verb === "rm" && args.length === 1) return { op: "rm", path, key: args[0]! };
  return refuse();
}

const PATH_KEY = new RegExp(`^(${DR_OBJECTS.join("|")})((\\.[A-Za-z][A-Za-z0-9]*)|(\\[[0-9]+\\]))*$`);
const CONTROL = /[\u0000-\u001f\u007f]/;

/** What is wrong with one operation, or undefined: the allow-list, then flag-like or unprintable text. */
export function opProblem(op: ConfigOp): string | undefined {
  const shown = JSON.stringify(op.key);
  if (op.key.startsWith("-"))
    return `key ${shown} starts with "-": refused (it would be read as a flag, e.g. --dry-run)`;
  const top = /^[^.[]*/.exec(op.key)![0];
  const scalar = (DR_KEYS as readonly string[]).includes(top);
  const object = (DR_OBJECTS as readonly string[]).includes(top);
  if ((!scalar && !object) || (scalar && op.key !== top) || (object && !PATH_KEY.test(op.key)))
    return `key ${shown}: a DR step changes only ${DR_KEYS.join(", ")} and ${DR_OBJECTS.map((o) => `${o}.*`).join(", ")}; change it in a pull request`;
  if (object && op.key !== top && !op.path)
    return `key ${shown} is a path: write pulumi config ${op.op} --path ${op.key}${op.op === "set" ? " <value>" : ""}`;
  if (op.op === "rm") return undefined;
  const value = JSON.stringify(op.value);
  if (op.value.startsWith("-"))
    return `value ${value} of ${op.key} starts with "-": refused (a flag-like value, e.g. --dry-run, is never a DR setting)`;
  if (CONTROL.test(op.value))
    return `value ${value} of ${op.key} has a control character (a newline?): refused`;
  return undefined;
}

export function stepOps(i: StepInput): ConfigOp[] {
  const ops = rawOps(i);
  const problems = ops.map(opProblem).filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`nothing changed: ${problems.join("; ")}`);
  return ops;
}

function rawOps(i: StepInput): ConfigOp[] {
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

/** The `pulumi` argv of one op on a stack: key and value after `--`, so neither is ever read as a flag. */
export function pulumiArgv(stack: string, op: ConfigOp): string[] {
  const base = ["config", op.op, "--stack", stack, ...(op.path ? ["--path"] : []), "--"];
  return op.op === "set" ? [...base, op.key, op.value] : [...base, op.key];
}

/** `pulumi preview` of the changed stack with the policy pack and its environment's policy config, as the up runs it. */
export function previewArgv(stack: string, environment: string): string[] {
  return [
    "preview",
    "--stack",
    stack,
    "--diff",
    "--non-interactive",
    "--policy-pack",
    "policy",
    "--policy-pack-config",
    policyConfigFile(environment),
  ];
}

/** A stack as the Pulumi CLI names it: `stack`, `org/stack` or `org/project/stack` (the workflow passes `org/stack`). */
export const STACK_NAME = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+){0,2}$/;

const FLAGS = {
  stack: { type: "string" },
  step: { type: "string" },
  change: { type: "string" },
  "incident-id": { type: "string" },
  "restore-time": { type: "string" },
  "declared-at": { type: "string" },
  preview: { type: "boolean" },
  "dry-run": { type: "boolean" },
} as const;

/** Runs `pulumi <argv>` (a test gives its own). */
export type Pulumi = (argv: readonly string[]) => void;
const runPulumi: Pulumi = (argv) => {
  execFileSync("pulumi", argv, { stdio: "inherit" });
};

export function main(
  argv: readonly string[],
  pulumi: Pulumi = runPulumi,
  print: (line: string) => void = (line) => void process.stdout.write(line),
  projectDir: string = ROOT,
): void {
  const flags = parseFlags("", argv, FLAGS);
  const stack = flags.stack;
  if (stack === undefined || !STACK_NAME.test(stack))
    throw new UsageError(
      `--stack must be <stack>, <org>/<stack> or <org>/<project>/<stack> (letters, digits, _ . -), got ${JSON.stringify(stack ?? null)}`,
    );
  // The stack a DR step changes is a committed one; its environment picks the policy config.
  const environment = stackEnvironment(projectDir, committedStack(projectDir, stack.split("/").pop()!));
  const ops = stepOps({
    step: flags.step,
    incidentId: flags["incident-id"],
    restoreTime: flags["restore-time"],
    declaredAt: flags["declared-at"],
    change: flags.change,
  });
  const commands = [
    ...ops.map((op) => pulumiArgv(stack, op)),
    ...(flags.preview ? [previewArgv(stack, environment)] : []),
  ];
  for (const cmd of commands) {
    print(`pulumi ${cmd.join(" ")}\n`);
    if (flags["dry-run"] !== true) pulumi(cmd);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`dr-step: ${e instanceof Error ? e.message : String(e)}\n`);
    // A usage problem exits 2, as every command line that reads its flags with parseFlags does.
    process.exit(e instanceof UsageError ? 2 : 1);
  }
}
