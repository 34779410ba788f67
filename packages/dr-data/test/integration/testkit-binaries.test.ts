/**
 * Which PostgreSQL the tests, the benchmark and the drill run: after `npm ci` on Linux x64 the server comes
 * from the npm package (no apt step), the client programs from Debian's postgresql-client-15, same major.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { findBinDir, findClientBinDir, NPM_SERVER_PACKAGE, PgCluster } from "../../testkit/postgres";

describe("testkit: PostgreSQL binaries", function () {
  const npmInstalled = existsSync(path.join(NPM_SERVER_PACKAGE, "native", "bin", "postgres"));

  it("uses the npm-shipped server when npm installed it and PG_BINDIR is not set", function () {
    if (!npmInstalled || (process.env.PG_BINDIR ?? "") !== "") this.skip();
    assert.equal(findBinDir(), path.join(NPM_SERVER_PACKAGE, "native", "bin"));
  });

  it("server and client programs are the same major version (pg_basebackup refuses another)", async () => {
    const serverBin = findBinDir();
    const server = execFileSync(path.join(serverBin, "postgres"), ["--version"], { encoding: "utf8" });
    const client = execFileSync(path.join(findClientBinDir(serverBin), "pg_basebackup"), ["--version"], {
      encoding: "utf8",
    });
    const major = (v: string) => /\(PostgreSQL\) (\d+)/.exec(v)?.[1];
    assert.ok(major(server) !== undefined, server);
    assert.equal(major(client), major(server));
    const cluster = await PgCluster.start();
    try {
      assert.equal(cluster.binDir, serverBin);
    } finally {
      await cluster.stop();
    }
  });
});
