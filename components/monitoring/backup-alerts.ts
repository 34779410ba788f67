import * as pulumi from "@pulumi/pulumi";
import * as monitor from "@pulumi/azure-native/monitor";
import type { AlertsPlan, LogAlertRulePlan } from "../../plan";

export interface BackupAlertsArgs {
  /** Receivers, workspace and the two rules (plan/monitoring.ts). */
  readonly plan: AlertsPlan;
  /** The backup account's blob service (`…/storageAccounts/<name>/blobServices/default`): its writes are logged. */
  readonly blobServiceId: pulumi.Input<string>;
}

/**
 * What tells on-call within the hour that recovery is at risk (docs/adr/0017): an action group of the
 * configured receivers, the backup account's blob write log sent to the cluster's Log Analytics workspace,
 * and two log search alert rules on that workspace — no verified nightly backup (the dead man's switch) and a
 * failed nightly or recovery Job. No secret is held: webhooks authenticate the alert by its Entra token.
 */
export class BackupAlerts extends pulumi.ComponentResource {
  public readonly actionGroup: monitor.ActionGroup;
  public readonly blobWriteLogs: monitor.DiagnosticSetting;
  public readonly missingBackup: monitor.ScheduledQueryRule;
  public readonly jobFailed: monitor.ScheduledQueryRule;

  constructor(name: string, args: BackupAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:BackupAlerts", name, {}, opts);
    const p = args.plan;
    this.actionGroup = this.declareActionGroup(name, p);
    this.blobWriteLogs = this.declareBlobWriteLogs(name, p, args.blobServiceId);
    // The missing-backup rule reads what the diagnostic setting sends: declared after it.
    this.missingBackup = this.declareRule(`${name}-missing-backup`, p, p.missingBackup, [this.blobWriteLogs]);
    this.jobFailed = this.declareRule(`${name}-job-failed`, p, p.jobFailed, []);
    this.registerOutputs({
      actionGroup: this.actionGroup,
      blobWriteLogs: this.blobWriteLogs,
      missingBackup: this.missingBackup,
      jobFailed: this.jobFailed,
    });
  }

  private declareActionGroup(name: string, p: AlertsPlan): monitor.ActionGroup {
    const g = p.actionGroup;
    return new monitor.ActionGroup(
      `${name}-action-group`,
      {
        actionGroupName: g.name,
        resourceGroupName: p.resourceGroup,
        // Action groups are global resources (Azure).
        location: "Global",
        groupShortName: g.shortName,
        enabled: true,
        emailReceivers: g.emails.map((e) => ({ ...e, useCommonAlertSchema: true })),
        // Secure webhooks: Azure sends an Entra token for the receiving application; the URL holds no secret.
        webhookReceivers: g.webhooks.map((w) => ({ ...w, useAadAuth: true, useCommonAlertSchema: true })),
        tags: { "service-dr": "alerts" },
      },
      { parent: this },
    );
  }

  private declareBlobWriteLogs(
    name: string,
    p: AlertsPlan,
    blobServiceId: pulumi.Input<string>,
  ): monitor.DiagnosticSetting {
    return new monitor.DiagnosticSetting(
      `${name}-blob-write-logs`,
      {
        name: p.blobWriteLogs.name,
        resourceUri: blobServiceId,
        workspaceId: p.workspaceId,
        // Resource-specific tables (StorageBlobLogs), which the missing-backup query reads.
        logAnalyticsDestinationType: "Dedicated",
        logs: p.blobWriteLogs.categories.map((category) => ({ category, enabled: true })),
      },
      { parent: this },
    );
  }

  private declareRule(
    name: string,
    p: AlertsPlan,
    r: LogAlertRulePlan,
    after: pulumi.Resource[],
  ): monitor.ScheduledQueryRule {
    return new monitor.ScheduledQueryRule(
      name,
      {
        ruleName: r.name,
        resourceGroupName: p.resourceGroup,
        location: p.location,
        kind: "LogAlert",
        displayName: r.displayName,
        description: r.description,
        severity: r.severity,
        enabled: r.enabled,
        scopes: [p.workspaceId],
        evaluationFrequency: r.evaluationFrequency,
        windowSize: r.windowSize,
        criteria: {
          allOf: [
            {
              query: r.query,
              timeAggregation: "Count",
              operator: r.operator,
              threshold: r.threshold,
              dimensions: r.dimensions.map((d) => ({ name: d, operator: "Include", values: ["*"] })),
              failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
            },
          ],
        },
        // Stateful: one notification when it fires, resolved when the condition clears.
        autoMitigate: true,
        actions: { actionGroups: [this.actionGroup.id] },
        tags: { "service-dr": r.purpose },
      },
      { parent: this, dependsOn: after },
    );
  }
}
