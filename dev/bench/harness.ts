/**
 * What the benches share: the PostgreSQL server they measure against (the same settings, so their figures
 * compare) and the way they run a client program.
 */
import { spawn } from "node:child_process";
import { PgCluster } from "@service-dr/dr-data/testkit/postgres";

/**
 * The machine's PostgreSQL with fsync on, `shared_buffers=512MB` and room for the whole load's WAL without a
 * checkpoint (`max_wal_size=8GB`, `checkpoint_timeout=30min`): no step pays for another's checkpoint.
 */
export function startBenchServer(): Promise<PgCluster> {
  return PgCluster.start({
    fast: false,
    settings: { shared_buffers: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min" },
  });
}

/** Runs a program; stdin/stdout may be files (fds). Rejects unless it exits 0. */
export function exec(
  program: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  stdio: { stdin?: number; stdout?: number } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, argv, {
      env,
      stdio: [stdio.stdin ?? "ignore", stdio.stdout ?? "ignore", "pipe"],
    });
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${program} exited ${code}: ${err}`)),
    );
  });
}
