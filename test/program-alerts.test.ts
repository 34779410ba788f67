/**
 * Mock-runtime tests of the backup alerts (components/monitoring/backup-alerts.ts): the exact action group,
 * diagnostic setting and log alert rules the committed stacks declare, with their queries.
 */
import { strict as assert } from "node:assert";
import { runProgram, type PlanResource, type PlanResult } from "../dev/offline/mocks";
import { declareStack, NOW, SECRET_KEYS, stackStrings } from "./support/stacks";

const SVC = "itt-mentor-services-staging";
const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000";
const WORKSPACE = `${SUB}/resourceGroups/s189t01-tsc-ts-rg/providers/Microsoft.OperationalInsights/workspaces/s189t01-tsc-test-log`;
const ACTION_GROUP_ID = `${SUB}/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.Insights/actionGroups/${SVC}-dr-alerts`;

function one(r: PlanResult, type: string, name: string): PlanResource {
  const found = r.resources.filter((x) => x.type === type && x.name === name);
  assert.equal(found.length, 1, `expected exactly one ${type} ${name}, found ${found.length}`);
  return found[0]!;
}

/** The inputs a rule is given, everything but the query (asserted on its own). */
function ruleInputs(
  name: string,
  query: string,
  extra: Record<string, unknown>,
  criterion: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ruleName: `${SVC}-${name}`,
    resourceGroupName: "s189t01-ittms-stg-rg",
    location: "uksouth",
    kind: "LogAlert",
    severity: 1,
    scopes: [WORKSPACE],
    autoMitigate: true,
    actions: { actionGroups: [ACTION_GROUP_ID] },
    tags: { "service-dr": name },
    ...extra,
    criteria: {
      allOf: [
        {
          query,
          timeAggregation: "Count",
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
          ...criterion,
        },
      ],
    },
  };
}

describe("program under the mock runtime: backup alerts", () => {
  it("the action group: global, the stack's email receiver, no webhook", async () => {
    const r = await declareStack("staging");
    const g = one(r, "azure-native:monitor:ActionGroup", `${SVC}-alerts-action-group`);
    assert.deepStrictEqual(g.inputs, {
      actionGroupName: `${SVC}-dr-alerts`,
      resourceGroupName: "s189t01-ittms-stg-rg",
      location: "Global",
      groupShortName: "dr-backups",
      enabled: true,
      emailReceivers: [
        { name: "on-call", emailAddress: "ittms-staging-on-call@example.gov.uk", useCommonAlertSchema: true },
      ],
      webhookReceivers: [],
      tags: { "service-dr": "alerts" },
    });
  });

  it("a webhook is a secure webhook: Entra authentication, no secret", async () => {
    const r = await declareStack("staging", [
      "alerts.webhooks.pager.uri=https://hooks.example.com/dr",
      "alerts.webhooks.pager.entraAuth.tenantId=11111111-1111-1111-1111-111111111111",
      "alerts.webhooks.pager.entraAuth.objectId=22222222-2222-2222-2222-222222222222",
      "alerts.webhooks.pager.entraAuth.identifierUri=api://on-call-receiver",
    ]);
    const g = one(r, "azure-native:monitor:ActionGroup", `${SVC}-alerts-action-group`);
    assert.deepStrictEqual(g.inputs.webhookReceivers, [
      {
        name: "pager",
        serviceUri: "https://hooks.example.com/dr",
        tenantId: "11111111-1111-1111-1111-111111111111",
        objectId: "22222222-2222-2222-2222-222222222222",
        identifierUri: "api://on-call-receiver",
        useAadAuth: true,
        useCommonAlertSchema: true,
      },
    ]);
  });

  it("the blob service's writes go to the workspace, into StorageBlobLogs", async () => {
    const r = await declareStack("staging");
    const d = one(r, "azure-native:monitor:DiagnosticSetting", `${SVC}-alerts-blob-write-logs`);
    assert.deepStrictEqual(d.inputs, {
      name: "service-dr-blob-writes",
      resourceUri: `${SUB}/resourceGroups/s189t01-ittms-stg-rg/providers/Microsoft.Storage/storageAccounts/s189t01ittmsdbbkpsa/blobServices/default`,
      workspaceId: WORKSPACE,
      logAnalyticsDestinationType: "Dedicated",
      logs: [{ category: "StorageWrite", enabled: true }],
    });
    assert.deepStrictEqual(d.options.dependencies, [`${SVC}-backups-blob-service`]);
  });

  it("the missing-backup rule: verified markers under nightly/, within the schedule plus the grace", async () => {
    const r = await declareStack("staging");
    const rule = one(r, "azure-native:monitor:ScheduledQueryRule", `${SVC}-alerts-missing-backup`);
    const query = [
      "StorageBlobLogs",
      "| where TimeGenerated > ago(1560m)",
      '| where AccountName == "s189t01ittmsdbbkpsa"',
      '| where OperationName == "PutBlob" and StatusCode == "201"',
      "| extend Blob = trim(@'\"', ObjectKey)",
      '| where Blob startswith "/s189t01ittmsdbbkpsa/database-backup/nightly/"',
      '| where Blob endswith ".verified"',
      "| project TimeGenerated, Blob",
    ].join("\n");
    const expected = ruleInputs(
      "nightly-backup-missing",
      query,
      {
        displayName: `${SVC}: no verified nightly backup`,
        description:
          'No nightly backup of s189t01-ittms-stg-pg was verified from storage in the last 1560 minutes (schedule "0 2 * * *", longest gap 1440 min, grace 120 min). ' +
          "docs/runbook.md, 'Alert: no verified nightly backup'.",
        enabled: true,
        evaluationFrequency: "PT15M",
        windowSize: "P2D",
      },
      { operator: "LessThan", threshold: 1, dimensions: [] },
    );
    assert.deepStrictEqual(rule.inputs, expected);
    // It reads what the diagnostic setting sends, and fires to the action group.
    assert.deepStrictEqual([...(rule.options.dependencies ?? [])].sort(), [
      `${SVC}-alerts-action-group`,
      `${SVC}-alerts-blob-write-logs`,
    ]);
  });

  it("the Job rule: a failed nightly or recovery Job in the namespace, one alert per Job", async () => {
    const r = await declareStack("staging");
    const rule = one(r, "azure-native:monitor:ScheduledQueryRule", `${SVC}-alerts-job-failed`);
    const query = [
      "KubeEvents",
      '| where Namespace == "bat-staging-dr"',
      '| where ObjectKind == "Job"',
      '| where Reason in ("BackoffLimitExceeded", "DeadlineExceeded")',
      `| where Name startswith "${SVC}-db-backup-" or Name startswith "dr-" or Name startswith "drill-"`,
      "| project TimeGenerated, Name, Reason, Message",
    ].join("\n");
    const expected = ruleInputs(
      "data-tool-job-failed",
      query,
      {
        displayName: `${SVC}: a backup or recovery Job failed`,
        description:
          "A data tool Job in namespace bat-staging-dr failed (the nightly backup or a recovery step). " +
          "docs/runbook.md, 'Alert: a backup or recovery Job failed'.",
        enabled: true,
        evaluationFrequency: "PT5M",
        windowSize: "PT15M",
      },
      {
        operator: "GreaterThan",
        threshold: 0,
        dimensions: [{ name: "Name", operator: "Include", values: ["*"] }],
      },
    );
    assert.deepStrictEqual(rule.inputs, expected);
  });

  it("during an incident the missing-backup rule is disabled (the nightly is suspended), the Job rule is not", async () => {
    const r = await declareStack("staging", ["drMode=rebuild", "incidentId=inc-1"]);
    const enabled = (name: string) =>
      one(r, "azure-native:monitor:ScheduledQueryRule", `${SVC}-alerts-${name}`).inputs.enabled;
    assert.deepStrictEqual([enabled("missing-backup"), enabled("job-failed")], [false, true]);
  });

  it("without alerts nothing of it is declared", async () => {
    const config = Object.fromEntries(
      Object.entries(stackStrings("staging")).filter(([key]) => key !== "service-dr:alerts"),
    );
    const r = await runProgram(config, SECRET_KEYS, NOW);
    assert.deepStrictEqual(
      r.resources.filter((x) => x.type.startsWith("azure-native:monitor:")).map((x) => x.name),
      [],
    );
  });
});
