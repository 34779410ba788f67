/**
 * Moving every component under ServiceRecovery changes their URNs; the aliases must make the engine take
 * every existing resource over. For both stacks in every runbook state: the URNs the program of the commit
 * before the move declared (test/support/urns-before.json, written by `npx tsx dev/offline/urns.ts` run on
 * that commit's tree) are matched against what this program really registers — its types, names, parents and
 * the alias specs the SDK sends — by the engine's rules (test/support/urns.ts). Nothing may be deleted or
 * claimed twice, and the only resource created is the new component itself.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { readFileSync } from "node:fs";
import * as mocks from "../dev/offline/mocks";
import { registrations } from "../dev/offline/urns";
import { PROJECT } from "../config";
import { ALL_STATES } from "./support/dr-states";
import * as stacks from "./support/stacks";
import * as states from "./support/dr-states";
import { engineResources, matchAgainst } from "./support/urns";

type Before = Record<string, Record<string, string[]>>;
const BEFORE = JSON.parse(
  readFileSync(path.join(__dirname, "support", "urns-before.json"), "utf8"),
) as Before;
const TREE = { mocks, stacks, states };
const SVC = { staging: "itt-mentor-services-staging", production: "itt-mentor-services-production" };

/**
 * What changed on purpose after the move, in the states it shows in: scenario 2's whole-database restore became
 * one Job (restore --from-copy, named with COPY_RESTORE_VARIANT), so the PTR copy's backup Job, the restore Job
 * and the compare Job are deleted (finished Jobs: the delete runs nothing) and the one Job created; in validate
 * the hold named by the old Job set's tag gives way to the new set's (docs/runbook.md: an upgrade mid-validate
 * stops and starts the app once within the up, as any new Job set).
 */
function changedSinceTheMove(
  stack: "staging" | "production",
  state: string,
): { deleted: string[]; created: string[] } {
  if (state !== "ptr restore" && state !== "ptr validate") return { deleted: [], created: [] };
  const T = "20261124t130500z";
  const urn = (parent: string, type: string, name: string) =>
    `urn:pulumi:${stack}::service-dr::service-dr:index:${parent}$${type}::${SVC[stack]}-${name}`;
  const job = (name: string, parent = "RecoveryJobs") =>
    urn(parent, "kubernetes:batch/v1:Job", `recovery-dr-inc-1-${name}`);
  const hold = (tag: string) =>
    ["web", "worker"].map((d) =>
      urn(
        "ServiceRecovery$service-dr:index:ReplicaHold",
        "kubernetes:apps/v1:DeploymentPatch",
        `replicas-hold-${tag}-${d}`,
      ),
    );
  const jobs = [`backup-ptr-${T}`, `restore-${T}`, `compare-${T}`].map((n) => job(n));
  const created = job(`restore-${T}-flow`, "ServiceRecovery$service-dr:index:RecoveryJobs");
  return state === "ptr restore"
    ? { deleted: jobs, created: [created] }
    : { deleted: [...hold("j01d84ac746").map(old), ...jobs], created: [...hold("jc35f7c3233"), created] };
}

/** A URN as the stacks before the move recorded it: without the component's parent type. */
const old = (urn: string): string => urn.replace("::service-dr:index:ServiceRecovery$", "::");

describe("URNs: every resource of the stacks before the move is taken over, none deleted", function () {
  this.timeout(120_000);
  for (const stack of ["staging", "production"] as const) {
    for (const [state, sets] of ALL_STATES) {
      it(`${stack}, ${state}`, async () => {
        const olds = BEFORE[stack]?.[state];
        assert.ok(olds !== undefined && olds.length > 0, `no URNs recorded for ${stack} ${state}`);
        const regs = await registrations(TREE, stacks.PROJECT_DIR, stack, sets, stacks.NOW);
        const now = engineResources(stack, PROJECT, regs);
        const { took, deleted, claimedTwice } = matchAgainst(olds, now);
        const since = changedSinceTheMove(stack, state);
        assert.deepStrictEqual(deleted, since.deleted);
        assert.deepStrictEqual(claimedTwice, []);
        const created = now.filter((r) => !took.has(r.urn)).map((r) => r.urn);
        assert.deepStrictEqual(created, [
          `urn:pulumi:${stack}::service-dr::service-dr:index:ServiceRecovery::${SVC[stack]}`,
          ...since.created,
        ]);
        // Each took over the resource of its own type and name: the old URN is the new one without the parent.
        for (const [urn, old] of took) {
          assert.equal(old, urn.replace("::service-dr:index:ServiceRecovery$", "::"), urn);
        }
      });
    }
  }

  it("the live server: its URN under the component, found under its old one through two levels of alias", async () => {
    const regs = await registrations(TREE, stacks.PROJECT_DIR, "staging", [], stacks.NOW);
    const now = engineResources("staging", PROJECT, regs);
    const server = now.find((r) => r.name === `${SVC.staging}-live-server`);
    const component = now.find((r) => r.name === `${SVC.staging}-live`);
    // What the SDK sent: the component with a no-parent alias spec (pulumi.rootStackResource); the server
    // only the provider's aliases of its other API versions, under its current parent: it finds its old URN
    // by inheriting the component's alias.
    assert.deepStrictEqual(component?.aliases, [
      { name: "", type: "", stack: "", project: "", parentUrn: "", noParent: true },
    ]);
    assert.ok(server !== undefined);
    assert.deepStrictEqual(
      server.aliases.filter((a) => "urn" in a || a.noParent || a.parentUrn !== component.urn),
      [],
    );
    assert.equal(
      server.urn,
      "urn:pulumi:staging::service-dr::service-dr:index:ServiceRecovery$service-dr:index:LiveServer$" +
        `azure-native:dbforpostgresql:Server::${SVC.staging}-live-server`,
    );
    const { took } = matchAgainst(BEFORE.staging!.none!, now);
    assert.equal(
      took.get(server.urn),
      `urn:pulumi:staging::service-dr::service-dr:index:LiveServer$azure-native:dbforpostgresql:Server::${SVC.staging}-live-server`,
    );
  });
});
