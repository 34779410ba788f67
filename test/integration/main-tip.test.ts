/**
 * Only the newest config is ever applied: two DR steps and a merge to main, interleaved in every order the
 * stack's concurrency slot allows, on a local bare repository, with the workflows' own steps and the real
 * .github/scripts/main-tip.sh (support/workflow-runs.ts). The slot runs one run at a time in some order; the
 * merge lands at any point before its own deploy run starts: before a DR run, during its preview (its push is
 * then refused and the change applied again on the new tip), or between its push and its up.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { STEPS, World, type Recorded } from "./support/workflow-runs";

type RunName = "dr1" | "dr2" | "deploy";
type MergeAt = "before" | "mid-preview" | "after-push";
interface Interleaving {
  readonly order: readonly RunName[];
  /** The run at whose point the merge lands, and where in it. */
  readonly merge: { readonly run: RunName; readonly at: MergeAt };
}

/** The DR steps' dispatch inputs (the workflow's `${{ }}` table). */
const DISPATCH: Readonly<Record<"dr1" | "dr2", Record<string, string>>> = {
  dr1: { "inputs.step": "ptr-declare", "inputs.incident-id": "inc-1", "inputs.change": "" },
  dr2: {
    "inputs.step": "custom",
    "inputs.incident-id": "",
    "inputs.change": "pulumi config set --path retry.restore 1 && pulumi up",
  },
};
function context(run: "dr1" | "dr2", token: string): Record<string, string> {
  return {
    "github.token": token,
    "steps.commit-token.outputs.token": token,
    "vars.PULUMI_ORG": "my-org",
    "inputs.stack": "staging",
    "inputs.restore-time": "",
    "inputs.preview-only": "false",
    "github.actor": "on-call",
    "github.server_url": "https://github.example",
    "github.repository": "org/service-dr",
    "github.run_id": run,
    ...DISPATCH[run],
  };
}
/** Every key the final stack file must hold: the merge's change and each DR step's, once. */
const FINAL: Readonly<Record<string, string>> = {
  timeZone: "Europe/London",
  replicas: "3",
  a: "1",
  b: "2",
  drMode: "ptr",
  incidentId: "inc-1",
  drPhase: "isolate",
  "retry.restore": "1",
};
const OWN_CHANGE: Readonly<Record<"dr1" | "dr2", Record<string, string>>> = {
  dr1: { drMode: "ptr", incidentId: "inc-1", drPhase: "isolate" },
  dr2: { "retry.restore": "1" },
};

/** The fake's stack file as a map; a key written twice is a test failure. */
function keysOf(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of file.split("\n").filter((l) => l.startsWith("  service-dr:"))) {
    const m = /^ {2}service-dr:([^:]+): (.*)$/.exec(line)!;
    assert.ok(!(m[1]! in out), `${m[1]} twice in:\n${file}`);
    out[m[1]!] = JSON.parse(m[2]!) as string;
  }
  return out;
}

export function interleavings(): Interleaving[] {
  const runs: RunName[] = ["dr1", "dr2", "deploy"];
  const orders = runs.flatMap((a) =>
    runs.filter((b) => b !== a).map((b) => [a, b, runs.find((c) => c !== a && c !== b)!]),
  );
  return orders.flatMap((order) => {
    const before = order.slice(0, order.indexOf("deploy"));
    const points = before.flatMap((run) =>
      (["before", "mid-preview", "after-push"] as const).map((at) => ({ run, at })),
    );
    return [...points, { run: "deploy" as const, at: "before" as const }].map((merge) => ({ order, merge }));
  });
}

const describeIt = (i: Interleaving): string => `${i.order.join(" → ")}, merge ${i.merge.at} ${i.merge.run}`;

/** One interleaving, start to end; returns the world to assert on. */
async function play(i: Interleaving, dir: string): Promise<{ world: World; records: Recorded[] }> {
  const world = new World(dir);
  await world.init();
  // The pull request: replicas 2 → 3 and a program change, branched from the initial main.
  const pr = await world.clone("pr");
  writeFileSync(
    path.join(pr, "Pulumi.staging.yaml"),
    (await world.mainFile()).replace('replicas: "2"', 'replicas: "3"'),
  );
  writeFileSync(path.join(pr, "program.txt"), "the merged program\n");
  await world.commitAll(pr, "the pull request");
  const prHead = await world.git(pr, "rev-parse", "HEAD");
  const land = world.landScript(pr, prHead);
  const landNow = (): Promise<void> => world.bash(land);

  // Both DR steps are dispatched now, before anything ran: each clone is at the initial commit.
  const clones: Partial<Record<RunName, string>> = {
    dr1: await world.clone("dr1"),
    dr2: await world.clone("dr2"),
  };
  for (const run of i.order) {
    const mergeHere = i.merge.run === run;
    if (mergeHere && i.merge.at === "before") await landNow();
    if (run === "deploy") {
      // The merge's deploy run is triggered by the merge: its clone is at the merge commit.
      const cwd = await world.clone("deploy");
      const r = await world.runStep(cwd, STEPS.upTip(), { "github.token": "t" });
      assert.equal(r.code, 0, r.stderr);
      await world.up(cwd, "deploy");
      continue;
    }
    const cwd = clones[run]!;
    const ctx = context(run, "t");
    const tip = await world.runStep(cwd, STEPS.drTip(), ctx);
    assert.equal(tip.code, 0, tip.stderr);
    const hook = path.join(dir, `hook-${run}.sh`);
    if (mergeHere && i.merge.at === "mid-preview") writeFileSync(hook, `bash '${land}'\n`);
    const config = await world.runStep(cwd, STEPS.drConfig(), ctx, {
      FAKE_RUN: run,
      FAKE_PULUMI_ON_PREVIEW: hook,
    });
    assert.equal(config.code, 0, config.stderr);
    if (mergeHere && i.merge.at === "after-push") await landNow();
    await world.up(cwd, run);
  }
  return { world, records: world.records() };
}

/** What every interleaving must end with. */
async function checkOutcome(i: Interleaving, world: World, records: Recorded[]): Promise<void> {
  const final = await world.mainFile();
  assert.deepStrictEqual(keysOf(final), FINAL, "main's stack file holds every change");
  const subjects = (await world.git(world.origin, "log", "--format=%s", "main")).split("\n");
  assert.equal(
    subjects.filter((s) => s.startsWith("DR step ptr-declare on staging")).length,
    1,
    subjects.join("\n"),
  );
  assert.equal(
    subjects.filter((s) => s.startsWith("DR step custom on staging")).length,
    1,
    subjects.join("\n"),
  );
  assert.ok(
    subjects.every((s) => !s.startsWith("DR step") || s.endsWith("[skip ci]")),
    subjects.join("\n"),
  );

  const ups = records.filter((r) => r.cmd === "up");
  assert.deepStrictEqual(
    ups.map((u) => u.run),
    i.order,
    "one up per run, in the slot's order",
  );
  for (const up of ups) {
    // The up ran on a commit that is on main (pushed before the up), with exactly that commit's stack file.
    await world.git(world.origin, "merge-base", "--is-ancestor", up.head, "main");
    assert.equal(up.file, `${await world.git(world.origin, "show", `${up.head}:Pulumi.staging.yaml`)}\n`);
  }
  for (let k = 1; k < ups.length; k++) {
    // No run applies an older stack file: each up's commit contains the previous up's.
    await world.git(world.origin, "merge-base", "--is-ancestor", ups[k - 1]!.head, ups[k]!.head).catch(() => {
      assert.fail(
        `up ${k} (${ups[k]!.run}) ran on a commit without what up ${k - 1} (${ups[k - 1]!.run}) applied`,
      );
    });
  }
  assert.equal(ups[ups.length - 1]!.file, final, "the last up applied everything");
  for (const run of ["dr1", "dr2"] as const) {
    const own = ups.find((u) => u.run === run)!;
    const applied = keysOf(own.file);
    for (const [k, v] of Object.entries(OWN_CHANGE[run])) assert.equal(applied[k], v, `${run}'s up has ${k}`);
    const previews = records.filter((r) => r.cmd === "preview" && r.run === run);
    const retried = i.merge.run === run && i.merge.at === "mid-preview";
    assert.equal(previews.length, retried ? 2 : 1, `${run}: previews`);
    assert.equal(previews[previews.length - 1]!.file, own.file, `${run}: the up applies what was previewed`);
  }
}

describe("main-tip.sh: only the newest config is ever applied (local bare repository)", function () {
  this.timeout(600_000);
  const all = interleavings();
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("the interleavings: 3 runs in every order, the merge at every point before its deploy run", () => {
    assert.equal(all.length, 24);
    assert.equal(new Set(all.map(describeIt)).size, 24);
  });

  // Three at a time: each is its own repository; git and tsx processes dominate.
  it("every interleaving ends with every change applied once and no up on an older stack file", async () => {
    const failures: string[] = [];
    const queue = [...all];
    const worker = async (): Promise<void> => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const dir = mkdtempSync(path.join(tmpdir(), "main-tip-"));
        dirs.push(dir);
        try {
          const { world, records } = await play(i, dir);
          await checkOutcome(i, world, records);
        } catch (e) {
          failures.push(`${describeIt(i)}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.deepStrictEqual(failures, []);
  });
});
