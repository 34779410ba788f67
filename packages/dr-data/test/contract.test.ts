/**
 * The program ↔ tool contract (src/contract.ts), pure: every command's options built into argv and parsed
 * back by the parsers the CLI itself uses come back equal; the environment names are the ones the tool
 * reads; the step label names the recovery Jobs' steps.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { USAGE } from "../src/cli";
import {
  BACKUP,
  RESTORE,
  WORK_DIR_FLAG,
  backupArgs,
  buildToolArgs,
  COMMAND_FLAGS,
  compareArgs,
  connectionEnvField,
  drillReportArgs,
  incidentReportArgs,
  parseDrillReportArgs,
  parseIncidentReportArgs,
  connectionEnvNames,
  CONNECTION_PREFIXES,
  inspectArgs,
  jobStepOf,
  listArgs,
  parseBackupArgs,
  parseCompareArgs,
  parseInspectArgs,
  parseListArgs,
  parseReconcileArgs,
  parseRestoreArgs,
  parseStatusArgs,
  parseToolArgs,
  reconcileArgs,
  restoreArgs,
  STEP_COMMAND,
  STEP_LABEL,
  statusArgs,
  tableRestoreArgs,
  type ParsedArgs,
} from "../src/contract";
import { connectionFromEnv } from "../src/connection";
import { JOB_STEPS, type JobStep } from "../src/naming";
import * as entry from "../src/index";

/** Every command, with its options as the program (or an operator) would give them. */
const CASES: readonly {
  readonly name: string;
  readonly parsed: ParsedArgs;
  readonly build: () => string[];
}[] = [
  {
    name: "backup, as the Jobs run it",
    parsed: {
      command: "backup",
      options: { container: "c", prefix: "p/x", sourceServer: "srv", jobs: 2, workDir: "/scratch" },
    },
    build: () =>
      backupArgs({ container: "c", prefix: "p/x", sourceServer: "srv", jobs: 2, workDir: "/scratch" }),
  },
  {
    name: "backup, as the nightly CronJob runs it",
    parsed: {
      command: "backup",
      options: {
        container: "c",
        prefix: "nightly/srv",
        sourceServer: "srv",
        jobs: 2,
        workDir: "/s",
        verify: true,
      },
    },
    build: () =>
      backupArgs({
        container: "c",
        prefix: "nightly/srv",
        sourceServer: "srv",
        jobs: 2,
        workDir: "/s",
        verify: true,
      }),
  },
  {
    name: "backup, every flag",
    parsed: {
      command: "backup",
      options: {
        container: "c",
        prefix: "p",
        database: "app",
        sourceServer: "srv",
        format: "custom",
        compress: "zstd:3",
        streamCompress: "none",
        jobs: 64,
        blockSizeMib: 4000,
        uploadConcurrency: 1,
        workDir: "/w",
        noManifest: true,
      },
    },
    build: () =>
      backupArgs({
        container: "c",
        prefix: "p",
        database: "app",
        sourceServer: "srv",
        format: "custom",
        compress: "zstd:3",
        streamCompress: "none",
        jobs: 64,
        blockSizeMib: 4000,
        uploadConcurrency: 1,
        workDir: "/w",
        noManifest: true,
      }),
  },
  {
    name: "restore, whole database, every flag",
    parsed: {
      command: "restore",
      options: {
        container: "c",
        prefix: "p",
        blob: "latest",
        sourceDatabase: "src",
        database: "app",
        runId: "r-1",
        jobs: 1,
        noAcl: true,
        analyze: true,
        settings: { maintenance_work_mem: "1GB", "app.x": "a=b" },
        maintenanceDatabase: "postgres",
        workDir: "/w",
        allowUnverified: true,
        skipMissingRoles: true,
      },
    },
    build: () =>
      restoreArgs({
        container: "c",
        prefix: "p",
        blob: "latest",
        sourceDatabase: "src",
        database: "app",
        runId: "r-1",
        jobs: 1,
        noAcl: true,
        analyze: true,
        settings: { maintenance_work_mem: "1GB", "app.x": "a=b" },
        maintenanceDatabase: "postgres",
        workDir: "/w",
        allowUnverified: true,
        skipMissingRoles: true,
      }),
  },
  {
    name: "restore --tables",
    parsed: {
      command: "restore",
      options: {
        tables: ["app.events", "app.accounts"],
        container: "c",
        prefix: "p",
        blob: "latest",
        sourceDatabase: "app",
        database: "app",
        runId: "pitr-1",
        workDir: "/scratch",
      },
    },
    build: () =>
      tableRestoreArgs({
        tables: ["app.events", "app.accounts"],
        container: "c",
        prefix: "p",
        blob: "latest",
        sourceDatabase: "app",
        database: "app",
        runId: "pitr-1",
        workDir: "/scratch",
      }),
  },
  {
    name: "compare, two databases",
    parsed: { command: "compare", options: {} },
    build: () => compareArgs({}),
  },
  {
    name: "compare --tables against the copy",
    parsed: { command: "compare", options: { tables: ["app.events"], runId: "pitr-1" } },
    build: () => compareArgs({ tables: ["app.events"], runId: "pitr-1" }),
  },
  {
    name: "compare against a restore run's manifest",
    parsed: { command: "compare", options: { runId: "rebuild-inc-1", container: "c", jobs: 2 } },
    build: () => compareArgs({ runId: "rebuild-inc-1", container: "c", jobs: 2 }),
  },
  {
    name: "compare, every flag",
    parsed: {
      command: "compare",
      options: {
        tables: ["a.b"],
        runId: "r",
        againstBackup: "latest",
        container: "c",
        prefix: "p",
        database: "d",
        sourceDatabase: "s",
        leftDatabase: "l",
        rightDatabase: "r",
        jobs: 3,
        all: true,
      },
    },
    build: () =>
      compareArgs({
        tables: ["a.b"],
        runId: "r",
        againstBackup: "latest",
        container: "c",
        prefix: "p",
        database: "d",
        sourceDatabase: "s",
        leftDatabase: "l",
        rightDatabase: "r",
        jobs: 3,
        all: true,
      }),
  },
  {
    name: "inspect, every flag",
    parsed: {
      command: "inspect",
      options: {
        container: "c",
        incident: "inc-1",
        restoreTime: "2026-11-24T13:05:00+00:00",
        ptrDatabase: "p",
        liveDatabase: "l",
        jobs: 2,
        samples: 0,
        all: true,
      },
    },
    build: () =>
      inspectArgs({
        container: "c",
        incident: "inc-1",
        restoreTime: "2026-11-24T13:05:00+00:00",
        ptrDatabase: "p",
        liveDatabase: "l",
        jobs: 2,
        samples: 0,
        all: true,
      }),
  },
  {
    name: "reconcile, as the Jobs run it",
    parsed: {
      command: "reconcile",
      options: { container: "c", incident: "inc-1", restoreTime: "2026-11-24T13:05:00+00:00", jobs: 2 },
    },
    build: () =>
      reconcileArgs({ container: "c", incident: "inc-1", restoreTime: "2026-11-24T13:05:00+00:00", jobs: 2 }),
  },
  {
    name: "list",
    parsed: { command: "list", options: { container: "c", prefix: "p", database: "d" } },
    build: () => listArgs({ container: "c", prefix: "p", database: "d" }),
  },
  {
    name: "status, every flag",
    parsed: {
      command: "status",
      options: {
        container: "c",
        server: "srv",
        database: "d",
        maxAgeHours: 30,
        now: "2026-11-24T09:00:00Z",
        json: true,
      },
    },
    build: () =>
      statusArgs({
        container: "c",
        server: "srv",
        database: "d",
        maxAgeHours: 30,
        now: "2026-11-24T09:00:00Z",
        json: true,
      }),
  },
  {
    name: "drill-report, as the drill's last Job runs it",
    parsed: {
      command: "drill-report",
      options: {
        container: "c",
        server: "srv",
        database: "app",
        startedAt: "2026-12-06T02:00:00Z",
        steps: { restore: "drill-restore", inspect: "drill-inspect" },
        rpoMinutes: 1560,
        rtoMinutes: 120,
      },
    },
    build: () =>
      drillReportArgs({
        container: "c",
        server: "srv",
        database: "app",
        startedAt: "2026-12-06T02:00:00Z",
        steps: { restore: "drill-restore", inspect: "drill-inspect" },
        rpoMinutes: 1560,
        rtoMinutes: 120,
      }),
  },
  {
    name: "incident-report, every flag",
    parsed: {
      command: "incident-report",
      options: {
        container: "c",
        incident: "inc-1",
        declaredAt: "2026-11-24T12:00:00Z",
        restoreTime: "2026-11-24T11:05:00Z",
        timeZone: "Europe/London",
        rpoMinutes: 60,
        rtoMinutes: 240,
        json: true,
      },
    },
    build: () =>
      incidentReportArgs({
        container: "c",
        incident: "inc-1",
        declaredAt: "2026-11-24T12:00:00Z",
        restoreTime: "2026-11-24T11:05:00Z",
        timeZone: "Europe/London",
        rpoMinutes: 60,
        rtoMinutes: 240,
        json: true,
      }),
  },
];

describe("contract: argv built from typed options parses back to the same options", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const argv = c.build();
      assert.equal(argv[0], c.parsed.command);
      assert.deepStrictEqual(parseToolArgs(argv), c.parsed);
      assert.deepStrictEqual(buildToolArgs(c.parsed), argv);
    });
  }

  it("the per-command parsers are the ones parseToolArgs dispatches to", () => {
    const parsers = {
      backup: parseBackupArgs,
      restore: parseRestoreArgs,
      compare: parseCompareArgs,
      inspect: parseInspectArgs,
      reconcile: parseReconcileArgs,
      list: parseListArgs,
      status: parseStatusArgs,
      "drill-report": parseDrillReportArgs,
      "incident-report": parseIncidentReportArgs,
    };
    for (const c of CASES) {
      assert.deepStrictEqual(parsers[c.parsed.command](c.build().slice(1)), c.parsed.options, c.name);
    }
  });

  it("the drill report's steps are repeated --step flags, in the drill's order", () => {
    assert.deepStrictEqual(
      drillReportArgs({
        container: "c",
        server: "srv",
        database: "app",
        startedAt: "2026-12-06T02:00:00Z",
        steps: { restore: "j-restore", inspect: "j-inspect" },
        rpoMinutes: 1560,
        rtoMinutes: 120,
      }),
      [
        "drill-report",
        "--container",
        "c",
        "--server",
        "srv",
        "--database",
        "app",
        "--started-at",
        "2026-12-06T02:00:00Z",
        "--step",
        "restore=j-restore",
        "--step",
        "inspect=j-inspect",
        "--rpo-minutes",
        "1560",
        "--rto-minutes",
        "120",
      ],
    );
  });

  it("emits flags in the table's order, exactly the argv the Jobs have always had", () => {
    assert.deepStrictEqual(
      restoreArgs({ container: "c", prefix: "p", blob: "latest", runId: "r", jobs: 2, workDir: "/scratch" }),
      [
        "restore",
        "--container",
        "c",
        "--prefix",
        "p",
        "--blob",
        "latest",
        "--run-id",
        "r",
        "--jobs",
        "2",
        "--work-dir",
        "/scratch",
      ],
    );
    assert.deepStrictEqual(compareArgs({ tables: ["a.b", "c.d"], runId: "r" }), [
      "compare",
      "--tables",
      "a.b,c.d",
      "--run-id",
      "r",
    ]);
    // A switch is a flag only when true; a repeated setting is one flag each.
    assert.deepStrictEqual(
      restoreArgs({ container: "c", blob: "b", runId: "r", noAcl: false, settings: { a: "1", b: "2" } }),
      ["restore", "--container", "c", "--blob", "b", "--run-id", "r", "--setting", "a=1", "--setting", "b=2"],
    );
  });

  it("refuses what the tool refuses: unknown flags, a missing required flag, out-of-range numbers", () => {
    assert.throws(
      () => parseToolArgs(["backup", "--container", "c", "--prefix", "p", "--colour"]),
      /unknown flag --colour/,
    );
    assert.throws(() => parseToolArgs(["backup", "--prefix", "p"]), /backup: --container is required/);
    assert.throws(() => parseToolArgs(["inspect", "--container", "c"]), /inspect: --incident is required/);
    assert.throws(
      () => parseToolArgs(["backup", "--container", "c", "--prefix", "p", "--jobs", "65"]),
      /--jobs must be an integer from 1 to 64, got "65"/,
    );
    assert.throws(
      () => parseToolArgs(["backup", "--container", "c", "--prefix", "p", "--format", "tar"]),
      /--format must be one of: custom, directory; got "tar"/,
    );
    assert.throws(() => parseToolArgs(["frobnicate"]), /unknown command "frobnicate"/);
    assert.throws(
      () => parseToolArgs(["status", "--container", "c", "--server", "s", "--max-age-hours", "0"]),
      /--max-age-hours must be an integer from 1 to 2160, got "0"/,
    );
    assert.throws(() => parseToolArgs(["status", "--container", "c"]), /status: --server is required/);
    assert.throws(
      () =>
        parseToolArgs([
          ...["drill-report", "--container", "c", "--server", "s", "--database", "d"],
          ...["--started-at", "2026-12-06T02:00:00Z", "--step", "restore"],
        ]),
      /--step must be name=value \(a name, then = and a value\), got "restore"/,
    );
    assert.throws(
      () => parseToolArgs(["restore", "--container", "c", "--blob", "b", "--run-id", "r", "--setting", "x"]),
      /--setting must be name=value \(a PostgreSQL setting\), got "x"/,
    );
  });

  it("the one flag the drill rewrites is spelled alike by every command that has it", () => {
    assert.deepStrictEqual(
      [WORK_DIR_FLAG, `--${BACKUP.workDir.flag}`, `--${RESTORE.workDir.flag}`],
      ["--work-dir", "--work-dir", "--work-dir"],
    );
  });

  it("every flag of the contract is in the tool's usage text", () => {
    const missing = Object.entries(COMMAND_FLAGS).flatMap(([command, flags]) =>
      Object.values<{ readonly flag: string }>(flags)
        .map((d) => `--${d.flag}`)
        .filter((f) => !USAGE.includes(`${f} `) && !USAGE.includes(`${f}]`))
        .map((f) => `${command} ${f}`),
    );
    assert.deepStrictEqual(missing, []);
  });
});

describe("contract: environment names and the step label", () => {
  it("names each connection field under each prefix as the tool reads them", () => {
    assert.deepStrictEqual(connectionEnvNames("LEFT_"), {
      host: "LEFT_PGHOST",
      port: "LEFT_PGPORT",
      user: "LEFT_PGUSER",
      database: "LEFT_PGDATABASE",
      sslmode: "LEFT_PGSSLMODE",
      password: "LEFT_PGPASSWORD",
    });
    for (const prefix of CONNECTION_PREFIXES) {
      const n = connectionEnvNames(prefix);
      const env = {
        [n.host]: "h",
        [n.port]: "6543",
        [n.user]: "u",
        [n.database]: "d",
        [n.sslmode]: "verify-full",
      };
      assert.deepStrictEqual(
        connectionFromEnv(env, prefix),
        { host: "h", port: 6543, user: "u", password: undefined, database: "d", sslmode: "verify-full" },
        `prefix ${JSON.stringify(prefix)}`,
      );
    }
  });

  it("reads a variable back as its prefix and field, and nothing else", () => {
    assert.deepStrictEqual(connectionEnvField("LIVE_PGUSER"), { prefix: "LIVE_", field: "user" });
    assert.deepStrictEqual(connectionEnvField("PGHOST"), { prefix: "", field: "host" });
    assert.equal(connectionEnvField("DR_PG_AUTH"), undefined);
    assert.equal(connectionEnvField("OTHER_PGHOST"), undefined);
  });

  it("every recovery Job step runs one command, and its label value reads back as the step", () => {
    assert.equal(STEP_LABEL, "service-dr/step");
    const steps = Object.keys(JOB_STEPS) as JobStep[];
    assert.deepStrictEqual(Object.keys(STEP_COMMAND).sort(), [...steps].sort());
    for (const step of steps) assert.equal(jobStepOf(step), step);
    assert.deepStrictEqual(["nightly-backup", "troubleshoot", "toString", 1].map(jobStepOf), [
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("psql-side (a shell script, it cannot import the contract) reads exactly the PTR_/LIVE_ names it defines", () => {
    const script = readFileSync(path.join(__dirname, "..", "src", "bin", "psql-side"), "utf8");
    // `side=PTR` / `side=LIVE` pick the prefix; `value PGHOST` reads `${side}_PGHOST`.
    const sides = [...script.matchAll(/\bside=([A-Z]+)\b/g)].map((m) => `${m[1]!}_`);
    assert.deepStrictEqual(sides, ["PTR_", "LIVE_"]);
    for (const prefix of sides)
      assert.ok((CONNECTION_PREFIXES as readonly string[]).includes(prefix), prefix);
    const read = new Set([...script.matchAll(/\bvalue "?(PG[A-Z]+)"?\)/g)].map((m) => m[1]!));
    const required = script.match(/for v in ((?:PG[A-Z]+ ?)+); do/)?.[1]?.split(" ") ?? [];
    for (const v of required) read.add(v);
    const names = connectionEnvNames("");
    assert.deepStrictEqual([...read].sort(), Object.values(names).sort());
  });

  it("the package's entry exports the contract beside the names", () => {
    assert.equal(entry.backupArgs, backupArgs);
    assert.equal(entry.STEP_LABEL, STEP_LABEL);
    assert.equal(typeof entry.k8sName.job, "function");
  });
});
