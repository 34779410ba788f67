/**
 * How `inspect` and `reconcile` scale (docs/data-tool.md, "Scale"): a `bigint`-keyed table of ROWS rows and a
 * `text`-keyed one of ROWS/4 in a "copy" database, "live" = the copy with 1 % of the big table's rows deleted,
 * 0.1 % changed and 5,000 added, and 2 % of the text-keyed rows deleted. Prints wall time and peak RSS of this
 * process (sampled every 50 ms) for `compare` (the baseline: count and checksum in SQL), `inspect` and
 * `reconcile`, on one local PostgreSQL and Azurite.
 *
 *   ROWS=1000000 npx tsx dev/bench/inspect-scale.ts
 */
import { Azurite } from "@service-dr/dr-data/testkit/azurite";
import { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { compare } from "@service-dr/dr-data/compare";
import { inspect } from "@service-dr/dr-data/inspect";
import { reconcile } from "@service-dr/dr-data/reconcile";

const N = Number(process.env.ROWS ?? 1_000_000);

/** One measured command: runs it and returns the summary printed after its figures. */
interface Run {
  readonly name: string;
  readonly run: () => Promise<string>;
}

async function main() {
  const [pg, az] = await Promise.all([PgCluster.start(), Azurite.start()]);
  try {
    await az.createContainer("reports");
    await seed(pg);
    await measure(runsOn(pg, az));
  } finally {
    await Promise.allSettled([pg.stop(), az.stop()]);
  }
}

/** "copy" with both tables, "live" its clone with the differences the header describes. */
async function seed(pg: PgCluster): Promise<void> {
  await pg.query("CREATE DATABASE copy");
  await pg.query(
    `CREATE SCHEMA app;
     CREATE TABLE app.big (id bigint PRIMARY KEY, name text, v numeric, at timestamptz);
     INSERT INTO app.big SELECT g, 'name ' || g, g * 0.5, '2026-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, ${N}) g;
     CREATE TABLE app.textkey (k text PRIMARY KEY, v int);
     INSERT INTO app.textkey SELECT md5(g::text), g FROM generate_series(1, ${N / 4}) g;
     ANALYZE;`,
    [],
    "copy",
  );
  await pg.query("CREATE DATABASE live TEMPLATE copy");
  await pg.query(
    `DELETE FROM app.big WHERE id % 100 = 0;
     UPDATE app.big SET v = -1 WHERE id % 1000 = 1;
     INSERT INTO app.big SELECT g, 'new', 0, now() FROM generate_series(${N + 1}, ${N + 5000}) g;
     DELETE FROM app.textkey WHERE v % 50 = 0;`,
    [],
    "live",
  );
}

function runsOn(pg: PgCluster, az: Azurite): Run[] {
  const quiet = () => undefined;
  return [
    {
      name: "compare",
      run: async () => {
        await compare({ left: pg.connection("copy"), right: pg.connection("live"), log: quiet });
        return "";
      },
    },
    {
      name: "inspect",
      run: async () => {
        const r = await inspect({
          copy: pg.connection("copy"),
          live: pg.connection("live"),
          store: { settings: az.store("reports"), incidentId: "x" },
          log: quiet,
        });
        return JSON.stringify(r.totals);
      },
    },
    {
      name: "reconcile",
      run: async () => {
        const r = await reconcile({
          copy: pg.connection("copy"),
          live: pg.connection("live"),
          store: az.store("reports"),
          incidentId: "x",
          log: quiet,
        });
        return JSON.stringify(r.tables.map((t) => [t.name, t.added, t.changed]));
      },
    },
  ];
}

/** Wall time and peak RSS of this process (sampled every 50 ms) for each run, one after the other. */
async function measure(runs: readonly Run[]): Promise<void> {
  const rss = () => Math.round(process.memoryUsage().rss / 1048576);
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 50);
  try {
    for (const { name, run } of runs) {
      peak = rss();
      const t0 = Date.now();
      const summary = await run();
      const s = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(`${name}: ${s} s, peak RSS ${peak} MiB ${summary}`);
    }
  } finally {
    clearInterval(timer);
  }
}
void main();
