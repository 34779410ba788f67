/**
 * The pack's config is per environment, not per stack: every service's stack of an environment is held to the
 * same rules (`production: true` in production). The environment is the stack's (dev/fleet/environment.ts).
 * No import: the DR step's script and the workflows' tests read it without the pack's dependencies.
 */

/** The `--policy-pack-config` file of `environment`, relative to the project. */
export function policyConfigFile(environment: string): string {
  return `policy/config/${environment}.json`;
}
