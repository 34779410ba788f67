/**
 * The steps of `restore --from-copy` (restore.ts `restoreFromCopy`) that are its own: what it refuses before
 * anything is touched, the copy's dump kept for pg_restore, and the comparison with the copy after the swap.
 */
import { mkdtemp } from "node:fs/promises";
import path from "node:path";
import { commitBackup, type CommittedBackup } from "../backup";
import type { BlobStoreSettings } from "../blobstore";
import { compare, formatComparison, type CompareResult } from "../compare";
import { withDatabase, type PgConnection } from "../connection";
import { VerificationError } from "../errors";
import { BLOB_PATH_RULE, blobPathProblem } from "../naming";
import type { ClientProgramOptions } from "../proc";
import { formatSeconds, type Log } from "../progress";

/** The database a `restore --from-copy` dumps (scenario 2: the PTR copy) and where its dump is stored. */
export interface CopySource {
  /** The copy's server and the database dumped (`PTR_PG*`). */
  readonly connection: PgConnection;
  /** Where the dump is stored as the restore's evidence (naming.ts `backupPrefix.ptrCopy`). */
  readonly prefix: string;
  /** Recorded in the dump's metadata: the copy's server name. Default the connection's host. */
  readonly sourceServer?: string | undefined;
}

/** What `copyRestoreProblems` reads of the options. */
interface CopyRestoreRequest {
  readonly connection: PgConnection;
  readonly copy: CopySource;
  readonly database?: string | undefined;
  readonly runId: string;
}

/**
 * The problems of a copy restore's source, before anything is read or touched (the run id and the names it makes
 * are restore.ts `restoreNameProblems`'): the prefix (a blob path), and a source that is the target itself — a
 * restore of a database from its own dump would replace it with itself and prove nothing (a missing
 * `PTR_PGHOST` would otherwise mean it). Host names are compared as DNS compares them (case, a final dot); two
 * names of one server (an IP address and its name) are not detected here.
 */
export function copyRestoreProblems(o: CopyRestoreRequest): string[] {
  const problems = copyPrefixProblems(o.copy.prefix);
  const source = o.copy.connection;
  const target = o.database ?? source.database;
  const sameHost = dnsName(source.host) === dnsName(o.connection.host);
  if (sameHost && source.port === o.connection.port && source.database === target) {
    problems.push(
      `the copy (PTR_PGHOST ${source.host}:${source.port}, database ${source.database}) is the target ` +
        `itself: a database cannot be restored from its own dump`,
    );
  }
  return problems;
}

/** Where the copy's dump goes: required, and a blob path (naming.ts BLOB_PATH_RULE). */
export function copyPrefixProblems(prefix: string): string[] {
  if (prefix === "")
    return ["--prefix is required (where the copy's dump is stored as the restore's evidence)"];
  const wrong = blobPathProblem(prefix);
  return wrong === undefined
    ? []
    : [`--prefix must be a blob name or prefix (${BLOB_PATH_RULE}); ${wrong}: got ${JSON.stringify(prefix)}`];
}

/** A host name as DNS compares it: without case and without a final dot. */
const dnsName = (host: string): string => host.toLowerCase().replace(/\.$/, "");

/** The copy's dump, committed as evidence and kept in `dir` for pg_restore; its read-back is `verify`. */
export interface DumpedCopy extends CommittedBackup {
  readonly dir: string;
}

/**
 * The copy dumped by the backup's own steps into a new directory under `tmp` and stored under the prefix, with
 * its manifest; the directory stays for pg_restore (the caller removes `tmp`).
 */
export async function dumpCopy(
  o: ClientProgramOptions & {
    readonly copy: CopySource;
    readonly store: BlobStoreSettings;
    readonly onDumpCommitted?: ((blobName: string) => Promise<void>) | undefined;
  },
  jobs: number,
  tmp: string,
  log: Log,
): Promise<DumpedCopy> {
  const dir = path.join(await mkdtemp(path.join(tmp, "copy-")), "dump");
  log(`restore: dumping ${o.copy.connection.database} on ${o.copy.connection.host} into ${o.copy.prefix}`);
  const committed = await commitBackup({
    connection: o.copy.connection,
    store: o.store,
    prefix: o.copy.prefix,
    sourceServer: o.copy.sourceServer,
    jobs,
    workDir: tmp,
    keepDumpIn: dir,
    verify: true,
    onCommitted: o.onDumpCommitted,
    binDir: o.binDir,
    log,
  });
  return { ...committed, dir };
}

/**
 * After the swap (or for a run that already completed): the restored database against the copy, both read in
 * snapshot sessions (compare.ts); a difference is a VerificationError naming each.
 */
export async function compareWithCopy(
  o: { readonly connection: PgConnection; readonly copy: CopySource },
  database: string,
  jobs: number,
  log: Log,
): Promise<CompareResult> {
  const t0 = Date.now();
  const left = withDatabase(o.connection, database);
  const right = o.copy.connection;
  const result = await compare({ left, right, jobs, log });
  const labels = { leftLabel: `${left.host}/${database}`, rightLabel: `${right.host}/${right.database}` };
  if (!result.equal) {
    throw new VerificationError(
      `${database} was restored from the copy but does not equal it:\n${formatComparison(result, labels)}`,
    );
  }
  log(
    `restore: ${database} equals the copy (${result.relations.length} relations, row counts and checksums) ` +
      `in ${formatSeconds((Date.now() - t0) / 1000)}`,
  );
  return result;
}
