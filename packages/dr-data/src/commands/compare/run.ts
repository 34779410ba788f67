/**
 * `dr-data compare`: exit 0 when equal, 1 with the differences. The verdict stays the last line (the drill's
 * report and a Job's log tail show it).
 */
import { blobStoreFromEnv } from "../../blobstore";
import { compare, formatComparison } from "../../compare";
import { compareWithBackup } from "../../compare-backup";
import { compareTables, formatCompareTables } from "../../compare-tables";
import type { PgConnection } from "../../connection";
import type { Env, Io } from "../io";
import { compareRequest, type CompareRequest } from "./flags";

const label = (c: PgConnection) => `${c.host}/${c.database}`;

export async function runCompare(args: string[], env: Env, io: Io): Promise<number> {
  const request = compareRequest(args, env);
  switch (request.kind) {
    case "databases":
      return databases(request, io);
    case "backup":
      return againstBackup(request, env, io);
    case "tables":
      return tables(request, env, io);
  }
}

async function databases(r: Extract<CompareRequest, { kind: "databases" }>, io: Io): Promise<number> {
  const result = await compare({ left: r.left, right: r.right, jobs: r.jobs, log: io.err });
  io.out(formatComparison(result, { all: r.all, leftLabel: label(r.left), rightLabel: label(r.right) }));
  return result.equal ? 0 : 1;
}

async function againstBackup(
  r: Extract<CompareRequest, { kind: "backup" }>,
  env: Env,
  io: Io,
): Promise<number> {
  const result = await compareWithBackup({
    log: io.err,
    connection: r.connection,
    store: (container) => blobStoreFromEnv(env, container),
    backup: r.backup,
    jobs: r.jobs,
    binDir: env.PG_BINDIR,
  });
  io.out(
    `backup: ${result.container}/${result.blobName}\n` +
      formatComparison(result, {
        all: r.all,
        leftLabel: label(r.connection),
        rightLabel: "backup manifest",
      }),
  );
  return result.equal ? 0 : 1;
}

async function tables(r: Extract<CompareRequest, { kind: "tables" }>, env: Env, io: Io): Promise<number> {
  const result = await compareTables({
    log: io.err,
    left: r.left,
    right: r.right,
    tables: r.tables,
    runId: r.runId,
    jobs: r.jobs,
    binDir: env.PG_BINDIR,
  });
  const rightLabel = "manifest" in r.right ? "backup manifest" : label(r.right);
  io.out(formatCompareTables(result, { all: r.all, leftLabel: label(r.left), rightLabel }));
  return result.equal ? 0 : 1;
}
