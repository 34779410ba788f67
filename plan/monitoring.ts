/**
 * The alerting plan, pure: config → the action group, the blob service's write logs and the two log alert
 * rules (docs/adr/0017). Undefined without `alerts` (the policy pack refuses that in production).
 *
 * - **Nightly backup missing** (the dead man's switch): fires when the workspace holds no successful Put Blob
 *   of a `<backup>.verified` marker under the container's `nightly/` prefix within the schedule's longest gap
 *   plus the grace. The data tool writes that marker once, only after a status record that says verified
 *   (packages/dr-data/src/verify.ts): a failed verification writes a record but no marker.
 * - **Data tool Job failed**: fires on a Job of the nightly CronJob or of an incident's recovery steps that
 *   Kubernetes marked failed (its `BackoffLimitExceeded` or `DeadlineExceeded` event, which Container Insights
 *   collects into KubeEvents).
 */
import { k8sName } from "@service-dr/dr-data";
import type { StackConfig } from "../config";
import { dailyScheduleGapMinutes } from "../config";

export interface EmailReceiverPlan {
  readonly name: string;
  readonly emailAddress: string;
}

export interface WebhookReceiverPlan {
  readonly name: string;
  readonly serviceUri: string;
  readonly tenantId: string;
  readonly objectId: string;
  readonly identifierUri: string;
}

export interface ActionGroupPlan {
  readonly name: string;
  /** Shown in SMS and email subjects: ≤ 12 characters (Azure). */
  readonly shortName: string;
  readonly emails: readonly EmailReceiverPlan[];
  readonly webhooks: readonly WebhookReceiverPlan[];
}

/** One log search alert rule on the workspace: fires when the query's row count meets the condition. */
export interface LogAlertRulePlan {
  readonly name: string;
  /** What the rule guards, as a tag the policy pack reads. */
  readonly purpose: "nightly-backup-missing" | "data-tool-job-failed";
  readonly displayName: string;
  readonly description: string;
  /** 0 (critical) … 4 (verbose). */
  readonly severity: 0 | 1 | 2 | 3 | 4;
  readonly enabled: boolean;
  readonly evaluationFrequency: string;
  readonly windowSize: string;
  readonly query: string;
  readonly operator: "LessThan" | "GreaterThan";
  readonly threshold: number;
  /** Query columns the alert is split by (one alert per value). */
  readonly dimensions: readonly string[];
}

export interface AlertsPlan {
  readonly resourceGroup: string;
  /** The rules' region (the action group is global). */
  readonly location: string;
  readonly workspaceId: string;
  readonly actionGroup: ActionGroupPlan;
  /** The diagnostic setting on the backup account's blob service: its write log to the workspace. */
  readonly blobWriteLogs: { readonly name: string; readonly categories: readonly string[] };
  readonly missingBackup: LogAlertRulePlan;
  readonly jobFailed: LogAlertRulePlan;
}

/** A KQL string literal (double quotes, backslash escapes: JSON's are KQL's). */
export function kqlString(value: string): string {
  return JSON.stringify(value);
}

/** ISO 8601 minutes as Azure's duration fields take them. */
function isoMinutes(minutes: number): string {
  return minutes % 60 === 0 ? `PT${minutes / 60}H` : `PT${minutes}M`;
}

export function planAlerts(cfg: StackConfig): AlertsPlan | undefined {
  const a = cfg.alerts;
  if (a === undefined) return undefined;
  const service = cfg.kubernetes.service;
  return {
    resourceGroup: cfg.azure.resourceGroup,
    location: cfg.azure.location,
    workspaceId: a.workspaceId,
    actionGroup: {
      name: `${service}-dr-alerts`,
      shortName: "dr-backups",
      emails: Object.entries(a.emails).map(([name, emailAddress]) => ({ name, emailAddress })),
      webhooks: Object.entries(a.webhooks).map(([name, w]) => ({ name, serviceUri: w.uri, ...w.entraAuth })),
    },
    // StorageWrite holds Put Blob; reads and deletes are not needed by either rule.
    blobWriteLogs: { name: "service-dr-blob-writes", categories: ["StorageWrite"] },
    missingBackup: planMissingBackup(cfg, a.graceMinutes),
    jobFailed: planJobFailed(cfg),
  };
}

/** The dead man's switch: no verified nightly written within the schedule's longest gap plus the grace. */
function planMissingBackup(cfg: StackConfig, graceMinutes: number): LogAlertRulePlan {
  const gap = dailyScheduleGapMinutes(cfg.backup.schedule);
  // alertsScheduleKnown (config) refused any other schedule: a missing gap here is a bug, not a config problem.
  if (gap === undefined) throw new Error(`alerts: backup.schedule passed validation but has no daily gap`);
  const lookBack = gap + graceMinutes;
  const { storageAccountName: account, container } = cfg.backup;
  const query = [
    "StorageBlobLogs",
    `| where TimeGenerated > ago(${lookBack}m)`,
    `| where AccountName == ${kqlString(account)}`,
    // StatusCode is a string column; ObjectKey is documented "in quotes": trimmed either way.
    '| where OperationName == "PutBlob" and StatusCode == "201"',
    "| extend Blob = trim(@'\"', ObjectKey)",
    `| where Blob startswith ${kqlString(`/${account}/${container}/nightly/`)}`,
    '| where Blob endswith ".verified"',
    "| project TimeGenerated, Blob",
  ].join("\n");
  const suspended = cfg.incident.mode !== "none";
  return {
    name: `${cfg.kubernetes.service}-nightly-backup-missing`,
    purpose: "nightly-backup-missing",
    displayName: `${cfg.kubernetes.service}: no verified nightly backup`,
    description:
      `No nightly backup of ${cfg.postgres.serverName} was verified from storage in the last ${lookBack} minutes ` +
      `(schedule ${JSON.stringify(cfg.backup.schedule)}, longest gap ${gap} min, grace ${graceMinutes} min). ` +
      "docs/runbook.md, 'Alert: no verified nightly backup'.",
    severity: 1,
    // The nightly CronJob is suspended while an incident is open: no backup is due, so no alert.
    enabled: !suspended,
    evaluationFrequency: "PT15M",
    // Azure's longest window (two days); the query's own ago() narrows it to the look-back.
    windowSize: "P2D",
    query,
    operator: "LessThan",
    threshold: 1,
    dimensions: [],
  };
}

/** A nightly or recovery Job that Kubernetes marked failed, one alert per Job. */
function planJobFailed(cfg: StackConfig): LogAlertRulePlan {
  const service = cfg.kubernetes.service;
  const query = [
    "KubeEvents",
    `| where Namespace == ${kqlString(cfg.kubernetes.dataNamespace)}`,
    '| where ObjectKind == "Job"',
    '| where Reason in ("BackoffLimitExceeded", "DeadlineExceeded")',
    // The CronJob's Jobs are `<cronjob>-<suffix>`; every recovery Job is `dr-<incident>-<step>…`, every drill
    // Job `drill-<start>-<step>` (naming.ts): a drill that missed an objective fails its report Job.
    `| where Name startswith ${kqlString(`${k8sName.nightlyBackup(service)}-`)} or Name startswith "dr-" or Name startswith "drill-"`,
    "| project TimeGenerated, Name, Reason, Message",
  ].join("\n");
  return {
    name: `${service}-data-tool-job-failed`,
    purpose: "data-tool-job-failed",
    displayName: `${service}: a backup or recovery Job failed`,
    description:
      `A data tool Job in namespace ${cfg.kubernetes.dataNamespace} failed (the nightly backup or a recovery step). ` +
      "docs/runbook.md, 'Alert: a backup or recovery Job failed'.",
    severity: 1,
    enabled: true,
    evaluationFrequency: "PT5M",
    // Three evaluations see each event (Container Insights ingests within minutes); the alert is stateful.
    windowSize: isoMinutes(15),
    query,
    operator: "GreaterThan",
    threshold: 0,
    dimensions: ["Name"],
  };
}
