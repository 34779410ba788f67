/**
 * What a config change does to the plan: resources added and removed, and the input paths and resource options
 * (`[option] protect`, ...) that changed on the resources both plans declare (a resource is the same if its type and name are), plus output changes.
 * Pure functions over two `PlanResult`s, so the `--diff` output can be tested without running anything.
 */
import type { PlanResource, PlanResult } from "./mocks";
import { providerReplaceReason } from "./replace-rules";

/** One leaf that differs; `old`/`new` are absent when the path exists on one side only. */
export interface PathChange {
  readonly path: string;
  readonly old?: unknown;
  readonly new?: unknown;
}

/**
 * What one changed path does: `update` in place, force a `replace`, nothing because the program's
 * `ignoreChanges` covers it (`ignored`: the engine keeps the old value), or an `option` change (the engine
 * records it; no provider call).
 */
export type ChangeEffect = "update" | "replace" | "ignored" | "option";

export interface ClassifiedChange extends PathChange {
  readonly effect: ChangeEffect;
  /** For `replace`: why (the provider's rule or the program's replaceOnChanges). */
  readonly reason?: string;
}

/**
 * A resource both plans declare, with what `pulumi up` would do to it: `replace` if any change forces it,
 * else `update` if any input changes, else `none` (only ignored paths or options differ).
 */
export interface ResourceChange {
  readonly type: string;
  readonly name: string;
  readonly action: "update" | "replace" | "none";
  /** With `replace`: the old resource is deleted before the new one is created (the program's option). */
  readonly deleteBeforeReplace: boolean;
  readonly changes: readonly ClassifiedChange[];
}

export interface PlanDiff {
  readonly added: readonly PlanResource[];
  readonly removed: readonly PlanResource[];
  readonly changed: readonly ResourceChange[];
  readonly outputs: readonly PathChange[];
  /** The warnings of the plan the diff leads to (the state after the step). */
  readonly warnings: readonly string[];
}

/** Marks a resource option's path (`[option] protect`) apart from an input's in listings and diffs. */
export const OPTION_PREFIX = "[option] ";

/** A property path in Pulumi's syntax: `spec.replicas`, `rules[0].host`, `metadata.annotations["a/b"]`. */
export function joinPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/**
 * The leaves of a value by path, in key order. Empty objects and arrays are leaves (so `{}` → `[]` shows);
 * so is anything that is not a plain object or array.
 */
export function flatten(value: unknown, prefix = ""): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v) && v.length > 0) {
      v.forEach((item, i) => walk(item, joinPath(at, i)));
    } else if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, item] of Object.entries(v)) walk(item, joinPath(at, k));
    } else {
      out.set(at, v);
    }
  };
  walk(value, prefix);
  return out;
}

/** Leaf-by-leaf differences between two values (deep equality on leaves). */
export function diffValues(before: unknown, after: unknown): PathChange[] {
  const a = flatten(before);
  const b = flatten(after);
  const changes: PathChange[] = [];
  for (const [path, old] of a) {
    if (!b.has(path)) changes.push({ path, old });
    else if (!sameLeaf(old, b.get(path))) changes.push({ path, old, new: b.get(path) });
  }
  for (const [path, value] of b) {
    if (!a.has(path)) changes.push({ path, new: value });
  }
  return changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

function sameLeaf(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function resourceKey(r: { readonly type: string; readonly name: string }): string {
  return `${r.type}::${r.name}`;
}

/** What changes from `before` (the committed config) to `after` (with the overrides). */
export function diffPlans(before: PlanResult, after: PlanResult): PlanDiff {
  const old = new Map(before.resources.map((r) => [resourceKey(r), r]));
  const now = new Map(after.resources.map((r) => [resourceKey(r), r]));
  const added = after.resources.filter((r) => !old.has(resourceKey(r)));
  const removed = before.resources.filter((r) => !now.has(resourceKey(r)));
  const changed: ResourceChange[] = [];
  for (const r of after.resources) {
    const previous = old.get(resourceKey(r));
    if (previous === undefined) continue;
    const changes: ClassifiedChange[] = [
      ...diffValues(previous.inputs, r.inputs).map((c) => classify(r, c)),
      // Options without any set are `{}`: no leaf, so an option that appears shows as itself alone.
      ...diffValues(previous.options, r.options)
        .filter((c) => c.path !== "")
        .map((c): ClassifiedChange => ({
          ...c,
          path: `${OPTION_PREFIX}${c.path}`,
          effect: "option",
        })),
    ];
    if (changes.length === 0) continue;
    const effects = new Set(changes.map((c) => c.effect));
    const action = effects.has("replace") ? "replace" : effects.has("update") ? "update" : "none";
    changed.push({
      type: r.type,
      name: r.name,
      action,
      deleteBeforeReplace: r.options.deleteBeforeReplace === true || fixedKubernetesName(r),
      changes,
    });
  }
  return {
    added,
    removed,
    changed,
    outputs: diffValues(before.outputs, after.outputs),
    warnings: after.warnings,
  };
}

/**
 * pulumi-kubernetes replaces an object whose `metadata.name` is given (not auto-named) by deleting it first:
 * two objects of one name cannot exist at once.
 */
function fixedKubernetesName(r: PlanResource): boolean {
  const metadata = r.inputs.metadata;
  return (
    r.type.startsWith("kubernetes:") &&
    typeof metadata === "object" &&
    metadata !== null &&
    typeof (metadata as Record<string, unknown>).name === "string"
  );
}

/** One input change of `r` (declared as now) under the providers' rules and the program's options. */
function classify(r: PlanResource, c: PathChange): ClassifiedChange {
  if ((r.options.ignoreChanges ?? []).some((i) => isUnder(c.path, i))) return { ...c, effect: "ignored" };
  const option = (r.options.replaceOnChanges ?? []).find((p) => isUnder(c.path, p));
  if (option !== undefined)
    return { ...c, effect: "replace", reason: `replaceOnChanges ${option} (the program)` };
  const reason = providerReplaceReason(r.type, c.path);
  return reason === undefined ? { ...c, effect: "update" } : { ...c, effect: "replace", reason };
}

/** `spec.template` → ["spec", "template"]; `a["b/c"]` and `a[0]` are read as well. */
export function splitPath(path: string): Array<string | number> {
  const parts: Array<string | number> = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) parts.push(m[1]);
    else if (m[2] !== undefined) parts.push(Number(m[2]));
    else if (m[3] !== undefined) parts.push(JSON.parse(`"${m[3]}"`) as string);
  }
  return parts;
}

/** `path` is `prefix` or lies under it (`spec.template.x` under `spec`; `specs` is not under `spec`). */
export function isUnder(path: string, prefix: string): boolean {
  const a = splitPath(path);
  const b = splitPath(prefix);
  return b.length <= a.length && b.every((part, i) => part === a[i]);
}

/**
 * The inputs the engine acts on for a resource that exists with `old` inputs and is now declared with `now`
 * and `ignoreChanges`: each ignored path keeps its old value (absent if it was absent), as the Pulumi engine
 * does before it diffs. Pure; neither argument is modified.
 */
export function effectiveInputs(
  old: Record<string, unknown>,
  now: Record<string, unknown>,
  ignoreChanges: readonly string[],
): Record<string, unknown> {
  const result = structuredClone(now);
  for (const path of ignoreChanges) {
    const parts = splitPath(path);
    const last = parts[parts.length - 1];
    if (last === undefined) continue;
    let from: unknown = old;
    for (const part of parts)
      from = isObject(from) ? (from as Record<string | number, unknown>)[part] : undefined;
    let into: unknown = result;
    for (const part of parts.slice(0, -1)) {
      if (!isObject(into)) break;
      const container = into as Record<string | number, unknown>;
      if (!isObject(container[part])) container[part] = typeof part === "number" ? [] : {};
      into = container[part];
    }
    if (!isObject(into)) continue;
    const target = into as Record<string | number, unknown>;
    if (from === undefined) delete target[last];
    else target[last] = structuredClone(from);
  }
  return result;
}

function isObject(v: unknown): boolean {
  return v !== null && typeof v === "object";
}
