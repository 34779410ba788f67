/** `dr-data reconcile`: every differing row between the PTR copy and the live database, as the incident's blobs. */
import { blobStoreFromEnv } from "../../blobstore";
import { parseReconcileArgs } from "../../contract";
import { formatReconcileSummary, reconcile } from "../../reconcile";
import { incidentFlag, restoreTimeFlag, type Env, type Io } from "../io";
import { sides } from "../inspect/sides";

export async function runReconcile(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseReconcileArgs(args);
  const incidentId = incidentFlag("reconcile", f.incident);
  const result = await reconcile({
    log: io.err,
    ...sides(env, f),
    store: blobStoreFromEnv(env, f.container),
    incidentId,
    jobs: f.jobs,
    restoreTime: restoreTimeFlag("reconcile", f.restoreTime),
  });
  io.out(formatReconcileSummary(result));
  return 0;
}
