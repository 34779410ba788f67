/**
 * `dr-data pg-token`: the access token the tool itself logs in with under `DR_PG_AUTH=entra`, on stdout, for
 * the troubleshooting pod's psql-ptr / psql-live (packages/dr-data/src/bin/psql-side) — so that no password
 * exists in the pod and none is typed. Refused under any other DR_PG_AUTH: a token is never printed by surprise.
 */
import { WorkloadIdentityCredential, type TokenCredential } from "@azure/identity";
import { entraPassword } from "../../connection";
import { UsageError } from "../../errors";
import type { Env, Io } from "../io";

export async function runPgToken(
  args: string[],
  env: Env,
  io: Io,
  credential: TokenCredential = new WorkloadIdentityCredential(),
): Promise<number> {
  if (args.length > 0) throw new UsageError(`pg-token takes no arguments; got ${args.join(" ")}`);
  if (env.DR_PG_AUTH !== "entra") {
    throw new UsageError(
      `pg-token needs DR_PG_AUTH=entra (the pod's workload identity); DR_PG_AUTH is ${JSON.stringify(env.DR_PG_AUTH ?? "")}`,
    );
  }
  io.out(await entraPassword(credential)());
  return 0;
}
