/**
 * An application-shaped database (the mentor service's kind of data): accounts, events with JSON payloads,
 * placements, an audit log without a primary key, documents with bytea, identity columns and sequences,
 * NULLs, quotes, newlines and non-ASCII text. Deterministic: the same scale always gives the same rows, so
 * tests can assert exact counts. Scale 1 ≈ 81,000 rows (≈ 13 MB); scale 120 ≈ 1.8 GB (the benchmark).
 */
import { Client } from "pg";
import type { PgConnection } from "../src/connection";
import { clientConfig } from "../src/connection";

export interface AppDataCounts {
  readonly accounts: number;
  readonly events: number;
  readonly placements: number;
  readonly audit_log: number;
  readonly documents: number;
}

export function appDataCounts(scale: number): AppDataCounts {
  return {
    accounts: 10_000 * scale,
    events: 30_000 * scale,
    placements: 20_000 * scale,
    audit_log: 20_000 * scale,
    documents: 1_000 * scale,
  };
}

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE app.accounts (id bigint PRIMARY KEY, email text NOT NULL, full_name text NOT NULL,
  created_at timestamptz NOT NULL, status text NOT NULL, profile jsonb NOT NULL);
CREATE TABLE app.events (id bigint PRIMARY KEY, account_id bigint NOT NULL, occurred_at timestamptz NOT NULL,
  kind text NOT NULL, payload jsonb NOT NULL);
CREATE TABLE app.placements (id bigint PRIMARY KEY, account_id bigint NOT NULL, school_urn integer NOT NULL,
  starts_on date NOT NULL, hours numeric(6,2) NOT NULL, notes text);
CREATE TABLE app.audit_log (at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL, detail text);
CREATE TABLE public.documents (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL,
  body bytea NOT NULL, ratio double precision, tags text[], span interval);
CREATE SEQUENCE public.invoice_number START 1000;
`;

const FILL: Record<keyof AppDataCounts, string> = {
  accounts: `INSERT INTO app.accounts
    SELECT g, 'user' || g || '@example.' || (ARRAY['com','org','net'])[1 + g % 3],
      initcap(substr(md5(g::text), 1, 8)) || ' ' || CASE WHEN g % 10 = 0 THEN 'O''Brien-Zoë' ELSE initcap(substr(md5((g * 7)::text), 1, 10)) END,
      timestamptz '2020-01-01 00:00+00' + (g % 100000) * interval '17 min',
      (ARRAY['active','invited','suspended'])[1 + g % 3],
      jsonb_build_object('phone', '+44' || (7000000000 + g), 'prefs', jsonb_build_object('theme',
        CASE WHEN g % 2 = 0 THEN 'dark' ELSE 'light' END, 'digest', g % 5 = 0), 'bio', md5(g::text) || E'\\n' || md5((g + 1)::text))
    FROM generate_series(1::bigint, $1::bigint) g`,
  events: `INSERT INTO app.events
    SELECT g, 1 + (g * 7919) % $2::bigint, timestamptz '2023-01-01 00:00+00' + g * interval '3 s',
      (ARRAY['login','view','update','export','logout'])[1 + g % 5],
      jsonb_build_object('ip', '10.' || (g % 256) || '.' || ((g / 256) % 256) || '.' || (g % 97),
        'ua', 'Mozilla/5.0 ' || substr(md5(g::text), 1, 12), 'ref', md5((g * 3)::text))
    FROM generate_series(1::bigint, $1::bigint) g`,
  placements: `INSERT INTO app.placements
    SELECT g, 1 + (g * 31) % $2::bigint, 100000 + (g % 40000)::int, date '2024-09-01' + (g % 300)::int,
      (g % 4000) / 100.0,
      CASE WHEN g % 3 = 0 THEN NULL ELSE 'Mentor notes: ' || md5(g::text) || ' ' || repeat('ok ', (g % 7)::int) END
    FROM generate_series(1::bigint, $1::bigint) g`,
  audit_log: `INSERT INTO app.audit_log
    SELECT timestamptz '2024-01-01 00:00+00' + g * interval '1 s', 'user' || (g % 5000),
      (ARRAY['create','update','delete'])[1 + g % 3], 'row ' || g || E'\\t' || md5(g::text)
    FROM generate_series(1::bigint, $1::bigint) g`,
  documents: `INSERT INTO public.documents (title, body, ratio, tags, span)
    SELECT 'doc "' || g || '"', decode(md5(g::text) || md5((g * 5)::text), 'hex'), g / 7.0,
      ARRAY['t' || (g % 3), 'x,y'], (g % 1000) * interval '1 min'
    FROM generate_series(1::bigint, $1::bigint) g`,
};

const INDEXES = [
  "CREATE INDEX ON app.events (account_id)",
  "CREATE INDEX ON app.events (occurred_at)",
  "CREATE UNIQUE INDEX ON app.accounts (email)",
  "CREATE INDEX ON app.placements (account_id)",
  "CREATE INDEX ON app.audit_log (at)",
  "ALTER TABLE app.placements ADD FOREIGN KEY (account_id) REFERENCES app.accounts (id)",
];

/**
 * Creates the schema in `conn.database` (which must exist and be empty) and fills it, `parallel` tables at a
 * time (default 2), then builds the indexes and a foreign key. `invoice_number` is advanced `scale` times.
 */
export async function createAppData(
  conn: PgConnection,
  scale: number,
  o: { parallel?: number } = {},
): Promise<AppDataCounts> {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be an integer ≥ 1, got ${scale}`);
  const counts = appDataCounts(scale);
  const c = new Client(clientConfig(conn, "dr-testkit"));
  await c.connect();
  try {
    await c.query(SCHEMA);
  } finally {
    await c.end();
  }
  const queue = Object.keys(FILL) as (keyof AppDataCounts)[];
  const worker = async (): Promise<void> => {
    const w = new Client(clientConfig(conn, "dr-testkit"));
    await w.connect();
    try {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        const params = t === "events" || t === "placements" ? [counts[t], counts.accounts] : [counts[t]];
        await w.query(FILL[t], params);
      }
    } finally {
      await w.end();
    }
  };
  await Promise.all(Array.from({ length: o.parallel ?? 2 }, worker));
  const d = new Client(clientConfig(conn, "dr-testkit"));
  await d.connect();
  try {
    for (const sql of INDEXES) await d.query(sql);
    await d.query("SELECT nextval('public.invoice_number') FROM generate_series(1, $1::int)", [scale]);
    await d.query("ANALYZE");
  } finally {
    await d.end();
  }
  return counts;
}
