/**
 * Raw decoding: the one reader of the stack's configuration (`pulumi.runtime.allConfig()`, what `pulumi.Config`
 * reads) in the repository. It turns the engine's strings into a plain object for parseConfig and reports
 * what cannot be read at all: bad JSON, unknown keys, keys an earlier version read.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, topLevelKind } from "./schema";
import { REPLACED_KEYS, nearest } from "./messages";
import type { Problem } from "./messages";

export const PROJECT = "service-dr";

/** The top-level kind of each key, read off the schema, so a new structured key cannot be forgotten here. */
const OBJECT_KEYS = new Set(CONFIG_KEYS.filter((k) => topLevelKind(k) === "object"));
const BOOLEAN_KEYS = new Set(CONFIG_KEYS.filter((k) => topLevelKind(k) === "boolean"));

/** The running stack's config, decoded (`readRawConfig`). */
export function readStackConfig(): { raw: Record<string, unknown>; problems: Problem[] } {
  return readRawConfig(pulumi.runtime.allConfig());
}

/**
 * Decodes every `service-dr:*` key of the config the engine passes (`pulumi.runtime.allConfig()`: every value a
 * string) into a plain object. Top-level values arrive as strings (that is how `pulumi config set` stores
 * them); structured keys are JSON, and the three override switches become booleans. Returns the raw object and
 * the problems found while reading (bad JSON, unknown keys, missing secrets).
 */
export function readRawConfig(all: Readonly<Record<string, string>>): {
  raw: Record<string, unknown>;
  problems: string[];
} {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue;
    const key = fullKey.slice(PROJECT.length + 1);
    const replacement = REPLACED_KEYS[key];
    if (replacement !== undefined) {
      problems.push(`${key}: is no longer a setting; ${replacement}`);
      continue;
    }
    if (!CONFIG_KEYS.includes(key)) {
      const known = CONFIG_KEYS;
      const near = nearest(key, known);
      problems.push(
        `${key}: is not a setting of this program${near === undefined ? "" : ` (did you mean ${near}?)`}; known settings are: ${known.join(", ")}`,
      );
      continue;
    }
    raw[key] = decodeTopLevel(key, value, problems);
  }
  return { raw, problems };
}

function decodeTopLevel(key: string, value: string, problems: string[]): unknown {
  if (OBJECT_KEYS.has(key)) {
    try {
      return JSON.parse(value) as unknown;
    } catch (cause) {
      problems.push(
        `${key}: must be a structured value (a YAML map in the stack file); received ${JSON.stringify(value)} (${String(cause)})`,
      );
      return undefined;
    }
  }
  if (BOOLEAN_KEYS.has(key)) {
    if (value === "true") return true;
    if (value === "false") return false;
  }
  return value;
}
