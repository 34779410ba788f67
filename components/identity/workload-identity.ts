import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as k8s from "@pulumi/kubernetes";
import { CLIENT_ID_ANNOTATION } from "../../plan";
import type { CustomRolePlan, IdentityPlan } from "../../plan";
import { PART_OF_LABEL } from "@service-dr/dr-data";

export interface WorkloadIdentityArgs {
  readonly plan: IdentityPlan;
  /** The backup container's resource id: the only scope the identity gets blob data access on. */
  readonly backupContainerId: pulumi.Input<string>;
}

/**
 * Who a data tool pod is, without a standing secret (AKS workload identity): a user-assigned managed identity,
 * a federated credential trusting exactly one Kubernetes ServiceAccount of the cluster's OIDC issuer, the
 * ServiceAccount itself (annotated with the identity's client id), and its one role assignment on the backup
 * container, nothing wider. Declared twice (plan/identity.ts): the nightly identity, standing, whose role is a
 * custom one declared here (blob read, write, add only) and whose assignment carries a condition (writes only
 * under `nightly/`, no tier) and which can only read the database (granted
 * once by SQL); the recovery identity, only while an incident is open, with the role unconditioned and an Entra
 * administrator of the servers (components/live-server.ts, components/ptr-copy.ts).
 */
export class WorkloadIdentity extends pulumi.ComponentResource {
  public readonly identity: managedidentity.UserAssignedIdentity;
  public readonly federatedCredential: managedidentity.FederatedIdentityCredential;
  public readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** Its role on the backup container, with the plan's condition if it has one. */
  public readonly blobDataAccess: authorization.RoleAssignment;
  /** The custom role that assignment gives, when the plan has one (the nightly identity's). */
  public readonly roleDefinition: authorization.RoleDefinition | undefined;
  /** Known only once the identity exists (an unknown in a first preview). */
  public readonly clientId: pulumi.Output<string>;
  public readonly principalId: pulumi.Output<string>;
  public readonly tenantId: pulumi.Output<string>;

  constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:WorkloadIdentity", name, {}, opts);
    const p = args.plan;
    this.identity = this.declareIdentity(name, p);
    this.clientId = this.identity.clientId;
    this.principalId = this.identity.principalId;
    this.tenantId = this.identity.tenantId;
    this.federatedCredential = this.declareFederatedCredential(name, p);
    this.serviceAccount = this.declareServiceAccount(name, p);
    const custom = p.blobRole.custom;
    this.roleDefinition = custom === undefined ? undefined : customRole(`${name}-role`, custom, this);
    this.blobDataAccess = this.declareBlobDataAccess(name, p, args.backupContainerId);
    this.registerOutputs({ clientId: this.clientId, principalId: this.principalId });
  }

  private declareIdentity(name: string, p: IdentityPlan): managedidentity.UserAssignedIdentity {
    return new managedidentity.UserAssignedIdentity(
      `${name}-identity`,
      {
        resourceName: p.name,
        resourceGroupName: p.resourceGroup,
        location: p.location,
        tags: { "service-dr": p.tag },
      },
      { parent: this },
    );
  }

  private declareFederatedCredential(
    name: string,
    p: IdentityPlan,
  ): managedidentity.FederatedIdentityCredential {
    return new managedidentity.FederatedIdentityCredential(
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
  }

  private declareServiceAccount(name: string, p: IdentityPlan): k8s.core.v1.ServiceAccount {
    return new k8s.core.v1.ServiceAccount(
      `${name}-service-account`,
      {
        metadata: {
          name: p.serviceAccountName,
          namespace: p.namespace,
          labels: { ...PART_OF_LABEL },
          annotations: { [CLIENT_ID_ANNOTATION]: this.identity.clientId },
        },
        // The pods mount no Kubernetes API token (the webhook projects the Entra exchange token itself).
        automountServiceAccountToken: false,
      },
      // Pods must not start before their token can be exchanged.
      { parent: this, dependsOn: [this.federatedCredential] },
    );
  }

  private declareBlobDataAccess(
    name: string,
    p: IdentityPlan,
    backupContainerId: pulumi.Input<string>,
  ): authorization.RoleAssignment {
    const role = p.blobRole;
    const definition = this.roleDefinition;
    return new authorization.RoleAssignment(
      `${name}-blob-data`,
      {
        roleAssignmentName: role.name,
        // The custom role's id once it exists (the same string as planned), so the assignment follows it.
        roleDefinitionId:
          definition === undefined ? role.roleDefinitionId : definition.id.apply(() => role.roleDefinitionId),
        principalId: this.identity.principalId,
        // ServicePrincipal: Azure does not wait for the new identity to replicate before checking it.
        principalType: "ServicePrincipal",
        scope: backupContainerId,
        description: p.blobRoleDescription,
        ...(role.condition === undefined ? {} : { condition: role.condition, conditionVersion: "2.0" }),
      },
      { parent: this },
    );
  }
}

/**
 * A custom role of data actions only (no management action: no container delete or write, no user delegation
 * key, no lock). Its GUID, scope and assignable scopes are path or identity fields: a change replaces it (and
 * the assignment that names it). The assignment is created after it and refers to its id.
 */
function customRole(name: string, c: CustomRolePlan, parent: pulumi.Resource): authorization.RoleDefinition {
  return new authorization.RoleDefinition(
    name,
    {
      roleDefinitionId: c.guid,
      scope: c.scope,
      roleName: c.roleName,
      description: c.description,
      roleType: "CustomRole",
      assignableScopes: [...c.assignableScopes],
      permissions: [{ actions: [], notActions: [], dataActions: [...c.dataActions], notDataActions: [] }],
    },
    { parent },
  );
}
