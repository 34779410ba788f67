/**
 * The two sides `inspect` and `reconcile` read: the PTR copy from `PTR_PG*`, the live database from `LIVE_PG*`,
 * each falling back field by field to `PG*` (contract.ts CONNECTION_PREFIXES).
 */
import { connectionFromEnv, type PgConnection } from "../../connection";
import type { ConnectionPrefix, ReconcileArgs } from "../../contract";
import type { Env } from "../io";

export const PTR_PREFIX = "PTR_" satisfies ConnectionPrefix;
export const LIVE_PREFIX = "LIVE_" satisfies ConnectionPrefix;

export function sides(
  env: Env,
  f: Pick<ReconcileArgs, "ptrDatabase" | "liveDatabase">,
): { readonly copy: PgConnection; readonly live: PgConnection } {
  return {
    copy: connectionFromEnv(env, PTR_PREFIX, f.ptrDatabase),
    live: connectionFromEnv(env, LIVE_PREFIX, f.liveDatabase),
  };
}
