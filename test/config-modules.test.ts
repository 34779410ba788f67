/**
 * The config modules' own contracts: the field-by-field view the rules read (never a raw value), the retry
 * warnings worded from the plan's Jobs (the one place that decides which Jobs exist), and config/ as the one
 * reader of the stack's configuration.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig, retryWarnings, ruleContext } from "../config";
import { buildPlan } from "../plan";
import { NOW, PROJECT_DIR, stackRaw } from "./support/stacks";

describe("config: the values the rules read, each parsed by its own schema", () => {
  const values = (edit: (raw: Record<string, Record<string, unknown>>) => void) => {
    const raw = structuredClone(stackRaw("staging")) as Record<string, Record<string, unknown>>;
    edit(raw);
    return ruleContext(raw, NOW).values;
  };
  it("a missing structured key reads as its fields' defaults", () => {
    const v = values(() => undefined);
    assert.deepStrictEqual(
      [v.rebuild.from, v.rebuild.backupBlob, v.ptr.restoreTime],
      ["backup", "latest", undefined],
    );
  });
  it("an invalid field is undefined, its valid siblings are read", () => {
    const v = values((raw) => void (raw.postgres!.version = "12"));
    assert.deepStrictEqual([v.postgres.version, v.postgres.storageSizeGb], [undefined, 32]);
  });
  it("a map keeps the keys the stack sets, also one the schema refuses", () => {
    const v = values((raw) => void (raw.postgres!.databases = { Bad: {}, app: { charset: "UTF8" } }));
    assert.deepStrictEqual(v.postgres.databases, {
      Bad: { charset: "UTF8", collation: "en_US.utf8" },
      app: { charset: "UTF8", collation: "en_US.utf8" },
    });
  });
  it("a map that is not a map is undefined", () => {
    assert.equal(
      values((raw) => void (raw.kubernetes!.deployments = "web")).kubernetes.deployments,
      undefined,
    );
  });
  it("a key set to a value its schema refuses is set, and has no value", () => {
    const raw = { ...stackRaw("staging"), incidentId: "" };
    const ctx = ruleContext(raw, NOW);
    assert.deepStrictEqual(
      [ctx.set("incidentId"), ctx.values.incidentId, ctx.set("rebuild.from")],
      [true, undefined, false],
    );
  });
});

describe("config: retry.<step> warnings are worded from the plan's Jobs", () => {
  const EVERY_RETRY = ["backup-flawed", "inspect", "backup-ptr", "reconcile", "restore", "compare"].map(
    (step) => `retry.${step}=1`,
  );
  const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
  const warned = (sets: readonly string[]): string[] => {
    const cfg = parseConfig(stackRaw("staging", [...sets, ...EVERY_RETRY]), NOW);
    return retryWarnings(cfg, buildPlan(cfg, NOW)).map((w) => w.slice(0, w.indexOf(":")));
  };
  const rows: Array<[string, readonly string[], readonly string[]]> = [
    [
      "ptr isolate before the restore point",
      ["drMode=ptr", "incidentId=inc-1"],
      ["retry.inspect", "retry.backup-ptr", "retry.reconcile", "retry.restore", "retry.compare"],
    ],
    [
      "ptr isolate with the copy",
      PTR,
      ["retry.backup-ptr", "retry.reconcile", "retry.restore", "retry.compare"],
    ],
    // The whole database in one Job (restore --from-copy): no backup-ptr or compare Job to retry.
    ["ptr restore: the whole database", [...PTR, "drPhase=restore"], ["retry.backup-ptr", "retry.compare"]],
    [
      "ptr restore of tables: every step has its Job",
      [...PTR, "drPhase=restore", "ptr.tables[0]=app.events"],
      [],
    ],
    [
      "rebuild isolate: no Job yet",
      ["drMode=rebuild", "incidentId=inc-1"],
      EVERY_RETRY.map((s) => s.slice(0, -2)),
    ],
    [
      "rebuild restore from a backup",
      ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"],
      ["retry.backup-flawed", "retry.inspect", "retry.backup-ptr", "retry.reconcile"],
    ],
    [
      "rebuild revive: the server brings its data, no Job",
      [
        "drMode=rebuild",
        "incidentId=inc-1",
        "drPhase=restore",
        "rebuild.from=revive",
        "rebuild.deletedAt=2026-11-24T18:30:00",
      ],
      EVERY_RETRY.map((s) => s.slice(0, -2)),
    ],
  ];
  for (const [what, sets, expected] of rows) it(what, () => assert.deepStrictEqual(warned(sets), expected));

  it("the plan's Job list alone decides, not the mode and phase", () => {
    const cfg = parseConfig(
      stackRaw("staging", ["drMode=ptr", "incidentId=inc-1", "retry.restore=2", "retry.backup-flawed=1"]),
      NOW,
    );
    assert.deepStrictEqual(retryWarnings(cfg, { dataPath: { jobs: [{ step: "restore" }] } }), [
      "retry.backup-flawed: is ignored: no backup-flawed Job is declared in drMode ptr, drPhase isolate; remove it: pulumi config rm --path retry.backup-flawed",
    ]);
  });
  it("outside an incident none: the whole retry key is warned about with the config's warnings", () => {
    const cfg = parseConfig(stackRaw("staging", ["retry.restore=1"]), NOW);
    assert.deepStrictEqual(retryWarnings(cfg, buildPlan(cfg, NOW)), []);
    assert.deepStrictEqual(cfg.warnings, [
      "retry: is ignored while drMode is none (no incident is open); remove it: pulumi config rm retry",
    ]);
  });
});

describe("config/ is the one reader of the stack's configuration", () => {
  /** Code (not comments) that reads stack config: `pulumi.runtime.allConfig()`, `new pulumi.Config(…)`. */
  const READER = /\ballConfig\s*\(|\bnew\s+(?:pulumi\.)?Config\s*\(|\brequireObject\b|\bgetObject\b/;
  const SKIP = new Set(["node_modules", "test", ".git", "dist"]);
  function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return SKIP.has(e.name) ? [] : sources(p);
      return e.name.endsWith(".ts") ? [p] : [];
    });
  }
  function readers(): string[] {
    return sources(PROJECT_DIR)
      .filter((file) =>
        fs
          .readFileSync(file, "utf8")
          .split("\n")
          .some((line) => !/^\s*(\*|\/\/|\/\*)/.test(line) && READER.test(line)),
      )
      .map((file) => path.relative(PROJECT_DIR, file));
  }
  it("only config/read.ts reads it, outside the tests", () => {
    assert.deepStrictEqual(readers(), ["config/read.ts"]);
  });
});
