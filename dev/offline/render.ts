/**
 * Text and JSON renderings of a plan and of a plan diff (what `npm run plan` prints on stdout).
 */
import { SECRET, UNKNOWN, type PlanResource, type PlanResult } from "./mocks";
import {
  flatten,
  OPTION_PREFIX,
  type ChangeEffect,
  type PathChange,
  type PlanDiff,
  type ResourceChange,
} from "./diff";

/** Strings longer than this are cut in the text listing (a maintenance page's HTML, say; ids are shorter). */
const MAX_VALUE_CHARS = 300;

/** A leaf as the listing shows it: JSON, except the secret and unknown markers; long strings cut. */
export function formatValue(value: unknown): string {
  if (value === SECRET || value === UNKNOWN) return value;
  if (value === undefined) return "(absent)";
  if (typeof value === "string" && value.length > MAX_VALUE_CHARS) {
    return `${JSON.stringify(value.slice(0, 100))}… (${value.length} chars)`;
  }
  return JSON.stringify(value);
}

/** The leaves of a record; an empty record has none (not one leaf `{}` at the empty path). */
function leaves(record: object): Map<string, unknown> {
  return Object.keys(record).length === 0 ? new Map<string, unknown>() : flatten(record);
}

function resourceLines(r: PlanResource, marker: string): string[] {
  const lines = [`${marker} ${r.type}  ${r.name}`];
  if (r.id !== undefined) lines.push(`      id: ${r.id}`);
  for (const [path, value] of leaves(r.inputs)) lines.push(`      ${path}: ${formatValue(value)}`);
  for (const [path, value] of leaves(r.options))
    lines.push(`      ${OPTION_PREFIX}${path}: ${formatValue(value)}`);
  return lines;
}

export interface PlanHeader {
  readonly stack: string;
  readonly now: string;
  /** `--base-set` assignments: the diff's base is the committed config plus these. */
  readonly baseSets?: readonly string[];
  readonly overrides: readonly string[];
  /** Secret keys planned with a placeholder. */
  readonly placeholders: readonly string[];
}

function headerLines(header: PlanHeader): string[] {
  const lines = [
    `Stack ${header.stack}, now ${header.now} (offline plan: Pulumi mock runtime, no cloud calls)`,
  ];
  if (header.baseSets !== undefined && header.baseSets.length > 0)
    lines.push(`Base: the committed config + ${header.baseSets.map((o) => `--base-set ${o}`).join(" ")}`);
  if (header.overrides.length > 0)
    lines.push(`Overrides: ${header.overrides.map((o) => `--set ${o}`).join(" ")}`);
  if (header.placeholders.length > 0) {
    lines.push(
      `Secrets not in the committed files (an operator sets them with \`pulumi config set --secret\`), ` +
        `planned with a placeholder shown as ${SECRET}: ${header.placeholders.join(", ")}`,
    );
  }
  return lines;
}

/** The program's warnings as `pulumi preview` shows them (keys that do not apply), if any. */
function warningLines(warnings: readonly string[]): string[] {
  return warnings.length === 0 ? [] : ["", "Warnings:", ...warnings.map((w) => `  warning: ${w}`)];
}

/** The readable listing: every resource with its id and inputs, then the outputs. */
export function renderPlan(plan: PlanResult, header: PlanHeader): string {
  const lines = [...headerLines(header), ...warningLines(plan.warnings)];
  lines.push("", `Resources (${plan.resources.length}):`);
  for (const r of plan.resources) lines.push(...resourceLines(r, " "));
  lines.push("", "Outputs:");
  for (const [path, value] of leaves(plan.outputs)) lines.push(`  ${path}: ${formatValue(value)}`);
  return `${lines.join("\n")}\n`;
}

/** A string a one-line `old → new` would make unreadable (the maintenance page's HTML): shown line by line. */
const LONG_TEXT_CHARS = 100;

function isLongText(v: unknown): v is string {
  return typeof v === "string" && (v.length > LONG_TEXT_CHARS || v.includes("\n"));
}

/**
 * Old and new text, line by line, complete (a diff is where a message is checked before it goes live): the
 * lines both share at the start and end are counted, the lines between shown `-` old and `+` new.
 */
export function textChangeLines(old: string, now: string, indent: string): string[] {
  const a = old.split("\n");
  const b = now.split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end])
    end++;
  const lines: string[] = [];
  if (start > 0) lines.push(`${indent}  (${start} unchanged line${start === 1 ? "" : "s"})`);
  for (const line of a.slice(start, a.length - end)) lines.push(`${indent}- ${line}`);
  for (const line of b.slice(start, b.length - end)) lines.push(`${indent}+ ${line}`);
  if (end > 0) lines.push(`${indent}  (${end} unchanged line${end === 1 ? "" : "s"})`);
  return lines;
}

const EFFECT_NOTE: Readonly<Record<ChangeEffect, string>> = {
  update: "",
  replace: "",
  ignored: "  [ignored: ignoreChanges, the engine keeps the old value]",
  option: "",
};

function changeLines(c: PathChange & { effect?: ChangeEffect; reason?: string }, indent: string): string[] {
  const note =
    c.effect === undefined
      ? ""
      : c.effect === "replace"
        ? `  [replace: ${c.reason ?? ""}]`
        : EFFECT_NOTE[c.effect];
  if (!("old" in c)) return [`${indent}+ ${c.path}: ${formatValue(c.new)}${note}`];
  if (!("new" in c)) return [`${indent}- ${c.path}: ${formatValue(c.old)}${note}`];
  if (isLongText(c.old) || isLongText(c.new)) {
    return [
      `${indent}~ ${c.path}: (text, ${String(c.old).length} → ${String(c.new).length} chars)${note}`,
      ...textChangeLines(String(c.old), String(c.new), `${indent}    `),
    ];
  }
  return [`${indent}~ ${c.path}: ${formatValue(c.old)} → ${formatValue(c.new)}${note}`];
}

const ACTION_MARK: Readonly<Record<ResourceChange["action"], string>> = {
  update: "~ update",
  replace: "+- replace",
  none: "= no change",
};

function changedResourceLines(r: ResourceChange): string[] {
  const notes: string[] = [];
  if (r.action === "replace" && r.deleteBeforeReplace) notes.push("the old one is deleted first");
  if (r.action === "none") notes.push("only ignored inputs or resource options differ: no provider call");
  const head = `${ACTION_MARK[r.action]}  ${r.type}  ${r.name}${notes.length === 0 ? "" : `  (${notes.join("; ")})`}`;
  return [head, ...r.changes.flatMap((c) => changeLines(c, "    "))];
}

function deletedResourceLines(r: PlanResource): string[] {
  const lines = resourceLines(r, "- delete ");
  if (r.options.protect === true) lines[0] += "  (protected: pulumi up refuses to delete it and fails)";
  return lines;
}

/**
 * Only what the step changes, the way `pulumi preview --diff` marks it: `+ create`, `- delete`, `~ update`,
 * `+- replace` (with the rule that forces it), and inputs the program ignores.
 */
export function renderDiff(diff: PlanDiff, header: PlanHeader): string {
  const lines = [...headerLines(header), ...warningLines(diff.warnings)];
  lines.push(
    "",
    `Changes relative to ${header.baseSets === undefined || header.baseSets.length === 0 ? "the committed config" : "the base (committed config + --base-set)"}:`,
  );
  if (diff.added.length + diff.removed.length + diff.changed.length === 0)
    lines.push("  (no resource changes)");
  for (const r of diff.added) lines.push(...resourceLines(r, "+ create "));
  for (const r of diff.removed) lines.push(...deletedResourceLines(r));
  for (const r of diff.changed) lines.push(...changedResourceLines(r));
  lines.push("", "Outputs:");
  if (diff.outputs.length === 0) lines.push("  (no output changes)");
  for (const c of diff.outputs) lines.push(...changeLines(c, "  "));
  return `${lines.join("\n")}\n`;
}

/** `{"resources":[{"type","name","inputs","options"}],"outputs":{...}}`. */
export function planJson(plan: PlanResult): string {
  return `${JSON.stringify({
    resources: plan.resources.map((r) => ({
      type: r.type,
      name: r.name,
      inputs: r.inputs,
      options: r.options,
    })),
    outputs: plan.outputs,
    ...(plan.warnings.length === 0 ? {} : { warnings: plan.warnings }),
  })}\n`;
}

/**
 * `{"added":[...],"removed":[...],"changed":[{"type","name","action","deleteBeforeReplace","changes":[{"path","old",
 * "new","effect","reason"}]}],"outputs":[...]}`, plus `"warnings"` when the program logged any.
 */
export function diffJson(diff: PlanDiff): string {
  const strip = (r: PlanResource): Pick<PlanResource, "type" | "name" | "inputs" | "options"> => ({
    type: r.type,
    name: r.name,
    inputs: r.inputs,
    options: r.options,
  });
  return `${JSON.stringify({
    added: diff.added.map(strip),
    removed: diff.removed.map(strip),
    changed: diff.changed,
    outputs: diff.outputs,
    ...(diff.warnings.length === 0 ? {} : { warnings: diff.warnings }),
  })}\n`;
}
