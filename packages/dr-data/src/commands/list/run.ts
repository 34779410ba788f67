/** `dr-data list`: the backups under a prefix, newest first. */
import { DateTime } from "luxon";
import { blobStoreFromEnv } from "../../blobstore";
import { parseListArgs } from "../../contract";
import { formatBackupList, listBackups } from "../../list";
import type { Env, Io } from "../io";

export async function runList(args: string[], env: Env, io: Io): Promise<number> {
  const { container, prefix, database } = parseListArgs(args);
  const entries = await listBackups({ store: blobStoreFromEnv(env, container), prefix, database });
  io.out(
    entries.length === 0
      ? `no backups under ${container}/${prefix}`
      : formatBackupList(entries, DateTime.utc()),
  );
  return 0;
}
