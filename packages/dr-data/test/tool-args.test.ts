/** Pure parts of the data-plane tool: argv builders, environment, metadata, `latest`, compare's verdicts, CLI usage. */
import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import { intFlag, main, restoreTarget, settingsFlag } from "../src/cli";
import { differencesOf, formatComparison, type RelationSummary } from "../src/compare";
import { clientConfig, connectionFromEnv, type PgConnection } from "../src/connection";
import { UsageError } from "../src/errors";
import { latestBackup, type BackupEntry } from "../src/list";
import { parseBlobMetadata, toBlobMetadata, type BackupMetadata } from "../src/metadata";
import {
  childEnv,
  conninfoDbname,
  libpqEnv,
  pgDumpArgv,
  pgOptions,
  pgRestoreArgv,
  pgRestoreListArgv,
  psqlArgv,
} from "../src/pgargs";
import { restoreNameProblems } from "../src/restore";
import { quoteIdent, quoteLiteral } from "../src/sql";
import { blockId, newUploadNonce } from "../src/blobio";

const CONN: PgConnection = {
  host: "db.example",
  port: 5433,
  user: "admin",
  password: "s3cret pw",
  database: "app",
  sslmode: "require",
};

describe("tool: pg_dump argv", () => {
  const cases: { name: string; args: Parameters<typeof pgDumpArgv>[0]; argv: string[] }[] = [
    {
      name: "custom format to stdout, gzip 1",
      args: { format: "custom", compress: "1", database: "app" },
      argv: ["--format=custom", "--compress=1", "--no-password", "--dbname=dbname='app'"],
    },
    {
      name: "directory format, 4 jobs, lz4, lock wait timeout",
      args: {
        format: "directory",
        compress: "lz4",
        database: "app",
        jobs: 4,
        outputDir: "/w/d",
        lockWaitTimeoutMs: 5000,
      },
      argv: [
        "--format=directory",
        "--compress=lz4",
        "--no-password",
        "--lock-wait-timeout=5000",
        "--jobs=4",
        "--file=/w/d",
        "--dbname=dbname='app'",
      ],
    },
    {
      name: "a database name with a quote, a backslash and '=' stays one conninfo value",
      args: { format: "custom", compress: "zstd:3", database: "o'd\\b=x" },
      argv: ["--format=custom", "--compress=zstd:3", "--no-password", "--dbname=dbname='o\\'d\\\\b=x'"],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepStrictEqual(pgDumpArgv(c.args), c.argv));

  it("rejects an unknown compression and jobs without the directory format", () => {
    assert.throws(
      () => pgDumpArgv({ format: "custom", compress: "brotli", database: "a" }),
      /compress "brotli"/,
    );
    assert.throws(
      () => pgDumpArgv({ format: "custom", compress: "1", database: "a", jobs: 2 }),
      /needs the directory format/,
    );
    assert.throws(
      () => pgDumpArgv({ format: "directory", compress: "1", database: "a" }),
      /needs an output directory/,
    );
  });
});

describe("tool: pg_restore and psql argv", () => {
  const cases: { name: string; argv: string[]; want: string[] }[] = [
    {
      name: "restore defaults: exit on error, no owner, keep ACLs",
      argv: pgRestoreArgv({ archive: "/w/backup", database: "app_restore_r1", jobs: 2 }),
      want: [
        "--dbname=dbname='app_restore_r1'",
        "--jobs=2",
        "--exit-on-error",
        "--no-password",
        "--no-owner",
        "/w/backup",
      ],
    },
    {
      name: "restore with --no-acl and owners kept",
      argv: pgRestoreArgv({ archive: "/w/d", database: "x", jobs: 8, noAcl: true, noOwner: false }),
      want: ["--dbname=dbname='x'", "--jobs=8", "--exit-on-error", "--no-password", "--no-acl", "/w/d"],
    },
    {
      name: "restore --verbose (its per-entry lines are the restore's progress)",
      argv: pgRestoreArgv({ archive: "/w/d", database: "x", jobs: 2, verbose: true }),
      want: [
        "--dbname=dbname='x'",
        "--jobs=2",
        "--exit-on-error",
        "--no-password",
        "--no-owner",
        "--verbose",
        "/w/d",
      ],
    },
    { name: "list", argv: pgRestoreListArgv("/w/backup"), want: ["--list", "/w/backup"] },
    {
      name: "psql the seed's way (no stop on error), from stdin",
      argv: psqlArgv({ database: "app", onErrorStop: false }),
      want: ["--no-psqlrc", "--quiet", "--no-password", "--dbname=dbname='app'"],
    },
    {
      name: "psql stopping on error, one command",
      argv: psqlArgv({ database: "app", onErrorStop: true, command: "ANALYZE" }),
      want: [
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "--set=ON_ERROR_STOP=1",
        "--command=ANALYZE",
        "--dbname=dbname='app'",
      ],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepStrictEqual(c.argv, c.want));

  it("rejects zero jobs", () => {
    assert.throws(() => pgRestoreArgv({ archive: "a", database: "b", jobs: 0 }), /jobs must be ≥ 1, got 0/);
  });
});

describe("tool: connection environment", () => {
  it("puts every connection setting, the password included, in the environment and none in argv", () => {
    assert.deepStrictEqual(
      libpqEnv(CONN, { applicationName: "dr-data-restore", settings: { work_mem: "64MB" } }),
      {
        PGHOST: "db.example",
        PGPORT: "5433",
        PGUSER: "admin",
        PGDATABASE: "app",
        PGPASSWORD: "s3cret pw",
        PGSSLMODE: "require",
        PGAPPNAME: "dr-data-restore",
        PGOPTIONS: "-c work_mem=64MB",
      },
    );
    const argv = [
      ...pgDumpArgv({ format: "custom", compress: "1", database: CONN.database }),
      ...pgRestoreArgv({ archive: "/a", database: CONN.database, jobs: 2 }),
    ];
    assert.equal(
      argv.filter((a) => a.includes("s3cret") || a.includes("db.example") || a.includes("admin")).length,
      0,
    );
  });

  it("drops the parent's connection variables and keeps the rest", () => {
    const env = childEnv(
      { PATH: "/bin", PGHOST: "elsewhere", PGPASSWORD: "old", PGSERVICE: "svc", HOME: "/root" },
      {
        ...CONN,
        password: undefined,
        sslmode: undefined,
      },
    );
    assert.deepStrictEqual(env, {
      PATH: "/bin",
      HOME: "/root",
      PGHOST: "db.example",
      PGPORT: "5433",
      PGUSER: "admin",
      PGDATABASE: "app",
    });
  });

  it("escapes spaces and backslashes in PGOPTIONS and refuses odd setting names", () => {
    assert.equal(pgOptions({ search_path: "a, b", x: "c\\d" }), "-c search_path=a,\\ b -c x=c\\\\d");
    assert.throws(() => pgOptions({ "bad name": "1" }), /"bad name" is not a GUC name/);
  });

  it("conninfo quoting", () => {
    assert.equal(conninfoDbname("plain"), "dbname='plain'");
    assert.equal(conninfoDbname("it's"), "dbname='it\\'s'");
  });

  it("reads a prefixed side with field-by-field fallback, and names every missing variable", () => {
    const env = {
      PGHOST: "h",
      PGUSER: "u",
      PGPASSWORD: "p",
      LEFT_PGDATABASE: "a",
      RIGHT_PGHOST: "h2",
      RIGHT_PGDATABASE: "b",
    };
    assert.deepStrictEqual(connectionFromEnv(env, "LEFT_"), {
      host: "h",
      port: 5432,
      user: "u",
      password: "p",
      database: "a",
      // Not a local server: its certificate is verified, though nothing asked for it.
      sslmode: "verify-full",
    });
    assert.equal(connectionFromEnv(env, "RIGHT_").host, "h2");
    assert.throws(
      () => connectionFromEnv({ PGPORT: "x", PGSSLMODE: "on" }, "LEFT_"),
      /LEFT_PGHOST \(or PGHOST\) is not set; LEFT_PGUSER .*; LEFT_PGDATABASE .*; LEFT_PGPORT must be a port number 1–65535, got "x"; LEFT_PGSSLMODE must be one of: disable, allow, prefer, require, verify-ca, verify-full; got "on"/,
    );
  });

  it("TLS: any server that is not local is verify-full, a weaker mode refused; only a local one goes without", () => {
    const env = (host: string, sslmode?: string): Record<string, string> => ({
      PGHOST: host,
      PGUSER: "u",
      PGDATABASE: "d",
      ...(sslmode === undefined ? {} : { PGSSLMODE: sslmode }),
    });
    const azure = "s189p01-ittms-pd-pg.postgres.database.azure.com";
    assert.equal(connectionFromEnv(env(azure)).sslmode, "verify-full");
    assert.equal(connectionFromEnv(env(azure, "verify-full")).sslmode, "verify-full");
    for (const weak of ["disable", "allow", "prefer", "require", "verify-ca"])
      assert.throws(
        () => connectionFromEnv(env(azure, weak), "LIVE_"),
        (e: unknown) =>
          e instanceof UsageError &&
          e.message ===
            `LIVE_PGSSLMODE must be verify-full for ${azure} (its certificate is verified; weaker modes only for a local server: localhost, 127.0.0.1, ::1, a socket directory); got ${JSON.stringify(weak)}`,
      );
    // The tests' and the drill's servers: as given, unset stays libpq's default (no TLS in the driver).
    for (const local of ["127.0.0.1", "localhost", "::1", "/tmp/pg-socket"]) {
      assert.equal(connectionFromEnv(env(local)).sslmode, undefined);
      assert.equal(connectionFromEnv(env(local, "disable")).sslmode, "disable");
      assert.equal(clientConfig(connectionFromEnv(env(local))).ssl, false);
    }
    // 127.0.0.1 spelled inside another name is not local.
    assert.throws(() => connectionFromEnv(env("127.0.0.1.example.com", "disable")), /must be verify-full/);
    // The driver: the chain and the host name checked (Node's default check); verify-ca the chain only.
    const full = clientConfig(connectionFromEnv(env(azure)));
    assert.deepStrictEqual(full.ssl, { rejectUnauthorized: true });
    const ca = clientConfig({
      host: "127.0.0.1",
      port: 5432,
      user: "u",
      database: "d",
      sslmode: "verify-ca",
    });
    assert.equal(typeof ca.ssl === "object" && ca.ssl.rejectUnauthorized, true);
    assert.equal(typeof ca.ssl === "object" && typeof ca.ssl.checkServerIdentity, "function");
    // A connection built in code without a mode, to a remote host, is verify-full too.
    assert.deepStrictEqual(clientConfig({ host: azure, port: 5432, user: "u", database: "d" }).ssl, {
      rejectUnauthorized: true,
    });
  });

  it("quotes identifiers and literals", () => {
    assert.equal(quoteIdent('a"b'), '"a""b"');
    assert.equal(quoteLiteral("it's"), "'it''s'");
    assert.equal(quoteLiteral("a\\b"), " E'a\\\\b'");
  });

  it("block ids have one length and carry the upload's nonce", () => {
    assert.deepStrictEqual(
      [blockId("0123456789abcdef", 0), blockId("0123456789abcdef", 999999)].map((b) =>
        Buffer.from(b, "base64").toString(),
      ),
      ["dr-data-0123456789abcdef-000000", "dr-data-0123456789abcdef-999999"],
    );
    assert.throws(() => blockId("xyz", 0), /block id nonce "xyz": 16 hex digits/);
    assert.notEqual(newUploadNonce(), newUploadNonce());
  });
});

const META: BackupMetadata = {
  sha256: "a".repeat(64),
  size: 1234,
  sourceServer: "s189t01-ittms-stg-pg",
  database: "app ü",
  serverVersion: "16.4",
  pgDumpVersion: "pg_dump (PostgreSQL) 16.4",
  format: "custom",
  compress: "1",
  startedAt: "2026-11-24T02:00:00.000Z",
  endedAt: "2026-11-24T02:03:10.000Z",
};

describe("tool: blob metadata", () => {
  it("round-trips, with free text URI-encoded into ASCII", () => {
    const raw = toBlobMetadata(META);
    assert.equal(raw.database, "app%20%C3%BC");
    assert.ok(Object.values(raw).every((v) => /^[\x20-\x7e]*$/.test(v)));
    assert.deepStrictEqual(parseBlobMetadata(raw), { ok: true, value: META });
  });

  it("lists every problem of a blob that is not this tool's backup", () => {
    assert.deepStrictEqual(
      parseBlobMetadata({
        tool: "dr-data/1",
        sha256: "xyz",
        size: "-1",
        format: "tar",
        startedat: "yesterday",
      }),
      {
        ok: false,
        problems: [
          "metadata sha256 is not 64 hex digits",
          'metadata size is not a byte count: "-1"',
          'metadata format must be one of custom, directory, got "tar"',
          "metadata endedat is missing",
          'metadata startedat is not an ISO 8601 UTC time: "yesterday"',
          "metadata sourceserver is missing",
          "metadata database is missing",
          "metadata serverversion is missing",
          "metadata pgdumpversion is missing",
          "metadata compress is missing",
        ],
      },
    );
  });
});

describe("tool: latest", () => {
  const entry = (name: string, stamp: string, o: Partial<BackupEntry> = {}): BackupEntry => ({
    name,
    database: name.split("/").pop()!.split("_")[0]!,
    startedAt: DateTime.fromISO(stamp, { zone: "utc" }),
    size: 1234,
    lastModified: new Date(0),
    metadata: META,
    ...o,
  });
  const entries = [
    entry("p/app_20261120T020000Z", "2026-11-20T02:00:00Z"),
    entry("p/app_20261122T020000Z", "2026-11-22T02:00:00Z", { lastModified: new Date(1) }),
    entry("p/app_20261121T020000Z", "2026-11-21T02:00:00Z", { lastModified: new Date(2) }),
    entry("p/app_20261123T020000Z", "2026-11-23T02:00:00Z", {
      metadata: undefined,
      problems: ["metadata sha256 is missing"],
    }),
    entry("p/app_20261124T020000Z", "2026-11-24T02:00:00Z", { size: 10 }),
    entry("p/other_20261125T020000Z", "2026-11-25T02:00:00Z"),
  ];
  it("is the newest by the name's timestamp with usable metadata and the right size", () => {
    assert.equal(latestBackup(entries, "app")?.name, "p/app_20261122T020000Z");
  });
  it("without a database filter, any database", () => {
    assert.equal(latestBackup(entries)?.name, "p/other_20261125T020000Z");
  });
  it("none when nothing is usable", () => {
    assert.equal(latestBackup(entries.slice(3, 5), "app"), undefined);
  });
});

describe("tool: restore names", () => {
  it("refuses run ids that are not lowercase words and names over 63 bytes", () => {
    assert.deepStrictEqual(restoreNameProblems("app", "pitr-20261124t130500z"), []);
    assert.deepStrictEqual(restoreNameProblems("app", "Bad_Id"), [
      '--run-id "Bad_Id" must be lowercase letters, digits and inner hyphens',
    ]);
    assert.deepStrictEqual(restoreNameProblems("a".repeat(55), "r1"), [
      `database name ${"a".repeat(55)}_restore_r1 would exceed 63 bytes: shorten --run-id`,
      `database name ${"a".repeat(55)}_before_r1 would exceed 63 bytes: shorten --run-id`,
    ]);
  });
});

describe("tool: compare verdicts", () => {
  const t = (rows: number, checksum: string, columns = "id bigint"): RelationSummary => ({
    kind: "table",
    columns,
    rows,
    checksum,
  });
  const cases: { name: string; l?: RelationSummary; r?: RelationSummary; want: string[] }[] = [
    { name: "equal", l: t(3, "c1"), r: t(3, "c1"), want: [] },
    { name: "rows and content", l: t(3, "c1"), r: t(4, "c2"), want: ["rows 3 vs 4", "content differs"] },
    { name: "same count, other content", l: t(3, "c1"), r: t(3, "c2"), want: ["content differs"] },
    { name: "missing right", l: t(3, "c1"), want: ["missing on the right"] },
    { name: "missing left", r: t(3, "c1"), want: ["missing on the left"] },
    {
      name: "columns",
      l: t(3, "c1", "id bigint"),
      r: t(3, "c1", "id integer"),
      want: ["columns differ: (id bigint) vs (id integer)"],
    },
    {
      name: "sequence value",
      l: { kind: "sequence", columns: "", rows: 1, checksum: "41" },
      r: { kind: "sequence", columns: "", rows: 1, checksum: "40" },
      want: ["value 41 vs 40"],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepStrictEqual(differencesOf(c.l, c.r), c.want));

  it("prints the differing relations and a summary", () => {
    const text = formatComparison({
      equal: false,
      relations: [
        { name: "app.a", left: t(3, "c1"), right: t(3, "c1"), differences: [] },
        {
          name: "app.b",
          left: t(3, "c1"),
          right: t(4, "c2"),
          differences: ["rows 3 vs 4", "content differs"],
        },
      ],
    });
    assert.equal(
      text,
      [
        "relation  kind   left rows/value  right rows/value  result",
        "--------  -----  ---------------  ----------------  ----------------------------",
        "app.b     table  3                4                 rows 3 vs 4; content differs",
        "compare: 1 of 2 relations differ",
      ].join("\n"),
    );
  });
});

describe("tool: CLI usage errors exit 2 and name the flag", () => {
  const env = {
    PGHOST: "127.0.0.1",
    PGUSER: "u",
    PGDATABASE: "app",
    AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
  };
  const cases: { argv: string[]; env?: Record<string, string>; message: RegExp }[] = [
    { argv: [], message: /usage: dr-data/ },
    {
      argv: ["frobnicate"],
      message: /unknown command "frobnicate"; allowed values are: backup, restore, compare, list/,
    },
    { argv: ["backup", "--prefix", "p"], message: /backup: --container is required/ },
    {
      argv: ["backup", "--container", "backups", "--prefix", "p", "--format", "tar"],
      message: /--format must be one of: custom, directory; got "tar"/,
    },
    {
      argv: ["backup", "--container", "backups", "--prefix", "p", "--jobs", "0"],
      message: /--jobs must be an integer from 1 to 64, got "0"/,
    },
    {
      argv: ["backup", "--container", "backups", "--prefix", "p", "--colour"],
      message: /unknown flag --colour/,
    },
    {
      argv: ["backup", "--container", "Backups!", "--prefix", "p"],
      message: /--container "Backups!" is not a container name/,
    },
    {
      argv: ["backup", "--container", "backups", "--prefix", "p", "--compress", "9x"],
      message: /--compress "9x": allowed values are 0–9 or none\|gzip\|lz4\|zstd\[:level\]/,
    },
    {
      argv: ["restore", "--container", "backups", "--blob", "latest", "--run-id", "r1"],
      message: /--blob latest needs --prefix/,
    },
    { argv: ["restore", "--container", "backups", "--blob", "x"], message: /restore: --run-id is required/ },
    {
      argv: ["restore", "--container", "backups", "--blob", "x", "--run-id", "r1", "--setting", "oops"],
      message: /--setting must be name=value/,
    },
    {
      argv: ["list", "--container", "backups", "--prefix", "p"],
      env: { PGHOST: "h" },
      message:
        /no blob store credentials: set DR_STORAGE_AUTH=entra and AZURE_STORAGE_ACCOUNT \(managed identity\), or AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY/,
    },
    { argv: ["compare"], env: {}, message: /LEFT_PGHOST \(or PGHOST\) is not set/ },
  ];
  for (const c of cases) {
    it(`dr-data ${c.argv.join(" ")}`, async () => {
      const lines: string[] = [];
      const code = await main(c.argv, c.env ?? env, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
      assert.equal(code, 2);
      assert.match(lines.join("\n"), c.message);
    });
  }

  it("integer and setting flags", () => {
    assert.equal(intFlag("jobs", "4", 1), 4);
    assert.equal(intFlag("jobs", undefined, 1), undefined);
    assert.throws(() => intFlag("jobs", "1.5", 1, 64), /--jobs must be an integer from 1 to 64, got "1.5"/);
    assert.deepStrictEqual(settingsFlag(["maintenance_work_mem=1GB", "synchronous_commit=off"]), {
      maintenance_work_mem: "1GB",
      synchronous_commit: "off",
    });
  });
});

describe("tool: restore target (--database, else PGDATABASE, else the backup's source)", () => {
  it("picks the target and says where it came from", () => {
    const cases: [string | undefined, string | undefined, string, ReturnType<typeof restoreTarget>][] = [
      ["flagged", "env", "postgres", { database: "flagged", from: "flag" }],
      ["flagged", undefined, "postgres", { database: "flagged", from: "flag" }],
      [undefined, "env", "postgres", { database: "env", from: "PGDATABASE" }],
      [undefined, "", "postgres", { database: undefined, from: undefined }],
      [undefined, undefined, "postgres", { database: undefined, from: undefined }],
      [undefined, "postgres", "postgres", { database: undefined, from: undefined }],
      [undefined, "postgres", "maint", { database: "postgres", from: "PGDATABASE" }],
    ];
    assert.deepStrictEqual(
      cases.map(([flag, env, maint]) => restoreTarget(flag, env, maint)),
      cases.map((c) => c[3]),
    );
  });
});
