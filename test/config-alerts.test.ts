/**
 * `alerts` (config/alerts.ts) and the alerting plan (plan/monitoring.ts), pure: which configs are refused with
 * which exact problems, and the exact rules, queries and receivers a valid one plans.
 */
import { strict as assert } from "node:assert";
import {
  ConfigError,
  dailyScheduleGapMinutes,
  parseConfig,
  webhookUriProblem,
  type StackConfig,
} from "../config";
import { kqlString, planAlerts } from "../plan";
import { NOW, stackRaw } from "./support/stacks";

type Raw = { [key: string]: Record<string, unknown> };

function configOf(edit: (raw: Raw) => void, stack: "staging" | "production" = "staging"): StackConfig {
  const raw = structuredClone(stackRaw(stack)) as Raw;
  edit(raw);
  return parseConfig(raw, NOW);
}

function problemsOf(edit: (raw: Raw) => void): readonly string[] {
  try {
    configOf(edit);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const WORKSPACE =
  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/s189t01-tsc-ts-rg/providers/Microsoft.OperationalInsights/workspaces/s189t01-tsc-test-log";
const ENTRA = {
  tenantId: "11111111-1111-1111-1111-111111111111",
  objectId: "22222222-2222-2222-2222-222222222222",
  identifierUri: "api://on-call-receiver",
};
const RANGE = "must be a whole number from 15 to 1440";
const NO_CREDENTIAL =
  "must carry no credential (no user:password@, no ?query, no #fragment): a token in the URL is a standing secret that anyone who can read the action group reads back; the receiver authenticates the alert by its Microsoft Entra token instead (webhooks.<id>.entraAuth)";

describe("config: alerts", () => {
  const rows: Array<[string, (raw: Raw) => void, readonly string[]]> = [
    ["the committed staging stack", () => undefined, []],
    ["no alerts at all (staging may go without)", (r) => void delete r.alerts, []],
    [
      "a workspace id of another resource type",
      (r) => void (r.alerts!.workspaceId = WORKSPACE.replace("OperationalInsights/workspaces", "Storage/x")),
      [
        `alerts.workspaceId: must be a Log Analytics workspace resource id (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>); received ${JSON.stringify(WORKSPACE.replace("OperationalInsights/workspaces", "Storage/x"))}`,
      ],
    ],
    [
      "no receiver",
      (r) => void (r.alerts!.emails = {}),
      [
        "alerts.emails: must name at least one receiver (alerts.emails or alerts.webhooks): an alert nobody receives is none; received {}",
      ],
    ],
    [
      "a bad email and a bad receiver id",
      (r) => void (r.alerts!.emails = { "On Call": "x@example.gov.uk", ops: "not-an-address" }),
      [
        'alerts.emails.ops: must be an email address such as on-call@example.gov.uk; received "not-an-address"',
        'alerts.emails: every id must be a short lowercase id such as on-call (letters, digits, hyphens; ≤ 32); not: "On Call"; received {"On Call":"x@example.gov.uk","ops":"not-an-address"}',
      ],
    ],
    [
      "a webhook with a token in its query",
      (r) =>
        void (r.alerts!.webhooks = {
          pager: { uri: "https://hooks.example.com/alert?token=abc", entraAuth: ENTRA },
        }),
      [`alerts.webhooks.pager.uri: ${NO_CREDENTIAL}; received "https://hooks.example.com/alert?token=abc"`],
    ],
    [
      "a webhook with user info, and one over http",
      (r) =>
        void (r.alerts!.webhooks = {
          a: { uri: "https://user:pw@hooks.example.com/alert", entraAuth: ENTRA },
          b: { uri: "http://hooks.example.com/alert", entraAuth: ENTRA },
        }),
      [
        `alerts.webhooks.a.uri: ${NO_CREDENTIAL}; received "https://user:pw@hooks.example.com/alert"`,
        'alerts.webhooks.b.uri: must be an https URL (the alert leaves Azure); received "http://hooks.example.com/alert"',
      ],
    ],
    [
      "a webhook without Entra authentication",
      (r) => void (r.alerts!.webhooks = { pager: { uri: "https://hooks.example.com/alert" } }),
      [
        "alerts.webhooks.pager.entraAuth: is required and must be { tenantId, objectId, identifierUri } of the Entra application that receives the alert (a secure webhook); received nothing",
      ],
    ],
    [
      "a grace out of range",
      (r) => void (r.alerts!.graceMinutes = 10),
      [`alerts.graceMinutes: ${RANGE}; received 10`],
    ],
    [
      "a schedule the alert cannot read",
      (r) => void (r.backup!.schedule = "*/30 * * * *"),
      [
        `backup.schedule: must be a daily schedule 'M H * * *' (hours may be a list, e.g. '0 2,14 * * *') while alerts is set, so the missing-backup alert knows when a backup is due; received "*/30 * * * *"`,
      ],
    ],
    ["the same schedule without alerts", (r) => ((r.backup!.schedule = "*/30 * * * *"), delete r.alerts), []],
    [
      "a grace over a day (with a daily gap it would overrun Azure's two-day look-back)",
      (r) => void (r.alerts!.graceMinutes = 1441),
      [`alerts.graceMinutes: ${RANGE}; received 1441`],
    ],
    ["the longest grace with a daily schedule fits exactly", (r) => void (r.alerts!.graceMinutes = 1440), []],
  ];
  for (const [what, edit, expected] of rows)
    it(what, () => assert.deepStrictEqual(problemsOf(edit), expected));

  it("the missing gap is the schedule's longest", () => {
    const table: Array<[string, number | undefined]> = [
      ["0 2 * * *", 1440],
      ["30 2,14 * * *", 720],
      ["0 1,2,20 * * *", 1080],
      ["0 2 * * 1", undefined],
      ["0 24 * * *", undefined],
      ["60 2 * * *", undefined],
      ["*/30 * * * *", undefined],
    ];
    for (const [schedule, gap] of table) assert.equal(dailyScheduleGapMinutes(schedule), gap, schedule);
  });

  it("a webhook URL: https, no credential in it", () => {
    assert.equal(webhookUriProblem("https://hooks.example.com/dr"), undefined);
    assert.equal(webhookUriProblem("https://hooks.example.com/dr#x"), NO_CREDENTIAL);
    assert.equal(webhookUriProblem("hooks.example.com"), "must be an absolute https URL");
  });
});

describe("plan: alerts", () => {
  const SVC = "itt-mentor-services-staging";
  const MISSING_QUERY = [
    "StorageBlobLogs",
    "| where TimeGenerated > ago(1560m)",
    '| where AccountName == "s189t01ittmsdbbkpsa"',
    '| where OperationName == "PutBlob" and StatusCode == "201"',
    "| extend Blob = trim(@'\"', ObjectKey)",
    '| where Blob startswith "/s189t01ittmsdbbkpsa/database-backup/nightly/"',
    '| where Blob endswith ".verified"',
    "| project TimeGenerated, Blob",
  ].join("\n");
  const JOB_QUERY = [
    "KubeEvents",
    '| where Namespace == "bat-staging-dr"',
    '| where ObjectKind == "Job"',
    '| where Reason in ("BackoffLimitExceeded", "DeadlineExceeded")',
    `| where Name startswith "${SVC}-db-backup-" or Name startswith "dr-" or Name startswith "drill-"`,
    "| project TimeGenerated, Name, Reason, Message",
  ].join("\n");

  it("the committed staging stack: the exact receivers, log setting, rules and queries", () => {
    assert.deepStrictEqual(planAlerts(configOf(() => undefined)), {
      resourceGroup: "s189t01-ittms-stg-rg",
      location: "uksouth",
      workspaceId: WORKSPACE,
      actionGroup: {
        name: `${SVC}-dr-alerts`,
        shortName: "dr-backups",
        emails: [{ name: "on-call", emailAddress: "ittms-staging-on-call@example.gov.uk" }],
        webhooks: [],
      },
      blobWriteLogs: { name: "service-dr-blob-writes", categories: ["StorageWrite"] },
      missingBackup: {
        name: `${SVC}-nightly-backup-missing`,
        purpose: "nightly-backup-missing",
        displayName: `${SVC}: no verified nightly backup`,
        description:
          'No nightly backup of s189t01-ittms-stg-pg was verified from storage in the last 1560 minutes (schedule "0 2 * * *", longest gap 1440 min, grace 120 min). ' +
          "docs/runbook.md, 'Alert: no verified nightly backup'.",
        severity: 1,
        enabled: true,
        evaluationFrequency: "PT15M",
        windowSize: "P2D",
        query: MISSING_QUERY,
        operator: "LessThan",
        threshold: 1,
        dimensions: [],
      },
      jobFailed: {
        name: `${SVC}-data-tool-job-failed`,
        purpose: "data-tool-job-failed",
        displayName: `${SVC}: a backup or recovery Job failed`,
        description:
          "A data tool Job in namespace bat-staging-dr failed (the nightly backup or a recovery step). " +
          "docs/runbook.md, 'Alert: a backup or recovery Job failed'.",
        severity: 1,
        enabled: true,
        evaluationFrequency: "PT5M",
        windowSize: "PT15M",
        query: JOB_QUERY,
        operator: "GreaterThan",
        threshold: 0,
        dimensions: ["Name"],
      },
    });
  });

  it("no alerts key: nothing planned", () => {
    assert.equal(planAlerts(configOf((r) => void delete r.alerts)), undefined);
  });

  it("the look-back follows the schedule's longest gap and the grace", () => {
    const p = planAlerts(
      configOf((r) => ((r.backup!.schedule = "30 2,14 * * *"), (r.alerts!.graceMinutes = 45))),
    );
    assert.match(p!.missingBackup.query, /^StorageBlobLogs\n\| where TimeGenerated > ago\(765m\)\n/);
  });

  it("while an incident is open the nightly is suspended, and so is the missing-backup rule; the Job rule is not", () => {
    const p = planAlerts(configOf((r) => Object.assign(r, { drMode: "rebuild", incidentId: "inc-1" })))!;
    assert.deepStrictEqual([p.missingBackup.enabled, p.jobFailed.enabled], [false, true]);
  });

  it("a webhook receiver: its URL and the Entra application it authenticates to", () => {
    const p = planAlerts(
      configOf(
        (r) =>
          void (r.alerts!.webhooks = { pager: { uri: "https://hooks.example.com/dr", entraAuth: ENTRA } }),
      ),
    )!;
    assert.deepStrictEqual(p.actionGroup.webhooks, [
      { name: "pager", serviceUri: "https://hooks.example.com/dr", ...ENTRA },
    ]);
  });

  it("KQL string literals are escaped, never spliced", () => {
    assert.equal(kqlString('a"b\\c'), '"a\\"b\\\\c"');
  });
});
