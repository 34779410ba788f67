/**
 * The drill's simulated engine (dev/drill/engine.ts) on what the real program declares (mock runtime): the
 * validate phase survives a refresh — the hold stops the app only for a new set of recovery Jobs, and no
 * later `up` of the runbook stops it again.
 */
import { strict as assert } from "node:assert";
import { patchRole, readDeclared, type Declared, type DeclaredPatch } from "../dev/drill/declared";
import { AFTER_HOLD_ANNOTATION, RECOVERY_JOBS_ANNOTATION } from "../components/app/replica-hold";
import { inDependencyOrder, SimulatedCluster } from "../dev/drill/engine";
import { declareStack } from "./support/stacks";

const SVC = "itt-mentor-services-staging";
const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
const VALIDATE = [...PTR, "drPhase=validate"];
/** The app as staging runs it: web 2, worker 1 (both Deployments share the service's name in staging). */
const APP_UP = "web 2, worker 1";

const declare = async (sets: readonly string[]): Promise<Declared> =>
  readDeclared(await declareStack("staging", sets), []);

/** One `pulumi up` of the simulated engine; returns what happened, in order, for the assertions. */
class Runbook {
  readonly cluster = new SimulatedCluster();
  private readonly ran = new Set<string>();

  app(d: Declared): string {
    return d.patches
      .filter((p) => p.role === "app")
      .map(
        (p) => `${p.resource.replace(`${SVC}-replicas-`, "")} ${this.cluster.replicas(p.deployment) ?? "?"}`,
      )
      .join(", ");
  }

  async up(d: Declared): Promise<string[]> {
    const events: string[] = [];
    const patch = (p: DeclaredPatch) => async () => {
      const op = this.cluster.register(p);
      if (op !== "same") events.push(`${op} ${p.resource.replace(`${SVC}-replicas-`, "")} → ${this.app(d)}`);
      return Promise.resolve();
    };
    await inDependencyOrder([
      ...d.patches.map((p) => ({ resource: p.resource, dependsOn: p.dependsOn, run: patch(p) })),
      ...d.jobs.map((j) => ({
        resource: j.resource ?? j.name,
        dependsOn: j.dependsOn ?? [],
        run: () => {
          if (!this.ran.has(j.name))
            events.push(`job ${j.name.replace("dr-inc-1-", "")} with ${this.app(d)}`);
          this.ran.add(j.name);
          return Promise.resolve();
        },
      })),
    ]);
    for (const r of this.cluster.deleteUndeclared(new Set(d.patches.map((p) => p.resource))))
      events.push(`delete ${r.replace(`${SVC}-replicas-`, "")} → ${this.app(d)}`);
    return events;
  }
}

describe("drill: a replica patch's role comes from its annotations, not its name", function () {
  this.timeout(60_000);

  it("validate declares the hold (0) and the app's patches that follow it; none declares only the app's", async () => {
    const roles = (d: Declared) => d.patches.map((p) => [p.resource.replace(`${SVC}-replicas-`, ""), p.role]);
    assert.deepEqual(roles(await declare(VALIDATE)), [
      ["hold-jc35f7c3233-web", "hold"],
      ["hold-jc35f7c3233-worker", "hold"],
      ["web", "app"],
      ["worker", "app"],
    ]);
    assert.deepEqual(roles(await declare([])), [
      ["web", "app"],
      ["worker", "app"],
    ]);
  });

  it("patchRole: the hold names its Jobs and follows no hold; the app's return names both", () => {
    assert.equal(patchRole({ [RECOVERY_JOBS_ANNOTATION]: "a,b" }), "hold");
    assert.equal(patchRole({ [RECOVERY_JOBS_ANNOTATION]: "a,b", [AFTER_HOLD_ANNOTATION]: "j0" }), "app");
    assert.equal(patchRole({ "pulumi.com/patchForce": "true" }), "app");
  });
});

describe("drill engine: the validate phase survives a refresh (real declarations, simulated engine)", function () {
  this.timeout(60_000);

  it("refresh, maintenance off, unfreeze: the app stays up; a new restore time stops it for the new Jobs only", async () => {
    const rb = new Runbook();
    await rb.up(await declare([]));
    await rb.up(await declare(PTR));
    const validate = await declare(VALIDATE);
    // The jump isolate → validate: the app was stopped already; the hold is created, the Jobs run, the app back.
    assert.deepEqual(await rb.up(validate), [
      "create hold-jc35f7c3233-web → web 0, worker 0",
      "create hold-jc35f7c3233-worker → web 0, worker 0",
      ...["reconcile", "restore"].map(
        (s) => `job ${s}-20261124t130500z${s === "restore" ? "-flow" : ""} with web 0, worker 0`,
      ),
      "update web → web 2, worker 0",
      "update worker → web 2, worker 1",
    ]);

    rb.cluster.refresh();
    // The refresh stored the live count as the hold's inputs: the case that used to force 0 again.
    const stored = rb.cluster.storedInputs(`${SVC}-replicas-hold-jc35f7c3233-web`);
    assert.deepEqual(stored?.spec, { replicas: 2 });
    assert.equal(rb.app(validate), APP_UP);
    // Closing (freeze off) runs the incident's report Job, which touches no server, beside the app; nothing else.
    for (const [sets, events] of [
      [[...VALIDATE, "maintenance=false"], []],
      [[...VALIDATE, "maintenance=false", "freeze=false"], ["job report with web 2, worker 1"]],
    ] as const) {
      const d = await declare(sets);
      assert.deepEqual(await rb.up(d), events, sets.join(" "));
      assert.equal(rb.app(d), APP_UP);
    }

    rb.cluster.refresh();
    const later = [...VALIDATE, "maintenance=false", "freeze=false", "ptr.restoreTime=2026-11-24T13:10:00"];
    const retry = await rb.up(await declare(later));
    const T2 = "20261124t131000z";
    // The new set's tag: printf '%s' "<its six names, sorted, comma-joined>" | sha256sum → 2f0d880bd2…
    assert.deepEqual(retry, [
      "create hold-j4ba696021a-web → web 0, worker 1",
      "create hold-j4ba696021a-worker → web 0, worker 0",
      ...["inspect", "reconcile", "restore"].map(
        (s) => `job ${s}-${T2}${s === "restore" ? "-flow" : ""} with web 0, worker 0`,
      ),
      "update web → web 2, worker 0",
      "update worker → web 2, worker 1",
      "delete hold-jc35f7c3233-web → web 2, worker 1",
      "delete hold-jc35f7c3233-worker → web 2, worker 1",
    ]);
    rb.cluster.refresh();
    assert.deepEqual(await rb.up(await declare(later)), []);
    const closed = await declare([]);
    const close = await rb.up(closed);
    assert.equal(rb.app(closed), APP_UP);
    assert.ok(
      close.every((e) => e.endsWith(APP_UP)),
      close.join("\n"),
    );
  });

  /**
   * What the earlier version declared in validate: the hold named `…-replicas-hold-<id>` whatever the Jobs,
   * without ignoreChanges, and the app's patches without the hold's tag.
   */
  const untagged = (d: Declared): Declared => {
    const rename = (r: string): string => r.replace(/-replicas-hold-j[0-9a-f]{10}-/, "-replicas-hold-");
    const patches = d.patches.map((p): DeclaredPatch => {
      const metadata = p.inputs.metadata as { annotations: Record<string, string> };
      const annotations = Object.fromEntries(
        Object.entries(metadata.annotations).filter(([k]) => k !== "service-dr/after-hold"),
      );
      return {
        ...p,
        resource: rename(p.resource),
        ignoreChanges: [],
        inputs: { ...p.inputs, metadata: { ...metadata, annotations } },
      };
    });
    const jobs = d.jobs.map((j) => ({ ...j, dependsOn: (j.dependsOn ?? []).map(rename) }));
    return { ...d, patches, jobs };
  };

  it("the earlier, untagged hold: a refresh then maintenance off stopped the app (the defect)", async () => {
    const rb = new Runbook();
    await rb.up(await declare([]));
    await rb.up(await declare(PTR));
    await rb.up(untagged(await declare(VALIDATE)));
    rb.cluster.refresh();
    const off = untagged(await declare([...VALIDATE, "maintenance=false"]));
    assert.deepEqual(await rb.up(off), [
      "update hold-web → web 0, worker 1",
      "update hold-worker → web 0, worker 0",
    ]);
  });

  it("upgrading mid-validate from the untagged hold: one stop and start within the up, no Job, then the old hold deleted", async () => {
    const rb = new Runbook();
    await rb.up(await declare([]));
    await rb.up(await declare(PTR));
    await rb.up(untagged(await declare(VALIDATE)));
    assert.deepEqual(await rb.up(await declare([...VALIDATE, "maintenance=false"])), [
      "create hold-jc35f7c3233-web → web 0, worker 1",
      "create hold-jc35f7c3233-worker → web 0, worker 0",
      "update web → web 2, worker 0",
      "update worker → web 2, worker 1",
      // Its manager owns no spec.replicas any more (the app's patches forced theirs last): nothing changes.
      "delete hold-web → web 2, worker 1",
      "delete hold-worker → web 2, worker 1",
    ]);
    rb.cluster.refresh();
    // Closing: only the incident's report Job, which touches no server, runs beside the app.
    assert.deepEqual(await rb.up(await declare([...VALIDATE, "maintenance=false", "freeze=false"])), [
      "job report with web 2, worker 1",
    ]);
  });
});
