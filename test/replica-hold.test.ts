import { strict as assert } from "node:assert";
import { holdPatchPrefix, jobSetTag } from "../components/app/replica-hold";

const JOBS = [
  "dr-inc-1-backup-flawed",
  "dr-inc-1-restore-20261124t130500z",
  "dr-inc-1-compare-20261124t130500z",
];

describe("the hold's name: one per Job set", () => {
  it("known answer: j + the first 10 hex digits of sha256 of the sorted names joined by commas", () => {
    // printf '%s' "dr-inc-1-compare,dr-inc-1-restore" | sha256sum → d749071e54…
    assert.equal(jobSetTag(["dr-inc-1-restore", "dr-inc-1-compare"]), "jd749071e54");
    assert.equal(
      holdPatchPrefix("svc-replicas-hold", ["dr-inc-1-restore", "dr-inc-1-compare"]),
      "svc-replicas-hold-jd749071e54",
    );
  });

  const same: Array<[string, readonly string[]]> = [
    ["the same names", [...JOBS]],
    ["the same names in another order", [JOBS[2]!, JOBS[0]!, JOBS[1]!]],
  ];
  for (const [what, jobs] of same)
    it(`same Job set, same name: ${what}`, () => {
      assert.equal(holdPatchPrefix("h", jobs), holdPatchPrefix("h", JOBS));
    });

  const changed: Array<[string, readonly string[]]> = [
    ["a new restore time", JOBS.map((j) => j.replace("20261124t130500z", "20261124t131000z"))],
    ["a retry of one step", [JOBS[0]!, `${JOBS[1]!}-r1`, JOBS[2]!]],
    ["a table-level restore (tagged names)", [JOBS[0]!, `${JOBS[1]!}-t1a2b3c`, `${JOBS[2]!}-t1a2b3c`]],
    ["a Job added", [...JOBS, "dr-inc-1-reconcile-20261124t130500z"]],
    ["a Job removed", JOBS.slice(1)],
    ["another incident", JOBS.map((j) => j.replace("inc-1", "inc-2"))],
  ];
  for (const [what, jobs] of changed)
    it(`any change in the set, a different name: ${what}`, () => {
      assert.notEqual(holdPatchPrefix("h", jobs), holdPatchPrefix("h", JOBS));
    });
});
