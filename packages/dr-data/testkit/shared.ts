/**
 * One PostgreSQL cluster, one second cluster (a "new server" for restores that must start empty) and one Azurite
 * for the whole test run, started on first use and stopped by the suite's root hook (`test/support/hooks.ts`).
 * Starting them per file cost about two seconds each, fifteen times over.
 *
 * Each test file still gets a clean server: `sharedServers()` first resets what an earlier file may have left —
 * every other session (a child a failed test left running would otherwise hold, say, a restore's advisory
 * lock), every database but `postgres` and the templates, every role but the bootstrap user, the per-database
 * and per-role settings, the schemas, extensions and `public`'s contents in the `postgres` database, every
 * blob container. Not undone, because no test does them: ALTER SYSTEM, changes to the bootstrap user itself,
 * tablespaces, objects the bootstrap user makes in `template1`. A file that needs a server started differently
 * (its own user, WAL archiving, an Azurite it stops mid-test) starts its own, as before.
 */
import { BlobServiceClient } from "@azure/storage-blob";
import { Azurite } from "./azurite";
import { PgCluster } from "./postgres";
import { quoteIdent } from "../src/sql";

export interface SharedServers {
  readonly pg: PgCluster;
  readonly az: Azurite;
}

/** A server started on first use and kept; a start that failed is tried again by the next file. */
class StartedOnce<T extends { stop(): Promise<void> }> {
  private started: Promise<T> | undefined;
  constructor(private readonly start: () => Promise<T>) {}

  get(): Promise<T> {
    this.started ??= this.start().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  async stop(): Promise<void> {
    const started = this.started;
    this.started = undefined;
    if (started !== undefined) await (await started).stop();
  }
}

const mainCluster = new StartedOnce(() => PgCluster.start());
const freshCluster = new StartedOnce(() => PgCluster.start());
const azurite = new StartedOnce(() => Azurite.start());

/** The shared cluster and Azurite, reset to empty. Call it in a file's `before`; never stop what it returns. */
export async function sharedServers(): Promise<SharedServers> {
  const [pg, az] = await Promise.all([sharedPg(), sharedAzurite()]);
  return { pg, az };
}

/** The shared cluster, reset to empty. */
export async function sharedPg(): Promise<PgCluster> {
  const pg = await mainCluster.get();
  await resetCluster(pg);
  return pg;
}

/** A second shared cluster, reset to empty: the new server of a rebuild, the target of a cross-server restore. */
export async function sharedFreshPg(): Promise<PgCluster> {
  const pg = await freshCluster.get();
  await resetCluster(pg);
  return pg;
}

/** The shared Azurite, with no containers. */
export async function sharedAzurite(): Promise<Azurite> {
  const az = await azurite.get();
  await resetAzurite(az);
  return az;
}

/** Stops whatever was started; the suite's root `afterAll` calls it once. */
export async function stopSharedServers(): Promise<void> {
  await Promise.allSettled([mainCluster, freshCluster, azurite].map((s) => s.stop()));
}

/** Back to what initdb made: the steps run in this order because roles can be dropped only once they own nothing. */
async function resetCluster(pg: PgCluster): Promise<void> {
  await endOtherSessions(pg);
  await dropDatabases(pg);
  await dropPostgresDatabaseObjects(pg);
  await dropRoles(pg);
  await resetSettings(pg);
}

/** Terminates every client session but this one, and waits until they are gone (their locks with them). */
async function endOtherSessions(pg: PgCluster): Promise<void> {
  const others = `FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
  await pg.query(`SELECT pg_terminate_backend(pid) ${others}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await pg.query<{ n: string }>(`SELECT count(*)::text AS n ${others}`);
    if (r.rows[0]?.n === "0") return;
    if (Date.now() > deadline)
      throw new Error(`shared cluster: ${r.rows[0]?.n} sessions outlived termination`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function dropDatabases(pg: PgCluster): Promise<void> {
  const r = await pg.query<{ datname: string; datistemplate: boolean }>(
    "SELECT datname, datistemplate FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')",
  );
  for (const { datname, datistemplate } of r.rows) {
    // A test may have made a template; a template cannot be dropped until it is not one.
    if (datistemplate) await pg.query(`ALTER DATABASE ${quoteIdent(datname)} IS_TEMPLATE false`);
    await pg.query(`DROP DATABASE ${quoteIdent(datname)} WITH (FORCE)`);
  }
}

/**
 * In the `postgres` database: extensions but plpgsql, schemas other than the system ones and `public`, and
 * anything in `public` (relations, functions, types): none of them exist after initdb.
 */
async function dropPostgresDatabaseObjects(pg: PgCluster): Promise<void> {
  const extensions = await pg.query<{ extname: string }>(
    "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'",
  );
  for (const { extname } of extensions.rows) await pg.query(`DROP EXTENSION ${quoteIdent(extname)} CASCADE`);
  const schemas = await pg.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
      WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'public')
        AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'`,
  );
  for (const { nspname } of schemas.rows) await pg.query(`DROP SCHEMA ${quoteIdent(nspname)} CASCADE`);
  const inPublic = await pg.query<{ n: string }>(
    `SELECT ((SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)
           + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
           + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace))::text AS n`,
  );
  if (inPublic.rows[0]?.n !== "0") {
    // Recreated as PostgreSQL 15's initdb makes it: owned by pg_database_owner, usable by everyone.
    await pg.query(
      `DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION pg_database_owner;
       GRANT USAGE ON SCHEMA public TO PUBLIC; COMMENT ON SCHEMA public IS 'standard public schema'`,
    );
  }
}

/** Roles a test created (oid ≥ 16384: not the bootstrap user, not a predefined `pg_*` role). */
async function dropRoles(pg: PgCluster): Promise<void> {
  const r = await pg.query<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE oid >= 16384 AND rolname <> current_user",
  );
  for (const { rolname } of r.rows) {
    for (const db of ["postgres", "template1"])
      await pg.query(`DROP OWNED BY ${quoteIdent(rolname)}`, [], db);
    await pg.query(`DROP ROLE ${quoteIdent(rolname)}`);
  }
}

/** `ALTER DATABASE … SET` and `ALTER ROLE … [IN DATABASE …] SET` left on what survives the drops. */
async function resetSettings(pg: PgCluster): Promise<void> {
  await pg.query(
    `ALTER ROLE CURRENT_USER RESET ALL;
     ALTER ROLE CURRENT_USER IN DATABASE postgres RESET ALL;
     ALTER ROLE CURRENT_USER IN DATABASE template1 RESET ALL;
     ALTER ROLE ALL RESET ALL;
     ALTER ROLE ALL IN DATABASE postgres RESET ALL;
     ALTER ROLE ALL IN DATABASE template1 RESET ALL;
     ALTER DATABASE postgres RESET ALL;
     ALTER DATABASE template1 RESET ALL`,
  );
}

/** Deletes every container; Azurite, unlike Azure, lets a deleted container's name be used again at once. */
async function resetAzurite(az: Azurite): Promise<void> {
  const svc = BlobServiceClient.fromConnectionString(az.connectionString);
  for await (const c of svc.listContainers()) await svc.getContainerClient(c.name).delete();
}
