/** `dr-data backup`: one verified backup; prints the blob's name. */
import { backup } from "../../backup";
import type { Env, Io } from "../io";
import { backupOptions } from "./flags";

export async function runBackup(args: string[], env: Env, io: Io): Promise<number> {
  const result = await backup(backupOptions(args, env, io));
  io.out(result.blobName);
  return 0;
}
