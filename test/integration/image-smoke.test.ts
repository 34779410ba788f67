/**
 * The image's smoke test (packages/dr-data/testkit/image-smoke.ts), run here as the release workflow runs it in
 * the image: the same esbuild bundles (the tool's and the smoke test's, as the Dockerfile builds them), the
 * image's PostgreSQL client major (image.json) from .ci/pg-client.sh, a server of that major from npm and
 * Azurite, with the majors the stacks declare. Plus the refusals a broken image would meet: a client older
 * than a stack's server, a client of another major than the image's.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { sharedAzurite } from "../../packages/dr-data/testkit/shared";
import type { Azurite } from "../../packages/dr-data/testkit/azurite";
import { clientBinDirOfMajor, npmServerBinDir, PgCluster } from "../../packages/dr-data/testkit/postgres";
import image from "../../packages/dr-data/image.json";
import { PROJECT_DIR } from "../support/stacks";

const DR_DATA = path.join(PROJECT_DIR, "packages", "dr-data");
/** The bundles go to a temporary directory (the workspace's dist/ would be linted and format-checked). */
const DIST = mkdtempSync(path.join(os.tmpdir(), "dr-data-bundle-"));

/** `postgres.version` of each committed stack, as the workflow reads them. */
export function stackMajors(): number[] {
  return ["staging", "production"].map((stack) => {
    const doc = parseYaml(readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as {
      config: Record<string, { version?: unknown }>;
    };
    return Number(doc.config["service-dr:postgres"]?.version);
  });
}

describe("image smoke test against the tool's bundle (as in the image)", function () {
  this.timeout(180_000);
  let pg: PgCluster;
  let az: Azurite;
  let clientBin: string;

  before(async () => {
    // The workspace's own esbuild commands, as the Dockerfile runs them; only the output file differs.
    for (const [script, file] of [
      ["bundle", "dr-data.js"],
      ["bundle:smoke", "image-smoke.js"],
    ] as const)
      execFileSync("npm", ["run", "-s", script, "--", `--outfile=${path.join(DIST, file)}`], {
        cwd: DR_DATA,
        stdio: "ignore",
      });
    clientBin = clientBinDirOfMajor(image.postgresClientMajor);
    [pg, az] = await Promise.all([
      PgCluster.start({ binDir: npmServerBinDir(image.postgresClientMajor) }),
      sharedAzurite(),
    ]);
  });
  after(async () => {
    await pg?.stop();
    rmSync(DIST, { recursive: true, force: true });
  });

  function smoke(overrides: Record<string, string>): {
    status: number | null;
    stdout: string;
    stderr: string;
  } {
    const env: Record<string, string | undefined> = {
      ...process.env,
      PGHOST: pg.host,
      PGPORT: String(pg.port),
      PGUSER: pg.user,
      PGPASSWORD: pg.password,
      PGDATABASE: undefined,
      AZURE_STORAGE_CONNECTION_STRING: az.connectionString,
      PG_BINDIR: clientBin,
      DR_DATA_BUNDLE: path.join(DIST, "dr-data.js"),
      SMOKE_CLIENT_MAJOR: String(image.postgresClientMajor),
      SMOKE_SERVER_MAJORS: stackMajors().join(" "),
      ...overrides,
    };
    const r = spawnSync(process.execPath, [path.join(DIST, "image-smoke.js")], { env, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("passes: --help, the client programs' major, a real backup and a restore, verified", () => {
    const r = smoke({});
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split("\n");
    const majors = stackMajors().join(", ");
    const n = image.postgresClientMajor;
    const normalized = lines.map((l) =>
      l
        .replace(/_\d{8}T\d{6}Z/, "_<time>")
        .replace(/\(1000:[0-9a-f]{32}:42\)$/, "(1000:<md5>:42)")
        .replace(/[0-9a-f]{8}/g, "<id>"),
    );
    assert.deepStrictEqual(normalized, [
      "ok - dr-data --help prints the usage",
      `ok - pg_dump, pg_restore, psql are PostgreSQL ${n}, ≥ the stacks' ${majors} and the server's ${n}`,
      "ok - backup of smoke_src_<id> as smoke/smoke_src_<id>_<time>",
      "ok - restore into smoke_dst_<id>: every row and the sequence match (1000:<md5>:42)",
      "image smoke: 4 checks passed",
    ]);
    assert.match(lines[3]!, /\(1000:[0-9a-f]{32}:42\)$/);
  });

  it("leaves no database behind", async () => {
    const r = await pg.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'smoke%'",
    );
    assert.deepStrictEqual(r.rows, []);
  });

  it("fails when a stack declares a server newer than the client (pg_dump refuses it)", () => {
    const r = smoke({ SMOKE_SERVER_MAJORS: `16, ${image.postgresClientMajor + 1}` });
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `not ok - pg_dump ${image.postgresClientMajor} cannot dump PostgreSQL ${image.postgresClientMajor + 1} .*needed ≥ ${image.postgresClientMajor + 1}`,
      ),
    );
  });

  it("fails when the client programs are not the image's major", () => {
    const r = smoke({ PG_BINDIR: "/usr/lib/postgresql/15/bin" });
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `not ok - pg_dump --version: must be PostgreSQL ${image.postgresClientMajor}; received pg_dump \\(PostgreSQL\\) 15\\.`,
      ),
    );
  });

  it("refuses to start without the stacks' majors (exit 2)", () => {
    const r = smoke({ SMOKE_SERVER_MAJORS: "" });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "image smoke: SMOKE_SERVER_MAJORS: is required; received nothing\n");
  });
});
