/**
 * The application's data as the drill writes it: an application-shaped schema (accounts, placements with a
 * foreign key, events with JSON payloads, an audit log without a primary key, documents with bytea and an
 * identity column, a sequence), seeded with exactly N rows, then written to in batches the way the service
 * would, and damaged by one destructive statement. Deterministic: ids continue from batch to batch, values are
 * functions of the id.
 *
 * `snapshot` takes per-table row counts and content checksums with the data tool's own `compare` (the same
 * order-independent checksum the compare Job uses), so "the data matches" means the same thing everywhere.
 */
import { Client } from "pg";
import { compare, type RelationSummary } from "@service-dr/dr-data/compare";
import { clientConfig, type PgConnection } from "@service-dr/dr-data/connection";

export const TABLES = [
  "app.accounts",
  "app.placements",
  "app.events",
  "app.audit_log",
  "public.documents",
] as const;
export type Table = (typeof TABLES)[number];
export type RowCounts = Readonly<Record<Table, number>>;

const SCHEMA = `
CREATE SCHEMA app;
CREATE TABLE app.accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL,
  created_at timestamptz NOT NULL, status text NOT NULL, profile jsonb NOT NULL);
CREATE TABLE app.placements (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES app.accounts (id),
  school_urn integer NOT NULL, starts_on date NOT NULL, hours numeric(6,2) NOT NULL, notes text);
CREATE TABLE app.events (id bigint PRIMARY KEY, account_id bigint NOT NULL, occurred_at timestamptz NOT NULL,
  kind text NOT NULL, payload jsonb NOT NULL);
CREATE INDEX ON app.events (account_id);
CREATE TABLE app.audit_log (at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL, detail text);
CREATE TABLE public.documents (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL,
  body bytea NOT NULL, tags text[]);
CREATE SEQUENCE public.invoice_number START 1000;
`;

/** One INSERT per table for ids $1..$2 ($3: the number of accounts that exist, for foreign keys). */
const INSERT: Readonly<Record<Table, string>> = {
  "app.accounts": `INSERT INTO app.accounts
    SELECT g, 'user' || g || '@example.org', initcap(substr(md5(g::text), 1, 8)) || CASE WHEN g % 10 = 0 THEN ' O''Brien-Zoë' ELSE '' END,
      timestamptz '2024-01-01 00:00+00' + g * interval '7 min', (ARRAY['active','invited','suspended'])[1 + g % 3],
      jsonb_build_object('phone', '+44' || (7000000000 + g), 'digest', g % 5 = 0, 'bio', md5(g::text) || E'\\n')
    FROM generate_series($1::bigint, $2::bigint) g`,
  "app.placements": `INSERT INTO app.placements
    SELECT g, 1 + (g * 31) % $3::bigint, 100000 + (g % 40000)::int, date '2025-09-01' + (g % 300)::int,
      (g % 4000) / 100.0, CASE WHEN g % 3 = 0 THEN NULL ELSE 'Mentor notes: ' || md5(g::text) END
    FROM generate_series($1::bigint, $2::bigint) g`,
  "app.events": `INSERT INTO app.events
    SELECT g, 1 + (g * 7919) % $3::bigint, timestamptz '2025-01-01 00:00+00' + g * interval '3 s',
      (ARRAY['login','view','update','export','logout'])[1 + g % 5],
      jsonb_build_object('ip', '10.' || (g % 256) || '.' || (g % 97), 'ref', md5((g * 3)::text))
    FROM generate_series($1::bigint, $2::bigint) g`,
  "app.audit_log": `INSERT INTO app.audit_log
    SELECT timestamptz '2025-01-01 00:00+00' + g * interval '1 s', 'user' || (g % 5000),
      (ARRAY['create','update','delete'])[1 + g % 3], 'row ' || g || E'\\t' || md5(g::text)
    FROM generate_series($1::bigint, $2::bigint) g`,
  "public.documents": `INSERT INTO public.documents (title, body, tags)
    SELECT 'doc "' || g || '"', decode(md5(g::text) || md5((g * 5)::text), 'hex'), ARRAY['t' || (g % 3), 'x,y']
    FROM generate_series($1::bigint, $2::bigint) g`,
};

const SHARES: Readonly<Record<Table, number>> = {
  "app.accounts": 0.1,
  "app.placements": 0.25,
  "app.events": 0.4,
  "app.audit_log": 0.2,
  "public.documents": 0.05,
};

export function emptyCounts(): Record<Table, number> {
  return {
    "app.accounts": 0,
    "app.placements": 0,
    "app.events": 0,
    "app.audit_log": 0,
    "public.documents": 0,
  };
}

/** N rows split over the tables (accounts and events take the rounding), every table at least one row. */
export function seedCounts(rows: number): RowCounts {
  const c = emptyCounts();
  for (const t of TABLES) c[t] = Math.max(1, Math.floor(rows * SHARES[t]));
  const rest = TABLES.filter((t) => t !== "app.events").reduce((s, t) => s + c[t], 0);
  c["app.events"] = rows - rest;
  if (c["app.events"] < 1) throw new Error(`--rows ${rows} is too small to seed every table`);
  return c;
}

/** A batch of the service's own writes: about a tenth of N, new accounts, placements, events, audit entries. */
export function batchCounts(rows: number, o: { placements: boolean }): RowCounts {
  const size = Math.max(20, Math.round(rows / 10));
  const c = emptyCounts();
  c["app.accounts"] = Math.round(size * 0.1);
  c["app.placements"] = o.placements ? Math.round(size * 0.2) : 0;
  c["app.audit_log"] = Math.round(size * 0.2);
  c["app.events"] = size - c["app.accounts"] - c["app.placements"] - c["app.audit_log"];
  return c;
}

export function totalRows(c: RowCounts): number {
  return TABLES.reduce((s, t) => s + c[t], 0);
}

/** Writes into one database, keeping the next id of every table. */
export class Workload {
  private readonly next = { ...emptyCounts() };

  constructor(private readonly conn: PgConnection) {
    for (const t of TABLES) this.next[t] = 1;
  }

  /** The id the next row of each table gets (ids are consecutive: one writer, no rollback). */
  nextIds(): RowCounts {
    return { ...this.next };
  }

  private async withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client(clientConfig(this.conn, "dr-drill"));
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  /** Creates the schema (the database must exist and be empty) and writes the seed in one transaction. */
  async seed(counts: RowCounts): Promise<void> {
    await this.withClient(async (c) => {
      await c.query(SCHEMA);
    });
    await this.write(counts);
  }

  /** One transaction inserting `counts` rows (accounts first: the others refer to them). */
  async write(counts: RowCounts): Promise<void> {
    await this.withClient(async (c) => {
      await c.query("BEGIN");
      try {
        const accountsAfter = this.next["app.accounts"] - 1 + counts["app.accounts"];
        for (const t of TABLES) {
          const n = counts[t];
          if (n === 0) continue;
          const from = this.next[t];
          await c.query(
            INSERT[t],
            t === "app.accounts" || t === "app.audit_log" || t === "public.documents"
              ? [from, from + n - 1]
              : [from, from + n - 1, accountsAfter],
          );
          this.next[t] = from + n;
        }
        await c.query("SELECT nextval('public.invoice_number') FROM generate_series(1, $1::int)", [
          Math.max(1, Math.round(totalRows(counts) / 100)),
        ]);
        await c.query("COMMIT");
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  /** The data loss: a bad migration deletes every placement. Returns the statement and the rows it deleted. */
  async loseData(): Promise<{ statement: string; rows: number }> {
    const statement = "DELETE FROM app.placements";
    const rows = await this.withClient(async (c) => (await c.query(statement)).rowCount ?? 0);
    return { statement, rows };
  }
}

/** Per-relation row counts and checksums (tables) and values (sequences) of one database, in one snapshot. */
export type Snapshot = ReadonlyMap<string, RelationSummary>;

export async function snapshot(conn: PgConnection): Promise<Snapshot> {
  // compare() reads each side in one exported snapshot; comparing a database with itself yields its summaries.
  const r = await compare({ left: conn, right: conn, jobs: 2, log: () => undefined });
  const out = new Map<string, RelationSummary>();
  for (const rel of r.relations) if (rel.left !== undefined) out.set(rel.name, rel.left);
  return out;
}

export function countsOf(s: Snapshot): RowCounts {
  const c = emptyCounts();
  for (const t of TABLES) c[t] = s.get(t)?.rows ?? 0;
  return c;
}

export interface SnapshotCheck {
  /** Tables with the same columns, rows and content checksum on both sides. */
  readonly tablesEqual: boolean;
  readonly problems: readonly string[];
  /** `schema.name: expected → actual` for each sequence (informational, see `checkAgainst`). */
  readonly sequences: readonly string[];
}

/**
 * Does `actual` hold exactly the tables of `expected`? Tables must match exactly (columns, rows, checksum).
 * Sequences are reported, and only checked not to go backwards: PostgreSQL WAL-logs a sequence 32 values
 * ahead, so a recovered server can legitimately hand out later values than the original had reached.
 */
export function checkAgainst(expected: Snapshot, actual: Snapshot): SnapshotCheck {
  const problems: string[] = [];
  const sequences: string[] = [];
  const names = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const name of names) {
    const e = expected.get(name);
    const a = actual.get(name);
    if (e === undefined || a === undefined) {
      problems.push(`${name}: ${e === undefined ? "not expected" : "missing"}`);
      continue;
    }
    if (e.kind === "sequence" && a.kind === "sequence") {
      const ev = Number.parseInt(e.checksum, 10);
      const av = Number.parseInt(a.checksum, 10);
      sequences.push(`${name}: ${e.checksum} → ${a.checksum}`);
      if (av < ev) problems.push(`${name}: sequence went backwards (${e.checksum} → ${a.checksum})`);
      continue;
    }
    if (e.columns !== a.columns) problems.push(`${name}: columns differ`);
    if (e.rows !== a.rows) problems.push(`${name}: ${e.rows} rows expected, ${a.rows} found`);
    else if (e.checksum !== a.checksum) problems.push(`${name}: same row count, content differs`);
  }
  return { tablesEqual: problems.length === 0, problems, sequences };
}
