/**
 * `npm run plan -- --diff` and the hold (mock runtime): a new Job set is `+ create` of the new hold and
 * `- delete` of the old one, the app's patches updated to follow it; an `up` with the same Job set changes
 * no replica patch.
 */
import { strict as assert } from "node:assert";
import { diffPlans } from "../dev/offline/diff";
import { declareStack } from "./support/stacks";

const SVC = "itt-mentor-services-staging";
const VALIDATE = [
  "drMode=ptr",
  "incidentId=inc-1",
  "ptr.restoreTime=2026-11-24T13:05:00",
  "drPhase=validate",
];
const PATCH = "kubernetes:apps/v1:DeploymentPatch";
const patches = (rs: readonly { type: string; name: string }[]): string[] =>
  rs.filter((r) => r.type === PATCH).map((r) => r.name);

describe("offline --diff: the hold's create and delete", function () {
  this.timeout(60_000);

  it("a new restore time in validate: + create the new hold, - delete the old, ~ update the app's patches", async () => {
    const before = await declareStack("staging", VALIDATE);
    const after = await declareStack("staging", [...VALIDATE, "ptr.restoreTime=2026-11-24T13:10:00"]);
    const diff = diffPlans(before, after);
    assert.deepEqual(patches(diff.added), [
      `${SVC}-replicas-hold-j4ba696021a-web`,
      `${SVC}-replicas-hold-j4ba696021a-worker`,
    ]);
    assert.deepEqual(patches(diff.removed), [
      `${SVC}-replicas-hold-jc35f7c3233-web`,
      `${SVC}-replicas-hold-jc35f7c3233-worker`,
    ]);
    const app = diff.changed.filter((c) => c.type === PATCH);
    assert.deepEqual(
      app.map((c) => [c.name, c.action]),
      [
        [`${SVC}-replicas-web`, "update"],
        [`${SVC}-replicas-worker`, "update"],
      ],
    );
    assert.deepEqual(
      app[0]!.changes.filter((c) => c.effect === "update").map((c) => [c.path, c.new]),
      [
        ['metadata.annotations["service-dr/after-hold"]', "j4ba696021a"],
        [
          'metadata.annotations["service-dr/recovery-jobs"]',
          ["backup-flawed", "inspect", "reconcile", "restore"]
            .map((s) => (s === "backup-flawed" ? `dr-inc-1-${s}` : `dr-inc-1-${s}-20261124t131000z`))
            .map((n) => (n.includes("-restore-") ? `${n}-flow` : n))
            .join(","),
        ],
      ],
    );
  });

  it("the same Job set (maintenance off, unfreeze): no replica patch changes", async () => {
    const before = await declareStack("staging", VALIDATE);
    const after = await declareStack("staging", [...VALIDATE, "maintenance=false", "freeze=false"]);
    const diff = diffPlans(before, after);
    assert.deepEqual(patches(diff.added), []);
    assert.deepEqual(patches(diff.removed), []);
    assert.deepEqual(
      diff.changed.filter((c) => c.type === PATCH),
      [],
    );
  });
});
