/**
 * The backup manifest: what a backup's database held, table by table — row count and content checksum, the
 * same summaries as `compare` (packages/dr-data/src/compare.ts), so a manifest and a compare agree by construction — taken in
 * the snapshot that pg_dump dumps (`pg_dump --snapshot`), and sequence values.
 *
 * It is a sidecar blob `<dump blob>.manifest.json` (naming.ts `backupManifestBlobName`), committed before the
 * dump blob; the dump blob's metadata carries its sha256 (`manifestsha256`), so a committed dump has a
 * manifest whose bytes can be verified, and a swapped or edited manifest is detected.
 *
 * Sequences are not transactional: pg_dump reads a sequence's current value at some moment while it runs, not
 * in the snapshot. The manifest therefore records each sequence twice, read just before pg_dump starts
 * (`checksum`) and just after it exits (`checksumAfter`); a restored sequence must lie between the two
 * (inclusive). When nothing called nextval during the backup the two are equal and the check is exact, as in
 * `compare`. No slack of 32 (WAL-logging of sequences ahead) is allowed: the values are read on a primary and
 * restored with setval, which are both exact; a sequence that moved after the restore (nextval, or a crash of
 * the restored server after nextval) is reported as a difference.
 */
import { createHash } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { backupManifestBlobName } from "./naming";
import { SnapshotSessions, summarize, type Relation, type RelationSummary } from "./compare";
import type { CompareResult, RelationComparison } from "./compare";
import type { PgConnection } from "./connection";
import {
  databaseRecordProblems,
  extensionVersionNotes,
  readDatabaseRecord,
  recordDifferences,
  type DatabaseRecord,
} from "./database-properties";
import type { CopySummary } from "./copy-checksum";
import { storageMissing, VerificationError } from "./errors";

/**
 * /4: as /3, and a table's checksum may come from the dump itself (`method: "copy"`, packages/dr-data/src/copy-checksum.ts):
 * counted and hashed from the COPY text in the directory-format dump's files, so the backup runs no second
 * scan on the source; its restore reads the restored table back with `COPY … TO STDOUT` and hashes it the same
 * way. A /4 table without `method` has a /3 server-side checksum (a custom-format dump, or a table the dump's
 * table of contents could not be matched to).
 * /3: column types rendered with search_path pinned to pg_catalog (packages/dr-data/src/compare.ts `SESSION_SETTINGS`), so
 * every type outside pg_catalog is schema-qualified whatever the database's settings; and the database-level
 * properties (`database`). Every table checksum server-side (`hashtextextended` of the row text).
 * /2 (read, never written): the same checksums, but column types were rendered with the backup session's own
 * search_path (a type in a schema on that path printed unqualified). Its columns are compared with the schema
 * qualifiers removed on both sides (`unqualifiedColumns`): exact for names and types, blind only to a type
 * moving schema, which the checksums of the rows still see in most cases. A /2 manifest records no database
 * properties.
 * /1: md5 checksums, not comparable with hashtextextended: refused.
 */
export const MANIFEST_VERSION = "dr-data-manifest/4";
export const MANIFEST_V3 = "dr-data-manifest/3";
export const MANIFEST_V2 = "dr-data-manifest/2";
const READABLE_VERSIONS: readonly string[] = [MANIFEST_VERSION, MANIFEST_V3, MANIFEST_V2];
/** The versions that record the database-level properties. */
const WITH_DATABASE_PROPERTIES: readonly string[] = [MANIFEST_VERSION, MANIFEST_V3];

/** How a table's checksum was taken: absent, server-side (`hashtextextended`); `copy`, from the COPY text. */
export type ChecksumMethod = "copy";

export interface ManifestRelation {
  /** `schema.name` */
  readonly name: string;
  readonly kind: "table" | "sequence";
  readonly columns: string;
  readonly rows: number;
  /** Tables: the content checksum. Sequences: the value read before pg_dump started. */
  readonly checksum: string;
  /** Sequences only: the value read after pg_dump exited. */
  readonly checksumAfter?: string | undefined;
  /** /4 tables: `copy` when the checksum was taken from the dump's COPY text (copy-checksum.ts). */
  readonly method?: ChecksumMethod | undefined;
}

export interface Manifest {
  readonly tool: string;
  /** The dump blob this manifest describes. */
  readonly backup: string;
  readonly database: string;
  readonly sourceServer: string;
  /** The exported snapshot id that pg_dump (`--snapshot`) and the table summaries shared. */
  readonly snapshot: string;
  /** UTC ISO time the snapshot was taken. */
  readonly takenAt: string;
  readonly relations: readonly ManifestRelation[];
  /** /3: the database-level properties, read in the same snapshot (packages/dr-data/src/database-properties.ts). */
  readonly databaseProperties?: DatabaseRecord | undefined;
}

export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 1)}\n`, "utf8");
}

export function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Parses and checks the shape; throws a VerificationError naming what is wrong. */
export function parseManifest(text: string, what: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new VerificationError(`${what} is not JSON`, { cause });
  }
  const bad = (why: string): never => {
    throw new VerificationError(`${what} is not a dr-data manifest: ${why}`);
  };
  if (typeof raw !== "object" || raw === null) return bad("not an object");
  const m = raw as Record<string, unknown>;
  if (typeof m.tool !== "string" || !READABLE_VERSIONS.includes(m.tool)) {
    bad(`tool is ${JSON.stringify(m.tool)}, expected one of ${READABLE_VERSIONS.join(", ")}`);
  }
  for (const k of ["backup", "database", "sourceServer", "snapshot", "takenAt"]) {
    if (typeof m[k] !== "string") bad(`${k} is not a string`);
  }
  if (!Array.isArray(m.relations)) return bad("relations is not a list");
  if (WITH_DATABASE_PROPERTIES.includes(m.tool as string)) {
    const problems = databaseRecordProblems(m.databaseProperties);
    if (problems.length > 0) bad(problems.join("; "));
  } else if (m.databaseProperties !== undefined) {
    bad(`${String(m.tool)} records no databaseProperties`);
  }
  const seen = new Set<string>();
  for (const r of m.relations as unknown[]) {
    if (typeof r !== "object" || r === null) return bad("a relation is not an object");
    const x = r as Record<string, unknown>;
    if (typeof x.name !== "string" || seen.has(x.name)) bad(`relation name ${JSON.stringify(x.name)}`);
    seen.add(x.name as string);
    if (x.kind !== "table" && x.kind !== "sequence") bad(`${String(x.name)}: kind ${JSON.stringify(x.kind)}`);
    if (typeof x.columns !== "string") bad(`${String(x.name)}: columns`);
    if (typeof x.rows !== "number" || !Number.isSafeInteger(x.rows) || x.rows < 0) {
      bad(`${String(x.name)}: rows`);
    }
    if (typeof x.checksum !== "string") bad(`${String(x.name)}: checksum`);
    if (x.kind === "sequence" && typeof x.checksumAfter !== "string") bad(`${String(x.name)}: checksumAfter`);
    if (
      x.method !== undefined &&
      (m.tool !== MANIFEST_VERSION || x.kind !== "table" || x.method !== "copy")
    ) {
      bad(`${String(x.name)}: method ${JSON.stringify(x.method)} (only "copy", on a /4 table)`);
    }
  }
  return raw as Manifest;
}

/** `123` or `123/not called` → [value, called]. */
function sequencePosition(text: string): [bigint, boolean] | undefined {
  const m = /^(-?\d+)(\/not called)?$/.exec(text);
  return m === null ? undefined : [BigInt(m[1]!), m[2] === undefined];
}

function comparePositions(a: [bigint, boolean], b: [bigint, boolean]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] ? 1 : -1;
}

/** The sequence rule: `value` lies between the two readings (inclusive, either direction). */
export function sequenceWithin(value: string, before: string, after: string): boolean {
  const v = sequencePosition(value);
  const a = sequencePosition(before);
  const b = sequencePosition(after);
  if (v === undefined || a === undefined || b === undefined) return value === before && value === after;
  const [lo, hi] = comparePositions(a, b) <= 0 ? [a, b] : [b, a];
  return comparePositions(lo, v) <= 0 && comparePositions(v, hi) <= 0;
}

function manifestValue(r: ManifestRelation): string {
  if (r.kind !== "sequence" || r.checksumAfter === undefined || r.checksumAfter === r.checksum) {
    return r.checksum;
  }
  return `${r.checksum}..${r.checksumAfter}`;
}

const COLUMN_TOKEN =
  /"(?:[^"]|"")*"\.?|[A-Za-z_\u0080-\uFFFF][\w$\u0080-\uFFFF]*\.?|[^"A-Za-z_\u0080-\uFFFF]+/gu;

/**
 * A `columns` text (`name type, …`) with every schema qualifier removed (`"my col" s1.mood[]` → `"my col"
 * mood[]`): the form in which /2 manifests are compared. A qualifier is an identifier, quoted or not,
 * immediately followed by a dot; a quoted identifier is one token, so a dot inside its quotes is kept.
 */
export function unqualifiedColumns(columns: string): string {
  return (columns.match(COLUMN_TOKEN) ?? []).filter((t) => !t.endsWith(".")).join("");
}

/** What differs between a database's summary and the manifest's record of the same relation. */
export function manifestDifferences(
  actual: RelationSummary | undefined,
  expected: ManifestRelation | undefined,
  version: string = MANIFEST_VERSION,
): string[] {
  if (actual === undefined && expected === undefined) return [];
  if (actual === undefined) return ["missing in the database"];
  if (expected === undefined) return ["not in the backup"];
  if (actual.kind !== expected.kind)
    return [`a ${actual.kind} in the database, a ${expected.kind} in the backup`];
  const columnsEqual =
    version === MANIFEST_V2
      ? unqualifiedColumns(actual.columns) === unqualifiedColumns(expected.columns)
      : actual.columns === expected.columns;
  if (!columnsEqual) return [`columns differ: (${actual.columns}) vs (${expected.columns})`];
  if (actual.kind === "sequence") {
    return sequenceWithin(actual.checksum, expected.checksum, expected.checksumAfter ?? expected.checksum)
      ? []
      : [`value ${actual.checksum} not within the backup's ${manifestValue(expected)}`];
  }
  const out: string[] = [];
  if (actual.rows !== expected.rows) out.push(`rows ${actual.rows} vs ${expected.rows}`);
  if (actual.checksum !== expected.checksum) out.push("content differs");
  return out;
}

/**
 * A database's summaries against a manifest, as a CompareResult (left: the database, right: the manifest)
 * that `formatComparison` prints.
 */
export function checkAgainstManifest(
  actual: ReadonlyMap<string, RelationSummary>,
  manifest: Manifest,
  actualDatabase?: DatabaseRecord,
): CompareResult {
  const expected = new Map(manifest.relations.map((r) => [r.name, r]));
  const names = [...new Set([...actual.keys(), ...expected.keys()])].sort();
  const relations: RelationComparison[] = names.map((name) => {
    const a = actual.get(name);
    const e = expected.get(name);
    return {
      name,
      left: a,
      right:
        e === undefined
          ? undefined
          : { kind: e.kind, columns: e.columns, rows: e.rows, checksum: manifestValue(e) },
      differences: manifestDifferences(a, e, manifest.tool),
    };
  });
  const recorded = manifest.databaseProperties;
  const database =
    actualDatabase === undefined || recorded === undefined ? [] : recordDifferences(actualDatabase, recorded);
  const notes =
    actualDatabase === undefined
      ? []
      : recorded === undefined
        ? [`the manifest (${manifest.tool}) records no database-level properties: they were not compared`]
        : extensionVersionNotes(actualDatabase, recorded);
  return {
    equal: relations.every((r) => r.differences.length === 0) && database.length === 0,
    relations,
    database,
    notes,
  };
}

/**
 * Taking a manifest alongside pg_dump: `start` opens `jobs` sessions sharing an exported snapshot (hand
 * `snapshot` to `pg_dump --snapshot`) and reads the sequences; `summarizeTables` checksums the tables in that
 * snapshot (run it while pg_dump runs); `finish`, after pg_dump exited, reads the sequences again, ends the
 * sessions (the snapshot stays valid until then) and returns the relations.
 */
export class ManifestTaker {
  private tables: Map<string, RelationSummary> | undefined;
  private constructor(
    private readonly sessions: SnapshotSessions,
    private readonly relations: Map<string, Relation>,
    private readonly sequencesBefore: Map<string, RelationSummary>,
    readonly takenAt: Date,
    /** The database-level properties, read in the snapshot. */
    readonly database: DatabaseRecord,
  ) {}

  static async start(conn: PgConnection, jobs: number): Promise<ManifestTaker> {
    const sessions = await SnapshotSessions.open("source", conn, jobs, "dr-data-backup-manifest");
    try {
      const takenAt = new Date();
      const relations = await sessions.relations();
      const before = await readSequences(sessions, relations);
      const database = await readDatabaseRecord(sessions.clients[0]!, conn.database);
      return new ManifestTaker(sessions, relations, before, takenAt, database);
    } catch (err) {
      await sessions.close();
      throw err;
    }
  }

  get snapshot(): string {
    return this.sessions.snapshot;
  }

  /** The tables of the snapshot, `schema.name` → relation. */
  get tableRelations(): ReadonlyMap<string, Relation> {
    return new Map([...this.relations].filter(([, r]) => r.kind === "table"));
  }

  /**
   * Server-side checksums (/3) of the tables in `only` (default: all), in the snapshot; `onDone(done, total)`
   * after each table (progress lines).
   */
  async summarizeTables(
    onDone?: (done: number, total: number) => void,
    only?: ReadonlySet<string>,
  ): Promise<void> {
    const tables = new Map([...this.tableRelations].filter(([name]) => only?.has(name) ?? true));
    this.tables = await this.sessions.summarize(tables, onDone);
  }

  /**
   * After pg_dump exited: the sequences read again, the sessions ended, and the relations. `copied`: tables
   * whose summary was taken from the dump's COPY text (`method: "copy"`); every other table must have been
   * summarized server-side.
   */
  async finish(copied: ReadonlyMap<string, CopySummary> = new Map()): Promise<ManifestRelation[]> {
    if (this.tables === undefined) throw new Error("manifest: the tables were not summarized");
    const after = await readSequences(this.sessions, this.relations);
    await this.sessions.close();
    const out: ManifestRelation[] = [];
    for (const [name, rel] of [...this.relations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const c = copied.get(name);
      if (c !== undefined && rel.kind === "table") {
        out.push({
          name,
          kind: "table",
          columns: rel.columns,
          rows: c.rows,
          checksum: c.checksum,
          method: "copy",
        });
        continue;
      }
      const t = this.tables.get(name);
      if (t !== undefined) {
        out.push({ name, kind: t.kind, columns: t.columns, rows: t.rows, checksum: t.checksum });
        continue;
      }
      if (rel.kind === "table") throw new Error(`manifest: ${name} has no checksum`);
      const b = this.sequencesBefore.get(name)!;
      const a = after.get(name)!;
      out.push({
        name,
        kind: b.kind,
        columns: b.columns,
        rows: b.rows,
        checksum: b.checksum,
        checksumAfter: a.checksum,
      });
    }
    return out;
  }

  /** Ends the sessions at once (a running checksum query fails; its error is the caller's to ignore). */
  async abort(): Promise<void> {
    await this.sessions.end();
  }
}

async function readSequences(
  s: SnapshotSessions,
  relations: ReadonlyMap<string, Relation>,
): Promise<Map<string, RelationSummary>> {
  const out = new Map<string, RelationSummary>();
  for (const [name, rel] of relations) {
    if (rel.kind === "sequence") out.set(name, await summarize(s.clients[0]!, rel));
  }
  return out;
}

/**
 * Downloads the manifest of `blobName` and checks its sha256 against `expectedSha256` (from the dump blob's
 * metadata) and that it describes that blob. Nothing else is touched.
 */
export async function readManifest(
  container: ContainerClient,
  blobName: string,
  expectedSha256: string,
): Promise<{ manifest: Manifest; name: string }> {
  const name = backupManifestBlobName(blobName);
  let bytes: Buffer;
  try {
    bytes = await container.getBlobClient(name).downloadToBuffer();
  } catch (cause) {
    const missing = storageMissing(cause, container.containerName, name);
    throw new VerificationError(
      `${blobName} records a manifest but ${container.containerName}/${name} cannot be read` +
        `${missing === undefined ? "" : ` (${missing})`}; nothing was done`,
      { cause },
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256) {
    throw new VerificationError(
      `the manifest ${name} has sha256 ${actual}, but ${blobName} records ${expectedSha256}: it was changed or ` +
        `replaced; not using this backup`,
    );
  }
  const manifest = parseManifest(bytes.toString("utf8"), name);
  if (manifest.backup !== blobName) {
    throw new VerificationError(`the manifest ${name} describes ${manifest.backup}, not ${blobName}`);
  }
  return { manifest, name };
}
