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
import {
  columnDifferences,
  NOT_POPULATED,
  SnapshotSessions,
  summarize,
  type Column,
  type Relation,
  type RelationKind,
  type RelationSummary,
} from "./compare";
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
import { storageMissing, storedJson, VerificationError } from "./errors";

/**
 * /5: as /4, and each relation also lists its columns one by one (`columnList`: name, type, generated), in the
 * source's column order, which is the order every checksum of the manifest reads them in: pg_dump's COPY names
 * the same columns in the same order (every column neither dropped nor generated, by attnum, read in the same
 * snapshot; the backup checks the dump's COPY lists against it, copy-checksum.ts), and the server-side checksum
 * builds each row from the listed columns. The checks match columns by name: a restored table whose columns
 * pg_dump put in another order (an inheritance child whose parent gained a column later, a partition attached
 * with its own column order) is read back with an explicit column list in the manifest's order and is equal;
 * a missing, extra, renamed, retyped or no longer generated column is a difference. Materialized views are
 * recorded too (`kind: "materialized view"`, `populated`, rows and checksum of the source's contents): a restore
 * refreshes them (docs/data-tool.md, "What a restore gives back"), so other contents are reported as a note and
 * only a different population (or columns) is a difference. The dump's table of contents is recorded
 * (`tableOfContents`, `tocEntries`): a full restore refuses an archive whose entries are not exactly these.
 * /4 (read as before, never written): a table's checksum may come from the dump itself (`method: "copy"`,
 * packages/dr-data/src/copy-checksum.ts): counted and hashed from the COPY text in the directory-format dump's
 * files; its restore reads the restored table back with `COPY … TO STDOUT` in the restored table's own column
 * order and hashes it the same way. A /4 table without `method` has a /3 server-side checksum. Its columns are
 * one ordered text, compared as such: a database whose columns a restore reorders is refused against a /4 (or
 * older) manifest, as it always was, since its checksums were taken in that order.
 * /3: column types rendered with search_path pinned to pg_catalog (packages/dr-data/src/compare.ts `SESSION_SETTINGS`), so
 * every type outside pg_catalog is schema-qualified whatever the database's settings; and the database-level
 * properties (`database`). Every table checksum server-side (`hashtextextended` of the row text).
 * /2 (read, never written): the same checksums, but column types were rendered with the backup session's own
 * search_path (a type in a schema on that path printed unqualified). Its columns are compared with the schema
 * qualifiers removed on both sides (`unqualifiedColumns`): exact for names and types, blind only to a type
 * moving schema, which the checksums of the rows still see in most cases. A /2 manifest records no database
 * properties.
 * /1: md5 checksums, not comparable with hashtextextended: refused.
 * A manifest whose `tool` was changed to another version is refused: `columnList`, `tableOfContents` and
 * materialized views are /5's only, and /5 requires the first two.
 */
export const MANIFEST_VERSION = "dr-data-manifest/5";
export const MANIFEST_V4 = "dr-data-manifest/4";
export const MANIFEST_V3 = "dr-data-manifest/3";
export const MANIFEST_V2 = "dr-data-manifest/2";
const READABLE_VERSIONS: readonly string[] = [MANIFEST_VERSION, MANIFEST_V4, MANIFEST_V3, MANIFEST_V2];
/** The versions that record the database-level properties. */
const WITH_DATABASE_PROPERTIES: readonly string[] = [MANIFEST_VERSION, MANIFEST_V4, MANIFEST_V3];
/** The versions whose tables may have a checksum from the dump's COPY text. */
const WITH_COPY_METHOD: readonly string[] = [MANIFEST_VERSION, MANIFEST_V4];

/** How a table's checksum was taken: absent, server-side (`hashtextextended`); `copy`, from the COPY text. */
export type ChecksumMethod = "copy";

/** /5: one column of a relation; `generated` only when true. */
export interface ManifestColumn {
  readonly name: string;
  readonly type: string;
  readonly generated?: true | undefined;
}

export interface ManifestRelation {
  /** `schema.name` */
  readonly name: string;
  readonly kind: RelationKind;
  /** `name type, …` in the source's column order (display, and the ordered comparison of table restores). */
  readonly columns: string;
  /** /5: the same columns by name, in the order the checksums read them. */
  readonly columnList?: readonly ManifestColumn[] | undefined;
  /** /5 materialized views: whether the source's held data. */
  readonly populated?: boolean | undefined;
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
  /**
   * /5: the dump's table of contents (`tocEntries`): every entry as `TYPE schema name owner`, sorted. A full
   * restore refuses a dump whose table of contents is not this list (`tocDifferences`).
   */
  readonly tableOfContents?: readonly string[] | undefined;
}

/**
 * The entries of `pg_restore --list` output, each as `TYPE schema name owner` (the line without its dump id
 * and catalog OIDs: what pg_dump will create, whose, of which kind), sorted. The same for a dump of the same
 * database in either format; comments (`;`) are not entries.
 */
export function tocEntries(list: string): string[] {
  const out: string[] = [];
  for (const line of list.split("\n")) {
    const m = /^\d+; \d+ \d+ (.+)$/.exec(line);
    if (m !== null) out.push(m[1]!);
  }
  return out.sort();
}

/**
 * How a dump's table of contents differs from the manifest's record: entries it holds that the manifest does
 * not list (`extra`; a changed entry shows here and in `missing`) and listed ones it lacks, each once per copy.
 */
export function tocDifferences(
  recorded: readonly string[],
  list: string,
): { extra: string[]; missing: string[] } {
  const left = new Map<string, number>();
  for (const e of recorded) left.set(e, (left.get(e) ?? 0) + 1);
  const extra: string[] = [];
  for (const e of tocEntries(list)) {
    const n = left.get(e) ?? 0;
    if (n === 0) extra.push(e);
    else left.set(e, n - 1);
  }
  const missing = [...left].flatMap(([e, n]) => Array.from({ length: n }, () => e));
  return { extra, missing };
}

export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 1)}\n`, "utf8");
}

export function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Parses and checks the shape; throws a VerificationError naming what is wrong. */
export function parseManifest(text: string, what: string): Manifest {
  const raw = storedJson(text, what);
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
  if (m.tool === MANIFEST_VERSION) {
    const toc = m.tableOfContents;
    if (!Array.isArray(toc) || !toc.every((e) => typeof e === "string" && e !== "")) {
      bad("tableOfContents is not a list of entries");
    }
  } else if (m.tableOfContents !== undefined) {
    bad(`${String(m.tool)} records no tableOfContents`);
  }
  const seen = new Set<string>();
  for (const r of m.relations as unknown[]) {
    if (typeof r !== "object" || r === null) return bad("a relation is not an object");
    const x = r as Record<string, unknown>;
    if (typeof x.name !== "string" || seen.has(x.name)) bad(`relation name ${JSON.stringify(x.name)}`);
    seen.add(x.name as string);
    const problem = relationProblem(x, m.tool as string);
    if (problem !== undefined) bad(`${String(x.name)}: ${problem}`);
  }
  return raw as Manifest;
}

/** What is wrong with one relation of a manifest of version `tool`; undefined: nothing. */
function relationProblem(x: Record<string, unknown>, tool: string): string | undefined {
  const v5 = tool === MANIFEST_VERSION;
  const kinds = v5 ? ["table", "sequence", "materialized view"] : ["table", "sequence"];
  if (typeof x.kind !== "string" || !kinds.includes(x.kind)) {
    return `kind ${JSON.stringify(x.kind)} (${tool}: ${kinds.join(", ")})`;
  }
  if (typeof x.columns !== "string") return "columns";
  if (v5 !== (x.columnList !== undefined)) return `columnList ${v5 ? "missing" : `is not in ${tool}`}`;
  if (v5) {
    const listProblem = columnListProblem(x.columnList);
    if (listProblem !== undefined) return listProblem;
  }
  if (typeof x.rows !== "number" || !Number.isSafeInteger(x.rows) || x.rows < 0) return "rows";
  if (typeof x.checksum !== "string") return "checksum";
  if (x.kind === "sequence" && typeof x.checksumAfter !== "string") return "checksumAfter";
  if (
    x.method !== undefined &&
    (!WITH_COPY_METHOD.includes(tool) || x.kind !== "table" || x.method !== "copy")
  ) {
    return `method ${JSON.stringify(x.method)} (only "copy", on a /4 or /5 table)`;
  }
  if ((x.kind === "materialized view") !== (typeof x.populated === "boolean")) {
    return `populated ${JSON.stringify(x.populated)} (a boolean on a materialized view, absent otherwise)`;
  }
  return undefined;
}

/** What is wrong with a /5 `columnList`: a list of `{name, type, generated?: true}` with unique names. */
function columnListProblem(list: unknown): string | undefined {
  if (!Array.isArray(list)) return "columnList is not a list";
  const names = new Set<string>();
  for (const c of list as unknown[]) {
    const col = (typeof c === "object" && c !== null ? c : {}) as Record<string, unknown>;
    if (typeof col.name !== "string" || names.has(col.name) || typeof col.type !== "string") {
      return `columnList entry ${JSON.stringify(c)} (name, unique, and type)`;
    }
    if (col.generated !== undefined && col.generated !== true) {
      return `columnList ${col.name}: generated ${JSON.stringify(col.generated)} (true or absent)`;
    }
    names.add(col.name);
  }
  return undefined;
}

/** A /5 column list as the checks' columns (`generated` false when absent). */
export function manifestColumns(list: readonly ManifestColumn[]): Column[] {
  return list.map((c) => ({ name: c.name, type: c.type, generated: c.generated === true }));
}

/** A catalog's columns as a /5 manifest records them. */
function recordedColumns(list: readonly Column[]): ManifestColumn[] {
  return list.map((c) =>
    c.generated ? { name: c.name, type: c.type, generated: true } : { name: c.name, type: c.type },
  );
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
  const columns = columnsDiffer(actual, expected, version);
  if (columns.length > 0) return columns;
  if (actual.kind === "sequence") {
    return sequenceWithin(actual.checksum, expected.checksum, expected.checksumAfter ?? expected.checksum)
      ? []
      : [`value ${actual.checksum} not within the backup's ${manifestValue(expected)}`];
  }
  if (actual.kind === "materialized view") {
    const populated = actual.checksum !== NOT_POPULATED;
    return populated === expected.populated
      ? []
      : [
          `${populated ? "populated" : "not populated"} in the database, ${expected.populated === true ? "populated" : "not populated"} in the backup`,
        ];
  }
  const out: string[] = [];
  if (actual.rows !== expected.rows) out.push(`rows ${actual.rows} vs ${expected.rows}`);
  if (actual.checksum !== expected.checksum) out.push("content differs");
  return out;
}

/** /5: the columns by name; older versions: the ordered text (/2 without schema qualifiers). */
function columnsDiffer(actual: RelationSummary, expected: ManifestRelation, version: string): string[] {
  if (expected.columnList !== undefined && actual.columnList !== undefined) {
    return columnDifferences(actual.columnList, manifestColumns(expected.columnList), {
      left: "the database",
      right: "the backup",
    });
  }
  const columnsEqual =
    version === MANIFEST_V2
      ? unqualifiedColumns(actual.columns) === unqualifiedColumns(expected.columns)
      : actual.columns === expected.columns;
  return columnsEqual ? [] : [`columns differ: (${actual.columns}) vs (${expected.columns})`];
}

/**
 * A materialized view whose contents are not the source's: a restore refreshes every populated one (pg_restore
 * runs its `MATERIALIZED VIEW DATA` entry, a REFRESH), so one that was stale in the source comes back with what
 * its query gives on the restored tables. Reported, never a difference.
 */
export function refreshedNote(
  name: string,
  actual: RelationSummary | undefined,
  expected: ManifestRelation | undefined,
): string | undefined {
  if (actual?.kind !== "materialized view" || expected?.kind !== "materialized view") return undefined;
  if (actual.checksum === NOT_POPULATED || expected.populated !== true) return undefined;
  if (actual.rows === expected.rows && actual.checksum === expected.checksum) return undefined;
  return (
    `${name}: materialized view refreshed by the restore: ${actual.rows} rows, the source held ${expected.rows}` +
    `${actual.rows === expected.rows ? " with other contents" : ""} (it was stale when backed up)`
  );
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
  const refreshed = names.flatMap((n) => refreshedNote(n, actual.get(n), expected.get(n)) ?? []);
  const notes = [
    ...refreshed,
    ...(actualDatabase === undefined
      ? []
      : recorded === undefined
        ? [`the manifest (${manifest.tool}) records no database-level properties: they were not compared`]
        : extensionVersionNotes(actualDatabase, recorded)),
  ];
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
      const relations = await sessions.relations(true);
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
   * Server-side checksums (/3) of the tables in `only` (default: all) and of every materialized view, in the
   * snapshot, each row built from the columns in column order (the manifest's); `onDone(done, total)` after
   * each (progress lines).
   */
  async summarizeTables(
    onDone?: (done: number, total: number) => void,
    only?: ReadonlySet<string>,
  ): Promise<void> {
    const chosen = [...this.relations].filter(
      ([name, r]) => r.kind === "materialized view" || (r.kind === "table" && (only?.has(name) ?? true)),
    );
    const orders = new Map(chosen.map(([name, r]) => [name, (r.columnList ?? []).map((c) => c.name)]));
    this.tables = await this.sessions.summarize(new Map(chosen), onDone, orders);
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
      const described = {
        name,
        kind: rel.kind,
        columns: rel.columns,
        columnList: recordedColumns(rel.columnList ?? []),
      };
      const c = copied.get(name);
      const t = this.tables.get(name);
      if (c !== undefined && rel.kind === "table") {
        out.push({ ...described, rows: c.rows, checksum: c.checksum, method: "copy" });
      } else if (t !== undefined) {
        const populated = rel.kind === "materialized view" ? { populated: rel.populated === true } : {};
        out.push({ ...described, rows: t.rows, checksum: t.checksum, ...populated });
      } else if (rel.kind !== "sequence") {
        throw new Error(`manifest: ${name} has no checksum`);
      } else {
        const b = this.sequencesBefore.get(name)!;
        out.push({
          ...described,
          rows: b.rows,
          checksum: b.checksum,
          checksumAfter: after.get(name)!.checksum,
        });
      }
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
