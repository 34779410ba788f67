/**
 * The suite's shared servers (testkit/shared.ts): whatever a file leaves behind, the next file's
 * `sharedServers()` hands over a cluster and an Azurite as initdb and a fresh start made them.
 */
import { strict as assert } from "node:assert";
import { BlobServiceClient } from "@azure/storage-blob";
import { Client } from "pg";
import type { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";

describe("testkit: the shared servers are reset between files", () => {
  let pg: PgCluster;
  let az: Azurite;
  let lingering: Client | undefined;

  before(async () => {
    ({ pg, az } = await sharedServers());
  });

  after(async () => {
    await lingering?.end().catch(() => undefined);
  });

  /** What an earlier file could leave: one of each kind the reset undoes. */
  async function leaveEverythingBehind(): Promise<void> {
    await pg.query("CREATE DATABASE leftover");
    await pg.query("CREATE DATABASE leftover_template IS_TEMPLATE true");
    await pg.query("CREATE ROLE leftover_role NOLOGIN");
    await pg.query("GRANT CONNECT ON DATABASE template1 TO leftover_role", [], "template1");
    await pg.query("ALTER ROLE leftover_role IN DATABASE postgres SET work_mem = '8MB'");
    await pg.query("ALTER DATABASE postgres SET statement_timeout = '5s'");
    await pg.query("ALTER ROLE CURRENT_USER SET DateStyle = 'SQL, DMY'");
    await pg.query("ALTER ROLE ALL IN DATABASE template1 SET TimeZone = 'Asia/Kolkata'");
    await pg.query(
      `CREATE SCHEMA leftover_schema; CREATE TABLE leftover_schema.t (x int);
       CREATE TABLE public.leftover_table (x int); CREATE FUNCTION public.leftover_fn() RETURNS int
       LANGUAGE sql AS 'SELECT 1'; CREATE TYPE public.leftover_type AS ENUM ('a');
       CREATE EXTENSION citext`,
    );
    // A session still open, holding an advisory lock as a restore does.
    lingering = new Client({ ...pg.connection("postgres"), ssl: false });
    lingering.on("error", () => undefined); // it is terminated on purpose
    await lingering.connect();
    await lingering.query("SELECT pg_advisory_lock(42)");
    await az.createContainer("leftover");
  }

  async function state(): Promise<Record<string, unknown>> {
    const one = async (sql: string, db = "postgres") =>
      (await pg.query<{ v: unknown }>(`SELECT (${sql}) AS v`, [], db)).rows[0]?.v;
    const containers: string[] = [];
    const svc = BlobServiceClient.fromConnectionString(az.connectionString);
    for await (const c of svc.listContainers()) containers.push(c.name);
    return {
      databases: await one("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"),
      roles: await one("SELECT count(*)::int FROM pg_roles WHERE oid >= 16384"),
      settings: await one("SELECT count(*)::int FROM pg_db_role_setting"),
      schemas: await one(
        "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname NOT LIKE 'pg_%'",
      ),
      inPublic: await one(
        `SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)
              + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
              + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace)`,
      ),
      extensions: await one("SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension"),
      template1Acl: await one("SELECT datacl::text FROM pg_database WHERE datname = 'template1'"),
      advisoryLocks: await one("SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory'"),
      containers,
    };
  }

  it("a second call undoes databases, roles, settings, objects in postgres, sessions and containers", async () => {
    const clean = await state();
    assert.deepStrictEqual(
      { ...clean, template1Acl: undefined },
      {
        databases: "postgres,template0,template1",
        roles: 0,
        settings: 0,
        schemas: "information_schema,public",
        inPublic: "0",
        extensions: "plpgsql",
        template1Acl: undefined,
        advisoryLocks: 0,
        containers: [],
      },
    );
    await leaveEverythingBehind();
    assert.notDeepStrictEqual(await state(), clean);
    ({ pg, az } = await sharedServers());
    assert.deepStrictEqual(await state(), clean);
  });
});
