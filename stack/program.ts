/**
 * The stack's program as a function of the clock: load and validate this stack's config, construct the one
 * recovery component for its service, return the stack outputs. `index.ts` calls it with the real clock; the
 * tests and the offline plan call it under Pulumi's mock runtime with a pinned one.
 */
import type { DateTime } from "luxon";
import { loadConfig, warnIgnoredRetries } from "../config";
import { ServiceRecovery } from "../components";
import type { ProgramOutputs } from "./outputs";

export async function program(now: DateTime): Promise<ProgramOutputs> {
  // Throws ConfigError with every problem before anything is declared.
  const config = loadConfig(now);
  // Named by the service, as the components it holds were named before it existed (their URNs depend on it).
  const recovery = new ServiceRecovery(config.kubernetes.service, { config, now });
  // The retry.<step> keys whose Job this state does not declare: worded from the plan, the one source of Jobs.
  warnIgnoredRetries(config, recovery.plan);
  return Promise.resolve(recovery.outputs);
}
