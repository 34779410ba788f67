/**
 * The config field by field, for the rules: each field parsed once by its own schema, so a rule runs whenever
 * its own inputs are valid — whatever else in the config is not — and reads them typed, never raw.
 */
import { z } from "zod";
import { unwrapped } from "./schema";

/**
 * `T` as the rules see it: each field as its own schema parsed it (defaults applied), `undefined` where it is
 * absent or invalid (the schema reports that one). A structured key is always there, its fields filled in the
 * same way (so a missing key reads as its fields' defaults); a map keeps the keys set in the stack, and is
 * undefined when it is not a map; a list is one value.
 */
export type Fields<T> = [NonNullable<T>] extends [readonly unknown[]]
  ? T | undefined
  : [NonNullable<T>] extends [Record<string, unknown>]
    ? string extends keyof NonNullable<T>
      ? { readonly [key: string]: Fields<NonNullable<T>[string]> } | undefined
      : { readonly [K in keyof NonNullable<T>]-?: Fields<NonNullable<T>[K]> }
    : T | undefined;

/** `value` read field by field under schema `s`: see `Fields`. */
export function parseFields<S extends z.ZodType>(s: S, value: unknown): Fields<z.output<S>> {
  return fieldsOf(s, value) as Fields<z.output<S>>;
}

function fieldsOf(s: z.core.$ZodType, value: unknown): unknown {
  const t = unwrapped(s);
  if (t instanceof z.ZodObject) {
    const given = isRecord(value) ? value : {};
    const shape = t.shape as Record<string, z.core.$ZodType>;
    return Object.fromEntries(
      Object.entries(shape).map(([key, field]) => [key, fieldsOf(field, given[key])]),
    );
  }
  if (t instanceof z.ZodRecord) {
    if (!isRecord(value)) return undefined;
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, fieldsOf(t.valueType, v)]));
  }
  const r = z.safeParse(s, value);
  return r.success ? r.data : undefined;
}

/** The value at `path` in `root` (objects and lists), or undefined where the path leads nowhere. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const segment of path) {
    if (!isRecord(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[segment];
  }
  return cur;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
