import * as pulumi from "@pulumi/pulumi";
import * as github from "@pulumi/github";
import type { FreezePlan } from "../../plan";

export interface PipelineFreezeArgs {
  /** Repository, branch, and the approvers/enforcement wanted now (normal, or the freeze). */
  readonly plan: FreezePlan;
}

/**
 * "Freeze the pipeline": the protected branch's required PR approvers, raised to the freeze count (6, GitHub's
 * maximum) during an incident and back to normal after, with admins included in the freeze.
 * The existing rule is adopted with `adopt.branchProtection` (docs/runbook.md), so the stack owns it instead of
 * fighting it.
 */
export class PipelineFreeze extends pulumi.ComponentResource {
  public readonly protection: github.BranchProtection;
  public readonly requiredApprovers: number;

  constructor(name: string, args: PipelineFreezeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:PipelineFreeze", name, {}, opts);
    const p = args.plan;
    this.requiredApprovers = p.requiredApprovers;
    this.protection = new github.BranchProtection(
      `${name}-branch`,
      {
        repositoryId: p.repository,
        pattern: p.branch,
        enforceAdmins: p.enforceAdmins,
        allowsDeletions: false,
        allowsForcePushes: false,
        requiredPullRequestReviews: [
          {
            // Always explicit: GitHub's default would silently be 1.
            requiredApprovingReviewCount: p.requiredApprovers,
            dismissStaleReviews: true,
          },
        ],
        ...(p.requiredStatusChecks.length === 0
          ? {}
          : { requiredStatusChecks: [{ strict: true, contexts: [...p.requiredStatusChecks] }] }),
      },
      // adopt.branchProtection: take over the existing rule (import id `<repository>:<branch>`).
      { parent: this, ...(p.importId === undefined ? {} : { import: p.importId }) },
    );
    this.registerOutputs({ requiredApprovers: this.requiredApprovers });
  }
}
