/**
 * The config's wording: the error that lists every problem, how a schema issue reads (the key as `pulumi config
 * set --path` spells it, what is allowed, what was received), the keys an earlier version read, the "did you
 * mean" for a mistyped key, and the command that removes a key.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { fieldsAt } from "./schema";
import { valueAt } from "./fields";

/** One problem as the operator reads it: the key, what is allowed, what was received. */
export type Problem = string;

/**
 * Thrown with every problem found; nothing has been declared when it is thrown. A `pulumi.RunError`: the
 * Node language host prints a RunError as its message alone ("Running program … failed with an unhandled
 * exception" plus a stack trace is for every other error, @pulumi/pulumi cmd/run/run.js), so `pulumi preview`
 * and `pulumi up` show the problem list and nothing else.
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Keys an earlier version read, refused with what replaces them (the stack files carry none of them). */
export const REPLACED_KEYS: Readonly<Record<string, string>> = {
  postgresAdminPassword:
    'the servers accept Microsoft Entra logins only (postgres.entraAdmin), there is no password to keep: remove it with pulumi config rm postgresAdminPassword (docs/runbook.md, "From a password server to Entra only")',
  "postgres.administratorLogin":
    "the servers accept Microsoft Entra logins only: set postgres.entraAdmin.objectId and postgres.entraAdmin.displayName (the administrators group) and remove it with pulumi config rm --path postgres.administratorLogin",
  "workloadIdentity.postgresAuth":
    "the data tool always logs in with its managed identity (the servers accept Entra logins only): remove it with pulumi config rm --path workloadIdentity.postgresAuth",
  "dataTool.scratchSize":
    "the scratch is a volume claim now: set dataTool.scratch.size (a Kubernetes quantity such as 50Gi), or dataTool.databaseSizeGiB to derive it",
};

/** `key.path: <what is allowed>; received <value>` for one schema issue (one line per unknown key). */
export function formatIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string[] {
  // As `pulumi config set --path` spells it: `ptr.tables[0]`, not `ptr.tables.0`.
  const key = issue.path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
  if (issue.code === "unrecognized_keys") {
    const where = key === "" ? "" : `${key}.`;
    const fields = fieldsAt(issue.path);
    return issue.keys.map((k) => {
      const replacement = REPLACED_KEYS[`${where}${k}`];
      if (replacement !== undefined) {
        return `${where}${k}: is no longer a setting; ${replacement}; received ${JSON.stringify(valueAt(raw, [...issue.path, k]))}`;
      }
      const near = fields === undefined ? undefined : nearest(k, fields);
      const hint = near === undefined ? "" : ` (did you mean ${where}${near}?)`;
      const list =
        fields === undefined
          ? "check the spelling (the settings are declared in Pulumi.yaml)"
          : `the fields of ${key} are: ${fields.join(", ")}`;
      return `${where}${k}: is not a known setting${hint}; ${list}`;
    });
  }
  const received = valueAt(raw, issue.path);
  if (received === undefined && issue.code === "invalid_type")
    return [`${key}: is required and ${issue.message}; received nothing`];
  return [`${key}: ${issue.message}; received ${JSON.stringify(received)}`];
}

/**
 * The known name nearest to a mistyped one, if it is near enough to be the likely intent: the same letters in
 * another case (`drmode` → drMode), or at most a third of its length (at least 1, at most 3) edits away.
 */
export function nearest(typed: string, known: readonly string[]): string | undefined {
  const lower = typed.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  return best !== undefined && best.distance <= limit ? best.name : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The command that removes `key` from the stack config. */
export function rm(key: string): string {
  return key.includes(".") ? `pulumi config rm --path ${key}` : `pulumi config rm ${key}`;
}
