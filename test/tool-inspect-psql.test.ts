/**
 * The troubleshooting pod's psql-ptr / psql-live (tool/bin/psql-side, installed under both names by the
 * Dockerfile): each opens psql on its side with the PTR_PG* / LIVE_PG* variables only, no password typed.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PgCluster } from "../testkit/postgres";

const SCRIPT = path.resolve(__dirname, "../tool/bin/psql-side");

describe("tool: psql-ptr and psql-live (troubleshooting pod helpers)", function () {
  this.timeout(60_000);
  let pg: PgCluster;
  let bin: string;

  before(async () => {
    pg = await PgCluster.start();
    await pg.query("CREATE DATABASE copy");
    await pg.query("CREATE DATABASE live");
    bin = mkdtempSync(path.join(os.tmpdir(), "dr-psql-"));
    for (const name of ["psql-ptr", "psql-live", "psql-other"]) symlinkSync(SCRIPT, path.join(bin, name));
  });

  after(async () => {
    rmSync(bin, { recursive: true, force: true });
    await pg?.stop();
  });

  /** The pod's environment: both sides prefixed, and no unprefixed PG* at all. */
  function podEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PG")) env[k] = v;
    for (const [prefix, db] of [
      ["PTR_", "copy"],
      ["LIVE_", "live"],
    ] as const) {
      for (const [k, v] of Object.entries(pg.env(db))) env[`${prefix}${k}`] = v;
      env[`${prefix}PGSSLMODE`] = "disable";
    }
    return env;
  }

  const run = (name: string, env: NodeJS.ProcessEnv) =>
    spawnSync(
      path.join(bin, name),
      ["-XAt", "-c", "SELECT current_database() || ' ' || current_setting('application_name')"],
      {
        env,
        encoding: "utf8",
        input: "", // nothing typed: a password prompt would fail
      },
    );

  it("psql-ptr connects to the PTR copy, psql-live to the live database, with no password typed", () => {
    const ptr = run("psql-ptr", podEnv());
    assert.equal(ptr.status, 0, ptr.stderr);
    assert.equal(ptr.stdout, "copy psql-ptr\n");
    const live = run("psql-live", podEnv());
    assert.equal(live.status, 0, live.stderr);
    assert.equal(live.stdout, "live psql-live\n");
  });

  it("names the variables that are missing, and refuses another name", () => {
    const env = podEnv();
    delete env.LIVE_PGHOST;
    delete env.LIVE_PGDATABASE;
    const r = run("psql-live", env);
    assert.deepStrictEqual(
      [r.status, r.stderr],
      [2, "psql-live: not set in this pod's environment: LIVE_PGHOST LIVE_PGDATABASE\n"],
    );
    const other = run("psql-other", podEnv());
    assert.deepStrictEqual(
      [other.status, other.stderr],
      [2, "psql-other: call me as psql-ptr or psql-live\n"],
    );
  });

  it("a wrong password fails instead of prompting", () => {
    const env = { ...podEnv(), PTR_PGPASSWORD: "wrong" };
    const r = run("psql-ptr", env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /password authentication failed for user "postgres"/);
  });
});
