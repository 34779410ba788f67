/**
 * Order-proof phases and immutable Jobs, under the mock runtime: the exact dependency edges the engine gets
 * (from the registration requests, dev/offline/mocks.ts) between the app's replica patches, the hold, and the
 * recovery Jobs, for every mode × phase — a state's edges do not depend on where the operator comes from, so
 * the jumps `none → restore` and `isolate → validate` are these same states — and what a dataTool change or
 * a retry does to the declared Jobs.
 */
import { strict as assert } from "node:assert";
import type { PlanResource, PlanResult } from "../dev/offline/mocks";
import { diffValues, effectiveInputs, isUnder } from "../dev/offline/diff";
import { declareStack, geoRebuildSets } from "./support/stacks";
import { tableSetTag } from "@service-dr/dr-data";
import { jobSetTag } from "../components/app/replica-hold";

const SVC = "itt-mentor-services-staging";
const T = "20261124t130500z";
const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const REBUILD = ["drMode=rebuild", "incidentId=inc-1"];

const declare = (sets: readonly string[]): Promise<PlanResult> => declareStack("staging", sets);

/**
 * What the Jobs and the troubleshooting pod wait for: the recovery identity (never the nightly one: they do
 * not run as it), the live server and its children.
 */
const IDENTITY_AND_LIVE = [
  `${SVC}-dr-network-policy`,
  `${SVC}-dr-recovery-blob-data`,
  `${SVC}-dr-recovery-federated`,
  `${SVC}-dr-recovery-identity`,
  `${SVC}-dr-recovery-service-account`,
  `${SVC}-live-db-itt_mentor_services_staging`,
  `${SVC}-live-entra-admin`,
  `${SVC}-live-entra-admin-recovery`,
  `${SVC}-live-lock`,
  `${SVC}-live-param-azure.extensions`,
  `${SVC}-live-param-log_min_duration_statement`,
  `${SVC}-live-server`,
];
/** What every Job waits for: the backup storage too. */
const INFRA = [
  `${SVC}-backups-account`,
  `${SVC}-backups-blob-service`,
  `${SVC}-backups-container`,
  `${SVC}-backups-lifecycle`,
  `${SVC}-backups-lock`,
  ...IDENTITY_AND_LIVE,
];
const PTR_SERVER = [`${SVC}-ptr-entra-admin-recovery`, `${SVC}-ptr-server`];
const sorted = (xs: readonly string[]): string[] => [...xs].sort();
/** The app's own replica patches at 0 (the app stopped by this state). */
const STOPPED = [`${SVC}-replicas-web`, `${SVC}-replicas-worker`];
const job = (name: string): string => `${SVC}-recovery-dr-inc-1-${name}`;
/** The hold patches at 0 for a chain of Jobs (the app stopped for the Jobs of a state that runs it). */
const heldFor = (chain: readonly string[]): string[] => {
  const tag = jobSetTag(chain.map((r) => r.slice(`${SVC}-recovery-`.length)));
  return [`${SVC}-replicas-hold-${tag}-web`, `${SVC}-replicas-hold-${tag}-worker`];
};
const FLAWED = job("backup-flawed");
const INSPECT = job(`inspect-${T}`);
/** The whole database: the export, then the restore in one flow (restore --from-copy: dump, swap, compare). */
const PTR_CHAIN = [FLAWED, INSPECT, job(`reconcile-${T}`), job(`restore-${T}-flow`)];
/** `ptr.tables` app.events, app.accounts: the table-level restore and its compare carry the set's tag. */
const TABLES = ["ptr.tables[0]=app.events", "ptr.tables[1]=app.accounts"];
const TAG = tableSetTag(["app.events", "app.accounts"]);
const TABLE_CHAIN = [
  FLAWED,
  INSPECT,
  job(`backup-ptr-${T}`),
  job(`reconcile-${T}`),
  job(`restore-${T}-${TAG}`),
  job(`compare-${T}-${TAG}`),
];
/** The troubleshooting pod: while the PTR copy exists, after the identity and both servers. */
const POD = `${SVC}-troubleshoot-pod`;
const pod = { [POD]: sorted([...IDENTITY_AND_LIVE, ...PTR_SERVER]) };
const REBUILD_CHAIN = [job("restore"), job("compare")];
/** The report Job of the closing state (drPhase validate, maintenance and freeze off). */
const REPORT = job("report");
const CLOSING = ["drPhase=validate", "maintenance=false", "freeze=false"];

/** Dependencies of every Job, replica patch and hold patch, by name (absent: none). */
function edges(r: PlanResult): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const x of r.resources) {
    if (
      x.type === "kubernetes:batch/v1:Job" ||
      x.type === "kubernetes:apps/v1:DeploymentPatch" ||
      x.type === "kubernetes:core/v1:Pod"
    )
      out[x.name] = x.options.dependencies ?? [];
  }
  return out;
}

/** The edges of a Job chain: each waits for the infrastructure, the app stopped, and the one before. */
function chainEdges(chain: readonly string[], extra: readonly string[], stop: readonly string[]) {
  const out: Record<string, readonly string[]> = {};
  chain.forEach((name, i) => {
    out[name] = sorted([...INFRA, ...extra, ...stop, ...(i === 0 ? [] : [chain[i - 1]!])]);
  });
  return out;
}
const appFree = { [STOPPED[0]!]: [], [STOPPED[1]!]: [] };
const appAfter = (chain: readonly string[]) => ({
  [STOPPED[0]!]: sorted(chain),
  [STOPPED[1]!]: sorted(chain),
});
const holdFree = (chain: readonly string[]) => ({ [heldFor(chain)[0]!]: [], [heldFor(chain)[1]!]: [] });

describe("order-proof phases: exact dependency edges for every mode × phase (mock runtime)", function () {
  this.timeout(120_000);
  const rows: Array<[string, readonly string[], Record<string, readonly string[]>]> = [
    ["none: no Jobs, the app's patches wait for nothing", [], { ...appFree }],
    [
      "ptr isolate without a restore time: the flawed backup waits for the app stopped",
      ["drMode=ptr", "incidentId=inc-1"],
      { ...appFree, ...chainEdges([FLAWED], [], STOPPED) },
    ],
    [
      "ptr isolate with the PTR copy: the inspection after the flawed backup; the troubleshooting pod",
      PTR,
      { ...appFree, ...chainEdges([FLAWED, INSPECT], PTR_SERVER, STOPPED), ...pod },
    ],
    [
      "ptr restore with ptr.tables: reconcile before the table-level restore, its compare after it",
      [...PTR, ...TABLES, "drPhase=restore"],
      { ...appFree, ...chainEdges(TABLE_CHAIN, PTR_SERVER, STOPPED), ...pod },
    ],
    [
      "ptr validate with ptr.tables: hold at 0 → every Job → the app back",
      [...PTR, ...TABLES, "drPhase=validate"],
      {
        ...holdFree(TABLE_CHAIN),
        ...chainEdges(TABLE_CHAIN, PTR_SERVER, heldFor(TABLE_CHAIN)),
        ...appAfter(TABLE_CHAIN),
        ...pod,
      },
    ],
    [
      "ptr restore (also the jump none → restore): every Job after the app's patches at 0",
      [...PTR, "drPhase=restore"],
      { ...appFree, ...chainEdges(PTR_CHAIN, PTR_SERVER, STOPPED), ...pod },
    ],
    [
      "ptr validate (also the jump isolate → validate): hold at 0 → every Job → the app back",
      [...PTR, "drPhase=validate"],
      {
        ...holdFree(PTR_CHAIN),
        ...chainEdges(PTR_CHAIN, PTR_SERVER, heldFor(PTR_CHAIN)),
        ...appAfter(PTR_CHAIN),
        ...pod,
      },
    ],
    [
      "ptr validate with stopService=true: the app's own patches at 0 come first again",
      [...PTR, "drPhase=validate", "stopService=true"],
      { ...appFree, ...chainEdges(PTR_CHAIN, PTR_SERVER, STOPPED), ...pod },
    ],
    [
      "ptr restore with stopService=false: the app runs, so it is held for the Jobs",
      [...PTR, "drPhase=restore", "stopService=false"],
      {
        ...holdFree(PTR_CHAIN),
        ...chainEdges(PTR_CHAIN, PTR_SERVER, heldFor(PTR_CHAIN)),
        ...appAfter(PTR_CHAIN),
        ...pod,
      },
    ],
    [
      "ptr closing: the report after every Job; the hold and the app's return as before the close, without it",
      [...PTR, ...CLOSING],
      {
        ...holdFree(PTR_CHAIN),
        ...chainEdges([...PTR_CHAIN, REPORT], PTR_SERVER, heldFor(PTR_CHAIN)),
        ...appAfter(PTR_CHAIN),
        ...pod,
      },
    ],
    ["rebuild isolate: no Jobs", REBUILD, { ...appFree }],
    [
      "rebuild restore (also the jump none → restore)",
      [...REBUILD, "drPhase=restore"],
      { ...appFree, ...chainEdges(REBUILD_CHAIN, [], STOPPED) },
    ],
    [
      "rebuild validate (also the jump isolate → validate)",
      [...REBUILD, "drPhase=validate"],
      {
        ...holdFree(REBUILD_CHAIN),
        ...chainEdges(REBUILD_CHAIN, [], heldFor(REBUILD_CHAIN)),
        ...appAfter(REBUILD_CHAIN),
      },
    ],
    [
      "rebuild revive validate: no Jobs, no hold",
      [...REBUILD, "drPhase=validate", "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
      { ...appFree },
    ],
    [
      "rebuild closing: the report after the restore and its compare; the app not held for it",
      [...REBUILD, ...CLOSING],
      {
        ...holdFree(REBUILD_CHAIN),
        ...chainEdges([...REBUILD_CHAIN, REPORT], [], heldFor(REBUILD_CHAIN)),
        ...appAfter(REBUILD_CHAIN),
      },
    ],
    [
      "rebuild revive closing: the report alone, after the app's patches (no hold)",
      [...REBUILD, ...CLOSING, "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
      { ...appFree, ...chainEdges([REPORT], [], STOPPED) },
    ],
    [
      "rebuild geo validate: no Jobs, no hold",
      geoRebuildSets("s189t01-ittms-stg-pg-geo", ["drPhase=validate", "postgres.geoRedundantBackup=true"]),
      { ...appFree },
    ],
  ];
  for (const [state, sets, expected] of rows) {
    it(state, async () => {
      const r = await declare(sets);
      const actual = Object.fromEntries(Object.entries(edges(r)).filter(([n]) => !n.includes("nightly")));
      assert.deepStrictEqual(actual, expected);
    });
  }

  it("no cycle: in validate nothing the hold or the Jobs wait for waits on the app's patches", async () => {
    const e = edges(await declare([...PTR, "drPhase=validate"]));
    for (const name of [...heldFor(PTR_CHAIN), ...PTR_CHAIN])
      for (const app of STOPPED) assert.ok(!e[name]!.includes(app), `${name} must not wait for ${app}`);
  });
});

describe("finished Jobs are immutable; retry.<step> is the one way to run a step again", function () {
  this.timeout(120_000);
  const jobs = (r: PlanResult): Map<string, PlanResource> =>
    new Map(r.resources.filter((x) => x.type === "kubernetes:batch/v1:Job").map((x) => [x.name, x]));
  const settings = [
    `dataTool.image=ghcr.io/dfe-digital/service-dr-data@sha256:${"2".repeat(64)}`,
    "dataTool.parallelJobs=4",
    "dataTool.timeoutMinutes=240",
    "dataTool.scratch.size=200Gi",
    "dataTool.scratch.storageClass=managed-csi-premium",
    "dataTool.databaseSizeGiB=30",
  ];

  for (const [what, sets] of [
    ["ptr validate", [...PTR, "drPhase=validate"]],
    ["rebuild validate", [...REBUILD, "drPhase=validate"]],
  ] as const) {
    it(`${what}: changing every dataTool setting leaves every Job as the engine sees it unchanged`, async () => {
      const before = jobs(await declare(sets));
      const after = jobs(await declare([...sets, ...settings]));
      assert.deepStrictEqual([...after.keys()], [...before.keys()], "the same Jobs (names) are declared");
      assert.ok(before.size > 0);
      for (const [name, old] of before) {
        const now = after.get(name)!;
        // The declared inputs do change (the settings feed the pod spec): the test would be empty otherwise.
        const differing = diffValues(old.inputs, now.inputs).map((c) => c.path);
        assert.ok(differing.length > 0, `${name}: the settings should change the declared spec`);
        const ignored = now.options.ignoreChanges ?? [];
        assert.deepStrictEqual(ignored, ["spec"]);
        // The ignore list covers exactly the paths that differ: every differing path under an entry, and
        // every entry has a differing path under it.
        for (const path of differing)
          assert.ok(
            ignored.some((i) => isUnder(path, i)),
            `${name}: ${path} changed and is not ignored`,
          );
        for (const entry of ignored)
          assert.ok(
            differing.some((p) => isUnder(p, entry)),
            `${name}: ${entry} ignored but never differs`,
          );
        // What the engine diffs: the old values on the ignored paths — identical, so no update, no replace.
        assert.deepStrictEqual(effectiveInputs(old.inputs, now.inputs, ignored), old.inputs);
        // Options: identical but for customTimeouts, which only bounds an operation the engine performs (none
        // on an unchanged resource) and is not diffed.
        const { customTimeouts: oldTimeouts, ...oldRest } = old.options;
        const { customTimeouts: newTimeouts, ...newRest } = now.options;
        assert.deepStrictEqual(newRest, oldRest);
        // Before: derived from staging's 32 GB of server storage (sizing.ts); after: dataTool.timeoutMinutes.
        assert.deepStrictEqual(oldTimeouts, { create: "140m", update: "140m" });
        assert.deepStrictEqual(newTimeouts, { create: "240m", update: "240m" });
      }
    });
  }

  it("retry.restore=1 gives the restore Job a new name, a new hold, and changes nothing else but what waits on it", async () => {
    const sets = [...PTR, "drPhase=validate"];
    const before = await declare(sets);
    const after = await declare([...sets, "retry.restore=1"]);
    const oldRestore = job(`restore-${T}-flow`);
    const newRestore = job(`restore-${T}-flow-r1`);
    const b = new Map(before.resources.map((x) => [`${x.type} ${x.name}`, x]));
    const a = new Map(after.resources.map((x) => [`${x.type} ${x.name}`, x]));
    // A new Job set: the hold for it is created (its 0 applied once, before the retried Job), the old one
    // deleted at the end of the up.
    const patch = (name: string) => `kubernetes:apps/v1:DeploymentPatch ${name}`;
    const oldHold = heldFor(PTR_CHAIN);
    const newHold = heldFor(PTR_CHAIN.map((n) => (n === oldRestore ? newRestore : n)));
    assert.deepStrictEqual(oldHold, [
      `${SVC}-replicas-hold-jc35f7c3233-web`,
      `${SVC}-replicas-hold-jc35f7c3233-worker`,
    ]);
    assert.notDeepStrictEqual(newHold, oldHold);
    assert.deepStrictEqual(
      [...a.keys()].filter((k) => !b.has(k)).sort(),
      [...newHold.map(patch), `kubernetes:batch/v1:Job ${newRestore}`].sort(),
    );
    assert.deepStrictEqual(
      [...b.keys()].filter((k) => !a.has(k)).sort(),
      [...oldHold.map(patch), `kubernetes:batch/v1:Job ${oldRestore}`].sort(),
    );
    const oldJob = b.get(`kubernetes:batch/v1:Job ${oldRestore}`)!;
    const newJob = a.get(`kubernetes:batch/v1:Job ${newRestore}`)!;
    // Its name, and the log blob named after it (a retry's log does not overwrite the failed run's).
    assert.deepStrictEqual(diffValues(oldJob.inputs, newJob.inputs), [
      { path: "metadata.name", old: `dr-inc-1-restore-${T}-flow`, new: `dr-inc-1-restore-${T}-flow-r1` },
      {
        path: "spec.template.spec.containers[0].env[16].value",
        old: `incident/inc-1/logs/dr-inc-1-restore-${T}-flow.log`,
        new: `incident/inc-1/logs/dr-inc-1-restore-${T}-flow-r1.log`,
      },
      // Its completion record: the retry is not taken for done.
      {
        path: "spec.template.spec.containers[0].env[17].value",
        old: `incident/inc-1/done/dr-inc-1-restore-${T}-flow.json`,
        new: `incident/inc-1/done/dr-inc-1-restore-${T}-flow-r1.json`,
      },
    ]);
    // Every Job waits for the new hold instead of the old one (an option: the engine records it, no update).
    const toNewHold = (o: PlanResource["options"]): PlanResource["options"] =>
      o.dependencies === undefined
        ? o
        : { ...o, dependencies: o.dependencies.map((d) => newHold[oldHold.indexOf(d)] ?? d) };
    for (const x of a.values())
      if (x.type === "kubernetes:batch/v1:Job" && !x.name.includes("nightly"))
        assert.ok(
          newHold.every((h) => x.options.dependencies?.includes(h) === true),
          x.name,
        );
    assert.deepStrictEqual(newJob.options, toNewHold(oldJob.options));
    // Everything else: identical, except the edges and the Job list that name the retried Job.
    const changed: string[] = [];
    for (const [key, x] of a) {
      const y = b.get(key);
      if (y === undefined || key.endsWith(newRestore)) continue;
      const d = [
        ...diffValues(y.inputs, x.inputs).map((c) => c.path),
        ...diffValues(toNewHold(y.options), x.options).map((c) => `[option] ${c.path}`),
      ];
      if (d.length > 0) changed.push(`${x.name}: ${d.join(", ")}`);
    }
    const annotation = 'metadata.annotations["service-dr/recovery-jobs"]';
    const tag = 'metadata.annotations["service-dr/after-hold"]';
    // No Job follows the whole restore (its compare is a step of it): only the app's patches wait on it.
    assert.deepStrictEqual(changed.sort(), [
      `${SVC}-replicas-web: ${tag}, ${annotation}, [option] dependencies[3]`,
      `${SVC}-replicas-worker: ${tag}, ${annotation}, [option] dependencies[3]`,
      // The component records what it was ordered after (opts.dependsOn), as its patches do.
      `${SVC}-replicas: [option] dependencies[3]`,
    ]);
  });

  it("a retry of a step not declared in this state changes nothing", async () => {
    const sets = [...PTR];
    const before = await declare(sets);
    const after = await declare([...sets, "retry.compare=2"]);
    assert.deepStrictEqual(after.resources, before.resources);
  });
});
