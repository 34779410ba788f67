/**
 * Which environment a stack belongs to, from one source: the ESC environment of the project that its stack file
 * imports (`environment: [service-dr/staging]` → `staging`). That name is the stack's GitHub environment (its
 * variables, federated credentials and the App key, shared by every service of the environment), its preview
 * environment (`<environment>-preview`) and its policy config (`policy/config/<environment>.json`). The
 * workflows, the DR step, the fleet status and the policy tests all ask this module.
 */
import * as path from "node:path";
import { UsageError } from "@service-dr/dr-data";
import { environmentImports, stackEnvironments } from "../offline/esc";
import { parseYamlFile, readProject } from "../offline/stack-config";

/** The ESC environments a stack file imports directly (its `environment:` list), in order. */
export function stackImports(projectDir: string, stack: string): string[] {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  return stackEnvironments(parseYamlFile(file).get("environment", true), file);
}

/**
 * The environment named by `imports` (a stack file's `environment:` list): the one entry of the project's own
 * ESC project, its last segment. None, or more than one, is refused: the stack's GitHub environment and policy
 * config would be a guess.
 */
export function environmentOf(project: string, imports: readonly string[], where: string): string {
  const own = imports.filter((name) => name.startsWith(`${project}/`));
  if (own.length !== 1)
    throw new UsageError(
      `${where}: environment: must import exactly one ESC environment of project ${project} ` +
        `(${project}/<environment>: it names the stack's GitHub environment and policy config); ` +
        `received ${JSON.stringify(imports)}`,
    );
  return own[0]!.slice(project.length + 1);
}

/** The environment of a committed stack (`Pulumi.<stack>.yaml`). */
export function stackEnvironment(projectDir: string, stack: string): string {
  const { project } = readProject(projectDir);
  return environmentOf(project, stackImports(projectDir, stack), `Pulumi.${stack}.yaml`);
}

/** Every ESC environment a stack's config comes from: its imports and, transitively, theirs. */
export function importClosure(projectDir: string, stack: string): string[] {
  const seen = new Set<string>();
  const queue = stackImports(projectDir, stack);
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    queue.push(...environmentImports(projectDir, name));
  }
  return [...seen].sort();
}

/** The ESC environment a definition file defines (`environments/service-dr/staging.yaml` → `service-dr/staging`). */
export function environmentNameOf(file: string): string | undefined {
  const m = /^environments\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\.yaml$/.exec(file);
  return m === null ? undefined : `${m[1]}/${m[2]}`;
}
