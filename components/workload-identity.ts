import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as k8s from "@pulumi/kubernetes";
import { CLIENT_ID_ANNOTATION } from "../plan-identity";
import type { IdentityPlan } from "../plan-identity";

export interface WorkloadIdentityArgs {
  readonly plan: IdentityPlan;
  /** The backup container's resource id: the only scope the identity gets blob data access on. */
  readonly backupContainerId: pulumi.Input<string>;
}

/**
 * Who the data tool is, without a standing secret (AKS workload identity): a user-assigned managed identity,
 * a federated credential trusting exactly one Kubernetes ServiceAccount of the cluster's OIDC issuer, the
 * ServiceAccount itself (annotated with the identity's client id), and its role assignments on the backup
 * container, nothing wider: standing, Storage Blob Data Contributor under a condition (no delete, writes only
 * under `nightly/`); while an incident is open, the same role without it. Its PostgreSQL access: read-only
 * outside an incident (granted once by SQL), an Entra administrator declared with the live server while one is
 * open (components/live-server.ts).
 */
export class WorkloadIdentity extends pulumi.ComponentResource {
  public readonly identity: managedidentity.UserAssignedIdentity;
  public readonly federatedCredential: managedidentity.FederatedIdentityCredential;
  public readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** Standing: no delete, writes only under nightly/ (a condition on the assignment). */
  public readonly blobDataAccess: authorization.RoleAssignment;
  /** While an incident is open: the container without the condition; undefined otherwise. */
  public readonly incidentBlobDataAccess: authorization.RoleAssignment | undefined;
  /** Known only once the identity exists (an unknown in a first preview). */
  public readonly clientId: pulumi.Output<string>;
  public readonly principalId: pulumi.Output<string>;
  public readonly tenantId: pulumi.Output<string>;

  constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:WorkloadIdentity", name, {}, opts);
    const p = args.plan;
    this.identity = new managedidentity.UserAssignedIdentity(
      `${name}-identity`,
      {
        resourceName: p.name,
        resourceGroupName: p.resourceGroup,
        location: p.location,
        tags: { "service-dr": "data-tool" },
      },
      { parent: this },
    );
    this.clientId = this.identity.clientId;
    this.principalId = this.identity.principalId;
    this.tenantId = this.identity.tenantId;

    this.federatedCredential = new managedidentity.FederatedIdentityCredential(
      `${name}-federated`,
      {
        federatedIdentityCredentialResourceName: p.federatedCredentialName,
        resourceName: this.identity.name,
        resourceGroupName: p.resourceGroup,
        issuer: p.issuer,
        subject: p.subject,
        audiences: [...p.audiences],
      },
      { parent: this },
    );

    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      {
        metadata: {
          name: p.serviceAccountName,
          namespace: p.namespace,
          labels: { "app.kubernetes.io/part-of": "service-dr" },
          annotations: { [CLIENT_ID_ANNOTATION]: this.identity.clientId },
        },
        // The pods mount no Kubernetes API token (the webhook projects the Entra exchange token itself).
        automountServiceAccountToken: false,
      },
      // Pods must not start before their token can be exchanged.
      { parent: this, dependsOn: [this.federatedCredential] },
    );

    this.blobDataAccess = new authorization.RoleAssignment(
      `${name}-blob-data`,
      {
        roleAssignmentName: p.blobRole.name,
        roleDefinitionId: p.blobRole.roleDefinitionId,
        principalId: this.identity.principalId,
        // ServicePrincipal: Azure does not wait for the new identity to replicate before checking it.
        principalType: "ServicePrincipal",
        scope: args.backupContainerId,
        description:
          "service-dr data tool: reads; writes nightly dumps only; never deletes (this container only)",
        condition: p.blobRole.condition,
        conditionVersion: "2.0",
      },
      { parent: this },
    );
    const incident = p.incidentBlobRole;
    this.incidentBlobDataAccess =
      incident === undefined
        ? undefined
        : new authorization.RoleAssignment(
            `${name}-blob-data-incident`,
            {
              roleAssignmentName: incident.name,
              roleDefinitionId: incident.roleDefinitionId,
              principalId: this.identity.principalId,
              principalType: "ServicePrincipal",
              scope: args.backupContainerId,
              description:
                "service-dr data tool during an incident: incident dumps, logs and restores (this container only)",
            },
            { parent: this },
          );
    this.registerOutputs({ clientId: this.clientId, principalId: this.principalId });
  }
}
