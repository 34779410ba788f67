/** `dr-data inspect`: what differs between the PTR copy and the live database, written to the incident's blobs. */
import { blobStoreFromEnv } from "../../blobstore";
import { parseInspectArgs } from "../../contract";
import { formatInspectSummary, inspect } from "../../inspect";
import { incidentFlag, restoreTimeFlag, type Env, type Io } from "../io";
import { sides } from "./sides";

export async function runInspect(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseInspectArgs(args);
  const incidentId = incidentFlag("inspect", f.incident);
  const result = await inspect({
    log: io.err,
    ...sides(env, f),
    store: { settings: blobStoreFromEnv(env, f.container), incidentId },
    jobs: f.jobs,
    samples: f.samples,
    restoreTime: restoreTimeFlag("inspect", f.restoreTime),
  });
  io.out(formatInspectSummary(result, { all: f.all }));
  return 0;
}
