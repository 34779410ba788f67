/**
 * A recovery Job's whole output is written by the tool itself to the backup storage
 * (`incident/<id>/logs/<job>.log`, packages/dr-data/src/job-log.ts), on success and on failure: the real CLI as a Job's
 * container runs it, against real PostgreSQL and Azurite.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { incidentDoneBlobName, incidentLogBlobName, JOB_LOG_ENV } from "../../src/naming";
import { Azurite } from "../../testkit/azurite";
import type { PgCluster } from "../../testkit/postgres";
import { sharedServers } from "../../testkit/shared";
import { jobLogTarget, runWithJobLog } from "../../src/job-log";

const ROOT = path.resolve(__dirname, "../..");
const CONTAINER = "backups";

describe("tool: a Job's log in the backup storage (real PostgreSQL and Azurite)", function () {
  this.timeout(120_000);
  let pg: PgCluster;
  let az: Azurite;
  before(async () => {
    ({ pg, az } = await sharedServers());
    await az.createContainer(CONTAINER);
    await pg.query("CREATE DATABASE app");
    await pg.query("CREATE TABLE t (id int PRIMARY KEY, v text)", [], "app");
    await pg.query("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g", [], "app");
  });

  function run(args: string[], extra: Record<string, string>) {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...pg.env("app"), ...az.env(), ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.once("close", (code) => resolve({ code, stdout, stderr })),
    );
  }
  const container = () =>
    BlobServiceClient.fromConnectionString(az.connectionString).getContainerClient(CONTAINER);
  async function read(blob: string): Promise<string> {
    return (await container().getBlockBlobClient(blob).downloadToBuffer()).toString("utf8");
  }
  const env = (blob: string) => ({ [JOB_LOG_ENV.container]: CONTAINER, [JOB_LOG_ENV.blob]: blob });
  /** A restore that fails before touching anything: nothing was ever backed up under that prefix. */
  const failingRestore = (runId: string): string[] => [
    "restore",
    "--container",
    CONTAINER,
    "--prefix",
    "nightly/none",
    "--blob",
    "latest",
    "--run-id",
    runId,
  ];
  /** The lines of a text, sorted: the log keeps the child's write order, the pipes are read separately. */
  const lines = (text: string): string[] =>
    text
      .split("\n")
      .filter((l) => l !== "")
      .sort();

  it("a backup that succeeds: the log is exactly its stdout and stderr, with start and exit status (stdout: the result alone)", async () => {
    const blob = incidentLogBlobName("inc-1", "dr-inc-1-backup-flawed");
    const args = ["backup", "--container", CONTAINER, "--prefix", "incident/inc-1/flawed/srv", "--jobs", "1"];
    const r = await run(args, env(blob));
    assert.equal(r.code, 0, r.stderr);
    const log = await read(blob);
    assert.deepStrictEqual(lines(log), lines(r.stdout + r.stderr));
    assert.match(
      log,
      new RegExp(
        `^dr-data ${args.join(" ")}: started \\d{4}-\\d\\d-\\d\\dT[^;]+; log → ${CONTAINER}/${blob}\n`,
      ),
    );
    assert.match(log, /\ndr-data: exit status 0, finished \d{4}-[^\n]+\n$/);
    // The result line (the backup's blob name) is in the evidence.
    const result = r.stdout.split("\n").find((l) => l.startsWith("incident/inc-1/flawed/srv/app_"));
    assert.ok(result !== undefined && log.includes(`${result}\n`), log);
    // stdout is the result alone, as without a log: the log's header and footer are on stderr.
    assert.deepStrictEqual(r.stdout.trim().split("\n"), [result]);
    const props = await container().getBlockBlobClient(blob).getProperties();
    assert.equal(props.contentType, "text/plain; charset=utf-8");
  });

  it("a restore that fails: the log still holds the error and the exit status", async () => {
    const blob = incidentLogBlobName("inc-1", "dr-inc-1-restore");
    const args = failingRestore("rebuild-inc-1");
    const r = await run(args, env(blob));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const log = await read(blob);
    assert.deepStrictEqual(lines(log), lines(r.stdout + r.stderr));
    const error = r.stderr.split("\n").find((l) => l.startsWith("dr-data: "));
    assert.ok(error !== undefined && log.includes(error), log);
    assert.match(log, /\ndr-data: exit status 1, finished [^\n]+\n$/);
  });

  it("a usage error is logged too (exit 2)", async () => {
    const blob = incidentLogBlobName("inc-1", "dr-inc-1-compare");
    const r = await run(["compare", "--bogus"], env(blob));
    assert.equal(r.code, 2);
    assert.match(await read(blob), /dr-data: compare: unknown flag --bogus[\s\S]*exit status 2, finished/);
  });

  it("SIGTERM (the Job's deadline) while the tool waits: the log is still written, exit 143", async () => {
    // A server that accepts connections and never answers: the tool waits in its first connection.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const blob = incidentLogBlobName("inc-1", "dr-inc-1-backup-ptr");
    try {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "src/cli.ts", "backup", "--container", CONTAINER, "--prefix", "incident/inc-1/x"],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            ...pg.env("app"),
            PGHOST: "127.0.0.1",
            PGPORT: String(port),
            ...az.env(),
            ...env(blob),
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stderr = "";
      const started = new Promise<void>((resolve) =>
        child.stderr.on("data", (c: Buffer) => {
          stderr += c.toString();
          if (stderr.includes(": started ")) resolve();
        }),
      );
      const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
      await started;
      child.kill("SIGTERM");
      assert.equal(await closed, 143, stderr);
      assert.match(
        await read(blob),
        /^dr-data backup [^\n]*: started [^\n]*\n[\s\S]*dr-data: terminated \(SIGTERM\) [^\n]+\n$/,
      );
    } finally {
      silent.close();
    }
  });

  describe("a finished step never runs twice under the same Job name (completion record)", () => {
    const job = "dr-inc-2-backup-flawed";
    const prefix = "incident/inc-2/flawed/srv";
    const args = ["backup", "--container", CONTAINER, "--prefix", prefix, "--jobs", "1"];
    const withDone = {
      [JOB_LOG_ENV.container]: CONTAINER,
      [JOB_LOG_ENV.blob]: incidentLogBlobName("inc-2", job),
      [JOB_LOG_ENV.done]: incidentDoneBlobName("inc-2", job),
    };
    async function names(under: string): Promise<string[]> {
      const out: string[] = [];
      for await (const b of container().listBlobsFlat({ prefix: under })) out.push(b.name);
      return out.sort();
    }

    it("the first run writes the record; the same Job created again does nothing and keeps the first log", async () => {
      const first = await run(args, withDone);
      assert.equal(first.code, 0, first.stderr);
      const record = JSON.parse(await read(withDone[JOB_LOG_ENV.done])) as Record<string, unknown>;
      assert.deepStrictEqual(Object.keys(record).sort(), ["argv", "finishedAt", "logBlob", "startedAt"]);
      assert.ok(String(record.startedAt) <= String(record.finishedAt), JSON.stringify(record));
      assert.deepStrictEqual(record.argv, args);
      assert.equal(record.logBlob, withDone[JOB_LOG_ENV.blob]);
      const dumps = await names(`${prefix}/`);
      assert.equal(dumps.filter((n) => !n.endsWith(".manifest.json")).length, 1, dumps.join(", "));
      const firstLog = await read(withDone[JOB_LOG_ENV.blob]);

      const second = await run(args, withDone);
      assert.equal(second.code, 0, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `^dr-data: this step already completed at ${String(record.finishedAt).replace(/[.]/g, "\\.")} \\(record ${CONTAINER}/incident/inc-2/done/${job}\\.json; its log: incident/inc-2/logs/${job}\\.log\\); nothing to do\\.`,
        ),
      );
      assert.equal(second.stdout, "");
      // No second dump, and the evidence of the first run is untouched.
      assert.deepStrictEqual(await names(`${prefix}/`), dumps);
      assert.equal(await read(withDone[JOB_LOG_ENV.blob]), firstLog);
    });

    it("a failed run writes no record, so the Job's next run (or a retry) really runs", async () => {
      const failing = "dr-inc-2-restore";
      const env2 = {
        [JOB_LOG_ENV.container]: CONTAINER,
        [JOB_LOG_ENV.blob]: incidentLogBlobName("inc-2", failing),
        [JOB_LOG_ENV.done]: incidentDoneBlobName("inc-2", failing),
      };
      const r = await run(failingRestore("x-1"), env2);
      assert.equal(r.code, 1, r.stderr);
      assert.deepStrictEqual(await names(env2[JOB_LOG_ENV.done]), []);
      assert.deepStrictEqual(await names(env2[JOB_LOG_ENV.blob]), [env2[JOB_LOG_ENV.blob]]);
    });

    it("a record that cannot be read stops the run before anything is done (exit 1)", async () => {
      const odd = "dr-inc-2-compare";
      const doneBlob = incidentDoneBlobName("inc-2", odd);
      await container().getBlockBlobClient(doneBlob).upload("not json", 8);
      const r = await run(
        ["backup", "--container", CONTAINER, "--prefix", "incident/inc-2/odd", "--jobs", "1"],
        {
          [JOB_LOG_ENV.container]: CONTAINER,
          [JOB_LOG_ENV.blob]: incidentLogBlobName("inc-2", odd),
          [JOB_LOG_ENV.done]: doneBlob,
        },
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^dr-data: cannot tell whether this step already ran, so it does not run: /);
      assert.deepStrictEqual(await names("incident/inc-2/odd/"), []);
    });
  });

  it("without the Job's log variables nothing is captured and no blob is written", async () => {
    const before: string[] = [];
    for await (const b of container().listBlobsFlat({ prefix: "incident/" })) before.push(b.name);
    const r = await run(["list", "--container", CONTAINER, "--prefix", "incident/inc-1/flawed/srv"], {});
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /started/);
    const after: string[] = [];
    for await (const b of container().listBlobsFlat({ prefix: "incident/" })) after.push(b.name);
    assert.deepStrictEqual(after, before);
  });
});

describe("tool: job log, in process", () => {
  it("the target needs both variables", () => {
    assert.equal(jobLogTarget({}), undefined);
    assert.deepStrictEqual(jobLogTarget({ [JOB_LOG_ENV.container]: "c", [JOB_LOG_ENV.blob]: "b" }), {
      container: "c",
      blob: "b",
      done: undefined,
    });
    assert.deepStrictEqual(
      jobLogTarget({ [JOB_LOG_ENV.container]: "c", [JOB_LOG_ENV.blob]: "b", [JOB_LOG_ENV.done]: "d" }),
      { container: "c", blob: "b", done: "d" },
    );
    assert.throws(
      () => jobLogTarget({ [JOB_LOG_ENV.done]: "d" }),
      /^Error: DR_DATA_LOG_CONTAINER and DR_DATA_LOG_BLOB must be set together \(the log's container and blob\), and with DR_DATA_DONE_BLOB$/,
    );
    assert.throws(
      () => jobLogTarget({ [JOB_LOG_ENV.blob]: "b" }),
      /^Error: DR_DATA_LOG_CONTAINER and DR_DATA_LOG_BLOB must be set together/,
    );
  });
  it("a failed upload keeps the command's status and says so on stderr", async () => {
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    let status: number;
    process.stderr.write = (chunk: string) => {
      written.push(String(chunk));
      return true;
    };
    try {
      status = await runWithJobLog(
        ["backup"],
        { [JOB_LOG_ENV.container]: "c", [JOB_LOG_ENV.blob]: "b.log" },
        () => Promise.resolve(0),
        {
          upload: () => Promise.reject(new Error("store down")),
          onSigterm: false,
          now: () => new Date("2026-11-25T10:00:00Z"),
        },
      );
    } finally {
      process.stderr.write = original;
    }
    assert.equal(status, 0);
    assert.deepStrictEqual(written, [
      "dr-data backup: started 2026-11-25T10:00:00.000Z; log → c/b.log\n",
      "dr-data: exit status 0, finished 2026-11-25T10:00:00.000Z\n",
      "dr-data: the log could not be written to c/b.log: store down\n",
    ]);
  });
  it("the captured text: header, output, footer, in order", async () => {
    let uploaded = "";
    // The log tees the process's streams and passes every write on: below it they go nowhere, so the
    // suite's output stays quiet; the assertion is on what the log captured.
    const streams = [process.stdout, process.stderr] as const;
    const originals = streams.map((s) => s.write.bind(s));
    for (const s of streams) s.write = () => true;
    const status = await runWithJobLog(
      ["compare"],
      { [JOB_LOG_ENV.container]: "c", [JOB_LOG_ENV.blob]: "b.log" },
      () => {
        process.stdout.write("table t: equal\n");
        process.stderr.write("progress 1/1\n");
        return Promise.resolve(1);
      },
      {
        upload: (_t, text) => {
          uploaded = text.toString("utf8");
          return Promise.resolve();
        },
        onSigterm: false,
        now: () => new Date("2026-11-25T10:00:00Z"),
      },
    ).finally(() => streams.forEach((s, i) => (s.write = originals[i]!)));
    assert.equal(status, 1);
    assert.equal(
      uploaded,
      "dr-data compare: started 2026-11-25T10:00:00.000Z; log → c/b.log\n" +
        "table t: equal\nprogress 1/1\n" +
        "dr-data: exit status 1, finished 2026-11-25T10:00:00.000Z\n",
    );
  });
});
