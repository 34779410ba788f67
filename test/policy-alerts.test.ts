/**
 * The policy `alerts-in-production` both ways, on the offline plan of the committed stacks: production with its
 * alerts passes, production without them (or with a rule that fires nowhere) is refused with the exact
 * messages; staging may go without.
 */
import { strict as assert } from "node:assert";
import { alertsInProduction } from "../policy/policies";
import { runPolicies, type DeclaredResource } from "../policy/run";
import { runProgram } from "../dev/offline/mocks";
import { declareStack, NOW, SECRET_KEYS, stackStrings } from "./support/stacks";

const PRODUCTION = { "alerts-in-production": { production: true } };
const STAGING = { "alerts-in-production": { production: false } };
const NO_GROUP =
  'production needs an action group with at least one receiver: set alerts (workspaceId, emails or webhooks; docs/runbook.md, "Alerts")';
const noRule = (what: string, purpose: string): string =>
  `production needs the alert rule for ${what} (tag service-dr: ${purpose}) firing to an action group with a receiver: set alerts (docs/runbook.md, "Alerts")`;
const NO_MISSING_RULE = noRule(
  "no verified nightly backup (the dead man's switch)",
  "nightly-backup-missing",
);
const NO_JOB_RULE = noRule("a failed backup or recovery Job", "data-tool-job-failed");

async function violations(
  resources: readonly DeclaredResource[],
  config: typeof PRODUCTION | typeof STAGING,
): Promise<string[]> {
  return (await runPolicies(resources, config, [alertsInProduction])).map((v) => v.message);
}

/** The committed stack's plan without `alerts`. */
async function withoutAlerts(stack: "staging" | "production"): Promise<readonly DeclaredResource[]> {
  const config = Object.fromEntries(
    Object.entries(stackStrings(stack)).filter(([key]) => key !== "service-dr:alerts"),
  );
  return (await runProgram(config, SECRET_KEYS, NOW)).resources;
}

describe("policy alerts-in-production", function () {
  this.timeout(60_000);

  it("production with its committed alerts: no violation", async () => {
    const r = await declareStack("production");
    assert.deepStrictEqual(await violations(r.resources, PRODUCTION), []);
  });

  it("production during an incident (the missing-backup rule disabled, still declared): no violation", async () => {
    const r = await declareStack("production", ["drMode=rebuild", "incidentId=inc-1"]);
    assert.deepStrictEqual(await violations(r.resources, PRODUCTION), []);
  });

  it("production without alerts: the action group and both rules are missing", async () => {
    assert.deepStrictEqual(await violations(await withoutAlerts("production"), PRODUCTION), [
      NO_GROUP,
      NO_MISSING_RULE,
      NO_JOB_RULE,
    ]);
  });

  it("staging without alerts: allowed", async () => {
    assert.deepStrictEqual(await violations(await withoutAlerts("staging"), STAGING), []);
  });

  it("a rule that fires to no action group does not count", async () => {
    const r = await declareStack("production");
    const cut = r.resources.map((x) =>
      x.name.endsWith("-alerts-job-failed")
        ? { ...x, inputs: { ...x.inputs, actions: {} }, options: { ...x.options, dependencies: [] } }
        : x,
    );
    assert.deepStrictEqual(await violations(cut, PRODUCTION), [NO_JOB_RULE]);
  });

  it("an action group without a receiver does not count", async () => {
    const r = await declareStack("production");
    const empty = r.resources.map((x) =>
      x.type === "azure-native:monitor:ActionGroup"
        ? { ...x, inputs: { ...x.inputs, emailReceivers: [], webhookReceivers: [] } }
        : x,
    );
    assert.deepStrictEqual(await violations(empty, PRODUCTION), [NO_GROUP, NO_MISSING_RULE, NO_JOB_RULE]);
  });
});
