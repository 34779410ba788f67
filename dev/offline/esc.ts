/**
 * Pulumi ESC environments imported by a stack file (`environment:`), resolved offline from their definitions
 * committed under `environments/<project>/<environment>.yaml`, as the CLI resolves them (docs/provider-facts.md,
 * "Stack config from ESC environments"):
 *
 * - the stack file's `environment: [a, b]` is an anonymous environment that imports `a` then `b`;
 * - ESC merges imports in order, a later one over an earlier one, then the environment's own `values` over its
 *   imports: objects merge key by key, anything else (arrays included) is replaced;
 * - `values.pulumiConfig` becomes stack config: a key without a namespace is the project's, and the stack file's
 *   `config:` wins over it, objects merged key by key (the stack's leaves win).
 *
 * Only plain data is resolved. What needs Pulumi Cloud to evaluate — interpolation (`${...}`), functions
 * (`fn::open`, `fn::secret`, …), `environmentVariables` and `files` (they set the program's process environment)
 * — is refused with an error naming the file, rather than guessed.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { UsageError } from "@service-dr/dr-data";
import type { JsonValue } from "./stack-config";

/** Where the committed definition of `<project>/<environment>` lives. */
export const ENVIRONMENTS_DIR = "environments";

/** An ESC environment name as a stack file or an `imports:` list writes it: `<project>/<environment>`. */
const ENV_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** The names a stack file's `environment:` imports, in order; [] when it has none. */
export function stackEnvironments(node: unknown, file: string): string[] {
  if (node === undefined || node === null) return [];
  if (!YAML.isSeq(node)) {
    throw new UsageError(
      `${file}: environment must be a list of ESC environment names (<project>/<environment>); ` +
        "an inline environment definition is not resolved offline",
    );
  }
  return node.items.map((item) => environmentName(item, `${file}: environment`));
}

/** The file that defines `name` (`service-dr/staging` → `environments/service-dr/staging.yaml`). */
export function environmentFile(projectDir: string, name: string): string {
  return path.join(projectDir, ENVIRONMENTS_DIR, ...name.split("/")) + ".yaml";
}

/** The environments the definition of `name` imports (its `imports:`), in order. */
export function environmentImports(projectDir: string, name: string): string[] {
  const file = environmentFile(projectDir, name);
  return importsOf(readDefinition(file, name).imports, file);
}

/** The merged `values.pulumiConfig` of the environments `names`, imported in this order. */
export function resolvePulumiConfig(projectDir: string, names: readonly string[]): Record<string, JsonValue> {
  let merged: Record<string, JsonValue> = {};
  for (const name of names) {
    const env = evaluate(projectDir, name, []);
    const config = env.pulumiConfig ?? {};
    merged = escMerge(config, merged) as Record<string, JsonValue>;
  }
  return merged;
}

interface Evaluated {
  readonly pulumiConfig: Record<string, JsonValue> | undefined;
}

function evaluate(projectDir: string, name: string, chain: readonly string[]): Evaluated {
  if (chain.includes(name)) {
    throw new UsageError(`ESC environment import cycle: ${[...chain, name].join(" → ")}`);
  }
  const file = environmentFile(projectDir, name);
  const doc = readDefinition(file, name);
  for (const key of Object.keys(doc)) {
    if (key !== "imports" && key !== "values") {
      throw new UsageError(
        `${file}: unknown top-level key ${JSON.stringify(key)} (allowed: imports, values)`,
      );
    }
  }
  let base: JsonValue = {};
  for (const imported of importsOf(doc.imports, file)) {
    const env = evaluate(projectDir, imported, [...chain, name]);
    base = escMerge(env.pulumiConfig === undefined ? {} : { pulumiConfig: env.pulumiConfig }, base);
  }
  const values = valuesOf(doc.values, file);
  const merged = escMerge(values, base);
  const config = isObject(merged) ? merged.pulumiConfig : undefined;
  if (config !== undefined && !isObject(config)) {
    throw new UsageError(`${file}: values.pulumiConfig must be a map of config keys`);
  }
  return { pulumiConfig: config };
}

function readDefinition(file: string, name: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new UsageError(`ESC environment ${name}: cannot read its definition ${file}`, { cause });
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw new UsageError(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
  const json: unknown = doc.toJSON();
  if (json === null || json === undefined) return {};
  if (!isObject(json as JsonValue)) throw new UsageError(`${file}: an environment definition must be a map`);
  return json as Record<string, unknown>;
}

function importsOf(node: unknown, file: string): string[] {
  if (node === undefined || node === null) return [];
  if (!Array.isArray(node)) throw new UsageError(`${file}: imports must be a list of environment names`);
  return node.map((item: unknown) => environmentName(item, `${file}: imports`));
}

function environmentName(item: unknown, where: string): string {
  const value = YAML.isScalar(item) ? item.value : item;
  if (typeof value !== "string") {
    throw new UsageError(
      `${where}: each entry must be a plain <project>/<environment> name ` +
        `(import options such as merge: false are not resolved offline); received ${JSON.stringify(
          YAML.isNode(item) ? item.toJSON() : item,
        )}`,
    );
  }
  if (!ENV_NAME.test(value)) {
    throw new UsageError(`${where}: ${JSON.stringify(value)} is not a <project>/<environment> name`);
  }
  return value;
}

/** `values:` as plain data: only `pulumiConfig`, no interpolation, no function, no secret. */
function valuesOf(node: unknown, file: string): JsonValue {
  if (node === undefined || node === null) return {};
  const values = node as JsonValue;
  if (!isObject(values)) throw new UsageError(`${file}: values must be a map`);
  for (const key of Object.keys(values)) {
    if (key !== "pulumiConfig") {
      throw new UsageError(
        `${file}: values.${key} is not resolved offline (only values.pulumiConfig is; environmentVariables ` +
          "and files would set the program's environment, other keys only serve interpolation)",
      );
    }
  }
  assertPlainData(values, `${file}: values`);
  return values;
}

function assertPlainData(value: JsonValue, where: string): void {
  if (value === null) {
    // ESC's documentation calls its merge a JSON merge patch (null deletes a key), its evaluator keeps a null.
    throw new UsageError(`${where}: null is not resolved offline (write the value, or leave the key out)`);
  }
  if (typeof value === "string" && value.includes("${")) {
    throw new UsageError(`${where}: interpolation (\${...}) is not resolved offline; write the value itself`);
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new UsageError(`${where}: ${value}: only integers are resolved offline (write a string)`);
  }
  if (Array.isArray(value)) value.forEach((v, i) => assertPlainData(v, `${where}[${i}]`));
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith("fn::")) {
        throw new UsageError(
          `${where}.${k}: ESC functions (fn::open, fn::secret, …) need Pulumi Cloud and are not resolved offline`,
        );
      }
      assertPlainData(v, `${where}.${k}`);
    }
  }
}

/**
 * ESC's merge of `top` over `base` (and the CLI's merge of a stack value over an environment value): two
 * objects merge key by key, base's keys first; otherwise `top` replaces `base`.
 */
export function escMerge(top: JsonValue, base: JsonValue | undefined): JsonValue {
  if (!isObject(top) || base === undefined || !isObject(base)) return top;
  const merged: Record<string, JsonValue> = { ...base };
  for (const [k, v] of Object.entries(top)) merged[k] = escMerge(v, base[k]);
  return merged;
}

export function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
