/**
 * The troubleshooting pod's psql-ptr / psql-live (packages/dr-data/src/bin/psql-side, installed under both names by the
 * Dockerfile): each opens psql on its side with the PTR_PG* / LIVE_PG* variables only, no password typed.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TokenCredential } from "@azure/identity";
import type { PgCluster } from "../../testkit/postgres";
import { sharedPg } from "../../testkit/shared";
import { runPgToken } from "../../src/commands/pg-token/run";
import { POSTGRES_TOKEN_SCOPE } from "../../src/connection";

const SCRIPT = path.resolve(__dirname, "../../src/bin/psql-side");

describe("tool: psql-ptr and psql-live (troubleshooting pod helpers)", function () {
  this.timeout(60_000);
  let pg: PgCluster;
  let bin: string;

  before(async () => {
    pg = await sharedPg();
    await pg.query("CREATE DATABASE copy");
    await pg.query("CREATE DATABASE live");
    bin = mkdtempSync(path.join(os.tmpdir(), "dr-psql-"));
    for (const name of ["psql-ptr", "psql-live", "psql-other"]) symlinkSync(SCRIPT, path.join(bin, name));
  });

  after(() => {
    rmSync(bin, { recursive: true, force: true });
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

  it("without a side's PGSSLMODE, psql verifies the server's certificate (verify-full)", () => {
    // A psql that prints the mode it was given: the local test server has no TLS to tell the modes apart.
    const fake = mkdtempSync(path.join(os.tmpdir(), "dr-psql-fake-"));
    try {
      writeFileSync(path.join(fake, "psql"), '#!/bin/sh\nprintf "%s\\n" "$PGSSLMODE"\n', { mode: 0o755 });
      const env = podEnv();
      delete env.LIVE_PGSSLMODE;
      const r = run("psql-live", { ...env, PATH: `${fake}:${env.PATH ?? ""}` });
      assert.deepStrictEqual([r.status, r.stdout], [0, "verify-full\n"], r.stderr);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it("a wrong password fails instead of prompting", () => {
    const env = { ...podEnv(), PTR_PGPASSWORD: "wrong" };
    const r = run("psql-ptr", env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /password authentication failed for user "postgres"/);
  });

  /**
   * Entra (the pod's default): no password in the environment; psql-side asks `dr-data pg-token` for the
   * token and logs in with it. The token command stands in for the workload identity (no Entra here): it
   * prints the local server's password and records that it was called, so the test proves the token is what
   * psql logs in with, and that no *_PGPASSWORD is needed or allowed.
   */
  function entraEnv(tokenScript: string): NodeJS.ProcessEnv {
    const env = podEnv();
    delete env.PTR_PGPASSWORD;
    delete env.LIVE_PGPASSWORD;
    return { ...env, DR_PG_AUTH: "entra", DR_DATA_CLI: tokenScript };
  }
  function tokenCommand(body: string): string {
    const file = path.join(bin, `token-${Math.random().toString(16).slice(2)}`);
    writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  it("DR_PG_AUTH=entra: logs in with the token dr-data pg-token prints, no password in the environment", () => {
    const calls = path.join(bin, "calls");
    const script = tokenCommand(`echo "$@" >> ${calls}\nprintf '%s\\n' '${pg.password}'`);
    const ptr = run("psql-ptr", entraEnv(script));
    assert.equal(ptr.status, 0, ptr.stderr);
    assert.equal(ptr.stdout, "copy psql-ptr\n");
    const live = run("psql-live", entraEnv(script));
    assert.equal(live.status, 0, live.stderr);
    assert.equal(live.stdout, "live psql-live\n");
    assert.equal(readFileSync(calls, "utf8"), "pg-token\npg-token\n");
  });

  it("DR_PG_AUTH=entra: a wrong token fails, a failing token command is named, a password beside it refused", () => {
    const wrong = run("psql-ptr", entraEnv(tokenCommand("echo not-the-token")));
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /password authentication failed for user "postgres"/);
    const failing = run("psql-ptr", entraEnv(tokenCommand("echo 'dr-data: no token' >&2; exit 1")));
    assert.deepStrictEqual(
      [failing.status, failing.stderr],
      [
        1,
        "dr-data: no token\npsql-ptr: no Microsoft Entra access token from the pod's workload identity (dr-data pg-token failed, above)\n",
      ],
    );
    const both = run("psql-live", { ...entraEnv(tokenCommand("exit 1")), LIVE_PGPASSWORD: "x" });
    assert.deepStrictEqual(
      [both.status, both.stderr],
      [2, "psql-live: LIVE_PGPASSWORD is set but DR_PG_AUTH is entra: unset it\n"],
    );
    const other = run("psql-live", { ...podEnv(), DR_PG_AUTH: "kerberos" });
    assert.deepStrictEqual(
      [other.status, other.stderr],
      [2, 'psql-live: DR_PG_AUTH must be entra or password; got "kerberos"\n'],
    );
  });
});

describe("tool: dr-data pg-token", () => {
  const fake = (token: string | null): TokenCredential => ({
    getToken: (scope: string | string[]) => {
      assert.equal(scope, POSTGRES_TOKEN_SCOPE);
      return Promise.resolve(token === null ? null : { token, expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  });
  const io = () => {
    const lines: string[] = [];
    return { lines, io: { out: (t: string) => lines.push(t), err: (t: string) => lines.push(`err: ${t}`) } };
  };

  it("prints the identity's PostgreSQL access token, and only that", async () => {
    const o = io();
    assert.equal(await runPgToken([], { DR_PG_AUTH: "entra" }, o.io, fake("eyJ.token")), 0);
    assert.deepStrictEqual(o.lines, ["eyJ.token"]);
  });

  it("refuses without DR_PG_AUTH=entra, with arguments, and when Entra gives no token", async () => {
    const o = io();
    await assert.rejects(
      runPgToken([], { DR_PG_AUTH: "password" }, o.io, fake("t")),
      /^UsageError: pg-token needs DR_PG_AUTH=entra \(the pod's workload identity\); DR_PG_AUTH is "password"$/,
    );
    await assert.rejects(
      runPgToken(["--x"], { DR_PG_AUTH: "entra" }, o.io, fake("t")),
      /pg-token takes no arguments; got --x/,
    );
    await assert.rejects(
      runPgToken([], { DR_PG_AUTH: "entra" }, o.io, fake(null)),
      /no Microsoft Entra token for https:\/\/ossrdbms-aad\.database\.windows\.net\/\.default/,
    );
    assert.deepStrictEqual(o.lines, []);
  });
});
