/**
 * A blob name with `..` on real PostgreSQL and Azurite: the container `other` holds a genuine backup that
 * `--container trav --blob ../other/<name>` would reach once the blob's URL is resolved. The tool refuses it
 * as a usage error (exit 2) before anything is read or written: the servers are as before, and the same
 * commands against endpoints where nothing listens fail the same way (no connection was tried).
 */
import { strict as assert } from "node:assert";
import { BlobServiceClient } from "@azure/storage-blob";
import type { Azurite } from "../../testkit/azurite";
import { freePort, type PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { backup } from "../../src/backup";
import { main } from "../../src/cli";

describe("tool: blob names with .. are refused before anything is read or written", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  let other: string;

  /** Every blob of both containers, and the server's databases and the tool's schemas. */
  const state = async () => {
    const service = BlobServiceClient.fromConnectionString(az.env().AZURE_STORAGE_CONNECTION_STRING!);
    const blobs: string[] = [];
    for (const c of ["trav", "other"]) {
      for await (const b of service.getContainerClient(c).listBlobsFlat()) blobs.push(`${c}/${b.name}`);
    }
    const dbs = await pg.query<{ d: string }>("SELECT datname AS d FROM pg_database ORDER BY 1");
    const schemas = await pg.query<{ s: string }>(
      "SELECT nspname AS s FROM pg_namespace WHERE nspname LIKE 'dr\\_%' ORDER BY 1",
      [],
      "travapp",
    );
    return { blobs: blobs.sort(), dbs: dbs.rows.map((r) => r.d), schemas: schemas.rows.map((r) => r.s) };
  };

  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer("trav");
    await az.createContainer("other");
    await pg.query("CREATE DATABASE travapp");
    await pg.query("CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY)", [], "travapp");
    other = (
      await backup({
        connection: pg.connection("travapp"),
        store: az.store("other"),
        prefix: "p",
        now: () => new Date("2026-12-04T01:00:00Z"),
        log: () => undefined,
      })
    ).blobName;
  });

  const commands = () => [
    [
      "restore",
      "--container",
      "trav",
      "--blob",
      `../other/${other}`,
      "--run-id",
      "r1",
      "--database",
      "travnew",
    ],
    ["restore", "--tables", "app.t", "--container", "trav", "--blob", `../other/${other}`, "--run-id", "r2"],
    ["restore", "--container", "trav", "--blob", "latest", "--prefix", "../other/p", "--run-id", "r3"],
    ["backup", "--container", "trav", "--prefix", "../other/evil", "--database", "travapp"],
    ["backup", "--container", "trav", "--prefix", "nightly/../evil", "--database", "travapp"],
    ["list", "--container", "trav", "--prefix", "../other/p"],
  ];

  const run = async (argv: string[], env: Record<string, string>) => {
    const err: string[] = [];
    const code = await main(argv, env, { out: () => undefined, err: (x) => err.push(x) });
    return { code, first: err.join("\n").split("\n")[0]! };
  };

  it("refuses each command naming --blob or --prefix with ..; the servers are unchanged", async () => {
    const before = await state();
    assert.ok(before.blobs.includes(`other/${other}`));
    for (const argv of commands()) {
      const r = await run(argv, { ...pg.env("postgres"), ...az.env() });
      const at = argv.findIndex((a) => a.includes(".."));
      const flag = argv[at - 1]!;
      const value = argv[at]!;
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.first}`);
      assert.equal(
        r.first,
        `dr-data: ${argv[0]}: ${flag} must be a blob name or prefix (segments separated by single "/", none empty, ` +
          `"." or ".."; no leading "/", no backslash, no control character); it has a ".." segment: got ${JSON.stringify(value)}`,
      );
    }
    assert.deepStrictEqual(await state(), before);
  });

  it("refuses them without trying a connection (endpoints where nothing listens)", async () => {
    const [pgPort, blobPort] = [await freePort(), await freePort()];
    const dead = {
      PGHOST: "127.0.0.1",
      PGPORT: String(pgPort),
      PGUSER: "nobody",
      PGPASSWORD: "x",
      AZURE_STORAGE_CONNECTION_STRING:
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" +
        `${Buffer.from("k").toString("base64")};BlobEndpoint=http://127.0.0.1:${blobPort}/devstoreaccount1;`,
    };
    for (const argv of commands()) {
      const r = await run(argv, dead);
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.first}`);
      assert.match(r.first, /it has a "\.\." segment: got /);
    }
  });
});
