/**
 * dr-data's credential paths (issue 13): the explicit selectors `DR_STORAGE_AUTH` and `DR_PG_AUTH` (table
 * tests: every ambiguity refused with the variables named), the connection-string path (Azurite over HTTP,
 * as every other tool test uses it), and the Entra token path for real: Azurite with `--oauth basic` over
 * HTTPS (a self-signed certificate made here with openssl, trusted by the child through NODE_EXTRA_CA_CERTS)
 * and PostgreSQL logging in with the token as password (scram-sha-256: the password is really checked).
 *
 * What stands in for Microsoft Entra: a credential that returns fixed, unsigned JWTs. Azurite's basic OAuth
 * checks a bearer token's issuer, audience and lifetime, not its signature; a real Entra token exchange (the
 * workload identity's federated token for an access token) needs Entra and cannot run here.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { blobStoreFromEnv } from "../../src/blobstore";
import {
  clientConfig,
  connectionFromEnv,
  POSTGRES_TOKEN_SCOPE,
  withFreshPassword,
} from "../../src/connection";
import { UsageError } from "../../src/errors";
import { canConnect } from "../../testkit/azurite";
import { freePort, PgCluster } from "../../testkit/postgres";

const PROJECT_DIR = path.resolve(__dirname, "../..");

describe("tool: storage credentials are chosen explicitly (DR_STORAGE_AUTH)", () => {
  const CS = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:1/a;";
  const ok: Array<[string, Record<string, string>, Record<string, unknown>]> = [
    [
      "entra with the account",
      { DR_STORAGE_AUTH: "entra", AZURE_STORAGE_ACCOUNT: "acct" },
      { auth: "entra", accountName: "acct" },
    ],
    [
      "entra with an endpoint (Azurite over HTTPS)",
      { DR_STORAGE_AUTH: "entra", AZURE_STORAGE_BLOB_ENDPOINT: "https://127.0.0.1:10000/devstoreaccount1" },
      { auth: "entra", blobEndpoint: "https://127.0.0.1:10000/devstoreaccount1" },
    ],
    [
      "a connection string alone",
      { AZURE_STORAGE_CONNECTION_STRING: CS },
      { auth: "connection-string", connectionString: CS },
    ],
    [
      "account and key alone",
      { AZURE_STORAGE_ACCOUNT: "acct", AZURE_STORAGE_KEY: "k" },
      { auth: "shared-key", accountName: "acct", accountKey: "k" },
    ],
    [
      "connection-string chosen, an account name beside it (not a credential)",
      {
        DR_STORAGE_AUTH: "connection-string",
        AZURE_STORAGE_CONNECTION_STRING: CS,
        AZURE_STORAGE_ACCOUNT: "acct",
      },
      { auth: "connection-string", connectionString: CS, accountName: "acct" },
    ],
  ];
  for (const [what, env, expected] of ok) {
    it(`accepts ${what}`, () => {
      const s = blobStoreFromEnv(env, "c");
      const picked = Object.fromEntries(
        Object.entries(s).filter(([k, v]) => k !== "container" && k !== "credential" && v !== undefined),
      );
      assert.deepStrictEqual(picked, expected);
    });
  }
  const refused: Array<[string, Record<string, string>, RegExp]> = [
    [
      "entra with a connection string beside it",
      { DR_STORAGE_AUTH: "entra", AZURE_STORAGE_ACCOUNT: "a", AZURE_STORAGE_CONNECTION_STRING: CS },
      /^AZURE_STORAGE_CONNECTION_STRING is set but DR_STORAGE_AUTH is entra: unset it$/,
    ],
    [
      "entra with a key beside it",
      { DR_STORAGE_AUTH: "entra", AZURE_STORAGE_ACCOUNT: "a", AZURE_STORAGE_KEY: "k" },
      /^AZURE_STORAGE_KEY is set but DR_STORAGE_AUTH is entra: unset it$/,
    ],
    [
      "entra without an account",
      { DR_STORAGE_AUTH: "entra" },
      /^DR_STORAGE_AUTH=entra needs AZURE_STORAGE_ACCOUNT \(or AZURE_STORAGE_BLOB_ENDPOINT\)$/,
    ],
    [
      "both a connection string and a key, no choice",
      { AZURE_STORAGE_CONNECTION_STRING: CS, AZURE_STORAGE_ACCOUNT: "a", AZURE_STORAGE_KEY: "k" },
      /^both AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_KEY are set: choose one with DR_STORAGE_AUTH=connection-string or shared-key$/,
    ],
    [
      "an unknown selector",
      { DR_STORAGE_AUTH: "sas" },
      /^DR_STORAGE_AUTH must be one of: entra, connection-string, shared-key; got "sas"$/,
    ],
    [
      "shared-key without the key",
      { DR_STORAGE_AUTH: "shared-key", AZURE_STORAGE_ACCOUNT: "a" },
      /^DR_STORAGE_AUTH=shared-key needs AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY$/,
    ],
    ["nothing at all", {}, /^no blob store credentials: set DR_STORAGE_AUTH=entra and AZURE_STORAGE_ACCOUNT/],
  ];
  for (const [what, env, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => blobStoreFromEnv(env, "c"),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});

describe("tool: PostgreSQL login is chosen explicitly (DR_PG_AUTH)", () => {
  const BASE = { PGHOST: "h", PGUSER: "u", PGDATABASE: "d" };
  class Fixed implements TokenCredential {
    readonly scopes: string[] = [];
    private n = 0;
    getToken(scopes: string | string[]): Promise<AccessToken> {
      this.scopes.push(Array.isArray(scopes) ? scopes.join(" ") : scopes);
      this.n += 1;
      return Promise.resolve({ token: `token-${this.n}`, expiresOnTimestamp: Date.now() + 60_000 });
    }
  }

  it("password (the default): PGPASSWORD as before, no token source", () => {
    const c = connectionFromEnv({ ...BASE, PGPASSWORD: "p" });
    assert.equal(c.password, "p");
    assert.equal(c.passwordSource, undefined);
    assert.equal(clientConfig(c).password, "p");
  });

  it("entra: a fresh token for each login (driver and child programs), asked for the PostgreSQL scope", async () => {
    const credential = new Fixed();
    const c = connectionFromEnv({ ...BASE, DR_PG_AUTH: "entra" }, "", undefined, credential);
    assert.equal(c.password, undefined);
    const password = clientConfig(c).password;
    assert.equal(typeof password, "function", "pg calls it at every connect");
    assert.equal(await (password as () => Promise<string>)(), "token-1");
    assert.equal((await withFreshPassword(c)).password, "token-2");
    assert.deepStrictEqual(credential.scopes, [POSTGRES_TOKEN_SCOPE, POSTGRES_TOKEN_SCOPE]);
    assert.equal(POSTGRES_TOKEN_SCOPE, "https://ossrdbms-aad.database.windows.net/.default");
  });

  it("entra with a PGPASSWORD beside it is refused, naming the variable; an unknown mode too", () => {
    assert.throws(
      () => connectionFromEnv({ ...BASE, DR_PG_AUTH: "entra", LEFT_PGPASSWORD: "p" }, "LEFT_"),
      /^UsageError: LEFT_PGPASSWORD \(or PGPASSWORD\) is set but DR_PG_AUTH is entra: unset it$/,
    );
    assert.throws(
      () => connectionFromEnv({ ...BASE, DR_PG_AUTH: "kerberos" }),
      /DR_PG_AUTH must be one of: password, entra; got "kerberos"/,
    );
  });
});

/** An unsigned JWT with the claims Azurite's basic OAuth checks. */
function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({ iat: now - 60, nbf: now - 60, exp: now + 3600, ...claims })}.`;
}

describe("tool: the Entra token path, for real (Azurite --oauth basic over HTTPS, PostgreSQL scram)", function () {
  this.timeout(120_000);
  const ISS = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/";
  const STORAGE_TOKEN = jwt({ aud: "https://storage.azure.com", iss: ISS, oid: "identity" });
  const WRONG_AUDIENCE = jwt({ aud: "https://vault.azure.net", iss: ISS });
  // The PostgreSQL role's password is this token: the server accepts the login only with it.
  const PG_TOKEN = jwt({ aud: "https://ossrdbms-aad.database.windows.net", iss: ISS });
  let dir: string;
  let pg: PgCluster;
  let azurite: ChildProcess | undefined;
  let port: number;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "dr-oauth-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    port = await freePort();
    azurite = spawn(
      process.execPath,
      [
        require.resolve("azurite/dist/src/blob/main.js"),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        String(port),
        "--inMemoryPersistence",
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--oauth",
        "basic",
        "--cert",
        path.join(dir, "cert.pem"),
        "--key",
        path.join(dir, "key.pem"),
      ],
      { stdio: "ignore" },
    );
    pg = await PgCluster.start({ user: "itt-mentor-services-staging-dr-data", password: PG_TOKEN });
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(port))) {
      if (Date.now() > deadline) throw new Error("azurite (oauth) did not listen within 30 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    azurite?.kill("SIGKILL");
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function runChild(
    env: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(PROJECT_DIR, "test/support/token-path-child.ts")],
        {
          cwd: PROJECT_DIR,
          env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
  }

  const tokenEnv = (): Record<string, string> => ({
    DR_STORAGE_AUTH: "entra",
    AZURE_STORAGE_BLOB_ENDPOINT: `https://127.0.0.1:${port}/devstoreaccount1`,
    DR_PG_AUTH: "entra",
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGDATABASE: "postgres",
    PGSSLMODE: "disable",
    TEST_STORAGE_TOKEN: STORAGE_TOKEN,
    TEST_PG_TOKEN: PG_TOKEN,
    TEST_WRONG_AUDIENCE_TOKEN: WRONG_AUDIENCE,
  });

  it("backup and list with bearer tokens only: no key, no password; a wrong-audience token is refused (403)", async () => {
    const r = await runChild({ ...tokenEnv(), NODE_EXTRA_CA_CERTS: path.join(dir, "cert.pem") });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      blobName: string;
      listed: string[];
      scopes: string[];
      wrongAudience: unknown;
    };
    assert.match(out.blobName, /^nightly\/token-test\/.+/);
    assert.deepStrictEqual(out.listed, [out.blobName]);
    // Tokens were asked for both resources: storage by the SDK, PostgreSQL for each login (driver, pg_dump).
    assert.ok(out.scopes.includes("https://storage.azure.com/.default"), out.scopes.join(", "));
    assert.ok(out.scopes.filter((s) => s === POSTGRES_TOKEN_SCOPE).length >= 2, out.scopes.join(", "));
    assert.deepStrictEqual(out.wrongAudience, { status: 403, code: "AuthenticationFailed" });
  });

  it("the SDK refuses Azurite's certificate unless told to trust it (the HTTPS is real)", async () => {
    const r = await runChild(tokenEnv());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /self[- ]signed certificate|unable to verify|DEPTH_ZERO_SELF_SIGNED_CERT/i);
  });
});
