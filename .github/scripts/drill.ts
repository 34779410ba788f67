/**
 * The scheduled drill's logic for its workflow (.github/workflows/drill.yml), kept out of YAML and shell:
 *
 * - `stack`: which stack this run drills (the dispatch's input, or the stack whose schedule fired), a committed
 *   one (`Pulumi.<stack>.yaml`, as the DR step's resolve-stack.ts checks it), and its environment (the GitHub
 *   environment and policy config); prints `stack=…` and `environment=…` lines for $GITHUB_OUTPUT;
 * - `start`: the drill's id from the clock, and the refusal while an incident is open (the stack file's drMode
 *   or the deployed one, `--outputs` from `pulumi stack output --json`); prints `stack=…` and `id=…` lines for
 *   $GITHUB_OUTPUT.
 * - `where`: what the program declares for that drill (the same plan the up runs: plan/drill.ts), as JSON —
 *   the namespace, the report Job, the report blob — so no name is re-derived in the workflow.
 *
 * The up itself, the report in the job summary and the up without the drill are the workflow's steps.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { DateTime } from "luxon";
import { parseFlags } from "@service-dr/dr-data";
import { parseConfig, PROJECT, readRawConfig } from "../../config";
import { buildPlan, planDrill } from "../../plan";
import { applySet, loadStackConfig, serializeConfig } from "../../dev/offline/stack-config";
import { stackEnvironment } from "../../dev/fleet/environment";
import { committedStack } from "./resolve-stack";

/**
 * When each stack is drilled (cron in UTC, at odd minutes: GitHub delays schedules at the top of the hour).
 * Staging weekly, Monday 03:17; production monthly, the 1st at 04:43. Change a drill's schedule here and in
 * drill.yml's `on.schedule` (a test checks they agree).
 */
export const DRILL_SCHEDULES: Readonly<Record<string, string>> = {
  staging: "17 3 * * 1",
  production: "43 4 1 * *",
};

/** `drill-YYYYMMDD-HHMM` for the minute `now` is in (UTC). */
export function drillIdAt(now: DateTime): string {
  return `drill-${now.toUTC().toFormat("yyyyLLdd-HHmm")}`;
}

/** The stack a run drills: the dispatch's input, else the stack whose schedule fired. */
export function stackOf(input: string | undefined, schedule: string | undefined): string {
  if (input !== undefined && input !== "") return input;
  const hit = Object.entries(DRILL_SCHEDULES).find(([, cron]) => cron === schedule);
  if (hit === undefined)
    throw new Error(
      `no stack to drill: neither --stack nor a known schedule (${Object.values(DRILL_SCHEDULES).join(", ")}); received ${JSON.stringify(schedule ?? null)}`,
    );
  return hit[0];
}

/**
 * Why the drill must not start, or undefined: an incident is open in the stack file (what the up would
 * apply) or in the deployed stack (its `drMode` output). An incident takes precedence over a drill.
 */
export function refusal(
  stack: string,
  fileMode: string,
  deployedMode: string | undefined,
): string | undefined {
  const open = [
    ...(fileMode === "none" ? [] : [`the stack file's drMode is ${fileMode}`]),
    ...(deployedMode === undefined || deployedMode === "none"
      ? []
      : [`the deployed drMode is ${deployedMode}`]),
  ];
  return open.length === 0
    ? undefined
    : `no drill on ${stack} while an incident is open (${open.join("; ")}): the incident takes precedence; drill again once it is closed (drMode none)`;
}

/** The stack's config as the up sees it (its file plus Pulumi.yaml's defaults), with `sets` applied. */
function stackConfigStrings(root: string, stack: string, sets: readonly string[]): Record<string, string> {
  const loaded = loadStackConfig(root, stack);
  const values = new Map(loaded.values);
  for (const s of sets) applySet(values, PROJECT, s);
  return serializeConfig(values);
}

export interface DrillTargets {
  readonly namespace: string;
  readonly jobs: readonly string[];
  readonly reportJob: string;
  readonly reportBlob: string;
  readonly container: string;
  readonly copyServerName: string;
}

/** What the program declares for drill `id` on `stack` (plan/drill.ts), from the committed stack file. */
export function drillTargets(root: string, stack: string, id: string, now: DateTime): DrillTargets {
  const { raw, problems } = readRawConfig(stackConfigStrings(root, stack, [`drill=${id}`]));
  if (problems.length > 0) throw new Error(`${stack}: ${problems.join("; ")}`);
  const cfg = parseConfig(raw, now);
  const drill = planDrill(cfg, buildPlan(cfg, now).liveServer);
  if (drill === undefined) throw new Error(`${stack}: the program declares no drill (is an incident open?)`);
  const last = drill.jobs[drill.jobs.length - 1];
  if (last === undefined) throw new Error(`${stack}: the drill has no Job`);
  return {
    namespace: cfg.kubernetes.namespace,
    jobs: drill.jobs.map((j) => j.name),
    reportJob: last.name,
    reportBlob: drill.reportBlob,
    container: cfg.backup.container,
    copyServerName: drill.copy.name,
  };
}

const FLAGS = {
  stack: { type: "string" },
  schedule: { type: "string" },
  id: { type: "string" },
  outputs: { type: "string" },
  now: { type: "string" },
} as const;

export function main(argv: readonly string[], root: string, print: (line: string) => void): void {
  const [command, ...rest] = argv;
  const flags = parseFlags("drill", rest, FLAGS);
  const now = flags.now === undefined ? DateTime.utc() : DateTime.fromISO(flags.now, { zone: "utc" });
  switch (command) {
    case "stack": {
      const stack = committedStack(root, stackOf(flags.stack, flags.schedule));
      print(`stack=${stack}\nenvironment=${stackEnvironment(root, stack)}\n`);
      return;
    }
    case "start": {
      const stack = committedStack(root, stackOf(flags.stack, undefined));
      const strings = stackConfigStrings(root, stack, []);
      const why = refusal(stack, strings[`${PROJECT}:drMode`] ?? "none", readDeployedMode(flags.outputs));
      if (why !== undefined) throw new Error(why);
      print(`stack=${stack}\nid=${drillIdAt(now)}\n`);
      return;
    }
    case "where": {
      if (flags.stack === undefined || flags.id === undefined)
        throw new Error("where needs --stack and --id");
      print(`${JSON.stringify(drillTargets(root, flags.stack, flags.id, now))}\n`);
      return;
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(command ?? "")}; allowed: stack, start, where`);
  }
}

/**
 * The deployed `drMode` from `pulumi stack output --json`: undefined for a stack never deployed, which prints
 * `{}` (drill.sh). Fails closed: an incident declared outside git shows only here, so output that is empty, not
 * JSON, not an object or with a drMode that is not a string stops the drill rather than reading as "none".
 */
export function deployedMode(json: string): string | undefined {
  let outputs: unknown;
  try {
    outputs = JSON.parse(json);
  } catch {
    outputs = undefined;
  }
  const mode =
    typeof outputs === "object" && outputs !== null && !Array.isArray(outputs)
      ? (outputs as { drMode?: unknown }).drMode
      : null;
  if (mode === undefined || typeof mode === "string") return mode;
  throw new Error(
    `the deployed outputs are not those of pulumi stack output --json (an object whose drMode is a string); ` +
      `received ${JSON.stringify(json.slice(0, 100))}: no drill while it cannot tell whether an incident is open`,
  );
}

/** The deployed drMode from the file `--outputs` names; without one, or unreadable, the drill does not start. */
function readDeployedMode(file: string | undefined): string | undefined {
  if (file === undefined)
    throw new Error(
      "start needs --outputs (the file of pulumi stack output --json): no drill while it cannot tell whether an incident is open",
    );
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new Error(
      `cannot read the deployed outputs ${file}: no drill while it cannot tell whether an incident is open`,
      {
        cause,
      },
    );
  }
  return deployedMode(text);
}

if (require.main === module) {
  try {
    main(
      process.argv.slice(2),
      path.resolve(__dirname, "..", ".."),
      (line) => void process.stdout.write(line),
    );
  } catch (e) {
    process.stderr.write(`drill: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
