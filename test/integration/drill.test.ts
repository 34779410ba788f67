/**
 * The drill on small data: both scenarios end to end (real PostgreSQL, real point-in-time recovery, Azurite,
 * the program run offline for every step), the report's content, usage errors, and the pure parts that decide
 * pass or fail (the data check, the mapping of a declared Job to the local servers).
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DateTime } from "luxon";
import { UsageError } from "@service-dr/dr-data";
import { main, parseArgs } from "../../dev/drill/cli";
import type { DrillResult } from "../../dev/drill/drill";
import { localJob } from "../../dev/drill/jobs";
import { checkAgainst, type Snapshot } from "../../dev/drill/workload";
import { canConnect } from "@service-dr/dr-data/testkit/azurite";
import type { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import type { RelationSummary } from "@service-dr/dr-data/compare";
import { tableSetTag } from "@service-dr/dr-data";
import { jobSetTag } from "../../components/app/replica-hold";

function io(): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => void out.push(l), err: (l) => void err.push(l) } };
}

function stage(r: DrillResult, label: string): number {
  const s = r.stages.find((x) => x.label.startsWith(label));
  assert.ok(s, `no stage ${label} in ${r.stages.map((x) => x.label).join(", ")}`);
  return Object.values(s.counts).reduce((a, b) => a + b, 0);
}

function stageCounts(r: DrillResult, label: string): Readonly<Record<string, number>> {
  const s = r.stages.find((x) => x.label.startsWith(label));
  assert.ok(s);
  return s.counts;
}

/** The ports of the servers (PostgreSQL, Azurite) the drill started, from its notes ("… 127.0.0.1:PORT …"). */
function serverPorts(r: DrillResult): number[] {
  const ports: number[] = [];
  for (const s of r.steps)
    for (const n of s.notes) for (const m of n.matchAll(/127\.0\.0\.1:(\d+)/g)) ports.push(Number(m[1]));
  return ports;
}

/**
 * The validate phase survives a refresh: the app up before and after each refresh; a second restore time (one
 * second later) held the app at 0 for exactly its new Jobs (a new hold, created) and brought it back after
 * them, the first hold deleted at the end; maintenance off and unfreeze left the app's count alone.
 */
function checkRefreshAndSecondRestoreTime(result: DrillResult, t: string): void {
  const id = result.incidentId;
  const t2 = DateTime.fromFormat(t, "yyyyLLdd't'HHmmss'z'", { zone: "utc" })
    .plus({ seconds: 1 })
    .toFormat("yyyyLLdd't'HHmmss'z'");
  const names = (at: string) => [
    `dr-${id}-backup-flawed`,
    ...["inspect", "reconcile", "restore"].map((s) => `dr-${id}-${s}-${at}${s === "restore" ? "-flow" : ""}`),
  ];
  const [first, second] = [jobSetTag(names(t)), jobSetTag(names(t2))];
  const refreshes = result.steps.filter((s) => s.title === "pulumi refresh in validate (the app is back)");
  assert.equal(refreshes.length, 2, result.steps.map((s) => s.title).join(", "));
  for (const [r, tag] of [
    [refreshes[0]!, first],
    [refreshes[1]!, second],
  ] as const) {
    assert.deepEqual(r.commands, ["pulumi refresh"]);
    assert.deepEqual(r.notes, [
      "app before the refresh: web 2, worker 1; after: web 2, worker 1",
      // The case that used to stop the app: the hold's stored count is the live one now.
      `hold-${tag}-web: stored spec.replicas now 2 (declared 0)`,
      `hold-${tag}-worker: stored spec.replicas now 1 (declared 0)`,
      "web: stored spec.replicas now 2 (declared 2)",
      "worker: stored spec.replicas now 1 (declared 1)",
    ]);
  }
  const newJobs = names(t2).slice(1);
  const expected = [
    "pulumi refresh in validate: the app up before (web 2, worker 1) and after (web 2, worker 1)",
    `a new restore time in validate: ${newJobs.join(", ")} ran with the app at 0 (held); the app came back after them: ` +
      [
        `scale hold-${second}-web 0`,
        `scale hold-${second}-worker 0`,
        ...newJobs.map((j) => `job ${j}`),
        "scale web 2",
        "scale worker 1",
      ].join(" → "),
    "Disable maintenance mode (validate, after a refresh): the app stayed at web 2, worker 1",
    "Unfreeze pipeline (validate, after a refresh): the app stayed at web 2, worker 1",
  ];
  for (const check of expected)
    assert.ok(result.checks.includes(check), `${check}\nnot in:\n${result.checks.join("\n")}`);
  const step = result.steps.find((s) => s.title.startsWith("A new restore time in validate"))!;
  assert.ok(step.notes.includes("app before the up: web 2, worker 1"), step.notes.join("\n"));
  assert.ok(step.notes.includes(`deleted at the end of the up: hold-${first}-web, hold-${first}-worker`));
}

describe("drill: both runbook scenarios on small data", function () {
  // The ptr runs restore twice (a second restore time in validate): about 70–85 s each on a loaded machine.
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "dr-drill-test-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("ptr in a zone with a non-zero offset: real PITR to the converted time, exactly the rows at the restore point", async () => {
    const c = io();
    const report = path.join(dir, "ptr.md");
    const zone = "Asia/Kolkata";
    const r = await main(
      ["--scenario", "ptr", "--rows", "600", "--time-zone", zone, "--report", report],
      c.io,
    );
    assert.equal(r.status, 0, [...c.out, ...c.err].join("\n"));
    const result = r.result!;
    assert.equal(result.ok, true);
    assert.equal(result.timeZone, zone);

    // The restore point: the operator's wall clock in +05:30, converted by the program to the noted UTC instant.
    const p = result.restorePoint!;
    assert.match(p.requestedLocal, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    const expectedUtc = DateTime.fromISO(p.requestedLocal, { zone })
      .toUTC()
      .toFormat("yyyy-LL-dd'T'HH:mm:ss'+00:00'");
    assert.equal(p.declaredUtc, expectedUtc);
    assert.equal(p.declaredUtc, p.notedUtc);
    assert.notEqual(
      p.requestedLocal.slice(11, 16),
      p.declaredUtc.slice(11, 16),
      "the offset must be exercised",
    );
    assert.match(p.declaredLocal, /\(\+05:30\)$/);

    // Exactly the rows at the restore point: not the lost batch, not the damage.
    const atPoint = stage(result, "at the restore point");
    assert.equal(result.expectedRows, atPoint);
    assert.equal(result.recoveredRows, atPoint);
    assert.deepEqual(
      stageCounts(result, "live after the recovery"),
      stageCounts(result, "at the restore point"),
    );
    assert.equal(result.lostRows, stage(result, "after batch 2") - atPoint);
    assert.ok((result.lostRows ?? 0) > 0);
    assert.equal(stageCounts(result, "flawed")["app.placements"], 0);
    assert.ok(stageCounts(result, "live after the recovery")["app.placements"]! > 0);

    // The declared Jobs ran, in order, each once; the second restore time's set after them.
    const jobs = result.steps.flatMap((s) => s.jobs.map((j) => j.name.replace(/^dr-drill-[0-9-]+-/, "")));
    // The whole restore is one Job (restore --from-copy): the copy's dump, the swap and the compare.
    const ptrSteps = ["inspect", "reconcile", "restore"];
    assert.deepEqual(
      jobs.map((j) => j.replace(/-\d{8}t\d{6}z(-flow)?$/, "")),
      ["backup-flawed", ...ptrSteps, ...ptrSteps, "report"],
    );
    assert.ok(result.storedBackups.some((b) => b.includes("/flawed/")));

    // The jump isolate → validate: no step set drPhase restore; the app held at 0 while the three Jobs ran,
    // back to its normal counts only after the last one (the drill follows the declared edges).
    assert.ok(!result.steps.some((s) => s.commands.includes("pulumi config set drPhase restore")));
    const jump = result.steps.find((s) => s.title.startsWith("Jump to validate"));
    assert.ok(jump, result.steps.map((s) => s.title).join(", "));
    assert.ok(jump.commands.includes("pulumi config set drPhase validate"));
    const id = result.incidentId;
    const t = result.restorePoint!.declaredUtc.replace(/[-:]/g, "").replace("+0000", "z").toLowerCase();
    const jumpCheck = result.checks.find((c) => c.startsWith("jump isolate → validate: "));
    assert.equal(
      jumpCheck,
      `jump isolate → validate: dr-${id}-reconcile-${t}, dr-${id}-restore-${t}-flow ran with the app at 0 (held); ` +
        `the app came back after them: job dr-${id}-reconcile-${t} → job dr-${id}-restore-${t}-flow → scale web 2 → scale worker 1`,
    );
    assert.ok(jump.notes.includes("app after the step: web 2, worker 1"), jump.notes.join("\n"));
    checkRefreshAndSecondRestoreTime(result, t);
    // Every Job's full output is in storage under the incident's prefix.
    assert.ok(
      result.checks.includes(
        `every recovery Job's full output is in storage: ${[
          "backup-flawed",
          `inspect-${t}`,
          `reconcile-${t}`,
          `restore-${t}-flow`,
        ]
          .map((j) => `incident/${id}/logs/dr-${id}-${j}.log`)
          .join(", ")}`,
      ),
      result.checks.join("\n"),
    );

    const text = readFileSync(report, "utf8");
    assert.match(text, /\*\*PASS\*\*/);
    assert.ok(text.includes(`ptr.restoreTime=${p.requestedLocal}`));
    assert.ok(text.includes(`pointInTimeUTC: ${p.declaredUtc}`));
    assert.ok(text.includes(`| Rows recovered | ${atPoint} |`));
    assert.match(text, /Recovery time \| [\d.]+ s in total/);
    assert.match(text, /replicas web 0, worker 0 · maintenance on · approvers 6/);

    assert.ok(text.includes("### 6. pulumi refresh in validate (the app is back)"));
    assert.ok(text.includes("- app before the refresh: web 2, worker 1; after: web 2, worker 1"));
    for (const check of result.checks.filter((c) => /refresh|restore time in validate/.test(c)))
      assert.ok(text.includes(`- ${check}`), check);

    // Everything the drill started is stopped: the live server, both PTR copies and Azurite.
    const ports = serverPorts(result);
    assert.equal(ports.length, 4);
    for (const port of ports)
      assert.equal(await canConnect(port), false, `port ${port} still accepts connections`);
  });

  it("ptr --tables app.placements: the DELETE undone in that table only, the rows written since kept and exported", async () => {
    const c = io();
    const report = path.join(dir, "ptr-tables.md");
    const r = await main(
      ["--scenario", "ptr", "--tables", "app.placements", "--rows", "600", "--report", report],
      c.io,
    );
    assert.equal(r.status, 0, [...c.out, ...c.err].join("\n"));
    const result = r.result!;
    assert.deepEqual([result.ok, result.tables], [true, ["app.placements"]]);
    const atPoint = stageCounts(result, "at the restore point");
    const beforeLoss = stageCounts(result, "after batch 2");
    const after = stageCounts(result, "live after the recovery");
    // The deleted rows are back (as at the restore point); the app's later writes to the others are still there.
    assert.equal(stageCounts(result, "flawed")["app.placements"], 0);
    assert.equal(after["app.placements"], atPoint["app.placements"]);
    assert.deepEqual(after, beforeLoss);
    assert.ok(
      beforeLoss["app.events"]! > atPoint["app.events"]!,
      "the app wrote events after the restore point",
    );
    assert.equal(result.lostRows, 0);
    // The Jobs: inspect as soon as the copy exists, reconcile before the table-level restore, its compare.
    const id = result.incidentId;
    const t = result.restorePoint!.declaredUtc.replace(/[-:]/g, "").replace("+0000", "z").toLowerCase();
    const tag = tableSetTag(["app.placements"]);
    const ptrStep = result.steps.find((s) => s.title.startsWith("Restore postgres database (PTR)"))!;
    assert.deepEqual(
      ptrStep.jobs.map((j) => j.name),
      [`dr-${id}-inspect-${t}`],
    );
    const jump = result.steps.find((s) => s.title.startsWith("Jump to validate"))!;
    assert.ok(
      jump.commands.includes("pulumi config set --path ptr.tables[0] app.placements"),
      jump.commands.join("\n"),
    );
    assert.deepEqual(
      jump.jobs.map((j) => j.name),
      [
        `dr-${id}-backup-ptr-${t}`,
        `dr-${id}-reconcile-${t}`,
        `dr-${id}-restore-${t}-${tag}`,
        `dr-${id}-compare-${t}-${tag}`,
      ],
    );
    // The checks the report carries: the inspection named the loss, the export lists exactly batch 2's ids.
    const deleted = atPoint["app.placements"]!;
    const accounts = [atPoint["app.accounts"]! + 1, beforeLoss["app.accounts"]!];
    const events = [atPoint["app.events"]! + 1, beforeLoss["app.events"]!];
    const expected = [
      `the inspection report (incident/${id}/inspect/report.md, before any restore) finds exactly the loss: ${deleted} rows of app.placements only in the copy; ` +
        `written since: app.accounts ${accounts[1]! - accounts[0]! + 1}, app.events ${events[1]! - events[0]! + 1}`,
      `the reconciliation export (incident/${id}/reconcile/, taken before the restore) lists exactly the rows written after the restore point: ` +
        `app.accounts ids ${accounts[0]}–${accounts[1]}, app.events ids ${events[0]}–${events[1]}; app.audit_log (no primary key) listed as not reconcilable`,
      `the restored tables' previous rows (as flawed: app.placements 0 rows) are kept in dr_before_pitr_${t}_${tag}.app.placements`,
      "app.placements (restored: the deleted rows are back) equals its state at the restore point, and every other table still holds the rows " +
        "written since (equals its state just before the loss) (rows and content checksum)",
    ];
    for (const check of expected)
      assert.ok(result.checks.includes(check), `${check}\nnot in:\n${result.checks.join("\n")}`);
    const text = readFileSync(report, "utf8");
    assert.match(text, /\*\*PASS\*\*/);
    assert.ok(text.includes("npm run drill -- --scenario ptr --tables app.placements --rows 600"));
    assert.ok(text.includes("| Restored | only `app.placements` (`ptr.tables`: a table-level restore)"));
    for (const check of expected) assert.ok(text.includes(`- ${check}`), check);
    // The second restore time in validate restores the same table again: the same state.
    assert.ok(
      result.checks.some(
        (c) =>
          c.startsWith("a new restore time in validate (") &&
          c.endsWith(`), checked again: ${expected[3]!.replace(" (rows and content checksum)", "")}`),
      ),
      result.checks.join("\n"),
    );
    for (const port of serverPorts(result))
      assert.equal(await canConnect(port), false, `port ${port} still accepts connections`);
  });

  it("rebuild: nightly backup, server destroyed, new empty server, restore, the state at the backup", async () => {
    const c = io();
    const report = path.join(dir, "rebuild.md");
    const r = await main(["--scenario", "rebuild", "--rows", "600", "--report", report], c.io);
    assert.equal(r.status, 0, [...c.out, ...c.err].join("\n"));
    const result = r.result!;
    assert.equal(result.restorePoint, undefined);
    assert.equal(result.expectedRows, 600);
    assert.equal(result.recoveredRows, 600);
    assert.deepEqual(
      stageCounts(result, "live after the recovery"),
      stageCounts(result, "at the nightly backup"),
    );
    assert.equal(result.lostRows, stage(result, "before the loss") - 600);
    assert.ok((result.lostRows ?? 0) > 0);
    const jobs = result.steps.flatMap((s) => s.jobs.map((j) => j.args[0]));
    // The report at the close (the unfreeze's up), after the recovery Jobs, beside the validated app.
    assert.deepEqual(jobs, ["backup", "restore", "compare", "incident-report"]);
    const unfreeze = result.steps.find((s) => s.title === "Unfreeze pipeline")!;
    assert.deepEqual(
      unfreeze.jobs.map((j) => j.name),
      [`dr-${result.incidentId}-report`],
    );
    const text = readFileSync(report, "utf8");
    assert.match(text, /\*\*PASS\*\*/);
    assert.match(text, /createMode Create/);
    assert.ok(text.includes("| Rows recovered | 600 |"));
    for (const check of [
      "pulumi refresh in validate: the app up before (web 2, worker 1) and after (web 2, worker 1)",
      "Disable maintenance mode (validate, after a refresh): the app stayed at web 2, worker 1",
      "Unfreeze pipeline (validate, after a refresh): the app stayed at web 2, worker 1",
    ])
      assert.ok(text.includes(`- ${check}`), check);
    // The live server, the rebuilt one and Azurite: all stopped.
    assert.equal(serverPorts(result).length, 3);
    for (const port of serverPorts(result)) assert.equal(await canConnect(port), false);
  });

  it("a failed step fails the drill: exit 1, a FAIL report naming the Job, every server stopped", async () => {
    const c = io();
    const report = path.join(dir, "fail.md");
    // The Jobs find pg_dump on PATH, as in the image: without it the nightly backup Job fails.
    const savedPath = process.env.PATH;
    process.env.PATH = path.join(dir, "no-such-bin");
    let r: Awaited<ReturnType<typeof main>>;
    try {
      r = await main(["--scenario", "rebuild", "--rows", "100", "--report", report], c.io);
    } finally {
      process.env.PATH = savedPath;
    }
    assert.equal(r.status, 1);
    assert.equal(r.result?.ok, false);
    assert.match(
      c.err.join("\n"),
      /drill rebuild: FAIL — Job itt-mentor-services-staging-db-backup failed \(exit 1\)/,
    );
    const text = readFileSync(report, "utf8");
    assert.match(text, /\*\*FAIL\*\*/);
    assert.match(text, /\*\*FAILED\*\* Nightly backup/);
    assert.equal(r.result?.recoveredRows, undefined);
    assert.ok(r.result);
    // The live server and Azurite, stopped although the drill failed.
    const ports = serverPorts(r.result);
    assert.equal(ports.length, 2);
    for (const port of ports) assert.equal(await canConnect(port), false);
  });

  it("usage errors exit 2 and name the flag and the allowed values", async () => {
    for (const [argv, message] of [
      [["--scenario", "flood"], /--scenario must be one of: ptr, rebuild, scheduled; got "flood"/],
      [[], /--scenario is required: one of ptr, rebuild, scheduled/],
      [
        ["--scenario", "scheduled", "--rto-minutes", "0"],
        /--rto-minutes must be a whole number from 1 to 129600; got "0"/,
      ],
      [
        ["--scenario", "ptr", "--rpo-minutes", "5"],
        /--rpo-minutes is for --scenario scheduled; got --scenario ptr/,
      ],
      [["--scenario", "ptr", "--rows", "5"], /--rows must be an integer from 100 to 50000000; got "5"/],
      [["--scenario", "ptr", "--time-zone", "Mars/Olympus"], /--time-zone must be an IANA time zone/],
      [["--scenario", "ptr", "--bogus"], /unknown flag --bogus/],
      [
        ["--scenario", "ptr", "--tables", "app.nosuch"],
        /--tables must be distinct tables of the drill's schema, comma-separated \(app\.accounts, app\.placements, app\.events, app\.audit_log, public\.documents\); got "app\.nosuch"/,
      ],
      [["--scenario", "ptr", "--tables", ""], /--tables must be distinct tables/],
      [["--scenario", "rebuild", "--tables", "app.placements"], /--tables is for --scenario ptr/],
      [["--scenario", "rebuild", "--stack", "nosuch"], /no stack file .*Pulumi\.nosuch\.yaml/],
    ] as const) {
      const c = io();
      const r = await main(argv, c.io);
      assert.equal(r.status, 2, argv.join(" "));
      assert.match(c.err.join("\n"), message);
    }
    assert.throws(() => parseArgs(["--scenario"]), UsageError);
    assert.equal(parseArgs(["--help"]), undefined);
  });
});

describe("drill: the scheduled drill's flags", () => {
  const scheduled = ["--scenario", "scheduled"];
  it("reads the objectives and the nightly's age, each a whole number in its range", () => {
    const o = parseArgs([
      ...scheduled,
      "--rpo-minutes",
      "1",
      "--rto-minutes",
      "129600",
      "--nightly-age-minutes",
      "10",
    ]);
    assert.deepEqual(
      [o?.scenario, o?.rpoMinutes, o?.rtoMinutes, o?.nightlyAgeMinutes],
      ["scheduled", 1, 129600, 10],
    );
    const defaults = parseArgs(scheduled);
    assert.deepEqual(
      [defaults?.rpoMinutes, defaults?.rtoMinutes, defaults?.nightlyAgeMinutes],
      [undefined, undefined, undefined],
    );
  });

  const refused: Array<[readonly string[], string]> = [
    [["--rpo-minutes", "0"], '--rpo-minutes must be a whole number from 1 to 129600; got "0"'],
    [["--rto-minutes", "129601"], '--rto-minutes must be a whole number from 1 to 129600; got "129601"'],
    [["--rto-minutes", "1.5"], '--rto-minutes must be a whole number from 1 to 129600; got "1.5"'],
    [["--rpo-minutes=-1"], '--rpo-minutes must be a whole number from 1 to 129600; got "-1"'],
    [["--rpo-minutes", ""], '--rpo-minutes must be a whole number from 1 to 129600; got ""'],
    [["--nightly-age-minutes", "11"], '--nightly-age-minutes must be a whole number from 0 to 10; got "11"'],
  ];
  for (const [flags, message] of refused)
    it(`refuses ${flags.join(" ")}`, () =>
      assert.throws(
        () => parseArgs([...scheduled, ...flags]),
        (err: unknown) => err instanceof UsageError && err.message === message,
      ));

  it("refuses them with another scenario, naming the flag and the scenario", () => {
    for (const flag of ["--rpo-minutes", "--rto-minutes", "--nightly-age-minutes"])
      assert.throws(
        () => parseArgs(["--scenario", "rebuild", flag, "1"]),
        (err: unknown) =>
          err instanceof UsageError &&
          err.message === `${flag} is for --scenario scheduled; got --scenario rebuild`,
      );
  });
});

describe("drill: the data check and the local Job mapping", () => {
  const table = (rows: number, checksum: string): RelationSummary => ({
    kind: "table",
    columns: "id bigint",
    rows,
    checksum,
  });
  const seq = (v: string): RelationSummary => ({ kind: "sequence", columns: "", rows: 1, checksum: v });

  it("tables must match exactly; sequences may only move forward", () => {
    const expected: Snapshot = new Map([
      ["app.a", table(10, "x")],
      ["public.s", seq("1010")],
    ]);
    assert.deepEqual(
      checkAgainst(
        expected,
        new Map([
          ["app.a", table(10, "x")],
          ["public.s", seq("1042")],
        ]),
      ),
      {
        tablesEqual: true,
        problems: [],
        sequences: ["public.s: 1010 → 1042"],
      },
    );
    assert.deepEqual(
      checkAgainst(
        expected,
        new Map([
          ["app.a", table(11, "y")],
          ["public.s", seq("1000")],
        ]),
      ).problems,
      ["app.a: 10 rows expected, 11 found", "public.s: sequence went backwards (1010 → 1000)"],
    );
    assert.deepEqual(
      checkAgainst(
        expected,
        new Map([
          ["app.a", table(10, "z")],
          ["public.s", seq("1010")],
        ]),
      ).problems,
      ["app.a: same row count, content differs"],
    );
    assert.deepEqual(checkAgainst(expected, new Map([["public.s", seq("1010")]])).problems, [
      "app.a: missing",
    ]);
  });

  it("maps a declared Job's Azure connection and Secrets to the local servers, keeping its args", () => {
    const live = {
      host: "127.0.0.1",
      port: 6543,
      user: "ittms_admin",
      password: "pw",
    } as unknown as PgCluster;
    const secret = (name: string, key: string) => ({ name, secretRef: { name: "s", key } });
    const job = {
      name: "dr-x-backup-flawed",
      args: ["backup", "--container", "c", "--work-dir", "/scratch", "--jobs", "2"],
      env: [
        { name: "PGHOST", value: "srv.postgres.database.azure.com" },
        { name: "PGPORT", value: "5432" },
        { name: "PGUSER", value: "ittms_admin" },
        { name: "PGDATABASE", value: "app" },
        { name: "PGSSLMODE", value: "require" },
        // The pod's managed identity: the drill has no Entra, so both selectors are mapped to local credentials.
        { name: "DR_STORAGE_AUTH", value: "entra" },
        { name: "AZURE_STORAGE_ACCOUNT", value: "acct" },
        { name: "DR_PG_AUTH", value: "entra" },
      ],
    };
    const targets = {
      servers: new Map([["srv.postgres.database.azure.com", live]]),
      storageConnectionString: "azurite",
      // The nightly identity's read-only login and the recovery identity's, as the drill makes them.
      logins: new Map([[live, new Set(["ittms_admin", "svc-dr-data"])]]),
      workDir: "/tmp/w",
    };
    const local = localJob(job, targets);
    assert.deepEqual(local.args, ["backup", "--container", "c", "--work-dir", "/tmp/w", "--jobs", "2"]);
    assert.deepEqual(local.env, {
      PGHOST: "127.0.0.1",
      PGPORT: "6543",
      PGUSER: "ittms_admin",
      PGDATABASE: "app",
      PGSSLMODE: "disable",
      DR_STORAGE_AUTH: "connection-string",
      AZURE_STORAGE_CONNECTION_STRING: "azurite",
      DR_PG_AUTH: "password",
      PGPASSWORD: "pw",
    });
    assert.deepEqual(local.substitutions, [
      "PGHOST srv.postgres.database.azure.com → 127.0.0.1",
      "PGPORT 5432 → 6543",
      "PGSSLMODE require → disable (no TLS locally)",
      "DR_STORAGE_AUTH entra → connection-string to Azurite on 127.0.0.1",
      "DR_PG_AUTH entra → password (the local server's)",
      "--work-dir /scratch → /tmp/w",
    ]);
    // The break-glass password from the credentials Secret maps to the local password as before.
    const breakGlass = localJob(
      {
        ...job,
        env: [
          ...job.env.filter((e) => e.name !== "DR_PG_AUTH"),
          { name: "DR_PG_AUTH", value: "password" },
          secret("PGPASSWORD", "PGPASSWORD"),
        ],
      },
      targets,
    );
    assert.equal(breakGlass.env.PGPASSWORD, "pw");
    assert.throws(
      () => localJob({ ...job, env: [{ name: "PGHOST", value: "elsewhere.example" }] }, targets),
      /PGHOST=elsewhere.example names no server the drill runs locally/,
    );
    assert.throws(
      () =>
        localJob(
          { ...job, env: job.env.map((e) => (e.name === "PGUSER" ? { ...e, value: "other" } : e)) },
          targets,
        ),
      /PGUSER=other is no login of the local server at 127\.0\.0\.1:6543 \(its logins: ittms_admin, svc-dr-data\)/,
    );
    const asNightly = localJob(
      { ...job, env: job.env.map((e) => (e.name === "PGUSER" ? { ...e, value: "svc-dr-data" } : e)) },
      targets,
    );
    assert.equal(asNightly.env.PGUSER, "svc-dr-data");
  });
});
