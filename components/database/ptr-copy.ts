import * as pulumi from "@pulumi/pulumi";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import type { PtrCopyPlan } from "../../plan";
import type { EntraPrincipal } from "./live-server";

export interface PtrCopyArgs {
  /** Name, restore time (UTC) and network of the copy. */
  readonly plan: PtrCopyPlan;
  /** The live server's resource id (a real reference, so the copy is created after the live server exists). */
  readonly sourceServerId: pulumi.Input<string>;
  /**
   * The recovery identity, made an Entra administrator of the copy: the copy holds the roles live had at the
   * restore time, before the incident created this identity, so without it the Jobs could not log in to it.
   */
  readonly recoveryAdmin: EntraPrincipal;
  /** The Entra tenant of the administrator (the subscription's). */
  readonly tenantId: pulumi.Input<string>;
  /** Its `service-dr` tag: an incident's copy (default) or a scheduled drill's (the policy pack tells them apart). */
  readonly role?: "ptr-copy" | "drill-copy";
}

/**
 * The point-in-time-restore copy (seed scenario 2): a separate server `<live>-ptr` restored by Azure from the
 * live server's backups to `pointInTimeUTC`. It never touches the live server. Not protected: the runbook's
 * tidy-up deletes it, which here means removing `ptr` from the config (or `drMode none`).
 */
export class PtrCopy extends pulumi.ComponentResource {
  public readonly server: dbforpostgresql.Server;
  public readonly serverName: pulumi.Output<string>;
  public readonly fqdn: pulumi.Output<string>;
  public readonly pointInTimeUtc: string;
  public readonly recoveryAdmin: dbforpostgresql.AdministratorsMicrosoftEntra;

  constructor(name: string, args: PtrCopyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:PtrCopy", name, {}, opts);
    const p = args.plan;
    this.pointInTimeUtc = p.pointInTimeUtc;
    this.server = new dbforpostgresql.Server(
      `${name}-server`,
      {
        serverName: p.name,
        resourceGroupName: p.resourceGroup,
        location: p.location,
        createMode: "PointInTimeRestore",
        sourceServerResourceId: args.sourceServerId,
        // Create-only: a new restore time replaces the copy (see replaceOnChanges below).
        pointInTimeUTC: p.pointInTimeUtc,
        // The copy inherits SKU, storage and version from the source; network is given so it lands in the
        // same delegated subnet and private DNS zone as the live server.
        network: {
          delegatedSubnetResourceId: p.network.delegatedSubnetId,
          privateDnsZoneArmResourceId: p.network.privateDnsZoneId,
          publicNetworkAccess: "Disabled",
        },
        // Entra logins only, as the live server: said explicitly, since the SDK would otherwise send its default
        // passwordAuth "Enabled" with any authConfig. No administratorLogin (none is needed without passwords).
        authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" },
        tags: { "service-dr": args.role ?? "ptr-copy", "service-dr-restore-point": p.pointInTimeUtc },
      },
      {
        parent: this,
        // Azure applies pointInTimeUTC only at creation: a different restore time must be a new copy.
        replaceOnChanges: ["pointInTimeUTC"],
        // The copy's name is fixed (<live>-ptr), so the old copy must go before its replacement is created.
        deleteBeforeReplace: true,
        // Azure does not return sourceServerResourceId for a restored server: without this every refresh
        // would show drift and the next up would try to "fix" a create-only field.
        ignoreChanges: ["sourceServerResourceId"],
      },
    );
    // Declared with the copy and gone with it; the Jobs and the troubleshooting pod depend on this component.
    this.recoveryAdmin = new dbforpostgresql.AdministratorsMicrosoftEntra(
      `${name}-entra-admin-recovery`,
      {
        serverName: this.server.name,
        resourceGroupName: p.resourceGroup,
        objectId: args.recoveryAdmin.objectId,
        principalName: args.recoveryAdmin.principalName,
        principalType: args.recoveryAdmin.principalType,
        tenantId: args.tenantId,
      },
      { parent: this },
    );
    this.serverName = this.server.name;
    this.fqdn = this.server.fullyQualifiedDomainName.apply((f) => f ?? p.fqdn);
    this.registerOutputs({
      serverName: this.serverName,
      fqdn: this.fqdn,
      pointInTimeUtc: this.pointInTimeUtc,
    });
  }
}
