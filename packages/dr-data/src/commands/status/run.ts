/** `dr-data status`: 0 when every newest backup verified and is recent, 1 otherwise (the reasons are printed). */
import { DateTime } from "luxon";
import { blobStoreFromEnv } from "../../blobstore";
import { parseStatusArgs } from "../../contract";
import { backupStatus, DEFAULT_MAX_AGE_HOURS, formatStatus } from "../../status";
import { instantFlag, type Env, type Io } from "../io";

export async function runStatus(args: string[], env: Env, io: Io): Promise<number> {
  const f = parseStatusArgs(args);
  const report = await backupStatus({
    store: blobStoreFromEnv(env, f.container),
    server: f.server,
    database: f.database,
    now: f.now === undefined ? DateTime.utc() : instantFlag("status", "now", f.now),
    maxAgeHours: f.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS,
  });
  io.out(f.json === true ? JSON.stringify(report, null, 2) : formatStatus(report));
  return report.ok ? 0 : 1;
}
