/**
 * The scheduled drill's names (packages/dr-data/src/naming.ts): its copy never has the live server's name
 * nor the incident copy's, its Jobs are named by the drill, and its restore's databases fit PostgreSQL.
 */
import { strict as assert } from "node:assert";
import {
  beforeDatabaseName,
  DRILL_RUN_ID,
  drillJobName,
  drillScratchDatabase,
  drillServerName,
  ptrServerName,
  stagingDatabaseName,
} from "../src/naming";

describe("drill names", () => {
  it("the copy is <live>-drill: neither live's nor the incident copy's name", () => {
    const live = "s189p01-ittms-pd-pg";
    assert.equal(drillServerName(live), "s189p01-ittms-pd-pg-drill");
    assert.notEqual(drillServerName(live), live);
    assert.notEqual(drillServerName(live), ptrServerName(live));
  });
  it("a drill's Job: <drill id>-<step>", () =>
    assert.equal(drillJobName("drill-20261207-0317", "restore"), "drill-20261207-0317-restore"));
  it("the production database's drill restore databases fit PostgreSQL's 63 bytes", () => {
    const scratch = drillScratchDatabase("itt_mentor_services_production");
    assert.deepStrictEqual(
      [scratch, stagingDatabaseName(scratch, DRILL_RUN_ID), beforeDatabaseName(scratch, DRILL_RUN_ID)],
      [
        "itt_mentor_services_production_drill",
        "itt_mentor_services_production_drill_restore_drill",
        "itt_mentor_services_production_drill_before_drill",
      ],
    );
  });
});
