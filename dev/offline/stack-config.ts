/**
 * Stack configuration as the real `pulumi` CLI hands it to a program, rebuilt offline: the project's
 * `Pulumi.yaml` declarations (defaults, project-level values, which keys are secret), the committed
 * `Pulumi.<stack>.yaml` values, and `--set` overrides with the semantics of `pulumi config set --path`.
 *
 * The CLI passes every key to the program as a string: top-level scalars as their YAML text, objects and
 * arrays as JSON. Secrets an operator set with `pulumi config set --secret` live in the backend, not in the
 * committed files, so a declared secret key without a value gets a placeholder, and the key is passed as a
 * secret so that everything derived from it prints as `[secret]`.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { UsageError } from "@service-dr/dr-data";
import { escMerge, resolvePulumiConfig, stackEnvironments } from "./esc";

/** What a config key holds before it is serialised for the program: a top-level string, or structured JSON. */
export type ConfigValue = string | JsonValue;
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Config keyed by the fully qualified key (`service-dr:drMode`, `azure-native:location`). */
export type StackConfig = Map<string, ConfigValue>;

/** The config of one stack, ready for `pulumi.runtime.setAllConfig`. */
export interface LoadedConfig {
  readonly project: string;
  readonly stack: string;
  /** Every key as the program receives it: strings, structured values as JSON. */
  readonly values: StackConfig;
  /** Keys whose values are secret (declared `secret: true`, or `secure:` in the stack file). */
  readonly secretKeys: ReadonlySet<string>;
  /** Secret keys that had no value anywhere and got a placeholder. */
  readonly placeholderKeys: ReadonlySet<string>;
  /** The `config:` declarations of Pulumi.yaml (checked by `declarationProblems`). */
  readonly declarations: readonly Declaration[];
  /** Declared secrets the stack file holds in plain text (the real CLI refuses them). */
  readonly plaintextSecrets: readonly string[];
  /** The ESC environments the stack file imports (`environment:`), in order. */
  readonly environments: readonly string[];
}

/** The placeholder value of a declared secret that is not in any committed file. */
export const SECRET_PLACEHOLDER = "offline-plan-placeholder-secret";

/** One segment of a `--path` key: a map key or an array index. */
export type PathSegment = string | number;

/**
 * Parses the name part of a config key as a property path, as `pulumi config set --path` does
 * (`ptr.restoreTime`, `names[0]`, `["parent.name"]["nested.name"]`).
 */
export function parsePropertyPath(text: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let rest = text;
  while (rest.length > 0) {
    if (rest.startsWith(".")) {
      rest = rest.slice(1);
    } else if (rest.startsWith('["')) {
      let key = "";
      let i = 2;
      for (;;) {
        if (i >= rest.length)
          throw new UsageError(`invalid config key path ${JSON.stringify(text)}: missing closing quote`);
        if (rest[i] === '"') break;
        if (rest[i] === "\\" && rest[i + 1] === '"') {
          key += '"';
          i += 2;
        } else {
          key += rest[i];
          i += 1;
        }
      }
      if (rest[i + 1] !== "]") {
        throw new UsageError(`invalid config key path ${JSON.stringify(text)}: missing closing bracket`);
      }
      segments.push(key);
      rest = rest.slice(i + 2);
    } else if (rest.startsWith("[")) {
      const close = rest.indexOf("]");
      if (close < 0)
        throw new UsageError(`invalid config key path ${JSON.stringify(text)}: missing closing bracket`);
      const index = rest.slice(1, close);
      if (!/^\d+$/.test(index)) {
        throw new UsageError(
          `invalid config key path ${JSON.stringify(text)}: array index ${JSON.stringify(index)}`,
        );
      }
      segments.push(Number(index));
      rest = rest.slice(close + 1);
    } else {
      const end = rest.search(/[.[]/);
      const name = end < 0 ? rest : rest.slice(0, end);
      segments.push(name);
      rest = end < 0 ? "" : rest.slice(end);
    }
  }
  if (segments.length === 0) throw new UsageError(`invalid config key path ${JSON.stringify(text)}: empty`);
  if (typeof segments[0] !== "string" || segments[0] === "") {
    throw new UsageError(
      `invalid config key path ${JSON.stringify(text)}: the first segment must be a key name`,
    );
  }
  return segments;
}

/**
 * A value given on the command line, typed as `pulumi config set --path` types it inside an object:
 * `true`/`false` become booleans, integers (without a leading zero) numbers, anything else stays a string.
 */
export function typedPathValue(text: string): string | number | boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  // "0123" stays a string so that leading zeros survive (Pulumi does the same).
  if (text.length > 1 && text.startsWith("0")) return text;
  if (/^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    // Pulumi keeps what does not fit a Go int as a string; a JS number is exact up to 2^53.
    if (Number.isSafeInteger(n)) return n;
  }
  return text;
}

/** `drMode` → `service-dr:drMode`; a key with a namespace (`azure-native:location`) is kept as given. */
export function qualifyKey(project: string, key: string): string {
  const colon = key.indexOf(":");
  const pathStart = key.search(/[.[]/);
  return colon > 0 && (pathStart < 0 || colon < pathStart) ? key : `${project}:${key}`;
}

/**
 * Applies one `--set <key>=<value>` override to `values` in place, with `pulumi config set --path`
 * semantics: a one-segment key is set to the string as given (top-level entries are always strings);
 * a longer path creates or walks maps and arrays inside the key's structured value and sets the typed leaf.
 */
export function applySet(values: StackConfig, project: string, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new UsageError(`--set expects <path>=<value>, got ${JSON.stringify(assignment)}`);
  const qualified = qualifyKey(project, assignment.slice(0, eq));
  const value = assignment.slice(eq + 1);
  const colon = qualified.indexOf(":");
  const namespace = qualified.slice(0, colon);
  const segments = parsePropertyPath(qualified.slice(colon + 1));
  const key = `${namespace}:${String(segments[0])}`;
  if (segments.length === 1) {
    values.set(key, value);
    return;
  }
  const existing = values.get(key);
  // A top-level string is overwritten by the object the path creates (Pulumi does the same).
  const root: JsonValue =
    existing === undefined || typeof existing === "string" ? null : structuredClone(existing);
  values.set(key, setAtPath(root, segments.slice(1), typedPathValue(value), assignment));
}

function setAtPath(
  container: JsonValue,
  segments: readonly PathSegment[],
  leaf: JsonValue,
  what: string,
): JsonValue {
  const [head, ...tail] = segments;
  if (head === undefined) return leaf;
  if (typeof head === "number") {
    if (container !== null && !Array.isArray(container)) {
      throw new UsageError(`--set ${what}: an array was expected for index ${head}`);
    }
    const array = container ?? [];
    if (head > array.length) {
      throw new UsageError(`--set ${what}: array index ${head} out of range (length ${array.length})`);
    }
    const copy = [...array];
    copy[head] = setAtPath(array[head] ?? null, tail, leaf, what);
    return copy;
  }
  if (container !== null && (typeof container !== "object" || Array.isArray(container))) {
    throw new UsageError(`--set ${what}: a map was expected for key ${JSON.stringify(head)}`);
  }
  const map = container ?? {};
  return { ...map, [head]: setAtPath(map[head] ?? null, tail, leaf, what) };
}

/** The strings the program receives: `PULUMI_CONFIG` holds top-level strings and JSON for everything else. */
export function serializeConfig(values: StackConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of [...values.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

export interface Declaration {
  readonly key: string;
  readonly secret: boolean;
  readonly type: string | undefined;
  /** `default:` (project keys) or `value:` / short form (provider keys): applies unless the stack sets the key. */
  readonly fallback: ConfigValue | undefined;
}

/** Reads the project name and the `config:` declarations of `Pulumi.yaml`. */
export function readProject(projectDir: string): { project: string; declarations: Declaration[] } {
  const file = path.join(projectDir, "Pulumi.yaml");
  const doc = parseYamlFile(file);
  const project = doc.get("name");
  if (typeof project !== "string" || project === "") throw new UsageError(`${file}: no project name`);
  const declarations: Declaration[] = [];
  const config = doc.get("config", true);
  if (config === undefined || config === null) return { project, declarations };
  if (!YAML.isMap(config)) throw new UsageError(`${file}: config is not a map`);
  for (const pair of config.items) {
    const key = qualifyKey(project, scalarText(pair.key, file));
    const node = pair.value;
    if (YAML.isMap(node)) {
      const decl = node.toJSON() as Record<string, unknown>;
      const field = "default" in decl ? "default" : "value";
      const fallback = decl[field];
      declarations.push({
        key,
        secret: decl.secret === true,
        type: typeof decl.type === "string" ? decl.type : undefined,
        fallback: fallback === undefined ? undefined : topLevelValue(fallback, node.get(field, true)),
      });
    } else {
      declarations.push({ key, secret: false, type: undefined, fallback: configNodeValue(node, file).value });
    }
  }
  return { project, declarations };
}

/**
 * Loads the config of `stack` from `projectDir` the way the CLI assembles it: `Pulumi.yaml` fallbacks, then
 * the `pulumiConfig` of the ESC environments the stack file imports (esc.ts), then the stack file's values
 * merged over them (objects key by key, the stack's leaves win), then placeholders for declared secrets
 * still without a value.
 */
export function loadStackConfig(projectDir: string, stack: string): LoadedConfig {
  const { project, declarations } = readProject(projectDir);
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new UsageError(`no stack file ${file} (is --stack ${stack} right?)`);
  const doc = parseYamlFile(file);
  const values: StackConfig = new Map();
  const secretKeys = new Set<string>();
  const placeholderKeys = new Set<string>();
  const plaintextSecrets: string[] = [];
  const declaredSecret = new Set(declarations.filter((d) => d.secret).map((d) => d.key));
  for (const decl of declarations) {
    if (decl.fallback !== undefined) values.set(decl.key, decl.fallback);
    if (decl.secret) secretKeys.add(decl.key);
  }
  const environments = stackEnvironments(doc.get("environment", true), file);
  const fromEnvironments = environmentValues(projectDir, project, environments);
  for (const [key, value] of fromEnvironments) values.set(key, value);
  const config = doc.get("config", true);
  if (config !== undefined && config !== null) {
    if (!YAML.isMap(config)) throw new UsageError(`${file}: config is not a map`);
    for (const pair of config.items) {
      const key = qualifyKey(project, scalarText(pair.key, file));
      const { value, secure } = configNodeValue(pair.value, file);
      // Merged with the environments' value only: a Pulumi.yaml default applies only when nothing sets the key.
      const fromEnvironment = fromEnvironments.get(key);
      values.set(key, fromEnvironment === undefined ? value : stackOverEnvironment(value, fromEnvironment));
      if (secure) {
        // Encrypted in the file and not decryptable here: the program sees a placeholder, marked secret.
        secretKeys.add(key);
        placeholderKeys.add(key);
      } else if (declaredSecret.has(key)) {
        plaintextSecrets.push(key);
      }
    }
  }
  for (const decl of declarations) {
    if (decl.secret && !values.has(decl.key)) {
      values.set(decl.key, placeholderFor(decl.type));
      placeholderKeys.add(decl.key);
    }
  }
  return {
    project,
    stack,
    values,
    secretKeys,
    placeholderKeys,
    declarations,
    plaintextSecrets,
    environments,
  };
}

/**
 * The environments' `pulumiConfig` as stack config: a key without a namespace is the project's; a top-level
 * boolean or integer reaches the program as its text, an object or array as JSON.
 */
function environmentValues(projectDir: string, project: string, names: readonly string[]): StackConfig {
  const out: StackConfig = new Map();
  for (const [rawKey, value] of Object.entries(resolvePulumiConfig(projectDir, names))) {
    if ((rawKey.match(/:/g) ?? []).length > 1) {
      throw new UsageError(
        `ESC environment ${names.join(", ")}: pulumiConfig key ${JSON.stringify(rawKey)} must be <key> or <namespace>:<key>`,
      );
    }
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    // esc.ts refuses null, so a non-object is a string, a boolean or an integer.
    out.set(key, value !== null && typeof value === "object" ? value : String(value));
  }
  return out;
}

/** The CLI's merge of a stack value over an environment value: objects key by key, otherwise the stack's. */
function stackOverEnvironment(stackValue: ConfigValue, envValue: ConfigValue): ConfigValue {
  if (typeof stackValue === "string" || typeof envValue === "string") return stackValue;
  return escMerge(stackValue, envValue);
}

/**
 * What the real CLI would refuse before running the program (its project-config validation): a declared key
 * without a default that the stack does not set, a value of the wrong declared type, a declared secret
 * stored in plain text. Declared secrets without any value are not reported: the plan uses a placeholder.
 */
export function declarationProblems(loaded: LoadedConfig, values: StackConfig): string[] {
  const problems: string[] = [];
  const short = (key: string): string =>
    key.startsWith(`${loaded.project}:`) ? key.slice(loaded.project.length + 1) : key;
  for (const decl of loaded.declarations) {
    const value = values.get(decl.key);
    if (value === undefined) {
      problems.push(
        `Stack '${loaded.stack}' is missing configuration value '${short(decl.key)}' ` +
          "(declared in Pulumi.yaml without a default)",
      );
    } else if (!loaded.placeholderKeys.has(decl.key) && !hasDeclaredType(value, decl.type)) {
      problems.push(
        `Stack '${loaded.stack}' with configuration key '${short(decl.key)}' must be of type '${decl.type ?? ""}' ` +
          `(received ${typeof value === "string" ? JSON.stringify(value) : "a structured value"})`,
      );
    }
  }
  for (const key of loaded.plaintextSecrets) {
    problems.push(
      `Stack '${loaded.stack}' with configuration key '${short(key)}' must be encrypted as it's secret ` +
        `(pulumi config set --secret ${short(key)} <value>)`,
    );
  }
  return problems;
}

function hasDeclaredType(value: ConfigValue, type: string | undefined): boolean {
  switch (type) {
    case undefined:
      return true;
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "string" && /^[+-]?\d+$/.test(value);
    case "boolean":
      return value === "true" || value === "false";
    case "array":
      return Array.isArray(value);
    default:
      return true;
  }
}

function placeholderFor(type: string | undefined): ConfigValue {
  switch (type) {
    case "integer":
      return "0";
    case "boolean":
      return "false";
    case "array":
      return [];
    default:
      return SECRET_PLACEHOLDER;
  }
}

export function parseYamlFile(file: string): YAML.Document.Parsed {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new UsageError(`cannot read ${file}`, { cause });
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    throw new UsageError(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
  }
  return doc;
}

function scalarText(node: unknown, file: string): string {
  if (YAML.isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) {
    return String(node.value);
  }
  throw new UsageError(`${file}: a config key is not a plain string`);
}

/**
 * A stack-file value as the CLI passes it: a top-level scalar as its YAML text (`1.50` stays "1.50"),
 * maps and lists as JSON, `{ secure: ... }` anywhere as a placeholder that makes the whole key secret.
 */
function configNodeValue(node: unknown, file: string): { value: ConfigValue; secure: boolean } {
  if (node === null || node === undefined) return { value: "", secure: false };
  if (YAML.isScalar(node)) return { value: scalarSource(node), secure: false };
  if (YAML.isMap(node) || YAML.isSeq(node)) {
    if (YAML.isMap(node) && node.items.length === 1 && node.has("secure")) {
      return { value: SECRET_PLACEHOLDER, secure: true };
    }
    let secure = false;
    const replaceSecure = (value: unknown): JsonValue => {
      if (Array.isArray(value)) return value.map(replaceSecure);
      if (value !== null && typeof value === "object") {
        const entries = Object.entries(value);
        if (entries.length === 1 && entries[0]?.[0] === "secure") {
          secure = true;
          return SECRET_PLACEHOLDER;
        }
        return Object.fromEntries(entries.map(([k, v]) => [k, replaceSecure(v)]));
      }
      return value as JsonValue;
    };
    const value = replaceSecure(node.toJSON());
    return { value, secure };
  }
  throw new UsageError(`${file}: unsupported YAML node in config`);
}

function scalarSource(node: YAML.Scalar): string {
  if (typeof node.value === "string") return node.value;
  if (node.value === null) return "";
  if (typeof node.source === "string") return node.source;
  return typeof node.value === "number" || typeof node.value === "boolean"
    ? String(node.value)
    : JSON.stringify(node.value);
}

function topLevelValue(value: unknown, node: unknown): ConfigValue {
  if (YAML.isScalar(node)) return scalarSource(node);
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") return value as JsonValue;
  return String(value);
}
