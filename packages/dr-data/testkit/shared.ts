/**
 * One PostgreSQL cluster, one second cluster (a "new server" for restores that must start empty) and one Azurite
 * for the whole test run, started on first use and stopped by the suite's root hook (`test/support/hooks.ts`).
 * Starting them per file cost about two seconds each, fifteen times over.
 *
 * Each test file still gets a clean server: `sharedServers()` first resets what an earlier file may have left —
 * every database but `postgres` and the templates, every role but the bootstrap user, the per-database and
 * per-role settings, any object in the `postgres` database, every blob container. A file that needs a server
 * started differently (its own user, WAL archiving, an Azurite it stops mid-test) starts its own, as before.
 */
import { BlobServiceClient } from "@azure/storage-blob";
import { Azurite } from "./azurite";
import { PgCluster } from "./postgres";

export interface SharedServers {
  readonly pg: PgCluster;
  readonly az: Azurite;
}

let pgStarted: Promise<PgCluster> | undefined;
let freshStarted: Promise<PgCluster> | undefined;
let azStarted: Promise<Azurite> | undefined;

/** The shared cluster and Azurite, reset to empty. Call it in a file's `before`; never stop what it returns. */
export async function sharedServers(): Promise<SharedServers> {
  const [pg, az] = await Promise.all([sharedPg(), sharedAzurite()]);
  return { pg, az };
}

/** The shared cluster, reset to empty. */
export async function sharedPg(): Promise<PgCluster> {
  pgStarted ??= PgCluster.start();
  const pg = await pgStarted;
  await resetCluster(pg);
  return pg;
}

/** A second shared cluster, reset to empty: the new server of a rebuild, the target of a cross-server restore. */
export async function sharedFreshPg(): Promise<PgCluster> {
  freshStarted ??= PgCluster.start();
  const pg = await freshStarted;
  await resetCluster(pg);
  return pg;
}

/** The shared Azurite, with no containers. */
export async function sharedAzurite(): Promise<Azurite> {
  azStarted ??= Azurite.start();
  const az = await azStarted;
  await resetAzurite(az);
  return az;
}

/** Stops whatever was started; the suite's root `afterAll` calls it once. */
export async function stopSharedServers(): Promise<void> {
  const started = [pgStarted, freshStarted, azStarted];
  pgStarted = freshStarted = azStarted = undefined;
  await Promise.allSettled(
    started.map(async (s) => {
      if (s !== undefined) await (await s).stop();
    }),
  );
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Back to what initdb made: the steps run in this order because roles can be dropped only once they own nothing. */
export async function resetCluster(pg: PgCluster): Promise<void> {
  await dropDatabases(pg);
  await dropPostgresDatabaseObjects(pg);
  await dropRoles(pg);
  await resetSettings(pg);
}

async function dropDatabases(pg: PgCluster): Promise<void> {
  const r = await pg.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')",
  );
  for (const { datname } of r.rows) {
    // A test may have made a template; a template cannot be dropped until it is not one.
    await pg.query(`ALTER DATABASE ${quoteIdent(datname)} IS_TEMPLATE false`);
    await pg.query(`DROP DATABASE ${quoteIdent(datname)} WITH (FORCE)`);
  }
}

/** Schemas other than the system ones and `public`, and anything in `public`: none exist after initdb. */
async function dropPostgresDatabaseObjects(pg: PgCluster): Promise<void> {
  const schemas = await pg.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
      WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'public')
        AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'`,
  );
  for (const { nspname } of schemas.rows) await pg.query(`DROP SCHEMA ${quoteIdent(nspname)} CASCADE`);
  const inPublic = await pg.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public'`,
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
     ALTER DATABASE postgres RESET ALL;
     ALTER DATABASE template1 RESET ALL`,
  );
}

/** Deletes every container; Azurite, unlike Azure, lets a deleted container's name be used again at once. */
export async function resetAzurite(az: Azurite): Promise<void> {
  const svc = BlobServiceClient.fromConnectionString(az.connectionString);
  for await (const c of svc.listContainers()) await svc.getContainerClient(c.name).delete();
}
