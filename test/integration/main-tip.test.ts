/**
 * Only the newest config is ever applied: two DR steps and a merge to main, interleaved in every order the
 * stack's concurrency slot allows, on a local bare repository, with the workflows' own steps and the real
 * .github/scripts/main-tip.sh (support/workflow-runs.ts). The slot runs one run at a time in some order; the
 * merge lands at any point before its own deploy run starts: before a DR run, during its preview (its push is
 * then refused and the change applied again on the new tip), or between its push and its up.
 */
import { strict as assert } from "node:assert";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { INITIAL_STACK, STEPS, World, type Recorded } from "./support/workflow-runs";

type RunName = "dr1" | "dr2" | "deploy";
type MergeAt = "before" | "mid-preview" | "after-push";
interface Interleaving {
  readonly order: readonly RunName[];
  /** The run at whose point the merge lands, and where in it. */
  readonly merge: { readonly run: RunName; readonly at: MergeAt };
}

/** The DR steps' dispatch inputs (the workflow's `${{ }}` table). */
const DISPATCH: Readonly<Record<"dr1" | "dr2", Record<string, string>>> = {
  dr1: {
    "inputs.step": "ptr-declare",
    "inputs.incident-id": "inc-1",
    "inputs.declared-at": "2026-11-25T09:40:00",
    "inputs.change": "",
  },
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
    "steps.setup.outputs.github-token": "app-token-for-the-github-provider",
    "vars.PULUMI_ORG": "my-org",
    "inputs.stack": "staging",
    // What the credential-less resolve job outputs for that input (.github/scripts/resolve-stack.ts).
    "needs.resolve.outputs.stack": "staging",
    "needs.resolve.outputs.environment": "staging",
    "inputs.restore-time": "",
    "inputs.declared-at": "",
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
  incidentDeclaredAt: "2026-11-25T09:40:00",
  drPhase: "isolate",
  "retry.restore": "1",
};
const OWN_CHANGE: Readonly<Record<"dr1" | "dr2", Record<string, string>>> = {
  dr1: { drMode: "ptr", incidentId: "inc-1", incidentDeclaredAt: "2026-11-25T09:40:00", drPhase: "isolate" },
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

describe("main-tip.sh: the DR step commits only a good, allowed change, and says why not", function () {
  this.timeout(300_000);
  let world: World;
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "main-tip-"));
    world = new World(dir);
    await world.init();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const initialOnly = async (): Promise<void> =>
    assert.deepStrictEqual((await world.git(world.origin, "log", "--format=%s", "main")).split("\n"), [
      "initial",
    ]);

  /** The DR step's two run steps in a fresh clone; returns the config step's outcome. */
  async function drStep(
    ctx: Record<string, string>,
    extraEnv: Record<string, string> = {},
  ): Promise<{ code: number; stderr: string; cwd: string }> {
    const cwd = await world.clone("dr");
    const tip = await world.runStep(cwd, STEPS.drTip(), ctx);
    assert.equal(tip.code, 0, tip.stderr);
    const r = await world.runStep(cwd, STEPS.drConfig(), ctx, { FAKE_RUN: "dr", ...extraEnv });
    return { ...r, cwd };
  }

  it("a failed preview: nothing committed, nothing pushed, the step fails (so the up is skipped)", async () => {
    const r = await drStep(context("dr1", "t"), { FAKE_PULUMI_FAIL_PREVIEW: "1" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /main-tip: the change or its preview failed on [0-9a-f]{40}: nothing committed, nothing applied/,
    );
    await initialOnly();
    assert.deepStrictEqual(
      world.records().map((x) => x.cmd),
      ["preview"],
    );
  });

  it("a key outside the runbook's, or a flag-like incident id: refused before any pulumi command, nothing committed", async () => {
    const bad = await drStep({
      ...context("dr2", "t"),
      "inputs.change": "pulumi config set drPhase restore && pulumi config set kubernetes:kubeconfig x",
    });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /dr-step: nothing changed: key "kubernetes:kubeconfig": a DR step changes only .*; change it in a pull request/,
    );
    const flag = await drStep({ ...context("dr1", "t"), "inputs.incident-id": "--dry-run" });
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /value "--dry-run" of incidentId starts with "-": refused/);
    assert.deepStrictEqual(world.records(), []);
    assert.equal(await world.mainFile(), INITIAL_STACK);
    await initialOnly();
  });

  it("preview-only: the change applied and previewed in the runner, nothing committed", async () => {
    const r = await drStep({ ...context("dr1", "t"), "inputs.preview-only": "true" });
    assert.equal(r.code, 0, r.stderr);
    const [preview] = world.records();
    assert.equal(preview?.cmd, "preview");
    assert.match(preview.file, /service-dr:incidentId: "inc-1"/);
    await initialOnly();
  });

  it("a push refused while main did not move (protection, permissions): the step fails, nothing retried", async () => {
    const hook = path.join(world.origin, "hooks", "pre-receive");
    writeFileSync(hook, "#!/bin/sh\necho 'refused by the test' >&2\nexit 1\n");
    chmodSync(hook, 0o755);
    const r = await drStep(context("dr1", "t"));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /main-tip: the push to main was refused although main did not move: nothing committed/,
    );
    assert.equal(world.records().filter((x) => x.cmd === "preview").length, 1);
    await initialOnly();
  });

  it("main moving at every preview: three attempts, each applied and previewed on the new tip, then it gives up", async () => {
    const pr = await world.clone("pr");
    const script = path.join(dir, "bump.sh");
    // Another commit lands on main during each preview.
    writeFileSync(
      script,
      `set -e\ncd '${pr}'\ngit pull --quiet --rebase origin main\ndate +%s%N >> other.txt\ngit add other.txt\ngit -c user.name=t -c user.email=t@localhost commit --quiet -m other\ngit push --quiet origin HEAD:main\n`,
    );
    const r = await drStep(context("dr1", "t"), {
      FAKE_PULUMI_ON_PREVIEW: script,
      FAKE_PULUMI_ON_PREVIEW_ALWAYS: "1",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /main-tip: main moved 3 times while the change was previewed: nothing committed; run the step again/,
    );
    const previews = world.records().filter((x) => x.cmd === "preview");
    assert.equal(new Set(previews.map((p) => p.head)).size, 3, "each attempt on a new tip");
    const subjects = (await world.git(world.origin, "log", "--format=%s", "main")).split("\n");
    assert.deepStrictEqual(subjects, ["other", "other", "other", "initial"]);
  });

  it("main changed the dependencies while the change was previewed: refused (node_modules no longer match)", async () => {
    const pr = await world.clone("pr");
    writeFileSync(path.join(pr, "package-lock.json"), '{"changed":true}\n');
    await world.commitAll(pr, "dependencies");
    const land = world.landScript(pr, await world.git(pr, "rev-parse", "HEAD"));
    const hook = path.join(dir, "hook.sh");
    writeFileSync(hook, `bash '${land}'\n`);
    const r = await drStep(context("dr1", "t"), { FAKE_PULUMI_ON_PREVIEW: hook });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /main-tip: main changed the dependencies since this run installed them \([0-9a-f]{40} → [0-9a-f]{40}\): nothing committed; run the step again/,
    );
    const subjects = (await world.git(world.origin, "log", "--format=%s", "main")).split("\n");
    assert.ok(
      subjects.every((s) => !s.startsWith("DR step")),
      subjects.join("\n"),
    );
  });

  it("a pull request's preview: its head merged into main's newest commit; a head that conflicts is refused", async () => {
    // The pull request branches from the initial commit; a DR step then commits to main.
    const pr = await world.clone("pr");
    writeFileSync(path.join(pr, "program.txt"), "the pull request's program\n");
    await world.commitAll(pr, "the pull request");
    const head = await world.git(pr, "rev-parse", "HEAD");
    const dr = await drStep(context("dr1", "t"));
    assert.equal(dr.code, 0, dr.stderr);
    const merge = STEPS.previewMerge();
    const ctx = {
      "github.token": "t",
      "github.event.pull_request.base.ref": "main",
      "github.event.pull_request.head.sha": head,
    };
    const ok = await world.runStep(pr, merge, ctx);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(readFileSync(path.join(pr, "program.txt"), "utf8"), "the pull request's program\n");
    assert.match(
      readFileSync(path.join(pr, "Pulumi.staging.yaml"), "utf8"),
      /service-dr:incidentId: "inc-1"/,
    );
    // A second pull request that rewrites the line the DR step changed does not merge cleanly.
    const other = await world.clone("pr2");
    await world.git(other, "checkout", "--quiet", "--detach", "HEAD~1");
    writeFileSync(
      path.join(other, "Pulumi.staging.yaml"),
      INITIAL_STACK.replace('drMode: "none"', 'drMode: "rebuild"'),
    );
    await world.commitAll(other, "conflicting");
    const conflicting = await world.git(other, "rev-parse", "HEAD");
    const refused = await world.runStep(other, merge, {
      ...ctx,
      "github.event.pull_request.head.sha": conflicting,
    });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `main-tip: the pull request's head ${conflicting} does not merge cleanly into the tip of main: merge main into the pull request's branch`,
      ),
    );
    assert.equal(await world.git(other, "status", "--porcelain"), "", "the merge was aborted");
  });
});
