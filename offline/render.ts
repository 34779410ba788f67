/**
 * Text and JSON renderings of a plan and of a plan diff (what `npm run plan` prints on stdout).
 */
import { SECRET, UNKNOWN, type PlanResource, type PlanResult } from "./mocks";
import { flatten, OPTION_PREFIX, type PathChange, type PlanDiff } from "./diff";

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
  readonly overrides: readonly string[];
  /** Secret keys planned with a placeholder. */
  readonly placeholders: readonly string[];
}

function headerLines(header: PlanHeader): string[] {
  const lines = [
    `Stack ${header.stack}, now ${header.now} (offline plan: Pulumi mock runtime, no cloud calls)`,
  ];
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

/** The readable listing: every resource with its id and inputs, then the outputs. */
export function renderPlan(plan: PlanResult, header: PlanHeader): string {
  const lines = headerLines(header);
  lines.push("", `Resources (${plan.resources.length}):`);
  for (const r of plan.resources) lines.push(...resourceLines(r, " "));
  lines.push("", "Outputs:");
  for (const [path, value] of leaves(plan.outputs)) lines.push(`  ${path}: ${formatValue(value)}`);
  return `${lines.join("\n")}\n`;
}

function changeLine(c: PathChange, indent: string): string {
  if (!("old" in c)) return `${indent}+ ${c.path}: ${formatValue(c.new)}`;
  if (!("new" in c)) return `${indent}- ${c.path}: ${formatValue(c.old)}`;
  return `${indent}~ ${c.path}: ${formatValue(c.old)} → ${formatValue(c.new)}`;
}

/** Only what the overrides change: `+` added, `-` removed, `~` changed (`old → new`). */
export function renderDiff(diff: PlanDiff, header: PlanHeader): string {
  const lines = headerLines(header);
  lines.push("", "Changes relative to the committed config:");
  if (diff.added.length + diff.removed.length + diff.changed.length === 0)
    lines.push("  (no resource changes)");
  for (const r of diff.added) lines.push(...resourceLines(r, "+"));
  for (const r of diff.removed) lines.push(...resourceLines(r, "-"));
  for (const r of diff.changed) {
    lines.push(`~ ${r.type}  ${r.name}`);
    for (const c of r.changes) lines.push(changeLine(c, "    "));
  }
  lines.push("", "Outputs:");
  if (diff.outputs.length === 0) lines.push("  (no output changes)");
  for (const c of diff.outputs) lines.push(changeLine(c, "  "));
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
  })}\n`;
}

/** `{"added":[...],"removed":[...],"changed":[{"type","name","changes":[{"path","old","new"}]}],"outputs":[...]}`. */
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
  })}\n`;
}
